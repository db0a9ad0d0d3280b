//! The dashboard at `/__osscb/`: one static page (HTML, script and style
//! from this crate, no external assets, served under a strict
//! `Content-Security-Policy`), the journal as server-sent events
//! (`/__osscb/events`), the objects by bucket (`/__osscb/objects`) and the
//! fault controls (`POST /__osscb/faults`).
//!
//! Like the emulator's other `/__osscb/` services it is off the OSS request
//! path: never faulted, counted or journaled, and its answers carry no CORS
//! headers (another origin's page cannot read them). The fault controls
//! answer only a same-origin JSON request, and only on a loopback listen
//! address reached by a loopback name (`127.0.0.1`, `[::1]`, `localhost`:
//! not a name rebound to it), unless a token is configured: then only a
//! request carrying it (`Authorization: Bearer TOKEN`), whatever the address.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HOST, LOCATION, ORIGIN};
use http::{HeaderMap, HeaderName, Method, Request, StatusCode};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::{Frame, Incoming};
use serde::{Deserialize, Serialize};

use crate::journal::Journal;
use crate::server::{Resp, Shared, read_body, respond};

/// The dashboard's own paths start here.
const ROOT: &str = "/__osscb/";
const PAGE: &str = include_str!("dashboard/index.html");
const SCRIPT: &str = include_str!("dashboard/dashboard.js");
const STYLE: &str = include_str!("dashboard/dashboard.css");
const ICON: &str = include_str!("dashboard/favicon.svg");
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";
/// The most objects `/__osscb/objects` lists.
const MAX_LISTED: usize = 1000;
/// The largest fault-control request.
const MAX_CONTROL: usize = 4096;

/// The dashboard's state: the journal it shows and who may use its controls.
#[derive(Debug)]
pub(crate) struct Dashboard {
    pub(crate) journal: Journal,
    /// Whether the emulator listens on a loopback address.
    loopback: bool,
    token: Option<String>,
}

impl Dashboard {
    /// A dashboard for an emulator listening on a loopback address or not,
    /// its controls guarded by `token` when there is one.
    pub(crate) fn new(loopback: bool, token: Option<String>) -> Self {
        Self {
            journal: Journal::default(),
            loopback,
            token,
        }
    }
}

/// Whether `path` is one of the dashboard's (`/__osscb` and `/__osscb/`
/// included; the public key and credential services are not).
pub(crate) fn is_dashboard_path(path: &str) -> bool {
    matches!(
        path,
        "/__osscb"
            | ROOT
            | "/__osscb/dashboard.js"
            | "/__osscb/dashboard.css"
            | "/__osscb/favicon.svg"
            | "/__osscb/events"
            | "/__osscb/objects"
            | "/__osscb/faults"
    )
}

/// The answer to a request for one of the dashboard's paths: 404 when the
/// dashboard is off.
pub(crate) async fn serve(shared: &Shared, req: Request<Incoming>) -> Resp {
    let Some(dashboard) = &shared.dashboard else {
        return plain(StatusCode::NOT_FOUND, "The dashboard is off.");
    };
    let path = req.uri().path();
    let method = req.method().clone();
    let get = method == Method::GET || method == Method::HEAD;
    match path {
        "/__osscb" if get => {
            let mut response = respond(StatusCode::PERMANENT_REDIRECT, &[], Bytes::new());
            response
                .headers_mut()
                .insert(LOCATION, http::HeaderValue::from_static(ROOT));
            response
        }
        ROOT if get => asset("text/html; charset=utf-8", PAGE),
        "/__osscb/dashboard.js" if get => asset("text/javascript; charset=utf-8", SCRIPT),
        "/__osscb/dashboard.css" if get => asset("text/css; charset=utf-8", STYLE),
        "/__osscb/favicon.svg" if get => asset("image/svg+xml", ICON),
        "/__osscb/events" if get => events(&dashboard.journal),
        "/__osscb/objects" if get => objects(shared),
        "/__osscb/faults" if method == Method::POST => faults(shared, dashboard, req).await,
        _ => plain(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed."),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Resp {
    respond(
        status,
        &[(CONTENT_TYPE, "text/plain; charset=utf-8".to_owned())],
        Bytes::from_static(text.as_bytes()),
    )
}

fn json(status: StatusCode, value: &impl Serialize) -> Resp {
    let body = serde_json::to_vec(value).unwrap_or_default();
    respond(
        status,
        &[
            (CONTENT_TYPE, "application/json".to_owned()),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        Bytes::from(body),
    )
}

fn asset(content_type: &str, text: &'static str) -> Resp {
    respond(
        StatusCode::OK,
        &[
            (CONTENT_TYPE, content_type.to_owned()),
            (CACHE_CONTROL, "no-store".to_owned()),
            (
                HeaderName::from_static("content-security-policy"),
                CSP.to_owned(),
            ),
            (
                HeaderName::from_static("x-content-type-options"),
                "nosniff".to_owned(),
            ),
            (
                HeaderName::from_static("referrer-policy"),
                "no-referrer".to_owned(),
            ),
        ],
        Bytes::from_static(text.as_bytes()),
    )
}

/// The journal as server-sent events: every entry kept, then each new one,
/// one JSON object per `data:` line.
fn events(journal: &Journal) -> Resp {
    let Some(crate::journal::Watch { snapshot, mut live }) = journal.watch() else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Too many dashboards.");
    };
    let live = futures_util::stream::poll_fn(move |cx| live.poll_recv(cx));
    let frames = futures_util::stream::iter(snapshot)
        .chain(live)
        .map(|json: Arc<str>| {
            Ok::<_, io::Error>(Frame::data(Bytes::from(format!("data: {json}\n\n"))))
        });
    let retry =
        futures_util::stream::iter([Ok(Frame::data(Bytes::from_static(b"retry: 1000\n\n")))]);
    let mut response = http::Response::new(StreamBody::new(retry.chain(frames)).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    response
}

/// An object as `/__osscb/objects` lists it.
#[derive(Serialize)]
struct Listed {
    key: String,
    size: u64,
    etag: String,
    content_type: String,
    last_modified: String,
}

/// A bucket and its objects.
#[derive(Serialize)]
struct BucketListing {
    bucket: String,
    objects: Vec<Listed>,
}

/// The objects by bucket (at most [`MAX_LISTED`]; `truncated` when more).
fn objects(shared: &Shared) -> Resp {
    #[derive(Serialize)]
    struct Listing {
        buckets: Vec<BucketListing>,
        truncated: bool,
    }
    let (listed, truncated) = shared.store.list(MAX_LISTED);
    let mut buckets: Vec<BucketListing> = Vec::new();
    for (meta, size) in listed {
        let object = Listed {
            key: meta.key,
            size,
            etag: meta.etag,
            content_type: meta.content_type,
            last_modified: crate::auth::iso8601(meta.last_modified),
        };
        match buckets.last_mut() {
            Some(last) if last.bucket == meta.bucket => last.objects.push(object),
            _ => buckets.push(BucketListing {
                bucket: meta.bucket,
                objects: vec![object],
            }),
        }
    }
    json(StatusCode::OK, &Listing { buckets, truncated })
}

/// A fault-control request: each field present arms that fault
/// ([`crate::Faults`]); `clear` first removes every pending one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Control {
    #[serde(default)]
    clear: bool,
    fail_next: Option<FailNext>,
    drop_next: Option<u32>,
    delay_next: Option<DelayNext>,
    corrupt_crc64_next: Option<u32>,
    lose_response_next: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailNext {
    count: u32,
    status: u16,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DelayNext {
    count: u32,
    ms: u64,
}

/// Whether a fault-control request may act: with a token configured, only
/// one carrying it (`Authorization: Bearer TOKEN`, compared in constant
/// time); without, any that reached a loopback listen address by a
/// loopback name (`loopback`), and none other.
pub(crate) fn may_control(
    loopback: bool,
    token: Option<&str>,
    authorization: Option<&str>,
) -> bool {
    match token {
        Some(token) => authorization
            .and_then(|a| a.strip_prefix("Bearer "))
            .is_some_and(|given| crate::auth::constant_time_eq(given.trim(), token)),
        None => loopback,
    }
}

/// Whether `host` (a `Host` header) names a loopback address or
/// `localhost`: without a token, the controls answer only such requests,
/// so that a site whose name is made to resolve to 127.0.0.1 (DNS
/// rebinding) cannot reach them from the developer's browser.
fn loopback_host(host: Option<&str>) -> bool {
    let Some(host) = host else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or(v6, |(ip, _)| ip),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether the request comes from the dashboard's own origin (or names
/// none, as a non-browser client does), so that another site's page cannot
/// arm faults through the developer's browser.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let origin = origin.to_str().ok();
    matches!((origin, host), (Some(o), Some(h)) if o.strip_prefix("http://") == Some(h))
}

async fn faults(shared: &Shared, dashboard: &Dashboard, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let authorization = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let host = parts.headers.get(HOST).and_then(|v| v.to_str().ok());
    let loopback = dashboard.loopback && loopback_host(host);
    if !may_control(loopback, dashboard.token.as_deref(), authorization) {
        return plain(
            StatusCode::FORBIDDEN,
            "The fault controls need the dashboard token (or a loopback listen address).",
        );
    }
    if !same_origin(&parts.headers) {
        return plain(StatusCode::FORBIDDEN, "Cross-origin requests are refused.");
    }
    let is_json = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Send application/json.");
    }
    let Ok(body) = read_body(body, MAX_CONTROL).await else {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "Too large.");
    };
    let Ok(control) = serde_json::from_slice::<Control>(&body) else {
        return plain(StatusCode::BAD_REQUEST, "Not a fault-control request.");
    };
    let faults = &shared.faults;
    if control.clear {
        faults.clear();
    }
    if let Some(FailNext { count, status }) = control.fail_next {
        faults.fail_next(count, status);
    }
    if let Some(count) = control.drop_next {
        faults.drop_next(count);
    }
    if let Some(DelayNext { count, ms }) = control.delay_next {
        faults.delay_next(count, std::time::Duration::from_millis(ms));
    }
    if let Some(count) = control.corrupt_crc64_next {
        faults.corrupt_crc64_next(count);
    }
    if let Some(count) = control.lose_response_next {
        faults.lose_response_next(count);
    }
    json(
        StatusCode::OK,
        &serde_json::json!({ "requests_seen": faults.requests_seen() }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_answer_on_loopback_or_with_the_token() {
        assert!(may_control(true, None, None));
        assert!(!may_control(false, None, None));
        assert!(!may_control(false, None, Some("Bearer anything")));
        assert!(may_control(false, Some("t0k"), Some("Bearer t0k")));
        assert!(!may_control(false, Some("t0k"), Some("Bearer t0K")));
        assert!(!may_control(false, Some("t0k"), Some("t0k")));
        assert!(!may_control(true, Some("t0k"), None));
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1:9000",
            "127.0.0.1",
            "localhost:1",
            "LOCALHOST",
            "[::1]:9000",
            "[::1]",
        ] {
            assert!(loopback_host(Some(host)), "{host}");
        }
        for host in [
            "evil.example:9000",
            "10.0.0.1:80",
            "[fe80::1]:1",
            "localhost.evil.example",
        ] {
            assert!(!loopback_host(Some(host)), "{host}");
        }
        assert!(!loopback_host(None));
    }

    #[test]
    fn same_origin_only() {
        let mut headers = HeaderMap::new();
        assert!(same_origin(&headers));
        headers.insert(HOST, http::HeaderValue::from_static("127.0.0.1:9000"));
        headers.insert(
            ORIGIN,
            http::HeaderValue::from_static("http://127.0.0.1:9000"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            ORIGIN,
            http::HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&headers));
    }
}
