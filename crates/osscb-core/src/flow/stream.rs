//! [`StreamUpload`]: an upload from a source of unknown length (a reader, a
//! stream of chunks) as one machine — reading it a part at a time, one
//! PutObject for a source no longer than a part, else a multipart upload
//! begun on the fly with its parts sent from the buffers the machine keeps.

use std::collections::VecDeque;
use std::time::SystemTime;

use bytes::Bytes;

use super::call::{Clock, Failure};
use super::multipart::{completed, completion, forward};
use super::{Answer, Call, Flow, SendId, Step};
use crate::crc64::Crc64;
use crate::ops::PutObject;
use crate::ops::multipart::{
    AbortMultipartUpload, CompleteMultipartUpload, CompletedPart, InitiateMultipartUpload,
    MAX_PARTS, UploadPart,
};
use crate::retry::RetryPolicy;
use crate::upload::{UploadOptions, UploadOutput};
use crate::{Bucket, Error, ObjectKey};

/// A part in flight: its number and call (which keeps its bytes for retries).
struct Part<E> {
    number: u32,
    len: u64,
    call: Call<UploadPart, E>,
}

enum Phase<E> {
    /// Reading until the source is known to fit one request, or not.
    Start,
    Single(Box<Call<PutObject, E>>),
    Initiate(Box<Call<InitiateMultipartUpload, E>>),
    Parts(String, Vec<Part<E>>),
    /// The completion, and the upload's id for an abort after it failed.
    Complete(Box<Call<CompleteMultipartUpload, E>>, String),
    Abort(Box<Call<AbortMultipartUpload, E>>, Option<E>),
    Finished,
}

/// An upload from a source of unknown length, as a machine.
///
/// It asks the transport to read the source a part at a time
/// ([`Step::Read`], answered with [`Flow::on_read`]). A source that ends
/// within the first part (empty, shorter than a part, or exactly one part
/// long) goes in one PutObject, with the callback if any. A longer one goes
/// in a multipart upload begun as soon as a second part's bytes arrive:
/// every part but the last is exactly `options.part_size` bytes; up to
/// `options.parallelism` parts are in flight, each from the buffer the
/// machine keeps until OSS acknowledges it (a part is retried from that
/// buffer), and one more part is read meanwhile. So at most
/// `parallelism + 1` part buffers are held at once. Each part's CRC-64 is
/// checked against OSS's, and the whole source's at completion, which
/// carries the callback with the lost-answer recovery of [`Call`] (see
/// [`crate::flow`]).
///
/// A failure — a read error ([`Error::SourceRead`]), a part refused, a
/// source longer than 10,000 parts — aborts the multipart upload; nothing
/// is completed. A completion that was or may have been stored (203,
/// [`Error::AnswerLost`], [`Error::OutcomeUnknown`]) is never aborted.
///
/// A source cannot be read again, so there is no checkpoint: options with
/// one are refused ([`StreamUpload::new`]).
///
/// Progress is reported as `(bytes acknowledged by OSS, bytes read so
/// far)`: the total is what the source has given until then, the final
/// length once it ended; the last report on success is `(n, n)`.
pub struct StreamUpload<E> {
    bucket: Bucket,
    key: ObjectKey,
    options: UploadOptions,
    part_size: usize,
    policy: RetryPolicy,
    seed: u64,
    tags: u64,
    /// Bytes read, not yet handed to a part (or the single write).
    pending: VecDeque<Bytes>,
    /// A [`Step::Read`] is out.
    reading: bool,
    /// The source has ended.
    ended: bool,
    /// The CRC-64 of every byte read.
    crc: Crc64,
    /// Parts started so far (the last one's number).
    started: u32,
    /// Bytes OSS acknowledged.
    done: u64,
    completed: Vec<CompletedPart>,
    /// The first failure; no new part or read after it.
    failed: Option<E>,
    phase: Phase<E>,
    outbox: VecDeque<Step<UploadOutput, E>>,
    clock: Clock,
}

impl<E> std::fmt::Debug for StreamUpload<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamUpload")
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

impl<E: From<Error>> StreamUpload<E> {
    /// An upload of the transport's source to `key` with `options`;
    /// requests are retried by `policy` with backoff jitter drawn from
    /// `seed`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a checkpoint (a source read once cannot
    /// resume), a part size outside 100 KiB..=5 GiB or a zero parallelism.
    pub fn new(
        bucket: &Bucket,
        key: &ObjectKey,
        options: &UploadOptions,
        policy: RetryPolicy,
        seed: u64,
    ) -> Result<Self, Error> {
        if options.checkpoint.is_some() {
            return Err(Error::InvalidArgument(
                "an upload from a reader or a stream cannot resume: no checkpoint".into(),
            ));
        }
        let plan = options.plan(0)?;
        let part_size = usize::try_from(plan.part_size)
            .map_err(|_| Error::InvalidArgument("part size too large for memory".into()))?;
        Ok(Self {
            bucket: bucket.clone(),
            key: key.clone(),
            options: options.clone(),
            part_size,
            policy,
            seed,
            tags: 0,
            pending: VecDeque::new(),
            reading: false,
            ended: false,
            crc: Crc64::new(),
            started: 0,
            done: 0,
            completed: Vec::new(),
            failed: None,
            phase: Phase::Start,
            outbox: VecDeque::new(),
            clock: Clock::default(),
        })
    }

    fn call<O: crate::ops::Operation>(&mut self, op: O) -> Call<O, E> {
        self.tags += 1;
        let seed = self
            .seed
            .wrapping_add(self.tags.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        Call::new(op, self.policy, seed)
            .sharing_clock(&self.clock)
            .tagged(self.tags)
    }

    fn finish(&mut self, result: Result<UploadOutput, E>) {
        self.phase = Phase::Finished;
        self.outbox.push_back(Step::Done(result));
    }

    fn read(&mut self) -> Step<UploadOutput, E> {
        self.reading = true;
        Step::Read(self.part_size)
    }

    /// The source's first bytes are in: one request, or a multipart upload.
    fn start(&mut self, now: SystemTime) -> Step<UploadOutput, E> {
        if let Some(e) = self.failed.take() {
            self.finish(Err(e));
        } else if self.ended && self.pending.len() <= 1 {
            let bytes = self.pending.pop_front().unwrap_or_default();
            let len = bytes.len() as u64;
            let op = self.options.put_object(&self.bucket, &self.key, len, None);
            let progress = self.options.progress.clone();
            let call = self.call(op).buffered(0, 0, bytes).reporting(progress);
            self.phase = Phase::Single(Box::new(call));
        } else if self.pending.len() > 1 {
            let op = self.options.initiate(&self.bucket, &self.key, None);
            self.phase = Phase::Initiate(Box::new(self.call(op)));
        } else {
            return self.read();
        }
        self.next(now)
    }

    /// After a failure: abort the upload, then end with `error`.
    fn abort(&mut self, upload_id: String, error: E) {
        let op = AbortMultipartUpload::new(self.bucket.clone(), self.key.clone(), upload_id);
        let call = self.call(op);
        self.phase = Phase::Abort(Box::new(call), Some(error));
    }

    /// One pass over the parts phase.
    fn parts_step(&mut self, now: SystemTime) -> Step<UploadOutput, E> {
        let parallelism = self.options.parallelism.max(1);
        let Phase::Parts(upload_id, active) = &mut self.phase else {
            return Step::Pending;
        };
        let mut wait: Option<SystemTime> = None;
        let mut finished = Vec::new();
        let mut i = 0;
        while i < active.len() {
            match active[i].call.next(now) {
                Step::Send(send) => return Step::Send(send),
                Step::Wait(t) => wait = Some(wait.map_or(t, |w| w.min(t))),
                Step::Done(result) => {
                    finished.push((active.remove(i), result));
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        let upload_id = upload_id.clone();
        let progressed = !finished.is_empty();
        for (part, result) in finished {
            match result {
                Ok(output) => {
                    self.completed.push(CompletedPart {
                        part_number: part.number,
                        etag: output.object.etag.unwrap_or_default(),
                    });
                    self.done += part.len;
                    self.options.report(self.done, self.crc.len());
                }
                Err(e) => {
                    self.failed.get_or_insert(e);
                }
            }
        }
        if progressed {
            return self.parts_step(now);
        }
        let in_flight = match &self.phase {
            Phase::Parts(_, active) => active.len(),
            _ => 0,
        };
        if self.failed.is_none()
            && in_flight < parallelism
            && let Some(bytes) = self.pending.pop_front()
        {
            if self.started >= MAX_PARTS {
                let too_long = format!(
                    "the source is longer than {MAX_PARTS} parts of {} bytes",
                    self.part_size
                );
                self.failed = Some(E::from(Error::InvalidArgument(too_long)));
                return self.parts_step(now);
            }
            let offset = u64::from(self.started) * self.part_size as u64;
            self.started += 1;
            let (number, len) = (self.started, bytes.len() as u64);
            let op = UploadPart::new(self.bucket.clone(), self.key.clone(), upload_id, number)
                .content_length(len);
            let call = self
                .call(op)
                .retrying_crc64_mismatch()
                .buffered(number, offset, bytes);
            if let Phase::Parts(_, active) = &mut self.phase {
                active.push(Part { number, len, call });
            }
            return self.parts_step(now);
        }
        if self.failed.is_none()
            && !self.ended
            && !self.reading
            && in_flight + self.pending.len() <= parallelism
        {
            return self.read();
        }
        if in_flight > 0 {
            return wait.map_or(Step::Pending, Step::Wait);
        }
        match self.failed.take() {
            Some(e) => self.abort(upload_id, e),
            None if self.ended && self.pending.is_empty() => self.complete(upload_id),
            // Waiting for a read.
            None => return Step::Pending,
        }
        self.next(now)
    }

    fn complete(&mut self, upload_id: String) {
        let mut parts = std::mem::take(&mut self.completed);
        parts.sort_by_key(|p| p.part_number);
        let whole = (self.crc.value(), self.started);
        let (op, expect) = completion(
            &self.bucket,
            &self.key,
            &upload_id,
            parts,
            &self.options,
            whole,
        );
        let call = self.call(op).recognising(expect, completed);
        self.phase = Phase::Complete(Box::new(call), upload_id);
    }
}

impl<E: From<Error>> Flow<E> for StreamUpload<E> {
    type Output = UploadOutput;

    fn next(&mut self, now: SystemTime) -> Step<UploadOutput, E> {
        if let Some(step) = self.outbox.pop_front() {
            return step;
        }
        match &mut self.phase {
            Phase::Start if self.reading => Step::Pending,
            Phase::Start => self.start(now),
            Phase::Single(call) => match forward(call.next(now)) {
                Ok(step) => step,
                Err(result) => {
                    let parts = 0;
                    let result = result.map(|o| UploadOutput {
                        object: o.object,
                        callback: o.callback,
                        parts,
                    });
                    self.finish(result);
                    self.next(now)
                }
            },
            Phase::Initiate(call) => match forward(call.next(now)) {
                Ok(step) => step,
                Err(Ok(init)) => {
                    self.options.report(0, self.crc.len());
                    self.phase = Phase::Parts(init.upload_id, Vec::new());
                    self.next(now)
                }
                Err(Err(e)) => {
                    self.finish(Err(e));
                    self.next(now)
                }
            },
            Phase::Parts(..) => self.parts_step(now),
            Phase::Complete(call, upload_id) => match forward(call.next(now)) {
                Ok(step) => step,
                Err(result) => {
                    let failure = call.failure();
                    let crc = self.crc.value();
                    let checked = result.and_then(|output| {
                        output.object.check_crc64(crc).map_err(E::from)?;
                        Ok(output)
                    });
                    let upload_id = std::mem::take(upload_id);
                    match checked {
                        Ok(o) => {
                            let parts = self.started;
                            self.finish(Ok(UploadOutput {
                                object: o.object,
                                callback: o.callback,
                                parts,
                            }));
                        }
                        Err(e) if failure == Failure::Stored => self.finish(Err(e)),
                        Err(e) => self.abort(upload_id, e),
                    }
                    self.next(now)
                }
            },
            Phase::Abort(call, error) => match forward(call.next(now)) {
                Ok(step) => step,
                Err(_) => {
                    let error = error.take();
                    self.phase = Phase::Finished;
                    error.map_or(Step::Pending, |e| Step::Done(Err(e)))
                }
            },
            Phase::Finished => Step::Pending,
        }
    }

    fn on_answer(&mut self, id: SendId, answer: Answer<E>) {
        match &mut self.phase {
            Phase::Single(call) => call.on_answer(id, answer),
            Phase::Initiate(call) => call.on_answer(id, answer),
            Phase::Complete(call, _) => call.on_answer(id, answer),
            Phase::Abort(call, _) => call.on_answer(id, answer),
            Phase::Parts(_, active) => {
                if let Some(part) = active.iter_mut().find(|p| p.call.tag() == id.call) {
                    part.call.on_answer(id, answer);
                }
            }
            Phase::Start | Phase::Finished => {}
        }
    }

    fn on_read(&mut self, read: Result<Vec<u8>, E>) {
        self.reading = false;
        match read {
            Ok(bytes) => {
                if bytes.len() < self.part_size {
                    self.ended = true;
                }
                if !bytes.is_empty() && self.failed.is_none() {
                    self.crc.update(&bytes);
                    self.pending.push_back(Bytes::from(bytes));
                }
            }
            Err(e) => {
                self.ended = true;
                self.failed.get_or_insert(e);
            }
        }
    }
}
