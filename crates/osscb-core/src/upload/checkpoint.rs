//! The multipart checkpoint: which upload, of which file, cut how, writing
//! what (object headers and callback), and the parts done. The multipart
//! machine hands it to the transport as opaque bytes to save, and reads back what was saved.

use serde::{Deserialize, Serialize};

use super::FileFingerprint;
use crate::callback::Callback;
use crate::ops::multipart::{CompletedPart, PartPlan};
use crate::{Bucket, Error, ObjectKey};

/// A part that was uploaded: its number, ETag, CRC-64 (computed over the bytes
/// sent and checked against OSS's) and size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PartRecord {
    pub(crate) number: u32,
    pub(crate) etag: String,
    pub(crate) crc64: u64,
    pub(crate) size: u64,
}

/// 2: the write options joined the callback in the identity (`writes`).
const CHECKPOINT_VERSION: u32 = 2;

/// The state of a multipart upload, saved as JSON after each part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    version: u32,
    bucket: String,
    key: String,
    upload_id: String,
    file: FileFingerprint,
    part_size: u64,
    /// [`writes_digest`]; empty in a version 1 checkpoint.
    #[serde(default)]
    writes: String,
    parts: Vec<PartRecord>,
}

/// A digest of what an upload writes besides the file's bytes, which a
/// resumed upload must not silently drop: the headers InitiateMultipartUpload
/// sends (content type, user metadata, ACL, storage class, forbid-overwrite —
/// OSS fixes the object's headers when the upload is initiated, see
/// [InitiateMultipartUpload](https://www.alibabacloud.com/help/en/oss/developer-reference/initiatemultipartupload))
/// and the callback CompleteMultipartUpload carries, with its variables.
pub(crate) fn writes_digest(initiate: &http::HeaderMap, callback: Option<&Callback>) -> String {
    let mut lines: Vec<Vec<u8>> = initiate
        .iter()
        .map(|(name, value)| [name.as_str().as_bytes(), b":", value.as_bytes()].concat())
        .collect();
    lines.sort();
    if let Some(c) = callback {
        lines.push([b"callback:", c.encoded().as_bytes()].concat());
        if let Some(vars) = c.encoded_variables() {
            lines.push([b"callback-var:", vars.as_bytes()].concat());
        }
    }
    format!("{:016x}", crate::crc64::checksum(&lines.join(&b'\n')))
}

impl Checkpoint {
    /// A new upload `upload_id` of `file` to `key`, cut by `plan`, writing
    /// what `writes` ([`writes_digest`]) digests, with no part done.
    pub(crate) fn new(
        bucket: &Bucket,
        key: &ObjectKey,
        upload_id: impl Into<String>,
        file: FileFingerprint,
        plan: &PartPlan,
        writes: &str,
    ) -> Self {
        Self {
            version: CHECKPOINT_VERSION,
            bucket: bucket.as_str().to_owned(),
            key: key.as_str().to_owned(),
            upload_id: upload_id.into(),
            file,
            part_size: plan.part_size,
            writes: writes.to_owned(),
            parts: Vec::new(),
        }
    }

    pub(crate) fn upload_id(&self) -> &str {
        &self.upload_id
    }

    /// The bucket and key its upload writes to, if they are valid names.
    pub(crate) fn target(&self) -> Option<(Bucket, ObjectKey)> {
        Some((
            Bucket::new(&self.bucket).ok()?,
            ObjectKey::new(&self.key).ok()?,
        ))
    }

    /// Whether this checkpoint can resume an upload of `file` to `key` cut by
    /// `plan` writing what `writes` digests: same bucket, key, file size and
    /// mtime, part size, object headers and callback, and every recorded part
    /// fits the plan.
    pub(crate) fn resumes(
        &self,
        bucket: &Bucket,
        key: &ObjectKey,
        file: FileFingerprint,
        plan: &PartPlan,
        writes: &str,
    ) -> bool {
        self.version == CHECKPOINT_VERSION
            && !self.upload_id.is_empty()
            && self.bucket == bucket.as_str()
            && self.key == key.as_str()
            && self.file == file
            && self.file.size == plan.total_size
            && self.part_size == plan.part_size
            && self.writes == writes
            && self.parts.iter().all(|p| {
                plan.part(p.number).map(|(_, len)| len) == Some(p.size) && !p.etag.is_empty()
            })
    }

    fn plan(&self) -> Result<PartPlan, Error> {
        PartPlan::new(self.file.size, self.part_size)
    }

    /// Records a finished part (replacing an earlier record of the same number).
    pub(crate) fn record(&mut self, part: PartRecord) {
        self.parts.retain(|p| p.number != part.number);
        self.parts.push(part);
        self.parts.sort_by_key(|p| p.number);
    }

    /// Bytes in the recorded parts.
    pub(crate) fn bytes_done(&self) -> u64 {
        self.parts.iter().map(|p| p.size).sum()
    }

    /// The part numbers still to upload, ascending.
    pub(crate) fn pending(&self) -> Vec<u32> {
        let count = self.plan().map_or(0, |p| p.part_count);
        (1..=count)
            .filter(|n| self.parts.binary_search_by_key(n, |p| p.number).is_err())
            .collect()
    }

    /// The part list for CompleteMultipartUpload.
    pub(crate) fn completed_parts(&self) -> Vec<CompletedPart> {
        self.parts
            .iter()
            .map(|p| CompletedPart {
                part_number: p.number,
                etag: p.etag.clone(),
            })
            .collect()
    }

    /// The CRC-64 of the whole object, combined from the parts' CRCs.
    pub(crate) fn crc64(&self) -> u64 {
        self.parts
            .iter()
            .fold(0, |crc, p| crate::crc64::combine(crc, p.crc64, p.size))
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    pub(crate) fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::InvalidArgument(format!("not an osscb checkpoint: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::ops::multipart::MIN_PART_SIZE;

    #[test]
    fn checkpoints_resume_only_the_same_upload() {
        let bucket = Bucket::new("examplebucket").unwrap_or_else(|e| panic!("{e}"));
        let key = ObjectKey::new("dir/file.bin").unwrap_or_else(|e| panic!("{e}"));
        let file = FileFingerprint::new(250_000, UNIX_EPOCH + Duration::new(1_700_000_000, 5));
        let plan = PartPlan::new(file.size, MIN_PART_SIZE).unwrap_or_else(|e| panic!("{e}"));
        let callback = Callback::builder("http://127.0.0.1:1/cb")
            .body("bucket=${bucket}")
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", http::HeaderValue::from_static("text/plain"));
        let writes = writes_digest(&headers, Some(&callback));
        let mut cp = Checkpoint::new(&bucket, &key, "UP", file, &plan, &writes);
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
        assert!(loaded.resumes(&bucket, &key, file, &plan, &writes));
        // Any change of file, part size, object headers, callback or key
        // starts over.
        let other_cb = Callback::builder("http://127.0.0.1:2/cb")
            .body("bucket=${bucket}")
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let other = |headers: &http::HeaderMap, callback| {
            !loaded.resumes(
                &bucket,
                &key,
                file,
                &plan,
                &writes_digest(headers, callback),
            )
        };
        assert!(other(&headers, Some(&other_cb)));
        assert!(other(&headers, None));
        let mut more = headers.clone();
        more.insert("x-oss-meta-run", http::HeaderValue::from_static("2"));
        assert!(other(&more, Some(&callback)));
        more.remove("content-type");
        more.remove("x-oss-meta-run");
        assert!(other(&more, Some(&callback)));
        assert!(!other(&headers.clone(), Some(&callback)));
        let touched = FileFingerprint {
            mtime_nanos: 6,
            ..file
        };
        assert!(!loaded.resumes(&bucket, &key, touched, &plan, &writes));
        let bigger_parts = PartPlan::new(file.size, 200 * 1024).unwrap_or_else(|e| panic!("{e}"));
        assert!(!loaded.resumes(&bucket, &key, file, &bigger_parts, &writes));
        let other_key = ObjectKey::new("other").unwrap_or_else(|e| panic!("{e}"));
        assert!(!loaded.resumes(&bucket, &other_key, file, &plan, &writes));
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
}
