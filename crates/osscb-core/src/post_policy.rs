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
//!   do not carry it as a condition (V4 POST policies must; osscb signs V1);
//! - the callback travels as the `callback` field (base64 JSON) and each custom
//!   variable as its own `x:` field. OSS does not sign form fields outside the
//!   policy's conditions, so a client could swap the callback: the callback
//!   server must therefore verify every callback (see [`crate::verify`]),
//!   which it has to do anyway.
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
use crate::request::{Config, PresignedRequest};
use crate::response::read_write_response;
use crate::sign::{SECURITY_TOKEN_HEADER, v1};
use crate::time::iso8601_millis;
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
        let fields: Vec<(&str, &str)> = self
            .fields
            .iter()
            .map(|(k, v)| match k.as_str() {
                fields::SECURITY_TOKEN => (k.as_str(), "<redacted>"),
                _ => (k.as_str(), v.as_str()),
            })
            .collect();
        f.debug_struct("PostForm")
            .field("url", &self.url)
            .field("fields", &fields)
            .field("policy_json", &self.policy_json)
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

    fn conditions(&self) -> Vec<Value> {
        let mut out = vec![json!({ "bucket": self.bucket.as_str() })];
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
    /// order (`expiration`, then `conditions` in the order bucket, key,
    /// content-length-range, content-type, callback fields), no whitespace,
    /// no HTML escaping.
    ///
    /// # Errors
    /// The first rule the policy breaks, or a time before 1970 or after 9999.
    pub(crate) fn policy_json(&self, expiration: SystemTime) -> Result<String, Error> {
        self.validate()?;
        let expiration = iso8601_millis(expiration)?;
        let conditions = self.conditions();
        serde_json::to_string(&PolicyDocument {
            expiration: &expiration,
            conditions: &conditions,
        })
        .map_err(|e| Error::InvalidArgument(format!("policy JSON: {e}")))
    }

    /// Signs the policy at `now` for `valid_for` (1 s to 7 days) and builds the
    /// form for the bucket's URL at `config`'s endpoint.
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
        let policy_json = self.policy_json(expires)?;
        let policy = STANDARD.encode(policy_json.as_bytes());
        let signature = v1::signature(credentials.access_key_secret(), &policy);
        let mut fields = Vec::new();
        let mut push = |k: &str, v: &str| fields.push((k.to_owned(), v.to_owned()));
        if let KeyCondition::Exact(key) = &self.key {
            push(fields::KEY, key.as_str());
        }
        push(fields::POLICY, &policy);
        push(fields::ACCESS_KEY_ID, credentials.access_key_id());
        push(fields::SIGNATURE, &signature);
        if let Some(token) = credentials.security_token() {
            if token.is_empty() || HeaderValue::from_str(token).is_err() {
                return Err(Error::InvalidHeader {
                    name: fields::SECURITY_TOKEN.to_owned(),
                });
            }
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
            assert!(p.policy_json(now).is_err(), "{p:?}");
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
