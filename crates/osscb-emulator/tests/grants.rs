//! Callback binding end to end: a callback the emulator signs and delivers is
//! bound to the upload the application server granted, and a callback from
//! any other upload (unbound, swapped to another key, or under another
//! secret) is refused.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::*;
use osscb_core::callback::Callback;
use osscb_core::grant::{Grant, Scope, Seal};
use osscb_core::ops::{HeadObject, Operation as _, PutObject};
use osscb_core::post_policy::PostPolicy;
use osscb_core::verify::{CallbackRequest, Check, VerifiedCallback, Verifier, VerifyError};
use osscb_emulator::Emulator;

fn seal() -> Seal {
    Seal::new(*b"an application secret, 32+ bytes").expect("seal")
}

/// Uploads `data` to `key` with `callback` and returns what the app server
/// received, verified with the emulator's key.
async fn upload(
    (emu, receiver): &mut (Emulator, Receiver),
    key: &str,
    callback: Callback,
    data: &[u8],
) -> VerifiedCallback {
    let put = PutObject::new(b("bucket"), k(key)).callback(callback);
    let reply = send(emu.addr(), sign(emu, &put, data.to_vec(), &creds())).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let got = receiver.rx.recv().await.expect("callback received");
    let mut request = http::Request::post(got.path_and_query.as_str())
        .body(got.body)
        .expect("request");
    *request.headers_mut() = got.headers;
    let verifier = Verifier::new().trust_key_url_prefix(format!("{}/", emu.endpoint()));
    let request = CallbackRequest::from_http(&request);
    for _ in 0..2 {
        match verifier
            .check(&request, Instant::now())
            .expect("OSS's signature")
        {
            Check::Verified(callback) => return callback,
            Check::Fetch(fetch) => {
                verifier.key_fetched(fetch, Ok(emu.public_key_pem()), Instant::now())
            }
            Check::Wait(_) => unreachable!("one caller"),
        }
    }
    panic!("not verified after the key was given");
}

async fn start() -> ((Emulator, Receiver), String) {
    let receiver = Receiver::start(200, r#"{"Status":"OK"}"#).await;
    let url = receiver.url("/cb");
    ((emulator(), receiver), url)
}

fn granted(url: &str, scope: Scope<'_>, nonce: &str) -> Callback {
    let until = SystemTime::now() + Duration::from_secs(600);
    let token = seal()
        .grant(&b("bucket"), scope, until, nonce)
        .expect("grant");
    Callback::builder(url)
        .body("size=${size}&etag=${etag}&crc64=${crc64}")
        .grant(token)
        .build()
        .expect("callback")
}

async fn head(emu: &Emulator, key: &str) -> osscb_core::ops::ObjectMetadata {
    let op = HeadObject::new(b("bucket"), k(key));
    let reply = send(emu.addr(), sign(emu, &op, Vec::new(), &creds())).await;
    let mut response = http::Response::new(reply.body);
    *response.status_mut() = http::StatusCode::from_u16(reply.status).expect("status");
    *response.headers_mut() = reply.headers;
    op.parse(response).expect("head")
}

#[tokio::test(flavor = "current_thread")]
async fn a_granted_upload_is_bound_and_its_facts_confirmed() {
    let (mut peers, url) = start().await;
    let key = k("u/42/cat.jpg");
    let callback = upload(
        &mut peers,
        key.as_str(),
        granted(&url, Scope::Key(&key), "upload-0001"),
        b"meow",
    )
    .await;
    let grant: Grant = seal().check(&callback, SystemTime::now()).expect("bound");
    assert_eq!(
        (grant.object.as_str(), grant.nonce.as_str()),
        ("u/42/cat.jpg", "upload-0001")
    );
    grant
        .confirm(&callback, &head(&peers.0, "u/42/cat.jpg").await)
        .expect("facts hold");
}

#[tokio::test(flavor = "current_thread")]
async fn unbound_swapped_and_foreign_callbacks_are_refused() {
    let (mut peers, url) = start().await;
    // No grant at all.
    let plain = Callback::builder(url.as_str())
        .body("bucket=${bucket}&object=${object}")
        .build()
        .expect("callback");
    let callback = upload(&mut peers, "u/42/a.txt", plain, b"a").await;
    assert_eq!(
        seal().check(&callback, SystemTime::now()),
        Err(VerifyError::Unbound("osscb_grant"))
    );

    // A grant for u/42/cat.jpg, carried by an upload to another key.
    let key = k("u/42/cat.jpg");
    let callback = upload(
        &mut peers,
        "u/666/evil.jpg",
        granted(&url, Scope::Key(&key), "upload-0002"),
        b"x",
    )
    .await;
    let swapped = seal().check(&callback, SystemTime::now());
    assert!(
        matches!(swapped, Err(VerifyError::GrantMismatch(ref why)) if why.contains("outside")),
        "{swapped:?}"
    );

    // A grant made under another secret.
    let other = Seal::new([9u8; 32]).expect("seal");
    let until = SystemTime::now() + Duration::from_secs(60);
    let token = other
        .grant(&b("bucket"), Scope::Prefix("u/"), until, "upload-0003")
        .expect("grant");
    let foreign = Callback::builder(url.as_str())
        .body("size=${size}")
        .grant(token)
        .build()
        .expect("callback");
    let callback = upload(&mut peers, "u/42/b.txt", foreign, b"b").await;
    assert!(matches!(
        seal().check(&callback, SystemTime::now()),
        Err(VerifyError::GrantMismatch(_))
    ));

    // A template that states the granted key as literal text passes the
    // grant, and the HeadObject of that key shows the facts are not its.
    let prefix = Scope::Prefix("u/42/");
    let until = SystemTime::now() + Duration::from_secs(60);
    let token = seal()
        .grant(&b("bucket"), prefix, until, "upload-0004")
        .expect("grant");
    let literal = Callback::builder(url.as_str())
        .body("bucket=bucket&object=u%2F42%2Fcat.jpg&size=${size}")
        .grant(token)
        .build()
        .expect("callback");
    let _ = upload(
        &mut peers,
        "u/42/cat.jpg",
        granted(&url, Scope::Key(&key), "upload-0005"),
        b"meow",
    )
    .await;
    let callback = upload(&mut peers, "u/666/big.bin", literal, &[0; 1000]).await;
    let grant = seal()
        .check(&callback, SystemTime::now())
        .expect("the literal claims pass the grant");
    let head = head(&peers.0, &grant.object).await;
    assert_eq!(
        grant.confirm(&callback, &head),
        Err(VerifyError::FactsDiffer("size".to_owned()))
    );
}

/// A PostObject form pins its callback and `x:` fields with policy
/// conditions: a form whose callback or grant was replaced is refused before
/// anything is stored or called back.
#[tokio::test(flavor = "current_thread")]
async fn a_post_form_with_a_replaced_callback_is_refused() {
    let (mut peers, url) = start().await;
    let key = k("u/42/form.png");
    let signed = PostPolicy::exact_key(b("bucket"), key.clone())
        .callback(granted(&url, Scope::Key(&key), "upload-0006"))
        .sign(
            &config(&peers.0),
            &creds(),
            SystemTime::now(),
            Duration::from_secs(600),
        )
        .expect("form");
    let fields = |replace: Option<(&str, &str)>| -> Vec<(String, String)> {
        let mut fields = signed.fields().to_vec();
        if let Some((name, value)) = replace {
            for (k, v) in &mut fields {
                if k == name {
                    *v = value.to_owned();
                }
            }
        }
        fields
    };
    let other = Callback::builder(url.as_str())
        .body("swapped=1")
        .build()
        .expect("callback");
    for replace in [
        ("callback", other.encoded()),
        ("x:osscb_grant", "g1.forged"),
    ] {
        let fields = fields(Some(replace));
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let reply = send(peers.0.addr(), post(&peers.0, &refs, b"png")).await;
        assert_eq!(reply.status, 403, "{}: {}", replace.0, reply.text());
        assert!(reply.text().contains("Policy"), "{}", reply.text());
    }
    let fields = fields(None);
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let reply = send(peers.0.addr(), post(&peers.0, &refs, b"png")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let got = peers
        .1
        .rx
        .recv()
        .await
        .expect("one callback, for the genuine form");
    assert!(String::from_utf8_lossy(&got.body).contains("osscb_grant=g1."));
}
