//! Exit codes (listed in `osscb --help`) and the message each failure prints.

use std::process::ExitCode;

use osscb_core::Error;
use osscb_core::response::ObjectFacts;

/// An error: nothing uploaded, or a download or a check failed.
const OTHER: u8 = 1;
/// A usage error (clap uses the same code for its own).
const USAGE: u8 = 2;
/// The object was stored, but its upload callback failed (HTTP 203).
const CALLBACK_FAILED: u8 = 3;
/// The outcome of an upload with a callback is unknown: it may be stored.
const OUTCOME_UNKNOWN: u8 = 4;

/// Why a subcommand failed: its exit code and the line it prints on stderr.
#[derive(Debug)]
pub(crate) struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// An error (exit code 1).
    pub(crate) fn other(message: impl std::fmt::Display) -> Self {
        let message = message.to_string();
        Self {
            code: OTHER,
            message,
        }
    }

    /// A usage error (exit code 2).
    pub(crate) fn usage(message: impl std::fmt::Display) -> Self {
        let message = message.to_string();
        Self {
            code: USAGE,
            message,
        }
    }

    /// An upload's error: a 203 (exit code 3), a lost answer or an unknown
    /// outcome (exit code 4, since the object may be stored), else 1.
    pub(crate) fn upload(error: &Error) -> Self {
        if let Some(failed) = error.callback_failed() {
            let reason = match failed.error.message.as_str() {
                "" => failed.error.code.as_str(),
                message => message,
            };
            return Self {
                code: CALLBACK_FAILED,
                message: format!(
                    "stored as {}; the callback failed: {reason}",
                    facts(&failed.object)
                ),
            };
        }
        let advice = match error {
            Error::AnswerLost(_) => "Do not",
            Error::OutcomeUnknown { .. } => "The object may be stored: do not",
            _ => return Self::other(error),
        };
        Self {
            code: OUTCOME_UNKNOWN,
            message: format!(
                "{error}. {advice} upload it again blindly (a second upload calls the application server again); look at the object first (osscb cat)"
            ),
        }
    }

    /// Whether this is a plain error (exit code 1).
    pub(crate) fn is_other(&self) -> bool {
        self.code == OTHER
    }

    /// Prints the message and gives the exit code.
    pub(crate) fn report(self) -> ExitCode {
        eprintln!("osscb: {}", self.message);
        ExitCode::from(self.code)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::other(error)
    }
}

/// `ETag "…", CRC-64 …, request id …`, each `unknown` when OSS did not say.
pub(crate) fn facts(object: &ObjectFacts) -> String {
    let unknown = || "unknown".to_owned();
    format!(
        "ETag {}, CRC-64 {}, request id {}",
        object.etag.clone().unwrap_or_else(unknown),
        object.crc64.map_or_else(unknown, |c| c.to_string()),
        object.request_id.clone().unwrap_or_else(unknown),
    )
}
