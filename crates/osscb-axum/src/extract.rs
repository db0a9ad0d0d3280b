//! The axum extractor: a verified, (optionally) bound callback whose body
//! is deserialised into the handler's type.

use axum::extract::{FromRef, FromRequest, Request};
use osscb_core::grant::Grant;
use osscb_core::verify::VerifiedCallback;
use serde::de::DeserializeOwned;

use crate::checker::{CallbackChecker, read};
use crate::rejection::CallbackRejection;

/// A callback from OSS, checked by the router state's [`CallbackChecker`]
/// (taken with [`FromRef`], so the state is the checker itself or a struct
/// with one), its body deserialised into `T`.
///
/// In order: the body is read (at most
/// [`MAX_CALLBACK_BODY`](crate::MAX_CALLBACK_BODY)); the signature is
/// verified over the path OSS called (the original URI, also under a nested
/// router), the query and the body; the grant is checked when the checker
/// requires one; the body becomes `T`; last, the grant's nonce is recorded,
/// so a callback refused for its body can be sent again. Any failure
/// answers 400 with a [`CallbackRejection`]. Take
/// `Result<OssCallback<T>, CallbackRejection>` to log or reshape refusals.
///
/// The body limit is the extractor's own: axum's `DefaultBodyLimit` does
/// not apply.
///
/// `T` may be `serde_json::Value` (any JSON body) or
/// `serde::de::IgnoredAny` (when only the checks matter: the fields are in
/// [`OssCallback::callback`] all the same).
#[derive(Clone, Debug)]
pub struct OssCallback<T> {
    /// The body, deserialised.
    pub data: T,
    /// The verified callback: raw body and its variables.
    pub callback: VerifiedCallback,
    /// The grant the callback carries, when the checker requires one.
    pub grant: Option<Grant>,
}

impl<S, T> FromRequest<S> for OssCallback<T>
where
    S: Send + Sync,
    CallbackChecker: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = CallbackRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let checker = CallbackChecker::from_ref(state);
        let request = read(request).await?;
        let checked = checker.verify(&request).await?;
        let data = checked.parse()?;
        checker.accept(&checked)?;
        Ok(Self {
            data,
            callback: checked.callback,
            grant: checked.grant,
        })
    }
}
