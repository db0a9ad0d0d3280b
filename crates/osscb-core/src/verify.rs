//! Verifying OSS's signed callbacks on the application server.
//!
//! OSS signs each callback request with RSA (PKCS#1 v1.5, MD5) over
//! `url_decode(path) + ("?" + query, when there is one) + "\n" + body` and
//! names its public key's URL, base64-encoded, in `x-oss-pub-key-url`. The
//! check is sans-IO in two steps: [`Verifier::key_url`] says which key to use
//! (refusing untrusted URLs), the caller supplies that key —
//! [`PublicKey::builtin`] has OSS's own, so genuine callbacks need no fetch —
//! and [`Verifier::verify`] checks the signature and parses the body.
//!
//! ```
//! use osscb_core::verify::{CallbackRequest, PublicKey, Verifier};
//!
//! // The Callback API page's example, signed by OSS.
//! let request = CallbackRequest::new("/index.php", "id=1&index=2", b"bucket=yonghu-test")
//!     .authorization("kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA==")
//!     .pub_key_url("aHR0cDovL2dvc3NwdWJsaWMuYWxpY2RuLmNvbS9jYWxsYmFja19wdWJfa2V5X3YxLnBlbQ==");
//! let verifier = Verifier::new();
//! let url = verifier.key_url(&request)?;
//! let key = PublicKey::builtin(&url).expect("OSS's v1 key is built in");
//! let callback = verifier.verify(&request, &key)?;
//! assert_eq!(callback.variables()["bucket"], "yonghu-test");
//! # Ok::<(), osscb_core::verify::VerifyError>(())
//! ```

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::Md5;
use percent_encoding::percent_decode_str;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::der::Decode as _;
use rsa::signature::Verifier as _;
use rsa::{BoxedUint, pkcs1, pkcs8};

/// The URL of OSS's callback public key (v1), as OSS sends it.
pub(crate) const OSS_PUBLIC_KEY_URL: &str = "http://gosspublic.alicdn.com/callback_pub_key_v1.pem";

/// OSS's callback public key (`callback_pub_key_v1.pem`, 512-bit RSA).
pub(crate) const OSS_PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKs/JBGzwUB2aVht4crBx3oIPBLNsjGs
C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==
-----END PUBLIC KEY-----
";

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
    /// The body does not parse as its content type says.
    #[error("malformed callback body: {0}")]
    BadBody(String),
}

/// An RSA public key that callbacks are verified with (512 to 4096 bits: OSS's
/// own key is 512-bit, which RustCrypto's default constructors refuse).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(rsa::PublicKey);

impl PublicKey {
    /// OSS's key, when `url` is OSS's documented key URL (http or https).
    pub fn builtin(url: &str) -> Option<Self> {
        let path = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))?;
        (Some(path) == OSS_PUBLIC_KEY_URL.strip_prefix("http://"))
            .then(|| Self::from_pem(OSS_PUBLIC_KEY_PEM).ok())
            .flatten()
    }

    /// Decodes a PEM public key: SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
    ///
    /// # Errors
    /// [`VerifyError::BadKey`] when it is neither.
    pub fn from_pem(pem: &str) -> Result<Self, VerifyError> {
        let bad = |what: &str| VerifyError::BadKey(what.to_owned());
        let text = pem.trim();
        let (label, rest) = text
            .strip_prefix("-----BEGIN ")
            .and_then(|r| r.split_once("-----"))
            .ok_or_else(|| bad("not PEM"))?;
        let end = format!("-----END {label}-----");
        let body = rest
            .trim()
            .strip_suffix(end.as_str())
            .ok_or_else(|| bad("PEM without its END line"))?;
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(b64)
            .map_err(|_| bad("PEM body is not base64"))?;
        match label {
            "PUBLIC KEY" => Self::from_der(&der),
            "RSA PUBLIC KEY" => Self::from_pkcs1_der(&der),
            _ => Err(bad("expected a PUBLIC KEY or RSA PUBLIC KEY")),
        }
    }

    /// Decodes a DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    /// [`VerifyError::BadKey`] when it is not an RSA SPKI.
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, VerifyError> {
        let spki = pkcs8::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| VerifyError::BadKey(e.to_string()))?;
        if spki.algorithm.oid != pkcs1::ALGORITHM_OID {
            return Err(VerifyError::BadKey("not an RSA key".to_owned()));
        }
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| VerifyError::BadKey("key bit string is not whole bytes".to_owned()))?;
        Self::from_pkcs1_der(bits)
    }

    /// Decodes a DER PKCS#1 `RSAPublicKey`.
    ///
    /// # Errors
    /// [`VerifyError::BadKey`] when malformed or outside 512..=4096 bits.
    pub(crate) fn from_pkcs1_der(der: &[u8]) -> Result<Self, VerifyError> {
        let bad = |e: &dyn std::fmt::Display| VerifyError::BadKey(e.to_string());
        let key = pkcs1::RsaPublicKeyRef::from_der(der).map_err(|e| bad(&e))?;
        let uint = |bytes: &[u8]| {
            let bits = u32::try_from(bytes.len() * 8).map_err(|e| bad(&e))?;
            BoxedUint::from_be_slice(bytes, bits.max(64)).map_err(|e| bad(&format!("{e:?}")))
        };
        let n = uint(key.modulus.as_bytes())?;
        let e = uint(key.public_exponent.as_bytes())?;
        rsa::PublicKey::new_with_size_limits(n, e, 512..=4096)
            .map(Self)
            .map_err(|e| bad(&e))
    }
}

/// What arrived at the callback URL: the raw path (percent-encoded, as on the
/// request line), the raw query (without `?`, empty when none), the body, and
/// the two headers OSS adds.
#[derive(Clone, Copy, Debug)]
pub struct CallbackRequest<'a> {
    path: &'a str,
    query: &'a str,
    body: &'a [u8],
    content_type: Option<&'a str>,
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
            content_type: None,
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
            content_type: header("content-type"),
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

    /// The `Content-Type` header (form-urlencoded when absent).
    #[must_use]
    pub fn content_type(mut self, value: &'a str) -> Self {
        self.content_type = Some(value);
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
    variables: BTreeMap<String, String>,
}

impl VerifiedCallback {
    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
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

/// Checks callbacks: the key URL against OSS's key host and the prefixes the
/// caller trusts, then the signature.
#[derive(Clone, Debug, Default)]
pub struct Verifier {
    trusted_prefixes: Vec<KeyUrl>,
}

impl Verifier {
    /// Trusts only OSS's key host, `gosspublic.alicdn.com` (fetched over
    /// https).
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

    /// Step one: the key URL the callback names, once checked against the
    /// trusted prefixes. Look it up with [`PublicKey::builtin`] or fetch it.
    ///
    /// # Errors
    /// Missing header, bad base64, or an untrusted URL.
    pub fn key_url(&self, request: &CallbackRequest<'_>) -> Result<String, VerifyError> {
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

    /// Step two: checks the signature with `key` (the one [`Verifier::key_url`]
    /// named) and parses the body.
    ///
    /// # Errors
    /// The first check that fails.
    pub fn verify(
        &self,
        request: &CallbackRequest<'_>,
        key: &PublicKey,
    ) -> Result<VerifiedCallback, VerifyError> {
        self.key_url(request)?;
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
            variables: parse_body(request.content_type, request.body)?,
        })
    }
}

fn parse_body(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<BTreeMap<String, String>, VerifyError> {
    let is_json = content_type.is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if is_json {
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
    let text = std::str::from_utf8(body)
        .map_err(|_| VerifyError::BadBody("form body is not UTF-8".to_owned()))?;
    let decode = |s: &str| {
        let spaced = s.replace('+', " ");
        percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
    };
    Ok(text
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_SIGNATURE: &str =
        "kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA==";
    const DOC_KEY_URL: &str =
        "aHR0cDovL2dvc3NwdWJsaWMuYWxpY2RuLmNvbS9jYWxsYmFja19wdWJfa2V5X3YxLnBlbQ==";

    fn oss_key() -> PublicKey {
        PublicKey::builtin(OSS_PUBLIC_KEY_URL).expect("built in")
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
        let verified = verifier.verify(&request, &oss_key()).expect("verifies");
        assert_eq!(
            verified.variables().get("bucket").map(String::as_str),
            Some("yonghu-test")
        );
        assert_eq!(verified.body(), b"bucket=yonghu-test");
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
            .pub_key_url(HTTPS_KEY_URL)
            .content_type("application/json");
        let mut expected = PATH.as_bytes().to_vec();
        expected.push(b'\n');
        expected.extend_from_slice(BODY);
        assert_eq!(request.string_to_sign(), expected);
        let verifier = Verifier::new();
        let url = verifier.key_url(&request).expect("trusted");
        assert_eq!(url, "https://gosspublic.alicdn.com/callback_pub_key_v1.pem");
        let key = PublicKey::builtin(&url).expect("built in");
        let verified = verifier.verify(&request, &key).expect("verifies");
        assert_eq!(verified.variables()["size"], "114020");
        assert_eq!(verified.variables()["pic_info"], "810,539");

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
                verifier.verify(&case, &key),
                Err(VerifyError::SignatureMismatch),
                "{case:?}"
            );
        }
        let trailing = [BODY, b"\n"].concat();
        let case = CallbackRequest::new(PATH, "", &trailing)
            .authorization(SIG)
            .pub_key_url(HTTPS_KEY_URL);
        assert_eq!(
            verifier.verify(&case, &key),
            Err(VerifyError::SignatureMismatch)
        );
        // A percent-encoded path is decoded before verifying.
        let encoded =
            "/api/v3/callback/oss/TnXx5E5VyfJUyM1UdkdDu1rtnJ34EbmH".replace("/oss/", "/%6Fss/");
        let case = CallbackRequest::new(&encoded, "", BODY)
            .authorization(SIG)
            .pub_key_url(HTTPS_KEY_URL)
            .content_type("application/json");
        assert!(verifier.verify(&case, &key).is_ok());
    }

    #[test]
    fn tampering_is_detected() {
        let verifier = Verifier::new();
        let key = oss_key();
        let cases = [
            doc_request("/index.php", "id=1&index=2", b"bucket=yonghu-test\n"),
            doc_request("/index.php", "id=1&index=2", b"bucket=yonghu-tesT"),
            doc_request("/index.phq", "id=1&index=2", b"bucket=yonghu-test"),
            doc_request("/index.php", "id=1&index=3", b"bucket=yonghu-test"),
            doc_request("/index.php", "", b"bucket=yonghu-test"),
        ];
        for request in cases {
            assert_eq!(
                verifier.verify(&request, &key),
                Err(VerifyError::SignatureMismatch),
                "{request:?}"
            );
        }
    }

    #[test]
    fn header_and_key_checks() {
        let verifier = Verifier::new();
        let key = oss_key();
        let base = CallbackRequest::new("/index.php", "id=1&index=2", b"bucket=yonghu-test");
        assert_eq!(
            verifier.verify(&base, &key),
            Err(VerifyError::MissingHeader("x-oss-pub-key-url"))
        );
        let no_sig = base.pub_key_url(DOC_KEY_URL);
        assert_eq!(
            verifier.verify(&no_sig, &key),
            Err(VerifyError::MissingHeader("authorization"))
        );
        let bad_sig = no_sig.authorization("not base64!");
        assert_eq!(
            verifier.verify(&bad_sig, &key),
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
        let truncated = &OSS_PUBLIC_KEY_PEM[..OSS_PUBLIC_KEY_PEM.len() - 40];
        assert!(matches!(
            PublicKey::from_pem(truncated),
            Err(VerifyError::BadKey(_))
        ));
        let short_body = OSS_PUBLIC_KEY_PEM.replace(
            "C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==",
            "C0fTXv+nvlmklvkc",
        );
        assert!(matches!(
            PublicKey::from_pem(&short_body),
            Err(VerifyError::BadKey(_))
        ));
        assert!(PublicKey::builtin("http://example.com/callback_pub_key_v1.pem").is_none());
        assert!(
            PublicKey::builtin("https://gosspublic.alicdn.com/callback_pub_key_v1.pem").is_some()
        );
    }

    #[test]
    fn bodies_parse_by_content_type() {
        assert_eq!(
            parse_body(None, b"a=1&b=x+y%26z&c").expect("form"),
            BTreeMap::from([
                ("a".into(), "1".into()),
                ("b".into(), "x y&z".into()),
                ("c".into(), String::new())
            ])
        );
        assert_eq!(
            parse_body(
                Some("application/json; charset=utf-8"),
                br#"{"a":"1","n":2,"o":{"k":true}}"#
            )
            .expect("json"),
            BTreeMap::from([
                ("a".into(), "1".into()),
                ("n".into(), "2".into()),
                ("o".into(), r#"{"k":true}"#.into())
            ])
        );
        assert!(matches!(
            parse_body(Some("application/json"), b"[1]"),
            Err(VerifyError::BadBody(_))
        ));
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
