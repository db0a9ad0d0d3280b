//! Upload callbacks: after storing an object, OSS POSTs to the application
//! server and hands that server's answer back to the uploader.
//!
//! A [`Callback`] is validated when built, so a bad configuration fails before
//! any byte is sent. It encodes to the `x-oss-callback` / `x-oss-callback-var`
//! headers, to presigned-URL query parameters or to PostObject form fields.
//! Encoding is deterministic (fixed field order, sorted variables) and never
//! HTML-escapes.

use std::collections::BTreeMap;
use std::fmt;

use http::{HeaderName, HeaderValue};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::grant::{GRANT_FIELD, GRANT_VAR};

/// Header carrying the base64 JSON callback configuration.
pub(crate) const CALLBACK_HEADER: &str = "x-oss-callback";
/// Header carrying the base64 JSON custom variables.
pub(crate) const CALLBACK_VAR_HEADER: &str = "x-oss-callback-var";
/// Query parameter carrying the callback in presigned URLs.
pub(crate) const CALLBACK_QUERY: &str = "callback";
/// Query parameter carrying the custom variables in presigned URLs.
pub(crate) const CALLBACK_VAR_QUERY: &str = "callback-var";
/// At most this many callback URLs, tried in order.
pub(crate) const MAX_URLS: usize = 5;
/// Each encoded parameter (callback, callback-var) is at most this many bytes.
pub(crate) const MAX_ENCODED_LEN: usize = 5 * 1024;

/// A system variable OSS substitutes in a callback body template. Its
/// `Display` is the placeholder: `format!("bucket={}", Var::Bucket)` is
/// `bucket=${bucket}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Var {
    /// `${bucket}`: the bucket name.
    Bucket,
    /// `${object}`: the object key.
    Object,
    /// `${etag}`: the object's ETag.
    ETag,
    /// `${size}`: the object's size in bytes.
    Size,
    /// `${mimeType}`: the object's content type.
    MimeType,
    /// `${imageInfo.height}`: an image's height in pixels.
    ImageHeight,
    /// `${imageInfo.width}`: an image's width in pixels.
    ImageWidth,
    /// `${imageInfo.format}`: an image's format (`jpg`, `png`, …).
    ImageFormat,
    /// `${crc64}`: the object's CRC-64 (unsigned decimal).
    Crc64,
    /// `${contentMd5}`: the Content-MD5 of the upload (single PUTs only).
    ContentMd5,
    /// `${vpcId}`: the uploader's VPC id, for requests from a VPC.
    VpcId,
    /// `${clientIp}`: the uploader's IP address.
    ClientIp,
    /// `${reqId}`: the upload's request id.
    ReqId,
    /// `${operation}`: the operation that stored the object (`PutObject`,
    /// `CompleteMultipartUpload`, …).
    Operation,
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bucket => "${bucket}",
            Self::Object => "${object}",
            Self::ETag => "${etag}",
            Self::Size => "${size}",
            Self::MimeType => "${mimeType}",
            Self::ImageHeight => "${imageInfo.height}",
            Self::ImageWidth => "${imageInfo.width}",
            Self::ImageFormat => "${imageInfo.format}",
            Self::Crc64 => "${crc64}",
            Self::ContentMd5 => "${contentMd5}",
            Self::VpcId => "${vpcId}",
            Self::ClientIp => "${clientIp}",
            Self::ReqId => "${reqId}",
            Self::Operation => "${operation}",
        })
    }
}

/// `body` with the fields a grant covers added where missing: form pairs, or
/// members before a JSON object's closing brace.
fn with_grant_fields(body: &str, body_type: CallbackBodyType) -> String {
    let fields = [
        ("bucket", "${bucket}".to_owned()),
        ("object", "${object}".to_owned()),
        (GRANT_FIELD, format!("${{{GRANT_VAR}}}")),
    ];
    let mut body = body.to_owned();
    for (name, value) in fields {
        match body_type {
            CallbackBodyType::FormUrlEncoded => {
                let present = body
                    .split('&')
                    .any(|pair| pair.split('=').next() == Some(name));
                if !present {
                    body = format!("{body}&{name}={value}");
                }
            }
            CallbackBodyType::Json => {
                let present = body.contains(&format!("\"{name}\""));
                if let (false, Some(end)) = (present, body.rfind('}')) {
                    body.insert_str(end, &format!(",\"{name}\":{value}"));
                }
            }
        }
    }
    body
}

/// How OSS encodes the callback body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CallbackBodyType {
    /// `application/x-www-form-urlencoded`: substituted values are URL-encoded.
    #[default]
    FormUrlEncoded,
    /// `application/json`: substituted values are JSON values.
    Json,
}

impl CallbackBodyType {
    /// The MIME type OSS puts in `callbackBodyType` and the callback's `Content-Type`.
    pub fn mime(self) -> &'static str {
        match self {
            Self::FormUrlEncoded => "application/x-www-form-urlencoded",
            Self::Json => "application/json",
        }
    }

    fn from_mime(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next().unwrap_or_default().trim();
        if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            Some(Self::FormUrlEncoded)
        } else if essence.eq_ignore_ascii_case("application/json") {
            Some(Self::Json)
        } else {
            None
        }
    }
}

/// Why a callback configuration is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// No callback URL was given.
    #[error("a callback needs at least one URL")]
    NoUrl,
    /// More than 5 URLs.
    #[error("a callback takes at most {MAX_URLS} URLs, got {0}")]
    TooManyUrls(usize),
    /// A URL that OSS could not call.
    #[error("invalid callback URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `callbackHost` is empty or not a valid host.
    #[error("invalid callback host {0:?}")]
    InvalidHost(String),
    /// The body template is empty.
    #[error("the callback body template must not be empty")]
    EmptyBody,
    /// A custom variable name that does not start with `x:` or is not lowercase.
    #[error(
        "invalid callback variable name {0:?}: it must start with \"x:\" and be lowercase letters, digits, '_', '-' or '.'"
    )]
    InvalidVariableName(String),
    /// An encoded parameter over 5 KiB.
    #[error("encoded {parameter} is {len} bytes, over OSS's {MAX_ENCODED_LEN}-byte limit")]
    TooLarge {
        /// `callback` or `callback-var`.
        parameter: &'static str,
        /// Its encoded length.
        len: usize,
    },
    /// An encoded parameter that is not base64 of a JSON object (when decoding).
    #[error("malformed {parameter}: {reason}")]
    Malformed {
        /// `callback` or `callback-var`.
        parameter: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// `callbackBodyType` names a type OSS does not support (when decoding).
    #[error("unsupported callbackBodyType {0:?}")]
    UnsupportedBodyType(String),
}

/// A validated upload callback with its custom variables.
///
/// ```
/// use osscb_core::callback::{Callback, CallbackBodyType, Var};
///
/// let callback = Callback::builder("https://app.example.com/oss-callback")
///     .body(format!("bucket={}&object={}&uid=${{x:uid}}", Var::Bucket, Var::Object))
///     .var("x:uid", "42")
///     .build()?;
/// assert_eq!(callback.body_type(), CallbackBodyType::FormUrlEncoded);
/// assert!(callback.encoded_variables().is_some());
/// # Ok::<(), osscb_core::callback::CallbackError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Callback {
    urls: Vec<String>,
    host: Option<String>,
    body: String,
    body_type: CallbackBodyType,
    sni: Option<bool>,
    variables: BTreeMap<String, String>,
    /// The base64 JSON parameters, kept as header values: requests share
    /// their bytes instead of copying and checking them again.
    encoded: HeaderValue,
    encoded_vars: Option<HeaderValue>,
}

/// Base64 text as a header value (base64 is visible ASCII, always valid).
fn base64_header(text: String) -> HeaderValue {
    HeaderValue::try_from(text).unwrap_or_else(|_| unreachable!("base64 is visible ASCII"))
}

/// The text of a header value made by [`base64_header`].
fn base64_text(value: &HeaderValue) -> &str {
    value.to_str().unwrap_or_default()
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("urls", &self.urls)
            .field("host", &self.host)
            .field("body", &self.body)
            .field("body_type", &self.body_type)
            .field("sni", &self.sni)
            .field("variables", &self.variables)
            .finish()
    }
}

/// The JSON OSS reads; field order is fixed so encoding is deterministic.
#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(rename = "callbackUrl")]
    url: String,
    #[serde(
        rename = "callbackHost",
        skip_serializing_if = "Option::is_none",
        default
    )]
    host: Option<String>,
    #[serde(rename = "callbackBody")]
    body: String,
    #[serde(
        rename = "callbackSNI",
        skip_serializing_if = "Option::is_none",
        default
    )]
    sni: Option<bool>,
    #[serde(
        rename = "callbackBodyType",
        skip_serializing_if = "Option::is_none",
        default
    )]
    body_type: Option<String>,
}

/// Builds a [`Callback`]; [`CallbackBuilder::build`] validates it.
#[derive(Clone, Debug, Default)]
pub struct CallbackBuilder {
    urls: Vec<String>,
    host: Option<String>,
    body: String,
    body_type: CallbackBodyType,
    sni: Option<bool>,
    variables: BTreeMap<String, String>,
}

impl CallbackBuilder {
    /// Adds a URL; OSS tries up to five in order.
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.urls.push(url.into());
        self
    }

    /// The `Host` header of the callback request (`callbackHost`).
    #[must_use]
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// The body template, with `${system}` and `${x:custom}` variables.
    #[must_use]
    pub fn body(mut self, template: impl Into<String>) -> Self {
        self.body = template.into();
        self
    }

    /// Form-urlencoded (the default) or JSON.
    #[must_use]
    pub fn body_type(mut self, body_type: CallbackBodyType) -> Self {
        self.body_type = body_type;
        self
    }

    /// `callbackSNI`: send SNI to HTTPS callback hosts that need it.
    #[must_use]
    pub fn sni(mut self, sni: bool) -> Self {
        self.sni = Some(sni);
        self
    }

    /// A custom variable, `x:` followed by lowercase letters, digits, `_`, `-` or `.`.
    #[must_use]
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.insert(name.into(), value.into());
        self
    }

    /// Binds the callback to an upload this server issued: `token` comes from
    /// [`Seal::grant`](crate::grant::Seal::grant). It travels as the custom
    /// variable `x:osscb_grant`, and the body gains the fields the grant
    /// covers (`bucket`, `object`, `osscb_grant`) where it lacks them.
    #[must_use]
    pub fn grant(self, token: impl Into<String>) -> Self {
        self.var(GRANT_VAR, token)
    }

    /// Validates and encodes the callback.
    ///
    /// # Errors
    /// The first [`CallbackError`] the configuration breaks.
    pub fn build(mut self) -> Result<Callback, CallbackError> {
        if self.variables.contains_key(GRANT_VAR) {
            self.body = with_grant_fields(&self.body, self.body_type);
        }
        if self.urls.is_empty() {
            return Err(CallbackError::NoUrl);
        }
        if self.urls.len() > MAX_URLS {
            return Err(CallbackError::TooManyUrls(self.urls.len()));
        }
        for url in &self.urls {
            validate_url(url)?;
        }
        if let Some(host) = &self.host {
            let ok = !host.is_empty()
                && host.len() <= 255
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b));
            if !ok {
                return Err(CallbackError::InvalidHost(host.clone()));
            }
        }
        if self.body.trim().is_empty() {
            return Err(CallbackError::EmptyBody);
        }
        for name in self.variables.keys() {
            if !is_valid_variable_name(name) {
                return Err(CallbackError::InvalidVariableName(name.clone()));
            }
        }
        let wire = Wire {
            url: self.urls.join(";"),
            host: self.host.clone(),
            body: self.body.clone(),
            sni: self.sni,
            body_type: Some(self.body_type.mime().to_owned()),
        };
        let encoded = STANDARD.encode(to_json(&wire));
        if encoded.len() > MAX_ENCODED_LEN {
            return Err(CallbackError::TooLarge {
                parameter: CALLBACK_QUERY,
                len: encoded.len(),
            });
        }
        let encoded_vars = if self.variables.is_empty() {
            None
        } else {
            let vars = STANDARD.encode(to_json(&self.variables));
            if vars.len() > MAX_ENCODED_LEN {
                return Err(CallbackError::TooLarge {
                    parameter: CALLBACK_VAR_QUERY,
                    len: vars.len(),
                });
            }
            Some(vars)
        };
        Ok(Callback {
            urls: self.urls,
            host: self.host,
            body: self.body,
            body_type: self.body_type,
            sni: self.sni,
            variables: self.variables,
            encoded: base64_header(encoded),
            encoded_vars: encoded_vars.map(base64_header),
        })
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Strings and maps of strings always serialize.
    serde_json::to_vec(value).unwrap_or_else(|_| unreachable!("string-only JSON serializes"))
}

fn validate_url(url: &str) -> Result<(), CallbackError> {
    let invalid = |reason| CallbackError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| invalid("must start with http:// or https://"))?;
    if url.contains(';') {
        return Err(invalid("must not contain ';' (it separates URLs)"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("must not contain spaces or control characters"));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid("must name a host"));
    }
    Ok(())
}

/// Whether `name` is a valid custom variable name (`x:` + lowercase).
pub(crate) fn is_valid_variable_name(name: &str) -> bool {
    name.strip_prefix("x:").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b))
    })
}

impl Callback {
    /// Starts a callback to `url` (more may be added with [`CallbackBuilder::url`]).
    pub fn builder(url: impl Into<String>) -> CallbackBuilder {
        CallbackBuilder::default().url(url)
    }

    /// The callback a request to OSS carries, read as OSS reads it: the
    /// `x-oss-callback` (and `x-oss-callback-var`) headers, or the `callback`
    /// (and `callback-var`) parameters of a presigned URL among the decoded
    /// `query`; `None` without either.
    ///
    /// # Errors
    /// [`CallbackError::Malformed`] when both the header and the query
    /// parameter are given, else as [`Callback::decode`].
    pub fn from_request(
        headers: &http::HeaderMap,
        query: &[(String, String)],
    ) -> Result<Option<Self>, CallbackError> {
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let query = |name| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let (encoded, variables) = match (header(CALLBACK_HEADER), query(CALLBACK_QUERY)) {
            (Some(_), Some(_)) => {
                return Err(CallbackError::Malformed {
                    parameter: CALLBACK_QUERY,
                    reason: format!("given both in the {CALLBACK_HEADER} header and in the query"),
                });
            }
            (Some(h), None) => (h, header(CALLBACK_VAR_HEADER)),
            (None, Some(q)) => (q, query(CALLBACK_VAR_QUERY)),
            (None, None) => return Ok(None),
        };
        Self::decode(encoded, variables).map(Some)
    }

    /// Decodes the base64 JSON parameters OSS receives (`x-oss-callback` and
    /// optionally `x-oss-callback-var`), applying the same rules as [`CallbackBuilder::build`].
    ///
    /// # Errors
    /// [`CallbackError::Malformed`] for bad base64 or JSON, else the first rule broken.
    pub fn decode(callback: &str, callback_var: Option<&str>) -> Result<Self, CallbackError> {
        let malformed = |parameter, reason: String| CallbackError::Malformed { parameter, reason };
        let json = STANDARD
            .decode(callback.trim())
            .map_err(|e| malformed(CALLBACK_QUERY, format!("not base64: {e}")))?;
        let wire: Wire = serde_json::from_slice(&json)
            .map_err(|e| malformed(CALLBACK_QUERY, format!("not the callback JSON: {e}")))?;
        let body_type = match wire.body_type.as_deref() {
            None | Some("") => CallbackBodyType::FormUrlEncoded,
            Some(mime) => CallbackBodyType::from_mime(mime)
                .ok_or_else(|| CallbackError::UnsupportedBodyType(mime.to_owned()))?,
        };
        let mut builder = CallbackBuilder {
            urls: wire
                .url
                .split(';')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect(),
            host: wire.host.filter(|h| !h.is_empty()),
            body: wire.body,
            body_type,
            sni: wire.sni,
            variables: BTreeMap::new(),
        };
        if let Some(var) = callback_var.filter(|v| !v.trim().is_empty()) {
            let json = STANDARD
                .decode(var.trim())
                .map_err(|e| malformed(CALLBACK_VAR_QUERY, format!("not base64: {e}")))?;
            builder.variables = serde_json::from_slice(&json).map_err(|e| {
                malformed(
                    CALLBACK_VAR_QUERY,
                    format!("not a JSON object of strings: {e}"),
                )
            })?;
        }
        builder.build()
    }

    /// The URLs, in the order OSS tries them.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// `callbackHost`, if set.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The body type.
    pub fn body_type(&self) -> CallbackBodyType {
        self.body_type
    }

    /// The base64 JSON of the configuration (`x-oss-callback`).
    pub fn encoded(&self) -> &str {
        base64_text(&self.encoded)
    }

    /// The base64 JSON of the custom variables (`x-oss-callback-var`), if any.
    pub fn encoded_variables(&self) -> Option<&str> {
        self.encoded_vars.as_ref().map(base64_text)
    }

    /// Header names and values for PutObject and CompleteMultipartUpload
    /// (values that share the encoded bytes).
    pub(crate) fn headers(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> + '_ {
        let var = self
            .encoded_vars
            .as_ref()
            .map(|value| (HeaderName::from_static(CALLBACK_VAR_HEADER), value.clone()));
        std::iter::once((
            HeaderName::from_static(CALLBACK_HEADER),
            self.encoded.clone(),
        ))
        .chain(var)
    }

    /// PostObject form fields: `callback`, then each `x:` variable as its own field.
    pub(crate) fn form_fields(&self) -> Vec<(String, String)> {
        let mut out = vec![(CALLBACK_QUERY.to_owned(), self.encoded().to_owned())];
        out.extend(self.variables.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }

    /// The body OSS sends: every `${name}` replaced by `lookup(name)` for system
    /// variables or by the custom variable for `x:` names (empty when unknown),
    /// URL-encoded for form bodies and as JSON values for JSON bodies (numbers
    /// for `size` and image dimensions, strings otherwise).
    pub fn render_body(&self, lookup: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::with_capacity(self.body.len());
        let mut rest = self.body.as_str();
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start + 2..].find('}') else {
                break;
            };
            out.push_str(&rest[..start]);
            let name = &rest[start + 2..start + 2 + len];
            let value = if name.starts_with("x:") {
                self.variables.get(name).cloned()
            } else {
                lookup(name)
            }
            .unwrap_or_default();
            match self.body_type {
                CallbackBodyType::FormUrlEncoded => {
                    out.push_str(&crate::names::encode_query_component(&value))
                }
                CallbackBodyType::Json => {
                    let numeric = matches!(name, "size" | "imageInfo.height" | "imageInfo.width");
                    if numeric && !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                        out.push_str(&value);
                    } else {
                        out.push_str(&String::from_utf8_lossy(&to_json(&value)));
                    }
                }
            }
            rest = &rest[start + 2 + len + 1..];
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(b: CallbackBuilder) -> Callback {
        b.build().unwrap_or_else(|e| panic!("{e}"))
    }

    /// A request carries its callback in headers or in the query, not both.
    #[test]
    fn from_request_reads_headers_or_query() {
        let cb = ok(Callback::builder("http://a.example.com/")
            .body("b")
            .var("x:v", "1"));
        let vars = cb.encoded_variables().unwrap_or_default().to_owned();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            CALLBACK_HEADER,
            http::HeaderValue::from_str(cb.encoded()).unwrap_or_else(|e| panic!("{e}")),
        );
        headers.insert(
            CALLBACK_VAR_HEADER,
            http::HeaderValue::from_str(&vars).unwrap_or_else(|e| panic!("{e}")),
        );
        let query = vec![
            (CALLBACK_QUERY.to_owned(), cb.encoded().to_owned()),
            (CALLBACK_VAR_QUERY.to_owned(), vars),
        ];
        let read = |h: &http::HeaderMap, q: &[(String, String)]| Callback::from_request(h, q);
        assert_eq!(read(&headers, &[]), Ok(Some(cb.clone())));
        assert_eq!(read(&http::HeaderMap::new(), &query), Ok(Some(cb)));
        assert_eq!(read(&http::HeaderMap::new(), &[]), Ok(None));
        assert!(matches!(
            read(&headers, &query),
            Err(CallbackError::Malformed {
                parameter: "callback",
                ..
            })
        ));
    }

    /// The Callback API page's `x-oss-callback-var` example.
    #[test]
    fn callback_var_doc_example() {
        let cb = ok(Callback::builder("http://oss-demo.aliyuncs.com:23450")
            .body("my_var=${x:my_var}")
            .var("x:my_var", "for-callback-test"));
        assert_eq!(
            cb.encoded_variables(),
            Some("eyJ4Om15X3ZhciI6ImZvci1jYWxsYmFjay10ZXN0In0=")
        );
        let decoded = STANDARD
            .decode("eyJ4Om15X3ZhciI6ImZvci1jYWxsYmFjay10ZXN0In0=")
            .unwrap_or_default();
        assert_eq!(decoded, br#"{"x:my_var":"for-callback-test"}"#);
    }

    #[test]
    fn encoding_is_exact_and_never_html_escapes() {
        let cb = ok(Callback::builder("https://a.example.com/cb?x=1&y=<2>")
            .url("http://b.example.com:8080/")
            .host("app.example.com")
            .body("bucket=${bucket}&object=${object}&v=${x:v}")
            .sni(true)
            .var("x:v", "a&b<c>'\"")
            .var("x:a", "1"));
        let json = STANDARD.decode(cb.encoded()).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&json),
            r#"{"callbackUrl":"https://a.example.com/cb?x=1&y=<2>;http://b.example.com:8080/","callbackHost":"app.example.com","callbackBody":"bucket=${bucket}&object=${object}&v=${x:v}","callbackSNI":true,"callbackBodyType":"application/x-www-form-urlencoded"}"#
        );
        let vars = STANDARD
            .decode(cb.encoded_variables().unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&vars),
            r#"{"x:a":"1","x:v":"a&b<c>'\""}"#
        );
        assert_eq!(
            cb.headers().map(|p| p.0).collect::<Vec<_>>(),
            ["x-oss-callback", "x-oss-callback-var"]
        );
        assert_eq!(
            cb.form_fields(),
            vec![
                ("callback".to_owned(), cb.encoded().to_owned()),
                ("x:a".to_owned(), "1".to_owned()),
                ("x:v".to_owned(), "a&b<c>'\"".to_owned())
            ]
        );
        let again = Callback::decode(cb.encoded(), cb.encoded_variables())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, cb);
    }

    #[test]
    fn render_form_and_json_bodies() {
        let lookup = |name: &str| match name {
            "bucket" => Some("b".to_owned()),
            "object" => Some("dir/a b&c.txt".to_owned()),
            "size" => Some("1024".to_owned()),
            _ => None,
        };
        let form = ok(Callback::builder("http://h/")
            .body("o=${object}&s=${size}&u=${x:u}&m=${mimeType}")
            .var("x:u", "é"));
        assert_eq!(
            form.render_body(lookup),
            "o=dir%2Fa%20b%26c.txt&s=1024&u=%C3%A9&m="
        );
        let json = ok(Callback::builder("http://h/")
            .body(r#"{"o":${object},"s":${size},"u":${x:u}}"#)
            .body_type(CallbackBodyType::Json)
            .var("x:u", "q\"&"));
        assert_eq!(
            json.render_body(lookup),
            r#"{"o":"dir/a b&c.txt","s":1024,"u":"q\"&"}"#
        );
    }
}

#[cfg(test)]
mod grant_tests {
    use super::*;

    #[test]
    fn a_grant_adds_the_fields_it_covers_where_missing() {
        let form = Callback::builder("http://127.0.0.1:1/cb")
            .body("object=${object}&size=${size}")
            .grant("g1.token")
            .build()
            .expect("callback");
        let wire: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(form.encoded()).expect("base64"))
                .expect("json");
        assert_eq!(
            wire["callbackBody"],
            "object=${object}&size=${size}&bucket=${bucket}&osscb_grant=${x:osscb_grant}"
        );
        let vars = STANDARD
            .decode(form.encoded_variables().expect("vars"))
            .expect("base64");
        assert_eq!(vars, br#"{"x:osscb_grant":"g1.token"}"#);

        let json = Callback::builder("http://127.0.0.1:1/cb")
            .body(r#"{"bucket":${bucket},"size":${size}}"#)
            .body_type(CallbackBodyType::Json)
            .grant("g1.token")
            .build()
            .expect("callback");
        let wire: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(json.encoded()).expect("base64"))
                .expect("json");
        assert_eq!(
            wire["callbackBody"],
            r#"{"bucket":${bucket},"size":${size},"object":${object},"osscb_grant":${x:osscb_grant}}"#
        );
    }
}
