//! `cargo xtask interop`: the official Python SDK (oss2) against the emulator,
//! and the oss2 / osscb-core signature differential.
//!
//! 1. A virtualenv in `target/interop-venv` with `interop/requirements.txt`
//!    installed (reinstalled only when that file changes).
//! 2. The emulator binary and two osscb-core examples built: `sign_jsonl`
//!    (the differential's signer) and `app_server_jsonl` (signs direct
//!    uploads with `post_policy` / presign and verifies callbacks).
//! 3. Two emulators on `127.0.0.1:0`: one plain, one requiring an STS token.
//! 4. `interop/oss2_interop.py`, told where everything is through `OSSCB_*`
//!    environment variables; it asserts every step and exits non-zero on any
//!    failure. The emulators are stopped however the run ends.

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::{Result, cargo, root};

/// Fixed test credentials; nothing real.
const ACCESS_KEY_ID: &str = "osscb-interop-id";
const ACCESS_KEY_SECRET: &str = "osscb-interop-secret";
const SECURITY_TOKEN: &str = "osscb-interop-sts-token";

/// How long an emulator may take to print its address line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the Python script may run before it is killed.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

pub(crate) fn run() -> Result {
    let root = root();
    let python = venv(&root)?;
    let cargo = cargo();
    crate::run(
        &cargo,
        &[
            "build",
            "-q",
            "-p",
            "osscb-emulator",
            "--bin",
            "osscb-emulator",
        ],
    )?;
    let examples = ["sign_jsonl", "app_server_jsonl"];
    let mut build = vec!["build", "-q", "-p", "osscb-core"];
    for example in examples {
        build.extend(["--example", example]);
    }
    crate::run(&cargo, &build)?;
    let target = target_dir(&root);
    let emulator_bin = target.join("debug").join(exe("osscb-emulator"));
    let [signer_bin, app_server_bin] =
        examples.map(|name| target.join("debug").join("examples").join(exe(name)));

    let log_dir = target.join("interop");
    fs::create_dir_all(&log_dir)
        .map_err(|e| format!("cannot create {}: {e}", log_dir.display()))?;
    let plain = Emulator::start(&emulator_bin, None, &log_dir.join("emulator.log"))?;
    let sts = Emulator::start(
        &emulator_bin,
        Some(SECURITY_TOKEN),
        &log_dir.join("emulator-sts.log"),
    )?;

    let mut script = Command::new(&python);
    script
        .arg(root.join("interop").join("oss2_interop.py"))
        .current_dir(root.join("interop"))
        .env("OSSCB_ENDPOINT", &plain.endpoint)
        .env("OSSCB_PUB_KEY_URL", &plain.public_key_url)
        .env("OSSCB_STS_ENDPOINT", &sts.endpoint)
        .env("OSSCB_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("OSSCB_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET)
        .env("OSSCB_STS_TOKEN", SECURITY_TOKEN)
        .env("OSSCB_SIGN_JSONL", &signer_bin)
        .env("OSSCB_APP_SERVER_JSONL", &app_server_bin)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    eprintln!("$ {} interop/oss2_interop.py", python.display());
    let outcome = wait_with_timeout(&mut script, SCRIPT_TIMEOUT);
    drop(plain);
    drop(sts);
    outcome.map_err(|e| format!("{e} (emulator logs in {})", log_dir.display()))
}

/// The virtualenv's Python, creating the venv and installing the pinned
/// requirements when needed.
pub(crate) fn venv(root: &Path) -> Result<PathBuf> {
    let venv = target_dir(root).join("interop-venv");
    let python = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };
    if !python.exists() {
        let system_python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let venv_arg = venv.to_string_lossy().into_owned();
        crate::run(&system_python, &["-m", "venv", &venv_arg]).map_err(|e| {
            format!("{e}: creating a virtualenv needs Python 3 with venv and pip (Debian: apt-get install python3-venv)")
        })?;
    }
    let requirements = root.join("interop").join("requirements.txt");
    let wanted = fs::read_to_string(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let stamp = venv.join("osscb-requirements.txt");
    if fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        let python_arg = python.to_string_lossy().into_owned();
        let requirements_arg = requirements.to_string_lossy().into_owned();
        crate::run(
            &python_arg,
            &[
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
                &requirements_arg,
            ],
        )?;
        fs::write(&stamp, wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    }
    Ok(python)
}

pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

pub(crate) fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// A running emulator, killed when dropped.
pub(crate) struct Emulator {
    pub(crate) child: Child,
    /// `http://127.0.0.1:PORT`
    pub(crate) endpoint: String,
    /// The URL the emulator serves its callback public key at.
    public_key_url: String,
}

impl Emulator {
    /// Starts the emulator on an ephemeral port and reads its address line:
    /// the first URL in it is the endpoint, a later one the public-key URL.
    pub(crate) fn start(binary: &Path, token: Option<&str>, log: &Path) -> Result<Self> {
        let stderr =
            fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut command = Command::new(binary);
        command.args([
            "--listen",
            "127.0.0.1:0",
            "--access-key-id",
            ACCESS_KEY_ID,
            "--access-key-secret",
            ACCESS_KEY_SECRET,
        ]);
        if let Some(token) = token {
            command.args(["--security-token", token]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take();
        // From here on the child is owned by the guard, so every error path kills it.
        let mut emulator = Self {
            child,
            endpoint: String::new(),
            public_key_url: String::new(),
        };
        let stdout = stdout.ok_or("the emulator's stdout is not piped")?;
        let (lines_tx, lines_rx) = mpsc::channel();
        // Reads the first line, then keeps draining stdout so the emulator never blocks on it.
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = lines_tx.send(lines.next());
            for _ in lines {}
        });
        let line = match lines_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            Ok(_) => {
                return Err(format!(
                    "the emulator exited before printing its address (log: {})",
                    log.display()
                ));
            }
            Err(_) => {
                return Err(format!(
                    "the emulator printed no address within {STARTUP_TIMEOUT:?} (log: {})",
                    log.display()
                ));
            }
        };
        let urls = urls_in(&line);
        let endpoint = urls
            .iter()
            .find_map(|u| base_url(u))
            .ok_or_else(|| format!("no http://127.0.0.1:PORT in the emulator's line {line:?}"))?;
        let public_key_url = urls
            .iter()
            .find(|u| u.len() > endpoint.len() && u.starts_with(&endpoint))
            .ok_or_else(|| format!("no public-key URL in the emulator's line {line:?}"))?;
        eprintln!(
            "emulator{} at {endpoint}, public key at {public_key_url}",
            if token.is_some() { " (STS)" } else { "" }
        );
        emulator.public_key_url = public_key_url.clone();
        emulator.endpoint = endpoint;
        Ok(emulator)
    }
}

impl Drop for Emulator {
    /// SIGTERM first (through `kill(1)`: no `unsafe` here), so that the
    /// emulator removes its temporary directory; SIGKILL after 2 s.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let asked = Command::new("kill").args(["-TERM", &pid]).status();
        if asked.is_ok_and(|status| status.success()) {
            for _ in 0..100 {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every `http://…` token in `line`, without trailing punctuation.
fn urls_in(line: &str) -> Vec<String> {
    line.match_indices("http://")
        .map(|(i, _)| {
            let rest = &line[i..];
            let end = rest
                .find(|c: char| {
                    c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ')' | '>' | ';')
                })
                .unwrap_or(rest.len());
            rest[..end].trim_end_matches(['.', '/']).to_owned()
        })
        .collect()
}

/// `http://127.0.0.1:PORT` from a URL starting with it.
fn base_url(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://127.0.0.1:")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let port: u16 = digits.parse().ok()?;
    (port != 0).then(|| format!("http://127.0.0.1:{port}"))
}

/// Runs `command` with inherited output, killing it after `timeout`.
fn wait_with_timeout(command: &mut Command, timeout: Duration) -> Result {
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start the interop script: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("the interop script failed ({status})")),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the interop script ran longer than {timeout:?} and was killed"
                ));
            }
            Ok(None) => thread::sleep(Duration::from_millis(100)),
            Err(e) => {
                let _ = child.kill();
                return Err(format!("cannot wait for the interop script: {e}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_endpoint_and_key_url() {
        let line = "osscb-emulator listening on http://127.0.0.1:41234 (public key: http://127.0.0.1:41234/osscb/callback_pub_key.pem)";
        let urls = urls_in(line);
        assert_eq!(
            base_url(&urls[0]).as_deref(),
            Some("http://127.0.0.1:41234")
        );
        assert_eq!(urls[1], "http://127.0.0.1:41234/osscb/callback_pub_key.pem");
        assert_eq!(base_url("http://127.0.0.1:0"), None);
        assert_eq!(base_url("http://example.com:80"), None);
    }
}
