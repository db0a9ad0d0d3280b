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

/// `name:value\n` for each header in `names` (sorted, lowercase), values
/// trimmed and repeated headers joined with `,`: the header block of both
/// signature versions' canonical strings.
pub(crate) fn canonical_header_lines(headers: &http::HeaderMap, names: &[&str]) -> String {
    let mut out = String::new();
    for name in names {
        let values: Vec<String> = headers
            .get_all(*name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`, for non-negative day counts).
pub(crate) fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}
