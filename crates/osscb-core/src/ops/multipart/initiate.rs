//! [InitiateMultipartUpload](https://www.alibabacloud.com/help/en/oss/developer-reference/initiatemultipartupload).

use http::{Method, Response};
use serde::Deserialize;

use crate::ops::Operation;
use crate::ops::common::{WriteOptions, success};
use crate::response::{REQUEST_ID_HEADER, header, parse_xml};
use crate::{Bucket, Error, ObjectKey, OssRequest};

/// InitiateMultipartUpload: `POST /key?uploads`.
#[derive(Clone, Debug)]
pub(crate) struct InitiateMultipartUpload {
    bucket: Bucket,
    key: ObjectKey,
    /// Content type, metadata, ACL, storage class, forbid-overwrite of the final object.
    pub(crate) options: WriteOptions,
}

/// The new upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InitiateMultipartUploadOutput {
    /// `UploadId`: names the upload in every later request.
    pub(crate) upload_id: String,
    /// `x-oss-request-id`.
    pub(crate) request_id: Option<String>,
}

#[derive(Deserialize)]
struct InitiateXml {
    #[serde(rename = "UploadId")]
    upload_id: String,
}

impl InitiateMultipartUpload {
    /// Starts an upload of `key` in `bucket`.
    pub(crate) fn new(bucket: Bucket, key: ObjectKey) -> Self {
        Self {
            bucket,
            key,
            options: WriteOptions::default(),
        }
    }

    /// Replaces the write options.
    #[must_use]
    pub(crate) fn options(mut self, options: WriteOptions) -> Self {
        self.options = options;
        self
    }
}

impl Operation for InitiateMultipartUpload {
    type Body = ();
    type Output = InitiateMultipartUploadOutput;

    fn request(&self) -> Result<OssRequest<()>, Error> {
        let mut request = OssRequest::new(
            Method::POST,
            self.bucket.clone(),
            Some(self.key.clone()),
            (),
        )
        .query("uploads", "");
        self.options.apply(&mut request)?;
        Ok(request)
    }

    fn parse<B: AsRef<[u8]>>(
        &self,
        response: Response<B>,
    ) -> Result<InitiateMultipartUploadOutput, Error> {
        success(&response)?;
        let xml: InitiateXml = parse_xml(response.body().as_ref())?;
        if xml.upload_id.is_empty() {
            return Err(Error::MalformedResponse(
                "InitiateMultipartUploadResult has an empty UploadId".to_owned(),
            ));
        }
        Ok(InitiateMultipartUploadOutput {
            upload_id: xml.upload_id,
            request_id: header(response.headers(), REQUEST_ID_HEADER).map(str::to_owned),
        })
    }
}
