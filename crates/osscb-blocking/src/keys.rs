//! Verifying OSS's signed callbacks on the application server: the core's
//! [`Verifier`] decides; this fetches the keys it asks for.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use osscb_core::response::MAX_BODY_LEN;
use osscb_core::verify::{CallbackRequest, Check, VerifiedCallback, Verifier};

use crate::Result;

/// Verifies a callback request: trusted key URL, key (built in, cached, or
/// fetched once for all callers), signature, body. Keep one [`Verifier`] per
/// process: it holds the key cache.
///
/// # Errors
/// [`crate::Error::Verify`] naming the failed check.
pub fn verify_callback<B: AsRef<[u8]>>(
    verifier: &Verifier,
    request: &osscb_core::http::Request<B>,
) -> Result<VerifiedCallback> {
    let request = CallbackRequest::from_http(request);
    // Ends: the verifier hands out one fetch per URL and bounds every wait.
    loop {
        match verifier.check(&request, Instant::now())? {
            Check::Verified(callback) => return Ok(callback),
            Check::Wait(pause) => std::thread::sleep(pause),
            Check::Fetch(fetch) => {
                let document = fetch_key(fetch.url());
                verifier.key_fetched(fetch, document, Instant::now());
            }
        }
    }
}

fn fetch_key(url: &str) -> std::result::Result<Vec<u8>, String> {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    let agent = AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .new_agent()
    });
    let response = agent.get(url).call().map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let mut body = response.into_body();
    let reader = body.with_config().limit(MAX_BODY_LEN as u64);
    reader.read_to_vec().map_err(|e| e.to_string())
}
