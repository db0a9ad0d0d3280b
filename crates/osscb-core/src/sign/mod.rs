//! Request signatures: V1 (HMAC-SHA1) and V4 (`OSS4-HMAC-SHA256`). Each
//! version exposes its intermediate strings so tests check them before the
//! signature.
//!
//! # Which version is used
//! [`crate::Config`] carries a [`SignatureVersion`]. The rule osscb follows
//! (and the transports apply to `OSS_REGION` and their `.region(..)` option):
//! **V4 when a region is known, V1 otherwise** — see
//! [`crate::Config::for_region`]. V4 needs the region because it is part of the
//! signing key; osscb never guesses it from the endpoint. `Config::new` stays
//! V1, which every OSS endpoint (and the classic SDKs) still accept.

pub mod v1;
pub mod v4;

pub use v4::Region;

/// Which signature algorithm requests carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureVersion {
    /// OSS Signature V1 (`Authorization: OSS id:signature`, HMAC-SHA1).
    #[default]
    V1,
    /// OSS Signature V4 (`Authorization: OSS4-HMAC-SHA256 Credential=…`,
    /// HMAC-SHA256 with a key derived for the date, the region and `oss`).
    V4 {
        /// The region the requests go to (`cn-hangzhou`); part of the scope.
        region: Region,
    },
}

impl SignatureVersion {
    /// The region, for V4.
    pub fn region(&self) -> Option<&Region> {
        match self {
            Self::V1 => None,
            Self::V4 { region } => Some(region),
        }
    }
}
