//! The scenarios, each a function generic over the [`Transport`]; a
//! transport's tests instantiate them all with [`crate::scenarios!`].

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use osscb_core::crc64;
use osscb_core::ops::PutObject;
use osscb_core::ops::{AbortMultipartUpload, GetObject};
use osscb_core::response::CallbackFailed;
use osscb_core::upload::UploadOptions;
use osscb_core::{Credentials, Error as CoreError, ObjectKey, Region};
use osscb_emulator::{Emulator, EmulatorConfig};

pub use crate::credential_scenarios::*;
use crate::{
    BODY, Receiver, Relay, Settings, Transport, bucket, callback_failed, creds, data, emulator,
    service, write_file,
};

/// Instantiates every scenario as a `#[test]` for transport `$t`.
#[macro_export]
macro_rules! scenarios {
    ($t:ty) => {
        $crate::scenarios!(@each $t;
            put_with_callback_returns_the_answer_and_reads_back,
            put_from_a_64_mib_file_is_streamed_with_its_crc,
            multipart_with_callback_returns_the_answer,
            resume_after_a_crash_skips_finished_parts,
            callback_failure_is_a_203_with_the_stored_object,
            a_failed_upload_without_checkpoint_is_aborted,
            a_checkpoint_whose_upload_is_gone_starts_over,
            a_panic_in_progress_reporting_is_not_hidden,
            retries_through_503_and_a_dropped_connection,
            a_5xx_on_a_part_or_the_completion_and_a_stalled_answer_are_retried,
            crc64_mismatch_is_detected,
            a_failed_download_leaves_the_destination_as_it_was,
            an_object_streams_whole_or_ranged_with_its_crc64_checked_at_the_end,
            a_part_whose_crc64_does_not_match_is_sent_again,
            a_checkpoint_of_other_options_is_aborted_not_resumed,
            a_reset_while_reading_the_answer_is_retried_or_looked_up,
            a_total_timeout_ends_a_call_the_server_holds,
            checkpoint_writes_never_follow_a_planted_tmp_symlink,
            a_wrong_crc64_on_complete_alone_is_detected,
            a_presigned_put_checks_the_crc64,
            sts_tokens_are_sent_and_required,
            traces_name_each_exchange_and_never_a_secret,
            presigned_put_with_callback_runs_through_the_transport,
            from_env_names_the_missing_variable,
            debug_output_never_shows_secrets,
            transport_errors_never_show_presigned_urls,
            verify_callback_in_one_call_with_the_builtin_oss_key,
            a_completion_whose_answer_was_lost_is_recognised,
            a_lost_answer_to_a_put_with_callback_calls_back_once,
            a_lost_answer_to_a_file_put_with_callback_calls_back_once,
            a_lost_answer_to_a_presigned_put_with_callback_calls_back_once,
            a_callback_put_that_was_not_stored_is_resent_forbidding_overwrite,
            a_presigned_callback_put_that_was_not_stored_is_not_resent,
            another_object_at_the_key_is_an_unknown_outcome,
            lost_answers_without_a_callback_are_retried,
            dot_keys_round_trip,
            empty_objects_round_trip,
            v4_put_with_callback_and_multipart,
            v4_presigned_put_with_callback_runs_through_the_transport,
            a_clock_skewed_by_20_minutes_is_corrected_from_the_server_date,
            a_sigkilled_upload_resumes_from_its_checkpoint,
            an_emulator_restart_mid_multipart_is_resumed,
            a_receiver_down_failing_not_json_or_late_is_a_203_never_resent,
            the_ecs_ram_role_signs_uploads_across_credential_expiry,
            assume_role_signs_uploads_with_a_key_or_another_source,
            oidc_and_the_credentials_uri_sign_uploads,
            a_chain_walks_its_sources_in_order,
            the_default_chain_reads_variables_and_profile_files,
            a_reader_of_unknown_length_goes_in_parts_with_its_callback,
            a_reader_within_one_part_is_one_put_with_its_callback,
            a_read_error_mid_stream_aborts_the_upload,
        );
    };
    (@each $t:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::scenarios::$name::<$t>();
            }
        )*
    };
}

fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).expect("read")
}

/// PutObject with a callback: the app server's answer; HEAD, GET, DELETE.
pub fn put_with_callback_returns_the_answer_and_reads_back<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
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
        meta.user_metadata.get("author").map(String::as_str),
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
    assert_eq!(service::<T>(&missing).map(|s| s.status.as_u16()), Some(404));
    assert_eq!(receiver.count(), 1);
}

/// A 64 MiB file is streamed with its CRC-64, downloaded to a file, and
/// refused in memory (over the 16 MiB body limit).
pub fn put_from_a_64_mib_file_is_streamed_with_its_crc<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.bin");
    let len = 64 * 1024 * 1024;
    write_file(&path, len, 7);
    let expected = crc64::checksum(&read(&path));
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
    assert_eq!(crc64::checksum(&read(&out)), expected);
    let too_big = bucket.get_object("big.bin").expect_err("over 16 MiB");
    assert!(
        matches!(T::oss(&too_big), Some(CoreError::ResponseTooLarge { .. })),
        "{too_big}"
    );
}

/// Multipart with a callback: 9 parts, 4 at a time, one callback.
pub fn multipart_with_callback_returns_the_answer<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
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
    assert_eq!(body, read(&path));
    assert_eq!(receiver.count(), 1, "one callback, on completion");
}

/// A crashed run keeps its checkpoint; the rerun sends only the missing parts.
pub fn resume_after_a_crash_skips_finished_parts<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
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
        service::<T>(&crash).map(|s| s.status.as_u16()),
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
    let expected = crc64::checksum(&read(&path));
    assert_eq!(output.object.crc64, Some(expected));
    let (_, body) = bucket.get_object("resume.bin").expect("get");
    assert_eq!(crc64::checksum(&body), expected);
}

/// A 203 is an error carrying the stored object; never retried, never aborted.
pub fn callback_failure_is_a_203_with_the_stored_object<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    receiver.answer_with(500);
    let bucket = bucket::<T>(&emu);
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
    let failed = callback_failed::<T>(&err).expect("callback failure");
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
    let failed = callback_failed::<T>(&err).expect("callback failure");
    assert_eq!(failed.object.crc64, Some(crc64::checksum(&read(&path))));
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

/// Without a checkpoint, a failed upload is aborted, freeing its parts.
pub fn a_failed_upload_without_checkpoint_is_aborted<T: Transport>() {
    let emu = Arc::new(emulator());
    let bucket = bucket::<T>(&emu);
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
    assert_eq!(
        service::<T>(&err).map(|s| s.status.as_u16()),
        Some(400),
        "{err}"
    );
    let ids = ids.lock().expect("lock").clone();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(emu.abort_multipart_requests(), 1);
    assert!(emu.multipart_uploads().is_empty());
    // Aborting it again: OSS no longer knows the upload.
    let abort = AbortMultipartUpload::new(
        bucket.name().clone(),
        "aborted.bin".parse().expect("key"),
        &ids[0],
    );
    let gone = bucket.send(&abort).expect_err("aborted");
    assert_eq!(
        service::<T>(&gone).map(|s| s.code.as_str()),
        Some("NoSuchUpload")
    );
}

/// A checkpoint whose upload was aborted meanwhile: a new upload, every part again.
pub fn a_checkpoint_whose_upload_is_gone_starts_over<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
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
    // The checkpoint is the core's JSON; a test may peek at it.
    let saved: serde_json::Value = serde_json::from_slice(&read(&checkpoint)).expect("checkpoint");
    assert_eq!(saved["parts"].as_array().map(Vec::len), Some(1));
    let upload_id = saved["upload_id"].as_str().expect("upload id");
    let key: ObjectKey = "gone.bin".parse().expect("key");
    let abort = AbortMultipartUpload::new(bucket.name().clone(), key, upload_id);
    bucket.send(&abort).expect("abort");

    let output = bucket
        .upload_file("gone.bin", &path, &options)
        .expect("a new upload");
    let bytes = read(&path);
    assert_eq!(output.object.crc64, Some(crc64::checksum(&bytes)));
    assert_eq!(emu.upload_part_requests(), 1 + 3, "every part again");
    assert!(!checkpoint.exists(), "removed once complete");
    assert!(emu.multipart_uploads().is_empty());
    let (_, body) = bucket.get_object("gone.bin").expect("get");
    assert_eq!(body, bytes);
}

/// A panic in the progress callback reaches the caller.
pub fn a_panic_in_progress_reporting_is_not_hidden<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("panic.bin");
    write_file(&path, 300 * 1024, 19);
    let options = UploadOptions::new()
        .part_size(100 * 1024)
        .parallelism(2)
        .progress(|done, _| assert!(done == 0, "progress exploded"));
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        bucket.upload_file("panic.bin", &path, &options)
    }));
    let panic = outcome.expect_err("the panic goes on");
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()));
    assert_eq!(message.as_deref(), Some("progress exploded"));
}

/// 503s and dropped connections are retried; 4xx and exhausted attempts surface.
pub fn retries_through_503_and_a_dropped_connection<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
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
        service::<T>(&err).map(|s| s.status.as_u16()),
        Some(503),
        "{err:?}"
    );
    emu.faults().fail_next(1, 403);
    let seen = emu.faults().requests_seen();
    let err = bucket
        .put_object("retry/no.bin", &bytes, &UploadOptions::new())
        .expect_err("403");
    assert_eq!(service::<T>(&err).map(|s| s.status.as_u16()), Some(403));
    assert_eq!(emu.faults().requests_seen() - seen, 1);
}

/// A wrong CRC-64 in OSS's answer to a PutObject; to every attempt of an
/// UploadPart.
pub fn crc64_mismatch_is_detected<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
    emu.faults().corrupt_crc64_next(1);
    let err = bucket
        .put_object("crc.bin", b"hello", &UploadOptions::new())
        .expect_err("mismatch");
    match T::oss(&err) {
        Some(CoreError::Crc64Mismatch { computed, reported }) => {
            assert_eq!(*computed, crc64::checksum(b"hello"));
            assert_ne!(computed, reported);
        }
        other => panic!("{other:?}"),
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.bin");
    write_file(&path, 250 * 1024, 9);
    // One part at a time: the first part's three attempts all mismatch.
    emu.faults().corrupt_crc64_next(3);
    let err = bucket
        .upload_file(
            "crc-multi.bin",
            &path,
            &UploadOptions::new().part_size(100 * 1024).parallelism(1),
        )
        .expect_err("mismatch");
    assert_eq!(emu.upload_part_requests(), 3, "three attempts of part 1");
    assert!(
        matches!(T::oss(&err), Some(CoreError::Crc64Mismatch { .. })),
        "{err}"
    );
}

/// A wrong CRC-64 in the answer to one UploadPart: that part is sent again,
/// and the upload completes.
pub fn a_part_whose_crc64_does_not_match_is_sent_again<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("again.bin");
    write_file(&path, 250 * 1024, 31);
    emu.faults().corrupt_crc64_next(1);
    let output = bucket
        .upload_file(
            "crc-again.bin",
            &path,
            &UploadOptions::new().part_size(100 * 1024).parallelism(1),
        )
        .expect("the part is sent again");
    assert_eq!(emu.upload_part_requests(), 4, "3 parts, one of them twice");
    let whole = crc64::checksum(&read(&path));
    assert_eq!(output.object.crc64, Some(whole));
    let (_, body) = bucket.get_object("crc-again.bin").expect("get");
    assert_eq!(crc64::checksum(&body), whole);
}

/// A checkpoint saved by a run with other write options (content type,
/// metadata) is not resumed: its upload is aborted, and a new one starts
/// with the options given now.
pub fn a_checkpoint_of_other_options_is_aborted_not_resumed<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("options.bin");
    write_file(&path, 3 * 100 * 1024, 37);
    let checkpoint = dir.path().join("options.checkpoint");
    let first = UploadOptions::new()
        .part_size(100 * 1024)
        .parallelism(1)
        .checkpoint(&checkpoint);
    // Requests: 1 initiate, 2 part 1, 3 = part 2 refused (4xx: not retried).
    emu.faults().fail_nth(3, 400);
    bucket
        .upload_file("options.bin", &path, &first)
        .expect_err("crash");
    assert!(checkpoint.exists(), "kept for the rerun");
    assert_eq!(emu.multipart_uploads().len(), 1);
    let second = first.clone().content_type("text/csv").metadata("run", "2");
    let output = bucket
        .upload_file("options.bin", &path, &second)
        .expect("a new upload");
    assert_eq!(emu.abort_multipart_requests(), 1, "the old upload aborted");
    assert!(emu.multipart_uploads().is_empty(), "no upload left behind");
    assert_eq!(emu.upload_part_requests(), 1 + 3, "every part sent again");
    assert!(!checkpoint.exists());
    assert_eq!(output.object.crc64, Some(crc64::checksum(&read(&path))));
    let head = bucket.head_object("options.bin").expect("head");
    assert_eq!(head.content_type.as_deref(), Some("text/csv"));
    assert_eq!(head.user_metadata.get("run").map(String::as_str), Some("2"));
}

/// The connection resets while the answer's body is read, after OSS carried
/// the request out: a GET is sent again; a PUT with a callback is looked up
/// (one callback, [`CoreError::AnswerLost`]), never resent.
pub fn a_reset_while_reading_the_answer_is_retried_or_looked_up<T: Transport>() {
    let emu = emulator();
    let relay = Relay::start(&emu);
    let receiver = Receiver::start(&emu);
    let settings = Settings {
        endpoint: relay.endpoint.clone(),
        ..Settings::new(&emu, creds())
    };
    let bucket = T::build(settings).expect("client");
    let content = data(64 * 1024, 41);
    bucket
        .put_object("cut/plain.bin", &content, &UploadOptions::new())
        .expect("put");
    relay.cut_next(1);
    let seen = emu.faults().requests_seen();
    let (_, body) = bucket.get_object("cut/plain.bin").expect("sent again");
    assert_eq!(body, content);
    assert_eq!(emu.faults().requests_seen() - seen, 2, "GET, GET");

    relay.cut_next(1);
    let seen = emu.faults().requests_seen();
    let options = UploadOptions::new().callback(receiver.callback(BODY));
    let err = bucket
        .put_object("cut/callback.bin", &content, &options)
        .expect_err("the answer is lost");
    assert_answer_lost::<T>(&err, &content);
    assert_eq!(emu.faults().requests_seen() - seen, 2, "PUT, HEAD");
    assert_eq!(receiver.count(), 1, "exactly one callback");
}

/// A 503 on a part and a 500 on the completion are retried, and so is an
/// answer stalled past the read timeout; the stored bytes and CRC-64 are the
/// source's.
pub fn a_5xx_on_a_part_or_the_completion_and_a_stalled_answer_are_retried<T: Transport>() {
    let emu = emulator();
    let settings = Settings {
        io_timeout: Duration::from_millis(300),
        ..Settings::new(&emu, creds())
    };
    let bucket = T::build(settings).expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("parts.bin");
    write_file(&path, 250 * 1024, 6);
    let content = read(&path);
    // Initiate (1), part 1 refused (2) and sent again (3), parts 2 and 3 (4,
    // 5), completion refused (6) and sent again (7).
    emu.faults().fail_nth(2, 503);
    emu.faults().fail_nth(6, 500);
    let seen = emu.faults().requests_seen();
    let options = UploadOptions::new().part_size(100 * 1024).parallelism(1);
    let output = bucket
        .upload_file("retry/parts.bin", &path, &options)
        .expect("retried");
    assert_eq!(emu.faults().requests_seen() - seen, 7);
    assert_eq!(output.object.crc64, Some(crc64::checksum(&content)));
    emu.faults().delay_next(1, Duration::from_millis(1500));
    let seen = emu.faults().requests_seen();
    let (got, body) = bucket
        .get_object("retry/parts.bin")
        .expect("retried after the stall");
    assert_eq!(
        emu.faults().requests_seen() - seen,
        2,
        "the stalled GET and its retry"
    );
    assert_eq!(body, content);
    assert_eq!(got.metadata.object.crc64, Some(crc64::checksum(&content)));
}

/// A server that holds a call (here: answers late; the same for one that
/// trickles bytes within the I/O timeout) is given up on at the call's
/// total timeout, with [`CoreError::Timeout`].
pub fn a_total_timeout_ends_a_call_the_server_holds<T: Transport>() {
    let emu = emulator();
    let limit = Duration::from_millis(500);
    let settings = Settings {
        retry: osscb_core::retry::RetryPolicy {
            total_timeout: Some(limit),
            ..crate::fast_retries()
        },
        ..Settings::new(&emu, creds())
    };
    let bucket = T::build(settings).expect("client");
    bucket
        .put_object("slow.txt", b"slow", &UploadOptions::new())
        .expect("put");
    emu.faults().delay_next(1, Duration::from_secs(4));
    let started = std::time::Instant::now();
    let err = bucket.head_object("slow.txt").expect_err("timed out");
    let took = started.elapsed();
    match T::oss(&err) {
        Some(CoreError::Timeout { limit: l }) => assert_eq!(*l, limit),
        other => panic!("{other:?}: {err}"),
    }
    assert!(took >= limit, "{took:?}");
    assert!(
        took < Duration::from_secs(3),
        "{took:?}: not the 4 s answer"
    );
    // Within the limit, calls succeed as before.
    bucket.head_object("slow.txt").expect("head");
}

/// A symlink planted at `<checkpoint>.tmp` (the name checkpoint writes
/// used to go through) is never followed: the file it points to is left
/// alone, and the checkpoint is a regular file of the owner's only.
pub fn checkpoint_writes_never_follow_a_planted_tmp_symlink<T: Transport>() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;

        let emu = emulator();
        let bucket = bucket::<T>(&emu);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("planted.bin");
        write_file(&path, 3 * 100 * 1024, 43);
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").expect("victim");
        let checkpoint = dir.path().join("planted.checkpoint");
        let mut tmp = checkpoint.as_os_str().to_owned();
        tmp.push(".tmp");
        std::os::unix::fs::symlink(&victim, &tmp).expect("symlink");
        let options = UploadOptions::new()
            .part_size(100 * 1024)
            .parallelism(1)
            .checkpoint(&checkpoint);
        // Requests: 1 initiate, 2 part 1, 3 = part 2 refused: the
        // checkpoint is written and kept.
        emu.faults().fail_nth(3, 400);
        bucket
            .upload_file("planted.bin", &path, &options)
            .expect_err("crash");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"keep");
        let meta = std::fs::symlink_metadata(&checkpoint).expect("checkpoint");
        assert!(meta.file_type().is_file(), "{meta:?}");
        assert_eq!(meta.permissions().mode() & 0o077, 0, "{meta:?}");
        bucket
            .upload_file("planted.bin", &path, &options)
            .expect("resumed");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"keep");
        assert!(!checkpoint.exists());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left.len(), 3, "no temporary file left behind: {left:?}");
    }
}

/// A wrong CRC-64 in the answer to CompleteMultipartUpload alone.
pub fn a_wrong_crc64_on_complete_alone_is_detected<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("complete.bin");
    write_file(&path, 250 * 1024, 23);
    let whole = crc64::checksum(&read(&path));
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
    match T::oss(&err) {
        Some(CoreError::Crc64Mismatch { computed, reported }) => {
            assert_eq!(*computed, whole);
            assert_ne!(*reported, whole);
        }
        other => panic!("{other:?}"),
    }
}

fn presigned_put<T: Transport>(
    bucket: &T,
    key: &str,
    callback: Option<osscb_core::callback::Callback>,
) -> (PutObject, osscb_core::PresignedRequest) {
    let key: ObjectKey = key.parse().expect("key");
    let mut op = PutObject::new(bucket.name().clone(), key).content_type("text/plain");
    if let Some(callback) = callback {
        op = op.callback(callback);
    }
    let presigned = bucket
        .presign(&op, Duration::from_secs(300))
        .expect("presign");
    (op, presigned)
}

/// A download whose CRC-64 does not match leaves the destination as it was
/// and no temporary file behind; a good one replaces it.
pub fn a_failed_download_leaves_the_destination_as_it_was<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
    let content = data(300 * 1024, 4);
    bucket
        .put_object("download.bin", &content, &UploadOptions::new())
        .expect("put");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("download.bin");
    std::fs::write(&path, b"the old bytes").expect("write");
    let listing = || {
        let names = std::fs::read_dir(dir.path()).expect("dir").flatten();
        names.map(|e| e.file_name()).collect::<Vec<_>>()
    };
    emu.faults().corrupt_body_next(1);
    let err = bucket
        .get_object_to_file("download.bin", &path)
        .expect_err("mismatch");
    assert!(
        matches!(T::oss(&err), Some(CoreError::Crc64Mismatch { .. })),
        "{err}"
    );
    assert_eq!(read(&path), b"the old bytes");
    assert_eq!(listing(), ["download.bin"]);
    bucket
        .get_object_to_file("download.bin", &path)
        .expect("download");
    assert_eq!(read(&path), content);
    assert_eq!(listing(), ["download.bin"]);
    emu.faults().corrupt_body_next(1);
    let err = bucket
        .get_object("download.bin")
        .expect_err("mismatch in memory too");
    assert!(
        matches!(T::oss(&err), Some(CoreError::Crc64Mismatch { .. })),
        "{err}"
    );
}

/// An object read as it arrives (no size cap), whole or ranged; a body whose
/// CRC-64 does not match is an error at the end of the read.
pub fn an_object_streams_whole_or_ranged_with_its_crc64_checked_at_the_end<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
    let content = data(20 * 1024 * 1024 + 3, 11);
    bucket
        .put_object("stream.bin", &content, &UploadOptions::new())
        .expect("put");
    let op = || GetObject::new(bucket.name().clone(), "stream.bin".parse().expect("key"));
    let (output, body) = bucket.read_object(op()).expect("read");
    assert_eq!(body.len(), content.len(), "over the 16 MiB in-memory cap");
    assert!(body == content);
    assert_eq!(
        output.metadata.object.crc64,
        Some(crc64::checksum(&content))
    );
    let (output, body) = bucket.read_object(op().range(10..20)).expect("range");
    assert_eq!(body, &content[10..20]);
    assert!(output.content_range.is_some());
    emu.faults().corrupt_body_next(1);
    let err = bucket.read_object(op()).expect_err("mismatch");
    assert!(
        matches!(T::oss(&err), Some(CoreError::Crc64Mismatch { .. })),
        "{err}"
    );
    let missing = GetObject::new(bucket.name().clone(), "missing".parse().expect("key"));
    let err = bucket.read_object(missing).expect_err("missing");
    assert!(T::oss(&err).is_some_and(CoreError::is_not_found), "{err}");
}

/// A presigned PUT's answer is checked against the CRC-64 of the body sent.
pub fn a_presigned_put_checks_the_crc64<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
    let (op, presigned) = presigned_put(&bucket, "presigned/crc.txt", None);
    emu.faults().corrupt_crc64_next(1);
    let err = bucket
        .send_presigned(&op, &presigned, b"checked")
        .expect_err("mismatch");
    match T::oss(&err) {
        Some(CoreError::Crc64Mismatch { computed, reported }) => {
            assert_eq!(*computed, crc64::checksum(b"checked"));
            assert_ne!(computed, reported);
        }
        other => panic!("{other:?}"),
    }
    let output = bucket
        .send_presigned(&op, &presigned, b"checked")
        .expect("put");
    assert_eq!(output.object.crc64, Some(crc64::checksum(b"checked")));
}

/// STS: the token is sent, and required.
pub fn sts_tokens_are_sent_and_required<T: Transport>() {
    let emu =
        Emulator::start(EmulatorConfig::new("sts-id", "sts-secret").security_token("tok/en+1"))
            .expect("emulator");
    let good = Credentials::new("sts-id", "sts-secret").with_security_token("tok/en+1");
    let bucket = T::build(Settings::new(&emu, good)).expect("client");
    bucket
        .put_object("sts.txt", b"temporary", &UploadOptions::new())
        .expect("put with token");
    let bad = Credentials::new("sts-id", "sts-secret");
    let bad = T::build(Settings::new(&emu, bad)).expect("client");
    let err = bad.head_object("sts.txt").expect_err("no token");
    assert_eq!(service::<T>(&err).map(|s| s.status.as_u16()), Some(403));
}

/// Everything a transport and the core trace, captured at TRACE.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An upload with STS credentials and a callback, a presigned PUT and a
/// download, traced at TRACE (this process's only global subscriber): the
/// events name each exchange and its answer, and no secret, token or
/// signature appears.
pub fn traces_name_each_exchange_and_never_a_secret<T: Transport>() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
    let (secret, token) = ("traced-secret-9Q", "traced/token+7Z");
    let emu = Emulator::start(EmulatorConfig::new("traced-id", secret).security_token(token))
        .expect("emulator");
    let receiver = Receiver::start(&emu);
    let credentials = Credentials::new("traced-id", secret).with_security_token(token);
    let bucket = T::build(Settings::new(&emu, credentials)).expect("client");
    let options = UploadOptions::new().callback(receiver.callback(BODY));
    bucket
        .put_object("traced/put.txt", b"traced", &options)
        .expect("put");
    let (op, presigned) = presigned_put(&bucket, "traced/presigned.txt", None);
    bucket
        .send_presigned(&op, &presigned, b"presigned")
        .expect("presigned put");
    bucket.get_object("traced/put.txt").expect("get");
    let log = String::from_utf8_lossy(&capture.0.lock().expect("log")).into_owned();
    for needed in [
        "osscb.send",
        "osscb: answer",
        "traced/put.txt",
        "request_id=",
        "status=200",
    ] {
        assert!(log.contains(needed), "{needed} missing from:\n{log}");
    }
    let encoded_token = "traced%2Ftoken%2B7Z";
    for secret in [
        secret,
        token,
        encoded_token,
        "Signature",
        "signature=",
        "OSS traced-id:",
    ] {
        assert!(!log.contains(secret), "{secret} in:\n{log}");
    }
}

/// A presigned PUT carrying a callback in its URL.
pub fn presigned_put_with_callback_runs_through_the_transport<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
    let (op, presigned) =
        presigned_put(&bucket, "presigned/put.txt", Some(receiver.callback(BODY)));
    assert!(
        presigned
            .url
            .query()
            .unwrap_or_default()
            .contains("callback=")
    );
    let output = bucket
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

/// `from_env` names the first missing variable.
pub fn from_env_names_the_missing_variable<T: Transport>() {
    // Only this test touches these variables in this process.
    for name in [
        "OSS_ENDPOINT",
        "OSS_REGION",
        "OSS_ACCESS_KEY_ID",
        "OSS_ACCESS_KEY_SECRET",
    ] {
        if std::env::var_os(name).is_some() {
            return; // a real configuration is present; leave it alone
        }
    }
    let err = T::from_env().expect_err("no variables");
    assert_eq!(T::missing_env(&err), Some("OSS_ENDPOINT"), "{err}");
    assert_eq!(
        err.to_string(),
        "environment variable OSS_ENDPOINT is not set"
    );
}

/// Debug output shows the key id, never the secret or the token.
pub fn debug_output_never_shows_secrets<T: Transport>() {
    let settings = Settings {
        endpoint: "oss-cn-hangzhou.aliyuncs.com".to_owned(),
        credentials: Credentials::new("LTAIvisible", "s3cr3t-VALUE")
            .with_security_token("t0ken-VALUE")
            .into(),
        ..Settings::new(&emulator(), creds())
    };
    let bucket = T::build(settings).expect("client");
    for text in [format!("{bucket:?}"), format!("{bucket:#?}")] {
        assert!(text.contains("LTAIvisible"), "{text}");
        assert!(
            !text.contains("s3cr3t-VALUE") && !text.contains("t0ken-VALUE"),
            "{text}"
        );
    }
}

/// A transport error never shows a presigned URL's signature or STS token:
/// not in its `Display`, its `Debug`, nor anywhere along its `source()` chain.
pub fn transport_errors_never_show_presigned_urls<T: Transport>() {
    let emu =
        Emulator::start(EmulatorConfig::new("sts-id", "sts-secret").security_token("t0ken-VALUE"))
            .expect("emulator");
    let credentials = Credentials::new("sts-id", "sts-secret").with_security_token("t0ken-VALUE");
    let bucket = T::build(Settings::new(&emu, credentials)).expect("client");
    let (op, presigned) = presigned_put(&bucket, "leak/check.txt", None);
    let url = presigned.url.to_string();
    let signature = url
        .split("Signature=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap_or_default()
        .to_owned();
    assert!(signature.len() > 10, "{url}");
    let decoded = signature
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    emu.shutdown();
    let err = bucket
        .send_presigned(&op, &presigned, b"nobody listens")
        .expect_err("the emulator is gone");
    let mut texts = vec![err.to_string(), format!("{err:?}")];
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        texts.extend([inner.to_string(), format!("{inner:?}")]);
        source = inner.source();
    }
    assert!(texts.len() > 2, "a transport error has a source: {texts:?}");
    for text in texts {
        for secret in [
            signature.as_str(),
            decoded.as_str(),
            "t0ken-VALUE",
            "sts-secret",
        ] {
            assert!(!text.contains(secret), "{secret} shows in {text}");
        }
    }
}

/// `verify_callback` with OSS's built-in key (the Callback API page's example, signed by OSS).
pub fn verify_callback_in_one_call_with_the_builtin_oss_key<T: Transport>() {
    use osscb_core::http;
    use osscb_core::verify::{Verifier, VerifyError};
    let request = |body: &'static [u8]| {
        http::Request::post("/index.php?id=1&index=2")
            .header("authorization", "kKQeGTRccDKyHB3H9vF+xYMSrmhMZjzzl2/kdD1ktNVgbWEfYTQG0G2SU/RaHBovRCE8OkQDjC3uG33esH2txA==")
            .header("x-oss-pub-key-url", "aHR0cDovL2dvc3NwdWJsaWMuYWxpY2RuLmNvbS9jYWxsYmFja19wdWJfa2V5X3YxLnBlbQ==")
            .body(body.to_vec())
            .expect("request")
    };
    let verified =
        T::verify_callback(&Verifier::new(), &request(b"bucket=yonghu-test")).expect("verified");
    assert_eq!(verified.variables()["bucket"], "yonghu-test");
    let err = T::verify_callback(&Verifier::new(), &request(b"bucket=yonghu-test\n"))
        .expect_err("tampered");
    assert!(
        matches!(T::verify_error(&err), Some(VerifyError::SignatureMismatch)),
        "{err}"
    );
}

/// Options that lose the answer to CompleteMultipartUpload: one part at a
/// time; once every byte is reported the next request is the completion.
fn lose_complete(emu: &Emulator, options: UploadOptions) -> UploadOptions {
    let faults = emu.faults().clone();
    options
        .part_size(100 * 1024)
        .parallelism(1)
        .progress(move |done, total| {
            if done == total {
                faults.lose_response_next(1);
            }
        })
}

/// CompleteMultipartUpload takes effect and its answer is lost: without a
/// callback the upload succeeds; with one, exactly one callback and
/// [`CoreError::AnswerLost`].
pub fn a_completion_whose_answer_was_lost_is_recognised<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lost.bin");
    write_file(&path, 250 * 1024, 29);
    let content = read(&path);
    let whole = crc64::checksum(&content);
    let output = bucket
        .upload_file(
            "lost/plain.bin",
            &path,
            &lose_complete(&emu, UploadOptions::new()),
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
    let options = lose_complete(&emu, UploadOptions::new().callback(receiver.callback(BODY)));
    let err = bucket
        .upload_file("lost/callback.bin", &path, &options)
        .expect_err("the callback answer is lost");
    match T::oss(&err) {
        Some(CoreError::AnswerLost(object)) => assert_eq!(object.crc64, Some(whole)),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("object was stored"), "{err}");
    assert_eq!(receiver.count(), 1, "exactly one callback");
    assert_eq!(
        emu.abort_multipart_requests(),
        0,
        "a stored object is never aborted"
    );
    let (_, body) = bucket.get_object("lost/callback.bin").expect("stored");
    assert_eq!(body, content);
}

/// Asserts the typed outcome of a lost answer to a callback write of `bytes`.
fn assert_answer_lost<T: Transport>(err: &T::Error, bytes: &[u8]) {
    match T::oss(err) {
        Some(CoreError::AnswerLost(object)) => {
            assert_eq!(object.crc64, Some(crc64::checksum(bytes)));
            assert!(object.etag.is_some());
            assert!(object.request_id.is_some());
        }
        other => panic!("{other:?}"),
    }
}

/// PutObject from bytes with a callback: OSS stores it and calls back, the
/// answer is lost. One callback, [`CoreError::AnswerLost`], not resent.
pub fn a_lost_answer_to_a_put_with_callback_calls_back_once<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
    let bytes = data(300_000, 31);
    let options = UploadOptions::new().callback(receiver.callback(BODY));
    emu.faults().lose_response_next(1);
    let seen = emu.faults().requests_seen();
    let err = bucket
        .put_object("lost/put.bin", &bytes, &options)
        .expect_err("answer lost");
    assert_answer_lost::<T>(&err, &bytes);
    assert_eq!(receiver.count(), 1, "exactly one callback");
    assert_eq!(emu.faults().requests_seen() - seen, 2, "the PUT, one HEAD");
    let (_, body) = bucket.get_object("lost/put.bin").expect("stored");
    assert_eq!(body, bytes);
}

/// As above, from a file.
pub fn a_lost_answer_to_a_file_put_with_callback_calls_back_once<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lost.bin");
    write_file(&path, 400_000, 37);
    let options = UploadOptions::new().callback(receiver.callback(BODY));
    emu.faults().lose_response_next(1);
    let err = bucket
        .put_object_from_file("lost/file.bin", &path, &options)
        .expect_err("answer lost");
    assert_answer_lost::<T>(&err, &read(&path));
    assert_eq!(receiver.count(), 1, "exactly one callback");
}

/// As above, a presigned PUT with a callback in its URL.
pub fn a_lost_answer_to_a_presigned_put_with_callback_calls_back_once<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
    let (op, presigned) =
        presigned_put(&bucket, "lost/presigned.txt", Some(receiver.callback(BODY)));
    emu.faults().lose_response_next(1);
    let err = bucket
        .send_presigned(&op, &presigned, b"via a URL, answer lost")
        .expect_err("answer lost");
    assert_answer_lost::<T>(&err, b"via a URL, answer lost");
    assert_eq!(receiver.count(), 1, "exactly one callback");
}

/// The connection drops after the body went out but before OSS acted: HEAD
/// finds nothing, and the PUT is sent again with `x-oss-forbid-overwrite`.
pub fn a_callback_put_that_was_not_stored_is_resent_forbidding_overwrite<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
    let options = UploadOptions::new().callback(receiver.callback(BODY));
    // A small body goes out whole before the emulator drops the connection.
    emu.faults().drop_next(1);
    let seen = emu.faults().requests_seen();
    let output = bucket
        .put_object("resent/put.txt", b"small", &options)
        .expect("resent");
    assert!(output.callback.is_some());
    assert_eq!(receiver.count(), 1, "exactly one callback");
    assert_eq!(emu.faults().requests_seen() - seen, 3, "PUT, HEAD, PUT");
    // The resend forbids overwriting: a second resend would meet the object.
    let again = bucket
        .put_object("resent/put.txt", b"small", &options)
        .expect("a fresh call may overwrite");
    assert!(again.callback.is_some());
}

/// A presigned PUT cannot gain `x-oss-forbid-overwrite`: not stored, not resent.
pub fn a_presigned_callback_put_that_was_not_stored_is_not_resent<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
    let (op, presigned) = presigned_put(
        &bucket,
        "unknown/presigned.txt",
        Some(receiver.callback(BODY)),
    );
    emu.faults().drop_next(1);
    let err = bucket
        .send_presigned(&op, &presigned, b"small")
        .expect_err("unknown");
    assert!(
        matches!(
            T::oss(&err),
            Some(CoreError::OutcomeUnknown { found: None, .. })
        ),
        "{err}"
    );
    assert_eq!(receiver.count(), 0);
}

/// After an ambiguous failure another object is at the key: not resent.
pub fn another_object_at_the_key_is_an_unknown_outcome<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
    bucket
        .put_object("taken.txt", b"someone else's", &UploadOptions::new())
        .expect("put");
    let options = UploadOptions::new().callback(receiver.callback(BODY));
    emu.faults().drop_next(1);
    let err = bucket
        .put_object("taken.txt", b"mine", &options)
        .expect_err("unknown");
    match T::oss(&err) {
        Some(CoreError::OutcomeUnknown {
            found: Some(found), ..
        }) => {
            assert_eq!(found.crc64, Some(crc64::checksum(b"someone else's")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(receiver.count(), 0);
}

/// Without a callback a lost answer is retried: success, the object intact.
pub fn lost_answers_without_a_callback_are_retried<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
    let options = UploadOptions::new();
    let bytes = data(300_000, 41);
    emu.faults().lose_response_next(1);
    let output = bucket
        .put_object("plain/put.bin", &bytes, &options)
        .expect("retried");
    assert_eq!(output.object.crc64, Some(crc64::checksum(&bytes)));
    let (_, body) = bucket.get_object("plain/put.bin").expect("get");
    assert_eq!(body, bytes);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plain.bin");
    write_file(&path, 250 * 1024, 43);
    let content = read(&path);
    emu.faults().lose_response_next(1);
    let output = bucket
        .put_object_from_file("plain/file.bin", &path, &options)
        .expect("retried");
    assert_eq!(output.object.crc64, Some(crc64::checksum(&content)));
    let (_, body) = bucket.get_object("plain/file.bin").expect("get");
    assert_eq!(body, content);

    let (op, presigned) = presigned_put(&bucket, "plain/presigned.txt", None);
    emu.faults().lose_response_next(1);
    let output = bucket
        .send_presigned(&op, &presigned, b"presigned")
        .expect("retried");
    assert_eq!(output.object.crc64, Some(crc64::checksum(b"presigned")));

    let output = bucket
        .upload_file("plain/multi.bin", &path, &lose_complete(&emu, options))
        .expect("recognised");
    assert_eq!(output.object.crc64, Some(crc64::checksum(&content)));
    let (_, body) = bucket.get_object("plain/multi.bin").expect("get");
    assert_eq!(body, content);
}

/// Empty bodies: from bytes, from a file, and a multipart upload of one empty part.
pub fn empty_objects_round_trip<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
    let options = UploadOptions::new().callback(receiver.callback(BODY));
    let output = bucket
        .put_object("empty/bytes", b"", &options)
        .expect("put");
    assert!(output.callback.expect("answer").text().contains("size=0"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.bin");
    std::fs::write(&path, b"").expect("write");
    bucket
        .put_object_from_file("empty/file", &path, &options)
        .expect("put file");
    let output = bucket
        .upload_file("empty/multi", &path, &options)
        .expect("multipart");
    assert_eq!(output.object.crc64, Some(0));
    for key in ["empty/bytes", "empty/file", "empty/multi"] {
        let (_, body) = bucket.get_object(key).expect("get");
        assert!(body.is_empty(), "{key}");
    }
    assert_eq!(receiver.count(), 3);
}

/// Keys with `.` and `..` segments are written to exactly that key, never
/// to the key a URL normaliser would make of them.
pub fn dot_keys_round_trip<T: Transport>() {
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
    for key in ["a/../b", "a/./c", "..", "x/..", "./x"] {
        let body = format!("key {key}");
        bucket
            .put_object(key, body.as_bytes(), &UploadOptions::new())
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        let (_, got) = bucket
            .get_object(key)
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(got, body.as_bytes(), "{key}");
        let meta = bucket.head_object(key).expect("head");
        assert_eq!(meta.content_length, Some(body.len() as u64), "{key}");
    }
    assert!(bucket.head_object("b").is_err(), "a/../b is not b");
    assert!(bucket.head_object("a/c").is_err(), "a/./c is not a/c");
}

/// Signature V4: PutObject with a callback and a multipart upload.
pub fn v4_put_with_callback_and_multipart<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let v4 = |secret: &str| {
        let settings = Settings::new(&emu, Credentials::new(crate::ID, secret));
        T::build(settings.region("cn-hangzhou")).expect("client")
    };
    let bucket = v4(crate::SECRET);
    assert_eq!(
        bucket.config().region().map(Region::as_str),
        Some("cn-hangzhou"),
        "signed with V4"
    );
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
    assert_eq!(body, read(&path));

    // The signature on the wire is V4: the emulator's StringToSign says so.
    let err = v4("wrong-secret")
        .head_object("v4/put.txt")
        .expect_err("bad secret");
    let sts = service::<T>(&err)
        .and_then(|s| s.string_to_sign.clone())
        .unwrap_or_default();
    assert!(sts.starts_with("OSS4-HMAC-SHA256\n"), "{err}: {sts:?}");

    let bad = T::build(Settings::new(&emu, crate::creds()).region("oss-cn-hangzhou"));
    assert!(bad.is_err(), "the oss- prefix is not part of a region");
}

/// Signature V4: a presigned PUT with a callback.
pub fn v4_presigned_put_with_callback_runs_through_the_transport<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket =
        T::build(Settings::new(&emu, crate::creds()).region("cn-hangzhou")).expect("client");
    let (op, presigned) = presigned_put(&bucket, "v4/presigned.txt", Some(receiver.callback(BODY)));
    let query = presigned.url.query().unwrap_or_default().to_owned();
    assert!(
        query.contains("x-oss-signature-version=OSS4-HMAC-SHA256"),
        "{query}"
    );
    assert!(query.contains("callback="), "{query}");
    let output = bucket
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

/// The bytes and CRC-64 stored at `key` equal `path`'s.
fn assert_stored<T: Transport>(bucket: &T, key: &str, path: &std::path::Path) {
    let source = read(path);
    let meta = bucket.head_object(key).expect("head");
    assert_eq!(meta.object.crc64, Some(crc64::checksum(&source)), "{key}");
    let (_, body) = bucket.get_object(key).expect("get");
    assert_eq!(crc64::checksum(&body), crc64::checksum(&source), "{key}");
    assert!(body == source, "{key}: the stored bytes differ");
}

/// OSS refuses a request time 20 minutes off (403 `RequestTimeTooSkewed`,
/// V1 and V4, the emulator's clock ahead or behind): the client sets its
/// clock by the answer's `Date`, sends the write once more, and signs the
/// rest of a multipart upload at the corrected time.
pub fn a_clock_skewed_by_20_minutes_is_corrected_from_the_server_date<T: Transport>() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("skew.bin");
    write_file(&path, 300 * 1024, 17);
    for (region, ahead) in [
        (None, true),
        (None, false),
        (Some("cn-hangzhou"), true),
        (Some("cn-hangzhou"), false),
    ] {
        let emu = emulator();
        let receiver = Receiver::start(&emu);
        let mut settings = Settings::new(&emu, creds());
        if let Some(region) = region {
            settings = settings.region(region);
        }
        let bucket = T::build(settings).expect("client");
        emu.faults().skew_clock(Duration::from_secs(20 * 60), ahead);
        let case = format!("region {region:?}, server ahead: {ahead}");

        let options = UploadOptions::new().callback(receiver.callback(BODY));
        let seen = emu.faults().requests_seen();
        let output = bucket
            .put_object("skew/put.txt", b"signed at the server's time", &options)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(
            emu.faults().requests_seen() - seen,
            2,
            "{case}: refused, sent once more"
        );
        assert!(output.callback.is_some(), "{case}");
        assert_eq!(receiver.count(), 1, "{case}: one callback");

        let options = UploadOptions::new().part_size(100 * 1024).parallelism(1);
        let seen = emu.faults().requests_seen();
        let output = bucket
            .upload_file("skew/multi.bin", &path, &options)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(
            emu.faults().requests_seen() - seen,
            6,
            "{case}: initiate refused and sent again; 3 parts and completion signed at the corrected time"
        );
        assert_eq!(output.object.crc64, Some(crc64::checksum(&read(&path))));
        assert_stored(&bucket, "skew/multi.bin", &path);
    }
}

/// The parts a checkpoint file records.
fn recorded_parts(checkpoint: &std::path::Path) -> Vec<u64> {
    let json: serde_json::Value = serde_json::from_slice(&read(checkpoint)).expect("a checkpoint");
    json["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|p| p["number"].as_u64().expect("number"))
        .collect()
}

/// Set in the child process of [`a_sigkilled_upload_resumes_from_its_checkpoint`]:
/// the endpoint, file and checkpoint, one a line.
const CHILD_UPLOAD: &str = "OSSCB_TESTKIT_CHILD_UPLOAD";

/// The upload of 10 parts the SIGKILL scenario's child and parent both run.
fn upload_of_10_parts<T: Transport>(
    bucket: &T,
    path: &std::path::Path,
    checkpoint: &std::path::Path,
) -> Result<(), String> {
    let options = UploadOptions::new()
        .part_size(100 * 1024)
        .parallelism(1)
        .checkpoint(checkpoint);
    bucket
        .upload_file("killed.bin", path, &options)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The uploading process is killed (SIGKILL) after some parts: the rerun
/// resumes from its checkpoint, sending no part it recorded.
///
/// The upload runs in a child process: this test's own binary, run again
/// for this test alone with [`CHILD_UPLOAD`] set, on the same transport.
pub fn a_sigkilled_upload_resumes_from_its_checkpoint<T: Transport>() {
    if let Ok(job) = std::env::var(CHILD_UPLOAD) {
        let mut lines = job.lines();
        let (endpoint, path, checkpoint) = (
            lines.next().expect("endpoint"),
            lines.next().expect("path"),
            lines.next().expect("checkpoint"),
        );
        let settings = Settings {
            endpoint: endpoint.to_owned(),
            credentials: creds().into(),
            retry: crate::fast_retries(),
            io_timeout: Duration::from_secs(10),
            region: None,
            bucket: "examplebucket".to_owned(),
        };
        let bucket = T::build(settings).expect("client");
        let result = upload_of_10_parts(&bucket, path.as_ref(), checkpoint.as_ref());
        panic!("the child should have been killed before it ended: {result:?}");
    }
    let emu = emulator();
    let bucket = bucket::<T>(&emu);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("killed.bin");
    write_file(&path, 10 * 100 * 1024, 19);
    let checkpoint = dir.path().join("killed.checkpoint");
    // Slowly: each request waits 150 ms, so the child is killed mid-upload.
    emu.faults().delay_next(1000, Duration::from_millis(150));
    let job = format!(
        "{}\n{}\n{}",
        emu.endpoint(),
        path.display(),
        checkpoint.display()
    );
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "a_sigkilled_upload_resumes_from_its_checkpoint",
            "--test-threads=1",
        ])
        .env(CHILD_UPLOAD, job)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("child");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while emu.upload_part_requests() < 3 {
        let ended = child.try_wait().expect("child status");
        if ended.is_some() || std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child ended ({ended:?}) or stalled before 3 parts");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reaped");
    assert!(!status.success(), "killed: {status:?}");
    emu.faults().clear();
    let recorded = recorded_parts(&checkpoint);
    assert!(
        recorded.len() >= 2,
        "parts recorded before the kill: {recorded:?}"
    );
    let stored = emu.upload_part_requests();
    upload_of_10_parts(&bucket, &path, &checkpoint).expect("resumed");
    assert_eq!(
        emu.upload_part_requests() - stored,
        10 - recorded.len() as u64,
        "no part the checkpoint recorded ({recorded:?}) is sent again"
    );
    assert!(!checkpoint.exists(), "removed once complete");
    assert_eq!(emu.multipart_uploads(), Vec::<String>::new());
    assert_stored(&bucket, "killed.bin", &path);
}

/// The emulator (with a data directory) stops mid-multipart, and starts
/// again on the same directory and port: the upload resumes from its
/// checkpoint, sending only the parts not recorded, and the object is intact.
pub fn an_emulator_restart_mid_multipart_is_resumed<T: Transport>() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = EmulatorConfig::new(crate::ID, crate::SECRET).data_dir(data.path());
    let emu = Emulator::start(config.clone()).expect("emulator");
    let addr = emu.addr();
    let bucket = bucket::<T>(&emu);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("restart.bin");
    write_file(&path, 10 * 100 * 1024, 23);
    let checkpoint = dir.path().join("restart.checkpoint");
    let options = UploadOptions::new()
        .part_size(100 * 1024)
        .parallelism(1)
        .checkpoint(&checkpoint);
    // Slowly, so that the emulator stops while a part is in flight.
    emu.faults().delay_next(1000, Duration::from_millis(100));
    let stopper = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while emu.upload_part_requests() < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let uploads = emu.multipart_uploads();
        drop(emu);
        uploads
    });
    let stopped = bucket
        .upload_file("restart.bin", &path, &options)
        .expect_err("the emulator stopped");
    let uploads = stopper.join().expect("stopper");
    assert_eq!(uploads.len(), 1, "{stopped}");
    let recorded = recorded_parts(&checkpoint);
    assert!(recorded.len() >= 2, "{recorded:?}");

    let (emu, bucket) = match Emulator::start(config.clone().listen(addr)) {
        Ok(emu) => (emu, bucket),
        // The port was taken meanwhile: a new endpoint, a new client.
        Err(_) => {
            let emu = Emulator::start(config).expect("emulator");
            let bucket = crate::bucket::<T>(&emu);
            (emu, bucket)
        }
    };
    assert_eq!(
        emu.multipart_uploads(),
        uploads,
        "the upload survived the restart"
    );
    let output = bucket
        .upload_file("restart.bin", &path, &options)
        .expect("resumed");
    assert_eq!(
        emu.upload_part_requests(),
        10 - recorded.len() as u64,
        "only the parts not recorded ({recorded:?}) are sent"
    );
    assert!(!checkpoint.exists(), "removed once complete");
    assert_eq!(output.object.crc64, Some(crc64::checksum(&read(&path))));
    assert_stored(&bucket, "restart.bin", &path);
}

/// Sets how a receiver answers.
type Answers = fn(&Receiver);

/// A callback receiver that is down, answers 500, answers with a body that
/// is not JSON, or answers after the emulator's callback timeout: a 203
/// (`callback_failed`) with the object's ETag, CRC-64 and request id, and
/// OSS's message; the object is stored once and never sent again.
pub fn a_receiver_down_failing_not_json_or_late_is_a_203_never_resent<T: Transport>() {
    let emu = Emulator::start(
        EmulatorConfig::new(crate::ID, crate::SECRET).callback_timeout(Duration::from_millis(300)),
    )
    .expect("emulator");
    let bucket = bucket::<T>(&emu);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.bin");
    write_file(&path, 300 * 1024, 29);
    // (case, how the receiver answers, OSS's CallbackFailed message)
    let cases: [(&str, Answers, &str); 4] = [
        (
            "down",
            |_| {},
            "Error status : -1.OSS can not connect to your callbackUrl, please check it.",
        ),
        ("500", |r| r.answer_with(500), "Error status : 500."),
        (
            "not JSON",
            Receiver::answer_not_json,
            "Response body is not valid json format.",
        ),
        (
            "late",
            |r| r.answer_late(Duration::from_secs(1)),
            "Cost too long time.",
        ),
    ];
    for (case, setup, message) in cases {
        let receiver = Receiver::start(&emu);
        setup(&receiver);
        let callback = if case == "down" {
            osscb_core::callback::Callback::builder(Receiver::down_url())
                .body(BODY)
                .build()
                .expect("callback")
        } else {
            receiver.callback(BODY)
        };
        let options = UploadOptions::new().callback(callback);
        let key = format!("cb/{}.txt", case.replace(' ', "-"));
        let bytes = format!("stored despite a receiver {case}");
        let seen = emu.faults().requests_seen();
        let err = bucket
            .put_object(&key, bytes.as_bytes(), &options)
            .expect_err("203");
        assert_eq!(
            emu.faults().requests_seen() - seen,
            1,
            "{case}: one PutObject"
        );
        let failed = callback_failed::<T>(&err).unwrap_or_else(|| panic!("{case}: {err}"));
        assert_eq!(failed.error.message, message, "{case}");
        assert!(failed.object.etag.is_some(), "{case}");
        assert_eq!(
            failed.object.crc64,
            Some(crc64::checksum(bytes.as_bytes())),
            "{case}"
        );
        assert_request_id(failed);
        let (_, body) = bucket.get_object(&key).expect("stored");
        assert_eq!(body, bytes.as_bytes(), "{case}");

        let key = format!("cb/{}.bin", case.replace(' ', "-"));
        let options = options.part_size(100 * 1024).parallelism(1);
        let seen = emu.faults().requests_seen();
        let err = bucket.upload_file(&key, &path, &options).expect_err("203");
        assert_eq!(
            emu.faults().requests_seen() - seen,
            5,
            "{case}: initiate, 3 parts, one completion"
        );
        let failed = callback_failed::<T>(&err).unwrap_or_else(|| panic!("{case}: {err}"));
        assert_eq!(failed.error.message, message, "{case}");
        assert_eq!(
            failed.object.crc64,
            Some(crc64::checksum(&read(&path))),
            "{case}"
        );
        assert!(
            failed
                .object
                .etag
                .as_deref()
                .is_some_and(|e| e.ends_with("-3\"")),
            "{case}"
        );
        assert_request_id(failed);
        assert_stored(&bucket, &key, &path);
        let expected_callbacks = if case == "down" { 0 } else { 2 };
        assert_eq!(receiver.count(), expected_callbacks, "{case}");
    }
    assert_eq!(
        emu.abort_multipart_requests(),
        0,
        "a stored object is never aborted"
    );
    assert!(emu.multipart_uploads().is_empty(), "all completed");
}

/// A source of unknown length: `bytes` in reads of uneven sizes, then the
/// end, or a broken pipe when `fails`.
struct Pipe {
    bytes: Vec<u8>,
    at: usize,
    reads: usize,
    fails: bool,
}

impl Pipe {
    fn new(bytes: &[u8], fails: bool) -> Self {
        let bytes = bytes.to_vec();
        Self {
            bytes,
            at: 0,
            reads: 0,
            fails,
        }
    }
}

impl std::io::Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.bytes.len() - self.at;
        if left == 0 && self.fails {
            return Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the writer went away",
            ));
        }
        self.reads += 1;
        let n = (1 + self.reads * 7907 % 50_000).min(buf.len()).min(left);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A reader past one part: a multipart upload begun on the fly, one
/// callback at completion, the object's bytes and CRC-64 the source's.
pub fn a_reader_of_unknown_length_goes_in_parts_with_its_callback<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
    let len = 2 * 1024 * 1024 + 12_345;
    let bytes = data(len, 21);
    let progress = Arc::new(Mutex::new(Vec::new()));
    let p = Arc::clone(&progress);
    let options = UploadOptions::new()
        .part_size(256 * 1024)
        .parallelism(3)
        .callback(receiver.callback(BODY))
        .progress(move |done, total| p.lock().expect("lock").push((done, total)));
    let before = emu.upload_part_requests();
    let output = bucket
        .upload_reader("piped/parts.bin", &mut Pipe::new(&bytes, false), &options)
        .expect("upload");
    assert_eq!(output.parts, 9);
    assert_eq!(emu.upload_part_requests() - before, 9);
    let answer = output.callback.expect("answer").text();
    assert!(answer.contains(&format!("size={len}")), "{answer}");
    assert_eq!(receiver.count(), 1, "one callback, on completion");
    assert_eq!(output.object.crc64, Some(crc64::checksum(&bytes)));
    assert!(output.object.etag.expect("etag").ends_with("-9\""));
    let head = bucket.head_object("piped/parts.bin").expect("head");
    assert_eq!(head.object.crc64, Some(crc64::checksum(&bytes)));
    let (_, body) = bucket.get_object("piped/parts.bin").expect("get");
    assert!(body == bytes, "the stored bytes are the source's");
    let reports = progress.lock().expect("lock").clone();
    assert_eq!(
        reports.last(),
        Some(&(len as u64, len as u64)),
        "{reports:?}"
    );
    assert!(emu.multipart_uploads().is_empty());
}

/// A reader that ends within the first part (empty, short, exactly one
/// part): one PutObject with the callback, no multipart upload.
pub fn a_reader_within_one_part_is_one_put_with_its_callback<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
    let part = 100 * 1024;
    for (i, len) in [0, 1000, part].into_iter().enumerate() {
        let bytes = data(len, 22);
        let options = UploadOptions::new()
            .part_size(part as u64)
            .callback(receiver.callback(BODY));
        let key = format!("piped/one-{len}.bin");
        let output = bucket
            .upload_reader(&key, &mut Pipe::new(&bytes, false), &options)
            .expect("upload");
        assert_eq!(output.parts, 0);
        let answer = output.callback.expect("answer").text();
        assert!(answer.contains(&format!("size={len}")), "{answer}");
        assert_eq!(receiver.count(), i + 1);
        assert_eq!(output.object.crc64, Some(crc64::checksum(&bytes)));
        let (_, body) = bucket.get_object(&key).expect("get");
        assert!(body == bytes, "the stored bytes are the source's");
    }
    assert_eq!(emu.upload_part_requests(), 0);
}

/// A reader failing mid-stream: the multipart upload is aborted, nothing
/// completed or called back, a typed error returned.
pub fn a_read_error_mid_stream_aborts_the_upload<T: Transport>() {
    let emu = emulator();
    let receiver = Receiver::start(&emu);
    let bucket = bucket::<T>(&emu);
    let bytes = data(600 * 1024, 23);
    let options = UploadOptions::new()
        .part_size(100 * 1024)
        .parallelism(2)
        .callback(receiver.callback(BODY));
    let err = bucket
        .upload_reader("piped/broken.bin", &mut Pipe::new(&bytes, true), &options)
        .expect_err("the read fails");
    assert!(
        matches!(T::oss(&err), Some(CoreError::SourceRead(_))),
        "{err}"
    );
    assert_eq!(emu.abort_multipart_requests(), 1);
    assert!(emu.multipart_uploads().is_empty());
    assert_eq!(receiver.count(), 0);
    let missing = bucket
        .head_object("piped/broken.bin")
        .expect_err("not stored");
    assert_eq!(service::<T>(&missing).map(|s| s.status.as_u16()), Some(404));
    let checkpoint = UploadOptions::new().checkpoint("never");
    let refused = bucket
        .upload_reader("piped/cp.bin", &mut Pipe::new(b"x", false), &checkpoint)
        .expect_err("no checkpoint");
    assert!(
        matches!(T::oss(&refused), Some(CoreError::InvalidArgument(_))),
        "{refused}"
    );
}
