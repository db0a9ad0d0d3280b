//! The default client's TLS: the agent osscb-blocking builds leaves TLS at
//! ureq's defaults, rustls with webpki's roots on ureq's own provider (ring,
//! its `rustls` feature; the one osscb-async hands reqwest), built when the
//! first HTTPS connection is made.

use osscb_blocking::{Client, ClientOptions};
use osscb_testkit::creds;
use ureq::tls::{RootCerts, TlsProvider};

#[test]
fn the_default_client_builds_on_ureqs_default_tls() {
    let options = ClientOptions::default()
        .endpoint("https://oss-cn-hangzhou.aliyuncs.com")
        .credentials(creds());
    Client::new(options).unwrap_or_else(|e| panic!("{e}"));
    let config = ureq::Agent::config_builder().build();
    let tls = config.tls_config();
    assert_eq!(tls.provider(), TlsProvider::Rustls);
    assert!(matches!(tls.root_certs(), RootCerts::WebPki));
    assert!(tls.unversioned_rustls_crypto_provider().is_none());
}
