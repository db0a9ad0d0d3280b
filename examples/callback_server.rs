//! An application server for OSS upload callbacks.
//!
//! ```text
//! cargo run -p osscb-examples --example callback_server -- --listen 127.0.0.1:8080 \
//!     [--public-url http://app.example.com:8080] [--trust-key-url-prefix PREFIX]...
//! ```
//!
//! - `POST` on any path: verifies the callback (RSA signature over the path,
//!   the query and the body) with the key named by `x-oss-pub-key-url`, trusted
//!   only under `http(s)://gosspublic.alicdn.com/` (OSS's key is built in) and
//!   each `--trust-key-url-prefix` (e.g. an emulator's `http://127.0.0.1:9000/`;
//!   fetched once and cached by the `Verifier`). A verified callback gets 200
//!   with `{"status":"ok","verified":true,"callback":{…the body's fields…}}` and
//!   its body is printed on stdout as one line; anything else gets 400 with
//!   `{"status":"error","error":"…"}` (reasons go to stderr).
//! - `GET /upload-form?key=KEY[&content_type=TYPE]`: a signed PostObject form and
//!   a presigned PUT URL for `KEY`, both with a callback to this server's
//!   `/oss-callback` (JSON body: bucket, object, etag, size, mimeType, and the
//!   custom variable `x:via` = `post-object` or `presigned-put`). Shape:
//!   ```text
//!   {"key": "uploads/cat.png",
//!    "expires": "2026-11-25T18:00:00.000Z",
//!    "callback_url": "http://127.0.0.1:8080/oss-callback",
//!    "post": {"url": "https://bucket.oss-cn-hangzhou.aliyuncs.com/",
//!             "fields": [["key", "uploads/cat.png"], ["policy", "…"],
//!                        ["OSSAccessKeyId", "…"], ["Signature", "…"], …],
//!             "file_field": "file"},
//!    "put":  {"method": "PUT", "url": "https://…?Expires=…&Signature=…&callback=…",
//!             "headers": {"content-type": "image/png"}}}
//!   ```
//!   From Python: `requests.post(f["post"]["url"], data=f["post"]["fields"],
//!   files={"file": open(path, "rb")})` (fields in order, the file last), or
//!   `requests.put(f["put"]["url"], headers=f["put"]["headers"], data=...)`.
//!   Either upload answers with this server's JSON.
//! - `GET /`: a page that uploads a picked file straight to OSS with that form
//!   and shows the callback's answer.
//!
//! OSS settings come from `OSS_ENDPOINT`, `OSS_BUCKET`, `OSS_ACCESS_KEY_ID`,
//! `OSS_ACCESS_KEY_SECRET` and, for STS credentials, `OSS_SESSION_TOKEN`;
//! without them the server only verifies callbacks. `--public-url` is the
//! base URL OSS calls back (default: `http://` + the listen address).

#[path = "callback_server/app.rs"]
mod app;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage: callback_server --listen ADDR:PORT [--public-url URL] [--trust-key-url-prefix PREFIX]...";

struct Args {
    listen: SocketAddr,
    public_url: Option<String>,
    trusted: Vec<String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut listen = None;
    let mut public_url = None;
    let mut trusted = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--listen" => {
                let v = value("--listen")?;
                listen = Some(v.parse().map_err(|e| format!("--listen {v:?}: {e}"))?);
            }
            "--public-url" => public_url = Some(value("--public-url")?),
            "--trust-key-url-prefix" => {
                let prefix = value("--trust-key-url-prefix")?;
                if !(prefix.starts_with("http://") || prefix.starts_with("https://"))
                    || prefix.matches('/').count() < 3
                {
                    return Err(format!(
                        "--trust-key-url-prefix {prefix:?}: give a whole origin with its trailing '/', e.g. http://127.0.0.1:9000/"
                    ));
                }
                trusted.push(prefix);
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        listen: listen.ok_or_else(|| format!("--listen is required\n{USAGE}"))?,
        public_url,
        trusted,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let oss = match app::OssSettings::from_env() {
        Ok(oss) => oss,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let bound = listener.local_addr().unwrap_or(args.listen);
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{bound}"));
    if oss.is_none() {
        eprintln!("no OSS_* settings: /upload-form is disabled, callbacks are still verified");
    }
    let app = Arc::new(app::App::new(public_url, &args.trusted, oss));
    eprintln!(
        "callback_server listening on http://{bound} (callbacks to {})",
        app.callback_url()
    );
    if let Err(e) = axum::serve(listener, app::router(app)).await {
        eprintln!("server error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
