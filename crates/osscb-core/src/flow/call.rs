//! [`Call`]: one operation, with its retries and, for a write carrying an
//! upload callback, the lost-answer recovery described in [`crate::flow`],
//! and the correction of a local clock OSS finds too far off.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use http::header::{CONTENT_LENGTH, DATE, HeaderName, HeaderValue};

use super::{Answer, Body, Fact, Flow, Request, Send, SendId, Step};
use crate::ops::{HeadObject, ObjectMetadata, Operation, PutObject};
use crate::response::{MAX_BODY_LEN, ObjectFacts};
use crate::retry::{Jitter, RetryPolicy, is_retryable_status};
use crate::upload::{Progress, UploadOptions};
use crate::{Bucket, Error, ObjectKey, OssRequest, PresignedRequest};

/// `x-oss-callback`: the header that makes a write call back.
const CALLBACK_HEADER: &str = "x-oss-callback";
/// `x-oss-forbid-overwrite` ([PutObject](https://www.alibabacloud.com/help/en/oss/developer-reference/putobject)).
const FORBID_OVERWRITE: &str = "x-oss-forbid-overwrite";
/// OSS's 403 code for a request signed at a time more than 15 minutes off
/// its own clock (`crate::sign::MAX_SKEW`); its answer's `Date` is OSS's time.
const REQUEST_TIME_TOO_SKEWED: &str = "RequestTimeTooSkewed";

/// Milliseconds to add to the local clock to get OSS's, shared by the calls
/// of one upload: a correction one call learns applies to the later sends
/// of all of them.
pub(crate) type Clock = Arc<AtomicI64>;

/// `now` moved by `offset_ms` milliseconds (unchanged if that overflows).
pub(crate) fn shifted(now: SystemTime, offset_ms: i64) -> SystemTime {
    let by = Duration::from_millis(offset_ms.unsigned_abs());
    let moved = if offset_ms >= 0 {
        now.checked_add(by)
    } else {
        now.checked_sub(by)
    };
    moved.unwrap_or(now)
}

/// `server - local` in milliseconds.
fn offset_ms(server: SystemTime, local: SystemTime) -> i64 {
    let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    match server.duration_since(local) {
        Ok(ahead) => millis(ahead),
        Err(behind) => -millis(behind.duration()),
    }
}

/// How a finished call failed, for the multipart machine's after-failure
/// decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// It did not fail (or has not finished).
    None,
    /// The object was, or may have been, stored: 203, a lost answer, an
    /// unknown outcome.
    Stored,
    /// `NoSuchUpload`: the multipart upload is gone.
    Gone,
    /// Anything else.
    Other,
}

impl Failure {
    fn of(error: &Error) -> Self {
        match error {
            Error::CallbackFailed(_) | Error::AnswerLost(_) | Error::OutcomeUnknown { .. } => {
                Self::Stored
            }
            Error::Service(e) if e.code == "NoSuchUpload" => Self::Gone,
            _ => Self::Other,
        }
    }
}

/// What recognises the object a lost write stored.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Expect {
    /// Its CRC-64; the CRC-64 of the body sent when `None`.
    pub(crate) crc64: Option<u64>,
    /// Multipart: the number of parts its ETag ends with (`-N`).
    pub(crate) parts: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Write,
    Look,
}

#[derive(Clone, Copy, Debug)]
enum State {
    Start,
    Ready {
        phase: Phase,
        delay: Duration,
        at: Option<SystemTime>,
    },
    InFlight {
        id: SendId,
        phase: Phase,
    },
    Finished,
}

/// One operation as a machine: sends it, retries it by the [`RetryPolicy`],
/// and for a write carrying an upload callback never sends it again blindly
/// (see [`crate::flow`]). Its output is the operation's.
///
/// A request OSS refuses with 403 `RequestTimeTooSkewed` (its signing time
/// more than 15 minutes off OSS's clock; V1's `Date` / `x-oss-date`, V4's
/// `x-oss-date`) had no effect. The call then sets its clock by the
/// answer's `Date` (OSS's time) and sends it once more, signed at the
/// corrected time; this retry does not count against the policy.
/// Later sends of the call (and of the multipart upload it belongs to) are
/// signed at the corrected time. Refused again, the call fails with
/// [`Error::ClockSkewed`], naming how far off the local clock is.
pub struct Call<O: Operation, E> {
    op: O,
    request: Option<OssRequest<Vec<u8>>>,
    buffer: Option<bytes::Bytes>,
    presigned: Option<PresignedRequest>,
    body: Body,
    callback: bool,
    expect: Expect,
    recovered: Option<fn(ObjectFacts) -> O::Output>,
    policy: RetryPolicy,
    jitter: Jitter,
    tag: u64,
    sends: u32,
    attempts: u32,
    looks: u32,
    forbid: bool,
    progress: Option<(Progress, u64)>,
    state: State,
    result: Option<Result<O::Output, E>>,
    last_error: Option<E>,
    failure: Failure,
    sent_crc64: u64,
    answer_body: Vec<u8>,
    retry_crc64_mismatch: bool,
    deadline: Option<SystemTime>,
    ambiguous: bool,
    clock: Clock,
    sent_at: SystemTime,
    corrected: bool,
}

impl<O: Operation + std::fmt::Debug, E> std::fmt::Debug for Call<O, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("op", &self.op)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<E: From<Error>> Call<PutObject, E> {
    /// A PutObject of `len` bytes from the transport's source to `key` with
    /// `options`: its content type (as given, else guessed from the key or
    /// `file_name`), metadata, callback and progress reporting.
    pub fn put(
        (bucket, key): (&Bucket, &ObjectKey),
        len: u64,
        file_name: Option<&str>,
        options: &UploadOptions,
        policy: RetryPolicy,
        seed: u64,
    ) -> Self {
        let op = options.put_object(bucket, key, len, file_name);
        Self::with_source(op, len, policy, seed).reporting(options.progress.clone())
    }
}

impl<O: Operation, E: From<Error>> Call<O, E> {
    /// `op` with the body the core supplies (none, or generated), retried by
    /// `policy` with backoff jitter drawn from `seed`.
    pub fn new(op: O, policy: RetryPolicy, seed: u64) -> Self {
        let built = op
            .request()
            .map(|r| r.map_body(crate::ops::CoreBody::into_bytes));
        let mut call = Self {
            op,
            request: None,
            buffer: None,
            presigned: None,
            body: Body::Own,
            callback: false,
            expect: Expect::default(),
            recovered: None,
            policy,
            jitter: Jitter::new(seed),
            tag: 0,
            sends: 0,
            attempts: 0,
            looks: 0,
            forbid: false,
            progress: None,
            state: State::Start,
            result: None,
            last_error: None,
            failure: Failure::None,
            sent_crc64: 0,
            answer_body: Vec::new(),
            retry_crc64_mismatch: false,
            deadline: None,
            ambiguous: false,
            clock: Clock::default(),
            sent_at: SystemTime::UNIX_EPOCH,
            corrected: false,
        };
        match built {
            Ok(request) => {
                call.callback = request.headers.contains_key(CALLBACK_HEADER);
                call.request = Some(request);
            }
            Err(e) => call.finish(Err(e)),
        }
        call
    }

    /// `op` with a body of `len` bytes from the source the transport holds
    /// (PutObject, UploadPart).
    pub(crate) fn with_source(op: O, len: u64, policy: RetryPolicy, seed: u64) -> Self {
        Self::new(op, policy, seed).body(Body::Source {
            part: 0,
            offset: 0,
            len,
        })
    }

    /// `presigned`, made from `op`, with a body of `len` bytes from the
    /// source; `op` reads the answer and names the object to look up after
    /// an ambiguous failure.
    pub fn presigned(
        op: O,
        presigned: PresignedRequest,
        len: u64,
        policy: RetryPolicy,
        seed: u64,
    ) -> Self {
        let mut call = Self::with_source(op, len, policy, seed);
        call.presigned = Some(presigned);
        call
    }

    /// Reports progress over the source's bytes: none done before the first
    /// attempt, all of them on success.
    pub(crate) fn reporting(mut self, progress: Option<Progress>) -> Self {
        if let Body::Source { len, .. } = self.body {
            self.progress = progress.map(|p| (p, len));
        }
        self
    }

    /// The body of the answer that completed the call (GetObject).
    pub fn take_body(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.answer_body)
    }

    pub(crate) fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// Its body is `bytes`, part `part` of the source from `offset`, kept
    /// for every attempt.
    pub(crate) fn buffered(mut self, part: u32, offset: u64, bytes: bytes::Bytes) -> Self {
        self.body = Body::Source {
            part,
            offset,
            len: bytes.len() as u64,
        };
        self.buffer = Some(bytes);
        self
    }

    /// An UploadPart: an answer whose CRC-64 differs from the bytes sent is
    /// tried again (the part is replaced), as far as the policy allows.
    pub(crate) fn retrying_crc64_mismatch(mut self) -> Self {
        self.retry_crc64_mismatch = true;
        self
    }

    /// Signs by `clock`, shared with the other calls of an upload.
    pub(crate) fn sharing_clock(mut self, clock: &Clock) -> Self {
        self.clock = Arc::clone(clock);
        self
    }

    pub(crate) fn tagged(mut self, tag: u64) -> Self {
        self.tag = tag;
        self
    }

    /// A multipart completion: its object is recognised by `expect`, and
    /// without a callback a completion found done yields `recovered`.
    pub(crate) fn recognising(
        mut self,
        expect: Expect,
        recovered: fn(ObjectFacts) -> O::Output,
    ) -> Self {
        self.expect = expect;
        self.recovered = Some(recovered);
        self
    }

    pub(crate) fn tag(&self) -> u64 {
        self.tag
    }

    pub(crate) fn failure(&self) -> Failure {
        self.failure
    }

    pub(crate) fn sent_crc64(&self) -> u64 {
        self.sent_crc64
    }

    fn finish(&mut self, result: Result<O::Output, Error>) {
        self.failure = match &result {
            Ok(_) => Failure::None,
            Err(e) => Failure::of(e),
        };
        self.finish_with(result.map_err(E::from));
    }

    fn finish_with(&mut self, result: Result<O::Output, E>) {
        if result.is_err() {
            self.progress = None;
        }
        self.state = State::Finished;
        self.result = Some(result);
    }

    fn ready(&mut self, phase: Phase, attempt: u32) {
        let delay = if attempt == 0 {
            Duration::ZERO
        } else {
            self.policy.backoff(attempt, self.jitter.sample())
        };
        self.state = State::Ready {
            phase,
            delay,
            at: None,
        };
    }

    /// Another attempt of the write after `error`, if the policy allows one.
    fn retry_or_fail(&mut self, error: E) {
        if self.policy.allows_another(self.attempts) {
            tracing::debug!(
                attempts = self.attempts,
                "osscb: sending again after a backoff"
            );
            self.ready(Phase::Write, self.attempts);
        } else {
            tracing::debug!(attempts = self.attempts, "osscb: no attempts left");
            self.failure = Failure::Other;
            self.finish_with(Err(error));
        }
    }

    fn unknown(&mut self, found: Option<ObjectFacts>, reason: &'static str) {
        self.finish(Err(Error::OutcomeUnknown {
            found: found.map(Box::new),
            reason,
        }));
    }

    /// After a 403 `RequestTimeTooSkewed`: the first time, set the clock by
    /// the server's time and send again; after that, fail with how far off
    /// the clock is; without the server's time, fail with OSS's error.
    fn on_skew(&mut self, server: Option<SystemTime>, error: Error) {
        let offset = server.map(|server| offset_ms(server, self.sent_at));
        let service = match error {
            Error::Service(service) => service,
            other => return self.finish(Err(other)),
        };
        match offset {
            Some(offset) if !self.corrected => {
                self.corrected = true;
                self.clock.store(offset, Ordering::SeqCst);
                // The refused attempt had no effect: it is not counted.
                self.attempts = self.attempts.saturating_sub(1);
                self.ready(Phase::Write, 0);
            }
            Some(offset) => self.finish(Err(Error::ClockSkewed {
                server_minus_local_secs: offset / 1000,
                error: service,
            })),
            // Without OSS's time there is nothing to correct by.
            None => self.finish(Err(Error::Service(service))),
        }
    }

    /// After an ambiguous failure: look the object up.
    fn look(&mut self) {
        tracing::info!(
            "osscb: a write with a callback failed ambiguously; asking HeadObject before anything is sent again"
        );
        self.ambiguous = true;
        self.looks = 0;
        self.ready(Phase::Look, 0);
    }

    /// Gives up looking: the outcome is unknown for a callback write; else
    /// the error that led to the look stands.
    fn stop_looking(&mut self, reason: &'static str, error: E) {
        if self.callback {
            self.unknown(None, reason);
        } else {
            let error = self.last_error.take().unwrap_or(error);
            self.failure = Failure::Gone;
            self.finish_with(Err(error));
        }
    }

    /// Ends the call at its deadline: a callback write that may have taken
    /// effect has an unknown outcome; anything else timed out.
    fn time_out(&mut self) {
        let write_out = matches!(
            self.state,
            State::InFlight {
                phase: Phase::Write,
                ..
            }
        );
        if self.callback && (write_out || self.ambiguous) {
            self.unknown(None, "the call's total timeout passed first");
        } else {
            let limit = self.policy.total_timeout.unwrap_or_default();
            self.finish(Err(Error::Timeout { limit }));
        }
    }

    fn source_len(&self) -> Option<u64> {
        match self.body {
            Body::Source { len, .. } => Some(len),
            Body::Own => self
                .request
                .as_ref()
                .and_then(|r| r.headers.get(CONTENT_LENGTH))
                .and_then(|v| v.to_str().ok()?.parse().ok()),
        }
    }

    /// Whether `found` is what this write stored.
    fn ours(&self, found: &ObjectMetadata) -> bool {
        let crc = self.expect.crc64.unwrap_or(self.sent_crc64);
        let shape = match self.expect.parts {
            Some(n) => found
                .object
                .etag
                .as_deref()
                .is_some_and(|e| e.trim_matches('"').ends_with(&format!("-{n}"))),
            None => found.content_length.is_some() && found.content_length == self.source_len(),
        };
        found.object.crc64 == Some(crc) && shape
    }

    /// One event per answer: what was asked, and what came back.
    fn trace_answer(&self, phase: Phase, answer: &Answer<E>) {
        let request = self.request.as_ref();
        let bucket = request.and_then(|r| r.bucket.as_ref()).map(Bucket::as_str);
        let key = request.and_then(|r| r.key.as_ref()).map(ObjectKey::as_str);
        let attempt = match phase {
            Phase::Write => self.attempts,
            Phase::Look => self.looks,
        };
        match answer {
            Answer::Response { response, .. } => tracing::debug!(
                ?phase,
                bucket,
                key,
                attempt,
                status = response.status().as_u16(),
                request_id = crate::response::header(response.headers(), "x-oss-request-id"),
                bytes = response.body().len(),
                "osscb: answer"
            ),
            Answer::Failed { fact, .. } => {
                tracing::debug!(?phase, bucket, key, attempt, ?fact, "osscb: no answer");
            }
        }
    }

    fn build(&mut self, phase: Phase, id: SendId) -> Option<Send> {
        let request = self.request.as_ref()?;
        Some(match phase {
            Phase::Write => {
                self.attempts += 1;
                let request = match &self.presigned {
                    Some(p) => Request::Presigned(p.clone()),
                    None => {
                        let mut r = request.clone();
                        if self.forbid {
                            r.headers.insert(
                                HeaderName::from_static(FORBID_OVERWRITE),
                                HeaderValue::from_static("true"),
                            );
                        }
                        Request::Unsigned(r)
                    }
                };
                Send {
                    id,
                    request,
                    body: self.body,
                    attempt: self.attempts,
                    clock_offset: self.clock.load(Ordering::SeqCst),
                    buffer: self.buffer.clone(),
                }
            }
            Phase::Look => {
                self.looks += 1;
                let (bucket, key) = (request.bucket.clone()?, request.key.clone()?);
                let head = HeadObject::new(bucket, key).request().ok()?;
                Send {
                    id,
                    request: Request::Unsigned(head.map_body(|()| Vec::new())),
                    body: Body::Own,
                    attempt: self.looks,
                    clock_offset: self.clock.load(Ordering::SeqCst),
                    buffer: None,
                }
            }
        })
    }

    fn on_write(&mut self, answer: Answer<E>) {
        match answer {
            Answer::Response {
                response,
                sent_crc64,
                received_crc64,
            } => {
                self.sent_crc64 = sent_crc64;
                if response.body().len() > MAX_BODY_LEN {
                    return self.finish(Err(Error::ResponseTooLarge {
                        limit: MAX_BODY_LEN,
                    }));
                }
                let status = response.status();
                if self.callback && status.is_server_error() {
                    return self.look();
                }
                let server_time = response
                    .headers()
                    .get(DATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(crate::time::parse_http_date);
                let (parts, body) = response.into_parts();
                let borrowed = http::Response::from_parts(parts, body.as_slice());
                let parsed = self.op.parse_checked(borrowed, sent_crc64);
                let checked = parsed.and_then(|o| {
                    let checked = self.op.check_body(&o, &body, received_crc64);
                    checked.map(|()| o)
                });
                match checked {
                    Ok(output) => {
                        self.answer_body = body;
                        self.finish(Ok(output));
                    }
                    Err(e @ Error::Crc64Mismatch { .. }) if self.retry_crc64_mismatch => {
                        self.retry_or_fail(E::from(e));
                    }
                    Err(e) => {
                        let code = e.service().map(|s| s.code.clone()).unwrap_or_default();
                        if code == REQUEST_TIME_TOO_SKEWED {
                            return self.on_skew(server_time, e);
                        }
                        let lost_completion = code == "NoSuchUpload"
                            && self.attempts > 1
                            && (self.callback || self.recovered.is_some());
                        if (self.forbid && code == "FileAlreadyExists") || lost_completion {
                            self.last_error = Some(E::from(e));
                            self.look();
                        } else if is_retryable_status(status) {
                            self.retry_or_fail(E::from(e));
                        } else {
                            self.finish(Err(e));
                        }
                    }
                }
            }
            Answer::Failed {
                fact,
                sent_crc64,
                error,
            } => match fact {
                Fact::Local => {
                    self.failure = Failure::Other;
                    self.finish_with(Err(error));
                }
                Fact::NotSent => self.retry_or_fail(error),
                Fact::NoAnswer | Fact::TimedOut if self.callback => {
                    self.sent_crc64 = sent_crc64;
                    self.last_error = Some(error);
                    self.look();
                }
                Fact::NoAnswer | Fact::TimedOut => self.retry_or_fail(error),
            },
        }
    }

    fn on_look(&mut self, answer: Answer<E>) {
        let response = match answer {
            Answer::Response { response, .. } => response,
            Answer::Failed { fact, error, .. } => {
                if fact != Fact::Local && self.policy.allows_another(self.looks) {
                    return self.ready(Phase::Look, self.looks);
                }
                return self.stop_looking("HeadObject could not be sent", error);
            }
        };
        let status = response.status();
        match parse_head(&response) {
            Ok(found) if self.ours(&found) => {
                if self.callback {
                    self.finish(Err(Error::AnswerLost(Box::new(found.object))));
                } else if let Some(recovered) = self.recovered {
                    self.finish_with(Ok(recovered(found.object)));
                } else {
                    let e = Error::AnswerLost(Box::new(found.object));
                    self.stop_looking("", E::from(e));
                }
            }
            Ok(found) => {
                if self.callback {
                    self.unknown(Some(found.object), "another object is at the key");
                } else {
                    let e = Error::MalformedResponse("another object is at the key".into());
                    self.stop_looking("", E::from(e));
                }
            }
            Err(e) if status == http::StatusCode::NOT_FOUND && self.callback => {
                if self.presigned.is_some() {
                    self.unknown(
                        None,
                        "the object is not stored, and a presigned request cannot be sent again with x-oss-forbid-overwrite",
                    );
                } else if self.policy.allows_another(self.attempts) {
                    self.forbid = true;
                    self.ready(Phase::Write, self.attempts);
                } else {
                    let _ = e;
                    self.unknown(None, "the object is not stored, and no attempt is left");
                }
            }
            Err(e) if is_retryable_status(status) && self.policy.allows_another(self.looks) => {
                let _ = e;
                self.ready(Phase::Look, self.looks);
            }
            Err(e) => self.stop_looking("HeadObject failed", E::from(e)),
        }
    }
}

/// HeadObject's parser on an owned answer.
fn parse_head(response: &http::Response<Vec<u8>>) -> Result<ObjectMetadata, Error> {
    crate::response::check_status(response.status(), response.headers(), response.body())?;
    Ok(ObjectMetadata::from_headers(response.headers()))
}

impl<O: Operation, E: From<Error>> Flow<E> for Call<O, E> {
    type Output = O::Output;

    fn next(&mut self, now: SystemTime) -> Step<O::Output, E> {
        loop {
            match self.state {
                State::Start => {
                    self.deadline = self.policy.total_timeout.map(|t| now + t);
                    self.ready(Phase::Write, 0);
                    if let Some((progress, total)) = &self.progress {
                        progress.report(0, *total);
                    }
                }
                State::Finished => {
                    if let (Some(Ok(_)), Some((progress, total))) =
                        (&self.result, self.progress.take())
                    {
                        progress.report(total, total);
                    }
                    return self.result.take().map_or(Step::Pending, Step::Done);
                }
                State::InFlight { .. } => match self.deadline {
                    Some(deadline) if now >= deadline => self.time_out(),
                    Some(deadline) => return Step::Wait(deadline),
                    None => return Step::Pending,
                },
                State::Ready { phase, delay, at } => {
                    let at = at.unwrap_or(now + delay);
                    // No attempt starts at or after the deadline.
                    if self.deadline.is_some_and(|d| now >= d || at >= d) {
                        self.time_out();
                        continue;
                    }
                    if at > now {
                        self.state = State::Ready {
                            phase,
                            delay,
                            at: Some(at),
                        };
                        return Step::Wait(at);
                    }
                    self.sends += 1;
                    let id = SendId {
                        call: self.tag,
                        n: self.sends,
                    };
                    self.sent_at = now;
                    match self.build(phase, id) {
                        Some(send) => {
                            self.state = State::InFlight { id, phase };
                            return Step::Send(send);
                        }
                        None => self.unknown(None, "the object cannot be looked up"),
                    }
                }
            }
        }
    }

    fn on_answer(&mut self, id: SendId, answer: Answer<E>) {
        let State::InFlight { id: want, phase } = self.state else {
            return;
        };
        if id != want {
            return;
        }
        self.trace_answer(phase, &answer);
        match phase {
            Phase::Write => self.on_write(answer),
            Phase::Look => self.on_look(answer),
        }
    }
}
