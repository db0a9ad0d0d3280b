//! The client, and the executor of the core's workflow machines
//! ([`osscb_core::flow`]): it sends what a machine asks for, on threads, and
//! hands each answer back as it came. Every decision is the machine's.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant, SystemTime};

use osscb_core::crc64::Crc64;
use osscb_core::flow::{Answer, Body, Call, Fact, Flow, Send, Step};
use osscb_core::http::{self, Method};
use osscb_core::ops::Operation;
use osscb_core::response::MAX_BODY_LEN;
use osscb_core::retry::RetryPolicy;
use osscb_core::transport::{ClientOptions, CredentialsPlan};
use osscb_core::{Config, PresignedRequest, ProvideCredentials};
use ureq::SendBody;

use crate::credentials::{CredentialsProvider, with_process_vars};
use crate::{Bucket, Error, Result, file_error, transport_error};

const DEFAULT_USER_AGENT: &str = concat!("osscb-blocking/", env!("CARGO_PKG_VERSION"));

/// An OSS client: endpoint, credentials, connection pool and retry policy.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client(Arc<Inner>);

type Inner = (
    ureq::Agent,
    Config,
    Arc<dyn ProvideCredentials>,
    RetryPolicy,
);

/// What a run needs besides its machine: where `Body::Source` bytes come
/// from, or where a successful answer's body is streamed.
#[derive(Clone, Copy)]
pub(crate) enum Job<'a> {
    None,
    Bytes(&'a [u8]),
    File(&'a Path),
    Sink(&'a Sink),
    /// A successful answer's body goes to the caller unread.
    Reader(&'a Mutex<Option<ureq::BodyReader<'static>>>),
    /// The source a [`Step::Read`] reads (the sends carry their bytes).
    Pipe(&'a Mutex<dyn Read + std::marker::Send + 'a>),
}

/// A download's destination: each successful answer streams into a new
/// temporary file beside it; the last one replaces it once the run succeeds.
pub(crate) struct Sink {
    path: PathBuf,
    file: Mutex<Option<tempfile::NamedTempFile>>,
}

/// Feeds what is read through a CRC-64.
pub(crate) struct CrcReader<R>(pub(crate) R, pub(crate) Crc64);

impl<R: Read> Read for CrcReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.update(&buf[..n]);
        Ok(n)
    }
}

impl Client {
    /// A client with `options`: `Client::new(ClientOptions::default()
    /// .endpoint(…).credentials(…))`.
    ///
    /// # Errors
    /// A missing or invalid endpoint, region or credentials.
    pub fn new(options: ClientOptions) -> Result<Self> {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(options.connect_timeout))
            .timeout_per_read(Some(options.io_timeout))
            .timeout_per_write(Some(options.io_timeout))
            .user_agent(options.user_agent.as_deref().unwrap_or(DEFAULT_USER_AGENT))
            .build()
            .new_agent();
        Self::with_agent(options, agent)
    }

    /// A client that sends through your `agent`: its proxy, TLS roots,
    /// timeouts and connection pool (`options`' timeouts and user agent are
    /// then the agent's business). On each request osscb sets what its
    /// protocol needs: error statuses are answers, redirects are not
    /// followed, and the retry policy's total timeout bounds the exchange.
    ///
    /// # Errors
    /// As [`Client::new`].
    pub fn with_agent(options: ClientOptions, agent: ureq::Agent) -> Result<Self> {
        let config = options.config()?;
        let plan = with_process_vars(|vars| options.credentials_plan(vars))?;
        let credentials: Arc<dyn ProvideCredentials> = match plan {
            CredentialsPlan::Provider(provider) => provider,
            CredentialsPlan::Source(source) => {
                Arc::new(CredentialsProvider::with_agent(source, agent.clone()))
            }
        };
        let retry = options.retry;
        Ok(Client(Arc::new((agent, config, credentials, retry))))
    }

    /// Runs `request` on the agent with osscb's per-request settings.
    fn run_http<S: ureq::AsSendBody>(
        &self,
        request: http::Request<S>,
    ) -> std::result::Result<http::Response<ureq::Body>, ureq::Error> {
        let agent = &self.0.0;
        let request = agent
            .configure_request(request)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(self.0.3.total_timeout)
            .build();
        agent.run(request)
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
    pub fn send<O: Operation + Clone>(&self, op: &O) -> Result<O::Output> {
        self.run(self.call(op.clone()), Job::None)
    }

    /// A presigned URL for `op`, valid for `expires_in` (1 s to 7 days). A
    /// callback on the operation travels in the URL.
    ///
    /// # Errors
    /// Invalid expiry, or credentials unavailable.
    pub fn presign<O: Operation>(&self, op: &O, expires_in: Duration) -> Result<PresignedRequest> {
        let credentials = self.0.2.credentials()?;
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
    pub fn send_presigned<O: Operation + Clone>(
        &self,
        op: &O,
        presigned: &PresignedRequest,
        body: &[u8],
    ) -> Result<O::Output> {
        let (op, len) = (op.clone(), body.len() as u64);
        let call = Call::presigned(op, presigned.clone(), len, self.retry(), seed());
        self.run(call, Job::Bytes(body))
    }

    pub(crate) fn call<O: Operation>(&self, op: O) -> Call<O, Error> {
        Call::new(op, self.retry(), seed())
    }

    pub(crate) fn retry(&self) -> RetryPolicy {
        self.0.3
    }

    /// Runs `flow` to its end: sends on scoped threads, waits, saves.
    pub(crate) fn run<F: Flow<Error>>(&self, mut flow: F, job: Job<'_>) -> Result<F::Output> {
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|scope| {
            loop {
                let now = SystemTime::now();
                let answer = match flow.next(now) {
                    Step::Send(send) => {
                        let tx = tx.clone();
                        scope.spawn(move || drop(tx.send((send.id, self.execute(send, job)))));
                        None
                    }
                    Step::Wait(until) => rx
                        .recv_timeout(until.duration_since(now).unwrap_or_default())
                        .ok(),
                    Step::Pending => rx.recv().ok(),
                    Step::Done(result) => return result,
                    Step::Load(path) => {
                        flow.on_loaded(std::fs::read(path).ok());
                        None
                    }
                    Step::Read(n) => {
                        flow.on_read(job.read(n));
                        None
                    }
                    step => checkpoint(step).map(|()| None)?,
                };
                if let Some((id, answer)) = answer {
                    flow.on_answer(id, answer);
                }
            }
        })
    }

    /// Sends one request with its body, reads the answer (capped), and
    /// states what happened.
    fn execute(&self, send: Send, job: Job<'_>) -> Answer<Error> {
        let span = tracing::debug_span!("osscb.send", attempt = send.attempt());
        let _entered = span.enter();
        let started = Instant::now();
        let answer = self.exchange(send, job);
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(elapsed_ms, "osscb: exchange over");
        answer
    }

    fn exchange(&self, send: Send, job: Job<'_>) -> Answer<Error> {
        let failed = |fact, error: Error, crc: &Crc64| Answer::Failed {
            fact,
            sent_crc64: crc.value(),
            error,
        };
        let empty = Crc64::new();
        let (body, buffer) = (send.body, send.buffer().cloned());
        let (parts, own) = match send.into_http(self.config(), &*self.0.2, SystemTime::now()) {
            Ok(request) => request.into_parts(),
            Err(e) => return failed(Fact::Local, e, &empty),
        };
        let (len, reader): (u64, Box<dyn Read + std::marker::Send>) = match (body, buffer) {
            (Body::Own, _) => {
                let len = own.len() as u64;
                (len, Box::new(io::Cursor::new(own)))
            }
            (Body::Source { len, .. }, Some(bytes)) => (len, Box::new(io::Cursor::new(bytes))),
            (Body::Source { offset, len, .. }, None) => match job.open(offset, len) {
                Ok(reader) => (len, reader),
                Err(e) => return failed(Fact::Local, e, &empty),
            },
        };
        let head = parts.method == Method::HEAD;
        let (method, path) = (&parts.method, parts.uri.path());
        tracing::debug!(%method, path, "osscb: sending");
        let mut reader = CrcReader(reader, Crc64::new());
        let outcome = if len == 0 {
            self.run_http(http::Request::from_parts(parts, SendBody::none()))
        } else {
            let body = SendBody::from_reader(&mut reader);
            self.run_http(http::Request::from_parts(parts, body))
        };
        let crc = reader.1;
        let (parts, body) = match outcome {
            Ok(response) => response.into_parts(),
            Err(e) => return failed(fact_of(&e, crc.len() == len), transport_error(e), &crc),
        };
        let mut reader = body.into_reader();
        let mut bytes = Vec::new();
        let read = match job {
            _ if head => Ok(None),
            Job::Sink(sink) if parts.status.is_success() => sink.fill(reader).map(Some),
            Job::Reader(slot) if parts.status.is_success() => {
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(reader);
                Ok(None)
            }
            _ => (&mut reader)
                .take(MAX_BODY_LEN as u64 + 1)
                .read_to_end(&mut bytes)
                .map(|_| None)
                .map_err(transport_error),
        };
        match read {
            Err(e @ Error::Io { .. }) => failed(Fact::Local, e, &crc),
            Err(e) => failed(Fact::NoAnswer, e, &crc),
            Ok(received_crc64) => Answer::Response {
                response: http::Response::from_parts(parts, bytes),
                sent_crc64: crc.value(),
                received_crc64,
            },
        }
    }
}

/// What a failed exchange tells: whether the request went out in full.
fn fact_of(error: &ureq::Error, sent_all: bool) -> Fact {
    use ureq::{Error as E, Timeout as T};
    match error {
        E::ConnectionFailed | E::HostNotFound | E::Timeout(T::Resolve | T::Connect) => {
            Fact::NotSent
        }
        E::Io(_) | E::Protocol(_) | E::Timeout(_) | E::BodyStalled if !sent_all => Fact::NotSent,
        E::Timeout(_) => Fact::TimedOut,
        E::Io(_) | E::Protocol(_) | E::BodyStalled => Fact::NoAnswer,
        _ => Fact::Local,
    }
}

impl<'a> Job<'a> {
    /// Up to `n` bytes of a pipe: fewer only at its end.
    fn read(self, n: usize) -> Result<Vec<u8>> {
        let Job::Pipe(source) = self else {
            return Ok(Vec::new());
        };
        let mut source = source.lock().unwrap_or_else(PoisonError::into_inner);
        let mut bytes = Vec::with_capacity(n);
        let limit = u64::try_from(n).unwrap_or(u64::MAX);
        (&mut *source)
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(Error::SourceRead)?;
        Ok(bytes)
    }

    /// `len` bytes of the source from `offset`.
    fn open(self, offset: u64, len: u64) -> Result<Box<dyn Read + std::marker::Send + 'a>> {
        let bytes = match self {
            Job::File(path) => {
                let mut file = File::open(path).map_err(file_error(path))?;
                file.seek(SeekFrom::Start(offset))
                    .map_err(file_error(path))?;
                return Ok(Box::new(file.take(len)));
            }
            Job::Bytes(bytes) => bytes,
            Job::None | Job::Sink(_) | Job::Reader(_) | Job::Pipe(_) => &[],
        };
        let end = offset
            .checked_add(len)
            .and_then(|end| usize::try_from(end).ok());
        let range = usize::try_from(offset).ok().zip(end);
        Ok(Box::new(
            range.and_then(|(a, b)| bytes.get(a..b)).unwrap_or_default(),
        ))
    }
}

/// Saves checkpoint bytes atomically — a new temporary file of a random name
/// (created exclusively, owner-only, so that nothing planted is followed) in
/// its directory, synced, renamed over it — or removes the checkpoint.
fn checkpoint<T>(step: Step<T, Error>) -> Result<()> {
    match step {
        Step::Remove(path) => drop(std::fs::remove_file(path)),
        Step::Save(path, bytes) => {
            let mut tmp = temp_beside(&path)?;
            tmp.write_all(&bytes)
                .and_then(|()| tmp.as_file().sync_all())
                .map_err(file_error(&path))?;
            tmp.persist(&path).map_err(|e| file_error(&path)(e.error))?;
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
    fn fill(&self, reader: impl Read) -> Result<u64> {
        let mut file = temp_beside(&self.path)?;
        let mut reader = CrcReader(reader, Crc64::new());
        io::copy(&mut reader, &mut file)
            .and_then(|_| file.flush())
            .map_err(transport_error)?;
        *self.file.lock().unwrap_or_else(PoisonError::into_inner) = Some(file);
        Ok(reader.1.value())
    }

    /// Puts the last body received in place.
    pub(crate) fn persist(self) -> Result<()> {
        let file = self
            .file
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let file = file.ok_or_else(|| file_error(&self.path)(io::ErrorKind::NotFound.into()))?;
        file.persist(&self.path)
            .map(drop)
            .map_err(|e| file_error(&self.path)(e.error))
    }
}

/// A seed for the machines' backoff jitter, from std's randomly keyed hasher.
pub(crate) fn seed() -> u64 {
    RandomState::new().build_hasher().finish()
}
