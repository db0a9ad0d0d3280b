//! The HMAC keys a secret signs with, derived once and reused.
//!
//! Every V1 signature is HMAC-SHA1 keyed with the AccessKey secret, and every
//! V4 signature is HMAC-SHA256 keyed with a key derived from the secret, the
//! date and the region (four HMACs). Keying an HMAC hashes the key's inner and
//! outer pads; the official SDKs cache the V4 signing key per day (Go SDK v2
//! `signer/v4.go`, `signingKeyCache`), and osscb keeps the keyed HMAC state
//! itself, so a signature costs only the hashing of its string to sign.

use std::sync::{Mutex, OnceLock, PoisonError};

use hmac::{Hmac, KeyInit, Mac as _};
use sha1::Sha1;
use sha2::Sha256;

use super::v4::{PRODUCT, SECRET_PREFIX, TERMINATOR};

/// The keyed HMACs of one secret. A [`crate::Credentials`] owns one, shared
/// by its clones.
#[derive(Default)]
pub(crate) struct SigningKeys {
    v1: OnceLock<Hmac<Sha1>>,
    v4: Mutex<Option<V4Key>>,
}

/// The V4 signing key of one day and region, as a keyed HMAC.
struct V4Key {
    date: String,
    region: String,
    mac: Hmac<Sha256>,
}

/// An HMAC keyed with `key` (HMAC accepts keys of any length).
pub(crate) fn keyed<M: KeyInit>(key: &[u8]) -> M {
    M::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

/// HMAC-SHA256 of `data` under `key`.
fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac: Hmac<Sha256> = keyed(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The V4 signing key: HMAC-SHA256 of `date`, `region`, `product` and
/// `aliyun_v4_request` in turn, the first keyed with `"aliyun_v4" + secret`.
pub(crate) fn v4_signing_key(secret: &str, date: &str, region: &str, product: &str) -> [u8; 32] {
    let mut k_secret = String::with_capacity(SECRET_PREFIX.len() + secret.len());
    k_secret.push_str(SECRET_PREFIX);
    k_secret.push_str(secret);
    let k_date = hmac_sha256(k_secret.as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_product = hmac_sha256(&k_region, product.as_bytes());
    hmac_sha256(&k_product, TERMINATOR.as_bytes())
}

/// A V4 HMAC keyed with the signing key of `date/region/product`.
pub(crate) fn v4_mac(secret: &str, date: &str, region: &str, product: &str) -> Hmac<Sha256> {
    keyed(&v4_signing_key(secret, date, region, product))
}

impl SigningKeys {
    /// HMAC-SHA1 keyed with `secret` (always the same secret for one cache).
    pub(crate) fn v1(&self, secret: &str) -> Hmac<Sha1> {
        self.v1.get_or_init(|| keyed(secret.as_bytes())).clone()
    }

    /// HMAC-SHA256 keyed with the OSS signing key of `secret` for `date`
    /// (`YYYYMMDD`) and `region`; derived again when the day or region changes.
    pub(crate) fn v4(&self, secret: &str, date: &str, region: &str) -> Hmac<Sha256> {
        let mut cached = self.v4.lock().unwrap_or_else(PoisonError::into_inner);
        match cached.as_ref() {
            Some(key) if key.date == date && key.region == region => key.mac.clone(),
            _ => {
                let mac = v4_mac(secret, date, region, PRODUCT);
                *cached = Some(V4Key {
                    date: date.to_owned(),
                    region: region.to_owned(),
                    mac: mac.clone(),
                });
                mac
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag<M: hmac::Mac>(mut mac: M, data: &[u8]) -> Vec<u8> {
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    #[test]
    fn cached_keys_sign_like_fresh_ones_and_follow_the_day_and_region() {
        let keys = SigningKeys::default();
        let fresh_v1: Hmac<Sha1> = keyed(b"secret");
        assert_eq!(tag(keys.v1("secret"), b"x"), tag(fresh_v1.clone(), b"x"));
        assert_eq!(tag(keys.v1("secret"), b"y"), tag(fresh_v1, b"y"));
        for (date, region) in [
            ("20250411", "cn-hangzhou"),
            ("20250411", "cn-hangzhou"),
            ("20250412", "cn-hangzhou"),
            ("20250412", "cn-beijing"),
        ] {
            assert_eq!(
                tag(keys.v4("secret", date, region), b"s"),
                tag(v4_mac("secret", date, region, PRODUCT), b"s"),
                "{date} {region}"
            );
        }
        assert_ne!(
            tag(keys.v4("secret", "20250411", "cn-hangzhou"), b"s"),
            tag(keys.v4("secret", "20250412", "cn-hangzhou"), b"s")
        );
    }
}
