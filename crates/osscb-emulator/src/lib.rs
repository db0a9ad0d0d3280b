//! # osscb-emulator
//!
//! A local Alibaba Cloud OSS for tests and offline development: real V1
//! signature checks (header and presigned URLs, STS tokens), the object and
//! multipart operations with OSS's ETags and CRC-64, PostObject with policies,
//! CORS, fault injection, and **upload callbacks signed with RSA exactly as OSS
//! signs them**, with the public key served by the emulator itself.
//!
//! It also hands out temporary credentials the way a client finds them in
//! Alibaba Cloud, each accepted by its signature checks until it expires:
//! an ECS instance metadata service (`{endpoint}/__osscb/metadata`), STS
//! `AssumeRole` and `AssumeRoleWithOIDC` (`{endpoint}/__osscb/sts`) and a
//! credentials URI (`{endpoint}/__osscb/credentials`). See
//! [`EmulatorConfig::credential_lifetime`] and [`Emulator::issued_credentials`].
//!
//! ```
//! use osscb_emulator::{Emulator, EmulatorConfig};
//!
//! let emulator = Emulator::start(EmulatorConfig::new("test-id", "test-secret"))?;
//! assert!(emulator.endpoint().starts_with("http://127.0.0.1:"));
//! assert!(emulator.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
//! emulator.faults().fail_next(1, 503); // the next request gets a 503
//! emulator.shutdown();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! It serves a dashboard at `{endpoint}/__osscb/` ([`Emulator::dashboard_url`]):
//! the objects by bucket, the requests with their signature verdicts (a
//! refused signature with the string the emulator signed), each callback
//! delivery (URL, signed request, the application server's status and
//! answer, 200 or 203 to the uploader), live over server-sent events, and
//! the fault controls. It never shows a secret (queries, `Authorization`
//! values and STS tokens are left out or redacted), keeps a bounded journal
//! (the last 500 requests and 200 deliveries), and its controls answer only
//! on a loopback listen address unless [`EmulatorConfig::dashboard_token`]
//! is set. [`EmulatorConfig::dashboard`] turns it off.
//!
//! The emulator runs on its own thread with its own tokio runtime, so
//! blocking and async tests can both use it; dropping it stops it.
//!
//! It listens on loopback unless told otherwise, and bounds what a client can
//! make it hold: a request head must arrive within
//! [`EmulatorConfig::header_read_timeout`]; a body is kept only once the
//! request is authenticated, and at most 5 GiB (OSS's PutObject limit); a
//! PostObject form is authenticated from its fields before its `file`, which
//! together may not exceed 64 KiB. The credential services read at most
//! 64 KiB of body and hold at most 10,000 live issued credentials, metadata
//! tokens and STS nonces each (503 beyond).
//!
//! Bodies stream in: an object or part over 1 MiB goes to a file as it
//! arrives (with its MD5 and CRC-64 computed on the way), a download streams
//! from it, and CompleteMultipartUpload copies the parts' files into the
//! object's, so memory stays bounded whatever the upload's size. The files
//! live in the data directory or, without one, in a private temporary
//! directory removed when the emulator stops. With a data directory, writes
//! are crash-safe and a damaged entry is skipped at start, with a warning.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

mod auth;
mod callback;
#[cfg(feature = "cli")]
pub mod cli;
mod cors;
mod dashboard;
mod data;
mod error;
mod faults;
mod issued;
mod journal;
mod metadata;
mod multipart;
mod objects;
mod post;
mod server;
mod store;
mod sts;
mod xml;

pub use faults::Faults;
pub use issued::CredentialSource;

/// How to start an [`Emulator`].
#[derive(Clone)]
pub struct EmulatorConfig {
    access_key_id: String,
    access_key_secret: String,
    security_token: Option<String>,
    listen: SocketAddr,
    data_dir: Option<PathBuf>,
    rsa_key_pem: Option<String>,
    callback_timeout: Duration,
    header_read_timeout: Duration,
    ecs_role: String,
    metadata_requires_token: bool,
    oidc_token: Option<String>,
    credential_lifetime: Option<Duration>,
    dashboard: bool,
    dashboard_token: Option<String>,
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "rsa_key_pem",
                &self.rsa_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("callback_timeout", &self.callback_timeout)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("ecs_role", &self.ecs_role)
            .field("metadata_requires_token", &self.metadata_requires_token)
            .field(
                "oidc_token",
                &self.oidc_token.as_ref().map(|_| "<redacted>"),
            )
            .field("credential_lifetime", &self.credential_lifetime)
            .field("dashboard", &self.dashboard)
            .field(
                "dashboard_token",
                &self.dashboard_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl EmulatorConfig {
    /// Accepts requests signed with this key pair; listens on `127.0.0.1:0`
    /// (a free port) and keeps objects in memory.
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            security_token: None,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            data_dir: None,
            rsa_key_pem: None,
            callback_timeout: callback::TIMEOUT,
            header_read_timeout: server::HEADER_READ_TIMEOUT,
            ecs_role: metadata::DEFAULT_ROLE.to_owned(),
            metadata_requires_token: false,
            oidc_token: None,
            credential_lifetime: None,
            dashboard: true,
            dashboard_token: None,
        }
    }

    /// Requests must carry this STS token (`x-oss-security-token` header, or
    /// `security-token` in presigned URLs); else 403 `InvalidAccessKeyId`.
    #[must_use]
    pub fn security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// The address to listen on.
    #[must_use]
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Keeps objects and multipart uploads in `dir`, so they survive a restart.
    #[must_use]
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Signs callbacks with this RSA private key (PKCS#8 or PKCS#1 PEM, at
    /// least 1024 bits). Without it a 512-bit key, as large as OSS's own, is
    /// generated (once per process).
    #[must_use]
    pub fn rsa_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.rsa_key_pem = Some(pem.into());
        self
    }

    /// How long the application server has to answer a callback before the
    /// upload gets 203 `Cost too long time.` (OSS gives 5 s, the default).
    #[must_use]
    pub fn callback_timeout(mut self, timeout: Duration) -> Self {
        self.callback_timeout = timeout;
        self
    }

    /// How long a client has to send a request's head (request line and
    /// headers), counted from when the emulator starts waiting for it (a new
    /// connection, or the previous answer on a kept-alive one): a slower
    /// (slowloris) or idle client's connection is closed without an answer.
    /// Default: 10 s.
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// The RAM role the ECS metadata service names (default
    /// `osscb-emulator-role`).
    #[must_use]
    pub fn ecs_role(mut self, name: impl Into<String>) -> Self {
        self.ecs_role = name.into();
        self
    }

    /// Whether the metadata service refuses (401) a GET without a session
    /// token, as an ECS instance in hardened (IMDSv2-only) mode does. A GET
    /// with an unknown or expired token is refused either way. Default: no.
    #[must_use]
    pub fn metadata_requires_token(mut self, required: bool) -> Self {
        self.metadata_requires_token = required;
        self
    }

    /// The only OIDC token `AssumeRoleWithOIDC` accepts. Without it, any
    /// non-empty token is.
    #[must_use]
    pub fn oidc_token(mut self, token: impl Into<String>) -> Self {
        self.oidc_token = Some(token.into());
        self
    }

    /// How long every credential the emulator issues stays valid, overriding
    /// the default (3600 s from the metadata service and the credentials URI,
    /// `DurationSeconds` from STS): short lifetimes let tests see expiry.
    #[must_use]
    pub fn credential_lifetime(mut self, lifetime: Duration) -> Self {
        self.credential_lifetime = Some(lifetime);
        self
    }

    /// Whether the emulator serves its dashboard at `/__osscb/` (the
    /// objects, the requests with their signature verdicts, the callback
    /// deliveries, live, and the fault controls). Default: yes. Off, those
    /// paths answer 404 and nothing is journaled.
    #[must_use]
    pub fn dashboard(mut self, on: bool) -> Self {
        self.dashboard = on;
        self
    }

    /// The token the dashboard's fault controls require
    /// (`Authorization: Bearer TOKEN`). Without one they answer only when
    /// the emulator listens on a loopback address.
    #[must_use]
    pub fn dashboard_token(mut self, token: impl Into<String>) -> Self {
        self.dashboard_token = Some(token.into());
        self
    }
}

/// A running emulator. Dropping it stops it.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Binds the listener, loads the store and the key, and starts serving.
    ///
    /// # Errors
    /// When the address cannot be bound, the data directory cannot be read
    /// or the RSA key PEM is invalid.
    pub fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let signer = callback::Signer::load(config.rsa_key_pem.as_deref())?;
        let store = store::Store::open(config.data_dir.clone())?;
        let listener = std::net::TcpListener::bind(config.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shown = if addr.ip().is_unspecified() {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        } else {
            addr
        };
        let shared = Arc::new(server::Shared {
            creds: {
                let creds =
                    osscb_core::Credentials::new(config.access_key_id, config.access_key_secret);
                match config.security_token {
                    Some(token) => creds.with_security_token(token),
                    None => creds,
                }
            },
            store: Arc::new(store),
            signer,
            callbacks: callback::pool(),
            faults: Faults::default(),
            stats: server::Stats::default(),
            public_key_url: format!("http://{shown}{}", server::PUB_KEY_PATH),
            callback_timeout: config.callback_timeout,
            header_read_timeout: config.header_read_timeout,
            issued: issued::Issued::default(),
            ecs_role: config.ecs_role,
            metadata_requires_token: config.metadata_requires_token,
            oidc_token: config.oidc_token,
            credential_lifetime: config.credential_lifetime,
            dashboard: config.dashboard.then(|| {
                dashboard::Dashboard::new(addr.ip().is_loopback(), config.dashboard_token)
            }),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("osscb-emulator")
            .build()?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (tx, rx) = oneshot::channel();
        let serving = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("osscb-emulator".to_owned())
            .spawn(move || {
                runtime.block_on(server::serve(listener, serving, rx));
                runtime.shutdown_timeout(Duration::from_millis(200));
            })?;
        Ok(Emulator {
            addr: shown,
            shared,
            shutdown: Mutex::new(Some(tx)),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: an endpoint for path-style addressing.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where the emulator serves the public key of its callback signatures
    /// (sent base64-encoded in `x-oss-pub-key-url`).
    pub fn public_key_url(&self) -> String {
        self.shared.public_key_url.clone()
    }

    /// The callback signatures' public key, SPKI PEM.
    pub fn public_key_pem(&self) -> String {
        self.shared.signer.public_pem().to_owned()
    }

    /// `http://127.0.0.1:PORT/__osscb/`: the dashboard, unless it is off.
    pub fn dashboard_url(&self) -> Option<String> {
        self.shared
            .dashboard
            .as_ref()
            .map(|_| format!("http://{}/__osscb/", self.addr))
    }

    /// The fault injection controls.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// How many UploadPart requests stored a part (faulted or refused ones excluded).
    pub fn upload_part_requests(&self) -> u64 {
        self.shared.stats.upload_part.load(Ordering::SeqCst)
    }

    /// How many AbortMultipartUpload requests were received and authenticated
    /// (including those answered `NoSuchUpload`).
    pub fn abort_multipart_requests(&self) -> u64 {
        self.shared.stats.abort_multipart.load(Ordering::SeqCst)
    }

    /// How many temporary credentials the emulator has issued, from every
    /// source (each fetch from the metadata service or the credentials URI,
    /// each successful STS call issues one).
    pub fn issued_credentials(&self) -> u64 {
        [
            CredentialSource::Metadata,
            CredentialSource::Uri,
            CredentialSource::AssumeRole,
            CredentialSource::AssumeRoleWithOidc,
        ]
        .into_iter()
        .map(|source| self.shared.issued.count(source))
        .sum()
    }

    /// How many temporary credentials went out from `source`.
    pub fn issued_credentials_from(&self, source: CredentialSource) -> u64 {
        self.shared.issued.count(source)
    }

    /// The ids of the multipart uploads in progress (initiated, neither
    /// completed nor aborted), sorted.
    pub fn multipart_uploads(&self) -> Vec<String> {
        self.shared.store.upload_ids()
    }

    /// Stops serving and waits for the server thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let sender = self
            .shutdown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(tx) = sender {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}
