//! Options shared by the operations that create objects.

use std::collections::BTreeMap;

use crate::callback::Callback;
use crate::{Error, OssRequest};

/// An object's ACL (`x-oss-object-acl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectAcl {
    /// Inherit the bucket's ACL.
    Default,
    /// Owner only.
    Private,
    /// Anyone may read.
    PublicRead,
    /// Anyone may read and write.
    PublicReadWrite,
}

impl ObjectAcl {
    /// The header value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Private => "private",
            Self::PublicRead => "public-read",
            Self::PublicReadWrite => "public-read-write",
        }
    }
}

/// A storage class (`x-oss-storage-class`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageClass {
    /// Standard.
    Standard,
    /// Infrequent Access.
    InfrequentAccess,
    /// Archive.
    Archive,
    /// Cold Archive.
    ColdArchive,
    /// Deep Cold Archive.
    DeepColdArchive,
}

impl StorageClass {
    /// The header value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "Standard",
            Self::InfrequentAccess => "IA",
            Self::Archive => "Archive",
            Self::ColdArchive => "ColdArchive",
            Self::DeepColdArchive => "DeepColdArchive",
        }
    }
}

/// What PutObject and InitiateMultipartUpload may set on the new object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// `Content-Type`; OSS guesses from the key's extension when absent.
    pub content_type: Option<String>,
    /// User metadata, sent as `x-oss-meta-<name>` (names are lowercased).
    pub metadata: BTreeMap<String, String>,
    /// `x-oss-object-acl`.
    pub acl: Option<ObjectAcl>,
    /// `x-oss-storage-class`.
    pub storage_class: Option<StorageClass>,
    /// `x-oss-forbid-overwrite: true`: fail with `FileAlreadyExists` instead of overwriting.
    pub forbid_overwrite: bool,
}

impl WriteOptions {
    pub(crate) fn apply<B>(&self, request: &mut OssRequest<B>) -> Result<(), Error> {
        if let Some(ct) = &self.content_type {
            request.set_header(http::header::CONTENT_TYPE, ct)?;
        }
        for (name, value) in &self.metadata {
            let name = name.to_ascii_lowercase();
            let valid_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !valid_name {
                return Err(Error::InvalidHeader {
                    name: format!("x-oss-meta-{name}"),
                });
            }
            request.set_header_str(&format!("x-oss-meta-{name}"), value)?;
        }
        if let Some(acl) = self.acl {
            request.set_header_str("x-oss-object-acl", acl.as_str())?;
        }
        if let Some(class) = self.storage_class {
            request.set_header_str("x-oss-storage-class", class.as_str())?;
        }
        if self.forbid_overwrite {
            request.set_header_str("x-oss-forbid-overwrite", "true")?;
        }
        Ok(())
    }
}

pub(crate) fn apply_callback<B>(
    callback: Option<&Callback>,
    request: &mut OssRequest<B>,
) -> Result<(), Error> {
    if let Some(callback) = callback {
        request.headers.extend(callback.headers());
    }
    Ok(())
}

/// The content type for a file name, from its extension, as `mime_guess`'s
/// table (the Apache and nginx lists) has it; `application/octet-stream` when
/// unknown — what OSS stores when a PutObject names no type.
pub fn guess_content_type(name: &str) -> &'static str {
    name.rsplit_once('.')
        .and_then(|(_, ext)| mime_guess::from_ext(ext).first_raw())
        .unwrap_or("application/octet-stream")
}

/// Every header of `response` checked for success, errors turned into `Error`.
pub(crate) fn success<B: AsRef<[u8]>>(response: &http::Response<B>) -> Result<(), Error> {
    crate::response::check_status(
        response.status(),
        response.headers(),
        response.body().as_ref(),
    )
}

#[cfg(test)]
mod tests {
    use super::guess_content_type;

    #[test]
    fn content_types_come_from_the_extension() {
        for (name, want) in [
            ("a.txt", "text/plain"),
            ("dir/photo 1.JPG", "image/jpeg"),
            ("x.tar.gz", "application/gzip"),
            ("index.html", "text/html"),
            ("data.json", "application/json"),
            ("noext", "application/octet-stream"),
            ("x.unknown-ext", "application/octet-stream"),
            ("trailing.", "application/octet-stream"),
        ] {
            assert_eq!(guess_content_type(name), want, "{name}");
        }
    }
}
