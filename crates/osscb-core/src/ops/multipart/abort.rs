//! [AbortMultipartUpload](https://www.alibabacloud.com/help/en/oss/developer-reference/abortmultipartupload).

use http::{Method, Response};

use crate::ops::Operation;
use crate::ops::common::success;
use crate::response::{REQUEST_ID_HEADER, header};
use crate::{Bucket, Error, ObjectKey, OssRequest};

/// AbortMultipartUpload: `DELETE /key?uploadId=ID`; the uploaded parts are discarded.
#[derive(Clone, Debug)]
pub struct AbortMultipartUpload {
    bucket: Bucket,
    key: ObjectKey,
    upload_id: String,
}

/// What AbortMultipartUpload returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbortMultipartUploadOutput {
    /// `x-oss-request-id`.
    pub request_id: Option<String>,
}

impl AbortMultipartUpload {
    /// Aborts `upload_id`.
    pub fn new(bucket: Bucket, key: ObjectKey, upload_id: impl Into<String>) -> Self {
        Self {
            bucket,
            key,
            upload_id: upload_id.into(),
        }
    }
}

impl Operation for AbortMultipartUpload {
    type Body = ();
    type Output = AbortMultipartUploadOutput;

    fn request(&self) -> Result<OssRequest<()>, Error> {
        if self.upload_id.is_empty() {
            return Err(Error::InvalidArgument("empty upload id".to_owned()));
        }
        Ok(OssRequest::new(
            Method::DELETE,
            self.bucket.clone(),
            Some(self.key.clone()),
            (),
        )
        .query("uploadId", self.upload_id.clone()))
    }

    fn parse<B: AsRef<[u8]>>(
        &self,
        response: Response<B>,
    ) -> Result<AbortMultipartUploadOutput, Error> {
        success(&response)?;
        Ok(AbortMultipartUploadOutput {
            request_id: header(response.headers(), REQUEST_ID_HEADER).map(str::to_owned),
        })
    }
}
