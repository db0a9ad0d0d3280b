//! The README's quickstart, run as written: `cargo run --example
//! put_object_callback` from the repository root, offline (embedded emulator);
//! and its failure path (HTTP 203: stored, callback failed).

use std::path::Path;
use std::process::Command;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the examples live in the repository root")
}

/// `cargo run --example NAME` from the repository root, without the
/// variables cargo sets for this test: they would look like changed build
/// inputs to build scripts (ring's tracks CARGO_MANIFEST_DIR) and rebuild.
fn cargo_run_example(name: &str) -> Command {
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
    command
        .args(["run", "--quiet", "--example", name])
        .current_dir(repo_root());
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
