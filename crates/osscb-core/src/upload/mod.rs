//! Uploading: the options both transports take, and the file fingerprint a
//! multipart [`crate::flow::Multipart`] checkpoint is tied to. The workflow
//! itself is in [`crate::flow`].
//!
//! ```
//! use osscb_core::upload::UploadOptions;
//!
//! let options = UploadOptions::new()
//!     .content_type("text/plain")
//!     .metadata("owner", "alice")
//!     .part_size(1024 * 1024)
//!     .parallelism(2)
//!     .checkpoint("big.bin.checkpoint");
//! assert!(format!("{options:?}").contains("big.bin.checkpoint"));
//! ```

mod checkpoint;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::callback::Callback;
use crate::ops::multipart::{
    DEFAULT_PART_SIZE, InitiateMultipartUpload, MAX_PART_SIZE, MIN_PART_SIZE, PartPlan,
};
use crate::ops::{PutObject, WriteOptions, guess_content_type};
use crate::response::{CallbackAnswer, ObjectFacts};
use crate::{Bucket, Error, ObjectKey};

pub(crate) use checkpoint::{Checkpoint, PartRecord, writes_digest};

/// The parallelism of multipart uploads unless set: 4 parts in flight.
pub(crate) const DEFAULT_PARALLELISM: usize = 4;

/// A progress callback: `(bytes_done, bytes_total)`.
#[derive(Clone)]
pub(crate) struct Progress(Arc<dyn Fn(u64, u64) + Send + Sync>);

impl Progress {
    /// Wraps `f`, called with `(bytes_done, bytes_total)` as bytes go out.
    pub(crate) fn new(f: impl Fn(u64, u64) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Reports progress.
    pub(crate) fn report(&self, done: u64, total: u64) {
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
    pub(crate) callback: Option<Callback>,
    /// Progress reporting.
    pub(crate) progress: Option<Progress>,
    /// Multipart: the preferred part size (grown to stay within 10,000 parts).
    pub(crate) part_size: u64,
    /// Multipart: parts in flight at once; memory is bounded by
    /// `parallelism × part_size`.
    pub(crate) parallelism: usize,
    /// Multipart: a checkpoint file (see [`UploadOptions::checkpoint`]).
    pub(crate) checkpoint: Option<PathBuf>,
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

    /// Progress reporting: `f(bytes_done, bytes_total)`. An upload from a
    /// reader of unknown length reports the bytes read so far as the total
    /// ([`crate::flow::StreamUpload`]).
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

    /// Multipart: a checkpoint file. When set, a rerun skips finished parts,
    /// and a failed upload is kept (not aborted) so that it can resume. A
    /// rerun resumes only the same upload: same bucket, key, file, part
    /// size, object headers (content type, metadata, ACL, storage class) and
    /// callback; otherwise the checkpoint's upload is aborted and a new one
    /// starts. Written through a new temporary file in the same directory:
    /// keep it in a directory only its owner can write to.
    #[must_use]
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }

    /// Reports progress, if a callback is set.
    pub(crate) fn report(&self, done: u64, total: u64) {
        if let Some(p) = &self.progress {
            p.report(done, total);
        }
    }

    /// The write options with the content type filled in: as given, else
    /// guessed from `key`, else from `file_name`.
    pub(crate) fn write_options(&self, key: &ObjectKey, file_name: Option<&str>) -> WriteOptions {
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
    pub(crate) fn put_object(
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
    pub(crate) fn initiate(
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
    pub(crate) fn plan(&self, size: u64) -> Result<PartPlan, Error> {
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
}

/// The outcome of an upload from a reader or a stream
/// ([`crate::flow::StreamUpload`]), sent in one request or in parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadOutput {
    /// ETag (`"…-N"` for a multipart upload), CRC-64 of the whole object,
    /// version id, request id.
    pub object: ObjectFacts,
    /// The application server's answer, when the upload carried a callback.
    pub callback: Option<CallbackAnswer>,
    /// How many parts it was sent in: 0 for a single PutObject.
    pub parts: u32,
}

/// What identifies the file a checkpoint belongs to: its size and mtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileFingerprint {
    /// Size in bytes.
    pub(crate) size: u64,
    /// Modification time: seconds since the Unix epoch.
    pub(crate) mtime_secs: u64,
    /// Modification time: nanoseconds within the second.
    pub(crate) mtime_nanos: u32,
}

impl FileFingerprint {
    /// The fingerprint of a file of `size` bytes modified at `mtime`.
    pub(crate) fn new(size: u64, mtime: SystemTime) -> Self {
        let since = mtime.duration_since(UNIX_EPOCH).unwrap_or_default();
        Self {
            size,
            mtime_secs: since.as_secs(),
            mtime_nanos: since.subsec_nanos(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Operation as _;

    fn names() -> (Bucket, ObjectKey) {
        (
            Bucket::new("examplebucket").unwrap_or_else(|e| panic!("{e}")),
            ObjectKey::new("dir/file.bin").unwrap_or_else(|e| panic!("{e}")),
        )
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
        let request = put.request().unwrap_or_else(|e| panic!("{e}"));
        assert!(!request.headers.contains_key("x-oss-callback"));
        assert!(UploadOptions::new().part_size(1).plan(10).is_err());
        assert!(UploadOptions::new().parallelism(0).plan(10).is_err());
        let plan = UploadOptions::new()
            .plan(20 * 1024 * 1024)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.part_count, 3);
    }
}
