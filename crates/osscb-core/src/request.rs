//! An operation's request before signing, and how it becomes a signed
//! `http::Request` or a presigned URL.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{AUTHORIZATION, DATE};
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::callback::{CALLBACK_HEADER, CALLBACK_QUERY, CALLBACK_VAR_HEADER, CALLBACK_VAR_QUERY};
use crate::names::encode_query_component;
use crate::sign::{SignatureVersion, v1};
use crate::{Bucket, Credentials, Endpoint, Error, ObjectKey};

/// The header that carries STS tokens in signed requests.
pub const SECURITY_TOKEN_HEADER: &str = "x-oss-security-token";

/// The longest validity OSS accepts for a V1 presigned URL is not bounded by
/// the service; osscb caps it at seven days like V4 does.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where requests go and how they are signed: everything but the operation,
/// the credentials and the time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The endpoint and its addressing style.
    pub endpoint: Endpoint,
    /// The signature algorithm.
    pub signature_version: SignatureVersion,
}

impl Config {
    /// V1 signatures against `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            signature_version: SignatureVersion::V1,
        }
    }
}

/// An OSS request before signing: method, resource, query, headers and body.
///
/// Operations build these; [`OssRequest::sign`] turns one into an
/// `http::Request<B>` and [`OssRequest::presign`] into a URL. The body is
/// generic so a transport can stream a file; the signature never reads it.
#[derive(Clone, Debug)]
pub struct OssRequest<B> {
    /// HTTP method.
    pub method: Method,
    /// The bucket, if the request is bucket- or object-level.
    pub bucket: Option<Bucket>,
    /// The object key, for object-level requests.
    pub key: Option<ObjectKey>,
    /// Query parameters, decoded; an empty value is written as a bare key.
    pub query: Vec<(String, String)>,
    /// Headers to send and sign (`x-oss-*`, `Content-Type`, `Content-MD5`, …).
    pub headers: HeaderMap,
    /// Query parameter names to sign besides the standard sub-resources.
    pub extra_sub_resources: Vec<String>,
    /// The body.
    pub body: B,
}

/// A presigned request: the URL, and the headers the final request must send
/// with exactly these values because they were signed (`Content-Type`,
/// `x-oss-*`, …).
#[derive(Clone, Debug)]
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

impl<B> OssRequest<B> {
    /// A request for `method` on an object (or on the bucket when `key` is `None`).
    pub fn new(method: Method, bucket: Bucket, key: Option<ObjectKey>, body: B) -> Self {
        Self {
            method,
            bucket: Some(bucket),
            key,
            query: Vec::new(),
            headers: HeaderMap::new(),
            extra_sub_resources: Vec::new(),
            body,
        }
    }

    /// Adds a query parameter.
    #[must_use]
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Adds a query parameter that is signed although it is not a standard
    /// sub-resource.
    #[must_use]
    pub fn sub_resource(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.extra_sub_resources.push(key.clone());
        self.query.push((key, value.into()));
        self
    }

    /// Sets a header from an already valid value.
    pub fn set_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.insert(name, value);
    }

    /// Sets a header from text, checking that it is a valid header value.
    ///
    /// # Errors
    /// [`Error::InvalidHeader`] if the name or value cannot travel in a header.
    pub fn set_header_str(&mut self, name: &str, value: &str) -> Result<(), Error> {
        let invalid = || Error::InvalidHeader {
            name: name.to_owned(),
        };
        let name = HeaderName::try_from(name).map_err(|_| invalid())?;
        let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
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
            extra_sub_resources: self.extra_sub_resources,
            body: f(self.body),
        }
    }

    /// The query, sorted by key and percent-encoded (without `?`).
    fn encoded_query(query: &[(String, String)]) -> String {
        let mut sorted: Vec<&(String, String)> = query.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = String::new();
        for (k, v) in sorted {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(&encode_query_component(k));
            if !v.is_empty() {
                out.push('=');
                out.push_str(&encode_query_component(v));
            }
        }
        out
    }

    fn resource(&self, query: &[(String, String)]) -> String {
        v1::canonicalized_resource(
            self.bucket.as_ref().map(Bucket::as_str),
            self.key.as_ref().map(ObjectKey::as_str),
            query,
            &self.extra_sub_resources,
        )
    }

    /// The V1 string to sign for this request as [`OssRequest::sign`] would
    /// send it at `now`.
    pub fn string_to_sign(&self, credentials: &Credentials, now: SystemTime) -> String {
        let headers = self.signed_headers(credentials, now);
        v1::string_to_sign(
            &self.method,
            &headers,
            &v1::date_line(&headers),
            &self.resource(&self.query),
        )
    }

    fn signed_headers(&self, credentials: &Credentials, now: SystemTime) -> HeaderMap {
        let mut headers = self.headers.clone();
        let date = HeaderValue::from_str(&httpdate::fmt_http_date(now))
            .unwrap_or_else(|_| unreachable!("HTTP dates are ASCII"));
        headers.insert(DATE, date);
        if let Some(token) = credentials.security_token() {
            match HeaderValue::from_str(token) {
                Ok(v) => {
                    headers.insert(HeaderName::from_static(SECURITY_TOKEN_HEADER), v);
                }
                Err(_) => {
                    headers.remove(SECURITY_TOKEN_HEADER);
                }
            }
        }
        headers
    }

    /// Signs the request at `now` and builds the `http::Request`.
    ///
    /// # Errors
    /// [`Error::InvalidHeader`] if the STS token cannot travel in a header.
    pub fn sign(
        self,
        config: &Config,
        credentials: &Credentials,
        now: SystemTime,
    ) -> Result<http::Request<B>, Error> {
        if let Some(token) = credentials.security_token() {
            HeaderValue::from_str(token).map_err(|_| Error::InvalidHeader {
                name: SECURITY_TOKEN_HEADER.to_owned(),
            })?;
        }
        let mut headers = self.signed_headers(credentials, now);
        let string_to_sign = v1::string_to_sign(
            &self.method,
            &headers,
            &v1::date_line(&headers),
            &self.resource(&self.query),
        );
        let signature = v1::signature(credentials.access_key_secret(), &string_to_sign);
        let authorization =
            HeaderValue::from_str(&v1::authorization(credentials.access_key_id(), &signature))
                .map_err(|_| Error::InvalidHeader {
                    name: "authorization".to_owned(),
                })?;
        headers.insert(AUTHORIZATION, authorization);
        let url = config.endpoint.url(
            self.bucket.as_ref(),
            self.key.as_ref(),
            &Self::encoded_query(&self.query),
        )?;
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
        let expires = now + expires_in;
        let epoch = expires
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::InvalidExpiry(expires_in))?
            .as_secs();
        let mut query = self.query.clone();
        let mut headers = self.headers.clone();
        // Presigned URLs carry a callback in the query, where it is a signed sub-resource.
        for (header, param) in [
            (CALLBACK_HEADER, CALLBACK_QUERY),
            (CALLBACK_VAR_HEADER, CALLBACK_VAR_QUERY),
        ] {
            if let Some(value) = headers.remove(header) {
                query.push((
                    param.to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                ));
            }
        }
        headers.remove(http::header::CONTENT_LENGTH);
        if let Some(token) = credentials.security_token() {
            query.push(("security-token".to_owned(), token.to_owned()));
        }
        let string_to_sign = v1::string_to_sign(
            &self.method,
            &headers,
            &epoch.to_string(),
            &self.resource(&query),
        );
        let signature = v1::signature(credentials.access_key_secret(), &string_to_sign);
        query.push(("Expires".to_owned(), epoch.to_string()));
        query.push((
            "OSSAccessKeyId".to_owned(),
            credentials.access_key_id().to_owned(),
        ));
        query.push(("Signature".to_owned(), signature));
        let url = config.endpoint.url(
            self.bucket.as_ref(),
            self.key.as_ref(),
            &Self::encoded_query(&query),
        )?;
        Ok(PresignedRequest {
            method: self.method.clone(),
            url,
            headers,
            expires,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PROTOCOL.md §1, vector V1-presign (Go SDK v1/v2, Python SDK v2 tests).
    #[test]
    fn v1_presign_vector() {
        let config = Config::new(
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
        let resource = request.resource(&request.query);
        let sts = v1::string_to_sign(&request.method, &request.headers, "1699807420", &resource);
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

    #[test]
    fn presign_with_sts_signs_the_token_as_a_sub_resource() {
        let config =
            Config::new(Endpoint::parse("http://127.0.0.1:9000").unwrap_or_else(|e| panic!("{e}")));
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
    fn header_signing_adds_date_token_and_authorization() {
        let config = Config::new(
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
        let sts = request.string_to_sign(&credentials, now);
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
}
