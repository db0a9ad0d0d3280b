//! The README's quickstart, run as written: `cargo run --example
//! put_object_callback` from the repository root, offline (embedded emulator).

use std::path::Path;
use std::process::Command;

#[test]
fn readme_quickstart_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the examples live in the repository root");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let first = readme
        .lines()
        .skip_while(|l| !l.starts_with("```sh"))
        .nth(1)
        .expect("a command block");
    assert_eq!(first, "cargo run --example put_object_callback");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    // Variables cargo sets for this test would look like changed build
    // inputs to build scripts (ring's tracks CARGO_MANIFEST_DIR): drop them.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_for_tests = [
            "CARGO_MANIFEST_",
            "CARGO_PKG_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
        ];
        if set_for_tests.iter().any(|p| name.starts_with(p)) {
            command.env_remove(name.as_ref());
        }
    }
    let output = command
        .args(["run", "--quiet", "--example", "put_object_callback"])
        .current_dir(root)
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
