//! # osscb-core
//!
//! Sans-IO building blocks for Alibaba Cloud OSS uploads with **upload
//! callbacks**: complete signed `http::Request`s, callback headers, presigned
//! URLs; typed parsing of responses, including the HTTP 203 `CallbackFailed`
//! outcome where the object is stored but the callback failed. No sockets, no
//! clock, no environment: time, credentials and bytes are passed in.
//!
//! - Requests: [`ops`] (one module per operation, the [`ops::Operation`]
//!   trait), [`OssRequest::sign`] and [`OssRequest::presign`] with Signature V1
//!   or V4 ([`sign`]), [`post_policy`] for browser and mobile direct uploads.
//! - Callbacks: [`callback`] builds them, [`verify`] checks OSS's signed
//!   callbacks on the application server.
//! - Responses: [`response`] (errors, `CallbackFailed`, callback answers), [`crc64`].
//! - Dates in every format the protocol uses: [`time`].
//! - What both transports share: [`transport`], [`retry`], [`upload`].
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use osscb_core::callback::{Callback, Var};
//! use osscb_core::ops::{Operation, PutObject};
//! use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey};
//!
//! let config = Config::v1(Endpoint::parse("oss-cn-hangzhou.aliyuncs.com")?);
//! let credentials = Credentials::new("LTAI-example", "secret");
//! let callback = Callback::builder("https://app.example.com/oss-callback")
//!     .body(format!("bucket={}&object={}", Var::Bucket, Var::Object))
//!     .build()?;
//! let put = PutObject::new(Bucket::new("examplebucket")?, ObjectKey::new("exampleobject.txt")?)
//!     .content_length(5)
//!     .callback(callback);
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let request = put.request()?.map_body(|()| b"hello".to_vec()).sign(&config, &credentials, now)?;
//! assert_eq!(request.uri(), "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/exampleobject.txt");
//! assert!(request.headers().contains_key("x-oss-callback"));
//! assert!(request.headers()["authorization"].to_str()?.starts_with("OSS LTAI-example:"));
//!
//! // Send `request` with any HTTP client, then read the answer:
//! let response = http::Response::builder()
//!     .status(200)
//!     .header("etag", "\"5D41402ABC4B2A76B9719D911017C592\"")
//!     .body(br#"{"Status":"OK"}"#.to_vec())?;
//! let output = put.parse(response)?;
//! assert_eq!(output.callback.map(|a| a.text()).as_deref(), Some(r#"{"Status":"OK"}"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use http;

pub mod callback;
pub mod crc64;
pub mod credentials;
mod error;
pub mod flow;
pub mod grant;
mod names;
pub mod ops;
pub mod post_policy;
mod request;
pub mod response;
pub mod retry;
pub mod sign;
pub mod time;
pub mod transport;
pub mod upload;
pub mod verify;

pub use credentials::{Credentials, CredentialsError, ProvideCredentials};
pub use error::Error;
pub use names::{AddressingStyle, Bucket, Endpoint, ObjectKey};
pub use request::{Config, OssRequest, PresignedRequest, SigningStrings};
pub use sign::v4::Region;
