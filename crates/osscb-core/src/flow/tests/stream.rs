//! [`StreamUpload`] driven by hand: the exact requests for sources of every
//! length around the part size, a read error, a part retried from its
//! buffer.

use super::*;
use crate::flow::StreamUpload;
use crate::upload::UploadOutput;

const PART: usize = 100 * 1024;

fn upload(options: &UploadOptions, policy: RetryPolicy) -> StreamUpload<Error> {
    let (bucket, key) = names();
    StreamUpload::new(&bucket, &key, options, policy, 7).unwrap_or_else(|e| panic!("{e}"))
}

/// Expects a read of a part, and hands it `bytes`.
fn read(upload: &mut StreamUpload<Error>, bytes: Vec<u8>) {
    match upload.next(now()) {
        Step::Read(n) => assert_eq!(n, PART),
        other => panic!("expected a read, got {:?}", other.kind()),
    }
    upload.on_read(Ok(bytes));
}

fn source(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// `method path?query` of a send.
fn line(send: &Send) -> String {
    let r = unsigned(send);
    let query: Vec<String> = r
        .query
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    format!("{} {}", r.method, query.join("&"))
}

fn answer(status: u16, headers: &[(&str, &str)], body: &[u8], sent: &[u8]) -> Answer<Error> {
    let Answer::Response { response, .. } = response(status, headers, body) else {
        panic!("a response")
    };
    Answer::Response {
        response,
        sent_crc64: crate::crc64::checksum(sent),
        received_crc64: None,
    }
}

fn buffer(send: &Send) -> &[u8] {
    send.buffer().map_or(&[][..], |b| &b[..])
}

/// A source that ends within the first part goes in one PutObject.
fn single(len: usize) {
    let bytes = source(len);
    let (reports, options) = recording(UploadOptions::new().part_size(PART as u64));
    let mut up = upload(&options, RetryPolicy::none());
    read(&mut up, bytes.clone());
    if len == PART {
        read(&mut up, Vec::new());
    }
    let put = send(&mut up, now());
    assert_eq!(line(&put), "PUT ");
    assert_eq!(buffer(&put), &bytes[..]);
    assert_eq!(
        put.body,
        Body::Source {
            part: 0,
            offset: 0,
            len: len as u64
        }
    );
    let crc = crate::crc64::checksum(&bytes).to_string();
    let headers = [("etag", "\"E\""), ("x-oss-hash-crc64ecma", crc.as_str())];
    up.on_answer(put.id, answer(200, &headers, b"", &bytes));
    let output = done(&mut up).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.parts, 0);
    assert_eq!(output.object.etag.as_deref(), Some("\"E\""));
    let n = len as u64;
    assert_eq!(
        reports.lock().map(|r| r.clone()).unwrap_or_default(),
        vec![(0, n), (n, n)]
    );
}

#[test]
fn an_empty_source_is_one_put_object() {
    single(0);
}

#[test]
fn a_source_shorter_than_a_part_is_one_put_object() {
    single(5);
}

#[test]
fn a_source_of_exactly_one_part_is_one_put_object() {
    single(PART);
}

/// Through InitiateMultipartUpload: the source's first two reads.
fn initiate(up: &mut StreamUpload<Error>, first: Vec<u8>, second: Vec<u8>) {
    read(up, first);
    read(up, second);
    let init = send(up, now());
    assert_eq!(line(&init), "POST uploads");
    assert!(init.buffer().is_none());
    let xml =
        b"<InitiateMultipartUploadResult><UploadId>U1</UploadId></InitiateMultipartUploadResult>";
    up.on_answer(init.id, response(200, &[], xml));
}

#[test]
fn a_source_longer_than_a_part_goes_in_parts_and_completes_with_the_callback() {
    let bytes = source(2 * PART + 7);
    let options = UploadOptions::new()
        .part_size(PART as u64)
        .parallelism(1)
        .callback(callback());
    let (reports, options) = recording(options);
    let mut up = upload(&options, RetryPolicy::none());
    initiate(
        &mut up,
        bytes[..PART].to_vec(),
        bytes[PART..2 * PART].to_vec(),
    );
    let p1 = send(&mut up, now());
    assert_eq!(line(&p1), "PUT partNumber=1&uploadId=U1");
    assert_eq!(buffer(&p1), &bytes[..PART]);
    // One part in flight, one read: no further read until a part is done.
    assert!(matches!(up.next(now()), Step::Pending));
    up.on_answer(
        p1.id,
        answer(200, &[("etag", "\"P1\"")], b"", &bytes[..PART]),
    );
    let p2 = send(&mut up, now());
    assert_eq!(line(&p2), "PUT partNumber=2&uploadId=U1");
    assert_eq!(
        p2.body,
        Body::Source {
            part: 2,
            offset: PART as u64,
            len: PART as u64
        }
    );
    read(&mut up, bytes[2 * PART..].to_vec());
    assert!(matches!(up.next(now()), Step::Pending));
    up.on_answer(
        p2.id,
        answer(200, &[("etag", "\"P2\"")], b"", &bytes[PART..2 * PART]),
    );
    let p3 = send(&mut up, now());
    assert_eq!(line(&p3), "PUT partNumber=3&uploadId=U1");
    assert_eq!(buffer(&p3), &bytes[2 * PART..]);
    up.on_answer(
        p3.id,
        answer(200, &[("etag", "\"P3\"")], b"", &bytes[2 * PART..]),
    );
    let complete = send(&mut up, now());
    assert_eq!(line(&complete), "POST uploadId=U1");
    assert!(unsigned(&complete).headers.contains_key("x-oss-callback"));
    let xml = String::from_utf8_lossy(&unsigned(&complete).body).into_owned();
    assert!(
        xml.contains("<PartNumber>3</PartNumber><ETag>\"P3\"</ETag>"),
        "{xml}"
    );
    let crc = crate::crc64::checksum(&bytes).to_string();
    let headers = [
        ("etag", "\"X-3\""),
        ("x-oss-hash-crc64ecma", crc.as_str()),
        ("content-type", "application/json"),
    ];
    up.on_answer(complete.id, answer(200, &headers, b"{\"ok\":true}", b""));
    let output: UploadOutput = done(&mut up).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.parts, 3);
    assert_eq!(
        output.callback.map(|a| a.text()).as_deref(),
        Some("{\"ok\":true}")
    );
    let n = bytes.len() as u64;
    let p = PART as u64;
    assert_eq!(
        reports.lock().map(|r| r.clone()).unwrap_or_default(),
        vec![(0, 2 * p), (p, 2 * p), (2 * p, n), (n, n)]
    );
}

#[test]
fn a_read_error_aborts_the_upload_and_completes_nothing() {
    let bytes = source(2 * PART);
    let options = UploadOptions::new().part_size(PART as u64).parallelism(2);
    let mut up = upload(&options, RetryPolicy::none());
    initiate(&mut up, bytes[..PART].to_vec(), bytes[PART..].to_vec());
    let (p1, p2) = (send(&mut up, now()), send(&mut up, now()));
    assert_eq!(line(&p2), "PUT partNumber=2&uploadId=U1");
    match up.next(now()) {
        Step::Read(_) => {}
        other => panic!("expected a read, got {:?}", other.kind()),
    }
    let broken = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe");
    up.on_read(Err(Error::SourceRead(broken)));
    up.on_answer(
        p1.id,
        answer(200, &[("etag", "\"P1\"")], b"", &bytes[..PART]),
    );
    assert!(matches!(up.next(now()), Step::Pending), "part 2 in flight");
    up.on_answer(
        p2.id,
        answer(200, &[("etag", "\"P2\"")], b"", &bytes[PART..]),
    );
    let abort = send(&mut up, now());
    assert_eq!(line(&abort), "DELETE uploadId=U1");
    up.on_answer(abort.id, response(204, &[], b""));
    match done(&mut up) {
        Err(Error::SourceRead(e)) => assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_read_error_before_any_request_ends_the_upload() {
    let options = UploadOptions::new().part_size(PART as u64);
    let mut up = upload(&options, RetryPolicy::none());
    assert!(matches!(up.next(now()), Step::Read(_)));
    let broken = std::io::Error::other("gone");
    up.on_read(Err(Error::SourceRead(broken)));
    assert!(matches!(done(&mut up), Err(Error::SourceRead(_))));
}

#[test]
fn a_failed_part_is_sent_again_from_its_buffer() {
    let bytes = source(PART + 1);
    let options = UploadOptions::new().part_size(PART as u64);
    let mut up = upload(&options, RetryPolicy::default());
    initiate(&mut up, bytes[..PART].to_vec(), bytes[PART..].to_vec());
    let (p1, p2) = (send(&mut up, now()), send(&mut up, now()));
    up.on_answer(p1.id, error(500, "InternalError"));
    up.on_answer(
        p2.id,
        answer(200, &[("etag", "\"P2\"")], b"", &bytes[PART..]),
    );
    let again = send(&mut up, now() + Duration::from_secs(60));
    assert_eq!(line(&again), "PUT partNumber=1&uploadId=U1");
    assert_eq!(again.attempt(), 2);
    assert_eq!(buffer(&again), &bytes[..PART]);
    up.on_answer(
        again.id,
        answer(200, &[("etag", "\"P1\"")], b"", &bytes[..PART]),
    );
    let complete = send(&mut up, now());
    assert_eq!(line(&complete), "POST uploadId=U1");
}

#[test]
fn a_checkpoint_is_refused() {
    let (bucket, key) = names();
    let options = UploadOptions::new().checkpoint("cp");
    let refused = StreamUpload::<Error>::new(&bucket, &key, &options, RetryPolicy::none(), 1);
    assert!(matches!(refused, Err(Error::InvalidArgument(_))));
}

#[test]
fn a_completion_answered_203_is_stored_and_never_aborted() {
    let bytes = source(PART + 1);
    let options = UploadOptions::new()
        .part_size(PART as u64)
        .callback(callback());
    let mut up = upload(&options, RetryPolicy::default());
    initiate(&mut up, bytes[..PART].to_vec(), bytes[PART..].to_vec());
    let (p1, p2) = (send(&mut up, now()), send(&mut up, now()));
    up.on_answer(
        p1.id,
        answer(200, &[("etag", "\"P1\"")], b"", &bytes[..PART]),
    );
    up.on_answer(
        p2.id,
        answer(200, &[("etag", "\"P2\"")], b"", &bytes[PART..]),
    );
    let complete = send(&mut up, now());
    assert_eq!(line(&complete), "POST uploadId=U1");
    let xml = "<Error><Code>CallbackFailed</Code><Message>Error status : 500.</Message></Error>";
    let crc = crate::crc64::checksum(&bytes).to_string();
    let headers = [("etag", "\"X-2\""), ("x-oss-hash-crc64ecma", crc.as_str())];
    up.on_answer(complete.id, answer(203, &headers, xml.as_bytes(), b""));
    // Done at once: no AbortMultipartUpload of a stored object.
    match done(&mut up) {
        Err(e) => assert!(e.callback_failed().is_some(), "{e}"),
        Ok(output) => panic!("{output:?}"),
    }
}
