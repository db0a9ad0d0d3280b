//! [DeleteObject](https://www.alibabacloud.com/help/en/oss/developer-reference/deleteobject).

use http::{Method, Response};

use super::Operation;
use super::common::success;
use crate::response::{REQUEST_ID_HEADER, VERSION_ID_HEADER, header};
use crate::{Bucket, Error, ObjectKey, OssRequest};

/// DeleteObject. Deleting a missing key succeeds (204), as in OSS.
#[derive(Clone, Debug)]
pub struct DeleteObject {
    bucket: Bucket,
    key: ObjectKey,
    version_id: Option<String>,
}

/// What DeleteObject returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteObjectOutput {
    /// `x-oss-request-id`.
    pub request_id: Option<String>,
    /// The version deleted or the delete marker created (versioned buckets).
    pub version_id: Option<String>,
    /// `x-oss-delete-marker: true`.
    pub delete_marker: bool,
}

impl DeleteObject {
    /// Deletes `key` from `bucket`.
    pub fn new(bucket: Bucket, key: ObjectKey) -> Self {
        Self {
            bucket,
            key,
            version_id: None,
        }
    }

    /// Deletes a specific version.
    #[must_use]
    pub fn version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }
}

impl Operation for DeleteObject {
    type Body = ();
    type Output = DeleteObjectOutput;

    fn request(&self) -> Result<OssRequest<()>, Error> {
        let mut request = OssRequest::new(
            Method::DELETE,
            self.bucket.clone(),
            Some(self.key.clone()),
            (),
        );
        if let Some(v) = &self.version_id {
            request = request.query("versionId", v.clone());
        }
        Ok(request)
    }

    fn parse<B: AsRef<[u8]>>(&self, response: Response<B>) -> Result<DeleteObjectOutput, Error> {
        success(&response)?;
        let h = response.headers();
        Ok(DeleteObjectOutput {
            request_id: header(h, REQUEST_ID_HEADER).map(str::to_owned),
            version_id: header(h, VERSION_ID_HEADER).map(str::to_owned),
            delete_marker: header(h, "x-oss-delete-marker") == Some("true"),
        })
    }
}
