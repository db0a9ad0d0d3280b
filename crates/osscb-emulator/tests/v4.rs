//! Signature V4 (`OSS4-HMAC-SHA256`) against the emulator: header signatures,
//! presigned URLs, STS tokens, additional headers, callbacks and multipart.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use http::{HeaderValue, Request};
use osscb_core::Region;
use osscb_core::callback::Callback;
use osscb_core::ops::{GetObject, Operation, PutObject};
use osscb_core::{Config, Credentials, Endpoint, OssRequest};
use osscb_emulator::{Emulator, EmulatorConfig};

fn v4_config(emu: &Emulator) -> Config {
    Config::v4(
        Endpoint::parse(&emu.endpoint()).expect("endpoint"),
        Region::new("cn-hangzhou").expect("region"),
    )
}

fn sign_v4<O: Operation<Body = ()>>(
    config: &Config,
    op: &O,
    body: &[u8],
    credentials: &Credentials,
    now: SystemTime,
) -> Request<Vec<u8>> {
    op.request()
        .expect("request")
        .map_body(|()| body.to_vec())
        .sign(config, credentials, now)
        .expect("sign")
}

#[tokio::test]
async fn header_signed_put_and_get() {
    let emu = emulator();
    let config = v4_config(&emu);
    let put = PutObject::new(b("bucket"), k("v4/a b+c.txt")).content_length(5);
    let req = sign_v4(&config, &put, b"hello", &creds(), SystemTime::now());
    assert!(
        req.headers()["authorization"]
            .to_str()
            .expect("ascii")
            .starts_with("OSS4-HMAC-SHA256 Credential=test-id/")
    );
    let r = send(emu.addr(), req).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let get = GetObject::new(b("bucket"), k("v4/a b+c.txt"));
    let r = send(
        emu.addr(),
        sign_v4(&config, &get, b"", &creds(), SystemTime::now()),
    )
    .await;
    assert_eq!((r.status, r.body.as_slice()), (200, b"hello".as_slice()));
}

#[tokio::test]
async fn wrong_secret_gets_signature_does_not_match_with_the_strings() {
    let emu = emulator();
    let config = v4_config(&emu);
    let get = GetObject::new(b("bucket"), k("missing"));
    let now = SystemTime::now();
    let wrong = Credentials::new(ID, "not-the-secret");
    let r = send(emu.addr(), sign_v4(&config, &get, b"", &wrong, now)).await;
    assert_eq!(r.status, 403, "{}", r.text());
    let body = r.text();
    assert_eq!(element(&body, "Code"), "SignatureDoesNotMatch");
    // The emulator's strings are the ones the client signed.
    let strings = get
        .request()
        .expect("request")
        .signing_strings(&config, &wrong, now)
        .expect("strings");
    let xml_escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;");
    assert_eq!(
        element(&body, "StringToSign"),
        xml_escape(&strings.string_to_sign)
    );
    assert_eq!(
        element(&body, "CanonicalRequest"),
        xml_escape(&strings.canonical_request.expect("v4"))
    );

    // A header changed after signing is caught too.
    let mut req = sign_v4(
        &config,
        &PutObject::new(b("bucket"), k("x")).content_length(1),
        b"x",
        &creds(),
        now,
    );
    req.headers_mut()
        .insert("x-oss-meta-late", HeaderValue::from_static("1"));
    let r = send(emu.addr(), req).await;
    assert_eq!(element(&r.text(), "Code"), "SignatureDoesNotMatch");
}

#[tokio::test]
async fn stale_or_unknown_signatures_are_refused() {
    let emu = emulator();
    let config = v4_config(&emu);
    let get = GetObject::new(b("bucket"), k("k"));
    let old = SystemTime::now() - Duration::from_secs(3600);
    let r = send(emu.addr(), sign_v4(&config, &get, b"", &creds(), old)).await;
    assert_eq!(
        (r.status, element(&r.text(), "Code")),
        (403, "RequestTimeTooSkewed")
    );

    let other = Credentials::new("someone-else", SECRET);
    let r = send(
        emu.addr(),
        sign_v4(&config, &get, b"", &other, SystemTime::now()),
    )
    .await;
    assert_eq!(
        (r.status, element(&r.text(), "Code")),
        (403, "InvalidAccessKeyId")
    );

    let mut req = sign_v4(&config, &get, b"", &creds(), SystemTime::now());
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_static("OSS4-HMAC-SHA256 Credential=broken"),
    );
    let r = send(emu.addr(), req).await;
    assert_eq!(
        (r.status, element(&r.text(), "Code")),
        (400, "InvalidArgument")
    );
}

#[tokio::test]
async fn presigned_urls_work_until_they_expire() {
    let emu = emulator();
    let config = v4_config(&emu);
    let put = PutObject::new(b("bucket"), k("presigned v4")).content_type("text/csv");
    let presigned = put
        .request()
        .expect("request")
        .presign(
            &config,
            &creds(),
            SystemTime::now(),
            Duration::from_secs(60),
        )
        .expect("presign");
    let url = presigned.url.to_string();
    assert!(
        url.contains("x-oss-signature-version=OSS4-HMAC-SHA256"),
        "{url}"
    );
    let mut req = Request::put(&url).body(b"a,b".to_vec()).expect("req");
    *req.headers_mut() = presigned.headers.clone();
    let r = send(emu.addr(), req).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // The signed Content-Type must be sent as signed.
    let mut req = Request::put(&url).body(b"a,b".to_vec()).expect("req");
    req.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    let r = send(emu.addr(), req).await;
    assert_eq!(element(&r.text(), "Code"), "SignatureDoesNotMatch");

    let get = GetObject::new(b("bucket"), k("presigned v4"));
    let signed_at = SystemTime::now() - Duration::from_secs(120);
    let expired = get
        .request()
        .expect("request")
        .presign(&config, &creds(), signed_at, Duration::from_secs(60))
        .expect("presign");
    let r = send(
        emu.addr(),
        Request::get(expired.url.to_string())
            .body(Vec::new())
            .expect("req"),
    )
    .await;
    assert_eq!(
        (r.status, element(&r.text(), "Code")),
        (403, "AccessDenied")
    );

    let fresh = get
        .request()
        .expect("request")
        .presign(
            &config,
            &creds(),
            SystemTime::now(),
            Duration::from_secs(60),
        )
        .expect("presign");
    let r = send(
        emu.addr(),
        Request::get(fresh.url.to_string())
            .body(Vec::new())
            .expect("req"),
    )
    .await;
    assert_eq!((r.status, r.body.as_slice()), (200, b"a,b".as_slice()));
}

#[tokio::test]
async fn sts_tokens_in_header_and_query() {
    let emu = Emulator::start(EmulatorConfig::new(ID, SECRET).security_token("sts-token"))
        .expect("start");
    let config = v4_config(&emu);
    let sts = Credentials::new(ID, SECRET).with_security_token("sts-token");
    let put = PutObject::new(b("bucket"), k("sts")).content_length(2);
    let r = send(
        emu.addr(),
        sign_v4(&config, &put, b"ok", &sts, SystemTime::now()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let r = send(
        emu.addr(),
        sign_v4(&config, &put, b"ok", &creds(), SystemTime::now()),
    )
    .await;
    assert_eq!(
        (r.status, element(&r.text(), "Code")),
        (403, "InvalidAccessKeyId")
    );

    let get = GetObject::new(b("bucket"), k("sts"));
    let url = get
        .request()
        .expect("request")
        .presign(&config, &sts, SystemTime::now(), Duration::from_secs(60))
        .expect("presign")
        .url
        .to_string();
    assert!(url.contains("x-oss-security-token=sts-token"), "{url}");
    let r = send(emu.addr(), Request::get(url).body(Vec::new()).expect("req")).await;
    assert_eq!((r.status, r.body.as_slice()), (200, b"ok".as_slice()));
}

#[tokio::test]
async fn additional_headers_are_signed_and_checked() {
    let emu = emulator();
    let config = v4_config(&emu).with_additional_headers(["Content-Disposition", "absent"]);
    let put = PutObject::new(b("bucket"), k("disposition")).content_length(1);
    let mut request = put.request().expect("request").map_body(|()| b"d".to_vec());
    request
        .set_header_str("content-disposition", "attachment")
        .expect("header");
    let req = request
        .clone()
        .sign(&config, &creds(), SystemTime::now())
        .expect("sign");
    let auth = req.headers()["authorization"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        auth.contains(",AdditionalHeaders=content-disposition,"),
        "{auth}"
    );
    let r = send(emu.addr(), req).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let mut req = request
        .sign(&config, &creds(), SystemTime::now())
        .expect("sign");
    req.headers_mut()
        .insert("content-disposition", HeaderValue::from_static("inline"));
    let r = send(emu.addr(), req).await;
    assert_eq!(element(&r.text(), "Code"), "SignatureDoesNotMatch");

    // The same in a presigned URL: x-oss-additional-headers names it.
    let mut get = GetObject::new(b("bucket"), k("disposition"))
        .request()
        .expect("request");
    get.set_header_str("content-disposition", "attachment")
        .expect("header");
    let presigned = get
        .presign(
            &config,
            &creds(),
            SystemTime::now(),
            Duration::from_secs(60),
        )
        .expect("presign");
    let url = presigned.url.to_string();
    assert!(
        url.contains("x-oss-additional-headers=content-disposition"),
        "{url}"
    );
    let mut req = Request::get(&url).body(Vec::new()).expect("req");
    *req.headers_mut() = presigned.headers.clone();
    let r = send(emu.addr(), req).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        emu.addr(),
        Request::get(&url).body(Vec::new()).expect("req"),
    )
    .await;
    assert_eq!(element(&r.text(), "Code"), "SignatureDoesNotMatch");
}

#[tokio::test]
async fn callbacks_and_multipart_with_v4() {
    let emu = emulator();
    let config = v4_config(&emu);
    let mut receiver = Receiver::start(200, r#"{"v4":true}"#).await;
    let callback = Callback::builder(receiver.url("/v4"))
        .body("object=${object}&size=${size}&who=${x:who}")
        .var("x:who", "v4 user")
        .build()
        .expect("callback");

    // Header-signed PutObject with x-oss-callback.
    let put = PutObject::new(b("bucket"), k("cb-put"))
        .content_length(3)
        .callback(callback.clone());
    let r = send(
        emu.addr(),
        sign_v4(&config, &put, b"abc", &creds(), SystemTime::now()),
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"v4":true}"#));
    let got = receiver.rx.recv().await.expect("callback");
    assert_eq!(
        String::from_utf8_lossy(&got.body),
        "object=cb-put&size=3&who=v4%20user"
    );

    // Presigned PUT: the callback travels as signed query parameters.
    let presigned = PutObject::new(b("bucket"), k("cb-presigned"))
        .callback(callback.clone())
        .request()
        .expect("request")
        .presign(
            &config,
            &creds(),
            SystemTime::now(),
            Duration::from_secs(60),
        )
        .expect("presign");
    let url = presigned.url.to_string();
    assert!(
        url.contains("callback=") && url.contains("callback-var="),
        "{url}"
    );
    let r = send(
        emu.addr(),
        Request::put(&url).body(b"xy".to_vec()).expect("req"),
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"v4":true}"#));
    let got = receiver.rx.recv().await.expect("callback");
    assert_eq!(
        String::from_utf8_lossy(&got.body),
        "object=cb-presigned&size=2&who=v4%20user"
    );

    // Multipart, completed with a callback.
    let key = "cb-multipart";
    let sign = |request: OssRequest<Vec<u8>>| {
        request
            .sign(&config, &creds(), SystemTime::now())
            .expect("sign")
    };
    let r = send(emu.addr(), sign(initiate_request(key))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let upload_id = element(&r.text(), "UploadId").to_owned();
    assert!(!upload_id.is_empty(), "{}", r.text());
    let mut etags = Vec::new();
    for (n, data) in [(1, vec![b'a'; 100 * 1024]), (2, b"tail".to_vec())] {
        let r = send(
            emu.addr(),
            sign(upload_part_request(key, &upload_id, n, &data)),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        etags.push((n, r.header("etag").to_owned()));
    }
    let parts: Vec<(u32, &str)> = etags.iter().map(|(n, e)| (*n, e.as_str())).collect();
    let req = sign(complete_request(key, &upload_id, &parts, Some(&callback)));
    let r = send(emu.addr(), req).await;
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"v4":true}"#));
    let got = receiver.rx.recv().await.expect("callback");
    assert_eq!(
        String::from_utf8_lossy(&got.body),
        format!("object=cb-multipart&size={}&who=v4%20user", 100 * 1024 + 4)
    );
}

#[tokio::test]
async fn host_is_signed_from_the_uri_alone() {
    let emu = emulator();
    let config = v4_config(&emu).with_additional_headers(["host"]);
    let put = PutObject::new(b("bucket"), k("host-signed")).content_length(2);
    let req = sign_v4(&config, &put, b"hi", &creds(), SystemTime::now());
    assert!(!req.headers().contains_key("host"));
    let auth = req.headers()["authorization"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(auth.contains(",AdditionalHeaders=host,"), "{auth}");
    let r = send(emu.addr(), req).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // The host is covered: another one is refused.
    let mut req = sign_v4(&config, &put, b"hi", &creds(), SystemTime::now());
    req.headers_mut()
        .insert("host", HeaderValue::from_static("127.0.0.1:1"));
    let r = send(emu.addr(), req).await;
    assert_eq!(element(&r.text(), "Code"), "SignatureDoesNotMatch");
    assert!(
        element(&r.text(), "CanonicalRequest").contains("\nhost:127.0.0.1:1\n"),
        "{}",
        r.text()
    );

    // The official presigned URL example: x-oss-additional-headers=host.
    let presigned = GetObject::new(b("bucket"), k("host-signed"))
        .request()
        .expect("request")
        .presign(
            &config,
            &creds(),
            SystemTime::now(),
            Duration::from_secs(60),
        )
        .expect("presign");
    let url = presigned.url.to_string();
    assert!(url.contains("?x-oss-additional-headers=host&"), "{url}");
    assert!(presigned.headers.is_empty());
    let r = send(
        emu.addr(),
        Request::get(&url).body(Vec::new()).expect("req"),
    )
    .await;
    assert_eq!((r.status, r.body.as_slice()), (200, b"hi".as_slice()));
}
