//! The HTTP server: connections, addressing, faults and routing to the
//! operations (`objects`, `multipart`, `post`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures_util::StreamExt as _;
use http::header::{CONTENT_TYPE, DATE, ETAG, HOST, ORIGIN};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyDataStream, BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use osscb_core::callback::Callback;
use osscb_core::{Bucket, ObjectKey};
use percent_encoding::percent_decode_str;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::auth::{self, AuthRequest};
use crate::callback::{self, Signer};
use crate::data::Received;
use crate::error::OssError;
use crate::faults::Faults;
use crate::journal::{DeliveryEntry, RequestEntry, Signature};
use crate::multipart::{abort_upload, complete, initiate, list_parts, upload_part};
use crate::objects::{get_object, put_object};
use crate::store::{ObjectMeta, Outcome, Store, hex_upper};

/// Where the emulator serves its callback public key.
pub(crate) const PUB_KEY_PATH: &str = "/__osscb/callback_pub_key.pem";
/// OSS's PutObject limit, also the emulator's largest request body.
pub(crate) const MAX_BODY: u64 = 5 * 1024 * 1024 * 1024;
/// The default of [`crate::EmulatorConfig::header_read_timeout`].
pub(crate) const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Every part but the last must be at least this large.
pub(crate) const MIN_PART_SIZE: u64 = 100 * 1024;

pub(crate) type Resp = Response<crate::data::Body>;

/// Per-operation counters.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) upload_part: AtomicU64,
    pub(crate) abort_multipart: AtomicU64,
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) creds: osscb_core::Credentials,
    pub(crate) store: Arc<Store>,
    pub(crate) signer: Arc<Signer>,
    /// Connections to callback receivers, kept alive between callbacks.
    pub(crate) callbacks: callback::Pool,
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    pub(crate) public_key_url: String,
    pub(crate) callback_timeout: std::time::Duration,
    pub(crate) header_read_timeout: std::time::Duration,
    /// The temporary credentials, metadata tokens and STS nonces handed out.
    pub(crate) issued: crate::issued::Issued,
    /// The role the metadata service names.
    pub(crate) ecs_role: String,
    /// Whether a metadata GET must carry a session token.
    pub(crate) metadata_requires_token: bool,
    /// The only OIDC token `AssumeRoleWithOIDC` accepts (any, when `None`).
    pub(crate) oidc_token: Option<String>,
    /// Overrides every issued credential's lifetime.
    pub(crate) credential_lifetime: Option<std::time::Duration>,
    /// The dashboard and its journal, unless turned off.
    pub(crate) dashboard: Option<crate::dashboard::Dashboard>,
}

impl Shared {
    /// The journal, when the dashboard is on.
    pub(crate) fn journal(&self) -> Option<&crate::journal::Journal> {
        self.dashboard.as_ref().map(|d| &d.journal)
    }
}

/// Returned by the service to make hyper close the connection unanswered.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections until `shutdown` fires.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let timeout = shared.header_read_timeout;
                    let service = service_fn(move |req| {
                        let shared = Arc::clone(&shared);
                        async move { handle(&shared, req, peer).await }
                    });
                    // A client gets `header_read_timeout` for each request
                    // head; slower ones (slowloris) lose the connection.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(timeout)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// 24 uppercase hex characters.
pub(crate) fn new_request_id() -> String {
    random_hex(12)
}

pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    if getrandom::fill(&mut bytes).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(1);
        let c = COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes();
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = c.get(i % 8).copied().unwrap_or_default();
        }
    }
    hex_upper(&bytes)
}

async fn handle(
    shared: &Shared,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Resp, DropConnection> {
    let request_id = new_request_id();
    let started = std::time::Instant::now();
    // The path only: a presigned URL's query carries its signature and token.
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let origin = req.headers().get(ORIGIN).cloned();
    let host_id = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let is_head = req.method() == Method::HEAD;
    // The dashboard answers for itself: no OSS headers, no CORS.
    if crate::dashboard::is_dashboard_path(&path) {
        return Ok(crate::dashboard::serve(shared, req).await);
    }
    // The emulator's own services (public key, credentials) are outside
    // fault injection: a fault armed for the next OSS request is not spent
    // on a client fetching its credentials first.
    let mut response = if req.uri().path() == PUB_KEY_PATH
        && matches!(*req.method(), Method::GET | Method::HEAD)
    {
        respond(
            StatusCode::OK,
            &[(CONTENT_TYPE, "application/x-pem-file".to_owned())],
            Bytes::from(shared.signer.public_pem().to_owned()),
        )
    } else if let Some(rest) = path.strip_prefix(crate::metadata::METADATA_PREFIX) {
        crate::metadata::metadata(shared, req, rest).await
    } else if path == crate::metadata::CREDENTIALS_URI_PATH {
        crate::metadata::credentials_uri(shared, req).await
    } else if crate::sts::PATHS.contains(&path.as_str()) {
        crate::sts::sts(shared, req, &request_id, &host_id).await
    } else {
        let verdict = shared.faults.on_request();
        if let Some(delay) = verdict.delay {
            tokio::time::sleep(delay).await;
        }
        let journal = |status: u16, signature: Signature| {
            if let Some(journal) = shared.journal() {
                journal.request(&RequestEntry {
                    method: method.to_string(),
                    path: path.clone(),
                    status,
                    request_id: request_id.clone(),
                    signature,
                });
            }
        };
        if verdict.drop {
            let mut body = req.into_body();
            let _ = body.frame().await;
            tracing::debug!(%method, path, request_id, "osscb-emulator: connection dropped (fault)");
            journal(0, Signature::Unchecked);
            return Err(DropConnection);
        }
        let mut signature = Signature::Unchecked;
        let result = match verdict.fail {
            Some(status) => {
                // Read (and discard, up to OSS's largest body) the body
                // first, so the client sees the status rather than a broken
                // pipe while it is still sending.
                let mut body = req.into_body();
                let mut left = MAX_BODY;
                while left > 0
                    && let Some(Ok(frame)) = body.frame().await
                {
                    let len = frame.data_ref().map_or(0, |d| d.len() as u64);
                    left = left.saturating_sub(len);
                }
                Err(injected_error(status))
            }
            None => process(shared, req, peer, &request_id, &host_id, &mut signature).await,
        };
        if verdict.lose_response {
            tracing::debug!(%method, path, request_id, "osscb-emulator: answer lost (fault)");
            journal(0, signature);
            return Err(DropConnection);
        }
        let response =
            result.unwrap_or_else(|e| error_response(&e, &request_id, &host_id, is_head));
        journal(response.status().as_u16(), signature);
        response
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-oss-request-id", v);
    }
    if let Ok(v) =
        HeaderValue::from_str(&osscb_core::time::http_date(shared.faults.now()).unwrap_or_default())
    {
        headers.insert(DATE, v);
    }
    headers.insert("server", HeaderValue::from_static("AliyunOSS"));
    if let Some(origin) = origin {
        crate::cors::add_headers(headers, origin);
    }
    tracing::debug!(
        %method,
        path,
        request_id,
        status = response.status().as_u16(),
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "osscb-emulator: answered"
    );
    Ok(response)
}

fn injected_error(status: u16) -> OssError {
    let (code, message) = match status {
        503 => ("ServiceUnavailable", "Please reduce your request rate."),
        500 => (
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        429 => ("TooManyRequests", "Please reduce your request rate."),
        _ => ("InjectedFault", "Fault injected by osscb-emulator."),
    };
    OssError::new(status, code, message)
}

/// An error answer: XML body, or for HEAD the `x-oss-err` / `x-oss-ec` headers.
pub(crate) fn error_response(e: &OssError, request_id: &str, host_id: &str, head: bool) -> Resp {
    let xml = e.body(request_id, host_id);
    let mut response = if head {
        respond(
            e.status,
            &[
                (HeaderName::from_static("x-oss-err"), STANDARD.encode(&xml)),
                (HeaderName::from_static("x-oss-ec"), e.ec.to_owned()),
            ],
            Bytes::new(),
        )
    } else {
        respond(
            e.status,
            &[(CONTENT_TYPE, "application/xml".to_owned())],
            Bytes::from(xml),
        )
    };
    if !head && let Ok(v) = HeaderValue::from_str(e.ec) {
        response.headers_mut().insert("x-oss-ec", v);
    }
    response
}

/// A response with `headers` (values that cannot travel in a header are skipped).
pub(crate) fn respond(status: StatusCode, headers: &[(HeaderName, String)], body: Bytes) -> Resp {
    let mut response = Response::new(crate::data::full(body));
    *response.status_mut() = status;
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            response.headers_mut().append(name.clone(), v);
        }
    }
    response
}

/// The bucket, key and query a request addresses.
pub(crate) struct Target {
    pub(crate) bucket: Option<String>,
    pub(crate) key: Option<String>,
    pub(crate) query: Vec<(String, String)>,
}

impl Target {
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }
}

/// The bucket named by a virtual-hosted `Host` (`bucket.<name>`, where the rest
/// is not an IP address), if any.
pub(crate) fn host_bucket(host: &str) -> Option<String> {
    if host.starts_with('[') {
        return None;
    }
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let (first, rest) = host.split_once('.')?;
    if rest.is_empty() || rest.parse::<std::net::Ipv4Addr>().is_ok() || first.parse::<u8>().is_ok()
    {
        return None;
    }
    Bucket::new(first).ok().map(|b| b.as_str().to_owned())
}

pub(crate) fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode_str(k).decode_utf8_lossy().into_owned(),
                percent_decode_str(v).decode_utf8_lossy().into_owned(),
            )
        })
        .collect()
}

pub(crate) fn target(headers: &HeaderMap, uri: &http::Uri) -> Result<Target, OssError> {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(http::uri::Authority::as_str))
        .unwrap_or_default();
    let path = percent_decode_str(uri.path())
        .decode_utf8()
        .map_err(|_| OssError::new(400, "InvalidURI", "The URI is not valid UTF-8."))?;
    let path = path.strip_prefix('/').unwrap_or(&path);
    let (bucket, key) = match host_bucket(host) {
        Some(bucket) => (Some(bucket), path.to_owned()),
        None => match path.split_once('/') {
            Some((b, k)) => (Some(b.to_owned()), k.to_owned()),
            None if path.is_empty() => (None, String::new()),
            None => (Some(path.to_owned()), String::new()),
        },
    };
    if let Some(b) = &bucket {
        Bucket::new(b.as_str()).map_err(|_| {
            OssError::new(
                400,
                "InvalidBucketName",
                "The specified bucket is not valid.",
            )
            .with("BucketName", b.as_str())
        })?;
    }
    let key = if key.is_empty() {
        None
    } else {
        ObjectKey::new(key.as_str()).map_err(|_| OssError::invalid_object_name())?;
        Some(key)
    };
    Ok(Target {
        bucket,
        key,
        query: parse_query(uri.query()),
    })
}

/// The largest request body that is read whole (CompleteMultipartUpload's
/// part list; 10,000 parts take about 1 MiB).
const MAX_SMALL_BODY: usize = 16 * 1024 * 1024;

fn too_large() -> OssError {
    OssError::new(
        400,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size.",
    )
}

fn incomplete() -> OssError {
    OssError::new(
        400,
        "IncompleteBody",
        "The request body was not read completely.",
    )
}

/// Reads a small body whole (up to `limit` bytes, else `EntityTooLarge`).
pub(crate) async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, OssError> {
    Limited::new(body, limit)
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                too_large()
            } else {
                incomplete()
            }
        })
}

/// Receives an object's or a part's body (up to [`MAX_BODY`]), streamed to
/// a file when large.
async fn receive(shared: &Shared, body: Incoming) -> Result<Received, OssError> {
    let chunks = BodyDataStream::new(body).map(|chunk| chunk.map_err(|_| incomplete()));
    let scratch = || shared.store.scratch().map(std::path::Path::to_owned);
    crate::data::receive(chunks, MAX_BODY, scratch, too_large).await
}

/// The error codes with which a signature (or a PostObject form's) is refused.
const SIGNATURE_CODES: [&str; 4] = [
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "AccessDenied",
    "RequestTimeTooSkewed",
];

/// The journal's verdict on a refused signature: its code and, for
/// `SignatureDoesNotMatch`, the string the emulator signed (tokens redacted).
fn refused(e: &OssError) -> Signature {
    let string_to_sign = e
        .extra
        .iter()
        .find(|(name, _)| *name == "StringToSign")
        .map(|(_, text)| crate::journal::redact_signed_text(text));
    Signature::Refused {
        code: e.code.to_owned(),
        string_to_sign,
    }
}

async fn process(
    shared: &Shared,
    req: Request<Incoming>,
    peer: SocketAddr,
    request_id: &str,
    host_id: &str,
    signature: &mut Signature,
) -> Result<Resp, OssError> {
    let (parts, body) = req.into_parts();
    if parts.method == Method::OPTIONS {
        return Ok(crate::cors::preflight(&parts.headers));
    }
    let target = target(&parts.headers, &parts.uri)?;
    let ctx = Ctx {
        shared,
        peer,
        request_id,
        host_id,
        headers: &parts.headers,
    };
    if parts.method == Method::POST
        && target.bucket.is_some()
        && target.key.is_none()
        && crate::post::is_form(&parts.headers)
    {
        let answer = crate::post::post_object(&ctx, &target, body).await;
        *signature = match &answer {
            Ok(_) => Signature::Ok,
            Err(e) if SIGNATURE_CODES.contains(&e.code) => refused(e),
            Err(_) => Signature::Unchecked,
        };
        return answer;
    }
    auth::authenticate(
        &shared.creds,
        &shared.issued,
        &AuthRequest {
            method: &parts.method,
            headers: &parts.headers,
            bucket: target.bucket.as_deref(),
            key: target.key.as_deref(),
            query: &target.query,
            now: shared.faults.now(),
        },
    )
    .inspect_err(|e| *signature = refused(e))?;
    *signature = Signature::Ok;
    let (Some(bucket), Some(key)) = (target.bucket.as_deref(), target.key.as_deref()) else {
        return Err(not_implemented());
    };
    let method = parts.method;
    if method == Method::PUT && target.has("partNumber") && target.has("uploadId") {
        let body = receive(shared, body).await?;
        upload_part(&ctx, &target, bucket, key, body).await
    } else if method == Method::PUT {
        let body = receive(shared, body).await?;
        put_object(&ctx, &target, bucket, key, body).await
    } else {
        let body = read_body(body, MAX_SMALL_BODY).await?;
        small_request(&ctx, &target, &method, bucket, key, &body).await
    }
}

fn not_implemented() -> OssError {
    OssError::new(
        501,
        "NotImplemented",
        "osscb-emulator does not implement this operation.",
    )
}

/// The operations whose request bodies are small.
async fn small_request(
    ctx: &Ctx<'_>,
    target: &Target,
    method: &Method,
    bucket: &str,
    key: &str,
    body: &[u8],
) -> Result<Resp, OssError> {
    if method == Method::GET && target.has("uploadId") {
        list_parts(ctx, target, bucket, key)
    } else if method == Method::GET || method == Method::HEAD {
        get_object(ctx, bucket, key, method == Method::HEAD)
    } else if method == Method::DELETE && target.has("uploadId") {
        abort_upload(ctx, target, bucket, key).await
    } else if method == Method::DELETE {
        ctx.shared
            .store
            .delete(bucket, key)
            .await
            .map_err(|e| OssError::internal(e.to_string()))?;
        Ok(respond(StatusCode::NO_CONTENT, &[], Bytes::new()))
    } else if method == Method::POST && target.has("uploads") {
        initiate(ctx, bucket, key).await
    } else if method == Method::POST && target.has("uploadId") {
        complete(ctx, target, bucket, key, body).await
    } else {
        Err(not_implemented())
    }
}

/// What an operation needs from the request besides its target.
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) peer: SocketAddr,
    pub(crate) request_id: &'a str,
    pub(crate) host_id: &'a str,
    pub(crate) headers: &'a HeaderMap,
}

impl Ctx<'_> {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn content_type(&self, key: &str) -> String {
        self.header("content-type")
            .filter(|c| !c.is_empty())
            .map_or_else(
                || osscb_core::ops::guess_content_type(key).to_owned(),
                str::to_owned,
            )
    }

    pub(crate) fn user_meta(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter(|(n, _)| n.as_str().starts_with("x-oss-meta-"))
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect()
    }

    /// Whether the write must not replace an existing object
    /// (`x-oss-forbid-overwrite: true`); the store checks it as it writes.
    pub(crate) fn forbid_overwrite(&self) -> bool {
        self.header("x-oss-forbid-overwrite")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// The answer to a store write's outcome.
pub(crate) fn stored(outcome: std::io::Result<Outcome>, upload_id: &str) -> Result<(), OssError> {
    match outcome.map_err(|e| OssError::internal(e.to_string()))? {
        Outcome::Done => Ok(()),
        Outcome::Exists => Err(OssError::new(
            409,
            "FileAlreadyExists",
            "The object you specified already exists and can not be overwritten.",
        )),
        Outcome::NoSuchUpload => Err(OssError::no_such_upload(upload_id)),
    }
}

/// Checks `Content-MD5` when sent against the body's `md5`; returns its base64.
pub(crate) fn check_md5(ctx: &Ctx<'_>, md5: [u8; 16]) -> Result<String, OssError> {
    let b64 = STANDARD.encode(md5);
    if let Some(sent) = ctx.headers.get("content-md5") {
        let matches = sent
            .to_str()
            .ok()
            .and_then(|s| STANDARD.decode(s.trim()).ok())
            .is_some_and(|d| d == md5);
        if !matches {
            return Err(OssError::new(
                400,
                "InvalidDigest",
                "The Content-MD5 you specified is not valid.",
            ));
        }
    }
    Ok(b64)
}

/// The callback a write carries: header or query (never both), decoded and validated.
pub(crate) fn callback_of(ctx: &Ctx<'_>, target: &Target) -> Result<Option<Callback>, OssError> {
    Callback::from_request(ctx.headers, &target.query).map_err(|e| {
        OssError::invalid_argument(format!("The callback configuration is not valid: {e}"))
    })
}

/// Facts about a stored object for the write answer and the callback body.
pub(crate) struct Written<'a> {
    pub(crate) meta: &'a ObjectMeta,
    pub(crate) size: u64,
    pub(crate) content_md5: Option<String>,
    pub(crate) operation: &'static str,
}

/// The answer to a successful write: headers, then the callback's outcome or
/// `xml` (CompleteMultipartUpload's result), or an empty body.
pub(crate) async fn write_answer(
    ctx: &Ctx<'_>,
    written: Written<'_>,
    callback: Option<Callback>,
    xml: Option<Vec<u8>>,
    status: StatusCode,
) -> Resp {
    let meta = written.meta;
    let mut crc = meta.crc64;
    if ctx.shared.faults.take_corrupt_crc64() {
        crc ^= 0x5555_5555_5555_5555;
    }
    let mut headers = vec![
        (ETAG, meta.etag.clone()),
        (
            HeaderName::from_static("x-oss-hash-crc64ecma"),
            crc.to_string(),
        ),
    ];
    if let Some(md5) = &written.content_md5 {
        headers.push((HeaderName::from_static("content-md5"), md5.clone()));
    }
    let Some(callback) = callback else {
        return match xml {
            Some(xml) => {
                headers.push((CONTENT_TYPE, "application/xml".to_owned()));
                respond(status, &headers, Bytes::from(xml))
            }
            None => respond(status, &headers, Bytes::new()),
        };
    };
    let etag = meta.etag.trim_matches('"').to_owned();
    let lookup = |name: &str| -> Option<String> {
        Some(match name {
            "bucket" => meta.bucket.clone(),
            "object" => meta.key.clone(),
            "etag" => etag.clone(),
            "size" => written.size.to_string(),
            "mimeType" => meta.content_type.clone(),
            "crc64" => meta.crc64.to_string(),
            "contentMd5" => written.content_md5.clone().unwrap_or_default(),
            "clientIp" => ctx.peer.ip().to_string(),
            "reqId" => ctx.request_id.to_owned(),
            "operation" => written.operation.to_owned(),
            _ => return None,
        })
    };
    let body = callback.render_body(lookup);
    let mut attempts = Vec::new();
    let delivered = callback::deliver(
        &ctx.shared.signer,
        &ctx.shared.callbacks,
        &callback,
        &body,
        &ctx.shared.public_key_url,
        ctx.shared.callback_timeout,
        &mut attempts,
    )
    .await;
    if let Some(journal) = ctx.shared.journal() {
        journal.delivery(&DeliveryEntry {
            request_id: ctx.request_id.to_owned(),
            bucket: meta.bucket.clone(),
            key: meta.key.clone(),
            attempts,
            uploader_status: if delivered.is_ok() { 200 } else { 203 },
        });
    }
    match delivered {
        Ok(answer) => {
            headers.push((CONTENT_TYPE, "application/json".to_owned()));
            respond(StatusCode::OK, &headers, answer)
        }
        Err(message) => {
            let xml =
                OssError::new(203, "CallbackFailed", message).body(ctx.request_id, ctx.host_id);
            headers.push((CONTENT_TYPE, "application/xml".to_owned()));
            respond(
                StatusCode::NON_AUTHORITATIVE_INFORMATION,
                &headers,
                Bytes::from(xml),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path is decoded (`%2F` included) before bucket and key are split,
    /// so a key that is a dot segment can follow the bucket as `%2F%2E%2E`.
    #[test]
    fn path_style_targets_decode_before_splitting() {
        let headers = HeaderMap::new();
        for (uri, bucket, key) in [
            ("http://127.0.0.1:9/bucket%2F%2E%2E", "bucket", Some("..")),
            (
                "http://127.0.0.1:9/bucket/a%2F%2E%2E%2Fb",
                "bucket",
                Some("a/../b"),
            ),
            ("http://127.0.0.1:9/bucket/%2E%2Fx", "bucket", Some("./x")),
            ("http://127.0.0.1:9/bucket/", "bucket", None),
        ] {
            let uri: http::Uri = uri.parse().unwrap_or_else(|e| panic!("{e}"));
            let target = target(&headers, &uri).unwrap_or_else(|e| panic!("{}", e.message));
            assert_eq!(target.bucket.as_deref(), Some(bucket), "{uri}");
            assert_eq!(target.key.as_deref(), key, "{uri}");
        }
    }

    #[test]
    fn virtual_host_detection() {
        assert_eq!(
            host_bucket("bucket.localhost:9000").as_deref(),
            Some("bucket")
        );
        assert_eq!(
            host_bucket("b-1.oss-cn-hangzhou.aliyuncs.com").as_deref(),
            Some("b-1")
        );
        assert_eq!(host_bucket("127.0.0.1:9000"), None);
        assert_eq!(host_bucket("localhost:9000"), None);
        assert_eq!(host_bucket("[::1]:9000"), None);
        assert_eq!(host_bucket("bucket.127.0.0.1"), None);
        assert_eq!(host_bucket("UPPER.example.com"), None);
    }
}
