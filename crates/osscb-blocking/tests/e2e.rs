//! End to end against the in-process emulator.

mod common;

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Receiver, client, data, emulator, write_file};
use osscb_blocking::osscb_core::crc64;
use osscb_blocking::osscb_core::ops::multipart::{AbortMultipartUpload, ListParts};
use osscb_blocking::osscb_core::response::CallbackFailed;
use osscb_blocking::osscb_core::upload::{Checkpoint, UploadOptions};
use osscb_blocking::osscb_core::{Credentials, Error as CoreError, ObjectKey};
use osscb_blocking::{Client, Error};
use osscb_emulator::{Emulator, EmulatorConfig};

const BODY: &str = "bucket=${bucket}&object=${object}&size=${size}";

fn creds() -> Credentials {
    Credentials::new(common::ID, common::SECRET)
}

#[test]
fn put_with_callback_returns_the_answer_and_reads_back() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = client(&emu, creds())
        .bucket("examplebucket")
        .expect("bucket");
    let bytes = vec![b'a'; 1024 * 1024];
    let options = UploadOptions::new()
        .callback(receiver.callback(BODY))
        .metadata("author", "alice");
    let output = bucket
        .put_object("examplefiles/exampleobject.txt", &bytes, &options)
        .expect("put");
    let answer = output.callback.expect("callback answer").text();
    assert!(answer.contains("\"verified\":true"), "{answer}");
    assert!(
        answer
            .contains("bucket=examplebucket&object=examplefiles%2Fexampleobject.txt&size=1048576"),
        "{answer}"
    );
    assert_eq!(output.object.crc64, Some(crc64::checksum(&bytes)));

    let meta = bucket
        .head_object("examplefiles/exampleobject.txt")
        .expect("head");
    assert_eq!(meta.content_length, Some(1024 * 1024));
    assert_eq!(meta.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        meta.metadata.get("author").map(String::as_str),
        Some("alice")
    );
    let (got, body) = bucket
        .get_object("examplefiles/exampleobject.txt")
        .expect("get");
    assert_eq!(body, bytes);
    assert_eq!(got.metadata.object.etag, output.object.etag);
    bucket
        .delete_object("examplefiles/exampleobject.txt")
        .expect("delete");
    let missing = bucket
        .head_object("examplefiles/exampleobject.txt")
        .expect_err("gone");
    assert_eq!(missing.service().map(|s| s.status.as_u16()), Some(404));
}

#[test]
fn put_from_a_64_mib_file_is_streamed_with_its_crc() {
    let emu = emulator();
    let bucket = client(&emu, creds())
        .bucket("examplebucket")
        .expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.bin");
    let len = 64 * 1024 * 1024;
    write_file(&path, len, 7);
    let expected = crc64::checksum(&std::fs::read(&path).expect("read"));
    let last = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&last);
    let options = UploadOptions::new().progress(move |done, total| {
        assert_eq!(total, 64 * 1024 * 1024);
        seen.store(done, Ordering::SeqCst);
    });
    let output = bucket
        .put_object_from_file("big.bin", &path, &options)
        .expect("put");
    assert_eq!(output.object.crc64, Some(expected));
    assert_eq!(last.load(Ordering::SeqCst), len as u64);
    let meta = bucket.head_object("big.bin").expect("head");
    assert_eq!(meta.content_length, Some(len as u64));
    assert_eq!(
        meta.content_type.as_deref(),
        Some("application/octet-stream")
    );
    let out = dir.path().join("back.bin");
    bucket
        .get_object_to_file("big.bin", &out)
        .expect("download");
    assert_eq!(
        crc64::checksum(&std::fs::read(&out).expect("read")),
        expected
    );
    // Too large for memory: refused by the core's body limit.
    let too_big = bucket.get_object("big.bin").expect_err("over 16 MiB");
    assert!(
        matches!(too_big.oss(), Some(CoreError::ResponseTooLarge { .. })),
        "{too_big}"
    );
}

#[test]
fn multipart_with_callback_returns_the_answer() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = client(&emu, creds())
        .bucket("examplebucket")
        .expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("parts.bin");
    let len = 2 * 1024 * 1024 + 12_345;
    write_file(&path, len, 3);
    let progress = Arc::new(AtomicU64::new(0));
    let p = Arc::clone(&progress);
    let options = UploadOptions::new()
        .part_size(256 * 1024)
        .parallelism(4)
        .callback(receiver.callback(BODY))
        .progress(move |done, _| {
            p.fetch_max(done, Ordering::SeqCst);
        });
    let before = emu.upload_part_requests();
    let output = bucket
        .upload_file("multi/parts.bin", &path, &options)
        .expect("upload");
    assert_eq!(emu.upload_part_requests() - before, 9);
    let answer = output.callback.expect("answer").text();
    assert!(answer.contains(&format!("size={len}")), "{answer}");
    assert_eq!(progress.load(Ordering::SeqCst), len as u64);
    let (_, body) = bucket.get_object("multi/parts.bin").expect("get");
    assert_eq!(body, std::fs::read(&path).expect("read"));
    assert_eq!(
        receiver.bodies.lock().expect("lock").len(),
        1,
        "one callback, on completion"
    );
}

#[test]
fn resume_after_a_crash_skips_finished_parts() {
    let emu = emulator();
    let bucket = client(&emu, creds())
        .bucket("examplebucket")
        .expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("resume.bin");
    write_file(&path, 10 * 100 * 1024, 11);
    let checkpoint = dir.path().join("resume.checkpoint");
    let options = UploadOptions::new()
        .part_size(100 * 1024)
        .parallelism(1)
        .checkpoint(&checkpoint);
    // Requests: 1 initiate, 2..=6 parts 1..=5, 7 = part 6 refused (4xx: not retried).
    emu.faults().fail_nth(7, 400);
    let crash = bucket
        .upload_file("resume.bin", &path, &options)
        .expect_err("crash");
    assert_eq!(
        crash.service().map(|s| s.status.as_u16()),
        Some(400),
        "{crash}"
    );
    assert!(checkpoint.exists(), "kept for the rerun");
    assert_eq!(emu.upload_part_requests(), 5);

    let output = bucket
        .upload_file("resume.bin", &path, &options)
        .expect("resume");
    assert_eq!(
        emu.upload_part_requests(),
        10,
        "only parts 6..=10 uploaded again"
    );
    assert!(!checkpoint.exists(), "removed once complete");
    let expected = crc64::checksum(&std::fs::read(&path).expect("read"));
    assert_eq!(output.object.crc64, Some(expected));
    let (_, body) = bucket.get_object("resume.bin").expect("get");
    assert_eq!(crc64::checksum(&body), expected);
}

#[test]
fn callback_failure_is_a_203_with_the_stored_object() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    receiver.answer_with(500);
    let bucket = client(&emu, creds())
        .bucket("examplebucket")
        .expect("bucket");
    let options = UploadOptions::new().callback(receiver.callback(BODY));
    let requests = emu.faults().requests_seen();
    let err = bucket
        .put_object("cb/failed.txt", b"stored anyway", &options)
        .expect_err("203");
    assert_eq!(
        emu.faults().requests_seen() - requests,
        1,
        "203 is not retried"
    );
    let failed = err.callback_failed().expect("callback failure");
    assert!(failed.object.etag.is_some());
    assert_eq!(failed.object.crc64, Some(crc64::checksum(b"stored anyway")));
    assert_request_id(failed);
    assert_eq!(failed.error.code, "CallbackFailed");
    assert!(err.to_string().contains("the object was stored"), "{err}");
    let (_, body) = bucket.get_object("cb/failed.txt").expect("stored");
    assert_eq!(body, b"stored anyway");

    // Multipart: the upload is completed, not aborted.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.bin");
    write_file(&path, 300 * 1024, 5);
    let options = options.part_size(100 * 1024);
    let err = bucket
        .upload_file("cb/multi.bin", &path, &options)
        .expect_err("203");
    let failed = err.callback_failed().expect("callback failure");
    let whole = crc64::checksum(&std::fs::read(&path).expect("read"));
    assert_eq!(failed.object.crc64, Some(whole));
    assert!(
        failed
            .object
            .etag
            .as_deref()
            .is_some_and(|e| e.ends_with("-3\""))
    );
    assert_request_id(failed);
    assert_eq!(
        emu.abort_multipart_requests(),
        0,
        "a stored object is never aborted"
    );
    assert!(emu.multipart_uploads().is_empty(), "completed");
    let meta = bucket.head_object("cb/multi.bin").expect("stored");
    assert_eq!(meta.content_length, Some(300 * 1024));
}

/// The emulator sends a 24-character request id and, unversioned, no version id.
fn assert_request_id(failed: &CallbackFailed) {
    let id = failed.object.request_id.as_deref().expect("request id");
    assert_eq!(id.len(), 24, "{id}");
    assert_eq!(failed.error.request_id, id);
    assert_eq!(failed.object.version_id, None);
}

#[test]
fn a_failed_upload_without_checkpoint_is_aborted() {
    let emu = Arc::new(emulator());
    let bucket = client(&emu, creds())
        .bucket("examplebucket")
        .expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("aborted.bin");
    write_file(&path, 300 * 1024, 13);
    // The upload id, seen while the upload is in progress (after part 1).
    let ids = Arc::new(Mutex::new(Vec::new()));
    let (seen, watched) = (Arc::clone(&ids), Arc::clone(&emu));
    let options = UploadOptions::new()
        .part_size(100 * 1024)
        .parallelism(1)
        .progress(move |done, _| {
            let mut seen = seen.lock().expect("lock");
            if done > 0 && seen.is_empty() {
                *seen = watched.multipart_uploads();
            }
        });
    // Requests: 1 initiate, 2 part 1, 3 part 2 refused (4xx: not retried).
    emu.faults().fail_nth(3, 400);
    let err = bucket
        .upload_file("aborted.bin", &path, &options)
        .expect_err("refused");
    assert_eq!(err.service().map(|s| s.status.as_u16()), Some(400), "{err}");
    let ids = ids.lock().expect("lock").clone();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(emu.abort_multipart_requests(), 1);
    assert!(emu.multipart_uploads().is_empty());
    let list = ListParts::new(
        bucket.name().clone(),
        "aborted.bin".parse().expect("key"),
        &ids[0],
    );
    let gone = bucket.client().send(&list).expect_err("aborted");
    assert_eq!(
        gone.service().map(|s| s.code.as_str()),
        Some("NoSuchUpload")
    );
}

#[test]
fn a_checkpoint_whose_upload_is_gone_starts_over() {
    let emu = emulator();
    let client = client(&emu, creds());
    let bucket = client.bucket("examplebucket").expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gone.bin");
    write_file(&path, 300 * 1024, 17);
    let checkpoint = dir.path().join("gone.checkpoint");
    let options = UploadOptions::new()
        .part_size(100 * 1024)
        .parallelism(1)
        .checkpoint(&checkpoint);
    // Requests: 1 initiate, 2 part 1, 3 part 2 refused: the checkpoint is kept.
    emu.faults().fail_nth(3, 400);
    bucket
        .upload_file("gone.bin", &path, &options)
        .expect_err("refused");
    let saved =
        Checkpoint::from_json(&std::fs::read(&checkpoint).expect("kept")).expect("checkpoint");
    assert_eq!(saved.parts().len(), 1);
    let key: ObjectKey = "gone.bin".parse().expect("key");
    let abort = AbortMultipartUpload::new(bucket.name().clone(), key, saved.upload_id());
    client.send(&abort).expect("abort");

    let output = bucket
        .upload_file("gone.bin", &path, &options)
        .expect("a new upload");
    let bytes = std::fs::read(&path).expect("read");
    assert_eq!(output.object.crc64, Some(crc64::checksum(&bytes)));
    assert_eq!(emu.upload_part_requests(), 1 + 3, "every part again");
    assert!(!checkpoint.exists(), "removed once complete");
    assert!(emu.multipart_uploads().is_empty());
    let (_, body) = bucket.get_object("gone.bin").expect("get");
    assert_eq!(body, bytes);
}

#[test]
fn a_panic_in_a_part_worker_is_not_hidden() {
    let emu = emulator();
    let bucket = client(&emu, creds())
        .bucket("examplebucket")
        .expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("panic.bin");
    write_file(&path, 300 * 1024, 19);
    // Progress is reported on the worker that finished a part.
    let options = UploadOptions::new()
        .part_size(100 * 1024)
        .parallelism(2)
        .progress(|done, _| assert!(done == 0, "progress exploded"));
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        bucket.upload_file("panic.bin", &path, &options)
    }));
    let panic = outcome.expect_err("the worker's panic goes on");
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()));
    assert_eq!(message.as_deref(), Some("progress exploded"));
}

#[test]
fn retries_through_503_and_a_dropped_connection() {
    let emu = emulator();
    let bucket = client(&emu, creds())
        .bucket("examplebucket")
        .expect("bucket");
    let bytes = data(200_000, 1);
    emu.faults().fail_next(2, 503);
    let seen = emu.faults().requests_seen();
    bucket
        .put_object("retry/503.bin", &bytes, &UploadOptions::new())
        .expect("third try");
    assert_eq!(emu.faults().requests_seen() - seen, 3);

    emu.faults().drop_next(1);
    let seen = emu.faults().requests_seen();
    bucket
        .put_object("retry/drop.bin", &bytes, &UploadOptions::new())
        .expect("second try");
    assert_eq!(emu.faults().requests_seen() - seen, 2);
    let (_, body) = bucket.get_object("retry/drop.bin").expect("get");
    assert_eq!(body, bytes);

    // A streamed file is replayed too.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("f.bin");
    write_file(&path, 300_000, 2);
    emu.faults().drop_next(1);
    bucket
        .put_object_from_file("retry/file.bin", &path, &UploadOptions::new())
        .expect("file");

    // Out of attempts: the 503 surfaces; a 4xx is never retried. (Small
    // bodies: the emulator answers faults without reading the body, so a large
    // one would meet a broken pipe before the status.)
    let bytes = b"small".to_vec();
    emu.faults().fail_next(3, 503);
    let err = bucket
        .put_object("retry/no.bin", &bytes, &UploadOptions::new())
        .expect_err("503");
    assert_eq!(
        err.service().map(|s| s.status.as_u16()),
        Some(503),
        "{err:?}"
    );
    emu.faults().fail_next(1, 403);
    let seen = emu.faults().requests_seen();
    let err = bucket
        .put_object("retry/no.bin", &bytes, &UploadOptions::new())
        .expect_err("403");
    assert_eq!(err.service().map(|s| s.status.as_u16()), Some(403));
    assert_eq!(emu.faults().requests_seen() - seen, 1);
}

#[test]
fn crc64_mismatch_is_detected() {
    let emu = emulator();
    let bucket = client(&emu, creds())
        .bucket("examplebucket")
        .expect("bucket");
    emu.faults().corrupt_crc64_next(1);
    let err = bucket
        .put_object("crc.bin", b"hello", &UploadOptions::new())
        .expect_err("mismatch");
    match err.oss() {
        Some(CoreError::Crc64Mismatch { computed, reported }) => {
            assert_eq!(*computed, crc64::checksum(b"hello"));
            assert_ne!(computed, reported);
        }
        other => panic!("{other:?}"),
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.bin");
    write_file(&path, 250 * 1024, 9);
    emu.faults().corrupt_crc64_next(1);
    let err = bucket
        .upload_file(
            "crc-multi.bin",
            &path,
            &UploadOptions::new().part_size(100 * 1024),
        )
        .expect_err("mismatch");
    assert!(
        matches!(err.oss(), Some(CoreError::Crc64Mismatch { .. })),
        "{err}"
    );
}

#[test]
fn a_wrong_crc64_on_complete_alone_is_detected() {
    let emu = emulator();
    let bucket = client(&emu, creds())
        .bucket("examplebucket")
        .expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("complete.bin");
    write_file(&path, 250 * 1024, 23);
    let whole = crc64::checksum(&std::fs::read(&path).expect("read"));
    // One part at a time, progress after each: once every byte is reported,
    // the next write is CompleteMultipartUpload.
    let faults = emu.faults().clone();
    let options = UploadOptions::new()
        .part_size(100 * 1024)
        .parallelism(1)
        .progress(move |done, total| {
            if done == total {
                faults.corrupt_crc64_next(1);
            }
        });
    let err = bucket
        .upload_file("complete.bin", &path, &options)
        .expect_err("mismatch");
    assert_eq!(emu.upload_part_requests(), 3, "every part passed");
    match err.oss() {
        Some(CoreError::Crc64Mismatch { computed, reported }) => {
            assert_eq!(*computed, whole);
            assert_ne!(*reported, whole);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_presigned_put_checks_the_crc64() {
    let emu = emulator();
    let client = client(&emu, creds());
    let bucket = client.bucket("examplebucket").expect("bucket");
    let key = "presigned/crc.txt".parse().expect("key");
    let op = UploadOptions::new().put_object(bucket.name(), &key, 0, None);
    let presigned = bucket
        .presign(&op, Duration::from_secs(300))
        .expect("presign");
    emu.faults().corrupt_crc64_next(1);
    let err = client
        .send_presigned(&op, &presigned, b"checked")
        .expect_err("mismatch");
    match err.oss() {
        Some(CoreError::Crc64Mismatch { computed, reported }) => {
            assert_eq!(*computed, crc64::checksum(b"checked"));
            assert_ne!(computed, reported);
        }
        other => panic!("{other:?}"),
    }
    let output = client
        .send_presigned(&op, &presigned, b"checked")
        .expect("put");
    assert_eq!(output.object.crc64, Some(crc64::checksum(b"checked")));
}

#[test]
fn sts_tokens_are_sent_and_required() {
    let emu =
        Emulator::start(EmulatorConfig::new("sts-id", "sts-secret").security_token("tok/en+1"))
            .expect("emulator");
    let good = client(
        &emu,
        Credentials::new("sts-id", "sts-secret").with_security_token("tok/en+1"),
    );
    let bucket = good.bucket("examplebucket").expect("bucket");
    bucket
        .put_object("sts.txt", b"temporary", &UploadOptions::new())
        .expect("put with token");
    let bad = client(&emu, Credentials::new("sts-id", "sts-secret")).bucket("examplebucket");
    let err = bad
        .expect("bucket")
        .head_object("sts.txt")
        .expect_err("no token");
    assert_eq!(err.service().map(|s| s.status.as_u16()), Some(403));
}

#[test]
fn presigned_put_with_callback_runs_through_the_transport() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let client = client(&emu, creds());
    let bucket = client.bucket("examplebucket").expect("bucket");
    let options = UploadOptions::new().callback(receiver.callback(BODY));
    let key = "presigned/put.txt".parse().expect("key");
    let op = options.put_object(bucket.name(), &key, 0, None);
    let presigned = bucket
        .presign(&op, Duration::from_secs(300))
        .expect("presign");
    assert!(
        presigned
            .url
            .query()
            .unwrap_or_default()
            .contains("callback=")
    );
    let output = client
        .send_presigned(&op, &presigned, b"via a URL")
        .expect("put");
    let answer = output.callback.expect("answer").text();
    assert!(
        answer.contains("object=presigned%2Fput.txt&size=9"),
        "{answer}"
    );
    let (_, body) = bucket.get_object("presigned/put.txt").expect("get");
    assert_eq!(body, b"via a URL");
}

#[test]
fn from_env_names_the_missing_variable() {
    // Only this test touches these variables in this process.
    for name in ["OSS_ENDPOINT", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET"] {
        if std::env::var_os(name).is_some() {
            return; // a real configuration is present; leave it alone
        }
    }
    let err = Client::from_env().expect_err("no variables");
    assert!(matches!(err, Error::MissingEnv("OSS_ENDPOINT")), "{err}");
    assert_eq!(
        err.to_string(),
        "environment variable OSS_ENDPOINT is not set"
    );
}

#[test]
fn debug_output_never_shows_secrets() {
    let client = Client::builder()
        .endpoint("oss-cn-hangzhou.aliyuncs.com")
        .credentials(
            Credentials::new("LTAIvisible", "s3cr3t-VALUE").with_security_token("t0ken-VALUE"),
        )
        .build()
        .expect("client");
    let bucket = client.bucket("examplebucket").expect("bucket");
    for text in [format!("{client:?}"), format!("{bucket:#?}")] {
        assert!(text.contains("LTAIvisible"), "{text}");
        assert!(
            !text.contains("s3cr3t-VALUE") && !text.contains("t0ken-VALUE"),
            "{text}"
        );
    }
}

#[test]
fn verify_callback_in_one_call_with_the_builtin_oss_key() {
    use osscb_blocking::osscb_core::http;
    use osscb_blocking::osscb_core::verify::{Verifier, VerifyError};
    // PROTOCOL.md §3, vector CB-doc: signed by OSS, verified with no fetch.
    let request = |body: &'static [u8]| {
        http::Request::post("/index.php?id=1&index=2")
            .header("authorization", "kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA==")
            .header("x-oss-pub-key-url", "aHR0cDovL2dvc3NwdWJsaWMuYWxpY2RuLmNvbS9jYWxsYmFja19wdWJfa2V5X3YxLnBlbQ==")
            .body(body)
            .expect("request")
    };
    let verified =
        osscb_blocking::verify_callback(&Verifier::new(), &request(b"bucket=yonghu-test"))
            .expect("verified");
    assert_eq!(verified.variables()["bucket"], "yonghu-test");
    let err = osscb_blocking::verify_callback(&Verifier::new(), &request(b"bucket=yonghu-test\n"))
        .expect_err("tampered");
    assert!(
        matches!(err, Error::Verify(VerifyError::SignatureMismatch)),
        "{err}"
    );
}

#[test]
fn a_completion_whose_answer_was_lost_is_recognised() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = client(&emu, creds())
        .bucket("examplebucket")
        .expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lost.bin");
    write_file(&path, 250 * 1024, 29);
    let content = std::fs::read(&path).expect("read");
    let whole = crc64::checksum(&content);
    // One part at a time; once every byte is reported the next request is
    // CompleteMultipartUpload: it takes effect, its answer is lost, the retry
    // finds the upload gone.
    let lose_complete = |options: UploadOptions| {
        let faults = emu.faults().clone();
        options
            .part_size(100 * 1024)
            .parallelism(1)
            .progress(move |done, total| {
                if done == total {
                    faults.lose_response_next(1);
                }
            })
    };
    // Without a callback only OSS's answer is lost: the upload succeeds.
    let output = bucket
        .upload_file(
            "lost/plain.bin",
            &path,
            &lose_complete(UploadOptions::new()),
        )
        .expect("recognised as completed");
    assert_eq!(output.object.crc64, Some(whole));
    assert!(
        output
            .object
            .etag
            .as_deref()
            .is_some_and(|e| e.ends_with("-3\""))
    );
    assert_eq!(output.callback, None);
    // With a callback its answer is gone too: a distinct error, the object stored.
    let options = lose_complete(UploadOptions::new().callback(receiver.callback(BODY)));
    let err = bucket
        .upload_file("lost/callback.bin", &path, &options)
        .expect_err("the callback answer is lost");
    match err.oss() {
        Some(CoreError::CompletionAnswerLost(object)) => assert_eq!(object.crc64, Some(whole)),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("object stored"), "{err}");
    assert_eq!(
        emu.abort_multipart_requests(),
        0,
        "a stored object is never aborted"
    );
    let (_, body) = bucket.get_object("lost/callback.bin").expect("stored");
    assert_eq!(body, content);
}
