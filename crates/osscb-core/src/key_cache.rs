//! A bounded, expiring cache of callback public keys by URL, sans-IO: the
//! transports fetch what it lacks and pass the time in.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use osscb_core::key_cache::PublicKeyCache;
//!
//! let mut cache = PublicKeyCache::new(16, Duration::from_secs(3600));
//! let now = Instant::now();
//! // OSS's own key is built in: found without a fetch.
//! assert!(cache.get("https://gosspublic.alicdn.com/callback_pub_key_v1.pem", now).is_some());
//! let url = "http://127.0.0.1:9000/__osscb/pub_key.pem";
//! assert!(cache.get(url, now).is_none());
//! let pem = b"-----BEGIN PUBLIC KEY-----
//! MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKs/JBGzwUB2aVht4crBx3oIPBLNsjGs
//! C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==
//! -----END PUBLIC KEY-----";
//! cache.insert(url, PublicKeyCache::parse_key(pem)?, now);
//! assert!(cache.get(url, now + Duration::from_secs(60)).is_some());
//! assert!(cache.get(url, now + Duration::from_secs(3601)).is_none());
//! # Ok::<(), osscb_core::verify::VerifyError>(())
//! ```

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::verify::{PublicKey, VerifyError};

/// The largest key document a transport should read (16 KiB).
pub const MAX_KEY_LEN: usize = 16 * 1024;

/// Keys by URL, at most `capacity` of them, each kept for `ttl`.
#[derive(Clone, Debug)]
pub struct PublicKeyCache {
    capacity: usize,
    ttl: Duration,
    entries: HashMap<String, (PublicKey, Instant)>,
}

impl Default for PublicKeyCache {
    /// 64 keys, one hour each.
    fn default() -> Self {
        Self::new(64, Duration::from_secs(3600))
    }
}

impl PublicKeyCache {
    /// A cache of at most `capacity` keys (at least 1), each kept for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            entries: HashMap::new(),
        }
    }

    /// The key for `url` at `now`: OSS's built-in key, or a cached one that
    /// has not expired.
    pub fn get(&mut self, url: &str, now: Instant) -> Option<PublicKey> {
        if let Some(key) = PublicKey::builtin(url) {
            return Some(key);
        }
        let (key, at) = self.entries.get(url)?;
        if now.saturating_duration_since(*at) < self.ttl {
            Some(key.clone())
        } else {
            self.entries.remove(url);
            None
        }
    }

    /// Caches `key` for `url` as fetched at `now`, dropping expired entries
    /// and then the oldest one when full.
    pub fn insert(&mut self, url: impl Into<String>, key: PublicKey, now: Instant) {
        let ttl = self.ttl;
        self.entries
            .retain(|_, (_, at)| now.saturating_duration_since(*at) < ttl);
        let url = url.into();
        if !self.entries.contains_key(&url) && self.entries.len() >= self.capacity {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(u, _)| u.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(url, (key, now));
    }

    /// How many fetched keys are cached.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// Decodes a fetched key document: PEM (SPKI or PKCS#1) or DER SPKI.
    ///
    /// # Errors
    /// [`VerifyError::BadKey`] when it is none of these or over [`MAX_KEY_LEN`].
    pub fn parse_key(body: &[u8]) -> Result<PublicKey, VerifyError> {
        if body.len() > MAX_KEY_LEN {
            return Err(VerifyError::BadKey(format!(
                "key document over {MAX_KEY_LEN} bytes"
            )));
        }
        match std::str::from_utf8(body) {
            Ok(text) if text.trim_start().starts_with("-----BEGIN") => PublicKey::from_pem(text),
            _ => PublicKey::from_der(body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::OSS_PUBLIC_KEY_PEM;

    #[test]
    fn bounded_and_expiring() {
        let key = PublicKeyCache::parse_key(OSS_PUBLIC_KEY_PEM.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut cache = PublicKeyCache::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        cache.insert("http://a/", key.clone(), t0);
        cache.insert("http://b/", key.clone(), t0 + Duration::from_secs(1));
        cache.insert("http://c/", key.clone(), t0 + Duration::from_secs(2));
        assert_eq!(cache.len(), 2);
        let t = t0 + Duration::from_secs(3);
        assert!(cache.get("http://a/", t).is_none(), "oldest evicted");
        assert!(cache.get("http://b/", t).is_some());
        assert!(
            cache
                .get("http://c/", t0 + Duration::from_secs(12))
                .is_none()
        );
        assert!(PublicKeyCache::parse_key(b"not a key").is_err());
        assert!(PublicKeyCache::parse_key(&vec![b'-'; MAX_KEY_LEN + 1]).is_err());
    }
}
