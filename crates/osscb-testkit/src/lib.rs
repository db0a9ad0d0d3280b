//! Every end-to-end scenario of osscb, written once: each transport's tests
//! implement [`Transport`] (a synchronous face of its user API; the async
//! transport drives a tokio runtime) and instantiate every scenario with
//! [`scenarios!`]. The peer is the in-process emulator, and callbacks go to
//! a [`Receiver`] that verifies OSS's signature before answering.

#![allow(clippy::missing_panics_doc, clippy::unwrap_used)]

use std::fmt::Debug;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use osscb_core::callback::Callback;
use osscb_core::credentials::source::Source;
use osscb_core::ops::CompleteMultipartUploadOutput;
use osscb_core::ops::{
    DeleteObjectOutput, GetObject, GetObjectOutput, ObjectMetadata, Operation, PutObjectOutput,
};
use osscb_core::response::{CallbackFailed, ServiceError};
use osscb_core::retry::RetryPolicy;
use osscb_core::upload::{UploadOptions, UploadOutput};
use osscb_core::verify::{Check, VerifiedCallback, Verifier, VerifyError};
use osscb_core::{Config, Credentials, PresignedRequest, http};
use osscb_emulator::{Emulator, EmulatorConfig};

mod credential_scenarios;
pub mod scenarios;

/// How a test builds a client and a bucket handle.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The endpoint.
    pub endpoint: String,
    /// Where the credentials come from.
    pub credentials: Source,
    /// Retries.
    pub retry: RetryPolicy,
    /// The I/O timeout.
    pub io_timeout: Duration,
    /// A region (Signature V4), if any.
    pub region: Option<String>,
    /// The bucket.
    pub bucket: String,
}

impl Settings {
    /// `examplebucket` on `emulator` with `credentials`, fast retries, V1.
    pub fn new(emulator: &Emulator, credentials: impl Into<Source>) -> Self {
        Self {
            endpoint: emulator.endpoint(),
            credentials: credentials.into(),
            retry: fast_retries(),
            io_timeout: Duration::from_secs(10),
            region: None,
            bucket: "examplebucket".to_owned(),
        }
    }

    /// With a region: Signature V4.
    #[must_use]
    pub fn region(mut self, region: &str) -> Self {
        self.region = Some(region.to_owned());
        self
    }
}

/// A transport's user API, as the scenarios use it: a bucket handle on a
/// client, with the client's operations.
pub trait Transport: Sized + Debug {
    /// The transport's error.
    type Error: std::error::Error + 'static;

    /// A client built from `settings` and its handle on `settings.bucket`.
    ///
    /// # Errors
    /// The builder's.
    fn build(settings: Settings) -> Result<Self, Self::Error>;
    /// `Client::from_env()`, handle on `examplebucket`.
    ///
    /// # Errors
    /// The missing variable.
    fn from_env() -> Result<Self, Self::Error>;
    /// The core's error inside, if any.
    fn oss(error: &Self::Error) -> Option<&osscb_core::Error>;
    /// The missing variable `from_env` named, if that is the error.
    fn missing_env(error: &Self::Error) -> Option<&'static str>;
    /// The verification error inside, if any.
    fn verify_error(error: &Self::Error) -> Option<&VerifyError>;
    /// The client's configuration.
    fn config(&self) -> &Config;
    /// The bucket's name.
    fn name(&self) -> &osscb_core::Bucket;
    /// `Bucket::put_object`.
    ///
    /// # Errors
    /// The transport's.
    fn put_object(
        &self,
        key: &str,
        bytes: &[u8],
        options: &UploadOptions,
    ) -> Result<PutObjectOutput, Self::Error>;
    /// `Bucket::put_object_from_file`.
    ///
    /// # Errors
    /// The transport's.
    fn put_object_from_file(
        &self,
        key: &str,
        path: &Path,
        options: &UploadOptions,
    ) -> Result<PutObjectOutput, Self::Error>;
    /// `Bucket::upload_file`.
    ///
    /// # Errors
    /// The transport's.
    fn upload_file(
        &self,
        key: &str,
        path: &Path,
        options: &UploadOptions,
    ) -> Result<CompleteMultipartUploadOutput, Self::Error>;
    /// `Bucket::upload_reader` (async: `Bucket::upload_stream`, fed the
    /// reader's bytes in chunks of uneven sizes).
    ///
    /// # Errors
    /// The transport's.
    fn upload_reader(
        &self,
        key: &str,
        reader: &mut (dyn Read + Send),
        options: &UploadOptions,
    ) -> Result<UploadOutput, Self::Error>;
    /// `Bucket::get_object`.
    ///
    /// # Errors
    /// The transport's.
    fn get_object(&self, key: &str) -> Result<(GetObjectOutput, Vec<u8>), Self::Error>;
    /// `Bucket::get_object_to_file`.
    ///
    /// # Errors
    /// The transport's.
    fn get_object_to_file(&self, key: &str, path: &Path) -> Result<GetObjectOutput, Self::Error>;
    /// `Bucket::open_object`, read to its end: the headers' metadata and the
    /// body, or the first error (a CRC-64 mismatch comes at the end).
    ///
    /// # Errors
    /// The transport's.
    fn read_object(&self, op: GetObject) -> Result<(GetObjectOutput, Vec<u8>), Self::Error>;
    /// `Bucket::head_object`.
    ///
    /// # Errors
    /// The transport's.
    fn head_object(&self, key: &str) -> Result<ObjectMetadata, Self::Error>;
    /// `Bucket::delete_object`.
    ///
    /// # Errors
    /// The transport's.
    fn delete_object(&self, key: &str) -> Result<DeleteObjectOutput, Self::Error>;
    /// `Client::send`.
    ///
    /// # Errors
    /// The transport's.
    fn send<O: Operation + Clone>(&self, op: &O) -> Result<O::Output, Self::Error>;
    /// `Client::presign`.
    ///
    /// # Errors
    /// The transport's.
    fn presign<O: Operation>(
        &self,
        op: &O,
        expires_in: Duration,
    ) -> Result<PresignedRequest, Self::Error>;
    /// `Client::send_presigned`.
    ///
    /// # Errors
    /// The transport's.
    fn send_presigned<O: Operation + Clone>(
        &self,
        op: &O,
        presigned: &PresignedRequest,
        body: &[u8],
    ) -> Result<O::Output, Self::Error>;
    /// `verify_callback`.
    ///
    /// # Errors
    /// The transport's.
    fn verify_callback(
        verifier: &Verifier,
        request: &http::Request<Vec<u8>>,
    ) -> Result<VerifiedCallback, Self::Error>;
}

/// The emulator's access key id.
pub const ID: &str = "test-id";
/// The emulator's access key secret.
pub const SECRET: &str = "test-secret";
/// A callback body with the object's name and size.
pub const BODY: &str = "bucket=${bucket}&object=${object}&size=${size}";

/// An emulator with [`ID`] and [`SECRET`].
pub fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::new(ID, SECRET)).expect("emulator starts")
}

/// The emulator's credentials.
pub fn creds() -> Credentials {
    Credentials::new(ID, SECRET)
}

/// A handle on `examplebucket` of `emulator`.
pub fn bucket<T: Transport>(emulator: &Emulator) -> T {
    T::build(Settings::new(emulator, creds())).expect("client")
}

/// Three attempts, 10 ms to 50 ms apart.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        total_timeout: None,
    }
}

/// The OSS error inside `error`.
pub fn service<T: Transport>(error: &T::Error) -> Option<&ServiceError> {
    T::oss(error).and_then(osscb_core::Error::service)
}

/// The callback failure (203) inside `error`.
pub fn callback_failed<T: Transport>(error: &T::Error) -> Option<&CallbackFailed> {
    T::oss(error).and_then(osscb_core::Error::callback_failed)
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

/// A callback receiver: verifies each callback with the emulator's key, then
/// answers `status` with a JSON body echoing what it received — or, as told,
/// with a body that is not JSON, or late.
pub struct Receiver {
    /// The callback URL.
    pub url: String,
    answering: Arc<Answering>,
    /// The verified bodies received, in order.
    pub bodies: Arc<Mutex<Vec<String>>>,
}

/// How a [`Receiver`] answers.
#[derive(Debug, Default)]
struct Answering {
    status: AtomicU16,
    not_json: AtomicBool,
    delay_ms: AtomicU64,
}

impl Receiver {
    /// Listens on a loopback port, trusting `emulator`'s key.
    pub fn start(emulator: &Emulator) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://{}/callback?source=test",
            listener.local_addr().expect("addr")
        );
        let answering = Arc::new(Answering::default());
        answering.status.store(200, Ordering::SeqCst);
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let verifier = Verifier::new().trust_key_url_prefix(format!("{}/", emulator.endpoint()));
        let key = emulator.public_key_pem();
        let (st, bo) = (Arc::clone(&answering), Arc::clone(&bodies));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (st, bo, key, verifier) = (
                    Arc::clone(&st),
                    Arc::clone(&bo),
                    key.clone(),
                    verifier.clone(),
                );
                std::thread::spawn(move || handle(stream, &st, &bo, &key, &verifier));
            }
        });
        Self {
            url,
            answering,
            bodies,
        }
    }

    /// Answers callbacks with `status` from now on.
    pub fn answer_with(&self, status: u16) {
        self.answering.status.store(status, Ordering::SeqCst);
    }

    /// Answers callbacks with a body that is not JSON (`OK`) from now on.
    pub fn answer_not_json(&self) {
        self.answering.not_json.store(true, Ordering::SeqCst);
    }

    /// Answers callbacks `delay` late from now on.
    pub fn answer_late(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.answering.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// A callback URL on a loopback port nobody listens on: a receiver
    /// that is down.
    pub fn down_url() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        format!("http://{addr}/callback")
    }

    /// A callback to this receiver with `body`.
    pub fn callback(&self, body: &str) -> Callback {
        Callback::builder(self.url.clone())
            .body(body)
            .build()
            .expect("callback")
    }

    /// How many verified callbacks arrived.
    pub fn count(&self) -> usize {
        self.bodies.lock().expect("lock").len()
    }
}

fn handle(
    stream: TcpStream,
    answering: &Answering,
    bodies: &Mutex<Vec<String>>,
    key: &str,
    verifier: &Verifier,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
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
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
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
    let _ = reader.read_exact(&mut body);
    let request = builder.body(body).expect("request");
    let request = osscb_core::verify::CallbackRequest::from_http(&request);
    let checked = check_with(verifier, &request, key.as_bytes());
    let (code, answer) = match checked {
        Ok(verified) => {
            let text = String::from_utf8_lossy(verified.body()).into_owned();
            bodies.lock().expect("lock").push(text.clone());
            let code = answering.status.load(Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(
                answering.delay_ms.load(Ordering::SeqCst),
            ));
            if answering.not_json.load(Ordering::SeqCst) {
                (code, "OK".to_owned())
            } else {
                (
                    code,
                    format!("{{\"Status\":\"OK\",\"verified\":true,\"body\":{text:?}}}"),
                )
            }
        }
        Err(e) => (
            400,
            format!("{{\"Status\":\"Rejected\",\"error\":{:?}}}", e.to_string()),
        ),
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

/// Verifies `request` with `verifier`, answering its key fetch with
/// `document` (the emulator's key, without a network fetch).
fn check_with(
    verifier: &Verifier,
    request: &osscb_core::verify::CallbackRequest<'_>,
    document: &[u8],
) -> Result<VerifiedCallback, VerifyError> {
    for _ in 0..1000 {
        match verifier.check(request, std::time::Instant::now())? {
            Check::Verified(callback) => return Ok(callback),
            Check::Wait(pause) => std::thread::sleep(pause),
            Check::Fetch(fetch) => {
                verifier.key_fetched(fetch, Ok(document), std::time::Instant::now());
            }
        }
    }
    panic!("the verifier neither verified nor refused");
}

/// A loopback TCP relay in front of the emulator that can cut answers short:
/// the status line and headers go through, then half the body, then the
/// connection closes — a reset while the client reads the answer, after
/// the emulator carried the request out.
pub struct Relay {
    /// The relay's endpoint, for [`Settings::endpoint`].
    pub endpoint: String,
    cut: Arc<AtomicU32>,
}

impl Relay {
    /// Listens on a loopback port, relaying to `emulator`.
    pub fn start(emulator: &Emulator) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = emulator.addr();
        let cut = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&cut);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || relay(client, server, &counter));
            }
        });
        Self { endpoint, cut }
    }

    /// Cuts the next `count` answers' bodies short.
    pub fn cut_next(&self, count: u32) {
        self.cut.store(count, Ordering::SeqCst);
    }
}

/// Relays one connection; an answer that starts while a cut is pending is
/// cut short.
fn relay(client: TcpStream, server: TcpStream, cut: &AtomicU32) {
    let asked = Arc::new(AtomicBool::new(false));
    let (mut from_client, mut to_server) = (
        client.try_clone().expect("clone"),
        server.try_clone().expect("clone"),
    );
    let flag = Arc::clone(&asked);
    std::thread::spawn(move || {
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = from_client.read(&mut buf) {
            flag.store(true, Ordering::SeqCst);
            if to_server.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to_server.shutdown(Shutdown::Write);
    });
    let (mut from_server, mut to_client) = (server, client);
    let mut buf = vec![0; 64 * 1024];
    while let Ok(n @ 1..) = from_server.read(&mut buf) {
        let starts_an_answer = asked.swap(false, Ordering::SeqCst);
        let cutting = starts_an_answer
            && cut
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
                .is_ok();
        if !cutting {
            if to_client.write_all(&buf[..n]).is_err() {
                break;
            }
            continue;
        }
        // Read up to the end of the headers, then send half the body.
        let mut answer = buf[..n].to_vec();
        let end = loop {
            if let Some(i) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match from_server.read(&mut buf) {
                Ok(n @ 1..) => answer.extend_from_slice(&buf[..n]),
                _ => break answer.len(),
            }
        };
        let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let keep = (end + len / 2).min(answer.len());
        let _ = to_client.write_all(&answer[..keep]);
        break;
    }
    let _ = to_client.shutdown(Shutdown::Both);
    let _ = from_server.shutdown(Shutdown::Both);
}
