//! The emulator's request handling, driven through its service on a
//! loopback socket (its parsers are private): raw bytes, well-formed HTTP
//! with any path, query, headers and body, PostObject forms with any fields,
//! and requests signed with the emulator's credentials (so that the
//! operations themselves, CompleteMultipartUpload's XML among them, read the
//! body). No panic (libfuzzer-sys aborts on a panic in any thread), no 500,
//! and every exchange bounded in time and size.
//!
//! Loopback only: fuzzed callbacks are never let through — headers and query
//! parameters naming a callback are dropped from signed requests, and the
//! one callback a signed request may carry goes to 127.0.0.1:1 (refused at
//! once). Unsigned requests cannot reach a callback: the emulator
//! authenticates first.

#![no_main]

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use osscb_core::callback::Callback;
use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey, OssRequest, Region};
use osscb_emulator::{Emulator, EmulatorConfig};

const ID: &str = "fuzz-id";
const SECRET: &str = "fuzz-secret";
/// The most of an answer read (the emulator's answers to these are small).
const MAX_ANSWER: u64 = 1024 * 1024;
/// How long one exchange may take.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Arbitrary, Debug)]
enum Input {
    /// Any bytes on the connection.
    Raw(Vec<u8>),
    /// Well-formed HTTP/1.1, unauthenticated (or with a forged signature).
    Http {
        method: u8,
        path: String,
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// A PostObject form.
    Form {
        fields: Vec<(String, String)>,
        file_name: String,
        file: Vec<u8>,
        /// Where the file goes among the fields.
        file_at: u8,
    },
    /// A request signed with the emulator's credentials.
    Signed {
        v4: bool,
        method: u8,
        key: String,
        query: Vec<(Param, String)>,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        callback_body: Option<String>,
    },
}

/// Query parameters: those the emulator acts on, or any other.
#[derive(Arbitrary, Debug)]
enum Param {
    Known(u8),
    Other(String),
}

const PARAMS: &[&str] = &[
    "uploads",
    "uploadId",
    "partNumber",
    "max-parts",
    "part-number-marker",
    "versionId",
    "acl",
    "response-content-type",
];

const METHODS: &[&str] = &["GET", "PUT", "POST", "HEAD", "DELETE", "OPTIONS", "PATCH"];

fn emulator() -> SocketAddr {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR
        .get_or_init(|| {
            let config = EmulatorConfig::new(ID, SECRET)
                .callback_timeout(Duration::from_millis(200))
                .header_read_timeout(Duration::from_secs(2));
            match Emulator::start(config) {
                Ok(emulator) => emulator,
                Err(e) => panic!("the emulator does not start: {e}"),
            }
        })
        .addr()
}

/// Sends `request` on a fresh connection, closes the sending side, and reads
/// the answer: its status, if one came.
fn exchange(addr: SocketAddr, request: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).ok()?;
    stream.set_read_timeout(Some(TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(TIMEOUT)).ok()?;
    // The emulator may answer (and close) before reading everything.
    let _ = stream.write_all(request);
    let _ = stream.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.take(MAX_ANSWER).read_to_end(&mut answer);
    let line = answer.split(|&b| b == b'\r').next()?;
    let status = std::str::from_utf8(line.strip_prefix(b"HTTP/1.1 ")?).ok()?;
    status.get(..3)?.parse().ok()
}

fn check(status: Option<u16>, input: &Input) {
    if let Some(status) = status {
        assert!(
            status < 500 || status == 501 || status == 503,
            "the emulator answered {status} to {input:?}"
        );
    }
}

/// `%XX` for everything but unreserved characters and `/`.
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn head(
    method: &str,
    target: &str,
    addr: SocketAddr,
    headers: &[(String, String)],
    len: usize,
) -> Vec<u8> {
    let mut out =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {len}\r\n");
    for (name, value) in headers {
        // Header lines only: no line breaks, a token for a name.
        let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        let value_ok = !value.bytes().any(|b| b == b'\r' || b == b'\n');
        let framing = name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("host");
        if name_ok && value_ok && !framing {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    out.push_str("\r\n");
    out.into_bytes()
}

fn form(fields: &[(String, String)], file_name: &str, file: &[u8], file_at: usize) -> Vec<u8> {
    const BOUNDARY: &str = "----osscbFuzz";
    let quoted = |s: &str| s.replace(['"', '\r', '\n'], "_");
    let mut body = Vec::new();
    let file_part = |body: &mut Vec<u8>| {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                quoted(file_name)
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(b"\r\n");
    };
    for (i, (name, value)) in fields.iter().enumerate() {
        if i == file_at {
            file_part(&mut body);
        }
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                quoted(name)
            )
            .as_bytes(),
        );
    }
    if file_at >= fields.len() {
        file_part(&mut body);
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The signed request as bytes on the wire, or `None` when the core refuses it.
#[allow(clippy::too_many_arguments)]
fn signed(
    addr: SocketAddr,
    v4: bool,
    method: &str,
    key: &str,
    query: &[(Param, String)],
    headers: &[(String, String)],
    body: &[u8],
    callback_body: Option<&str>,
) -> Option<Vec<u8>> {
    let endpoint = Endpoint::parse(&format!("http://{addr}")).ok()?;
    let config = if v4 {
        Config::v4(endpoint, Region::new("cn-hangzhou").ok()?)
    } else {
        Config::v1(endpoint)
    };
    let method = http::Method::from_bytes(method.as_bytes()).ok()?;
    let mut request = OssRequest::new(
        method,
        Bucket::new("fuzz-bucket").ok()?,
        Some(ObjectKey::new(key).ok()?),
        body.to_vec(),
    );
    for (param, value) in query {
        let name = match param {
            Param::Known(i) => PARAMS[usize::from(*i) % PARAMS.len()].to_owned(),
            Param::Other(name) => name.clone(),
        };
        if !name.to_ascii_lowercase().contains("callback") {
            request = request.query(name, value.clone());
        }
    }
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        let framing = [
            "content-length",
            "transfer-encoding",
            "host",
            "authorization",
        ];
        if !lower.contains("callback") && !framing.contains(&lower.as_str()) {
            let _ = request.set_header_str(name, value);
        }
    }
    request
        .set_header_str("content-length", &body.len().to_string())
        .ok()?;
    if let Some(template) = callback_body {
        let callback = Callback::builder("http://127.0.0.1:1/cb")
            .body(template)
            .build()
            .ok()?;
        request
            .set_header_str("x-oss-callback", callback.encoded())
            .ok()?;
    }
    let credentials = Credentials::new(ID, SECRET);
    let signed = request
        .sign(&config, &credentials, SystemTime::now())
        .ok()?;
    let target = signed
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut out = format!("{} {target} HTTP/1.1\r\n", signed.method());
    for (name, value) in signed.headers() {
        out.push_str(name.as_str());
        out.push_str(": ");
        out.push_str(value.to_str().ok()?);
        out.push_str("\r\n");
    }
    if !signed.headers().contains_key("host") {
        out.push_str(&format!("host: {addr}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(signed.body());
    Some(bytes)
}

fuzz_target!(|input: Input| {
    let addr = emulator();
    let request = match &input {
        Input::Raw(bytes) => bytes.clone(),
        Input::Http {
            method,
            path,
            query,
            headers,
            body,
        } => {
            let method = METHODS[usize::from(*method) % METHODS.len()];
            let mut target = format!("/{}", encode(path.trim_start_matches('/'), true));
            for (i, (k, v)) in query.iter().enumerate() {
                target.push(if i == 0 { '?' } else { '&' });
                target.push_str(&encode(k, false));
                target.push('=');
                target.push_str(&encode(v, false));
            }
            let mut out = head(method, &target, addr, headers, body.len());
            out.extend_from_slice(body);
            out
        }
        Input::Form {
            fields,
            file_name,
            file,
            file_at,
        } => {
            let body = form(fields, file_name, file, usize::from(*file_at));
            let headers = [(
                "Content-Type".to_owned(),
                "multipart/form-data; boundary=----osscbFuzz".to_owned(),
            )];
            let mut out = head("POST", "/fuzz-bucket/", addr, &headers, body.len());
            out.extend_from_slice(&body);
            out
        }
        Input::Signed {
            v4,
            method,
            key,
            query,
            headers,
            body,
            callback_body,
        } => {
            let method = METHODS[usize::from(*method) % METHODS.len()];
            let Some(bytes) = signed(
                addr,
                *v4,
                method,
                key,
                query,
                headers,
                body,
                callback_body.as_deref(),
            ) else {
                return;
            };
            bytes
        }
    };
    check(exchange(addr, &request), &input);
});
