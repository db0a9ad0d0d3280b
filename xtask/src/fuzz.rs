//! `cargo xtask fuzz [--smoke] [TARGET...]`: runs the cargo-fuzz targets in
//! `fuzz/` (its own workspace, never built by `cargo test --workspace`).
//!
//! The machine's one stable toolchain is used, with `RUSTC_BOOTSTRAP=1` for
//! the unstable flags cargo-fuzz passes (sanitizer coverage); no nightly is
//! fetched. The targets are built once, then each runs for a bounded time:
//! [`SMOKE_SECONDS`] with `--smoke` (what `cargo xtask test` runs),
//! [`FULL_SECONDS`] without. Each target's corpus grows in
//! `fuzz/corpus/<target>` (not committed) from the committed seeds in
//! `fuzz/seeds/<target>`; a crash leaves its input in `fuzz/artifacts/`.
//!
//! The run is described by [`plan`], a pure function unit-tested below;
//! [`run`] only executes it.

use std::fs;
use std::process::Command;
use std::time::Instant;

use crate::{Result, cargo, root};

/// Every fuzz target (`fuzz/fuzz_targets/<name>.rs`).
pub(crate) const TARGETS: [&str; 8] = [
    "response",
    "error_header",
    "callback_decode",
    "verifier",
    "endpoint",
    "checkpoint",
    "multipart_flow",
    "emulator_request",
];

/// Seconds per target in a smoke run.
pub(crate) const SMOKE_SECONDS: u32 = 15;
/// Seconds per target in a full run.
pub(crate) const FULL_SECONDS: u32 = 300;
/// The sanitizer. The stable toolchain ships AddressSanitizer's runtime
/// (`librustc-stable_rt.asan.a`); the targets are safe Rust, so what it adds
/// here is libFuzzer's allocation hooks, which make [`MALLOC_LIMIT_MB`]
/// an assertion. Where the runtime is missing, `none` works as well
/// (coverage and aborting panics are independent of the sanitizer).
const SANITIZER: &str = "address";
/// libFuzzer limits: one input at most this long (a slow input is a hang);
/// no single allocation over [`MALLOC_LIMIT_MB`] — the inputs are at most
/// libFuzzer's default 4 KiB, and every parser bounds what it keeps by its
/// documented caps (16 MiB response bodies, 16 KiB key documents, 64 KiB
/// PostObject forms), so a larger allocation is a missing cap; the process
/// at most [`RSS_LIMIT_MB`].
const INPUT_TIMEOUT_SECONDS: u32 = 30;
const MALLOC_LIMIT_MB: u32 = 128;
const RSS_LIMIT_MB: u32 = 1024;

/// One command, with the line printed before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) say: String,
    pub(crate) args: Vec<String>,
}

/// The cargo commands of a run: one build of the targets named (all when
/// `names` is empty), then each for `seconds`.
pub(crate) fn plan(args: &[String]) -> Result<Vec<Step>> {
    let smoke = args.iter().any(|a| a == "--smoke");
    let names: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--smoke")
        .collect();
    if let Some(unknown) = names.iter().find(|n| !TARGETS.contains(n)) {
        return Err(format!(
            "no fuzz target {unknown:?}; the targets are {}",
            TARGETS.join(", ")
        ));
    }
    let targets: Vec<&str> = if names.is_empty() {
        TARGETS.to_vec()
    } else {
        names
    };
    let seconds = if smoke { SMOKE_SECONDS } else { FULL_SECONDS };
    let owned = |v: &[&str]| v.iter().map(|&s| s.to_owned()).collect::<Vec<_>>();
    let mut build = owned(&[
        "fuzz",
        "build",
        "--fuzz-dir",
        "fuzz",
        "--sanitizer",
        SANITIZER,
    ]);
    if targets.len() == 1 {
        build.push(targets[0].to_owned());
    }
    let mut steps = vec![Step {
        say: format!(
            "fuzz: building {} target(s) (release, coverage-instrumented; the first build takes minutes)",
            targets.len()
        ),
        args: build,
    }];
    for target in targets {
        let mut args = owned(&[
            "fuzz",
            "run",
            "--fuzz-dir",
            "fuzz",
            "--sanitizer",
            SANITIZER,
        ]);
        args.push(target.to_owned());
        args.push(format!("fuzz/corpus/{target}"));
        args.push(format!("fuzz/seeds/{target}"));
        args.push("--".to_owned());
        args.push(format!("-max_total_time={seconds}"));
        args.push(format!("-timeout={INPUT_TIMEOUT_SECONDS}"));
        args.push(format!("-malloc_limit_mb={MALLOC_LIMIT_MB}"));
        args.push(format!("-rss_limit_mb={RSS_LIMIT_MB}"));
        args.push("-print_final_stats=1".to_owned());
        steps.push(Step {
            say: format!("fuzz: {target} for {seconds} s"),
            args,
        });
    }
    Ok(steps)
}

/// Runs the plan for `args` (`--smoke` and target names).
pub(crate) fn run(args: &[String]) -> Result {
    let steps = plan(args)?;
    let cargo = cargo();
    let started = Instant::now();
    for target in TARGETS {
        fs::create_dir_all(root().join("fuzz/corpus").join(target))
            .map_err(|e| format!("cannot create the corpus of {target}: {e}"))?;
    }
    for step in steps {
        eprintln!("{}", step.say);
        eprintln!("$ cargo {}", step.args.join(" "));
        let status = Command::new(&cargo)
            .args(&step.args)
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(root())
            .status()
            .map_err(|e| format!("cannot start cargo fuzz: {e} (run `cargo xtask setup`)"))?;
        if !status.success() {
            return Err(format!(
                "`cargo {}` failed ({status}): a build error above, or a crash whose input is kept under fuzz/artifacts/",
                step.args.join(" ")
            ));
        }
    }
    eprintln!("fuzz: done in {} s", started.elapsed().as_secs());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|&s| s.to_owned()).collect()
    }

    #[test]
    fn a_smoke_run_builds_once_then_runs_every_target_briefly() {
        let steps = plan(&args(&["--smoke"])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(steps.len(), 1 + TARGETS.len());
        assert_eq!(
            steps[0].args.join(" "),
            "fuzz build --fuzz-dir fuzz --sanitizer address"
        );
        assert_eq!(
            steps[1].args.join(" "),
            "fuzz run --fuzz-dir fuzz --sanitizer address response fuzz/corpus/response \
             fuzz/seeds/response -- -max_total_time=15 -timeout=30 -malloc_limit_mb=128 \
             -rss_limit_mb=1024 -print_final_stats=1"
        );
        let total: u32 = SMOKE_SECONDS * TARGETS.len() as u32;
        assert!(total <= 180, "a smoke run fuzzes {total} s");
    }

    #[test]
    fn a_full_run_of_one_target_builds_only_it() {
        let steps = plan(&args(&["verifier"])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(steps.len(), 2);
        assert_eq!(
            steps[0].args.join(" "),
            "fuzz build --fuzz-dir fuzz --sanitizer address verifier"
        );
        assert!(
            steps[1]
                .args
                .contains(&format!("-max_total_time={FULL_SECONDS}"))
        );
    }

    #[test]
    fn an_unknown_target_is_named() {
        let message = plan(&args(&["--smoke", "nope"])).expect_err("unknown");
        assert!(message.contains("no fuzz target \"nope\""), "{message}");
        assert!(message.contains("emulator_request"), "{message}");
    }

    #[test]
    fn every_target_has_a_source_and_seeds() {
        for target in TARGETS {
            let source = root().join(format!("fuzz/fuzz_targets/{target}.rs"));
            assert!(source.is_file(), "{}", source.display());
            let seeds = root().join(format!("fuzz/seeds/{target}"));
            let count = fs::read_dir(&seeds).map_or(0, Iterator::count);
            assert!(count > 0, "no seeds in {}", seeds.display());
        }
    }
}
