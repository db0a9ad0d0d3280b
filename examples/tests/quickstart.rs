//! The README's commands, run as written from the repository root, offline
//! (embedded emulator): the quickstart `cargo run --example
//! put_object_callback` and its failure path (HTTP 203: stored, callback
//! failed), `upload_file`, `async_put`, `callback_server` and the emulator.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the examples live in the repository root")
}

/// `cargo ARGS` from the repository root, without the variables cargo sets
/// for this test: they would look like changed build inputs to build scripts
/// (ring's tracks CARGO_MANIFEST_DIR) and rebuild.
fn cargo(args: &[&str]) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    for (var, _) in std::env::vars_os() {
        let var = var.to_string_lossy();
        let set_for_tests = [
            "CARGO_MANIFEST_",
            "CARGO_PKG_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
        ];
        if set_for_tests.iter().any(|p| var.starts_with(p)) {
            command.env_remove(var.as_ref());
        }
    }
    command.args(args).current_dir(repo_root());
    command
}

/// `cargo run --example NAME`, as the README writes it.
/// `cargo run --example name`, whose embedded emulator (when it runs one)
/// keeps its data in a directory of its own: examples run in parallel here,
/// and an emulator's data directory is its alone.
fn cargo_run_example(name: &str) -> Command {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("embedded-{}-{run}", std::process::id()));
    let mut command = cargo(&["run", "--quiet", "--example", name]);
    command.env("OSSCB_EMULATOR_DATA_DIR", dir);
    command
}

#[test]
fn readme_quickstart_runs_as_written() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let first = readme
        .lines()
        .skip_while(|l| !l.starts_with("```sh"))
        .nth(1)
        .expect("a command block");
    assert_eq!(first, "cargo run --example put_object_callback");
    let output = cargo_run_example("put_object_callback")
        .env_remove("OSS_ENDPOINT")
        .env_remove("OSS_BUCKET")
        .env_remove("OSS_CALLBACK_URL")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let answer: serde_json::Value =
        serde_json::from_str(lines[0]).expect("the callback server's JSON");
    assert_eq!(answer["Status"], "OK");
    assert_eq!(answer["verified"], true);
    assert_eq!(answer["callback"]["bucket"], "examplebucket");
    assert_eq!(
        answer["callback"]["object"],
        "examplefiles/exampleobject.txt"
    );
    assert_eq!(lines[1], "Object uploaded with callback successfully.");
}

#[test]
fn a_failed_callback_exits_non_zero_saying_the_object_was_stored() {
    let emulator = osscb_emulator::Emulator::start(osscb_emulator::EmulatorConfig::new(
        "quickstart-id",
        "quickstart-secret",
    ))
    .expect("emulator");
    let output = cargo_run_example("put_object_callback")
        .env("OSS_ENDPOINT", emulator.endpoint())
        .env("OSS_ACCESS_KEY_ID", "quickstart-id")
        .env("OSS_ACCESS_KEY_SECRET", "quickstart-secret")
        .env_remove("OSS_SESSION_TOKEN")
        .env_remove("OSS_REGION")
        .env("OSS_BUCKET", "quickstart")
        .env("OSS_CALLBACK_URL", "http://127.0.0.1:9/unreachable")
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(
        stderr.contains("The object was stored (ETag \""),
        "{stderr}"
    );
    assert!(
        stderr.contains("but the upload callback failed: "),
        "{stderr}"
    );
}

#[test]
fn a_lost_answer_exits_non_zero_saying_the_object_was_stored_once() {
    let emulator = osscb_emulator::Emulator::start(osscb_emulator::EmulatorConfig::new(
        "quickstart-id",
        "quickstart-secret",
    ))
    .expect("emulator");
    // The example's PutObject is stored (its callback tried), then the
    // connection closes instead of answering.
    emulator.faults().lose_response_next(1);
    let output = cargo_run_example("put_object_callback")
        .env("OSS_ENDPOINT", emulator.endpoint())
        .env("OSS_ACCESS_KEY_ID", "quickstart-id")
        .env("OSS_ACCESS_KEY_SECRET", "quickstart-secret")
        .env_remove("OSS_SESSION_TOKEN")
        .env_remove("OSS_REGION")
        .env("OSS_BUCKET", "quickstart")
        .env("OSS_CALLBACK_URL", "http://127.0.0.1:9/unreachable")
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(
        stderr.contains("The object was stored (ETag \""),
        "{stderr}"
    );
    assert!(
        stderr.contains("its answer was lost in transit; the upload was not repeated."),
        "{stderr}"
    );
    assert_eq!(
        emulator.faults().requests_seen(),
        2,
        "the PutObject once, then HeadObject"
    );
}

fn readme() -> String {
    std::fs::read_to_string(repo_root().join("README.md")).expect("README.md")
}

/// Runs an example offline and returns its stdout lines, failing on a
/// non-zero exit.
fn run_offline(name: &str, args: &[&str]) -> Vec<String> {
    let output = cargo_run_example(name)
        .arg("--")
        .args(args)
        .env_remove("OSS_ENDPOINT")
        .env_remove("OSS_BUCKET")
        .env_remove("OSS_CALLBACK_URL")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout.lines().map(str::to_owned).collect()
}

fn verified_callback(line: &str) -> serde_json::Value {
    let answer: serde_json::Value = serde_json::from_str(line).expect("the callback server's JSON");
    assert_eq!(answer["verified"], true, "{line}");
    answer["callback"].clone()
}

#[test]
fn readme_upload_file_runs_as_written() {
    assert!(readme().contains("cargo run --example upload_file -- PATH [KEY]"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("readme-upload.bin");
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &content).expect("write");
    let path_text = path.to_str().expect("UTF-8 temp path");
    let lines = run_offline("upload_file", &[path_text, "readme/upload_file.bin"]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let callback = verified_callback(&lines[0]);
    assert_eq!(callback["object"], "readme/upload_file.bin");
    assert_eq!(callback["size"], "300000");
    assert_eq!(
        lines[1],
        format!("Uploaded {path_text} to readme/upload_file.bin.")
    );
}

#[test]
fn readme_async_put_runs_as_written() {
    assert!(readme().contains("cargo run --example async_put -- PATH..."));
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("readme-async-a.txt");
    let b = dir.path().join("readme-async-b.txt");
    std::fs::write(&a, b"first file").expect("write");
    std::fs::write(&b, vec![b'b'; 200_000]).expect("write");
    let (a, b) = (a.to_str().expect("UTF-8"), b.to_str().expect("UTF-8"));
    let mut lines = run_offline("async_put", &[a, b]);
    lines.sort();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, path, key, size) in [
        (&lines[0], a, "readme-async-a.txt", "10"),
        (&lines[1], b, "readme-async-b.txt", "200000"),
    ] {
        let json = line
            .strip_prefix(&format!("{path} -> {key}: "))
            .unwrap_or_else(|| panic!("{line}"));
        let callback = verified_callback(json);
        assert_eq!(
            (callback["object"].as_str(), callback["size"].as_str()),
            (Some(key), Some(size))
        );
    }
}

#[test]
fn readme_async_service_survives_credential_expiry_and_logs_its_spans() {
    assert!(readme().contains("cargo run --example async_service"));
    // 3 rounds 1.2 s apart: 2.4 s, past the 2-second credentials' expiry.
    let output = cargo_run_example("async_service")
        .args(["--", "3", "1200"])
        .env_remove("OSS_ENDPOINT")
        .env_remove("OSS_REGION")
        .env_remove("OSS_ACCESS_KEY_ID")
        .env_remove("OSS_ACCESS_KEY_SECRET")
        .env_remove("OSS_BUCKET")
        .env_remove("OSS_CALLBACK_URL")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for (n, line) in lines.iter().enumerate() {
        let key = format!("service/round-{}.txt", n + 1);
        let json = line
            .strip_prefix(&format!("round {}: {key}: ", n + 1))
            .unwrap_or_else(|| panic!("{line}"));
        assert_eq!(verified_callback(json)["object"], key.as_str());
    }
    // Credentials came from the metadata service more than once (refreshed
    // before they expired), each fetch in its span; each exchange in its own.
    let fetches = stderr
        .lines()
        .filter(|l| l.contains("osscb.credentials") && l.contains("close"))
        .count();
    assert!(fetches >= 2, "{stderr}");
    assert!(stderr.contains("osscb.send"), "{stderr}");
    assert!(stderr.contains("security-credentials"), "{stderr}");
    assert!(!stderr.contains("AccessKeySecret"), "{stderr}");
}

/// The server is killed however the test ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn readme_callback_server_runs_as_written() {
    assert!(readme().contains(
        "cargo run --example callback_server -- --listen 127.0.0.1:8080 [--trust-key-url-prefix PREFIX]... [--caller-token NAME:SECRET]..."
    ));
    let mut server = Child(
        cargo_run_example("callback_server")
            .args(["--", "--listen", "127.0.0.1:0"])
            .env_remove("OSS_ENDPOINT")
            .env_remove("OSS_REGION")
            .env_remove("OSS_BUCKET")
            .env_remove("OSS_ACCESS_KEY_ID")
            .env_remove("OSS_ACCESS_KEY_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cargo runs"),
    );
    let stderr = server.0.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut next_line = || {
        lines
            .next()
            .expect("the server says where it listens")
            .expect("stderr")
    };
    // With no OSS_* settings it starts an embedded emulator and says where.
    let mut emulator = None;
    let addr = loop {
        let line = next_line();
        if let Some(rest) = line.strip_prefix("no OSS_* settings: using an embedded emulator at ") {
            emulator = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(rest) = line.strip_prefix("callback_server listening on http://") {
            break rest.split_whitespace().next().expect("address").to_owned();
        }
    };
    // Without --caller-token it makes one up and prints the page's URL with it.
    let page = next_line();
    let token = page
        .strip_prefix(&format!("upload page: http://{addr}/#token="))
        .unwrap_or_else(|| panic!("{page}"))
        .to_owned();
    let secret = token
        .strip_prefix("demo:")
        .unwrap_or_else(|| panic!("{token}"));
    assert!(
        secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );
    let send = |raw: String| {
        let mut stream = TcpStream::connect(&addr).expect("connect");
        stream.write_all(raw.as_bytes()).expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
    };
    let form = |authorization: &str| {
        format!(
            "GET /upload-form?key=uploads/demo/a.txt&size=1 HTTP/1.1\r\nHost: {addr}\r\n{authorization}Connection: close\r\n\r\n"
        )
    };
    let answer = send(form(""));
    assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
    // With the token: a V4 form for the embedded emulator, which the
    // emulator accepts and whose callback the server verifies.
    let emulator = emulator.expect("the server names its embedded emulator");
    let answer = send(form(&format!("Authorization: Bearer {token}\r\n")));
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    let json = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let signed: serde_json::Value = serde_json::from_str(json).expect("the form's JSON");
    assert_eq!(signed["signature"], "v4", "{json}");
    let url = signed["post"]["url"].as_str().expect("post url");
    assert_eq!(url, format!("{emulator}/examplebucket/"));
    let boundary = "osscbQuickstartBoundary";
    let mut body = String::new();
    for pair in signed["post"]["fields"].as_array().expect("fields") {
        let (name, value) = (
            pair[0].as_str().unwrap_or_default(),
            pair[1].as_str().unwrap_or_default(),
        );
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nx\r\n--{boundary}--\r\n"
    ));
    let host = emulator.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("connect to the emulator");
    write!(
        stream,
        "POST /examplebucket/ HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut uploaded = String::new();
    stream.read_to_string(&mut uploaded).expect("read");
    assert!(uploaded.starts_with("HTTP/1.1 200 "), "{uploaded}");
    assert!(uploaded.contains(r#""verified":true"#), "{uploaded}");
    assert!(
        uploaded.contains(r#""object":"uploads/demo/a.txt""#),
        "{uploaded}"
    );
    // A real OSS callback with a JSON body (this app declares JSON bodies),
    // captured by Cloudreve's test suite (github.com/cloudreve/Cloudreve,
    // `pkg/filesystem/driver/oss/callback_test.go`), verified with OSS's
    // built-in key, then refused: it carries no grant of this server. A
    // forged one is refused for its signature.
    let body = r#"{"name":"2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","source_name":"1/1_hFRtDLgM_2f7b2ccf30e9270ea920f1ab8a4037a546a2f0d5.jpg","size":114020,"pic_info":"810,539"}"#;
    let request = |auth: &str| {
        format!(
            "POST /api/v3/callback/oss/TnXx5E5VyfJUyM1UdkdDu1rtnJ34EbmH HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             authorization: {auth}\r\nx-oss-pub-key-url: aHR0cHM6Ly9nb3NzcHVibGljLmFsaWNkbi5jb20vY2FsbGJhY2tfcHViX2tleV92MS5wZW0=\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let genuine =
        "e5LwzwTkP9AFAItT4YzvdJOHd0Y0wqTMWhsV/h5SG90JYGAmMd+8LQyj96R+9qUfJWjMt6suuUh7LaOryR87Dw==";
    let answer = send(request(genuine));
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(
        answer.contains("not bound to an upload this server granted"),
        "{answer}"
    );
    let forged = genuine.replacen('e', "E", 1);
    let answer = send(request(&forged));
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("signature does not match"), "{answer}");
    // Its stderr said so: the form upload's callback verified, then the
    // refusals with their reasons.
    let verified = next_line();
    assert!(
        verified.starts_with("verified callback: uploads/demo/a.txt (1 bytes, "),
        "{verified}"
    );
    let refused = next_line();
    assert!(
        refused.starts_with("rejected callback to /api/v3/callback/oss/")
            && refused.contains("not bound to an upload this server granted"),
        "the reason goes to stderr: {refused}"
    );
}

#[test]
fn readme_emulator_command_runs_as_written() {
    let line = "cargo run -p osscb-emulator -- --listen 127.0.0.1:9000 --access-key-id ID --access-key-secret SECRET";
    assert!(readme().contains(line));
    // As written, but on a free port.
    let args: Vec<&str> = line
        .strip_prefix("cargo ")
        .expect("a cargo command")
        .split(' ')
        .map(|a| {
            if a == "127.0.0.1:9000" {
                "127.0.0.1:0"
            } else {
                a
            }
        })
        .collect();
    let mut server = Child(
        cargo(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cargo runs"),
    );
    let stdout = server.0.stdout.take().expect("stdout");
    let first = BufReader::new(stdout)
        .lines()
        .next()
        .expect("one line")
        .expect("stdout");
    let rest = first
        .strip_prefix("osscb-emulator listening on http://")
        .unwrap_or_else(|| panic!("{first}"));
    let addr = rest.split_whitespace().next().expect("address");
    let key_url = rest
        .split("(callback public key: ")
        .nth(1)
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{first}"));
    let get = |path: &str| {
        let mut stream = TcpStream::connect(addr).expect("connect");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
    };
    let key_path = key_url
        .strip_prefix(&format!("http://{addr}"))
        .unwrap_or_else(|| panic!("{key_url}"));
    let key = get(key_path);
    assert!(
        key.starts_with("HTTP/1.1 200 ") && key.contains("-----BEGIN PUBLIC KEY-----"),
        "{key}"
    );
    let anonymous = get("/examplebucket/a.txt");
    assert!(anonymous.starts_with("HTTP/1.1 403 "), "{anonymous}");
    assert!(
        anonymous.contains("<Code>AccessDenied</Code>"),
        "{anonymous}"
    );
}

/// A one-shot HTTP server on a thread that answers every request 200 with a
/// JSON body: an application server for callbacks that does not verify.
fn json_answerer() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer = r#"{"resumed":"ok"}"#;
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    format!("http://{addr}/")
}

#[test]
fn upload_file_resumes_after_an_interruption() {
    let emulator = osscb_emulator::Emulator::start(osscb_emulator::EmulatorConfig::new(
        "resume-id",
        "resume-secret",
    ))
    .expect("emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("resume.bin");
    let content: Vec<u8> = (0..20 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect();
    std::fs::write(&path, &content).expect("write");
    let key = format!("resume/{}.bin", std::process::id());
    let callback_url = json_answerer();
    let checkpoints = dir.path().join("checkpoints");
    let run = || {
        cargo_run_example("upload_file")
            .args(["--", path.to_str().expect("UTF-8"), &key])
            .env("OSSCB_CHECKPOINT_DIR", &checkpoints)
            .env("OSS_ENDPOINT", emulator.endpoint())
            .env("OSS_ACCESS_KEY_ID", "resume-id")
            .env("OSS_ACCESS_KEY_SECRET", "resume-secret")
            .env_remove("OSS_SESSION_TOKEN")
            .env_remove("OSS_REGION")
            .env("OSS_BUCKET", "resume")
            .env("OSS_CALLBACK_URL", &callback_url)
            .output()
            .expect("cargo runs")
    };
    // 20 MiB in 8 MiB parts: 3 parts. The third request (a part) is refused
    // with a 400, which is not retried: the run stops, its checkpoint kept.
    emulator.faults().fail_nth(3, 400);
    let first = run();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(!first.status.success(), "{stderr}");
    assert!(stderr.contains("rerun to resume from"), "{stderr}");
    // The checkpoint is in the given directory, created for the owner only,
    // and is itself the owner's only.
    let saved: Vec<_> = std::fs::read_dir(&checkpoints)
        .expect("the checkpoint directory")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(stderr.contains(&saved[0].display().to_string()), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode();
        assert_eq!(mode(&checkpoints) & 0o777, 0o700);
        assert_eq!(mode(&saved[0]) & 0o077, 0);
    }
    let stored_first = emulator.upload_part_requests();
    assert!(
        stored_first < 3,
        "{stored_first} parts stored before the interruption"
    );

    let second = run();
    let stdout = String::from_utf8_lossy(&second.stdout);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        second.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.contains("resuming from"), "{stderr}");
    assert_eq!(stdout.lines().next(), Some(r#"{"resumed":"ok"}"#));
    // Every part stored exactly once across both runs.
    assert_eq!(emulator.upload_part_requests(), 3);
}

#[cfg(unix)]
#[test]
fn upload_file_refuses_a_checkpoint_directory_others_can_enter() {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("small.bin");
    std::fs::write(&path, b"small").expect("write");
    let open = dir.path().join("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let output = cargo_run_example("upload_file")
        .args(["--", path.to_str().expect("UTF-8"), "refused.bin"])
        .env("OSSCB_CHECKPOINT_DIR", &open)
        .env_remove("OSS_ENDPOINT")
        .env_remove("OSS_BUCKET")
        .env_remove("OSS_CALLBACK_URL")
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("other users can enter"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&open).expect("dir").count(),
        0,
        "nothing written"
    );
}
