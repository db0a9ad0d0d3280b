//! Upload callbacks: the RSA key that signs them, and their delivery.
//!
//! OSS signs `url_decode(path) + ("?" + query, when there is one) + "\n" + body`
//! with RSA PKCS#1 v1.5 over MD5, sends the signature base64-encoded in
//! `authorization` and the base64 of the public key's URL in `x-oss-pub-key-url`.

use std::io;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use md5::Digest as _;
use osscb_core::callback::Callback;
use percent_encoding::percent_decode_str;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rsa::traits::SignatureScheme as _;
use rsa::{Pkcs1v15Sign, PrivateKey};
use tokio::sync::Semaphore;

use crate::journal::{self, Attempt};

/// OSS gives the application server this long to answer.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest callback answer OSS relays.
const MAX_ANSWER: usize = 3 * 1024 * 1024;
/// Size of the key generated when none is configured: OSS's own callback
/// key (`callback_pub_key_v1.pem`) is 512-bit RSA, and a 512-bit signature
/// costs a fraction of a 1024-bit one.
const GENERATED_BITS: usize = 512;
/// How long an idle connection to a receiver is kept for the next callback.
const IDLE: Duration = Duration::from_secs(30);
/// How many idle connections are kept per receiver.
const IDLE_PER_HOST: usize = 64;

/// Connections to callback receivers, kept alive and reused.
pub(crate) type Pool = Client<HttpConnector, Full<Bytes>>;

/// A pool of keep-alive connections (HTTP/1.1, plain TCP) to receivers.
pub(crate) fn pool() -> Pool {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(IDLE)
        .pool_max_idle_per_host(IDLE_PER_HOST)
        .pool_timer(TokioTimer::new())
        .build(connector)
}

/// `CallbackFailed` messages, as OSS words them.
pub(crate) const CANNOT_CONNECT: &str =
    "Error status : -1.OSS can not connect to your callbackUrl, please check it.";
pub(crate) const TOO_LONG: &str = "Cost too long time.";
pub(crate) const NOT_JSON: &str = "Response body is not valid json format.";

/// The callback signing key and its public half as SPKI PEM.
pub(crate) struct Signer {
    key: PrivateKey,
    public_pem: String,
    /// One signature at a time per core (see [`Signer::sign`]).
    signing: Arc<Semaphore>,
}

impl Signer {
    /// Loads a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`)
    /// PEM, or generates a key (once per process) when `pem` is `None`.
    pub(crate) fn load(pem: Option<&str>) -> io::Result<Arc<Self>> {
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
        match pem {
            Some(pem) => {
                let key = PrivateKey::from_pkcs8_pem(pem)
                    .or_else(|_| PrivateKey::from_pkcs1_pem(pem))
                    .map_err(|e| invalid(format!("RSA private key PEM: {e}")))?;
                Self::from_key(key).map(Arc::new)
            }
            None => {
                static GENERATED: OnceLock<Arc<Signer>> = OnceLock::new();
                if let Some(signer) = GENERATED.get() {
                    return Ok(Arc::clone(signer));
                }
                // `new` refuses keys under 1024 bits; OSS's is 512.
                let key = PrivateKey::new_unchecked(&mut getrandom::SysRng, GENERATED_BITS)
                    .map_err(|e| io::Error::other(format!("RSA key generation: {e}")))?;
                let signer = Arc::new(Self::from_key(key)?);
                Ok(Arc::clone(GENERATED.get_or_init(|| signer)))
            }
        }
    }

    fn from_key(key: PrivateKey) -> io::Result<Self> {
        let public_pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| io::Error::other(format!("public key PEM: {e}")))?;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let signing = Arc::new(Semaphore::new(cores));
        Ok(Self {
            key,
            public_pem,
            signing,
        })
    }

    /// The public key, SPKI PEM.
    pub(crate) fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// RSA PKCS#1 v1.5 signature with MD5 over `message`; `None` if it
    /// cannot be made. A signature costs up to milliseconds of CPU (0.3 ms
    /// for the generated 512-bit key in a release build, 5 ms for a 1024-bit
    /// one in a test build), so it is made on the blocking pool,
    /// where it cannot hold up the connections the runtime serves, and at
    /// most one per core at a time, so that 1,000 callbacks at once queue
    /// for the cores instead of starting 1,000 threads.
    pub(crate) async fn sign(self: &Arc<Self>, message: String) -> Option<Vec<u8>> {
        let permit = Arc::clone(&self.signing).acquire_owned().await.ok()?;
        let signer = Arc::clone(self);
        let signed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // Unblinded: blinding guards a private key against timing
            // attacks, which a local emulator's throwaway key need not fear,
            // and costs two thirds of the signature's time. The signature is
            // the same either way (PKCS#1 v1.5 is deterministic).
            let digest = md5::Md5::digest(message.as_bytes());
            Pkcs1v15Sign::new::<md5::Md5>()
                .sign(None::<&mut getrandom::SysRng>, &signer.key, &digest)
                .ok()
        });
        signed.await.ok().flatten()
    }
}

/// The string OSS signs for a callback to `url` with `body`.
pub(crate) fn string_to_sign(url: &http::Uri, body: &str) -> String {
    let path = percent_decode_str(url.path()).decode_utf8_lossy();
    let mut out = path.into_owned();
    if let Some(query) = url.query().filter(|q| !q.is_empty()) {
        out.push('?');
        out.push_str(query);
    }
    out.push('\n');
    out.push_str(body);
    out
}

/// Sends the callback to each URL in order; the first 200 with a JSON body
/// wins. `Err` carries the `CallbackFailed` message of the last failure.
/// Each URL's receiver gets `timeout` from when its request is signed:
/// signing is OSS's work, not the receiver's, and under load it queues.
/// Each try is added to `attempts`, for the journal (secrets redacted).
pub(crate) async fn deliver(
    signer: &Arc<Signer>,
    pool: &Pool,
    callback: &Callback,
    body: &str,
    public_key_url: &str,
    timeout: Duration,
    attempts: &mut Vec<Attempt>,
) -> Result<Bytes, String> {
    let mut last = CANNOT_CONNECT.to_owned();
    for url in callback.urls() {
        let mut attempt = Attempt {
            url: journal::without_query(url),
            headers: Vec::new(),
            body: journal::capped(body.as_bytes()),
            status: None,
            answer: String::new(),
            error: None,
        };
        let answer = match signed_request(signer, callback, url, body, public_key_url).await {
            Ok(request) => {
                attempt.headers = shown_headers(request.headers());
                tokio::time::timeout(timeout, exchange(pool, request))
                    .await
                    .unwrap_or_else(|_| Err(TOO_LONG.to_owned()))
                    .and_then(|(status, answer)| {
                        attempt.status = Some(status.as_u16());
                        attempt.answer = journal::capped(&answer);
                        judge(status, answer)
                    })
            }
            Err(message) => Err(message),
        };
        attempt.error = answer.as_ref().err().cloned();
        attempts.push(attempt);
        match answer {
            Ok(answer) => return Ok(answer),
            Err(message) => last = message,
        }
    }
    Err(last)
}

/// A callback request's headers as the journal shows them: the signature
/// (`authorization`) redacted.
fn shown_headers(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if name == http::header::AUTHORIZATION {
                journal::REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}

/// The signed callback request to `url`, and the host and port to send it to.
async fn signed_request(
    signer: &Arc<Signer>,
    callback: &Callback,
    url: &str,
    body: &str,
    public_key_url: &str,
) -> Result<http::Request<Full<Bytes>>, String> {
    let cannot_connect = || CANNOT_CONNECT.to_owned();
    let with_scheme = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let uri: http::Uri = with_scheme.parse().map_err(|_| cannot_connect())?;
    // Only plain HTTP: the emulator has no TLS client.
    if uri.scheme_str() != Some("http") {
        return Err(cannot_connect());
    }
    let authority = uri.authority().ok_or_else(cannot_connect)?.clone();
    let signature = signer
        .sign(string_to_sign(&uri, body))
        .await
        .ok_or_else(cannot_connect)?;
    let host_header = callback
        .host()
        .map_or_else(|| authority.to_string(), str::to_owned);
    // The pool sends the path and query, and the `Host` set here.
    let request = http::Request::post(uri)
        .header(HOST, host_header)
        .header(CONTENT_TYPE, callback.body_type().mime())
        .header(CONTENT_LENGTH, body.len())
        .header("authorization", STANDARD.encode(signature))
        .header("x-oss-pub-key-url", STANDARD.encode(public_key_url))
        .header("user-agent", "aliyun-oss-callback")
        .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
        .map_err(|_| cannot_connect())?;
    Ok(request)
}

/// Sends `request` on a pooled connection (or a new one) and reads the
/// answer. A connection goes back to the pool only once its answer is read
/// whole; one given up on (timed out, too long an answer) is closed.
async fn exchange(
    pool: &Pool,
    request: http::Request<Full<Bytes>>,
) -> Result<(http::StatusCode, Bytes), String> {
    let cannot_connect = || CANNOT_CONNECT.to_owned();
    let response = pool.request(request).await.map_err(|_| cannot_connect())?;
    let status = response.status();
    let answer = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|_| cannot_connect())?
        .to_bytes();
    Ok((status, answer))
}

/// OSS's verdict on an answer: a 200 with a JSON body, else `CallbackFailed`.
fn judge(status: http::StatusCode, answer: Bytes) -> Result<Bytes, String> {
    if status != http::StatusCode::OK {
        return Err(format!("Error status : {}.", status.as_u16()));
    }
    if serde_json::from_slice::<serde_json::Value>(&answer).is_err() {
        return Err(NOT_JSON.to_owned());
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_string_rules() {
        let uri: http::Uri = "http://h:1/a%20b/c?x=1&y=%2F"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(string_to_sign(&uri, "b=1"), "/a b/c?x=1&y=%2F\nb=1");
        let uri: http::Uri = "http://h/".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(string_to_sign(&uri, ""), "/\n");
    }

    /// A receiver that never answers costs the upload the timeout, and the
    /// emulator its socket only until then.
    #[tokio::test]
    async fn a_timed_out_callback_closes_its_connection() {
        use tokio::io::AsyncReadExt as _;
        let fail = |e: &dyn std::fmt::Display| -> ! { panic!("{e}") };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| fail(&e));
        let addr = listener.local_addr().unwrap_or_else(|e| fail(&e));
        let signer = Signer::load(None).unwrap_or_else(|e| fail(&e));
        let callback = Callback::builder(format!("http://{addr}/cb"))
            .body("a=1")
            .build()
            .unwrap_or_else(|e| fail(&e));
        let key_url = "http://127.0.0.1:9/key.pem";
        let pool = pool();
        let mut attempts = Vec::new();
        let delivery = deliver(
            &signer,
            &pool,
            &callback,
            "a=1",
            key_url,
            Duration::from_millis(200),
            &mut attempts,
        );
        // Reads the request and never answers; true once the emulator closes.
        let silent = async {
            let (mut stream, _) = listener.accept().await.unwrap_or_else(|e| fail(&e));
            let mut buf = [0; 4096];
            let until_closed = async { while let Ok(1..) = stream.read(&mut buf).await {} };
            tokio::time::timeout(Duration::from_secs(5), until_closed)
                .await
                .is_ok()
        };
        let (delivered, closed) = tokio::join!(delivery, silent);
        assert_eq!(delivered, Err(TOO_LONG.to_owned()));
        assert!(closed, "the connection outlived the callback's timeout");
    }

    /// Many callbacks at once: each receiver gets its whole timeout, however
    /// long the emulator takes to sign the others (5 ms a signature in a
    /// test build, 200 of them here, against a 250 ms timeout).
    #[tokio::test]
    async fn signing_does_not_eat_into_the_receivers_time() {
        use hyper::service::service_fn;
        use hyper_util::rt::TokioIo;
        let fail = |e: &dyn std::fmt::Display| -> ! { panic!("{e}") };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| fail(&e));
        let addr = listener.local_addr().unwrap_or_else(|e| fail(&e));
        let receiver = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let answer = service_fn(|_| async {
                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                        Bytes::from_static(b"{}"),
                    )))
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), answer),
                );
            }
        });
        let signer = Signer::load(None).unwrap_or_else(|e| fail(&e));
        let pool = pool();
        let mut deliveries = tokio::task::JoinSet::new();
        for i in 0..200 {
            let callback = Callback::builder(format!("http://{addr}/cb/{i}"))
                .body("a=1")
                .build()
                .unwrap_or_else(|e| fail(&e));
            let (signer, pool) = (Arc::clone(&signer), pool.clone());
            deliveries.spawn(async move {
                let key_url = "http://127.0.0.1:9/key.pem";
                let timeout = Duration::from_millis(250);
                deliver(
                    &signer,
                    &pool,
                    &callback,
                    "a=1",
                    key_url,
                    timeout,
                    &mut Vec::new(),
                )
                .await
            });
        }
        let delivered = deliveries.join_all().await;
        receiver.abort();
        let late = delivered.iter().filter(|d| d.is_err()).count();
        assert_eq!(
            late,
            0,
            "{late} of 200 callbacks failed: {:?}",
            delivered.iter().find(|d| d.is_err())
        );
    }

    /// Callbacks one after another to one receiver share one kept-alive
    /// connection, and each is signed as OSS signs (checked with
    /// `osscb_core`'s verifier), with a generated key as large as OSS's:
    /// 512 bits, a 64-byte signature.
    #[tokio::test]
    async fn callbacks_to_one_receiver_reuse_its_connection() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::time::Instant;

        use hyper::service::service_fn;
        use hyper_util::rt::TokioIo;
        use osscb_core::verify::{CallbackRequest, Check, Verifier};
        let fail = |e: &dyn std::fmt::Display| -> ! { panic!("{e}") };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| fail(&e));
        let addr = listener.local_addr().unwrap_or_else(|e| fail(&e));
        let signer = Signer::load(None).unwrap_or_else(|e| fail(&e));
        let pem = signer.public_pem().to_owned();
        let key_url = "http://127.0.0.1:9/key.pem";
        let verifier = Verifier::new().trust_key_url_prefix("http://127.0.0.1:9/");
        // What the receiver found, one entry per callback.
        let verdicts = Arc::new(std::sync::Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (accepted, seen) = (Arc::clone(&connections), Arc::clone(&verdicts));
        let receiver = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                let (verifier, seen, pem) = (verifier.clone(), Arc::clone(&seen), pem.clone());
                let answer = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let (verifier, seen, pem) = (verifier.clone(), Arc::clone(&seen), pem.clone());
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes().to_vec());
                        let request = http::Request::from_parts(parts, body.unwrap_or_default());
                        let signature = request
                            .headers()
                            .get("authorization")
                            .and_then(|v| STANDARD.decode(v.as_bytes()).ok())
                            .map_or(0, |s| s.len());
                        let verified = loop {
                            let check = CallbackRequest::from_http(&request);
                            match verifier.check(&check, Instant::now()) {
                                Ok(Check::Fetch(fetch)) => {
                                    verifier.key_fetched(fetch, Ok(pem.as_bytes()), Instant::now());
                                }
                                Ok(Check::Wait(_)) => {}
                                Ok(Check::Verified(_)) => break true,
                                Err(_) => break false,
                            }
                        };
                        if let Ok(mut seen) = seen.lock() {
                            seen.push((verified, signature));
                        }
                        let ok = Full::new(Bytes::from_static(b"{}"));
                        Ok::<_, std::convert::Infallible>(http::Response::new(ok))
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), answer),
                );
            }
        });
        let pool = pool();
        for i in 0..5 {
            let callback = Callback::builder(format!("http://{addr}/cb/{i}"))
                .body("a=1")
                .build()
                .unwrap_or_else(|e| fail(&e));
            let delivered = deliver(
                &signer,
                &pool,
                &callback,
                "a=1",
                key_url,
                TIMEOUT,
                &mut Vec::new(),
            )
            .await;
            assert_eq!(delivered, Ok(Bytes::from_static(b"{}")), "callback {i}");
        }
        receiver.abort();
        assert_eq!(connections.load(Ordering::SeqCst), 1);
        let seen = verdicts.lock().map(|v| v.clone()).unwrap_or_default();
        assert_eq!(seen, vec![(true, 64); 5]);
    }
}
