//! The client: configuration, and one generic `send` that signs, executes
//! (with retries) and hands the answer to the operation's parser.

use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use osscb_core::crc64::{self, Crc64};
use osscb_core::http::{self, Method};
use osscb_core::ops::Operation;
use osscb_core::response::{MAX_BODY_LEN, check_body_len};
use osscb_core::retry::{RetryPolicy, is_retryable_status};
use osscb_core::transport::{ClientOptions, FromOptions};
use osscb_core::upload::Progress;
use osscb_core::{Config, PresignedRequest, ProvideCredentials};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::{Bucket, Error, Result};

const DEFAULT_USER_AGENT: &str = concat!("osscb-async/", env!("CARGO_PKG_VERSION"));

/// Builds a [`Client`]: `Client::builder().endpoint(…).credentials(…).build()`. Reads are bounded by the I/O
/// timeout; reqwest has no write timeout.
pub type ClientBuilder = osscb_core::transport::ClientBuilder<Client>;

impl FromOptions for Client {
    type Error = Error;

    fn from_options(options: ClientOptions) -> Result<Self> {
        let config = options.config()?;
        let credentials = options.credentials_provider()?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.io_timeout)
            .user_agent(options.user_agent.as_deref().unwrap_or(DEFAULT_USER_AGENT))
            .build()?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                config,
                credentials,
                retry: options.retry,
            }),
        })
    }
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
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
#[derive(Clone, Debug)]
pub(crate) enum Payload<'a> {
    /// The core's body (empty, or the CompleteMultipartUpload XML).
    Core,
    /// Bytes in memory.
    Bytes(Bytes),
    /// `len` bytes of the file at `path` from `offset`, streamed.
    File {
        path: &'a Path,
        offset: u64,
        len: u64,
        progress: Option<Progress>,
    },
}

/// A response whose body is not read yet, and the CRC-64 of what was sent.
pub(crate) struct Sent {
    pub(crate) response: reqwest::Response,
    pub(crate) crc64: u64,
    head: bool,
}

type Outcome = std::result::Result<reqwest::Response, reqwest::Error>;

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
    pub async fn send<O: Operation>(&self, op: &O) -> Result<O::Output>
    where
        O::Body: CoreBody,
    {
        Ok(self.send_payload(op, Payload::Core).await?.0)
    }

    /// Sends an operation with `body` (PutObject, UploadPart, …).
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn send_with_body<O: Operation>(
        &self,
        op: &O,
        body: impl Into<Bytes>,
    ) -> Result<O::Output>
    where
        O::Body: CoreBody,
    {
        Ok(self.send_payload(op, Payload::Bytes(body.into())).await?.0)
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
    pub async fn send_presigned<O: Operation>(
        &self,
        op: &O,
        presigned: &PresignedRequest,
        body: impl Into<Bytes>,
    ) -> Result<O::Output> {
        let body = body.into();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = http::Request::new(reqwest::Body::from(body.clone()));
            *request.method_mut() = presigned.method.clone();
            *request.uri_mut() = presigned.url.clone();
            *request.headers_mut() = presigned.headers.clone();
            let outcome = self.inner.http.execute(request.try_into()?).await;
            if self.should_retry(&outcome, attempt).await {
                continue;
            }
            let sent = Sent {
                response: outcome?,
                crc64: crc64::checksum(&body),
                head: presigned.method == Method::HEAD,
            };
            let (response, crc) = read_capped(sent).await?;
            return Ok(op.parse_checked(response, crc)?);
        }
    }

    /// Signs and executes `op` with `payload`, retrying transport errors and
    /// 5xx answers, then parses the answer and checks it against the CRC-64 of
    /// the body sent (see [`Operation::parse_checked`]), which it returns.
    pub(crate) async fn send_payload<O: Operation>(
        &self,
        op: &O,
        payload: Payload<'_>,
    ) -> Result<(O::Output, u64)>
    where
        O::Body: CoreBody,
    {
        let (response, crc) = read_capped(self.execute(op, payload).await?).await?;
        Ok((op.parse_checked(response, crc)?, crc))
    }

    /// Signs and executes `op`, retrying; the body is left unread.
    pub(crate) async fn execute<O: Operation>(&self, op: &O, payload: Payload<'_>) -> Result<Sent>
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
            let crc = Arc::new(Mutex::new(Crc64::new()));
            let body = match &payload {
                Payload::Core => {
                    lock(&crc).update(&core_body);
                    reqwest::Body::from(core_body)
                }
                Payload::Bytes(bytes) => {
                    lock(&crc).update(bytes);
                    reqwest::Body::from(bytes.clone())
                }
                Payload::File {
                    path,
                    offset,
                    len,
                    progress,
                } => {
                    let stream =
                        file_stream(path, *offset, *len, Arc::clone(&crc), progress.clone())
                            .await?;
                    reqwest::Body::wrap_stream(stream)
                }
            };
            let outcome = self
                .inner
                .http
                .execute(signed.map(|()| body).try_into()?)
                .await;
            if self.should_retry(&outcome, attempt).await {
                continue;
            }
            let crc64 = lock(&crc).value();
            return Ok(Sent {
                response: outcome?,
                crc64,
                head,
            });
        }
    }

    /// Whether to try again after `attempt`; sleeps the backoff if so.
    async fn should_retry(&self, outcome: &Outcome, attempt: u32) -> bool {
        let retryable = match outcome {
            Ok(response) => is_retryable_status(response.status()),
            Err(e) => e.is_timeout() || e.is_connect() || e.is_request() || e.is_body(),
        };
        let again = retryable && self.inner.retry.allows_another(attempt);
        if again {
            tokio::time::sleep(self.inner.retry.backoff(attempt, jitter())).await;
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

fn lock(crc: &Mutex<Crc64>) -> std::sync::MutexGuard<'_, Crc64> {
    crc.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A uniform sample in `0.0..1.0` from std's randomly keyed hasher.
fn jitter() -> f64 {
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// `len` bytes of the file from `offset` as a stream of 64 KiB chunks, fed
/// through `crc` and reported to `progress` as they go out.
async fn file_stream(
    path: &Path,
    offset: u64,
    len: u64,
    crc: Arc<Mutex<Crc64>>,
    progress: Option<Progress>,
) -> Result<impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
    let mut file = tokio::fs::File::open(path).await.map_err(Error::io(path))?;
    file.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(Error::io(path))?;
    let reader = file.take(len);
    Ok(futures_util::stream::unfold(reader, move |mut reader| {
        let (crc, progress) = (Arc::clone(&crc), progress.clone());
        async move {
            let mut buf = vec![0; 64 * 1024];
            match reader.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    let done = {
                        let mut crc = lock(&crc);
                        crc.update(&buf);
                        crc.len()
                    };
                    if let Some(p) = &progress {
                        p.report(done, len);
                    }
                    Some((Ok(Bytes::from(buf)), reader))
                }
                Err(e) => Some((Err(e), reader)),
            }
        }
    }))
}

/// Reads the body (at most [`MAX_BODY_LEN`] bytes; larger answers are refused
/// unread) into an `http::Response` for the operation's parser.
pub(crate) async fn read_capped(sent: Sent) -> Result<(http::Response<Vec<u8>>, u64)> {
    let mut response = sent.response;
    let mut bytes = Vec::new();
    if !sent.head {
        if let Some(len) = response.content_length() {
            check_body_len(len)?;
        }
        while let Some(chunk) = response.chunk().await? {
            if bytes.len() + chunk.len() > MAX_BODY_LEN {
                return Err(osscb_core::Error::ResponseTooLarge {
                    limit: MAX_BODY_LEN,
                }
                .into());
            }
            bytes.extend_from_slice(&chunk);
        }
    }
    let mut out = http::Response::new(bytes);
    *out.status_mut() = response.status();
    *out.headers_mut() = response.headers().clone();
    Ok((out, sent.crc64))
}
