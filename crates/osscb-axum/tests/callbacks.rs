//! The extractor and the layer against the emulator: a genuine callback of
//! a PutObject made with `osscb_async` reaches a typed struct; tampered,
//! unbound, swapped and replayed callbacks are refused, each with its
//! reason; form and JSON bodies; the body cap; a nested route; the tower
//! layer on a plain `tower::service_fn` and around an axum router.
//!
//! Every app runs behind [`serve`], a hyper front that records each request
//! and answer, so that a genuine callback can be replayed, changed or not.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::routing::post;
use axum::{Extension, Json, Router};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::http::{Request, Response};
use hyper_util::rt::TokioIo;
use osscb_async::osscb_core::callback::{Callback, CallbackBodyType};
use osscb_async::osscb_core::grant::{Scope, Seal};
use osscb_async::osscb_core::ops::PutObjectOutput;
use osscb_async::osscb_core::verify::Verifier;
use osscb_async::osscb_core::{Bucket, ObjectKey};
use osscb_async::{Client, ClientOptions, UploadOptions};
use osscb_axum::{CallbackChecker, CheckedCallback, OssCallback, VerifyCallbackLayer};
use osscb_emulator::Emulator;
use serde_json::{Value, json};
use tower::{Layer as _, Service, ServiceExt as _};

/// The app's grant secret.
const SECRET: [u8; 32] = [5; 32];
/// A JSON callback body naming the upload.
const JSON_BODY: &str = r#"{"bucket":${bucket},"object":${object},"size":${size}}"#;

/// What the apps deserialise a callback into.
#[derive(Debug, serde::Deserialize)]
struct Upload {
    bucket: String,
    object: String,
    size: u64,
}

/// A field no callback here carries.
#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Strict {
    missing: String,
}

/// The typed handler: answers with what it read.
async fn uploaded(OssCallback { data, grant, .. }: OssCallback<Upload>) -> Json<Value> {
    Json(json!({
        "bucket": data.bucket,
        "object": data.object,
        "size": data.size,
        "nonce": grant.map(|g| g.nonce),
    }))
}

async fn strict(_: OssCallback<Strict>) -> &'static str {
    "unreachable"
}

/// One request to an app and its answer.
#[derive(Clone, Debug)]
struct Exchange {
    uri: String,
    authorization: Option<String>,
    pub_key_url: Option<String>,
    body: Bytes,
    status: u16,
    answer: String,
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Exchange>>>);

impl Log {
    fn last(&self) -> Exchange {
        let log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        log.last().cloned().expect("a request arrived")
    }
}

/// Serves `service` on loopback behind a recording front; its base URL.
async fn serve<S, B>(service: S) -> (String, Log)
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: std::fmt::Debug,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let log = Log::default();
    let front = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (service, log) = (service.clone(), front.clone());
            let front = hyper::service::service_fn(move |request: Request<Incoming>| {
                let (service, log) = (service.clone(), log.clone());
                async move { Ok::<_, Infallible>(exchange(service, &log, request).await) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), front),
            );
        }
    });
    (base, log)
}

async fn exchange<S, B>(service: S, log: &Log, request: Request<Incoming>) -> Response<Full<Bytes>>
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = request.into_parts();
    let body = body.collect().await.expect("request body").to_bytes();
    let header = |name: &str| {
        let value = parts.headers.get(name)?.to_str().ok()?;
        Some(value.to_owned())
    };
    let (uri, authorization, pub_key_url) = (
        parts.uri.to_string(),
        header("authorization"),
        header("x-oss-pub-key-url"),
    );
    let request = Request::from_parts(parts, Full::new(body.clone()));
    let Ok(response) = service.oneshot(request).await;
    let (parts, answer) = response.into_parts();
    let answer = answer.collect().await.expect("answer").to_bytes();
    log.0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Exchange {
            uri,
            authorization,
            pub_key_url,
            body,
            status: parts.status.as_u16(),
            answer: String::from_utf8_lossy(&answer).into_owned(),
        });
    Response::from_parts(parts, Full::new(answer))
}

/// Sends `exchange`'s request again to `base`, with `body`: the status and answer.
async fn replay(base: &str, exchange: &Exchange, body: impl Into<Bytes>) -> (u16, String) {
    let mut request = osscb_async::http_client_builder()
        .expect("TLS")
        .build()
        .expect("client")
        .post(format!("{base}{}", exchange.uri))
        .body(body.into());
    for (name, value) in [
        ("authorization", &exchange.authorization),
        ("x-oss-pub-key-url", &exchange.pub_key_url),
    ] {
        if let Some(value) = value {
            request = request.header(name, value);
        }
    }
    let response = request.send().await.expect("replay");
    let status = response.status().as_u16();
    (status, response.text().await.expect("answer"))
}

fn rejection(kind: &str, message: &str) -> String {
    json!({ "error": kind, "message": message }).to_string()
}

/// Checks signatures by the emulator's key (fetched and cached), bodies as `body_type`.
fn checker(emulator: &Emulator, body_type: CallbackBodyType) -> CallbackChecker {
    let verifier = Verifier::new()
        .trust_key_url_prefix(format!("{}/", emulator.endpoint()))
        .body_type(body_type);
    CallbackChecker::new(verifier)
}

/// A PutObject of `data` to `key` with `callback`, by `osscb_async`.
async fn put(
    emulator: &Emulator,
    key: &str,
    callback: Callback,
    data: &'static [u8],
) -> Result<PutObjectOutput, osscb_async::Error> {
    let options = ClientOptions::default()
        .endpoint(emulator.endpoint())
        .credentials(osscb_testkit::creds());
    let client = Client::new(options).expect("client");
    let bucket = client.bucket("examplebucket").expect("bucket");
    let options = UploadOptions::new().callback(callback);
    bucket.put_object(key, data, &options).await
}

/// The put was stored but its callback refused: OSS's 203.
fn assert_203(result: Result<PutObjectOutput, osscb_async::Error>) {
    let error = result.expect_err("the app refused the callback");
    assert!(error.callback_failed().is_some(), "{error}");
}

fn grant(seal: &Seal, key: &str, nonce: &str) -> String {
    let bucket = Bucket::new("examplebucket").expect("bucket");
    let key = ObjectKey::new(key).expect("key");
    let until = SystemTime::now() + Duration::from_secs(600);
    seal.grant(&bucket, Scope::Key(&key), until, nonce)
        .expect("grant")
}

fn json_callback(url: &str, grant: Option<String>) -> Callback {
    let mut callback = Callback::builder(url)
        .body(JSON_BODY)
        .body_type(CallbackBodyType::Json);
    if let Some(grant) = grant {
        callback = callback.grant(grant);
    }
    callback.build().expect("callback")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_genuine_callback_is_typed_and_tampered_unbound_swapped_ones_are_refused() {
    let emulator = osscb_testkit::emulator();
    let seal = Seal::new(SECRET).expect("seal");
    let checker = checker(&emulator, CallbackBodyType::Json)
        .require_grant(seal.clone(), Duration::from_secs(3600));
    let app = Router::new()
        .route("/callback", post(uploaded))
        .with_state(checker);
    let (base, log) = serve(app).await;
    let url = format!("{base}/callback");

    // Genuine: granted for this object, called back by the emulator.
    let token = grant(&seal, "granted/a.txt", "upload-a-0001");
    let output = put(
        &emulator,
        "granted/a.txt",
        json_callback(&url, Some(token.clone())),
        b"hello",
    )
    .await
    .expect("put");
    let answer: Value = output
        .callback
        .expect("the app's answer")
        .json()
        .expect("json");
    assert_eq!(
        answer,
        json!({"bucket": "examplebucket", "object": "granted/a.txt", "size": 5, "nonce": "upload-a-0001"})
    );
    let genuine = log.last();
    assert_eq!(genuine.status, 200);

    // Tampered: the same signed request with another body.
    let tampered = String::from_utf8_lossy(&genuine.body).replace(r#""size":5"#, r#""size":6"#);
    assert_ne!(tampered.as_bytes(), &genuine.body[..]);
    assert_eq!(
        replay(&base, &genuine, tampered).await,
        (
            400,
            rejection("signature", "the callback signature does not match")
        )
    );
    // Replayed as it was: its grant's nonce is spent.
    assert_eq!(
        replay(&base, &genuine, genuine.body.clone()).await,
        (
            400,
            rejection("binding", "the callback's grant was already used")
        )
    );

    // Unbound: a genuine callback of an upload this app did not grant.
    assert_203(
        put(
            &emulator,
            "granted/u.txt",
            json_callback(&url, None),
            b"hello",
        )
        .await,
    );
    let unbound = log.last();
    let reason = rejection(
        "binding",
        "the callback is not bound to an upload this server granted: no osscb_grant field",
    );
    assert_eq!(
        (unbound.status, unbound.answer.clone()),
        (400, reason.clone())
    );
    assert_eq!(
        replay(&base, &unbound, unbound.body.clone()).await,
        (400, reason)
    );

    // Swapped: a grant issued for another upload's object.
    let other = grant(&seal, "granted/a.txt", "upload-a-0002");
    assert_203(
        put(
            &emulator,
            "granted/b.txt",
            json_callback(&url, Some(other)),
            b"hello",
        )
        .await,
    );
    let swapped = log.last();
    let reason = rejection(
        "binding",
        "the callback's grant does not match: the object is outside the grant",
    );
    assert_eq!(
        (swapped.status, swapped.answer.clone()),
        (400, reason.clone())
    );
    assert_eq!(
        replay(&base, &swapped, swapped.body.clone()).await,
        (400, reason)
    );

    // A grant of another seal.
    let foreign = Seal::new([6u8; 32]).expect("seal");
    let foreign = grant(&foreign, "granted/c.txt", "upload-c-0001");
    assert_203(
        put(
            &emulator,
            "granted/c.txt",
            json_callback(&url, Some(foreign)),
            b"hello",
        )
        .await,
    );
    assert_eq!(
        log.last().answer,
        rejection(
            "binding",
            "the callback's grant does not match: made under another secret, or for another bucket"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_bodies_are_typed_and_bodies_are_read_as_declared_and_capped() {
    let emulator = osscb_testkit::emulator();
    // Nested: the signature covers the path OSS called, /hooks/callback.
    let hooks = Router::new()
        .route("/callback", post(uploaded))
        .route("/strict", post(strict));
    let app = Router::new()
        .nest("/hooks", hooks)
        .with_state(checker(&emulator, CallbackBodyType::FormUrlEncoded));
    let (base, log) = serve(app).await;
    let form = |path: &str| {
        Callback::builder(format!("{base}/hooks/{path}"))
            .body(osscb_testkit::BODY)
            .build()
            .expect("callback")
    };

    let output = put(&emulator, "form/f.txt", form("callback"), b"abc")
        .await
        .expect("put");
    let answer: Value = output
        .callback
        .expect("the app's answer")
        .json()
        .expect("json");
    assert_eq!(
        answer,
        json!({"bucket": "examplebucket", "object": "form/f.txt", "size": 3, "nonce": null})
    );
    let genuine = log.last();
    assert_eq!(genuine.uri, "/hooks/callback");
    assert_eq!(
        &genuine.body[..],
        b"bucket=examplebucket&object=form%2Ff.txt&size=3"
    );

    // Verified, but not the handler's type: refused before the handler.
    assert_203(put(&emulator, "form/s.txt", form("strict"), b"abc").await);
    let reason = rejection(
        "body",
        "the callback body does not have the fields this server expects",
    );
    assert_eq!(log.last().answer, reason);

    // The same genuine form callback at an app that declared JSON bodies.
    let json_app = Router::new()
        .route("/hooks/callback", post(uploaded))
        .with_state(checker(&emulator, CallbackBodyType::Json));
    let (json_base, _) = serve(json_app).await;
    assert_eq!(
        replay(&json_base, &genuine, genuine.body.clone()).await,
        (
            400,
            rejection(
                "body",
                "the callback body does not parse as the declared body type"
            )
        )
    );

    // 64 KiB is read (and fails the signature); a byte more is not read.
    let at_cap = vec![b'a'; osscb_axum::MAX_CALLBACK_BODY];
    assert_eq!(
        replay(&base, &genuine, at_cap).await,
        (
            400,
            rejection("signature", "the callback signature does not match")
        )
    );
    let over = vec![b'a'; osscb_axum::MAX_CALLBACK_BODY + 1];
    assert_eq!(
        replay(&base, &genuine, over).await,
        (400, rejection("body", "the callback body is over 64 KiB"))
    );

    // No signature headers at all.
    let unsigned = Exchange {
        authorization: None,
        pub_key_url: None,
        ..genuine
    };
    assert_eq!(
        replay(&base, &unsigned, "bucket=b").await,
        (
            400,
            rejection("signature", "the callback has no x-oss-pub-key-url header")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tower_layer_checks_a_plain_service_and_a_router() {
    let emulator = osscb_testkit::emulator();
    let seal = Seal::new(SECRET).expect("seal");
    let checker = checker(&emulator, CallbackBodyType::Json)
        .require_grant(seal.clone(), Duration::from_secs(3600));
    let inner = tower::service_fn(|request: Request<axum::body::Body>| async move {
        let checked = request
            .extensions()
            .get::<CheckedCallback>()
            .expect("checked");
        let upload: Upload = checked.parse().expect("an upload");
        let nonce = checked.grant.as_ref().map(|g| g.nonce.clone());
        let answer = json!({ "object": upload.object, "size": upload.size, "nonce": nonce });
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(answer.to_string()))))
    });
    let (base, log) = serve(VerifyCallbackLayer::new(checker).layer(inner)).await;
    let url = format!("{base}/any/path?x=1");

    let token = grant(&seal, "layer/a.txt", "layer-a-0001");
    let output = put(
        &emulator,
        "layer/a.txt",
        json_callback(&url, Some(token)),
        b"layer",
    )
    .await
    .expect("put");
    let answer: Value = output
        .callback
        .expect("the app's answer")
        .json()
        .expect("json");
    assert_eq!(
        answer,
        json!({"object": "layer/a.txt", "size": 5, "nonce": "layer-a-0001"})
    );
    let genuine = log.last();
    assert_eq!(genuine.uri, "/any/path?x=1");

    let tampered = String::from_utf8_lossy(&genuine.body).replace("layer/a.txt", "layer/b.txt");
    assert_eq!(
        replay(&base, &genuine, tampered).await,
        (
            400,
            rejection("signature", "the callback signature does not match")
        )
    );
    assert_eq!(
        replay(&base, &genuine, genuine.body.clone()).await,
        (
            400,
            rejection("binding", "the callback's grant was already used")
        )
    );
    assert_203(
        put(
            &emulator,
            "layer/u.txt",
            json_callback(&url, None),
            b"layer",
        )
        .await,
    );
    assert_eq!(
        log.last().answer,
        rejection(
            "binding",
            "the callback is not bound to an upload this server granted: no osscb_grant field"
        )
    );

    // The same layer around a whole axum router.
    let unbound = self::checker(&emulator, CallbackBodyType::Json);
    let app = Router::new()
        .route("/hook", post(layered))
        .layer(VerifyCallbackLayer::new(unbound));
    let (base, log) = serve(app).await;
    let url = format!("{base}/hook");
    let output = put(
        &emulator,
        "layer/r.txt",
        json_callback(&url, None),
        b"router",
    )
    .await
    .expect("put");
    assert_eq!(
        output.callback.expect("the app's answer").text(),
        r#""layer/r.txt: 6 bytes""#
    );
    let genuine = log.last();
    assert_eq!(
        replay(&base, &genuine, "{}").await,
        (
            400,
            rejection("signature", "the callback signature does not match")
        )
    );
}

/// A handler behind the layer: the checked callback is an extension.
async fn layered(Extension(checked): Extension<CheckedCallback>) -> Json<String> {
    let upload: Upload = checked.parse().expect("an upload");
    Json(format!("{}: {} bytes", upload.object, upload.size))
}
