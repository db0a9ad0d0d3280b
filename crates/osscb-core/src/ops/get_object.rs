//! [GetObject](https://www.alibabacloud.com/help/en/oss/developer-reference/getobject):
//! download an object or a byte range of it.

use std::ops::{Bound, RangeBounds};

use http::{Method, Response};

use super::Operation;
use super::common::success;
use super::head_object::ObjectMetadata;
use crate::{Bucket, Error, ObjectKey, OssRequest};

/// GetObject. The parser reads only status and headers; the transport streams
/// the body of a successful response wherever the caller wants it.
#[derive(Clone, Debug)]
pub struct GetObject {
    bucket: Bucket,
    key: ObjectKey,
    range: Option<(Bound<u64>, Bound<u64>)>,
    version_id: Option<String>,
    streamed: bool,
}

/// What GetObject returns besides the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetObjectOutput {
    /// The object's metadata.
    pub metadata: ObjectMetadata,
    /// `Content-Range` of a ranged read.
    pub content_range: Option<String>,
}

impl GetObjectOutput {
    /// Checks the CRC-64 of the body received against the object's
    /// `x-oss-hash-crc64ecma`; a ranged read (whose header describes the
    /// whole object) or an answer without the header passes.
    ///
    /// # Errors
    /// [`Error::Crc64Mismatch`].
    pub fn check_body(&self, body_crc64: u64) -> Result<(), Error> {
        if self.content_range.is_some() {
            return Ok(());
        }
        self.metadata.object.check_crc64(body_crc64)
    }
}

impl GetObject {
    /// Downloads `key` from `bucket`.
    pub fn new(bucket: Bucket, key: ObjectKey) -> Self {
        Self {
            bucket,
            key,
            range: None,
            version_id: None,
            streamed: false,
        }
    }

    /// The body goes to the caller as it arrives (a `Read` or a `Stream`),
    /// so the call ends with the headers: whoever reads the body checks its
    /// CRC-64 at the end with [`GetObjectOutput::check_body`].
    #[must_use]
    pub fn streamed(mut self) -> Self {
        self.streamed = true;
        self
    }

    /// Only these bytes: `Range: bytes=first-last` (`10..=19`, `10..20`), or
    /// from `first` to the end (`10..`).
    #[must_use]
    pub fn range(mut self, range: impl RangeBounds<u64>) -> Self {
        self.range = Some((range.start_bound().cloned(), range.end_bound().cloned()));
        self
    }

    /// A specific version.
    #[must_use]
    pub fn version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }
}

impl Operation for GetObject {
    type Body = ();
    type Output = GetObjectOutput;

    fn check_body(
        &self,
        output: &GetObjectOutput,
        body: &[u8],
        streamed_crc64: Option<u64>,
    ) -> Result<(), Error> {
        if self.streamed {
            return Ok(());
        }
        output.check_body(streamed_crc64.unwrap_or_else(|| crate::crc64::checksum(body)))
    }

    fn request(&self) -> Result<OssRequest<()>, Error> {
        let mut request =
            OssRequest::new(Method::GET, self.bucket.clone(), Some(self.key.clone()), ());
        if let Some((start, end)) = self.range {
            let first = match start {
                Bound::Included(n) => Some(n),
                Bound::Excluded(n) => n.checked_add(1),
                Bound::Unbounded => Some(0),
            };
            let last = match end {
                Bound::Included(n) => Some(Some(n)),
                Bound::Excluded(n) => n.checked_sub(1).map(Some),
                Bound::Unbounded => Some(None),
            };
            let (Some(first), Some(last)) = (first, last) else {
                return Err(Error::InvalidArgument("empty range".to_owned()));
            };
            if last.is_some_and(|last| last < first) {
                return Err(Error::InvalidArgument(format!(
                    "range end {last:?} before start {first}"
                )));
            }
            let last = last.map(|n| n.to_string()).unwrap_or_default();
            request.set_header_str("range", &format!("bytes={first}-{last}"))?;
        }
        if let Some(v) = &self.version_id {
            request = request.query("versionId", v.clone());
        }
        Ok(request)
    }

    fn parse<B: AsRef<[u8]>>(&self, response: Response<B>) -> Result<GetObjectOutput, Error> {
        success(&response)?;
        Ok(GetObjectOutput {
            metadata: ObjectMetadata::from_headers(response.headers()),
            content_range: crate::response::header(response.headers(), "content-range")
                .map(str::to_owned),
        })
    }
}
