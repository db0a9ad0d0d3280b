//! The callback server against the emulator: uploads through the PostObject
//! form and the presigned PUT URL from `/upload-form`, whose callbacks the
//! server verifies (or rejects when the emulator's key URL is not trusted).

#[path = "../callback_server/app.rs"]
#[allow(dead_code)]
mod app;
#[allow(dead_code)]
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use osscb_core::callback::Callback;
use osscb_core::{Bucket, Credentials, Endpoint};

async fn serve(app: app::App) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app::router(Arc::new(app))).await;
    });
    format!("http://{addr}")
}

fn oss_settings(endpoint: &str) -> app::OssSettings {
    app::OssSettings {
        endpoint: Endpoint::parse(endpoint).expect("endpoint"),
        bucket: Bucket::new("examplebucket").expect("bucket"),
        credentials: Credentials::new("test-id", "test-secret"),
    }
}

#[tokio::test]
async fn unsigned_and_forged_callbacks_get_400_json() {
    let base = serve(app::App::new("http://127.0.0.1:1", &[], None)).await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/oss-callback"))
        .body("bucket=b")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    let body: serde_json::Value =
        serde_json::from_str(&response.text().await.expect("body")).expect("json");
    assert_eq!(body["status"], "error");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("x-oss-pub-key-url")
    );

    // The documented OSS vector, replayed to another path: a signature mismatch.
    let response = client
        .post(format!("{base}/index.php?id=1&index=3"))
        .header("authorization", "kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA==")
        .header("x-oss-pub-key-url", "aHR0cDovL2dvc3NwdWJsaWMuYWxpY2RuLmNvbS9jYWxsYmFja19wdWJfa2V5X3YxLnBlbQ==")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("bucket=yonghu-test")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("does not match")
    );

    // An untrusted key URL is refused before any fetch.
    let response = client
        .post(format!("{base}/"))
        .header("authorization", "AAAA")
        .header("x-oss-pub-key-url", "aHR0cDovLzEyNy4wLjAuMToxL2tleS5wZW0=")
        .body("x")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    assert!(response.text().await.expect("body").contains("untrusted"));
}

/// OSS's documented vector passes the signature check at its path, but its
/// form body is not what this app declared (JSON), whatever `Content-Type`
/// says: the header is not signed.
#[tokio::test]
async fn the_documented_vector_verifies_and_its_body_is_read_as_declared() {
    let base = serve(app::App::new("http://127.0.0.1:1", &[], None)).await;
    let send = |body: &'static str| {
        reqwest::Client::new()
            .post(format!("{base}/index.php?id=1&index=2"))
            .header("authorization", "kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA==")
            .header("x-oss-pub-key-url", "aHR0cDovL2dvc3NwdWJsaWMuYWxpY2RuLmNvbS9jYWxsYmFja19wdWJfa2V5X3YxLnBlbQ==")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let response = send("bucket=yonghu-test").await.expect("send");
    assert_eq!(response.status(), 400);
    let text = response.text().await.expect("body");
    assert!(
        text.contains("malformed callback body: not a JSON object"),
        "{text}"
    );
    let response = send("bucket=yonghu-tesT").await.expect("send");
    assert_eq!(response.status(), 400);
    let text = response.text().await.expect("body");
    assert!(text.contains("signature does not match"), "{text}");
}

#[test]
fn upload_form_json_has_the_documented_shape() {
    let app = app::App::new(
        "http://127.0.0.1:8080/",
        &[],
        Some(oss_settings("http://127.0.0.1:9000")),
    );
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_629_000);
    let params = HashMap::from([
        ("key".to_owned(), "uploads/a b.txt".to_owned()),
        ("content_type".to_owned(), "text/plain".to_owned()),
    ]);
    let form = app::upload_form_json(&app, &params, now).expect("form");
    assert_eq!(form["key"], "uploads/a b.txt");
    assert_eq!(form["expires"], "2026-11-25T18:00:00.000Z");
    assert_eq!(form["callback_url"], "http://127.0.0.1:8080/oss-callback");
    assert_eq!(form["post"]["url"], "http://127.0.0.1:9000/examplebucket/");
    assert_eq!(form["post"]["file_field"], "file");
    let fields: Vec<(String, String)> =
        serde_json::from_value(form["post"]["fields"].clone()).expect("pairs");
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "key",
            "policy",
            "OSSAccessKeyId",
            "Signature",
            "Content-Type",
            "callback",
            "x:via"
        ]
    );
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(field("x:via"), "post-object");
    let callback = Callback::decode(&field("callback"), None).expect("callback");
    assert_eq!(callback.urls(), ["http://127.0.0.1:8080/oss-callback"]);
    assert_eq!(form["put"]["method"], "PUT");
    assert_eq!(form["put"]["headers"]["content-type"], "text/plain");
    let put_url = form["put"]["url"].as_str().unwrap_or_default();
    assert!(put_url.starts_with("http://127.0.0.1:9000/examplebucket/uploads/a%20b.txt?Expires=1795629600&OSSAccessKeyId=test-id&Signature="), "{put_url}");
    assert!(
        put_url.contains("&callback=") && put_url.contains("&callback-var="),
        "{put_url}"
    );

    let missing = app::upload_form_json(&app, &HashMap::new(), now);
    assert!(matches!(missing, Err((s, _)) if s == 400));
    let bad_key = HashMap::from([("key".to_owned(), "/abs".to_owned())]);
    assert!(matches!(app::upload_form_json(&app, &bad_key, now), Err((s, _)) if s == 400));
    let no_oss = app::App::new("http://127.0.0.1:8080", &[], None);
    assert!(matches!(app::upload_form_json(&no_oss, &params, now), Err((s, _)) if s == 503));
}

async fn upload_form(base: &str, key: &str, content_type: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .get(format!("{base}/upload-form"))
        .query(&[("key", key), ("content_type", content_type)])
        .send()
        .await
        .expect("upload-form");
    assert_eq!(response.status(), 200);
    serde_json::from_str(&response.text().await.expect("body")).expect("json")
}

/// POSTs the form's fields in order, then the file, as a browser would.
async fn post_object(
    form: &serde_json::Value,
    file: &'static [u8],
    file_type: &str,
) -> (u16, String) {
    let fields: Vec<(String, String)> =
        serde_json::from_value(form["post"]["fields"].clone()).expect("pairs");
    let mut multipart = reqwest::multipart::Form::new();
    for (name, value) in fields {
        multipart = multipart.text(name, value);
    }
    let part = reqwest::multipart::Part::bytes(file)
        .file_name("hello.txt")
        .mime_str(file_type)
        .expect("mime");
    multipart = multipart.part("file", part);
    let response = reqwest::Client::new()
        .post(form["post"]["url"].as_str().expect("url"))
        .multipart(multipart)
        .send()
        .await
        .expect("post object");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn presigned_put(form: &serde_json::Value, file: &'static [u8]) -> (u16, String) {
    let mut request = reqwest::Client::new().put(form["put"]["url"].as_str().expect("url"));
    for (name, value) in form["put"]["headers"].as_object().expect("headers") {
        request = request.header(name.as_str(), value.as_str().unwrap_or_default());
    }
    let response = request.body(file).send().await.expect("put");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_round_trip_is_verified() {
    let emulator = support::emulator();
    let (base, app) = support::serve(
        &[support::emulator_prefix(&emulator)],
        Some(support::oss_settings(&emulator)),
    )
    .await;

    let form = upload_form(&base, "uploads/hello via post.txt", "text/plain").await;
    let (status, body) = post_object(&form, b"hello, form", "text/plain").await;
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("the app server's JSON");
    assert_eq!(answer["status"], "ok");
    assert_eq!(answer["verified"], true);
    assert_eq!(answer["callback"]["bucket"], "examplebucket");
    assert_eq!(answer["callback"]["object"], "uploads/hello via post.txt");
    assert_eq!(answer["callback"]["size"], "11");
    assert_eq!(answer["callback"]["mimeType"], "text/plain");
    assert_eq!(answer["callback"]["via"], "post-object");

    let form = upload_form(&base, "uploads/hello-put.txt", "text/plain").await;
    let (status, body) = presigned_put(&form, b"hello, presigned PUT").await;
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("the app server's JSON");
    assert_eq!(answer["verified"], true);
    assert_eq!(answer["callback"]["object"], "uploads/hello-put.txt");
    assert_eq!(answer["callback"]["size"], "20");
    assert_eq!(answer["callback"]["via"], "presigned-put");

    // Each verified body was logged (and printed) as one line.
    let bodies = app.verified_bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(
        bodies[0].contains(r#""object":"uploads/hello via post.txt""#),
        "{}",
        bodies[0]
    );
    assert!(
        bodies[1].contains(r#""via":"presigned-put""#),
        "{}",
        bodies[1]
    );
    assert!(bodies.iter().all(|b| !b.contains('\n')));

    // A form whose policy does not cover the upload is refused by the emulator.
    let form = upload_form(&base, "uploads/typed.txt", "text/plain").await;
    let mut tampered = form.clone();
    if let Some(fields) = tampered["post"]["fields"].as_array_mut() {
        for pair in fields.iter_mut() {
            if pair[0] == "key" {
                pair[1] = serde_json::json!("uploads/other.txt");
            }
        }
    }
    let (status, body) = post_object(&tampered, b"x", "text/plain").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("AccessDenied"), "{body}");
    assert_eq!(app.verified_bodies().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_key_not_trusted_is_rejected() {
    let emulator = support::emulator();
    let (base, app) = support::serve(&[], Some(support::oss_settings(&emulator))).await;

    let form = upload_form(&base, "uploads/untrusted.txt", "text/plain").await;
    let (status, body) = post_object(&form, b"hello", "text/plain").await;
    // The object is stored, but the app server answered 400: OSS says 203 CallbackFailed.
    assert_eq!(status, 203, "{body}");
    assert!(body.contains("<Code>CallbackFailed</Code>"), "{body}");

    let form = upload_form(&base, "uploads/untrusted-put.txt", "text/plain").await;
    let (status, body) = presigned_put(&form, b"hello").await;
    assert_eq!(status, 203, "{body}");
    assert!(body.contains("<Code>CallbackFailed</Code>"), "{body}");
    assert!(app.verified_bodies().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_credentials_sign_the_form_and_the_url() {
    let emulator = osscb_emulator::Emulator::start(
        osscb_emulator::EmulatorConfig::new(support::ACCESS_KEY_ID, support::ACCESS_KEY_SECRET)
            .security_token("sts+token/="),
    )
    .expect("emulator");
    let mut oss = support::oss_settings(&emulator);
    oss.credentials = oss.credentials.with_security_token("sts+token/=");
    let (base, app) = support::serve(&[support::emulator_prefix(&emulator)], Some(oss)).await;

    let form = upload_form(&base, "uploads/sts.txt", "text/plain").await;
    let fields = form["post"]["fields"].as_array().expect("fields");
    assert!(
        fields
            .iter()
            .any(|p| p[0] == "x-oss-security-token" && p[1] == "sts+token/=")
    );
    let (status, body) = post_object(&form, b"sts form", "text/plain").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""verified":true"#), "{body}");
    let (status, body) = presigned_put(&form, b"sts put").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""via":"presigned-put""#), "{body}");

    // Without the token field the emulator refuses the form, as OSS does.
    let mut no_token = form.clone();
    if let Some(fields) = no_token["post"]["fields"].as_array_mut() {
        fields.retain(|p| p[0] != "x-oss-security-token");
    }
    let (status, body) = post_object(&no_token, b"x", "text/plain").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("InvalidAccessKeyId"), "{body}");
    assert_eq!(app.verified_bodies().len(), 2);
}
