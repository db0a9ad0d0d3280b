//! `--data-dir`: damaged entries (a crash, a stray edit) are skipped at
//! start-up instead of stopping the emulator, and rewrites leave no debris.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use osscb_core::ops::{GetObject, PutObject};
use osscb_emulator::{Emulator, EmulatorConfig};

fn start(dir: &Path) -> Emulator {
    Emulator::start(EmulatorConfig::new(ID, SECRET).data_dir(dir)).expect("start")
}

async fn put(emu: &Emulator, key: &str, data: &[u8]) {
    let op = PutObject::new(b("bucket"), k(key)).content_length(data.len() as u64);
    let r = send(emu.addr(), sign(emu, &op, data.to_vec(), &creds())).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn get(emu: &Emulator, key: &str) -> (u16, Vec<u8>) {
    let op = GetObject::new(b("bucket"), k(key));
    let r = send(emu.addr(), sign(emu, &op, vec![], &creds())).await;
    (r.status, r.body)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

/// The metadata file of object `key` (found by its content, not its name).
fn json_of(dir: &Path, key: &str) -> PathBuf {
    let needle = format!("\"key\":\"{key}\"");
    files(&dir.join("objects"))
        .into_iter()
        .find(|p| {
            p.extension().is_some_and(|e| e == "json")
                && std::fs::read_to_string(p).is_ok_and(|t| t.contains(&needle))
        })
        .unwrap_or_else(|| panic!("no metadata for {key}"))
}

/// The files of an object other than its metadata: its data.
fn data_of(json: &Path) -> Vec<PathBuf> {
    let stem = json
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("stem")
        .to_owned();
    files(json.parent().expect("parent"))
        .into_iter()
        .filter(|p| {
            p != json
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{stem}.")))
        })
        .collect()
}

/// Three objects and an upload written, the emulator stopped.
async fn populated(name: &str) -> (PathBuf, String) {
    let dir = temp_dir(name);
    let emu = start(&dir);
    put(&emu, "damaged", b"one").await;
    put(&emu, "fine", b"two").await;
    put(&emu, "also-fine", b"three").await;
    let request = sign_request(&emu, &initiate_request("mp"), &creds());
    let id = element(&send(emu.addr(), request).await.text(), "UploadId").to_owned();
    emu.shutdown();
    (dir, id)
}

/// The emulator over `dir` serves the undamaged objects, not `damaged`,
/// takes new writes to it, and keeps them across a restart.
async fn serves_the_rest(dir: &Path) {
    let emu = start(dir);
    assert_eq!(get(&emu, "fine").await, (200, b"two".to_vec()));
    assert_eq!(get(&emu, "also-fine").await, (200, b"three".to_vec()));
    assert_eq!(get(&emu, "damaged").await.0, 404);
    put(&emu, "damaged", b"again").await;
    emu.shutdown();
    let emu = start(dir);
    assert_eq!(get(&emu, "damaged").await, (200, b"again".to_vec()));
    assert_eq!(get(&emu, "fine").await, (200, b"two".to_vec()));
}

#[tokio::test]
async fn a_missing_data_file_skips_that_object_only() {
    let (dir, id) = populated("lost-data").await;
    let data = data_of(&json_of(&dir, "damaged"));
    assert_eq!(data.len(), 1, "{data:?}");
    std::fs::remove_file(&data[0]).expect("remove data");
    serves_the_rest(&dir).await;
    assert_eq!(start(&dir).multipart_uploads(), vec![id]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn corrupt_metadata_skips_that_object_or_upload_only() {
    let (dir, _) = populated("corrupt-meta").await;
    std::fs::write(
        json_of(&dir, "damaged"),
        b"{\"bucket\":\"bucket\",\"key\":\"damaged\",\"et",
    )
    .expect("corrupt");
    for upload in files(&dir.join("uploads")) {
        std::fs::write(upload.join("upload.json"), b"not json").expect("corrupt upload");
    }
    serves_the_rest(&dir).await;
    assert_eq!(start(&dir).multipart_uploads(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_missing_part_file_skips_that_part_only() {
    let dir = temp_dir("parts");
    let emu = start(&dir);
    let id = {
        let request = sign_request(&emu, &initiate_request("mp"), &creds());
        let r = send(emu.addr(), request).await;
        element(&r.text(), "UploadId").to_owned()
    };
    for n in [1, 2] {
        let request = sign_request(
            &emu,
            &upload_part_request("mp", &id, n, format!("part{n}").as_bytes()),
            &creds(),
        );
        assert_eq!(send(emu.addr(), request).await.status, 200);
    }
    emu.shutdown();
    let upload = files(&dir.join("uploads"))
        .pop()
        .expect("one upload directory");
    let part2: Vec<PathBuf> = files(&upload)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("part-2") && !n.ends_with(".json"))
        })
        .collect();
    assert_eq!(part2.len(), 1, "{part2:?}");
    std::fs::remove_file(&part2[0]).expect("remove part data");

    let emu = start(&dir);
    assert_eq!(emu.multipart_uploads(), vec![id.clone()]);
    let request = sign_request(&emu, &list_parts_request("mp", &id, 10), &creds());
    let r = send(emu.addr(), request).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("<PartNumber>1</PartNumber>"),
        "{}",
        r.text()
    );
    assert!(
        !r.text().contains("<PartNumber>2</PartNumber>"),
        "{}",
        r.text()
    );
    drop(emu);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn rewrites_leave_one_metadata_and_one_data_file() {
    let dir = temp_dir("rewrite");
    let emu = start(&dir);
    for body in [&b"first"[..], b"second", b"third"] {
        put(&emu, "k", body).await;
    }
    emu.shutdown();
    // A temp file a crash left behind is not an object and is cleaned up.
    std::fs::write(dir.join("objects").join("crashed.tmp"), b"half").expect("tmp");
    let emu = start(&dir);
    assert_eq!(get(&emu, "k").await, (200, b"third".to_vec()));
    let json = json_of(&dir, "k");
    assert_eq!(data_of(&json).len(), 1);
    assert_eq!(
        files(&dir.join("objects")).len(),
        2,
        "{:?}",
        files(&dir.join("objects"))
    );
    drop(emu);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bodies larger than what is kept in memory (1 MiB) stream to
/// `incoming/` and move into place: a large object and the large parts of
/// an upload survive a restart, the upload completes after it, and nothing
/// is left in `incoming/` (a body cut off by a crash is removed at start).
#[tokio::test]
async fn large_objects_and_parts_survive_a_restart() {
    let dir = temp_dir("large");
    let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
    let emu = start(&dir);
    put(&emu, "big", &big).await;
    let id = {
        let request = sign_request(&emu, &initiate_request("mp"), &creds());
        element(&send(emu.addr(), request).await.text(), "UploadId").to_owned()
    };
    let (one, two) = big.split_at(2 * 1024 * 1024);
    let mut etags = Vec::new();
    for (n, part) in [(1, one), (2, two)] {
        let request = sign_request(&emu, &upload_part_request("mp", &id, n, part), &creds());
        let r = send(emu.addr(), request).await;
        assert_eq!(r.status, 200, "{}", r.text());
        etags.push(r.header("etag").to_owned());
    }
    emu.shutdown();
    std::fs::write(dir.join("incoming").join("cut-off.tmp"), b"half").expect("tmp");

    let emu = start(&dir);
    assert!(files(&dir.join("incoming")).is_empty());
    assert_eq!(get(&emu, "big").await, (200, big.clone()));
    let parts = [(1, etags[0].as_str()), (2, etags[1].as_str())];
    let request = sign_request(&emu, &complete_request("mp", &id, &parts, None), &creds());
    let r = send(emu.addr(), request).await;
    assert_eq!(r.status, 200, "{}", r.text());
    emu.shutdown();

    let emu = start(&dir);
    assert_eq!(get(&emu, "mp").await, (200, big));
    assert!(files(&dir.join("incoming")).is_empty());
    assert!(files(&dir.join("uploads")).is_empty());
    drop(emu);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One emulator per data directory: a second one is refused with a clear
/// error (it would clear the first one's incoming bodies), and starts once
/// the first has stopped.
#[test]
fn a_data_directory_serves_one_emulator_at_a_time() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = || EmulatorConfig::new("id", "secret").data_dir(dir.path());
    let first = Emulator::start(config()).unwrap_or_else(|e| panic!("{e}"));
    let Err(refused) = Emulator::start(config()) else {
        panic!("a second emulator on the same directory")
    };
    assert!(
        refused.to_string().contains("in use by another emulator"),
        "{refused}"
    );
    drop(first);
    Emulator::start(config()).unwrap_or_else(|e| panic!("{e}"));
}
