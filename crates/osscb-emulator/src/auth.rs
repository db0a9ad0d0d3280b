//! Request authentication: the core's server-side check
//! ([`osscb_core::sign::verify`], V1 and V4, header or presigned URL) against
//! the emulator's own key or a temporary one it issued, its refusals turned
//! into OSS's error answers.

use std::time::SystemTime;

use http::{HeaderMap, Method};
use osscb_core::Credentials;
use osscb_core::sign::{IncomingRequest, Rejection, verify};

use crate::error::OssError;
use crate::issued::{Issued, Lookup};

/// The request facts a signature covers.
pub(crate) struct AuthRequest<'a> {
    pub(crate) method: &'a Method,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) bucket: Option<&'a str>,
    pub(crate) key: Option<&'a str>,
    /// Decoded query parameters.
    pub(crate) query: &'a [(String, String)],
    pub(crate) now: SystemTime,
}

/// Checks the request's signature; `Ok` means it was made with the
/// emulator's credentials (`own`) or with an unexpired credential it issued.
pub(crate) fn authenticate(
    own: &Credentials,
    issued: &Issued,
    req: &AuthRequest<'_>,
) -> Result<(), OssError> {
    let incoming = IncomingRequest::new(req.method, req.headers, req.bucket, req.key, req.query);
    let creds = match verify(&incoming, own, req.now) {
        Ok(_) => return Ok(()),
        Err(Rejection::InvalidAccessKeyId(id)) => credentials_named(own, issued, &id, req.now)?,
        Err(rejection) => return Err(refusal(rejection, own, req.now)),
    };
    verify(&incoming, &creds, req.now)
        .map(drop)
        .map_err(|rejection| refusal(rejection, &creds, req.now))
}

/// The credentials a request naming `id` must be signed with: the
/// emulator's own, or the unexpired one it issued under that ID.
pub(crate) fn credentials_named(
    own: &Credentials,
    issued: &Issued,
    id: &str,
    now: SystemTime,
) -> Result<Credentials, OssError> {
    if id == own.access_key_id() {
        return Ok(own.clone());
    }
    match issued.credentials(id, now) {
        Lookup::Live(creds) => Ok(creds),
        // OSS's answer to an expired STS token. oss2 (2.19) names no code
        // of its own for it, so the emulator keeps OSS's code for a bad
        // token, `InvalidAccessKeyId`, with OSS's message for this case.
        Lookup::Expired => Err(invalid_access_key_id(
            "The security token you provided has expired.",
            id,
        )),
        Lookup::Unknown => Err(invalid_access_key_id(UNKNOWN_KEY, id)),
    }
}

/// OSS's message for an AccessKey ID it does not know.
const UNKNOWN_KEY: &str = "The OSS Access Key Id you provided does not exist in our records.";

/// OSS's answer to a refused signature.
pub(crate) fn refusal(rejection: Rejection, creds: &Credentials, now: SystemTime) -> OssError {
    let server_time = osscb_core::time::http_date(now).unwrap_or_default();
    match rejection {
        Rejection::InvalidArgument(message) => OssError::invalid_argument(message),
        Rejection::AccessDenied(message) => OssError::access_denied(message),
        Rejection::InvalidAccessKeyId(id) => invalid_access_key_id(UNKNOWN_KEY, &id),
        Rejection::InvalidSecurityToken => invalid_access_key_id(
            "The security token you provided is invalid.",
            creds.access_key_id(),
        ),
        Rejection::RequestTimeTooSkewed(request_time) => OssError::new(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        )
        .with("RequestTime", request_time)
        .with("ServerTime", server_time),
        Rejection::SignatureDoesNotMatch {
            access_key_id,
            signature,
            strings,
        } => {
            let error =
                OssError::signature_mismatch(&access_key_id, &signature, strings.string_to_sign);
            match strings.canonical_request {
                Some(canonical) => error.with("CanonicalRequest", canonical),
                None => error,
            }
        }
        other => OssError::access_denied(format!("{other:?}")),
    }
}

/// `InvalidAccessKeyId` (403) naming the AccessKey ID.
pub(crate) fn invalid_access_key_id(message: &str, id: &str) -> OssError {
    OssError::new(403, "InvalidAccessKeyId", message.to_owned()).with("OSSAccessKeyId", id)
}

/// Compares without stopping at the first difference (form signatures, tokens).
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// `2024-01-02T03:04:05.000Z` from seconds since the epoch.
pub(crate) fn iso8601(secs: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    osscb_core::time::iso8601_millis(time).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_672_223_261), "2022-12-28T10:27:41.000Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn refusals_become_oss_errors() {
        let creds = Credentials::new("id", "secret");
        let now = SystemTime::UNIX_EPOCH;
        let code = |headers: &HeaderMap, query: &[(String, String)]| -> String {
            let req = AuthRequest {
                method: &Method::GET,
                headers,
                bucket: None,
                key: None,
                query,
                now,
            };
            match authenticate(&creds, &Issued::default(), &req) {
                Ok(()) => "Ok".to_owned(),
                Err(e) => format!("{} {}", e.status.as_u16(), e.code),
            }
        };
        let mut headers = HeaderMap::new();
        assert_eq!(code(&headers, &[]), "403 AccessDenied");
        headers.insert("authorization", http::HeaderValue::from_static("OSS a:b:c"));
        assert_eq!(code(&headers, &[]), "403 InvalidAccessKeyId");
        headers.insert("authorization", http::HeaderValue::from_static("Bearer x"));
        assert_eq!(code(&headers, &[]), "400 InvalidArgument");
        headers.insert(
            "authorization",
            http::HeaderValue::from_static("OSS4-HMAC-SHA256 Credential=x"),
        );
        assert_eq!(code(&headers, &[]), "400 InvalidArgument");
        let q = vec![("Expires".to_owned(), "1".to_owned())];
        assert_eq!(code(&HeaderMap::new(), &q), "403 AccessDenied");
    }
}
