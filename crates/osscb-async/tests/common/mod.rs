//! Test helpers: an emulator, a client on it, and a callback receiver that
//! verifies OSS's signature before answering.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use osscb_async::osscb_core::callback::Callback;
use osscb_async::osscb_core::retry::RetryPolicy;
use osscb_async::osscb_core::verify::Verifier;
use osscb_async::osscb_core::{Credentials, http};
use osscb_async::{Client, KeyCache};
use osscb_emulator::{Emulator, EmulatorConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub const ID: &str = "test-id";
pub const SECRET: &str = "test-secret";

pub fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::new(ID, SECRET)).expect("emulator starts")
}

pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

pub fn client(emulator: &Emulator, credentials: Credentials) -> Client {
    Client::builder()
        .endpoint(emulator.endpoint())
        .credentials(credentials)
        .retry_policy(fast_retries())
        .io_timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// A deterministic, incompressible-looking byte pattern.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Writes `len` bytes of the pattern to `path` in 1 MiB chunks.
pub fn write_file(path: &Path, len: usize, seed: u64) {
    let mut file = std::fs::File::create(path).expect("create");
    let chunk = data(1024 * 1024, seed);
    let mut left = len;
    let mut i = 0u8;
    while left > 0 {
        let n = left.min(chunk.len());
        let mut piece = chunk[..n].to_vec();
        piece[0] = i; // vary the chunks
        i = i.wrapping_add(1);
        file.write_all(&piece).expect("write");
        left -= n;
    }
}

/// A callback receiver: verifies each callback (trusting the emulator's key
/// URL), then answers `status` with a JSON body echoing what it received.
pub struct Receiver {
    pub url: String,
    status: Arc<AtomicU16>,
    pub bodies: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    /// Serves on the current tokio runtime.
    pub async fn start(emulator: &Emulator) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!(
            "http://{}/callback?source=test",
            listener.local_addr().expect("addr")
        );
        let status = Arc::new(AtomicU16::new(200));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let verifier = Verifier::new().trust_key_url_prefix(format!("{}/", emulator.endpoint()));
        let keys = Arc::new(KeyCache::default());
        let (st, bo) = (Arc::clone(&status), Arc::clone(&bodies));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (st, bo, keys, verifier) = (
                    Arc::clone(&st),
                    Arc::clone(&bo),
                    Arc::clone(&keys),
                    verifier.clone(),
                );
                tokio::spawn(async move { handle(stream, &st, &bo, &keys, &verifier).await });
            }
        });
        Self {
            url,
            status,
            bodies,
        }
    }

    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn callback(&self, body: &str) -> Callback {
        Callback::builder(self.url.clone())
            .body(body)
            .build()
            .expect("callback")
    }
}

async fn handle(
    stream: TcpStream,
    status: &AtomicU16,
    bodies: &Mutex<Vec<String>>,
    keys: &KeyCache,
    verifier: &Verifier,
) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).await.is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut builder = http::Request::builder()
        .method(method.as_str())
        .uri(target.as_str());
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).await.is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            builder = builder.header(k.trim(), v.trim());
        }
    }
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body).await;
    let request = builder.body(body).expect("request");
    let (code, answer) = match keys.verify(verifier, &request).await {
        Ok(verified) => {
            let text = String::from_utf8_lossy(verified.body()).into_owned();
            bodies.lock().expect("lock").push(text.clone());
            let code = status.load(Ordering::SeqCst);
            (
                code,
                format!("{{\"Status\":\"OK\",\"verified\":true,\"body\":{text:?}}}"),
            )
        }
        Err(e) => (
            400,
            format!("{{\"Status\":\"Rejected\",\"error\":{:?}}}", e.to_string()),
        ),
    };
    let reply = format!(
        "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = reader.get_mut().write_all(reply.as_bytes()).await;
}
