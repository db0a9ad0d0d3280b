//! The dashboard at `/__osscb/`: its page, the journal as server-sent
//! events (a snapshot, then live entries), the objects by bucket, the fault
//! controls and who may use them, `dashboard(false)`, and that nothing it
//! serves holds a secret.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use osscb_core::Credentials;
use osscb_core::callback::Callback;
use osscb_core::ops::{GetObject, Operation, PutObject};
use osscb_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

/// A server-sent event stream being read.
struct Events {
    body: hyper::body::Incoming,
    buffer: String,
    _conn: tokio::task::JoinHandle<()>,
}

impl Events {
    async fn open(addr: SocketAddr) -> (http::response::Parts, Self) {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        let conn = tokio::spawn(async move {
            let _ = conn.await;
        });
        let request = Request::get("/__osscb/events")
            .header("host", addr.to_string())
            .body(Empty::<Bytes>::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("events");
        let (parts, body) = response.into_parts();
        let events = Self {
            body,
            buffer: String::new(),
            _conn: conn,
        };
        (parts, events)
    }

    /// The next event's JSON (`data:` line), within 10 s.
    async fn next(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                if let Some(data) = event.strip_prefix("data: ") {
                    return serde_json::from_str(data.trim_end()).expect("event JSON");
                }
                assert!(event.starts_with("retry: "), "{event:?}");
                continue;
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .expect("no event within 10 s")
                .expect("stream ended")
                .expect("frame");
            if let Some(data) = frame.data_ref() {
                self.buffer
                    .push_str(std::str::from_utf8(data).expect("utf8"));
            }
        }
    }
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    send(addr, Request::get(path).body(Vec::new()).expect("req")).await
}

async fn control(addr: SocketAddr, body: &Value, authorization: Option<&str>) -> Reply {
    let mut request = Request::post("/__osscb/faults").header("content-type", "application/json");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    send(
        addr,
        request.body(body.to_string().into_bytes()).expect("req"),
    )
    .await
}

fn put(emu: &Emulator, key: &str, data: &[u8], callback: Option<Callback>) -> Request<Vec<u8>> {
    let mut put = PutObject::new(b("bucket"), k(key)).content_length(data.len() as u64);
    if let Some(callback) = callback {
        put = put.callback(callback);
    }
    sign(emu, &put, data.to_vec(), &creds())
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_under_a_strict_csp() {
    let emu = emulator();
    assert_eq!(
        emu.dashboard_url(),
        Some(format!("http://{}/__osscb/", emu.addr()))
    );
    let page = send(
        emu.addr(),
        Request::get("/__osscb/")
            .header("origin", "http://elsewhere.example")
            .body(Vec::new())
            .expect("req"),
    )
    .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert!(
        page.header("content-security-policy")
            .starts_with("default-src 'none'; script-src 'self';")
    );
    // Another origin's page cannot read the dashboard.
    assert_eq!(page.header("access-control-allow-origin"), "");
    assert!(
        page.text()
            .contains(r#"<script src="/__osscb/dashboard.js" defer></script>"#)
    );
    let script = get(emu.addr(), "/__osscb/dashboard.js").await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        "text/javascript; charset=utf-8"
    );
    assert!(script.text().contains("new EventSource('/__osscb/events')"));
    let icon = get(emu.addr(), "/__osscb/favicon.svg").await;
    assert_eq!(icon.header("content-type"), "image/svg+xml");
    let style = get(emu.addr(), "/__osscb/dashboard.css").await;
    assert_eq!(style.header("content-type"), "text/css; charset=utf-8");
    let bare = get(emu.addr(), "/__osscb").await;
    assert_eq!((bare.status, bare.header("location")), (308, "/__osscb/"));
    // The dashboard is not an OSS request: neither faulted nor counted.
    emu.faults().fail_next(1, 503);
    assert_eq!(get(emu.addr(), "/__osscb/").await.status, 200);
    assert_eq!(get(emu.addr(), "/__osscb/objects").await.status, 200);
    assert_eq!(emu.faults().requests_seen(), 0);
}

#[tokio::test]
async fn events_are_a_snapshot_then_live_requests_and_deliveries() {
    let emu = emulator();
    let mut receiver = Receiver::start(200, r#"{"Status":"OK"}"#).await;
    let callback = Callback::builder(receiver.url("/cb?token=app-secret"))
        .body("object=${object}")
        .build()
        .expect("callback");
    let r = send(emu.addr(), put(&emu, "a.txt", b"first", Some(callback))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let upload_id = r.request_id();
    receiver.rx.recv().await.expect("callback");

    let (head, mut events) = Events::open(emu.addr()).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.headers["content-type"], "text/event-stream");
    // The snapshot: the delivery (journaled as the upload answers), then
    // the upload's request.
    let delivery = events.next().await;
    assert_eq!(delivery["kind"], "delivery");
    assert_eq!(delivery["request_id"], upload_id.as_str());
    assert_eq!(delivery["bucket"], "bucket");
    assert_eq!(delivery["key"], "a.txt");
    assert_eq!(delivery["uploader_status"], 200);
    let attempt = &delivery["attempts"][0];
    assert_eq!(attempt["url"], receiver.url("/cb"));
    assert_eq!(attempt["status"], 200);
    assert_eq!(attempt["answer"], r#"{"Status":"OK"}"#);
    assert_eq!(attempt["body"], "object=a.txt");
    assert_eq!(attempt["error"], Value::Null);
    let headers: Vec<(String, String)> =
        serde_json::from_value(attempt["headers"].clone()).expect("headers");
    assert!(headers.contains(&("authorization".to_owned(), "<redacted>".to_owned())));
    assert!(headers.contains(&("user-agent".to_owned(), "aliyun-oss-callback".to_owned())));
    let request = events.next().await;
    assert_eq!(request["kind"], "request");
    assert_eq!(request["method"], "PUT");
    assert_eq!(request["path"], "/bucket/a.txt");
    assert_eq!(request["status"], 200);
    assert_eq!(request["request_id"], upload_id.as_str());
    assert_eq!(request["signature"], json!({ "verdict": "ok" }));
    assert!(request["seq"].as_u64() > delivery["seq"].as_u64());

    // Live: a failed callback (203), then a refused signature.
    let failing = Receiver::start(500, r#"{"error":"nope"}"#).await;
    let callback = Callback::builder(failing.url("/cb"))
        .body("object=${object}")
        .build()
        .expect("callback");
    let r = send(emu.addr(), put(&emu, "b.txt", b"second", Some(callback))).await;
    assert_eq!(r.status, 203, "{}", r.text());
    let delivery = events.next().await;
    assert_eq!(delivery["uploader_status"], 203);
    assert_eq!(delivery["attempts"][0]["status"], 500);
    assert_eq!(delivery["attempts"][0]["answer"], r#"{"error":"nope"}"#);
    assert_eq!(delivery["attempts"][0]["error"], "Error status : 500.");
    assert_eq!(events.next().await["status"], 203);

    let wrong = Credentials::new(ID, "not-the-secret");
    let get_op = GetObject::new(b("bucket"), k("a.txt"));
    let r = send(emu.addr(), sign(&emu, &get_op, Vec::new(), &wrong)).await;
    assert_eq!(r.status, 403);
    let refused = events.next().await;
    assert_eq!(refused["status"], 403);
    assert_eq!(refused["signature"]["verdict"], "refused");
    assert_eq!(refused["signature"]["code"], "SignatureDoesNotMatch");
    assert_eq!(
        refused["signature"]["string_to_sign"].as_str(),
        Some(element(&r.text(), "StringToSign"))
    );
    // A fault: the request is journaled unchecked.
    emu.faults().fail_next(1, 503);
    let r = send(emu.addr(), sign(&emu, &get_op, Vec::new(), &creds())).await;
    assert_eq!(r.status, 503);
    let faulted = events.next().await;
    assert_eq!(
        (faulted["status"].clone(), faulted["signature"].clone()),
        (json!(503), json!({ "verdict": "unchecked" }))
    );
}

#[tokio::test]
async fn objects_are_listed_by_bucket() {
    let emu = emulator();
    for (bucket, key, data) in [
        ("bucket", "b", "22"),
        ("bucket", "a", "1"),
        ("other", "z", "333"),
    ] {
        let op = PutObject::new(osscb_core::Bucket::new(bucket).expect("bucket"), k(key))
            .content_length(data.len() as u64);
        let r = send(emu.addr(), sign(&emu, &op, data, &creds())).await;
        assert_eq!(r.status, 200);
    }
    let listing = get(emu.addr(), "/__osscb/objects").await;
    assert_eq!(listing.header("content-type"), "application/json");
    let mut value: Value = serde_json::from_slice(&listing.body).expect("json");
    for bucket in value["buckets"].as_array_mut().expect("buckets") {
        for object in bucket["objects"].as_array_mut().expect("objects") {
            assert!(
                object["last_modified"]
                    .as_str()
                    .is_some_and(|t| t.ends_with(".000Z"))
            );
            object["last_modified"] = json!("t");
        }
    }
    let object = |key: &str, size: u64, etag: &str| json!({ "key": key, "size": size, "etag": etag, "content_type": "application/octet-stream", "last_modified": "t" });
    assert_eq!(
        value,
        json!({
            "buckets": [
                { "bucket": "bucket", "objects": [
                    object("a", 1, "\"C4CA4238A0B923820DCC509A6F75849B\""),
                    object("b", 2, "\"B6D767D2F8ED5D21A44B0E5886680CB9\""),
                ] },
                { "bucket": "other", "objects": [
                    object("z", 3, "\"310DCBBF4CCE62F762A2AAA148D556BD\""),
                ] },
            ],
            "truncated": false,
        })
    );
}

#[tokio::test]
async fn fault_controls_arm_the_emulators_faults() {
    let emu = emulator();
    let get_op = GetObject::new(b("bucket"), k("missing"));
    let r = control(
        emu.addr(),
        &json!({ "fail_next": { "count": 2, "status": 503 } }),
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, r#"{"requests_seen":0}"#)
    );
    for _ in 0..2 {
        let r = send(emu.addr(), sign(&emu, &get_op, Vec::new(), &creds())).await;
        assert_eq!(r.status, 503);
    }
    let r = send(emu.addr(), sign(&emu, &get_op, Vec::new(), &creds())).await;
    assert_eq!(r.status, 404);
    control(emu.addr(), &json!({ "drop_next": 1 }), None).await;
    let dropped = try_send(emu.addr(), sign(&emu, &get_op, Vec::new(), &creds())).await;
    assert!(dropped.is_err(), "{dropped:?}");
    control(
        emu.addr(),
        &json!({ "fail_next": { "count": 5, "status": 500 } }),
        None,
    )
    .await;
    let r = control(emu.addr(), &json!({ "clear": true }), None).await;
    assert_eq!(r.text(), r#"{"requests_seen":4}"#);
    let r = send(emu.addr(), sign(&emu, &get_op, Vec::new(), &creds())).await;
    assert_eq!(r.status, 404);

    // Refusals: not JSON, unknown fields, another origin, the wrong method.
    let r = send(
        emu.addr(),
        Request::post("/__osscb/faults")
            .header("content-type", "text/plain")
            .body(br#"{"clear":true}"#.to_vec())
            .expect("req"),
    )
    .await;
    assert_eq!(r.status, 415);
    let r = control(emu.addr(), &json!({ "explode": 1 }), None).await;
    assert_eq!(r.status, 400);
    let r = send(
        emu.addr(),
        Request::post("/__osscb/faults")
            .header("content-type", "application/json")
            .header("origin", "http://evil.example")
            .body(br#"{"drop_next":1}"#.to_vec())
            .expect("req"),
    )
    .await;
    assert_eq!(r.status, 403);
    // A name rebound to 127.0.0.1 is not loopback enough (DNS rebinding).
    let r = send(
        emu.addr(),
        Request::post("/__osscb/faults")
            .header("host", format!("rebound.example:{}", emu.addr().port()))
            .header("content-type", "application/json")
            .body(br#"{"drop_next":1}"#.to_vec())
            .expect("req"),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(get(emu.addr(), "/__osscb/faults").await.status, 405);
}

#[tokio::test]
async fn with_a_token_the_fault_controls_need_it() {
    let emu = Emulator::start(EmulatorConfig::new(ID, SECRET).dashboard_token("dash-t0ken"))
        .expect("start");
    let arm = json!({ "fail_next": { "count": 1, "status": 503 } });
    for authorization in [None, Some("Bearer wrong"), Some("dash-t0ken")] {
        let r = control(emu.addr(), &arm, authorization).await;
        assert_eq!(r.status, 403, "{authorization:?}");
        assert!(r.text().contains("dashboard token"));
    }
    let r = control(emu.addr(), &arm, Some("Bearer dash-t0ken")).await;
    assert_eq!(r.status, 200);
    let get_op = GetObject::new(b("bucket"), k("missing"));
    let r = send(emu.addr(), sign(&emu, &get_op, Vec::new(), &creds())).await;
    assert_eq!(r.status, 503);
    // The page and the journal need no token.
    assert_eq!(get(emu.addr(), "/__osscb/").await.status, 200);
}

#[tokio::test]
async fn a_dashboard_turned_off_answers_404_and_journals_nothing() {
    let emu = Emulator::start(EmulatorConfig::new(ID, SECRET).dashboard(false)).expect("start");
    assert_eq!(emu.dashboard_url(), None);
    for path in [
        "/__osscb",
        "/__osscb/",
        "/__osscb/dashboard.js",
        "/__osscb/events",
        "/__osscb/objects",
    ] {
        assert_eq!(get(emu.addr(), path).await.status, 404, "{path}");
    }
    let r = control(emu.addr(), &json!({ "drop_next": 1 }), None).await;
    assert_eq!(r.status, 404);
    // The emulator's other services are there.
    assert_eq!(
        get(emu.addr(), "/__osscb/callback_pub_key.pem")
            .await
            .status,
        200
    );
    let r = send(emu.addr(), put(&emu, "k", b"v", None)).await;
    assert_eq!(r.status, 200);
}

/// An STS token, signatures (header and presigned), an app server URL's
/// query: none reaches the journal, the events or the page, even when a
/// signature is refused and its string to sign is shown.
#[tokio::test]
async fn the_dashboard_never_shows_a_secret() {
    const TOKEN: &str = "STS-TOKEN-SECRET-0123456789";
    let emu =
        Emulator::start(EmulatorConfig::new(ID, SECRET).security_token(TOKEN)).expect("start");
    let sts = Credentials::new(ID, SECRET).with_security_token(TOKEN);
    let wrong = Credentials::new(ID, "not-the-secret").with_security_token(TOKEN);
    let mut receiver = Receiver::start(200, r#"{"ok":true}"#).await;
    let callback = Callback::builder(receiver.url("/cb?Signature=APP-URL-SIGNATURE"))
        .body("object=${object}")
        .build()
        .expect("callback");
    let put_op = PutObject::new(b("bucket"), k("k"))
        .content_length(1)
        .callback(callback);
    let put = sign(&emu, &put_op, b"v".to_vec(), &sts);
    let mut secrets = vec![
        TOKEN.to_owned(),
        "APP-URL-SIGNATURE".to_owned(),
        put.headers()["authorization"]
            .to_str()
            .expect("auth")
            .to_owned(),
    ];
    let r = send(emu.addr(), put).await;
    assert_eq!(r.status, 200, "{}", r.text());
    receiver.rx.recv().await.expect("callback");

    let get_op = GetObject::new(b("bucket"), k("k"));
    for creds in [&sts, &wrong] {
        let presigned = get_op
            .request()
            .expect("request")
            .presign(
                &config(&emu),
                creds,
                SystemTime::now(),
                Duration::from_secs(60),
            )
            .expect("presign")
            .url;
        let signature = presigned
            .query()
            .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("Signature=")))
            .expect("signature")
            .to_owned();
        secrets.push(signature);
        let r = send(
            emu.addr(),
            Request::get(presigned.to_string())
                .body(Vec::new())
                .expect("req"),
        )
        .await;
        assert_eq!(
            r.status,
            if creds == &sts { 200 } else { 403 },
            "{}",
            r.text()
        );
        // The emulator's own answer shows the string to sign, token and all.
        if creds == &wrong {
            assert!(r.text().contains(TOKEN));
        }
    }
    let refused = sign(&emu, &get_op, Vec::new(), &wrong);
    secrets.push(
        refused.headers()["authorization"]
            .to_str()
            .expect("auth")
            .to_owned(),
    );
    let r = send(emu.addr(), refused).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains(&format!("x-oss-security-token:{TOKEN}")));

    let (_, mut events) = Events::open(emu.addr()).await;
    let mut seen = String::new();
    for _ in 0..5 {
        seen.push_str(&events.next().await.to_string());
    }
    seen.push_str(&get(emu.addr(), "/__osscb/").await.text());
    seen.push_str(&get(emu.addr(), "/__osscb/objects").await.text());
    for secret in &secrets {
        assert!(!seen.contains(secret.as_str()), "{secret} shown in {seen}");
    }
    // What is shown instead.
    assert!(seen.contains("x-oss-security-token:<redacted>"), "{seen}");
    assert!(seen.contains("security-token=<redacted>"), "{seen}");
    assert!(seen.contains(r#"["authorization","<redacted>"]"#), "{seen}");
    assert!(seen.contains("SignatureDoesNotMatch"), "{seen}");
}
