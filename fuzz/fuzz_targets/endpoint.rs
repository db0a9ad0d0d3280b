//! The endpoint parser (what users type): no panic; a parsed endpoint
//! prints as a URL that parses back to itself, and requests for it are
//! built and signed (or refused) in every addressing style.

#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use osscb_core::ops::{HeadObject, Operation};
use osscb_core::{AddressingStyle, Bucket, Config, Credentials, Endpoint, ObjectKey};

fuzz_target!(|input: &str| {
    let Ok(endpoint) = Endpoint::parse(input) else {
        return;
    };
    let shown = endpoint.to_string();
    let reparsed = Endpoint::parse(&shown);
    assert!(
        reparsed.as_ref().is_ok_and(|r| *r == endpoint),
        "{input:?} → {shown:?} → {reparsed:?}"
    );
    let (Ok(bucket), Ok(key)) = (Bucket::new("examplebucket"), ObjectKey::new("a/../b c")) else {
        return;
    };
    let credentials = Credentials::new("id", "secret");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for style in [
        AddressingStyle::Path,
        AddressingStyle::VirtualHosted,
        AddressingStyle::Cname,
    ] {
        let config = Config::v1(endpoint.clone().with_style(style));
        if let Ok(request) = HeadObject::new(bucket.clone(), key.clone()).request() {
            let _ = request.sign(&config, &credentials, now);
        }
    }
});
