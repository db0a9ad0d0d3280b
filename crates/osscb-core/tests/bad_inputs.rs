//! Bad input gets a clear, typed error before any byte is sent, and no input
//! (hostile responses included) panics.

#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::time::{Duration, SystemTime};

use osscb_core::callback::{Callback, CallbackError};
use osscb_core::ops::{GetObject, Operation, PutObject, WriteOptions};
use osscb_core::{Bucket, Config, Credentials, Endpoint, Error, ObjectKey};

fn bucket() -> Bucket {
    Bucket::new("examplebucket").unwrap()
}
fn key() -> ObjectKey {
    ObjectKey::new("k").unwrap()
}

/// What a case must produce, checked by variant and content.
type Check = fn(&Error) -> bool;

fn callback_err(e: &Error, want: &CallbackError) -> bool {
    matches!(e, Error::InvalidCallback(got) if got == want)
}

fn response(status: u16, body: &[u8]) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .body(body.to_vec())
        .unwrap()
}

#[test]
#[allow(clippy::reversed_empty_ranges)] // a reversed range is one of the bad inputs
fn each_bad_input_gives_its_specific_error() {
    let long_var = "v".repeat(5000);
    let cases: Vec<(&str, Result<(), Error>, Check)> = vec![
        ("bucket too short", Bucket::new("ab").map(drop), |e| matches!(e, Error::InvalidBucket { reason, .. } if reason.contains("3 to 63"))),
        ("bucket too long", Bucket::new("a".repeat(64)).map(drop), |e| matches!(e, Error::InvalidBucket { reason, .. } if reason.contains("3 to 63"))),
        ("bucket uppercase", Bucket::new("MyBucket").map(drop), |e| matches!(e, Error::InvalidBucket { reason, .. } if reason.contains("lowercase"))),
        ("bucket underscore", Bucket::new("my_bucket").map(drop), |e| matches!(e, Error::InvalidBucket { reason, .. } if reason.contains("lowercase"))),
        ("bucket leading hyphen", Bucket::new("-bucket").map(drop), |e| matches!(e, Error::InvalidBucket { reason, .. } if reason.contains("hyphen"))),
        ("bucket trailing hyphen", Bucket::new("bucket-").map(drop), |e| matches!(e, Error::InvalidBucket { reason, .. } if reason.contains("hyphen"))),
        ("key empty", ObjectKey::new("").map(drop), |e| matches!(e, Error::InvalidKey { reason, .. } if reason.contains("empty"))),
        ("key leading slash", ObjectKey::new("/a").map(drop), |e| matches!(e, Error::InvalidKey { reason, .. } if reason.contains("start"))),
        ("key leading backslash", ObjectKey::new("\\a").map(drop), |e| matches!(e, Error::InvalidKey { reason, .. } if reason.contains("start"))),
        ("key too long", ObjectKey::new("é".repeat(512)).map(drop), |e| matches!(e, Error::InvalidKey { reason, .. } if reason.contains("1023"))),
        ("key of 1024 ASCII bytes", ObjectKey::new("k".repeat(1024)).map(drop), |e| matches!(e, Error::InvalidKey { reason, .. } if reason.contains("1023"))),
        ("endpoint ftp", Endpoint::parse("ftp://oss-cn-hangzhou.aliyuncs.com").map(drop), |e| matches!(e, Error::InvalidEndpoint { reason, .. } if reason.contains("scheme"))),
        ("endpoint with path", Endpoint::parse("https://oss-cn-hangzhou.aliyuncs.com/bucket").map(drop), |e| matches!(e, Error::InvalidEndpoint { reason, .. } if reason.contains("path"))),
        ("endpoint with query", Endpoint::parse("oss-cn-hangzhou.aliyuncs.com?x=1").map(drop), |e| matches!(e, Error::InvalidEndpoint { reason, .. } if reason.contains("query"))),
        ("endpoint with credentials", Endpoint::parse("http://user:pw@127.0.0.1:9000").map(drop), |e| matches!(e, Error::InvalidEndpoint { reason, .. } if reason.contains("credentials"))),
        ("endpoint bad port", Endpoint::parse("127.0.0.1:99999").map(drop), |e| matches!(e, Error::InvalidEndpoint { reason, .. } if reason.contains("port"))),
        ("endpoint port zero", Endpoint::parse("127.0.0.1:0").map(drop), |e| matches!(e, Error::InvalidEndpoint { reason, .. } if reason.contains("port"))),
        ("endpoint empty", Endpoint::parse("").map(drop), |e| matches!(e, Error::InvalidEndpoint { reason, .. } if reason.contains("host"))),
        ("endpoint bad host", Endpoint::parse("oss cn.aliyuncs.com").map(drop), |e| matches!(e, Error::InvalidEndpoint { reason, .. } if reason.contains("host"))),
        ("callback no body", Callback::builder("https://a.example.com/").build().map(drop).map_err(Error::from), |e| callback_err(e, &CallbackError::EmptyBody)),
        (
            "callback six urls",
            (1..=6)
                .fold(Callback::builder("http://h0/"), |b, i| b.url(format!("http://h{i}/")))
                .body("b")
                .build()
                .map(drop)
                .map_err(Error::from),
            |e| callback_err(e, &CallbackError::TooManyUrls(7)),
        ),
        ("callback ftp url", Callback::builder("ftp://a/").body("b").build().map(drop).map_err(Error::from), |e| matches!(e, Error::InvalidCallback(CallbackError::InvalidUrl { reason, .. }) if reason.contains("http"))),
        ("callback url with ;", Callback::builder("http://a/;http://b/").body("b").build().map(drop).map_err(Error::from), |e| matches!(e, Error::InvalidCallback(CallbackError::InvalidUrl { reason, .. }) if reason.contains(';'))),
        ("callback url without host", Callback::builder("http:///x").body("b").build().map(drop).map_err(Error::from), |e| matches!(e, Error::InvalidCallback(CallbackError::InvalidUrl { reason, .. }) if reason.contains("host"))),
        ("callback url with space", Callback::builder("http://a/b c").body("b").build().map(drop).map_err(Error::from), |e| matches!(e, Error::InvalidCallback(CallbackError::InvalidUrl { reason, .. }) if reason.contains("spaces"))),
        ("callback bad host", Callback::builder("http://a/").host("a b").body("b").build().map(drop).map_err(Error::from), |e| callback_err(e, &CallbackError::InvalidHost("a b".into()))),
        ("callback var without x:", Callback::builder("http://a/").body("b").var("uid", "1").build().map(drop).map_err(Error::from), |e| callback_err(e, &CallbackError::InvalidVariableName("uid".into()))),
        ("callback var uppercase", Callback::builder("http://a/").body("b").var("x:Uid", "1").build().map(drop).map_err(Error::from), |e| callback_err(e, &CallbackError::InvalidVariableName("x:Uid".into()))),
        ("callback var empty name", Callback::builder("http://a/").body("b").var("x:", "1").build().map(drop).map_err(Error::from), |e| callback_err(e, &CallbackError::InvalidVariableName("x:".into()))),
        (
            "callback body over 5 KB",
            Callback::builder("http://a/").body("b".repeat(4000)).build().map(drop).map_err(Error::from),
            |e| matches!(e, Error::InvalidCallback(CallbackError::TooLarge { parameter: "callback", .. })),
        ),
        (
            "callback vars over 5 KB",
            Callback::builder("http://a/").body("b").var("x:v", long_var.clone()).build().map(drop).map_err(Error::from),
            |e| matches!(e, Error::InvalidCallback(CallbackError::TooLarge { parameter: "callback-var", .. })),
        ),
        ("callback decode not base64", Callback::decode("%%%", None).map(drop).map_err(Error::from), |e| matches!(e, Error::InvalidCallback(CallbackError::Malformed { parameter: "callback", .. }))),
        ("callback decode not json", Callback::decode("bm90IGpzb24=", None).map(drop).map_err(Error::from), |e| matches!(e, Error::InvalidCallback(CallbackError::Malformed { parameter: "callback", .. }))),
        (
            "callback decode unknown body type",
            Callback::decode("eyJjYWxsYmFja1VybCI6Imh0dHA6Ly9hLyIsImNhbGxiYWNrQm9keSI6ImIiLCJjYWxsYmFja0JvZHlUeXBlIjoidGV4dC9wbGFpbiJ9", None)
                .map(drop)
                .map_err(Error::from),
            |e| callback_err(e, &CallbackError::UnsupportedBodyType("text/plain".into())),
        ),
        ("range end before start", GetObject::new(bucket(), key()).range(10..=5).request().map(drop), |e| matches!(e, Error::InvalidArgument(m) if m.contains("range"))),
        ("empty range", GetObject::new(bucket(), key()).range(..0).request().map(drop), |e| matches!(e, Error::InvalidArgument(m) if m.contains("empty range"))),
        ("content type with newline", PutObject::new(bucket(), key()).content_type("text/plain\r\nx: y").request().map(drop), |e| matches!(e, Error::InvalidHeader { name } if name == "content-type")),
        (
            "metadata name with space",
            PutObject::new(bucket(), key())
                .options(WriteOptions { metadata: [("my name".to_owned(), "v".to_owned())].into(), ..WriteOptions::default() })
                .request()
                .map(drop),
            |e| matches!(e, Error::InvalidHeader { name } if name == "x-oss-meta-my name"),
        ),
        (
            // A header carries ASCII; OSS would store nothing of "Σ".
            "metadata value that is not ASCII",
            PutObject::new(bucket(), key())
                .options(WriteOptions { metadata: [("note".to_owned(), "Σ".to_owned())].into(), ..WriteOptions::default() })
                .request()
                .map(drop),
            |e| matches!(e, Error::InvalidHeader { name } if name == "x-oss-meta-note"),
        ),
        (
            "presign for zero seconds",
            GetObject::new(bucket(), key())
                .request()
                .and_then(|r| r.presign(&Config::v1(Endpoint::parse("127.0.0.1:9000").unwrap()), &Credentials::new("a", "b"), SystemTime::now(), Duration::ZERO))
                .map(drop),
            |e| matches!(e, Error::InvalidExpiry(d) if d.is_zero()),
        ),
        (
            "presign for eight days",
            GetObject::new(bucket(), key())
                .request()
                .and_then(|r| r.presign(&Config::v1(Endpoint::parse("127.0.0.1:9000").unwrap()), &Credentials::new("a", "b"), SystemTime::now(), Duration::from_secs(8 * 86_400)))
                .map(drop),
            |e| matches!(e, Error::InvalidExpiry(_)),
        ),
        (
            "STS token that cannot be a header",
            PutObject::new(bucket(), key())
                .request()
                .and_then(|r| r.sign(&Config::v1(Endpoint::parse("127.0.0.1:9000").unwrap()), &Credentials::new("a", "b").with_security_token("t\nx"), SystemTime::now()))
                .map(drop),
            |e| matches!(e, Error::InvalidHeader { name } if name == "x-oss-security-token"),
        ),
        (
            "oversized callback answer",
            PutObject::new(bucket(), key()).parse(response(200, &vec![b'{'; osscb_core::response::MAX_BODY_LEN + 1])).map(drop),
            |e| matches!(e, Error::ResponseTooLarge { .. }),
        ),
        ("error status with HTML body", GetObject::new(bucket(), key()).parse(response(502, b"<html>bad gateway</html>")).map(drop), |e| matches!(e, Error::Service(s) if s.status == 502 && s.code.is_empty())),
    ];
    assert!(cases.len() >= 30, "{} cases", cases.len());
    for (name, result, check) in cases {
        match result {
            Ok(()) => panic!("{name}: accepted"),
            Err(e) => {
                assert!(check(&e), "{name}: unexpected error {e:?}");
                assert!(!e.to_string().is_empty(), "{name}: empty message");
            }
        }
    }
}

/// Arbitrary bytes as response bodies never panic a parser.
#[test]
fn hostile_responses_never_panic() {
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"<".to_vec(),
        b"<Error>".to_vec(),
        b"<Error><Code>".to_vec(),
        b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaaaaaa\">]><Error><Code>&a;&a;</Code></Error>".to_vec(),
        b"<ListPartsResult><Part><PartNumber>99999999999999999999</PartNumber></Part></ListPartsResult>".to_vec(),
        b"<ListPartsResult><IsTruncated>maybe</IsTruncated></ListPartsResult>".to_vec(),
        b"<CompleteMultipartUploadResult><ETag><ETag>x</ETag></ETag></CompleteMultipartUploadResult>".to_vec(),
        (0..=255u8).collect(),
        "<Error><Message>中文\u{0}</Message></Error>".as_bytes().to_vec(),
    ];
    for status in [200u16, 203, 206, 400, 403, 404, 500, 503] {
        for body in &bodies {
            let r = || response(status, body);
            let _ = PutObject::new(bucket(), key())
                .callback(Callback::builder("http://a/").body("b").build().unwrap())
                .parse(r());
            let _ = GetObject::new(bucket(), key()).parse(r());
        }
    }
}
