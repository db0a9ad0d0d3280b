//! `osscb verify`: checks a captured callback as an application server
//! would (`osscb_blocking::verify_callback`), and says which check failed.

use std::path::PathBuf;

use osscb_core::Error;
use osscb_core::http::{self, Request};
use osscb_core::verify::{Verifier, VerifyError};
use serde_json::Value;

use crate::callback::BodyType;
use crate::exit::Failure;

/// Verify a captured upload callback.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The captured request: raw HTTP/1.1 (request line, headers, blank line,
    /// body), or JSON {"method", "path", "query", "headers": {…}, "body"}.
    #[arg(long, value_name = "FILE")]
    request: PathBuf,
    /// Also trust public keys under this URL (an emulator's: its endpoint
    /// followed by `/`). By default only OSS's own key host is trusted.
    #[arg(long, value_name = "URL")]
    trust_key_url_prefix: Vec<String>,
    /// How the application's callback bodies are encoded.
    #[arg(long, value_enum, default_value_t = BodyType::Form)]
    body_type: BodyType,
}

/// Runs `verify`: the body's fields as JSON on stdout when it verifies.
pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let file = args.request.display();
    let bytes = std::fs::read(&args.request).map_err(|e| Failure::other(format!("{file}: {e}")))?;
    let request = parse(&bytes).map_err(|e| Failure::other(format!("{file}: {e}")))?;
    let mut verifier = Verifier::new().body_type(args.body_type.into());
    for prefix in &args.trust_key_url_prefix {
        verifier = verifier.trust_key_url_prefix(prefix);
    }
    match osscb_blocking::verify_callback(&verifier, &request) {
        Ok(verified) => {
            let fields = serde_json::to_string(verified.variables()).map_err(Failure::other)?;
            println!("{fields}");
            eprintln!("the callback verifies: OSS's signature checks out");
            Ok(())
        }
        Err(Error::Verify(e)) => Err(Failure::other(format!(
            "the callback does not verify: {e}{}",
            hint(&e, &request)
        ))),
        Err(e) => Err(e.into()),
    }
}

/// What to look at, after the verifier's reason.
fn hint(error: &VerifyError, request: &Request<Vec<u8>>) -> String {
    match error {
        VerifyError::UntrustedKeyUrl(_) => {
            "; only OSS's key host is trusted unless --trust-key-url-prefix names the key's (an emulator's endpoint followed by /)".to_owned()
        }
        VerifyError::MissingHeader(_) => {
            "; capture the request whole, with its headers".to_owned()
        }
        VerifyError::SignatureMismatch => format!(
            "; OSS signs the URL-decoded path, the query and the body exactly as sent: checked path {:?}, query {:?}, a body of {} bytes",
            request.uri().path(),
            request.uri().query().unwrap_or_default(),
            request.body().len()
        ),
        _ => String::new(),
    }
}

/// A captured request, raw or JSON.
fn parse(bytes: &[u8]) -> Result<Request<Vec<u8>>, String> {
    if bytes.trim_ascii_start().starts_with(b"{") {
        from_json(bytes)
    } else {
        from_raw(bytes)
    }
}

/// Raw HTTP/1.1: request line, headers, blank line, body (`Content-Length`
/// bytes of it, when the header is there).
fn from_raw(bytes: &[u8]) -> Result<Request<Vec<u8>>, String> {
    let (head, body) = split_head(bytes).ok_or("no blank line after the headers")?;
    let head = std::str::from_utf8(head).map_err(|_| "the headers are not UTF-8")?;
    let mut lines = head.lines();
    let line = lines.next().unwrap_or_default();
    let mut words = line.split_whitespace();
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return Err(format!(
            "{line:?} is not a request line (METHOD TARGET HTTP/1.1)"
        ));
    };
    let mut builder = Request::builder().method(method).uri(target);
    let mut len = None;
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("{line:?} is not a header line"))?;
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            len = Some(value.parse::<usize>().map_err(|_| "bad Content-Length")?);
        }
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err("a chunked body: capture the request with its body decoded".to_owned());
        }
        builder = builder.header(name, value);
    }
    let body = match len {
        Some(len) => body.get(..len).ok_or_else(|| {
            format!(
                "the body has {} bytes, fewer than its Content-Length {len}: the capture is cut short",
                body.len()
            )
        })?,
        None => body,
    };
    builder.body(body.to_vec()).map_err(|e| e.to_string())
}

/// The headers and the body, split at the first blank line.
fn split_head(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| (at, 4));
    let lf = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|at| (at, 2));
    let (at, len) = match (crlf, lf) {
        (Some(c), Some(l)) => c.min(l),
        (c, l) => c.or(l)?,
    };
    Some((&bytes[..at], &bytes[at + len..]))
}

/// `{"method", "path", "query", "headers": {…}, "body"}`.
fn from_json(bytes: &[u8]) -> Result<Request<Vec<u8>>, String> {
    let json: Value = serde_json::from_slice(bytes).map_err(|e| format!("bad JSON: {e}"))?;
    let text = |name: &str| -> Result<Option<&str>, String> {
        match json.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("\"{name}\" is not a string")),
        }
    };
    let path = text("path")?.ok_or("no \"path\"")?;
    let mut uri = path.to_owned();
    if let Some(query) = text("query")?.map(|q| q.trim_start_matches('?'))
        && !query.is_empty()
    {
        uri = format!("{uri}?{query}");
    }
    let mut builder = Request::builder()
        .method(text("method")?.unwrap_or("POST"))
        .uri(uri);
    if let Some(headers) = json.get("headers") {
        let headers = headers.as_object().ok_or("\"headers\" is not an object")?;
        for (name, value) in headers {
            let value = value
                .as_str()
                .ok_or_else(|| format!("header {name:?} is not a string"))?;
            builder = builder.header(name.as_str(), value);
        }
    }
    let body = text("body")?.unwrap_or_default();
    builder
        .body(body.as_bytes().to_vec())
        .map_err(|e: http::Error| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_request_keeps_its_path_query_headers_and_exact_body() {
        let raw = b"POST /cb%20x?a=1 HTTP/1.1\r\nHost: h\r\nauthorization: sig\r\nContent-Length: 5\r\n\r\nb=1&cEXTRA";
        let request = parse(raw).expect("parses");
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(request.uri().path(), "/cb%20x");
        assert_eq!(request.uri().query(), Some("a=1"));
        assert_eq!(request.headers()["authorization"], "sig");
        assert_eq!(request.body(), b"b=1&c");
        let short = parse(b"POST / HTTP/1.1\nContent-Length: 9\n\nab").expect_err("short");
        assert_eq!(
            short,
            "the body has 2 bytes, fewer than its Content-Length 9: the capture is cut short"
        );
    }

    #[test]
    fn a_json_request_reads_its_fields() {
        let json =
            br#"{"path":"/cb","query":"?a=1","headers":{"x-oss-pub-key-url":"k"},"body":"b=1"}"#;
        let request = parse(json).expect("parses");
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(request.uri().to_string(), "/cb?a=1");
        assert_eq!(request.headers()["x-oss-pub-key-url"], "k");
        assert_eq!(request.body(), b"b=1");
        assert_eq!(parse(b"{}").expect_err("no path"), "no \"path\"");
    }
}
