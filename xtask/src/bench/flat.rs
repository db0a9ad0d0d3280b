//! The figure programs' output: one flat JSON object per line (strings,
//! numbers, booleans, null; no nesting), read and written without a JSON
//! library so that the xtask stays dependency-free.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A value of a flat object.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Number(f64),
    Text(String),
    Bool(bool),
    Null,
}

/// A flat JSON object.
pub(crate) type Flat = BTreeMap<String, Value>;

/// Parses one flat object, or says where it is not one.
pub(crate) fn parse(text: &str) -> Result<Flat, String> {
    let mut p = Parser {
        chars: text.trim().chars().collect(),
        at: 0,
    };
    let flat = p
        .object()
        .map_err(|e| format!("{e} at {} in {text:?}", p.at))?;
    if p.at == p.chars.len() {
        Ok(flat)
    } else {
        Err(format!("trailing text in {text:?}"))
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&mut self) -> Option<char> {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
        self.chars.get(self.at).copied()
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected {c:?}"))
        }
    }

    fn object(&mut self) -> Result<Flat, String> {
        self.expect('{')?;
        let mut flat = Flat::new();
        if self.peek() == Some('}') {
            self.at += 1;
            return Ok(flat);
        }
        loop {
            let key = self.string()?;
            self.expect(':')?;
            let value = self.value()?;
            flat.insert(key, value);
            match self.peek() {
                Some(',') => self.at += 1,
                Some('}') => {
                    self.at += 1;
                    return Ok(flat);
                }
                _ => return Err("expected ',' or '}'".to_owned()),
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            let c = *self.chars.get(self.at).ok_or("unterminated string")?;
            self.at += 1;
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let e = *self.chars.get(self.at).ok_or("unterminated escape")?;
                    self.at += 1;
                    out.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'u' => {
                            let hex: String = self.chars.iter().skip(self.at).take(4).collect();
                            self.at += 4;
                            u32::from_str_radix(&hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .unwrap_or('\u{fffd}')
                        }
                        other => other,
                    });
                }
                c => out.push(c),
            }
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some('"') => self.string().map(Value::Text),
            Some('{' | '[') => Err("nested values are not read".to_owned()),
            Some(_) => {
                let start = self.at;
                while self
                    .chars
                    .get(self.at)
                    .is_some_and(|c| !matches!(c, ',' | '}') && !c.is_whitespace())
                {
                    self.at += 1;
                }
                let word: String = self.chars[start..self.at].iter().collect();
                match word.as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" => Ok(Value::Null),
                    number => number
                        .parse()
                        .map(Value::Number)
                        .map_err(|_| format!("not a value: {number:?}")),
                }
            }
            None => Err("expected a value".to_owned()),
        }
    }
}

/// A number of `flat`, or an error naming the key.
pub(crate) fn number(flat: &Flat, key: &str) -> Result<f64, String> {
    match flat.get(key) {
        Some(Value::Number(n)) => Ok(*n),
        other => Err(format!(
            "no number {key:?} in the figure's output (found {other:?})"
        )),
    }
}

/// A string of `flat`, or an error naming the key.
pub(crate) fn text<'a>(flat: &'a Flat, key: &str) -> Result<&'a str, String> {
    match flat.get(key) {
        Some(Value::Text(t)) => Ok(t),
        other => Err(format!(
            "no string {key:?} in the figure's output (found {other:?})"
        )),
    }
}

/// A boolean of `flat` (false when absent).
pub(crate) fn flag(flat: &Flat, key: &str) -> bool {
    matches!(flat.get(key), Some(Value::Bool(true)))
}

/// `text` as a JSON string literal.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `flat` as one JSON object.
pub(crate) fn write(flat: &Flat) -> String {
    let fields: Vec<String> = flat
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Value::Number(n) if n.is_finite() => format!("{n}"),
                Value::Number(_) | Value::Null => "null".to_owned(),
                Value::Text(t) => quote(t),
                Value::Bool(b) => b.to_string(),
            };
            format!("{}:{value}", quote(key))
        })
        .collect();
    format!("{{{}}}", fields.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_a_flat_object() {
        let text =
            r#"{"figure": "put", "mb_s": 512.5, "ok": true, "none": null, "s": "a\"b\\c\u0041"}"#;
        let flat = parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(number(&flat, "mb_s"), Ok(512.5));
        assert_eq!(text_of(&flat, "s"), "a\"b\\cA");
        assert!(flag(&flat, "ok"));
        assert_eq!(flat.get("none"), Some(&Value::Null));
        assert_eq!(
            write(&flat),
            r#"{"figure":"put","mb_s":512.5,"none":null,"ok":true,"s":"a\"b\\cA"}"#
        );
        assert!(parse(r#"{"a": {"b": 1}}"#).is_err());
        assert!(parse(r#"{"a": 1} x"#).is_err());
    }

    fn text_of<'a>(flat: &'a Flat, key: &str) -> &'a str {
        text(flat, key).unwrap_or_else(|e| panic!("{e}"))
    }
}
