//! The application server of the callback figures: a loopback listener that
//! verifies every callback (`osscb_blocking::verify_callback`: OSS's RSA
//! signature, with the key fetched from the emulator) and counts it, then
//! answers 200 with a JSON body.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
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

/// Reads one request, verifies it, counts it (`[verified, rejected]`) and
/// then answers: counted before OSS (and so the uploader) hears the answer.
fn handle(stream: TcpStream, verifier: &Verifier, [verified, rejected]: [&AtomicUsize; 2]) {
    let Ok(read_half) = stream.try_clone() else {
        rejected.fetch_add(1, Ordering::SeqCst);
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        rejected.fetch_add(1, Ordering::SeqCst);
        return;
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
    let mut body = vec![0; len.min(1 << 20)];
    let ok = reader.read_exact(&mut body).is_ok()
        && builder
            .body(body)
            .is_ok_and(|request| osscb_blocking::verify_callback(verifier, &request).is_ok());
    let (status, answer) = if ok {
        verified.fetch_add(1, Ordering::SeqCst);
        (200, "{\"Status\":\"OK\"}")
    } else {
        rejected.fetch_add(1, Ordering::SeqCst);
        (400, "{\"Status\":\"Rejected\"}")
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{answer}",
        answer.len()
    );
}
