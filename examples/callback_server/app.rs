//! The callback server's application: routes, settings and handlers. The
//! example's `main` serves it; the tests build the same router in-process.
//!
//! Who may upload what: `/upload-form` answers only a caller that sends one
//! of the server's caller tokens (`Authorization: Bearer NAME:SECRET`,
//! compared in constant time), signs only keys under that caller's prefix
//! `uploads/NAME/`, and only for the size the caller states (at most
//! [`MAX_UPLOAD`]). Each upload it hands out carries a grant
//! ([`osscb_core::grant`]) in its callback; the callback handler takes an
//! [`OssCallback`], whose [`CallbackChecker`] refuses a callback that is not
//! OSS's, carries no grant of this process's seal, or whose grant does not
//! cover the object, has expired or was already used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{FromRef, OriginalUri, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use osscb_axum::{CallbackChecker, CallbackRejection, OssCallback};
use osscb_core::callback::{Callback, CallbackBodyType};
use osscb_core::grant::{Scope, Seal};
use osscb_core::post_policy::PostPolicy;
use osscb_core::time::iso8601_millis;
use osscb_core::verify::Verifier;
use osscb_core::{Bucket, Config, Credentials, Endpoint, ObjectKey, Region};
use serde_json::{Value, json};

/// The path OSS calls back (any other POST path is verified the same way).
pub const CALLBACK_PATH: &str = "/oss-callback";
/// How long a handed-out form or URL stays valid.
pub const UPLOAD_VALIDITY: Duration = Duration::from_secs(600);
/// How long after a handed-out upload expires its callback is still
/// accepted: an upload started just before the expiry may take this long.
pub const CALLBACK_GRACE: Duration = Duration::from_secs(3600);
/// The largest upload a caller may ask for.
pub const MAX_UPLOAD: u64 = 100 * 1024 * 1024;
/// How this app's callbacks encode their bodies: declared in each callback
/// it hands out, and how its verifier reads them.
const BODY_TYPE: CallbackBodyType = CallbackBodyType::Json;
/// How many verified bodies [`App::verified_bodies`] keeps.
pub const MAX_LOGGED: usize = 100;
/// The name of the caller whose token the server makes up when given none.
pub const DEFAULT_CALLER: &str = "demo";

/// The page that uploads a picked file straight to OSS.
pub const INDEX_HTML: &str = include_str!("index.html");

/// `N` random bytes from the operating system, as lowercase hex.
pub fn random_hex<const N: usize>() -> Result<String, String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A seal with a random secret: grants die with the process.
pub fn random_seal() -> Result<Seal, String> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Seal::new(secret).map_err(|e| e.to_string())
}

/// Who may ask for uploads: a token `NAME:SECRET`, whose `NAME` (1 to 32 of
/// `a-z 0-9 _ -`) names the caller and its key prefix `uploads/NAME/`.
#[derive(Clone)]
pub struct Caller {
    name: String,
    token: String,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Caller({:?}, <redacted>)", self.name)
    }
}

impl Caller {
    /// Parses `NAME:SECRET`; the secret is at least 16 visible ASCII characters.
    pub fn parse(token: &str) -> Result<Self, String> {
        let bad = || {
            "a caller token is NAME:SECRET, NAME 1 to 32 of a-z 0-9 _ -, SECRET at least 16 visible ASCII characters".to_owned()
        };
        let (name, secret) = token.split_once(':').ok_or_else(bad)?;
        let name_ok = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        let secret_ok = secret.len() >= 16 && secret.bytes().all(|b| b.is_ascii_graphic());
        if !(name_ok && secret_ok) {
            return Err(bad());
        }
        Ok(Self {
            name: name.to_owned(),
            token: token.to_owned(),
        })
    }

    /// The caller [`DEFAULT_CALLER`] with a random 256-bit secret.
    pub fn random() -> Result<Self, String> {
        Self::parse(&format!("{DEFAULT_CALLER}:{}", random_hex::<32>()?))
    }

    /// The caller's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole token, `NAME:SECRET`.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The keys this caller may upload to start with this.
    pub fn prefix(&self) -> String {
        format!("uploads/{}/", self.name)
    }
}

/// Where and as whom the server signs uploads.
#[derive(Clone, Debug)]
pub struct OssSettings {
    /// The OSS endpoint (path style for IPs, like the emulator's).
    pub endpoint: Endpoint,
    /// The bucket uploads go to.
    pub bucket: Bucket,
    /// The credentials that sign (their `Debug` hides the secret).
    pub credentials: Credentials,
    /// The region: presigned PUT URLs are signed with V4 when it is known
    /// (and bind the upload's size), with V1 otherwise.
    pub region: Option<Region>,
}

impl OssSettings {
    /// Reads `OSS_ENDPOINT`, `OSS_BUCKET`, `OSS_ACCESS_KEY_ID`,
    /// `OSS_ACCESS_KEY_SECRET`, optionally `OSS_REGION` and, for STS,
    /// `OSS_SESSION_TOKEN`. `Ok(None)` when none of the first four is set.
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
        let region = var("OSS_REGION")
            .map(|r| Region::new(r).map_err(|e| format!("OSS_REGION: {e}")))
            .transpose()?;
        Ok(Some(Self {
            endpoint,
            bucket,
            credentials,
            region,
        }))
    }

    /// An in-memory emulator on a free loopback port with the embedded
    /// examples' key pair (`osscb_examples::embedded`), and settings for
    /// its bucket `examplebucket` in region `cn-hangzhou` (the emulator
    /// accepts any region; naming one makes the forms V4).
    ///
    /// # Errors
    /// The emulator cannot start.
    pub fn embedded() -> Result<(Self, osscb_emulator::Emulator), String> {
        use osscb_examples::embedded::{EMBEDDED_ACCESS_KEY_ID, EMBEDDED_ACCESS_KEY_SECRET};
        let config =
            osscb_emulator::EmulatorConfig::new(EMBEDDED_ACCESS_KEY_ID, EMBEDDED_ACCESS_KEY_SECRET);
        let emulator = osscb_emulator::Emulator::start(config)
            .map_err(|e| format!("cannot start the embedded emulator: {e}"))?;
        let settings = Self {
            endpoint: Endpoint::parse(&emulator.endpoint()).map_err(|e| e.to_string())?,
            bucket: Bucket::new("examplebucket").map_err(|e| e.to_string())?,
            credentials: Credentials::new(EMBEDDED_ACCESS_KEY_ID, EMBEDDED_ACCESS_KEY_SECRET),
            region: Some(Region::new("cn-hangzhou").map_err(|e| e.to_string())?),
        };
        Ok((settings, emulator))
    }

    /// How uploads are signed: V4 with the region, signing `Content-Length`
    /// as an additional header so that OSS refuses a presigned PUT of any
    /// other size; V1 without it, whose presigned URL signs no size.
    pub fn config(&self) -> Config {
        match &self.region {
            Some(region) => Config::v4(self.endpoint.clone(), region.clone())
                .with_additional_headers(["content-length"]),
            None => Config::v1(self.endpoint.clone()),
        }
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct App {
    /// The server's own base URL as OSS reaches it (`http://127.0.0.1:8080`).
    pub public_url: String,
    /// Checks callbacks: key URL, signature, grant of [`App::seal`], nonce.
    pub callbacks: CallbackChecker,
    /// Signing settings; `None` serves callbacks only.
    pub oss: Option<OssSettings>,
    /// Who may ask for uploads.
    pub callers: Vec<Caller>,
    /// Makes the grants the handed-out callbacks carry.
    pub seal: Seal,
    verified: Mutex<Vec<String>>,
    rejected: Mutex<Vec<String>>,
    /// Print each verified body on stdout.
    pub print_bodies: bool,
}

impl App {
    /// An app at `public_url` trusting OSS's key host plus `extra_prefixes`,
    /// signing uploads for `callers` and binding their callbacks with `seal`.
    pub fn new(
        public_url: impl Into<String>,
        extra_prefixes: &[String],
        oss: Option<OssSettings>,
        callers: Vec<Caller>,
        seal: Seal,
    ) -> Self {
        let verifier = extra_prefixes
            .iter()
            .fold(Verifier::new().body_type(BODY_TYPE), |v, p| {
                v.trust_key_url_prefix(p.clone())
            });
        // A grant lives UPLOAD_VALIDITY + CALLBACK_GRACE: its nonce is
        // remembered as long.
        let callbacks = CallbackChecker::new(verifier)
            .require_grant(seal.clone(), UPLOAD_VALIDITY + CALLBACK_GRACE);
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            callbacks,
            oss,
            callers,
            seal,
            verified: Mutex::new(Vec::new()),
            rejected: Mutex::new(Vec::new()),
            print_bodies: true,
        }
    }

    /// The most recent verified callback bodies (at most [`MAX_LOGGED`]), oldest first.
    #[allow(dead_code)] // read by the tests, not by `main`
    pub fn verified_bodies(&self) -> Vec<String> {
        self.verified.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Why the most recent refused callbacks were refused (at most
    /// [`MAX_LOGGED`]), oldest first.
    #[allow(dead_code)] // read by the tests, not by `main`
    pub fn rejections(&self) -> Vec<String> {
        self.rejected.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn log_verified(&self, body: &[u8]) {
        let line = String::from_utf8_lossy(body)
            .replace('\r', "\\r")
            .replace('\n', "\\n");
        if self.print_bodies {
            println!("{line}");
        }
        keep(&self.verified, line);
    }

    fn log_rejected(&self, path: &str, reason: &str) {
        eprintln!("rejected callback to {path}: {reason}");
        keep(&self.rejected, reason.to_owned());
    }

    /// The URL OSS calls back.
    pub fn callback_url(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.public_url)
    }

    /// The caller whose token `headers` carry as `Authorization: Bearer
    /// TOKEN`. Every token is compared, each in constant time.
    pub fn caller(&self, headers: &HeaderMap) -> Option<&Caller> {
        let given = headers
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?
            .trim()
            .as_bytes();
        self.callers.iter().fold(None, |found, caller| {
            let same = bool::from(subtle::ConstantTimeEq::ct_eq(
                caller.token.as_bytes(),
                given,
            ));
            found.or(same.then_some(caller))
        })
    }
}

/// Appends `line` to `log`, dropping the oldest beyond [`MAX_LOGGED`].
fn keep(log: &Mutex<Vec<String>>, line: String) {
    if let Ok(mut log) = log.lock() {
        if log.len() >= MAX_LOGGED {
            log.remove(0);
        }
        log.push(line);
    }
}

/// The routers' state: the app, and its checker for [`OssCallback`].
#[derive(Clone)]
struct Shared(Arc<App>);

impl FromRef<Shared> for Arc<App> {
    fn from_ref(shared: &Shared) -> Self {
        Arc::clone(&shared.0)
    }
}

impl FromRef<Shared> for CallbackChecker {
    fn from_ref(shared: &Shared) -> Self {
        shared.0.callbacks.clone()
    }
}

/// The routes: `GET /`, `GET /upload-form`, and `POST` on any path for callbacks.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index).post(callback))
        .route("/upload-form", get(upload_form).post(callback))
        .route(CALLBACK_PATH, post(callback))
        .fallback(post(callback).fallback(not_found))
        .with_state(Shared(app))
}

async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let mut response = (
        status,
        axum::Json(json!({ "status": "error", "error": message.into() })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not found")
}

/// What this app's callbacks state (see [`callback_for`]).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Upload {
    object: String,
    size: u64,
    mime_type: String,
    via: String,
}

/// A callback [`App::callbacks`] accepted gets 200 with its fields; any
/// other the checker's 400 (`{"error": KIND, "message": …}`), its whole
/// reason logged.
async fn callback(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    callback: Result<OssCallback<Upload>, CallbackRejection>,
) -> Response {
    let OssCallback { data, callback, .. } = match callback {
        Ok(callback) => callback,
        Err(rejection) => {
            app.log_rejected(uri.path(), &rejection.to_string());
            return rejection.into_response();
        }
    };
    eprintln!(
        "verified callback: {} ({} bytes, {}) via {}",
        data.object, data.size, data.mime_type, data.via
    );
    app.log_verified(callback.body());
    let variables: serde_json::Map<String, Value> = callback
        .variables()
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    axum::Json(json!({ "status": "ok", "verified": true, "callback": variables })).into_response()
}

/// The callback both uploads carry: a JSON body naming the object, the
/// custom variable `x:via` saying which kind of upload it was, and the grant
/// (which adds the body field `osscb_grant`).
fn callback_for(app: &App, via: &str, grant: String) -> Result<Callback, String> {
    Callback::builder(app.callback_url())
        .body(
            r#"{"bucket":${bucket},"object":${object},"etag":${etag},"size":${size},"mimeType":${mimeType},"via":${x:via}}"#,
        )
        .body_type(BODY_TYPE)
        .var("x:via", via)
        .grant(grant)
        .build()
        .map_err(|e| e.to_string())
}

async fn upload_form(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    match upload_form_json(&app, &headers, &params, SystemTime::now()) {
        Ok(body) => axum::Json(body).into_response(),
        Err((status, message)) => error(status, message),
    }
}

/// The `/upload-form` JSON (documented in the example's crate docs) for the
/// caller `headers` name: 401 without a known caller token, 403 for a key
/// outside the caller's prefix, 400 for a missing or too large `size`.
pub fn upload_form_json(
    app: &App,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    now: SystemTime,
) -> Result<Value, (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let Some(caller) = app.caller(headers) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "send a caller token: Authorization: Bearer NAME:SECRET".to_owned(),
        ));
    };
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
    let prefix = caller.prefix();
    if !key.as_str().starts_with(&prefix) {
        return Err((
            StatusCode::FORBIDDEN,
            format!("{} may upload only under {prefix}", caller.name()),
        ));
    }
    let size = params
        .get("size")
        .ok_or_else(|| bad("the size query parameter (bytes) is required".to_owned()))?;
    let size: u64 = size
        .parse()
        .ok()
        .filter(|s| *s <= MAX_UPLOAD)
        .ok_or_else(|| bad(format!("size {size:?} is not 0 to {MAX_UPLOAD} bytes")))?;
    let content_type = params.get("content_type").filter(|c| !c.is_empty());
    // V4 when a region is configured, unless the caller asks for V1.
    let config = match params.get("signature").map(String::as_str) {
        None | Some("") => oss.config(),
        Some("v1") => Config::v1(oss.endpoint.clone()),
        Some("v4") if oss.region.is_some() => oss.config(),
        Some("v4") => {
            return Err(bad(
                "a V4 signature needs a region: set OSS_REGION".to_owned()
            ));
        }
        Some(other) => return Err(bad(format!("signature {other:?} is not v1 or v4"))),
    };
    let signature = if config.region().is_some() {
        "v4"
    } else {
        "v1"
    };
    let grant_until = now + UPLOAD_VALIDITY + CALLBACK_GRACE;
    let policy_for = |via: &str| -> Result<PostPolicy, (StatusCode, String)> {
        let grant = random_hex::<16>()
            .and_then(|nonce| {
                app.seal
                    .grant(&oss.bucket, Scope::Key(&key), grant_until, &nonce)
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))?;
        // The exact size: the form's policy bounds it for PostObject; the
        // presigned PUT states it as its Content-Length, which V4 signs.
        let mut policy = PostPolicy::exact_key(oss.bucket.clone(), key.clone())
            .content_length_range(size, size)
            .callback(callback_for(app, via, grant).map_err(bad)?);
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
        "size": size,
        "expires": expires,
        "callback_url": app.callback_url(),
        "signature": signature,
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
