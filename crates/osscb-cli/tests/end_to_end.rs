//! `osscb` end to end: the built binary, run as a child process against an
//! emulator started here, with a loopback callback receiver; each test
//! asserts exit codes and exact output lines, and that the README shows the
//! commands it runs.

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;

use osscb_core::crc64;
use support::{ANSWER, BUCKET, Receiver, Run, World, bare_osscb, data, readme};

/// Asserts the README shows `command` (with its placeholders) verbatim.
fn readme_shows(command: &str) {
    assert!(
        readme().contains(command),
        "the README does not show {command:?}"
    );
}

/// `uploaded FILE to oss://…: ETag "`, then `", CRC-64 N, request id …`.
fn assert_uploaded(stderr: &str, file: &str, to: &str, bytes: &[u8]) {
    let line = stderr.trim_end();
    assert!(!line.contains('\n'), "one line: {stderr}");
    let prefix = format!("uploaded {file} to {to}: ETag \"");
    assert!(line.starts_with(&prefix), "{stderr}");
    let crc = format!("\", CRC-64 {}, request id ", crc64::checksum(bytes));
    assert!(line.contains(&crc), "{stderr}");
}

#[test]
fn cp_uploads_with_a_callback_prints_the_answer_and_cat_reads_it_back() {
    readme_shows(
        "osscb cp photo.jpg oss://examplebucket/photos/photo.jpg --callback-url https://app.example.com/oss-callback --callback-body 'bucket=${bucket}&object=${object}&uid=${x:uid}' --callback-var x:uid=42",
    );
    readme_shows("osscb cat oss://examplebucket/photos/photo.jpg > copy.jpg");
    let world = World::new();
    let receiver = Receiver::start();
    let bytes = data(1000);
    std::fs::write(world.path("photo.jpg"), &bytes).expect("write");
    let to = format!("oss://{BUCKET}/photos/photo.jpg");
    let run = world.run(&[
        "cp",
        "photo.jpg",
        &to,
        "--callback-url",
        &receiver.url,
        "--callback-body",
        "bucket=${bucket}&object=${object}&uid=${x:uid}",
        "--callback-var",
        "x:uid=42",
    ]);
    run.expect_code(0);
    assert_eq!(run.stdout, format!("{ANSWER}\n"));
    assert_uploaded(&run.stderr, "photo.jpg", &to, &bytes);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let request = String::from_utf8_lossy(&received[0]).into_owned();
    assert!(
        request.ends_with("\r\n\r\nbucket=clibucket&object=photos%2Fphoto.jpg&uid=42"),
        "{request}"
    );

    let cat = world.osscb(&["cat", &to]).output().expect("osscb runs");
    assert_eq!(cat.status.code(), Some(0));
    assert_eq!(cat.stdout, bytes);
    assert!(cat.stderr.is_empty());
}

#[test]
fn cp_downloads_into_a_file() {
    readme_shows("osscb cp oss://examplebucket/photos/photo.jpg copy.jpg");
    let world = World::new();
    let bytes = data(5000);
    std::fs::write(world.path("a.bin"), &bytes).expect("write");
    let to = format!("oss://{BUCKET}/a.bin");
    world.run(&["cp", "a.bin", &to]).expect_code(0);
    let run = world.run(&["cp", &to, "copy.bin"]);
    run.expect_code(0);
    assert_eq!(std::fs::read(world.path("copy.bin")).expect("read"), bytes);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.starts_with(&format!(
            "downloaded {to} to copy.bin (5000 bytes): ETag \""
        )),
        "{run:?}"
    );
    // Into directories, as ossutil does it; the endpoint given as a flag.
    readme_shows("osscb cp notes.txt oss://examplebucket/docs/");
    let endpoint = world.emulator.endpoint();
    let mut command = world.osscb(&["cp", "a.bin", &format!("oss://{BUCKET}/docs/")]);
    let run = Run::of(
        command
            .env_remove("OSS_ENDPOINT")
            .args(["--endpoint", &endpoint])
            .output()
            .expect("osscb runs"),
    );
    run.expect_code(0);
    assert_uploaded(
        &run.stderr,
        "a.bin",
        &format!("oss://{BUCKET}/docs/a.bin"),
        &bytes,
    );
    std::fs::create_dir(world.path("out")).expect("mkdir");
    let from = format!("oss://{BUCKET}/docs/a.bin");
    world.run(&["cp", &from, "out"]).expect_code(0);
    assert_eq!(std::fs::read(world.path("out/a.bin")).expect("read"), bytes);
}

#[test]
fn a_large_file_goes_in_parts_and_a_rerun_resumes_from_the_checkpoint() {
    readme_shows("osscb cp big.iso oss://examplebucket/big.iso --part-size 8388608");
    let world = World::new();
    let receiver = Receiver::start();
    let bytes = data(300 * 1024);
    std::fs::write(world.path("big.bin"), &bytes).expect("write");
    let to = format!("oss://{BUCKET}/big.bin");
    let args = [
        "cp",
        "big.bin",
        &to,
        "--part-size",
        "102400",
        "--parallelism",
        "1",
        "--callback-url",
        &receiver.url,
    ];
    // InitiateMultipartUpload, part 1, then part 2 is refused.
    world.emulator.faults().fail_nth(3, 403);
    let first = world.run(&args);
    first.expect_code(1);
    assert!(first.stdout.is_empty());
    assert!(
        first
            .stderr
            .trim_end()
            .ends_with("(run the same command again to resume from big.bin.osscb-checkpoint)"),
        "{first:?}"
    );
    assert!(world.path("big.bin.osscb-checkpoint").exists());
    assert_eq!(world.emulator.upload_part_requests(), 1);

    let second = world.run(&args);
    second.expect_code(0);
    assert_eq!(second.stdout, format!("{ANSWER}\n"));
    let (resuming, uploaded) = second.stderr.split_once('\n').expect("two lines");
    assert_eq!(resuming, "resuming from big.bin.osscb-checkpoint");
    assert_uploaded(uploaded, "big.bin", &to, &bytes);
    // Part 1 was not sent again.
    assert_eq!(world.emulator.upload_part_requests(), 3);
    assert!(!world.path("big.bin.osscb-checkpoint").exists());
    assert_eq!(receiver.received().len(), 1);
    let cat = world.osscb(&["cat", &to]).output().expect("osscb runs");
    assert_eq!(cat.stdout, bytes);
}

#[test]
fn a_203_exits_3_saying_the_object_is_stored() {
    let world = World::new();
    let receiver = Receiver::start();
    receiver.answer_with(500);
    let bytes = data(100);
    std::fs::write(world.path("a.txt"), &bytes).expect("write");
    let to = format!("oss://{BUCKET}/a.txt");
    let run = world.run(&["cp", "a.txt", &to, "--callback-url", &receiver.url]);
    run.expect_code(3);
    assert!(run.stdout.is_empty());
    let line = run.stderr.trim_end();
    assert!(line.starts_with("osscb: stored as ETag \""), "{run:?}");
    let crc = format!("\", CRC-64 {}, request id ", crc64::checksum(&bytes));
    assert!(line.contains(&crc), "{run:?}");
    assert!(
        line.ends_with("; the callback failed: Error status : 500."),
        "{run:?}"
    );
    // It is stored indeed.
    let cat = world.osscb(&["cat", &to]).output().expect("osscb runs");
    assert_eq!(cat.stdout, bytes);
}

#[test]
fn a_lost_answer_exits_4_saying_the_object_may_be_stored() {
    let world = World::new();
    let receiver = Receiver::start();
    std::fs::write(world.path("a.txt"), data(100)).expect("write");
    let to = format!("oss://{BUCKET}/a.txt");
    world.emulator.faults().lose_response_next(1);
    let run = world.run(&["cp", "a.txt", &to, "--callback-url", &receiver.url]);
    run.expect_code(4);
    assert!(run.stdout.is_empty());
    let line = run.stderr.trim_end();
    assert!(
        line.starts_with("osscb: the object was stored (ETag \""),
        "{run:?}"
    );
    assert!(
        line.ends_with(
            "but OSS's answer, with the upload callback's, was lost in transit. Do not upload it again blindly (a second upload calls the application server again); look at the object first (osscb cat)"
        ),
        "{run:?}"
    );
    // The application server saw the one callback.
    assert_eq!(receiver.received().len(), 1);
}

#[test]
fn presign_gives_urls_that_download_and_upload_with_a_callback() {
    readme_shows("osscb presign --expires 15m oss://examplebucket/photos/photo.jpg");
    readme_shows(
        "osscb presign --method put --expires 1h --callback-url https://app.example.com/oss-callback oss://examplebucket/uploads/new.jpg",
    );
    let world = World::new();
    let receiver = Receiver::start();
    let bytes = data(2000);
    std::fs::write(world.path("a.bin"), &bytes).expect("write");
    let object = format!("oss://{BUCKET}/a.bin");
    world.run(&["cp", "a.bin", &object]).expect_code(0);

    let get = world.run(&["presign", "--expires", "15m", &object]);
    get.expect_code(0);
    assert!(get.stderr.is_empty(), "{get:?}");
    let url = get.stdout.strip_suffix('\n').expect("one line");
    assert!(!url.contains('\n'));
    assert!(url.starts_with(&format!("{}/{BUCKET}/a.bin?", world.emulator.endpoint())));
    let mut answer = ureq::get(url).call().expect("GET");
    let body = answer.body_mut().read_to_vec().expect("body");
    assert_eq!(body, bytes);

    let upload = format!("oss://{BUCKET}/uploads/new.bin");
    let put = world.run(&[
        "presign",
        "--method",
        "put",
        "--expires",
        "1h",
        "--callback-url",
        &receiver.url,
        &upload,
    ]);
    put.expect_code(0);
    let url = put.stdout.strip_suffix('\n').expect("one line");
    assert!(url.contains("callback="), "{url}");
    let mut request = ureq::put(url);
    for line in put.stderr.lines() {
        let (name, value) = line.split_once(": ").expect("NAME: VALUE");
        request = request.header(name, value);
    }
    let mut answer = request.send(&b"uploaded"[..]).expect("PUT");
    let text = answer.body_mut().read_to_string().expect("answer");
    assert_eq!(text, ANSWER);
    assert_eq!(receiver.received().len(), 1);
    let cat = world.osscb(&["cat", &upload]).output().expect("osscb runs");
    assert_eq!(cat.stdout, b"uploaded");
}

#[test]
fn verify_checks_a_captured_callback_and_says_why_one_fails() {
    readme_shows("osscb verify --request callback.http");
    readme_shows(
        "osscb verify --request callback.json --trust-key-url-prefix http://127.0.0.1:9000/",
    );
    let world = World::new();
    let receiver = Receiver::start();
    std::fs::write(world.path("a.txt"), data(10)).expect("write");
    let to = format!("oss://{BUCKET}/a.txt");
    let run = world.run(&[
        "cp",
        "a.txt",
        &to,
        "--callback-url",
        &receiver.url,
        "--callback-body",
        "object=${object}&uid=${x:uid}",
        "--callback-var",
        "x:uid=42",
    ]);
    run.expect_code(0);
    let raw = receiver.received().remove(0);
    std::fs::write(world.path("callback.http"), &raw).expect("write");
    let prefix = world.key_prefix();

    // Genuine: the body's fields on stdout.
    let ok = world.run(&[
        "verify",
        "--request",
        "callback.http",
        "--trust-key-url-prefix",
        &prefix,
    ]);
    ok.expect_code(0);
    assert_eq!(ok.stdout, "{\"object\":\"a.txt\",\"uid\":\"42\"}\n");
    assert_eq!(
        ok.stderr,
        "the callback verifies: OSS's signature checks out\n"
    );

    // By default only OSS's key host is trusted.
    let untrusted = world.run(&["verify", "--request", "callback.http"]);
    untrusted.expect_code(1);
    assert!(untrusted.stdout.is_empty());
    assert_eq!(
        untrusted.stderr,
        format!(
            "osscb: the callback does not verify: untrusted public key URL {:?}; only OSS's key host is trusted unless --trust-key-url-prefix names the key's (an emulator's endpoint followed by /)\n",
            world.emulator.public_key_url()
        )
    );

    // Tampered: the same length, another uid.
    let text = String::from_utf8(raw.clone()).expect("text");
    let tampered = text.replace("uid=42", "uid=43");
    std::fs::write(world.path("tampered.http"), tampered).expect("write");
    let bad = world.run(&[
        "verify",
        "--request",
        "tampered.http",
        "--trust-key-url-prefix",
        &prefix,
    ]);
    bad.expect_code(1);
    assert_eq!(
        bad.stderr,
        "osscb: the callback does not verify: the callback signature does not match; OSS signs the URL-decoded path, the query and the body exactly as sent: checked path \"/oss-callback\", query \"from=cli\", a body of 19 bytes\n"
    );

    // The same capture as JSON.
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let mut headers = serde_json::Map::new();
    for line in head.lines().skip(1) {
        let (name, value) = line.split_once(':').expect("header");
        headers.insert(name.trim().to_owned(), value.trim().into());
    }
    let json = serde_json::json!({
        "method": "POST",
        "path": "/oss-callback",
        "query": "from=cli",
        "headers": headers,
        "body": body,
    });
    std::fs::write(world.path("callback.json"), json.to_string()).expect("write");
    let ok = world.run(&[
        "verify",
        "--request",
        "callback.json",
        "--trust-key-url-prefix",
        &prefix,
    ]);
    ok.expect_code(0);
    assert_eq!(ok.stdout, "{\"object\":\"a.txt\",\"uid\":\"42\"}\n");

    // A capture cut short.
    let cut = &raw[..raw.len() - 3];
    std::fs::write(world.path("cut.http"), cut).expect("write");
    let run = world.run(&["verify", "--request", "cut.http"]);
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        "osscb: cut.http: the body has 16 bytes, fewer than its Content-Length 19: the capture is cut short\n"
    );
}

#[test]
fn the_emulator_subcommand_serves_until_sigterm() {
    readme_shows("osscb emulator --access-key-id my-id --access-key-secret my-secret");
    let dir = tempfile::tempdir().expect("temp dir");
    let child = bare_osscb(
        dir.path(),
        &[
            "emulator",
            "--access-key-id",
            "my-id",
            "--access-key-secret",
            "my-secret",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("osscb emulator starts");
    // Killed on the way out, whatever happens.
    let mut child = support::Killed(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("a line");
    let rest = line
        .strip_prefix("osscb-emulator listening on ")
        .expect("the listening line");
    let (endpoint, key) = rest.split_once(" (callback public key: ").expect("key");
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{line}");
    assert_eq!(
        key.trim_end(),
        format!("{endpoint}/__osscb/callback_pub_key.pem)")
    );

    // The other subcommands work against it.
    std::fs::write(dir.path().join("a.txt"), b"hello").expect("write");
    let run = |args: &[&str]| {
        let output = bare_osscb(dir.path(), args)
            .env("OSS_ENDPOINT", endpoint)
            .env("OSS_ACCESS_KEY_ID", "my-id")
            .env("OSS_ACCESS_KEY_SECRET", "my-secret")
            .output()
            .expect("osscb runs");
        support::Run::of(output)
    };
    run(&["cp", "a.txt", "oss://mybucket/a.txt"]).expect_code(0);
    let cat = run(&["cat", "oss://mybucket/a.txt"]);
    cat.expect_code(0);
    assert_eq!(cat.stdout, "hello");

    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.0.wait().expect("exits");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn usage_and_configuration_errors_have_their_exit_codes() {
    let world = World::new();
    let run = world.run(&["cp", "a.txt", "b.txt"]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "osscb: cp copies a local file to oss://bucket/key, or oss://bucket/key to a local file\n"
    );
    let run = world.run(&["cat", "oss://bucket"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .starts_with("error: invalid value 'oss://bucket' for '<OBJECT>': \"oss://bucket\" is not oss://bucket/key"),
        "{run:?}"
    );
    let run = world.run(&[
        "presign",
        "--callback-url",
        "http://127.0.0.1:9/",
        "oss://mybucket/k",
    ]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "osscb: --callback-url and --content-type go with --method put\n"
    );
    let run = world.run(&[
        "cp",
        "missing.txt",
        "oss://mybucket/k",
        "--callback-url",
        "http://127.0.0.1:9/",
        "--callback-var",
        "uid=42",
    ]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "osscb: invalid callback: invalid callback variable name \"uid\": it must start with \"x:\" and be lowercase letters, digits, '_', '-' or '.'\n"
    );
    let run = world.run(&["cp", "missing.txt", "oss://mybucket/k"]);
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        "osscb: missing.txt: No such file or directory (os error 2)\n"
    );
    let run = world.run(&["cat", "oss://mybucket/none"]);
    run.expect_code(1);
    assert!(run.stderr.starts_with("osscb: "), "{run:?}");
    assert!(run.stderr.contains("NoSuchKey"), "{run:?}");

    // Nothing configured: the libraries' message.
    let run = support::Run::of(
        bare_osscb(world.dir.path(), &["cat", "oss://mybucket/k"])
            .output()
            .expect("osscb runs"),
    );
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        "osscb: environment variable OSS_ENDPOINT is not set\n"
    );
    // The exit codes are documented.
    let help = support::Run::of(
        bare_osscb(world.dir.path(), &["--help"])
            .output()
            .expect("osscb runs"),
    );
    help.expect_code(0);
    assert!(
        help.stdout
            .contains("  3  the object was stored, but its upload callback failed (HTTP 203)\n"),
        "{help:?}"
    );
}

#[test]
fn a_download_damaged_on_the_way_fails_and_leaves_the_file_as_it_was() {
    let world = World::new();
    let bytes = data(3000);
    std::fs::write(world.path("a.bin"), &bytes).expect("write");
    let object = format!("oss://{BUCKET}/a.bin");
    world.run(&["cp", "a.bin", &object]).expect_code(0);

    let reported = format!(", OSS reported {}", crc64::checksum(&bytes));
    world.emulator.faults().corrupt_body_next(1);
    let cat = world.osscb(&["cat", &object]).output().expect("osscb runs");
    assert_eq!(cat.status.code(), Some(1));
    assert_eq!(cat.stdout.len(), bytes.len(), "streamed as it came");
    assert_ne!(cat.stdout, bytes);
    let stderr = String::from_utf8_lossy(&cat.stderr);
    let line = stderr.trim_end();
    assert!(
        line.starts_with(&format!("osscb: {object}: CRC-64 mismatch: computed ")),
        "{line}"
    );
    assert!(
        line.ends_with(&format!(
            "{reported}; what was written is damaged: discard it"
        )),
        "{line}"
    );

    // cp puts nothing in place.
    std::fs::write(world.path("old.bin"), b"old").expect("write");
    world.emulator.faults().corrupt_body_next(1);
    let cp = world.run(&["cp", &object, "old.bin"]);
    cp.expect_code(1);
    assert!(cp.stderr.starts_with("osscb: CRC-64 mismatch: computed "));
    assert!(cp.stderr.ends_with(&format!("{reported}\n")), "{cp:?}");
    assert_eq!(std::fs::read(world.path("old.bin")).expect("read"), b"old");
}
