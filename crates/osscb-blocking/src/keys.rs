//! Verifying OSS's signed callbacks on the application server: public keys
//! fetched over HTTP and cached, and a one-call check.

use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use osscb_core::key_cache::{MAX_KEY_LEN, PublicKeyCache};
use osscb_core::verify::{CallbackRequest, PublicKey, VerifiedCallback, Verifier};

use crate::{Error, Result};

/// Callback public keys by URL: OSS's built-in key first, else fetched over
/// HTTP and cached (bounded size, TTL). Share one per process.
#[derive(Debug)]
pub struct KeyCache {
    agent: ureq::Agent,
    cache: Mutex<PublicKeyCache>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::new(64, Duration::from_secs(3600))
    }
}

impl KeyCache {
    /// At most `capacity` fetched keys, each kept for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .new_agent();
        Self {
            agent,
            cache: Mutex::new(PublicKeyCache::new(capacity, ttl)),
        }
    }

    /// The key at `url` (the caller checked that the URL is trusted).
    ///
    /// # Errors
    /// [`Error::KeyFetch`] when it cannot be fetched or decoded.
    pub fn key(&self, url: &str) -> Result<PublicKey> {
        let cached = self.lock().get(url, Instant::now());
        if let Some(key) = cached {
            return Ok(key);
        }
        let fail = |reason: String| Error::KeyFetch {
            url: url.to_owned(),
            reason,
        };
        let response = self
            .agent
            .get(url)
            .call()
            .map_err(|e| fail(e.to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("HTTP {}", response.status())));
        }
        let body = response
            .into_body()
            .into_with_config()
            .limit(MAX_KEY_LEN as u64)
            .read_to_vec()
            .map_err(|e| fail(e.to_string()))?;
        let key = PublicKeyCache::parse_key(&body).map_err(|e| fail(e.to_string()))?;
        self.lock().insert(url, key.clone(), Instant::now());
        Ok(key)
    }

    /// Verifies a callback request: trusted key URL, key (cached or fetched),
    /// signature; returns the body's variables.
    ///
    /// # Errors
    /// [`Error::Verify`] naming the failed check, or [`Error::KeyFetch`].
    pub fn verify<B: AsRef<[u8]>>(
        &self,
        verifier: &Verifier,
        request: &osscb_core::http::Request<B>,
    ) -> Result<VerifiedCallback> {
        let request = CallbackRequest::from_http(request);
        let key = self.key(&verifier.key_url(&request)?)?;
        Ok(verifier.verify(&request, &key)?)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PublicKeyCache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Verifies a callback request in one call, with a process-wide [`KeyCache`].
///
/// # Errors
/// As [`KeyCache::verify`].
pub fn verify_callback<B: AsRef<[u8]>>(
    verifier: &Verifier,
    request: &osscb_core::http::Request<B>,
) -> Result<VerifiedCallback> {
    static KEYS: OnceLock<KeyCache> = OnceLock::new();
    KEYS.get_or_init(KeyCache::default)
        .verify(verifier, request)
}
