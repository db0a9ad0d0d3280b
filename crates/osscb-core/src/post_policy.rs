//! Signed direct uploads for browsers and phones: the form fields of a
//! [PostObject](https://www.alibabacloud.com/help/en/oss/developer-reference/postobject)
//! with a policy and an upload callback, and, beside it, the same upload as a
//! presigned PUT URL.
//!
//! The application server builds a [`PostPolicy`] (bucket, exact key or key
//! prefix, size range, content type, callback), signs it with its credentials
//! and a time it passes in, and hands the resulting [`PostForm`] to the client.
//! The client sends a `multipart/form-data` POST to [`PostForm::url`] with every
//! field of [`PostForm::fields`] in order and the file **last** (field `file`).
//! OSS checks the policy, stores the object, calls the callback, and answers
//! the upload with the application server's JSON.
//!
//! V1 rules (OSS's "PostObject" and "Appendix: Policy" pages):
//! - `policy` = base64 of the policy JSON, `expiration` in ISO 8601 UTC with
//!   milliseconds, `conditions` a list of `{"bucket": …}`, `["eq", "$key", …]` /
//!   `["starts-with", "$key", …]`, `["content-length-range", min, max]`, and
//!   `["eq" | "starts-with", "$content-type", …]`;
//! - `Signature` = base64(HMAC-SHA1(AccessKeySecret, policy-as-base64));
//! - STS credentials add the form field `x-oss-security-token`. V1 policies
//!   do not carry it as a condition (V4 policies do, see below);
//! - the callback travels as the `callback` field (base64 JSON) and each custom
//!   variable as its own `x:` field. OSS does not sign form fields outside the
//!   policy's conditions, so a client could swap the callback: the callback
//!   server must therefore verify every callback (see [`crate::verify`]),
//!   which it has to do anyway.
//!
//! V4 rules (OSS's "POST V4 signature" page, `signature-version-4-recommend`),
//! used when the [`Config`] has a region ([`Config::v4`]):
//! - the form carries `x-oss-signature-version` = `OSS4-HMAC-SHA256`,
//!   `x-oss-credential` = `<AccessKeyId>/<YYYYMMDD>/<region>/oss/aliyun_v4_request`,
//!   `x-oss-date` = `<YYYYMMDD>T<HHMMSS>Z` (the signing time, same day as the
//!   credential) and `x-oss-signature`, instead of `OSSAccessKeyId` and
//!   `Signature`;
//! - the policy must hold each of those three (and, with STS credentials,
//!   `x-oss-security-token`) as a `{"name": value}` condition; osscb puts
//!   them right after the bucket, in the order of the page's example
//!   (credential, signature version, date, token);
//! - `x-oss-signature` = hex(HMAC-SHA256(SigningKey, policy-as-base64)), the
//!   signing key derived as for header signatures
//!   (`aliyun_v4` + secret → date → region → `oss` → `aliyun_v4_request`);
//! - OSS accepts an `x-oss-date` at most 15 minutes ahead of its clock and
//!   at most 7 days old ([`FormSignatureV4::verify`]).
//!
//! No published V4 PostObject example with a signature value was found (the
//! official page and the SDK samples show the procedure, not a vector); the
//! tests pin bytes computed independently with Python's standard library and
//! the emulator verifies them end to end.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use osscb_core::callback::{Callback, Var};
//! use osscb_core::post_policy::PostPolicy;
//! use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey};
//!
//! let config = Config::v1(Endpoint::parse("oss-cn-hangzhou.aliyuncs.com")?);
//! let credentials = Credentials::new("LTAI-example", "secret");
//! let callback = Callback::builder("https://app.example.com/oss-callback")
//!     .body(format!("bucket={}&object={}&size={}", Var::Bucket, Var::Object, Var::Size))
//!     .build()?;
//! let policy = PostPolicy::exact_key(Bucket::new("examplebucket")?, ObjectKey::new("photos/cat.png")?)
//!     .content_length_range(1, 10 * 1024 * 1024)
//!     .content_type("image/png")
//!     .callback(callback);
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//!
//! // A browser form …
//! let form = policy.sign(&config, &credentials, now, Duration::from_secs(600))?;
//! assert_eq!(form.url().to_string(), "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/");
//! assert_eq!(form.field("key"), Some("photos/cat.png"));
//! assert_eq!(form.expires(), now + Duration::from_secs(600));
//! assert!(form.field("callback").is_some());
//!
//! // … and the same upload as a presigned PUT URL (the callback moves into the query).
//! let put = policy.presign_put(&config, &credentials, now, Duration::from_secs(600))?;
//! assert!(put.url.query().unwrap_or_default().contains("callback="));
//! assert_eq!(put.headers["content-type"], "image/png");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;
use serde::Serialize;
use serde_json::{Value, json};

use crate::callback::Callback;
use crate::ops::{Operation, PutObject, PutObjectOutput};
use crate::request::{Config, PresignedRequest, SigningStrings};
use crate::response::read_write_response;
use crate::sign::v4::{self, Credential};
use crate::sign::{
    Rejection, SECURITY_TOKEN_HEADER, SignatureVersion, check_access_key_id, check_security_token,
    check_signature, check_skew, v1,
};
use crate::time::{iso8601_millis, parse_v4_datetime, v4_datetime};
use crate::{Bucket, Credentials, Error, ObjectKey};

/// The longest validity osscb gives a policy: seven days, like presigned URLs.
pub(crate) const MAX_POLICY_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);

/// The largest object a PostObject may upload (5 GiB).
pub(crate) const MAX_POST_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// Form field names, in the order [`PostForm::fields`] lists them.
pub(crate) mod fields {
    /// The object key (exact policies only; the client adds it for prefixes).
    pub(crate) const KEY: &str = "key";
    /// base64 of the policy JSON.
    pub(crate) const POLICY: &str = "policy";
    /// The AccessKey ID.
    pub(crate) const ACCESS_KEY_ID: &str = "OSSAccessKeyId";
    /// base64(HMAC-SHA1(secret, policy)).
    pub(crate) const SIGNATURE: &str = "Signature";
    /// The STS token, for temporary credentials.
    pub(crate) const SECURITY_TOKEN: &str = super::SECURITY_TOKEN_HEADER;
    /// The status OSS answers a callback-less upload with (200, 201 or 204).
    pub(crate) const SUCCESS_ACTION_STATUS: &str = "success_action_status";
    /// The object's content type.
    pub(crate) const CONTENT_TYPE: &str = "Content-Type";
    /// V4: `OSS4-HMAC-SHA256`.
    pub(crate) const SIGNATURE_VERSION: &str = crate::sign::v4::SIGNATURE_VERSION_QUERY;
    /// V4: `<AccessKeyId>/<date>/<region>/oss/aliyun_v4_request`.
    pub(crate) const CREDENTIAL: &str = crate::sign::v4::CREDENTIAL_QUERY;
    /// V4: the signing time, `YYYYMMDDTHHMMSSZ`.
    pub(crate) const DATE: &str = crate::sign::v4::DATE_QUERY;
    /// V4: hex(HMAC-SHA256(signing key, policy)).
    pub(crate) const V4_SIGNATURE: &str = crate::sign::v4::SIGNATURE_QUERY;
}

/// The longest a V4 form's `x-oss-date` stays valid: 7 days (OSS's "POST V4
/// signature" page, `x-oss-date`).
const MAX_V4_FORM_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// A V4 form's scope at its signing time.
struct V4Scope {
    /// `YYYYMMDDTHHMMSSZ`.
    datetime: String,
    /// `<AccessKeyId>/<YYYYMMDD>/<region>/oss/aliyun_v4_request`.
    credential: String,
    /// The region ID.
    region: String,
    /// The STS token, when the credentials carry one.
    token: Option<String>,
}

impl V4Scope {
    fn new(credentials: &Credentials, region: &str, now: SystemTime) -> Result<Self, Error> {
        let datetime = v4_datetime(now)?;
        let mut credential = format!("{}/", credentials.access_key_id());
        v4::push_scope(&mut credential, v4::date_of(&datetime), region, v4::PRODUCT);
        Ok(Self {
            datetime,
            credential,
            region: region.to_owned(),
            token: credentials.security_token().map(str::to_owned),
        })
    }

    /// The conditions V4 requires, in the order of the official example.
    fn conditions(&self) -> Vec<Value> {
        let mut out = vec![
            json!({ fields::CREDENTIAL: self.credential }),
            json!({ fields::SIGNATURE_VERSION: v4::ALGORITHM }),
            json!({ fields::DATE: self.datetime }),
        ];
        if let Some(token) = &self.token {
            out.push(json!({ fields::SECURITY_TOKEN: token }));
        }
        out
    }
}

/// Which keys the policy allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyCondition {
    /// Exactly this key: `["eq", "$key", key]`; the form carries the `key` field.
    Exact(ObjectKey),
    /// Any key starting with this (non-empty) prefix:
    /// `["starts-with", "$key", prefix]`; the client adds the `key` field.
    Prefix(String),
}

/// Which content types the policy allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ContentTypeCondition {
    /// Exactly this type; the form carries the `Content-Type` field.
    Exact(String),
    /// Any type starting with this (non-empty) prefix, e.g. `image/`.
    Prefix(String),
}

/// A PostObject policy with its form fields, before signing.
///
/// Validation happens in [`PostPolicy::sign`],
/// so the builder methods never fail.
#[derive(Clone, Debug)]
pub struct PostPolicy {
    bucket: Bucket,
    key: KeyCondition,
    content_length: Option<(u64, u64)>,
    content_type: Option<ContentTypeCondition>,
    success_action_status: Option<u16>,
    callback: Option<Callback>,
}

/// A signed PostObject form: where to POST it and the fields to send, in order,
/// before the `file` part. `Debug` hides the STS token field.
#[derive(Clone)]
pub struct PostForm {
    url: http::Uri,
    fields: Vec<(String, String)>,
    policy_json: String,
    expires: SystemTime,
    has_callback: bool,
}

impl std::fmt::Debug for PostForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A V4 policy carries the STS token as a condition: its JSON shows
        // the token redacted and its base64 is left out.
        let token = self.field(fields::SECURITY_TOKEN).filter(|t| !t.is_empty());
        let fields: Vec<(&str, &str)> = self
            .fields
            .iter()
            .map(|(k, v)| match k.as_str() {
                fields::SECURITY_TOKEN => (k.as_str(), "<redacted>"),
                fields::POLICY if token.is_some_and(|t| self.policy_json.contains(t)) => {
                    (k.as_str(), "<base64 of policy_json>")
                }
                _ => (k.as_str(), v.as_str()),
            })
            .collect();
        let policy_json = match token {
            Some(token) => self.policy_json.replace(token, "<redacted>"),
            None => self.policy_json.clone(),
        };
        f.debug_struct("PostForm")
            .field("url", &self.url)
            .field("fields", &fields)
            .field("policy_json", &policy_json)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct PolicyDocument<'a> {
    expiration: &'a str,
    conditions: &'a [Value],
}

impl PostPolicy {
    /// A policy for `bucket` and the keys `key` allows.
    pub(crate) fn new(bucket: Bucket, key: KeyCondition) -> Self {
        Self {
            bucket,
            key,
            content_length: None,
            content_type: None,
            success_action_status: None,
            callback: None,
        }
    }

    /// A policy for exactly one key.
    pub fn exact_key(bucket: Bucket, key: ObjectKey) -> Self {
        Self::new(bucket, KeyCondition::Exact(key))
    }

    /// A policy for any key under `prefix` (checked when signing: it must not be empty).
    pub fn key_prefix(bucket: Bucket, prefix: impl Into<String>) -> Self {
        Self::new(bucket, KeyCondition::Prefix(prefix.into()))
    }

    /// `["content-length-range", min, max]`: the object's size in bytes, both
    /// ends included (checked when signing: `min <= max <= 5 GiB`).
    #[must_use]
    pub fn content_length_range(mut self, min: u64, max: u64) -> Self {
        self.content_length = Some((min, max));
        self
    }

    /// Exactly this content type (also sent as the `Content-Type` field).
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(ContentTypeCondition::Exact(content_type.into()));
        self
    }

    /// Any content type starting with `prefix` (e.g. `image/`); the client sends
    /// its own `Content-Type` field.
    #[must_use]
    pub fn content_type_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.content_type = Some(ContentTypeCondition::Prefix(prefix.into()));
        self
    }

    /// `success_action_status`: 200, 201 or 204 (OSS's default) for uploads
    /// whose callback is absent; with a callback OSS answers 200 and the
    /// callback's body.
    #[must_use]
    pub fn success_action_status(mut self, status: u16) -> Self {
        self.success_action_status = Some(status);
        self
    }

    /// An upload callback: the `callback` field and one field per `x:` variable.
    #[must_use]
    pub fn callback(mut self, callback: Callback) -> Self {
        self.callback = Some(callback);
        self
    }

    fn validate(&self) -> Result<(), Error> {
        if let KeyCondition::Prefix(prefix) = &self.key {
            if prefix.is_empty() {
                return Err(Error::InvalidArgument(
                    "an empty key prefix would allow any key; give a prefix such as \"uploads/\" or an exact key".to_owned(),
                ));
            }
            // A prefix obeys the key rules (length, no leading '/', no NUL/CR/LF).
            ObjectKey::new(prefix.as_str())?;
        }
        if let Some((min, max)) = self.content_length {
            if min > max {
                return Err(Error::InvalidArgument(format!(
                    "content-length-range minimum {min} is larger than its maximum {max}"
                )));
            }
            if max > MAX_POST_OBJECT_SIZE {
                return Err(Error::InvalidArgument(format!(
                    "content-length-range maximum {max} is over PostObject's {MAX_POST_OBJECT_SIZE}-byte (5 GiB) limit"
                )));
            }
        }
        if let Some(ContentTypeCondition::Exact(ct) | ContentTypeCondition::Prefix(ct)) =
            &self.content_type
            && (ct.trim().is_empty() || HeaderValue::from_str(ct).is_err())
        {
            return Err(Error::InvalidHeader {
                name: fields::CONTENT_TYPE.to_owned(),
            });
        }
        if let Some(status) = self.success_action_status
            && !matches!(status, 200 | 201 | 204)
        {
            return Err(Error::InvalidArgument(format!(
                "success_action_status must be 200, 201 or 204, not {status}"
            )));
        }
        Ok(())
    }

    fn conditions(&self, v4: Option<&V4Scope>) -> Vec<Value> {
        let mut out = vec![json!({ "bucket": self.bucket.as_str() })];
        if let Some(v4) = v4 {
            out.extend(v4.conditions());
        }
        out.push(match &self.key {
            KeyCondition::Exact(key) => json!(["eq", "$key", key.as_str()]),
            KeyCondition::Prefix(prefix) => json!(["starts-with", "$key", prefix]),
        });
        if let Some((min, max)) = self.content_length {
            out.push(json!(["content-length-range", min, max]));
        }
        match &self.content_type {
            Some(ContentTypeCondition::Exact(ct)) => out.push(json!(["eq", "$content-type", ct])),
            Some(ContentTypeCondition::Prefix(p)) => {
                out.push(json!(["starts-with", "$content-type", p]));
            }
            None => {}
        }
        // The callback and its `x:` variables travel as form fields that the
        // uploader could replace; pin each with an `eq` condition. OSS's
        // PostObject documentation describes conditions as the valid values
        // of the form's fields (matching modes eq, starts-with, in, not-in,
        // content-length-range) and does not list which fields it checks, so
        // whether OSS enforces these is not documented; the emulator does.
        // The grant (`crate::grant`) binds the callback either way.
        if let Some(callback) = &self.callback {
            for (name, value) in callback.form_fields() {
                out.push(json!(["eq", format!("${name}"), value]));
            }
        }
        out
    }

    /// The policy JSON for a policy that expires at `expiration`: fixed key
    /// order (`expiration`, then `conditions` in the order bucket, the V4
    /// fields, key, content-length-range, content-type, callback fields), no
    /// whitespace, no HTML escaping.
    ///
    /// # Errors
    /// The first rule the policy breaks, or a time before 1970 or after 9999.
    fn policy_json(&self, expiration: SystemTime, v4: Option<&V4Scope>) -> Result<String, Error> {
        self.validate()?;
        let expiration = iso8601_millis(expiration)?;
        let conditions = self.conditions(v4);
        serde_json::to_string(&PolicyDocument {
            expiration: &expiration,
            conditions: &conditions,
        })
        .map_err(|e| Error::InvalidArgument(format!("policy JSON: {e}")))
    }

    /// Signs the policy at `now` for `valid_for` (1 s to 7 days) and builds the
    /// form for the bucket's URL at `config`'s endpoint: V4 when `config` has a
    /// region ([`Config::v4`]), V1 otherwise (see the module docs).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a validity out of range or a broken rule,
    /// [`Error::InvalidHeader`] for a bad content type or STS token.
    pub fn sign(
        &self,
        config: &Config,
        credentials: &Credentials,
        now: SystemTime,
        valid_for: Duration,
    ) -> Result<PostForm, Error> {
        check_validity(valid_for)?;
        let expires = now
            .checked_add(valid_for)
            .ok_or_else(|| Error::InvalidArgument(format!("{now:?} + {valid_for:?} overflows")))?;
        if let Some(token) = credentials.security_token()
            && (token.is_empty() || HeaderValue::from_str(token).is_err())
        {
            return Err(Error::InvalidHeader {
                name: fields::SECURITY_TOKEN.to_owned(),
            });
        }
        let v4 = match &config.signature_version {
            SignatureVersion::V1 => None,
            SignatureVersion::V4 { region } => {
                Some(V4Scope::new(credentials, region.as_str(), now)?)
            }
        };
        let policy_json = self.policy_json(expires, v4.as_ref())?;
        let policy = STANDARD.encode(policy_json.as_bytes());
        let mut fields = Vec::new();
        let mut push = |k: &str, v: &str| fields.push((k.to_owned(), v.to_owned()));
        if let KeyCondition::Exact(key) = &self.key {
            push(fields::KEY, key.as_str());
        }
        push(fields::POLICY, &policy);
        match &v4 {
            None => {
                push(fields::ACCESS_KEY_ID, credentials.access_key_id());
                let signature = v1::signature(credentials.access_key_secret(), &policy);
                push(fields::SIGNATURE, &signature);
            }
            Some(v4) => {
                let scope = (v4::date_of(&v4.datetime), v4.region.as_str(), v4::PRODUCT);
                let signature = v4::signature_of(credentials, scope, &policy);
                push(fields::SIGNATURE_VERSION, v4::ALGORITHM);
                push(fields::CREDENTIAL, &v4.credential);
                push(fields::DATE, &v4.datetime);
                push(fields::V4_SIGNATURE, &signature);
            }
        }
        if let Some(token) = credentials.security_token() {
            push(fields::SECURITY_TOKEN, token);
        }
        if let Some(status) = self.success_action_status {
            push(fields::SUCCESS_ACTION_STATUS, &status.to_string());
        }
        if let Some(ContentTypeCondition::Exact(ct)) = &self.content_type {
            push(fields::CONTENT_TYPE, ct);
        }
        if let Some(callback) = &self.callback {
            fields.extend(callback.form_fields());
        }
        let url = config.endpoint.url(Some(&self.bucket), None, &[])?;
        Ok(PostForm {
            url,
            fields,
            policy_json,
            expires,
            has_callback: self.callback.is_some(),
        })
    }

    /// The same upload as a presigned PUT URL: exact key, same callback (moved
    /// into the query as signed sub-resources) and, for an exact content type,
    /// a signed `Content-Type` the client must send. An exact size
    /// (`content_length_range(n, n)`) becomes the `Content-Length` header the
    /// client must send, which a V4 configuration signs when asked to
    /// (`Config::with_additional_headers(["content-length"])`); other size
    /// ranges and prefix conditions have no PUT equivalent.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a prefix policy, else as [`PostPolicy::sign`]
    /// and [`crate::OssRequest::presign`].
    pub fn presign_put(
        &self,
        config: &Config,
        credentials: &Credentials,
        now: SystemTime,
        valid_for: Duration,
    ) -> Result<PresignedRequest, Error> {
        self.validate()?;
        let KeyCondition::Exact(key) = &self.key else {
            return Err(Error::InvalidArgument(
                "a presigned PUT needs an exact key, not a prefix".to_owned(),
            ));
        };
        let mut put = PutObject::new(self.bucket.clone(), key.clone());
        if let Some(ContentTypeCondition::Exact(ct)) = &self.content_type {
            put = put.content_type(ct.clone());
        }
        if let Some(callback) = &self.callback {
            put = put.callback(callback.clone());
        }
        if let Some((min, max)) = self.content_length
            && min == max
        {
            put = put.content_length(min);
        }
        put.request()?.presign(config, credentials, now, valid_for)
    }
}

impl PostForm {
    /// Where to POST the form: the bucket's URL (`https://bucket.endpoint/`,
    /// or `http://host:port/bucket/` in path style).
    pub fn url(&self) -> &http::Uri {
        &self.url
    }

    /// The fields to send, in order, before the `file` part.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// A field's value by name.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// When the policy stops working.
    pub fn expires(&self) -> SystemTime {
        self.expires
    }

    /// Reads OSS's answer to the upload: the callback's answer when the form
    /// carried a callback; [`Error::CallbackFailed`] on 203 (object stored,
    /// callback failed); [`Error::Service`] otherwise.
    ///
    /// # Errors
    /// As above.
    pub fn parse<B: AsRef<[u8]>>(
        &self,
        response: http::Response<B>,
    ) -> Result<PutObjectOutput, Error> {
        let (object, callback) = read_write_response(
            response.status(),
            response.headers(),
            response.body().as_ref(),
            self.has_callback,
        )?;
        Ok(PutObjectOutput { object, callback })
    }
}

/// The V4 signature a received PostObject form carries: what a server (the
/// emulator) needs to check it the way OSS does.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use osscb_core::post_policy::{FormSignatureV4, PostPolicy};
/// use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey, Region};
///
/// let config = Config::v4(Endpoint::parse("http://127.0.0.1:9000")?, Region::new("cn-hangzhou")?);
/// let credentials = Credentials::new("ak", "sk");
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let form = PostPolicy::exact_key(Bucket::new("examplebucket")?, ObjectKey::new("k")?)
///     .sign(&config, &credentials, now, Duration::from_secs(600))?;
/// let signature = FormSignatureV4::from_fields(|name| form.field(name))
///     .map_err(|r| format!("{r:?}"))?
///     .ok_or("no V4 signature")?;
/// assert_eq!(signature.access_key_id(), "ak");
/// let policy = form.field("policy").unwrap_or_default();
/// assert!(signature.verify(policy, None, &credentials, now).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct FormSignatureV4 {
    credential: Credential,
    datetime: String,
    signature: String,
}

impl FormSignatureV4 {
    /// Reads `x-oss-signature-version`, `x-oss-credential`, `x-oss-date` and
    /// `x-oss-signature` through `field` (a lookup by name, which OSS treats
    /// case-insensitively). `Ok(None)` when the form has no
    /// `x-oss-signature-version` (a V1 or anonymous form).
    ///
    /// # Errors
    /// [`Rejection::InvalidArgument`] for another algorithm, or a missing or
    /// malformed field.
    pub fn from_fields<'a>(
        field: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Option<Self>, Rejection> {
        let Some(version) = field(fields::SIGNATURE_VERSION) else {
            return Ok(None);
        };
        if version.trim() != v4::ALGORITHM {
            return Err(Rejection::InvalidArgument(format!(
                "Unsupported {}: {version}",
                fields::SIGNATURE_VERSION
            )));
        }
        let required = |name: &str| {
            field(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    Rejection::InvalidArgument(format!("A V4 PostObject form needs {name}."))
                })
        };
        let credential = Credential::parse(required(fields::CREDENTIAL)?).ok_or_else(|| {
            Rejection::InvalidArgument(format!("Invalid {}.", fields::CREDENTIAL))
        })?;
        Ok(Some(Self {
            credential,
            datetime: required(fields::DATE)?.to_owned(),
            signature: required(fields::V4_SIGNATURE)?.to_ascii_lowercase(),
        }))
    }

    /// The AccessKey ID the credential names (to find its secret).
    pub fn access_key_id(&self) -> &str {
        &self.credential.access_key_id
    }

    /// Checks the form at `now` against `credentials`, the way OSS does: the
    /// AccessKey ID; the scope (product `oss`, the credential's date the day
    /// of `x-oss-date`); the STS token (`security_token`, the form's
    /// `x-oss-security-token`); `x-oss-date` at most 15 minutes ahead and 7
    /// days old; the signature over `policy` (the form's base64 text),
    /// compared in constant time; then that the policy holds the conditions V4
    /// requires. The policy's expiration and the values of its conditions are
    /// the caller's to check, as for V1. Returns the string to sign.
    ///
    /// # Errors
    /// The first [`Rejection`] that applies: `SignatureDoesNotMatch` carries
    /// the policy as the string to sign; a missing condition is
    /// `AccessDenied`.
    pub fn verify(
        &self,
        policy: &str,
        security_token: Option<&str>,
        credentials: &Credentials,
        now: SystemTime,
    ) -> Result<SigningStrings, Rejection> {
        let id = self.access_key_id();
        check_access_key_id(credentials, id)?;
        if self.credential.product != v4::PRODUCT
            || v4::date_of(&self.datetime) != self.credential.date
        {
            return Err(Rejection::InvalidArgument(format!(
                "Invalid credential scope: {} must be the day of {} {}.",
                fields::CREDENTIAL,
                fields::DATE,
                self.datetime
            )));
        }
        let signed_at = parse_v4_datetime(&self.datetime)
            .ok_or_else(|| Rejection::AccessDenied(format!("Invalid {}.", fields::DATE)))?;
        check_security_token(credentials, security_token)?;
        if signed_at > now {
            check_skew(signed_at, &self.datetime, now)?;
        } else if now.duration_since(signed_at).unwrap_or_default() > MAX_V4_FORM_AGE {
            return Err(Rejection::AccessDenied("Request has expired.".to_owned()));
        }
        let scope = (
            self.credential.date.as_str(),
            self.credential.region.as_str(),
            self.credential.product.as_str(),
        );
        let policy = policy.trim();
        let expected = v4::signature_of(credentials, scope, policy);
        let strings = SigningStrings {
            canonical_request: None,
            string_to_sign: policy.to_owned(),
        };
        let strings = check_signature(id, &self.signature, &expected, strings)?;
        let mut required = vec![fields::SIGNATURE_VERSION, fields::CREDENTIAL, fields::DATE];
        if credentials.security_token().is_some() {
            required.push(fields::SECURITY_TOKEN);
        }
        let conditions = policy_conditions(policy);
        for name in required {
            if !conditions.iter().any(|c| names_field(c, name)) {
                return Err(Rejection::AccessDenied(format!(
                    "Invalid according to Policy: a V4 policy needs a condition on {name}."
                )));
            }
        }
        Ok(strings)
    }
}

/// The `conditions` of a base64 policy (empty when it is not one).
fn policy_conditions(policy: &str) -> Vec<Value> {
    let json: Option<Value> = STANDARD
        .decode(policy)
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok());
    match json.as_ref().and_then(|p| p.get("conditions")) {
        Some(Value::Array(conditions)) => conditions.clone(),
        _ => Vec::new(),
    }
}

/// Whether `condition` pins the field `name`: `{"name": value}` or
/// `["eq", "$name", value]` (names compared case-insensitively).
fn names_field(condition: &Value, name: &str) -> bool {
    match condition {
        Value::Object(map) => map.keys().any(|k| k.eq_ignore_ascii_case(name)),
        Value::Array(items) => {
            items.first().and_then(Value::as_str) == Some("eq")
                && items
                    .get(1)
                    .and_then(Value::as_str)
                    .and_then(|f| f.strip_prefix('$'))
                    .is_some_and(|f| f.eq_ignore_ascii_case(name))
        }
        _ => false,
    }
}

fn check_validity(valid_for: Duration) -> Result<(), Error> {
    if valid_for < Duration::from_secs(1) || valid_for > MAX_POLICY_VALIDITY {
        return Err(Error::InvalidArgument(format!(
            "policy validity {valid_for:?} is outside 1 s to 7 days"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::Endpoint;
    use crate::callback::CallbackBodyType;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn bucket() -> Bucket {
        Bucket::new("examplebucket").unwrap_or_else(|e| panic!("{e}"))
    }

    fn key(k: &str) -> ObjectKey {
        ObjectKey::new(k).unwrap_or_else(|e| panic!("{e}"))
    }

    fn config(endpoint: &str) -> Config {
        Config::v1(Endpoint::parse(endpoint).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn expiration_format() {
        let cases = [
            (0, 0, "1970-01-01T00:00:00.000Z"),
            (951_782_400, 0, "2000-02-29T00:00:00.000Z"),
            (1_796_320_800, 0, "2026-12-03T18:00:00.000Z"),
            (1_795_629_600, 0, "2026-11-25T18:00:00.000Z"),
            (1_796_148_000, 987, "2026-12-01T18:00:00.987Z"),
            (4_102_444_799, 999, "2099-12-31T23:59:59.999Z"),
            (253_402_207_200, 0, "9999-12-30T22:00:00.000Z"),
        ];
        for (secs, millis, want) in cases {
            let t = at(secs) + Duration::from_millis(millis);
            assert_eq!(
                iso8601_millis(t).unwrap_or_else(|e| panic!("{e}")),
                want,
                "{secs}"
            );
        }
        assert!(iso8601_millis(at(253_402_207_201)).is_err());
        assert!(iso8601_millis(UNIX_EPOCH - Duration::from_secs(1)).is_err());
    }

    /// The expected `policy` and `Signature` were computed independently with
    /// Python 3's standard library, from the policy JSON asserted above them:
    /// ```text
    /// import base64, hmac, hashlib
    /// p = base64.b64encode(policy_json.encode())
    /// base64.b64encode(hmac.new(b"secret", p, hashlib.sha1).digest())
    /// ```
    #[test]
    fn exact_key_form_is_exact() {
        let callback = Callback::builder("http://127.0.0.1:8080/cb?a=1&b=<2>")
            .body(r#"{"bucket":${bucket},"object":${object},"size":${size},"uid":${x:uid}}"#)
            .body_type(CallbackBodyType::Json)
            .var("x:uid", "42&<b>")
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let policy = PostPolicy::exact_key(bucket(), key("dir/a b&c.png"))
            .content_length_range(1, 1_048_576)
            .content_type("image/png")
            .success_action_status(201)
            .callback(callback.clone());
        // 2026-11-25T17:50:00Z + 10 minutes.
        let now = at(1_795_629_600 - 600);
        let form = policy
            .sign(
                &config("oss-cn-hangzhou.aliyuncs.com"),
                &Credentials::new("ak", "secret"),
                now,
                Duration::from_secs(600),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let cb = "eyJjYWxsYmFja1VybCI6Imh0dHA6Ly8xMjcuMC4wLjE6ODA4MC9jYj9hPTEmYj08Mj4iLCJjYWxsYmFja0JvZHkiOiJ7XCJidWNrZXRcIjoke2J1Y2tldH0sXCJvYmplY3RcIjoke29iamVjdH0sXCJzaXplXCI6JHtzaXplfSxcInVpZFwiOiR7eDp1aWR9fSIsImNhbGxiYWNrQm9keVR5cGUiOiJhcHBsaWNhdGlvbi9qc29uIn0=";
        assert_eq!(callback.encoded(), cb);
        let json = format!(
            r#"{{"expiration":"2026-11-25T18:00:00.000Z","conditions":[{{"bucket":"examplebucket"}},["eq","$key","dir/a b&c.png"],["content-length-range",1,1048576],["eq","$content-type","image/png"],["eq","$callback","{cb}"],["eq","$x:uid","42&<b>"]]}}"#
        );
        assert_eq!(form.policy_json, json);
        let policy_b64 = "eyJleHBpcmF0aW9uIjoiMjAyNi0xMS0yNVQxODowMDowMC4wMDBaIiwiY29uZGl0aW9ucyI6W3siYnVja2V0IjoiZXhhbXBsZWJ1Y2tldCJ9LFsiZXEiLCIka2V5IiwiZGlyL2EgYiZjLnBuZyJdLFsiY29udGVudC1sZW5ndGgtcmFuZ2UiLDEsMTA0ODU3Nl0sWyJlcSIsIiRjb250ZW50LXR5cGUiLCJpbWFnZS9wbmciXSxbImVxIiwiJGNhbGxiYWNrIiwiZXlKallXeHNZbUZqYTFWeWJDSTZJbWgwZEhBNkx5OHhNamN1TUM0d0xqRTZPREE0TUM5allqOWhQVEVtWWowOE1qNGlMQ0pqWVd4c1ltRmphMEp2WkhraU9pSjdYQ0ppZFdOclpYUmNJam9rZTJKMVkydGxkSDBzWENKdlltcGxZM1JjSWpva2UyOWlhbVZqZEgwc1hDSnphWHBsWENJNkpIdHphWHBsZlN4Y0luVnBaRndpT2lSN2VEcDFhV1I5ZlNJc0ltTmhiR3hpWVdOclFtOWtlVlI1Y0dVaU9pSmhjSEJzYVdOaGRHbHZiaTlxYzI5dUluMD0iXSxbImVxIiwiJHg6dWlkIiwiNDImPGI+Il1dfQ==";
        assert_eq!(STANDARD.encode(json), policy_b64);
        let expected: Vec<(String, String)> = [
            ("key", "dir/a b&c.png"),
            ("policy", policy_b64),
            ("OSSAccessKeyId", "ak"),
            ("Signature", "skFnMveShG/3nKYKJioWAq7aBcg="),
            ("success_action_status", "201"),
            ("Content-Type", "image/png"),
            ("callback", callback.encoded()),
            ("x:uid", "42&<b>"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(form.fields(), expected.as_slice());
        assert_eq!(
            form.url().to_string(),
            "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/"
        );
        assert_eq!(form.expires(), now + Duration::from_secs(600));
    }

    #[test]
    fn prefix_form_with_sts_path_style() {
        let policy = PostPolicy::key_prefix(bucket(), "user/42/")
            .content_type_prefix("image/")
            .content_length_range(0, MAX_POST_OBJECT_SIZE);
        let credentials = Credentials::new("STS.ak", "secret").with_security_token("tok+en/=");
        let form = policy
            .sign(
                &config("http://127.0.0.1:9000"),
                &credentials,
                at(1_795_629_600),
                Duration::from_secs(3600),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let json = r#"{"expiration":"2026-11-25T19:00:00.000Z","conditions":[{"bucket":"examplebucket"},["starts-with","$key","user/42/"],["content-length-range",0,5368709120],["starts-with","$content-type","image/"]]}"#;
        assert_eq!(form.policy_json, json);
        let names: Vec<&str> = form.fields().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "policy",
                "OSSAccessKeyId",
                "Signature",
                "x-oss-security-token"
            ]
        );
        assert_eq!(form.field("x-oss-security-token"), Some("tok+en/="));
        let debug = format!("{form:?}");
        assert!(
            !debug.contains("tok+en/=") && debug.contains("<redacted>"),
            "{debug}"
        );
        assert_eq!(
            form.field("Signature"),
            Some("OHSDaVN2oUF96D5fbkeOambLupw=")
        );
        assert_eq!(
            form.field("Signature").map(str::to_owned),
            Some(v1::signature("secret", &STANDARD.encode(json)))
        );
        assert_eq!(
            form.url().to_string(),
            "http://127.0.0.1:9000/examplebucket/"
        );
        assert!(matches!(
            policy.presign_put(
                &config("http://127.0.0.1:9000"),
                &credentials,
                at(1_795_629_600),
                Duration::from_secs(60)
            ),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn invalid_policies_are_refused() {
        let cfg = config("oss-cn-hangzhou.aliyuncs.com");
        let creds = Credentials::new("ak", "sk");
        let now = at(1_795_629_600);
        let sign = |p: &PostPolicy, valid: u64| {
            p.sign(&cfg, &creds, now, Duration::from_secs(valid))
                .map(|_| ())
        };
        let ok = PostPolicy::exact_key(bucket(), key("a"));
        assert!(sign(&ok, 1).is_ok());
        assert!(sign(&ok, 7 * 24 * 3600).is_ok());
        for valid in [0, 7 * 24 * 3600 + 1] {
            assert!(
                matches!(sign(&ok, valid), Err(Error::InvalidArgument(m)) if m.contains("validity")),
                "{valid}"
            );
        }
        let bad: Vec<PostPolicy> = vec![
            PostPolicy::key_prefix(bucket(), ""),
            PostPolicy::key_prefix(bucket(), "/abs"),
            PostPolicy::key_prefix(bucket(), "\\abs"),
            PostPolicy::key_prefix(bucket(), "k".repeat(1024)),
            ok.clone().content_length_range(10, 9),
            ok.clone().content_length_range(0, MAX_POST_OBJECT_SIZE + 1),
            ok.clone().content_type(""),
            ok.clone().content_type("text/plain\r\nx: y"),
            ok.clone().content_type_prefix(" "),
            ok.clone().success_action_status(302),
        ];
        for p in &bad {
            assert!(sign(p, 60).is_err(), "{p:?}");
            assert!(p.policy_json(now, None).is_err(), "{p:?}");
        }
        let empty_token = Credentials::new("ak", "sk").with_security_token("");
        assert!(matches!(
            ok.sign(&cfg, &empty_token, now, Duration::from_secs(60)),
            Err(Error::InvalidHeader { .. })
        ));
    }

    #[test]
    fn presigned_put_carries_the_same_callback() {
        let callback = Callback::builder("http://127.0.0.1:8080/cb")
            .body("object=${object}&u=${x:u}")
            .var("x:u", "1")
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let policy = PostPolicy::exact_key(bucket(), key("k.txt"))
            .content_type("text/plain")
            .callback(callback.clone());
        let cfg = config("http://127.0.0.1:9000");
        let creds = Credentials::new("ak", "sk");
        let now = at(1_699_807_420 - 60);
        let put = policy
            .presign_put(&cfg, &creds, now, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"));
        let vars = callback.encoded_variables().unwrap_or_default();
        let sts = format!(
            "PUT\n\ntext/plain\n1699807420\n/examplebucket/k.txt?callback={}&callback-var={vars}",
            callback.encoded()
        );
        let enc = |s: &str| crate::names::encode_query_component(s);
        assert_eq!(
            put.url.to_string(),
            format!(
                "http://127.0.0.1:9000/examplebucket/k.txt?Expires=1699807420&OSSAccessKeyId=ak&Signature={}&callback={}&callback-var={}",
                enc(&v1::signature("sk", &sts)),
                enc(callback.encoded()),
                enc(vars)
            )
        );
        assert_eq!(put.headers["content-type"], "text/plain");
        assert_eq!(put.method, http::Method::PUT);
    }

    /// An exact size binds a V4 presigned PUT when `content-length` is
    /// signed as an additional header; V1 cannot sign it and leaves it out.
    #[test]
    fn an_exact_size_is_signed_into_a_v4_presigned_put_when_asked() {
        let policy = PostPolicy::exact_key(bucket(), key("k.txt")).content_length_range(5, 5);
        let creds = Credentials::new("ak", "sk");
        let now = at(1_699_807_420 - 60);
        let endpoint =
            crate::Endpoint::parse("http://127.0.0.1:9000").unwrap_or_else(|e| panic!("{e}"));
        let region = crate::Region::new("cn-hangzhou").unwrap_or_else(|e| panic!("{e}"));
        let v4 = Config::v4(endpoint.clone(), region).with_additional_headers(["content-length"]);
        let put = policy
            .presign_put(&v4, &creds, now, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(put.headers["content-length"], "5");
        let url = put.url.to_string();
        assert!(
            url.contains("x-oss-additional-headers=content-length"),
            "{url}"
        );
        let v1 = Config::v1(endpoint);
        let put = policy
            .presign_put(&v1, &creds, now, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(put.headers.get("content-length").is_none());
    }

    fn v4_config() -> Config {
        let endpoint = Endpoint::parse("http://127.0.0.1:9000").unwrap_or_else(|e| panic!("{e}"));
        let region = crate::Region::new("cn-hangzhou").unwrap_or_else(|e| panic!("{e}"));
        Config::v4(endpoint, region)
    }

    /// The expected `policy` and `x-oss-signature` were computed
    /// independently with Python 3's standard library (no published V4
    /// PostObject vector exists to compare with):
    /// ```text
    /// import base64, hmac, hashlib
    /// p = base64.b64encode(policy_json.encode()).decode()
    /// h = lambda k, m: hmac.new(k, m.encode(), hashlib.sha256).digest()
    /// k = h(h(h(h(b"aliyun_v4secret", "20261125"), "cn-hangzhou"), "oss"), "aliyun_v4_request")
    /// hmac.new(k, p.encode(), hashlib.sha256).hexdigest()
    /// ```
    #[test]
    fn v4_form_is_exact() {
        let credentials = Credentials::new("ak", "secret").with_security_token("tok");
        let policy = PostPolicy::exact_key(bucket(), key("k.txt")).content_length_range(1, 100);
        let now = at(1_795_629_600 - 600);
        let form = policy
            .sign(&v4_config(), &credentials, now, Duration::from_secs(600))
            .unwrap_or_else(|e| panic!("{e}"));
        let json = r#"{"expiration":"2026-11-25T18:00:00.000Z","conditions":[{"bucket":"examplebucket"},{"x-oss-credential":"ak/20261125/cn-hangzhou/oss/aliyun_v4_request"},{"x-oss-signature-version":"OSS4-HMAC-SHA256"},{"x-oss-date":"20261125T175000Z"},{"x-oss-security-token":"tok"},["eq","$key","k.txt"],["content-length-range",1,100]]}"#;
        assert_eq!(form.policy_json, json);
        let policy_b64 = "eyJleHBpcmF0aW9uIjoiMjAyNi0xMS0yNVQxODowMDowMC4wMDBaIiwiY29uZGl0aW9ucyI6W3siYnVja2V0IjoiZXhhbXBsZWJ1Y2tldCJ9LHsieC1vc3MtY3JlZGVudGlhbCI6ImFrLzIwMjYxMTI1L2NuLWhhbmd6aG91L29zcy9hbGl5dW5fdjRfcmVxdWVzdCJ9LHsieC1vc3Mtc2lnbmF0dXJlLXZlcnNpb24iOiJPU1M0LUhNQUMtU0hBMjU2In0seyJ4LW9zcy1kYXRlIjoiMjAyNjExMjVUMTc1MDAwWiJ9LHsieC1vc3Mtc2VjdXJpdHktdG9rZW4iOiJ0b2sifSxbImVxIiwiJGtleSIsImsudHh0Il0sWyJjb250ZW50LWxlbmd0aC1yYW5nZSIsMSwxMDBdXX0=";
        let expected: Vec<(String, String)> = [
            ("key", "k.txt"),
            ("policy", policy_b64),
            ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
            (
                "x-oss-credential",
                "ak/20261125/cn-hangzhou/oss/aliyun_v4_request",
            ),
            ("x-oss-date", "20261125T175000Z"),
            (
                "x-oss-signature",
                "ae580c3395459b3c4e6da2901c3eef3e6e7abb33bcffde21881ac1a9515ddaee",
            ),
            ("x-oss-security-token", "tok"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(form.fields(), expected.as_slice());
        assert_eq!(
            form.url().to_string(),
            "http://127.0.0.1:9000/examplebucket/"
        );
        let read = FormSignatureV4::from_fields(|n| form.field(n))
            .unwrap_or_else(|e| panic!("{e:?}"))
            .unwrap_or_else(|| panic!("no V4 signature"));
        let strings = read
            .verify(policy_b64, Some("tok"), &credentials, now)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(strings.string_to_sign, policy_b64);
        assert_eq!(strings.canonical_request, None);
    }

    #[test]
    fn v4_forms_are_refused_like_oss_refuses_them() {
        let creds = Credentials::new("ak", "secret");
        let now = at(1_795_629_600);
        let sign = |creds: &Credentials, at: SystemTime| {
            PostPolicy::exact_key(bucket(), key("k"))
                .sign(&v4_config(), creds, at, Duration::from_secs(600))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let read = |form: &PostForm| {
            FormSignatureV4::from_fields(|n| form.field(n))
                .unwrap_or_else(|e| panic!("{e:?}"))
                .unwrap_or_else(|| panic!("no V4 signature"))
        };
        let form = sign(&creds, now);
        let policy = form.field("policy").unwrap_or_default();
        let verify =
            |sig: &FormSignatureV4, policy: &str, token: Option<&str>, c: &Credentials, at| {
                sig.verify(policy, token, c, at).map(drop)
            };
        assert_eq!(verify(&read(&form), policy, None, &creds, now), Ok(()));
        // Another secret: the policy is the string to sign OSS answers with.
        match verify(
            &read(&form),
            policy,
            None,
            &Credentials::new("ak", "other"),
            now,
        ) {
            Err(Rejection::SignatureDoesNotMatch { strings, .. }) => {
                assert_eq!(strings.string_to_sign, policy);
            }
            other => panic!("{other:?}"),
        }
        // Another AccessKey ID.
        assert!(matches!(
            verify(&read(&form), policy, None, &Credentials::new("ak2", "secret"), now),
            Err(Rejection::InvalidAccessKeyId(id)) if id == "ak"
        ));
        // A credential for another day than x-oss-date.
        let other_day = |name: &str| match name {
            "x-oss-credential" => Some("ak/20261124/cn-hangzhou/oss/aliyun_v4_request"),
            _ => form.field(name),
        };
        let sig = FormSignatureV4::from_fields(other_day)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .unwrap_or_else(|| panic!("none"));
        assert!(matches!(
            verify(&sig, policy, None, &creds, now),
            Err(Rejection::InvalidArgument(m)) if m.contains("scope")
        ));
        // A credential for another region: the key differs.
        let other_region = |name: &str| match name {
            "x-oss-credential" => Some("ak/20261125/cn-beijing/oss/aliyun_v4_request"),
            _ => form.field(name),
        };
        let sig = FormSignatureV4::from_fields(other_region)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .unwrap_or_else(|| panic!("none"));
        assert!(matches!(
            verify(&sig, policy, None, &creds, now),
            Err(Rejection::SignatureDoesNotMatch { .. })
        ));
        // x-oss-date 15 minutes ahead is accepted, 16 is not; 7 days old is
        // accepted, 7 days and a second is not.
        let ahead = sign(&creds, now + Duration::from_secs(15 * 60));
        let ahead_policy = ahead.field("policy").unwrap_or_default();
        assert_eq!(
            verify(&read(&ahead), ahead_policy, None, &creds, now),
            Ok(())
        );
        let ahead = sign(&creds, now + Duration::from_secs(16 * 60));
        let ahead_policy = ahead.field("policy").unwrap_or_default();
        assert!(matches!(
            verify(&read(&ahead), ahead_policy, None, &creds, now),
            Err(Rejection::RequestTimeTooSkewed(_))
        ));
        let week = Duration::from_secs(7 * 24 * 3600);
        assert_eq!(
            verify(&read(&form), policy, None, &creds, now + week),
            Ok(())
        );
        assert!(matches!(
            verify(&read(&form), policy, None, &creds, now + week + Duration::from_secs(1)),
            Err(Rejection::AccessDenied(m)) if m.contains("expired")
        ));
        // STS: the token must be sent and be in the policy.
        let sts = Credentials::new("ak", "secret").with_security_token("tok");
        let sts_form = sign(&sts, now);
        let secret_token = Credentials::new("ak", "secret").with_security_token("s3cr3t-sts");
        let debug = format!("{:?}", sign(&secret_token, now));
        assert!(
            !debug.contains("s3cr3t-sts")
                && debug.contains(r#"{\"x-oss-security-token\":\"<redacted>\"}"#),
            "{debug}"
        );
        let sts_policy = sts_form.field("policy").unwrap_or_default();
        assert_eq!(
            verify(&read(&sts_form), sts_policy, Some("tok"), &sts, now),
            Ok(())
        );
        assert_eq!(
            verify(&read(&sts_form), sts_policy, Some("bad"), &sts, now),
            Err(Rejection::InvalidSecurityToken)
        );
        assert!(matches!(
            verify(&read(&form), policy, Some("tok"), &sts, now),
            Err(Rejection::AccessDenied(m)) if m.contains("x-oss-security-token")
        ));
        // A policy without the x-oss-date condition, correctly signed.
        let bare = STANDARD.encode(
            r#"{"expiration":"2026-11-25T18:10:00.000Z","conditions":[{"x-oss-credential":"ak/20261125/cn-hangzhou/oss/aliyun_v4_request"},{"x-oss-signature-version":"OSS4-HMAC-SHA256"}]}"#,
        );
        let bare_sig = v4::signature_of(&creds, ("20261125", "cn-hangzhou", "oss"), &bare);
        let bare_form = |name: &str| match name {
            "x-oss-signature" => Some(bare_sig.as_str()),
            _ => form.field(name),
        };
        let sig = FormSignatureV4::from_fields(bare_form)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .unwrap_or_else(|| panic!("none"));
        assert!(matches!(
            verify(&sig, &bare, None, &creds, now),
            Err(Rejection::AccessDenied(m)) if m.contains("x-oss-date")
        ));
        // A V1 form has no V4 signature; a V4 form must be complete.
        let v1_form = PostPolicy::exact_key(bucket(), key("k"))
            .sign(
                &config("http://127.0.0.1:9000"),
                &creds,
                now,
                Duration::from_secs(60),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            FormSignatureV4::from_fields(|n| v1_form.field(n)),
            Ok(None)
        ));
        let no_date = |name: &str| match name {
            "x-oss-date" => None,
            _ => form.field(name),
        };
        assert!(matches!(
            FormSignatureV4::from_fields(no_date),
            Err(Rejection::InvalidArgument(m)) if m.contains("x-oss-date")
        ));
    }

    #[test]
    fn parse_reads_the_callback_answer() {
        let policy = PostPolicy::exact_key(bucket(), key("a")).callback(
            Callback::builder("http://h/")
                .body("o=${object}")
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let form = policy
            .sign(
                &config("http://127.0.0.1:9000"),
                &Credentials::new("ak", "sk"),
                at(0),
                Duration::from_secs(60),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let ok = http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(br#"{"ok":true}"#.to_vec())
            .unwrap_or_else(|e| panic!("{e}"));
        let out = form.parse(ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out.callback.map(|c| c.text()).as_deref(),
            Some(r#"{"ok":true}"#)
        );
        let failed = http::Response::builder()
            .status(203)
            .body(b"<Error><Code>CallbackFailed</Code></Error>".to_vec())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            form.parse(failed)
                .is_err_and(|e| e.callback_failed().is_some())
        );
    }
}
