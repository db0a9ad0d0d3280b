//! [UploadPart](https://www.alibabacloud.com/help/en/oss/developer-reference/uploadpart).

use http::{Method, Response};

use super::check_part_number;
use crate::ops::Operation;
use crate::ops::common::success;
use crate::response::ObjectFacts;
use crate::{Bucket, Error, ObjectKey, OssRequest};

/// UploadPart: `PUT /key?partNumber=N&uploadId=ID`; the transport supplies the bytes.
#[derive(Clone, Debug)]
pub(crate) struct UploadPart {
    bucket: Bucket,
    key: ObjectKey,
    upload_id: String,
    part_number: u32,
    content_length: Option<u64>,
}

/// What UploadPart returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UploadPartOutput {
    /// The part number.
    pub(crate) part_number: u32,
    /// The part's ETag and CRC-64, and the request id.
    pub(crate) object: ObjectFacts,
}

impl UploadPart {
    /// Part `part_number` (1..=10000) of upload `upload_id`.
    pub(crate) fn new(
        bucket: Bucket,
        key: ObjectKey,
        upload_id: impl Into<String>,
        part_number: u32,
    ) -> Self {
        Self {
            bucket,
            key,
            upload_id: upload_id.into(),
            part_number,
            content_length: None,
        }
    }

    /// `Content-Length` of the part.
    #[must_use]
    pub(crate) fn content_length(mut self, len: u64) -> Self {
        self.content_length = Some(len);
        self
    }
}

impl Operation for UploadPart {
    type Body = ();
    type Output = UploadPartOutput;

    fn request(&self) -> Result<OssRequest<()>, Error> {
        check_part_number(self.part_number)?;
        if self.upload_id.is_empty() {
            return Err(Error::InvalidArgument("empty upload id".to_owned()));
        }
        let mut request =
            OssRequest::new(Method::PUT, self.bucket.clone(), Some(self.key.clone()), ())
                .query("partNumber", self.part_number.to_string())
                .query("uploadId", self.upload_id.clone());
        if let Some(len) = self.content_length {
            if len > super::MAX_PART_SIZE {
                return Err(Error::InvalidArgument(format!(
                    "part of {len} bytes is over 5 GiB"
                )));
            }
            request.set_header_str("content-length", &len.to_string())?;
        }
        Ok(request)
    }

    fn parse<B: AsRef<[u8]>>(&self, response: Response<B>) -> Result<UploadPartOutput, Error> {
        success(&response)?;
        let object = ObjectFacts::from_headers(response.headers());
        if object.etag.is_none() {
            return Err(Error::MalformedResponse(
                "UploadPart response has no ETag".to_owned(),
            ));
        }
        Ok(UploadPartOutput {
            part_number: self.part_number,
            object,
        })
    }

    fn check_crc64(&self, output: &UploadPartOutput, sent: u64) -> Result<(), Error> {
        output.object.check_crc64(sent)
    }
}
