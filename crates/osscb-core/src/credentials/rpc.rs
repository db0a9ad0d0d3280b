//! Alibaba Cloud's RPC-style request signature (version 1.0), which STS
//! (`AssumeRole`) requires: the sorted, percent-encoded parameters, signed
//! with HMAC-SHA1 keyed by the AccessKey secret and `&`.
//!
//! The rule, from the official "Request signatures" page of the RPC API
//! documentation (and `ram_role_arn.go` of aliyun/credentials-go, which signs
//! AssumeRole this way):
//!
//! 1. Every parameter of the request but `Signature` — the common ones
//!    (`AccessKeyId`, `Format`, `SignatureMethod=HMAC-SHA1`,
//!    `SignatureNonce`, `SignatureVersion=1.0`, `Timestamp`, `Version`, …)
//!    and the action's own, whether they travel in the query or the form
//!    body — is percent-encoded per RFC 3986 (unreserved characters kept, so
//!    a space is `%20`, `*` is `%2A` and `~` stays), sorted by encoded name
//!    and joined as `name=value&…`.
//! 2. `StringToSign = METHOD & %2F & encode(that query)`.
//! 3. `Signature = base64(HMAC-SHA1(secret + "&", StringToSign))`.
//!
//! ```
//! use osscb_core::credentials::rpc;
//!
//! // The documentation's published example: key `testsecret`.
//! let params = [
//!     ("AccessKeyId", "testid"),
//!     ("Action", "DescribeRegions"),
//!     ("Format", "XML"),
//!     ("SignatureMethod", "HMAC-SHA1"),
//!     ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
//!     ("SignatureVersion", "1.0"),
//!     ("Timestamp", "2016-02-23T12:46:24Z"),
//!     ("Version", "2014-05-26"),
//! ];
//! let text = rpc::string_to_sign(&http::Method::GET, &params);
//! assert!(text.starts_with("GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions"));
//! assert_eq!(rpc::signature("testsecret", &text), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use percent_encoding::utf8_percent_encode;
use sha1::Sha1;

use crate::names::UNRESERVED;

/// The parameters as `name=value&…`: each percent-encoded per RFC 3986,
/// sorted by encoded name (then value), `Signature` left out.
pub(crate) fn canonical_query<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(name, _)| name.as_ref() != "Signature")
        .map(|(name, value)| (encode(name.as_ref()), encode(value.as_ref())))
        .collect();
    pairs.sort_unstable();
    let mut out = String::with_capacity(pairs.iter().map(|(n, v)| n.len() + v.len() + 2).sum());
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// `METHOD&%2F&encode(canonical query)`.
pub fn string_to_sign<K: AsRef<str>, V: AsRef<str>>(
    method: &http::Method,
    params: &[(K, V)],
) -> String {
    format!(
        "{}&%2F&{}",
        method.as_str(),
        encode(&canonical_query(params))
    )
}

/// `base64(HMAC-SHA1(secret + "&", string_to_sign))`.
pub fn signature(access_key_secret: &str, string_to_sign: &str) -> String {
    let mut key = Vec::with_capacity(access_key_secret.len() + 1);
    key.extend_from_slice(access_key_secret.as_bytes());
    key.push(b'&');
    let mut mac: Hmac<Sha1> = crate::sign::keys::keyed(&key);
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published example of the RPC signature documentation, whole.
    #[test]
    fn the_published_example_signs_as_documented() {
        let params = [
            ("Version", "2014-05-26"),
            ("AccessKeyId", "testid"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Action", "DescribeRegions"),
            ("SignatureVersion", "1.0"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("Format", "XML"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
        ];
        let text = string_to_sign(&http::Method::GET, &params);
        assert_eq!(
            text,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML\
             %26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf\
             %26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z\
             %26Version%3D2014-05-26"
        );
        assert_eq!(
            signature("testsecret", &text),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    #[test]
    fn values_encode_as_rfc_3986_and_the_signature_is_left_out() {
        let params = [
            ("RoleSessionName", "a b*c~d/é"),
            ("Signature", "ignored"),
            ("Action", "AssumeRole"),
        ];
        assert_eq!(
            canonical_query(&params),
            "Action=AssumeRole&RoleSessionName=a%20b%2Ac~d%2F%C3%A9"
        );
        assert_eq!(
            string_to_sign(&http::Method::POST, &params),
            "POST&%2F&Action%3DAssumeRole%26RoleSessionName%3Da%2520b%252Ac~d%252F%25C3%25A9"
        );
    }
}
