//! The upload page in headless Chromium: pick a file, upload it straight to
//! the emulator with the signed PostObject form (cross-origin, so CORS must
//! work) — signed with V4 (the server has a region), then with V1 — and show
//! the upload's progress and the callback server's verified answer; then the
//! same with the presigned PUT URL. Screenshots go to `target/screenshots/`.
//!
//! Chromium is driven over the DevTools protocol (a websocket) with no
//! WebDriver in between. It must be installed (Debian: `apt-get install
//! chromium`; or point `OSSCB_CHROMIUM` at a binary). Without it the test
//! fails, unless `OSSCB_SKIP_BROWSER=1` asks explicitly to skip it.

#[path = "../callback_server/app.rs"]
#[allow(dead_code)]
mod app;
#[allow(dead_code)]
mod support;

mod cdp;

use std::path::Path;

use cdp::{Cdp, chromium, launch, target_dir};
use serde_json::{Value, json};

struct Outcome {
    done: String,
    status: String,
    answer: String,
    /// The page's `data-progress` (percent, from the upload progress events).
    progress: String,
    /// The `<progress>` bar's value and maximum.
    bar: (f64, f64),
}

/// Clicks `button` with the form signature `signature` selected (`""`: the
/// server's choice) and waits for the page's verdict.
fn upload(cdp: &mut Cdp, button: &str, signature: &str) -> Outcome {
    cdp.eval("document.body.dataset.done = ''");
    cdp.eval(&format!(
        "document.getElementById('signature').value = '{signature}'"
    ));
    cdp.eval(&format!("document.getElementById('{button}').click()"));
    let done = cdp.wait_for("document.body.dataset.done || ''");
    let bar = cdp.eval(
        "[document.getElementById('progress').value, document.getElementById('progress').max]",
    );
    Outcome {
        progress: cdp
            .eval("document.body.dataset.progress || ''")
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        bar: (
            bar[0].as_f64().unwrap_or_default(),
            bar[1].as_f64().unwrap_or_default(),
        ),
        done: done.as_str().unwrap_or_default().to_owned(),
        status: cdp
            .eval("document.getElementById('status').textContent")
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        answer: cdp
            .eval("document.getElementById('answer').textContent")
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// Opens `page_url` and picks `file` in its file input.
fn open_page(cdp: &mut Cdp, page_url: &str, file: &Path) {
    cdp.call("Page.navigate", json!({ "url": page_url }));
    cdp.wait_for("document.readyState === 'complete' && !!document.getElementById('file')");
    let document = cdp.call("DOM.getDocument", json!({}));
    let input = cdp.call(
        "DOM.querySelector",
        json!({ "nodeId": document["root"]["nodeId"], "selector": "#file" }),
    );
    cdp.call(
        "DOM.setFileInputFiles",
        json!({ "files": [file.to_string_lossy()], "nodeId": input["nodeId"] }),
    );
}

/// The pages to drive: one whose uploads succeed, one whose app server
/// refuses its callbacks (OSS answers 203), one whose forms OSS refuses.
struct Pages {
    ok: String,
    callback_refused: String,
    signature_refused: String,
}

fn drive(pages: &Pages, file: &Path, screenshots: &Path) -> [Outcome; 5] {
    let binary = chromium().expect("checked by the caller");
    let profile = tempfile::tempdir().expect("profile dir");
    let (_browser, ws_url) = launch(&binary, profile.path());
    let mut cdp = Cdp::connect(&ws_url);
    let target = cdp.call("Target.createTarget", json!({ "url": "about:blank" }));
    let attached = cdp.call(
        "Target.attachToTarget",
        json!({ "targetId": target["targetId"], "flatten": true }),
    );
    cdp.session = Some(
        attached["sessionId"]
            .as_str()
            .expect("session id")
            .to_owned(),
    );
    cdp.call("Page.enable", json!({}));
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1000, "height": 760, "deviceScaleFactor": 1, "mobile": false }),
    );
    open_page(&mut cdp, &pages.ok, file);
    let post_v4 = upload(&mut cdp, "upload-post", "");
    cdp.screenshot(&screenshots.join("callback_upload.png"));
    let post_v1 = upload(&mut cdp, "upload-post", "v1");
    cdp.screenshot(&screenshots.join("callback_upload_v1.png"));
    let put = upload(&mut cdp, "upload-put", "");
    cdp.screenshot(&screenshots.join("callback_upload_put.png"));
    open_page(&mut cdp, &pages.callback_refused, file);
    let stored_only = upload(&mut cdp, "upload-post", "");
    cdp.screenshot(&screenshots.join("callback_upload_203.png"));
    open_page(&mut cdp, &pages.signature_refused, file);
    let refused = upload(&mut cdp, "upload-post", "");
    cdp.screenshot(&screenshots.join("callback_upload_refused.png"));
    let _ = cdp.call(
        "Target.closeTarget",
        json!({ "targetId": target["targetId"] }),
    );
    [post_v4, post_v1, put, stored_only, refused]
}

/// The upload went through with its progress at 100% and the app server's
/// verified answer on the page; returns that answer.
fn assert_uploaded(outcome: &Outcome, via: &str) -> Value {
    assert_eq!(outcome.done, "ok", "{} {}", outcome.status, outcome.answer);
    assert!(outcome.status.contains("HTTP 200"), "{}", outcome.status);
    assert_eq!(outcome.progress, "100", "{}", outcome.status);
    assert_eq!(outcome.bar, (100.0, 100.0));
    let answer: Value = serde_json::from_str(&outcome.answer).expect("the app server's JSON");
    assert_eq!(answer["verified"], true);
    assert_eq!(answer["callback"]["via"], via);
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_uploads_to_the_emulator_and_shows_the_verified_callback() {
    if chromium().is_none() {
        if std::env::var("OSSCB_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("OSSCB_SKIP_BROWSER=1: skipping the headless Chromium test");
            return;
        }
        panic!(
            "Chromium not found on PATH: install the Debian package `chromium` \
             (apt-get install chromium) or set OSSCB_CHROMIUM to its binary; \
             set OSSCB_SKIP_BROWSER=1 to skip this test explicitly"
        );
    }
    let emulator = support::emulator();
    // With a region the page's forms are V4 unless it asks for V1.
    let (base, app) = support::serve(
        &[support::emulator_prefix(&emulator)],
        Some(support::oss_settings_v4(&emulator)),
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("hello-osscb.txt");
    std::fs::write(&file, "Hello from headless Chromium!\n").expect("write file");
    let screenshots = target_dir().join("screenshots");
    // An app that does not trust the emulator's key refuses its callbacks.
    let (untrusting, _) = support::serve(&[], Some(support::oss_settings_v4(&emulator))).await;
    // An app that signs with a wrong secret.
    let mut wrong = support::oss_settings_v4(&emulator);
    wrong.credentials = osscb_core::Credentials::new(support::ACCESS_KEY_ID, "not-the-secret");
    let (forger, _) = support::serve(&[support::emulator_prefix(&emulator)], Some(wrong)).await;
    // The token travels in the fragment, as the server prints the page's URL.
    let page = |base: &str| format!("{base}/#token={}", support::CALLER_TOKEN);
    let pages = Pages {
        ok: page(&base),
        callback_refused: page(&untrusting),
        signature_refused: page(&forger),
    };
    let [post_v4, post_v1, put, stored_only, refused] =
        tokio::task::spawn_blocking(move || drive(&pages, &file, &screenshots))
            .await
            .expect("browser thread");

    assert!(
        post_v4.status.contains("signature V4"),
        "{}",
        post_v4.status
    );
    let answer = assert_uploaded(&post_v4, "post-object");
    assert_eq!(
        answer["callback"]["object"],
        "uploads/alice/hello-osscb.txt"
    );
    assert_eq!(answer["callback"]["size"], "30");
    assert_eq!(answer["callback"]["mimeType"], "text/plain");

    assert!(
        post_v1.status.contains("signature V1"),
        "{}",
        post_v1.status
    );
    assert_uploaded(&post_v1, "post-object");

    assert_uploaded(&put, "presigned-put");

    assert_eq!(app.verified_bodies().len(), 3);

    // A 203: stored, and the page says the callback failed, with OSS's reason.
    assert_eq!(stored_only.done, "failed");
    assert_eq!(stored_only.progress, "100");
    assert!(
        stored_only
            .status
            .starts_with("Stored; the callback failed (HTTP 203): CallbackFailed: "),
        "{}",
        stored_only.status
    );
    // A refused signature: OSS's code and message.
    assert_eq!(refused.done, "failed");
    assert_eq!(
        refused.status,
        "OSS refused the upload (HTTP 403): SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    );
    assert!(
        refused.answer.contains("<StringToSign>"),
        "{}",
        refused.answer
    );
}
