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
    http: Option<reqwest::Client>,
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
        // No pooled connections: the cache may outlive the runtime that made them.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(0)
            .build()
            .ok();
        Self {
            http,
            cache: Mutex::new(PublicKeyCache::new(capacity, ttl)),
        }
    }

    /// The key at `url` (the caller checked that the URL is trusted).
    ///
    /// # Errors
    /// [`Error::KeyFetch`] when it cannot be fetched or decoded.
    pub async fn key(&self, url: &str) -> Result<PublicKey> {
        let cached = self.lock().get(url, Instant::now());
        if let Some(key) = cached {
            return Ok(key);
        }
        let fail = |reason: String| Error::KeyFetch {
            url: url.to_owned(),
            reason,
        };
        let http = self
            .http
            .as_ref()
            .ok_or_else(|| fail("no HTTP client".to_owned()))?;
        let mut response = http
            .get(url)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("HTTP {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| fail(e.to_string()))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_KEY_LEN {
                return Err(fail(format!("key document over {MAX_KEY_LEN} bytes")));
            }
        }
        let key = PublicKeyCache::parse_key(&body).map_err(|e| fail(e.to_string()))?;
        self.lock().insert(url, key.clone(), Instant::now());
        Ok(key)
    }

    /// Verifies a callback request: trusted key URL, key (cached or fetched),
    /// signature; returns the body's variables.
    ///
    /// # Errors
    /// [`Error::Verify`] naming the failed check, or [`Error::KeyFetch`].
    pub async fn verify<B: AsRef<[u8]>>(
        &self,
        verifier: &Verifier,
        request: &osscb_core::http::Request<B>,
    ) -> Result<VerifiedCallback> {
        let url = verifier.key_url(&CallbackRequest::from_http(request))?;
        let key = self.key(&url).await?;
        Ok(verifier.verify(&CallbackRequest::from_http(request), &key)?)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PublicKeyCache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Verifies a callback request in one call, with a process-wide [`KeyCache`].
///
/// # Errors
/// As [`KeyCache::verify`].
pub async fn verify_callback<B: AsRef<[u8]>>(
    verifier: &Verifier,
    request: &osscb_core::http::Request<B>,
) -> Result<VerifiedCallback> {
    static KEYS: OnceLock<KeyCache> = OnceLock::new();
    KEYS.get_or_init(KeyCache::default)
        .verify(verifier, request)
        .await
}
