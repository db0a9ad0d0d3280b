//! OSS Signature V1: `Authorization: OSS <AccessKeyId>:<Signature>` and presigned URLs.
//!
//! ```text
//! Signature = base64(HMAC-SHA1(AccessKeySecret,
//!     VERB "\n" Content-MD5 "\n" Content-Type "\n" Date "\n"
//!     CanonicalizedOSSHeaders CanonicalizedResource))
//! ```
//! Every piece is a public function so tests (and the emulator, which checks
//! signatures) compare the string to sign before the signature.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use http::{HeaderMap, Method};
use sha1::Sha1;

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
pub fn is_sub_resource(name: &str) -> bool {
    SUB_RESOURCES.binary_search(&name).is_ok() || name.starts_with("x-oss-")
}

/// `/bucket/key?sub&resources`: the raw (not percent-encoded) key, `/bucket/`
/// for bucket-level requests, `/` with no bucket; then the signed query
/// parameters (sub-resources, plus `extra` names the caller chose) sorted by
/// name, `k=v` or bare `k` when the value is empty. Values are decoded.
pub fn canonicalized_resource(
    bucket: Option<&str>,
    key: Option<&str>,
    query: &[(String, String)],
    extra: &[String],
) -> String {
    let mut out = String::from("/");
    if let Some(bucket) = bucket {
        out.push_str(bucket);
        out.push('/');
        if let Some(key) = key {
            out.push_str(key);
        }
    }
    let mut signed: Vec<&(String, String)> = query
        .iter()
        .filter(|(k, _)| is_sub_resource(k) || extra.iter().any(|e| e == k))
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
    out
}

/// Every header whose name starts with `x-oss-`, sorted, as `name:value\n`
/// (values trimmed; repeated headers joined with `,`).
pub fn canonicalized_oss_headers(headers: &HeaderMap) -> String {
    let mut names: Vec<&str> = headers
        .keys()
        .map(http::HeaderName::as_str)
        .filter(|n| n.starts_with("x-oss-"))
        .collect();
    names.sort_unstable();
    super::canonical_header_lines(headers, &names)
}

/// The value of the Date line of a header signature: `x-oss-date` when present,
/// else `Date`, else empty.
pub fn date_line(headers: &HeaderMap) -> String {
    header_str(headers, "x-oss-date")
        .or_else(|| header_str(headers, "date"))
        .unwrap_or_default()
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
}

/// The V1 string to sign. `date` is [`date_line`] for header signatures and the
/// absolute `Expires` (epoch seconds) for presigned URLs; `resource` is
/// [`canonicalized_resource`].
pub fn string_to_sign(method: &Method, headers: &HeaderMap, date: &str, resource: &str) -> String {
    let md5 = header_str(headers, "content-md5").unwrap_or_default();
    let content_type = header_str(headers, "content-type").unwrap_or_default();
    format!(
        "{method}\n{md5}\n{content_type}\n{date}\n{}{resource}",
        canonicalized_oss_headers(headers)
    )
}

/// `base64(HMAC-SHA1(secret, string_to_sign))`.
pub fn signature(access_key_secret: &str, string_to_sign: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha1>>::new_from_slice(access_key_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Authorization` header value: `OSS <AccessKeyId>:<Signature>`.
pub fn authorization(access_key_id: &str, signature: &str) -> String {
    format!("OSS {access_key_id}:{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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

    /// PROTOCOL.md §1, vector V1-doc (OSS docs, "Add a signature to the header").
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
        let resource = canonicalized_resource(Some("oss-example"), Some("nelson"), &[], &[]);
        let sts = string_to_sign(&Method::PUT, &h, &date_line(&h), &resource);
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
        let resource = canonicalized_resource(Some("examplebucket"), Some("nelson"), &[], &[]);
        let sts = string_to_sign(&Method::PUT, &h, &date_line(&h), &resource);
        assert_eq!(
            sts,
            "PUT\neB5eJF1ptWaXm4bijSPyxw==\ntext/html\nWed, 28 Dec 2022 10:27:41 GMT\nx-oss-date:Wed, 28 Dec 2022 10:27:41 GMT\nx-oss-meta-author:alice\nx-oss-meta-magic:abracadabra\n/examplebucket/nelson"
        );
        assert_eq!(signature("sk", &sts), "kSHKmLxlyEAKtZPkJhG9bZb5k7M=");

        let query = [("acl".to_owned(), String::new())];
        let resource = canonicalized_resource(Some("examplebucket"), Some("nelson"), &query, &[]);
        assert_eq!(resource, "/examplebucket/nelson?acl");
        let sts = string_to_sign(&Method::PUT, &h, &date_line(&h), &resource);
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
        assert_eq!(canonicalized_resource(None, None, &[], &[]), "/");
        assert_eq!(
            canonicalized_resource(Some("b"), None, &q(&[("uploads", "")]), &[]),
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
                &["mine".to_owned()],
            ),
            "/b/a b/中+??mine=v&partNumber=2&uploadId=U1&x-oss-process=image/resize,w_10"
        );
    }
}
