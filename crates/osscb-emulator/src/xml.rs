//! XML documents written with quick-xml: declaration, two-space indentation,
//! text escaped minimally (`&` and `<`), so ETag quotes stay literal as OSS
//! writes them.

use quick_xml::Writer;
use quick_xml::escape::minimal_escape;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

/// An XML document being written.
pub(crate) struct Xml {
    writer: Writer<Vec<u8>>,
    stack: Vec<String>,
}

impl Xml {
    /// `<?xml version="1.0" encoding="UTF-8"?>` and the opening `<root>`.
    pub(crate) fn new(root: &str) -> Self {
        let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
        // Writing into a Vec cannot fail.
        let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        let mut xml = Self {
            writer,
            stack: Vec::new(),
        };
        xml.open(root);
        xml
    }

    /// Opens `<name>`.
    pub(crate) fn open(&mut self, name: &str) -> &mut Self {
        let _ = self
            .writer
            .write_event(Event::Start(BytesStart::new(name.to_owned())));
        self.stack.push(name.to_owned());
        self
    }

    /// Closes the innermost open element.
    pub(crate) fn close(&mut self) -> &mut Self {
        if let Some(name) = self.stack.pop() {
            let _ = self.writer.write_event(Event::End(BytesEnd::new(name)));
        }
        self
    }

    /// `<name>text</name>`.
    pub(crate) fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        let _ = self
            .writer
            .create_element(name)
            .write_text_content(BytesText::from_escaped(minimal_escape(text)));
        self
    }

    /// Closes every open element and returns the bytes.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        while !self.stack.is_empty() {
            self.close();
        }
        self.writer.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_escaping() {
        let mut xml = Xml::new("Root");
        xml.leaf("ETag", "\"AB\"").open("Part").leaf("K", "a&b<c>");
        let text = String::from_utf8(xml.finish()).unwrap_or_default();
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Root>\n  <ETag>\"AB\"</ETag>\n  <Part>\n    <K>a&amp;b&lt;c></K>\n  </Part>\n</Root>"
        );
    }
}
