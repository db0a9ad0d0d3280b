//! The client: configuration, and one generic `send` that signs, executes
//! (with retries) and hands the answer to the operation's parser.

use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use osscb_core::crc64::{self, Crc64};
use osscb_core::http::{self, Method};
use osscb_core::ops::Operation;
use osscb_core::response::{MAX_BODY_LEN, check_body_len};
use osscb_core::retry::{RetryPolicy, is_retryable_status};
use osscb_core::transport::{ClientOptions, FromOptions};
use osscb_core::upload::Progress;
use osscb_core::{Config, PresignedRequest, ProvideCredentials};
use ureq::SendBody;

use crate::{Bucket, Error, Result};

const DEFAULT_USER_AGENT: &str = concat!("osscb-blocking/", env!("CARGO_PKG_VERSION"));

/// Builds a [`Client`]: `Client::builder().endpoint(…).credentials(…).build()`.
pub type ClientBuilder = osscb_core::transport::ClientBuilder<Client>;

impl FromOptions for Client {
    type Error = Error;

    fn from_options(options: ClientOptions) -> Result<Self> {
        let config = options.config()?;
        let credentials = options.credentials_provider()?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(options.connect_timeout))
            .timeout_per_read(Some(options.io_timeout))
            .timeout_per_write(Some(options.io_timeout))
            .user_agent(options.user_agent.as_deref().unwrap_or(DEFAULT_USER_AGENT))
            .build()
            .new_agent();
        Ok(Client {
            inner: Arc::new(Inner {
                agent,
                config,
                credentials,
                retry: options.retry,
            }),
        })
    }
}

#[derive(Debug)]
struct Inner {
    agent: ureq::Agent,
    config: Config,
    credentials: Arc<dyn ProvideCredentials>,
    retry: RetryPolicy,
}

/// An OSS client: endpoint, credentials, connection pool and retry policy.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

/// What a request carries besides what the core generates. Every kind can be
/// replayed, so every kind may be retried.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Payload<'a> {
    /// The core's body (empty, or the CompleteMultipartUpload XML).
    Core,
    /// Bytes in memory.
    Bytes(&'a [u8]),
    /// `len` bytes of the file at `path` from `offset`, streamed.
    File {
        path: &'a Path,
        offset: u64,
        len: u64,
        progress: Option<&'a Progress>,
    },
}

/// A response whose body is not read yet, and the CRC-64 of what was sent.
pub(crate) struct Sent {
    pub(crate) response: http::Response<ureq::Body>,
    pub(crate) crc64: u64,
    head: bool,
}

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `OSS_ENDPOINT`, `OSS_ACCESS_KEY_ID`,
    /// `OSS_ACCESS_KEY_SECRET`, for STS credentials `OSS_SESSION_TOKEN`, and
    /// `OSS_REGION` (which selects Signature V4).
    ///
    /// # Errors
    /// [`Error::MissingEnv`] naming the first missing variable.
    pub fn from_env() -> Result<Self> {
        ClientBuilder::from_vars(|name| std::env::var(name).ok())
            .map_err(|missing| Error::MissingEnv(missing.0))?
            .build()
    }

    /// A handle on bucket `name`.
    ///
    /// # Errors
    /// An invalid bucket name.
    pub fn bucket(&self, name: &str) -> Result<Bucket> {
        Ok(Bucket::new(self.clone(), osscb_core::Bucket::new(name)?))
    }

    /// The endpoint and signature configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Sends any operation whose body the core supplies (none, or generated).
    ///
    /// # Errors
    /// Transport errors after retries, and whatever the operation's parser says.
    pub fn send<O: Operation>(&self, op: &O) -> Result<O::Output>
    where
        O::Body: CoreBody,
    {
        Ok(self.send_payload(op, Payload::Core)?.0)
    }

    /// Sends an operation with `body` (PutObject, UploadPart, …).
    ///
    /// # Errors
    /// As [`Client::send`].
    pub fn send_with_body<O: Operation>(&self, op: &O, body: &[u8]) -> Result<O::Output>
    where
        O::Body: CoreBody,
    {
        Ok(self.send_payload(op, Payload::Bytes(body))?.0)
    }

    /// A presigned URL for `op`, valid for `expires_in` (1 s to 7 days). A
    /// callback on the operation travels in the URL.
    ///
    /// # Errors
    /// Invalid expiry, or credentials unavailable.
    pub fn presign<O: Operation>(&self, op: &O, expires_in: Duration) -> Result<PresignedRequest> {
        let credentials = self
            .inner
            .credentials
            .credentials()
            .map_err(osscb_core::Error::from)?;
        Ok(op.request()?.presign(
            &self.inner.config,
            &credentials,
            SystemTime::now(),
            expires_in,
        )?)
    }

    /// Executes a presigned request with `body` and reads the answer with
    /// `op`'s parser (the operation it was presigned from).
    ///
    /// # Errors
    /// As [`Client::send`].
    pub fn send_presigned<O: Operation>(
        &self,
        op: &O,
        presigned: &PresignedRequest,
        body: &[u8],
    ) -> Result<O::Output> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = http::Request::new(body);
            *request.method_mut() = presigned.method.clone();
            *request.uri_mut() = presigned.url.clone();
            *request.headers_mut() = presigned.headers.clone();
            let outcome = self.inner.agent.run(request);
            if self.should_retry(&outcome, attempt) {
                continue;
            }
            let sent = Sent {
                response: outcome?,
                crc64: crc64::checksum(body),
                head: presigned.method == Method::HEAD,
            };
            let (response, crc) = read_capped(sent)?;
            return Ok(op.parse_checked(response, crc)?);
        }
    }

    /// Signs and executes `op` with `payload`, retrying transport errors and
    /// 5xx answers, then parses the answer and checks it against the CRC-64 of
    /// the body sent (see [`Operation::parse_checked`]), which it returns.
    pub(crate) fn send_payload<O: Operation>(
        &self,
        op: &O,
        payload: Payload<'_>,
    ) -> Result<(O::Output, u64)>
    where
        O::Body: CoreBody,
    {
        let (response, crc) = read_capped(self.execute(op, payload)?)?;
        Ok((op.parse_checked(response, crc)?, crc))
    }

    /// Signs and executes `op`, retrying; the body is left unread.
    pub(crate) fn execute<O: Operation>(&self, op: &O, payload: Payload<'_>) -> Result<Sent>
    where
        O::Body: CoreBody,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = op.request()?;
            let head = request.method == Method::HEAD;
            let mut core_body = Vec::new();
            let request = request.map_body(|b| core_body = b.into_bytes());
            let credentials = self
                .inner
                .credentials
                .credentials()
                .map_err(osscb_core::Error::from)?;
            let signed = request.sign(&self.inner.config, &credentials, SystemTime::now())?;
            let mut crc = Crc64::new();
            let outcome = match payload {
                Payload::Core => {
                    crc.update(&core_body);
                    self.inner.agent.run(signed.map(|()| core_body.as_slice()))
                }
                Payload::Bytes(bytes) => {
                    crc.update(bytes);
                    self.inner.agent.run(signed.map(|()| bytes))
                }
                Payload::File {
                    path,
                    offset,
                    len,
                    progress,
                } => {
                    let mut file = File::open(path).map_err(Error::io(path))?;
                    file.seek(SeekFrom::Start(offset))
                        .map_err(Error::io(path))?;
                    let mut reader = CrcReader {
                        inner: file.take(len),
                        crc: &mut crc,
                        progress: progress.map(|p| (p, len)),
                    };
                    self.inner
                        .agent
                        .run(signed.map(|()| SendBody::from_reader(&mut reader)))
                }
            };
            if self.should_retry(&outcome, attempt) {
                continue;
            }
            return Ok(Sent {
                response: outcome?,
                crc64: crc.value(),
                head,
            });
        }
    }

    /// Whether to try again after `attempt`; sleeps the backoff if so.
    fn should_retry(
        &self,
        outcome: &std::result::Result<http::Response<ureq::Body>, ureq::Error>,
        attempt: u32,
    ) -> bool {
        let retryable = match outcome {
            Ok(response) => is_retryable_status(response.status()),
            Err(e) => matches!(
                e,
                ureq::Error::Io(_)
                    | ureq::Error::Timeout(_)
                    | ureq::Error::ConnectionFailed
                    | ureq::Error::Protocol(_)
            ),
        };
        let again = retryable && self.inner.retry.allows_another(attempt);
        if again {
            std::thread::sleep(self.inner.retry.backoff(attempt, jitter()));
        }
        again
    }
}

/// Bodies the core supplies: none, or bytes it generated.
pub trait CoreBody {
    /// The bytes to send.
    fn into_bytes(self) -> Vec<u8>;
}

impl CoreBody for () {
    fn into_bytes(self) -> Vec<u8> {
        Vec::new()
    }
}

impl CoreBody for Vec<u8> {
    fn into_bytes(self) -> Vec<u8> {
        self
    }
}

/// A uniform sample in `0.0..1.0` from std's randomly keyed hasher.
fn jitter() -> f64 {
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Reads the body (at most [`MAX_BODY_LEN`] bytes; larger answers are refused
/// unread) into an `http::Response` for the operation's parser.
pub(crate) fn read_capped(sent: Sent) -> Result<(http::Response<Vec<u8>>, u64)> {
    let (parts, body) = sent.response.into_parts();
    if !sent.head
        && let Some(len) = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
    {
        check_body_len(len)?;
    }
    let bytes = if sent.head {
        Vec::new()
    } else {
        body.into_with_config()
            .limit(MAX_BODY_LEN as u64)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => {
                    Error::Oss(osscb_core::Error::ResponseTooLarge {
                        limit: MAX_BODY_LEN,
                    })
                }
                other => Error::Http(other),
            })?
    };
    Ok((http::Response::from_parts(parts, bytes), sent.crc64))
}

/// Feeds what is read through a CRC-64.
struct CrcReader<'a, R> {
    inner: R,
    crc: &'a mut Crc64,
    progress: Option<(&'a Progress, u64)>,
}

impl<R: Read> Read for CrcReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        if let Some((progress, total)) = self.progress {
            progress.report(self.crc.len(), total);
        }
        Ok(n)
    }
}
