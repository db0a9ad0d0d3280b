//! PostObject: browser uploads with a `multipart/form-data` form carrying a
//! signed policy, optionally with a callback (`callback` field, `x:` variables).
//!
//! The form is read as it streams in. OSS requires `file` to be the form's
//! last field (Alibaba Cloud OSS API reference, PostObject, form field
//! `file`), so the fields before it carry everything that authenticates
//! the request: they are read (at most [`MAX_FIELDS`] bytes), the signature
//! and policy are checked, and only then is the file read. A forged or
//! oversized form is refused without reading its file.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt as _;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyDataStream;
use hyper::body::Incoming;
use osscb_core::ObjectKey;
use osscb_core::callback::Callback;
use osscb_core::post_policy::FormSignatureV4;
use osscb_core::sign::v1;
use serde_json::Value;

use crate::auth::{constant_time_eq, credentials_named, invalid_access_key_id, iso8601, refusal};
use crate::data::Received;
use crate::error::OssError;
use crate::server::{Ctx, MAX_BODY, Resp, Target, Written, stored, write_answer};
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

/// The most the fields before `file` may hold, names and values together
/// (64 KiB). OSS documents no such figure; this is the emulator's own bound,
/// far above any real form (policy, signature, callback and its variables,
/// metadata). The raw bytes before the file's content (boundaries and part
/// headers included) are cut off at twice that.
pub(crate) const MAX_FIELDS: usize = 64 * 1024;

/// The fields before `file`, and the file part's own headers.
struct Form {
    /// Fields before `file`, names as sent.
    fields: Vec<(String, String)>,
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

fn malformed(message: &str) -> OssError {
    OssError::new(
        400,
        "MalformedPOSTRequest",
        format!("The body of your POST request is not well-formed multipart/form-data: {message}"),
    )
}

fn fields_too_large() -> OssError {
    malformed(&format!(
        "the form fields before the file field exceed {MAX_FIELDS} bytes."
    ))
}

/// The form's parts, pulled from the body only while `budget` (bytes) lasts.
struct Parts {
    multipart: multer::Multipart<'static>,
    budget: Arc<AtomicU64>,
}

impl Parts {
    fn new(headers: &HeaderMap, body: Incoming) -> Result<Self, OssError> {
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let boundary =
            multer::parse_boundary(content_type).map_err(|e| malformed(&e.to_string()))?;
        let budget = Arc::new(AtomicU64::new(2 * MAX_FIELDS as u64));
        // Each pull takes one frame (bounded by hyper's read buffer) and is
        // refused once the budget is spent.
        let stream = futures_util::stream::unfold(
            (BodyDataStream::new(body), Arc::clone(&budget)),
            |(mut body, budget)| async move {
                if budget.load(Ordering::SeqCst) == 0 {
                    return Some((Err(Cut("the budget is spent")), (body, budget)));
                }
                let frame = match body.next().await? {
                    Ok(frame) => frame,
                    Err(_) => return Some((Err(Cut("the body broke off")), (body, budget))),
                };
                let len = frame.len() as u64;
                let _ = budget.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    Some(left.saturating_sub(len))
                });
                Some((Ok(frame), (body, budget)))
            },
        );
        Ok(Self {
            multipart: multer::Multipart::new(stream, boundary),
            budget,
        })
    }

    /// A multer error as OSS's answer.
    fn error(&self, e: &multer::Error) -> OssError {
        if self.budget.load(Ordering::SeqCst) == 0 {
            fields_too_large()
        } else {
            malformed(&e.to_string())
        }
    }

    /// Reads the fields up to `file`; returns them and the file part, unread.
    async fn fields(&mut self) -> Result<(Form, multer::Field<'static>), OssError> {
        let mut fields = Vec::new();
        let mut used = 0usize;
        loop {
            let next = self.multipart.next_field().await;
            let Some(mut field) = next.map_err(|e| self.error(&e))? else {
                return Err(OssError::invalid_argument(
                    "The file field must be the last field of a PostObject form, and is required.",
                ));
            };
            let name = field.name().unwrap_or_default().to_owned();
            if name.eq_ignore_ascii_case("file") {
                let form = Form {
                    fields,
                    file_name: field.file_name().unwrap_or_default().to_owned(),
                    file_type: field.content_type().map(ToString::to_string),
                };
                return Ok((form, field));
            }
            used += name.len();
            let mut value = Vec::new();
            loop {
                let chunk = field.chunk().await.map_err(|e| self.error(&e))?;
                let Some(chunk) = chunk else { break };
                used += chunk.len();
                if used > MAX_FIELDS {
                    return Err(fields_too_large());
                }
                value.extend_from_slice(&chunk);
            }
            fields.push((name, String::from_utf8_lossy(&value).into_owned()));
        }
    }

    /// Reads the file part (at most `max` bytes, else `EntityTooLarge`).
    /// Streamed to a new file in the directory `scratch` gives when large.
    async fn file(
        &self,
        file: multer::Field<'static>,
        max: u64,
        scratch: impl Fn() -> std::io::Result<std::path::PathBuf>,
    ) -> Result<Received, OssError> {
        self.budget.store(u64::MAX, Ordering::SeqCst);
        let chunks = file.map(|chunk| chunk.map_err(|e| self.error(&e)));
        crate::data::receive(chunks, max, scratch, || too_large(max)).await
    }
}

/// Why the form's body stream stopped early.
#[derive(Debug)]
struct Cut(&'static str);

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Cut {}

/// `EntityTooLarge`: the file grew past the policy's (or OSS's) limit; it
/// is not read further, so its whole size is not known.
fn too_large(max: u64) -> OssError {
    OssError::new(
        400,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size.",
    )
    .with("MaxSizeAllowed", max.to_string())
}

fn policy_failed(condition: &Value) -> OssError {
    OssError::access_denied(format!(
        "Invalid according to Policy: Policy Condition failed: {condition}"
    ))
}

/// The file sizes a policy allows: its `content-length-range`, inclusive.
type SizeRange = Option<(u64, u64)>;

/// Checks the decoded policy's expiration and conditions (but the file's
/// size, which is not known yet); returns the allowed sizes.
fn check_policy(
    policy: &Value,
    form: &Form,
    bucket: &str,
    key: &str,
) -> Result<SizeRange, OssError> {
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
        None => return Ok(None),
        Some(Value::Array(c)) => c,
        Some(_) => return Err(invalid("conditions must be a list.")),
    };
    let mut range = None;
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
                    range = Some((min, max));
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
    Ok(range)
}

/// Checks the file's size against the policy's range (the upper bound was
/// enforced while reading).
fn check_size(size: u64, range: SizeRange) -> Result<(), OssError> {
    match range {
        Some((min, _)) if size < min => Err(OssError::new(
            400,
            "EntityTooSmall",
            "Your proposed upload smaller than the minimum allowed size.",
        )
        .with("MinSizeAllowed", min.to_string())
        .with("ProposedSize", size.to_string())),
        _ => Ok(()),
    }
}

/// Authenticates the form (policy signature, STS token), V4 when it carries
/// `x-oss-signature-version` and V1 otherwise, and checks the policy;
/// returns the file sizes it allows.
fn authenticate(
    ctx: &Ctx<'_>,
    form: &Form,
    bucket: &str,
    key: &str,
) -> Result<SizeRange, OssError> {
    let now = ctx.shared.faults.now();
    let v4 = FormSignatureV4::from_fields(|name| form.get(name))
        .map_err(|rejection| refusal(rejection, &ctx.shared.creds, now))?;
    let policy_b64 = match v4 {
        Some(signature) => {
            let id = signature.access_key_id();
            let creds = credentials_named(&ctx.shared.creds, &ctx.shared.issued, id, now)?;
            let policy = form.get("policy").unwrap_or_default();
            let token = form.get("x-oss-security-token");
            signature
                .verify(policy, token, &creds, now)
                .map_err(|rejection| refusal(rejection, &creds, now))?;
            policy
        }
        None => authenticate_v1(ctx, form, now)?,
    };
    let policy: Value = STANDARD
        .decode(policy_b64.trim())
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .ok_or_else(|| {
            OssError::invalid_argument("Invalid Policy: the policy is not base64 of a JSON object.")
        })?;
    check_policy(&policy, form, bucket, key)
}

/// Checks a V1 form's `Signature` (and STS token); returns its policy.
fn authenticate_v1<'f>(
    ctx: &Ctx<'_>,
    form: &'f Form,
    now: SystemTime,
) -> Result<&'f str, OssError> {
    let Some(id) = form.get("OSSAccessKeyId") else {
        return Err(OssError::access_denied(
            "You have no right to access this object because of bucket acl.",
        ));
    };
    let creds = &credentials_named(&ctx.shared.creds, &ctx.shared.issued, id, now)?;
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
    Ok(policy_b64)
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
    let mut parts = Parts::new(ctx.headers, body)?;
    let (form, file) = parts.fields().await?;
    let key = form
        .get("key")
        .ok_or_else(|| {
            OssError::invalid_argument("The key field of a PostObject form is required.")
        })?
        .replace("${filename}", &form.file_name);
    ObjectKey::new(key.as_str()).map_err(|_| OssError::invalid_object_name())?;
    let range = authenticate(ctx, &form, bucket, &key)?;
    let callback = form_callback(&form)?;
    let max = range.map_or(MAX_BODY, |(_, max)| max.min(MAX_BODY));
    let store = &ctx.shared.store;
    let scratch = || store.scratch().map(std::path::Path::to_owned);
    let file = parts.file(file, max, scratch).await?;
    check_size(file.data.len(), range).inspect_err(|_| file.data.discard())?;
    let status = match form.get("success_action_status") {
        Some("200") => StatusCode::OK,
        Some("201") => StatusCode::CREATED,
        _ => StatusCode::NO_CONTENT,
    };
    let md5 = file.md5;
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
        crc64: file.crc64,
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
    let size = file.data.len();
    let object = Object {
        meta: meta.clone(),
        data: file.data,
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
