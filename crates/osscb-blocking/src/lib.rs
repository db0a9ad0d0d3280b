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
//! // OSS_ENDPOINT (or OSS_REGION, which selects Signature V4); credentials from
//! // the default chain: OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET (and
//! // OSS_SESSION_TOKEN), then the official sources (profiles, ECS RAM role, …).
//! let client = Client::from_env()?;
//! let bucket = client.bucket("examplebucket")?;
//! let callback = Callback::builder("https://app.example.com/oss-callback")
//!     .body(format!("bucket={}&object={}", Var::Bucket, Var::Object))
//!     .build()?;
//! let options = UploadOptions::new().callback(callback);
//! let output = bucket.put_object("exampledir/exampleobject.txt", b"hello", &options)?;
//! println!("{}", output.callback.map(|a| a.text()).unwrap_or_default());
//! # Ok::<(), osscb_blocking::Error>(())
//! ```
//!
//! A 203 answer (object stored, callback failed) is
//! [`osscb_core::Error::callback_failed`]. Results and errors are the core's: one
//! [`Error`] for the whole toolkit.

mod bucket;
mod client;
mod credentials;
mod keys;

pub use osscb_core;
pub use osscb_core::Error;
pub use osscb_core::transport::ClientOptions;
pub use osscb_core::upload::{UploadOptions, UploadOutput};
/// The HTTP client this transport runs on, for [`Client::with_agent`].
pub use ureq;

pub use bucket::{Bucket, ObjectReader};
pub use client::Client;
pub use credentials::CredentialsProvider;
pub use keys::verify_callback;

/// A file error at `path`.
pub(crate) fn file_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// A failed HTTP exchange.
pub(crate) fn transport_error(error: impl Into<ureq::Error>) -> Error {
    Error::Transport(Box::new(error.into()))
}

/// This crate's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The README's code blocks, compiled (and run unless `no_run`) as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
