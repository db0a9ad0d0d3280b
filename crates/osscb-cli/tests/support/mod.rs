//! What the end-to-end tests of `osscb` share: the binary run as a child
//! process with a clean environment, an emulator, and a callback receiver
//! that keeps each request as it arrived.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use osscb_emulator::{Emulator, EmulatorConfig};

pub const ID: &str = "cli-test-id";
pub const SECRET: &str = "cli-test-secret";
pub const BUCKET: &str = "clibucket";

/// The README, for the tests that check it shows the commands they run.
pub fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(path).expect("README.md")
}

/// A test's world: a temporary directory (also the child's HOME) and an
/// emulator.
pub struct World {
    pub dir: tempfile::TempDir,
    pub emulator: Emulator,
}

impl World {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let emulator = Emulator::start(EmulatorConfig::new(ID, SECRET)).expect("emulator");
        Self { dir, emulator }
    }

    /// A path in the temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `osscb ARGS` configured for the emulator, as a user would: only
    /// OSS_ENDPOINT and the keys.
    pub fn osscb(&self, args: &[&str]) -> Command {
        let mut command = bare_osscb(self.dir.path(), args);
        command
            .env("OSS_ENDPOINT", self.emulator.endpoint())
            .env("OSS_ACCESS_KEY_ID", ID)
            .env("OSS_ACCESS_KEY_SECRET", SECRET);
        command
    }

    /// Runs `osscb ARGS` against the emulator.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(self.osscb(args).output().expect("osscb runs"))
    }

    /// The emulator's key URL prefix, for `verify --trust-key-url-prefix`.
    pub fn key_prefix(&self) -> String {
        format!("{}/", self.emulator.endpoint())
    }
}

/// `osscb ARGS` with no configuration at all: every `OSS_*`,
/// `ALIBABA_CLOUD_*` and `OSSCB_*` variable removed, HOME set to `home`, and
/// the ECS metadata service disabled, so the credential chain never leaves
/// the machine.
pub fn bare_osscb(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_osscb"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if ["OSS_", "ALIBABA_CLOUD_", "OSSCB_"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            command.env_remove(name.as_ref());
        }
    }
    command
        .args(args)
        .env("HOME", home)
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        .current_dir(home);
    command
}

/// A finished run: exit code, stdout and stderr.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing both streams when it differs.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{self:#?}");
        self
    }
}

/// A callback receiver on a loopback port: keeps every request byte for
/// byte, and answers `status` with a fixed JSON body.
pub struct Receiver {
    pub url: String,
    status: Arc<AtomicU16>,
    pub requests: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// What the receiver answers with a 200.
pub const ANSWER: &str = r#"{"Status":"OK","app":"cli-test"}"#;

impl Receiver {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://{}/oss-callback?from=cli",
            listener.local_addr().expect("addr")
        );
        let status = Arc::new(AtomicU16::new(200));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (st, rq) = (Arc::clone(&status), Arc::clone(&requests));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (st, rq) = (Arc::clone(&st), Arc::clone(&rq));
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut raw = Vec::new();
                    let mut len = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        raw.extend_from_slice(line.as_bytes());
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            len = value.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" || line == "\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    raw.extend_from_slice(&body);
                    rq.lock().expect("lock").push(raw);
                    let code = st.load(Ordering::SeqCst);
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{ANSWER}",
                        ANSWER.len()
                    );
                });
            }
        });
        Self {
            url,
            status,
            requests,
        }
    }

    /// Answers `status` from now on.
    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.requests.lock().expect("lock").clone()
    }
}

/// `len` bytes of a pattern that differs from part to part.
pub fn data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 4096) as u8)
        .collect()
}

/// A child process killed when dropped.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
