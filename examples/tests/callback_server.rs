//! The callback server against the emulator: uploads through the PostObject
//! form and the presigned PUT URL from `/upload-form`, whose callbacks the
//! server verifies (or rejects when the emulator's key URL is not trusted);
//! who may ask for them, for which keys and sizes; and callbacks refused for
//! lacking a grant of this server.

#[path = "../callback_server/app.rs"]
#[allow(dead_code)]
mod app;
#[allow(dead_code)]
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use osscb_core::callback::{Callback, CallbackBodyType};
use osscb_core::grant::{Scope, Seal};
use osscb_core::post_policy::PostPolicy;
use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey};

/// A test client. reqwest has no crypto provider of its own here
/// (osscb-async takes `rustls-no-provider`): it starts from osscb's TLS.
fn http() -> reqwest::Client {
    let builder = osscb_async::http_client_builder().expect("TLS");
    builder.build().expect("client")
}

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
        region: None,
    }
}

/// The callback app with no OSS settings: it only verifies callbacks.
fn callbacks_only() -> app::App {
    support::new_app("http://127.0.0.1:1", &[], None)
}

#[tokio::test]
async fn unsigned_and_forged_callbacks_get_400_json() {
    let base = serve(callbacks_only()).await;
    let client = http();
    let response = client
        .post(format!("{base}/oss-callback"))
        .body("bucket=b")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    let body: serde_json::Value =
        serde_json::from_str(&response.text().await.expect("body")).expect("json");
    assert_eq!(
        body,
        serde_json::json!({"error": "signature", "message": "the callback has no x-oss-pub-key-url header"})
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
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"error":"signature","message":"the callback signature does not match"}"#
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
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"error":"signature","message":"the callback's public key URL is untrusted"}"#
    );
    // Any other path takes callbacks too; other methods find nothing there.
    let response = client
        .post(format!("{base}/some/where?x=1"))
        .body("x")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    let response = client
        .get(format!("{base}/some/where"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"error":"not found","status":"error"}"#
    );
}

/// OSS's documented vector passes the signature check at its path, but its
/// form body is not what this app declared (JSON), whatever `Content-Type`
/// says: the header is not signed.
#[tokio::test]
async fn the_documented_vector_verifies_and_its_body_is_read_as_declared() {
    let base = serve(callbacks_only()).await;
    let send = |body: &'static str| {
        http()
            .post(format!("{base}/index.php?id=1&index=2"))
            .header("authorization", "kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA==")
            .header("x-oss-pub-key-url", "aHR0cDovL2dvc3NwdWJsaWMuYWxpY2RuLmNvbS9jYWxsYmFja19wdWJfa2V5X3YxLnBlbQ==")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let response = send("bucket=yonghu-test").await.expect("send");
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"error":"body","message":"the callback body does not parse as the declared body type"}"#
    );
    let response = send("bucket=yonghu-tesT").await.expect("send");
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"error":"signature","message":"the callback signature does not match"}"#
    );
}

/// With a region the form is V4 (its fields and policy conditions), unless
/// the caller asks for V1; V4 without a region is refused.
#[test]
fn upload_form_is_v4_with_a_region_and_v1_on_request() {
    let settings = oss_settings("http://127.0.0.1:9000");
    let v4 = app::OssSettings {
        region: Some(osscb_core::Region::new("cn-hangzhou").expect("region")),
        ..settings.clone()
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_629_000);
    let params = |signature: &str| {
        HashMap::from([
            ("key".to_owned(), "uploads/alice/a.txt".to_owned()),
            ("size".to_owned(), "1".to_owned()),
            ("signature".to_owned(), signature.to_owned()),
        ])
    };
    let names = |form: &serde_json::Value| -> Vec<String> {
        form["post"]["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|pair| pair[0].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let app = support::new_app("http://127.0.0.1:8080/", &[], Some(v4));
    for asked in ["", "v4"] {
        let form =
            app::upload_form_json(&app, &support::bearer(), &params(asked), now).expect("form");
        assert_eq!(form["signature"], "v4");
        assert_eq!(
            names(&form)[..6],
            [
                "key",
                "policy",
                "x-oss-signature-version",
                "x-oss-credential",
                "x-oss-date",
                "x-oss-signature"
            ]
        );
        let fields = &form["post"]["fields"];
        assert_eq!(
            fields[3][1],
            "test-id/20261125/cn-hangzhou/oss/aliyun_v4_request"
        );
        assert_eq!(fields[4][1], "20261125T175000Z");
    }
    let form = app::upload_form_json(&app, &support::bearer(), &params("v1"), now).expect("form");
    assert_eq!(form["signature"], "v1");
    assert_eq!(
        names(&form)[..4],
        ["key", "policy", "OSSAccessKeyId", "Signature"]
    );
    let refused = |app: &app::App, asked: &str| {
        app::upload_form_json(app, &support::bearer(), &params(asked), now)
            .map(drop)
            .map_err(|(status, message)| (status.as_u16(), message))
    };
    assert_eq!(
        refused(&app, "v2"),
        Err((400, "signature \"v2\" is not v1 or v4".to_owned()))
    );
    let no_region = support::new_app("http://127.0.0.1:8080/", &[], Some(settings));
    assert_eq!(
        refused(&no_region, "v4"),
        Err((
            400,
            "a V4 signature needs a region: set OSS_REGION".to_owned()
        ))
    );
}

#[test]
fn upload_form_json_has_the_documented_shape() {
    let app = support::new_app(
        "http://127.0.0.1:8080/",
        &[],
        Some(oss_settings("http://127.0.0.1:9000")),
    );
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_629_000);
    let params = HashMap::from([
        ("key".to_owned(), "uploads/alice/a b.txt".to_owned()),
        ("size".to_owned(), "11".to_owned()),
        ("content_type".to_owned(), "text/plain".to_owned()),
    ]);
    let form = app::upload_form_json(&app, &support::bearer(), &params, now).expect("form");
    assert_eq!(form["key"], "uploads/alice/a b.txt");
    assert_eq!(form["size"], 11);
    assert_eq!(form["expires"], "2026-11-25T18:00:00.000Z");
    assert_eq!(form["callback_url"], "http://127.0.0.1:8080/oss-callback");
    assert_eq!(form["signature"], "v1");
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
            "x:osscb_grant",
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
    // The policy binds the key and the exact size.
    let policy =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, field("policy"))
            .expect("base64");
    // It also pins the callback and its `x:` fields, as the form sends them.
    assert_eq!(
        String::from_utf8_lossy(&policy),
        format!(
            r#"{{"expiration":"2026-11-25T18:00:00.000Z","conditions":[{{"bucket":"examplebucket"}},["eq","$key","uploads/alice/a b.txt"],["content-length-range",11,11],["eq","$content-type","text/plain"],["eq","$callback","{}"],["eq","$x:osscb_grant","{}"],["eq","$x:via","post-object"]]}}"#,
            field("callback"),
            field("x:osscb_grant")
        )
    );
    // The grant names the key and expires an hour after the form.
    let grant = field("x:osscb_grant");
    assert!(
        grant.starts_with("g1.1795633200.") && grant.contains(".k.dXBsb2Fkcy9hbGljZS9hIGIudHh0."),
        "{grant}"
    );
    let callback = Callback::decode(&field("callback"), None).expect("callback");
    assert_eq!(callback.urls(), ["http://127.0.0.1:8080/oss-callback"]);
    assert_eq!(form["put"]["method"], "PUT");
    assert_eq!(form["put"]["headers"]["content-type"], "text/plain");
    let put_url = form["put"]["url"].as_str().unwrap_or_default();
    assert!(put_url.starts_with("http://127.0.0.1:9000/examplebucket/uploads/alice/a%20b.txt?Expires=1795629600&OSSAccessKeyId=test-id&Signature="), "{put_url}");
    assert!(
        put_url.contains("&callback=") && put_url.contains("&callback-var="),
        "{put_url}"
    );

    let bearer = support::bearer();
    let without = |name: &str| {
        let mut p = params.clone();
        p.remove(name);
        app::upload_form_json(&app, &bearer, &p, now)
    };
    assert!(matches!(without("key"), Err((s, _)) if s == 400));
    assert!(matches!(without("size"), Err((s, m)) if s == 400 && m.contains("size")));
    let with = |name: &str, value: &str| {
        let mut p = params.clone();
        p.insert(name.to_owned(), value.to_owned());
        app::upload_form_json(&app, &bearer, &p, now)
    };
    assert!(matches!(with("key", "/abs"), Err((s, _)) if s == 400));
    let too_large = (app::MAX_UPLOAD + 1).to_string();
    for size in ["-1", "1e3", "", too_large.as_str()] {
        assert!(
            matches!(with("size", size), Err((s, _)) if s == 400),
            "{size}"
        );
    }
    assert!(with("size", &app::MAX_UPLOAD.to_string()).is_ok());
    let no_oss = support::new_app("http://127.0.0.1:8080", &[], None);
    assert!(
        matches!(app::upload_form_json(&no_oss, &bearer, &params, now), Err((s, _)) if s == 503)
    );
}

/// With a region the PUT URL is V4 and signs `content-length`: the size the
/// caller stated (issue 11, finding 5).
#[test]
fn a_v4_put_url_signs_the_stated_size() {
    let mut oss = oss_settings("http://127.0.0.1:9000");
    oss.region = Some(osscb_core::Region::new("cn-hangzhou").expect("region"));
    let app = support::new_app("http://127.0.0.1:8080", &[], Some(oss));
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_629_000);
    let params = HashMap::from([
        ("key".to_owned(), "uploads/alice/v4.txt".to_owned()),
        ("size".to_owned(), "42".to_owned()),
    ]);
    let form = app::upload_form_json(&app, &support::bearer(), &params, now).expect("form");
    let put_url = form["put"]["url"].as_str().unwrap_or_default();
    assert!(
        put_url.contains("&x-oss-additional-headers=content-length&"),
        "{put_url}"
    );
    assert_eq!(form["put"]["headers"]["content-length"], "42");
}

/// Only a caller with a token gets a form (issue 11, finding 5).
#[tokio::test]
async fn upload_form_needs_a_caller_token() {
    let (base, _app) = support::serve(&[], Some(oss_settings("http://127.0.0.1:9000"))).await;
    let query = [("key", "uploads/alice/a.txt"), ("size", "1")];
    let ask = |authorization: Option<&'static str>| {
        let mut request = http().get(format!("{base}/upload-form")).query(&query);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send()
    };
    for authorization in [
        None,
        Some("Bearer "),
        Some("Bearer alice:0123456789abcdef+tesT"),
        Some("Bearer alice:0123456789abcdef+test-"),
        Some("Bearer alice"),
        Some("Basic alice:0123456789abcdef+test"),
        Some("alice:0123456789abcdef+test"),
    ] {
        let response = ask(authorization).await.expect("send");
        assert_eq!(response.status(), 401, "{authorization:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value =
            serde_json::from_str(&response.text().await.expect("body")).expect("json");
        assert_eq!(body["status"], "error");
        assert!(
            body["error"]
                .as_str()
                .unwrap_or_default()
                .contains("caller token"),
            "{body}"
        );
    }
    let response = ask(Some("Bearer alice:0123456789abcdef+test"))
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
}

/// A caller gets forms only under `uploads/<its name>/` (issue 11, finding 5).
#[test]
fn a_key_outside_the_callers_prefix_is_refused() {
    let app = support::new_app(
        "http://127.0.0.1:8080",
        &[],
        Some(oss_settings("http://127.0.0.1:9000")),
    );
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_629_000);
    for key in [
        "uploads/bob/a.txt",
        "uploads/alice",
        "uploads/alicex/a.txt",
        "uploads/a.txt",
        "other/uploads/alice/a.txt",
        "Uploads/alice/a.txt",
    ] {
        let params = HashMap::from([
            ("key".to_owned(), key.to_owned()),
            ("size".to_owned(), "1".to_owned()),
        ]);
        let refused = app::upload_form_json(&app, &support::bearer(), &params, now);
        assert!(
            matches!(&refused, Err((s, m)) if *s == 403 && m == "alice may upload only under uploads/alice/"),
            "{key}: {refused:?}"
        );
    }
}

#[test]
fn caller_tokens_are_checked_when_given() {
    for bad in [
        "",
        "alice",
        "alice:short",
        ":0123456789abcdef",
        "Alice:0123456789abcdef",
        "a/b:0123456789abcdef",
        "alice:0123456789abcde f",
        &format!("{}:0123456789abcdef", "a".repeat(33)),
    ] {
        assert!(app::Caller::parse(bad).is_err(), "{bad:?}");
    }
    let caller = app::Caller::parse("bob_2-x:0123456789abcdef").expect("caller");
    assert_eq!(
        (caller.name(), caller.prefix().as_str()),
        ("bob_2-x", "uploads/bob_2-x/")
    );
    assert_eq!(format!("{caller:?}"), r#"Caller("bob_2-x", <redacted>)"#);
    let random = app::Caller::random().expect("random caller");
    assert_eq!(random.name(), "demo");
    assert_eq!(random.token().len(), "demo:".len() + 64);
    assert_ne!(
        random.token(),
        app::Caller::random().expect("random").token()
    );
}

/// `/upload-form` as the caller `alice`, for `size` bytes.
async fn upload_form(base: &str, key: &str, size: usize, content_type: &str) -> serde_json::Value {
    let size = size.to_string();
    let response = http()
        .get(format!("{base}/upload-form"))
        .query(&[
            ("key", key),
            ("size", &size),
            ("content_type", content_type),
        ])
        .header("authorization", format!("Bearer {}", support::CALLER_TOKEN))
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
    let response = http()
        .post(form["post"]["url"].as_str().expect("url"))
        .multipart(multipart)
        .send()
        .await
        .expect("post object");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// PUTs `file` to the presigned URL with its headers, but the length of what
/// is sent, as a browser does.
async fn presigned_put(form: &serde_json::Value, file: &'static [u8]) -> (u16, String) {
    let mut request = http().put(form["put"]["url"].as_str().expect("url"));
    for (name, value) in form["put"]["headers"].as_object().expect("headers") {
        if name != "content-length" {
            request = request.header(name.as_str(), value.as_str().unwrap_or_default());
        }
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

    let form = upload_form(&base, "uploads/alice/hello via post.txt", 11, "text/plain").await;
    let (status, body) = post_object(&form, b"hello, form", "text/plain").await;
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("the app server's JSON");
    assert_eq!(answer["status"], "ok");
    assert_eq!(answer["verified"], true);
    assert_eq!(answer["callback"]["bucket"], "examplebucket");
    assert_eq!(
        answer["callback"]["object"],
        "uploads/alice/hello via post.txt"
    );
    assert_eq!(answer["callback"]["size"], "11");
    assert_eq!(answer["callback"]["mimeType"], "text/plain");
    assert_eq!(answer["callback"]["via"], "post-object");

    let form = upload_form(&base, "uploads/alice/hello-put.txt", 20, "text/plain").await;
    let (status, body) = presigned_put(&form, b"hello, presigned PUT").await;
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("the app server's JSON");
    assert_eq!(answer["verified"], true);
    assert_eq!(answer["callback"]["object"], "uploads/alice/hello-put.txt");
    assert_eq!(answer["callback"]["size"], "20");
    assert_eq!(answer["callback"]["via"], "presigned-put");

    // Each verified body was logged (and printed) as one line.
    let bodies = app.verified_bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(
        bodies[0].contains(r#""object":"uploads/alice/hello via post.txt""#),
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
    let form = upload_form(&base, "uploads/alice/typed.txt", 1, "text/plain").await;
    let mut tampered = form.clone();
    if let Some(fields) = tampered["post"]["fields"].as_array_mut() {
        for pair in fields.iter_mut() {
            if pair[0] == "key" {
                pair[1] = serde_json::json!("uploads/alice/other.txt");
            }
        }
    }
    let (status, body) = post_object(&tampered, b"x", "text/plain").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("AccessDenied"), "{body}");
    // So is a file of another size than the caller stated.
    let (status, body) = post_object(&form, b"xy", "text/plain").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("EntityTooLarge"), "{body}");
    assert_eq!(app.verified_bodies().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_key_not_trusted_is_rejected() {
    let emulator = support::emulator();
    let (base, app) = support::serve(&[], Some(support::oss_settings(&emulator))).await;

    let form = upload_form(&base, "uploads/alice/untrusted.txt", 5, "text/plain").await;
    let (status, body) = post_object(&form, b"hello", "text/plain").await;
    // The object is stored, but the app server answered 400: OSS says 203 CallbackFailed.
    assert_eq!(status, 203, "{body}");
    assert!(body.contains("<Code>CallbackFailed</Code>"), "{body}");

    let form = upload_form(&base, "uploads/alice/untrusted-put.txt", 5, "text/plain").await;
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

    let form = upload_form(&base, "uploads/alice/sts.txt", 8, "text/plain").await;
    let fields = form["post"]["fields"].as_array().expect("fields");
    assert!(
        fields
            .iter()
            .any(|p| p[0] == "x-oss-security-token" && p[1] == "sts+token/=")
    );
    let (status, body) = post_object(&form, b"sts form", "text/plain").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""verified":true"#), "{body}");
    let (status, body) = presigned_put(&form, b"sts put!").await;
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

/// With V4 the presigned PUT signs `content-length`: the emulator, like OSS,
/// refuses a body of another size than the caller stated, before storing
/// anything or calling back (issue 11, finding 5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v4_presigned_put_of_another_size_is_refused() {
    let emulator = support::emulator();
    let (base, app) = support::serve(
        &[support::emulator_prefix(&emulator)],
        Some(support::oss_settings_v4(&emulator)),
    )
    .await;
    let form = upload_form(&base, "uploads/alice/sized.txt", 5, "text/plain").await;
    for other in [&b"hell"[..], b"hello!"] {
        let (status, body) = presigned_put(&form, other).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("SignatureDoesNotMatch"), "{body}");
    }
    assert!(app.verified_bodies().is_empty());
    let (status, body) = presigned_put(&form, b"hello").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""size":"5""#), "{body}");
}

/// The genuine OSS callback of the README's test (captured by Cloudreve's
/// test suite, signed with OSS's built-in key) passes the signature check but
/// carries no grant of this server: 400 with the reason (issue 11, finding 5).
#[tokio::test]
async fn a_genuine_callback_without_a_grant_is_refused() {
    let app = callbacks_only();
    let base = serve(app).await;
    let body = r#"{"name":"2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","source_name":"1/1_hFRtDLgM_2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","size":114020,"pic_info":"810,539"}"#;
    let response = http()
        .post(format!("{base}/api/v3/callback/oss/TnXx5E5VyfJUyM1UdkdDu1rtnJ34EbmH"))
        .header("content-type", "application/json")
        .header("authorization", "e5LwzwTkP9AFAItT4YzvdJOHd0Y0wqTMWhsV/h5SG90JYGAmMd+8LQyj96R+9qUfJWjMt6suuUh7LaOryR87Dw==")
        .header("x-oss-pub-key-url", "aHR0cHM6Ly9nb3NzcHVibGljLmFsaWNkbi5jb20vY2FsbGJhY2tfcHViX2tleV92MS5wZW0=")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    let answer: serde_json::Value =
        serde_json::from_str(&response.text().await.expect("body")).expect("json");
    assert_eq!(
        answer,
        serde_json::json!({
            "error": "binding",
            "message": "the callback is not bound to an upload this server granted: no osscb_grant field",
        })
    );
}

/// Uploads the app server did not hand out, genuinely called back by the
/// emulator, are refused with the reason: no grant, a grant of another
/// seal, a grant for another key, a grant used twice (issue 11, finding 5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_not_bound_to_a_handed_out_upload_are_refused() {
    let emulator = support::emulator();
    let oss = support::oss_settings(&emulator);
    let (base, app) =
        support::serve(&[support::emulator_prefix(&emulator)], Some(oss.clone())).await;
    let now = SystemTime::now();
    let until = now + Duration::from_secs(600);
    // A form signed with the bucket's credentials (as by another server),
    // calling this app back with `grant`.
    let form = |key: &str, grant: Option<String>| {
        let mut callback = Callback::builder(app.callback_url())
            .body(r#"{"bucket":${bucket},"object":${object},"size":${size}}"#)
            .body_type(CallbackBodyType::Json);
        if let Some(grant) = grant {
            callback = callback.grant(grant);
        }
        let key = ObjectKey::new(key).expect("key");
        let form = PostPolicy::exact_key(oss.bucket.clone(), key)
            .callback(callback.build().expect("callback"))
            .sign(
                &Config::v1(oss.endpoint.clone()),
                &oss.credentials,
                now,
                Duration::from_secs(600),
            )
            .expect("form");
        serde_json::json!({
            "post": {
                "url": form.url().to_string(),
                "fields": form.fields().iter().map(|(k, v)| serde_json::json!([k, v])).collect::<Vec<_>>(),
            }
        })
    };
    let key = ObjectKey::new("uploads/alice/granted.txt").expect("key");
    let foreign = Seal::new([9u8; 32]).expect("seal");
    let cases = [
        (
            form("uploads/alice/none.txt", None),
            "the callback is not bound to an upload this server granted: no osscb_grant field",
        ),
        (
            form(
                "uploads/alice/granted.txt",
                Some(
                    foreign
                        .grant(&oss.bucket, Scope::Key(&key), until, "foreign-01")
                        .expect("grant"),
                ),
            ),
            "the callback's grant does not match: made under another secret, or for another bucket",
        ),
        (
            form(
                "uploads/alice/swapped.txt",
                Some(
                    app.seal
                        .grant(&oss.bucket, Scope::Key(&key), until, "swapped-01")
                        .expect("grant"),
                ),
            ),
            "the callback's grant does not match: the object is outside the grant",
        ),
    ];
    for (form, reason) in cases {
        let (status, body) = post_object(&form, b"unbound", "text/plain").await;
        // Stored, but the app server answered 400: OSS says 203 CallbackFailed.
        assert_eq!(status, 203, "{body}");
        assert!(body.contains("<Code>CallbackFailed</Code>"), "{body}");
        assert_eq!(app.rejections().last().map(String::as_str), Some(reason));
    }

    // A handed-out form is accepted once; the same upload again is refused.
    let form = upload_form(&base, "uploads/alice/once.txt", 4, "text/plain").await;
    let (status, body) = post_object(&form, b"once", "text/plain").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post_object(&form, b"once", "text/plain").await;
    assert_eq!(status, 203, "{body}");
    let last = app.rejections().last().cloned().unwrap_or_default();
    assert!(last.ends_with("was already used"), "{last}");
    assert_eq!(app.verified_bodies().len(), 1);
}
