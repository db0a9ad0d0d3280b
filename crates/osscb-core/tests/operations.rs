//! Every operation's request (method, URL, every header, body) and response
//! parser, with the XML examples of OSS's API reference.

#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use osscb_core::callback::{Callback, CallbackBodyType};
use osscb_core::ops::{
    AbortMultipartUpload, DeleteObject, GetObject, HeadObject, ObjectAcl, Operation, PutObject,
    StorageClass, WriteOptions,
};
use osscb_core::sign::v1;
use osscb_core::{Bucket, Config, Credentials, Endpoint, Error, ObjectKey};

const DATE: &str = "Wed, 28 Dec 2022 10:27:41 GMT";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_672_223_261)
}
fn config() -> Config {
    Config::v1(Endpoint::parse("oss-cn-hangzhou.aliyuncs.com").unwrap())
}
fn bucket() -> Bucket {
    Bucket::new("examplebucket").unwrap()
}
fn key() -> ObjectKey {
    ObjectKey::new("dir/a b.txt").unwrap()
}
fn callback() -> Callback {
    Callback::builder("https://app.example.com/cb")
        .body("bucket=${bucket}&object=${object}&uid=${x:uid}")
        .var("x:uid", "42")
        .build()
        .unwrap()
}

/// Signs `request` and checks method, URL, the exact header set (with the
/// Authorization computed from `string_to_sign`) and body.
fn check<B: std::fmt::Debug + PartialEq>(
    request: osscb_core::OssRequest<B>,
    credentials: &Credentials,
    method: &str,
    url: &str,
    string_to_sign: &str,
    headers: &[(&str, &str)],
    body: &B,
) {
    assert_eq!(
        request
            .signing_strings(&config(), credentials, now())
            .unwrap()
            .string_to_sign,
        string_to_sign
    );
    let signed = request.sign(&config(), credentials, now()).unwrap();
    assert_eq!(signed.method(), method);
    assert_eq!(signed.uri().to_string(), url);
    let authorization = format!(
        "OSS {}:{}",
        credentials.access_key_id(),
        v1::signature(credentials.access_key_secret(), string_to_sign),
    );
    let mut want: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    want.push(("authorization".into(), authorization));
    want.push(("date".into(), DATE.into()));
    want.sort();
    let mut got: Vec<(String, String)> = signed
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(signed.body(), body);
}

#[test]
fn put_object_with_everything() {
    let cb = callback();
    let put = PutObject::new(bucket(), key())
        .options(WriteOptions {
            content_type: Some("text/plain".into()),
            metadata: [("Author".to_owned(), "alice".to_owned())].into(),
            acl: Some(ObjectAcl::Private),
            storage_class: Some(StorageClass::InfrequentAccess),
            forbid_overwrite: true,
        })
        .content_md5("XrY7u+Ae7tCTyyK7j1rNww==")
        .content_length(11)
        .callback(cb.clone());
    let request = put
        .request()
        .unwrap()
        .map_body(|()| b"hello world".to_vec());
    let credentials = Credentials::new("ak", "sk").with_security_token("sts-token");
    let sts = format!(
        "PUT\nXrY7u+Ae7tCTyyK7j1rNww==\ntext/plain\n{DATE}\nx-oss-callback:{}\nx-oss-callback-var:{}\nx-oss-forbid-overwrite:true\nx-oss-meta-author:alice\nx-oss-object-acl:private\nx-oss-security-token:sts-token\nx-oss-storage-class:IA\n/examplebucket/dir/a b.txt",
        cb.encoded(),
        cb.encoded_variables().unwrap()
    );
    check(
        request,
        &credentials,
        "PUT",
        "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/a%20b.txt",
        &sts,
        &[
            ("content-length", "11"),
            ("content-md5", "XrY7u+Ae7tCTyyK7j1rNww=="),
            ("content-type", "text/plain"),
            ("x-oss-callback", cb.encoded()),
            ("x-oss-callback-var", cb.encoded_variables().unwrap()),
            ("x-oss-forbid-overwrite", "true"),
            ("x-oss-meta-author", "alice"),
            ("x-oss-object-acl", "private"),
            ("x-oss-security-token", "sts-token"),
            ("x-oss-storage-class", "IA"),
        ],
        &b"hello world".to_vec(),
    );
}

#[test]
fn abort_multipart_upload_request() {
    let c = Credentials::new("ak", "sk");
    let base = "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/a%20b.txt";
    check(
        AbortMultipartUpload::new(bucket(), key(), "UP")
            .request()
            .unwrap(),
        &c,
        "DELETE",
        &format!("{base}?uploadId=UP"),
        &format!("DELETE\n\n\n{DATE}\n/examplebucket/dir/a b.txt?uploadId=UP"),
        &[],
        &(),
    );
}

#[test]
fn read_and_delete_requests() {
    let c = Credentials::new("ak", "sk");
    let base = "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/a%20b.txt";
    check(
        HeadObject::new(bucket(), key())
            .version_id("v1")
            .request()
            .unwrap(),
        &c,
        "HEAD",
        &format!("{base}?versionId=v1"),
        &format!("HEAD\n\n\n{DATE}\n/examplebucket/dir/a b.txt?versionId=v1"),
        &[],
        &(),
    );
    check(
        GetObject::new(bucket(), key())
            .range(100..=199)
            .request()
            .unwrap(),
        &c,
        "GET",
        base,
        &format!("GET\n\n\n{DATE}\n/examplebucket/dir/a b.txt"),
        &[("range", "bytes=100-199")],
        &(),
    );
    check(
        GetObject::new(bucket(), key())
            .range(7..)
            .request()
            .unwrap(),
        &c,
        "GET",
        base,
        &format!("GET\n\n\n{DATE}\n/examplebucket/dir/a b.txt"),
        &[("range", "bytes=7-")],
        &(),
    );
    check(
        GetObject::new(bucket(), key())
            .range(100..200)
            .request()
            .unwrap(),
        &c,
        "GET",
        base,
        &format!("GET\n\n\n{DATE}\n/examplebucket/dir/a b.txt"),
        &[("range", "bytes=100-199")],
        &(),
    );
    check(
        DeleteObject::new(bucket(), key()).request().unwrap(),
        &c,
        "DELETE",
        base,
        &format!("DELETE\n\n\n{DATE}\n/examplebucket/dir/a b.txt"),
        &[],
        &(),
    );
}

#[test]
fn presigned_put_carries_the_callback_in_the_query() {
    let cb = Callback::builder("https://app.example.com/cb")
        .body(r#"{"object":${object}}"#)
        .body_type(CallbackBodyType::Json)
        .build()
        .unwrap();
    let put = PutObject::new(bucket(), key())
        .content_type("text/plain")
        .callback(cb.clone());
    let presigned = put
        .request()
        .unwrap()
        .presign(
            &config(),
            &Credentials::new("ak", "sk"),
            now(),
            Duration::from_secs(3600),
        )
        .unwrap();
    let expires = 1_672_223_261 + 3600;
    let sts = format!(
        "PUT\n\ntext/plain\n{expires}\n/examplebucket/dir/a b.txt?callback={}",
        cb.encoded()
    );
    let sig = v1::signature("sk", &sts);
    let enc = |s: &str| {
        s.replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    };
    assert_eq!(
        presigned.url.to_string(),
        format!(
            "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/a%20b.txt?Expires={expires}&OSSAccessKeyId=ak&Signature={}&callback={}",
            enc(&sig),
            enc(cb.encoded())
        )
    );
    assert_eq!(presigned.method, "PUT");
    assert_eq!(presigned.headers.len(), 1);
    assert_eq!(presigned.headers["content-type"], "text/plain");
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> http::Response<Vec<u8>> {
    let mut b = http::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

const OBJECT_HEADERS: [(&str, &str); 4] = [
    ("etag", "\"0F7230CAA4BE94CCBDC99C5500000000-3\""),
    ("x-oss-hash-crc64ecma", "11051210869376104954"),
    ("x-oss-request-id", "5C3D9175B6FC201293AD4890"),
    (
        "x-oss-version-id",
        "CAEQNhiBgMDJgZCA0BYiIDc4MGZjZGI2OTBjOTRmNTE5NmU5NmFhZjhjYmY0****",
    ),
];

#[test]
fn parsers_read_the_documented_responses() {
    // 203: the object is stored; its facts travel with the error.
    let failed_xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>CallbackFailed</Code>\n  <Message>Error status : 301.</Message>\n  <RequestId>5C3D9175B6FC201293AD****</RequestId>\n  <HostId>bucket.oss-cn-hangzhou.aliyuncs.com</HostId>\n  <EC>0007-00000203</EC>\n</Error>";
    let err = PutObject::new(bucket(), key())
        .callback(callback())
        .parse(response(203, &OBJECT_HEADERS, failed_xml))
        .unwrap_err();
    let Error::CallbackFailed(failed) = err else {
        panic!("{err:?}")
    };
    assert_eq!(failed.object.etag.as_deref(), Some(OBJECT_HEADERS[0].1));
    assert_eq!(failed.object.crc64, Some(11_051_210_869_376_104_954));
    assert_eq!(
        failed.object.version_id.as_deref(),
        Some(OBJECT_HEADERS[3].1)
    );
    assert_eq!(
        failed.object.request_id.as_deref(),
        Some("5C3D9175B6FC201293AD4890")
    );
    assert_eq!(
        (failed.error.code.as_str(), failed.error.message.as_str()),
        ("CallbackFailed", "Error status : 301.")
    );
    assert_eq!(failed.error.body, failed_xml.as_bytes());

    let head = HeadObject::new(bucket(), key())
        .parse(response(
            200,
            &[
                ("content-length", "344606"),
                ("content-type", "image/jpg"),
                ("last-modified", "Fri, 24 Feb 2012 06:07:48 GMT"),
                ("x-oss-meta-author", "alice"),
                ("x-oss-object-type", "Normal"),
                ("x-oss-storage-class", "Standard"),
                OBJECT_HEADERS[0],
            ],
            "",
        ))
        .unwrap();
    assert_eq!(head.content_length, Some(344_606));
    assert_eq!(
        head.last_modified,
        Some(UNIX_EPOCH + Duration::from_secs(1_330_063_668))
    );
    assert_eq!(
        head.user_metadata.get("author").map(String::as_str),
        Some("alice")
    );
    assert_eq!(
        (head.object_type.as_deref(), head.storage_class.as_deref()),
        (Some("Normal"), Some("Standard"))
    );

    let missing = HeadObject::new(bucket(), key())
        .parse(response(
            404,
            &[
                (
                    "x-oss-err",
                    "PEVycm9yPjxDb2RlPk5vU3VjaEtleTwvQ29kZT48L0Vycm9yPg==",
                ),
                ("x-oss-ec", "0026-00000001"),
            ],
            "",
        ))
        .unwrap_err();
    let service = missing.service().unwrap();
    assert_eq!(
        (service.code.as_str(), service.ec.as_str()),
        ("NoSuchKey", "0026-00000001")
    );

    let got = GetObject::new(bucket(), key())
        .parse(response(
            206,
            &[("content-range", "bytes 0-9/100"), ("content-length", "10")],
            "",
        ))
        .unwrap();
    assert_eq!(got.content_range.as_deref(), Some("bytes 0-9/100"));

    let deleted = DeleteObject::new(bucket(), key())
        .parse(response(
            204,
            &[
                ("x-oss-request-id", "R"),
                ("x-oss-delete-marker", "true"),
                ("x-oss-version-id", "V"),
            ],
            "",
        ))
        .unwrap();
    assert_eq!(
        (
            deleted.request_id.as_deref(),
            deleted.version_id.as_deref(),
            deleted.delete_marker
        ),
        (Some("R"), Some("V"), true)
    );
    let aborted = AbortMultipartUpload::new(bucket(), key(), "U")
        .parse(response(204, &[("x-oss-request-id", "R")], ""))
        .unwrap();
    assert_eq!(aborted.request_id.as_deref(), Some("R"));
}

#[test]
fn writes_check_the_crc64_of_the_body_sent_and_other_operations_pass() {
    const REPORTED: u64 = 11_051_210_869_376_104_954;
    let put = PutObject::new(bucket(), key());
    let stored = put.parse(response(200, &OBJECT_HEADERS, "")).unwrap();
    put.check_crc64(&stored, REPORTED).unwrap();
    assert!(matches!(
        put.check_crc64(&stored, 1),
        Err(Error::Crc64Mismatch {
            computed: 1,
            reported: REPORTED
        })
    ));
    // parse_checked: both steps, as a transport reads every answer.
    assert!(matches!(
        put.parse_checked(response(200, &OBJECT_HEADERS, ""), 1),
        Err(Error::Crc64Mismatch { computed: 1, .. })
    ));
    assert_eq!(
        put.parse_checked(response(200, &OBJECT_HEADERS, ""), REPORTED)
            .unwrap()
            .object,
        stored.object
    );
}
