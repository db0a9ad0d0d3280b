//! Signs request descriptions read as JSON lines on stdin and prints, for
//! each, osscb's strings to sign and signature as one JSON line on stdout.
//!
//! The interop differential (`cargo xtask interop`) feeds it the same requests
//! it signs with the official Python SDK and compares the answers. It uses the
//! public API the way an application would: an [`OssRequest`] signed with
//! [`OssRequest::sign`] or presigned with [`OssRequest::presign`], for V1 or
//! V4. Every signed request and URL is then checked with the server-side
//! [`osscb_core::sign::verify`], as OSS (and the emulator) would receive it:
//! signing and verifying must agree.
//!
//! Input, one object per line:
//! ```text
//! {"id": 7, "mode": "header" | "presign", "version": "v1" | "v4", "region": "cn-hangzhou",
//!  "additional_headers": ["host", ...], "method": "PUT", "endpoint": "http://127.0.0.1:9000",
//!  "bucket": "b" | null, "key": "k" | null, "query": [["k", "v"], ...],
//!  "headers": [["name", "value"], ...], "access_key_id": "...", "access_key_secret": "...",
//!  "security_token": "..." | null, "now": 1672223261, "expires_in": 60}
//! ```
//! (`version` defaults to `v1`), or `{"id": 0, "mode": "sub_resources"}`,
//! answered with V1's signed sub-resource names. Output: `{"id",
//! "string_to_sign", "canonical_request" (V4), "signature", "url"}` (`url` for
//! presigned requests), or `{"id", "error"}`.

use std::io::{self, BufRead as _, Write as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use osscb_core::SigningStrings;
use osscb_core::http::{HeaderMap, HeaderValue, Method, Uri};
use osscb_core::sign::{IncomingRequest, v1, verify};
use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey, OssRequest, Region, time};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Case {
    id: u64,
    mode: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    additional_headers: Vec<String>,
    #[serde(default)]
    method: String,
    #[serde(default)]
    endpoint: String,
    bucket: Option<String>,
    key: Option<String>,
    #[serde(default)]
    query: Vec<(String, String)>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    access_key_secret: String,
    security_token: Option<String>,
    #[serde(default)]
    now: u64,
    #[serde(default)]
    expires_in: u64,
}

type Answer = Result<Value, String>;

fn main() -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for line in io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Case>(&line) {
            Ok(case) => {
                let id = case.id;
                match answer(case) {
                    Ok(mut value) => {
                        value["id"] = json!(id);
                        value
                    }
                    Err(error) => json!({ "id": id, "error": error }),
                }
            }
            Err(e) => json!({ "id": null, "error": format!("bad input line: {e}") }),
        };
        writeln!(out, "{answer}")?;
    }
    out.flush()
}

fn answer(case: Case) -> Answer {
    match case.mode.as_str() {
        "sub_resources" => Ok(json!({ "sub_resources": v1::SUB_RESOURCES })),
        "header" => header_signature(&case),
        "presign" => presign(&case),
        other => Err(format!("unknown mode {other:?}")),
    }
}

fn request(case: &Case) -> Result<OssRequest<()>, String> {
    let method = Method::from_bytes(case.method.as_bytes()).map_err(|e| e.to_string())?;
    let key = case
        .key
        .as_deref()
        .map(ObjectKey::new)
        .transpose()
        .map_err(|e| e.to_string())?;
    let mut request = match &case.bucket {
        Some(bucket) => {
            let bucket = Bucket::new(bucket.as_str()).map_err(|e| e.to_string())?;
            OssRequest::new(method, bucket, key, ())
        }
        // A service-level request (ListBuckets): no bucket, no key.
        None => OssRequest::service(method, ()),
    };
    for (k, v) in &case.query {
        request = request.query(k.as_str(), v.as_str());
    }
    for (name, value) in &case.headers {
        request
            .set_header_str(name, value)
            .map_err(|e| e.to_string())?;
    }
    Ok(request)
}

fn credentials(case: &Case) -> Credentials {
    let credentials = Credentials::new(&case.access_key_id, &case.access_key_secret);
    match &case.security_token {
        Some(token) => credentials.with_security_token(token),
        None => credentials,
    }
}

fn config(case: &Case) -> Result<Config, String> {
    let endpoint = Endpoint::parse(&case.endpoint).map_err(|e| e.to_string())?;
    match case.version.as_deref().unwrap_or("v1") {
        "v1" => Ok(Config::v1(endpoint)),
        "v4" => {
            let region = Region::new(case.region.as_deref().unwrap_or_default())
                .map_err(|e| e.to_string())?;
            Ok(Config::v4(endpoint, region).with_additional_headers(&case.additional_headers))
        }
        other => Err(format!("unknown version {other:?}")),
    }
}

fn now(case: &Case) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(case.now)
}

/// The decoded query of a URL, in order.
fn decoded_query(url: &Uri) -> Vec<(String, String)> {
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    url.query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Checks what was signed the way a server receives it: the headers plus the
/// `Host` every client sends, the decoded query, the literal bucket and key.
fn verified(
    case: &Case,
    method: &Method,
    url: &Uri,
    headers: &HeaderMap,
) -> Result<SigningStrings, String> {
    let mut received = headers.clone();
    if let Some(authority) = url.authority() {
        let host = HeaderValue::from_str(authority.as_str()).map_err(|e| e.to_string())?;
        received.insert("host", host);
    }
    let query = decoded_query(url);
    let incoming = IncomingRequest::new(
        method,
        &received,
        case.bucket.as_deref(),
        case.key.as_deref(),
        &query,
    );
    // A V1 header signature made with an `x-oss-date` of its own is checked at that time.
    let at = headers
        .get("x-oss-date")
        .and_then(|v| v.to_str().ok())
        .and_then(time::parse_http_date)
        .unwrap_or_else(|| now(case));
    verify(&incoming, &credentials(case), at)
        .map_err(|e| format!("the server-side check refuses what was signed: {e:?}"))
}

fn strings_json(strings: &SigningStrings, signature: &str) -> Value {
    json!({
        "string_to_sign": strings.string_to_sign,
        "canonical_request": strings.canonical_request,
        "signature": signature,
    })
}

/// The header signature: the strings from the public accessor, the signature
/// from the `Authorization` header of the signed `http::Request`.
fn header_signature(case: &Case) -> Answer {
    let request = request(case)?;
    let credentials = credentials(case);
    let config = config(case)?;
    let strings = request
        .signing_strings(&config, &credentials, now(case))
        .map_err(|e| e.to_string())?;
    let signed = request
        .sign(&config, &credentials, now(case))
        .map_err(|e| e.to_string())?;
    let authorization = signed
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Authorization header")?;
    let signature = match authorization.strip_prefix(&format!("OSS {}:", case.access_key_id)) {
        Some(v1_signature) => v1_signature,
        None => authorization
            .rsplit_once("Signature=")
            .map(|(_, s)| s)
            .ok_or_else(|| format!("no signature in Authorization {authorization:?}"))?,
    };
    let checked = verified(case, signed.method(), signed.uri(), signed.headers())?;
    if checked != strings {
        return Err(format!(
            "the server-side check computed {checked:?}, the signer {strings:?}"
        ));
    }
    Ok(strings_json(&strings, signature))
}

/// The presigned URL from [`OssRequest::presign`]; the strings to sign are
/// those the server-side check computes from that URL and the returned
/// headers, and it must accept the URL's signature.
fn presign(case: &Case) -> Answer {
    let request = request(case)?;
    let presigned = request
        .presign(
            &config(case)?,
            &credentials(case),
            now(case),
            Duration::from_secs(case.expires_in),
        )
        .map_err(|e| e.to_string())?;
    let strings = verified(case, &presigned.method, &presigned.url, &presigned.headers)?;
    let query = decoded_query(&presigned.url);
    let signature = query
        .iter()
        .find(|(k, _)| k == "Signature" || k == "x-oss-signature")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| format!("no signature in {}", presigned.url))?;
    let mut answer = strings_json(&strings, &signature);
    answer["url"] = json!(presigned.url.to_string());
    Ok(answer)
}
