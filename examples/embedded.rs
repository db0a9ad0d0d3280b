//! Where the examples upload to. With `OSS_ENDPOINT` or `OSS_REGION` set: that
//! endpoint (or the region's public one), with
//! `OSS_ACCESS_KEY_ID`, `OSS_ACCESS_KEY_SECRET` (optional `OSS_SESSION_TOKEN`),
//! `OSS_BUCKET` (default `examplebucket`) and `OSS_CALLBACK_URL`. Without it:
//! an embedded emulator (objects kept in `OSSCB_EMULATOR_DATA_DIR`, by default
//! a directory under the system temp directory, so interrupted multipart
//! uploads can resume; one emulator per directory at a time) and a local
//! callback receiver that verifies each callback's signature before answering.
//!
//! ```no_run
//! use osscb_examples::embedded::Setup;
//!
//! let setup = Setup::from_env()?;
//! let bucket = setup.blocking_client()?.bucket(&setup.bucket)?;
//! let callback = setup.callback("bucket=${bucket}&object=${object}")?;
//! # let _ = (bucket, callback);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use osscb_core::callback::{Callback, CallbackBodyType};
use osscb_core::verify::Verifier;
use osscb_core::{Credentials, http};
use osscb_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The access key the embedded emulator accepts (not a secret).
pub const EMBEDDED_ACCESS_KEY_ID: &str = "osscb-embedded-id";
/// The embedded emulator's secret (not a secret: it only guards a local emulator).
pub const EMBEDDED_ACCESS_KEY_SECRET: &str = "osscb-embedded-secret";

/// The target of an example run.
#[derive(Debug)]
pub struct Setup {
    /// The bucket to upload to.
    pub bucket: String,
    /// The URL OSS calls back.
    pub callback_url: String,
    embedded: Option<Embedded>,
}

#[derive(Debug)]
struct Embedded {
    endpoint: String,
    _emulator: Emulator,
    stop_receiver: Option<oneshot::Sender<()>>,
}

impl Drop for Embedded {
    fn drop(&mut self) {
        if let Some(stop) = self.stop_receiver.take() {
            let _ = stop.send(());
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Setup {
    /// Reads the environment; with neither `OSS_ENDPOINT` nor `OSS_REGION`,
    /// starts the emulator and
    /// the callback receiver.
    ///
    /// # Errors
    /// `OSS_CALLBACK_URL` missing while real OSS is named; the emulator or
    /// the receiver cannot start.
    pub fn from_env() -> Result<Self, Box<dyn Error>> {
        Self::from_env_with_credential_lifetime(Duration::from_secs(3600))
    }

    /// As [`Setup::from_env`], the embedded emulator's temporary credentials
    /// (from its metadata service, STS and credentials URI) living `lifetime`.
    ///
    /// # Errors
    /// As [`Setup::from_env`].
    pub fn from_env_with_credential_lifetime(lifetime: Duration) -> Result<Self, Box<dyn Error>> {
        let bucket = env("OSS_BUCKET").unwrap_or_else(|| "examplebucket".to_owned());
        if env("OSS_ENDPOINT").is_some() || env("OSS_REGION").is_some() {
            let callback_url = env("OSS_CALLBACK_URL").ok_or(
                "environment variable OSS_CALLBACK_URL is not set (needed with OSS_ENDPOINT or OSS_REGION)",
            )?;
            return Ok(Self {
                bucket,
                callback_url,
                embedded: None,
            });
        }
        let data_dir = env("OSSCB_EMULATOR_DATA_DIR").map_or_else(
            || std::env::temp_dir().join("osscb-embedded-emulator"),
            std::path::PathBuf::from,
        );
        let emulator = Emulator::start(
            EmulatorConfig::new(EMBEDDED_ACCESS_KEY_ID, EMBEDDED_ACCESS_KEY_SECRET)
                .data_dir(data_dir)
                .credential_lifetime(lifetime),
        )?;
        let endpoint = emulator.endpoint();
        let verifier = Verifier::new().trust_key_url_prefix(format!("{endpoint}/"));
        let (addr, stop) = start_receiver(verifier)?;
        eprintln!(
            "neither OSS_ENDPOINT nor OSS_REGION is set: using an embedded emulator at {endpoint} and a callback receiver at http://{addr}/"
        );
        Ok(Self {
            bucket,
            callback_url: format!("http://{addr}/oss-callback"),
            embedded: Some(Embedded {
                endpoint,
                _emulator: emulator,
                stop_receiver: Some(stop),
            }),
        })
    }

    /// Whether the run uses the embedded emulator.
    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// The embedded emulator's endpoint, if the run uses it.
    pub fn endpoint(&self) -> Option<&str> {
        self.embedded.as_ref().map(|e| e.endpoint.as_str())
    }

    /// A blocking client for the target.
    ///
    /// # Errors
    /// As [`osscb_blocking::Client::from_env`].
    pub fn blocking_client(&self) -> osscb_blocking::Result<osscb_blocking::Client> {
        match &self.embedded {
            None => osscb_blocking::Client::from_env(),
            Some(e) => osscb_blocking::Client::new(
                osscb_blocking::ClientOptions::default()
                    .endpoint(e.endpoint.as_str())
                    .credentials(embedded_credentials()),
            ),
        }
    }

    /// An async client for the target.
    ///
    /// # Errors
    /// As [`osscb_async::Client::from_env`].
    pub fn async_client(&self) -> osscb_async::Result<osscb_async::Client> {
        match &self.embedded {
            None => osscb_async::Client::from_env(),
            Some(e) => osscb_async::Client::new(
                osscb_async::ClientOptions::default()
                    .endpoint(e.endpoint.as_str())
                    .credentials(embedded_credentials()),
            ),
        }
    }

    /// A form-urlencoded callback to the receiver with body template `body`.
    ///
    /// # Errors
    /// A template OSS would reject.
    pub fn callback(&self, body: &str) -> Result<Callback, osscb_core::callback::CallbackError> {
        Callback::builder(self.callback_url.as_str())
            .body(body)
            .body_type(CallbackBodyType::FormUrlEncoded)
            .build()
    }
}

fn embedded_credentials() -> Credentials {
    Credentials::new(EMBEDDED_ACCESS_KEY_ID, EMBEDDED_ACCESS_KEY_SECRET)
}

/// Serves the callback receiver on its own thread and runtime; the sender stops it.
fn start_receiver(verifier: Verifier) -> Result<(SocketAddr, oneshot::Sender<()>), Box<dyn Error>> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = {
        let _guard = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let state = std::sync::Arc::new(verifier);
    let app = axum::Router::new().fallback(receive).with_state(state);
    std::thread::Builder::new()
        .name("callback-receiver".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                    let _ = stopped.await;
                });
                let _ = serve.await;
            });
            runtime.shutdown_timeout(Duration::from_millis(100));
        })?;
    Ok((addr, stop))
}

type ReceiverState = std::sync::Arc<Verifier>;

/// Verifies the callback; answers 200 with its variables, or 400 with the reason.
async fn receive(
    State(state): State<ReceiverState>,
    request: Request,
) -> (StatusCode, Json<Value>) {
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, 64 * 1024).await {
        Ok(b) => b,
        Err(e) => return reject(&e.to_string()),
    };
    let request = http::Request::from_parts(parts, body);
    match osscb_async::verify_callback(&state, &request).await {
        Ok(verified) => (
            StatusCode::OK,
            Json(json!({"Status": "OK", "verified": true, "callback": verified.variables()})),
        ),
        Err(e) => reject(&e.to_string()),
    }
}

fn reject(reason: &str) -> (StatusCode, Json<Value>) {
    eprintln!("callback rejected: {reason}");
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"Status": "Rejected", "error": reason})),
    )
}
