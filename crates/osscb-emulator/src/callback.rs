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
        Ok(Self { key, public_pem })
    }

    /// The public key, SPKI PEM.
    pub(crate) fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// RSA PKCS#1 v1.5 signature with MD5 over `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rsa::Error> {
        self.key.pkcs1v15_sign::<md5::Md5>(message)
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
pub(crate) async fn deliver(
    signer: &Signer,
    callback: &Callback,
    body: &str,
    public_key_url: &str,
    timeout: Duration,
) -> Result<Bytes, String> {
    let mut last = CANNOT_CONNECT.to_owned();
    for url in callback.urls() {
        match tokio::time::timeout(
            timeout,
            deliver_one(signer, callback, url, body, public_key_url),
        )
        .await
        {
            Ok(Ok(answer)) => return Ok(answer),
            Ok(Err(message)) => last = message,
            Err(_) => last = TOO_LONG.to_owned(),
        }
    }
    Err(last)
}

async fn deliver_one(
    signer: &Signer,
    callback: &Callback,
    url: &str,
    body: &str,
    public_key_url: &str,
) -> Result<Bytes, String> {
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
        .trim_end_matches(']');
    let signature = signer
        .sign(string_to_sign(&uri, body).as_bytes())
        .map_err(|_| cannot_connect())?;
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
    let stream = tokio::net::TcpStream::connect((host, port))
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
}
