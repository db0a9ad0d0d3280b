//! The emulator's dashboard in headless Chromium: the page is open and live
//! before an upload with a callback (osscb-blocking against the same
//! emulator, a loopback app server answering 200), and the delivery row
//! appears without a reload, with the app server's answer and the
//! uploader's 200; a refused signature shows the string the emulator signed.
//!
//! The screenshot goes to `target/screenshots/dashboard.png`, or with
//! `OSSCB_UPDATE_SCREENSHOT=1` to `docs/dashboard.png` (the README's).
//! Chromium must be installed (`cargo xtask setup`; or `OSSCB_CHROMIUM`),
//! unless `OSSCB_SKIP_BROWSER=1` asks explicitly to skip the test.

mod cdp;

use std::path::{Path, PathBuf};

use axum::Json;
use axum::routing::post;
use osscb_blocking::{Client, ClientOptions, UploadOptions};
use osscb_core::Credentials;
use osscb_core::callback::Callback;
use osscb_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

const ID: &str = "test-id";
const SECRET: &str = "test-secret";
const GREETING: &str = "hello from the app server";

/// An app server on loopback that answers every callback 200 with JSON.
async fn app_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().route(
        "/callback",
        post(|body: String| async move {
            Json(json!({ "Status": "OK", "greeting": GREETING, "got": body }))
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn client(emulator: &Emulator, secret: &str) -> Client {
    Client::new(
        ClientOptions::default()
            .endpoint(emulator.endpoint().as_str())
            .credentials(Credentials::new(ID, secret)),
    )
    .expect("client")
}

fn screenshot_path() -> PathBuf {
    if std::env::var("OSSCB_UPDATE_SCREENSHOT").as_deref() == Ok("1") {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/dashboard.png")
    } else {
        cdp::target_dir().join("screenshots/dashboard.png")
    }
}

/// What the page showed.
struct Seen {
    before: Value,
    requests: Value,
    answer: String,
    delivery: String,
    refused: String,
}

fn drive(binary: &Path, emulator: &Emulator, callback_url: &str) -> Seen {
    let profile = tempfile::tempdir().expect("profile dir");
    let (_browser, ws_url) = cdp::launch(binary, profile.path());
    let page = emulator.dashboard_url().expect("the dashboard is on");
    let mut cdp = cdp::open_page(&ws_url, &page, 1200, 1000);
    cdp.wait_for("document.getElementById('live')?.textContent === 'live'");
    let before = cdp.eval("document.querySelectorAll('.delivery').length");

    let bucket = client(emulator, SECRET)
        .bucket("examplebucket")
        .expect("bucket");
    for (key, size) in [("photos/cat.jpg", 2048), ("notes/todo.txt", 120)] {
        let options = UploadOptions::new();
        bucket
            .put_object(key, &vec![b'x'; size], &options)
            .expect("upload");
    }
    let callback = Callback::builder(callback_url)
        .body("bucket=${bucket}&object=${object}&size=${size}")
        .build()
        .expect("callback");
    let options = UploadOptions::new().callback(callback);
    let output = bucket
        .put_object("uploads/report.pdf", &vec![b'%'; 4096], &options)
        .expect("upload with callback");
    let answer = output.callback.map(|a| a.text()).unwrap_or_default();
    // A refused signature: the emulator shows the string it signed.
    let wrong = client(emulator, "not-the-secret")
        .bucket("examplebucket")
        .expect("bucket");
    let _ = wrong.get_object("uploads/report.pdf");

    let delivery = cdp
        .wait_for(&format!(
            "[...document.querySelectorAll('.delivery')]\
             .map(d => d.innerText).find(t => t.includes('{GREETING}')) || ''"
        ))
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let refused = cdp
        .wait_for(
            "[...document.querySelectorAll('tr.request')]\
             .map(r => r.innerText).find(t => t.includes('SignatureDoesNotMatch')) || ''",
        )
        .as_str()
        .unwrap_or_default()
        .to_owned();
    cdp.wait_for("document.querySelectorAll('tr.object').length === 3");
    // Only the test's requests: the page's own (its icon too) are not journaled.
    let requests = cdp.eval("document.querySelectorAll('tr.request').length");
    // Show the signed string and the delivery's signed request.
    cdp.eval("document.querySelectorAll('details').forEach(d => d.open = true); true");
    cdp.screenshot(&screenshot_path());
    Seen {
        before,
        requests,
        answer,
        delivery,
        refused,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_a_callback_delivery_live() {
    let Some(binary) = cdp::chromium_or_skip() else {
        return;
    };
    let emulator = Emulator::start(EmulatorConfig::new(ID, SECRET)).expect("emulator");
    let app = app_server().await;
    let callback_url = format!("http://{app}/callback");
    let seen = tokio::task::spawn_blocking(move || drive(&binary, &emulator, &callback_url))
        .await
        .expect("browser thread");

    assert_eq!(seen.before, json!(0), "no delivery before the upload");
    assert_eq!(
        seen.requests,
        json!(4),
        "three uploads and a refused download"
    );
    let answer: Value = serde_json::from_str(&seen.answer).expect("the app server's JSON");
    assert_eq!(answer["greeting"], GREETING);
    assert_eq!(
        answer["got"],
        "bucket=examplebucket&object=uploads%2Freport.pdf&size=4096"
    );
    let delivery = &seen.delivery;
    assert!(
        delivery.contains("examplebucket/uploads/report.pdf"),
        "{delivery}"
    );
    assert!(delivery.contains("uploader got 200"), "{delivery}");
    assert!(
        delivery.contains(&format!("POST http://{app}/callback → 200")),
        "{delivery}"
    );
    assert!(delivery.contains(&seen.answer), "{delivery}");
    assert!(
        seen.refused.contains("refused: SignatureDoesNotMatch"),
        "{}",
        seen.refused
    );
}
