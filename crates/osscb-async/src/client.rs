//! The client: configuration, and the executor of the core's workflow
//! machines ([`osscb_core::flow`]): it signs and sends what a machine asks
//! for, concurrently on the calling task, and hands each answer back as it
//! came. Every decision — retries, backoff, checkpoints, lost answers — is
//! the machine's.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures_util::future::Either;
use futures_util::stream::FuturesUnordered;
use futures_util::{StreamExt, TryStreamExt};
use osscb_core::crc64::Crc64;
use osscb_core::flow::{Answer, Body, Call, Fact, Flow, Send, Step};
use osscb_core::http::{self, Method};
use osscb_core::ops::Operation;
use osscb_core::response::MAX_BODY_LEN;
use osscb_core::retry::RetryPolicy;
use osscb_core::transport::ClientOptions;
use osscb_core::{Config, PresignedRequest};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

use crate::credentials::{Signer, with_process_vars};
use crate::{Bucket, Error, Result, file_error, transport_error};

const DEFAULT_USER_AGENT: &str = concat!("osscb-async/", env!("CARGO_PKG_VERSION"));

/// An OSS client: endpoint, credentials, connection pool and retry policy.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client(Arc<Inner>);

type Inner = (reqwest::Client, Config, Signer, Policy);
type Policy = RetryPolicy;

/// What a run needs besides its machine: where `Body::Source` bytes come
/// from, or where a successful answer's body is streamed.
#[derive(Clone, Copy)]
pub(crate) enum Job<'a> {
    None,
    Bytes(&'a Bytes),
    File(&'a Path),
    Sink(&'a Sink),
    /// A successful answer's body goes to the caller unread.
    Reader(&'a Mutex<Option<reqwest::Response>>),
    /// The source a [`Step::Read`] reads (the sends carry their bytes).
    Pipe(&'a tokio::sync::Mutex<dyn tokio::io::AsyncRead + std::marker::Send + Unpin + 'a>),
}

/// A download's destination: each successful answer streams into a new
/// temporary file beside it; the last one replaces it once the run succeeds.
pub(crate) struct Sink {
    path: PathBuf,
    file: Mutex<Option<tempfile::NamedTempFile>>,
}

type Shared = Arc<Mutex<Crc64>>;

fn lock(crc: &Mutex<Crc64>) -> std::sync::MutexGuard<'_, Crc64> {
    crc.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Client {
    /// A client with `options`: `Client::new(ClientOptions::default()
    /// .endpoint(…).credentials(…))`. Reads are bounded by the I/O timeout;
    /// reqwest has no write timeout.
    ///
    /// # Errors
    /// A missing or invalid endpoint, region or credentials.
    pub fn new(options: ClientOptions) -> Result<Self> {
        let http = crate::tls::http_client_builder()?
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.io_timeout)
            .user_agent(options.user_agent.as_deref().unwrap_or(DEFAULT_USER_AGENT))
            .build()
            .map_err(transport_error)?;
        Self::with_http_client(options, http)
    }

    /// A client that sends through your `reqwest::Client`: its proxy, TLS
    /// roots, HTTP/2, timeouts and connection pool (`options`' timeouts and
    /// user agent are then the client's business). Error statuses are always
    /// answers in reqwest; give it no redirect policy
    /// (`redirect::Policy::none()`), as [`Client::new`] does, so that a
    /// signed request is never sent on elsewhere.
    ///
    /// # Errors
    /// As [`Client::new`].
    pub fn with_http_client(options: ClientOptions, http: reqwest::Client) -> Result<Self> {
        let config = options.config()?;
        let plan = with_process_vars(|vars| options.credentials_plan(vars))?;
        let signer = Signer::new(plan, &http);
        let retry = options.retry;
        Ok(Client(Arc::new((http, config, signer, retry))))
    }

    /// A client from the official SDKs' variables (see
    /// [`ClientOptions::from_vars`]): `OSS_ENDPOINT` and/or `OSS_REGION`,
    /// with credentials from the default chain
    /// ([`osscb_core::credentials::chain`]: `OSS_ACCESS_KEY_ID`,
    /// `OSS_ACCESS_KEY_SECRET` and `OSS_SESSION_TOKEN` first).
    ///
    /// # Errors
    /// [`osscb_core::Error::MissingEnv`] without an endpoint or region;
    /// [`osscb_core::Error::Credentials`] when the chain finds nothing.
    pub fn from_env() -> Result<Self> {
        Self::new(ClientOptions::from_vars(|name| std::env::var(name).ok())?)
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
        &self.0.1
    }

    /// Sends any operation whose body the core supplies (none, or generated).
    ///
    /// # Errors
    /// Transport errors after retries, and whatever the operation's parser says.
    pub async fn send<O: Operation + Clone>(&self, op: &O) -> Result<O::Output> {
        self.run(self.call(op.clone()), Job::None).await
    }

    /// A presigned URL for `op`, valid for `expires_in` (1 s to 7 days). A
    /// callback on the operation travels in the URL.
    ///
    /// # Errors
    /// Invalid expiry, or credentials unavailable.
    pub async fn presign<O: Operation>(
        &self,
        op: &O,
        expires_in: Duration,
    ) -> Result<PresignedRequest> {
        let credentials = self.0.2.credentials().await?;
        let now = SystemTime::now();
        op.request()?
            .presign(self.config(), &credentials, now, expires_in)
    }

    /// Executes a presigned request with `body` and reads the answer with
    /// `op`'s parser (the operation it was presigned from).
    ///
    /// # Errors
    /// As [`Client::send`], plus [`osscb_core::Error::AnswerLost`] and
    /// [`osscb_core::Error::OutcomeUnknown`]: a PUT carrying a callback is
    /// never sent twice blindly (see [`osscb_core::flow`]).
    pub async fn send_presigned<O: Operation + Clone>(
        &self,
        op: &O,
        presigned: &PresignedRequest,
        body: impl Into<Bytes>,
    ) -> Result<O::Output> {
        let body = body.into();
        let len = body.len() as u64;
        let (op, presigned) = (op.clone(), presigned.clone());
        let call = Call::presigned(op, presigned, len, self.retry(), seed());
        self.run(call, Job::Bytes(&body)).await
    }

    pub(crate) fn call<O: Operation>(&self, op: O) -> Call<O, Error> {
        Call::new(op, self.retry(), seed())
    }

    pub(crate) fn retry(&self) -> RetryPolicy {
        self.0.3
    }

    /// Runs `flow` to its end: sends and reads concurrently, waits, saves.
    pub(crate) async fn run<F: Flow<Error>>(&self, mut flow: F, job: Job<'_>) -> Result<F::Output> {
        let mut in_flight = FuturesUnordered::new();
        loop {
            let now = SystemTime::now();
            let answer = match flow.next(now) {
                Step::Send(send) => {
                    let id = send.id;
                    let answer = async move { Either::Left((id, self.execute(send, job).await)) };
                    in_flight.push(Either::Left(answer));
                    None
                }
                Step::Wait(until) if in_flight.is_empty() => {
                    tokio::time::sleep(until.duration_since(now).unwrap_or_default()).await;
                    None
                }
                Step::Wait(until) => {
                    let wait = until.duration_since(now).unwrap_or_default();
                    tokio::time::timeout(wait, in_flight.next())
                        .await
                        .ok()
                        .flatten()
                }
                // The machine waits for an answer: one is always in flight.
                Step::Pending => Some(in_flight.next().await.ok_or_else(stalled)?),
                Step::Done(result) => return result,
                Step::Load(path) => {
                    flow.on_loaded(tokio::fs::read(path).await.ok());
                    None
                }
                Step::Read(n) => {
                    in_flight.push(Either::Right(
                        async move { Either::Right(job.read(n).await) },
                    ));
                    None
                }
                step => checkpoint(step).await.map(|()| None)?,
            };
            // An answer, or the bytes a read read.
            match answer {
                Some(Either::Left((id, answer))) => flow.on_answer(id, answer),
                Some(Either::Right(read)) => flow.on_read(read),
                None => {}
            }
        }
    }

    /// Sends one request with its body, reads the answer (capped), and
    /// states what happened.
    async fn execute(&self, send: Send, job: Job<'_>) -> Answer<Error> {
        use tracing::Instrument as _;
        let span = tracing::debug_span!("osscb.send", attempt = send.attempt());
        let started = Instant::now();
        let answer = self.exchange(send, job).instrument(span.clone()).await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        span.in_scope(|| tracing::debug!(elapsed_ms, "osscb: exchange over"));
        answer
    }

    async fn exchange(&self, send: Send, job: Job<'_>) -> Answer<Error> {
        let crc: Shared = Arc::default();
        let failed = |fact, error: Error, crc: &Mutex<Crc64>| Answer::Failed {
            fact,
            sent_crc64: lock(crc).value(),
            error,
        };
        let source = match send.body {
            Body::Own => None,
            Body::Source { offset, len, .. } => Some((offset, len)),
        };
        let credentials = match self.0.2.credentials().await {
            Ok(credentials) => credentials,
            Err(e) => return failed(Fact::Local, e.into(), &crc),
        };
        let buffer = send.buffer().cloned();
        let (parts, own) = match send.into_http(self.config(), &credentials, SystemTime::now()) {
            Ok(request) => request.into_parts(),
            Err(e) => return failed(Fact::Local, e, &crc),
        };
        let body = match (source, buffer) {
            (None, _) => Ok(Bytes::from(own)),
            (Some(_), Some(bytes)) => Ok(bytes),
            (Some((offset, len)), None) => job.body(offset, len, &crc).await,
        };
        let body = match body {
            Ok(bytes) => {
                lock(&crc).update(&bytes);
                reqwest::Body::from(bytes)
            }
            Err(Ok(stream)) => stream,
            Err(Err(e)) => return failed(Fact::Local, e, &crc),
        };
        let head = parts.method == Method::HEAD;
        let (method, path) = (&parts.method, parts.uri.path());
        tracing::debug!(%method, path, "osscb: sending");
        let uri = parts.uri.clone();
        let request = match reqwest::Request::try_from(http::Request::from_parts(parts, body)) {
            Ok(request) if request.url().path() == uri.path() => request,
            Ok(_) => return failed(Fact::Local, changed(&uri), &crc),
            Err(e) => return failed(Fact::Local, transport_error(e), &crc),
        };
        let mut response = match self.0.0.execute(request).await {
            Ok(response) => response,
            Err(e) => {
                let sent_all = source.is_none_or(|(_, len)| lock(&crc).len() == len);
                return failed(fact_of(&e, sent_all), transport_error(e), &crc);
            }
        };
        let (status, headers) = (response.status(), std::mem::take(response.headers_mut()));
        let mut bytes = Vec::new();
        let read = match job {
            _ if head => Ok(None),
            Job::Sink(sink) if status.is_success() => sink.fill(response).await.map(Some),
            Job::Reader(slot) if status.is_success() => {
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(response);
                Ok(None)
            }
            _ => read_capped(response, &mut bytes).await.map(|()| None),
        };
        match read {
            Err(e @ Error::Io { .. }) => failed(Fact::Local, e, &crc),
            Err(e) => failed(Fact::NoAnswer, e, &crc),
            Ok(received_crc64) => {
                let mut answer = http::Response::new(bytes);
                *answer.status_mut() = status;
                *answer.headers_mut() = headers;
                let sent_crc64 = lock(&crc).value();
                Answer::Response {
                    response: answer,
                    sent_crc64,
                    received_crc64,
                }
            }
        }
    }
}

/// The URL parser would send to another path (a key with `.` or `..`
/// segments that it normalises): refused before sending.
fn changed(uri: &http::Uri) -> Error {
    osscb_core::Error::InvalidKey {
        key: uri.path().to_owned(),
        reason: "reqwest's URL parser would change this path (dot segments); not sent",
    }
}

fn stalled() -> Error {
    osscb_core::Error::InvalidArgument("the workflow waits with nothing in flight".into())
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

impl Job<'_> {
    /// Up to `n` bytes of a pipe: fewer only at its end.
    async fn read(self, n: usize) -> Result<Vec<u8>> {
        let Job::Pipe(pipe) = self else {
            return Ok(Vec::new());
        };
        let (mut pipe, mut bytes) = (pipe.lock().await, Vec::with_capacity(n));
        let mut rest = (&mut *pipe).take(n as u64);
        let copied = tokio::io::copy(&mut rest, &mut bytes).await;
        copied.map_err(osscb_core::Error::SourceRead)?;
        Ok(bytes)
    }

    /// `len` bytes of the source from `offset`: bytes in memory, or a file
    /// streamed in 64 KiB chunks through `crc`.
    async fn body(self, offset: u64, len: u64, crc: &Shared) -> BodyResult {
        let path = match self {
            Job::File(path) => path,
            Job::Bytes(bytes) => {
                let end = offset
                    .checked_add(len)
                    .and_then(|end| usize::try_from(end).ok());
                let range = usize::try_from(offset).ok().zip(end);
                let range = range.filter(|(_, end)| *end <= bytes.len());
                return Ok(range.map(|(a, b)| bytes.slice(a..b)).unwrap_or_default());
            }
            Job::None | Job::Sink(_) | Job::Reader(_) | Job::Pipe(_) => return Ok(Bytes::new()),
        };
        let open = async {
            let mut file = tokio::fs::File::open(path).await?;
            file.seek(std::io::SeekFrom::Start(offset)).await?;
            Ok(file.take(len))
        };
        let reader = open.await.map_err(file_error(path)).map_err(Err)?;
        let crc = Arc::clone(crc);
        let stream = ReaderStream::with_capacity(reader, 64 * 1024)
            .inspect_ok(move |chunk| lock(&crc).update(chunk));
        Err(Ok(reqwest::Body::wrap_stream(stream)))
    }
}

/// Saves checkpoint bytes atomically — a new temporary file of a random name
/// (created exclusively, owner-only, so that nothing planted is followed) in
/// its directory, synced, renamed over it, on the blocking pool — or removes
/// the checkpoint.
async fn checkpoint<T>(step: Step<T, Error>) -> Result<()> {
    match step {
        Step::Remove(path) => drop(tokio::fs::remove_file(path).await),
        Step::Save(path, bytes) => {
            let target = path.clone();
            let save = move || {
                let mut tmp = temp_beside(&path)?;
                std::io::Write::write_all(&mut tmp, &bytes)
                    .and_then(|()| tmp.as_file().sync_all())
                    .map_err(file_error(&path))?;
                tmp.persist(&path).map_err(|e| file_error(&path)(e.error))?;
                Ok::<(), Error>(())
            };
            tokio::task::spawn_blocking(save)
                .await
                .map_err(|e| file_error(&target)(std::io::Error::other(e)))??;
        }
        _ => {}
    }
    Ok(())
}

/// A new temporary file in `path`'s directory.
fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    tempfile::NamedTempFile::new_in(dir).map_err(file_error(dir))
}

impl Sink {
    pub(crate) fn beside(path: &Path) -> Self {
        let (path, file) = (path.to_owned(), Mutex::new(None));
        Self { path, file }
    }

    /// Streams an answer's body into a new temporary file; its CRC-64.
    async fn fill(&self, mut response: reqwest::Response) -> Result<u64> {
        let tmp = temp_beside(&self.path)?;
        let reopened = tmp.reopen().map_err(file_error(tmp.path()))?;
        let mut file = tokio::fs::File::from_std(reopened);
        let mut crc = Crc64::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            crc.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(file_error(tmp.path()))?;
        }
        file.flush().await.map_err(file_error(tmp.path()))?;
        *self.file.lock().unwrap_or_else(PoisonError::into_inner) = Some(tmp);
        Ok(crc.value())
    }

    /// Puts the last body received in place.
    pub(crate) fn persist(self) -> Result<()> {
        let file = self
            .file
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let file =
            file.ok_or_else(|| file_error(&self.path)(std::io::ErrorKind::NotFound.into()))?;
        file.persist(&self.path)
            .map(drop)
            .map_err(|e| file_error(&self.path)(e.error))
    }
}

/// Reads the body, up to one byte past [`MAX_BODY_LEN`].
async fn read_capped(mut response: reqwest::Response, bytes: &mut Vec<u8>) -> Result<()> {
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_BODY_LEN {
            break;
        }
    }
    Ok(())
}

/// A seed for the machines' backoff jitter, from std's randomly keyed hasher.
pub(crate) fn seed() -> u64 {
    RandomState::new().build_hasher().finish()
}
