//! The `x-oss-err` header of bodiless error answers (HEAD, or a body a proxy
//! dropped): any bytes, base64-encoded, become the error's body and are read
//! as the error XML without panicking; any header value at all is survived.

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use osscb_core::ops::{HeadObject, Operation};
use osscb_core::{Bucket, Error, ObjectKey};

fuzz_target!(|data: &[u8]| {
    let (Ok(bucket), Ok(key)) = (Bucket::new("examplebucket"), ObjectKey::new("k")) else {
        return;
    };
    let head = HeadObject::new(bucket, key);
    let status = 400 + u16::from(data.first().copied().unwrap_or(4) % 100);
    // The document, base64-encoded as OSS sends it: it is the error's body.
    let encoded = STANDARD.encode(data);
    let Ok(response) = http::Response::builder()
        .status(status)
        .header("x-oss-err", encoded.as_str())
        .header("x-oss-ec", "0002-00000001")
        .body(Vec::<u8>::new())
    else {
        return;
    };
    match head.parse(response) {
        Err(Error::Service(e)) => {
            assert_eq!(e.status.as_u16(), status);
            assert_eq!(e.body, data);
            if e.ec.is_empty() {
                panic!("the x-oss-ec header was not used: {e:?}");
            }
        }
        other => panic!("an error status must give Error::Service: {other:?}"),
    }
    // The raw bytes as the header value, when they can be one.
    if let Ok(response) = http::Response::builder()
        .status(status)
        .header("x-oss-err", data)
        .body(Vec::<u8>::new())
    {
        let _ = head.parse(response);
    }
});
