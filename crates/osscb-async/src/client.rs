//! The client: configuration, and the executor of the core's workflow
//! machines ([`osscb_core::flow`]): it signs and sends what a machine asks
//! for, concurrently on the calling task, and hands each answer back as it
//! came. Every decision — retries, backoff, checkpoints, lost answers — is
//! the machine's.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use osscb_core::crc64::{self, Crc64};
use osscb_core::flow::{Answer, Body, Call, Fact, Flow, Request, Send, Step};
use osscb_core::http::{self, HeaderValue, Method, header::CONTENT_LENGTH};
use osscb_core::ops::Operation;
use osscb_core::response::MAX_BODY_LEN;
use osscb_core::retry::RetryPolicy;
use osscb_core::transport::{ClientOptions, FromOptions};
use osscb_core::upload::UploadOptions;
use osscb_core::{Config, PresignedRequest, ProvideCredentials};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::{Bucket, Error, Result};

const DEFAULT_USER_AGENT: &str = concat!("osscb-async/", env!("CARGO_PKG_VERSION"));

/// Builds a [`Client`]: `Client::builder().endpoint(…).credentials(…).build()`.
/// Reads are bounded by the I/O timeout; reqwest has no write timeout.
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

/// Where a machine's `Body::Source` bytes come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source<'a> {
    None,
    Bytes(&'a Bytes),
    File(&'a Path),
}

/// Where a run saves checkpoints, reports progress, and streams a GET's body.
#[derive(Clone, Copy, Default)]
pub(crate) struct Job<'a> {
    pub(crate) options: Option<&'a UploadOptions>,
    /// A successful answer's body goes to this file; its CRC-64 to the mutex.
    pub(crate) sink: Option<(&'a Path, &'a Mutex<u64>)>,
}

type Shared = Arc<Mutex<Crc64>>;

fn lock(crc: &Mutex<Crc64>) -> std::sync::MutexGuard<'_, Crc64> {
    crc.lock().unwrap_or_else(PoisonError::into_inner)
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
    pub async fn send<O: Operation + Clone>(&self, op: &O) -> Result<O::Output> {
        self.run(self.call(op.clone()), Source::None, Job::default())
            .await
    }

    /// Sends an operation with `body` (PutObject, UploadPart, …). A
    /// PutObject carrying a callback is never sent twice blindly (see
    /// [`osscb_core::flow`]).
    ///
    /// # Errors
    /// As [`Client::send`], plus [`osscb_core::Error::AnswerLost`] and
    /// [`osscb_core::Error::OutcomeUnknown`].
    pub async fn send_with_body<O: Operation + Clone>(
        &self,
        op: &O,
        body: impl Into<Bytes>,
    ) -> Result<O::Output> {
        let body = body.into();
        let call = Call::with_source(op.clone(), body.len() as u64, self.inner.retry, seed());
        self.run(call, Source::Bytes(&body), Job::default()).await
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
    /// As [`Client::send_with_body`].
    pub async fn send_presigned<O: Operation + Clone>(
        &self,
        op: &O,
        presigned: &PresignedRequest,
        body: impl Into<Bytes>,
    ) -> Result<O::Output> {
        let body = body.into();
        let len = body.len() as u64;
        let call = Call::presigned(op.clone(), presigned.clone(), len, self.inner.retry, seed());
        self.run(call, Source::Bytes(&body), Job::default()).await
    }

    pub(crate) fn call<O: Operation>(&self, op: O) -> Call<O, Error> {
        Call::new(op, self.inner.retry, seed())
    }

    pub(crate) fn retry(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// Runs `flow` to its end: sends concurrently, waits, saves.
    pub(crate) async fn run<F: Flow<Error>>(
        &self,
        mut flow: F,
        source: Source<'_>,
        job: Job<'_>,
    ) -> Result<F::Output> {
        let mut in_flight = FuturesUnordered::new();
        loop {
            let (id, answer) = match flow.next(SystemTime::now()) {
                Step::Send(send) => {
                    let id = send.id;
                    in_flight.push(async move { (id, self.execute(send, source, job).await) });
                    continue;
                }
                Step::Wait(until) => {
                    let wait = until.duration_since(SystemTime::now()).unwrap_or_default();
                    if in_flight.is_empty() {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    match tokio::time::timeout(wait, in_flight.next()).await {
                        Ok(Some(answer)) => answer,
                        _ => continue,
                    }
                }
                Step::Pending => match in_flight.next().await {
                    Some(answer) => answer,
                    None => return Err(stalled()),
                },
                Step::Save(bytes) => {
                    save(job, &bytes).await?;
                    continue;
                }
                Step::Remove => {
                    if let Some(path) = job.options.and_then(|o| o.checkpoint.as_deref()) {
                        let _ = tokio::fs::remove_file(path).await;
                    }
                    continue;
                }
                Step::Progress { done, total } => {
                    job.options.inspect(|o| o.report(done, total));
                    continue;
                }
                Step::Done(result) => return result,
            };
            flow.on_answer(id, answer);
        }
    }

    /// Signs (or takes the presigned request), attaches the body, sends,
    /// reads the answer (capped), and states what happened.
    async fn execute(&self, send: Send, source: Source<'_>, job: Job<'_>) -> Answer<Error> {
        let crc: Shared = Arc::default();
        let failed = |fact, error: Error, crc: &Mutex<Crc64>| Answer::Failed {
            fact,
            sent_crc64: lock(crc).value(),
            error,
        };
        let request = match self.prepare(send.request) {
            Ok(request) => request,
            Err(e) => return failed(Fact::Local, e, &crc),
        };
        let (mut parts, own) = request.into_parts();
        let (body, len) = match send.body {
            Body::Own => (Ok(Bytes::from(own)), None),
            Body::Source { offset, len, .. } => (body(source, offset, len, &crc).await, Some(len)),
        };
        let body = match body {
            Ok(bytes) => {
                lock(&crc).update(&bytes);
                let n = bytes.len() as u64;
                if n > 0 || len.is_some() {
                    parts
                        .headers
                        .entry(CONTENT_LENGTH)
                        .or_insert(HeaderValue::from(n));
                }
                reqwest::Body::from(bytes)
            }
            Err(Ok(stream)) => {
                let n = len.unwrap_or_default();
                parts
                    .headers
                    .entry(CONTENT_LENGTH)
                    .or_insert(HeaderValue::from(n));
                stream
            }
            Err(Err(e)) => return failed(Fact::Local, e, &crc),
        };
        let head = parts.method == Method::HEAD;
        let uri = parts.uri.clone();
        let request = match reqwest::Request::try_from(http::Request::from_parts(parts, body)) {
            Ok(request) if request.url().path() == uri.path() => request,
            Ok(_) => return failed(Fact::Local, changed(&uri), &crc),
            Err(e) => return failed(Fact::Local, e.into(), &crc),
        };
        let mut response = match self.inner.http.execute(request).await {
            Ok(response) => response,
            Err(e) => {
                let sent_all = len.is_none_or(|len| lock(&crc).len() == len);
                return failed(fact_of(&e, sent_all), e.into(), &crc);
            }
        };
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut bytes = Vec::new();
        let read = match job.sink {
            Some((path, received)) if status.is_success() && !head => {
                sink(&mut response, path, received).await
            }
            _ if head => Ok(()),
            _ => read_capped(&mut response, &mut bytes).await,
        };
        if let Err(e) = read {
            let fact = if matches!(e, Error::Io { .. }) {
                Fact::Local
            } else {
                Fact::NoAnswer
            };
            return failed(fact, e, &crc);
        }
        let mut answer = http::Response::new(bytes);
        *answer.status_mut() = status;
        *answer.headers_mut() = headers;
        Answer::Response {
            response: answer,
            sent_crc64: lock(&crc).value(),
        }
    }

    fn prepare(&self, request: Request) -> Result<http::Request<Vec<u8>>> {
        Ok(match request {
            Request::Unsigned(request) => {
                let credentials = self
                    .inner
                    .credentials
                    .credentials()
                    .map_err(osscb_core::Error::from)?;
                request.sign(&self.inner.config, &credentials, SystemTime::now())?
            }
            Request::Presigned(p) => {
                let mut request = http::Request::new(Vec::new());
                *request.method_mut() = p.method;
                *request.uri_mut() = p.url;
                *request.headers_mut() = p.headers;
                request
            }
        })
    }
}

/// The URL parser would send to another path (a key with `.` or `..`
/// segments that it normalises): refused before sending.
fn changed(uri: &http::Uri) -> Error {
    osscb_core::Error::InvalidKey {
        key: uri.path().to_owned(),
        reason: "reqwest's URL parser would change this path (dot segments); not sent",
    }
    .into()
}

fn stalled() -> Error {
    osscb_core::Error::InvalidArgument("the workflow waits for no answer".to_owned()).into()
}

/// What a failed exchange tells: whether the request went out in full.
fn fact_of(error: &reqwest::Error, sent_all: bool) -> Fact {
    if error.is_connect() || !sent_all {
        Fact::NotSent
    } else if error.is_timeout() {
        Fact::TimedOut
    } else if error.is_builder() {
        Fact::Local
    } else {
        Fact::NoAnswer
    }
}

type BodyResult = std::result::Result<Bytes, Result<reqwest::Body>>;

/// `len` bytes of the source from `offset`: bytes in memory, or a file
/// streamed in 64 KiB chunks through `crc`.
async fn body(source: Source<'_>, offset: u64, len: u64, crc: &Shared) -> BodyResult {
    match source {
        Source::Bytes(bytes) => {
            let range = usize::try_from(offset)
                .ok()
                .zip(usize::try_from(offset + len).ok());
            match range.filter(|(_, end)| *end <= bytes.len()) {
                Some((start, end)) => Ok(bytes.slice(start..end)),
                None => Ok(Bytes::new()),
            }
        }
        Source::None => Ok(Bytes::new()),
        Source::File(path) => Err(file_stream(path, offset, len, Arc::clone(crc)).await),
    }
}

async fn file_stream(path: &Path, offset: u64, len: u64, crc: Shared) -> Result<reqwest::Body> {
    let mut file = tokio::fs::File::open(path).await.map_err(Error::io(path))?;
    file.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(Error::io(path))?;
    let stream = futures_util::stream::unfold(file.take(len), move |mut reader| {
        let crc = Arc::clone(&crc);
        async move {
            let mut buf = vec![0; 64 * 1024];
            match reader.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    lock(&crc).update(&buf);
                    Some((Ok(Bytes::from(buf)), reader))
                }
                Err(e) => Some((Err(e), reader)),
            }
        }
    });
    Ok(reqwest::Body::wrap_stream(stream))
}

/// Reads the body, up to one byte past [`MAX_BODY_LEN`].
async fn read_capped(response: &mut reqwest::Response, bytes: &mut Vec<u8>) -> Result<()> {
    while let Some(chunk) = response.chunk().await? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_BODY_LEN {
            break;
        }
    }
    Ok(())
}

/// Streams a successful answer's body into the file at `path`.
async fn sink(response: &mut reqwest::Response, path: &Path, received: &Mutex<u64>) -> Result<()> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(Error::io(path))?;
    let mut crc = Crc64::new();
    while let Some(chunk) = response.chunk().await? {
        crc.update(&chunk);
        file.write_all(&chunk).await.map_err(Error::io(path))?;
    }
    file.flush().await.map_err(Error::io(path))?;
    *received.lock().unwrap_or_else(PoisonError::into_inner) = crc.value();
    Ok(())
}

/// Saves checkpoint bytes atomically: a temporary file renamed over it.
async fn save(job: Job<'_>, bytes: &[u8]) -> Result<()> {
    let Some(path) = job.options.and_then(|o| o.checkpoint.as_deref()) else {
        return Ok(());
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = Path::new(&tmp);
    tokio::fs::write(tmp, bytes).await.map_err(Error::io(tmp))?;
    tokio::fs::rename(tmp, path).await.map_err(Error::io(path))
}

/// A seed for the machines' backoff jitter, from std's randomly keyed hasher.
pub(crate) fn seed() -> u64 {
    RandomState::new().build_hasher().finish()
}

/// The CRC-64 of bytes received in memory.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    crc64::checksum(bytes)
}
