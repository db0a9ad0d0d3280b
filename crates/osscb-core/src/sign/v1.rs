//! OSS Signature V1: `Authorization: OSS <AccessKeyId>:<Signature>`, presigned
//! URLs (`OSSAccessKeyId`, `Expires`, `Signature`), and their verification.
//!
//! ```text
//! Signature = base64(HMAC-SHA1(AccessKeySecret,
//!     VERB "\n" Content-MD5 "\n" Content-Type "\n" Date "\n"
//!     CanonicalizedOSSHeaders CanonicalizedResource))
//! ```
//! `Date` is the `Date` header (or `x-oss-date`) for header signatures and the
//! absolute `Expires` (seconds since 1970) for presigned URLs. The
//! CanonicalizedResource names the **raw** key: `/bucket/a/../b` for the key
//! `a/../b`, however the URL path encodes it (oss2 `auth.py`
//! `ProviderAuth.__get_resource_string`: `'/' + bucket_name + '/' + key`).

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use http::header::{CONTENT_TYPE, DATE};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use sha1::Sha1;

use super::{IncomingRequest, Rejection, Signed};
use crate::request::SigningStrings;
use crate::{Bucket, Credentials, Error, ObjectKey, OssRequest, time};

/// Query parameters that are part of the signed resource. There is no single
/// official list; this is the union of `oss2`'s and Go SDK v2's lists (sorted
/// by byte value so lookups are a binary search). Any query key starting with
/// `x-oss-` is signed as well, as Go SDK v2 does. `encoding-type` is *not*
/// signed: oss2 sends it unsigned on ListObjects and ListParts against real
/// OSS, so OSS leaves it out of the resource.
pub const SUB_RESOURCES: &[&str] = &[
    "accessPoint",
    "accessPointPolicy",
    "acl",
    "append",
    "asyncFetch",
    "bucketArchiveDirectRead",
    "bucketInfo",
    "callback",
    "callback-var",
    "cloudboxes",
    "cname",
    "comp",
    "continuation-token",
    "cors",
    "delete",
    "encryption",
    "endTime",
    "group",
    "httpsConfig",
    "inventory",
    "inventoryId",
    "lifecycle",
    "link",
    "live",
    "location",
    "logging",
    "metaQuery",
    "objectInfo",
    "objectMeta",
    "partNumber",
    "policy",
    "position",
    "publicAccessBlock",
    "qos",
    "qosInfo",
    "qosRequester",
    "redundancyTransition",
    "referer",
    "regionList",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "requestPayment",
    "requesterQosInfo",
    "resourceGroup",
    "resourcePool",
    "resourcePoolBuckets",
    "resourcePoolInfo",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "security-token",
    "sequential",
    "startTime",
    "stat",
    "status",
    "style",
    "styleName",
    "symlink",
    "tagging",
    "transferAcceleration",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "vod",
    "website",
    "worm",
    "wormExtend",
    "wormId",
];

/// Whether the query parameter `name` is signed.
pub(crate) fn is_sub_resource(name: &str) -> bool {
    SUB_RESOURCES.binary_search(&name).is_ok() || name.starts_with("x-oss-")
}

/// What a CanonicalizedResource names: the bucket, the raw key, and the query
/// (only its sub-resources are signed).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resource<'a> {
    pub(crate) bucket: Option<&'a str>,
    pub(crate) key: Option<&'a str>,
    pub(crate) query: &'a [(String, String)],
}

impl<'a> Resource<'a> {
    /// The resource of `request`, with `query` in place of its own.
    fn of<B>(request: &'a OssRequest<B>, query: &'a [(String, String)]) -> Self {
        Resource {
            bucket: request.bucket.as_ref().map(Bucket::as_str),
            key: request.key.as_ref().map(ObjectKey::as_str),
            query,
        }
    }

    /// Appends `/bucket/key?sub&resources`: the raw (not percent-encoded)
    /// key, `/bucket/` for bucket-level requests, `/` with no bucket; then the
    /// signed query parameters (sub-resources) sorted by name, `k=v` or bare
    /// `k` when the value is empty. Values are decoded.
    pub(crate) fn push_to(&self, out: &mut String) {
        out.push('/');
        if let Some(bucket) = self.bucket {
            out.push_str(bucket);
            out.push('/');
            if let Some(key) = self.key {
                out.push_str(key);
            }
        }
        let mut signed: Vec<&(String, String)> = self
            .query
            .iter()
            .filter(|(k, _)| is_sub_resource(k))
            .collect();
        signed.sort_by(|a, b| a.0.cmp(&b.0));
        for (i, (k, v)) in signed.into_iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(k);
            if !v.is_empty() {
                out.push('=');
                out.push_str(v);
            }
        }
    }
}

/// Appends every header whose name starts with `x-oss-`, sorted, as
/// `name:value\n` (values trimmed; repeated headers joined with `,`).
fn push_oss_headers(out: &mut String, headers: &HeaderMap) {
    let mut names: Vec<&HeaderName> = Vec::with_capacity(headers.keys_len());
    names.extend(headers.keys().filter(|n| n.as_str().starts_with("x-oss-")));
    names.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    super::push_header_lines(out, headers, &names);
}

/// The value of the Date line of a header signature: `x-oss-date` when present,
/// else `Date`, else empty.
pub(crate) fn date_line(headers: &HeaderMap) -> Cow<'_, str> {
    let value = headers
        .get(HeaderName::from_static(super::v4::DATE_HEADER))
        .or_else(|| headers.get(DATE));
    match value.map(|v| String::from_utf8_lossy(v.as_bytes())) {
        Some(Cow::Borrowed(text)) => Cow::Borrowed(text.trim()),
        Some(Cow::Owned(text)) => Cow::Owned(text.trim().to_owned()),
        None => Cow::Borrowed(""),
    }
}

/// The V1 string to sign. `date` is [`date_line`] for header signatures and the
/// absolute `Expires` (epoch seconds) for presigned URLs.
pub(crate) fn string_to_sign(
    method: &Method,
    headers: &HeaderMap,
    date: &str,
    resource: Resource<'_>,
) -> String {
    // Room for a callback header, so the buffer is allocated once.
    let mut out = String::with_capacity(1024);
    out.push_str(method.as_str());
    out.push('\n');
    super::push_header(&mut out, headers, &HeaderName::from_static("content-md5"));
    out.push('\n');
    super::push_header(&mut out, headers, &CONTENT_TYPE);
    out.push('\n');
    out.push_str(date);
    out.push('\n');
    push_oss_headers(&mut out, headers);
    resource.push_to(&mut out);
    out
}

/// `base64(HMAC-SHA1(secret, string_to_sign))`.
pub fn signature(access_key_secret: &str, string_to_sign: &str) -> String {
    let mut mac = <Hmac<Sha1>>::new_from_slice(access_key_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// [`signature`] with the HMAC keyed once per `credentials`.
fn signature_with(credentials: &Credentials, string_to_sign: &str) -> String {
    let mut mac = credentials.keys().v1(credentials.access_key_secret());
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Authorization` header value: `OSS <AccessKeyId>:<Signature>`.
pub(crate) fn authorization(access_key_id: &str, signature: &str) -> String {
    let mut out = String::with_capacity(5 + access_key_id.len() + signature.len());
    out.push_str("OSS ");
    out.push_str(access_key_id);
    out.push(':');
    out.push_str(signature);
    out
}

/// The query parameters of a presigned URL, in the order they are checked:
/// AccessKey ID, expiry, signature.
pub(crate) const PRESIGN_PARAMS: [&str; 3] = ["OSSAccessKeyId", "Expires", "Signature"];

/// The STS token's query parameter in a V1 presigned URL (a sub-resource).
const SECURITY_TOKEN_QUERY: &str = "security-token";

/// Signs `request` at `now` with `headers` (the request's own, taken to be
/// sent): adds `Date`, the STS token and `Authorization`.
pub(crate) fn sign<B>(
    request: &OssRequest<B>,
    mut headers: HeaderMap,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<Signed, Error> {
    let date = HeaderValue::try_from(time::http_date(now)?)
        .map_err(|_| Error::InvalidArgument(format!("cannot format {now:?} as an HTTP date")))?;
    headers.insert(DATE, date);
    super::add_security_token(&mut headers, credentials)?;
    let string_to_sign = string_to_sign(
        &request.method,
        &headers,
        &date_line(&headers),
        Resource::of(request, &request.query),
    );
    let signature = signature_with(credentials, &string_to_sign);
    super::set_authorization(
        &mut headers,
        authorization(credentials.access_key_id(), &signature),
    )?;
    Ok(Signed {
        headers,
        strings: SigningStrings {
            canonical_request: None,
            string_to_sign,
        },
    })
}

/// Presigns `request` (whose headers are those the URL's user must send) at
/// `now` for `expires_in`: returns the full query (the STS token as the signed
/// sub-resource `security-token`, then `Expires`, `OSSAccessKeyId`,
/// `Signature`) and the expiry.
pub(crate) fn presign<B>(
    request: &OssRequest<B>,
    credentials: &Credentials,
    now: SystemTime,
    expires_in: Duration,
) -> Result<(Vec<(String, String)>, SystemTime), Error> {
    let expires = now
        .checked_add(expires_in)
        .ok_or(Error::InvalidExpiry(expires_in))?;
    let epoch = time::epoch_seconds(expires)
        .map_err(|_| Error::InvalidExpiry(expires_in))?
        .to_string();
    let mut query = request.query.clone();
    if let Some(token) = credentials.security_token() {
        query.push((SECURITY_TOKEN_QUERY.to_owned(), token.to_owned()));
    }
    let string_to_sign = string_to_sign(
        &request.method,
        &request.headers,
        &epoch,
        Resource::of(request, &query),
    );
    let signature = signature_with(credentials, &string_to_sign);
    let [id_param, expires_param, signature_param] = PRESIGN_PARAMS;
    query.push((expires_param.to_owned(), epoch));
    query.push((id_param.to_owned(), credentials.access_key_id().to_owned()));
    query.push((signature_param.to_owned(), signature));
    Ok((query, expires))
}

/// Verifies `Authorization: OSS <id>:<signature>` (see [`super::verify`]).
pub(crate) fn verify_header(
    request: &IncomingRequest<'_>,
    authorization: &str,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<SigningStrings, Rejection> {
    let (id, sent) = authorization
        .strip_prefix("OSS ")
        .and_then(|rest| rest.trim().rsplit_once(':'))
        .ok_or_else(|| Rejection::InvalidArgument("Authorization header is invalid.".to_owned()))?;
    super::check_access_key_id(credentials, id)?;
    super::check_security_token(credentials, request.header(super::SECURITY_TOKEN_HEADER))?;
    let date = date_line(request.headers);
    if date.is_empty() {
        return Err(Rejection::AccessDenied("Missing Date header.".to_owned()));
    }
    let signed_at = time::parse_http_date(&date)
        .ok_or_else(|| Rejection::AccessDenied("Invalid Date header.".to_owned()))?;
    super::check_skew(signed_at, &date, now)?;
    check(request, credentials, &date, request.query, id, sent)
}

/// Verifies a presigned URL's `OSSAccessKeyId`, `Expires` and `Signature`
/// (see [`super::verify`]).
pub(crate) fn verify_query(
    request: &IncomingRequest<'_>,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<SigningStrings, Rejection> {
    let [Some(id), Some(expires), Some(sent)] = PRESIGN_PARAMS.map(|name| request.param(name))
    else {
        return Err(Rejection::AccessDenied(
            "Authentication requires OSSAccessKeyId, Expires and Signature.".to_owned(),
        ));
    };
    super::check_access_key_id(credentials, id)?;
    super::check_security_token(credentials, request.param(SECURITY_TOKEN_QUERY))?;
    let expires_at: u64 = expires
        .trim()
        .parse()
        .map_err(|_| Rejection::AccessDenied("Invalid Expires parameter.".to_owned()))?;
    if time::epoch_seconds(now).is_ok_and(|now| expires_at < now) {
        return Err(Rejection::AccessDenied("Request has expired.".to_owned()));
    }
    let signed: Vec<(String, String)> = request
        .query
        .iter()
        .filter(|(k, _)| !PRESIGN_PARAMS.contains(&k.as_str()))
        .cloned()
        .collect();
    check(request, credentials, expires, &signed, id, sent)
}

fn check(
    request: &IncomingRequest<'_>,
    credentials: &Credentials,
    date: &str,
    query: &[(String, String)],
    id: &str,
    sent: &str,
) -> Result<SigningStrings, Rejection> {
    let resource = Resource {
        bucket: request.bucket,
        key: request.key,
        query,
    };
    let string_to_sign = string_to_sign(request.method, request.headers, date, resource);
    let expected = signature(credentials.access_key_secret(), &string_to_sign);
    super::check_signature(
        id,
        sent,
        &expected,
        SigningStrings {
            canonical_request: None,
            string_to_sign,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn res<'a>(
        bucket: Option<&'a str>,
        key: Option<&'a str>,
        query: &'a [(String, String)],
    ) -> Resource<'a> {
        Resource { bucket, key, query }
    }

    fn canonicalized_resource(
        bucket: Option<&str>,
        key: Option<&str>,
        query: &[(String, String)],
    ) -> String {
        let mut out = String::new();
        res(bucket, key, query).push_to(&mut out);
        out
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                *k,
                HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        map
    }

    /// The OSS documentation's "Add a signature to the header" example.
    #[test]
    fn v1_doc_vector() {
        let h = headers(&[
            (
                "content-md5",
                "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=",
            ),
            ("content-type", "text/html"),
            ("date", "Thu, 17 Nov 2005 18:49:58 GMT"),
            ("x-oss-meta-author", "foo@bar.com"),
            ("x-oss-magic", "abracadabra"),
        ]);
        let resource = res(Some("oss-example"), Some("nelson"), &[]);
        let sts = string_to_sign(&Method::PUT, &h, &date_line(&h), resource);
        assert_eq!(
            sts,
            "PUT\nODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\ntext/html\nThu, 17 Nov 2005 18:49:58 GMT\nx-oss-magic:abracadabra\nx-oss-meta-author:foo@bar.com\n/oss-example/nelson"
        );
        let sig = signature("OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV", &sts);
        assert_eq!(
            authorization("44CF9590006BF252F707", &sig),
            "OSS 44CF9590006BF252F707:26NBxoKdsyly4EDv6inkoDft/yA="
        );
    }

    /// Go SDK v1/v2 and Python SDK v2 unit tests: x-oss-date wins over Date.
    #[test]
    fn v1_sdk_vectors() {
        let h = headers(&[
            ("content-md5", "eB5eJF1ptWaXm4bijSPyxw=="),
            ("content-type", "text/html"),
            ("x-oss-meta-author", "alice"),
            ("x-oss-meta-magic", "abracadabra"),
            ("x-oss-date", "Wed, 28 Dec 2022 10:27:41 GMT"),
            ("date", "Thu, 01 Jan 1970 00:00:00 GMT"),
        ]);
        let resource = res(Some("examplebucket"), Some("nelson"), &[]);
        let sts = string_to_sign(&Method::PUT, &h, &date_line(&h), resource);
        assert_eq!(
            sts,
            "PUT\neB5eJF1ptWaXm4bijSPyxw==\ntext/html\nWed, 28 Dec 2022 10:27:41 GMT\nx-oss-date:Wed, 28 Dec 2022 10:27:41 GMT\nx-oss-meta-author:alice\nx-oss-meta-magic:abracadabra\n/examplebucket/nelson"
        );
        assert_eq!(signature("sk", &sts), "kSHKmLxlyEAKtZPkJhG9bZb5k7M=");

        let query = [("acl".to_owned(), String::new())];
        let resource = res(Some("examplebucket"), Some("nelson"), &query);
        assert_eq!(
            canonicalized_resource(Some("examplebucket"), Some("nelson"), &query),
            "/examplebucket/nelson?acl"
        );
        let sts = string_to_sign(&Method::PUT, &h, &date_line(&h), resource);
        assert!(sts.ends_with("x-oss-meta-magic:abracadabra\n/examplebucket/nelson?acl"));
        assert_eq!(signature("sk", &sts), "/afkugFbmWDQ967j1vr6zygBLQk=");
    }

    #[test]
    fn sub_resource_list_is_sorted_and_follows_the_sdks() {
        assert!(SUB_RESOURCES.windows(2).all(|w| w[0] < w[1]));
        for name in [
            "acl",
            "uploads",
            "callback-var",
            "x-oss-process",
            "x-oss-anything",
            "regionList",
            "cloudboxes",
        ] {
            assert!(is_sub_resource(name), "{name}");
        }
        for name in [
            "encoding-type",
            "max-keys",
            "prefix",
            "marker",
            "Expires",
            "Signature",
        ] {
            assert!(!is_sub_resource(name), "{name}");
        }
    }

    #[test]
    fn resource_rules() {
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(canonicalized_resource(None, None, &[]), "/");
        assert_eq!(
            canonicalized_resource(Some("b"), None, &q(&[("uploads", "")])),
            "/b/?uploads"
        );
        assert_eq!(
            canonicalized_resource(
                Some("b"),
                Some("a b/中+?"),
                &q(&[
                    ("uploadId", "U1"),
                    ("partNumber", "2"),
                    ("max-keys", "10"),
                    ("x-oss-process", "image/resize,w_10"),
                    ("mine", "v"),
                ]),
            ),
            "/b/a b/中+??partNumber=2&uploadId=U1&x-oss-process=image/resize,w_10"
        );
    }
}
