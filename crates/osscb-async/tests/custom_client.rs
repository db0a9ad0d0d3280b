//! A client built on the caller's own `reqwest::Client`.

use std::sync::Arc;

use osscb_async::{Client, ClientOptions, UploadOptions};
use osscb_testkit::{creds, emulator};

#[tokio::test]
async fn a_callers_reqwest_client_uploads_and_hears_oss_errors() {
    let emulator = emulator();
    let options = ClientOptions::default()
        .endpoint(emulator.endpoint())
        .credentials(creds());
    // reqwest here has no crypto provider of its own (osscb-async enables
    // `rustls-no-provider`): the caller's client brings its TLS, here rustls
    // on ring with no roots (the emulator speaks plain HTTP).
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("{e}"))
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let client = Client::with_http_client(options, http).unwrap_or_else(|e| panic!("{e}"));
    let bucket = client
        .bucket("examplebucket")
        .unwrap_or_else(|e| panic!("{e}"));
    bucket
        .put_object("client.txt", b"hello".to_vec(), &UploadOptions::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, body) = bucket
        .get_object("client.txt")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(body, b"hello");
    let missing = bucket
        .get_object("missing.txt")
        .await
        .expect_err("no such key");
    assert!(missing.is_not_found(), "{missing:?}");
}
