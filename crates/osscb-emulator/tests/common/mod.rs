//! Shared helpers: a plain hyper HTTP/1.1 client, request signing with
//! osscb-core, a callback receiver, and openssl-based RSA verification.
#![allow(dead_code, missing_docs)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use osscb_core::callback::Callback;
use osscb_core::credentials::rpc;
use osscb_core::ops::Operation;
use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey, OssRequest};
use osscb_emulator::{Emulator, EmulatorConfig};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::sync::{Mutex, mpsc};

pub const ID: &str = "test-id";
pub const SECRET: &str = "test-secret";

pub fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::new(ID, SECRET)).expect("start")
}

pub fn config(emu: &Emulator) -> Config {
    Config::v1(Endpoint::parse(&emu.endpoint()).expect("endpoint"))
}

pub fn creds() -> Credentials {
    Credentials::new(ID, SECRET)
}

pub fn b(s: &str) -> Bucket {
    Bucket::new(s).expect("bucket")
}

pub fn k(s: &str) -> ObjectKey {
    ObjectKey::new(s).expect("key")
}

/// Signs `op` with `body` for the emulator at `now`.
pub fn sign<O: Operation<Body = ()>>(
    emu: &Emulator,
    op: &O,
    body: impl Into<Vec<u8>>,
    credentials: &Credentials,
) -> Request<Vec<u8>> {
    let body = body.into();
    op.request()
        .expect("request")
        .map_body(|()| body)
        .sign(&config(emu), credentials, SystemTime::now())
        .expect("sign")
}

/// The multipart steps as custom requests of `bucket`, built with the public
/// [`OssRequest`] (the core keeps its own step operations to its upload
/// machine): `POST /key?uploads`.
pub fn initiate_request(key: &str) -> OssRequest<Vec<u8>> {
    OssRequest::new(http::Method::POST, b("bucket"), Some(k(key)), Vec::new()).query("uploads", "")
}

/// `PUT /key?partNumber=N&uploadId=ID` with `data`.
pub fn upload_part_request(key: &str, upload_id: &str, n: u32, data: &[u8]) -> OssRequest<Vec<u8>> {
    let mut request = OssRequest::new(http::Method::PUT, b("bucket"), Some(k(key)), data.to_vec())
        .query("partNumber", n.to_string())
        .query("uploadId", upload_id);
    request
        .set_header_str("content-length", &data.len().to_string())
        .expect("content-length");
    request
}

/// `POST /key?uploadId=ID` with the XML part list of `parts` (number, ETag)
/// in the order given, and `callback`'s headers.
pub fn complete_request(
    key: &str,
    upload_id: &str,
    parts: &[(u32, &str)],
    callback: Option<&Callback>,
) -> OssRequest<Vec<u8>> {
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (n, etag) in parts {
        xml.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    let mut request = OssRequest::new(
        http::Method::POST,
        b("bucket"),
        Some(k(key)),
        xml.clone().into_bytes(),
    )
    .query("uploadId", upload_id);
    request
        .set_header_str("content-length", &xml.len().to_string())
        .expect("content-length");
    if let Some(callback) = callback {
        request
            .set_header_str("x-oss-callback", callback.encoded())
            .expect("callback");
        if let Some(variables) = callback.encoded_variables() {
            request
                .set_header_str("x-oss-callback-var", variables)
                .expect("callback-var");
        }
    }
    request
}

/// `GET /key?uploadId=ID` (ListParts), at most `max_parts`.
pub fn list_parts_request(key: &str, upload_id: &str, max_parts: u32) -> OssRequest<Vec<u8>> {
    OssRequest::new(http::Method::GET, b("bucket"), Some(k(key)), Vec::new())
        .query("max-parts", max_parts.to_string())
        .query("uploadId", upload_id)
}

/// Signs a custom request for the emulator at `now`.
pub fn sign_request(
    emu: &Emulator,
    request: &OssRequest<Vec<u8>>,
    credentials: &Credentials,
) -> Request<Vec<u8>> {
    request
        .clone()
        .sign(&config(emu), credentials, SystemTime::now())
        .expect("sign")
}

/// The text of the first `<name>` element of `xml` ("" if none).
pub fn element<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    xml.split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map_or("", |(inner, _)| inner)
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
    pub fn request_id(&self) -> String {
        self.header("x-oss-request-id").to_owned()
    }
}

/// Sends a request over a fresh connection; `Err` when the connection breaks.
pub async fn try_send(addr: SocketAddr, req: Request<Vec<u8>>) -> Result<Reply, String> {
    let (mut parts, body) = req.into_parts();
    if !parts.headers.contains_key("host") {
        let host = parts
            .uri
            .authority()
            .map_or_else(|| addr.to_string(), ToString::to_string);
        parts
            .headers
            .insert("host", HeaderValue::from_str(&host).expect("host"));
    }
    parts.uri = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .expect("path");
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let response = sender
        .send_request(Request::from_parts(parts, Full::new(Bytes::from(body))))
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes()
        .to_vec();
    Ok(Reply {
        status,
        headers,
        body,
    })
}

pub async fn send(addr: SocketAddr, req: Request<Vec<u8>>) -> Reply {
    try_send(addr, req).await.expect("send")
}

/// The exact `<Error>` document the emulator writes.
pub fn error_xml(
    code: &str,
    message: &str,
    reply: &Reply,
    host: &str,
    extra: &[(&str, &str)],
    ec: &str,
) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{code}</Code>\n  <Message>{message}</Message>\n  <RequestId>{}</RequestId>\n  <HostId>{host}</HostId>\n",
        reply.request_id()
    );
    for (name, value) in extra {
        xml.push_str(&format!("  <{name}>{value}</{name}>\n"));
    }
    xml.push_str(&format!("  <EC>{ec}</EC>\n</Error>"));
    xml
}

/// A request the callback receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A small app server on 127.0.0.1:0 that records each request and answers
/// with a fixed status, content type and body.
pub struct Receiver {
    pub addr: SocketAddr,
    pub rx: mpsc::UnboundedReceiver<Received>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start(status: u16, answer: &'static str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = mpsc::unbounded_channel();
        let tx = Arc::new(Mutex::new(tx));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tx = Arc::clone(&tx);
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let tx = Arc::clone(&tx);
                            async move {
                                let (parts, body) = req.into_parts();
                                let received = body
                                    .collect()
                                    .await
                                    .map(|c| c.to_bytes().to_vec())
                                    .unwrap_or_default();
                                let _ = tx.lock().await.send(Received {
                                    method: parts.method.to_string(),
                                    path_and_query: parts
                                        .uri
                                        .path_and_query()
                                        .map(ToString::to_string)
                                        .unwrap_or_default(),
                                    headers: parts.headers,
                                    body: received,
                                });
                                let mut response =
                                    Response::new(Full::new(Bytes::from_static(answer.as_bytes())));
                                *response.status_mut() =
                                    StatusCode::from_u16(status).expect("status");
                                response.headers_mut().insert(
                                    "content-type",
                                    HeaderValue::from_static("application/json"),
                                );
                                Ok::<_, std::convert::Infallible>(response)
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, rx, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "osscb-emulator-{name}-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("time")
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

/// Verifies an RSA PKCS#1 v1.5 / MD5 signature with the `openssl` CLI:
/// independent of the emulator's own RSA code.
pub fn openssl_verify(public_pem: &str, message: &[u8], signature: &[u8]) -> bool {
    let dir = temp_dir("openssl");
    std::fs::write(dir.join("pub.pem"), public_pem).expect("write");
    std::fs::write(dir.join("msg"), message).expect("write");
    std::fs::write(dir.join("sig"), signature).expect("write");
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-md5", "-verify"])
        .arg(dir.join("pub.pem"))
        .arg("-signature")
        .arg(dir.join("sig"))
        .arg(dir.join("msg"))
        .output()
        .expect("openssl must be installed");
    let _ = std::fs::remove_dir_all(&dir);
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

/// Opens a connection, sends part of a request head, then one header byte
/// every 50 ms; returns how long the emulator kept the connection open
/// (`None`: still open after `give_up`).
pub async fn slowloris(
    addr: SocketAddr,
    give_up: std::time::Duration,
) -> Option<std::time::Duration> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let started = std::time::Instant::now();
    stream
        .write_all(b"GET /bucket/k HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
        .await
        .expect("write");
    let mut buf = [0u8; 1024];
    while started.elapsed() < give_up {
        match tokio::time::timeout(std::time::Duration::from_millis(50), stream.read(&mut buf))
            .await
        {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {} // an answer, if any, is not the close
            Err(_) => {
                if stream.write_all(b"a").await.is_err() {
                    return Some(started.elapsed());
                }
            }
        }
    }
    None
}

/// A PostObject form: `fields`, then the file.
pub fn form(fields: &[(&str, &str)], file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----osscbBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"pic.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A PostObject of `fields` and `file` to the emulator's bucket `bucket`.
pub fn post(
    emu: &osscb_emulator::Emulator,
    fields: &[(&str, &str)],
    file: &[u8],
) -> Request<Vec<u8>> {
    let (ct, body) = form(fields, file);
    Request::post(format!("{}/bucket/", emu.endpoint()))
        .header("content-type", ct)
        .header("origin", "http://page.example")
        .body(body)
        .expect("req")
}

/// The role STS tests assume.
pub const ROLE_ARN: &str = "acs:ram::1234567890123456:role/osscb-test";

/// `YYYY-MM-DDThh:mm:ssZ`.
pub fn utc(time: SystemTime) -> String {
    let millis = osscb_core::time::iso8601_millis(time).expect("time");
    format!("{}Z", &millis[..19])
}

pub fn form_encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// An STS call: common parameters in the query, the action's in the body,
/// as aliyun/credentials-go sends them.
pub fn sts_request(
    endpoint: &str,
    path: &str,
    query: &[(String, String)],
    body: &[(String, String)],
) -> Request<Vec<u8>> {
    Request::post(format!("{endpoint}{path}?{}", form_encode(query)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(body).into_bytes())
        .expect("request")
}

/// The body of an `AssumeRole` for `session`.
pub fn role_body(session: &str, duration: &str) -> Vec<(String, String)> {
    pairs(&[
        ("RoleArn", ROLE_ARN),
        ("RoleSessionName", session),
        ("DurationSeconds", duration),
    ])
}

/// The query of an `AssumeRole` by `caller` with `nonce` at `timestamp`,
/// signed over it and `body` (`Signature` last).
pub fn signed_query(
    caller: &Credentials,
    nonce: &str,
    timestamp: &str,
    body: &[(String, String)],
) -> Vec<(String, String)> {
    let mut query = pairs(&[
        ("Action", "AssumeRole"),
        ("Version", "2015-04-01"),
        ("Format", "JSON"),
        ("AccessKeyId", caller.access_key_id()),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce),
        ("Timestamp", timestamp),
    ]);
    if let Some(token) = caller.security_token() {
        query.push(("SecurityToken".to_owned(), token.to_owned()));
    }
    let all: Vec<_> = query.iter().chain(body).cloned().collect();
    let text = rpc::string_to_sign(&http::Method::POST, &all);
    query.push((
        "Signature".to_owned(),
        rpc::signature(caller.access_key_secret(), &text),
    ));
    query
}
