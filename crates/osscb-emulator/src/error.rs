//! OSS error responses: the `<Error>` XML body, or for HEAD requests the same
//! XML base64-encoded in `x-oss-err` with the EC in `x-oss-ec`.

use http::StatusCode;

use crate::xml::Xml;

/// An error the emulator answers with.
#[derive(Clone, Debug)]
pub(crate) struct OssError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    /// Extra elements after `HostId` (`StringToSign`, `Key`, `UploadId`, …).
    pub(crate) extra: Vec<(&'static str, String)>,
    pub(crate) ec: &'static str,
}

impl OssError {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            message: message.into(),
            extra: Vec::new(),
            ec: ec_for(code),
        }
    }

    #[must_use]
    pub(crate) fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    /// The `<Error>` document.
    pub(crate) fn body(&self, request_id: &str, host_id: &str) -> Vec<u8> {
        let mut xml = Xml::new("Error");
        xml.leaf("Code", self.code)
            .leaf("Message", &self.message)
            .leaf("RequestId", request_id)
            .leaf("HostId", host_id);
        for (name, value) in &self.extra {
            xml.leaf(name, value);
        }
        xml.leaf("EC", self.ec);
        xml.finish()
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidArgument", message)
    }

    /// `SignatureDoesNotMatch`, with what was provided and what OSS signed.
    pub(crate) fn signature_mismatch(
        access_key_id: &str,
        provided: &str,
        string_to_sign: impl Into<String>,
    ) -> Self {
        Self::new(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
        .with("OSSAccessKeyId", access_key_id)
        .with("SignatureProvided", provided)
        .with("StringToSign", string_to_sign)
    }

    pub(crate) fn invalid_object_name() -> Self {
        Self::new(
            400,
            "InvalidObjectName",
            "The specified object is not valid.",
        )
    }

    pub(crate) fn access_denied(message: impl Into<String>) -> Self {
        Self::new(403, "AccessDenied", message)
    }

    pub(crate) fn malformed_xml() -> Self {
        Self::new(
            400,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema.",
        )
    }

    pub(crate) fn no_such_upload(upload_id: &str) -> Self {
        Self::new(
            404,
            "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        )
        .with("UploadId", upload_id)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }
}

/// OSS's detailed error codes. `NoSuchKey`, `SignatureDoesNotMatch` and
/// `CallbackFailed` are OSS's published values; the others are the values OSS
/// documents for the same condition where known, else `0000-00000000`.
fn ec_for(code: &str) -> &'static str {
    match code {
        "NoSuchKey" => "0026-00000001",
        "SignatureDoesNotMatch" => "0002-00000040",
        "CallbackFailed" => "0007-00000203",
        "InvalidAccessKeyId" => "0002-00000901",
        "RequestTimeTooSkewed" => "0002-00000504",
        "AccessDenied" => "0003-00000001",
        "NoSuchUpload" => "0042-00000002",
        "InvalidPart" => "0042-00000003",
        "InvalidPartOrder" => "0042-00000004",
        "EntityTooSmall" => "0042-00000005",
        "InvalidDigest" => "0016-00000401",
        "MalformedXML" => "0042-00000202",
        "InvalidArgument" => "0017-00000208",
        "InvalidRange" => "0026-00000002",
        "FileAlreadyExists" => "0026-00000008",
        _ => "0000-00000000",
    }
}
