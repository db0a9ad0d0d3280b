//! The application server's half of a direct upload, driven by JSON lines: sign
//! a PostObject form or a presigned PUT URL carrying a callback, and verify the
//! callbacks OSS sends back. `cargo xtask interop` uses it to upload through an
//! emulator with plain HTTP (Python `requests`) and to check the callbacks with
//! osscb's verifier.
//!
//! Requests, one JSON object per line (answers in the same order, with the same `id`):
//! ```text
//! {"id": 1, "mode": "post_form" | "presign_put", "endpoint": "http://127.0.0.1:9000",
//!  "bucket": "b", "key": "k", "content_type": "text/plain" | null,
//!  "access_key_id": "...", "access_key_secret": "...", "security_token": null,
//!  "callback_url": "http://...", "callback_body": "bucket=${bucket}", "json_body": false,
//!  "vars": {"x:name": "value"}, "now": 1700000000, "expires_in": 600}
//! → {"id": 1, "url": "...", "fields": [["key", "k"], ...]}          (post_form)
//! → {"id": 1, "url": "...", "headers": [["content-type", "..."]]}   (presign_put)
//!
//! {"id": 2, "mode": "key_url", "pub_key_url": "base64", "trust": ["http://127.0.0.1:9000/"]}
//! → {"id": 2, "key_url": "http://..."}
//! {"id": 3, "mode": "verify", "path": "/cb", "query": "a=1", "body": "...",
//!  "content_type": "...", "authorization": "...", "pub_key_url": "base64",
//!  "trust": [...], "public_key_pem": "-----BEGIN PUBLIC KEY-----..."}
//! → {"id": 3, "variables": {"bucket": "b", ...}}
//! ```
//! Any failure answers `{"id": n, "error": "..."}`.

use std::collections::BTreeMap;
use std::io::{self, BufRead as _, Write as _};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use osscb_core::callback::{Callback, CallbackBodyType};
use osscb_core::post_policy::PostPolicy;
use osscb_core::verify::{CallbackRequest, Check, Verifier};
use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Upload {
    endpoint: String,
    bucket: String,
    key: String,
    content_type: Option<String>,
    access_key_id: String,
    access_key_secret: String,
    security_token: Option<String>,
    callback_url: String,
    callback_body: String,
    #[serde(default)]
    json_body: bool,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    now: u64,
    expires_in: u64,
}

#[derive(Deserialize)]
struct Received {
    #[serde(default)]
    path: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    body: String,
    content_type: Option<String>,
    authorization: Option<String>,
    pub_key_url: Option<String>,
    #[serde(default)]
    trust: Vec<String>,
    #[serde(default)]
    public_key_pem: String,
}

fn main() -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for line in io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Value>(&line) {
            Ok(request) => {
                let id = request.get("id").cloned().unwrap_or(Value::Null);
                match answer(request) {
                    Ok(mut value) => {
                        value["id"] = id;
                        value
                    }
                    Err(error) => json!({ "id": id, "error": error }),
                }
            }
            Err(e) => json!({ "id": null, "error": format!("bad input line: {e}") }),
        };
        writeln!(out, "{answer}")?;
        // The caller waits for each answer before it sends the next request.
        out.flush()?;
    }
    Ok(())
}

fn answer(request: Value) -> Result<Value, String> {
    let mode = request
        .get("mode")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let parse_err = |e: serde_json::Error| format!("bad {mode} request: {e}");
    match mode.as_str() {
        "post_form" => post_form(&serde_json::from_value(request).map_err(parse_err)?),
        "presign_put" => presign_put(&serde_json::from_value(request).map_err(parse_err)?),
        "key_url" => key_url(&serde_json::from_value(request).map_err(parse_err)?),
        "verify" => verify(&serde_json::from_value(request).map_err(parse_err)?),
        other => Err(format!("unknown mode {other:?}")),
    }
}

fn policy(upload: &Upload) -> Result<(PostPolicy, Config, Credentials, SystemTime), String> {
    let mut callback = Callback::builder(&upload.callback_url).body(&upload.callback_body);
    if upload.json_body {
        callback = callback.body_type(CallbackBodyType::Json);
    }
    for (name, value) in &upload.vars {
        callback = callback.var(name, value);
    }
    let callback = callback.build().map_err(|e| e.to_string())?;
    let bucket = Bucket::new(upload.bucket.as_str()).map_err(|e| e.to_string())?;
    let key = ObjectKey::new(upload.key.as_str()).map_err(|e| e.to_string())?;
    let mut policy = PostPolicy::exact_key(bucket, key)
        .content_length_range(1, 10 * 1024 * 1024)
        .callback(callback);
    if let Some(content_type) = &upload.content_type {
        policy = policy.content_type(content_type);
    }
    let config = Config::v1(Endpoint::parse(&upload.endpoint).map_err(|e| e.to_string())?);
    let mut credentials = Credentials::new(&upload.access_key_id, &upload.access_key_secret);
    if let Some(token) = &upload.security_token {
        credentials = credentials.with_security_token(token);
    }
    Ok((
        policy,
        config,
        credentials,
        UNIX_EPOCH + Duration::from_secs(upload.now),
    ))
}

fn post_form(upload: &Upload) -> Result<Value, String> {
    let (policy, config, credentials, now) = policy(upload)?;
    let form = policy
        .sign(
            &config,
            &credentials,
            now,
            Duration::from_secs(upload.expires_in),
        )
        .map_err(|e| e.to_string())?;
    Ok(json!({ "url": form.url().to_string(), "fields": form.fields() }))
}

fn presign_put(upload: &Upload) -> Result<Value, String> {
    let (policy, config, credentials, now) = policy(upload)?;
    let put = policy
        .presign_put(
            &config,
            &credentials,
            now,
            Duration::from_secs(upload.expires_in),
        )
        .map_err(|e| e.to_string())?;
    let headers: Vec<(&str, String)> = put
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Ok(json!({ "url": put.url.to_string(), "headers": headers }))
}

/// A verifier trusting `callback.trust`, reading bodies as the upload
/// declared them (the driver passes the callback's content type).
fn verifier(callback: &Received) -> Verifier {
    let json = callback
        .content_type
        .as_deref()
        .is_some_and(|t| t.starts_with(CallbackBodyType::Json.mime()));
    let body_type = if json {
        CallbackBodyType::Json
    } else {
        CallbackBodyType::FormUrlEncoded
    };
    callback
        .trust
        .iter()
        .fold(Verifier::new().body_type(body_type), |v, prefix| {
            v.trust_key_url_prefix(prefix)
        })
}

fn request(callback: &Received) -> CallbackRequest<'_> {
    let mut request =
        CallbackRequest::new(&callback.path, &callback.query, callback.body.as_bytes());
    if let Some(value) = &callback.authorization {
        request = request.authorization(value);
    }
    if let Some(value) = &callback.pub_key_url {
        request = request.pub_key_url(value);
    }
    request
}

/// Step one of verification: which key to fetch (trusted prefixes checked).
fn key_url(callback: &Received) -> Result<Value, String> {
    match verifier(callback).check(&request(callback), Instant::now()) {
        Ok(Check::Fetch(fetch)) => Ok(json!({ "key_url": fetch.url() })),
        Ok(other) => Err(format!("no key to fetch: {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Step two: the signature against the fetched key, and the parsed body.
fn verify(callback: &Received) -> Result<Value, String> {
    let (verifier, request) = (verifier(callback), request(callback));
    let key = callback.public_key_pem.as_bytes();
    for _ in 0..2 {
        match verifier
            .check(&request, Instant::now())
            .map_err(|e| e.to_string())?
        {
            Check::Verified(verified) => return Ok(json!({ "variables": verified.variables() })),
            Check::Fetch(fetch) => verifier.key_fetched(fetch, Ok(key), Instant::now()),
            Check::Wait(_) => return Err("a fresh verifier never waits".to_owned()),
        }
    }
    Err("the key was fetched and still not used".to_owned())
}
