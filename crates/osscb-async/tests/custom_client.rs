//! A client built on the caller's own `reqwest::Client`.

use osscb_async::{Client, ClientOptions, UploadOptions};
use osscb_testkit::{creds, emulator};

#[tokio::test]
async fn a_callers_reqwest_client_uploads_and_hears_oss_errors() {
    let emulator = emulator();
    let options = ClientOptions::default()
        .endpoint(emulator.endpoint())
        .credentials(creds());
    // The caller's client, started from osscb's TLS (reqwest here has no
    // crypto provider of its own: osscb-async enables `rustls-no-provider`).
    let http = osscb_async::http_client_builder()
        .unwrap_or_else(|e| panic!("{e}"))
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
