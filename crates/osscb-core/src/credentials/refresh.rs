//! [`Refresher`]: when a provider fetches credentials again. Every provider
//! of both transports follows this one policy.
//!
//! Temporary credentials are fetched again before they expire: at the latest
//! 3 minutes before (credentials-go's `isSessionCredentialStale`, 180 s), and
//! for short-lived ones when a quarter of their lifetime is left, so that a
//! request is never signed with credentials about to lapse. When a refresh
//! fails, the credentials held are used while they last, and the failure is
//! reported only once they have expired: a metadata service that hiccups
//! does not fail requests that could still be signed. Credentials without an
//! expiration (an AccessKey) are fetched once.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use osscb_core::Credentials;
//! use osscb_core::credentials::refresh::Refresher;
//! use osscb_core::credentials::source::Source;
//!
//! let mut refresher = Refresher::new(Source::Static(Credentials::new("id", "secret")));
//! let now = SystemTime::now();
//! let fetch = refresher.get(now, 1).expect_err("nothing held yet: fetch first");
//! // (A static source needs no request: the fetch is already finished.)
//! let credentials = refresher.finish(&fetch, now)?;
//! let later = refresher.get(now + Duration::from_secs(86_400), 2);
//! assert_eq!(later.ok(), Some(credentials), "an AccessKey is fetched once");
//! # Ok::<(), osscb_core::CredentialsError>(())
//! ```

use std::time::{Duration, SystemTime};

use super::fetch::Fetch;
use super::source::Source;
use crate::{Credentials, CredentialsError};

/// The most time before expiry at which credentials are fetched again.
const REFRESH_MARGIN: Duration = Duration::from_secs(180);

/// A source and the credentials last fetched from it.
#[derive(Debug)]
pub struct Refresher {
    source: Source,
    held: Option<Held>,
}

#[derive(Debug)]
struct Held {
    credentials: Credentials,
    /// When to fetch again, if ever.
    refresh_at: Option<SystemTime>,
}

impl Refresher {
    /// Nothing held yet.
    pub fn new(source: Source) -> Self {
        Self { source, held: None }
    }

    /// The source (in a chain, once one gave credentials: that one).
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The credentials to sign with at `now`, or the fetch to run first
    /// (then hand it to [`Refresher::finish`]). `nonce` is the fetch's.
    ///
    /// # Errors
    /// `Err(fetch)`: nothing is held, or it is due for a refresh.
    pub fn get(&self, now: SystemTime, nonce: u64) -> Result<Credentials, Box<Fetch>> {
        match &self.held {
            Some(held) if held.refresh_at.is_none_or(|at| now < at) => Ok(held.credentials.clone()),
            _ => Err(Box::new(Fetch::new(&self.source, now, nonce))),
        }
    }

    /// Takes a fetch that ran to its end (its `next_step` answered `None`):
    /// keeps what it gave, or keeps using what is held while it has not
    /// expired.
    ///
    /// # Errors
    /// The fetch failed and nothing unexpired is held.
    pub fn finish(
        &mut self,
        fetch: &Fetch,
        now: SystemTime,
    ) -> Result<Credentials, CredentialsError> {
        let result = fetch
            .result()
            .unwrap_or_else(|| Err(CredentialsError("the fetch did not finish".to_owned())));
        match result {
            Ok(credentials) => {
                if let Some(chosen) = fetch.settled() {
                    self.source = chosen.clone();
                }
                let refresh_at = credentials.expiration().map(|expiry| {
                    let lifetime = expiry.duration_since(now).unwrap_or_default();
                    expiry - REFRESH_MARGIN.min(lifetime / 4)
                });
                self.held = Some(Held {
                    credentials: credentials.clone(),
                    refresh_at,
                });
                Ok(credentials)
            }
            Err(error) => match &self.held {
                Some(held) if held.credentials.expiration().is_some_and(|at| now < at) => {
                    tracing::warn!(
                        source = self.source.kind(),
                        %error,
                        "refreshing credentials failed; those held are used until they expire"
                    );
                    Ok(held.credentials.clone())
                }
                _ => Err(error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::fetch::FetchStep;
    use crate::credentials::source::EcsRamRole;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn ecs() -> Source {
        Source::EcsRamRole(EcsRamRole {
            role_name: Some("r".to_owned()),
            endpoint: "http://127.0.0.1:1".to_owned(),
            imdsv1_disabled: false,
        })
    }

    /// Runs `fetch` answering the metadata service's two requests: a token,
    /// then credentials expiring at `expiry` (or a 500 when `None`).
    fn answer(fetch: &mut Fetch, key: &str, expiry: Option<u64>) {
        let mut requests = 0;
        while let Some(step) = fetch.next_step() {
            requests += 1;
            assert!(matches!(step, FetchStep::Send { .. }), "{step:?}");
            let response = match (requests, expiry) {
                (1, _) => http::Response::new(b"token".to_vec()),
                (_, Some(expiry)) => {
                    let expiration = crate::time::iso8601_seconds(at(expiry)).unwrap_or_default();
                    let body = format!(
                        r#"{{"Code":"Success","AccessKeyId":"{key}","AccessKeySecret":"s","SecurityToken":"t","Expiration":"{expiration}"}}"#
                    );
                    http::Response::new(body.into_bytes())
                }
                (_, None) => {
                    let mut response = http::Response::new(b"down".to_vec());
                    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                    response
                }
            };
            fetch.on_response(Ok(response));
        }
        assert_eq!(requests, 2);
    }

    #[test]
    fn temporary_credentials_are_refreshed_before_they_expire() {
        let mut refresher = Refresher::new(ecs());
        // An hour's credentials: refreshed 3 minutes before expiry.
        let mut fetch = refresher.get(at(1000), 1).expect_err("nothing held");
        answer(&mut fetch, "first", Some(4600));
        let first = refresher
            .finish(&fetch, at(1000))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.access_key_id(), "first");
        let held = refresher
            .get(at(4419), 2)
            .unwrap_or_else(|_| panic!("still fresh"));
        assert_eq!(held, first);
        let mut fetch = refresher
            .get(at(4420), 3)
            .expect_err("due 180 s before expiry");
        // 8-second credentials: refreshed with 2 seconds left.
        answer(&mut fetch, "second", Some(4428));
        refresher
            .finish(&fetch, at(4420))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(refresher.get(at(4425), 4).is_ok());
        assert!(refresher.get(at(4426), 5).is_err());
    }

    #[test]
    fn a_failed_refresh_keeps_unexpired_credentials_and_then_fails() {
        let mut refresher = Refresher::new(ecs());
        let mut fetch = refresher.get(at(0), 1).expect_err("nothing held");
        answer(&mut fetch, "held", Some(100));
        refresher
            .finish(&fetch, at(0))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut fetch = refresher.get(at(90), 2).expect_err("due");
        answer(&mut fetch, "never", None);
        let kept = refresher
            .finish(&fetch, at(90))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kept.access_key_id(), "held");
        let mut fetch = refresher.get(at(100), 3).expect_err("due");
        answer(&mut fetch, "never", None);
        let error = refresher.finish(&fetch, at(100)).expect_err("expired");
        assert_eq!(
            error.0, "the metadata service: HTTP 500: down",
            "the error names the service and its answer"
        );
    }
}
