//! A minimal headless Chromium driver over the DevTools protocol (a
//! websocket, no WebDriver), for the browser tests (`browser.rs`,
//! `dashboard.rs`).
#![allow(dead_code)]

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

pub const TIMEOUT: Duration = Duration::from_secs(30);

pub fn chromium() -> Option<PathBuf> {
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
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .expect("target directory")
}

/// Kills the browser (by its own handle) when the test ends, however it ends.
pub struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn launch(binary: &Path, profile: &Path) -> (Browser, String) {
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
pub struct Cdp {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    pub session: Option<String>,
}

impl Cdp {
    pub fn connect(url: &str) -> Self {
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

    pub fn call(&mut self, method: &str, params: Value) -> Value {
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

    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression}: {exception}");
        }
        result["result"]["value"].clone()
    }

    pub fn wait_for(&mut self, expression: &str) -> Value {
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

    pub fn screenshot(&mut self, path: &Path) {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let png = STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot base64");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("screenshot dir");
        std::fs::write(path, png).expect("write screenshot");
        eprintln!("screenshot: {}", path.display());
    }
}

/// Fails (or, with `OSSCB_SKIP_BROWSER=1`, says it skips and returns
/// `None`) when Chromium is not installed.
pub fn chromium_or_skip() -> Option<PathBuf> {
    if let Some(binary) = chromium() {
        return Some(binary);
    }
    if std::env::var("OSSCB_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("OSSCB_SKIP_BROWSER=1: skipping the headless Chromium test");
        return None;
    }
    panic!(
        "Chromium not found on PATH: install the Debian package `chromium` \
         (apt-get install chromium, or cargo xtask setup) or set OSSCB_CHROMIUM \
         to its binary; set OSSCB_SKIP_BROWSER=1 to skip this test explicitly"
    );
}

/// A page at `url` in a new tab of the Chromium whose DevTools are at
/// `ws_url`, `width` × `height` pixels.
pub fn open_page(ws_url: &str, url: &str, width: u32, height: u32) -> Cdp {
    let mut cdp = Cdp::connect(ws_url);
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
        json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
    );
    cdp.call("Page.navigate", json!({ "url": url }));
    cdp
}
