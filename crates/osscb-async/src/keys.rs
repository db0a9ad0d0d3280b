//! Verifying OSS's signed callbacks on the application server: the core's
//! [`Verifier`] decides; this fetches the keys it asks for.

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
pub async fn verify_callback<B: AsRef<[u8]>>(
    verifier: &Verifier,
    request: &osscb_core::http::Request<B>,
) -> Result<VerifiedCallback> {
    // Ends: the verifier hands out one fetch per URL and bounds every wait.
    loop {
        let check = verifier.check(&CallbackRequest::from_http(request), Instant::now())?;
        match check {
            Check::Verified(callback) => return Ok(callback),
            Check::Wait(pause) => tokio::time::sleep(pause).await,
            Check::Fetch(fetch) => {
                let document = fetch_key(fetch.url()).await;
                verifier.key_fetched(fetch, document, Instant::now());
            }
        }
    }
}

async fn fetch_key(url: &str) -> std::result::Result<Vec<u8>, String> {
    // A client per fetch (they are rare): pooled connections would outlive
    // the runtime that made them.
    let http = crate::tls::http_client_builder()
        .map_err(|e| e.to_string())?
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.without_url().to_string())?;
    let mut response = http
        .get(url)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY_LEN {
            return Err(format!("key document over {MAX_BODY_LEN} bytes"));
        }
    }
    Ok(body)
}
