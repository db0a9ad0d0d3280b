//! The operations' response parsers on any status, headers and body: the
//! error XML, `x-oss-err`, 203 `CallbackFailed`, the facts headers. They
//! must not panic, and an error answer must become `Error::Service` or
//! `Error::CallbackFailed` keeping the raw body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use osscb_core::callback::Callback;
use osscb_core::ops::{
    AbortMultipartUpload, DeleteObject, GetObject, HeadObject, Operation, PutObject,
};
use osscb_core::{Bucket, Error, ObjectKey};

/// Reads the input as an HTTP answer: `HTTP/1.1 404 ...` (any status line
/// with a number), header lines, an empty line, the body. What does not fit
/// (a bad status, header or line) is skipped, never refused, so that every
/// input reaches the parsers.
fn response(input: &[u8]) -> Option<http::Response<Vec<u8>>> {
    let split = input.windows(4).position(|w| w == b"\r\n\r\n");
    let (head, body) = match split {
        Some(at) => (&input[..at], &input[at + 4..]),
        None => (input, &[][..]),
    };
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next()?;
    let status = std::str::from_utf8(status_line)
        .ok()?
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(200);
    let mut response = http::Response::builder().status(status);
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = line[colon + 1..].trim_ascii();
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(&line[..colon]),
            http::HeaderValue::from_bytes(value),
        ) {
            response = response.header(name, value);
        }
    }
    response.body(body.to_vec()).ok()
}

/// An error must keep the status and the raw body (or the decoded `x-oss-err`).
fn check<T>(status: u16, result: Result<T, Error>) {
    match result {
        Err(Error::Service(e)) => assert_eq!(e.status.as_u16(), status),
        Err(Error::CallbackFailed(e)) => assert_eq!(status, 203, "{e}"),
        _ => {}
    }
}

fuzz_target!(|input: &[u8]| {
    let Some(response) = response(input) else {
        return;
    };
    let (Ok(bucket), Ok(key)) = (Bucket::new("examplebucket"), ObjectKey::new("k")) else {
        return;
    };
    let status = response.status().as_u16();
    let again = || {
        let mut r = http::Response::new(response.body().clone());
        *r.status_mut() = response.status();
        *r.headers_mut() = response.headers().clone();
        r
    };
    check(
        status,
        HeadObject::new(bucket.clone(), key.clone()).parse(again()),
    );
    let get = GetObject::new(bucket.clone(), key.clone());
    if let Ok(meta) = get.parse(again()) {
        let _ = get.check_body(&meta, b"body", None);
    }
    check(
        status,
        GetObject::new(bucket.clone(), key.clone())
            .range(3..9)
            .parse(again()),
    );
    check(
        status,
        PutObject::new(bucket.clone(), key.clone()).parse_checked(again(), 0),
    );
    if let Ok(callback) = Callback::builder("http://127.0.0.1:1/cb")
        .body("b=${bucket}")
        .build()
    {
        let put = PutObject::new(bucket.clone(), key.clone()).callback(callback);
        check(status, put.parse(again()));
    }
    check(
        status,
        DeleteObject::new(bucket.clone(), key.clone()).parse(again()),
    );
    check(
        status,
        AbortMultipartUpload::new(bucket, key, "id").parse(again()),
    );
});
