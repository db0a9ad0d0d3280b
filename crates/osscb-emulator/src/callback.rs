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
use hyper_util::rt::TokioIo;
use osscb_core::callback::Callback;
use percent_encoding::percent_decode_str;
use rsa::PrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _, LineEnding};
use tokio::sync::Semaphore;

/// OSS gives the application server this long to answer.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest callback answer OSS relays.
const MAX_ANSWER: usize = 3 * 1024 * 1024;
/// Size of the key generated when none is configured (fast to generate).
const GENERATED_BITS: usize = 1024;

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
                let key = PrivateKey::new(&mut getrandom::SysRng, GENERATED_BITS)
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
    /// cannot be made. A signature costs milliseconds of CPU (5 ms for a
    /// 1024-bit key in a test build), so it is made on the blocking pool,
    /// where it cannot hold up the connections the runtime serves, and at
    /// most one per core at a time, so that 1,000 callbacks at once queue
    /// for the cores instead of starting 1,000 threads.
    pub(crate) async fn sign(self: &Arc<Self>, message: String) -> Option<Vec<u8>> {
        let permit = Arc::clone(&self.signing).acquire_owned().await.ok()?;
        let signer = Arc::clone(self);
        let signed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            signer
                .key
                .pkcs1v15_sign::<md5::Md5>(message.as_bytes())
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
pub(crate) async fn deliver(
    signer: &Arc<Signer>,
    callback: &Callback,
    body: &str,
    public_key_url: &str,
    timeout: Duration,
) -> Result<Bytes, String> {
    let mut last = CANNOT_CONNECT.to_owned();
    for url in callback.urls() {
        let answer = match signed_request(signer, callback, url, body, public_key_url).await {
            Ok((address, request)) => tokio::time::timeout(timeout, exchange(address, request))
                .await
                .unwrap_or_else(|_| Err(TOO_LONG.to_owned())),
            Err(message) => Err(message),
        };
        match answer {
            Ok(answer) => return Ok(answer),
            Err(message) => last = message,
        }
    }
    Err(last)
}

/// The signed callback request to `url`, and the host and port to send it to.
async fn signed_request(
    signer: &Arc<Signer>,
    callback: &Callback,
    url: &str,
    body: &str,
    public_key_url: &str,
) -> Result<((String, u16), http::Request<Full<Bytes>>), String> {
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
    let port = authority.port_u16().unwrap_or(80);
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let signature = signer
        .sign(string_to_sign(&uri, body))
        .await
        .ok_or_else(cannot_connect)?;
    let path_and_query = uri
        .path_and_query()
        .map_or("/".to_owned(), ToString::to_string);
    let host_header = callback
        .host()
        .map_or_else(|| authority.to_string(), str::to_owned);
    let request = http::Request::post(path_and_query)
        .header(HOST, host_header)
        .header(CONTENT_TYPE, callback.body_type().mime())
        .header(CONTENT_LENGTH, body.len())
        .header("authorization", STANDARD.encode(signature))
        .header("x-oss-pub-key-url", STANDARD.encode(public_key_url))
        .header("user-agent", "aliyun-oss-callback")
        .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
        .map_err(|_| cannot_connect())?;
    Ok(((host, port), request))
}

/// Connects, sends `request` and reads the answer.
async fn exchange(
    (host, port): (String, u16),
    request: http::Request<Full<Bytes>>,
) -> Result<Bytes, String> {
    let cannot_connect = || CANNOT_CONNECT.to_owned();
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|_| cannot_connect())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| cannot_connect())?;
    let connection = tokio::spawn(connection);
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|_| cannot_connect())?;
        let status = response.status();
        let answer = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|_| cannot_connect())?
            .to_bytes();
        if status != http::StatusCode::OK {
            return Err(format!("Error status : {}.", status.as_u16()));
        }
        if serde_json::from_slice::<serde_json::Value>(&answer).is_err() {
            return Err(NOT_JSON.to_owned());
        }
        Ok(answer)
    }
    .await;
    connection.abort();
    result
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
        let delivery = deliver(
            &signer,
            &callback,
            "a=1",
            key_url,
            Duration::from_millis(200),
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
        let mut deliveries = tokio::task::JoinSet::new();
        for i in 0..200 {
            let callback = Callback::builder(format!("http://{addr}/cb/{i}"))
                .body("a=1")
                .build()
                .unwrap_or_else(|e| fail(&e));
            let signer = Arc::clone(&signer);
            deliveries.spawn(async move {
                let key_url = "http://127.0.0.1:9/key.pem";
                let timeout = Duration::from_millis(250);
                deliver(&signer, &callback, "a=1", key_url, timeout).await
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
}
