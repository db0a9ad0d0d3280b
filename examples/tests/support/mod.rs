//! Shared by the callback server's tests: an emulator and the server's router
//! running in-process.

use std::sync::Arc;

use osscb_core::{Bucket, Credentials, Endpoint, Region};
use osscb_emulator::{Emulator, EmulatorConfig};

use crate::app;

/// The key pair the emulator accepts.
pub const ACCESS_KEY_ID: &str = "test-id";
/// Its secret.
pub const ACCESS_KEY_SECRET: &str = "test-secret";

/// The caller token the served app knows: caller `alice`, keys under `uploads/alice/`.
pub const CALLER_TOKEN: &str = "alice:0123456789abcdef+test";

/// `Authorization` headers carrying [`CALLER_TOKEN`].
pub fn bearer() -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    let value = format!("Bearer {CALLER_TOKEN}");
    headers.insert(
        axum::http::header::AUTHORIZATION,
        value.parse().expect("header value"),
    );
    headers
}

/// An app at `public_url` for the caller [`CALLER_TOKEN`], with a random seal.
pub fn new_app(public_url: &str, trusted: &[String], oss: Option<app::OssSettings>) -> app::App {
    let caller = app::Caller::parse(CALLER_TOKEN).expect("caller token");
    let seal = app::random_seal().expect("seal");
    app::App::new(public_url, trusted, oss, vec![caller], seal)
}

/// A fresh emulator on a free port.
pub fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::new(ACCESS_KEY_ID, ACCESS_KEY_SECRET)).expect("emulator starts")
}

/// OSS settings pointing at `emulator`.
pub fn oss_settings(emulator: &Emulator) -> app::OssSettings {
    app::OssSettings {
        endpoint: Endpoint::parse(&emulator.endpoint()).expect("endpoint"),
        bucket: Bucket::new("examplebucket").expect("bucket"),
        credentials: Credentials::new(ACCESS_KEY_ID, ACCESS_KEY_SECRET),
        region: None,
    }
}

/// OSS settings pointing at `emulator`, signing presigned URLs with V4.
pub fn oss_settings_v4(emulator: &Emulator) -> app::OssSettings {
    app::OssSettings {
        region: Some(Region::new("cn-hangzhou").expect("region")),
        ..oss_settings(emulator)
    }
}

/// Serves the callback server's router on a free port; returns its base URL
/// and the app (to read the verified bodies).
pub async fn serve(trusted: &[String], oss: Option<app::OssSettings>) -> (String, Arc<app::App>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Arc::new(new_app(&base, trusted, oss));
    let router = app::router(Arc::clone(&app));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (base, app)
}

/// The emulator's origin as a trusted key-URL prefix (`http://127.0.0.1:PORT/`).
pub fn emulator_prefix(emulator: &Emulator) -> String {
    format!("{}/", emulator.endpoint())
}
