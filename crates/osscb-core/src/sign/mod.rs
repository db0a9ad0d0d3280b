//! Request signatures. V1 (HMAC-SHA1) is implemented; each version exposes its
//! intermediate strings so tests check them before the signature.

pub mod v1;

/// Which signature algorithm requests carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureVersion {
    /// OSS Signature V1 (`Authorization: OSS id:signature`, HMAC-SHA1).
    #[default]
    V1,
}
