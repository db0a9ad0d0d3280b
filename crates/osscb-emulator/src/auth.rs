//! Request authentication. [`authenticate`] picks the scheme from the
//! `Authorization` header or the query parameters, then checks it with the
//! core's canonical strings: V1 and V4 (`OSS4-HMAC-SHA256`), each in the
//! header or in a presigned URL.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method};
use osscb_core::sign::{v1, v4};

use crate::error::OssError;

/// The largest difference between a request's date and the emulator's clock.
pub(crate) const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The credentials the emulator accepts.
#[derive(Clone)]
pub(crate) struct Creds {
    pub(crate) access_key_id: String,
    pub(crate) access_key_secret: String,
    pub(crate) security_token: Option<String>,
}

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

impl AuthRequest<'_> {
    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How a request is signed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scheme<'a> {
    /// `Authorization: OSS id:signature`.
    V1Header { id: &'a str, signature: &'a str },
    /// `?OSSAccessKeyId=…&Expires=…&Signature=…`.
    V1Query {
        id: &'a str,
        expires: &'a str,
        signature: &'a str,
    },
    /// `Authorization: OSS4-HMAC-SHA256 …` or `?x-oss-signature-version=OSS4-HMAC-SHA256`.
    V4,
    /// No signature at all.
    Anonymous,
}

/// Picks the signature scheme a request uses.
pub(crate) fn scheme<'a>(req: &'a AuthRequest<'a>) -> Result<Scheme<'a>, OssError> {
    if let Some(auth) = req.header("authorization") {
        if let Some(rest) = auth.strip_prefix("OSS ") {
            let (id, signature) = rest.trim().rsplit_once(':').ok_or_else(|| {
                OssError::invalid_argument("Authorization header is invalid.")
                    .with("Authorization", auth)
            })?;
            return Ok(Scheme::V1Header { id, signature });
        }
        if auth.starts_with("OSS4-HMAC-SHA256") {
            return Ok(Scheme::V4);
        }
        return Err(
            OssError::invalid_argument("Authorization header is invalid.")
                .with("Authorization", auth),
        );
    }
    if req.query("x-oss-signature-version").is_some() {
        return Ok(Scheme::V4);
    }
    match (
        req.query("OSSAccessKeyId"),
        req.query("Expires"),
        req.query("Signature"),
    ) {
        (Some(id), Some(expires), Some(signature)) => Ok(Scheme::V1Query {
            id,
            expires,
            signature,
        }),
        (None, None, None) => Ok(Scheme::Anonymous),
        _ => Err(OssError::access_denied(
            "Authentication requires OSSAccessKeyId, Expires and Signature.",
        )),
    }
}

/// Checks the request's signature; `Ok` means it was made with the emulator's credentials.
pub(crate) fn authenticate(creds: &Creds, req: &AuthRequest<'_>) -> Result<(), OssError> {
    match scheme(req)? {
        Scheme::V1Header { id, signature } => {
            check_id(creds, id)?;
            check_token(creds, req.header("x-oss-security-token"))?;
            check_date(req)?;
            let date = v1::date_line(req.headers);
            check_v1(creds, req, &date, req.query, id, signature)
        }
        Scheme::V1Query {
            id,
            expires,
            signature,
        } => {
            check_id(creds, id)?;
            check_token(creds, req.query("security-token"))?;
            let expires_at: u64 = expires.trim().parse().map_err(|_| {
                OssError::access_denied("Invalid Expires parameter.").with("Expires", expires)
            })?;
            let now = crate::store::epoch_secs(req.now);
            if expires_at < now {
                return Err(OssError::access_denied("Request has expired.")
                    .with("Expires", iso8601(expires_at))
                    .with("ServerTime", iso8601(now)));
            }
            let signed: Vec<(String, String)> = req
                .query
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "OSSAccessKeyId" | "Expires" | "Signature"))
                .cloned()
                .collect();
            check_v1(creds, req, expires, &signed, id, signature)
        }
        Scheme::V4 => check_v4(creds, req),
        Scheme::Anonymous => Err(OssError::access_denied(
            "You have no right to access this object because of bucket acl.",
        )),
    }
}

fn check_id(creds: &Creds, id: &str) -> Result<(), OssError> {
    if id == creds.access_key_id {
        Ok(())
    } else {
        Err(OssError::new(
            403,
            "InvalidAccessKeyId",
            "The OSS Access Key Id you provided does not exist in our records.",
        )
        .with("OSSAccessKeyId", id))
    }
}

/// With STS configured, the token must be present and equal. OSS answers a
/// missing or wrong token with `InvalidAccessKeyId` ("The security token you
/// provided is invalid."), since temporary key ids exist only with their token.
fn check_token(creds: &Creds, token: Option<&str>) -> Result<(), OssError> {
    let Some(expected) = &creds.security_token else {
        return Ok(());
    };
    if token.is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes())) {
        Ok(())
    } else {
        Err(OssError::new(
            403,
            "InvalidAccessKeyId",
            "The security token you provided is invalid.",
        )
        .with("OSSAccessKeyId", &creds.access_key_id))
    }
}

fn check_date(req: &AuthRequest<'_>) -> Result<(), OssError> {
    let text = v1::date_line(req.headers);
    if text.is_empty() {
        return Err(OssError::access_denied("Missing Date header."));
    }
    let date = httpdate::parse_http_date(&text).map_err(|_| {
        OssError::access_denied("Invalid Date header.").with("RequestTime", text.clone())
    })?;
    let skew = match req.now.duration_since(date) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > MAX_SKEW {
        return Err(OssError::new(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        )
        .with("RequestTime", text)
        .with("ServerTime", httpdate::fmt_http_date(req.now)));
    }
    Ok(())
}

fn check_v1(
    creds: &Creds,
    req: &AuthRequest<'_>,
    date: &str,
    query: &[(String, String)],
    id: &str,
    signature: &str,
) -> Result<(), OssError> {
    let resource = v1::canonicalized_resource(req.bucket, req.key, query, &[]);
    let string_to_sign = v1::string_to_sign(req.method, req.headers, date, &resource);
    let expected = v1::signature(&creds.access_key_secret, &string_to_sign);
    if constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        Ok(())
    } else {
        Err(OssError::signature_mismatch(id, signature, string_to_sign))
    }
}

/// The longest lifetime of a V4 presigned URL.
const MAX_V4_EXPIRES: u64 = 7 * 24 * 3600;

/// Checks an `OSS4-HMAC-SHA256` signature (header or presigned URL) with the
/// core's canonical request and string to sign.
fn check_v4(creds: &Creds, req: &AuthRequest<'_>) -> Result<(), OssError> {
    let incoming = v4::IncomingSignature::from_request(req.headers, req.query)
        .map_err(OssError::invalid_argument)?
        .ok_or_else(|| OssError::access_denied("Missing V4 signature."))?;
    let id = incoming.credential.access_key_id.as_str();
    check_id(creds, id)?;
    if incoming.credential.product != v4::PRODUCT
        || !incoming.datetime.starts_with(&incoming.credential.date)
    {
        return Err(OssError::invalid_argument("Invalid credential scope.")
            .with("Credential", incoming.credential.scope()));
    }
    let signed_at = incoming.signed_at().ok_or_else(|| {
        OssError::access_denied("Invalid x-oss-date.")
            .with("RequestTime", incoming.datetime.clone())
    })?;
    let skew = match req.now.duration_since(signed_at) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    match incoming.carrier {
        v4::Carrier::Header => {
            check_token(creds, req.header("x-oss-security-token"))?;
            if skew > MAX_SKEW {
                return Err(too_skewed(&incoming.datetime, req.now));
            }
        }
        v4::Carrier::Query => {
            check_token(creds, req.query(v4::SECURITY_TOKEN_QUERY))?;
            let expires_in = incoming.expires_in.unwrap_or_default();
            if expires_in == 0 || expires_in > MAX_V4_EXPIRES {
                return Err(OssError::invalid_argument("Invalid x-oss-expires.")
                    .with("Expires", expires_in.to_string()));
            }
            if signed_at > req.now && skew > MAX_SKEW {
                return Err(too_skewed(&incoming.datetime, req.now));
            }
            if incoming.expires_at().is_none_or(|at| at < req.now) {
                return Err(OssError::access_denied("Request has expired.")
                    .with("ServerTime", httpdate::fmt_http_date(req.now)));
            }
        }
    }
    let check = incoming.check(
        req.method,
        req.bucket,
        req.key,
        req.query,
        req.headers,
        &creds.access_key_secret,
    );
    if constant_time_eq(check.expected.as_bytes(), incoming.signature.as_bytes()) {
        Ok(())
    } else {
        Err(
            OssError::signature_mismatch(id, &incoming.signature, check.string_to_sign)
                .with("CanonicalRequest", check.canonical_request),
        )
    }
}

fn too_skewed(request_time: &str, now: SystemTime) -> OssError {
    OssError::new(
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
    )
    .with("RequestTime", request_time.to_owned())
    .with("ServerTime", httpdate::fmt_http_date(now))
}

/// Compares without stopping at the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `2024-01-02T03:04:05.000Z` from seconds since the epoch.
pub(crate) fn iso8601(secs: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    osscb_core::post_policy::iso8601_millis(time).unwrap_or_default()
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
    fn scheme_detection() {
        let mut headers = HeaderMap::new();
        let query = vec![];
        let req = |h: &HeaderMap, q: &[(String, String)]| -> String {
            let r = AuthRequest {
                method: &Method::GET,
                headers: h,
                bucket: None,
                key: None,
                query: q,
                now: SystemTime::now(),
            };
            format!("{:?}", scheme(&r).map_err(|e| e.code))
        };
        assert_eq!(req(&headers, &query), "Ok(Anonymous)");
        headers.insert("authorization", http::HeaderValue::from_static("OSS a:b:c"));
        assert_eq!(
            req(&headers, &query),
            r#"Ok(V1Header { id: "a:b", signature: "c" })"#
        );
        headers.insert(
            "authorization",
            http::HeaderValue::from_static("OSS4-HMAC-SHA256 Credential=x"),
        );
        assert_eq!(req(&headers, &query), "Ok(V4)");
        headers.insert("authorization", http::HeaderValue::from_static("Bearer x"));
        assert_eq!(req(&headers, &query), r#"Err("InvalidArgument")"#);
        let q = vec![("Expires".to_owned(), "1".to_owned())];
        assert_eq!(req(&HeaderMap::new(), &q), r#"Err("AccessDenied")"#);
    }
}
