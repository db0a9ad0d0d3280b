//! Project automation: `cargo xtask setup | test | bench | interop | fuzz | tidy`.
//!
//! Kept dependency-free so it builds in seconds on a fresh machine.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench;
mod fuzz;
mod interop;
mod setup;
mod tidy;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let result = match task {
        "setup" => setup::run(),
        "test" => test(),
        "bench" => bench::run(&args[1..]),
        "interop" => interop::run(),
        "fuzz" => fuzz::run(&args[1..]),
        "tidy" => tidy::run(),
        _ => {
            eprintln!("usage: cargo xtask <setup|test|bench|interop|fuzz|tidy>");
            eprintln!(
                "  setup    installs what the suite needs (Debian packages, cargo-deny, cargo-fuzz, the Python venv)"
            );
            eprintln!(
                "  test     setup, then fmt, clippy, tests (doc tests too), a fuzz smoke run, cargo-deny, tidy rules, interop with oss2, bench --quick"
            );
            eprintln!(
                "  bench    every performance figure beside its baselines (curl, oss2, reqsign, the floor); \
                 --quick: a reduced run; --readme: writes the README's Performance section"
            );
            eprintln!(
                "  interop  the official Python SDK (oss2) against the emulator, and signature differential"
            );
            eprintln!(
                "  fuzz     the fuzz targets, {} s each (--smoke: {} s each); names pick targets",
                fuzz::FULL_SECONDS,
                fuzz::SMOKE_SECONDS
            );
            eprintln!("  tidy     the repository's own rules");
            return if task == "help" {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {task}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs a command from the workspace root, failing on a non-zero exit.
fn run(program: &str, args: &[&str]) -> Result {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

fn cargo() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn test() -> Result {
    setup::run()?;
    let cargo = cargo();
    run(&cargo, &["fmt", "--all", "--check"])?;
    run(
        &cargo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    run(&cargo, &["test", "--workspace"])?;
    fuzz::run(&["--smoke".to_owned()])?;
    deny(&cargo)?;
    tidy::run()?;
    interop::run()?;
    // Checks that every figure is produced (its numbers are never asserted).
    bench::run(&["--quick".to_owned()])?;
    eprintln!("xtask test: all checks passed");
    Ok(())
}

fn deny(cargo: &str) -> Result {
    eprintln!(
        "note: `cargo deny check advisories` is skipped: it needs the advisory database from the internet"
    );
    run(cargo, &["deny", "check", "bans", "licenses", "sources"])
}
