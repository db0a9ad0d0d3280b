//! Upload callbacks (verified with openssl, independently of the emulator's
//! RSA code), PostObject and CORS.

mod common;

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use http::{Method, Request};
use md5::{Digest as _, Md5};
use osscb_core::callback::{Callback, CallbackBodyType};
use osscb_core::crc64;
use osscb_core::ops::{GetObject, Operation, PutObject};
use osscb_core::sign::v1;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn header(received: &Received, name: &str) -> String {
    received
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn put_with_callback_is_signed_like_oss() {
    let emu = emulator();
    let mut receiver = Receiver::start(200, r#"{"Status":"OK"}"#).await;
    let callback = Callback::builder(receiver.url("/cb/a%20b?x=1&y=2"))
        .host("app.example.com")
        .body("bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}&crc64=${crc64}&contentMd5=${contentMd5}&reqId=${reqId}&op=${operation}&ip=${clientIp}&h=${imageInfo.height}&v=${x:v}")
        .var("x:v", "a b&c")
        .build()
        .expect("callback");
    let data = b"callback me".to_vec();
    let put = PutObject::new(b("bucket"), k("dir/f 1.txt"))
        .content_length(data.len() as u64)
        .callback(callback);
    let r = send(emu.addr(), sign(&emu, &put, data.clone(), &creds())).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"Status":"OK"}"#);
    assert_eq!(r.header("content-type"), "application/json");
    let md5 = Md5::digest(&data);
    assert_eq!(r.header("etag"), format!("\"{}\"", hex(&md5)));
    assert_eq!(
        r.header("x-oss-hash-crc64ecma"),
        crc64::checksum(&data).to_string()
    );

    let got = receiver.rx.recv().await.expect("callback received");
    assert_eq!(got.method, "POST");
    assert_eq!(got.path_and_query, "/cb/a%20b?x=1&y=2");
    assert_eq!(header(&got, "host"), "app.example.com");
    assert_eq!(
        header(&got, "content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(header(&got, "content-length"), got.body.len().to_string());
    let body = String::from_utf8(got.body.clone()).expect("utf8");
    assert_eq!(
        body,
        format!(
            "bucket=bucket&object=dir%2Ff%201.txt&etag={}&size=11&mimeType=text%2Fplain&crc64={}&contentMd5={}&reqId={}&op=PutObject&ip=127.0.0.1&h=&v=a%20b%26c",
            hex(&md5),
            crc64::checksum(&data),
            STANDARD
                .encode(md5)
                .replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D"),
            r.request_id()
        )
    );
    let key_url = STANDARD
        .decode(header(&got, "x-oss-pub-key-url"))
        .expect("base64");
    assert_eq!(String::from_utf8_lossy(&key_url), emu.public_key_url());
    let signature = STANDARD
        .decode(header(&got, "authorization"))
        .expect("base64");
    let signed = format!("/cb/a b?x=1&y=2\n{body}");
    assert!(openssl_verify(
        &emu.public_key_pem(),
        signed.as_bytes(),
        &signature
    ));
    assert!(!openssl_verify(
        &emu.public_key_pem(),
        format!("{signed}\n").as_bytes(),
        &signature
    ));
    assert!(!openssl_verify(
        &emu.public_key_pem(),
        format!("/cb/a%20b?x=1&y=2\n{body}").as_bytes(),
        &signature
    ));
}

#[tokio::test]
async fn failed_callbacks_answer_203_and_keep_the_object() {
    let emu = emulator();
    let host = emu.addr().to_string();
    let failing = Receiver::start(500, r#"{"error":true}"#).await;
    let not_json = Receiver::start(200, "OK").await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let cases = [
        (failing.url("/"), "Error status : 500."),
        (not_json.url("/"), "Response body is not valid json format."),
        (
            format!("http://{closed}/"),
            "Error status : -1.OSS can not connect to your callbackUrl, please check it.",
        ),
    ];
    for (i, (url, message)) in cases.iter().enumerate() {
        let key = format!("failed-{i}");
        let callback = Callback::builder(url.clone())
            .body("object=${object}")
            .build()
            .expect("cb");
        let put = PutObject::new(b("bucket"), k(&key))
            .content_length(2)
            .callback(callback);
        let r = send(emu.addr(), sign(&emu, &put, b"ok".to_vec(), &creds())).await;
        assert_eq!(r.status, 203);
        assert_eq!(
            r.text(),
            error_xml("CallbackFailed", message, &r, &host, &[], "0007-00000203")
        );
        assert_eq!(
            r.header("etag"),
            format!("\"{}\"", hex(&Md5::digest(b"ok")))
        );
        assert_eq!(
            r.header("x-oss-hash-crc64ecma"),
            crc64::checksum(b"ok").to_string()
        );
        let get = GetObject::new(b("bucket"), k(&key));
        let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
        assert_eq!(
            (r.status, r.body.as_slice()),
            (200, &b"ok"[..]),
            "stored despite the failed callback"
        );
    }
    // The second URL is tried when the first fails.
    let mut ok = Receiver::start(200, r#"{"n":2}"#).await;
    let callback = Callback::builder(format!("http://{closed}/"))
        .url(ok.url("/second"))
        .body("object=${object}")
        .build()
        .expect("cb");
    let put = PutObject::new(b("bucket"), k("two"))
        .content_length(2)
        .callback(callback);
    let r = send(emu.addr(), sign(&emu, &put, b"ok".to_vec(), &creds())).await;
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"n":2}"#));
    assert_eq!(ok.rx.recv().await.expect("cb").path_and_query, "/second");
}

#[tokio::test]
async fn a_slow_application_server_times_out_with_203() {
    let emu = osscb_emulator::Emulator::start(
        osscb_emulator::EmulatorConfig::new(ID, SECRET)
            .callback_timeout(Duration::from_millis(200)),
    )
    .expect("start");
    // Accepts the callback's connection and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr");
    let holder = std::thread::spawn(move || {
        let held = silent.accept();
        std::thread::sleep(Duration::from_millis(1000));
        drop(held);
    });
    let callback = Callback::builder(format!("http://{addr}/slow"))
        .body("object=${object}")
        .build()
        .expect("cb");
    let put = PutObject::new(b("bucket"), k("slow"))
        .content_length(2)
        .callback(callback);
    let started = std::time::Instant::now();
    let r = send(emu.addr(), sign(&emu, &put, b"ok".to_vec(), &creds())).await;
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "answered at the timeout, not when the server gave up"
    );
    assert_eq!(r.status, 203);
    let host = emu.addr().to_string();
    assert_eq!(
        r.text(),
        error_xml(
            "CallbackFailed",
            "Cost too long time.",
            &r,
            &host,
            &[],
            "0007-00000203"
        )
    );
    let get = GetObject::new(b("bucket"), k("slow"));
    let got = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!((got.status, got.body.as_slice()), (200, &b"ok"[..]));
    holder.join().expect("holder");
}

#[tokio::test]
async fn invalid_callback_configurations_are_refused() {
    let emu = emulator();
    let put = PutObject::new(b("bucket"), k("bad")).content_length(1);
    let six = STANDARD.encode(
        r#"{"callbackUrl":"http://a/;http://b/;http://c/;http://d/;http://e/;http://f/","callbackBody":"x"}"#,
    );
    let good = STANDARD.encode(r#"{"callbackUrl":"http://127.0.0.1:1/","callbackBody":"x"}"#);
    for (header, query) in [
        (Some("!!not base64"), None),
        (Some(STANDARD.encode("not json").as_str()), None),
        (Some(six.as_str()), None),
        (Some(good.as_str()), Some(good.as_str())),
    ] {
        let mut op = put.request().expect("req").map_body(|()| b"x".to_vec());
        if let Some(h) = header {
            op.set_header_str("x-oss-callback", h).expect("h");
        }
        if let Some(q) = query {
            op = op.query("callback", q);
        }
        let req = op
            .sign(&config(&emu), &creds(), SystemTime::now())
            .expect("sign");
        let r = send(emu.addr(), req).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(
            r.text().contains("<Code>InvalidArgument</Code>"),
            "{}",
            r.text()
        );
    }
    let get = GetObject::new(b("bucket"), k("bad"));
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!(r.status, 404, "refused uploads store nothing");
}

#[tokio::test]
async fn presigned_put_and_multipart_with_json_callbacks() {
    let emu = emulator();
    let mut receiver = Receiver::start(200, r#"{"ok":1}"#).await;
    let callback = Callback::builder(receiver.url("/json"))
        .body(r#"{"object":${object},"size":${size},"etag":${etag},"op":${operation},"u":${x:u}}"#)
        .body_type(CallbackBodyType::Json)
        .var("x:u", "q\"&")
        .build()
        .expect("cb");
    let put = PutObject::new(b("bucket"), k("presigned")).callback(callback.clone());
    let url = put
        .request()
        .expect("req")
        .presign(
            &config(&emu),
            &creds(),
            SystemTime::now(),
            Duration::from_secs(60),
        )
        .expect("presign")
        .url;
    assert!(url.to_string().contains("callback="));
    let r = send(
        emu.addr(),
        Request::put(url.to_string())
            .body(b"abc".to_vec())
            .expect("req"),
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"ok":1}"#));
    let got = receiver.rx.recv().await.expect("cb");
    assert_eq!(header(&got, "content-type"), "application/json");
    assert_eq!(
        String::from_utf8_lossy(&got.body),
        format!(
            r#"{{"object":"presigned","size":3,"etag":"{}","op":"PutObject","u":"q\"&"}}"#,
            hex(&Md5::digest(b"abc"))
        )
    );
    let signature = STANDARD.decode(header(&got, "authorization")).expect("b64");
    let signed = [b"/json\n".as_slice(), &got.body].concat();
    assert!(openssl_verify(&emu.public_key_pem(), &signed, &signature));

    let r = send(
        emu.addr(),
        sign_request(&emu, &initiate_request("mp"), &creds()),
    )
    .await;
    let id = element(&r.text(), "UploadId").to_owned();
    assert!(!id.is_empty(), "{}", r.text());
    let part = upload_part_request("mp", &id, 1, b"part");
    let r = send(emu.addr(), sign_request(&emu, &part, &creds())).await;
    let etag = r.header("etag").to_owned();
    let complete = complete_request("mp", &id, &[(1, &etag)], Some(&callback));
    let req = sign_request(&emu, &complete, &creds());
    let r = send(emu.addr(), req).await;
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"ok":1}"#));
    assert!(r.header("etag").ends_with("-1\""));
    assert_eq!(
        r.header("x-oss-hash-crc64ecma"),
        crc64::checksum(b"part").to_string()
    );
    let got = receiver.rx.recv().await.expect("cb");
    let text = String::from_utf8_lossy(&got.body).into_owned();
    assert!(text.contains(r#""op":"CompleteMultipartUpload""#), "{text}");
    assert!(text.contains(r#""size":4"#), "{text}");
}

#[tokio::test]
async fn post_object_with_policy_and_callback() {
    let emu = emulator();
    let host = emu.addr().to_string();
    let policy = STANDARD.encode(
        r#"{"expiration":"2099-01-01T00:00:00.000Z","conditions":[{"bucket":"bucket"},["starts-with","$key","uploads/"],["content-length-range",1,100],["eq","$Content-Type","image/png"]]}"#,
    );
    let signature = v1::signature(SECRET, &policy);
    let base = |key: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("key", key.to_owned()),
            ("policy", policy.clone()),
            ("OSSAccessKeyId", ID.to_owned()),
            ("Signature", signature.clone()),
            ("Content-Type", "image/png".to_owned()),
        ]
    };
    let send_form = |fields: Vec<(&'static str, String)>, file: &'static [u8]| {
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post(&emu, &refs, file)
    };

    let r = send(emu.addr(), send_form(base("uploads/${filename}"), b"png!")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        r.header("etag"),
        format!("\"{}\"", hex(&Md5::digest(b"png!")))
    );
    assert_eq!(
        r.header("access-control-allow-origin"),
        "http://page.example"
    );
    let get = GetObject::new(b("bucket"), k("uploads/pic.png"));
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!(
        (r.body.as_slice(), r.header("content-type")),
        (&b"png!"[..], "image/png")
    );

    let mut fields = base("uploads/201");
    fields.push(("success_action_status", "201".to_owned()));
    let r = send(emu.addr(), send_form(fields, b"x")).await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.text(),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse>\n  <Bucket>bucket</Bucket>\n  <Location>http://{host}/uploads/201</Location>\n  <Key>uploads/201</Key>\n  <ETag>\"{}\"</ETag>\n</PostResponse>",
            hex(&Md5::digest(b"x"))
        )
    );

    let mut receiver = Receiver::start(200, r#"{"posted":true}"#).await;
    let callback = Callback::builder(receiver.url("/post"))
        .body("object=${object}&op=${operation}&user=${x:user}")
        .build()
        .expect("cb");
    let mut fields = base("uploads/cb");
    fields.push(("callback", callback.encoded().to_owned()));
    fields.push(("x:user", "ann e".to_owned()));
    let r = send(emu.addr(), send_form(fields, b"cb")).await;
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"posted":true}"#));
    let got = receiver.rx.recv().await.expect("cb");
    assert_eq!(
        String::from_utf8_lossy(&got.body),
        "object=uploads%2Fcb&op=PostObject&user=ann%20e"
    );
    let sig = STANDARD.decode(header(&got, "authorization")).expect("b64");
    assert!(openssl_verify(
        &emu.public_key_pem(),
        &[b"/post\n".as_slice(), &got.body].concat(),
        &sig
    ));

    // Policy violations and bad signatures.
    let r = send(emu.addr(), send_form(base("other/key"), b"x")).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<Code>AccessDenied</Code>\n  <Message>Invalid according to Policy: Policy Condition failed: [\"starts-with\",\"$key\",\"uploads/\"]</Message>"), "{}", r.text());
    let r = send(emu.addr(), send_form(base("uploads/big"), &[0u8; 101])).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("<Code>EntityTooLarge</Code>"),
        "{}",
        r.text()
    );
    let mut fields = base("uploads/sig");
    fields[3].1 = v1::signature("wrong", &policy);
    let r = send(emu.addr(), send_form(fields, b"x")).await;
    assert_eq!(r.status, 403);
    assert!(
        r.text()
            .contains(&format!("<StringToSign>{policy}</StringToSign>")),
        "{}",
        r.text()
    );
    let expired = STANDARD.encode(r#"{"expiration":"2001-01-01T00:00:00.000Z","conditions":[]}"#);
    let fields = vec![
        ("key", "uploads/old".to_owned()),
        ("policy", expired.clone()),
        ("OSSAccessKeyId", ID.to_owned()),
        ("Signature", v1::signature(SECRET, &expired)),
    ];
    let r = send(emu.addr(), send_form(fields, b"x")).await;
    assert_eq!(r.status, 403);
    assert!(
        r.text()
            .contains("Invalid according to Policy: Policy expired."),
        "{}",
        r.text()
    );
    // Impossible dates are refused, not rolled over into March.
    for expiration in ["2024-02-31T00:00:00Z", "2099-02-31T00:00:00.000Z"] {
        let policy = STANDARD.encode(format!(
            r#"{{"expiration":"{expiration}","conditions":[]}}"#
        ));
        let fields = vec![
            ("key", "uploads/feb31".to_owned()),
            ("policy", policy.clone()),
            ("OSSAccessKeyId", ID.to_owned()),
            ("Signature", v1::signature(SECRET, &policy)),
        ];
        let r = send(emu.addr(), send_form(fields, b"x")).await;
        assert_eq!(r.status, 400, "{expiration}: {}", r.text());
        assert!(
            r.text().contains("<Code>InvalidArgument</Code>\n  <Message>Invalid Policy: the expiration is not an ISO 8601 GMT time.</Message>"),
            "{}",
            r.text()
        );
    }
    let r = send(
        emu.addr(),
        send_form(vec![("key", "uploads/anon".to_owned())], b"x"),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<Code>AccessDenied</Code>"));
}

#[tokio::test]
async fn cors_preflight_and_headers() {
    let emu = emulator();
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri(format!("{}/bucket/key", emu.endpoint()))
        .header("origin", "http://page.example")
        .header("access-control-request-method", "PUT")
        .header(
            "access-control-request-headers",
            "content-type, x-oss-callback",
        )
        .body(vec![])
        .expect("req");
    let r = send(emu.addr(), req).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        "http://page.example"
    );
    assert_eq!(
        r.header("access-control-allow-methods"),
        "GET, PUT, POST, DELETE, HEAD"
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        "content-type, x-oss-callback"
    );
    assert_eq!(r.header("access-control-max-age"), "600");
    assert_eq!(
        r.header("access-control-expose-headers"),
        "ETag, x-oss-request-id, x-oss-hash-crc64ecma"
    );

    let mut req = sign(
        &emu,
        &GetObject::new(b("bucket"), k("missing")),
        vec![],
        &creds(),
    );
    req.headers_mut()
        .insert("origin", "http://other.example".parse().expect("h"));
    let r = send(emu.addr(), req).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header("access-control-allow-origin"),
        "http://other.example"
    );
    assert_eq!(
        r.header("access-control-expose-headers"),
        "ETag, x-oss-request-id, x-oss-hash-crc64ecma"
    );
    let r = send(
        emu.addr(),
        sign(
            &emu,
            &GetObject::new(b("bucket"), k("missing")),
            vec![],
            &creds(),
        ),
    )
    .await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
}
