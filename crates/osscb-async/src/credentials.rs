//! Credentials fetched from a [`Source`] — the ECS metadata service, STS, a
//! credentials URI, the default chain — and refreshed before they expire,
//! without blocking the runtime. The core's
//! [`Fetch`](osscb_core::credentials::fetch::Fetch) machine says what to ask
//! and its [`Refresher`] when; this executes the requests.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use osscb_core::credentials::chain::Vars;
use osscb_core::credentials::fetch::{FetchStep, MAX_ANSWER_LEN};
use osscb_core::credentials::refresh::Refresher;
use osscb_core::credentials::source::Source;
use osscb_core::http;
use osscb_core::transport::CredentialsPlan;
use osscb_core::{Credentials, CredentialsError, ProvideCredentials};
use tokio::sync::Mutex;

use crate::client::seed;

/// Credentials from a [`Source`], refreshed asynchronously: requests wait
/// while it refreshes (one refresh at a time; the others then use its
/// result). A client makes one for
/// [`ClientOptions::credentials_source`](osscb_core::transport::ClientOptions::credentials_source)
/// and for the default chain.
#[derive(Debug)]
pub struct CredentialsProvider {
    http: reqwest::Client,
    refresher: Mutex<Refresher>,
}

impl CredentialsProvider {
    /// Fetches from `source` through `http` (its proxy, TLS roots and pool).
    pub fn with_http_client(source: Source, http: reqwest::Client) -> Self {
        Self {
            http,
            refresher: Mutex::new(Refresher::new(source)),
        }
    }

    /// The credentials to sign with now, fetched first if none are held or
    /// they are due for a refresh.
    ///
    /// # Errors
    /// The source gave none and nothing unexpired is held.
    pub async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        use tracing::Instrument as _;
        let mut refresher = self.refresher.lock().await;
        let mut fetch = match refresher.get(SystemTime::now(), seed()) {
            Ok(credentials) => return Ok(credentials),
            Err(fetch) => fetch,
        };
        let span = tracing::debug_span!("osscb.credentials", source = refresher.source().kind());
        async {
            while let Some(step) = fetch.next_step() {
                match step {
                    FetchStep::Send { request, timeout } => {
                        fetch.on_response(send(&self.http, request, timeout).await);
                    }
                    FetchStep::ReadFile(path) => {
                        let text = tokio::fs::read_to_string(path).await;
                        fetch.on_file(text.map_err(|e| e.to_string()));
                    }
                }
            }
        }
        .instrument(span)
        .await;
        refresher.finish(&fetch, SystemTime::now())
    }
}

async fn send(
    http: &reqwest::Client,
    request: http::Request<Vec<u8>>,
    timeout: Duration,
) -> Result<http::Response<Vec<u8>>, String> {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let mut request =
        reqwest::Request::try_from(request).map_err(|e| e.without_url().to_string())?;
    *request.timeout_mut() = Some(timeout);
    let mut response = http
        .execute(request)
        .await
        .map_err(|e| e.without_url().to_string())?;
    let status = response.status().as_u16();
    tracing::debug!(%method, path, status, "osscb: credentials service answered");
    let mut body = Vec::new();
    while body.len() <= MAX_ANSWER_LEN
        && let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| e.without_url().to_string())?
    {
        body.extend_from_slice(&chunk);
    }
    let mut answer = http::Response::new(body);
    *answer.status_mut() = response.status();
    *answer.headers_mut() = std::mem::take(response.headers_mut());
    Ok(answer)
}

/// What a client signs with: a provider asked as it is, or credentials
/// fetched from a source without blocking.
#[derive(Clone, Debug)]
pub(crate) enum Signer {
    Provider(Arc<dyn ProvideCredentials>),
    Fetched(Arc<CredentialsProvider>),
}

impl Signer {
    /// From the options' plan; a source is fetched through `http`.
    pub(crate) fn new(plan: CredentialsPlan, http: &reqwest::Client) -> Self {
        match plan {
            CredentialsPlan::Provider(provider) => Signer::Provider(provider),
            CredentialsPlan::Source(source) => Signer::Fetched(Arc::new(
                CredentialsProvider::with_http_client(source, http.clone()),
            )),
        }
    }

    /// The credentials to sign the next request with.
    pub(crate) async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        match self {
            Signer::Provider(provider) => provider.credentials(),
            Signer::Fetched(provider) => provider.credentials().await,
        }
    }
}

/// The process's variables and files, for the default chain.
pub(crate) fn with_process_vars<T>(f: impl FnOnce(&Vars<'_>) -> T) -> T {
    let var = |name: &str| std::env::var(name).ok();
    let read_file = |path: &Path| std::fs::read_to_string(path).ok();
    f(&Vars::new(&var, &read_file))
}
