//! Verified OSS upload callbacks for axum: the [`OssCallback`] extractor,
//! and the [`VerifyCallbackLayer`] tower layer for other routers.
//!
//! Both run one [`CallbackChecker`]: the signature, with the
//! [`Verifier`](osscb_core::verify::Verifier)'s key cache (keys it does not
//! have built in are fetched by [`osscb_async::verify_callback`]), then,
//! when configured, the callback binding of [`osscb_core::grant`], whose
//! nonces it accepts once. The body is read up to [`MAX_CALLBACK_BODY`]
//! (64 KiB) and deserialised into the handler's type as the verifier's body
//! type declares (form or JSON). A refusal answers 400 with
//! `{"error": "signature" | "key" | "binding" | "body", "message": …}` and
//! nothing internal ([`CallbackRejection`]). The rules themselves are the
//! core's; this crate only moves bytes to them.
//!
//! The extractor takes its checker from the router state with
//! [`FromRef`](axum::extract::FromRef): the state is the checker, or a
//! struct that derives `FromRef` with a checker field.
//!
//! ```
//! use axum::{Json, Router, routing::post};
//! use osscb_axum::{CallbackChecker, OssCallback};
//! use osscb_core::verify::Verifier;
//! use tower::ServiceExt as _;
//!
//! #[derive(serde::Deserialize)]
//! struct Upload {
//!     bucket: String,
//! }
//!
//! async fn uploaded(OssCallback { data, .. }: OssCallback<Upload>) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({ "stored_in": data.bucket }))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // OSS's own key is built in; add `.require_grant(seal, …)` to bind
//! // callbacks to the uploads your server issued.
//! let checker = CallbackChecker::new(Verifier::new());
//! let app = Router::new().route("/index.php", post(uploaded)).with_state(checker);
//!
//! // The Callback API page's example, signed by OSS.
//! let callback = axum::http::Request::post("/index.php?id=1&index=2")
//!     .header("authorization", "kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA==")
//!     .header("x-oss-pub-key-url", "aHR0cDovL2dvc3NwdWJsaWMuYWxpY2RuLmNvbS9jYWxsYmFja19wdWJfa2V5X3YxLnBlbQ==")
//!     .body(axum::body::Body::from("bucket=yonghu-test"))
//!     .unwrap();
//! let answer = app.oneshot(callback).await.unwrap();
//! assert_eq!(answer.status(), 200);
//! let body = axum::body::to_bytes(answer.into_body(), 1024).await.unwrap();
//! assert_eq!(&body[..], br#"{"stored_in":"yonghu-test"}"#);
//! # }
//! ```

mod checker;
mod extract;
mod layer;
mod rejection;

pub use checker::{CallbackChecker, CheckedCallback, MAX_CALLBACK_BODY};
pub use extract::OssCallback;
pub use layer::{VerifyCallback, VerifyCallbackBody, VerifyCallbackLayer};
pub use rejection::{CallbackRejection, RejectionKind};

pub use axum;
