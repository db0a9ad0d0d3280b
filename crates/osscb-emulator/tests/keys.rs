//! Object keys are literal: `a/../b`, `a/./c`, `..`, `x/..` and `./x` are
//! keys of their own. Each is stored and read back under V1 and V4, header
//! signatures and presigned URLs, in path and virtual-hosted style, over a
//! plain hyper client that sends the path exactly as osscb-core writes it.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use http::Request;
use osscb_core::Region;
use osscb_core::ops::{GetObject, Operation, PutObject};
use osscb_core::{AddressingStyle, Config, Endpoint};
use osscb_emulator::Emulator;

const DOT_KEYS: [&str; 5] = ["a/../b", "a/./c", "..", "x/..", "./x"];

/// Path style (`127.0.0.1`) and virtual-hosted style (`bucket.oss.localhost`,
/// the emulator reads the bucket from `Host`), each with V1 and V4.
fn configs(emu: &Emulator) -> Vec<(&'static str, Config)> {
    let path = Endpoint::parse(&emu.endpoint()).expect("endpoint");
    let hosted = Endpoint::parse(&format!("http://oss.localhost:{}", emu.addr().port()))
        .expect("endpoint")
        .with_style(AddressingStyle::VirtualHosted);
    let region = Region::new("cn-hangzhou").expect("region");
    vec![
        ("path v1", Config::v1(path.clone())),
        ("path v4", Config::v4(path, region.clone())),
        ("hosted v1", Config::v1(hosted.clone())),
        ("hosted v4", Config::v4(hosted, region)),
    ]
}

#[tokio::test]
async fn dot_segment_keys_are_stored_and_read_back_as_themselves() {
    let emu = emulator();
    for (style, config) in configs(&emu) {
        for key in DOT_KEYS {
            let body = format!("{style}: {key}").into_bytes();
            let put = PutObject::new(b("bucket"), k(key)).content_length(body.len() as u64);
            let req = put
                .request()
                .expect("request")
                .map_body(|()| body.clone())
                .sign(&config, &creds(), SystemTime::now())
                .expect("sign");
            let path = req.uri().path().to_owned();
            assert!(
                !path.split('/').any(|s| s == "." || s == ".."),
                "{style} {key}: {path}"
            );
            let r = send(emu.addr(), req).await;
            assert_eq!(r.status, 200, "{style} {key}: {}", r.text());
        }
        // Every key holds its own object: none was normalised into another.
        for key in DOT_KEYS {
            let want = format!("{style}: {key}").into_bytes();
            let get = GetObject::new(b("bucket"), k(key));
            let req = get
                .request()
                .expect("request")
                .map_body(|()| Vec::new())
                .sign(&config, &creds(), SystemTime::now())
                .expect("sign");
            let r = send(emu.addr(), req).await;
            assert_eq!((r.status, &r.body), (200, &want), "{style} {key}");

            let presigned = get
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
                Request::get(presigned.url.to_string())
                    .body(Vec::new())
                    .expect("req"),
            )
            .await;
            assert_eq!(
                (r.status, &r.body),
                (200, &want),
                "{style} {key} presigned: {}",
                presigned.url
            );
        }
    }
}

#[tokio::test]
async fn dot_segment_urls_are_exact() {
    let emu = emulator();
    let config = config(&emu);
    let base = emu.endpoint();
    for (key, path) in [
        ("a/../b", "/bucket/a%2F%2E%2E%2Fb"),
        ("a/./c", "/bucket/a%2F%2E%2Fc"),
        ("..", "/bucket%2F%2E%2E"),
        ("x/..", "/bucket/x%2F%2E%2E"),
        ("./x", "/bucket/%2E%2Fx"),
    ] {
        let req = GetObject::new(b("bucket"), k(key))
            .request()
            .expect("request")
            .sign(&config, &creds(), SystemTime::now())
            .expect("sign");
        assert_eq!(req.uri().to_string(), format!("{base}{path}"));
    }
}
