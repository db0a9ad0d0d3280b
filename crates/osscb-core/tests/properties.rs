//! Property tests of the core's round trips: a callback configuration
//! decodes to what was built, and the callback verifier accepts exactly what
//! its key signed (any single-byte change of path, query or body is refused).

#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use osscb_core::callback::{Callback, CallbackBodyType};
use osscb_core::verify::{CallbackRequest, Check, Verifier, VerifyError};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use proptest::prelude::*;
use proptest::sample::select;
use rsa::pkcs8::{EncodePublicKey as _, LineEnding};

// ---------------------------------------------------------------------------
// Callback: build → encode → decode.

fn body_type() -> impl Strategy<Value = CallbackBodyType> {
    select(vec![
        CallbackBodyType::FormUrlEncoded,
        CallbackBodyType::Json,
    ])
}

/// URLs OSS can call: a scheme, a host, and any path without `;`, spaces or
/// control characters.
fn valid_url() -> impl Strategy<Value = String> {
    (
        select(vec!["http://", "https://"]),
        "[a-z0-9][a-z0-9.-]{0,20}(:[0-9]{1,5})?",
        "(/[^;\\s\\p{Cc}]{0,30})?",
    )
        .prop_map(|(scheme, host, path)| format!("{scheme}{host}{path}"))
}

/// Anything: valid URLs, and arbitrary text with or without a scheme.
fn any_url() -> impl Strategy<Value = String> {
    prop_oneof![
        valid_url(),
        (select(vec!["http://", "https://", ""]), any::<String>())
            .prop_map(|(scheme, rest)| format!("{scheme}{rest}")),
    ]
}

/// Custom variable names: valid ones (the grant's among them) and anything.
fn variable_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "x:[a-z0-9_.-]{1,12}",
        Just("x:osscb_grant".to_owned()),
        any::<String>(),
    ]
}

/// What a [`Callback::builder`] was given.
#[derive(Debug, Clone)]
struct Config {
    urls: Vec<String>,
    host: Option<String>,
    body: String,
    body_type: CallbackBodyType,
    sni: Option<bool>,
    variables: BTreeMap<String, String>,
}

impl Config {
    fn build(&self) -> Result<Callback, osscb_core::callback::CallbackError> {
        let (first, rest) = self.urls.split_first().unwrap();
        let mut builder = Callback::builder(first.clone())
            .body(self.body.clone())
            .body_type(self.body_type);
        for url in rest {
            builder = builder.url(url.clone());
        }
        if let Some(host) = &self.host {
            builder = builder.host(host.clone());
        }
        if let Some(sni) = self.sni {
            builder = builder.sni(sni);
        }
        for (name, value) in &self.variables {
            builder = builder.var(name.clone(), value.clone());
        }
        builder.build()
    }
}

fn valid_config() -> impl Strategy<Value = Config> {
    (
        prop::collection::vec(valid_url(), 1..=5),
        prop::option::of("[a-z0-9.-]{1,20}(:[0-9]{1,5})?"),
        "[^\\s]\\PC{0,80}",
        body_type(),
        prop::option::of(any::<bool>()),
        prop::collection::btree_map("x:[a-z0-9_.-]{1,12}", "\\PC{0,40}", 0..4),
    )
        .prop_map(|(urls, host, body, body_type, sni, variables)| Config {
            urls,
            host,
            body,
            body_type,
            sni,
            variables,
        })
}

fn any_config() -> impl Strategy<Value = Config> {
    (
        prop::collection::vec(any_url(), 1..=7),
        prop::option::of(any::<String>()),
        any::<String>(),
        body_type(),
        prop::option::of(any::<bool>()),
        prop::collection::btree_map(variable_name(), any::<String>(), 0..4),
    )
        .prop_map(|(urls, host, body, body_type, sni, variables)| Config {
            urls,
            host,
            body,
            body_type,
            sni,
            variables,
        })
}

/// The decoded callback equals the built one: URLs, host, body, body type,
/// SNI, variables and both encodings (`Callback`'s `PartialEq` compares all).
fn assert_round_trip(built: &Callback) -> Result<(), TestCaseError> {
    let decoded = Callback::decode(built.encoded(), built.encoded_variables());
    prop_assert_eq!(decoded.as_ref(), Ok(built));
    let decoded = decoded.unwrap();
    prop_assert_eq!(decoded.urls(), built.urls());
    prop_assert_eq!(decoded.host(), built.host());
    prop_assert_eq!(decoded.body_type(), built.body_type());
    prop_assert_eq!(decoded.encoded(), built.encoded());
    prop_assert_eq!(decoded.encoded_variables(), built.encoded_variables());
    // The body and the variables, as the callback renders them.
    let lookup = |name: &str| Some(format!("<{name}>"));
    prop_assert_eq!(decoded.render_body(lookup), built.render_body(lookup));
    Ok(())
}

proptest! {
    /// A valid configuration builds, and decodes to itself.
    #[test]
    fn valid_callbacks_build_and_decode_to_themselves(config in valid_config()) {
        let built = config.build();
        prop_assert!(built.is_ok(), "{:?} refused: {:?}", config, built);
        let built = built.unwrap();
        prop_assert_eq!(built.urls(), config.urls.as_slice());
        prop_assert_eq!(built.host(), config.host.as_deref());
        prop_assert_eq!(built.body_type(), config.body_type);
        assert_round_trip(&built)?;
    }

    /// Any configuration (any Unicode, control characters, `;`, too many
    /// URLs, bad variable names, the grant variable) is either refused with a
    /// typed error or decodes to what was built.
    #[test]
    fn any_callback_is_refused_or_decodes_to_itself(config in any_config()) {
        if let Ok(built) = config.build() {
            assert_round_trip(&built)?;
        }
    }

    /// Decoding arbitrary text never panics, and what decodes re-encodes to
    /// a configuration that decodes to itself.
    #[test]
    fn decoding_anything_is_refused_or_stable(
        callback in prop_oneof![any::<String>(), any::<Vec<u8>>().prop_map(|b| STANDARD.encode(b))],
        var in prop::option::of(any::<String>()),
    ) {
        if let Ok(decoded) = Callback::decode(&callback, var.as_deref()) {
            assert_round_trip(&decoded)?;
        }
    }
}

// ---------------------------------------------------------------------------
// Verifier: sign with a generated key, check, and refuse every single-byte change.

/// Where the tests' key is served (never fetched: the test hands it over).
const KEY_URL: &str = "http://127.0.0.1:1/osscb/key.pem";
const TRUSTED_PREFIX: &str = "http://127.0.0.1:1/";

/// One 1024-bit key per test run (RustCrypto's smallest; generating keys in
/// a debug build is slow).
fn key() -> &'static (rsa::PrivateKey, String) {
    static KEY: OnceLock<(rsa::PrivateKey, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 1024).unwrap();
        let pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        (key, pem)
    })
}

/// What OSS signs (Callback API page): `url_decode(path)`, then `?query`
/// when there is a query, then `\n` and the body. Written here from the
/// documentation, not taken from the crate.
fn string_to_sign(path: &str, query: &str, body: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = percent_decode_str(path).collect();
    if !query.is_empty() {
        out.push(b'?');
        out.extend_from_slice(query.as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

fn sign(path: &str, query: &str, body: &[u8]) -> String {
    let signature = key()
        .0
        .pkcs1v15_sign::<md5::Md5>(&string_to_sign(path, query, body))
        .unwrap();
    STANDARD.encode(signature)
}

/// A verifier trusting the tests' key URL, with the key already fetched.
fn verifier(body_type: CallbackBodyType, now: Instant) -> Verifier {
    let verifier = Verifier::new()
        .trust_key_url_prefix(TRUSTED_PREFIX)
        .body_type(body_type);
    let key_url = STANDARD.encode(KEY_URL);
    let probe = CallbackRequest::new("/", "", b"").pub_key_url(&key_url);
    match verifier.check(&probe, now) {
        Ok(Check::Fetch(fetch)) => {
            assert_eq!(fetch.url(), KEY_URL);
            verifier.key_fetched(fetch, Ok(key().1.as_bytes()), now);
        }
        other => panic!("expected a key fetch, got {other:?}"),
    }
    verifier
}

fn check(
    verifier: &Verifier,
    path: &str,
    query: &str,
    body: &[u8],
    authorization: &str,
    now: Instant,
) -> Result<Check, VerifyError> {
    let key_url = STANDARD.encode(KEY_URL);
    let request = CallbackRequest::new(path, query, body)
        .authorization(authorization)
        .pub_key_url(&key_url);
    verifier.check(&request, now)
}

/// Paths as they arrive: percent-encoded Unicode, or raw ASCII with stray `%`.
const PATH_SAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'.');
fn raw_path() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| format!("/{}", utf8_percent_encode(&s, PATH_SAFE))),
        "/[!-~]{0,40}",
    ]
}

/// Replaces the byte at `at % len` with `to`, if it differs and the result is
/// still ASCII (paths and queries are ASCII on the request line).
fn mutate_ascii(s: &str, at: usize, to: u8) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    let mut bytes = s.as_bytes().to_vec();
    let i = at % bytes.len();
    if bytes[i] == to || !bytes[i].is_ascii() {
        return None;
    }
    bytes[i] = to;
    String::from_utf8(bytes).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A form body signed with the key is verified, its fields read; any
    /// single-byte change of path, query or body that changes what OSS signs
    /// is refused as a signature mismatch.
    #[test]
    fn verifier_accepts_the_signed_request_and_refuses_any_byte_changed(
        path in raw_path(),
        query in "[!-~]{0,30}",
        body in prop_oneof!["[ -~]{0,60}", any::<String>()],
        at in any::<usize>(),
        to in 0u8..0x80,
        body_byte in any::<u8>(),
    ) {
        let now = Instant::now();
        let verifier = verifier(CallbackBodyType::FormUrlEncoded, now);
        let authorization = sign(&path, &query, body.as_bytes());
        let genuine = check(&verifier, &path, &query, body.as_bytes(), &authorization, now);
        let Ok(Check::Verified(callback)) = genuine else {
            return Err(TestCaseError::fail(format!("genuine request refused: {genuine:?}")));
        };
        prop_assert_eq!(callback.body(), body.as_bytes());

        let signed = string_to_sign(&path, &query, body.as_bytes());
        let mut changed: Vec<(String, String, Vec<u8>)> = Vec::new();
        if let Some(p) = mutate_ascii(&path, at, to) {
            changed.push((p, query.clone(), body.clone().into_bytes()));
        }
        if let Some(q) = mutate_ascii(&query, at, to) {
            changed.push((path.clone(), q, body.clone().into_bytes()));
        }
        if !body.is_empty() {
            let mut b = body.clone().into_bytes();
            let i = at % b.len();
            if b[i] != body_byte {
                b[i] = body_byte;
                changed.push((path.clone(), query.clone(), b));
            }
        }
        for (p, q, b) in changed {
            let got = check(&verifier, &p, &q, &b, &authorization, now);
            if string_to_sign(&p, &q, &b) == signed {
                // `%4a` and `%4A` name the same path: the same request.
                prop_assert!(matches!(got, Ok(Check::Verified(_))), "{:?}", got);
            } else {
                prop_assert_eq!(got.map(drop), Err(VerifyError::SignatureMismatch), "{:?} {:?} {:?}", p, q, b);
            }
        }
    }

    /// JSON bodies: a signed JSON object is verified and its members read.
    #[test]
    fn verifier_reads_signed_json_bodies(
        fields in prop::collection::btree_map("\\PC{0,10}", "\\PC{0,20}", 0..5),
        path in raw_path(),
    ) {
        let now = Instant::now();
        let verifier = verifier(CallbackBodyType::Json, now);
        let body = serde_json::to_vec(&fields).unwrap();
        let authorization = sign(&path, "", &body);
        let got = check(&verifier, &path, "", &body, &authorization, now);
        let Ok(Check::Verified(callback)) = got else {
            return Err(TestCaseError::fail(format!("genuine request refused: {got:?}")));
        };
        prop_assert_eq!(callback.variables(), &fields);
    }

    /// Arbitrary signatures, key URLs and bodies never panic and are never
    /// verified (the chance of forging an RSA signature by accident is nil).
    #[test]
    fn verifier_refuses_arbitrary_signatures(
        path in raw_path(),
        body in any::<Vec<u8>>(),
        authorization in prop_oneof![any::<String>(), any::<Vec<u8>>().prop_map(|b| STANDARD.encode(b))],
        key_url in prop_oneof![Just(STANDARD.encode(KEY_URL)), any::<String>()],
    ) {
        let now = Instant::now();
        let verifier = verifier(CallbackBodyType::FormUrlEncoded, now);
        let request = CallbackRequest::new(&path, "", &body)
            .authorization(&authorization)
            .pub_key_url(&key_url);
        let got = verifier.check(&request, now);
        prop_assert!(!matches!(got, Ok(Check::Verified(_))), "{:?}", got);
    }
}
