//! # osscb-blocking
//!
//! Alibaba Cloud OSS uploads with upload callbacks over [ureq]: a thin
//! transport for [`osscb_core`]. The core builds and signs every request,
//! reads every answer and makes every decision of the workflow (retries,
//! checkpoints, lost answers: [`osscb_core::flow`]); this crate moves bytes
//! (streamed files, parallel parts on threads) and writes checkpoint files.
//!
//! ```no_run
//! use osscb_blocking::{Client, UploadOptions};
//! use osscb_blocking::osscb_core::callback::{Callback, Var};
//!
//! // OSS_ENDPOINT, OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET (and OSS_SESSION_TOKEN;
//! // OSS_REGION selects Signature V4).
//! let client = Client::from_env()?;
//! let bucket = client.bucket("examplebucket")?;
//! let callback = Callback::builder("https://app.example.com/oss-callback")
//!     .body(format!("bucket={}&object={}", Var::Bucket, Var::Object))
//!     .build()
//!     .map_err(osscb_blocking::osscb_core::Error::from)?;
//! let options = UploadOptions::new().callback(callback);
//! let output = bucket.put_object("exampledir/exampleobject.txt", b"hello", &options)?;
//! println!("{}", output.callback.map(|a| a.text()).unwrap_or_default());
//! # Ok::<(), osscb_blocking::Error>(())
//! ```
//!
//! A 203 answer (object stored, callback failed) is
//! [`Error::callback_failed`]; results and the other errors are the core's.

mod bucket;
mod client;
mod keys;

use std::path::PathBuf;

pub use osscb_core;
pub use osscb_core::upload::UploadOptions;

pub use bucket::Bucket;
pub use client::{Client, ClientBuilder};
pub use keys::verify_callback;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// From osscb-core: an OSS error, a callback failure (203: the object was
    /// stored), a CRC-64 mismatch, an invalid argument, a malformed answer…
    #[error(transparent)]
    Oss(#[from] osscb_core::Error),
    /// The HTTP exchange failed (connection, timeout, protocol), after retries.
    #[error("HTTP transport error: {0}")]
    Http(#[from] ureq::Error),
    /// Reading or writing a local file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// A callback did not verify.
    #[error(transparent)]
    Verify(#[from] osscb_core::verify::VerifyError),
}

impl Error {
    /// The core's error, if this is one.
    pub fn oss(&self) -> Option<&osscb_core::Error> {
        match self {
            Self::Oss(e) => Some(e),
            _ => None,
        }
    }

    /// The callback failure (HTTP 203), if the object was stored but its
    /// callback failed.
    pub fn callback_failed(&self) -> Option<&osscb_core::response::CallbackFailed> {
        self.oss().and_then(osscb_core::Error::callback_failed)
    }

    /// The OSS error, if OSS answered with one.
    pub fn service(&self) -> Option<&osscb_core::response::ServiceError> {
        self.oss().and_then(osscb_core::Error::service)
    }

    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// This crate's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The README's code blocks, compiled (and run unless `no_run`) as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
