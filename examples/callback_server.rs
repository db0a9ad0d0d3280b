//! An application server for OSS upload callbacks.
//!
//! ```text
//! cargo run -p osscb-examples --example callback_server -- --listen 127.0.0.1:8080 \
//!     [--public-url http://app.example.com:8080] [--trust-key-url-prefix PREFIX]... \
//!     [--caller-token NAME:SECRET]...
//! ```
//!
//! - `POST` on any path: the `osscb_axum::OssCallback` extractor verifies the
//!   callback (RSA signature over the path, the query and the body) with the
//!   key named by `x-oss-pub-key-url`, trusted only under
//!   `http(s)://gosspublic.alicdn.com/` (OSS's key is built in) and each
//!   `--trust-key-url-prefix` (e.g. an emulator's `http://127.0.0.1:9000/`;
//!   fetched once and cached by the `Verifier`), then checks that it is bound
//!   to an upload this process handed out: its body's `osscb_grant` field
//!   must be a grant of this process's seal (a random secret) covering the
//!   body's bucket and object, unexpired and not used before. A verified,
//!   bound callback gets 200 with
//!   `{"status":"ok","verified":true,"callback":{…the body's fields…}}` and
//!   its body is printed on stdout as one line; anything else gets 400 with
//!   `{"error":"signature"|"key"|"binding"|"body","message":"…"}` (the whole
//!   reason goes to stderr).
//! - `GET /upload-form?key=KEY&size=BYTES[&content_type=TYPE]` with
//!   `Authorization: Bearer NAME:SECRET` (one of the `--caller-token`s; 401
//!   without): a signed PostObject form and a presigned PUT URL for `KEY`,
//!   which must start with the caller's prefix `uploads/NAME/` (403 if not),
//!   for exactly `BYTES` bytes (at most 100 MiB), both with a callback to this
//!   server's `/oss-callback` (JSON body: bucket, object, etag, size,
//!   mimeType, the custom variable `x:via` = `post-object` or
//!   `presigned-put`, and the grant `osscb_grant`). Shape:
//!   ```text
//!   {"key": "uploads/alice/cat.png", "size": 1234,
//!    "expires": "2026-11-25T18:00:00.000Z",
//!    "callback_url": "http://127.0.0.1:8080/oss-callback",
//!    "signature": "v1",
//!    "post": {"url": "https://bucket.oss-cn-hangzhou.aliyuncs.com/",
//!             "fields": [["key", "uploads/alice/cat.png"], ["policy", "…"],
//!                        ["OSSAccessKeyId", "…"], ["Signature", "…"], …],
//!             "file_field": "file"},
//!    "put":  {"method": "PUT", "url": "https://…?Expires=…&Signature=…&callback=…",
//!             "headers": {"content-type": "image/png"}}}
//!   ```
//!   From Python: `requests.post(f["post"]["url"], data=f["post"]["fields"],
//!   files={"file": open(path, "rb")})` (fields in order, the file last), or
//!   `requests.put(f["put"]["url"], headers=f["put"]["headers"], data=...)`.
//!   Either upload answers with this server's JSON.
//!
//!   What bounds the size: the form's policy has
//!   `["content-length-range", BYTES, BYTES]`, which OSS enforces. With
//!   `OSS_REGION` set the PUT URL is signed with V4 and signs
//!   `content-length` as an additional header (`x-oss-additional-headers`),
//!   so OSS refuses a body of another size. Without a region the URL is V1,
//!   which signs the method, `Content-MD5`, `Content-Type`, the expiry, the
//!   `x-oss-*` headers and the resource only: nothing bounds that PUT's size
//!   but OSS's 5 GiB PutObject limit, and the callback's `size` is what
//!   tells the server how large the object is.
//!
//!   The form is signed with Signature V4 (`x-oss-signature-version`,
//!   `x-oss-credential`, `x-oss-date`, `x-oss-signature`) when a region is
//!   configured, with V1 (`OSSAccessKeyId`, `Signature`) otherwise;
//!   `&signature=v1` or `&signature=v4` asks for one (V4 needs the region).
//!   The JSON's `"signature"` says which (`"v4"` or `"v1"`).
//! - `GET /`: a page that uploads a picked file straight to OSS with that form
//!   (or the presigned PUT), with a progress bar fed by the browser's upload
//!   progress events, then shows the callback's answer, or what went wrong:
//!   a 203 (stored, callback failed) or OSS's refusal (its error code and
//!   message). It reads the caller token from its URL's fragment
//!   (`/#token=NAME:SECRET`), which browsers never send to a server.
//!
//! Without `--caller-token` the server makes up one token for the caller
//! `demo` (256 random bits from the OS) and prints the page's URL with it
//! on stderr. OSS settings come from `OSS_ENDPOINT`, `OSS_BUCKET`,
//! `OSS_ACCESS_KEY_ID`, `OSS_ACCESS_KEY_SECRET`, optionally `OSS_REGION` and,
//! for STS credentials, `OSS_SESSION_TOKEN`. With none of them (nor
//! `OSS_REGION`) set, the server starts an embedded emulator (in memory,
//! bucket `examplebucket`, region `cn-hangzhou`, so forms are V4), trusts its
//! callback key and prints its address: the page works at once.
//! `--public-url` is the base URL OSS calls back (default: `http://` + the
//! listen address).

#[path = "callback_server/app.rs"]
mod app;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

/// The application server for upload callbacks (see the module docs).
#[derive(clap::Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long, env = "OSSCB_LISTEN")]
    listen: SocketAddr,
    /// The base URL OSS calls back (default: http:// + the listen address).
    #[arg(long, env = "OSSCB_PUBLIC_URL")]
    public_url: Option<String>,
    /// Trust callback keys under this origin besides OSS's own, e.g.
    /// http://127.0.0.1:9000/ (repeatable).
    #[arg(long = "trust-key-url-prefix", value_parser = origin)]
    trusted: Vec<String>,
    /// A caller NAME:SECRET allowed to request uploads (repeatable).
    #[arg(long = "caller-token", value_parser = app::Caller::parse)]
    callers: Vec<app::Caller>,
}

/// A whole origin with its trailing `/`.
fn origin(prefix: &str) -> Result<String, String> {
    if (prefix.starts_with("http://") || prefix.starts_with("https://"))
        && prefix.matches('/').count() >= 3
    {
        Ok(prefix.to_owned())
    } else {
        Err("give a whole origin with its trailing '/', e.g. http://127.0.0.1:9000/".to_owned())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = <Args as clap::Parser>::parse();
    let mut oss = match app::OssSettings::from_env() {
        Ok(oss) => oss,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    // Zero setup: no OSS settings at all means an embedded emulator, as the
    // other examples do (`embedded.rs`). It lives until `main` returns.
    let mut _emulator = None;
    if oss.is_none() && std::env::var_os("OSS_REGION").is_none_or(|r| r.is_empty()) {
        match app::OssSettings::embedded() {
            Ok((settings, emulator)) => {
                let endpoint = emulator.endpoint();
                eprintln!(
                    "no OSS_* settings: using an embedded emulator at {endpoint} (bucket {}, region cn-hangzhou: forms are signed with V4)",
                    settings.bucket.as_str()
                );
                args.trusted.push(format!("{endpoint}/"));
                oss = Some(settings);
                _emulator = Some(emulator);
            }
            Err(message) => {
                eprintln!("{message}");
                return ExitCode::FAILURE;
            }
        }
    }
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
        eprintln!(
            "OSS_REGION alone is not enough: /upload-form is disabled, callbacks are still verified"
        );
    }
    let (callers, made_up) = if args.callers.is_empty() {
        match app::Caller::random() {
            Ok(caller) => (vec![caller], true),
            Err(message) => {
                eprintln!("{message}; give --caller-token NAME:SECRET");
                return ExitCode::FAILURE;
            }
        }
    } else {
        (args.callers, false)
    };
    let seal = match app::random_seal() {
        Ok(seal) => seal,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let app = Arc::new(app::App::new(public_url, &args.trusted, oss, callers, seal));
    eprintln!(
        "callback_server listening on http://{bound} (callbacks to {})",
        app.callback_url()
    );
    let page = format!("{}/", app.public_url);
    if made_up && let Some(caller) = app.callers.first() {
        eprintln!("upload page: {page}#token={}", caller.token());
    } else {
        eprintln!("upload page: {page}#token=NAME:SECRET (a --caller-token)");
    }
    if let Err(e) = axum::serve(listener, app::router(app)).await {
        eprintln!("server error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
