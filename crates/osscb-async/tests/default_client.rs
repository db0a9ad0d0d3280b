//! The clients osscb-async builds bring their own TLS. reqwest is compiled
//! without a crypto provider (`rustls-no-provider`): its `build()` panics
//! with none and fails on a config it does not recognise, so a client that
//! builds took osscb's rustls config on ring.

use osscb_async::{Client, ClientOptions};
use osscb_testkit::creds;

#[test]
fn the_default_client_builds_its_tls_and_installs_no_process_default() {
    let options = ClientOptions::default()
        .endpoint("https://oss-cn-hangzhou.aliyuncs.com")
        .credentials(creds());
    Client::new(options).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "a library must not install a process-wide crypto provider"
    );
}
