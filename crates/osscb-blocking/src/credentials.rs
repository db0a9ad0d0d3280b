//! Credentials fetched from a [`Source`] — the ECS metadata service, STS, a
//! credentials URI, the default chain — and refreshed before they expire.
//! The core's [`Fetch`](osscb_core::credentials::fetch::Fetch) machine says
//! what to ask and its [`Refresher`] when; this executes the requests.

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use osscb_core::credentials::chain::Vars;
use osscb_core::credentials::fetch::{FetchStep, MAX_ANSWER_LEN};
use osscb_core::credentials::refresh::Refresher;
use osscb_core::credentials::source::Source;
use osscb_core::http;
use osscb_core::{Credentials, CredentialsError, ProvideCredentials};

use crate::client::seed;

/// A refreshing [`ProvideCredentials`]: give it to
/// [`ClientOptions::credentials`](osscb_core::transport::ClientOptions::credentials),
/// or use [`ClientOptions::credentials_source`](osscb_core::transport::ClientOptions::credentials_source)
/// and the client makes one. Requests wait while it refreshes (one refresh
/// at a time; the others then use its result).
#[derive(Debug)]
pub struct CredentialsProvider {
    agent: ureq::Agent,
    refresher: Mutex<Refresher>,
}

impl CredentialsProvider {
    /// Fetches from `source` with a default agent.
    pub fn new(source: Source) -> Self {
        Self::with_agent(source, ureq::Agent::new_with_defaults())
    }

    /// Fetches from `source` through `agent` (its proxy, TLS roots and pool).
    pub fn with_agent(source: Source, agent: ureq::Agent) -> Self {
        Self {
            agent,
            refresher: Mutex::new(Refresher::new(source)),
        }
    }
}

impl ProvideCredentials for CredentialsProvider {
    fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let mut refresher = self
            .refresher
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut fetch = match refresher.get(SystemTime::now(), seed()) {
            Ok(credentials) => return Ok(credentials),
            Err(fetch) => fetch,
        };
        let span = tracing::debug_span!("osscb.credentials", source = refresher.source().kind());
        let _entered = span.enter();
        while let Some(step) = fetch.next_step() {
            match step {
                FetchStep::Send { request, timeout } => {
                    fetch.on_response(send(&self.agent, request, timeout));
                }
                FetchStep::ReadFile(path) => fetch.on_file(read(&path)),
            }
        }
        refresher.finish(&fetch, SystemTime::now())
    }
}

fn send(
    agent: &ureq::Agent,
    request: http::Request<Vec<u8>>,
    timeout: Duration,
) -> Result<http::Response<Vec<u8>>, String> {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let request = agent
        .configure_request(request)
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .build();
    let response = agent.run(request).map_err(|e| e.to_string());
    tracing::debug!(%method, path, status = response.as_ref().ok().map(|r| r.status().as_u16()), "osscb: credentials service answered");
    let (parts, mut body) = response?.into_parts();
    let bytes = body
        .with_config()
        .limit(MAX_ANSWER_LEN as u64 + 1)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok(http::Response::from_parts(parts, bytes))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

/// The process's variables and files, for the default chain.
pub(crate) fn with_process_vars<T>(f: impl FnOnce(&Vars<'_>) -> T) -> T {
    let var = |name: &str| std::env::var(name).ok();
    let read_file = |path: &Path| std::fs::read_to_string(path).ok();
    f(&Vars::new(&var, &read_file))
}
