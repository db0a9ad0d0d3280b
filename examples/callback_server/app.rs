//! The callback server's application: routes, settings and handlers. The
//! example's `main` serves it; the tests build the same router in-process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use osscb_core::callback::{Callback, CallbackBodyType};
use osscb_core::post_policy::PostPolicy;
use osscb_core::time::iso8601_millis;
use osscb_core::verify::Verifier;
use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey};
use serde_json::{Value, json};

/// The path OSS calls back (any other POST path is verified the same way).
pub const CALLBACK_PATH: &str = "/oss-callback";
/// How long a handed-out form or URL stays valid.
pub const UPLOAD_VALIDITY: Duration = Duration::from_secs(600);
/// The largest upload a handed-out form allows.
pub const MAX_UPLOAD: u64 = 100 * 1024 * 1024;
/// How this app's callbacks encode their bodies: declared in each callback
/// it hands out, and how its verifier reads them.
const BODY_TYPE: CallbackBodyType = CallbackBodyType::Json;
/// How many verified bodies [`App::verified_bodies`] keeps.
pub const MAX_LOGGED: usize = 100;

/// The page that uploads a picked file straight to OSS.
pub const INDEX_HTML: &str = include_str!("index.html");

/// Where and as whom the server signs uploads.
#[derive(Clone, Debug)]
pub struct OssSettings {
    /// The OSS endpoint (path style for IPs, like the emulator's).
    pub endpoint: Endpoint,
    /// The bucket uploads go to.
    pub bucket: Bucket,
    /// The credentials that sign (their `Debug` hides the secret).
    pub credentials: Credentials,
}

impl OssSettings {
    /// Reads `OSS_ENDPOINT`, `OSS_BUCKET`, `OSS_ACCESS_KEY_ID`,
    /// `OSS_ACCESS_KEY_SECRET` and, for STS, `OSS_SESSION_TOKEN`. `Ok(None)`
    /// when none of the first four is set.
    pub fn from_env() -> Result<Option<Self>, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let names = [
            "OSS_ENDPOINT",
            "OSS_BUCKET",
            "OSS_ACCESS_KEY_ID",
            "OSS_ACCESS_KEY_SECRET",
        ];
        let values: Vec<Option<String>> = names.iter().map(|n| var(n)).collect();
        if values.iter().all(Option::is_none) {
            return Ok(None);
        }
        let mut got = Vec::new();
        for (name, value) in names.iter().zip(values) {
            got.push(value.ok_or_else(|| format!("{name} is not set"))?);
        }
        let endpoint = Endpoint::parse(&got[0]).map_err(|e| format!("OSS_ENDPOINT: {e}"))?;
        let bucket = Bucket::new(got[1].clone()).map_err(|e| format!("OSS_BUCKET: {e}"))?;
        let mut credentials = Credentials::new(got[2].clone(), got[3].clone());
        if let Some(token) = var("OSS_SESSION_TOKEN") {
            credentials = credentials.with_security_token(token);
        }
        Ok(Some(Self {
            endpoint,
            bucket,
            credentials,
        }))
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct App {
    /// The server's own base URL as OSS reaches it (`http://127.0.0.1:8080`).
    pub public_url: String,
    /// Checks key URLs and signatures.
    pub verifier: Verifier,
    /// Signing settings; `None` serves callbacks only.
    pub oss: Option<OssSettings>,
    verified: Mutex<Vec<String>>,
    /// Print each verified body on stdout.
    pub print_bodies: bool,
}

impl App {
    /// An app at `public_url` trusting OSS's key host plus `extra_prefixes`.
    pub fn new(
        public_url: impl Into<String>,
        extra_prefixes: &[String],
        oss: Option<OssSettings>,
    ) -> Self {
        let verifier = extra_prefixes
            .iter()
            .fold(Verifier::new().body_type(BODY_TYPE), |v, p| {
                v.trust_key_url_prefix(p.clone())
            });
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            verifier,
            oss,
            verified: Mutex::new(Vec::new()),
            print_bodies: true,
        }
    }

    /// The most recent verified callback bodies (at most [`MAX_LOGGED`]), oldest first.
    #[allow(dead_code)] // read by the tests, not by `main`
    pub fn verified_bodies(&self) -> Vec<String> {
        self.verified.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn log_verified(&self, body: &[u8]) {
        let line = String::from_utf8_lossy(body)
            .replace('\r', "\\r")
            .replace('\n', "\\n");
        if self.print_bodies {
            println!("{line}");
        }
        if let Ok(mut log) = self.verified.lock() {
            if log.len() >= MAX_LOGGED {
                log.remove(0);
            }
            log.push(line);
        }
    }

    /// The URL OSS calls back.
    pub fn callback_url(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.public_url)
    }
}

/// The routes: `GET /`, `GET /upload-form`, and `POST` on any path for callbacks.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index).post(callback))
        .route("/upload-form", get(upload_form).post(callback))
        .route(CALLBACK_PATH, post(callback))
        .fallback(fallback)
        .with_state(app)
}

async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!({ "status": "error", "error": message.into() })),
    )
        .into_response()
}

async fn fallback(
    State(app): State<Arc<App>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == Method::POST {
        callback(State(app), uri, headers, body).await
    } else {
        error(StatusCode::NOT_FOUND, "not found")
    }
}

async fn callback(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The raw path and query as OSS sent them: both are signed.
    let mut request = axum::http::Request::new(body);
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    match osscb_async::verify_callback(&app.verifier, &request).await {
        Ok(verified) => {
            app.log_verified(verified.body());
            let variables: serde_json::Map<String, Value> = verified
                .variables()
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            axum::Json(json!({ "status": "ok", "verified": true, "callback": variables }))
                .into_response()
        }
        Err(e) => {
            eprintln!("rejected callback to {}: {e}", request.uri().path());
            error(StatusCode::BAD_REQUEST, e.to_string())
        }
    }
}

/// The callback both uploads carry: a JSON body naming the object, and the
/// custom variable `x:via` saying which kind of upload it was.
fn callback_for(app: &App, via: &str) -> Result<Callback, String> {
    Callback::builder(app.callback_url())
        .body(
            r#"{"bucket":${bucket},"object":${object},"etag":${etag},"size":${size},"mimeType":${mimeType},"via":${x:via}}"#,
        )
        .body_type(BODY_TYPE)
        .var("x:via", via)
        .build()
        .map_err(|e| e.to_string())
}

async fn upload_form(
    State(app): State<Arc<App>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    match upload_form_json(&app, &params, SystemTime::now()) {
        Ok(body) => axum::Json(body).into_response(),
        Err((status, message)) => error(status, message),
    }
}

/// The `/upload-form` JSON (documented in the example's crate docs).
pub fn upload_form_json(
    app: &App,
    params: &HashMap<String, String>,
    now: SystemTime,
) -> Result<Value, (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let Some(oss) = &app.oss else {
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "no OSS settings: set OSS_ENDPOINT, OSS_BUCKET, OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET".to_owned(),
        ));
    };
    let key = params
        .get("key")
        .ok_or_else(|| bad("the key query parameter is required".to_owned()))?;
    let key = ObjectKey::new(key.clone()).map_err(|e| bad(e.to_string()))?;
    let content_type = params.get("content_type").filter(|c| !c.is_empty());
    let config = Config::v1(oss.endpoint.clone());
    let policy_for = |via: &str| -> Result<PostPolicy, (StatusCode, String)> {
        let mut policy = PostPolicy::exact_key(oss.bucket.clone(), key.clone())
            .content_length_range(0, MAX_UPLOAD)
            .callback(callback_for(app, via).map_err(bad)?);
        if let Some(ct) = content_type {
            policy = policy.content_type(ct.clone());
        }
        Ok(policy)
    };
    let form = policy_for("post-object")?
        .sign(&config, &oss.credentials, now, UPLOAD_VALIDITY)
        .map_err(|e| bad(e.to_string()))?;
    let put = policy_for("presigned-put")?
        .presign_put(&config, &oss.credentials, now, UPLOAD_VALIDITY)
        .map_err(|e| bad(e.to_string()))?;
    let put_headers: serde_json::Map<String, Value> = put
        .headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_str().to_owned(),
                Value::String(v.to_str().ok()?.to_owned()),
            ))
        })
        .collect();
    let expires = iso8601_millis(form.expires()).map_err(|e| bad(e.to_string()))?;
    Ok(json!({
        "key": key.as_str(),
        "expires": expires,
        "callback_url": app.callback_url(),
        "post": {
            "url": form.url().to_string(),
            "fields": form.fields().iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            "file_field": "file",
        },
        "put": {
            "method": put.method.as_str(),
            "url": put.url.to_string(),
            "headers": put_headers,
        },
    }))
}
