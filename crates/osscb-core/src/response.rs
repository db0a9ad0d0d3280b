//! Reading OSS responses: error bodies, the `x-oss-err` header of bodiless
//! responses, the facts every write returns, and callback outcomes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::Error;

/// The largest response body osscb reads (16 MiB). Transports stop reading
/// past it and report [`Error::ResponseTooLarge`]; the core refuses larger bodies.
pub const MAX_BODY_LEN: usize = 16 * 1024 * 1024;

/// `x-oss-request-id`.
pub(crate) const REQUEST_ID_HEADER: &str = "x-oss-request-id";
/// `x-oss-hash-crc64ecma`.
pub(crate) const CRC64_HEADER: &str = "x-oss-hash-crc64ecma";
/// `x-oss-version-id`.
pub(crate) const VERSION_ID_HEADER: &str = "x-oss-version-id";
/// `x-oss-err`: the error XML, base64-encoded, on bodiless responses.
pub(crate) const ERR_HEADER: &str = "x-oss-err";
/// `x-oss-ec`: the error's EC code on bodiless responses.
pub(crate) const EC_HEADER: &str = "x-oss-ec";

/// HTTP 203: OSS stored the object, but the upload callback failed.
pub(crate) const CALLBACK_FAILED_STATUS: StatusCode = StatusCode::NON_AUTHORITATIVE_INFORMATION;

/// Checks a response body's length (announced or read) against [`MAX_BODY_LEN`].
///
/// # Errors
/// [`Error::ResponseTooLarge`] when over the limit.
pub(crate) fn check_body_len(len: u64) -> Result<(), Error> {
    if len > MAX_BODY_LEN as u64 {
        Err(Error::ResponseTooLarge {
            limit: MAX_BODY_LEN,
        })
    } else {
        Ok(())
    }
}

/// A header's value as text, if present and visible ASCII/UTF-8.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// An error OSS returned.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// HTTP status.
    pub status: StatusCode,
    /// `Code`, e.g. `NoSuchKey`, `SignatureDoesNotMatch` (empty if the body had none).
    pub code: String,
    /// `Message`.
    pub message: String,
    /// `RequestId` (or the `x-oss-request-id` header).
    pub request_id: String,
    /// `HostId`.
    pub host_id: String,
    /// `EC`, OSS's detailed error code (or the `x-oss-ec` header).
    pub ec: String,
    /// `StringToSign` on `SignatureDoesNotMatch`: what OSS signed.
    pub string_to_sign: Option<String>,
    /// `RecommendDoc`, a link to the troubleshooting page.
    pub recommend_doc: Option<String>,
    /// The raw error body (the decoded `x-oss-err` for bodiless responses).
    pub body: Vec<u8>,
}

impl fmt::Debug for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceError")
            .field("status", &self.status)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("request_id", &self.request_id)
            .field("host_id", &self.host_id)
            .field("ec", &self.ec)
            .field("string_to_sign", &self.string_to_sign)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OSS error {}", self.status.as_u16())?;
        if !self.code.is_empty() {
            write!(f, " {}", self.code)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if !self.request_id.is_empty() {
            write!(f, " (request id {}", self.request_id)?;
            if !self.ec.is_empty() {
                write!(f, ", EC {}", self.ec)?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServiceError {}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorXml {
    #[serde(rename = "Code")]
    code: String,
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "RequestId")]
    request_id: String,
    #[serde(rename = "HostId")]
    host_id: String,
    #[serde(rename = "EC")]
    ec: String,
    #[serde(rename = "StringToSign")]
    string_to_sign: Option<String>,
    #[serde(rename = "RecommendDoc")]
    recommend_doc: Option<String>,
}

impl ServiceError {
    /// Reads an error response: the `<Error>` XML body, or for bodiless
    /// responses the `x-oss-err` / `x-oss-ec` headers. A body that is not the
    /// error XML still gives an error with the status, request id and raw body.
    pub(crate) fn from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let mut raw = body.to_vec();
        if raw.iter().all(u8::is_ascii_whitespace)
            && let Some(decoded) =
                header(headers, ERR_HEADER).and_then(|v| STANDARD.decode(v.trim()).ok())
        {
            raw = decoded;
        }
        let xml: ErrorXml = parse_xml(&raw).unwrap_or_default();
        let or_header = |value: String, name| {
            if value.is_empty() {
                header(headers, name).unwrap_or_default().to_owned()
            } else {
                value
            }
        };
        Self {
            status,
            code: xml.code,
            message: xml.message,
            request_id: or_header(xml.request_id, REQUEST_ID_HEADER),
            host_id: xml.host_id,
            ec: or_header(xml.ec, EC_HEADER),
            string_to_sign: xml.string_to_sign,
            recommend_doc: xml.recommend_doc,
            body: raw,
        }
    }
}

/// Deserializes an XML document with quick-xml.
///
/// # Errors
/// [`Error::MalformedResponse`] when the XML is not of the expected shape.
pub(crate) fn parse_xml<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    check_body_len(body.len() as u64)?;
    let text = std::str::from_utf8(body)
        .map_err(|_| Error::MalformedResponse("XML body is not UTF-8".to_owned()))?;
    quick_xml::de::from_str(text)
        .map_err(|e| Error::MalformedResponse(format!("unexpected XML: {e}")))
}

/// What OSS's answer headers say about an object: its ETag, CRC-64 and
/// version id, and the answer's request id — after a write (the object it
/// stored) or a HeadObject / GetObject (the object found).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectFacts {
    /// The ETag, quotes included, as OSS sends it.
    pub etag: Option<String>,
    /// `x-oss-hash-crc64ecma`.
    pub crc64: Option<u64>,
    /// `x-oss-version-id` (versioned buckets).
    pub version_id: Option<String>,
    /// `x-oss-request-id`.
    pub request_id: Option<String>,
}

impl ObjectFacts {
    /// Reads the facts from response headers.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name| header(headers, name).map(str::to_owned);
        Self {
            etag: text("etag"),
            crc64: header(headers, CRC64_HEADER).and_then(crate::crc64::parse),
            version_id: text(VERSION_ID_HEADER),
            request_id: text(REQUEST_ID_HEADER),
        }
    }

    /// Compares OSS's CRC-64 with one computed over the bytes sent. A response
    /// without the header passes (OSS omits it for some storage paths).
    ///
    /// # Errors
    /// [`Error::Crc64Mismatch`] naming both values.
    pub(crate) fn check_crc64(&self, computed: u64) -> Result<(), Error> {
        match self.crc64 {
            Some(reported) if reported != computed => {
                Err(Error::Crc64Mismatch { computed, reported })
            }
            _ => Ok(()),
        }
    }
}

/// The application server's answer to an upload callback, relayed by OSS.
/// It is the server's body, never parsed as XML.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    /// `Content-Type` of the answer, if OSS relayed one.
    pub content_type: Option<String>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl CallbackAnswer {
    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Decodes the body as JSON.
    ///
    /// # Errors
    /// The JSON error when the body does not decode into `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

impl fmt::Debug for CallbackAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackAnswer")
            .field("content_type", &self.content_type)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

/// HTTP 203: the object **was stored**, but OSS's callback to the application
/// server failed. Carries what the uploader needs to find the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackFailed {
    /// The stored object's ETag, CRC-64, version id and the request id.
    pub object: ObjectFacts,
    /// OSS's `CallbackFailed` error (`Message` says why, e.g. `Error status : 301.`).
    pub error: ServiceError,
}

impl fmt::Display for CallbackFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the object was stored")?;
        if let Some(etag) = &self.object.etag {
            write!(f, " (ETag {etag})")?;
        }
        f.write_str(", but the upload callback failed")?;
        if !self.error.message.is_empty() {
            write!(f, ": {}", self.error.message)?;
        }
        if let Some(id) = &self.object.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for CallbackFailed {}

/// Reads the outcome of a write that may carry a callback: the stored facts,
/// and the callback answer when `with_callback`.
///
/// # Errors
/// [`Error::CallbackFailed`] on 203, [`Error::Service`] on other non-2xx.
pub(crate) fn read_write_response(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    with_callback: bool,
) -> Result<(ObjectFacts, Option<CallbackAnswer>), Error> {
    check_body_len(body.len() as u64)?;
    let object = ObjectFacts::from_headers(headers);
    if status == CALLBACK_FAILED_STATUS {
        let error = ServiceError::from_response(status, headers, body);
        return Err(CallbackFailed { object, error }.into());
    }
    if !status.is_success() {
        return Err(ServiceError::from_response(status, headers, body).into());
    }
    let answer = with_callback.then(|| CallbackAnswer {
        content_type: header(headers, "content-type").map(str::to_owned),
        body: body.to_vec(),
    });
    Ok((object, answer))
}

/// Turns any non-2xx response into an error, passing 2xx through.
///
/// # Errors
/// [`Error::CallbackFailed`] on 203, [`Error::Service`] on other non-2xx.
pub(crate) fn check_status(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Error> {
    if status == CALLBACK_FAILED_STATUS {
        let error = ServiceError::from_response(status, headers, body);
        let object = ObjectFacts::from_headers(headers);
        return Err(CallbackFailed { object, error }.into());
    }
    if status.is_success() {
        Ok(())
    } else {
        Err(ServiceError::from_response(status, headers, body).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// Go SDK v2's `oss/client_mock_test.go` 203 answer.
    pub(crate) const CALLBACK_FAILED_XML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>CallbackFailed</Code>\n  <Message>Error status : 301.</Message>\n  <RequestId>5C3D9175B6FC201293AD****</RequestId>\n  <HostId>bucket.oss-cn-hangzhou.aliyuncs.com</HostId>\n  <EC>0007-00000203</EC>\n</Error>";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                *k,
                HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        map
    }

    #[test]
    fn callback_failed_keeps_the_stored_object() {
        let h = headers(&[
            ("etag", "\"D41D8CD98F00B204E9800998ECF8427E\""),
            ("x-oss-hash-crc64ecma", "11051210869376104954"),
            ("x-oss-version-id", "CAEQ"),
            ("x-oss-request-id", "5C3D9175B6FC201293AD****"),
        ]);
        let err = read_write_response(
            StatusCode::from_u16(203).unwrap_or_default(),
            &h,
            CALLBACK_FAILED_XML.as_bytes(),
            true,
        )
        .expect_err("203 is an error");
        let failed = err.callback_failed().unwrap_or_else(|| panic!("{err:?}"));
        assert_eq!(
            failed.object.etag.as_deref(),
            Some("\"D41D8CD98F00B204E9800998ECF8427E\"")
        );
        assert_eq!(failed.object.crc64, Some(11_051_210_869_376_104_954));
        assert_eq!(failed.object.version_id.as_deref(), Some("CAEQ"));
        assert_eq!(failed.error.code, "CallbackFailed");
        assert_eq!(failed.error.message, "Error status : 301.");
        assert_eq!(failed.error.ec, "0007-00000203");
        assert_eq!(failed.error.host_id, "bucket.oss-cn-hangzhou.aliyuncs.com");
        assert_eq!(
            err.to_string(),
            "the object was stored (ETag \"D41D8CD98F00B204E9800998ECF8427E\"), but the upload callback failed: Error status : 301. (request id 5C3D9175B6FC201293AD****)"
        );
    }

    #[test]
    fn callback_answer_is_the_raw_body() {
        let h = headers(&[("etag", "\"E\""), ("content-type", "application/json")]);
        let body = br#"{"Status":"OK","xml":"<Error>"}"#;
        let (object, answer) =
            read_write_response(StatusCode::OK, &h, body, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(object.etag.as_deref(), Some("\"E\""));
        let answer = answer.unwrap_or_else(|| panic!("answer"));
        assert_eq!(answer.body, body);
        let v: serde_json::Value = answer.json().unwrap_or_default();
        assert_eq!(v["Status"], "OK");
    }

    #[test]
    fn bodiless_errors_come_from_x_oss_err() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><RequestId>RID</RequestId><HostId>h</HostId><EC>0026-00000001</EC></Error>";
        let h = headers(&[
            ("x-oss-err", &STANDARD.encode(xml)),
            ("x-oss-ec", "0026-00000001"),
            ("x-oss-request-id", "RID"),
        ]);
        let e = ServiceError::from_response(StatusCode::NOT_FOUND, &h, b"");
        assert_eq!(
            (e.code.as_str(), e.ec.as_str(), e.request_id.as_str()),
            ("NoSuchKey", "0026-00000001", "RID")
        );
        assert_eq!(e.body, xml.as_bytes());
        assert_eq!(
            e.to_string(),
            "OSS error 404 NoSuchKey: The specified key does not exist. (request id RID, EC 0026-00000001)"
        );
        let bare = ServiceError::from_response(
            StatusCode::BAD_GATEWAY,
            &headers(&[("x-oss-request-id", "R2")]),
            b"<html>",
        );
        assert_eq!(
            (
                bare.code.as_str(),
                bare.request_id.as_str(),
                bare.body.as_slice()
            ),
            ("", "R2", b"<html>".as_slice())
        );
    }

    #[test]
    fn signature_errors_carry_string_to_sign() {
        let xml = "<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message><RequestId>r</RequestId><HostId>h</HostId><StringToSign>GET\n\n\n1\n/b/k</StringToSign><EC>0002-00000040</EC><RecommendDoc>https://api.aliyun.com/troubleshoot?q=0002-00000040</RecommendDoc></Error>";
        let e =
            ServiceError::from_response(StatusCode::FORBIDDEN, &HeaderMap::new(), xml.as_bytes());
        assert_eq!(e.string_to_sign.as_deref(), Some("GET\n\n\n1\n/b/k"));
        assert_eq!(
            e.recommend_doc.as_deref(),
            Some("https://api.aliyun.com/troubleshoot?q=0002-00000040")
        );
    }
}
