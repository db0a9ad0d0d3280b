//! [`Multipart`]: a multipart upload of a source as one machine — checkpoint
//! load and resume (or abort of a checkpoint's upload that no longer
//! matches), initiate, parts in parallel, the after-failure decision,
//! completion with its lost-answer recovery.

use std::collections::VecDeque;
use std::time::SystemTime;

use super::call::{Clock, Expect, Failure};
use super::{Answer, Body, Call, Flow, SendId, Step};
use crate::ops::Operation as _;
use crate::ops::multipart::{
    AbortMultipartUpload, CompleteMultipartUpload, CompleteMultipartUploadOutput, CompletedPart,
    InitiateMultipartUpload, PartPlan, UploadPart,
};
use crate::response::ObjectFacts;
use crate::retry::RetryPolicy;
use crate::upload::{Checkpoint, FileFingerprint, PartRecord, UploadOptions, writes_digest};
use crate::{Bucket, Error, ObjectKey};

type Output = CompleteMultipartUploadOutput;

/// A part in flight: its number, size and call.
struct Part<E> {
    number: u32,
    len: u64,
    call: Call<UploadPart, E>,
}

enum Phase<E> {
    /// Asking for the checkpoint file.
    Load,
    Start,
    /// Aborting the upload of a checkpoint that no longer matches.
    Discard(Box<Call<AbortMultipartUpload, E>>),
    Initiate(Box<Call<InitiateMultipartUpload, E>>),
    Parts {
        queue: VecDeque<u32>,
        active: Vec<Part<E>>,
        failed: Option<(E, Failure)>,
    },
    Complete(Box<Call<CompleteMultipartUpload, E>>),
    Abort(Box<Call<AbortMultipartUpload, E>>, Option<E>),
    Finished,
}

/// A multipart upload of a source (a file) as a machine.
///
/// The parts are `Body::Source` ranges of the source; up to
/// `options.parallelism` are handed out before an answer is needed. With
/// `options.checkpoint`, the machine first asks for the checkpoint file
/// ([`Step::Load`]), asks to save it after each part, and resumes from the
/// saved bytes if they match this upload: the same bucket, key, file (size and modification
/// time), part size, object headers (content type, metadata, ACL, storage
/// class) and callback. Saved bytes of another upload are not resumed: that
/// upload is aborted (its parts are billed until then; the outcome of the
/// abort does not matter), the checkpoint removed, and a new upload starts.
/// When a run fails, it decides what becomes of the upload:
///
/// - the object was or may have been stored (203, [`Error::AnswerLost`],
///   [`Error::OutcomeUnknown`]): the checkpoint is removed, the upload never
///   aborted;
/// - a resumed upload is gone (`NoSuchUpload`: completed, aborted or
///   expired): the checkpoint is removed and a new upload starts;
/// - with a checkpoint: the upload and checkpoint are kept, for a rerun;
/// - without: the upload is aborted, freeing its parts.
///
/// Its calls share one clock: once one of them learns from a
/// `RequestTimeTooSkewed` answer how far the local clock is off (see
/// [`Call`]), every later request of the upload is signed at OSS's time.
pub struct Multipart<E> {
    bucket: Bucket,
    key: ObjectKey,
    options: UploadOptions,
    file: FileFingerprint,
    file_name: Option<String>,
    plan: PartPlan,
    policy: RetryPolicy,
    seed: u64,
    tags: u64,
    writes: String,
    saved: Option<Checkpoint>,
    stale: Option<Checkpoint>,
    resumed: bool,
    checkpoint: Option<Checkpoint>,
    phase: Phase<E>,
    outbox: VecDeque<Step<Output, E>>,
    /// Shared by its calls: a clock correction one learns, all use.
    clock: Clock,
}

impl<E> std::fmt::Debug for Multipart<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multipart")
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

impl<E: From<Error>> Multipart<E> {
    /// An upload of `file`, its size and modification time (which a
    /// checkpoint must match to be resumed), named `file_name` (for the
    /// content type), to `key` with `options`.
    /// Requests are retried by `policy` with backoff jitter drawn from `seed`.
    ///
    /// # Errors
    /// An invalid part size or parallelism, a file too large for 10,000
    /// parts, or write options that cannot be sent (a metadata name, say).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        bucket: &Bucket,
        key: &ObjectKey,
        options: &UploadOptions,
        file: (u64, SystemTime),
        file_name: Option<&str>,
        policy: RetryPolicy,
        seed: u64,
    ) -> Result<Self, Error> {
        let file = FileFingerprint::new(file.0, file.1);
        let plan = options.plan(file.size)?;
        let initiate = options.initiate(bucket, key, file_name).request()?;
        let writes = writes_digest(&initiate.headers, options.callback.as_ref());
        Ok(Self {
            bucket: bucket.clone(),
            key: key.clone(),
            options: options.clone(),
            file,
            file_name: file_name.map(str::to_owned),
            plan,
            policy,
            seed,
            tags: 0,
            writes,
            saved: None,
            stale: None,
            resumed: false,
            checkpoint: None,
            phase: if options.checkpoint.is_some() {
                Phase::Load
            } else {
                Phase::Start
            },
            outbox: VecDeque::new(),
            clock: Clock::default(),
        })
    }

    fn tag(&mut self) -> (u64, u64) {
        self.tags += 1;
        let seed = self
            .seed
            .wrapping_add(self.tags.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        (self.tags, seed)
    }

    fn save(&mut self) {
        if let (Some(path), Some(c)) = (&self.options.checkpoint, &self.checkpoint) {
            self.outbox.push_back(Step::Save(path.clone(), c.to_json()));
        }
    }

    fn remove(&mut self) {
        if let Some(path) = &self.options.checkpoint {
            self.outbox.push_back(Step::Remove(path.clone()));
        }
    }

    fn finish(&mut self, result: Result<Output, E>) {
        self.phase = Phase::Finished;
        self.outbox.push_back(Step::Done(result));
    }

    fn progress(&mut self) {
        let done = self.checkpoint.as_ref().map_or(0, Checkpoint::bytes_done);
        self.options.report(done, self.plan.total_size);
    }

    fn start(&mut self) {
        if let Some((stale, (bucket, key))) = self
            .stale
            .take()
            .and_then(|c| c.target().map(|target| (c, target)))
        {
            let op = AbortMultipartUpload::new(bucket, key, stale.upload_id().to_owned());
            let (tag, seed) = self.tag();
            let call = Call::new(op, self.policy, seed)
                .sharing_clock(&self.clock)
                .tagged(tag);
            self.phase = Phase::Discard(Box::new(call));
        } else if let Some(saved) = self.saved.take() {
            self.resumed = true;
            self.checkpoint = Some(saved);
            self.start_parts();
        } else {
            self.resumed = false;
            let (tag, seed) = self.tag();
            let op = self
                .options
                .initiate(&self.bucket, &self.key, self.file_name.as_deref());
            self.phase = Phase::Initiate(Box::new(
                Call::new(op, self.policy, seed)
                    .sharing_clock(&self.clock)
                    .tagged(tag),
            ));
        }
    }

    fn start_parts(&mut self) {
        let queue = self
            .checkpoint
            .as_ref()
            .map(Checkpoint::pending)
            .unwrap_or_default();
        self.progress();
        self.phase = Phase::Parts {
            queue: queue.into(),
            active: Vec::new(),
            failed: None,
        };
    }

    fn start_complete(&mut self) {
        let Some(checkpoint) = &self.checkpoint else {
            return self.finish(Err(E::from(Error::InvalidArgument("no upload".into()))));
        };
        let (upload_id, parts) = (checkpoint.upload_id(), checkpoint.completed_parts());
        let whole = (checkpoint.crc64(), self.plan.part_count);
        let (op, expect) = completion(
            &self.bucket,
            &self.key,
            upload_id,
            parts,
            &self.options,
            whole,
        );
        let (tag, seed) = self.tag();
        let call = Call::new(op, self.policy, seed)
            .sharing_clock(&self.clock)
            .tagged(tag)
            .recognising(expect, completed);
        self.phase = Phase::Complete(Box::new(call));
    }

    /// After a failed run: forget, start over, keep or abort (see the type's doc).
    fn after_failure(&mut self, error: E, failure: Failure) {
        let upload_id = self.checkpoint.as_ref().map(|c| c.upload_id().to_owned());
        match failure {
            Failure::Stored => {
                self.remove();
                self.finish(Err(error));
            }
            Failure::Gone if self.resumed => {
                self.remove();
                self.checkpoint = None;
                self.start();
            }
            _ if self.options.checkpoint.is_some() => self.finish(Err(error)),
            _ => match upload_id {
                Some(id) => {
                    let op = AbortMultipartUpload::new(self.bucket.clone(), self.key.clone(), id);
                    let (tag, seed) = self.tag();
                    let call = Call::new(op, self.policy, seed)
                        .sharing_clock(&self.clock)
                        .tagged(tag);
                    self.phase = Phase::Abort(Box::new(call), Some(error));
                }
                None => self.finish(Err(error)),
            },
        }
    }

    /// One pass over the parts phase.
    fn parts_step(&mut self, now: SystemTime) -> Step<Output, E> {
        let parallelism = self.options.parallelism.max(1);
        let Phase::Parts {
            queue,
            active,
            failed,
        } = &mut self.phase
        else {
            return Step::Pending;
        };
        let mut wait: Option<SystemTime> = None;
        let mut i = 0;
        let mut done = Vec::new();
        while i < active.len() {
            match active[i].call.next(now) {
                Step::Send(send) => return Step::Send(send),
                Step::Wait(t) => wait = Some(wait.map_or(t, |w| w.min(t))),
                Step::Done(result) => {
                    let part = active.remove(i);
                    done.push((part, result));
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        if failed.is_none()
            && active.len() < parallelism
            && done.is_empty()
            && let Some(number) = queue.pop_front()
        {
            {
                let (offset, len) = self.plan.part(number).unwrap_or_default();
                let upload_id = self
                    .checkpoint
                    .as_ref()
                    .map(|c| c.upload_id().to_owned())
                    .unwrap_or_default();
                let op = UploadPart::new(self.bucket.clone(), self.key.clone(), upload_id, number)
                    .content_length(len);
                self.tags += 1;
                let tag = self.tags;
                let seed = self.seed.wrapping_add(tag);
                let call = Call::new(op, self.policy, seed)
                    .sharing_clock(&self.clock)
                    .tagged(tag)
                    .retrying_crc64_mismatch()
                    .body(Body::Source {
                        part: number,
                        offset,
                        len,
                    });
                if let Phase::Parts { active, .. } = &mut self.phase {
                    active.push(Part { number, len, call });
                }
                return self.parts_step(now);
            }
        }
        let finished_any = !done.is_empty();
        for (part, result) in done {
            match result {
                Ok(output) => {
                    if let Some(c) = &mut self.checkpoint {
                        c.record(PartRecord {
                            number: part.number,
                            etag: output.object.etag.unwrap_or_default(),
                            crc64: part.call.sent_crc64(),
                            size: part.len,
                        });
                    }
                    self.save();
                    self.progress();
                }
                Err(e) => {
                    if let Phase::Parts { failed, .. } = &mut self.phase
                        && failed.is_none()
                    {
                        *failed = Some((e, part.call.failure()));
                    }
                }
            }
        }
        if finished_any {
            return self.next(now);
        }
        let Phase::Parts {
            queue,
            active,
            failed,
        } = &mut self.phase
        else {
            return Step::Pending;
        };
        if active.is_empty() {
            match failed.take() {
                Some((e, failure)) => self.after_failure(e, failure),
                None if queue.is_empty() => self.start_complete(),
                None => {}
            }
            return self.next(now);
        }
        wait.map_or(Step::Pending, Step::Wait)
    }
}

/// The completion of a multipart upload of `key` (`upload_id`, its
/// `parts`): `options`' callback (sent with the completion only) and
/// overwrite rule, and how the object it stores is recognised after a lost
/// answer: the whole upload's CRC-64 and its number of parts (`-N` ETag).
pub(super) fn completion(
    bucket: &Bucket,
    key: &ObjectKey,
    upload_id: &str,
    parts: Vec<CompletedPart>,
    options: &UploadOptions,
    (crc64, part_count): (u64, u32),
) -> (CompleteMultipartUpload, Expect) {
    let mut op = CompleteMultipartUpload::new(bucket.clone(), key.clone(), upload_id, parts)
        .forbid_overwrite(options.write.forbid_overwrite);
    if let Some(callback) = &options.callback {
        op = op.callback(callback.clone());
    }
    let expect = Expect {
        crc64: Some(crc64),
        parts: Some(part_count),
    };
    (op, expect)
}

/// A completion's output from the object recognised after a lost answer.
pub(super) fn completed(object: ObjectFacts) -> Output {
    CompleteMultipartUploadOutput {
        object,
        location: None,
        callback: None,
    }
}

/// Re-types a child call's step; its `Done` is handled by the caller.
pub(super) fn forward<T, U, E>(step: Step<T, E>) -> Result<Step<U, E>, Result<T, E>> {
    Ok(match step {
        Step::Send(s) => Step::Send(s),
        Step::Wait(t) => Step::Wait(t),
        Step::Load(p) => Step::Load(p),
        Step::Save(p, b) => Step::Save(p, b),
        Step::Remove(p) => Step::Remove(p),
        Step::Read(n) => Step::Read(n),
        Step::Pending => Step::Pending,
        Step::Done(result) => return Err(result),
    })
}

impl<E: From<Error>> Flow<E> for Multipart<E> {
    type Output = Output;

    fn next(&mut self, now: SystemTime) -> Step<Output, E> {
        if let Some(step) = self.outbox.pop_front() {
            return step;
        }
        match &mut self.phase {
            Phase::Load => {
                self.phase = Phase::Start;
                match &self.options.checkpoint {
                    Some(path) => Step::Load(path.clone()),
                    None => self.next(now),
                }
            }
            Phase::Start => {
                self.start();
                self.next(now)
            }
            Phase::Discard(call) => match forward(call.next(now)) {
                Ok(step) => step,
                Err(_) => {
                    self.remove();
                    self.start();
                    self.next(now)
                }
            },
            Phase::Initiate(call) => match forward(call.next(now)) {
                Ok(step) => step,
                Err(Ok(init)) => {
                    self.checkpoint = Some(Checkpoint::new(
                        &self.bucket,
                        &self.key,
                        init.upload_id,
                        self.file,
                        &self.plan,
                        &self.writes,
                    ));
                    self.save();
                    self.start_parts();
                    self.next(now)
                }
                Err(Err(e)) => {
                    self.finish(Err(e));
                    self.next(now)
                }
            },
            Phase::Parts { .. } => self.parts_step(now),
            Phase::Complete(call) => match forward(call.next(now)) {
                Ok(step) => step,
                Err(result) => {
                    let failure = call.failure();
                    let crc = self.checkpoint.as_ref().map_or(0, Checkpoint::crc64);
                    let checked = result.and_then(|output| {
                        output.object.check_crc64(crc).map_err(E::from)?;
                        Ok(output)
                    });
                    match checked {
                        Ok(output) => {
                            self.remove();
                            self.finish(Ok(output));
                        }
                        Err(e) => self.after_failure(e, failure),
                    }
                    self.next(now)
                }
            },
            Phase::Abort(call, error) => match forward(call.next(now)) {
                Ok(step) => step,
                Err(_) => {
                    let error = error.take();
                    self.phase = Phase::Finished;
                    match error {
                        Some(e) => Step::Done(Err(e)),
                        None => Step::Pending,
                    }
                }
            },
            Phase::Finished => Step::Pending,
        }
    }

    fn on_loaded(&mut self, bytes: Option<Vec<u8>>) {
        let saved = bytes.and_then(|bytes| Checkpoint::from_json(&bytes).ok());
        (self.saved, self.stale) = match saved {
            Some(c) if c.resumes(&self.bucket, &self.key, self.file, &self.plan, &self.writes) => {
                (Some(c), None)
            }
            other => (None, other),
        };
    }

    fn on_answer(&mut self, id: SendId, answer: Answer<E>) {
        match &mut self.phase {
            Phase::Initiate(call) => call.on_answer(id, answer),
            Phase::Discard(call) => call.on_answer(id, answer),
            Phase::Complete(call) => call.on_answer(id, answer),
            Phase::Abort(call, _) => call.on_answer(id, answer),
            Phase::Parts { active, .. } => {
                if let Some(part) = active.iter_mut().find(|p| p.call.tag() == id.call) {
                    part.call.on_answer(id, answer);
                }
            }
            Phase::Load | Phase::Start | Phase::Finished => {}
        }
    }
}
