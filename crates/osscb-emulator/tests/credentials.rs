//! The temporary credentials the emulator issues: the ECS metadata service,
//! STS (`AssumeRole` signed with the RPC signature, `AssumeRoleWithOIDC`),
//! the credentials URI, and their use (and expiry) in OSS requests.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use http::Request;
use osscb_core::credentials::rpc;
use osscb_core::ops::{GetObject, Operation, PutObject};
use osscb_core::post_policy::PostPolicy;
use osscb_core::{Config, Credentials, Endpoint, Region};
use osscb_emulator::{CredentialSource, Emulator, EmulatorConfig};
use serde_json::Value;

const PROVIDER_ARN: &str = "acs:ram::1234567890123456:oidc-provider/osscb-ack";

fn start(config: EmulatorConfig) -> Emulator {
    Emulator::start(config).expect("start")
}

fn get(emu: &Emulator, path: &str, token: Option<&str>) -> Request<Vec<u8>> {
    let mut req = Request::get(format!("{}{path}", emu.endpoint()));
    if let Some(token) = token {
        req = req.header("x-aliyun-ecs-metadata-token", token);
    }
    req.body(Vec::new()).expect("request")
}

fn token_request(emu: &Emulator, ttl: &str) -> Request<Vec<u8>> {
    Request::put(format!(
        "{}/__osscb/metadata/latest/api/token",
        emu.endpoint()
    ))
    .header("x-aliyun-ecs-metadata-token-ttl-seconds", ttl)
    .body(Vec::new())
    .expect("request")
}

const ROLES: &str = "/__osscb/metadata/latest/meta-data/ram/security-credentials/";

fn json(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.text()))
}

fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {value}"))
}

/// The credentials of an answer's JSON object.
fn credentials_of(value: &Value) -> Credentials {
    Credentials::new(field(value, "AccessKeyId"), field(value, "AccessKeySecret"))
        .with_security_token(field(value, "SecurityToken"))
}

/// `Expiration` lies within a second of `now + lifetime`.
fn assert_expires(value: &Value, lifetime: u64) {
    let expiration = field(value, "Expiration");
    let at = osscb_core::time::parse_iso8601(expiration).expect("Expiration");
    assert_eq!(expiration.len(), 20, "{expiration}");
    let expected = SystemTime::now() + Duration::from_secs(lifetime);
    let off = expected.duration_since(at).unwrap_or_else(|e| e.duration());
    assert!(off <= Duration::from_secs(2), "{expiration}");
}

/// A fresh nonce per call.
fn nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "nonce-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

async fn assume_role(emu: &Emulator, caller: &Credentials, session: &str) -> Reply {
    let body = role_body(session, "900");
    let query = signed_query(caller, &nonce(), &utc(SystemTime::now()), &body);
    send(
        emu.addr(),
        sts_request(&emu.endpoint(), "/__osscb/sts/", &query, &body),
    )
    .await
}

/// The exact STS error document of `reply`.
fn sts_error(reply: &Reply, emu: &Emulator, code: &str, message: &str) -> String {
    format!(
        r#"{{"RequestId":"{}","HostId":"{}","Code":"{code}","Message":"{message}"}}"#,
        reply.request_id(),
        emu.addr()
    )
}

/// An STS success, checked byte for byte: fields in STS's order.
fn assert_assumed(reply: &Reply, session: &str) -> Credentials {
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        "application/json;charset=utf-8"
    );
    let value = json(reply);
    let user = &value["AssumedRoleUser"];
    let creds = &value["Credentials"];
    assert_eq!(
        reply.text(),
        format!(
            r#"{{"RequestId":"{}","AssumedRoleUser":{{"Arn":"{ROLE_ARN}/{session}","AssumedRoleId":"{}"}},"Credentials":{{"AccessKeyId":"{}","AccessKeySecret":"{}","SecurityToken":"{}","Expiration":"{}"}}}}"#,
            reply.request_id(),
            field(user, "AssumedRoleId"),
            field(creds, "AccessKeyId"),
            field(creds, "AccessKeySecret"),
            field(creds, "SecurityToken"),
            field(creds, "Expiration"),
        )
    );
    let role_id = field(user, "AssumedRoleId");
    assert_eq!(role_id.split_once(':').map(|(_, s)| s), Some(session));
    assert!(field(creds, "AccessKeyId").starts_with("STS."));
    credentials_of(creds)
}

fn v4_config(emu: &Emulator) -> Config {
    Config::v4(
        Endpoint::parse(&emu.endpoint()).expect("endpoint"),
        Region::new("cn-hangzhou").expect("region"),
    )
}

fn put_v1(emu: &Emulator, key: &str, creds: &Credentials) -> Request<Vec<u8>> {
    let put = PutObject::new(b("bucket"), k(key)).content_length(5);
    sign(emu, &put, b"hello".to_vec(), creds)
}

fn put_v4(emu: &Emulator, key: &str, creds: &Credentials) -> Request<Vec<u8>> {
    PutObject::new(b("bucket"), k(key))
        .content_length(5)
        .request()
        .expect("request")
        .map_body(|()| b"hello".to_vec())
        .sign(&v4_config(emu), creds, SystemTime::now())
        .expect("sign")
}

/// A PostObject form, V1 or (with `v4`) V4.
fn post_form(emu: &Emulator, key: &str, creds: &Credentials, v4: bool) -> Request<Vec<u8>> {
    let config = if v4 { v4_config(emu) } else { config(emu) };
    let signed = PostPolicy::exact_key(b("bucket"), k(key))
        .sign(&config, creds, SystemTime::now(), Duration::from_secs(600))
        .expect("form");
    let fields: Vec<(&str, &str)> = signed
        .fields()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    post(emu, &fields, b"png")
}

#[tokio::test]
async fn the_metadata_service_names_its_role_and_issues_fresh_credentials() {
    let emu = emulator();
    let r = send(emu.addr(), get(&emu, ROLES, None)).await;
    assert_eq!(
        (r.status, r.header("content-type"), r.text().as_str()),
        (200, "text/plain", "osscb-emulator-role")
    );
    let path = format!("{ROLES}osscb-emulator-role");
    let first = send(emu.addr(), get(&emu, &path, None)).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("content-type"), "application/json");
    let value = json(&first);
    assert_eq!(
        first.text(),
        format!(
            r#"{{"Code":"Success","AccessKeyId":"{}","AccessKeySecret":"{}","SecurityToken":"{}","Expiration":"{}","LastUpdated":"{}"}}"#,
            field(&value, "AccessKeyId"),
            field(&value, "AccessKeySecret"),
            field(&value, "SecurityToken"),
            field(&value, "Expiration"),
            field(&value, "LastUpdated"),
        )
    );
    assert_expires(&value, 3600);
    let updated = osscb_core::time::parse_iso8601(field(&value, "LastUpdated")).expect("time");
    assert!(SystemTime::now().duration_since(updated).expect("past") < Duration::from_secs(2));
    let second = json(&send(emu.addr(), get(&emu, &path, None)).await);
    assert_ne!(field(&second, "AccessKeyId"), field(&value, "AccessKeyId"));
    assert_eq!(emu.issued_credentials_from(CredentialSource::Metadata), 2);
    assert_eq!(emu.issued_credentials(), 2);

    let r = send(emu.addr(), get(&emu, &format!("{ROLES}another-role"), None)).await;
    assert_eq!(r.status, 404);
    let r = send(
        emu.addr(),
        get(&emu, "/__osscb/metadata/latest/other", None),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(emu.issued_credentials(), 2);

    // Hardened mode: a session token, 1..=21600 seconds.
    for ttl in ["0", "21601", "abc", ""] {
        let r = send(emu.addr(), token_request(&emu, ttl)).await;
        assert_eq!(r.status, 400, "ttl {ttl:?}");
    }
    let r = send(emu.addr(), token_request(&emu, "21600")).await;
    assert_eq!((r.status, r.header("content-type")), (200, "text/plain"));
    let token = r.text();
    let r = send(emu.addr(), get(&emu, &path, Some(&token))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(emu.addr(), get(&emu, ROLES, Some("not-a-token"))).await;
    assert_eq!(r.status, 401);
    let r = send(emu.addr(), get(&emu, &path, Some("not-a-token"))).await;
    assert_eq!(r.status, 401);
    assert_eq!(emu.issued_credentials(), 3);
}

#[tokio::test]
async fn token_required_mode_refuses_a_get_without_a_token() {
    let emu = start(
        EmulatorConfig::new(ID, SECRET)
            .metadata_requires_token(true)
            .ecs_role("custom-role"),
    );
    let r = send(emu.addr(), get(&emu, ROLES, None)).await;
    assert_eq!(r.status, 401);
    let r = send(emu.addr(), get(&emu, &format!("{ROLES}custom-role"), None)).await;
    assert_eq!(r.status, 401);
    let token = send(emu.addr(), token_request(&emu, "60")).await.text();
    let r = send(emu.addr(), get(&emu, ROLES, Some(&token))).await;
    assert_eq!((r.status, r.text().as_str()), (200, "custom-role"));
    let r = send(
        emu.addr(),
        get(&emu, &format!("{ROLES}custom-role"), Some(&token)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(emu.issued_credentials_from(CredentialSource::Metadata), 1);
}

#[tokio::test]
async fn the_credentials_uri_issues_credentials_that_sign_v1_v4_and_post_object() {
    let emu = emulator();
    let r = send(emu.addr(), get(&emu, "/__osscb/credentials", None)).await;
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, "application/json")
    );
    let value = json(&r);
    assert_eq!(
        r.text(),
        format!(
            r#"{{"Code":"Success","AccessKeyId":"{}","AccessKeySecret":"{}","SecurityToken":"{}","Expiration":"{}"}}"#,
            field(&value, "AccessKeyId"),
            field(&value, "AccessKeySecret"),
            field(&value, "SecurityToken"),
            field(&value, "Expiration"),
        )
    );
    assert_expires(&value, 3600);
    assert_eq!(emu.issued_credentials_from(CredentialSource::Uri), 1);
    let issued = credentials_of(&value);

    let r = send(emu.addr(), put_v1(&emu, "uri/v1", &issued)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(emu.addr(), put_v4(&emu, "uri/v4", &issued)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(emu.addr(), post_form(&emu, "uri/form.png", &issued, false)).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = send(
        emu.addr(),
        post_form(&emu, "uri/form-v4.png", &issued, true),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let got = GetObject::new(b("bucket"), k("uri/v4"));
    let r = send(emu.addr(), sign(&emu, &got, Vec::new(), &issued)).await;
    assert_eq!((r.status, r.body.as_slice()), (200, b"hello".as_slice()));
    for config in [config(&emu), v4_config(&emu)] {
        let presigned = got
            .request()
            .expect("request")
            .presign(&config, &issued, SystemTime::now(), Duration::from_secs(60))
            .expect("presign");
        let url = presigned.url.to_string();
        assert!(url.contains("security-token"), "{url}");
        let r = send(
            emu.addr(),
            Request::get(url.as_str())
                .body(Vec::new())
                .expect("request"),
        )
        .await;
        assert_eq!(
            (r.status, r.body.as_slice()),
            (200, b"hello".as_slice()),
            "{url}"
        );
    }
    // The emulator's own key keeps working.
    let r = send(emu.addr(), put_v1(&emu, "uri/own", &creds())).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // An issued key needs its own token.
    let wrong = Credentials::new(issued.access_key_id(), issued.access_key_secret())
        .with_security_token("another-token");
    let r = send(emu.addr(), put_v1(&emu, "uri/wrong", &wrong)).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        error_xml(
            "InvalidAccessKeyId",
            "The security token you provided is invalid.",
            &r,
            &emu.addr().to_string(),
            &[("OSSAccessKeyId", issued.access_key_id())],
            "0002-00000901"
        )
    );
    let r = send(
        emu.addr(),
        Request::post(format!("{}/__osscb/credentials", emu.endpoint()))
            .body(Vec::new())
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, 405);
}

/// Issued credentials and metadata tokens expire: one short wait covers both.
#[tokio::test]
async fn issued_credentials_and_tokens_expire() {
    let emu = start(EmulatorConfig::new(ID, SECRET).credential_lifetime(Duration::from_secs(1)));
    let from_uri = credentials_of(&json(
        &send(emu.addr(), get(&emu, "/__osscb/credentials", None)).await,
    ));
    let from_sts = assume_role(&emu, &creds(), "short-lived").await;
    let from_sts = assert_assumed(&from_sts, "short-lived");
    assert_expires(
        &json(&assume_role(&emu, &creds(), "again").await)["Credentials"],
        1,
    );
    let token = send(emu.addr(), token_request(&emu, "1")).await.text();
    let r = send(emu.addr(), put_v1(&emu, "short/v1", &from_uri)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(emu.addr(), get(&emu, ROLES, Some(&token))).await;
    assert_eq!(r.status, 200);

    tokio::time::sleep(Duration::from_millis(1100)).await;

    let host = emu.addr().to_string();
    for issued in [&from_uri, &from_sts] {
        for req in [
            put_v1(&emu, "short/v1", issued),
            put_v4(&emu, "short/v4", issued),
            post_form(&emu, "short/form.png", issued, false),
        ] {
            let r = send(emu.addr(), req).await;
            assert_eq!(r.status, 403);
            assert_eq!(
                r.text(),
                error_xml(
                    "InvalidAccessKeyId",
                    "The security token you provided has expired.",
                    &r,
                    &host,
                    &[("OSSAccessKeyId", issued.access_key_id())],
                    "0002-00000901"
                )
            );
        }
    }
    let r = assume_role(&emu, &from_sts, "chained").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        sts_error(
            &r,
            &emu,
            "InvalidSecurityToken.Expired",
            "Specified SecurityToken is expired."
        )
    );
    let r = send(emu.addr(), get(&emu, ROLES, Some(&token))).await;
    assert_eq!(r.status, 401);
    let r = send(emu.addr(), put_v1(&emu, "short/own", &creds())).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn assume_role_with_the_emulators_key_then_chained_with_the_issued_one() {
    let emu = emulator();
    let body = role_body("session-1", "900");
    let query = signed_query(&creds(), &nonce(), &utc(SystemTime::now()), &body);
    // Without the trailing slash too.
    let r = send(
        emu.addr(),
        sts_request(&emu.endpoint(), "/__osscb/sts", &query, &body),
    )
    .await;
    let first = assert_assumed(&r, "session-1");
    assert_expires(&json(&r)["Credentials"], 900);
    let r = assume_role(&emu, &first, "chained@user_1.x-y").await;
    let second = assert_assumed(&r, "chained@user_1.x-y");
    let r = send(emu.addr(), put_v4(&emu, "sts/chained", &second)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(emu.issued_credentials_from(CredentialSource::AssumeRole), 2);

    // The issued caller must send its token.
    let without = Credentials::new(first.access_key_id(), first.access_key_secret());
    let r = assume_role(&emu, &without, "no-token").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        sts_error(
            &r,
            &emu,
            "InvalidSecurityToken.MismatchWithAccessKey",
            "Specified SecurityToken mismatch with the AccessKey."
        )
    );
    assert_eq!(emu.issued_credentials(), 2);
}

#[tokio::test]
async fn assume_role_refusals() {
    let emu = emulator();
    let now = utc(SystemTime::now());
    let body = role_body("session", "3600");
    let send_sts = |query: Vec<(String, String)>, body: Vec<(String, String)>| {
        let req = sts_request(&emu.endpoint(), "/__osscb/sts/", &query, &body);
        send(emu.addr(), req)
    };

    // A wrong secret: the message carries the string to sign.
    let wrong = Credentials::new(ID, "not-the-secret");
    let query = signed_query(&wrong, "n-1", &now, &body);
    let all: Vec<_> = query
        .iter()
        .chain(&body)
        .filter(|(k, _)| k != "Signature")
        .cloned()
        .collect();
    let text = rpc::string_to_sign(&http::Method::POST, &all);
    let r = send_sts(query, body.clone()).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        sts_error(
            &r,
            &emu,
            "SignatureDoesNotMatch",
            &format!(
                "Specified signature is not matched with our calculation. server string to sign is:{text}"
            )
        )
    );

    let unknown = Credentials::new("LTAIunknown", SECRET);
    let r = send_sts(signed_query(&unknown, "n-2", &now, &body), body.clone()).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        sts_error(
            &r,
            &emu,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found."
        )
    );

    let query = signed_query(&creds(), "n-3", &now, &body);
    let r = send_sts(query.clone(), body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send_sts(query, body.clone()).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        sts_error(
            &r,
            &emu,
            "SignatureNonceUsed",
            "Specified signature nonce was used already."
        )
    );

    let stale = utc(SystemTime::now() - Duration::from_secs(16 * 60));
    let r = send_sts(signed_query(&creds(), "n-4", &stale, &body), body.clone()).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        sts_error(
            &r,
            &emu,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired."
        )
    );

    let long = "x".repeat(65);
    // The body's parameters, then the expected status, code and message.
    type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str, &'a str);
    let cases: [Case<'_>; 9] = [
        (
            &[("RoleSessionName", "s1"), ("DurationSeconds", "900")],
            400,
            "MissingRoleArn",
            "RoleArn is mandatory for this action.",
        ),
        (
            &[
                ("RoleArn", "acs:ram::123:user/x"),
                ("RoleSessionName", "s1"),
            ],
            400,
            "InvalidParameter.RoleArn",
            "The parameter RoleArn is wrongly formed.",
        ),
        (
            &[
                ("RoleArn", "acs:ram::12a:role/x"),
                ("RoleSessionName", "s1"),
            ],
            400,
            "InvalidParameter.RoleArn",
            "The parameter RoleArn is wrongly formed.",
        ),
        (
            &[("RoleArn", ROLE_ARN), ("RoleSessionName", "a")],
            400,
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName is wrongly formed.",
        ),
        (
            &[("RoleArn", ROLE_ARN), ("RoleSessionName", "with space")],
            400,
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName is wrongly formed.",
        ),
        (
            &[("RoleArn", ROLE_ARN), ("RoleSessionName", &long)],
            400,
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName is wrongly formed.",
        ),
        (
            &[
                ("RoleArn", ROLE_ARN),
                ("RoleSessionName", "s1"),
                ("DurationSeconds", "899"),
            ],
            400,
            "InvalidParameter.DurationSeconds",
            "The parameter DurationSeconds is wrongly formed.",
        ),
        (
            &[
                ("RoleArn", ROLE_ARN),
                ("RoleSessionName", "s1"),
                ("DurationSeconds", "43201"),
            ],
            400,
            "InvalidParameter.DurationSeconds",
            "The parameter DurationSeconds is wrongly formed.",
        ),
        (
            &[("RoleArn", ROLE_ARN), ("RoleSessionName", "s1")],
            200,
            "",
            "",
        ),
    ];
    for (i, (items, status, code, message)) in cases.into_iter().enumerate() {
        let body = pairs(items);
        let query = signed_query(&creds(), &format!("case-{i}"), &now, &body);
        let r = send_sts(query, body).await;
        assert_eq!(r.status, status, "{items:?}: {}", r.text());
        if status != 200 {
            assert_eq!(r.text(), sts_error(&r, &emu, code, message), "{items:?}");
        } else {
            assert_expires(&json(&r)["Credentials"], 3600);
        }
    }

    let mut query = signed_query(&creds(), "n-5", &now, &body);
    query[0].1 = "DescribeRegions".to_owned();
    let r = send_sts(query, body.clone()).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        sts_error(
            &r,
            &emu,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method."
        )
    );

    let large = pairs(&[("Policy", &"x".repeat(70 * 1024))]);
    let r = send_sts(signed_query(&creds(), "n-6", &now, &large), large).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains(r#""Code":"EntityTooLarge""#),
        "{}",
        r.text()
    );
    assert_eq!(emu.issued_credentials(), 2);
}

fn oidc_body(token: &str, provider: &str) -> Vec<(String, String)> {
    pairs(&[
        ("RoleArn", ROLE_ARN),
        ("OIDCProviderArn", provider),
        ("OIDCToken", token),
        ("RoleSessionName", "oidc-session"),
        ("DurationSeconds", "1000"),
    ])
}

fn oidc_query() -> Vec<(String, String)> {
    pairs(&[
        ("Action", "AssumeRoleWithOIDC"),
        ("Version", "2015-04-01"),
        ("Format", "JSON"),
        ("Timestamp", &utc(SystemTime::now())),
    ])
}

#[tokio::test]
async fn assume_role_with_oidc_checks_the_configured_token() {
    let emu = start(EmulatorConfig::new(ID, SECRET).oidc_token("eyJ.the-token.sig"));
    let oidc = |token: &str, provider: &str| {
        sts_request(
            &emu.endpoint(),
            "/__osscb/sts/",
            &oidc_query(),
            &oidc_body(token, provider),
        )
    };
    let r = send(emu.addr(), oidc("eyJ.the-token.sig", PROVIDER_ARN)).await;
    let issued = assert_assumed(&r, "oidc-session");
    assert_expires(&json(&r)["Credentials"], 1000);
    let r = send(emu.addr(), put_v1(&emu, "oidc/v1", &issued)).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let r = send(emu.addr(), oidc("eyJ.another.sig", PROVIDER_ARN)).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        sts_error(
            &r,
            &emu,
            "InvalidParameter.OIDCToken",
            "The OIDCToken is invalid."
        )
    );
    let r = send(emu.addr(), oidc("eyJ.the-token.sig", ROLE_ARN)).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        sts_error(
            &r,
            &emu,
            "InvalidParameter.OIDCProviderArn",
            "The parameter OIDCProviderArn is wrongly formed."
        )
    );
    assert_eq!(
        emu.issued_credentials_from(CredentialSource::AssumeRoleWithOidc),
        1
    );

    // Without a configured token, any non-empty one.
    let open = emulator();
    let r = send(
        open.addr(),
        sts_request(
            &open.endpoint(),
            "/__osscb/sts/",
            &oidc_query(),
            &oidc_body("any", PROVIDER_ARN),
        ),
    )
    .await;
    assert_assumed(&r, "oidc-session");
    let r = send(
        open.addr(),
        sts_request(
            &open.endpoint(),
            "/__osscb/sts/",
            &oidc_query(),
            &oidc_body("", PROVIDER_ARN),
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        sts_error(
            &r,
            &open,
            "MissingOIDCToken",
            "OIDCToken is mandatory for this action."
        )
    );
}

#[test]
fn config_debug_redacts_the_oidc_token() {
    let config = EmulatorConfig::new(ID, SECRET).oidc_token("eyJ.secret-oidc.sig");
    let text = format!("{config:?}");
    assert!(!text.contains("secret-oidc"), "{text}");
    assert!(text.contains(r#"oidc_token: Some("<redacted>")"#), "{text}");
}
