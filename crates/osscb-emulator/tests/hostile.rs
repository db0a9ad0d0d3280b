//! Hostile and concurrent clients: PostObject authenticated before its file is
//! read, capped form fields, atomic `x-oss-forbid-overwrite`, and the header
//! read timeout against slow (slowloris) clients.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use http::Method;
use osscb_core::OssRequest;
use osscb_core::ops::GetObject;
use osscb_core::sign::v1;
use osscb_emulator::{Emulator, EmulatorConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const BOUNDARY: &str = "----osscbHostile";
/// What the hostile clients claim to send: far more than the test lets them.
const DECLARED: u64 = 4 * 1024 * 1024 * 1024;
/// The most a client writes before giving up (and holding the connection open).
const WRITE_CAP: u64 = 128 * 1024 * 1024;
/// A refusal must come before the client has written this much.
const SENT_BOUND: u64 = 48 * 1024 * 1024;
/// And within this time.
const TIME_BOUND: Duration = Duration::from_secs(10);

fn field(name: &str, value: &str) -> String {
    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
}

fn file_head() -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
}

/// What the server answered, and how many body bytes the client had written
/// when the answer's first bytes arrived.
struct Refusal {
    status: u16,
    text: String,
    sent_before_answer: u64,
    elapsed: Duration,
}

/// POSTs a form to `/bucket/` over a raw connection: the request head,
/// `prefix`, then zeros claiming `DECLARED` bytes, written in 64 KiB chunks
/// (at most `WRITE_CAP`) while the answer is awaited. The body is never
/// materialised; the connection stays open until the answer (or the bound).
async fn post_streaming(addr: SocketAddr, prefix: String) -> Refusal {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let sent = Arc::new(AtomicU64::new(0));
    let head = format!(
        "POST /bucket/ HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        prefix.len() as u64 + DECLARED
    );
    let counter = Arc::clone(&sent);
    let writer = tokio::spawn(async move {
        if wr.write_all(head.as_bytes()).await.is_err() {
            return wr;
        }
        if wr.write_all(prefix.as_bytes()).await.is_err() {
            return wr;
        }
        counter.fetch_add(prefix.len() as u64, Ordering::SeqCst);
        let chunk = vec![0u8; 64 * 1024];
        while counter.load(Ordering::SeqCst) < WRITE_CAP {
            if wr.write_all(&chunk).await.is_err() {
                break;
            }
            counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
        wr
    });
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut sent_before_answer = None;
    let mut buf = vec![0u8; 16 * 1024];
    let read = tokio::time::timeout(TIME_BOUND, async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    sent_before_answer.get_or_insert_with(|| sent.load(Ordering::SeqCst));
                    answer.extend_from_slice(&buf[..n]);
                    if complete_response(&answer) {
                        break;
                    }
                }
            }
        }
    })
    .await;
    let elapsed = started.elapsed();
    writer.abort();
    assert!(
        read.is_ok(),
        "no complete answer within {TIME_BOUND:?} ({} bytes sent, got {:?})",
        sent.load(Ordering::SeqCst),
        String::from_utf8_lossy(&answer)
    );
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    Refusal {
        status,
        text,
        sent_before_answer: sent_before_answer.unwrap_or(u64::MAX),
        elapsed,
    }
}

/// Whether `raw` holds a whole response (head and `Content-Length` body).
fn complete_response(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    body.len() >= length
}

fn policy() -> String {
    STANDARD.encode(r#"{"expiration":"2099-01-01T00:00:00.000Z","conditions":[]}"#)
}

fn assert_bounded(r: &Refusal) {
    assert!(
        r.sent_before_answer < SENT_BOUND,
        "answered only after {} bytes",
        r.sent_before_answer
    );
    assert!(r.elapsed < TIME_BOUND, "{:?}", r.elapsed);
}

#[tokio::test]
async fn post_object_with_a_bad_signature_is_refused_before_the_file_is_read() {
    let emu = emulator();
    let policy = policy();
    let prefix = [
        field("key", "huge.bin"),
        field("policy", &policy),
        field("OSSAccessKeyId", ID),
        field("Signature", &v1::signature("not-the-secret", &policy)),
        file_head(),
    ]
    .concat();
    let r = post_streaming(emu.addr(), prefix).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(
        r.text.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{}",
        r.text
    );
    assert_bounded(&r);

    // A form without any credentials is refused as early.
    let prefix = [field("key", "anon.bin"), file_head()].concat();
    let r = post_streaming(emu.addr(), prefix).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("<Code>AccessDenied</Code>"), "{}", r.text);
    assert_bounded(&r);

    // Nothing was stored, and the emulator still serves.
    let get = GetObject::new(b("bucket"), k("huge.bin"));
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn post_object_fields_over_the_cap_are_refused_with_400() {
    let emu = emulator();
    let policy = policy();
    // Well-signed, but one field alone is larger than the 64 KiB fields cap.
    let prefix = [
        field("key", "big-fields.bin"),
        field("policy", &policy),
        field("OSSAccessKeyId", ID),
        field("Signature", &v1::signature(SECRET, &policy)),
        field("x-oss-meta-big", &"a".repeat(70 * 1024)),
        file_head(),
    ]
    .concat();
    let r = post_streaming(emu.addr(), prefix).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text.contains("<Code>MalformedPOSTRequest</Code>"),
        "{}",
        r.text
    );
    assert!(r.text.contains("65536"), "{}", r.text);
    assert_bounded(&r);

    // Many small fields add up the same way.
    let mut many = vec![field("key", "many.bin")];
    for i in 0..2000 {
        many.push(field(&format!("x:v{i}"), &"b".repeat(40)));
    }
    many.push(file_head());
    let r = post_streaming(emu.addr(), many.concat()).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_bounded(&r);

    // A field that never ends (the zeros that follow are its value).
    let r = post_streaming(
        emu.addr(),
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\n"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_bounded(&r);

    // A part header that never ends.
    let r = post_streaming(
        emu.addr(),
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"policy\"\r\nX-Pad: "),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_bounded(&r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_forbid_overwrite_puts_store_exactly_one() {
    const N: usize = 16;
    const ROUNDS: usize = 4;
    for data_dir in [false, true] {
        let dir = temp_dir("forbid");
        let mut config = EmulatorConfig::new(ID, SECRET);
        if data_dir {
            config = config.data_dir(&dir);
        }
        let emu = Arc::new(Emulator::start(config).expect("start"));
        for round in 0..ROUNDS {
            let key = format!("once-{round}");
            let barrier = Arc::new(tokio::sync::Barrier::new(N));
            let mut tasks = Vec::new();
            for i in 0..N {
                let (emu, barrier, key) = (Arc::clone(&emu), Arc::clone(&barrier), key.clone());
                tasks.push(tokio::spawn(async move {
                    let data = vec![u8::try_from(i).expect("small"); 2 * 1024 * 1024];
                    let mut put = OssRequest::new(Method::PUT, b("bucket"), Some(k(&key)), data);
                    put.set_header_str("content-length", &(2 * 1024 * 1024).to_string())
                        .expect("content-length");
                    put.set_header_str("x-oss-forbid-overwrite", "true")
                        .expect("forbid");
                    let request = sign_request(&emu, &put, &creds());
                    barrier.wait().await;
                    let r = send(emu.addr(), request).await;
                    (i, r.status, r.header("etag").to_owned(), r.text())
                }));
            }
            let mut ok = Vec::new();
            let mut conflicts = 0;
            for task in tasks {
                let (i, status, etag, text) = task.await.expect("task");
                match status {
                    200 => ok.push((i, etag)),
                    409 => {
                        assert!(text.contains("<Code>FileAlreadyExists</Code>"), "{text}");
                        conflicts += 1;
                    }
                    other => panic!("unexpected {other}: {text}"),
                }
            }
            assert_eq!(
                (ok.len(), conflicts),
                (1, N - 1),
                "data_dir {data_dir}, round {round}: {ok:?}"
            );
            let get = GetObject::new(b("bucket"), k(&key));
            let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
            assert_eq!(
                r.header("etag"),
                ok[0].1,
                "the stored object is the winner's"
            );
            assert_eq!(r.body.first().copied(), u8::try_from(ok[0].0).ok());
        }
        drop(emu);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off_by_the_header_read_timeout() {
    let emu = Emulator::start(
        EmulatorConfig::new(ID, SECRET).header_read_timeout(Duration::from_millis(300)),
    )
    .expect("start");
    let held = slowloris(emu.addr(), Duration::from_secs(5)).await;
    let held = held.expect("the connection is still open after 5 s");
    assert!(held >= Duration::from_millis(250), "{held:?}");
    assert!(held < Duration::from_secs(3), "{held:?}");

    // An idle connection (no byte at all) is closed the same way.
    let mut idle = TcpStream::connect(emu.addr()).await.expect("connect");
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(3), idle.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0) | Err(_))),
        "idle connection: {closed:?}"
    );

    // Prompt clients are served as before.
    let get = GetObject::new(b("bucket"), k("k"));
    let r = send(emu.addr(), sign(&emu, &get, vec![], &creds())).await;
    assert_eq!(r.status, 404);
}

#[test]
fn the_header_read_timeout_defaults_to_ten_seconds() {
    let config = EmulatorConfig::new(ID, SECRET);
    assert!(
        format!("{config:?}").contains("header_read_timeout: 10s"),
        "{config:?}"
    );
}
