//! The callback verifier on any request: any path, query, headers and body,
//! a key document of any bytes (what a key URL served), and — so that the
//! body parsers are reached — requests genuinely signed with a test key
//! (`verifier_key.pem`, made for this target only). No panic; a forged
//! signature is never verified; a genuine one always is, unless the body is
//! not what the body type says.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use osscb_core::callback::CallbackBodyType;
use osscb_core::verify::{CallbackRequest, Check, Verifier, VerifyError};
use rsa::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _, LineEnding};

const TRUSTED: &str = "http://127.0.0.1:1/keys/";
const KEY_URL: &str = "http://127.0.0.1:1/keys/test.pem";

#[derive(Arbitrary, Debug)]
struct Input {
    path: String,
    query: String,
    body: Vec<u8>,
    json: bool,
    signature: Signature,
    key_url: KeyUrl,
    key: Key,
}

#[derive(Arbitrary, Debug)]
enum Signature {
    /// Signed with the test key over what OSS signs.
    Genuine,
    /// Any header value.
    Forged(String),
    /// Any bytes, base64-encoded.
    ForgedBytes(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum KeyUrl {
    Trusted,
    /// OSS's own key (built in).
    Oss,
    /// Any URL, base64-encoded.
    Url(String),
    /// Any header value.
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Key {
    /// The test key's public PEM.
    Test,
    /// The test key's public PEM with bytes changed.
    Damaged(Vec<(u16, u8)>),
    /// Any document.
    Bytes(Vec<u8>),
    /// The fetch failed.
    Failed(String),
}

fn test_key() -> Option<&'static (rsa::PrivateKey, String)> {
    static KEY: OnceLock<Option<(rsa::PrivateKey, String)>> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = rsa::PrivateKey::from_pkcs8_pem(include_str!("verifier_key.pem")).ok()?;
        let public = key.to_public_key().to_public_key_pem(LineEnding::LF).ok()?;
        Some((key, public))
    })
    .as_ref()
}

/// What OSS signs: `url_decode(path)`, `?query` when there is one, `\n`, body.
fn string_to_sign(path: &str, query: &str, body: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
    if !query.is_empty() {
        out.push(b'?');
        out.extend_from_slice(query.as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

fuzz_target!(|input: Input| {
    let Some((private, public)) = test_key() else {
        panic!("the test key does not load");
    };
    let body_type = if input.json {
        CallbackBodyType::Json
    } else {
        CallbackBodyType::FormUrlEncoded
    };
    let verifier = Verifier::new()
        .trust_key_url_prefix(TRUSTED)
        .body_type(body_type);
    let authorization = match &input.signature {
        Signature::Genuine => {
            let message = string_to_sign(&input.path, &input.query, &input.body);
            match private.pkcs1v15_sign::<md5::Md5>(&message) {
                Ok(s) => STANDARD.encode(s),
                Err(e) => panic!("signing: {e}"),
            }
        }
        Signature::Forged(s) => s.clone(),
        Signature::ForgedBytes(b) => STANDARD.encode(b),
    };
    let key_url = match &input.key_url {
        KeyUrl::Trusted => STANDARD.encode(KEY_URL),
        KeyUrl::Oss => STANDARD.encode("http://gosspublic.alicdn.com/callback_pub_key_v1.pem"),
        KeyUrl::Url(url) => STANDARD.encode(url),
        KeyUrl::Raw(raw) => raw.clone(),
    };
    let document: Result<Vec<u8>, String> = match &input.key {
        Key::Test => Ok(public.clone().into_bytes()),
        Key::Damaged(changes) => {
            let mut pem = public.clone().into_bytes();
            for (at, byte) in changes {
                let i = usize::from(*at) % pem.len();
                pem[i] = *byte;
            }
            Ok(pem)
        }
        Key::Bytes(bytes) => Ok(bytes.clone()),
        Key::Failed(reason) => Err(reason.clone()),
    };
    let request = CallbackRequest::new(&input.path, &input.query, &input.body)
        .authorization(&authorization)
        .pub_key_url(&key_url);
    let now = Instant::now();
    let mut result = verifier.check(&request, now);
    // Bounded: one fetch, then one look again (and once more after a wait).
    for round in 0..3 {
        match result {
            Ok(Check::Fetch(fetch)) if round == 0 => {
                verifier.key_fetched(fetch, document.clone(), now);
                result = verifier.check(&request, now);
            }
            Ok(Check::Wait(pause)) => {
                assert!(pause <= Duration::from_secs(60), "{pause:?}");
                result = verifier.check(&request, now + pause);
            }
            _ => break,
        }
    }
    let genuine = matches!(input.signature, Signature::Genuine)
        && matches!(input.key_url, KeyUrl::Trusted)
        && matches!(input.key, Key::Test);
    match result {
        Ok(Check::Verified(callback)) => {
            // Only the test key's signatures verify, over exactly this request.
            assert!(
                matches!(input.signature, Signature::Genuine),
                "a forged signature was verified: {input:?}"
            );
            assert_eq!(callback.body(), input.body.as_slice());
        }
        Err(VerifyError::BadBody(_)) if genuine => {}
        other if genuine => panic!("a genuine callback was refused: {other:?}"),
        _ => {}
    }
});
