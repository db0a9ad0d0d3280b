//! [GetObject](https://www.alibabacloud.com/help/en/oss/developer-reference/getobject):
//! download an object or a byte range of it.

use http::{Method, Response};

use super::Operation;
use super::common::success;
use super::head_object::ObjectMetadata;
use crate::{Bucket, Error, ObjectKey, OssRequest};

/// A byte range (`Range: bytes=start-end`, both inclusive; open-ended when `end` is `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte, inclusive.
    pub end: Option<u64>,
}

/// GetObject. The parser reads only status and headers; the transport streams
/// the body of a successful response wherever the caller wants it.
#[derive(Clone, Debug)]
pub struct GetObject {
    bucket: Bucket,
    key: ObjectKey,
    range: Option<ByteRange>,
    version_id: Option<String>,
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
        }
    }

    /// Only these bytes.
    #[must_use]
    pub fn range(mut self, range: ByteRange) -> Self {
        self.range = Some(range);
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

    fn request(&self) -> Result<OssRequest<()>, Error> {
        let mut request =
            OssRequest::new(Method::GET, self.bucket.clone(), Some(self.key.clone()), ());
        if let Some(range) = self.range {
            if range.end.is_some_and(|end| end < range.start) {
                return Err(Error::InvalidArgument(format!(
                    "range end {:?} before start {}",
                    range.end, range.start
                )));
            }
            let end = range.end.map(|e| e.to_string()).unwrap_or_default();
            request.set_header_str("range", &format!("bytes={}-{end}", range.start))?;
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
