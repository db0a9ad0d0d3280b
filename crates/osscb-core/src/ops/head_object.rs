//! [HeadObject](https://www.alibabacloud.com/help/en/oss/developer-reference/headobject):
//! an object's metadata without its body.

use std::collections::BTreeMap;
use std::time::SystemTime;

use http::{HeaderMap, Method, Response};

use super::Operation;
use super::common::success;
use crate::response::{ObjectFacts, header};
use crate::{Bucket, Error, ObjectKey, OssRequest};

/// HeadObject. Errors arrive in the `x-oss-err` header, which the parser reads.
#[derive(Clone, Debug)]
pub struct HeadObject {
    bucket: Bucket,
    key: ObjectKey,
    version_id: Option<String>,
}

/// An object's metadata, from HeadObject or GetObject headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMetadata {
    /// ETag, CRC-64, version id, request id.
    pub object: ObjectFacts,
    /// `Content-Length` (of this response's body, for ranged GETs).
    pub content_length: Option<u64>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<SystemTime>,
    /// User metadata: the `x-oss-meta-*` headers, without the prefix.
    pub user_metadata: BTreeMap<String, String>,
    /// `x-oss-object-type`: `Normal`, `Multipart`, `Appendable`, `Symlink`.
    pub object_type: Option<String>,
    /// `x-oss-storage-class`.
    pub storage_class: Option<String>,
}

impl ObjectMetadata {
    /// Reads the metadata headers.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name| header(headers, name).map(str::to_owned);
        Self {
            object: ObjectFacts::from_headers(headers),
            content_length: header(headers, "content-length").and_then(|v| v.parse().ok()),
            content_type: text("content-type"),
            last_modified: header(headers, "last-modified").and_then(crate::time::parse_http_date),
            user_metadata: headers
                .iter()
                .filter_map(|(name, value)| {
                    let meta = name.as_str().strip_prefix("x-oss-meta-")?;
                    Some((
                        meta.to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    ))
                })
                .collect(),
            object_type: text("x-oss-object-type"),
            storage_class: text("x-oss-storage-class"),
        }
    }
}

impl HeadObject {
    /// Metadata of `key` in `bucket`.
    pub fn new(bucket: Bucket, key: ObjectKey) -> Self {
        Self {
            bucket,
            key,
            version_id: None,
        }
    }

    /// A specific version.
    #[must_use]
    pub fn version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }
}

impl Operation for HeadObject {
    type Body = ();
    type Output = ObjectMetadata;

    fn request(&self) -> Result<OssRequest<()>, Error> {
        let mut request = OssRequest::new(
            Method::HEAD,
            self.bucket.clone(),
            Some(self.key.clone()),
            (),
        );
        if let Some(v) = &self.version_id {
            request = request.query("versionId", v.clone());
        }
        Ok(request)
    }

    fn parse<B: AsRef<[u8]>>(&self, response: Response<B>) -> Result<ObjectMetadata, Error> {
        success(&response)?;
        Ok(ObjectMetadata::from_headers(response.headers()))
    }
}
