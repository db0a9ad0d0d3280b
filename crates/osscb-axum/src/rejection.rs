//! Why a callback was refused: a 400 answer with a JSON reason that names
//! the failed check and leaks no internals.

use std::borrow::Cow;
use std::fmt;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use osscb_core::verify::VerifyError;

/// Which check refused a callback: the `error` member of the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectionKind {
    /// The signature, its headers or its key URL: not a callback OSS signed.
    Signature,
    /// The public key the callback names cannot be had now (a transient
    /// failure: OSS answers the uploader 203, the object stays stored).
    Key,
    /// The callback binding: no grant when one is required, a grant of
    /// another seal, upload or object, expired or already used.
    Binding,
    /// The body: over the size cap, unreadable, not the declared body type,
    /// or without the fields the handler's type needs.
    Body,
}

impl RejectionKind {
    /// The kind as the answer names it: `signature`, `key`, `binding`, `body`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signature => "signature",
            Self::Key => "key",
            Self::Binding => "binding",
            Self::Body => "body",
        }
    }
}

/// A refused callback. It answers `400 Bad Request` with
/// `{"error": KIND, "message": TEXT}`: the text is fixed per check (or the
/// core's fixed reason for a signature or binding failure), never a key, a
/// key URL, a signature, a fetch error or a Rust type name. Its `Display`
/// is the whole detail, for the server's own log.
#[derive(Clone, Debug)]
pub struct CallbackRejection {
    kind: RejectionKind,
    message: Cow<'static, str>,
    detail: String,
}

impl CallbackRejection {
    pub(crate) fn new(
        kind: RejectionKind,
        message: impl Into<Cow<'static, str>>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            message: message.into(),
            detail: detail.into(),
        }
    }

    /// Which check refused the callback.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The text the answer carries.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The answer's body: `{"error": KIND, "message": TEXT}`.
    pub fn json(&self) -> Bytes {
        let body = serde_json::json!({ "error": self.kind.as_str(), "message": self.message });
        Bytes::from(body.to_string())
    }

    /// The answer: 400, `application/json`, [`CallbackRejection::json`].
    pub fn to_http(&self) -> axum::http::Response<http_body_util::Full<Bytes>> {
        let mut response = axum::http::Response::new(http_body_util::Full::new(self.json()));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

impl From<VerifyError> for CallbackRejection {
    fn from(error: VerifyError) -> Self {
        use RejectionKind::{Binding, Body, Key, Signature};
        let detail = error.to_string();
        // The core's texts for these name only a header, a field or a fixed
        // reason; the others may carry a URL, a key or a fetch error.
        let (kind, message): (_, Cow<'static, str>) = match &error {
            VerifyError::MissingHeader(_)
            | VerifyError::BadBase64(_)
            | VerifyError::SignatureMismatch => (Signature, detail.clone().into()),
            VerifyError::UntrustedKeyUrl(_) => (
                Signature,
                "the callback's public key URL is untrusted".into(),
            ),
            VerifyError::BadKey(_) => {
                (Signature, "the callback's public key cannot be used".into())
            }
            VerifyError::KeyUnavailable { .. } => (
                Key,
                "the callback's public key is unavailable now; try again later".into(),
            ),
            VerifyError::BadBody(_) => (
                Body,
                "the callback body does not parse as the declared body type".into(),
            ),
            VerifyError::Unbound(_)
            | VerifyError::GrantMismatch(_)
            | VerifyError::GrantExpired
            | VerifyError::FactsDiffer(_) => (Binding, detail.clone().into()),
            _ => (Signature, "the callback could not be verified".into()),
        };
        Self::new(kind, message, detail)
    }
}

impl From<osscb_core::Error> for CallbackRejection {
    fn from(error: osscb_core::Error) -> Self {
        match error {
            osscb_core::Error::Verify(error) => error.into(),
            other => Self::new(
                RejectionKind::Signature,
                "the callback could not be verified",
                other.to_string(),
            ),
        }
    }
}

impl fmt::Display for CallbackRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for CallbackRejection {}

impl IntoResponse for CallbackRejection {
    fn into_response(self) -> Response {
        self.to_http().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a key URL, a key or a fetch error says stays in the log.
    #[test]
    fn answers_name_the_check_and_nothing_internal() {
        let cases = [
            (
                VerifyError::UntrustedKeyUrl("http://10.0.0.5/secret/key.pem".to_owned()),
                r#"{"error":"signature","message":"the callback's public key URL is untrusted"}"#,
            ),
            (
                VerifyError::KeyUnavailable {
                    url: "http://10.0.0.5/k.pem".to_owned(),
                    reason: "connect: 10.0.0.5:80 refused".to_owned(),
                },
                r#"{"error":"key","message":"the callback's public key is unavailable now; try again later"}"#,
            ),
            (
                VerifyError::BadKey("ASN.1 at /srv/app/key.rs:10".to_owned()),
                r#"{"error":"signature","message":"the callback's public key cannot be used"}"#,
            ),
            (
                VerifyError::SignatureMismatch,
                r#"{"error":"signature","message":"the callback signature does not match"}"#,
            ),
            (
                VerifyError::GrantExpired,
                r#"{"error":"binding","message":"the callback's grant expired"}"#,
            ),
        ];
        for (error, json) in cases {
            let detail = error.to_string();
            let rejection = CallbackRejection::from(error);
            assert_eq!(rejection.json(), json.as_bytes());
            assert_eq!(rejection.to_string(), detail);
            let response = rejection.to_http();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        }
    }
}
