//! Build + sign a PutObject with a callback, and presign a URL, in
//! Signature V1 and V4: osscb beside its floor (the bare HMAC work over the
//! same string to sign) and beside `reqsign-aliyun-oss` (Apache OpenDAL's
//! signer) doing the same request, all interleaved in one loop.
//!
//! The floors: V1 is `base64(HMAC-SHA1(secret, string_to_sign))`; V4 is the
//! signing-key derivation (four HMAC-SHA256, "aliyun_v4" + secret, date,
//! region, "oss", "aliyun_v4_request"), the final HMAC-SHA256 and its hex
//! (Alibaba Cloud, "Signature Version 4",
//! <https://www.alibabacloud.com/help/en/oss/developer-reference/recommend-to-use-signature-version-4>).

use std::future::Future;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use osscb_core::callback::Callback;
use osscb_core::ops::{GetObject, Operation, PutObject};
use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey, Region};
use reqsign_aliyun_oss::{Credential, RequestSigner, SigningVersion};
use reqsign_core::SignRequest as _;
use serde_json::json;
use sha1::Sha1;
use sha2::Sha256;

use crate::Result;
use crate::timing::interleaved;

const ENDPOINT: &str = "oss-cn-hangzhou.aliyuncs.com";
const REGION: &str = "cn-hangzhou";
const BUCKET: &str = "examplebucket";
const KEY: &str = "dir/photo 1.jpg";
const URL: &str = "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/photo%201.jpg";
const ACCESS_KEY_ID: &str = "LTAI5tExampleKeyId";
const ACCESS_KEY_SECRET: &str = "ExampleSecretExampleSecret1234";
const PRESIGN_FOR: Duration = Duration::from_secs(3600);

/// The figure: one JSON line with, for `sign_v1`, `sign_v4`, `presign_v1`
/// and `presign_v4`, the median ns per operation of osscb, the floor and
/// reqsign (`sign_v1_osscb_ns`, …).
pub(crate) fn run(rounds: usize, iters: usize) -> Result {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let credentials = Credentials::new(ACCESS_KEY_ID, ACCESS_KEY_SECRET);
    let endpoint = Endpoint::parse(ENDPOINT).map_err(|e| e.to_string())?;
    let region = Region::new(REGION).map_err(|e| e.to_string())?;
    let v1 = Config::v1(endpoint.clone());
    let v4 = Config::v4(endpoint, region);
    let callback = Callback::builder("https://app.example.com/cb")
        .body("bucket=${bucket}&object=${object}&size=${size}&uid=${x:uid}")
        .var("x:uid", "42")
        .build()
        .map_err(|e| e.to_string())?;
    let bucket = Bucket::new(BUCKET).map_err(|e| e.to_string())?;
    let key = ObjectKey::new(KEY).map_err(|e| e.to_string())?;
    let put = PutObject::new(bucket.clone(), key.clone())
        .content_type("image/jpeg")
        .content_length(1024)
        .callback(callback);
    let get = GetObject::new(bucket, key);

    // What reqsign signs: the same PUT, with the same headers (osscb's callback header).
    let signed = put
        .request()
        .and_then(|r| r.sign(&v1, &credentials, now))
        .map_err(|e| e.to_string())?;
    let callback_header = signed
        .headers()
        .get("x-oss-callback")
        .ok_or("osscb sent no x-oss-callback header")?
        .clone();
    let put_parts = http::Request::put(URL)
        .header("content-type", "image/jpeg")
        .header("content-length", "1024")
        .header("x-oss-callback", callback_header)
        .body(())
        .map_err(|e| e.to_string())?
        .into_parts()
        .0;
    let get_parts = http::Request::get(URL)
        .body(())
        .map_err(|e| e.to_string())?
        .into_parts()
        .0;
    let reqsign_credential = Credential {
        access_key_id: ACCESS_KEY_ID.to_owned(),
        access_key_secret: ACCESS_KEY_SECRET.to_owned(),
        security_token: None,
        expires_in: None,
    };
    let reqsign_v1 = RequestSigner::new(BUCKET).with_signing_version(SigningVersion::V1);
    let reqsign_v4 = RequestSigner::new(BUCKET)
        .with_signing_version(SigningVersion::V4)
        .with_region(REGION);
    let context = reqsign_core::Context::new();
    let reqsign = |signer: &RequestSigner, parts: &http::request::Parts, expires| {
        let mut parts = parts.clone();
        let signed = now_or_never(signer.sign_request(
            &context,
            &mut parts,
            Some(&reqsign_credential),
            expires,
        ));
        match signed {
            Some(Ok(())) => parts,
            Some(Err(e)) => panic!("reqsign failed: {e}"),
            None => panic!("reqsign's signing future did not complete"),
        }
    };
    check_reqsign(&reqsign(&reqsign_v1, &put_parts, None), "authorization")?;
    check_reqsign(&reqsign(&reqsign_v4, &put_parts, None), "authorization")?;
    check_reqsign(
        &reqsign(&reqsign_v1, &get_parts, Some(PRESIGN_FOR)),
        "Signature=",
    )?;
    check_reqsign(
        &reqsign(&reqsign_v4, &get_parts, Some(PRESIGN_FOR)),
        "x-oss-signature=",
    )?;

    let put_sts = |config: &Config| {
        put.request()
            .and_then(|r| r.signing_strings(config, &credentials, now))
            .map(|s| s.string_to_sign)
            .map_err(|e| e.to_string())
    };
    let get_sts = |config: &Config| {
        get.request()
            .and_then(|r| r.signing_strings(config, &credentials, now))
            .map(|s| s.string_to_sign)
            .map_err(|e| e.to_string())
    };
    let (put_v1, put_v4) = (put_sts(&v1)?, put_sts(&v4)?);
    let (get_v1, get_v4) = (get_sts(&v1)?, get_sts(&v4)?);
    // The date of `now` (2023-11-14T22:13:20Z), the V4 scope's.
    let date = "20231114";

    let mut figures = serde_json::Map::new();
    for (name, config, sts, signer, v4_floor) in [
        ("sign_v1", &v1, &put_v1, &reqsign_v1, false),
        ("sign_v4", &v4, &put_v4, &reqsign_v4, true),
    ] {
        let times = interleaved(
            rounds,
            iters,
            &mut [
                &mut || {
                    let request = put
                        .request()
                        .and_then(|r| r.sign(config, &credentials, black_box(now)));
                    let _ = black_box(request);
                },
                &mut || {
                    black_box(floor(v4_floor, black_box(sts), date));
                },
                &mut || {
                    black_box(reqsign(signer, &put_parts, None));
                },
            ],
        );
        insert(&mut figures, name, &times);
    }
    for (name, config, sts, signer, v4_floor) in [
        ("presign_v1", &v1, &get_v1, &reqsign_v1, false),
        ("presign_v4", &v4, &get_v4, &reqsign_v4, true),
    ] {
        let times = interleaved(
            rounds,
            iters,
            &mut [
                &mut || {
                    let url = get
                        .request()
                        .and_then(|r| r.presign(config, &credentials, black_box(now), PRESIGN_FOR));
                    let _ = black_box(url);
                },
                &mut || {
                    black_box(floor(v4_floor, black_box(sts), date));
                },
                &mut || {
                    black_box(reqsign(signer, &get_parts, Some(PRESIGN_FOR)));
                },
            ],
        );
        insert(&mut figures, name, &times);
    }
    figures.insert("figure".to_owned(), json!("sign"));
    crate::emit(&serde_json::Value::Object(figures));
    Ok(())
}

/// `NAME_osscb_ns`, `NAME_floor_ns`, `NAME_reqsign_ns`: one flat object,
/// which the xtask reads without a JSON library.
fn insert(figures: &mut serde_json::Map<String, serde_json::Value>, name: &str, times: &[f64]) {
    for (who, time) in ["osscb", "floor", "reqsign"].iter().zip(times) {
        figures.insert(format!("{name}_{who}_ns"), json!(time));
    }
}

/// The floor of a signature over `string_to_sign`: V1's HMAC-SHA1 and
/// base64, or V4's key derivation, final HMAC-SHA256 and hex.
fn floor(v4: bool, string_to_sign: &str, date: &str) -> String {
    if !v4 {
        let mut mac = hmac_of::<Hmac<Sha1>>(ACCESS_KEY_SECRET.as_bytes());
        mac.update(string_to_sign.as_bytes());
        return STANDARD.encode(mac.finalize().into_bytes());
    }
    let secret = format!("aliyun_v4{ACCESS_KEY_SECRET}");
    let mut key = hmac_sha256(secret.as_bytes(), date.as_bytes());
    for part in [REGION, "oss", "aliyun_v4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature = hmac_sha256(&key, string_to_sign.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in signature {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    hex
}

fn hmac_of<M: hmac::KeyInit>(key: &[u8]) -> M {
    // HMAC takes keys of any length.
    M::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = hmac_of::<Hmac<Sha256>>(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// A reqsign result carries its signature (a header, or a query parameter).
fn check_reqsign(parts: &http::request::Parts, needle: &str) -> Result {
    let found =
        parts.headers.contains_key(needle) || parts.uri.query().is_some_and(|q| q.contains(needle));
    if found {
        Ok(())
    } else {
        Err(format!("reqsign did not sign: no {needle} in {parts:?}"))
    }
}

/// Polls `future` to completion where it needs no I/O (reqsign's signing
/// does none with a credential given): `None` if it is still pending after
/// a few polls.
fn now_or_never<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    (0..16).find_map(|_| match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    })
}
