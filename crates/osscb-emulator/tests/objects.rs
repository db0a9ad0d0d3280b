//! Objects, addressing, authentication, multipart, persistence and faults.

mod common;

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use http::{Method, Request};
use md5::{Digest as _, Md5};
use osscb_core::ops::{
    AbortMultipartUpload, DeleteObject, GetObject, HeadObject, Operation, PutObject,
};
use osscb_core::{OssRequest, crc64};
use osscb_emulator::{Emulator, EmulatorConfig};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[tokio::test]
async fn put_get_head_range_delete() {
    let emu = emulator();
    let host = emu.addr().to_string();
    let cr = creds();
    let data = b"hello, emulator".to_vec();
    let put = PutObject::new(b("bucket"), k("dir/a b+c.txt")).content_length(data.len() as u64);
    let r = send(emu.addr(), sign(&emu, &put, data.clone(), &cr)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let etag = format!("\"{}\"", hex(&Md5::digest(&data)));
    assert_eq!(r.header("etag"), etag);
    assert_eq!(
        r.header("x-oss-hash-crc64ecma"),
        crc64::checksum(&data).to_string()
    );
    assert_eq!(r.header("content-md5"), STANDARD.encode(Md5::digest(&data)));
    let id = r.request_id();
    assert_eq!(id.len(), 24);
    assert!(
        id.bytes()
            .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c))
    );
    assert!(r.body.is_empty());

    let get = GetObject::new(b("bucket"), k("dir/a b+c.txt"));
    let r = send(emu.addr(), sign(&emu, &get, vec![], &cr)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, data);
    assert_eq!(r.header("content-type"), "text/plain");
    assert_eq!(r.header("etag"), etag);
    assert_eq!(
        r.header("x-oss-hash-crc64ecma"),
        crc64::checksum(&data).to_string()
    );

    let mut req = sign(&emu, &get, vec![], &cr);
    req.headers_mut()
        .insert("range", "bytes=7-14".parse().expect("h"));
    let r = send(emu.addr(), req).await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, b"emulator");
    assert_eq!(r.header("content-range"), "bytes 7-14/15");
    let mut req = sign(&emu, &get, vec![], &cr);
    req.headers_mut()
        .insert("range", "bytes=-3".parse().expect("h"));
    let r = send(emu.addr(), req).await;
    assert_eq!((r.status, r.body.as_slice()), (206, &b"tor"[..]));
    let mut req = sign(&emu, &get, vec![], &cr);
    req.headers_mut()
        .insert("range", "bytes=15-".parse().expect("h"));
    let r = send(emu.addr(), req).await;
    assert_eq!(r.status, 416);
    assert_eq!(
        r.text(),
        error_xml(
            "InvalidRange",
            "The requested range cannot be satisfied.",
            &r,
            &host,
            &[("RangeRequested", "bytes=15-"), ("ActualObjectSize", "15")],
            "0026-00000002"
        )
    );

    let head = HeadObject::new(b("bucket"), k("dir/a b+c.txt"));
    let r = send(emu.addr(), sign(&emu, &head, vec![], &cr)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), "15");
    assert_eq!(r.header("x-oss-object-type"), "Normal");
    assert!(r.body.is_empty());

    let del = DeleteObject::new(b("bucket"), k("dir/a b+c.txt"));
    let r = send(emu.addr(), sign(&emu, &del, vec![], &cr)).await;
    assert_eq!(r.status, 204);
    let r = send(emu.addr(), sign(&emu, &del, vec![], &cr)).await;
    assert_eq!(r.status, 204, "deleting a missing key succeeds");

    let r = send(emu.addr(), sign(&emu, &get, vec![], &cr)).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), "application/xml");
    assert_eq!(
        r.text(),
        error_xml(
            "NoSuchKey",
            "The specified key does not exist.",
            &r,
            &host,
            &[("Key", "dir/a b+c.txt")],
            "0026-00000001"
        )
    );
    let r = send(emu.addr(), sign(&emu, &head, vec![], &cr)).await;
    assert_eq!(r.status, 404);
    assert!(r.body.is_empty());
    assert_eq!(r.header("x-oss-ec"), "0026-00000001");
    let decoded = STANDARD.decode(r.header("x-oss-err")).expect("base64");
    assert_eq!(
        String::from_utf8_lossy(&decoded),
        error_xml(
            "NoSuchKey",
            "The specified key does not exist.",
            &r,
            &host,
            &[("Key", "dir/a b+c.txt")],
            "0026-00000001"
        )
    );
    assert_eq!(emu.faults().requests_seen(), 10);
}

#[tokio::test]
async fn virtual_hosted_addressing_and_public_key() {
    let emu = emulator();
    let cr = creds();
    let put = PutObject::new(b("vbucket"), k("v.txt")).content_length(1);
    let mut req = sign(&emu, &put, b"v".to_vec(), &cr);
    req.headers_mut().insert(
        "host",
        format!("vbucket.localhost:{}", emu.addr().port())
            .parse()
            .expect("h"),
    );
    *req.uri_mut() = format!("{}/v.txt", emu.endpoint()).parse().expect("uri");
    let r = send(emu.addr(), req).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let get = GetObject::new(b("vbucket"), k("v.txt"));
    let r = send(emu.addr(), sign(&emu, &get, vec![], &cr)).await;
    assert_eq!(r.body, b"v");

    let req = Request::get(emu.public_key_url())
        .body(vec![])
        .expect("req");
    let r = send(emu.addr(), req).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), emu.public_key_pem());
    assert!(
        emu.public_key_url()
            .ends_with("/__osscb/callback_pub_key.pem")
    );
}

#[tokio::test]
async fn authentication_errors() {
    let emu = emulator();
    let host = emu.addr().to_string();
    let put = PutObject::new(b("bucket"), k("a")).content_length(1);

    let r = send(
        emu.addr(),
        sign(
            &emu,
            &put,
            b"x".to_vec(),
            &osscb_core::Credentials::new("other", SECRET),
        ),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        error_xml(
            "InvalidAccessKeyId",
            "The OSS Access Key Id you provided does not exist in our records.",
            &r,
            &host,
            &[("OSSAccessKeyId", "other")],
            "0002-00000901"
        )
    );

    let wrong = osscb_core::Credentials::new(ID, "wrong");
    let req = sign(&emu, &put, b"x".to_vec(), &wrong);
    // V1's string to sign, written out: no Content-MD5, no x-oss-* header.
    let header = |name: &str| {
        req.headers()
            .get(name)
            .map_or("", |v| v.to_str().expect("ascii"))
    };
    let sts = format!(
        "PUT\n\n{}\n{}\n/bucket/a",
        header("content-type"),
        header("date")
    );
    let provided = req.headers()["authorization"]
        .to_str()
        .expect("ascii")
        .rsplit_once(':')
        .expect("sig")
        .1
        .to_owned();
    let r = send(emu.addr(), req).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        error_xml(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            &r,
            &host,
            &[
                ("OSSAccessKeyId", ID),
                ("SignatureProvided", &provided),
                ("StringToSign", &sts),
            ],
            "0002-00000040"
        )
    );
    assert!(sts.starts_with("PUT\n\napplication/octet-stream\n") || sts.starts_with("PUT\n\n"));

    let skewed = put
        .request()
        .expect("req")
        .map_body(|()| b"x".to_vec())
        .sign(
            &config(&emu),
            &creds(),
            SystemTime::now() - Duration::from_secs(16 * 60),
        )
        .expect("sign");
    let r = send(emu.addr(), skewed).await;
    assert_eq!(r.status, 403);
    assert!(
        r.text().contains("<Code>RequestTimeTooSkewed</Code>"),
        "{}",
        r.text()
    );

    let anonymous = Request::put(format!("{}/bucket/a", emu.endpoint()))
        .body(b"x".to_vec())
        .expect("req");
    let r = send(emu.addr(), anonymous).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        error_xml(
            "AccessDenied",
            "You have no right to access this object because of bucket acl.",
            &r,
            &host,
            &[],
            "0003-00000001"
        )
    );

    let mut bad_md5 = put.clone().content_md5(STANDARD.encode(Md5::digest(b"y")));
    bad_md5 = bad_md5.content_length(1);
    let r = send(emu.addr(), sign(&emu, &bad_md5, b"x".to_vec(), &creds())).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        error_xml(
            "InvalidDigest",
            "The Content-MD5 you specified is not valid.",
            &r,
            &host,
            &[],
            "0016-00000401"
        )
    );
    let good_md5 = put.clone().content_md5(STANDARD.encode(Md5::digest(b"x")));
    let r = send(emu.addr(), sign(&emu, &good_md5, b"x".to_vec(), &creds())).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn sts_token_is_required_when_configured() {
    let emu =
        Emulator::start(EmulatorConfig::new(ID, SECRET).security_token("tok")).expect("start");
    let put = PutObject::new(b("bucket"), k("a")).content_length(1);
    for (credentials, want) in [
        (creds(), 403),
        (creds().with_security_token("nope"), 403),
        (creds().with_security_token("tok"), 200),
    ] {
        let r = send(emu.addr(), sign(&emu, &put, b"x".to_vec(), &credentials)).await;
        assert_eq!(r.status, want, "{}", r.text());
        if want == 403 {
            assert!(r.text().contains("<Code>InvalidAccessKeyId</Code>\n  <Message>The security token you provided is invalid.</Message>"), "{}", r.text());
        }
    }
    // Presigned with the token in the query.
    let get = GetObject::new(b("bucket"), k("a"));
    let url = get
        .request()
        .expect("req")
        .presign(
            &config(&emu),
            &creds().with_security_token("tok"),
            SystemTime::now(),
            Duration::from_secs(60),
        )
        .expect("presign")
        .url;
    let r = send(
        emu.addr(),
        Request::get(url.to_string()).body(vec![]).expect("req"),
    )
    .await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"x"[..]));
}

#[tokio::test]
async fn presigned_get_and_put() {
    let emu = emulator();
    let cr = creds();
    let put = OssRequest::new(Method::PUT, b("bucket"), Some(k("p/ü ?.bin")), ());
    let presigned = put
        .presign(
            &config(&emu),
            &cr,
            SystemTime::now(),
            Duration::from_secs(60),
        )
        .expect("presign");
    let r = send(
        emu.addr(),
        Request::put(presigned.url.to_string())
            .body(b"data".to_vec())
            .expect("req"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let get = OssRequest::new(Method::GET, b("bucket"), Some(k("p/ü ?.bin")), ());
    let url = get
        .presign(
            &config(&emu),
            &cr,
            SystemTime::now(),
            Duration::from_secs(60),
        )
        .expect("presign")
        .url;
    let r = send(
        emu.addr(),
        Request::get(url.to_string()).body(vec![]).expect("req"),
    )
    .await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"data"[..]));
    // A URL signed for GET does not authorize a PUT.
    let r = send(
        emu.addr(),
        Request::put(url.to_string())
            .body(b"x".to_vec())
            .expect("req"),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<Code>SignatureDoesNotMatch</Code>"));
    // Expired.
    let expired = get
        .presign(
            &config(&emu),
            &cr,
            SystemTime::now() - Duration::from_secs(120),
            Duration::from_secs(60),
        )
        .expect("presign")
        .url;
    let r = send(
        emu.addr(),
        Request::get(expired.to_string()).body(vec![]).expect("req"),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(
        r.text()
            .contains("<Code>AccessDenied</Code>\n  <Message>Request has expired.</Message>"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn chunked_body() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let emu = emulator();
    let put = PutObject::new(b("bucket"), k("chunked"));
    let req = sign(&emu, &put, vec![], &creds());
    let mut raw = format!("PUT /bucket/chunked HTTP/1.1\r\nhost: {}\r\n", emu.addr());
    for (name, value) in req.headers() {
        raw.push_str(&format!("{name}: {}\r\n", value.to_str().expect("ascii")));
    }
    raw.push_str("transfer-encoding: chunked\r\nconnection: close\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n");
    let mut stream = tokio::net::TcpStream::connect(emu.addr())
        .await
        .expect("connect");
    stream.write_all(raw.as_bytes()).await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let etag = format!("\"{}\"", hex(&Md5::digest(b"hello, world")));
    assert!(answer.contains(&format!("etag: {etag}\r\n")), "{answer}");
    let get = GetObject::new(b("bucket"), k("chunked"));
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!(r.body, b"hello, world");
}

fn part_data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn initiate(emu: &Emulator, key: &str) -> String {
    let r = send(
        emu.addr(),
        sign_request(emu, &initiate_request(key), &creds()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = element(&r.text(), "UploadId").to_owned();
    assert_eq!(
        r.text(),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult>\n  <Bucket>bucket</Bucket>\n  <Key>{key}</Key>\n  <UploadId>{id}</UploadId>\n</InitiateMultipartUploadResult>"
        )
    );
    id
}

async fn upload(emu: &Emulator, key: &str, id: &str, n: u32, data: &[u8]) -> String {
    let part = upload_part_request(key, id, n, data);
    let r = send(emu.addr(), sign_request(emu, &part, &creds())).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("x-oss-hash-crc64ecma"),
        crc64::checksum(data).to_string()
    );
    r.header("etag").to_owned()
}

async fn complete(emu: &Emulator, key: &str, id: &str, parts: &[(u32, &str)]) -> Reply {
    let op = complete_request(key, id, parts, None);
    send(emu.addr(), sign_request(emu, &op, &creds())).await
}

fn raw_complete(emu: &Emulator, key: &str, id: &str, xml: &str) -> Request<Vec<u8>> {
    let mut op = OssRequest::new(
        Method::POST,
        b("bucket"),
        Some(k(key)),
        xml.as_bytes().to_vec(),
    )
    .query("uploadId", id);
    op.set_header_str("content-length", &xml.len().to_string())
        .expect("h");
    op.sign(&config(emu), &creds(), SystemTime::now())
        .expect("sign")
}

#[tokio::test]
async fn multipart_upload_and_its_errors() {
    let emu = emulator();
    let host = emu.addr().to_string();
    let key = "big.bin";
    let id = initiate(&emu, key).await;
    let one = part_data(100 * 1024, 1);
    let two = part_data(1000, 2);
    let e1 = upload(&emu, key, &id, 1, &one).await;
    let e2 = upload(&emu, key, &id, 2, &two).await;
    let small = part_data(10, 3);
    let e3 = upload(&emu, key, &id, 3, &small).await;
    assert_eq!(emu.upload_part_requests(), 3);

    let list = list_parts_request(key, &id, 2);
    let r = send(emu.addr(), sign_request(&emu, &list, &creds())).await;
    assert_eq!(r.status, 200);
    let text = r.text();
    assert_eq!(element(&text, "IsTruncated"), "true");
    assert_eq!(element(&text, "NextPartNumberMarker"), "2");
    let parts: Vec<&str> = text.split("<Part>").skip(1).collect();
    assert_eq!(parts.len(), 2);
    assert_eq!(element(parts[0], "ETag"), e1);
    assert_eq!(element(parts[0], "Size"), (100 * 1024).to_string());
    assert_eq!(
        element(parts[1], "HashCrc64ecma"),
        crc64::checksum(&two).to_string()
    );
    assert!(r.text().contains(&format!(
        "<Part>\n    <PartNumber>1</PartNumber>\n    <LastModified>{}</LastModified>\n    <ETag>{e1}</ETag>",
        element(parts[0], "LastModified")
    )));

    // Out of order.
    let xml = format!(
        "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>{e2}</ETag></Part><Part><PartNumber>1</PartNumber><ETag>{e1}</ETag></Part></CompleteMultipartUpload>"
    );
    let r = send(emu.addr(), raw_complete(&emu, key, &id, &xml)).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("<Code>InvalidPartOrder</Code>"),
        "{}",
        r.text()
    );
    // Wrong ETag.
    let r = complete(&emu, key, &id, &[(1, "\"00\"")]).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        error_xml(
            "InvalidPart",
            "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
            &r,
            &host,
            &[("UploadId", &id), ("PartNumber", "1"), ("ETag", "\"00\"")],
            "0042-00000003"
        )
    );
    // Missing part.
    let r = complete(&emu, key, &id, &[(9, &e1)]).await;
    assert!(r.text().contains("<Code>InvalidPart</Code>"));
    // A small part that is not last.
    let r = complete(&emu, key, &id, &[(1, &e1), (2, &e2), (3, &e3)]).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("<Code>EntityTooSmall</Code>"),
        "{}",
        r.text()
    );
    // Malformed XML.
    let r = send(emu.addr(), raw_complete(&emu, key, &id, "<nope")).await;
    assert!(
        r.text().contains("<Code>MalformedXML</Code>"),
        "{}",
        r.text()
    );

    let r = complete(&emu, key, &id, &[(1, &e1), (2, &e2)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut md5s = Md5::new();
    md5s.update(Md5::digest(&one));
    md5s.update(Md5::digest(&two));
    let etag = format!("\"{}-2\"", hex(&md5s.finalize()));
    let whole = [one.clone(), two.clone()].concat();
    assert_eq!(r.header("etag"), etag);
    assert_eq!(
        r.header("x-oss-hash-crc64ecma"),
        crc64::checksum(&whole).to_string()
    );
    assert_eq!(
        r.text(),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult>\n  <Location>http://{host}/bucket/{key}</Location>\n  <Bucket>bucket</Bucket>\n  <Key>{key}</Key>\n  <ETag>{etag}</ETag>\n</CompleteMultipartUploadResult>"
        )
    );
    let get = GetObject::new(b("bucket"), k(key));
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!(r.body, whole);
    assert_eq!(r.header("x-oss-object-type"), "Multipart");

    // The upload is gone.
    let r = send(emu.addr(), sign_request(&emu, &list, &creds())).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        error_xml(
            "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
            &r,
            &host,
            &[("UploadId", &id)],
            "0042-00000002"
        )
    );
    assert!(emu.multipart_uploads().is_empty(), "completed");
    // Abort, then the upload is gone too.
    let id2 = initiate(&emu, key).await;
    assert_eq!(emu.multipart_uploads(), vec![id2.clone()]);
    assert_eq!(emu.abort_multipart_requests(), 0);
    let abort = AbortMultipartUpload::new(b("bucket"), k(key), &id2);
    let r = send(emu.addr(), sign(&emu, &abort, vec![], &creds())).await;
    assert_eq!(r.status, 204);
    assert!(emu.multipart_uploads().is_empty(), "aborted");
    let part = upload_part_request(key, &id2, 1, b"x");
    let r = send(emu.addr(), sign_request(&emu, &part, &creds())).await;
    assert_eq!(r.status, 404);
    let r = send(emu.addr(), sign(&emu, &abort, vec![], &creds())).await;
    assert_eq!(r.status, 404);
    assert_eq!(emu.upload_part_requests(), 3);
    // Both aborts were received; an unsigned one is refused uncounted.
    assert_eq!(emu.abort_multipart_requests(), 2);
    let wrong = osscb_core::Credentials::new(ID, "not-the-secret");
    let r = send(emu.addr(), sign(&emu, &abort, vec![], &wrong)).await;
    assert_eq!(r.status, 403);
    assert_eq!(emu.abort_multipart_requests(), 2);
}

#[tokio::test]
async fn data_dir_survives_restart() {
    let dir = temp_dir("persist");
    let start = || Emulator::start(EmulatorConfig::new(ID, SECRET).data_dir(&dir)).expect("start");
    let emu = start();
    let put = PutObject::new(b("bucket"), k("kept/ü.txt")).content_length(4);
    let r = send(emu.addr(), sign(&emu, &put, b"kept".to_vec(), &creds())).await;
    assert_eq!(r.status, 200);
    let id = initiate(&emu, "mp").await;
    let e1 = upload(&emu, "mp", &id, 1, b"part").await;
    emu.shutdown();

    let emu = start();
    let get = GetObject::new(b("bucket"), k("kept/ü.txt"));
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"kept"[..]));
    let r = complete(&emu, "mp", &id, &[(1, &e1)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    drop(emu);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn fault_injection() {
    let emu = emulator();
    let host = emu.addr().to_string();
    let get = GetObject::new(b("bucket"), k("f"));
    let put = PutObject::new(b("bucket"), k("f")).content_length(3);

    emu.faults().fail_next(2, 503);
    for _ in 0..2 {
        let r = send(emu.addr(), sign(&emu, &put, b"abc".to_vec(), &creds())).await;
        assert_eq!(r.status, 503);
        assert_eq!(
            r.text(),
            error_xml(
                "ServiceUnavailable",
                "Please reduce your request rate.",
                &r,
                &host,
                &[],
                "0000-00000000"
            )
        );
    }
    let r = send(emu.addr(), sign(&emu, &put, b"abc".to_vec(), &creds())).await;
    assert_eq!(r.status, 200);

    emu.faults().fail_nth(2, 500);
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!(r.status, 200);
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!(r.status, 500);
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!(r.status, 200);

    emu.faults().drop_next(1);
    let big = vec![7u8; 256 * 1024];
    let put_big = PutObject::new(b("bucket"), k("f")).content_length(big.len() as u64);
    let broken = try_send(emu.addr(), sign(&emu, &put_big, big.clone(), &creds())).await;
    assert!(broken.is_err(), "{broken:?}");
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!(r.body, b"abc", "the dropped upload stored nothing");

    emu.faults().delay_next(1, Duration::from_millis(300));
    let started = std::time::Instant::now();
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!(r.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    emu.faults().corrupt_crc64_next(1);
    let r = send(emu.addr(), sign(&emu, &put, b"abc".to_vec(), &creds())).await;
    assert_eq!(r.status, 200);
    assert_ne!(
        r.header("x-oss-hash-crc64ecma"),
        crc64::checksum(b"abc").to_string()
    );
    let r = send(emu.addr(), sign(&emu, &put, b"abc".to_vec(), &creds())).await;
    assert_eq!(
        r.header("x-oss-hash-crc64ecma"),
        crc64::checksum(b"abc").to_string()
    );

    emu.faults().lose_response_next(1);
    let lost = try_send(emu.addr(), sign(&emu, &put, b"xyz".to_vec(), &creds())).await;
    assert!(lost.is_err(), "{lost:?}");
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!(
        r.body, b"xyz",
        "the request took effect although its answer was lost"
    );

    emu.faults().fail_next(5, 503);
    emu.faults().clear();
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!(r.status, 200);
    assert_eq!(emu.faults().requests_seen(), 14);
}
