//! # osscb-async
//!
//! Alibaba Cloud OSS uploads with upload callbacks over [reqwest] and tokio: a thin
//! transport for [`osscb_core`]. The core builds and signs every request,
//! reads every answer and makes every decision of the workflow (retries,
//! checkpoints, lost answers: [`osscb_core::flow`]); this crate moves bytes
//! (streamed files, parallel parts on one task) and writes checkpoint files.
//!
//! ```no_run
//! # async fn run() -> Result<(), osscb_async::Error> {
//! use osscb_async::{Client, UploadOptions};
//! use osscb_async::osscb_core::callback::{Callback, Var};
//!
//! // OSS_ENDPOINT, OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET (and OSS_SESSION_TOKEN;
//! // OSS_REGION selects Signature V4).
//! let client = Client::from_env()?;
//! let bucket = client.bucket("examplebucket")?;
//! let callback = Callback::builder("https://app.example.com/oss-callback")
//!     .body(format!("bucket={}&object={}", Var::Bucket, Var::Object))
//!     .build()?;
//! let options = UploadOptions::new().callback(callback);
//! let output = bucket.put_object("exampledir/exampleobject.txt", &b"hello"[..], &options).await?;
//! println!("{}", output.callback.map(|a| a.text()).unwrap_or_default());
//! # Ok(())
//! # }
//! ```
//!
//! A 203 answer (object stored, callback failed) is
//! [`osscb_core::Error::callback_failed`]. Results and errors are the core's: one
//! [`Error`] for the whole toolkit.

mod bucket;
mod client;
mod credentials;
mod keys;
mod tls;

pub use osscb_core;
pub use osscb_core::Error;
pub use osscb_core::transport::ClientOptions;
pub use osscb_core::upload::{UploadOptions, UploadOutput};
/// The HTTP client this transport runs on, for [`Client::with_http_client`].
/// Compiled without a crypto provider of its own (feature
/// `rustls-no-provider`; osscb's clients use rustls on ring): build yours
/// from [`http_client_builder`], or bring a provider (reqwest's `rustls`
/// feature in your Cargo.toml, a process default you install, or a
/// `rustls::ClientConfig` given to `tls_backend_preconfigured`).
pub use reqwest;
pub use tls::http_client_builder;

pub use bucket::{Bucket, ObjectStream};
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

/// A failed HTTP exchange, its URL removed: a presigned one carries its
/// signature and STS token.
pub(crate) fn transport_error(error: reqwest::Error) -> Error {
    Error::Transport(Box::new(error.without_url()))
}

/// This crate's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
