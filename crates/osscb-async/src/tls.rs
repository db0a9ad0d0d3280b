//! The TLS of the reqwest clients this crate builds: rustls on the *ring*
//! crypto provider, the one osscb-blocking's ureq uses, so that the two
//! transports build one provider and no C library (reqwest's own `rustls`
//! feature is aws-lc-rs, which builds aws-lc-sys). reqwest is compiled with
//! `rustls-no-provider`: the config is handed to it here, explicitly, and no
//! process default is installed behind the application's back.
//!
//! Otherwise it is reqwest 0.13's default: the provider the application
//! installed as the process default if any (reqwest and ureq both prefer
//! it), TLS 1.3 and 1.2, the platform's roots through
//! `rustls-platform-verifier`, and ALPN `http/1.1` (no `http2` feature).
//! `tls_backend_preconfigured` has no semver promise: reqwest downcasts to its
//! own `rustls::ClientConfig`, so a rustls major version apart makes every
//! `build()` fail (which tests/default_client.rs would show).

use std::sync::Arc;

use rustls::crypto::{CryptoProvider, ring};
use rustls_platform_verifier::BuilderVerifierExt;

use crate::{Error, Result};

/// `reqwest::Client::builder()` with osscb's TLS (rustls on *ring*, the
/// platform's roots): start your own client here — a proxy, other roots,
/// timeouts, a pool — and give it to [`Client::with_http_client`](crate::Client::with_http_client).
///
/// # Errors
/// No root certificate could be loaded from the system (as reqwest's own
/// `build()` would report).
pub fn http_client_builder() -> Result<reqwest::ClientBuilder> {
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(ring::default_provider()));
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(BuilderVerifierExt::with_platform_verifier)
        .map_err(|e| Error::Transport(Box::new(e)))?
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(reqwest::Client::builder().tls_backend_preconfigured(tls))
}
