//! The repository's own rules, checked by `cargo xtask tidy` (and `test`).
//!
//! - osscb-core stays sans-IO: `cargo tree -p osscb-core -e normal` names no
//!   HTTP client, server or async runtime.
//! - The transports stay thin: each crate's `src` is under 1,000 lines and
//!   mentions no `x-oss-` header and no XML; protocol rules live in the core.
//! - No stubs: no todo, unimplemented or ignore markers anywhere.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::root;

const IO_CRATES: [&str; 5] = ["ureq", "reqwest", "tokio", "hyper", "axum"];
const TRANSPORTS: [&str; 2] = ["crates/osscb-blocking", "crates/osscb-async"];
const MAX_TRANSPORT_LINES: usize = 1_000;

pub(crate) fn run() -> crate::Result {
    let mut problems = Vec::new();
    core_is_sans_io(&mut problems)?;
    transports_are_thin(&mut problems);
    no_stubs(&mut problems);
    if problems.is_empty() {
        eprintln!("tidy: ok");
        Ok(())
    } else {
        for p in &problems {
            eprintln!("tidy: {p}");
        }
        Err(format!("{} tidy rule(s) broken", problems.len()))
    }
}

fn core_is_sans_io(problems: &mut Vec<String>) -> crate::Result {
    let cargo = crate::cargo();
    let out = Command::new(&cargo)
        .args([
            "tree",
            "-p",
            "osscb-core",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    for line in tree.lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        if IO_CRATES.contains(&name) {
            problems.push(format!(
                "osscb-core depends on {name} (it must stay sans-IO)"
            ));
        }
    }
    Ok(())
}

fn transports_are_thin(problems: &mut Vec<String>) {
    for krate in TRANSPORTS {
        let files = rust_files(&root().join(krate).join("src"));
        let mut lines = 0;
        for file in &files {
            let text = fs::read_to_string(file).unwrap_or_default();
            lines += text.lines().count();
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                if line.contains("x-oss-") {
                    problems.push(format!(
                        "{}:{}: OSS header name in a transport; it belongs in osscb-core",
                        rel(file),
                        n + 1
                    ));
                }
                if line.contains("<?xml") || line.contains("</") {
                    problems.push(format!(
                        "{}:{}: XML in a transport; it belongs in osscb-core",
                        rel(file),
                        n + 1
                    ));
                }
            }
        }
        if lines >= MAX_TRANSPORT_LINES {
            problems.push(format!(
                "{krate}/src has {lines} lines; a transport stays under {MAX_TRANSPORT_LINES}"
            ));
        }
    }
}

fn no_stubs(problems: &mut Vec<String>) {
    let stubs = [
        concat!("todo", "!("),
        concat!("unimplemented", "!("),
        concat!("#[", "ignore"),
    ];
    for dir in ["crates", "examples", "xtask"] {
        for file in rust_files(&root().join(dir)) {
            let text = fs::read_to_string(&file).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                if let Some(stub) = stubs.iter().find(|s| line.contains(*s)) {
                    problems.push(format!(
                        "{}:{}: `{stub}` — a stub is not done",
                        rel(&file),
                        n + 1
                    ));
                }
            }
        }
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                out.extend(rust_files(&path));
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}
