//! The multipart steps' requests (method, URL, every header, body) and
//! parsers, with the XML examples of OSS's API reference and the Go SDK v2 tests; their bad inputs and
//! hostile answers. Unit tests: the steps are the core's own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{
    CompleteMultipartUpload, CompletedPart, DEFAULT_PART_SIZE, InitiateMultipartUpload,
    MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, PartPlan, UploadPart,
};
use crate::callback::Callback;
use crate::ops::{Operation, WriteOptions};
use crate::response::MAX_BODY_LEN;
use crate::sign::v1;
use crate::{Bucket, Config, Credentials, Endpoint, Error, ObjectKey, OssRequest};

const DATE: &str = "Wed, 28 Dec 2022 10:27:41 GMT";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_672_223_261)
}
fn config() -> Config {
    Config::v1(Endpoint::parse("oss-cn-hangzhou.aliyuncs.com").unwrap_or_else(|e| panic!("{e}")))
}
fn bucket() -> Bucket {
    Bucket::new("examplebucket").unwrap_or_else(|e| panic!("{e}"))
}
fn key() -> ObjectKey {
    ObjectKey::new("dir/a b.txt").unwrap_or_else(|e| panic!("{e}"))
}
fn callback() -> Callback {
    Callback::builder("https://app.example.com/cb")
        .body("bucket=${bucket}&object=${object}&uid=${x:uid}")
        .var("x:uid", "42")
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}
fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}
fn part(part_number: u32, etag: &str) -> CompletedPart {
    CompletedPart {
        part_number,
        etag: etag.to_owned(),
    }
}

/// Signs `request` and checks method, URL, the exact header set (with the
/// Authorization computed from `string_to_sign`) and body.
fn check<B: std::fmt::Debug + PartialEq>(
    request: OssRequest<B>,
    method: &str,
    url: &str,
    string_to_sign: &str,
    headers: &[(&str, &str)],
    body: &B,
) {
    let credentials = Credentials::new("ak", "sk");
    assert_eq!(
        ok(request.signing_strings(&config(), &credentials, now())).string_to_sign,
        string_to_sign
    );
    let signed = ok(request.sign(&config(), &credentials, now()));
    assert_eq!(signed.method(), method);
    assert_eq!(signed.uri().to_string(), url);
    let authorization = format!("OSS ak:{}", v1::signature("sk", string_to_sign));
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
        .map(|(k, v)| (k.as_str().to_owned(), ok(v.to_str()).to_owned()))
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(signed.body(), body);
}

fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> http::Response<Vec<u8>> {
    let mut b = http::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    ok(b.body(body.to_vec()))
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
fn multipart_requests() {
    let base = "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/a%20b.txt";
    let initiate = InitiateMultipartUpload::new(bucket(), key()).options(WriteOptions {
        content_type: Some("video/mp4".into()),
        ..WriteOptions::default()
    });
    check(
        ok(initiate.request()),
        "POST",
        &format!("{base}?uploads"),
        &format!("POST\n\nvideo/mp4\n{DATE}\n/examplebucket/dir/a b.txt?uploads"),
        &[("content-type", "video/mp4")],
        &(),
    );
    let upload = UploadPart::new(bucket(), key(), "0004B9894A22E5B1888A1E29F823****", 3)
        .content_length(102_400);
    check(
        ok(upload.request()),
        "PUT",
        &format!("{base}?partNumber=3&uploadId=0004B9894A22E5B1888A1E29F823%2A%2A%2A%2A"),
        &format!(
            "PUT\n\n\n{DATE}\n/examplebucket/dir/a b.txt?partNumber=3&uploadId=0004B9894A22E5B1888A1E29F823****"
        ),
        &[("content-length", "102400")],
        &(),
    );
    let cb = callback();
    let complete = CompleteMultipartUpload::new(
        bucket(),
        key(),
        "UP",
        vec![part(2, "\"B2\""), part(1, "\"4DE8&\"")],
    )
    .callback(cb.clone());
    let body = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"4DE8&amp;\"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>\"B2\"</ETag></Part></CompleteMultipartUpload>".to_vec();
    let variables = cb.encoded_variables().unwrap_or_default();
    check(
        ok(complete.request()),
        "POST",
        &format!("{base}?uploadId=UP"),
        &format!(
            "POST\n\n\n{DATE}\nx-oss-callback:{}\nx-oss-callback-var:{variables}\n/examplebucket/dir/a b.txt?uploadId=UP",
            cb.encoded(),
        ),
        &[
            ("content-length", &body.len().to_string()),
            ("x-oss-callback", cb.encoded()),
            ("x-oss-callback-var", variables),
        ],
        &body,
    );
}

#[test]
fn parsers_read_the_documented_responses() {
    let initiate = ok(InitiateMultipartUpload::new(bucket(), key()).parse(response(
        200,
        &[("x-oss-request-id", "RID")],
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult xmlns=\"http://doc.oss-cn-hangzhou.aliyuncs.com\">\n    <Bucket>oss-example</Bucket>\n    <Key>multipart.data</Key>\n    <UploadId>0004B9894A22E5B1888A1E29F823****</UploadId>\n</InitiateMultipartUploadResult>",
    )));
    assert_eq!(
        (initiate.upload_id.as_str(), initiate.request_id.as_deref()),
        ("0004B9894A22E5B1888A1E29F823****", Some("RID"))
    );

    let uploaded =
        ok(UploadPart::new(bucket(), key(), "U", 2).parse(response(200, &OBJECT_HEADERS, b"")));
    assert_eq!(uploaded.part_number, 2);
    assert_eq!(uploaded.object.crc64, Some(11_051_210_869_376_104_954));

    let complete = ok(CompleteMultipartUpload::new(bucket(), key(), "U", vec![]).parse(response(
        200,
        &OBJECT_HEADERS[1..],
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult xmlns=\"http://doc.oss-cn-hangzhou.aliyuncs.com\">\n  <Location>http://oss-example.oss-cn-hangzhou.aliyuncs.com/multipart.data</Location>\n  <Bucket>oss-example</Bucket>\n  <Key>multipart.data</Key>\n  <ETag>\"B864DB6A936D376F9F8D3ED3BBE540****\"</ETag>\n</CompleteMultipartUploadResult>",
    )));
    assert_eq!(
        complete.location.as_deref(),
        Some("http://oss-example.oss-cn-hangzhou.aliyuncs.com/multipart.data")
    );
    assert_eq!(
        complete.object.etag.as_deref(),
        Some("\"B864DB6A936D376F9F8D3ED3BBE540****\"")
    );
    assert_eq!(complete.callback, None);

    // With a callback the app server's JSON replaces the XML result and is never XML-parsed.
    let with_cb = CompleteMultipartUpload::new(bucket(), key(), "U", vec![]).callback(callback());
    let answered = ok(with_cb.parse(response(
        200,
        &OBJECT_HEADERS,
        br#"{"Status":"OK","<Error>":1}"#,
    )));
    assert_eq!(
        answered.callback.map(|a| a.text()).as_deref(),
        Some(r#"{"Status":"OK","<Error>":1}"#)
    );
    assert_eq!(answered.object.etag.as_deref(), Some(OBJECT_HEADERS[0].1));
    assert_eq!(answered.location, None);

    // 203: the object is stored; its facts travel with the error.
    let failed_xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>CallbackFailed</Code>\n  <Message>Error status : 301.</Message>\n  <RequestId>5C3D9175B6FC201293AD****</RequestId>\n  <HostId>bucket.oss-cn-hangzhou.aliyuncs.com</HostId>\n  <EC>0007-00000203</EC>\n</Error>";
    let err = with_cb
        .parse(response(203, &OBJECT_HEADERS, failed_xml.as_bytes()))
        .err();
    let Some(Error::CallbackFailed(failed)) = err else {
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
}

#[test]
fn parts_check_the_crc64_of_the_body_sent_and_complete_passes() {
    const REPORTED: u64 = 11_051_210_869_376_104_954;
    let upload = UploadPart::new(bucket(), key(), "U", 2);
    let uploaded = ok(upload.parse(response(200, &OBJECT_HEADERS, b"")));
    ok(upload.check_crc64(&uploaded, REPORTED));
    assert!(matches!(
        upload.check_crc64(&uploaded, 1),
        Err(Error::Crc64Mismatch { computed: 1, .. })
    ));
    // CompleteMultipartUpload reports the object's CRC, not that of the XML sent.
    let complete = CompleteMultipartUpload::new(bucket(), key(), "U", vec![]);
    let done = ok(complete.parse(response(
        200,
        &OBJECT_HEADERS,
        b"<CompleteMultipartUploadResult><ETag>\"E\"</ETag></CompleteMultipartUploadResult>",
    )));
    ok(complete.check_crc64(&done, 1));
}

/// What a case must produce, checked by variant and content.
type Check = fn(&Error) -> bool;

#[test]
fn each_bad_input_gives_its_specific_error() {
    let initiate = || InitiateMultipartUpload::new(bucket(), key());
    let cases: Vec<(&str, Result<(), Error>, Check)> = vec![
        ("part number zero", UploadPart::new(bucket(), key(), "U", 0).request().map(drop), |e| matches!(e, Error::InvalidPartNumber(0))),
        ("part number 10001", UploadPart::new(bucket(), key(), "U", 10_001).request().map(drop), |e| matches!(e, Error::InvalidPartNumber(10_001))),
        (
            "complete without parts",
            CompleteMultipartUpload::new(bucket(), key(), "U", vec![]).request().map(drop),
            |e| matches!(e, Error::InvalidArgument(m) if m.contains("at least one part")),
        ),
        (
            "complete with a repeated part",
            CompleteMultipartUpload::new(bucket(), key(), "U", vec![part(1, "\"A\""), part(1, "\"B\"")])
                .request()
                .map(drop),
            |e| matches!(e, Error::InvalidArgument(m) if m.contains("twice")),
        ),
        (
            "initiate result that is not XML",
            initiate().parse(response(200, &[], b"{\"json\":true}")).map(drop),
            |e| matches!(e, Error::MalformedResponse(m) if m.contains("XML")),
        ),
        (
            "initiate result without UploadId",
            initiate().parse(response(200, &[], b"<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>")).map(drop),
            |e| matches!(e, Error::MalformedResponse(_)),
        ),
        (
            "initiate result with empty UploadId",
            initiate().parse(response(200, &[], b"<InitiateMultipartUploadResult><UploadId></UploadId></InitiateMultipartUploadResult>")).map(drop),
            |e| matches!(e, Error::MalformedResponse(m) if m.contains("empty UploadId")),
        ),
        (
            "truncated XML",
            initiate().parse(response(200, &[], b"<InitiateMultipartUploadResult><UploadId>U</UploadId>")).map(drop),
            |e| matches!(e, Error::MalformedResponse(_)),
        ),
        ("XML that is not UTF-8", initiate().parse(response(200, &[], b"<InitiateMultipartUploadResult>\xff\xfe</InitiateMultipartUploadResult>")).map(drop), |e| matches!(e, Error::MalformedResponse(m) if m.contains("UTF-8"))),
        (
            "oversized XML",
            initiate().parse(response(200, &[], &vec![b' '; MAX_BODY_LEN + 1])).map(drop),
            |e| matches!(e, Error::ResponseTooLarge { .. }),
        ),
        ("upload part without ETag", UploadPart::new(bucket(), key(), "U", 1).parse(response(200, &[], b"")).map(drop), |e| matches!(e, Error::MalformedResponse(m) if m.contains("ETag"))),
    ];
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
        b"<InitiateMultipartUploadResult><UploadId><UploadId>x</UploadId></UploadId></InitiateMultipartUploadResult>".to_vec(),
        b"<CompleteMultipartUploadResult><ETag><ETag>x</ETag></ETag></CompleteMultipartUploadResult>".to_vec(),
        (0..=255u8).collect(),
        "<Error><Message>中文\u{0}</Message></Error>".as_bytes().to_vec(),
    ];
    for status in [200u16, 203, 206, 400, 403, 404, 500, 503] {
        for body in &bodies {
            let r = || response(status, &OBJECT_HEADERS[1..], body);
            let _ = InitiateMultipartUpload::new(bucket(), key()).parse(r());
            let _ = UploadPart::new(bucket(), key(), "U", 1).parse(r());
            let _ = CompleteMultipartUpload::new(bucket(), key(), "U", vec![])
                .callback(callback())
                .parse(r());
            let _ = CompleteMultipartUpload::new(bucket(), key(), "U", vec![]).parse(r());
        }
    }
}

#[test]
fn plans_grow_to_stay_within_ten_thousand_parts() {
    let p = PartPlan::new(64 * 1024 * 1024, DEFAULT_PART_SIZE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((p.part_size, p.part_count), (DEFAULT_PART_SIZE, 8));
    assert_eq!(p.part(8), Some((56 * 1024 * 1024, 8 * 1024 * 1024)));
    assert_eq!(p.part(9), None);
    let p = PartPlan::new(0, DEFAULT_PART_SIZE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((p.part_count, p.part(1)), (1, Some((0, 0))));
    let big = 100 * 1024 * 1024 * 1024; // 100 GiB
    let p = PartPlan::new(big, DEFAULT_PART_SIZE).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.part_count <= MAX_PARTS);
    assert_eq!(p.part_size, 11 * 1024 * 1024);
    // Small preferred sizes are kept when they fit in 10,000 parts.
    let p = PartPlan::new(250_000, MIN_PART_SIZE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((p.part_size, p.part_count), (MIN_PART_SIZE, 3));
    assert!(PartPlan::new(10, 1024).is_err());
    assert!(PartPlan::new(MAX_PART_SIZE * 10_001, MAX_PART_SIZE).is_err());
}
