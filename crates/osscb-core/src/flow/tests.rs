//! The machines driven by hand: every request they hand out and every
//! decision they take on an answer or a failure.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{Method, StatusCode};

use super::{Answer, Body, Call, Fact, Flow, Multipart, Request, Send, SendId, Step};
use crate::callback::Callback;
use crate::ops::Operation as _;
use crate::ops::PutObject;
use crate::ops::multipart::CompleteMultipartUploadOutput;
use crate::retry::RetryPolicy;
use crate::upload::{FileFingerprint, Progress, UploadOptions};
use crate::{Bucket, Error, ObjectKey, PresignedRequest};

const T0: Duration = Duration::from_secs(1_700_000_000);

fn now() -> SystemTime {
    UNIX_EPOCH + T0
}

fn names() -> (Bucket, ObjectKey) {
    let bucket = Bucket::new("examplebucket").unwrap_or_else(|e| panic!("{e}"));
    (
        bucket,
        ObjectKey::new("a/b.txt").unwrap_or_else(|e| panic!("{e}")),
    )
}

fn callback() -> Callback {
    let cb = Callback::builder("http://127.0.0.1:1/cb").body("object=${object}");
    cb.build().unwrap_or_else(|e| panic!("{e}"))
}

fn put(with_callback: bool) -> Call<PutObject, Error> {
    let (bucket, key) = names();
    let mut options = UploadOptions::new();
    if with_callback {
        options = options.callback(callback());
    }
    let op = options.put_object(&bucket, &key, 5, None);
    Call::with_source(op, 5, RetryPolicy::default(), 1)
}

fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Answer<Error> {
    let mut builder = http::Response::builder().status(status);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let response = builder
        .body(body.to_vec())
        .unwrap_or_else(|e| panic!("{e}"));
    Answer::Response {
        response,
        sent_crc64: crate::crc64::checksum(b"hello"),
        received_crc64: None,
    }
}

fn failed(fact: Fact) -> Answer<Error> {
    Answer::Failed {
        fact,
        sent_crc64: crate::crc64::checksum(b"hello"),
        error: Error::InvalidArgument("connection reset".into()),
    }
}

fn error(status: u16, code: &str) -> Answer<Error> {
    let xml = format!("<Error><Code>{code}</Code><Message>m</Message></Error>");
    response(status, &[], xml.as_bytes())
}

/// The stored object as HeadObject shows it.
fn head_of(crc64: u64, len: &str) -> Answer<Error> {
    let crc = crc64.to_string();
    let h = [
        ("etag", "\"E\""),
        ("x-oss-hash-crc64ecma", &crc),
        ("content-length", len),
    ];
    response(200, &h, b"")
}

fn send<T>(flow: &mut impl Flow<Error, Output = T>, at: SystemTime) -> Send {
    loop {
        match flow.next(at) {
            Step::Send(send) => return send,
            Step::Save(..) | Step::Remove(_) => {}
            Step::Wait(t) => return send(flow, t),
            other => panic!("expected a send, got {:?}", other.kind()),
        }
    }
}

fn done<T>(flow: &mut impl Flow<Error, Output = T>) -> Result<T, Error> {
    loop {
        match flow.next(now()) {
            Step::Done(result) => return result,
            Step::Save(..) | Step::Remove(_) => {}
            other => panic!("expected the end, got {:?}", other.kind()),
        }
    }
}

impl<T, E> Step<T, E> {
    fn kind(&self) -> &'static str {
        match self {
            Self::Send(_) => "send",
            Self::Wait(_) => "wait",
            Self::Load(_) => "load",
            Self::Save(..) => "save",
            Self::Remove(_) => "remove",
            Self::Read(_) => "read",
            Self::Pending => "pending",
            Self::Done(_) => "done",
        }
    }
}

/// The first step of a machine with a checkpoint: loading it, answered
/// with `saved`.
fn load(upload: &mut Multipart<Error>, saved: &[u8]) {
    let step = upload.next(now());
    assert!(
        matches!(step, Step::Load(ref p) if p.as_os_str() == "cp"),
        "{}",
        step.kind()
    );
    upload.on_loaded(Some(saved.to_vec()));
}

/// The `(done, total)` pairs a progress callback was given.
type Reports = Arc<Mutex<Vec<(u64, u64)>>>;

/// `options` reporting progress into the returned list.
fn recording(options: UploadOptions) -> (Reports, UploadOptions) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&reports);
    let options = options.progress(move |done, total| {
        record
            .lock()
            .map(|mut r| r.push((done, total)))
            .unwrap_or(());
    });
    (reports, options)
}

fn unsigned(send: &Send) -> &crate::OssRequest<Vec<u8>> {
    match &send.request {
        Request::Unsigned(r) => r,
        Request::Presigned(_) => panic!("presigned"),
    }
}

fn forbids_overwrite(send: &Send) -> bool {
    unsigned(send)
        .headers
        .get("x-oss-forbid-overwrite")
        .is_some()
}

#[test]
fn a_lost_answer_to_a_callback_write_is_looked_up_not_resent() {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&reports);
    let progress = Progress::new(move |done, total| {
        record
            .lock()
            .map(|mut r| r.push((done, total)))
            .unwrap_or(())
    });
    let mut call = put(true).reporting(Some(progress));
    let first = send(&mut call, now());
    assert_eq!(
        reports.lock().map(|r| r.clone()).unwrap_or_default(),
        [(0, 5)]
    );
    assert_eq!(unsigned(&first).method, Method::PUT);
    assert_eq!(
        first.body,
        Body::Source {
            part: 0,
            offset: 0,
            len: 5
        }
    );
    call.on_answer(first.id, failed(Fact::NoAnswer));
    let look = send(&mut call, now());
    assert_eq!(unsigned(&look).method, Method::HEAD);
    assert_eq!(
        unsigned(&look).key.as_ref().map(ObjectKey::as_str),
        Some("a/b.txt")
    );
    call.on_answer(look.id, head_of(crate::crc64::checksum(b"hello"), "5"));
    match done(&mut call) {
        Err(Error::AnswerLost(object)) => assert_eq!(object.etag.as_deref(), Some("\"E\"")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_callback_write_not_stored_is_resent_forbidding_overwrite() {
    for ambiguous in [failed(Fact::TimedOut), error(503, "ServiceUnavailable")] {
        let mut call = put(true);
        let first = send(&mut call, now());
        assert!(!forbids_overwrite(&first));
        call.on_answer(first.id, ambiguous);
        let look = send(&mut call, now());
        assert_eq!(
            unsigned(&look).method,
            Method::HEAD,
            "a 5xx is ambiguous too"
        );
        call.on_answer(look.id, error(404, "NoSuchKey"));
        let again = send(&mut call, now());
        assert_eq!(unsigned(&again).method, Method::PUT);
        assert!(forbids_overwrite(&again));
        // It meets an object: the first attempt landed meanwhile. Look again.
        call.on_answer(again.id, error(409, "FileAlreadyExists"));
        let look = send(&mut call, now());
        assert_eq!(unsigned(&look).method, Method::HEAD);
        call.on_answer(look.id, head_of(crate::crc64::checksum(b"hello"), "5"));
        assert!(matches!(done(&mut call), Err(Error::AnswerLost(_))));
    }
}

#[test]
fn another_object_or_a_presigned_write_is_an_unknown_outcome() {
    let mut call = put(true);
    let first = send(&mut call, now());
    call.on_answer(first.id, failed(Fact::NoAnswer));
    let look = send(&mut call, now());
    call.on_answer(look.id, head_of(7, "5"));
    match done(&mut call) {
        Err(Error::OutcomeUnknown { found: Some(o), .. }) => assert_eq!(o.crc64, Some(7)),
        other => panic!("{other:?}"),
    }

    let (bucket, key) = names();
    let op = UploadOptions::new()
        .callback(callback())
        .put_object(&bucket, &key, 5, None);
    let presigned = PresignedRequest {
        method: Method::PUT,
        url: http::Uri::from_static("http://127.0.0.1:1/a/b.txt?Signature=s"),
        headers: http::HeaderMap::new(),
        expires: now(),
    };
    let mut call = Call::<_, Error>::presigned(op, presigned, 5, RetryPolicy::default(), 1);
    let first = send(&mut call, now());
    assert!(matches!(first.request, Request::Presigned(_)));
    call.on_answer(first.id, failed(Fact::NoAnswer));
    let look = send(&mut call, now());
    assert_eq!(unsigned(&look).method, Method::HEAD);
    call.on_answer(look.id, error(404, "NoSuchKey"));
    assert!(matches!(
        done(&mut call),
        Err(Error::OutcomeUnknown { found: None, .. })
    ));
}

#[test]
fn writes_without_a_callback_are_retried_after_a_backoff() {
    let mut call = put(false);
    let first = send(&mut call, now());
    call.on_answer(first.id, failed(Fact::NoAnswer));
    let Step::Wait(until) = call.next(now()) else {
        panic!("a backoff first")
    };
    assert!(until <= now() + RetryPolicy::default().base_delay);
    let second = send(&mut call, until);
    assert_eq!(unsigned(&second).method, Method::PUT, "not a HEAD");
    assert!(!forbids_overwrite(&second));
    assert_eq!((first.attempt(), second.attempt()), (1, 2));
    call.on_answer(second.id, error(503, "ServiceUnavailable"));
    let third = send(&mut call, now() + Duration::from_secs(10));
    call.on_answer(third.id, error(503, "ServiceUnavailable"));
    match done(&mut call) {
        Err(Error::Service(e)) => assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE),
        other => panic!("{other:?}"),
    }
    // Local failures and 4xx end the call at once.
    for answer in [failed(Fact::Local), error(403, "AccessDenied")] {
        let mut call = put(false);
        let first = send(&mut call, now());
        call.on_answer(first.id, answer);
        assert!(done(&mut call).is_err());
    }
}

#[test]
fn a_multipart_upload_runs_parts_in_parallel_and_aborts_after_a_refusal() {
    let (bucket, key) = names();
    let file = (300 * 1024, now());
    let options = UploadOptions::new().part_size(100 * 1024).parallelism(2);
    let policy = RetryPolicy::none();
    let upload = Multipart::<Error>::new(&bucket, &key, &options, file, None, policy, 9);
    let mut upload = upload.unwrap_or_else(|e| panic!("{e}"));
    let init = send(&mut upload, now());
    assert_eq!(
        unsigned(&init).query,
        vec![("uploads".to_owned(), String::new())]
    );
    let xml =
        b"<InitiateMultipartUploadResult><UploadId>U1</UploadId></InitiateMultipartUploadResult>";
    upload.on_answer(init.id, response(200, &[], xml));
    let (p1, p2) = (send(&mut upload, now()), send(&mut upload, now()));
    assert_eq!(
        p1.body,
        Body::Source {
            part: 1,
            offset: 0,
            len: 100 * 1024
        }
    );
    assert_eq!(
        p2.body,
        Body::Source {
            part: 2,
            offset: 100 * 1024,
            len: 100 * 1024
        }
    );
    assert!(
        matches!(upload.next(now()), Step::Pending),
        "two in flight at most"
    );
    upload.on_answer(p1.id, response(200, &[("etag", "\"P1\"")], b""));
    let p3 = send(&mut upload, now());
    assert_eq!(
        p3.body,
        Body::Source {
            part: 3,
            offset: 200 * 1024,
            len: 100 * 1024
        }
    );
    upload.on_answer(p2.id, error(400, "InvalidArgument"));
    assert!(
        matches!(upload.next(now()), Step::Pending),
        "part 3 still in flight"
    );
    upload.on_answer(p3.id, response(200, &[("etag", "\"P3\"")], b""));
    let abort = send(&mut upload, now());
    assert_eq!(unsigned(&abort).method, Method::DELETE);
    assert_eq!(
        unsigned(&abort).query,
        vec![("uploadId".to_owned(), "U1".to_owned())]
    );
    upload.on_answer(abort.id, response(204, &[], b""));
    match done(&mut upload) {
        Err(Error::Service(e)) => assert_eq!(e.code, "InvalidArgument"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_resumed_multipart_upload_sends_only_the_missing_parts_and_completes() {
    let (bucket, key) = names();
    let file = FileFingerprint::new(250 * 1024, now());
    let options = UploadOptions::new()
        .part_size(100 * 1024)
        .parallelism(1)
        .checkpoint("cp");
    let plan = options.plan(file.size).unwrap_or_else(|e| panic!("{e}"));
    let writes = writes_of(&options);
    let mut saved = crate::upload::Checkpoint::new(&bucket, &key, "U9", file, &plan, &writes);
    saved.record(crate::upload::PartRecord {
        number: 1,
        etag: "\"P1\"".into(),
        crc64: 11,
        size: 100 * 1024,
    });
    let saved = saved.to_json();
    let policy = RetryPolicy::none();
    let (progress, options) = recording(options);
    let upload = Multipart::<Error>::new(
        &bucket,
        &key,
        &options,
        (250 * 1024, now()),
        None,
        policy,
        3,
    );
    let mut upload = upload.unwrap_or_else(|e| panic!("{e}"));
    load(&mut upload, &saved);
    let part = send(&mut upload, now());
    assert_eq!(
        progress.lock().map(|p| p.clone()).unwrap_or_default(),
        [(102_400, 256_000)]
    );
    let mut part = Some(part);
    for (number, offset) in [(2, 100 * 1024), (3, 200 * 1024)] {
        let part = part.take().unwrap_or_else(|| send(&mut upload, now()));
        assert!(
            matches!(part.body, Body::Source { part, offset: o, .. } if part == number && o == offset)
        );
        upload.on_answer(part.id, response(200, &[("etag", "\"P\"")], b""));
        assert!(matches!(upload.next(now()), Step::Save(..)));
    }
    let complete = send(&mut upload, now());
    assert_eq!(unsigned(&complete).method, Method::POST);
    let body = String::from_utf8_lossy(&unsigned(&complete).body).into_owned();
    assert!(
        body.contains("<PartNumber>1</PartNumber><ETag>\"P1\"</ETag>"),
        "{body}"
    );
    let xml =
        b"<CompleteMultipartUploadResult><ETag>\"X-3\"</ETag></CompleteMultipartUploadResult>";
    upload.on_answer(complete.id, response(200, &[], xml));
    assert!(matches!(upload.next(now()), Step::Remove(_)));
    let output: CompleteMultipartUploadOutput = done(&mut upload).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.object.etag.as_deref(), Some("\"X-3\""));
}

/// The checkpoint identity of an upload to `a/b.txt` with `options`.
fn writes_of(options: &UploadOptions) -> String {
    let (bucket, key) = names();
    let initiate = options.initiate(&bucket, &key, None);
    let headers = initiate.request().unwrap_or_else(|e| panic!("{e}")).headers;
    crate::upload::writes_digest(&headers, options.callback.as_ref())
}

fn put_with(with_callback: bool, policy: RetryPolicy) -> Call<PutObject, Error> {
    let (bucket, key) = names();
    let mut options = UploadOptions::new();
    if with_callback {
        options = options.callback(callback());
    }
    let op = options.put_object(&bucket, &key, 5, None);
    Call::with_source(op, 5, policy, 1)
}

/// Runs `upload` through InitiateMultipartUpload (upload id `U1`).
fn initiated(upload: &mut Multipart<Error>) {
    let init = send(upload, now());
    let xml =
        b"<InitiateMultipartUploadResult><UploadId>U1</UploadId></InitiateMultipartUploadResult>";
    upload.on_answer(init.id, response(200, &[], xml));
}

#[test]
fn a_part_whose_crc64_does_not_match_is_sent_again() {
    let (bucket, key) = names();
    let options = UploadOptions::new().part_size(100 * 1024).parallelism(1);
    let file = (200 * 1024, now());
    let policy = RetryPolicy::default();
    let upload = Multipart::<Error>::new(&bucket, &key, &options, file, None, policy, 9);
    let mut upload = upload.unwrap_or_else(|e| panic!("{e}"));
    initiated(&mut upload);
    let p1 = send(&mut upload, now());
    let wrong = [("etag", "\"P1\""), ("x-oss-hash-crc64ecma", "7")];
    upload.on_answer(p1.id, response(200, &wrong, b""));
    let again = send(&mut upload, now() + Duration::from_secs(10));
    assert_eq!(again.body, p1.body, "the same part, sent again");
    assert_ne!(again.id, p1.id);
    upload.on_answer(again.id, response(200, &[("etag", "\"P1\"")], b""));
    let p2 = send(&mut upload, now());
    assert!(matches!(p2.body, Body::Source { part: 2, .. }));
    upload.on_answer(p2.id, response(200, &[("etag", "\"P2\"")], b""));
    let complete = send(&mut upload, now());
    assert_eq!(unsigned(&complete).method, Method::POST);

    // Bounded by the policy: a part that never matches fails the run.
    let policy = RetryPolicy::none();
    let upload = Multipart::<Error>::new(&bucket, &key, &options, file, None, policy, 9);
    let mut upload = upload.unwrap_or_else(|e| panic!("{e}"));
    initiated(&mut upload);
    let p1 = send(&mut upload, now());
    upload.on_answer(p1.id, response(200, &wrong, b""));
    let abort = send(&mut upload, now());
    assert_eq!(unsigned(&abort).method, Method::DELETE);
    upload.on_answer(abort.id, response(204, &[], b""));
    assert!(matches!(
        done(&mut upload),
        Err(Error::Crc64Mismatch { reported: 7, .. })
    ));

    // A PutObject with a wrong CRC-64 is not sent again: it replaced the object.
    let mut call = put(false);
    let first = send(&mut call, now());
    call.on_answer(first.id, response(200, &wrong, b""));
    assert!(matches!(done(&mut call), Err(Error::Crc64Mismatch { .. })));
}

#[test]
fn a_total_timeout_ends_the_call_and_abandons_a_request_in_flight() {
    let limit = Duration::from_secs(5);
    let policy = RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(100),
        total_timeout: Some(limit),
    };
    // In flight: the machine wakes at the deadline instead of waiting for
    // an answer that trickles in.
    let mut call = put_with(false, policy);
    let first = send(&mut call, now());
    match call.next(now() + Duration::from_secs(1)) {
        Step::Wait(at) => assert_eq!(at, now() + limit),
        other => panic!("expected a wait, got {:?}", other.kind()),
    }
    match call.next(now() + limit) {
        Step::Done(Err(Error::Timeout { limit: l })) => assert_eq!(l, limit),
        other => panic!("expected a timeout, got {:?}", other.kind()),
    }
    call.on_answer(first.id, response(200, &[], b""));
    assert!(matches!(call.next(now() + limit), Step::Pending));

    // Retries stop at the deadline.
    let mut call = put_with(false, policy);
    let first = send(&mut call, now());
    call.on_answer(first.id, error(503, "ServiceUnavailable"));
    assert!(matches!(
        call.next(now() + limit),
        Step::Done(Err(Error::Timeout { .. }))
    ));

    // A callback write that may have taken effect: the outcome is unknown.
    let mut call = put_with(true, policy);
    let first = send(&mut call, now());
    let _ = first;
    assert!(matches!(
        call.next(now() + limit + Duration::from_secs(1)),
        Step::Done(Err(Error::OutcomeUnknown { found: None, .. }))
    ));

    // No total timeout: the machine waits for the answer, however long.
    let mut call = put(false);
    let _ = send(&mut call, now());
    assert!(matches!(
        call.next(now() + Duration::from_secs(86_400)),
        Step::Pending
    ));
}

#[test]
fn a_checkpoint_of_other_write_options_is_aborted_and_started_over() {
    let (bucket, key) = names();
    let file = FileFingerprint::new(250 * 1024, now());
    let old = UploadOptions::new()
        .part_size(100 * 1024)
        .parallelism(1)
        .checkpoint("cp");
    let plan = old.plan(file.size).unwrap_or_else(|e| panic!("{e}"));
    let writes = writes_of(&old);
    let mut saved = crate::upload::Checkpoint::new(&bucket, &key, "U9", file, &plan, &writes);
    saved.record(crate::upload::PartRecord {
        number: 1,
        etag: "\"P1\"".into(),
        crc64: 11,
        size: 100 * 1024,
    });
    let saved = saved.to_json();
    // The same options under checkpoint version 1, which did not record them.
    let v1 = String::from_utf8_lossy(&saved).replace("\"version\": 2", "\"version\": 1");
    assert_ne!(v1.as_bytes(), saved.as_slice());
    let changes = [
        old.clone().content_type("text/csv"),
        old.clone().metadata("run", "2"),
        old.clone().callback(callback()),
        {
            let mut o = old.clone();
            o.write.acl = Some(crate::ops::ObjectAcl::Private);
            o
        },
        {
            let mut o = old.clone();
            o.write.storage_class = Some(crate::ops::StorageClass::Archive);
            o
        },
    ];
    let cases = changes
        .into_iter()
        .map(|options| (options, saved.as_slice()))
        .chain([(old.clone(), v1.as_bytes())]);
    for (options, saved) in cases {
        let upload = Multipart::<Error>::new(
            &bucket,
            &key,
            &options,
            (250 * 1024, now()),
            None,
            RetryPolicy::none(),
            3,
        );
        let mut upload = upload.unwrap_or_else(|e| panic!("{e}"));
        load(&mut upload, saved);
        let abort = send(&mut upload, now());
        assert_eq!(unsigned(&abort).method, Method::DELETE, "{options:?}");
        assert_eq!(
            unsigned(&abort).query,
            vec![("uploadId".to_owned(), "U9".to_owned())]
        );
        upload.on_answer(abort.id, response(204, &[], b""));
        assert!(matches!(upload.next(now()), Step::Remove(_)));
        let init = send(&mut upload, now());
        let init = unsigned(&init);
        assert_eq!(init.method, Method::POST);
        assert_eq!(init.query, vec![("uploads".to_owned(), String::new())]);
        if let Some(ct) = &options.write.content_type {
            assert_eq!(
                init.headers.get("content-type").map(|v| v.as_bytes()),
                Some(ct.as_bytes())
            );
        }
    }
}

/// Both transports report a reset while the answer's body is read as
/// [`Fact::NoAnswer`]: a GET is sent again; a callback write is looked up
/// (`a_lost_answer_to_a_callback_write_is_looked_up_not_resent`).
#[test]
fn a_get_whose_answer_breaks_off_is_sent_again() {
    let (bucket, key) = names();
    let get = crate::ops::GetObject::new(bucket, key);
    let mut call = Call::<_, Error>::new(get, RetryPolicy::default(), 5);
    let first = send(&mut call, now());
    assert_eq!(unsigned(&first).method, Method::GET);
    call.on_answer(first.id, failed(Fact::NoAnswer));
    let again = send(&mut call, now() + Duration::from_secs(10));
    assert_eq!(unsigned(&again).method, Method::GET);
    call.on_answer(again.id, response(200, &[("etag", "\"E\"")], b"hello"));
    assert!(done(&mut call).is_ok());
    assert_eq!(call.take_body(), b"hello");
}

/// 403 `RequestTimeTooSkewed`, with OSS's clock at `server` in `Date`.
fn skewed(server: SystemTime) -> Answer<Error> {
    let date = crate::time::http_date(server).unwrap_or_else(|e| panic!("{e}"));
    let xml = "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message></Error>";
    response(403, &[("date", &date)], xml.as_bytes())
}

/// The signing time a send carries once signed at `at` (V1: `Date`).
fn signed_date(send: Send, at: SystemTime) -> String {
    let endpoint = crate::Endpoint::parse("oss-cn-hangzhou.aliyuncs.com");
    let config = crate::Config::v1(endpoint.unwrap_or_else(|e| panic!("{e}")));
    let credentials = crate::Credentials::new("id", "secret");
    let request = send.into_http(&config, &credentials, at);
    let request = request.unwrap_or_else(|e| panic!("{e}"));
    let date = request
        .headers()
        .get("date")
        .map(|v| v.to_str().map(str::to_owned));
    date.and_then(Result::ok).unwrap_or_default()
}

const TWENTY_MINUTES: Duration = Duration::from_secs(20 * 60);

#[test]
fn a_skewed_clock_is_set_by_the_server_date_and_the_write_sent_once_more() {
    // With a callback and no retries: the refused attempt had no effect, so
    // it is sent again (no HeadObject), and the correction is not a retry.
    for server in [now() + TWENTY_MINUTES, now() - TWENTY_MINUTES] {
        let mut call = put_with(true, RetryPolicy::none());
        let first = send(&mut call, now());
        assert_eq!(signed_date(first, now()), "Tue, 14 Nov 2023 22:13:20 GMT");
        call.on_answer(SendId { call: 0, n: 1 }, skewed(server));
        let again = send(&mut call, now());
        assert_eq!(
            unsigned(&again).method,
            Method::PUT,
            "sent again, not looked up"
        );
        assert!(!forbids_overwrite(&again));
        let id = again.id;
        let expected = crate::time::http_date(server).unwrap_or_default();
        assert_eq!(
            signed_date(again, now()),
            expected,
            "signed at the server's time"
        );
        call.on_answer(id, response(200, &[("etag", "\"E\"")], b""));
        let output = done(&mut call).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(output.object.etag.as_deref(), Some("\"E\""));
    }
}

#[test]
fn a_clock_refused_again_after_the_correction_fails_with_a_hint() {
    let mut call = put_with(false, RetryPolicy::default());
    let first = send(&mut call, now());
    call.on_answer(first.id, skewed(now() + TWENTY_MINUTES));
    let again = send(&mut call, now());
    call.on_answer(again.id, skewed(now() + TWENTY_MINUTES));
    let refused = done(&mut call).expect_err("refused twice");
    assert_eq!(
        refused.to_string(),
        "the local clock is 1200 s off the server's (behind); fix it: OSS error 403 RequestTimeTooSkewed: The difference between the request time and the current time is too large."
    );
    assert!(matches!(
        refused,
        Error::ClockSkewed {
            server_minus_local_secs: 1200,
            ..
        }
    ));
    assert_eq!(
        refused.service().map(|e| e.code.as_str()),
        Some("RequestTimeTooSkewed")
    );

    // Without a Date, there is nothing to set the clock by: OSS's error.
    let mut call = put_with(false, RetryPolicy::default());
    let first = send(&mut call, now());
    call.on_answer(first.id, error(403, "RequestTimeTooSkewed"));
    match done(&mut call) {
        Err(Error::Service(e)) => assert_eq!(e.code, "RequestTimeTooSkewed"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_multipart_upload_signs_its_later_calls_at_the_corrected_time() {
    let (bucket, key) = names();
    let file = (150 * 1024, now());
    let options = UploadOptions::new().part_size(100 * 1024).parallelism(2);
    let upload =
        Multipart::<Error>::new(&bucket, &key, &options, file, None, RetryPolicy::none(), 9);
    let mut upload = upload.unwrap_or_else(|e| panic!("{e}"));
    let server = now() + TWENTY_MINUTES;
    let at_server = crate::time::http_date(server).unwrap_or_default();
    let init = send(&mut upload, now());
    upload.on_answer(init.id, skewed(server));
    let init = send(&mut upload, now());
    let id = init.id;
    assert_eq!(signed_date(init, now()), at_server);
    let xml =
        b"<InitiateMultipartUploadResult><UploadId>U1</UploadId></InitiateMultipartUploadResult>";
    upload.on_answer(id, response(200, &[], xml));
    let (p1, p2) = (send(&mut upload, now()), send(&mut upload, now()));
    let (id1, id2) = (p1.id, p2.id);
    assert_eq!(
        signed_date(p1, now()),
        at_server,
        "part 1 at the server's time"
    );
    assert_eq!(
        signed_date(p2, now()),
        at_server,
        "part 2 at the server's time"
    );
    upload.on_answer(id1, response(200, &[("etag", "\"P1\"")], b""));
    upload.on_answer(id2, response(200, &[("etag", "\"P2\"")], b""));
    let complete = send(&mut upload, now());
    assert_eq!(unsigned(&complete).method, Method::POST);
    assert_eq!(signed_date(complete, now()), at_server, "completion too");
}

/// 408 and 429 come before OSS stores anything: even a write with a
/// callback is sent again as it was, without a HeadObject first.
#[test]
fn throttled_and_timed_out_writes_are_sent_again_even_with_a_callback() {
    for (status, code) in [(429, "TooManyRequests"), (408, "RequestTimeout")] {
        let mut call = put(true);
        let first = send(&mut call, now());
        call.on_answer(first.id, error(status, code));
        let second = send(&mut call, now() + Duration::from_secs(10));
        assert_eq!(
            unsigned(&second).method,
            Method::PUT,
            "{status}: not a HEAD"
        );
        assert!(!forbids_overwrite(&second), "{status}");
        call.on_answer(second.id, response(200, &[], b"{\"ok\":true}"));
        assert!(done(&mut call).is_ok(), "{status}");
    }
}

mod stream;
