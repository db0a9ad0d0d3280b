//! Signature V4 end to end: a client with a region signs with
//! `OSS4-HMAC-SHA256`; put with callback and multipart against the emulator.

mod common;

use std::time::Duration;

use common::{Receiver, emulator, fast_retries, write_file};
use osscb_blocking::Client;
use osscb_blocking::osscb_core::upload::UploadOptions;
use osscb_blocking::osscb_core::{Credentials, SignatureVersion};
use osscb_emulator::Emulator;

const BODY: &str = "bucket=${bucket}&object=${object}&size=${size}";

fn v4_client(emu: &Emulator, secret: &str) -> Client {
    Client::builder()
        .endpoint(emu.endpoint())
        .credentials(Credentials::new(common::ID, secret))
        .region("cn-hangzhou")
        .retry_policy(fast_retries())
        .io_timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

#[test]
fn v4_put_with_callback_and_multipart() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let client = v4_client(&emu, common::SECRET);
    assert!(matches!(
        client.config().signature_version,
        SignatureVersion::V4 { .. }
    ));
    let bucket = client.bucket("examplebucket").expect("bucket");

    let options = UploadOptions::new().callback(receiver.callback(BODY));
    let output = bucket
        .put_object("v4/put.txt", b"signed with v4", &options)
        .expect("put");
    let answer = output.callback.expect("callback answer").text();
    assert!(answer.contains("\"verified\":true"), "{answer}");
    assert!(answer.contains("object=v4%2Fput.txt&size=14"), "{answer}");

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("parts.bin");
    let len = 700 * 1024 + 7;
    write_file(&path, len, 11);
    let options = UploadOptions::new()
        .part_size(256 * 1024)
        .parallelism(2)
        .callback(receiver.callback(BODY));
    let output = bucket
        .upload_file("v4/multi.bin", &path, &options)
        .expect("multipart");
    let answer = output.callback.expect("answer").text();
    assert!(answer.contains(&format!("size={len}")), "{answer}");
    let (_, body) = bucket.get_object("v4/multi.bin").expect("get");
    assert_eq!(body, std::fs::read(&path).expect("read"));

    // The signature on the wire is V4: the emulator's StringToSign says so.
    let wrong = v4_client(&emu, "wrong-secret");
    let err = wrong
        .bucket("examplebucket")
        .expect("bucket")
        .head_object("v4/put.txt")
        .expect_err("bad secret");
    let sts = err
        .service()
        .and_then(|s| s.string_to_sign.clone())
        .unwrap_or_default();
    assert!(sts.starts_with("OSS4-HMAC-SHA256\n"), "{err}: {sts:?}");

    let bad = Client::builder()
        .endpoint(emu.endpoint())
        .credentials(Credentials::new(common::ID, common::SECRET))
        .region("oss-cn-hangzhou")
        .build();
    assert!(bad.is_err(), "the oss- prefix is not part of a region");
}

#[test]
fn v4_presigned_put_with_callback_runs_through_the_transport() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let client = v4_client(&emu, common::SECRET);
    let bucket = client.bucket("examplebucket").expect("bucket");
    let options = UploadOptions::new().callback(receiver.callback(BODY));
    let key = "v4/presigned.txt".parse().expect("key");
    let op = options.put_object(bucket.name(), &key, 0, None);
    let presigned = bucket
        .presign(&op, Duration::from_secs(300))
        .expect("presign");
    let query = presigned.url.query().unwrap_or_default().to_owned();
    assert!(
        query.contains("x-oss-signature-version=OSS4-HMAC-SHA256"),
        "{query}"
    );
    assert!(query.contains("callback="), "{query}");
    let output = client
        .send_presigned(&op, &presigned, b"v4 via a URL")
        .expect("put");
    let answer = output.callback.expect("answer").text();
    assert!(answer.contains("\"verified\":true"), "{answer}");
    assert!(
        answer.contains("object=v4%2Fpresigned.txt&size=12"),
        "{answer}"
    );
    let (_, body) = bucket.get_object("v4/presigned.txt").expect("get");
    assert_eq!(body, b"v4 via a URL");
}
