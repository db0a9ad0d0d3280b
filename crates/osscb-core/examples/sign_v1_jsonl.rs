//! Signs request descriptions read as JSON lines on stdin and prints, for
//! each, osscb's V1 string to sign and signature as one JSON line on stdout.
//!
//! The interop differential (`cargo xtask interop`) feeds it the same requests
//! it signs with the official Python SDK and compares the answers. It uses the
//! public API the way an application would: an [`OssRequest`] signed with
//! [`OssRequest::sign`] or presigned with [`OssRequest::presign`].
//!
//! Input, one object per line:
//! ```text
//! {"id": 7, "mode": "header" | "presign", "method": "PUT", "endpoint": "http://127.0.0.1:9000",
//!  "bucket": "b" | null, "key": "k" | null, "query": [["k", "v"], ...],
//!  "headers": [["name", "value"], ...], "access_key_id": "...", "access_key_secret": "...",
//!  "security_token": "..." | null, "now": 1672223261, "expires_in": 60}
//! ```
//! or `{"id": 0, "mode": "sub_resources"}`, answered with the signed
//! sub-resource names. Output: `{"id", "string_to_sign", "signature", "url"}`
//! (`url` for presigned requests), or `{"id", "error"}`.

use std::io::{self, BufRead as _, Write as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use osscb_core::http::Method;
use osscb_core::sign::v1;
use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey, OssRequest};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Case {
    id: u64,
    mode: String,
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
        None => {
            // A service-level request (ListBuckets): no bucket, no key.
            let mut request = OssRequest::new(
                method,
                Bucket::new("placeholder").map_err(|e| e.to_string())?,
                None,
                (),
            );
            request.bucket = None;
            request
        }
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
    Ok(Config::new(
        Endpoint::parse(&case.endpoint).map_err(|e| e.to_string())?,
    ))
}

fn now(case: &Case) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(case.now)
}

/// The header signature: the string to sign from the public accessor, the
/// signature from the `Authorization` header of the signed `http::Request`.
fn header_signature(case: &Case) -> Answer {
    let request = request(case)?;
    let credentials = credentials(case);
    let string_to_sign = request
        .string_to_sign(&credentials, now(case))
        .map_err(|e| e.to_string())?;
    let signed = request
        .sign(&config(case)?, &credentials, now(case))
        .map_err(|e| e.to_string())?;
    let authorization = signed
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Authorization header")?;
    let prefix = format!("OSS {}:", case.access_key_id);
    let signature = authorization
        .strip_prefix(&prefix)
        .ok_or_else(|| format!("Authorization {authorization:?} does not start with {prefix:?}"))?;
    Ok(json!({ "string_to_sign": string_to_sign, "signature": signature }))
}

/// The presigned URL from [`OssRequest::presign`]; the string to sign is
/// rebuilt from that URL's query and returned headers with the public `v1`
/// functions, and must produce the URL's signature.
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
    let url = presigned.url.to_string();
    let mut query = Vec::new();
    let (mut signature, mut expires) = (None, None);
    for pair in presigned.url.query().unwrap_or_default().split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        let (k, v) = (decode(k), decode(v));
        match k.as_str() {
            "Signature" => signature = Some(v),
            "Expires" => expires = Some(v),
            "OSSAccessKeyId" => {}
            _ => query.push((k, v)),
        }
    }
    let signature = signature.ok_or_else(|| format!("no Signature in {url}"))?;
    let expires = expires.ok_or_else(|| format!("no Expires in {url}"))?;
    let resource = v1::canonicalized_resource(
        request.bucket.as_ref().map(Bucket::as_str),
        request.key.as_ref().map(ObjectKey::as_str),
        &query,
        &request.extra_sub_resources,
    );
    let string_to_sign =
        v1::string_to_sign(&request.method, &presigned.headers, &expires, &resource);
    if v1::signature(&case.access_key_secret, &string_to_sign) != signature {
        return Err(format!(
            "the URL's signature is not HMAC({string_to_sign:?}): presign signed something else"
        ));
    }
    Ok(json!({ "string_to_sign": string_to_sign, "signature": signature, "url": url }))
}
