//! The two plain credential sources: the ECS instance metadata service and
//! the credentials URI (what `ALIBABA_CLOUD_CREDENTIALS_URI` points at). Each
//! fetch issues a fresh credential.
//!
//! The metadata paths and headers are the official ones ("Instance
//! metadata" in the ECS documentation; `ecs_ram_role.go` of
//! aliyun/credentials-go): `PUT /latest/api/token` with
//! `X-aliyun-ecs-metadata-token-ttl-seconds` (1 to 21600) answers a session
//! token, which later GETs send in `X-aliyun-ecs-metadata-token`;
//! `GET /latest/meta-data/ram/security-credentials/` names the instance's
//! role and `…/security-credentials/<role>` answers its credentials.

use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, Method, Request, StatusCode};
use hyper::body::Incoming;

use crate::server::{Resp, Shared, read_body, respond};

/// Where the metadata service's base URL points, with the `/` its paths start with.
pub(crate) const METADATA_PREFIX: &str = "/__osscb/metadata/";
/// The credentials URI.
pub(crate) const CREDENTIALS_URI_PATH: &str = "/__osscb/credentials";
/// The role the metadata service names unless configured.
pub(crate) const DEFAULT_ROLE: &str = "osscb-emulator-role";
/// The largest body these endpoints read (they expect none).
const MAX_BODY: usize = 64 * 1024;
/// The lifetime of the credentials they issue, unless configured.
const LIFETIME: Duration = Duration::from_secs(3600);
/// The longest session token the metadata service hands out: 6 hours.
const MAX_TOKEN_TTL: u64 = 21_600;

const TOKEN_PATH: &str = "latest/api/token";
const ROLES_PATH: &str = "latest/meta-data/ram/security-credentials/";
const TTL_HEADER: &str = "x-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aliyun-ecs-metadata-token";

fn text(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    respond(
        status,
        &[(CONTENT_TYPE, "text/plain".to_owned())],
        body.into(),
    )
}

fn json(body: Vec<u8>) -> Resp {
    respond(
        StatusCode::OK,
        &[(CONTENT_TYPE, "application/json".to_owned())],
        Bytes::from(body),
    )
}

fn unavailable() -> Resp {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many live credentials or tokens; try again when some expire",
    )
}

/// Reads (and drops) the body these endpoints do not use, so the connection
/// stays usable; `Err` is the answer to a body over [`MAX_BODY`].
async fn drain(body: Incoming) -> Result<(), Resp> {
    read_body(body, MAX_BODY)
        .await
        .map(drop)
        .map_err(|e| text(e.status, e.message))
}

/// `{base}/<rest>` of the metadata service.
pub(crate) async fn metadata(shared: &Shared, req: Request<Incoming>, rest: &str) -> Resp {
    let (parts, body) = req.into_parts();
    if let Err(answer) = drain(body).await {
        return answer;
    }
    let now = shared.faults.now();
    if parts.method == Method::PUT && rest == TOKEN_PATH {
        let ttl = header(&parts.headers, TTL_HEADER)
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|ttl| (1..=MAX_TOKEN_TTL).contains(ttl));
        let Some(ttl) = ttl else {
            return text(
                StatusCode::BAD_REQUEST,
                format!("{TTL_HEADER} must be 1 to {MAX_TOKEN_TTL}"),
            );
        };
        return match shared.issued.token(Duration::from_secs(ttl), now) {
            Ok(token) => text(StatusCode::OK, token),
            Err(_) => unavailable(),
        };
    }
    let Some(role) = rest.strip_prefix(ROLES_PATH) else {
        return text(StatusCode::NOT_FOUND, "Not Found");
    };
    if parts.method != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    let authorized = match header(&parts.headers, TOKEN_HEADER) {
        Some(token) => shared.issued.token_is_live(token, now),
        None => !shared.metadata_requires_token,
    };
    if !authorized {
        return text(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    if role.is_empty() {
        return text(StatusCode::OK, shared.ecs_role.clone());
    }
    if role != shared.ecs_role {
        return text(StatusCode::NOT_FOUND, "Not Found");
    }
    issue(shared, crate::CredentialSource::Metadata, true)
}

/// `GET /__osscb/credentials`.
pub(crate) async fn credentials_uri(shared: &Shared, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    if let Err(answer) = drain(body).await {
        return answer;
    }
    if parts.method != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    issue(shared, crate::CredentialSource::Uri, false)
}

/// A fresh credential as JSON; the metadata service adds `LastUpdated`.
fn issue(shared: &Shared, source: crate::CredentialSource, metadata: bool) -> Resp {
    let now = shared.faults.now();
    let lifetime = shared.credential_lifetime.unwrap_or(LIFETIME);
    let Ok(issue) = shared.issued.issue(source, lifetime, now) else {
        return unavailable();
    };
    let body = serde_json::to_vec(&issue.wire(true, metadata.then_some(now)));
    match body {
        Ok(body) => json(body),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Option<&'a str> {
    headers
        .get(HeaderName::from_static(name))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}
