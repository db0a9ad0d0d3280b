//! Property tests against the emulator: whatever object key, user metadata
//! or query parameter the core accepts, the emulator accepts the request the
//! core signs (V1 and V4), and a GetObject of the key returns the bytes put;
//! what the core refuses, it refuses with a typed error before any byte is
//! sent. Each case is a real request on loopback, so the case count is small.

mod common;

use std::collections::BTreeMap;
use std::time::SystemTime;

use common::*;
use osscb_core::ops::{GetObject, HeadObject, Operation, PutObject, WriteOptions};
use osscb_core::{Config, Endpoint, Error, ObjectKey, Region};
use osscb_emulator::Emulator;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

/// Real requests each: 64 cases per property.
const CASES: u32 = 64;

fn runner() -> TestRunner {
    TestRunner::new(RunnerConfig {
        cases: CASES,
        // The minimal failing input is printed; nothing is written to disk.
        failure_persistence: None,
        ..RunnerConfig::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Both signature versions, for the same emulator.
fn configs(emu: &Emulator) -> [(&'static str, Config); 2] {
    let endpoint = || Endpoint::parse(&emu.endpoint()).expect("endpoint");
    [
        ("V1", Config::v1(endpoint())),
        (
            "V4",
            Config::v4(endpoint(), Region::new("cn-hangzhou").expect("region")),
        ),
    ]
}

/// Keys of any Unicode, weighted towards what URLs and signatures find hard:
/// `?#%+&=;`, spaces, control characters, `.`/`..` segments, leading `/` or
/// `\`, and lengths around the 1023-byte limit.
fn key_text() -> impl Strategy<Value = String> {
    let hard = prop::collection::vec(
        prop_oneof![
            select(vec![
                "?", "#", "%", "+", "&", "=", ";", " ", "/", "\\", ".", "..", "%2F", "%25", "\t",
                "\r\n", "\u{0}", "\u{7f}", "\u{85}", "\u{a0}", "é", "😀", "\u{202e}", "\u{fffd}",
                "a", "~", "*", "'", "(", ")", "!", "@", ":", "$", ",", "[", "]",
            ])
            .prop_map(str::to_owned),
            "\\PC{1,4}",
            "[\\x00-\\x1f]",
        ],
        1..12,
    )
    .prop_map(|parts| parts.concat());
    prop_oneof![
        4 => hard,
        2 => any::<String>(),
        1 => (1000usize..1030).prop_map(|n| "k".repeat(n)),
        1 => (340usize..345).prop_map(|n| "é😀".repeat(n / 2)),
    ]
}

/// Why `ObjectKey::new` must refuse `key`, if it must (the documented rules).
fn must_refuse(key: &str) -> bool {
    key.is_empty() || key.len() > 1023 || key.starts_with('/') || key.starts_with('\\')
}

#[test]
fn any_key_is_refused_or_round_trips_through_the_emulator_v1_and_v4() {
    let emu = emulator();
    let rt = runtime();
    let accepted = std::cell::Cell::new(0u32);
    let result = runner().run(&key_text(), |text| {
        let key = match ObjectKey::new(text.clone()) {
            Err(Error::InvalidKey { key, .. }) => {
                prop_assert!(must_refuse(&text), "{text:?} refused");
                prop_assert_eq!(key, text);
                return Ok(());
            }
            Err(other) => return Err(TestCaseError::fail(format!("{text:?}: {other:?}"))),
            Ok(key) => key,
        };
        prop_assert!(!must_refuse(&text), "{text:?} accepted");
        accepted.set(accepted.get() + 1);
        for (version, config) in configs(&emu) {
            let data = format!("{version}:{text}").into_bytes();
            let put = PutObject::new(b("bucket"), key.clone()).content_length(data.len() as u64);
            let request = put
                .request()
                .expect("request")
                .map_body(|()| data.clone())
                .sign(&config, &creds(), SystemTime::now())
                .expect("sign");
            let r = rt.block_on(send(emu.addr(), request));
            prop_assert_eq!(r.status, 200, "{} PUT {:?}: {}", version, text, r.text());

            let get = GetObject::new(b("bucket"), key.clone());
            let request = get
                .request()
                .expect("request")
                .map_body(|()| Vec::new())
                .sign(&config, &creds(), SystemTime::now())
                .expect("sign");
            let r = rt.block_on(send(emu.addr(), request));
            prop_assert_eq!(r.status, 200, "{} GET {:?}: {}", version, text, r.text());
            prop_assert_eq!(&r.body, &data, "{} GET {:?}", version, text);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let accepted = accepted.get();
    assert!(accepted > CASES / 2, "only {accepted} keys accepted");
}

/// Metadata names: valid ones, mixed case, and anything.
fn meta_name() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-zA-Z0-9_.-]{1,16}", 1 => any::<String>()]
}

/// Metadata values: printable ASCII with spaces and tabs at either end, and
/// any ASCII (control characters cannot travel in a header: the core
/// refuses them).
///
/// Not non-ASCII: the core sends a UTF-8 value such as `Σ` as raw header
/// bytes (`http` accepts bytes over 0x7F), and the emulator stores no
/// metadata for it (it keeps only values that are visible ASCII), so a
/// HeadObject does not return it. Reported; until one side changes
/// (refuse non-ASCII values with `InvalidHeader`, or store the bytes), this
/// property covers ASCII.
fn meta_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{0,40}",
        1 => "[ \\t]{0,2}[!-~]{0,10}[ \\t]{0,2}",
        1 => "[\\x00-\\x7f]{0,20}",
    ]
}

#[test]
fn any_metadata_is_refused_or_stored_as_sent_v1_and_v4() {
    let emu = emulator();
    let rt = runtime();
    let strategy = prop::collection::btree_map(meta_name(), meta_value(), 1..4);
    let result = runner().run(&strategy, |metadata: BTreeMap<String, String>| {
        for (version, config) in configs(&emu) {
            let key = ObjectKey::new(format!("meta/{version}")).expect("key");
            let options = WriteOptions {
                metadata: metadata.clone(),
                ..WriteOptions::default()
            };
            let put = PutObject::new(b("bucket"), key.clone())
                .options(options)
                .content_length(1);
            let request = match put.request() {
                Err(Error::InvalidHeader { name }) => {
                    prop_assert!(name.starts_with("x-oss-meta-"), "{name}");
                    continue;
                }
                Err(other) => return Err(TestCaseError::fail(format!("{other:?}"))),
                Ok(request) => request,
            };
            let request = request
                .map_body(|()| b"m".to_vec())
                .sign(&config, &creds(), SystemTime::now())
                .expect("sign");
            let r = rt.block_on(send(emu.addr(), request));
            prop_assert_eq!(
                r.status,
                200,
                "{} PUT {:?}: {}",
                version,
                metadata,
                r.text()
            );

            let head = HeadObject::new(b("bucket"), key);
            let request = head
                .request()
                .expect("request")
                .map_body(|()| Vec::new())
                .sign(&config, &creds(), SystemTime::now())
                .expect("sign");
            let r = rt.block_on(send(emu.addr(), request));
            prop_assert_eq!(r.status, 200, "{} HEAD {:?}", version, metadata);
            let response = http::Response::builder()
                .status(r.status)
                .body(r.body.clone())
                .map(|mut response| {
                    *response.headers_mut() = r.headers.clone();
                    response
                })
                .expect("response");
            let stored = head.parse(response).expect("parse").user_metadata;
            // HTTP drops the spaces and tabs around a header value.
            let sent: BTreeMap<String, String> = metadata
                .iter()
                .map(|(n, v)| {
                    (
                        n.to_ascii_lowercase(),
                        v.trim_matches([' ', '\t']).to_owned(),
                    )
                })
                .collect();
            prop_assert_eq!(stored, sent, "{}", version);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Query parameters: OSS's signed sub-resources (those that do not change
/// what a GetObject does), `x-oss-` names, and anything else.
fn query_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "acl",
            "tagging",
            "versionId",
            "response-content-type",
            "response-content-disposition",
            "response-cache-control",
            "response-expires",
            "continuation-token",
            "x-oss-process",
            "x-oss-ac-forward-allow",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z][a-zA-Z0-9_.~-]{0,12}",
        any::<String>(),
    ]
    .prop_filter("named, and not an operation's own parameter", |name| {
        !name.is_empty()
            && ![
                "uploads",
                "uploadId",
                "partNumber",
                "callback",
                "callback-var",
                "security-token",
            ]
            .contains(&name.as_str())
            && !name.starts_with("x-oss-signature")
            && !name.starts_with("x-oss-credential")
            && !name.starts_with("x-oss-date")
            && !name.starts_with("x-oss-expires")
            && !name.starts_with("x-oss-additional-headers")
            && !["OSSAccessKeyId", "Expires", "Signature"].contains(&name.as_str())
    })
}

#[test]
fn any_query_parameter_is_signed_so_the_emulator_accepts_it_v1_and_v4() {
    let emu = emulator();
    let rt = runtime();
    let data = b"query".to_vec();
    for (_, config) in configs(&emu) {
        let put = PutObject::new(b("bucket"), k("q/a b")).content_length(data.len() as u64);
        let request = put
            .request()
            .expect("request")
            .map_body(|()| data.clone())
            .sign(&config, &creds(), SystemTime::now())
            .expect("sign");
        assert_eq!(rt.block_on(send(emu.addr(), request)).status, 200);
    }
    let strategy = prop::collection::vec((query_name(), any::<String>()), 1..4);
    let result = runner().run(&strategy, |query: Vec<(String, String)>| {
        for (version, config) in configs(&emu) {
            let mut request = GetObject::new(b("bucket"), k("q/a b"))
                .request()
                .expect("request");
            for (name, value) in &query {
                request = request.query(name.clone(), value.clone());
            }
            let request = request
                .map_body(|()| Vec::new())
                .sign(&config, &creds(), SystemTime::now())
                .expect("sign");
            let r = rt.block_on(send(emu.addr(), request));
            prop_assert_eq!(r.status, 200, "{} GET ?{:?}: {}", version, query, r.text());
            prop_assert_eq!(&r.body, &data, "{}", version);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
