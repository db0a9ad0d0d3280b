//! Request signatures: V1 (HMAC-SHA1) and V4 (`OSS4-HMAC-SHA256`), each in
//! one module that signs headers, presigns URLs and verifies what a server
//! receives ([`verify`]).
//!
//! # Which version is used
//! [`crate::Config`] carries the version: [`crate::Config::v1`] or
//! [`crate::Config::v4`]. The rule osscb follows (and the transports apply to
//! `OSS_REGION` and their `.region(..)` option): **V4 when a region is known,
//! V1 otherwise**. V4 needs the region because it is part of the
//! signing key; osscb never guesses it from the endpoint. [`crate::Config::v1`]
//! selects V1, which every OSS endpoint (and the classic SDKs) still accept.
//!
//! # What is public
//! [`crate::OssRequest::signing_strings`] shows the strings a signature is
//! computed from ([`crate::SigningStrings`]); [`v1::signature`]
//! signs a PostObject policy; [`verify`] checks an incoming request the way
//! OSS does (the emulator's authentication). The canonicalisation steps are
//! private.

use std::time::{Duration, SystemTime};

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use subtle::ConstantTimeEq as _;

use crate::request::SigningStrings;
use crate::{Credentials, Error};

pub(crate) mod keys;
pub mod v1;
pub(crate) mod v4;

use v4::Region;

/// The header that carries STS tokens in signed requests.
pub(crate) const SECURITY_TOKEN_HEADER: &str = "x-oss-security-token";

/// The largest difference OSS tolerates between a request's signing time and
/// its own clock: 15 minutes ("RequestTimeTooSkewed").
pub(crate) const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// Which signature algorithm requests carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum SignatureVersion {
    /// OSS Signature V1 (`Authorization: OSS id:signature`, HMAC-SHA1).
    #[default]
    V1,
    /// OSS Signature V4 (`Authorization: OSS4-HMAC-SHA256 Credential=…`,
    /// HMAC-SHA256 with a key derived for the date, the region and `oss`).
    V4 {
        /// The region the requests go to (`cn-hangzhou`); part of the scope.
        region: Region,
    },
}

impl SignatureVersion {
    /// The region, for V4.
    pub(crate) fn region(&self) -> Option<&Region> {
        match self {
            Self::V1 => None,
            Self::V4 { region } => Some(region),
        }
    }
}

/// A header signature's result: the headers to send (`Authorization`
/// included) and the strings it was computed from.
pub(crate) struct Signed {
    pub(crate) headers: HeaderMap,
    pub(crate) strings: SigningStrings,
}

/// Appends a header value as text, trimmed (bytes that are not UTF-8 are
/// replaced, as a server reading them as text would).
pub(crate) fn push_header_value(out: &mut String, value: &HeaderValue) {
    match std::str::from_utf8(value.as_bytes()) {
        Ok(text) => out.push_str(text.trim()),
        Err(_) => out.push_str(String::from_utf8_lossy(value.as_bytes()).trim()),
    }
}

/// Appends the value of the header `name` (trimmed), if there is one.
pub(crate) fn push_header(out: &mut String, headers: &HeaderMap, name: &HeaderName) {
    if let Some(value) = headers.get(name) {
        push_header_value(out, value);
    }
}

/// Appends `name:value\n` for each header in `names` (sorted, lowercase),
/// values trimmed and repeated headers joined with `,`: the header block of
/// both signature versions' canonical strings.
pub(crate) fn push_header_lines(out: &mut String, headers: &HeaderMap, names: &[&HeaderName]) {
    for name in names {
        out.push_str(name.as_str());
        out.push(':');
        for (i, value) in headers.get_all(*name).iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_header_value(out, value);
        }
        out.push('\n');
    }
}

/// A header value hidden from `Debug` (tokens, `Authorization`).
pub(crate) fn sensitive(name: &str, value: String) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::try_from(value).map_err(|_| Error::InvalidHeader {
        name: name.to_owned(),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Adds the STS token header when `credentials` carry one.
pub(crate) fn add_security_token(
    headers: &mut HeaderMap,
    credentials: &Credentials,
) -> Result<(), Error> {
    if let Some(token) = credentials.security_token() {
        headers.insert(
            HeaderName::from_static(SECURITY_TOKEN_HEADER),
            sensitive(SECURITY_TOKEN_HEADER, token.to_owned())?,
        );
    }
    Ok(())
}

/// Sets `Authorization`.
pub(crate) fn set_authorization(headers: &mut HeaderMap, value: String) -> Result<(), Error> {
    headers.insert(AUTHORIZATION, sensitive("authorization", value)?);
    Ok(())
}

/// Equal bytes, compared in constant time (signatures, tokens).
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A request as a server received it: what a signature covers.
#[derive(Clone, Copy, Debug)]
pub struct IncomingRequest<'a> {
    method: &'a Method,
    headers: &'a HeaderMap,
    bucket: Option<&'a str>,
    key: Option<&'a str>,
    query: &'a [(String, String)],
}

impl<'a> IncomingRequest<'a> {
    /// The method, the headers as received, the bucket and key the request
    /// addresses (decoded: the literal key), and every query parameter decoded,
    /// in the order received.
    pub fn new(
        method: &'a Method,
        headers: &'a HeaderMap,
        bucket: Option<&'a str>,
        key: Option<&'a str>,
        query: &'a [(String, String)],
    ) -> Self {
        Self {
            method,
            headers,
            bucket,
            key,
            query,
        }
    }

    fn param(&self, name: &str) -> Option<&'a str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why [`verify`] refused a request; each variant is the OSS error code the
/// service answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// 400 `InvalidArgument`: a malformed signature (the message says what).
    InvalidArgument(String),
    /// 403 `AccessDenied`: no signature, an incomplete one, a bad date, or an
    /// expired presigned URL (the message says which).
    AccessDenied(String),
    /// 403 `InvalidAccessKeyId`: the request names another AccessKey ID.
    InvalidAccessKeyId(String),
    /// 403 `InvalidAccessKeyId` ("The security token you provided is
    /// invalid."): the STS token is missing or wrong.
    InvalidSecurityToken,
    /// 403 `RequestTimeTooSkewed`: the signing time (as sent) is more than 15
    /// minutes away from the server's clock.
    RequestTimeTooSkewed(String),
    /// 403 `SignatureDoesNotMatch`, with the strings the server computed.
    SignatureDoesNotMatch {
        /// The AccessKey ID the request named.
        access_key_id: String,
        /// The signature it carried.
        signature: String,
        /// What the server signed.
        strings: SigningStrings,
    },
}

/// Checks an incoming request's signature — V1 or V4, in the `Authorization`
/// header or a presigned URL's query — against `credentials` at `now`, the way
/// OSS does: AccessKey ID, STS token, signing time (15 minutes of skew, or the
/// URL's expiry), then the signature itself, compared in constant time.
/// Returns the strings the signature was checked against.
///
/// # Errors
/// The first [`Rejection`] that applies.
pub fn verify(
    request: &IncomingRequest<'_>,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<SigningStrings, Rejection> {
    if let Some(authorization) = request.header("authorization") {
        if authorization.starts_with("OSS ") {
            return v1::verify_header(request, authorization, credentials, now);
        }
        if authorization.starts_with(v4::ALGORITHM) {
            return v4::verify(request, credentials, now);
        }
        return Err(Rejection::InvalidArgument(
            "Authorization header is invalid.".to_owned(),
        ));
    }
    if request.param(v4::SIGNATURE_VERSION_QUERY).is_some() {
        return v4::verify(request, credentials, now);
    }
    let v1_params = v1::PRESIGN_PARAMS.map(|name| request.param(name));
    if v1_params.iter().any(Option::is_some) {
        return v1::verify_query(request, credentials, now);
    }
    Err(Rejection::AccessDenied(
        "You have no right to access this object because of bucket acl.".to_owned(),
    ))
}

/// The AccessKey ID must be the one of `credentials`.
pub(crate) fn check_access_key_id(credentials: &Credentials, id: &str) -> Result<(), Rejection> {
    if id == credentials.access_key_id() {
        Ok(())
    } else {
        Err(Rejection::InvalidAccessKeyId(id.to_owned()))
    }
}

/// With STS credentials, the token must be present and equal. OSS answers a
/// missing or wrong token with `InvalidAccessKeyId`, since temporary key IDs
/// exist only with their token.
pub(crate) fn check_security_token(
    credentials: &Credentials,
    sent: Option<&str>,
) -> Result<(), Rejection> {
    match credentials.security_token() {
        None => Ok(()),
        Some(expected) if sent.is_some_and(|t| constant_time_eq(t, expected)) => Ok(()),
        Some(_) => Err(Rejection::InvalidSecurityToken),
    }
}

/// `signed_at` (sent as `text`) must be within [`MAX_SKEW`] of `now`.
pub(crate) fn check_skew(
    signed_at: SystemTime,
    text: &str,
    now: SystemTime,
) -> Result<(), Rejection> {
    let skew = match now.duration_since(signed_at) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > MAX_SKEW {
        return Err(Rejection::RequestTimeTooSkewed(text.to_owned()));
    }
    Ok(())
}

/// A recomputed signature against the one sent.
pub(crate) fn check_signature(
    access_key_id: &str,
    sent: &str,
    expected: &str,
    strings: SigningStrings,
) -> Result<SigningStrings, Rejection> {
    if constant_time_eq(expected, sent) {
        Ok(strings)
    } else {
        Err(Rejection::SignatureDoesNotMatch {
            access_key_id: access_key_id.to_owned(),
            signature: sent.to_owned(),
            strings,
        })
    }
}
