//! The toolkit's one error type: the core's, and the transports' too.

use std::path::PathBuf;
use std::time::Duration;

use crate::callback::CallbackError;
use crate::credentials::CredentialsError;
use crate::response::{CallbackFailed, ObjectFacts, ServiceError};

/// Everything that can go wrong: building a request, reading a response,
/// verifying a callback, and, in the transports, the HTTP exchange and local
/// files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A bucket name that OSS would reject.
    #[error("invalid bucket name {name:?}: {reason}")]
    InvalidBucket {
        /// The name as given.
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// An object key that OSS would reject.
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// An endpoint that cannot be parsed.
    #[error("invalid endpoint {input:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A callback configuration OSS would reject.
    #[error("invalid callback: {0}")]
    InvalidCallback(#[from] CallbackError),
    /// A header name or value that cannot be sent (metadata, content type, token…).
    #[error("invalid value for header {name:?}")]
    InvalidHeader {
        /// The header.
        name: String,
    },
    /// A part number outside 1..=10000.
    #[error("part number {0} is outside 1..=10000")]
    InvalidPartNumber(u32),
    /// A presigned URL lifetime outside 1 s ..= 7 days.
    #[error("presigned URL lifetime {0:?} is outside 1 s to 7 days")]
    InvalidExpiry(Duration),
    /// Another argument that OSS would reject.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The HTTP exchange failed (connection, timeout, protocol), after
    /// retries. The source is the transport's own error, with any URL
    /// removed (a presigned one carries its signature).
    #[error("HTTP transport error: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Reading or writing a local file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// Reading the source of an upload from a reader or a stream failed:
    /// nothing was completed (a multipart upload begun is aborted).
    #[error("reading the upload's source failed: {0}")]
    SourceRead(#[source] std::io::Error),
    /// A callback did not verify.
    #[error(transparent)]
    Verify(#[from] crate::verify::VerifyError),
    /// A required environment variable is not set (or empty, or not UTF-8).
    #[error("environment variable {0} is not set")]
    MissingEnv(&'static str),
    /// The credentials provider failed.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// OSS answered with an error.
    #[error(transparent)]
    Service(Box<ServiceError>),
    /// The object was stored, but the upload callback failed (HTTP 203).
    #[error(transparent)]
    CallbackFailed(Box<CallbackFailed>),
    /// A response body over [`crate::response::MAX_BODY_LEN`]; it was not read whole.
    #[error("response body is larger than the {limit}-byte limit")]
    ResponseTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A success response that does not have the documented shape.
    #[error("malformed OSS response: {0}")]
    MalformedResponse(String),
    /// A write carrying an upload callback took effect — the object is
    /// stored, and OSS ran (or tried) the callback — but OSS's answer, with
    /// the application server's, was lost in transit. Found by HeadObject
    /// after an ambiguous failure: the object at the key has the size and
    /// CRC-64 of what was sent (multipart: the parts' combined CRC-64 and a
    /// `-N` ETag). The write is not sent again, so the app server saw at most
    /// one callback from this call. An identical object stored earlier cannot
    /// be told apart. Carries HeadObject's view: ETag, CRC-64, version id and
    /// HeadObject's request id.
    #[error(
        "the object was stored (ETag {}), but OSS's answer, with the upload callback's, was lost in transit",
        .0.etag.as_deref().unwrap_or("unknown")
    )]
    AnswerLost(Box<ObjectFacts>),
    /// A write carrying an upload callback failed ambiguously (it may have
    /// taken effect) and osscb could not establish what happened without
    /// risking a second callback, so it did not send it again.
    #[error(
        "the outcome of the write is unknown: {reason}; it was not sent again, to avoid a second callback"
    )]
    OutcomeUnknown {
        /// What HeadObject found at the key, if it found an object.
        found: Option<Box<ObjectFacts>>,
        /// Why the outcome could not be established.
        reason: &'static str,
    },
    /// A call did not finish within its total timeout
    /// ([`crate::retry::RetryPolicy::total_timeout`]): it was not tried again,
    /// and a request still in flight was abandoned.
    #[error("the call did not finish within its total timeout of {limit:?}")]
    Timeout {
        /// The total timeout.
        limit: Duration,
    },
    /// OSS refused the request's time (403 `RequestTimeTooSkewed`: signed
    /// more than 15 minutes off OSS's clock) even after the call set its
    /// clock by OSS's and sent it again: the local clock is off and must be
    /// fixed. [`Error::service`] gives OSS's error.
    #[error(
        "the local clock is {} s off the server's ({}); fix it: {error}",
        .server_minus_local_secs.unsigned_abs(),
        if *.server_minus_local_secs >= 0 { "behind" } else { "ahead" }
    )]
    ClockSkewed {
        /// OSS's time minus the local time, in seconds, as last measured.
        server_minus_local_secs: i64,
        /// OSS's `RequestTimeTooSkewed` error.
        error: Box<ServiceError>,
    },
    /// The CRC-64 computed over the bytes sent (an upload) or received (a
    /// download) differs from the one OSS reports for the object.
    #[error(
        "CRC-64 mismatch: computed {computed} over the bytes sent or received, OSS reported {reported}"
    )]
    Crc64Mismatch {
        /// Ours.
        computed: u64,
        /// `x-oss-hash-crc64ecma`.
        reported: u64,
    },
}

impl Error {
    /// The OSS error, if this is one (not for callback failures; for
    /// [`Error::ClockSkewed`], OSS's `RequestTimeTooSkewed`).
    pub fn service(&self) -> Option<&ServiceError> {
        match self {
            Self::Service(e) | Self::ClockSkewed { error: e, .. } => Some(e),
            _ => None,
        }
    }

    /// Whether OSS answered that the bucket, the object or the upload does not
    /// exist (404: `NoSuchKey`, `NoSuchBucket`, `NoSuchUpload`).
    pub fn is_not_found(&self) -> bool {
        self.service()
            .is_some_and(|e| e.status == http::StatusCode::NOT_FOUND)
    }

    /// Whether OSS refused the request's credentials or their rights (403:
    /// `AccessDenied`, `SignatureDoesNotMatch`, `InvalidAccessKeyId`,
    /// `RequestTimeTooSkewed`, …).
    pub fn is_access_denied(&self) -> bool {
        self.service()
            .is_some_and(|e| e.status == http::StatusCode::FORBIDDEN)
    }

    /// Whether the same call may succeed when made again later: an OSS
    /// answer the official SDKs retry (5xx, 408, 429), a transport failure,
    /// or a call that ran out of its total timeout. Never for
    /// [`Error::AnswerLost`] or [`Error::OutcomeUnknown`]: making such a
    /// write again would upload, and call back, twice.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Service(e) => crate::retry::is_retryable_status(e.status),
            Self::Transport(_) | Self::Timeout { .. } => true,
            _ => false,
        }
    }

    /// The callback failure, if the object was stored but its callback failed.
    pub fn callback_failed(&self) -> Option<&CallbackFailed> {
        match self {
            Self::CallbackFailed(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ServiceError> for Error {
    fn from(e: ServiceError) -> Self {
        Self::Service(Box::new(e))
    }
}

impl From<CallbackFailed> for Error {
    fn from(e: CallbackFailed) -> Self {
        Self::CallbackFailed(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;

    fn service(status: u16, code: &str) -> Error {
        Error::from(ServiceError {
            status: StatusCode::from_u16(status).unwrap(),
            code: code.to_owned(),
            message: String::new(),
            request_id: String::new(),
            host_id: String::new(),
            ec: String::new(),
            string_to_sign: None,
            recommend_doc: None,
            body: Vec::new(),
        })
    }

    #[test]
    fn kinds_follow_the_status_and_never_invite_a_second_callback() {
        let not_found = service(404, "NoSuchKey");
        assert!(not_found.is_not_found() && !not_found.is_access_denied());
        assert!(!not_found.is_retryable());
        let denied = service(403, "SignatureDoesNotMatch");
        assert!(denied.is_access_denied() && !denied.is_not_found());
        assert!(!denied.is_retryable());
        for status in [500, 503, 408, 429] {
            assert!(service(status, "x").is_retryable(), "{status}");
        }
        assert!(Error::Transport("reset".into()).is_retryable());
        assert!(
            Error::Timeout {
                limit: Duration::from_secs(1)
            }
            .is_retryable()
        );
        let lost = Error::AnswerLost(Box::default());
        assert!(!lost.is_retryable() && !lost.is_not_found());
        let unknown = Error::OutcomeUnknown {
            found: None,
            reason: "cannot look",
        };
        assert!(!unknown.is_retryable());
        assert!(!Error::InvalidArgument("x".to_owned()).is_retryable());
    }
}
