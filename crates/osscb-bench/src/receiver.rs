//! The application server of the callback figures: a loopback listener that
//! verifies every callback (`osscb_blocking::verify_callback`: OSS's RSA
//! signature, with the key fetched from the emulator) and counts it, then
//! answers 200 with a JSON body.

use std::io::{BufRead, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use osscb_core::callback::Callback;
use osscb_core::verify::Verifier;

use crate::Result;

/// A running receiver; its thread lives as long as the process.
pub(crate) struct Receiver {
    url: String,
    verified: Arc<AtomicUsize>,
    rejected: Arc<AtomicUsize>,
}

impl Receiver {
    /// Listens on `127.0.0.1`, trusting keys served under `endpoint`.
    pub(crate) fn start(endpoint: &str) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let verifier = Verifier::new().trust_key_url_prefix(format!("{endpoint}/"));
        let verified = Arc::new(AtomicUsize::new(0));
        let rejected = Arc::new(AtomicUsize::new(0));
        let (v, r) = (Arc::clone(&verified), Arc::clone(&rejected));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (verifier, v, r) = (verifier.clone(), Arc::clone(&v), Arc::clone(&r));
                std::thread::spawn(move || handle(stream, &verifier, [&v, &r]));
            }
        });
        Ok(Self {
            url: format!("http://{address}/callback"),
            verified,
            rejected,
        })
    }

    /// A callback to this receiver with the usual variables.
    pub(crate) fn callback(&self) -> Result<Callback> {
        Callback::builder(self.url.clone())
            .body("bucket=${bucket}&object=${object}&size=${size}")
            .build()
            .map_err(|e| e.to_string())
    }

    /// Callbacks verified so far.
    pub(crate) fn verified(&self) -> usize {
        self.verified.load(Ordering::SeqCst)
    }

    /// Callbacks that failed verification so far.
    pub(crate) fn rejected(&self) -> usize {
        self.rejected.load(Ordering::SeqCst)
    }
}

/// Serves one connection: each request is read, verified, counted
/// (`[verified, rejected]`) and then answered, so it is counted before OSS
/// (and so the uploader) hears the answer. Connections are kept alive, as
/// an application server keeps them for OSS.
fn handle(stream: TcpStream, verifier: &Verifier, counts: [&AtomicUsize; 2]) {
    let Ok(read_half) = stream.try_clone() else {
        counts[1].fetch_add(1, Ordering::SeqCst);
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut stream = stream;
    while let Some(request) = read_request(&mut reader) {
        let ok = request.is_some_and(|r| osscb_blocking::verify_callback(verifier, &r).is_ok());
        let (status, answer) = if ok {
            counts[0].fetch_add(1, Ordering::SeqCst);
            (200, "{\"Status\":\"OK\"}")
        } else {
            counts[1].fetch_add(1, Ordering::SeqCst);
            (400, "{\"Status\":\"Rejected\"}")
        };
        let written = write!(
            stream,
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if written.is_err() || !ok {
            return;
        }
    }
}

/// The next request on the connection: `None` at its end, `Some(None)` for
/// one that cannot be read whole (at most 1 MiB of body).
fn read_request(reader: &mut impl BufRead) -> Option<Option<http::Request<Vec<u8>>>> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) | Err(_) => return None,
        Ok(_) => {}
    }
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or("GET"), words.next().unwrap_or("/"));
    let mut builder = http::Request::builder().method(method).uri(target);
    let mut len = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                len = value.trim().parse().unwrap_or(0);
            }
            builder = builder.header(name.trim(), value.trim());
        }
    }
    if len > 1 << 20 {
        return Some(None);
    }
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return Some(None);
    }
    Some(builder.body(body).ok())
}
