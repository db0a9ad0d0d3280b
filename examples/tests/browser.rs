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

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

const TIMEOUT: Duration = Duration::from_secs(30);

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("OSSCB_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).find_map(|dir| {
        [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
    })
}

/// `target/` (the test binary lives in `target/<profile>/deps/`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .expect("target directory")
}

/// Kills the browser (by its own handle) when the test ends, however it ends.
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn launch(binary: &Path, profile: &Path) -> (Browser, String) {
    let mut child = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--window-size=1000,760",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let stderr = child.stderr.take().expect("stderr");
    let browser = Browser(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Keep draining stderr after the address is found so Chromium never blocks on it.
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.split("DevTools listening on ").nth(1)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(TIMEOUT)
        .expect("Chromium did not print its DevTools address within 30 s");
    (browser, url)
}

/// A minimal DevTools protocol client: one websocket, flattened sessions.
struct Cdp {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    session: Option<String>,
}

impl Cdp {
    fn connect(url: &str) -> Self {
        let (ws, _) = tungstenite::connect(url).expect("DevTools websocket");
        if let MaybeTlsStream::Plain(stream) = ws.get_ref() {
            stream
                .set_read_timeout(Some(TIMEOUT))
                .expect("read timeout");
        }
        Self {
            ws,
            next_id: 0,
            session: None,
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        self.ws
            .send(Message::text(message.to_string()))
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        loop {
            let reply = self.ws.read().unwrap_or_else(|e| panic!("{method}: {e}"));
            let Message::Text(text) = reply else { continue };
            let value: Value = serde_json::from_str(text.as_str()).expect("DevTools JSON");
            if value["id"] != json!(id) {
                continue; // an event, or another session's message
            }
            if let Some(error) = value.get("error") {
                panic!("{method} failed: {error}");
            }
            return value["result"].clone();
        }
    }

    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression}: {exception}");
        }
        result["result"]["value"].clone()
    }

    fn wait_for(&mut self, expression: &str) -> Value {
        let start = Instant::now();
        loop {
            let value = self.eval(expression);
            if value.as_str().is_some_and(|s| !s.is_empty()) || value.as_bool() == Some(true) {
                return value;
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "timed out waiting for {expression}; page says: {}",
                self.eval("document.body ? document.body.innerText : ''")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&mut self, path: &Path) {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let png = STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot base64");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("screenshot dir");
        std::fs::write(path, png).expect("write screenshot");
        eprintln!("screenshot: {}", path.display());
    }
}

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
