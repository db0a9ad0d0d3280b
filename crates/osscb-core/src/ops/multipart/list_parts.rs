//! [ListParts](https://www.alibabacloud.com/help/en/oss/developer-reference/listparts).

use http::{Method, Response};
use serde::Deserialize;

use crate::ops::Operation;
use crate::ops::common::success;
use crate::response::parse_xml;
use crate::{Bucket, Error, ObjectKey, OssRequest};

/// ListParts: `GET /key?uploadId=ID`, up to 1000 parts a page.
#[derive(Clone, Debug)]
pub struct ListParts {
    bucket: Bucket,
    key: ObjectKey,
    upload_id: String,
    max_parts: Option<u32>,
    part_number_marker: Option<u32>,
}

/// One uploaded part.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ListedPart {
    /// `PartNumber`.
    #[serde(rename = "PartNumber")]
    pub part_number: u32,
    /// `ETag`, quotes included.
    #[serde(rename = "ETag")]
    pub etag: String,
    /// `Size` in bytes.
    #[serde(rename = "Size")]
    pub size: u64,
    /// `LastModified` (ISO 8601, as OSS sends it).
    #[serde(rename = "LastModified", default)]
    pub last_modified: String,
    /// `HashCrc64ecma`, when OSS reports it.
    #[serde(rename = "HashCrc64ecma", default)]
    pub crc64: Option<u64>,
}

/// A page of parts.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ListPartsOutput {
    /// `UploadId`.
    #[serde(rename = "UploadId", default)]
    pub upload_id: String,
    /// `IsTruncated`: more parts follow.
    #[serde(rename = "IsTruncated", default)]
    pub is_truncated: bool,
    /// `NextPartNumberMarker`: pass as the marker for the next page.
    #[serde(rename = "NextPartNumberMarker", default)]
    pub next_part_number_marker: Option<u32>,
    /// The parts, by number.
    #[serde(rename = "Part", default)]
    pub parts: Vec<ListedPart>,
}

impl ListParts {
    /// Lists the parts of `upload_id`.
    pub fn new(bucket: Bucket, key: ObjectKey, upload_id: impl Into<String>) -> Self {
        Self {
            bucket,
            key,
            upload_id: upload_id.into(),
            max_parts: None,
            part_number_marker: None,
        }
    }

    /// At most this many parts (1..=1000).
    #[must_use]
    pub fn max_parts(mut self, n: u32) -> Self {
        self.max_parts = Some(n);
        self
    }

    /// Start after this part number.
    #[must_use]
    pub fn part_number_marker(mut self, marker: u32) -> Self {
        self.part_number_marker = Some(marker);
        self
    }
}

impl Operation for ListParts {
    type Body = ();
    type Output = ListPartsOutput;

    fn request(&self) -> Result<OssRequest<()>, Error> {
        if self.upload_id.is_empty() {
            return Err(Error::InvalidArgument("empty upload id".to_owned()));
        }
        let mut request =
            OssRequest::new(Method::GET, self.bucket.clone(), Some(self.key.clone()), ())
                .query("uploadId", self.upload_id.clone());
        if let Some(n) = self.max_parts {
            if !(1..=1000).contains(&n) {
                return Err(Error::InvalidArgument(format!(
                    "max-parts {n} is outside 1..=1000"
                )));
            }
            request = request.query("max-parts", n.to_string());
        }
        if let Some(m) = self.part_number_marker {
            request = request.query("part-number-marker", m.to_string());
        }
        Ok(request)
    }

    fn parse<B: AsRef<[u8]>>(&self, response: Response<B>) -> Result<ListPartsOutput, Error> {
        success(&response)?;
        parse_xml(response.body().as_ref())
    }
}
