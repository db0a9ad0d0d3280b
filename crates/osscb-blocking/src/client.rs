//! The client: configuration, and the executor of the core's workflow
//! machines ([`osscb_core::flow`]): it signs and sends what a machine asks
//! for, on threads, and hands each answer back as it came. Every decision —
//! retries, backoff, checkpoints, lost answers — is the machine's.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, SystemTime};

use osscb_core::crc64::Crc64;
use osscb_core::flow::{Answer, Body, Call, Fact, Flow, Request, Send, SendId, Step};
use osscb_core::http::{self, HeaderValue, Method, header::CONTENT_LENGTH};
use osscb_core::ops::Operation;
use osscb_core::response::MAX_BODY_LEN;
use osscb_core::retry::RetryPolicy;
use osscb_core::transport::{ClientOptions, FromOptions};
use osscb_core::upload::UploadOptions;
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

/// Where a machine's `Body::Source` bytes come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source<'a> {
    None,
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// Where a run saves checkpoints, reports progress, and streams a GET's body.
#[derive(Clone, Copy, Default)]
pub(crate) struct Job<'a> {
    pub(crate) options: Option<&'a UploadOptions>,
    /// A successful answer's body goes to this file; its CRC-64 to the mutex.
    pub(crate) sink: Option<(&'a Path, &'a Mutex<u64>)>,
}

/// Feeds what is read through a CRC-64.
struct CrcReader<R> {
    inner: R,
    crc: Arc<Mutex<Crc64>>,
}

impl<R: Read> Read for CrcReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .update(&buf[..n]);
        Ok(n)
    }
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
    pub fn send<O: Operation + Clone>(&self, op: &O) -> Result<O::Output> {
        self.run(self.call(op.clone()), Source::None, Job::default())
    }

    /// Sends an operation with `body` (PutObject, UploadPart, …). A
    /// PutObject carrying a callback is never sent twice blindly (see
    /// [`osscb_core::flow`]).
    ///
    /// # Errors
    /// As [`Client::send`], plus [`osscb_core::Error::AnswerLost`] and
    /// [`osscb_core::Error::OutcomeUnknown`].
    pub fn send_with_body<O: Operation + Clone>(&self, op: &O, body: &[u8]) -> Result<O::Output> {
        let call = Call::with_source(op.clone(), body.len() as u64, self.inner.retry, seed());
        self.run(call, Source::Bytes(body), Job::default())
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
    pub fn send_presigned<O: Operation + Clone>(
        &self,
        op: &O,
        presigned: &PresignedRequest,
        body: &[u8],
    ) -> Result<O::Output> {
        let len = body.len() as u64;
        let call = Call::presigned(op.clone(), presigned.clone(), len, self.inner.retry, seed());
        self.run(call, Source::Bytes(body), Job::default())
    }

    pub(crate) fn call<O: Operation>(&self, op: O) -> Call<O, Error> {
        Call::new(op, self.inner.retry, seed())
    }

    pub(crate) fn retry(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// Runs `flow` to its end: sends on scoped threads, waits, saves.
    pub(crate) fn run<F: Flow<Error>>(
        &self,
        mut flow: F,
        source: Source<'_>,
        job: Job<'_>,
    ) -> Result<F::Output> {
        let (tx, rx) = mpsc::channel::<(SendId, Answer<Error>)>();
        std::thread::scope(|scope| {
            loop {
                let (id, answer) = match flow.next(SystemTime::now()) {
                    Step::Send(send) => {
                        let tx = tx.clone();
                        scope.spawn(move || {
                            let id = send.id;
                            let _ = tx.send((id, self.execute(send, source, job)));
                        });
                        continue;
                    }
                    Step::Wait(until) => {
                        let wait = until.duration_since(SystemTime::now()).unwrap_or_default();
                        match rx.recv_timeout(wait) {
                            Ok(answer) => answer,
                            Err(_) => continue,
                        }
                    }
                    Step::Pending => match rx.recv() {
                        Ok(answer) => answer,
                        Err(_) => continue,
                    },
                    Step::Save(bytes) => {
                        save(job, &bytes)?;
                        continue;
                    }
                    Step::Remove => {
                        if let Some(path) = job.options.and_then(|o| o.checkpoint.as_deref()) {
                            let _ = std::fs::remove_file(path);
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
        })
    }

    /// Signs (or takes the presigned request), attaches the body, sends,
    /// reads the answer (capped), and states what happened.
    fn execute(&self, send: Send, source: Source<'_>, job: Job<'_>) -> Answer<Error> {
        let crc = Arc::new(Mutex::new(Crc64::new()));
        let failed = |fact, error: Error, crc: &Mutex<Crc64>| Answer::Failed {
            fact,
            sent_crc64: crc.lock().unwrap_or_else(PoisonError::into_inner).value(),
            error,
        };
        let request = match self.prepare(send.request) {
            Ok(request) => request,
            Err(e) => return failed(Fact::Local, e, &crc),
        };
        let (mut parts, own) = request.into_parts();
        let (reader, len): (Box<dyn Read + std::marker::Send + '_>, u64) = match send.body {
            Body::Own => (Box::new(Cursor::new(own.clone())), own.len() as u64),
            Body::Source { offset, len, .. } => match open(source, offset, len) {
                Ok(reader) => (reader, len),
                Err(e) => return failed(Fact::Local, e, &crc),
            },
        };
        if len > 0 || !matches!(parts.method, Method::GET | Method::HEAD | Method::DELETE) {
            parts
                .headers
                .entry(CONTENT_LENGTH)
                .or_insert(HeaderValue::from(len));
        }
        let head = parts.method == Method::HEAD;
        let mut reader = CrcReader {
            inner: reader,
            crc: Arc::clone(&crc),
        };
        let outcome = if len == 0 {
            self.inner
                .agent
                .run(http::Request::from_parts(parts, SendBody::none()))
        } else {
            let body = SendBody::from_reader(&mut reader);
            self.inner.agent.run(http::Request::from_parts(parts, body))
        };
        let sent_all = crc.lock().unwrap_or_else(PoisonError::into_inner).len() == len;
        let response = match outcome {
            Ok(response) => response,
            Err(e) => return failed(fact_of(&e, sent_all), Error::Http(e), &crc),
        };
        let (parts, body) = response.into_parts();
        let mut bytes = Vec::new();
        let mut reader = body.into_reader();
        let read = match job.sink {
            Some((path, received)) if parts.status.is_success() && !head => {
                sink(&mut reader, path, received)
            }
            _ if head => Ok(()),
            _ => (&mut reader)
                .take(MAX_BODY_LEN as u64 + 1)
                .read_to_end(&mut bytes)
                .map(drop)
                .map_err(|e| Error::Http(ureq::Error::Io(e))),
        };
        if let Err(e) = read {
            let fact = if matches!(e, Error::Io { .. }) {
                Fact::Local
            } else {
                Fact::NoAnswer
            };
            return failed(fact, e, &crc);
        }
        let sent_crc64 = crc.lock().unwrap_or_else(PoisonError::into_inner).value();
        Answer::Response {
            response: http::Response::from_parts(parts, bytes),
            sent_crc64,
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

/// What a failed exchange tells: whether the request went out in full.
fn fact_of(error: &ureq::Error, sent_all: bool) -> Fact {
    use ureq::Timeout;
    match error {
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => Fact::NotSent,
        ureq::Error::Timeout(Timeout::Resolve | Timeout::Connect) => Fact::NotSent,
        ureq::Error::Timeout(_) if sent_all => Fact::TimedOut,
        ureq::Error::Io(_) | ureq::Error::Protocol(_) | ureq::Error::Timeout(_) if !sent_all => {
            Fact::NotSent
        }
        ureq::Error::Io(_) | ureq::Error::Protocol(_) | ureq::Error::BodyStalled => Fact::NoAnswer,
        _ => Fact::Local,
    }
}

/// `len` bytes of the source from `offset`.
fn open(
    source: Source<'_>,
    offset: u64,
    len: u64,
) -> Result<Box<dyn Read + std::marker::Send + '_>> {
    match source {
        Source::Bytes(bytes) => {
            let range = usize::try_from(offset)
                .ok()
                .zip(usize::try_from(offset + len).ok());
            let slice = range.and_then(|(a, b)| bytes.get(a..b)).unwrap_or_default();
            Ok(Box::new(slice))
        }
        Source::File(path) => {
            let mut file = File::open(path).map_err(Error::io(path))?;
            file.seek(SeekFrom::Start(offset))
                .map_err(Error::io(path))?;
            Ok(Box::new(file.take(len)))
        }
        Source::None => Ok(Box::new(io::empty())),
    }
}

/// Streams a successful answer's body into the file at `path`.
fn sink(reader: &mut impl Read, path: &Path, received: &Mutex<u64>) -> Result<()> {
    let mut file = File::create(path).map_err(Error::io(path))?;
    let mut crc = Crc64::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| Error::Http(ureq::Error::Io(e)))?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(Error::io(path))?;
    }
    file.flush().map_err(Error::io(path))?;
    *received.lock().unwrap_or_else(PoisonError::into_inner) = crc.value();
    Ok(())
}

/// Saves checkpoint bytes atomically: a temporary file renamed over it.
fn save(job: Job<'_>, bytes: &[u8]) -> Result<()> {
    let Some(path) = job.options.and_then(|o| o.checkpoint.as_deref()) else {
        return Ok(());
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = Path::new(&tmp);
    std::fs::write(tmp, bytes).map_err(Error::io(tmp))?;
    std::fs::rename(tmp, path).map_err(Error::io(path))
}

/// A seed for the machines' backoff jitter, from std's randomly keyed hasher.
pub(crate) fn seed() -> u64 {
    RandomState::new().build_hasher().finish()
}
