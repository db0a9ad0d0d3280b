//! [`Fetch`]: getting credentials from a [`Source`] as a sans-IO machine.
//! It hands out one HTTP request (or one file to read) at a time and parses
//! each answer; a transport only executes:
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use osscb_core::credentials::fetch::{Fetch, FetchStep};
//! use osscb_core::credentials::source::{EcsRamRole, Source};
//!
//! let source = Source::EcsRamRole(EcsRamRole {
//!     role_name: Some("app".to_owned()),
//!     endpoint: "http://127.0.0.1:9000/__osscb/metadata".to_owned(),
//!     imdsv1_disabled: false,
//! });
//! let mut fetch = Fetch::new(&source, SystemTime::now(), 7);
//! // The hardened mode's session token first…
//! let Some(FetchStep::Send { request, timeout }) = fetch.next_step() else { panic!() };
//! assert_eq!(request.uri(), "http://127.0.0.1:9000/__osscb/metadata/latest/api/token");
//! assert_eq!(timeout, Duration::from_secs(1));
//! let token = http::Response::new(b"T0KEN".to_vec());
//! fetch.on_response(Ok(token));
//! // …then the role's credentials.
//! let Some(FetchStep::Send { request, .. }) = fetch.next_step() else { panic!() };
//! assert_eq!(request.uri().path(), "/__osscb/metadata/latest/meta-data/ram/security-credentials/app");
//! assert_eq!(request.headers()["x-aliyun-ecs-metadata-token"], "T0KEN");
//! let body = br#"{"Code":"Success","AccessKeyId":"STS.id","AccessKeySecret":"s",
//!     "SecurityToken":"t","Expiration":"2030-01-01T00:00:00Z"}"#;
//! fetch.on_response(Ok(http::Response::new(body.to_vec())));
//! assert!(fetch.next_step().is_none());
//! let credentials = fetch.result().expect("done")?;
//! assert_eq!(credentials.access_key_id(), "STS.id");
//! assert_eq!(credentials.security_token(), Some("t"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use http::{HeaderValue, Method, Request, Response, header};
use serde::Deserialize;

use super::rpc;
use super::source::{EcsRamRole, OidcRoleArn, RamRoleArn, Source};
use crate::names::encode_query_component;
use crate::{Credentials, CredentialsError};

/// The longest answer a credentials service may give: 64 KiB. A transport
/// reads one byte more at most, and a longer answer is refused.
pub const MAX_ANSWER_LEN: usize = 64 * 1024;

/// How long to wait for the metadata service: 1 s, as credentials-go does, so
/// that a chain off ECS moves on quickly.
const METADATA_TIMEOUT: Duration = Duration::from_secs(1);

/// How long to wait for STS or a credentials URI (credentials-go: 5 s to
/// connect, 10 s to read).
const SERVICE_TIMEOUT: Duration = Duration::from_secs(10);

/// The metadata session token's lifetime asked for: 6 hours, as
/// credentials-go asks.
const METADATA_TOKEN_TTL: &str = "21600";

/// STS's API version.
const STS_VERSION: &str = "2015-04-01";

/// What the transport does next. Its `Debug` shows the method, path and
/// timeout only: a request's query and body may hold a signature, a security
/// token or an OIDC token.
#[expect(
    clippy::large_enum_variant,
    reason = "one step at a time, moved straight to the transport"
)]
pub enum FetchStep {
    /// Send this request, give up after `timeout`, and hand the answer back
    /// with [`Fetch::on_response`].
    Send {
        /// The request; its body is complete.
        request: Request<Vec<u8>>,
        /// The whole exchange's limit.
        timeout: Duration,
    },
    /// Read this file as UTF-8 and hand it back with [`Fetch::on_file`].
    ReadFile(PathBuf),
}

/// Getting credentials from a [`Source`]: call [`Fetch::next_step`], do what it
/// says and report back, until it answers `None`; then [`Fetch::result`].
/// Its `Debug` names the state, never a token it holds.
pub struct Fetch {
    state: State,
    now: SystemTime,
    nonce: u64,
    /// In a chain, the source that gave the credentials.
    settled: Option<Source>,
}

enum State {
    Ecs {
        source: EcsRamRole,
        stage: EcsStage,
        token: Option<String>,
    },
    Role {
        source: Box<RamRoleArn>,
        base: Box<Fetch>,
        sent: bool,
    },
    Oidc {
        source: OidcRoleArn,
        token: Option<String>,
        sent: bool,
    },
    Uri {
        url: String,
        sent: bool,
    },
    Chain {
        sources: Vec<Source>,
        index: usize,
        current: Box<Fetch>,
        errors: Vec<String>,
    },
    Done(Result<Credentials, CredentialsError>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EcsStage {
    Token,
    RoleName,
    Credentials,
}

impl fmt::Debug for FetchStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchStep::Send { request, timeout } => f
                .debug_struct("Send")
                .field("method", request.method())
                .field("path", &request.uri().path())
                .field("timeout", timeout)
                .finish_non_exhaustive(),
            FetchStep::ReadFile(path) => f.debug_tuple("ReadFile").field(path).finish(),
        }
    }
}

impl fmt::Debug for Fetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Ecs { stage, .. } => format!("ecs_ram_role at {stage:?}"),
            State::Role { sent, .. } => format!("ram_role_arn (sent: {sent})"),
            State::Oidc { sent, .. } => format!("oidc_role_arn (sent: {sent})"),
            State::Uri { sent, .. } => format!("credentials_uri (sent: {sent})"),
            State::Chain { index, .. } => format!("chain at source {index}"),
            State::Done(Ok(credentials)) => format!("done: {credentials}"),
            State::Done(Err(e)) => format!("failed: {e}"),
        };
        f.debug_struct("Fetch")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

impl Fetch {
    /// Gets credentials from `source` as of `now`; `nonce` makes STS's
    /// `SignatureNonce` unique (give a random one).
    pub fn new(source: &Source, now: SystemTime, nonce: u64) -> Self {
        let state = match source {
            Source::Static(credentials) => State::Done(Ok(credentials.clone())),
            Source::EcsRamRole(source) => State::Ecs {
                source: source.clone(),
                stage: EcsStage::Token,
                token: None,
            },
            Source::RamRoleArn(source) => State::Role {
                base: Box::new(Fetch::new(&source.base, now, nonce.rotate_left(17))),
                source: source.clone(),
                sent: false,
            },
            Source::OidcRoleArn(source) => State::Oidc {
                source: source.clone(),
                token: None,
                sent: false,
            },
            Source::Uri(url) => State::Uri {
                url: url.clone(),
                sent: false,
            },
            Source::Chain(sources) => match sources.first() {
                Some(first) => State::Chain {
                    current: Box::new(Fetch::new(first, now, nonce)),
                    sources: sources.clone(),
                    index: 0,
                    errors: Vec::new(),
                },
                None => State::Done(Err(CredentialsError(
                    "no credentials source is configured".to_owned(),
                ))),
            },
        };
        Self {
            state,
            now,
            nonce,
            settled: None,
        }
    }

    /// What to do next; `None` once the credentials (or the failure) are known.
    pub fn next_step(&mut self) -> Option<FetchStep> {
        let (now, nonce) = (self.now, self.nonce);
        let step = match &mut self.state {
            State::Done(_) => return None,
            State::Ecs {
                source,
                stage,
                token,
            } => ecs_request(source, *stage, token.as_deref()),
            State::Role { source, base, sent } => {
                if let Some(step) = base.next_step() {
                    return Some(step);
                }
                if *sent {
                    return None;
                }
                match base.take_result() {
                    Ok(credentials) => {
                        *sent = true;
                        assume_role(source, &credentials, now, nonce)
                    }
                    Err(e) => Err(e.0),
                }
            }
            State::Oidc {
                source,
                token,
                sent,
            } => match token {
                None => return Some(FetchStep::ReadFile(source.token_file.clone())),
                Some(_) if *sent => return None,
                Some(token) => {
                    *sent = true;
                    assume_role_with_oidc(source, token, now)
                }
            },
            State::Uri { url, sent } => {
                if *sent {
                    return None;
                }
                *sent = true;
                build(Method::GET, url).map(|request| FetchStep::Send {
                    request,
                    timeout: SERVICE_TIMEOUT,
                })
            }
            State::Chain { .. } => return self.next_in_chain(),
        };
        match step {
            Ok(step) => Some(step),
            Err(message) => {
                self.state = State::Done(Err(CredentialsError(message)));
                None
            }
        }
    }

    fn next_in_chain(&mut self) -> Option<FetchStep> {
        let (now, nonce) = (self.now, self.nonce);
        loop {
            let State::Chain {
                sources,
                index,
                current,
                errors,
            } = &mut self.state
            else {
                return None;
            };
            if let Some(step) = current.next_step() {
                return Some(step);
            }
            match current.take_result() {
                Ok(credentials) => {
                    self.settled = sources.get(*index).cloned();
                    self.state = State::Done(Ok(credentials));
                    return None;
                }
                Err(e) => {
                    let name = sources.get(*index).map_or("source", Source::kind);
                    errors.push(format!("{name}: {}", e.0));
                    *index += 1;
                    if let Some(next) = sources.get(*index) {
                        **current = Fetch::new(next, now, nonce);
                    } else {
                        let message = format!(
                            "no source in the chain gave credentials ({})",
                            errors.join("; ")
                        );
                        self.state = State::Done(Err(CredentialsError(message)));
                        return None;
                    }
                }
            }
        }
    }

    /// Hands back the answer to the request of the last [`FetchStep::Send`]:
    /// the response with its body read (at most [`MAX_ANSWER_LEN`] + 1
    /// bytes), or why there is none.
    pub fn on_response(&mut self, answer: Result<Response<Vec<u8>>, String>) {
        let outcome = match &mut self.state {
            State::Ecs {
                source,
                stage,
                token,
            } => on_ecs_answer(source, stage, token, answer),
            State::Role { base, sent, .. } => {
                if *sent {
                    credentials_answer(answer, Shape::Sts)
                } else {
                    base.on_response(answer);
                    return;
                }
            }
            State::Oidc { .. } => credentials_answer(answer, Shape::Sts),
            State::Uri { .. } => credentials_answer(answer, Shape::Uri),
            State::Chain { current, .. } => {
                current.on_response(answer);
                return;
            }
            State::Done(_) => return,
        };
        if let Some(result) = outcome {
            self.state = State::Done(result);
        }
    }

    /// Hands back the file of the last [`FetchStep::ReadFile`], or why it
    /// could not be read.
    pub fn on_file(&mut self, contents: Result<String, String>) {
        match &mut self.state {
            State::Oidc { source, token, .. } => match contents {
                Ok(text) if !text.trim().is_empty() => *token = Some(text.trim().to_owned()),
                Ok(_) => {
                    let message = format!("the OIDC token file {:?} is empty", source.token_file);
                    self.state = State::Done(Err(CredentialsError(message)));
                }
                Err(e) => {
                    let message = format!(
                        "cannot read the OIDC token file {:?}: {e}",
                        source.token_file
                    );
                    self.state = State::Done(Err(CredentialsError(message)));
                }
            },
            State::Role { base, .. } => base.on_file(contents),
            State::Chain { current, .. } => current.on_file(contents),
            _ => {}
        }
    }

    /// The outcome, once [`Fetch::next_step`] has answered `None`.
    pub fn result(&self) -> Option<Result<Credentials, CredentialsError>> {
        match &self.state {
            State::Done(Ok(credentials)) => Some(Ok(credentials.clone())),
            State::Done(Err(e)) => Some(Err(CredentialsError(e.0.clone()))),
            _ => None,
        }
    }

    fn take_result(&mut self) -> Result<Credentials, CredentialsError> {
        match std::mem::replace(&mut self.state, State::Done(Err(empty()))) {
            State::Done(result) => result,
            other => {
                self.state = other;
                Err(CredentialsError("the fetch has not finished".to_owned()))
            }
        }
    }

    /// The source that gave the credentials, for a chain: the provider keeps
    /// asking that one, as the official default chain does.
    pub(crate) fn settled(&self) -> Option<&Source> {
        self.settled.as_ref()
    }
}

fn empty() -> CredentialsError {
    CredentialsError(String::new())
}

/// The metadata service's request for `stage`.
fn ecs_request(
    source: &EcsRamRole,
    stage: EcsStage,
    token: Option<&str>,
) -> Result<FetchStep, String> {
    const CREDENTIALS: &str = "/latest/meta-data/ram/security-credentials/";
    let base = source.endpoint.trim_end_matches('/');
    let mut request = match stage {
        EcsStage::Token => {
            let mut request = build(Method::PUT, &format!("{base}/latest/api/token"))?;
            request.headers_mut().insert(
                "x-aliyun-ecs-metadata-token-ttl-seconds",
                HeaderValue::from_static(METADATA_TOKEN_TTL),
            );
            request
        }
        EcsStage::RoleName => build(Method::GET, &format!("{base}{CREDENTIALS}"))?,
        EcsStage::Credentials => {
            let role = source.role_name.as_deref().unwrap_or_default();
            let url = format!("{base}{CREDENTIALS}{}", encode_query_component(role));
            build(Method::GET, &url)?
        }
    };
    if let (Some(token), true) = (token, stage != EcsStage::Token) {
        let value = HeaderValue::from_str(token)
            .map_err(|_| "the metadata service's session token is not a header value".to_owned())?;
        request
            .headers_mut()
            .insert("x-aliyun-ecs-metadata-token", value);
    }
    Ok(FetchStep::Send {
        request,
        timeout: METADATA_TIMEOUT,
    })
}

/// Moves the ECS source on after an answer; `Some` when it is finished.
fn on_ecs_answer(
    source: &mut EcsRamRole,
    stage: &mut EcsStage,
    token: &mut Option<String>,
    answer: Result<Response<Vec<u8>>, String>,
) -> Option<Result<Credentials, CredentialsError>> {
    let next = if source.role_name.is_some() {
        EcsStage::Credentials
    } else {
        EcsStage::RoleName
    };
    match *stage {
        EcsStage::Token => {
            match ok_text(answer) {
                Ok(text) => *token = Some(text.trim().to_owned()),
                // credentials-go asks without a token then, unless told not to.
                Err(e) if source.imdsv1_disabled => {
                    return Some(Err(CredentialsError(format!(
                        "the metadata service gave no session token: {e}"
                    ))));
                }
                Err(_) => *token = None,
            }
            *stage = next;
            None
        }
        EcsStage::RoleName => match ok_text(answer) {
            Ok(text) => match text.lines().next().map(str::trim) {
                Some(role) if !role.is_empty() => {
                    source.role_name = Some(role.to_owned());
                    *stage = EcsStage::Credentials;
                    None
                }
                _ => Some(Err(CredentialsError(
                    "the metadata service names no RAM role: is one attached to the instance?"
                        .to_owned(),
                ))),
            },
            Err(e) => Some(Err(CredentialsError(format!(
                "cannot ask the metadata service for the RAM role: {e}"
            )))),
        },
        EcsStage::Credentials => credentials_answer(answer, Shape::Metadata),
    }
}

/// STS `AssumeRole`, signed with `credentials` (credentials-go
/// `ram_role_arn.go`: the common parameters in the query, the action's in a
/// form body, the signature over both).
fn assume_role(
    source: &RamRoleArn,
    credentials: &Credentials,
    now: SystemTime,
    nonce: u64,
) -> Result<FetchStep, String> {
    let timestamp = crate::time::iso8601_seconds(now).map_err(|e| e.to_string())?;
    let session = session_name(source.session_name.as_deref(), now);
    let mut query = vec![
        ("Action", "AssumeRole".to_owned()),
        ("Format", "JSON".to_owned()),
        ("Version", STS_VERSION.to_owned()),
        ("Timestamp", timestamp),
        ("SignatureMethod", "HMAC-SHA1".to_owned()),
        ("SignatureVersion", "1.0".to_owned()),
        ("SignatureNonce", format!("{nonce:016x}")),
        ("AccessKeyId", credentials.access_key_id().to_owned()),
    ];
    if let Some(token) = credentials.security_token() {
        query.push(("SecurityToken", token.to_owned()));
    }
    let mut form = vec![
        ("RoleArn", source.role_arn.clone()),
        ("RoleSessionName", session),
        ("DurationSeconds", source.duration.as_secs().to_string()),
    ];
    if let Some(policy) = &source.policy {
        form.push(("Policy", policy.clone()));
    }
    if let Some(id) = &source.external_id {
        form.push(("ExternalId", id.clone()));
    }
    let signed: Vec<(&str, &str)> = query
        .iter()
        .chain(&form)
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let text = rpc::string_to_sign(&Method::POST, &signed);
    let signature = rpc::signature(credentials.access_key_secret(), &text);
    query.push(("Signature", signature));
    sts_post(&source.sts_endpoint, &query, &form)
}

/// STS `AssumeRoleWithOIDC`: anonymous (credentials-go `oidc.go`).
fn assume_role_with_oidc(
    source: &OidcRoleArn,
    token: &str,
    now: SystemTime,
) -> Result<FetchStep, String> {
    let timestamp = crate::time::iso8601_seconds(now).map_err(|e| e.to_string())?;
    let query = [
        ("Action", "AssumeRoleWithOIDC".to_owned()),
        ("Format", "JSON".to_owned()),
        ("Version", STS_VERSION.to_owned()),
        ("Timestamp", timestamp),
    ];
    let mut form = vec![
        ("RoleArn", source.role_arn.clone()),
        ("OIDCProviderArn", source.provider_arn.clone()),
        ("OIDCToken", token.to_owned()),
        (
            "RoleSessionName",
            session_name(source.session_name.as_deref(), now),
        ),
        ("DurationSeconds", source.duration.as_secs().to_string()),
    ];
    if let Some(policy) = &source.policy {
        form.push(("Policy", policy.clone()));
    }
    sts_post(&source.sts_endpoint, &query, &form)
}

/// The session name given, or `osscb-<unix seconds>`.
fn session_name(given: Option<&str>, now: SystemTime) -> String {
    given.map_or_else(
        || {
            let seconds = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            format!("osscb-{seconds}")
        },
        str::to_owned,
    )
}

fn sts_post(
    endpoint: &str,
    query: &[(&str, String)],
    form: &[(&str, String)],
) -> Result<FetchStep, String> {
    let url = format!(
        "{}/?{}",
        endpoint.trim_end_matches('/'),
        encode_pairs(query)
    );
    let mut request = build(Method::POST, &url)?;
    request.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    *request.body_mut() = encode_pairs(form).into_bytes();
    Ok(FetchStep::Send {
        request,
        timeout: SERVICE_TIMEOUT,
    })
}

fn encode_pairs(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&encode_query_component(name));
        out.push('=');
        out.push_str(&encode_query_component(value));
    }
    out
}

fn build(method: Method, url: &str) -> Result<Request<Vec<u8>>, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| format!("{:?} is not a URL", redact_query(url)))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err(format!("{:?} is not an http(s) URL", redact_query(url)));
    }
    let mut request = Request::new(Vec::new());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    Ok(request)
}

/// A URL for messages: its query (which may hold a signature) left out.
fn redact_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}

/// A 200 answer's body as text; otherwise why not.
fn ok_text(answer: Result<Response<Vec<u8>>, String>) -> Result<String, String> {
    let response = answer?;
    let status = response.status();
    let body = response.into_body();
    if body.len() > MAX_ANSWER_LEN {
        return Err(format!("an answer over {MAX_ANSWER_LEN} bytes"));
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    if status == http::StatusCode::OK {
        Ok(text)
    } else {
        Err(format!("HTTP {}{}", status.as_u16(), refusal(&text)))
    }
}

/// What a refusal says, for a message: a JSON answer's `Code` and
/// `RequestId` only (STS's `Message` may quote the string it signed, with the
/// caller's security token in it), else the start of a short text answer.
fn refusal(text: &str) -> String {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Refusal {
        code: Option<String>,
        request_id: Option<String>,
    }
    let text = text.trim();
    match serde_json::from_str::<Refusal>(text) {
        Ok(Refusal { code, request_id }) => {
            let code = code.map(|c| format!(": {c}")).unwrap_or_default();
            let id = request_id
                .map(|r| format!(" (request id {r})"))
                .unwrap_or_default();
            format!("{code}{id}")
        }
        Err(_) if text.is_empty() => String::new(),
        Err(_) => match text.char_indices().nth(120) {
            Some((end, _)) => format!(": {}…", &text[..end]),
            None => format!(": {text}"),
        },
    }
}

/// How a service answers credentials.
#[derive(Clone, Copy)]
enum Shape {
    /// `{"Code":"Success","AccessKeyId",…}` (metadata service).
    Metadata,
    /// The same, from a credentials URI.
    Uri,
    /// `{"Credentials":{"AccessKeyId",…},"RequestId"}` (STS).
    Sts,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answered {
    code: Option<String>,
    access_key_id: Option<String>,
    access_key_secret: Option<String>,
    security_token: Option<String>,
    expiration: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsAnswer {
    credentials: Option<Answered>,
}

/// Parses a credentials answer.
fn credentials_answer(
    answer: Result<Response<Vec<u8>>, String>,
    shape: Shape,
) -> Option<Result<Credentials, CredentialsError>> {
    let who = match shape {
        Shape::Metadata => "the metadata service",
        Shape::Uri => "the credentials URI",
        Shape::Sts => "STS",
    };
    let parsed = ok_text(answer).and_then(|text| {
        let answered = match shape {
            Shape::Sts => serde_json::from_str::<StsAnswer>(&text)
                .map_err(|_| "not the JSON STS answers".to_owned())?
                .credentials
                .ok_or_else(|| "no Credentials in the answer".to_owned())?,
            Shape::Metadata | Shape::Uri => {
                let answered = serde_json::from_str::<Answered>(&text)
                    .map_err(|_| "not a JSON credentials answer".to_owned())?;
                if answered.code.as_deref() != Some("Success") {
                    return Err(format!("Code is {:?}, not \"Success\"", answered.code));
                }
                answered
            }
        };
        let (Some(id), Some(secret)) = (answered.access_key_id, answered.access_key_secret) else {
            return Err("no AccessKeyId or AccessKeySecret in the answer".to_owned());
        };
        let mut credentials = Credentials::new(id, secret);
        if let Some(token) = answered.security_token.filter(|t| !t.is_empty()) {
            credentials = credentials.with_security_token(token);
        }
        if let Some(text) = answered.expiration {
            let at = crate::time::parse_iso8601(&text)
                .ok_or_else(|| format!("an Expiration of {text:?}"))?;
            credentials = credentials.with_expiration(at);
        }
        Ok(credentials)
    });
    Some(parsed.map_err(|e| CredentialsError(format!("{who}: {e}"))))
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn send(fetch: &mut Fetch) -> Request<Vec<u8>> {
        match fetch.next_step() {
            Some(FetchStep::Send { request, .. }) => request,
            other => panic!("a request, not {other:?}"),
        }
    }

    fn ok(body: &str) -> Result<Response<Vec<u8>>, String> {
        Ok(Response::new(body.as_bytes().to_vec()))
    }

    const STS_ANSWER: &str = r#"{"RequestId":"R","Credentials":{"AccessKeyId":"STS.new",
        "AccessKeySecret":"new-secret","SecurityToken":"new-token","Expiration":"2016-02-23T13:46:24Z"}}"#;

    #[test]
    fn assume_role_is_signed_over_query_and_form() {
        let now = UNIX_EPOCH + Duration::from_secs(1_456_231_584); // 2016-02-23T12:46:24Z
        let mut role = RamRoleArn::new(
            Credentials::new("testid", "testsecret").with_security_token("caller-token"),
            "acs:ram::123:role/app",
        );
        role.session_name = Some("session one".to_owned());
        role.sts_endpoint = "http://127.0.0.1:9/__osscb/sts".to_owned();
        let mut fetch = Fetch::new(&Source::RamRoleArn(Box::new(role)), now, 0xabc);
        let step = fetch.next_step().unwrap_or_else(|| panic!("a request"));
        let debug = format!("{step:?}");
        assert_eq!(
            debug, r#"Send { method: POST, path: "/__osscb/sts/", timeout: 10s, .. }"#,
            "no signature, token or form in Debug"
        );
        let FetchStep::Send { request, .. } = step else {
            panic!("{debug}")
        };
        assert_eq!(request.method(), Method::POST);
        let query = "Action=AssumeRole&Format=JSON&Version=2015-04-01\
            &Timestamp=2016-02-23T12%3A46%3A24Z&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0\
            &SignatureNonce=0000000000000abc&AccessKeyId=testid&SecurityToken=caller-token";
        let uri = request.uri().to_string();
        let (base, signature) = uri
            .split_once("&Signature=")
            .unwrap_or_else(|| panic!("{uri}"));
        assert_eq!(base, format!("http://127.0.0.1:9/__osscb/sts/?{query}"));
        assert_eq!(
            String::from_utf8_lossy(request.body()),
            "RoleArn=acs%3Aram%3A%3A123%3Arole%2Fapp&RoleSessionName=session%20one&DurationSeconds=3600"
        );
        assert_eq!(
            request.headers()[header::CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        // The signature covers both halves, as STS checks it.
        let decoded = percent_encoding::percent_decode_str(signature).decode_utf8_lossy();
        let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .chain(form_urlencoded::parse(request.body()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let text = rpc::string_to_sign(&Method::POST, &params);
        assert_eq!(decoded, rpc::signature("testsecret", &text));
        fetch.on_response(ok(STS_ANSWER));
        assert!(fetch.next_step().is_none());
        let credentials = fetch
            .result()
            .unwrap_or_else(|| panic!("done"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                credentials.access_key_id(),
                credentials.access_key_secret(),
                credentials.security_token()
            ),
            ("STS.new", "new-secret", Some("new-token"))
        );
        assert_eq!(
            credentials.expiration(),
            Some(now + Duration::from_secs(3600))
        );
    }

    #[test]
    fn oidc_reads_its_token_file_and_asks_anonymously() {
        let now = UNIX_EPOCH + Duration::from_secs(1_456_231_584);
        let mut oidc =
            OidcRoleArn::new("acs:ram::1:role/o", "acs:ram::1:oidc-provider/p", "/token");
        oidc.sts_endpoint = "http://127.0.0.1:9/sts/".to_owned();
        let mut fetch = Fetch::new(&Source::OidcRoleArn(oidc), now, 1);
        let Some(FetchStep::ReadFile(path)) = fetch.next_step() else {
            panic!("the token first")
        };
        assert_eq!(path, PathBuf::from("/token"));
        fetch.on_file(Ok("eyJ.token\n".to_owned()));
        let request = send(&mut fetch);
        assert_eq!(
            request.uri().to_string(),
            "http://127.0.0.1:9/sts/?Action=AssumeRoleWithOIDC&Format=JSON&Version=2015-04-01\
             &Timestamp=2016-02-23T12%3A46%3A24Z"
        );
        assert_eq!(
            String::from_utf8_lossy(request.body()),
            "RoleArn=acs%3Aram%3A%3A1%3Arole%2Fo&OIDCProviderArn=acs%3Aram%3A%3A1%3Aoidc-provider%2Fp\
             &OIDCToken=eyJ.token&RoleSessionName=osscb-1456231584&DurationSeconds=3600"
        );
        let debug = format!("{fetch:?}");
        assert!(!debug.contains("eyJ"), "no token in Debug: {debug}");
        let mut refused = Response::new(
            br#"{"Code":"InvalidParameter.OIDCToken","Message":"bad eyJ.token","RequestId":"R1"}"#
                .to_vec(),
        );
        *refused.status_mut() = http::StatusCode::BAD_REQUEST;
        fetch.on_response(Ok(refused));
        let error = fetch
            .result()
            .unwrap_or_else(|| panic!("done"))
            .expect_err("refused");
        assert_eq!(
            error.0, "STS: HTTP 400: InvalidParameter.OIDCToken (request id R1)",
            "the code, never STS's message (it may quote a token)"
        );
    }

    #[test]
    fn a_chain_moves_past_failures_and_settles_on_the_source_that_answered() {
        let now = UNIX_EPOCH;
        let sources = vec![
            Source::EcsRamRole(EcsRamRole {
                role_name: Some("r".to_owned()),
                endpoint: "http://127.0.0.1:9".to_owned(),
                imdsv1_disabled: true,
            }),
            Source::Uri("http://127.0.0.1:9/creds".to_owned()),
        ];
        let mut fetch = Fetch::new(&Source::Chain(sources.clone()), now, 1);
        let token = send(&mut fetch);
        assert_eq!(token.uri().path(), "/latest/api/token");
        fetch.on_response(Err("connection refused".to_owned()));
        let uri = send(&mut fetch);
        assert_eq!(uri.uri(), "http://127.0.0.1:9/creds");
        fetch.on_response(ok(
            r#"{"Code":"Success","AccessKeyId":"u","AccessKeySecret":"s"}"#,
        ));
        assert!(fetch.next_step().is_none());
        let credentials = fetch
            .result()
            .unwrap_or_else(|| panic!("done"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(credentials.access_key_id(), "u");
        assert_eq!(fetch.settled(), Some(&sources[1]));

        let mut failing = Fetch::new(&Source::Chain(sources), now, 1);
        let _ = send(&mut failing);
        failing.on_response(Err("connection refused".to_owned()));
        let _ = send(&mut failing);
        failing.on_response(ok(r#"{"Code":"Failure"}"#));
        assert!(failing.next_step().is_none());
        let error = failing
            .result()
            .unwrap_or_else(|| panic!("done"))
            .expect_err("both failed");
        assert_eq!(
            error.0,
            "no source in the chain gave credentials (ecs_ram_role: the metadata service gave no \
             session token: connection refused; credentials_uri: the credentials URI: Code is \
             Some(\"Failure\"), not \"Success\")"
        );
    }
}
