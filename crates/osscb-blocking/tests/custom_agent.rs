//! A client built on the caller's own `ureq::Agent`.

use osscb_blocking::{Client, ClientOptions, UploadOptions};
use osscb_testkit::{creds, emulator};

/// ureq's default agent turns error statuses into errors and follows
/// redirects; osscb sets per request what it needs, so OSS's answers still
/// arrive as OSS errors.
#[test]
fn a_default_ureq_agent_still_hears_oss_errors() {
    let emulator = emulator();
    let options = ClientOptions::default()
        .endpoint(emulator.endpoint())
        .credentials(creds());
    let client = Client::with_agent(options, ureq::Agent::new_with_defaults())
        .unwrap_or_else(|e| panic!("{e}"));
    let bucket = client
        .bucket("examplebucket")
        .unwrap_or_else(|e| panic!("{e}"));
    bucket
        .put_object("agent.txt", b"hello", &UploadOptions::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, body) = bucket
        .get_object("agent.txt")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(body, b"hello");
    let missing = bucket.get_object("missing.txt").expect_err("no such key");
    assert!(missing.is_not_found(), "{missing:?}");
}
