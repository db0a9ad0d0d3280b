//! PostObject: browser uploads with a `multipart/form-data` form carrying a
//! signed policy, optionally with a callback (`callback` field, `x:` variables).

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use hyper::body::Incoming;
use md5::{Digest as _, Md5};
use osscb_core::callback::Callback;
use osscb_core::sign::v1;
use osscb_core::{ObjectKey, crc64};
use serde_json::Value;

use crate::auth::{constant_time_eq, invalid_access_key_id, iso8601};
use crate::error::OssError;
use crate::server::{Ctx, Resp, Target, Written, read_body, stored, write_answer};
use crate::store::{Object, ObjectMeta, epoch_secs, hex_upper};
use crate::xml::Xml;

/// Whether the request carries a `multipart/form-data` body.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

struct Form {
    /// Fields before `file`, names as sent.
    fields: Vec<(String, String)>,
    file: Bytes,
    file_name: String,
    file_type: Option<String>,
}

impl Form {
    /// A field by case-insensitive name.
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn parse_form(headers: &HeaderMap, body: Bytes) -> Result<Form, OssError> {
    let bad = |m: &str| {
        OssError::new(
            400,
            "MalformedPOSTRequest",
            format!("The body of your POST request is not well-formed multipart/form-data: {m}"),
        )
    };
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(|e| bad(&e.to_string()))?;
    let mut multipart = multer::Multipart::with_reader(std::io::Cursor::new(body), boundary);
    let mut fields = Vec::new();
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| bad(&e.to_string()))?;
        let Some(field) = field else {
            return Err(OssError::invalid_argument(
                "The file field must be the last field of a PostObject form, and is required.",
            ));
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name.eq_ignore_ascii_case("file") {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let file_type = field.content_type().map(ToString::to_string);
            let file = field.bytes().await.map_err(|e| bad(&e.to_string()))?;
            return Ok(Form {
                fields,
                file,
                file_name,
                file_type,
            });
        }
        let value = field.text().await.map_err(|e| bad(&e.to_string()))?;
        fields.push((name, value));
    }
}

fn policy_failed(condition: &Value) -> OssError {
    OssError::access_denied(format!(
        "Invalid according to Policy: Policy Condition failed: {condition}"
    ))
}

/// Checks the decoded policy's expiration and conditions.
fn check_policy(policy: &Value, form: &Form, bucket: &str, key: &str) -> Result<(), OssError> {
    let invalid = |m: &str| OssError::invalid_argument(format!("Invalid Policy: {m}"));
    let expiration = policy
        .get("expiration")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("the policy must have an expiration."))?;
    let expires = osscb_core::time::parse_iso8601(expiration)
        .ok_or_else(|| invalid("the expiration is not an ISO 8601 GMT time."))?;
    let now = SystemTime::now();
    if expires < now {
        return Err(
            OssError::access_denied("Invalid according to Policy: Policy expired.")
                .with("ServerTime", iso8601(epoch_secs(now))),
        );
    }
    let field = |name: &str| -> Option<String> {
        let name = name.trim_start_matches('$');
        match name.to_ascii_lowercase().as_str() {
            "bucket" => Some(bucket.to_owned()),
            "key" => Some(key.to_owned()),
            _ => form.get(name).map(str::to_owned),
        }
    };
    let conditions = match policy.get("conditions") {
        None => return Ok(()),
        Some(Value::Array(c)) => c,
        Some(_) => return Err(invalid("conditions must be a list.")),
    };
    let size = form.file.len() as u64;
    for condition in conditions {
        match condition {
            Value::Object(map) => {
                for (name, want) in map {
                    let got = field(name).unwrap_or_default();
                    if want.as_str() != Some(got.as_str()) {
                        return Err(policy_failed(condition));
                    }
                }
            }
            Value::Array(items) => {
                let op = items
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if op == "content-length-range" {
                    let bound = |i: usize| items.get(i).and_then(Value::as_u64);
                    let (Some(min), Some(max)) = (bound(1), bound(2)) else {
                        return Err(invalid("content-length-range needs two numbers."));
                    };
                    if size < min {
                        return Err(OssError::new(
                            400,
                            "EntityTooSmall",
                            "Your proposed upload smaller than the minimum allowed size.",
                        )
                        .with("MinSizeAllowed", min.to_string())
                        .with("ProposedSize", size.to_string()));
                    }
                    if size > max {
                        return Err(OssError::new(
                            400,
                            "EntityTooLarge",
                            "Your proposed upload exceeds the maximum allowed size.",
                        )
                        .with("MaxSizeAllowed", max.to_string())
                        .with("ProposedSize", size.to_string()));
                    }
                    continue;
                }
                let name = items.get(1).and_then(Value::as_str).unwrap_or_default();
                let got = field(name).unwrap_or_default();
                let ok = match (op.as_str(), items.get(2)) {
                    ("eq", Some(Value::String(v))) => got == *v,
                    ("starts-with", Some(Value::String(v))) => got.starts_with(v.as_str()),
                    ("in", Some(Value::Array(vs))) => vs.iter().any(|v| v.as_str() == Some(&got)),
                    ("not-in", Some(Value::Array(vs))) => {
                        !vs.iter().any(|v| v.as_str() == Some(&got))
                    }
                    _ => return Err(invalid("unknown condition.")),
                };
                if !ok {
                    return Err(policy_failed(condition));
                }
            }
            _ => return Err(invalid("a condition must be an object or a list.")),
        }
    }
    Ok(())
}

/// Authenticates the form (policy signature, STS token) and checks the policy.
fn authenticate(ctx: &Ctx<'_>, form: &Form, bucket: &str, key: &str) -> Result<(), OssError> {
    let creds = &ctx.shared.creds;
    let Some(id) = form.get("OSSAccessKeyId") else {
        return Err(OssError::access_denied(
            "You have no right to access this object because of bucket acl.",
        ));
    };
    if id != creds.access_key_id() {
        return Err(invalid_access_key_id(
            "The OSS Access Key Id you provided does not exist in our records.",
            id,
        ));
    }
    if let Some(token) = creds.security_token() {
        let sent = form.get("x-oss-security-token").unwrap_or_default();
        if !constant_time_eq(sent, token) {
            return Err(invalid_access_key_id(
                "The security token you provided is invalid.",
                id,
            ));
        }
    }
    let (Some(policy_b64), Some(signature)) = (form.get("policy"), form.get("Signature")) else {
        return Err(OssError::access_denied(
            "A PostObject form with OSSAccessKeyId needs policy and Signature fields.",
        ));
    };
    let expected = v1::signature(creds.access_key_secret(), policy_b64);
    if !constant_time_eq(&expected, signature) {
        return Err(OssError::signature_mismatch(id, signature, policy_b64));
    }
    let policy: Value = STANDARD
        .decode(policy_b64.trim())
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .ok_or_else(|| {
            OssError::invalid_argument("Invalid Policy: the policy is not base64 of a JSON object.")
        })?;
    check_policy(&policy, form, bucket, key)
}

/// The callback of a form: `callback` plus every `x:` field as a variable.
fn form_callback(form: &Form) -> Result<Option<Callback>, OssError> {
    let Some(encoded) = form.get("callback") else {
        return Ok(None);
    };
    let vars: BTreeMap<&str, &str> = form
        .fields
        .iter()
        .filter(|(k, _)| k.starts_with("x:"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let vars_b64 = if vars.is_empty() {
        None
    } else {
        let json = serde_json::to_vec(&vars)
            .map_err(|e| OssError::invalid_argument(format!("callback variables: {e}")))?;
        Some(STANDARD.encode(json))
    };
    Callback::decode(encoded, vars_b64.as_deref())
        .map(Some)
        .map_err(|e| {
            OssError::invalid_argument(format!("The callback configuration is not valid: {e}"))
        })
}

/// Handles `POST /bucket/` (or `/` on a virtual host) with a form.
pub(crate) async fn post_object(
    ctx: &Ctx<'_>,
    target: &Target,
    body: Incoming,
) -> Result<Resp, OssError> {
    let bucket = target.bucket.as_deref().unwrap_or_default();
    let body = read_body(body).await?;
    let form = parse_form(ctx.headers, body).await?;
    let key = form
        .get("key")
        .ok_or_else(|| {
            OssError::invalid_argument("The key field of a PostObject form is required.")
        })?
        .replace("${filename}", &form.file_name);
    ObjectKey::new(key.as_str()).map_err(|_| OssError::invalid_object_name())?;
    authenticate(ctx, &form, bucket, &key)?;
    let callback = form_callback(&form)?;
    let status = match form.get("success_action_status") {
        Some("200") => StatusCode::OK,
        Some("201") => StatusCode::CREATED,
        _ => StatusCode::NO_CONTENT,
    };
    let md5: [u8; 16] = Md5::digest(&form.file).into();
    let content_type = form
        .get("Content-Type")
        .map(str::to_owned)
        .or_else(|| {
            form.file_type
                .clone()
                .filter(|t| t != "application/octet-stream")
        })
        .unwrap_or_else(|| osscb_core::ops::guess_content_type(&key).to_owned());
    let meta = ObjectMeta {
        bucket: bucket.to_owned(),
        key: key.clone(),
        etag: format!("\"{}\"", hex_upper(&md5)),
        crc64: crc64::checksum(&form.file),
        content_type,
        last_modified: epoch_secs(SystemTime::now()),
        meta: form
            .fields
            .iter()
            .filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-oss-meta-"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect(),
        multipart: false,
    };
    let size = form.file.len() as u64;
    let object = Object {
        meta: meta.clone(),
        data: form.file.clone(),
    };
    stored(ctx.shared.store.put(object, false).await, "")?;
    let xml = (status == StatusCode::CREATED).then(|| {
        let host = ctx.host_id;
        let mut xml = Xml::new("PostResponse");
        xml.leaf("Bucket", bucket)
            .leaf("Location", &format!("http://{host}/{key}"))
            .leaf("Key", &key)
            .leaf("ETag", &meta.etag);
        xml.finish()
    });
    let written = Written {
        meta: &meta,
        size,
        content_md5: Some(STANDARD.encode(md5)),
        operation: "PostObject",
    };
    Ok(write_answer(ctx, written, callback, xml, status).await)
}
