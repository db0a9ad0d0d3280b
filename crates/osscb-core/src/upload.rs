//! Uploading files, sans-IO: the options both transports take, how they turn
//! into operations, and the multipart [`Checkpoint`] that lets a rerun after
//! a crash skip the parts already uploaded. The transports read and write the
//! checkpoint file; this module only serializes and validates it.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use osscb_core::ops::multipart::{PartPlan, UploadPartOutput};
//! use osscb_core::upload::{Checkpoint, FileFingerprint, PartRecord};
//! use osscb_core::{Bucket, ObjectKey};
//!
//! let (bucket, key) = (Bucket::new("examplebucket")?, ObjectKey::new("big.bin")?);
//! let file = FileFingerprint::new(300 * 1024, UNIX_EPOCH + Duration::from_secs(1_700_000_000));
//! let plan = PartPlan::new(file.size, 100 * 1024)?;
//! let mut checkpoint = Checkpoint::new(&bucket, &key, "UPLOAD-ID", file, &plan, None);
//! checkpoint.record(PartRecord { number: 2, etag: "\"E2\"".into(), crc64: 7, size: 100 * 1024 });
//! assert_eq!(checkpoint.pending(), vec![1, 3]);
//!
//! // A rerun for the same file, part size and callback may resume it.
//! let saved = checkpoint.to_json();
//! let loaded = Checkpoint::from_json(&saved)?;
//! assert!(loaded.resumes(&bucket, &key, file, &plan, None));
//! assert!(!loaded.resumes(&bucket, &key, FileFingerprint { size: 1, ..file }, &plan, None));
//! # Ok::<(), osscb_core::Error>(())
//! ```

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::callback::Callback;
use crate::ops::multipart::{
    CompleteMultipartUploadOutput, CompletedPart, DEFAULT_PART_SIZE, InitiateMultipartUpload,
    MAX_PART_SIZE, MIN_PART_SIZE, PartPlan,
};
use crate::ops::{ObjectMetadata, PutObject, WriteOptions, guess_content_type};
use crate::{Bucket, Error, ObjectKey};

/// The parallelism of multipart uploads unless set: 4 parts in flight.
pub const DEFAULT_PARALLELISM: usize = 4;

/// A progress callback: `(bytes_done, bytes_total)`.
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(u64, u64) + Send + Sync>);

impl Progress {
    /// Wraps `f`, called with `(bytes_done, bytes_total)` as bytes go out.
    pub fn new(f: impl Fn(u64, u64) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Reports progress.
    pub fn report(&self, done: u64, total: u64) {
        (self.0)(done, total);
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// What an upload sets on the object and how it is carried out.
#[derive(Clone, Debug)]
pub struct UploadOptions {
    /// Content type, metadata, ACL, storage class. The content type is guessed
    /// from the key (then the file name) when not given.
    pub write: WriteOptions,
    /// An upload callback (with its custom variables). Multipart uploads send
    /// it with the completion only.
    pub callback: Option<Callback>,
    /// Progress reporting.
    pub progress: Option<Progress>,
    /// Multipart: the preferred part size (grown to stay within 10,000 parts).
    pub part_size: u64,
    /// Multipart: parts in flight at once; memory is bounded by
    /// `parallelism × part_size`.
    pub parallelism: usize,
    /// Multipart: a checkpoint file. When set, a rerun skips finished parts,
    /// and a failed upload is kept (not aborted) so that it can resume.
    pub checkpoint: Option<PathBuf>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            write: WriteOptions::default(),
            callback: None,
            progress: None,
            part_size: DEFAULT_PART_SIZE,
            parallelism: DEFAULT_PARALLELISM,
            checkpoint: None,
        }
    }
}

impl UploadOptions {
    /// Default options: guessed content type, no callback, 8 MiB parts, 4 in flight.
    pub fn new() -> Self {
        Self::default()
    }

    /// `Content-Type`.
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.write.content_type = Some(content_type.into());
        self
    }

    /// A user metadata entry (`x-oss-meta-<name>`).
    #[must_use]
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.write.metadata.insert(name.into(), value.into());
        self
    }

    /// An upload callback.
    #[must_use]
    pub fn callback(mut self, callback: Callback) -> Self {
        self.callback = Some(callback);
        self
    }

    /// Progress reporting: `f(bytes_done, bytes_total)`.
    #[must_use]
    pub fn progress(mut self, f: impl Fn(u64, u64) + Send + Sync + 'static) -> Self {
        self.progress = Some(Progress::new(f));
        self
    }

    /// The preferred multipart part size (100 KiB to 5 GiB).
    #[must_use]
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes;
        self
    }

    /// Multipart parts in flight at once (at least 1).
    #[must_use]
    pub fn parallelism(mut self, parts: usize) -> Self {
        self.parallelism = parts;
        self
    }

    /// A checkpoint file for resumable multipart uploads.
    #[must_use]
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }

    /// Reports progress, if a callback is set.
    pub fn report(&self, done: u64, total: u64) {
        if let Some(p) = &self.progress {
            p.report(done, total);
        }
    }

    /// The write options with the content type filled in: as given, else
    /// guessed from `key`, else from `file_name`.
    pub fn write_options(&self, key: &ObjectKey, file_name: Option<&str>) -> WriteOptions {
        let mut write = self.write.clone();
        if write.content_type.is_none() {
            let mut guess = guess_content_type(key.as_str());
            if let (Some(name), "application/octet-stream") = (file_name, guess) {
                guess = guess_content_type(name);
            }
            write.content_type = Some(guess.to_owned());
        }
        write
    }

    /// The PutObject for `len` bytes to `key`.
    pub fn put_object(
        &self,
        bucket: &Bucket,
        key: &ObjectKey,
        len: u64,
        file_name: Option<&str>,
    ) -> PutObject {
        let mut put = PutObject::new(bucket.clone(), key.clone())
            .options(self.write_options(key, file_name))
            .content_length(len);
        if let Some(callback) = &self.callback {
            put = put.callback(callback.clone());
        }
        put
    }

    /// The InitiateMultipartUpload for `key`.
    pub fn initiate(
        &self,
        bucket: &Bucket,
        key: &ObjectKey,
        file_name: Option<&str>,
    ) -> InitiateMultipartUpload {
        InitiateMultipartUpload::new(bucket.clone(), key.clone())
            .options(self.write_options(key, file_name))
    }

    /// How a file of `size` bytes is cut into parts.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a part size outside 100 KiB..=5 GiB, a
    /// zero parallelism, or a file too large for 10,000 parts.
    pub fn plan(&self, size: u64) -> Result<PartPlan, Error> {
        if self.parallelism == 0 {
            return Err(Error::InvalidArgument(
                "parallelism must be at least 1".to_owned(),
            ));
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.part_size) {
            return Err(Error::InvalidArgument(format!(
                "part size {} is outside {MIN_PART_SIZE}..={MAX_PART_SIZE} bytes",
                self.part_size
            )));
        }
        PartPlan::new(size, self.part_size)
    }

    /// What to do after a multipart run fails with `error` (`None` when the
    /// error is not the core's: a file or connection error); `resumed` when
    /// the run continued a saved checkpoint.
    pub fn after_failure(&self, error: Option<&Error>, resumed: bool) -> AfterFailure {
        let gone = is_no_such_upload(error);
        let stored = matches!(
            error,
            Some(Error::CallbackFailed(_) | Error::CompletionAnswerLost(_))
        );
        if stored {
            AfterFailure::Forget
        } else if resumed && gone {
            AfterFailure::StartOver
        } else if self.checkpoint.is_none() {
            AfterFailure::Abort
        } else {
            AfterFailure::Keep
        }
    }
}

fn is_no_such_upload(error: Option<&Error>) -> bool {
    error
        .and_then(Error::service)
        .is_some_and(|e| e.code == "NoSuchUpload")
}

/// What a transport does when a multipart upload run fails (see
/// [`UploadOptions::after_failure`]). Every case but `StartOver` ends the
/// upload call with the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// The resumed upload is gone on OSS's side (`NoSuchUpload`: completed,
    /// aborted or expired): remove the checkpoint and start a new upload.
    StartOver,
    /// The object was stored (203: only its callback failed; or the
    /// completion's answer was lost): remove the checkpoint and never abort.
    Forget,
    /// No checkpoint to resume from: abort the upload, freeing its parts.
    Abort,
    /// Keep the upload and the checkpoint so that a rerun resumes.
    Keep,
}

/// What identifies the file a checkpoint belongs to: its size and mtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFingerprint {
    /// Size in bytes.
    pub size: u64,
    /// Modification time: seconds since the Unix epoch.
    pub mtime_secs: u64,
    /// Modification time: nanoseconds within the second.
    pub mtime_nanos: u32,
}

impl FileFingerprint {
    /// The fingerprint of a file of `size` bytes modified at `mtime`.
    pub fn new(size: u64, mtime: SystemTime) -> Self {
        let since = mtime.duration_since(UNIX_EPOCH).unwrap_or_default();
        Self {
            size,
            mtime_secs: since.as_secs(),
            mtime_nanos: since.subsec_nanos(),
        }
    }
}

/// A part that was uploaded: its number, ETag, CRC-64 (computed over the bytes
/// sent and checked against OSS's) and size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    /// 1-based part number.
    pub number: u32,
    /// The ETag UploadPart returned.
    pub etag: String,
    /// The part's CRC-64.
    pub crc64: u64,
    /// The part's size.
    pub size: u64,
}

const CHECKPOINT_VERSION: u32 = 1;

/// The state of a multipart upload: which upload, of which file, cut how, with
/// which callback, and the parts done. Transports keep one in memory for every
/// multipart upload and, when asked, save it as JSON after each part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    version: u32,
    bucket: String,
    key: String,
    upload_id: String,
    file: FileFingerprint,
    part_size: u64,
    callback: String,
    parts: Vec<PartRecord>,
}

fn callback_fingerprint(callback: Option<&Callback>) -> String {
    callback.map_or_else(String::new, |c| {
        let mut text = c.encoded().to_owned();
        if let Some(vars) = c.encoded_variables() {
            text.push('\n');
            text.push_str(vars);
        }
        format!("{:016x}", crate::crc64::checksum(text.as_bytes()))
    })
}

impl Checkpoint {
    /// A new upload `upload_id` of `file` to `key`, cut by `plan`, with no part done.
    pub fn new(
        bucket: &Bucket,
        key: &ObjectKey,
        upload_id: impl Into<String>,
        file: FileFingerprint,
        plan: &PartPlan,
        callback: Option<&Callback>,
    ) -> Self {
        Self {
            version: CHECKPOINT_VERSION,
            bucket: bucket.as_str().to_owned(),
            key: key.as_str().to_owned(),
            upload_id: upload_id.into(),
            file,
            part_size: plan.part_size,
            callback: callback_fingerprint(callback),
            parts: Vec::new(),
        }
    }

    /// The upload id.
    pub fn upload_id(&self) -> &str {
        &self.upload_id
    }

    /// Whether this checkpoint can resume an upload of `file` to `key` cut by
    /// `plan` with `callback`: same bucket, key, file size and mtime, part
    /// size and callback, and every recorded part fits the plan.
    pub fn resumes(
        &self,
        bucket: &Bucket,
        key: &ObjectKey,
        file: FileFingerprint,
        plan: &PartPlan,
        callback: Option<&Callback>,
    ) -> bool {
        self.version == CHECKPOINT_VERSION
            && !self.upload_id.is_empty()
            && self.bucket == bucket.as_str()
            && self.key == key.as_str()
            && self.file == file
            && self.file.size == plan.total_size
            && self.part_size == plan.part_size
            && self.callback == callback_fingerprint(callback)
            && self.parts.iter().all(|p| {
                plan.part(p.number).map(|(_, len)| len) == Some(p.size) && !p.etag.is_empty()
            })
    }

    /// The plan the checkpoint was made with.
    ///
    /// # Errors
    /// When the recorded part size is invalid.
    pub fn plan(&self) -> Result<PartPlan, Error> {
        PartPlan::new(self.file.size, self.part_size)
    }

    /// Records a finished part (replacing an earlier record of the same number).
    pub fn record(&mut self, part: PartRecord) {
        self.parts.retain(|p| p.number != part.number);
        self.parts.push(part);
        self.parts.sort_by_key(|p| p.number);
    }

    /// The recorded parts, by number.
    pub fn parts(&self) -> &[PartRecord] {
        &self.parts
    }

    /// Bytes in the recorded parts.
    pub fn bytes_done(&self) -> u64 {
        self.parts.iter().map(|p| p.size).sum()
    }

    /// The part numbers still to upload, ascending.
    pub fn pending(&self) -> Vec<u32> {
        let count = self.plan().map_or(0, |p| p.part_count);
        (1..=count)
            .filter(|n| self.parts.binary_search_by_key(n, |p| p.number).is_err())
            .collect()
    }

    /// The part list for CompleteMultipartUpload.
    pub fn completed_parts(&self) -> Vec<CompletedPart> {
        self.parts
            .iter()
            .map(|p| CompletedPart {
                part_number: p.number,
                etag: p.etag.clone(),
            })
            .collect()
    }

    /// The CRC-64 of the whole object, combined from the parts' CRCs.
    pub fn crc64(&self) -> u64 {
        self.parts
            .iter()
            .fold(0, |crc, p| crate::crc64::combine(crc, p.crc64, p.size))
    }

    /// Whether CompleteMultipartUpload's `error` may hide a completion that
    /// took effect: `NoSuchUpload`, which a retried Complete meets when the
    /// first one's answer was lost. Then look the object up with HeadObject
    /// and ask [`Checkpoint::recover_completion`].
    pub fn may_have_completed(error: Option<&Error>) -> bool {
        is_no_such_upload(error)
    }

    /// Given HeadObject of the key after [`Checkpoint::may_have_completed`]:
    /// when the object is this upload's (its CRC-64 is the parts' combined
    /// CRC and its ETag ends in `-N` for the N parts), the completion that took
    /// effect — the output without a callback, and
    /// [`Error::CompletionAnswerLost`] with one, since its answer is gone.
    /// `None` when the object is not this upload's.
    pub fn recover_completion(
        &self,
        head: &ObjectMetadata,
        with_callback: bool,
    ) -> Option<Result<CompleteMultipartUploadOutput, Error>> {
        let parts = self.plan().ok()?.part_count;
        let etag = head.object.etag.as_deref()?.trim_matches('"');
        let ours = head.object.crc64 == Some(self.crc64())
            && self.pending().is_empty()
            && etag.ends_with(&format!("-{parts}"));
        if !ours {
            return None;
        }
        Some(if with_callback {
            Err(Error::CompletionAnswerLost(Box::new(head.object.clone())))
        } else {
            Ok(CompleteMultipartUploadOutput {
                object: head.object.clone(),
                location: None,
                callback: None,
            })
        })
    }

    /// The checkpoint as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Reads a checkpoint saved by [`Checkpoint::to_json`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when it is not a checkpoint.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::InvalidArgument(format!("not an osscb checkpoint: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn names() -> (Bucket, ObjectKey) {
        (
            Bucket::new("examplebucket").unwrap_or_else(|e| panic!("{e}")),
            ObjectKey::new("dir/file.bin").unwrap_or_else(|e| panic!("{e}")),
        )
    }

    #[test]
    fn checkpoints_resume_only_the_same_upload() {
        let (bucket, key) = names();
        let file = FileFingerprint::new(250_000, UNIX_EPOCH + Duration::new(1_700_000_000, 5));
        let plan = PartPlan::new(file.size, MIN_PART_SIZE).unwrap_or_else(|e| panic!("{e}"));
        let callback = Callback::builder("http://127.0.0.1:1/cb")
            .body("bucket=${bucket}")
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut cp = Checkpoint::new(&bucket, &key, "UP", file, &plan, Some(&callback));
        assert_eq!(cp.pending(), vec![1, 2, 3]);
        let data: Vec<u8> = (0..250_000u32).map(|i| (i % 251) as u8).collect();
        for n in [3, 1] {
            let (off, len) = plan.part(n).unwrap_or_default();
            let bytes = &data[off as usize..(off + len) as usize];
            cp.record(PartRecord {
                number: n,
                etag: format!("\"E{n}\""),
                crc64: crate::crc64::checksum(bytes),
                size: len,
            });
        }
        assert_eq!(cp.pending(), vec![2]);
        assert_eq!(
            cp.bytes_done(),
            MIN_PART_SIZE + (250_000 - 2 * MIN_PART_SIZE)
        );
        let loaded = Checkpoint::from_json(&cp.to_json()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded, cp);
        assert!(loaded.resumes(&bucket, &key, file, &plan, Some(&callback)));
        // Any change of file, part size, callback or key starts over.
        let other_cb = Callback::builder("http://127.0.0.1:2/cb")
            .body("bucket=${bucket}")
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!loaded.resumes(&bucket, &key, file, &plan, Some(&other_cb)));
        assert!(!loaded.resumes(&bucket, &key, file, &plan, None));
        let touched = FileFingerprint {
            mtime_nanos: 6,
            ..file
        };
        assert!(!loaded.resumes(&bucket, &key, touched, &plan, Some(&callback)));
        let bigger_parts = PartPlan::new(file.size, 200 * 1024).unwrap_or_else(|e| panic!("{e}"));
        assert!(!loaded.resumes(&bucket, &key, file, &bigger_parts, Some(&callback)));
        let other_key = ObjectKey::new("other").unwrap_or_else(|e| panic!("{e}"));
        assert!(!loaded.resumes(&bucket, &other_key, file, &plan, Some(&callback)));
        assert!(Checkpoint::from_json(b"{\"version\":1}").is_err());
        assert!(Checkpoint::from_json(b"\x00garbage").is_err());

        // The combined CRC is the whole file's.
        let (off, len) = plan.part(2).unwrap_or_default();
        cp.record(PartRecord {
            number: 2,
            etag: "\"E2\"".to_owned(),
            crc64: crate::crc64::checksum(&data[off as usize..(off + len) as usize]),
            size: len,
        });
        assert!(cp.pending().is_empty());
        assert_eq!(cp.crc64(), crate::crc64::checksum(&data));
        assert_eq!(
            cp.completed_parts()
                .iter()
                .map(|p| p.part_number)
                .collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn a_failed_run_starts_over_only_when_the_resumed_upload_is_gone() {
        use http::{HeaderMap, StatusCode};

        use crate::response::{CallbackFailed, ServiceError};

        let service = |status: u16, code: &str| -> Error {
            let body = format!("<Error><Code>{code}</Code><Message>m</Message></Error>");
            let status = StatusCode::from_u16(status).unwrap_or_else(|e| panic!("{e}"));
            ServiceError::from_response(status, &HeaderMap::new(), body.as_bytes()).into()
        };
        let gone = service(404, "NoSuchUpload");
        let refused = service(403, "AccessDenied");
        let stored: Error = CallbackFailed {
            object: crate::response::StoredObject::default(),
            error: ServiceError::from_response(
                StatusCode::from_u16(203).unwrap_or_else(|e| panic!("{e}")),
                &HeaderMap::new(),
                b"<Error><Code>CallbackFailed</Code></Error>",
            ),
        }
        .into();
        let saved = UploadOptions::new().checkpoint("upload.checkpoint");
        let unsaved = UploadOptions::new();
        assert_eq!(
            saved.after_failure(Some(&gone), true),
            AfterFailure::StartOver
        );
        // A fresh upload that vanished is not retried forever.
        assert_eq!(saved.after_failure(Some(&gone), false), AfterFailure::Keep);
        assert_eq!(
            unsaved.after_failure(Some(&gone), false),
            AfterFailure::Abort
        );
        assert_eq!(
            saved.after_failure(Some(&refused), true),
            AfterFailure::Keep
        );
        assert_eq!(saved.after_failure(None, true), AfterFailure::Keep);
        assert_eq!(unsaved.after_failure(None, false), AfterFailure::Abort);
        assert_eq!(
            unsaved.after_failure(Some(&refused), false),
            AfterFailure::Abort
        );
        // 203, or a completion whose answer was lost: the object is stored;
        // never abort it, never resume it.
        let lost = Error::CompletionAnswerLost(Box::default());
        for options in [&saved, &unsaved] {
            for resumed in [false, true] {
                for error in [&stored, &lost] {
                    assert_eq!(
                        options.after_failure(Some(error), resumed),
                        AfterFailure::Forget
                    );
                }
            }
        }
        assert!(Checkpoint::may_have_completed(Some(&gone)));
        assert!(!Checkpoint::may_have_completed(Some(&refused)));
        assert!(!Checkpoint::may_have_completed(None));
    }

    #[test]
    fn a_lost_completion_is_recognised_by_its_object() {
        let (bucket, key) = names();
        let file = FileFingerprint::new(250 * 1024, UNIX_EPOCH);
        let plan = PartPlan::new(file.size, 100 * 1024).unwrap_or_else(|e| panic!("{e}"));
        let mut checkpoint = Checkpoint::new(&bucket, &key, "U", file, &plan, None);
        let data: Vec<u8> = (0..250 * 1024u32).map(|i| (i % 253) as u8).collect();
        for number in 1..=3 {
            let (offset, len) = plan.part(number).unwrap_or_default();
            let bytes = &data[offset as usize..(offset + len) as usize];
            checkpoint.record(PartRecord {
                number,
                etag: format!("\"E{number}\""),
                crc64: crate::crc64::checksum(bytes),
                size: len,
            });
        }
        let head = |etag: &str, crc64: u64| ObjectMetadata {
            object: crate::response::StoredObject {
                etag: Some(etag.to_owned()),
                crc64: Some(crc64),
                version_id: None,
                request_id: Some("R".to_owned()),
            },
            ..ObjectMetadata::default()
        };
        let whole = crate::crc64::checksum(&data);
        let ours = head("\"0F7230CAA4BE94CCBDC99C5500000000-3\"", whole);
        let recovered = checkpoint.recover_completion(&ours, false);
        let output = recovered
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("recovered"));
        assert_eq!(
            (output.object, output.callback),
            (ours.object.clone(), None)
        );
        match checkpoint.recover_completion(&ours, true) {
            Some(Err(Error::CompletionAnswerLost(object))) => assert_eq!(*object, ours.object),
            other => panic!("{other:?}"),
        }
        // Another object at the key: other content, or not from 3 parts.
        assert!(
            checkpoint
                .recover_completion(&head("\"X-3\"", whole ^ 1), false)
                .is_none()
        );
        assert!(
            checkpoint
                .recover_completion(&head("\"X-2\"", whole), false)
                .is_none()
        );
        assert!(
            checkpoint
                .recover_completion(&head("\"X\"", whole), false)
                .is_none()
        );
        assert!(
            checkpoint
                .recover_completion(&ObjectMetadata::default(), false)
                .is_none()
        );
    }

    #[test]
    fn options_guess_the_content_type_and_validate_the_plan() {
        let (bucket, key) = names();
        let options = UploadOptions::new();
        assert_eq!(
            options
                .write_options(&key, Some("photo.png"))
                .content_type
                .as_deref(),
            Some("image/png")
        );
        let txt = ObjectKey::new("a.txt").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            options
                .write_options(&txt, Some("photo.png"))
                .content_type
                .as_deref(),
            Some("text/plain")
        );
        let given = UploadOptions::new().content_type("x/y");
        assert_eq!(
            given.write_options(&txt, None).content_type.as_deref(),
            Some("x/y")
        );
        let put = options.put_object(&bucket, &txt, 5, None);
        assert!(!put.has_callback());
        assert!(UploadOptions::new().part_size(1).plan(10).is_err());
        assert!(UploadOptions::new().parallelism(0).plan(10).is_err());
        let plan = UploadOptions::new()
            .plan(20 * 1024 * 1024)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.part_count, 3);
    }
}
