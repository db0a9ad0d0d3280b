//! PostObject signed with Signature V4 (OSS's "POST V4 signature" page):
//! the emulator stores what the core signs, refuses what OSS refuses, and
//! keeps V1 forms working beside it.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use osscb_core::ops::GetObject;
use osscb_core::post_policy::{PostForm, PostPolicy};
use osscb_core::{Config, Credentials, Endpoint, Region};

fn v4_config(emu: &osscb_emulator::Emulator) -> Config {
    Config::v4(
        Endpoint::parse(&emu.endpoint()).expect("endpoint"),
        Region::new("cn-hangzhou").expect("region"),
    )
}

fn v4_form(
    emu: &osscb_emulator::Emulator,
    key: &str,
    creds: &Credentials,
    at: SystemTime,
) -> PostForm {
    PostPolicy::exact_key(b("bucket"), k(key))
        .content_length_range(1, 10)
        .sign(&v4_config(emu), creds, at, Duration::from_secs(600))
        .expect("form")
}

/// The form's fields, with `replace` swapping some values.
fn fields<'a>(form: &'a PostForm, replace: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    form.fields()
        .iter()
        .map(|(k, v)| {
            let v = replace
                .iter()
                .find(|(name, _)| name == k)
                .map_or(v.as_str(), |(_, v)| *v);
            (k.as_str(), v)
        })
        .collect()
}

fn code(reply: &Reply) -> (u16, String, String) {
    (
        reply.status,
        element(&reply.text(), "Code").to_owned(),
        element(&reply.text(), "Message").to_owned(),
    )
}

#[tokio::test]
async fn a_v4_form_stores_its_file_and_a_v1_form_still_does() {
    let emu = emulator();
    let form = v4_form(&emu, "v4/pic.png", &creds(), SystemTime::now());
    assert_eq!(
        form.field("x-oss-signature-version"),
        Some("OSS4-HMAC-SHA256")
    );
    assert_eq!(form.field("Signature"), None);
    let r = send(emu.addr(), post(&emu, &fields(&form, &[]), b"png")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let got = GetObject::new(b("bucket"), k("v4/pic.png"));
    let r = send(emu.addr(), sign(&emu, &got, Vec::new(), &creds())).await;
    assert_eq!((r.status, r.body.as_slice()), (200, b"png".as_slice()));

    let v1 = PostPolicy::exact_key(b("bucket"), k("v1/pic.png"))
        .sign(
            &config(&emu),
            &creds(),
            SystemTime::now(),
            Duration::from_secs(600),
        )
        .expect("form");
    assert!(v1.field("Signature").is_some());
    let r = send(emu.addr(), post(&emu, &fields(&v1, &[]), b"png")).await;
    assert_eq!(r.status, 204, "{}", r.text());
}

#[tokio::test]
async fn v4_forms_are_refused_as_oss_refuses_them() {
    let emu = emulator();
    let host = emu.addr().to_string();
    let now = SystemTime::now();
    let form = v4_form(&emu, "v4/refused.png", &creds(), now);

    // Signed with another secret: SignatureDoesNotMatch, the policy being
    // the string to sign.
    let forged = v4_form(
        &emu,
        "v4/refused.png",
        &Credentials::new(ID, "not-the-secret"),
        now,
    );
    let sent = forged.field("x-oss-signature").expect("signature");
    let r = send(emu.addr(), post(&emu, &fields(&forged, &[]), b"png")).await;
    assert_eq!(
        r.text(),
        error_xml(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            &r,
            &host,
            &[
                ("OSSAccessKeyId", ID),
                ("SignatureProvided", sent),
                ("StringToSign", forged.field("policy").expect("policy")),
            ],
            "0002-00000040"
        )
    );
    assert_eq!(r.status, 403);

    // A credential for another region than the one signed for.
    let other_region = form
        .field("x-oss-credential")
        .expect("credential")
        .replace("cn-hangzhou", "cn-beijing");
    let r = send(
        emu.addr(),
        post(
            &emu,
            &fields(&form, &[("x-oss-credential", &other_region)]),
            b"png",
        ),
    )
    .await;
    assert_eq!(code(&r).1, "SignatureDoesNotMatch", "{}", r.text());

    // A credential for another day than x-oss-date.
    let other_day = format!("{ID}/19991231/cn-hangzhou/oss/aliyun_v4_request");
    let r = send(
        emu.addr(),
        post(
            &emu,
            &fields(&form, &[("x-oss-credential", &other_day)]),
            b"png",
        ),
    )
    .await;
    assert_eq!(
        (r.status, code(&r).1.as_str()),
        (400, "InvalidArgument"),
        "{}",
        r.text()
    );

    // An expired policy (signed 20 minutes ago for 10 minutes).
    let old = v4_form(
        &emu,
        "v4/refused.png",
        &creds(),
        now - Duration::from_secs(1200),
    );
    let r = send(emu.addr(), post(&emu, &fields(&old, &[]), b"png")).await;
    assert_eq!(
        code(&r),
        (
            403,
            "AccessDenied".to_owned(),
            "Invalid according to Policy: Policy expired.".to_owned()
        )
    );

    // An x-oss-date 20 minutes ahead of the server's clock.
    let ahead = v4_form(
        &emu,
        "v4/refused.png",
        &creds(),
        now + Duration::from_secs(1200),
    );
    let r = send(emu.addr(), post(&emu, &fields(&ahead, &[]), b"png")).await;
    assert_eq!(
        (r.status, code(&r).1.as_str()),
        (403, "RequestTimeTooSkewed"),
        "{}",
        r.text()
    );

    // (A policy that lacks a required condition is refused too: the core's
    // `FormSignatureV4::verify` tests it, since only a signer can make one.)

    // A field the policy pins, changed: the policy condition fails.
    let r = send(
        emu.addr(),
        post(&emu, &fields(&form, &[("key", "v4/other.png")]), b"png"),
    )
    .await;
    assert_eq!(
        (r.status, code(&r).1.as_str()),
        (403, "AccessDenied"),
        "{}",
        r.text()
    );

    // Nothing was stored.
    let got = GetObject::new(b("bucket"), k("v4/refused.png"));
    let r = send(emu.addr(), sign(&emu, &got, Vec::new(), &creds())).await;
    assert_eq!(r.status, 404);
}
