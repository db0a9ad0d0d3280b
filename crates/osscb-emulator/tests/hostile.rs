//! Hostile and concurrent clients: PostObject authenticated before its file is
//! read, capped form fields, atomic `x-oss-forbid-overwrite`, and the header
//! read timeout against slow (slowloris) clients.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use http::Method;
use osscb_core::OssRequest;
use osscb_core::ops::GetObject;
use osscb_emulator::{Emulator, EmulatorConfig};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;

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
