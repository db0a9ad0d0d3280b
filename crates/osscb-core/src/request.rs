//! An operation's request before signing, and the request types signing
//! produces. The signatures themselves live in [`crate::sign`]: one module per
//! version signs headers, presigns URLs and verifies.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::Region;
use crate::callback::{CALLBACK_HEADER, CALLBACK_QUERY, CALLBACK_VAR_HEADER, CALLBACK_VAR_QUERY};
use crate::sign::{SignatureVersion, Signed, v1, v4};
use crate::{Bucket, Credentials, Endpoint, Error, ObjectKey};

/// The longest validity of a presigned URL: seven days, V4's limit (OSS does
/// not bound V1's; osscb caps it the same).
pub(crate) const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where requests go and how they are signed: everything but the operation,
/// the credentials and the time.
///
/// The default rule for the signature version is **V4 when a region is known,
/// V1 otherwise**: the transports apply it to `OSS_REGION` and their
/// `.region(..)` option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The endpoint and its addressing style.
    pub(crate) endpoint: Endpoint,
    /// The signature algorithm.
    pub(crate) signature_version: SignatureVersion,
    /// V4 only: names of headers to sign besides the ones V4 always signs
    /// (`x-oss-*`, `Content-Type`, `Content-MD5`), such as
    /// `content-disposition`. Names absent from a request are skipped, except
    /// `host`, which is signed with the host of the request's URI.
    pub(crate) additional_headers: Vec<String>,
}

impl Config {
    /// V1 signatures against `endpoint`.
    pub fn v1(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            signature_version: SignatureVersion::V1,
            additional_headers: Vec::new(),
        }
    }

    /// V4 signatures for `region` against `endpoint`.
    pub fn v4(endpoint: Endpoint, region: Region) -> Self {
        Self {
            endpoint,
            signature_version: SignatureVersion::V4 { region },
            additional_headers: Vec::new(),
        }
    }

    /// The default choice: V4 when the region is known, V1 otherwise.
    pub(crate) fn for_region(endpoint: Endpoint, region: Option<Region>) -> Self {
        match region {
            Some(region) => Self::v4(endpoint, region),
            None => Self::v1(endpoint),
        }
    }

    /// The same configuration, also signing these headers under V4 besides
    /// the ones V4 always signs (`x-oss-*`, `Content-Type`, `Content-MD5`),
    /// such as `content-disposition`. Names absent from a request are
    /// skipped, except `host`, which is signed with the host of the request's
    /// URI. Ignored by V1.
    #[must_use]
    pub fn with_additional_headers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.additional_headers
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// The region, when signing with V4.
    pub fn region(&self) -> Option<&Region> {
        self.signature_version.region()
    }
}

/// The strings a signature is computed from, for debugging and for tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningStrings {
    /// V4 only: the canonical request.
    pub canonical_request: Option<String>,
    /// The string to sign.
    pub string_to_sign: String,
}

/// An OSS request before signing: method, resource, query, headers and body.
///
/// Operations build these; [`OssRequest::sign`] turns one into an
/// `http::Request<B>` and [`OssRequest::presign`] into a URL. The body is
/// generic so a transport can stream a file; the signature never reads it.
#[derive(Clone, Debug)]
pub struct OssRequest<B> {
    /// HTTP method.
    pub(crate) method: Method,
    /// The bucket, if the request is bucket- or object-level.
    pub(crate) bucket: Option<Bucket>,
    /// The object key, for object-level requests.
    pub(crate) key: Option<ObjectKey>,
    /// Query parameters, decoded; an empty value is written as a bare key.
    pub(crate) query: Vec<(String, String)>,
    /// Headers to send and sign (`x-oss-*`, `Content-Type`, `Content-MD5`, …).
    pub(crate) headers: HeaderMap,
    /// The body.
    pub(crate) body: B,
}

/// A presigned request: the URL, and the headers the final request must send
/// with exactly these values because they were signed (`Content-Type`,
/// `x-oss-*`, …). `Debug` hides the STS token the URL may carry.
#[derive(Clone)]
pub struct PresignedRequest {
    /// HTTP method the URL was signed for.
    pub method: Method,
    /// The presigned URL.
    pub url: http::Uri,
    /// Headers the request must carry.
    pub headers: HeaderMap,
    /// When the URL stops working.
    pub expires: SystemTime,
}

impl std::fmt::Debug for PresignedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresignedRequest")
            .field("method", &self.method)
            .field("url", &redact_tokens(&self.url.to_string()))
            .field("headers", &self.headers)
            .field("expires", &self.expires)
            .finish()
    }
}

/// `url` with the values of its STS token query parameters replaced.
pub(crate) fn redact_tokens(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k == "security-token" || k == "x-oss-security-token" => {
                format!("{k}=<redacted>")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

impl<B> OssRequest<B> {
    /// A request for `method` on an object (or on the bucket when `key` is `None`).
    pub fn new(method: Method, bucket: Bucket, key: Option<ObjectKey>, body: B) -> Self {
        Self {
            method,
            bucket: Some(bucket),
            key,
            query: Vec::new(),
            // Room for the usual headers and those signing adds, so the map
            // is allocated once.
            headers: HeaderMap::with_capacity(16),
            body,
        }
    }

    /// A service-level request (ListBuckets): no bucket, no key, signed
    /// against the resource `/`.
    pub fn service(method: Method, body: B) -> Self {
        Self {
            method,
            bucket: None,
            key: None,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body,
        }
    }

    /// Adds a query parameter.
    #[must_use]
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Sets a header from text, checking that it is a valid header value:
    /// ASCII without control characters (other bytes have no agreed meaning
    /// in a header; the emulator, like a proxy may, would drop them).
    ///
    /// # Errors
    /// [`Error::InvalidHeader`] if the name or value cannot travel in a header.
    pub fn set_header_str(&mut self, name: &str, value: &str) -> Result<(), Error> {
        let name = HeaderName::try_from(name).map_err(|_| Error::InvalidHeader {
            name: name.to_owned(),
        })?;
        self.set_header(name, value)
    }

    /// [`OssRequest::set_header_str`] for a name known to be valid.
    pub(crate) fn set_header(&mut self, name: HeaderName, value: &str) -> Result<(), Error> {
        if !value.is_ascii() {
            return Err(Error::InvalidHeader {
                name: name.as_str().to_owned(),
            });
        }
        let value = HeaderValue::from_str(value).map_err(|_| Error::InvalidHeader {
            name: name.as_str().to_owned(),
        })?;
        self.headers.insert(name, value);
        Ok(())
    }

    /// Replaces the body, keeping everything else.
    pub fn map_body<C>(self, f: impl FnOnce(B) -> C) -> OssRequest<C> {
        OssRequest {
            method: self.method,
            bucket: self.bucket,
            key: self.key,
            query: self.query,
            headers: self.headers,
            body: f(self.body),
        }
    }

    /// The headers of a header signature at `now`, `Authorization` included,
    /// and the strings behind it.
    /// `headers` are the request's own, given separately so that
    /// [`OssRequest::sign`] can move them instead of copying them.
    fn signed(
        &self,
        headers: HeaderMap,
        config: &Config,
        credentials: &Credentials,
        now: SystemTime,
    ) -> Result<Signed, Error> {
        match &config.signature_version {
            SignatureVersion::V1 => v1::sign(self, headers, credentials, now),
            SignatureVersion::V4 { region } => {
                v4::sign(self, headers, config, region, credentials, now)
            }
        }
    }

    /// The strings the signature of [`OssRequest::sign`] at `now` is computed
    /// from, for the signature version `config` selects.
    ///
    /// # Errors
    /// As [`OssRequest::sign`].
    pub fn signing_strings(
        &self,
        config: &Config,
        credentials: &Credentials,
        now: SystemTime,
    ) -> Result<SigningStrings, Error> {
        Ok(self
            .signed(self.headers.clone(), config, credentials, now)?
            .strings)
    }

    /// Signs the request at `now` with the signature version `config` selects
    /// and builds the `http::Request`.
    ///
    /// # Errors
    /// [`Error::InvalidHeader`] if the STS token cannot travel in a header;
    /// [`Error::InvalidArgument`] for a time before 1970 or after 9999.
    pub fn sign(
        mut self,
        config: &Config,
        credentials: &Credentials,
        now: SystemTime,
    ) -> Result<http::Request<B>, Error> {
        let own = std::mem::take(&mut self.headers);
        let headers = self.signed(own, config, credentials, now)?.headers;
        let url = config
            .endpoint
            .url(self.bucket.as_ref(), self.key.as_ref(), &self.query)?;
        let mut request = http::Request::new(self.body);
        *request.method_mut() = self.method;
        *request.uri_mut() = url;
        *request.headers_mut() = headers;
        Ok(request)
    }

    /// A presigned URL valid from `now` for `expires_in` (1 s to 7 days). The
    /// returned headers must be sent with the request.
    ///
    /// # Errors
    /// [`Error::InvalidExpiry`] outside that range.
    pub fn presign(
        &self,
        config: &Config,
        credentials: &Credentials,
        now: SystemTime,
        expires_in: Duration,
    ) -> Result<PresignedRequest, Error> {
        if expires_in < Duration::from_secs(1) || expires_in > MAX_PRESIGN_EXPIRY {
            return Err(Error::InvalidExpiry(expires_in));
        }
        let mut unsigned = OssRequest {
            method: self.method.clone(),
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            body: (),
        };
        // Presigned URLs carry a callback in the query, where it is a signed sub-resource.
        for (header, param) in [
            (CALLBACK_HEADER, CALLBACK_QUERY),
            (CALLBACK_VAR_HEADER, CALLBACK_VAR_QUERY),
        ] {
            if let Some(value) = unsigned.headers.remove(header) {
                let value = match value.to_str() {
                    Ok(text) => text.to_owned(),
                    Err(_) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
                };
                unsigned.query.push((param.to_owned(), value));
            }
        }
        // A transport sets Content-Length from the body; V4 signs it only
        // when asked to (an additional header), binding the upload's size.
        let sign_length = matches!(config.signature_version, SignatureVersion::V4 { .. })
            && config
                .additional_headers
                .iter()
                .any(|name| name.trim().eq_ignore_ascii_case("content-length"));
        if !sign_length {
            unsigned.headers.remove(http::header::CONTENT_LENGTH);
        }
        let (query, expires) = match &config.signature_version {
            SignatureVersion::V1 => v1::presign(&unsigned, credentials, now, expires_in)?,
            SignatureVersion::V4 { region } => {
                v4::presign(&unsigned, config, region, credentials, now, expires_in)?
            }
        };
        let url = config
            .endpoint
            .url(self.bucket.as_ref(), self.key.as_ref(), &query)?;
        Ok(PresignedRequest {
            method: unsigned.method,
            url,
            headers: unsigned.headers,
            expires,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::names::encode_query_component;

    /// The V1 presign vector of the Go SDK v1/v2 and Python SDK v2 tests.
    #[test]
    fn v1_presign_vector() {
        let config = Config::v1(
            Endpoint::parse("http://oss-cn-hangzhou.aliyuncs.com")
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let request = OssRequest::new(
            Method::GET,
            Bucket::new("bucket").unwrap_or_else(|e| panic!("{e}")),
            Some(ObjectKey::new("key").unwrap_or_else(|e| panic!("{e}"))),
            (),
        )
        .query("versionId", "versionId");
        let expires = UNIX_EPOCH + Duration::from_secs(1_699_807_420);
        let now = expires - Duration::from_secs(900);
        let resource = v1::Resource {
            bucket: Some("bucket"),
            key: Some("key"),
            query: &request.query,
        };
        let sts = v1::string_to_sign(&request.method, &request.headers, "1699807420", resource);
        assert_eq!(sts, "GET\n\n\n1699807420\n/bucket/key?versionId=versionId");
        let credentials = Credentials::new("ak", "sk");
        let presigned = request
            .presign(&config, &credentials, now, Duration::from_secs(900))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            presigned.url.to_string(),
            "http://bucket.oss-cn-hangzhou.aliyuncs.com/key?Expires=1699807420&OSSAccessKeyId=ak&Signature=dcLTea%2BYh9ApirQ8o8dOPqtvJXQ%3D&versionId=versionId"
        );
        assert_eq!(presigned.expires, expires);
    }

    /// A property test against the emulator sent `?acl&=`: a parameter
    /// without a name, which each side signed differently. It is refused
    /// before anything is signed into a URL, signed or presigned, V1 or V4.
    #[test]
    fn a_query_parameter_without_a_name_is_refused() {
        let endpoint = Endpoint::parse("http://127.0.0.1:9000").unwrap_or_else(|e| panic!("{e}"));
        let region = crate::Region::new("cn-hangzhou").unwrap_or_else(|e| panic!("{e}"));
        let credentials = Credentials::new("ak", "sk");
        let now = UNIX_EPOCH + Duration::from_secs(1_699_807_420);
        for config in [Config::v1(endpoint.clone()), Config::v4(endpoint, region)] {
            let request = || {
                OssRequest::new(
                    Method::GET,
                    Bucket::new("bucket").unwrap_or_else(|e| panic!("{e}")),
                    Some(ObjectKey::new("key").unwrap_or_else(|e| panic!("{e}"))),
                    (),
                )
                .query("acl", "")
                .query("", "")
            };
            let signed = request().sign(&config, &credentials, now);
            let presigned = request().presign(&config, &credentials, now, Duration::from_secs(60));
            for error in [signed.map(drop), presigned.map(drop)] {
                assert!(
                    matches!(&error, Err(Error::InvalidArgument(m)) if m == "a query parameter needs a name"),
                    "{error:?}"
                );
            }
        }
    }

    #[test]
    fn presign_with_sts_signs_the_token_as_a_sub_resource() {
        let config =
            Config::v1(Endpoint::parse("http://127.0.0.1:9000").unwrap_or_else(|e| panic!("{e}")));
        let request = OssRequest::new(
            Method::GET,
            Bucket::new("bucket").unwrap_or_else(|e| panic!("{e}")),
            Some(ObjectKey::new("key").unwrap_or_else(|e| panic!("{e}"))),
            (),
        );
        let expires = UNIX_EPOCH + Duration::from_secs(1_699_807_420);
        let credentials = Credentials::new("ak", "sk").with_security_token("tok+en");
        let presigned = request
            .presign(
                &config,
                &credentials,
                expires - Duration::from_secs(60),
                Duration::from_secs(60),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let sig = v1::signature(
            "sk",
            "GET\n\n\n1699807420\n/bucket/key?security-token=tok+en",
        );
        assert_eq!(
            presigned.url.to_string(),
            format!(
                "http://127.0.0.1:9000/bucket/key?Expires=1699807420&OSSAccessKeyId=ak&Signature={}&security-token=tok%2Ben",
                encode_query_component(&sig)
            )
        );
    }

    #[test]
    fn tokens_never_show_in_debug_and_bad_times_are_errors() {
        let config = Config::v1(Endpoint::parse("http://127.0.0.1:9000").unwrap());
        let credentials = Credentials::new("ak", "sk").with_security_token("SECRET-TOKEN");
        let request = || {
            OssRequest::new(
                Method::GET,
                Bucket::new("bucket").unwrap(),
                Some(ObjectKey::new("key").unwrap()),
                (),
            )
        };
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let signed = request().sign(&config, &credentials, now).unwrap();
        assert_eq!(signed.headers()["x-oss-security-token"], "SECRET-TOKEN");
        let presigned = request()
            .presign(&config, &credentials, now, Duration::from_secs(60))
            .unwrap();
        assert!(
            presigned
                .url
                .to_string()
                .contains("security-token=SECRET-TOKEN")
        );
        for version in [
            SignatureVersion::V1,
            SignatureVersion::V4 {
                region: Region::new("cn-hangzhou").unwrap(),
            },
        ] {
            let config = Config {
                signature_version: version,
                ..config.clone()
            };
            let signed = request().sign(&config, &credentials, now).unwrap();
            let presigned = request()
                .presign(&config, &credentials, now, Duration::from_secs(60))
                .unwrap();
            for text in [format!("{signed:?}"), format!("{presigned:?}")] {
                assert!(!text.contains("SECRET-TOKEN"), "{text}");
            }
            for bad in [
                UNIX_EPOCH - Duration::from_secs(1),
                UNIX_EPOCH + Duration::from_secs(253_402_300_800),
            ] {
                assert!(
                    matches!(
                        request().sign(&config, &credentials, bad),
                        Err(Error::InvalidArgument(_))
                    ),
                    "{bad:?}"
                );
                assert!(
                    request()
                        .signing_strings(&config, &credentials, bad)
                        .is_err()
                );
            }
        }
        assert!(matches!(
            request().signing_strings(&config, &credentials, UNIX_EPOCH - Duration::from_secs(1)),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(
            redact_tokens("http://h/k?a=1&security-token=t&x-oss-security-token=u"),
            "http://h/k?a=1&security-token=<redacted>&x-oss-security-token=<redacted>"
        );
    }

    #[test]
    fn header_signing_adds_date_token_and_authorization() {
        let config = Config::v1(
            Endpoint::parse("oss-cn-hangzhou.aliyuncs.com").unwrap_or_else(|e| panic!("{e}")),
        );
        let now = UNIX_EPOCH + Duration::from_secs(1_672_223_261); // Wed, 28 Dec 2022 10:27:41 GMT
        let mut request = OssRequest::new(
            Method::PUT,
            Bucket::new("examplebucket").unwrap_or_else(|e| panic!("{e}")),
            Some(ObjectKey::new("nelson").unwrap_or_else(|e| panic!("{e}"))),
            "body",
        );
        request
            .set_header_str("content-type", "text/html")
            .unwrap_or_else(|e| panic!("{e}"));
        let credentials = Credentials::new("ak", "sk").with_security_token("token");
        let sts = request
            .signing_strings(&config, &credentials, now)
            .unwrap()
            .string_to_sign;
        assert_eq!(
            sts,
            "PUT\n\ntext/html\nWed, 28 Dec 2022 10:27:41 GMT\nx-oss-security-token:token\n/examplebucket/nelson"
        );
        let signed = request
            .sign(&config, &credentials, now)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            signed.uri(),
            "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/nelson"
        );
        assert_eq!(signed.headers()["date"], "Wed, 28 Dec 2022 10:27:41 GMT");
        assert_eq!(signed.headers()["x-oss-security-token"], "token");
        assert_eq!(
            signed.headers()["authorization"]
                .to_str()
                .unwrap_or_default(),
            format!("OSS ak:{}", v1::signature("sk", &sts))
        );
        assert_eq!(*signed.body(), "body");
    }

    /// The official V4 vectors' request: bucket `bucket`, key
    /// `1234+-/123/1.txt`, the vectors' query and headers.
    fn v4_vector_request(content_type: &str) -> OssRequest<()> {
        let mut request = OssRequest::new(
            Method::PUT,
            Bucket::new("bucket").unwrap(),
            Some(ObjectKey::new("1234+-/123/1.txt").unwrap()),
            (),
        )
        .query("param1", "value1")
        .query("+param1", "value3")
        .query("|param1", "value4")
        .query("+param2", "")
        .query("|param2", "")
        .query("param2", "");
        for (name, value) in [
            ("x-oss-head1", "value"),
            ("abc", "value"),
            ("ZAbc", "value"),
            ("XYZ", "value"),
            ("content-type", content_type),
        ] {
            request.set_header_str(name, value).unwrap();
        }
        request
    }

    fn v4_config() -> Config {
        Config::v4(
            Endpoint::parse("http://oss-cn-hangzhou.aliyuncs.com").unwrap(),
            Region::new("cn-hangzhou").unwrap(),
        )
    }

    /// Go SDK v2 `oss/signer/signer_test.go` TestV4AuthHeader, through
    /// `OssRequest::sign` (the signer adds `x-oss-date`, `Date` and
    /// `x-oss-content-sha256`).
    #[test]
    fn v4_header_vector_through_sign() {
        let now = UNIX_EPOCH + Duration::from_secs(1_702_743_657);
        let request = v4_vector_request("text/plain");
        let credentials = Credentials::new("ak", "sk");
        let strings = request
            .signing_strings(&v4_config(), &credentials, now)
            .unwrap();
        let canonical = strings.canonical_request.unwrap();
        assert_eq!(
            v4::hashed_canonical_request(&canonical),
            "f4613657f1b108998e8dbd10a1aa5da621dc2c6e02c9ddec0f163664848704c4"
        );
        assert_eq!(
            strings.string_to_sign,
            "OSS4-HMAC-SHA256\n20231216T162057Z\n20231216/cn-hangzhou/oss/aliyun_v4_request\nf4613657f1b108998e8dbd10a1aa5da621dc2c6e02c9ddec0f163664848704c4"
        );
        let signed = request.sign(&v4_config(), &credentials, now).unwrap();
        assert_eq!(
            signed.headers()["authorization"],
            "OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,Signature=e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe"
        );
        assert_eq!(signed.headers()["x-oss-date"], "20231216T162057Z");
        assert_eq!(signed.headers()["date"], "Sat, 16 Dec 2023 16:20:57 GMT");
        assert_eq!(signed.headers()["x-oss-content-sha256"], "UNSIGNED-PAYLOAD");
        assert_eq!(
            signed.uri(),
            "http://bucket.oss-cn-hangzhou.aliyuncs.com/1234%2B-/123/1.txt?%2Bparam1=value3&%2Bparam2&param1=value1&param2&%7Cparam1=value4&%7Cparam2"
        );
    }

    /// Go SDK v2 TestV4AuthHeaderToken and TestV4AuthHeaderWithAdditionalHeaders
    /// through `OssRequest::sign`.
    #[test]
    fn v4_header_vectors_with_token_and_additional_headers() {
        let request = v4_vector_request("text/plain");
        let credentials = Credentials::new("ak", "sk").with_security_token("token");
        let signed = request
            .clone()
            .sign(
                &v4_config(),
                &credentials,
                UNIX_EPOCH + Duration::from_secs(1_702_784_856),
            )
            .unwrap();
        assert_eq!(signed.headers()["x-oss-security-token"], "token");
        assert_eq!(
            signed.headers()["authorization"],
            "OSS4-HMAC-SHA256 Credential=ak/20231217/cn-hangzhou/oss/aliyun_v4_request,Signature=b94a3f999cf85bcdc00d332fbd3734ba03e48382c36fa4d5af5df817395bd9ea"
        );
        let config =
            v4_config().with_additional_headers(["x-oss-no-exist", "ZAbc", "x-oss-head1", "abc"]);
        let signed = request
            .sign(
                &config,
                &Credentials::new("ak", "sk"),
                UNIX_EPOCH + Duration::from_secs(1_702_747_512),
            )
            .unwrap();
        assert_eq!(
            signed.headers()["authorization"],
            "OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,AdditionalHeaders=abc;zabc,Signature=4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f"
        );
    }

    /// Go SDK v2 TestV4AuthQuery / Go SDK v1 `oss/conn_test.go` TestAuthV4Query
    /// through `OssRequest::presign` (the v1 SDK's URL, but with `/` kept in
    /// the path as osscb always sends it).
    #[test]
    fn v4_presign_vector_through_presign() {
        let now = UNIX_EPOCH + Duration::from_secs(1_702_781_677);
        let presigned = v4_vector_request("application/octet-stream")
            .presign(
                &v4_config(),
                &Credentials::new("ak", "sk"),
                now,
                Duration::from_secs(599),
            )
            .unwrap();
        assert_eq!(
            presigned.url.to_string(),
            "http://bucket.oss-cn-hangzhou.aliyuncs.com/1234%2B-/123/1.txt?%2Bparam1=value3&%2Bparam2&param1=value1&param2&x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20231217T025437Z&x-oss-expires=599&x-oss-signature=a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe&x-oss-signature-version=OSS4-HMAC-SHA256&%7Cparam1=value4&%7Cparam2"
        );
        assert_eq!(
            presigned.expires,
            UNIX_EPOCH + Duration::from_secs(1_702_782_276)
        );
        assert_eq!(
            presigned.headers["content-type"],
            "application/octet-stream"
        );
        assert_eq!(presigned.headers["x-oss-head1"], "value");
    }

    /// Go SDK v2 TestV4AuthQueryToken and TestV4AuthQueryWithAdditionalHeaders
    /// through `OssRequest::presign`.
    #[test]
    fn v4_presign_vectors_with_token_and_additional_headers() {
        let request = v4_vector_request("application/octet-stream");
        let presigned = request
            .presign(
                &v4_config(),
                &Credentials::new("ak", "sk").with_security_token("token"),
                UNIX_EPOCH + Duration::from_secs(1_702_785_388),
                Duration::from_secs(599),
            )
            .unwrap();
        let url = presigned.url.to_string();
        assert!(url.contains("&x-oss-security-token=token&"), "{url}");
        assert!(
            url.contains(
                "x-oss-signature=3817ac9d206cd6dfc90f1c09c00be45005602e55898f26f5ddb06d7892e1f8b5&"
            ),
            "{url}"
        );
        assert!(!url.contains("additional-headers"), "{url}");

        let config = v4_config().with_additional_headers(["ZAbc", "abc"]);
        let presigned = request
            .presign(
                &config,
                &Credentials::new("ak", "sk"),
                UNIX_EPOCH + Duration::from_secs(1_702_783_809),
                Duration::from_secs(599),
            )
            .unwrap();
        let url = presigned.url.to_string();
        assert!(
            url.contains("x-oss-additional-headers=abc%3Bzabc&"),
            "{url}"
        );
        assert!(
            url.contains(
                "x-oss-signature=6bd984bfe531afb6db1f7550983a741b103a8c58e5e14f83ea474c2322dfa2b7&"
            ),
            "{url}"
        );
    }

    #[test]
    fn v4_presign_moves_the_callback_to_the_signed_query() {
        let mut request = OssRequest::new(
            Method::PUT,
            Bucket::new("bucket").unwrap(),
            Some(ObjectKey::new("key").unwrap()),
            (),
        );
        request
            .set_header_str(CALLBACK_HEADER, "eyJjYiI6MX0=")
            .unwrap();
        request
            .set_header_str(CALLBACK_VAR_HEADER, "eyJ4OmEiOiIxIn0=")
            .unwrap();
        request.set_header_str("content-length", "5").unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_702_781_677);
        let presigned = request
            .presign(
                &v4_config(),
                &Credentials::new("ak", "sk"),
                now,
                Duration::from_secs(60),
            )
            .unwrap();
        assert!(presigned.headers.is_empty());
        let url = presigned.url.to_string();
        assert!(
            url.contains(
                "?callback=eyJjYiI6MX0%3D&callback-var=eyJ4OmEiOiIxIn0%3D&x-oss-credential="
            ),
            "{url}"
        );
        // The callback is covered by the signature: recompute it.
        let query: Vec<(String, String)> = [
            ("callback", "eyJjYiI6MX0="),
            ("callback-var", "eyJ4OmEiOiIxIn0="),
            ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
            (
                "x-oss-credential",
                "ak/20231217/cn-hangzhou/oss/aliyun_v4_request",
            ),
            ("x-oss-date", "20231217T025437Z"),
            ("x-oss-expires", "60"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let (_, sig) = v4::signed_for_tests(
            (&Method::PUT, "bucket", "key"),
            &query,
            &HeaderMap::new(),
            &[],
            ("20231217T025437Z", "cn-hangzhou"),
        );
        assert!(url.contains(&format!("x-oss-signature={sig}&")), "{url}");
    }

    /// `host` as an additional header is signed with the host the URI
    /// carries, without the caller setting a `Host` header (the official V4
    /// presigned URL example signs `x-oss-additional-headers=host`).
    #[test]
    fn v4_signs_host_from_the_uri() {
        let config = Config::v4(
            Endpoint::parse("oss-cn-hangzhou.aliyuncs.com").unwrap(),
            Region::new("cn-hangzhou").unwrap(),
        )
        .with_additional_headers(["Host"]);
        let request = OssRequest::new(
            Method::GET,
            Bucket::new("examplebucket").unwrap(),
            Some(ObjectKey::new("exampleobject").unwrap()),
            (),
        );
        let credentials = Credentials::new("ak", "sk");
        let now = UNIX_EPOCH + Duration::from_secs(1_702_743_657);
        let strings = request.signing_strings(&config, &credentials, now).unwrap();
        assert_eq!(
            strings.canonical_request.unwrap(),
            "GET\n/examplebucket/exampleobject\n\nhost:examplebucket.oss-cn-hangzhou.aliyuncs.com\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20231216T162057Z\n\nhost\nUNSIGNED-PAYLOAD"
        );
        let signed = request.clone().sign(&config, &credentials, now).unwrap();
        assert!(!signed.headers().contains_key("host"));
        assert!(
            signed.headers()["authorization"]
                .to_str()
                .unwrap()
                .contains(",AdditionalHeaders=host,")
        );

        let presigned = request
            .presign(&config, &credentials, now, Duration::from_secs(60))
            .unwrap();
        let url = presigned.url.to_string();
        assert!(url.starts_with("https://examplebucket.oss-cn-hangzhou.aliyuncs.com/exampleobject?x-oss-additional-headers=host&x-oss-credential="), "{url}");
        let query: Vec<(String, String)> = [
            ("x-oss-additional-headers", "host"),
            (
                "x-oss-credential",
                "ak/20231216/cn-hangzhou/oss/aliyun_v4_request",
            ),
            ("x-oss-date", "20231216T162057Z"),
            ("x-oss-expires", "60"),
            ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let (canonical, sig) = v4::signed_for_tests(
            (&Method::GET, "examplebucket", "exampleobject"),
            &query,
            &HeaderMap::from_iter([(
                http::header::HOST,
                HeaderValue::from_static("examplebucket.oss-cn-hangzhou.aliyuncs.com"),
            )]),
            &["host"],
            ("20231216T162057Z", "cn-hangzhou"),
        );
        assert_eq!(
            canonical,
            "GET\n/examplebucket/exampleobject\nx-oss-additional-headers=host&x-oss-credential=ak%2F20231216%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20231216T162057Z&x-oss-expires=60&x-oss-signature-version=OSS4-HMAC-SHA256\nhost:examplebucket.oss-cn-hangzhou.aliyuncs.com\n\nhost\nUNSIGNED-PAYLOAD"
        );
        assert!(url.contains(&format!("&x-oss-signature={sig}&")), "{url}");
    }

    #[test]
    fn region_selects_the_signature_version() {
        let endpoint = Endpoint::parse("oss-cn-hangzhou.aliyuncs.com").unwrap();
        let v1 = Config::for_region(endpoint.clone(), None);
        assert_eq!(v1, Config::v1(endpoint.clone()));
        assert_eq!(v1.region(), None);
        let region = Region::new("cn-hangzhou").unwrap();
        let v4 = Config::for_region(endpoint.clone(), Some(region.clone()));
        assert_eq!(
            v4.signature_version,
            SignatureVersion::V4 {
                region: region.clone()
            }
        );
        assert_eq!(v4.region(), Some(&region));
        assert_eq!(v4, Config::v4(endpoint, region));
        assert_eq!(SignatureVersion::default(), SignatureVersion::V1);
    }

    #[test]
    fn v4_rejects_bad_times_and_lifetimes_without_panicking() {
        let request = v4_vector_request("text/plain");
        let credentials = Credentials::new("ak", "sk");
        let before_1970 = UNIX_EPOCH - Duration::from_secs(1);
        assert!(matches!(
            request
                .clone()
                .sign(&v4_config(), &credentials, before_1970),
            Err(Error::InvalidArgument(_))
        ));
        let now = UNIX_EPOCH + Duration::from_secs(1_702_781_677);
        for bad in [
            Duration::ZERO,
            Duration::from_millis(999),
            MAX_PRESIGN_EXPIRY + Duration::from_secs(1),
        ] {
            assert!(matches!(
                request.presign(&v4_config(), &credentials, now, bad),
                Err(Error::InvalidExpiry(_))
            ));
        }
        assert!(
            request
                .presign(&v4_config(), &credentials, now, MAX_PRESIGN_EXPIRY)
                .is_ok()
        );
        assert!(
            request
                .presign(
                    &v4_config(),
                    &credentials,
                    SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_800),
                    Duration::from_secs(1)
                )
                .is_err()
        );
        let bad_token = Credentials::new("ak", "sk").with_security_token("t\nx");
        assert!(matches!(
            request.sign(&v4_config(), &bad_token, now),
            Err(Error::InvalidHeader { .. })
        ));
    }
}
