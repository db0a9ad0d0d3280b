//! The upload workflow as sans-IO state machines: every decision between
//! requests is made here, and a transport only executes.
//!
//! A machine ([`Call`] for one operation — a plain request, a PutObject, a
//! presigned PUT — and [`Multipart`] for a multipart upload) is driven
//! through the [`Flow`] trait: the transport asks [`Flow::next`] what to do
//! at `now` and gets a [`Step`]: send a request (the transport signs it, or
//! sends the presigned one as is, attaching the body the [`Body`] names),
//! wait, save or remove checkpoint bytes, report progress, or finish. It
//! hands every answer back with [`Flow::on_answer`], either a complete
//! response or a failure stated as a fact ([`Fact`]): the transport never
//! decides whether to retry.
//!
//! # At most one callback per call
//!
//! A write that carries an upload callback (PutObject from bytes or a file, a
//! presigned PUT, CompleteMultipartUpload) is never sent again blindly after
//! an *ambiguous* failure, one after which it may have taken effect: no
//! complete answer after the request went out ([`Fact::NoAnswer`],
//! [`Fact::TimedOut`]) or any 5xx answer (a gateway or OSS may answer 5xx
//! after the object was stored). Instead the machine asks HeadObject:
//!
//! - the object is there with the size and CRC-64 of what was sent
//!   (multipart: the parts' combined CRC-64 and a `-N` ETag): the call ends
//!   with [`Error::AnswerLost`] — stored, callback run by OSS, its answer
//!   lost. An identical object stored earlier cannot be told apart from it.
//! - there is no object (404): the write is sent again with
//!   `x-oss-forbid-overwrite: true`, so that a first attempt still in flight
//!   cannot be stored (and called back) twice; a `FileAlreadyExists` answer
//!   to it leads to another look. A presigned request cannot gain that
//!   header (it would break its signature), so it is not sent again.
//! - an object with other content, or no way to look: the call ends with
//!   [`Error::OutcomeUnknown`], and nothing is sent again.
//!
//! Writes without a callback are retried as any request is: see
//! [`crate::retry`].
//!
//! # Deadlines
//!
//! With a [`RetryPolicy::total_timeout`](crate::retry::RetryPolicy::total_timeout),
//! a machine whose request is in flight answers [`Step::Wait`] until the
//! deadline rather than [`Step::Pending`], and at the deadline finishes
//! ([`Step::Done`]) with the request still in flight: the transport drops
//! it, or lets it end unheard (its answer is ignored).
//!
//! ```
//! use std::time::SystemTime;
//! use osscb_core::flow::{Answer, Call, Flow, Step};
//! use osscb_core::ops::HeadObject;
//! use osscb_core::retry::RetryPolicy;
//! use osscb_core::{Bucket, Config, Credentials, Endpoint, Error, ObjectKey};
//!
//! let config = Config::v1(Endpoint::parse("oss-cn-hangzhou.aliyuncs.com")?);
//! let credentials = Credentials::new("LTAI-example", "secret");
//! let head = HeadObject::new(Bucket::new("examplebucket")?, ObjectKey::new("a.txt")?);
//! let mut call = Call::<_, Error>::new(head, RetryPolicy::default(), 42);
//! let now = SystemTime::now();
//! let Step::Send(send) = call.next(now) else { panic!("a request first") };
//! let id = send.id;
//! // The transport signs and sends it, then hands the answer back.
//! let request = send.into_http(&config, &credentials, now)?;
//! assert_eq!(request.method(), http::Method::HEAD);
//! let response = http::Response::builder().status(200).header("etag", "\"E\"").body(Vec::new())?;
//! call.on_answer(id, Answer::Response { response, sent_crc64: 0, received_crc64: None });
//! let Step::Done(Ok(meta)) = call.next(now) else { panic!("done") };
//! assert_eq!(meta.object.etag.as_deref(), Some("\"E\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::PathBuf;
use std::time::SystemTime;

use crate::{Config, Error, OssRequest, PresignedRequest, ProvideCredentials};

mod call;
mod multipart;
mod stream;

pub use call::Call;
pub use multipart::Multipart;
pub use stream::StreamUpload;

/// Identifies one request a machine handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SendId {
    call: u64,
    n: u32,
}

/// What to send.
#[derive(Debug)]
pub(crate) enum Request {
    /// Sign it with [`OssRequest::sign`] just before sending.
    Unsigned(OssRequest<Vec<u8>>),
    /// Send it as it is.
    Presigned(PresignedRequest),
}

/// The body to attach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// The request's own bytes (empty for most requests; none for a
    /// presigned one).
    Own,
    /// `len` bytes of the upload's source from `offset` (part `part`; 0 for a
    /// single write). When the [`Send`] carries them ([`Send::buffer`]: an
    /// upload from a reader, whose bytes the machine keeps), those are the
    /// bytes; otherwise how they are produced — a file range, a slice — is
    /// the transport's business.
    Source {
        /// 1-based part number; 0 for a single write.
        part: u32,
        /// The first byte.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
}

/// One request for the transport.
#[derive(Debug)]
pub struct Send {
    /// Hand it back with the answer.
    pub id: SendId,
    /// The request.
    request: Request,
    /// Its body.
    pub body: Body,
    /// Which attempt of its kind this is, from 1 (a write's, or a look's).
    attempt: u32,
    /// Milliseconds to add to the local clock to get the server's: learnt
    /// from a `RequestTimeTooSkewed` answer (see [`Call`]); 0 until then.
    clock_offset: i64,
    /// The body's bytes, when the machine holds them.
    buffer: Option<bytes::Bytes>,
}

impl Send {
    /// Which attempt this is, from 1: the write's (a first send, then each
    /// retry), or the HeadObject look's after an ambiguous failure.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The bytes of a [`Body::Source`] when the machine holds them (an
    /// upload from a reader): send these (a cheap clone), not the source.
    pub fn buffer(&self) -> Option<&bytes::Bytes> {
        self.buffer.as_ref()
    }

    /// The `http::Request` to send at `now` — signed with the credentials
    /// `provider` gives now, at `now` corrected by the server's clock if the
    /// machine learnt it is off, or the presigned one as it is — with the
    /// request's own body, and `Content-Length` set for a source body.
    ///
    /// # Errors
    /// Credentials unavailable, or a request that cannot be signed.
    pub fn into_http(
        self,
        config: &Config,
        provider: &dyn ProvideCredentials,
        now: SystemTime,
    ) -> Result<http::Request<Vec<u8>>, Error> {
        let mut request = match self.request {
            Request::Unsigned(request) => {
                let at = call::shifted(now, self.clock_offset);
                request.sign(config, &provider.credentials()?, at)?
            }
            Request::Presigned(p) => {
                let mut request = http::Request::new(Vec::new());
                *request.method_mut() = p.method;
                *request.uri_mut() = p.url;
                *request.headers_mut() = p.headers;
                request
            }
        };
        if let Body::Source { len, .. } = self.body {
            let length = http::HeaderValue::from(len);
            request
                .headers_mut()
                .entry(http::header::CONTENT_LENGTH)
                .or_insert(length);
        }
        Ok(request)
    }
}

/// What the transport knows about a request that got no complete answer:
/// facts, never decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fact {
    /// It never went out in full (no connection; the body was not all
    /// handed over): OSS cannot have acted on it.
    NotSent,
    /// It went out; no complete answer came back (reset, closed, an I/O
    /// error while reading the answer, its body included: the request may
    /// have taken effect).
    NoAnswer,
    /// It went out; the answer did not come in time.
    TimedOut,
    /// It failed here: credentials unavailable, the source unreadable, a URL
    /// the HTTP client would change. Not worth another attempt.
    Local,
}

/// The outcome of one request.
#[derive(Debug)]
pub enum Answer<E> {
    /// A complete answer. The body is read up to one byte past
    /// [`crate::response::MAX_BODY_LEN`] (the machine refuses longer ones);
    /// empty for HEAD.
    Response {
        /// Status, headers and body.
        response: http::Response<Vec<u8>>,
        /// The CRC-64 of the body sent.
        sent_crc64: u64,
        /// The CRC-64 of the answer's body when the transport streamed it
        /// elsewhere (a download to a file) instead of into `response`.
        received_crc64: Option<u64>,
    },
    /// No complete answer.
    Failed {
        /// What is known.
        fact: Fact,
        /// The CRC-64 of the body bytes that went out.
        sent_crc64: u64,
        /// The transport's error, returned if the machine gives up.
        error: E,
    },
}

/// What a transport does next.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // short-lived; boxing would cost every send
pub enum Step<T, E> {
    /// Send this request; more may follow before its answer.
    Send(Send),
    /// Nothing to send before this time (unless an answer arrives).
    Wait(SystemTime),
    /// Read the checkpoint file at this path and hand its bytes to
    /// [`Flow::on_loaded`] (`None` when it cannot be read) before the next
    /// step.
    Load(PathBuf),
    /// Write these checkpoint bytes to this path atomically: to a new
    /// temporary file in its directory, created exclusively under a random
    /// name (never a fixed one such as `<path>.tmp`, where a planted symlink
    /// would be followed), then renamed over it.
    Save(PathBuf, Vec<u8>),
    /// Remove the checkpoint file at this path.
    Remove(PathBuf),
    /// Read this many bytes of the upload's source — fewer only at its end
    /// — and hand them (or the read error, as [`Error::SourceRead`]) to
    /// [`Flow::on_read`]. The transport may read while it goes on with the
    /// other steps (the machine asks for no other read meanwhile) or before
    /// it asks for the next one; answers that arrive meanwhile are handed
    /// back as usual.
    Read(usize),
    /// Nothing to do until an answer arrives.
    Pending,
    /// Finished; nothing is in flight but requests abandoned at a total
    /// timeout, whose answers are no longer needed.
    Done(Result<T, E>),
}

/// A workflow machine.
pub trait Flow<E> {
    /// What it produces.
    type Output;
    /// What to do at `now`.
    fn next(&mut self, now: SystemTime) -> Step<Self::Output, E>;
    /// The answer to request `id`.
    fn on_answer(&mut self, id: SendId, answer: Answer<E>);
    /// The bytes a [`Step::Load`] read.
    fn on_loaded(&mut self, bytes: Option<Vec<u8>>) {
        drop(bytes);
    }
    /// The bytes a [`Step::Read`] read: as many as it asked for, fewer only
    /// at the end of the source (none: the source has ended).
    fn on_read(&mut self, read: Result<Vec<u8>, E>) {
        drop(read);
    }
}

impl<F: Flow<E> + ?Sized, E> Flow<E> for &mut F {
    type Output = F::Output;

    fn next(&mut self, now: SystemTime) -> Step<F::Output, E> {
        (**self).next(now)
    }

    fn on_answer(&mut self, id: SendId, answer: Answer<E>) {
        (**self).on_answer(id, answer);
    }

    fn on_loaded(&mut self, bytes: Option<Vec<u8>>) {
        (**self).on_loaded(bytes);
    }

    fn on_read(&mut self, read: Result<Vec<u8>, E>) {
        (**self).on_read(read);
    }
}

#[cfg(test)]
mod tests;
