//! What the extractor and the layer check, configured once: the signature
//! (with the [`Verifier`]'s key cache) and, when required, the callback
//! binding and its nonce, each accepted once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::extract::OriginalUri;
use axum::http::Request;
use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use osscb_core::callback::CallbackBodyType;
use osscb_core::grant::{Grant, Seal};
use osscb_core::verify::{VerifiedCallback, Verifier};
use serde::de::DeserializeOwned;

use crate::rejection::{CallbackRejection, RejectionKind};

/// The largest callback body read: 64 KiB. OSS expands the callback's
/// `callbackBody` template, which travels in a callback parameter of at most
/// 5 KiB (Callback API page), so a genuine body stays far below this; the cap
/// bounds what a forged request makes the server buffer and hash.
pub const MAX_CALLBACK_BODY: usize = 64 * 1024;

/// How callbacks are checked: the [`Verifier`] (keep one per process: it
/// holds the key cache; its body type says how bodies are read) and,
/// optionally, the callback binding of [`osscb_core::grant`]. Clones share
/// the key cache and the used nonces.
#[derive(Clone, Debug)]
pub struct CallbackChecker {
    verifier: Verifier,
    binding: Option<Arc<Binding>>,
}

/// The seal grants are checked with, and the nonces already accepted.
#[derive(Debug)]
struct Binding {
    seal: Seal,
    remember: Duration,
    used: Mutex<HashMap<String, SystemTime>>,
}

/// A callback that passed every configured check.
#[derive(Clone, Debug)]
pub struct CheckedCallback {
    /// The verified callback: raw body and its variables.
    pub callback: VerifiedCallback,
    /// The grant it carries, when the checker requires one.
    pub grant: Option<Grant>,
}

impl CallbackChecker {
    /// Checks signatures with `verifier`; no binding is required.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            binding: None,
        }
    }

    /// Also requires each callback to carry a grant of `seal` covering the
    /// bucket and object its body names, unexpired ([`Seal::check`]), and
    /// accepts each grant's nonce once: a nonce is remembered for
    /// `remember` (make it at least as long as the grants you issue live),
    /// so memory grows with the callbacks accepted in that window.
    #[must_use]
    pub fn require_grant(mut self, seal: Seal, remember: Duration) -> Self {
        self.binding = Some(Arc::new(Binding {
            seal,
            remember,
            used: Mutex::new(HashMap::new()),
        }));
        self
    }

    /// Reads `request`'s body (at most [`MAX_CALLBACK_BODY`]) and checks it:
    /// signature, then grant and nonce when required.
    ///
    /// # Errors
    /// The first check that fails, as a 400 answer.
    pub async fn check<B>(
        &self,
        request: Request<B>,
    ) -> Result<(Request<Bytes>, CheckedCallback), CallbackRejection>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let request = read(request).await?;
        let checked = self.verify(&request).await?;
        self.accept(&checked)?;
        Ok((request, checked))
    }

    /// The signature, then the grant (without using its nonce).
    pub(crate) async fn verify(
        &self,
        request: &Request<Bytes>,
    ) -> Result<CheckedCallback, CallbackRejection> {
        // OSS signed the path it called, before any router nested it.
        let callback = match request.extensions().get::<OriginalUri>() {
            Some(OriginalUri(uri)) if uri != request.uri() => {
                let mut signed = Request::new(request.body().clone());
                *signed.uri_mut() = uri.clone();
                signed.headers_mut().clone_from(request.headers());
                osscb_async::verify_callback(&self.verifier, &signed).await?
            }
            _ => osscb_async::verify_callback(&self.verifier, request).await?,
        };
        let grant = match &self.binding {
            Some(binding) => Some(binding.seal.check(&callback, SystemTime::now())?),
            None => None,
        };
        Ok(CheckedCallback { callback, grant })
    }

    /// Records the grant's nonce as used; refuses one used before.
    pub(crate) fn accept(&self, checked: &CheckedCallback) -> Result<(), CallbackRejection> {
        let (Some(binding), Some(grant)) = (&self.binding, &checked.grant) else {
            return Ok(());
        };
        let now = SystemTime::now();
        let mut used = binding.used.lock().unwrap_or_else(PoisonError::into_inner);
        used.retain(|_, at| {
            now.duration_since(*at)
                .map_or(true, |age| age <= binding.remember)
        });
        if used.insert(grant.nonce.clone(), now).is_some() {
            let message = "the callback's grant was already used";
            return Err(CallbackRejection::new(
                RejectionKind::Binding,
                message,
                format!("the callback's grant {} was already used", grant.nonce),
            ));
        }
        Ok(())
    }
}

impl CheckedCallback {
    /// The body as `T`: JSON or form-urlencoded, as the [`Verifier`] declared
    /// (never as the unsigned `Content-Type` says). Form values are text,
    /// parsed into numbers or booleans where `T` asks for them.
    ///
    /// # Errors
    /// A [`RejectionKind::Body`] rejection when the body does not fit `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, CallbackRejection> {
        let body = self.callback.body();
        let parsed = match self.callback.body_type() {
            CallbackBodyType::Json => serde_json::from_slice(body).map_err(|e| e.to_string()),
            CallbackBodyType::FormUrlEncoded => {
                serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())
            }
        };
        parsed.map_err(|detail| {
            CallbackRejection::new(
                RejectionKind::Body,
                "the callback body does not have the fields this server expects",
                format!("the callback body does not fit: {detail}"),
            )
        })
    }
}

/// The request with its body read whole, at most [`MAX_CALLBACK_BODY`].
pub(crate) async fn read<B>(request: Request<B>) -> Result<Request<Bytes>, CallbackRejection>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    match Limited::new(body, MAX_CALLBACK_BODY).collect().await {
        Ok(body) => Ok(Request::from_parts(parts, body.to_bytes())),
        Err(e) if e.is::<LengthLimitError>() => Err(CallbackRejection::new(
            RejectionKind::Body,
            "the callback body is over 64 KiB",
            format!("the callback body is over {MAX_CALLBACK_BODY} bytes"),
        )),
        Err(e) => Err(CallbackRejection::new(
            RejectionKind::Body,
            "the callback body could not be read",
            format!("the callback body could not be read: {e}"),
        )),
    }
}
