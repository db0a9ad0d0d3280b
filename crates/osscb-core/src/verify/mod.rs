//! Verifying OSS's signed callbacks on the application server.
//!
//! OSS signs each callback request with RSA (PKCS#1 v1.5, MD5) over
//! `url_decode(path) + ("?" + query, when there is one) + "\n" + body` and
//! names its public key's URL, base64-encoded, in `x-oss-pub-key-url`
//! (Callback API page). [`Verifier::check`] refuses untrusted key URLs, looks
//! the key up, checks the signature and parses the body. Sans-IO: when it
//! needs a key it has not got, it answers [`Check::Fetch`]; the caller fetches
//! that URL and reports with [`Verifier::key_fetched`]. OSS's own key is built
//! in, so genuine OSS callbacks never need a fetch. The transports'
//! `verify_callback` run this loop; the key store's limits are in
//! `verify/keys.rs` (one fetch per URL at a time, a fetch budget, failures
//! remembered, a refresh when a signature stops matching).
//!
//! ```
//! use std::time::Instant;
//! use osscb_core::verify::{CallbackRequest, Check, Verifier};
//!
//! // The Callback API page's example, signed by OSS.
//! let request = CallbackRequest::new("/index.php", "id=1&index=2", b"bucket=yonghu-test")
//!     .authorization("kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA==")
//!     .pub_key_url("aHR0cDovL2dvc3NwdWJsaWMuYWxpY2RuLmNvbS9jYWxsYmFja19wdWJfa2V5X3YxLnBlbQ==");
//! let verifier = Verifier::new(); // one per process: it caches keys
//! let Check::Verified(callback) = verifier.check(&request, Instant::now())? else {
//!     unreachable!("OSS's key is built in")
//! };
//! assert_eq!(callback.variables()["bucket"], "yonghu-test");
//! # Ok::<(), osscb_core::verify::VerifyError>(())
//! ```
//!
//! What a verified callback proves: that OSS (or whoever holds the key the
//! URL names) sent exactly this path, query and body. It does not prove who
//! issued the upload: OSS signs every account's callbacks with the same key,
//! so bind callbacks to your own uploads with [`crate::grant`]. It does not
//! stop a replay of the same request either: deduplicate on `${reqId}`
//! (OSS's request id, one per upload request), on object and CRC-64, or on
//! the grant's nonce.
//!
//! OSS's key is 512-bit RSA. 512-bit moduli have been factored in public
//! since 1999 (RSA-155), and today that takes rented hardware hours to days.
//! Whoever factors OSS's key can sign callbacks that verify for every
//! application, so treat the signature as a filter, not as proof: the grant,
//! an HMAC under a secret only your server holds, is what ties a callback to
//! an upload you issued, and a HeadObject of the granted object
//! ([`crate::grant::Grant::confirm`]) what confirms its size, ETag and CRC-64.

mod keys;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::Md5;
use percent_encoding::percent_decode_str;

use crate::callback::CallbackBodyType;
use keys::{KeyStore, Lookup, PublicKey};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier as _;

/// OSS's own key host, trusted by default. OSS names its key with an
/// `http://` URL; keys there are fetched over https all the same.
const OSS_KEY_HOST: &str = "gosspublic.alicdn.com";

/// Header with the base64 RSA signature.
pub(crate) const AUTHORIZATION_HEADER: &str = "authorization";
/// Header with the base64 public-key URL.
pub(crate) const PUB_KEY_URL_HEADER: &str = "x-oss-pub-key-url";

/// Which check a callback failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// `authorization` or `x-oss-pub-key-url` is missing.
    #[error("the callback has no {0} header")]
    MissingHeader(&'static str),
    /// A header is not valid base64.
    #[error("the {0} header is not valid base64")]
    BadBase64(&'static str),
    /// The key URL is not under a trusted prefix.
    #[error("untrusted public key URL {0:?}")]
    UntrustedKeyUrl(String),
    /// The public key cannot be decoded.
    #[error("bad public key: {0}")]
    BadKey(String),
    /// The signature does not match the request.
    #[error("the callback signature does not match")]
    SignatureMismatch,
    /// The body does not parse as the application's body type says.
    #[error("malformed callback body: {0}")]
    BadBody(String),
    /// The callback carries no grant, or not the body field a grant covers
    /// (its name): see [`crate::grant`].
    #[error("the callback is not bound to an upload this server granted: no {0} field")]
    Unbound(&'static str),
    /// The grant was not made with this seal, or does not cover the bucket
    /// and object the body names.
    #[error("the callback's grant does not match: {0}")]
    GrantMismatch(String),
    /// A fact the body states differs from the stored object's (its name).
    #[error("the callback states a {0} the stored object does not have")]
    FactsDiffer(String),
    /// The grant expired before the callback arrived.
    #[error("the callback's grant expired")]
    GrantExpired,
    /// The key cannot be had now: its fetch failed within the last minute,
    /// or the fetch budget is spent.
    #[error("callback public key {url} unavailable: {reason}")]
    KeyUnavailable {
        /// The key URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// What arrived at the callback URL: the raw path (percent-encoded, as on the
/// request line), the raw query (without `?`, empty when none), the body, and
/// the two headers OSS adds.
#[derive(Clone, Copy, Debug)]
pub struct CallbackRequest<'a> {
    path: &'a str,
    query: &'a str,
    body: &'a [u8],
    authorization: Option<&'a str>,
    pub_key_url: Option<&'a str>,
}

impl<'a> CallbackRequest<'a> {
    /// A callback request with its raw path, raw query and body.
    pub fn new(path: &'a str, query: &'a str, body: &'a [u8]) -> Self {
        Self {
            path,
            query,
            body,
            authorization: None,
            pub_key_url: None,
        }
    }

    /// Reads path, query and the headers from an `http::Request`.
    pub fn from_http<B: AsRef<[u8]>>(request: &'a http::Request<B>) -> Self {
        let header = |name| request.headers().get(name).and_then(|v| v.to_str().ok());
        Self {
            path: request.uri().path(),
            query: request.uri().query().unwrap_or_default(),
            body: request.body().as_ref(),
            authorization: header(AUTHORIZATION_HEADER),
            pub_key_url: header(PUB_KEY_URL_HEADER),
        }
    }

    /// The `authorization` header.
    #[must_use]
    pub fn authorization(mut self, value: &'a str) -> Self {
        self.authorization = Some(value);
        self
    }

    /// The `x-oss-pub-key-url` header.
    #[must_use]
    pub fn pub_key_url(mut self, value: &'a str) -> Self {
        self.pub_key_url = Some(value);
        self
    }

    /// The bytes OSS signed: `url_decode(path) + ("?" + query) + "\n" + body`.
    pub(crate) fn string_to_sign(&self) -> Vec<u8> {
        let mut out: Vec<u8> = percent_decode_str(self.path).collect();
        if !self.query.is_empty() {
            out.push(b'?');
            out.extend_from_slice(self.query.as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(self.body);
        out
    }
}

/// A callback whose signature checked out, with its body parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCallback {
    body: Vec<u8>,
    body_type: CallbackBodyType,
    variables: BTreeMap<String, String>,
}

impl VerifiedCallback {
    /// A callback with these body fields, for tests of what reads them.
    #[cfg(test)]
    pub(crate) fn for_tests(fields: &[(&str, &str)]) -> Self {
        let variables = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Self {
            body: Vec::new(),
            body_type: CallbackBodyType::default(),
            variables: variables.collect(),
        }
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// How the body was read: the [`Verifier`]'s declared body type.
    pub fn body_type(&self) -> CallbackBodyType {
        self.body_type
    }

    /// The body's fields: form pairs (decoded), or a JSON object's members
    /// (strings as they are, other values as JSON text).
    pub fn variables(&self) -> &BTreeMap<String, String> {
        &self.variables
    }
}

/// A key URL taken apart. Trust is decided on these parts, never on the
/// URL's text, so that `http://127.0.0.1:9000@evil.example/` is not under
/// `http://127.0.0.1:9000`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct KeyUrl {
    https: bool,
    host: String,
    port: u16,
    path: String,
}

impl KeyUrl {
    /// An `http` or `https` URL with a host, and without userinfo, query or
    /// fragment; `None` for anything else.
    fn parse(url: &str) -> Option<Self> {
        let uri: http::Uri = url.parse().ok()?;
        let https = match uri.scheme_str()? {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let authority = uri.authority()?;
        let plain = !authority.as_str().contains('@') && uri.query().is_none();
        if !plain || url.contains('#') || authority.host().is_empty() {
            return None;
        }
        Some(Self {
            https,
            host: authority.host().to_ascii_lowercase(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            path: uri.path().to_owned(),
        })
    }

    /// Same scheme, host and port, and a path at or below `prefix`'s, cut at
    /// a `/` (so `/oss` covers `/oss/k.pem` but not `/oss-evil/k.pem`).
    fn is_under(&self, prefix: &Self) -> bool {
        let path = self.path.strip_prefix(prefix.path.as_str());
        let below = path.is_some_and(|rest| {
            rest.is_empty() || prefix.path.ends_with('/') || rest.starts_with('/')
        });
        self.https == prefix.https && self.host == prefix.host && self.port == prefix.port && below
    }
}

/// What [`Verifier::check`] found.
#[derive(Debug)]
#[must_use]
pub enum Check {
    /// The signature checked out.
    Verified(VerifiedCallback),
    /// The key is needed: fetch [`KeyFetch::url`] (at most 16 KiB, no
    /// redirects), report with [`Verifier::key_fetched`], then check again.
    Fetch(KeyFetch),
    /// Another caller is fetching the key: check again after this pause.
    Wait(Duration),
}

/// A key fetch the verifier handed to this caller alone. Not reporting it
/// holds the other callers of this URL back for 15 seconds.
#[derive(Debug)]
#[must_use]
pub struct KeyFetch {
    url: String,
}

impl KeyFetch {
    /// The URL to fetch, checked against the trusted prefixes.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Checks callbacks: the key URL against OSS's key host and the prefixes the
/// caller trusts, then the signature, then the body as the application
/// declared it. Holds the key cache: keep one per process (clones share it).
#[derive(Clone, Debug, Default)]
pub struct Verifier {
    trusted_prefixes: Vec<KeyUrl>,
    body_type: CallbackBodyType,
    keys: Arc<Mutex<KeyStore>>,
}

impl Verifier {
    /// Trusts only OSS's key host, `gosspublic.alicdn.com` (fetched over
    /// https), and reads bodies as form-urlencoded (OSS's default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts key URLs under `prefix` (an emulator's, say): the same
    /// scheme, host and port, and a path at or below the prefix's. This is
    /// the only way to trust plain `http` (a loopback emulator). A prefix
    /// that is not an `http`/`https` URL, or carries userinfo, a query or a
    /// fragment, trusts nothing.
    #[must_use]
    pub fn trust_key_url_prefix(mut self, prefix: impl AsRef<str>) -> Self {
        self.trusted_prefixes.extend(KeyUrl::parse(prefix.as_ref()));
        self
    }

    /// How the bodies of this application's callbacks are encoded (its
    /// callbacks' `callbackBodyType`). The `Content-Type` header is not
    /// signed, so it never decides how a body is read.
    #[must_use]
    pub fn body_type(mut self, body_type: CallbackBodyType) -> Self {
        self.body_type = body_type;
        self
    }

    /// Checks `request` at `now` (a monotonic clock, for the key cache).
    ///
    /// # Errors
    /// The first check that fails: headers, key URL, key, signature, body.
    pub fn check(&self, request: &CallbackRequest<'_>, now: Instant) -> Result<Check, VerifyError> {
        let url = self.key_url(request)?;
        if let Some(key) = PublicKey::builtin(&url) {
            return self.verify_with(request, &key).map(Check::Verified);
        }
        // The store is locked for its decisions only, never across an RSA
        // check, so that callbacks verify in parallel.
        let lookup = self.keys().lookup(&url, now);
        match lookup {
            Lookup::Key(key) => match self.verify_with(request, &key) {
                Err(VerifyError::SignatureMismatch) if self.keys().refresh(&url, now) => {
                    Ok(Check::Fetch(KeyFetch { url }))
                }
                checked => checked.map(Check::Verified),
            },
            Lookup::Fetch => Ok(Check::Fetch(KeyFetch { url })),
            Lookup::Wait(pause) => Ok(Check::Wait(pause)),
            Lookup::Unavailable(reason) => Err(VerifyError::KeyUnavailable { url, reason }),
        }
    }

    /// Reports the key document `fetch` brought (or why it failed), received
    /// at `now`. A failure is remembered for a minute.
    pub fn key_fetched(
        &self,
        fetch: KeyFetch,
        document: Result<impl AsRef<[u8]>, String>,
        now: Instant,
    ) {
        let key = document.and_then(|d| PublicKey::parse(d.as_ref()).map_err(|e| e.to_string()));
        self.keys().fetched(&fetch.url, key, now);
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, KeyStore> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key URL the callback names, once checked against the trusted
    /// prefixes (OSS's own host is always fetched over https).
    fn key_url(&self, request: &CallbackRequest<'_>) -> Result<String, VerifyError> {
        let encoded = request
            .pub_key_url
            .ok_or(VerifyError::MissingHeader(PUB_KEY_URL_HEADER))?;
        let url = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(VerifyError::BadBase64(PUB_KEY_URL_HEADER))?;
        let Some(parsed) = KeyUrl::parse(&url) else {
            return Err(VerifyError::UntrustedKeyUrl(url));
        };
        let default_port = parsed.port == if parsed.https { 443 } else { 80 };
        if parsed.host == OSS_KEY_HOST && default_port {
            Ok(format!("https://{OSS_KEY_HOST}{}", parsed.path))
        } else if self.trusted_prefixes.iter().any(|p| parsed.is_under(p)) {
            Ok(url)
        } else {
            Err(VerifyError::UntrustedKeyUrl(url))
        }
    }

    /// Checks the signature with `key` and parses the body.
    fn verify_with(
        &self,
        request: &CallbackRequest<'_>,
        key: &PublicKey,
    ) -> Result<VerifiedCallback, VerifyError> {
        let signature = request
            .authorization
            .ok_or(VerifyError::MissingHeader(AUTHORIZATION_HEADER))?;
        let signature = STANDARD
            .decode(signature.trim())
            .map_err(|_| VerifyError::BadBase64(AUTHORIZATION_HEADER))?;
        let signature = Signature::try_from(signature.as_slice())
            .map_err(|_| VerifyError::SignatureMismatch)?;
        VerifyingKey::<Md5>::new(key.0.clone())
            .verify(&request.string_to_sign(), &signature)
            .map_err(|_| VerifyError::SignatureMismatch)?;
        Ok(VerifiedCallback {
            body: request.body.to_vec(),
            body_type: self.body_type,
            variables: parse_body(self.body_type, request.body)?,
        })
    }
}

fn parse_body(
    body_type: CallbackBodyType,
    body: &[u8],
) -> Result<BTreeMap<String, String>, VerifyError> {
    if body_type == CallbackBodyType::Json {
        let value: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
            .map_err(|e| VerifyError::BadBody(format!("not a JSON object: {e}")))?;
        return Ok(value
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect());
    }
    if std::str::from_utf8(body).is_err() {
        return Err(VerifyError::BadBody("form body is not UTF-8".to_owned()));
    }
    Ok(form_urlencoded::parse(body).into_owned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keys::OSS_PUBLIC_KEY_URL;

    const DOC_SIGNATURE: &str =
        "kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA==";
    const DOC_KEY_URL: &str =
        "aHR0cDovL2dvc3NwdWJsaWMuYWxpY2RuLmNvbS9jYWxsYmFja19wdWJfa2V5X3YxLnBlbQ==";

    /// Checks with OSS's built-in key: never a fetch.
    fn verify(
        verifier: &Verifier,
        request: &CallbackRequest<'_>,
    ) -> Result<VerifiedCallback, VerifyError> {
        match verifier.check(request, Instant::now())? {
            Check::Verified(callback) => Ok(callback),
            other => panic!("OSS's key is built in: {other:?}"),
        }
    }

    fn doc_request(
        path: &'static str,
        query: &'static str,
        body: &'static [u8],
    ) -> CallbackRequest<'static> {
        CallbackRequest::new(path, query, body)
            .authorization(DOC_SIGNATURE)
            .pub_key_url(DOC_KEY_URL)
    }

    /// The Callback API page's example, signed by OSS.
    #[test]
    fn doc_vector_verifies() {
        let request = doc_request("/index.php", "id=1&index=2", b"bucket=yonghu-test");
        assert_eq!(
            request.string_to_sign(),
            b"/index.php?id=1&index=2\nbucket=yonghu-test"
        );
        let verifier = Verifier::new();
        assert_eq!(
            verifier.key_url(&request).as_deref(),
            Ok("https://gosspublic.alicdn.com/callback_pub_key_v1.pem")
        );
        let verified = verify(&verifier, &request).expect("verifies");
        assert_eq!(
            verified.variables().get("bucket").map(String::as_str),
            Some("yonghu-test")
        );
        assert_eq!(verified.body(), b"bucket=yonghu-test");
        assert_eq!(verified.body_type(), CallbackBodyType::FormUrlEncoded);
    }

    /// A real OSS callback to a path with no query string, captured by
    /// Cloudreve's test suite: github.com/cloudreve/Cloudreve,
    /// `pkg/filesystem/driver/oss/callback_test.go`, `TestVerifyCallbackSignature`
    /// (its "成功" case; the key URL is the https one). It proves no `?` is
    /// added when the query is empty.
    #[test]
    fn no_query_vector_verifies_without_a_question_mark() {
        const SIG: &str = "e5LwzwTkP9AFAItT4YzvdJOHd0Y0wqTMWhsV/h5SG90JYGAmMd+8LQyj96R+9qUfJWjMt6suuUh7LaOryR87Dw==";
        const HTTPS_KEY_URL: &str =
            "aHR0cHM6Ly9nb3NzcHVibGljLmFsaWNkbi5jb20vY2FsbGJhY2tfcHViX2tleV92MS5wZW0=";
        const PATH: &str = "/api/v3/callback/oss/TnXx5E5VyfJUyM1UdkdDu1rtnJ34EbmH";
        const BODY: &[u8] = br#"{"name":"2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","source_name":"1/1_hFRtDLgM_2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","size":114020,"pic_info":"810,539"}"#;
        let request = CallbackRequest::new(PATH, "", BODY)
            .authorization(SIG)
            .pub_key_url(HTTPS_KEY_URL);
        let mut expected = PATH.as_bytes().to_vec();
        expected.push(b'\n');
        expected.extend_from_slice(BODY);
        assert_eq!(request.string_to_sign(), expected);
        let verifier = Verifier::new().body_type(CallbackBodyType::Json);
        let url = verifier.key_url(&request).expect("trusted");
        assert_eq!(url, "https://gosspublic.alicdn.com/callback_pub_key_v1.pem");
        let key = PublicKey::builtin(&url).expect("built in");
        let verified = verify(&verifier, &request).expect("verifies");
        assert_eq!(verified.variables()["size"], "114020");
        assert_eq!(verified.variables()["pic_info"], "810,539");
        assert_eq!(verified.body_type(), CallbackBodyType::Json);

        // The same bytes with a `?` before the newline do not verify.
        let signature = Signature::try_from(STANDARD.decode(SIG).expect("base64").as_slice())
            .expect("signature");
        let with_mark = [PATH.as_bytes(), b"?\n", BODY].concat();
        assert!(
            VerifyingKey::<Md5>::new(key.0.clone())
                .verify(&with_mark, &signature)
                .is_err()
        );
        // Negatives on this vector: a query, a tampered path or body, a trailing newline.
        let cases = [
            CallbackRequest::new(PATH, "a=1", BODY),
            CallbackRequest::new(
                "/api/v3/callback/oss/TnXx5E5VyfJUyM1UdkdDu1rtnJ34EbmI",
                "",
                BODY,
            ),
            CallbackRequest::new(PATH, "", &BODY[..BODY.len() - 1]),
            CallbackRequest::new(PATH, "", b"{}"),
        ];
        for case in cases {
            let case = case.authorization(SIG).pub_key_url(HTTPS_KEY_URL);
            assert_eq!(
                verify(&verifier, &case),
                Err(VerifyError::SignatureMismatch),
                "{case:?}"
            );
        }
        let trailing = [BODY, b"\n"].concat();
        let case = CallbackRequest::new(PATH, "", &trailing)
            .authorization(SIG)
            .pub_key_url(HTTPS_KEY_URL);
        assert_eq!(
            verify(&verifier, &case),
            Err(VerifyError::SignatureMismatch)
        );
        // A percent-encoded path is decoded before verifying.
        let encoded =
            "/api/v3/callback/oss/TnXx5E5VyfJUyM1UdkdDu1rtnJ34EbmH".replace("/oss/", "/%6Fss/");
        let case = CallbackRequest::new(&encoded, "", BODY)
            .authorization(SIG)
            .pub_key_url(HTTPS_KEY_URL);
        assert!(verify(&verifier, &case).is_ok());
    }

    #[test]
    fn tampering_is_detected() {
        let verifier = Verifier::new();
        let cases = [
            doc_request("/index.php", "id=1&index=2", b"bucket=yonghu-test\n"),
            doc_request("/index.php", "id=1&index=2", b"bucket=yonghu-tesT"),
            doc_request("/index.phq", "id=1&index=2", b"bucket=yonghu-test"),
            doc_request("/index.php", "id=1&index=3", b"bucket=yonghu-test"),
            doc_request("/index.php", "", b"bucket=yonghu-test"),
        ];
        for request in cases {
            assert_eq!(
                verify(&verifier, &request),
                Err(VerifyError::SignatureMismatch),
                "{request:?}"
            );
        }
    }

    #[test]
    fn header_and_key_checks() {
        let verifier = Verifier::new();
        let base = CallbackRequest::new("/index.php", "id=1&index=2", b"bucket=yonghu-test");
        assert_eq!(
            verify(&verifier, &base),
            Err(VerifyError::MissingHeader("x-oss-pub-key-url"))
        );
        let no_sig = base.pub_key_url(DOC_KEY_URL);
        assert_eq!(
            verify(&verifier, &no_sig),
            Err(VerifyError::MissingHeader("authorization"))
        );
        let bad_sig = no_sig.authorization("not base64!");
        assert_eq!(
            verify(&verifier, &bad_sig),
            Err(VerifyError::BadBase64("authorization"))
        );
        let bad_url = base.authorization(DOC_SIGNATURE).pub_key_url("%%%");
        assert_eq!(
            verifier.key_url(&bad_url),
            Err(VerifyError::BadBase64("x-oss-pub-key-url"))
        );
        let evil = STANDARD.encode("http://gosspublic.alicdn.com.evil.example/key.pem");
        let untrusted = base.authorization(DOC_SIGNATURE).pub_key_url(&evil);
        assert!(matches!(
            verifier.key_url(&untrusted),
            Err(VerifyError::UntrustedKeyUrl(_))
        ));
        let local = STANDARD.encode("http://127.0.0.1:9000/__osscb/callback_pub_key.pem");
        let emulated = base.authorization(DOC_SIGNATURE).pub_key_url(&local);
        assert!(verifier.key_url(&emulated).is_err());
        let trusting = Verifier::new().trust_key_url_prefix("http://127.0.0.1:9000/");
        assert_eq!(
            trusting.key_url(&emulated).as_deref(),
            Ok("http://127.0.0.1:9000/__osscb/callback_pub_key.pem")
        );
    }

    #[test]
    fn bodies_parse_as_declared() {
        use CallbackBodyType::{FormUrlEncoded as Form, Json};
        assert_eq!(
            parse_body(Form, b"a=1&b=x+y%26z&c").expect("form"),
            BTreeMap::from([
                ("a".into(), "1".into()),
                ("b".into(), "x y&z".into()),
                ("c".into(), String::new())
            ])
        );
        assert_eq!(
            parse_body(Json, br#"{"a":"1","n":2,"o":{"k":true}}"#).expect("json"),
            BTreeMap::from([
                ("a".into(), "1".into()),
                ("n".into(), "2".into()),
                ("o".into(), r#"{"k":true}"#.into())
            ])
        );
        assert!(matches!(
            parse_body(Json, b"[1]"),
            Err(VerifyError::BadBody(_))
        ));
    }

    /// `Content-Type` is not signed: whoever relays a genuine callback can
    /// change it, so it must not decide how the signed body is read.
    #[test]
    fn the_unsigned_content_type_does_not_decide_the_body() {
        let request = http::Request::post("/index.php?id=1&index=2")
            .header("content-type", "application/json")
            .header(AUTHORIZATION_HEADER, DOC_SIGNATURE)
            .header(PUB_KEY_URL_HEADER, DOC_KEY_URL)
            .body(&b"bucket=yonghu-test"[..])
            .expect("request");
        let request = CallbackRequest::from_http(&request);
        let verified = verify(&Verifier::new(), &request).expect("verifies");
        assert_eq!(verified.variables()["bucket"], "yonghu-test");
        let as_json = verify(&Verifier::new().body_type(CallbackBodyType::Json), &request);
        assert!(
            matches!(as_json, Err(VerifyError::BadBody(_))),
            "{as_json:?}"
        );
    }

    /// Key URLs are compared by scheme, host, port and path, never as text:
    /// userinfo, look-alike hosts, other ports, sibling paths, queries and
    /// fragments are refused; keys on OSS's own host are fetched over https.
    #[test]
    fn key_urls_are_parsed_not_prefix_matched() {
        let emulator = Verifier::new().trust_key_url_prefix("http://127.0.0.1:9000");
        let keys = Verifier::new().trust_key_url_prefix("https://keys.example.com/oss/");
        let url_of = |verifier: &Verifier, url: &str| {
            let encoded = STANDARD.encode(url);
            let request = CallbackRequest::new("/", "", b"").pub_key_url(&encoded);
            verifier.key_url(&request)
        };
        for (verifier, url) in [
            (&emulator, "http://127.0.0.1:9000@evil.example/k.pem"),
            (&emulator, "http://user@127.0.0.1:9000/k.pem"),
            (&emulator, "http://127.0.0.1:90001/k.pem"),
            (&emulator, "http://127.0.0.1:9001/k.pem"),
            (&emulator, "https://127.0.0.1:9000/k.pem"),
            (&emulator, "http://127.0.0.1:9000/k.pem?v=2"),
            (&emulator, "http://127.0.0.1:9000/k.pem#x"),
            (&emulator, "ftp://127.0.0.1:9000/k.pem"),
            (&keys, "https://keys.example.com/oss-evil/k.pem"),
            (&keys, "https://keys.example.com/other/k.pem"),
            (&keys, "http://keys.example.com/oss/k.pem"),
            (&keys, "https://keys.example.com.evil.example/oss/k.pem"),
            (&emulator, "https://gosspublic.alicdn.com:8443/k.pem"),
            (
                &emulator,
                "https://gosspublic.alicdn.com@evil.example/k.pem",
            ),
            (&emulator, "http://gosspublic.alicdn.com/k.pem?evict=1"),
        ] {
            assert!(
                matches!(url_of(verifier, url), Err(VerifyError::UntrustedKeyUrl(_))),
                "{url} must not be trusted"
            );
        }
        assert_eq!(
            url_of(
                &emulator,
                "http://127.0.0.1:9000/__osscb/callback_pub_key.pem"
            )
            .as_deref(),
            Ok("http://127.0.0.1:9000/__osscb/callback_pub_key.pem")
        );
        assert_eq!(
            url_of(&keys, "https://KEYS.example.com:443/oss/k.pem").as_deref(),
            Ok("https://KEYS.example.com:443/oss/k.pem")
        );
        // OSS's own host: always fetched over https, whatever the header says;
        // its built-in key needs no fetch at all.
        assert_eq!(
            url_of(&emulator, "http://gosspublic.alicdn.com/other_key.pem").as_deref(),
            Ok("https://gosspublic.alicdn.com/other_key.pem")
        );
        let builtin = url_of(&emulator, OSS_PUBLIC_KEY_URL).unwrap_or_default();
        assert!(PublicKey::builtin(&builtin).is_some(), "{builtin}");
    }
}
