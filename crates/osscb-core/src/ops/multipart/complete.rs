//! [CompleteMultipartUpload](https://www.alibabacloud.com/help/en/oss/developer-reference/completemultipartupload),
//! optionally with an upload callback.

use http::{Method, Response};
use quick_xml::escape::minimal_escape;
use serde::Deserialize;

use super::check_part_number;
use crate::callback::Callback;
use crate::ops::Operation;
use crate::ops::common::apply_callback;
use crate::response::{CallbackAnswer, ObjectFacts, parse_xml, read_write_response};
use crate::{Bucket, Error, ObjectKey, OssRequest};

/// A finished part: its number and the ETag UploadPart returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CompletedPart {
    /// 1..=10000.
    pub(crate) part_number: u32,
    /// The part's ETag, quotes included.
    pub(crate) etag: String,
}

/// CompleteMultipartUpload: `POST /key?uploadId=ID` with the part list as XML.
#[derive(Clone, Debug)]
pub(crate) struct CompleteMultipartUpload {
    bucket: Bucket,
    key: ObjectKey,
    upload_id: String,
    parts: Vec<CompletedPart>,
    callback: Option<Callback>,
    forbid_overwrite: bool,
}

/// What CompleteMultipartUpload returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompleteMultipartUploadOutput {
    /// ETag (`"…-N"`), CRC-64 of the whole object, version id, request id.
    pub object: ObjectFacts,
    /// `Location` (absent when a callback answer replaced the XML result).
    pub location: Option<String>,
    /// The application server's answer, when the upload carried a callback.
    /// It replaces OSS's XML result and is never parsed as XML.
    pub callback: Option<CallbackAnswer>,
}

#[derive(Deserialize)]
struct CompleteXml {
    #[serde(rename = "Location", default)]
    location: Option<String>,
    #[serde(rename = "ETag", default)]
    etag: Option<String>,
}

impl CompleteMultipartUpload {
    /// Completes `upload_id` from `parts` (any order; sent sorted by number).
    pub(crate) fn new(
        bucket: Bucket,
        key: ObjectKey,
        upload_id: impl Into<String>,
        parts: Vec<CompletedPart>,
    ) -> Self {
        Self {
            bucket,
            key,
            upload_id: upload_id.into(),
            parts,
            callback: None,
            forbid_overwrite: false,
        }
    }

    /// An upload callback, called once the object is assembled.
    #[must_use]
    pub(crate) fn callback(mut self, callback: Callback) -> Self {
        self.callback = Some(callback);
        self
    }

    /// Fail with `FileAlreadyExists` instead of overwriting.
    #[must_use]
    pub(crate) fn forbid_overwrite(mut self, forbid: bool) -> Self {
        self.forbid_overwrite = forbid;
        self
    }

    /// The request body: `<CompleteMultipartUpload><Part>…</Part>…</CompleteMultipartUpload>`.
    ///
    /// # Errors
    /// No parts, a part number outside 1..=10000, a repeated number or an empty ETag.
    pub(crate) fn body(&self) -> Result<Vec<u8>, Error> {
        if self.parts.is_empty() {
            return Err(Error::InvalidArgument(
                "CompleteMultipartUpload needs at least one part".to_owned(),
            ));
        }
        let mut parts: Vec<&CompletedPart> = self.parts.iter().collect();
        parts.sort_by_key(|p| p.part_number);
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (i, part) in parts.iter().enumerate() {
            check_part_number(part.part_number)?;
            if i > 0 && parts[i - 1].part_number == part.part_number {
                return Err(Error::InvalidArgument(format!(
                    "part {} listed twice",
                    part.part_number
                )));
            }
            if part.etag.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "part {} has an empty ETag",
                    part.part_number
                )));
            }
            xml.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                part.part_number,
                minimal_escape(&part.etag)
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        Ok(xml.into_bytes())
    }
}

impl Operation for CompleteMultipartUpload {
    type Body = Vec<u8>;
    type Output = CompleteMultipartUploadOutput;

    fn request(&self) -> Result<OssRequest<Vec<u8>>, Error> {
        if self.upload_id.is_empty() {
            return Err(Error::InvalidArgument("empty upload id".to_owned()));
        }
        let body = self.body()?;
        let mut request = OssRequest::new(
            Method::POST,
            self.bucket.clone(),
            Some(self.key.clone()),
            (),
        )
        .query("uploadId", self.upload_id.clone());
        request.set_header_str("content-length", &body.len().to_string())?;
        if self.forbid_overwrite {
            request.set_header_str("x-oss-forbid-overwrite", "true")?;
        }
        apply_callback(self.callback.as_ref(), &mut request)?;
        Ok(request.map_body(|_| body))
    }

    fn parse<B: AsRef<[u8]>>(
        &self,
        response: Response<B>,
    ) -> Result<CompleteMultipartUploadOutput, Error> {
        let body = response.body().as_ref();
        let (mut object, callback) = read_write_response(
            response.status(),
            response.headers(),
            body,
            self.callback.is_some(),
        )?;
        let mut location = None;
        if callback.is_none() {
            let xml: CompleteXml = parse_xml(body)?;
            location = xml.location;
            if object.etag.is_none() {
                object.etag = xml.etag;
            }
        }
        Ok(CompleteMultipartUploadOutput {
            object,
            location,
            callback,
        })
    }
}
