//! The same checks as a tower layer, for services that are not axum
//! handlers (or for a whole axum router): a checked request goes on with its
//! [`CheckedCallback`] in its extensions; any other gets the 400 answer from
//! the layer itself.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body as AxumBody;
use axum::http::{Request, Response};
use bytes::Bytes;
use http_body::Body;
use http_body_util::{Either, Full};
use tower::{Layer, Service};

use crate::checker::{CallbackChecker, CheckedCallback};

/// Wraps a service in [`VerifyCallback`].
#[derive(Clone, Debug)]
pub struct VerifyCallbackLayer {
    checker: CallbackChecker,
}

impl VerifyCallbackLayer {
    /// Checks every request with `checker`.
    pub fn new(checker: CallbackChecker) -> Self {
        Self { checker }
    }
}

impl<S> Layer<S> for VerifyCallbackLayer {
    type Service = VerifyCallback<S>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyCallback {
            inner,
            checker: self.checker.clone(),
        }
    }
}

/// Reads each request's body (at most
/// [`MAX_CALLBACK_BODY`](crate::MAX_CALLBACK_BODY)) and runs
/// [`CallbackChecker::check`]; the inner service gets the request with the
/// body read whole (an [`axum::body::Body`]) and a [`CheckedCallback`]
/// extension (parse its body with [`CheckedCallback::parse`]). A refused request never reaches it: the
/// answer is [`CallbackRejection::to_http`](crate::CallbackRejection::to_http).
#[derive(Clone, Debug)]
pub struct VerifyCallback<S> {
    inner: S,
    checker: CallbackChecker,
}

/// The answer of [`VerifyCallback`]: the inner service's body, or the
/// rejection's.
pub type VerifyCallbackBody<B> = Either<B, Full<Bytes>>;

impl<S, B, ResBody> Service<Request<B>> for VerifyCallback<S>
where
    S: Service<Request<AxumBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<VerifyCallbackBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone is not ready: call the one that was polled ready.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let checker = self.checker.clone();
        Box::pin(async move {
            match checker.check(request).await {
                Ok((request, checked)) => {
                    let (mut parts, body) = request.into_parts();
                    parts.extensions.insert::<CheckedCallback>(checked);
                    let response = inner
                        .call(Request::from_parts(parts, AxumBody::from(body)))
                        .await?;
                    Ok(response.map(Either::Left))
                }
                Err(rejection) => Ok(rejection.to_http().map(Either::Right)),
            }
        })
    }
}
