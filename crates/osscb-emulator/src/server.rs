//! The HTTP server: connections, addressing, faults, routing and the object
//! and multipart operations.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, DATE, ETAG, HOST, LAST_MODIFIED,
    ORIGIN, RANGE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use md5::{Digest as _, Md5};
use osscb_core::callback::{
    CALLBACK_HEADER, CALLBACK_QUERY, CALLBACK_VAR_HEADER, CALLBACK_VAR_QUERY, Callback,
};
use osscb_core::{Bucket, ObjectKey, crc64};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::auth::{self, AuthRequest, Creds, iso8601};
use crate::callback::{self, Signer};
use crate::error::OssError;
use crate::faults::Faults;
use crate::store::{Object, ObjectMeta, Part, PartMeta, Store, UploadMeta, epoch_secs, hex_upper};
use crate::xml::Xml;

/// Where the emulator serves its callback public key.
pub(crate) const PUB_KEY_PATH: &str = "/__osscb/callback_pub_key.pem";
/// OSS's PutObject limit, also the emulator's largest request body.
const MAX_BODY: usize = 5 * 1024 * 1024 * 1024;
/// Every part but the last must be at least this large.
const MIN_PART_SIZE: u64 = 100 * 1024;

pub(crate) type Resp = Response<Full<Bytes>>;

/// Per-operation counters.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) upload_part: AtomicU64,
    pub(crate) abort_multipart: AtomicU64,
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) creds: Creds,
    pub(crate) store: Mutex<Store>,
    pub(crate) signer: Arc<Signer>,
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    pub(crate) public_key_url: String,
    pub(crate) callback_timeout: std::time::Duration,
}

impl Shared {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
                    let service = service_fn(move |req| {
                        let shared = Arc::clone(&shared);
                        async move { handle(&shared, req, peer).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
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

fn random_hex(n: usize) -> String {
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
    let origin = req.headers().get(ORIGIN).cloned();
    let host_id = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let is_head = req.method() == Method::HEAD;
    let mut response = if req.uri().path() == PUB_KEY_PATH
        && matches!(*req.method(), Method::GET | Method::HEAD)
    {
        respond(
            StatusCode::OK,
            &[(CONTENT_TYPE, "application/x-pem-file".to_owned())],
            Bytes::from(shared.signer.public_pem().to_owned()),
        )
    } else {
        let verdict = shared.faults.on_request();
        if let Some(delay) = verdict.delay {
            tokio::time::sleep(delay).await;
        }
        if verdict.drop {
            let mut body = req.into_body();
            let _ = body.frame().await;
            return Err(DropConnection);
        }
        let result = match verdict.fail {
            Some(status) => {
                // Read (and discard) the body first, so the client sees the
                // status rather than a broken pipe while it is still sending.
                let mut body = req.into_body();
                while let Some(Ok(_)) = body.frame().await {}
                Err(injected_error(status))
            }
            None => process(shared, req, peer, &request_id, &host_id).await,
        };
        result.unwrap_or_else(|e| error_response(&e, &request_id, &host_id, is_head))
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-oss-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now())) {
        headers.insert(DATE, v);
    }
    headers.insert("server", HeaderValue::from_static("AliyunOSS"));
    if let Some(origin) = origin {
        crate::cors::add_headers(headers, origin);
    }
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
    let mut response = Response::new(Full::new(body));
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
fn host_bucket(host: &str) -> Option<String> {
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
        ObjectKey::new(key.as_str()).map_err(|_| {
            OssError::new(
                400,
                "InvalidObjectName",
                "The specified object is not valid.",
            )
        })?;
        Some(key)
    };
    Ok(Target {
        bucket,
        key,
        query: parse_query(uri.query()),
    })
}

/// Reads a whole body (up to [`MAX_BODY`]).
pub(crate) async fn read_body(body: Incoming) -> Result<Bytes, OssError> {
    Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                OssError::new(
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size.",
                )
            } else {
                OssError::new(
                    400,
                    "IncompleteBody",
                    "The request body was not read completely.",
                )
            }
        })
}

async fn process(
    shared: &Shared,
    req: Request<Incoming>,
    peer: SocketAddr,
    request_id: &str,
    host_id: &str,
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
        return crate::post::post_object(&ctx, &target, body).await;
    }
    auth::authenticate(
        &shared.creds,
        &AuthRequest {
            method: &parts.method,
            headers: &parts.headers,
            bucket: target.bucket.as_deref(),
            key: target.key.as_deref(),
            query: &target.query,
            now: SystemTime::now(),
        },
    )?;
    let not_implemented = || {
        OssError::new(
            501,
            "NotImplemented",
            "osscb-emulator does not implement this operation.",
        )
    };
    let (Some(bucket), Some(key)) = (target.bucket.as_deref(), target.key.as_deref()) else {
        return Err(not_implemented());
    };
    let body = read_body(body).await?;
    let method = parts.method;
    if method == Method::PUT && target.has("partNumber") && target.has("uploadId") {
        upload_part(&ctx, &target, bucket, key, body)
    } else if method == Method::PUT {
        put_object(&ctx, &target, bucket, key, body).await
    } else if method == Method::GET && target.has("uploadId") {
        list_parts(&ctx, &target, bucket, key)
    } else if method == Method::GET || method == Method::HEAD {
        get_object(&ctx, bucket, key, method == Method::HEAD)
    } else if method == Method::DELETE && target.has("uploadId") {
        abort_upload(&ctx, &target, bucket, key)
    } else if method == Method::DELETE {
        ctx.shared
            .store()
            .delete(bucket, key)
            .map_err(|e| OssError::internal(e.to_string()))?;
        Ok(respond(StatusCode::NO_CONTENT, &[], Bytes::new()))
    } else if method == Method::POST && target.has("uploads") {
        initiate(&ctx, bucket, key)
    } else if method == Method::POST && target.has("uploadId") {
        complete(&ctx, &target, bucket, key, &body).await
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
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn content_type(&self, key: &str) -> String {
        self.header("content-type")
            .filter(|c| !c.is_empty())
            .map_or_else(
                || osscb_core::ops::guess_content_type(key).to_owned(),
                str::to_owned,
            )
    }

    fn user_meta(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter(|(n, _)| n.as_str().starts_with("x-oss-meta-"))
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect()
    }

    fn forbid_overwrite(&self, bucket: &str, key: &str) -> Result<(), OssError> {
        let forbid = self
            .header("x-oss-forbid-overwrite")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if forbid && self.shared.store().get(bucket, key).is_some() {
            return Err(OssError::new(
                409,
                "FileAlreadyExists",
                "The object you specified already exists and can not be overwritten.",
            ));
        }
        Ok(())
    }
}

/// Checks `Content-MD5` when sent; returns the body's MD5 and its base64.
fn check_md5(ctx: &Ctx<'_>, body: &[u8]) -> Result<([u8; 16], String), OssError> {
    let md5: [u8; 16] = Md5::digest(body).into();
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
    Ok((md5, b64))
}

/// The callback a write carries: header or query (never both), decoded and validated.
pub(crate) fn callback_of(ctx: &Ctx<'_>, target: &Target) -> Result<Option<Callback>, OssError> {
    let header = ctx.header(CALLBACK_HEADER);
    let query = target.query(CALLBACK_QUERY);
    let (encoded, vars) = match (header, query) {
        (Some(_), Some(_)) => {
            return Err(OssError::invalid_argument(
                "The callback must be given in the x-oss-callback header or in the callback query parameter, not both.",
            ));
        }
        (Some(h), None) => (h, ctx.header(CALLBACK_VAR_HEADER)),
        (None, Some(q)) => (q, target.query(CALLBACK_VAR_QUERY)),
        (None, None) => return Ok(None),
    };
    Callback::decode(encoded, vars).map(Some).map_err(|e| {
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
    match callback::deliver(
        &ctx.shared.signer,
        &callback,
        &body,
        &ctx.shared.public_key_url,
        ctx.shared.callback_timeout,
    )
    .await
    {
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

async fn put_object(
    ctx: &Ctx<'_>,
    target: &Target,
    bucket: &str,
    key: &str,
    body: Bytes,
) -> Result<Resp, OssError> {
    let callback = callback_of(ctx, target)?;
    let (md5, md5_b64) = check_md5(ctx, &body)?;
    ctx.forbid_overwrite(bucket, key)?;
    let meta = ObjectMeta {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        etag: format!("\"{}\"", hex_upper(&md5)),
        crc64: crc64::checksum(&body),
        content_type: ctx.content_type(key),
        last_modified: epoch_secs(SystemTime::now()),
        meta: ctx.user_meta(),
        multipart: false,
    };
    let size = body.len() as u64;
    ctx.shared
        .store()
        .put(Object {
            meta: meta.clone(),
            data: body,
        })
        .map_err(|e| OssError::internal(e.to_string()))?;
    let written = Written {
        meta: &meta,
        size,
        content_md5: Some(md5_b64),
        operation: "PutObject",
    };
    Ok(write_answer(ctx, written, callback, None, StatusCode::OK).await)
}

enum RangeSpec {
    Whole,
    Part(u64, u64),
    Unsatisfiable,
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n`; anything else reads the whole object as OSS does.
fn parse_range(header: &str, size: u64) -> RangeSpec {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeSpec::Whole;
    };
    if spec.contains(',') {
        return RangeSpec::Whole;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeSpec::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        return match b.parse::<u64>() {
            Ok(0) | Err(_) => RangeSpec::Whole,
            Ok(_) if size == 0 => RangeSpec::Unsatisfiable,
            Ok(n) => RangeSpec::Part(size.saturating_sub(n), size - 1),
        };
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeSpec::Whole;
    };
    let end = if b.is_empty() {
        u64::MAX
    } else {
        match b.parse::<u64>() {
            Ok(end) if end >= start => end,
            _ => return RangeSpec::Whole,
        }
    };
    if start >= size {
        RangeSpec::Unsatisfiable
    } else {
        RangeSpec::Part(start, end.min(size - 1))
    }
}

fn get_object(ctx: &Ctx<'_>, bucket: &str, key: &str, head: bool) -> Result<Resp, OssError> {
    let object = ctx
        .shared
        .store()
        .get(bucket, key)
        .cloned()
        .ok_or_else(|| {
            OssError::new(404, "NoSuchKey", "The specified key does not exist.").with("Key", key)
        })?;
    let size = object.data.len() as u64;
    let meta = &object.meta;
    let mut headers = vec![
        (CONTENT_TYPE, meta.content_type.clone()),
        (ETAG, meta.etag.clone()),
        (
            LAST_MODIFIED,
            httpdate::fmt_http_date(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(meta.last_modified),
            ),
        ),
        (
            HeaderName::from_static("x-oss-hash-crc64ecma"),
            meta.crc64.to_string(),
        ),
        (
            HeaderName::from_static("x-oss-object-type"),
            if meta.multipart {
                "Multipart"
            } else {
                "Normal"
            }
            .to_owned(),
        ),
        (
            HeaderName::from_static("x-oss-storage-class"),
            "Standard".to_owned(),
        ),
        (ACCEPT_RANGES, "bytes".to_owned()),
    ];
    for (name, value) in &meta.meta {
        if let Ok(name) = HeaderName::try_from(name.as_str()) {
            headers.push((name, value.clone()));
        }
    }
    let range = match ctx.header(RANGE.as_str()) {
        Some(r) => parse_range(r, size),
        None => RangeSpec::Whole,
    };
    let (status, body) = match range {
        RangeSpec::Whole => (StatusCode::OK, object.data.clone()),
        RangeSpec::Part(start, end) => {
            headers.push((CONTENT_RANGE, format!("bytes {start}-{end}/{size}")));
            let (s, e) = (
                usize::try_from(start).unwrap_or(usize::MAX),
                usize::try_from(end).unwrap_or(usize::MAX),
            );
            (
                StatusCode::PARTIAL_CONTENT,
                object
                    .data
                    .slice(s..=e.min(object.data.len().saturating_sub(1))),
            )
        }
        RangeSpec::Unsatisfiable => {
            return Err(OssError::new(
                416,
                "InvalidRange",
                "The requested range cannot be satisfied.",
            )
            .with(
                "RangeRequested",
                ctx.header(RANGE.as_str()).unwrap_or_default(),
            )
            .with("ActualObjectSize", size.to_string()));
        }
    };
    if head {
        headers.push((CONTENT_LENGTH, body.len().to_string()));
        return Ok(respond(status, &headers, Bytes::new()));
    }
    Ok(respond(status, &headers, body))
}

fn initiate(ctx: &Ctx<'_>, bucket: &str, key: &str) -> Result<Resp, OssError> {
    let id = random_hex(16);
    ctx.shared
        .store()
        .create_upload(UploadMeta {
            id: id.clone(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            content_type: ctx.content_type(key),
            meta: ctx.user_meta(),
        })
        .map_err(|e| OssError::internal(e.to_string()))?;
    let mut xml = Xml::new("InitiateMultipartUploadResult");
    xml.leaf("Bucket", bucket)
        .leaf("Key", key)
        .leaf("UploadId", &id);
    Ok(respond(
        StatusCode::OK,
        &[(CONTENT_TYPE, "application/xml".to_owned())],
        Bytes::from(xml.finish()),
    ))
}

fn upload_id(target: &Target) -> &str {
    target.query("uploadId").unwrap_or_default()
}

fn upload_part(
    ctx: &Ctx<'_>,
    target: &Target,
    bucket: &str,
    key: &str,
    body: Bytes,
) -> Result<Resp, OssError> {
    let id = upload_id(target);
    let number = target
        .query("partNumber")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| {
            OssError::invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive.",
            )
            .with("ArgumentName", "partNumber")
            .with(
                "ArgumentValue",
                target.query("partNumber").unwrap_or_default(),
            )
        })?;
    let (md5, _) = check_md5(ctx, &body)?;
    let meta = PartMeta {
        number,
        etag: format!("\"{}\"", hex_upper(&md5)),
        md5,
        crc64: crc64::checksum(&body),
        size: body.len() as u64,
        last_modified: epoch_secs(SystemTime::now()),
    };
    {
        let mut store = ctx.shared.store();
        if store.upload(id, bucket, key).is_none() {
            return Err(OssError::no_such_upload(id));
        }
        store
            .put_part(
                id,
                Part {
                    meta: meta.clone(),
                    data: body,
                },
            )
            .map_err(|e| OssError::internal(e.to_string()))?;
    }
    ctx.shared.stats.upload_part.fetch_add(1, Ordering::SeqCst);
    let mut crc = meta.crc64;
    if ctx.shared.faults.take_corrupt_crc64() {
        crc ^= 0x5555_5555_5555_5555;
    }
    Ok(respond(
        StatusCode::OK,
        &[
            (ETAG, meta.etag),
            (
                HeaderName::from_static("x-oss-hash-crc64ecma"),
                crc.to_string(),
            ),
        ],
        Bytes::new(),
    ))
}

#[derive(Deserialize)]
struct CompleteXml {
    #[serde(rename = "Part", default)]
    parts: Vec<CompletePartXml>,
}

#[derive(Deserialize)]
struct CompletePartXml {
    #[serde(rename = "PartNumber")]
    number: u32,
    #[serde(rename = "ETag")]
    etag: String,
}

fn same_etag(a: &str, b: &str) -> bool {
    a.trim()
        .trim_matches('"')
        .eq_ignore_ascii_case(b.trim().trim_matches('"'))
}

async fn complete(
    ctx: &Ctx<'_>,
    target: &Target,
    bucket: &str,
    key: &str,
    body: &[u8],
) -> Result<Resp, OssError> {
    let id = upload_id(target);
    let callback = callback_of(ctx, target)?;
    let upload = ctx
        .shared
        .store()
        .upload(id, bucket, key)
        .cloned()
        .ok_or_else(|| OssError::no_such_upload(id))?;
    let listed: CompleteXml = std::str::from_utf8(body)
        .ok()
        .and_then(|t| quick_xml::de::from_str(t).ok())
        .ok_or_else(OssError::malformed_xml)?;
    if listed.parts.is_empty() {
        return Err(OssError::malformed_xml());
    }
    if listed.parts.windows(2).any(|w| w[0].number >= w[1].number) {
        return Err(OssError::new(
            400,
            "InvalidPartOrder",
            "The list of parts was not in ascending order. Parts list must specified in order by part number.",
        )
        .with("UploadId", id));
    }
    let mut chosen = Vec::with_capacity(listed.parts.len());
    for p in &listed.parts {
        match upload.parts.get(&p.number) {
            Some(part) if same_etag(&part.meta.etag, &p.etag) => chosen.push(part),
            _ => {
                return Err(OssError::new(
                    400,
                    "InvalidPart",
                    "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
                )
                .with("UploadId", id)
                .with("PartNumber", p.number.to_string())
                .with("ETag", p.etag.as_str()));
            }
        }
    }
    let last = chosen.len() - 1;
    for (i, part) in chosen.iter().enumerate() {
        if i < last && part.meta.size < MIN_PART_SIZE {
            return Err(OssError::new(
                400,
                "EntityTooSmall",
                "Your proposed upload smaller than the minimum allowed size.",
            )
            .with("MinSizeAllowed", MIN_PART_SIZE.to_string())
            .with("ProposedSize", part.meta.size.to_string())
            .with("PartNumber", part.meta.number.to_string())
            .with("PartEtag", part.meta.etag.as_str()));
        }
    }
    ctx.forbid_overwrite(bucket, key)?;
    let mut data = Vec::with_capacity(chosen.iter().map(|p| p.data.len()).sum());
    let mut md5s = Md5::new();
    let mut crc = 0u64;
    for part in &chosen {
        data.extend_from_slice(&part.data);
        md5s.update(part.meta.md5);
        crc = crc64::combine(crc, part.meta.crc64, part.meta.size);
    }
    let meta = ObjectMeta {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        etag: format!("\"{}-{}\"", hex_upper(&md5s.finalize()), chosen.len()),
        crc64: crc,
        content_type: upload.meta.content_type.clone(),
        last_modified: epoch_secs(SystemTime::now()),
        meta: upload.meta.meta.clone(),
        multipart: true,
    };
    let size = data.len() as u64;
    {
        let mut store = ctx.shared.store();
        store
            .put(Object {
                meta: meta.clone(),
                data: Bytes::from(data),
            })
            .map_err(|e| OssError::internal(e.to_string()))?;
        store
            .remove_upload(id)
            .map_err(|e| OssError::internal(e.to_string()))?;
    }
    let host = ctx.host_id;
    let location = if host_bucket(host).is_some() {
        format!("http://{host}/{key}")
    } else {
        format!("http://{host}/{bucket}/{key}")
    };
    let mut xml = Xml::new("CompleteMultipartUploadResult");
    xml.leaf("Location", &location)
        .leaf("Bucket", bucket)
        .leaf("Key", key)
        .leaf("ETag", &meta.etag);
    let written = Written {
        meta: &meta,
        size,
        content_md5: None,
        operation: "CompleteMultipartUpload",
    };
    Ok(write_answer(ctx, written, callback, Some(xml.finish()), StatusCode::OK).await)
}

fn abort_upload(ctx: &Ctx<'_>, target: &Target, bucket: &str, key: &str) -> Result<Resp, OssError> {
    ctx.shared
        .stats
        .abort_multipart
        .fetch_add(1, Ordering::SeqCst);
    let id = upload_id(target);
    let mut store = ctx.shared.store();
    if store.upload(id, bucket, key).is_none() {
        return Err(OssError::no_such_upload(id));
    }
    store
        .remove_upload(id)
        .map_err(|e| OssError::internal(e.to_string()))?;
    Ok(respond(StatusCode::NO_CONTENT, &[], Bytes::new()))
}

fn list_parts(ctx: &Ctx<'_>, target: &Target, bucket: &str, key: &str) -> Result<Resp, OssError> {
    let id = upload_id(target);
    let number = |name: &str, default: u32| -> Result<u32, OssError> {
        match target.query(name) {
            None | Some("") => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                OssError::invalid_argument(format!("{name} must be an integer."))
                    .with("ArgumentName", name)
                    .with("ArgumentValue", v)
            }),
        }
    };
    let max = number("max-parts", 1000)?.clamp(1, 1000);
    let marker = number("part-number-marker", 0)?;
    let upload = ctx
        .shared
        .store()
        .upload(id, bucket, key)
        .cloned()
        .ok_or_else(|| OssError::no_such_upload(id))?;
    let mut remaining = upload.parts.range(marker.saturating_add(1)..).peekable();
    let mut listed = Vec::new();
    while listed.len() < max as usize {
        match remaining.next() {
            Some((_, part)) => listed.push(part),
            None => break,
        }
    }
    let truncated = remaining.peek().is_some();
    let next = listed.last().map_or(marker, |p| p.meta.number);
    let mut xml = Xml::new("ListPartsResult");
    xml.leaf("Bucket", bucket)
        .leaf("Key", key)
        .leaf("UploadId", id)
        .leaf("PartNumberMarker", &marker.to_string())
        .leaf("NextPartNumberMarker", &next.to_string())
        .leaf("MaxParts", &max.to_string())
        .leaf("IsTruncated", if truncated { "true" } else { "false" });
    for part in listed {
        xml.open("Part")
            .leaf("PartNumber", &part.meta.number.to_string())
            .leaf("LastModified", &iso8601(part.meta.last_modified))
            .leaf("ETag", &part.meta.etag)
            .leaf("HashCrc64ecma", &part.meta.crc64.to_string())
            .leaf("Size", &part.meta.size.to_string())
            .close();
    }
    Ok(respond(
        StatusCode::OK,
        &[(CONTENT_TYPE, "application/xml".to_owned())],
        Bytes::from(xml.finish()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn ranges() {
        let show = |r: RangeSpec| match r {
            RangeSpec::Whole => "whole".to_owned(),
            RangeSpec::Part(a, b) => format!("{a}-{b}"),
            RangeSpec::Unsatisfiable => "416".to_owned(),
        };
        assert_eq!(show(parse_range("bytes=0-4", 10)), "0-4");
        assert_eq!(show(parse_range("bytes=5-", 10)), "5-9");
        assert_eq!(show(parse_range("bytes=-3", 10)), "7-9");
        assert_eq!(show(parse_range("bytes=-30", 10)), "0-9");
        assert_eq!(show(parse_range("bytes=8-100", 10)), "8-9");
        assert_eq!(show(parse_range("bytes=10-", 10)), "416");
        assert_eq!(show(parse_range("bytes=4-2", 10)), "whole");
        assert_eq!(show(parse_range("bytes=a-b", 10)), "whole");
        assert_eq!(show(parse_range("items=0-1", 10)), "whole");
        assert_eq!(show(parse_range("bytes=0-1,3-4", 10)), "whole");
    }
}
