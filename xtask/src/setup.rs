//! `cargo xtask setup`: installs every tool the suite needs, before anything
//! else runs. `cargo xtask test` calls it first, so the README's test command
//! passes on a fresh machine by itself.
//!
//! The decisions are a pure function of what the machine has ([`Machine`] →
//! [`plan`]), unit-tested below; [`run`] only probes and executes. The Rust
//! toolchain is never fetched: the machine's one toolchain is all there is
//! (unstable flags go through `RUSTC_BOOTSTRAP=1`), so a missing rustfmt or
//! clippy stops the run with the command to fix it.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::{Result, cargo, root};

/// A Debian package the suite needs, and why.
struct Package {
    name: &'static str,
    why: &'static str,
}

/// Everything the suite, the benches and fuzzing need from Debian, keyed by
/// what [`probe`] looks for.
const PACKAGES: &[(&str, Package)] = &[
    (
        "chromium",
        Package {
            name: "chromium",
            why: "the browser and dashboard tests drive headless Chromium",
        },
    ),
    (
        "openssl",
        Package {
            name: "openssl",
            why: "the emulator tests check RSA callback signatures with the openssl CLI",
        },
    ),
    (
        "python3",
        Package {
            name: "python3",
            why: "the interop run uses Alibaba's official Python SDK (oss2)",
        },
    ),
    (
        "python3-venv",
        Package {
            name: "python3-venv",
            why: "the interop run installs oss2 into a virtualenv",
        },
    ),
    (
        "curl",
        Package {
            name: "curl",
            why: "the benches compare uploads with curl",
        },
    ),
    (
        "cc",
        Package {
            name: "gcc",
            why: "crypto crates compile C code",
        },
    ),
    (
        "python3-dev",
        Package {
            name: "python3-dev",
            why: "the bench's oss2 baseline needs crcmod's C extension, which pip builds against Python's headers",
        },
    ),
    (
        "c++",
        Package {
            name: "g++",
            why: "the fuzz targets link libFuzzer, which libfuzzer-sys compiles from C++",
        },
    ),
];

/// What the machine has: the facts the plan is made from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Machine {
    /// Running as root (uid 0).
    pub(crate) root: bool,
    /// A Debian-family system with `apt-get`.
    pub(crate) apt: bool,
    /// `cargo fmt` and `cargo clippy` answer.
    pub(crate) rustfmt: bool,
    pub(crate) clippy: bool,
    /// `cargo deny --version` answers.
    pub(crate) cargo_deny: bool,
    /// `cargo fuzz --version` answers.
    pub(crate) cargo_fuzz: bool,
    /// The keys of [`PACKAGES`] found missing.
    pub(crate) missing: Vec<&'static str>,
}

/// One thing to do, with the line printed before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) say: String,
    pub(crate) program: String,
    pub(crate) args: Vec<String>,
}

fn step(say: String, program: &str, args: &[&str]) -> Step {
    Step {
        say,
        program: program.to_owned(),
        args: args.iter().map(|&a| a.to_owned()).collect(),
    }
}

/// The steps that bring `machine` to what the suite needs, or the one
/// message that says why they cannot run and which command to run instead.
pub(crate) fn plan(machine: &Machine) -> Result<Vec<Step>> {
    let mut toolchain = Vec::new();
    if !machine.rustfmt {
        toolchain.push("rustfmt");
    }
    if !machine.clippy {
        toolchain.push("clippy");
    }
    if !toolchain.is_empty() {
        return Err(format!(
            "the Rust toolchain lacks {}; osscb never downloads a toolchain: add the components \
             to the machine's toolchain with `rustup component add {}`",
            toolchain.join(" and "),
            toolchain.join(" ")
        ));
    }
    let mut steps = Vec::new();
    let packages: Vec<&Package> = machine
        .missing
        .iter()
        .filter_map(|key| PACKAGES.iter().find(|(k, _)| k == key).map(|(_, p)| p))
        .collect();
    if !packages.is_empty() {
        let names: Vec<&str> = packages.iter().map(|p| p.name).collect();
        let command = format!(
            "apt-get update && apt-get install -y --no-install-recommends {}",
            names.join(" ")
        );
        if !machine.apt {
            return Err(format!(
                "missing {} and this is not a Debian system with apt-get: install the \
                 equivalents of `{command}` with the system's package manager",
                names.join(", ")
            ));
        }
        if !machine.root {
            return Err(format!(
                "missing {}; installing Debian packages needs root: run `sudo sh -c '{command}'`, \
                 then `cargo xtask test` again",
                names.join(", ")
            ));
        }
        steps.push(step(
            "setup: apt-get update (package lists for the installs below)".to_owned(),
            "apt-get",
            &["update", "-qq"],
        ));
        let say: Vec<String> = packages
            .iter()
            .map(|p| format!("setup: installing {}: {}", p.name, p.why))
            .collect();
        let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
        args.extend(&names);
        steps.push(step(say.join("\n"), "apt-get", &args));
    }
    if !machine.cargo_deny {
        steps.push(step(
            "setup: installing cargo-deny (cargo install, a few minutes): the suite checks \
             licenses, bans and sources"
                .to_owned(),
            "cargo",
            &["install", "--locked", "cargo-deny"],
        ));
    }
    if !machine.cargo_fuzz {
        steps.push(step(
            "setup: installing cargo-fuzz (cargo install, a few minutes): `cargo xtask fuzz` \
             runs the fuzz targets on this stable toolchain"
                .to_owned(),
            "cargo",
            &["install", "--locked", "cargo-fuzz"],
        ));
    }
    Ok(steps)
}

/// Probes the machine, runs the plan, then makes the interop virtualenv
/// (with crcmod's C extension, which oss2 uses for CRC-64 when it is built).
pub(crate) fn run() -> Result {
    let machine = probe();
    let steps = plan(&machine)?;
    if steps.is_empty() {
        eprintln!("setup: every tool is present");
    }
    for step in steps {
        eprintln!("{}", step.say);
        let program = if step.program == "cargo" {
            cargo()
        } else {
            step.program
        };
        let args: Vec<&str> = step.args.iter().map(String::as_str).collect();
        let status = Command::new(&program)
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .current_dir(root())
            .status()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        if !status.success() {
            return Err(format!(
                "`{program} {}` failed ({status}); run it by hand to see why",
                args.join(" ")
            ));
        }
    }
    let missing = probe().missing;
    if !missing.is_empty() {
        return Err(format!(
            "still missing after installing: {}",
            missing.join(", ")
        ));
    }
    let python = crate::interop::venv(&root())?;
    crcmod_extension(&python.to_string_lossy())
}

/// Whether the venv's crcmod runs its C extension (`_usingExtension`).
const CRCMOD_EXTENSION: &str =
    "import sys, crcmod.crcmod; sys.exit(0 if sys.modules['crcmod.crcmod']._usingExtension else 1)";

/// Rebuilds crcmod when the venv's copy lacks its C extension (installed
/// before gcc and python3-dev were there); the bench reports it either way.
fn crcmod_extension(python: &str) -> Result {
    if answers(python, &["-c", CRCMOD_EXTENSION]) {
        return Ok(());
    }
    let requirements = root().join("interop").join("requirements.txt");
    let pinned = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?
        .lines()
        .find(|line| line.starts_with("crcmod=="))
        .map_or_else(|| "crcmod".to_owned(), str::to_owned);
    eprintln!("setup: rebuilding {pinned} with its C extension (oss2's CRC-64 in the bench)");
    crate::run(
        python,
        &[
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--force-reinstall",
            "--no-deps",
            "--no-cache-dir",
            "--no-binary",
            "crcmod",
            &pinned,
        ],
    )?;
    if !answers(python, &["-c", CRCMOD_EXTENSION]) {
        eprintln!(
            "setup: warning: crcmod still runs without its C extension; the bench's table says so"
        );
    }
    Ok(())
}

fn probe() -> Machine {
    let cargo = cargo();
    let skip_browser = std::env::var("OSSCB_SKIP_BROWSER").is_ok_and(|v| v == "1");
    let missing = PACKAGES
        .iter()
        .map(|(key, _)| *key)
        .filter(|&key| match key {
            "chromium" => {
                !skip_browser
                    && std::env::var_os("OSSCB_CHROMIUM").is_none()
                    && !["chromium", "chromium-browser"]
                        .iter()
                        .any(|c| answers(c, &["--version"]))
            }
            "python3-venv" => !answers(&python(), &["-c", "import venv, ensurepip"]),
            "python3" => !answers(&python(), &["--version"]),
            "python3-dev" => !answers(&python(), &["-c", PYTHON_HEADERS]),
            "cc" => !answers("cc", &["--version"]),
            "c++" => !answers("c++", &["--version"]),
            "openssl" => !answers("openssl", &["version"]),
            other => !answers(other, &["--version"]),
        })
        .collect();
    Machine {
        root: answers("id", &["-u"]) && output("id", &["-u"]).trim() == "0",
        apt: Path::new("/etc/debian_version").exists() && answers("apt-get", &["--version"]),
        rustfmt: answers(&cargo, &["fmt", "--version"]),
        clippy: answers(&cargo, &["clippy", "--version"]),
        cargo_deny: answers(&cargo, &["deny", "--version"]),
        cargo_fuzz: answers(&cargo, &["fuzz", "--version"]),
        missing,
    }
}

/// Exits 0 when Python's C headers (`Python.h`) are installed.
const PYTHON_HEADERS: &str = "import os, sys, sysconfig; \
    sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))";

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Whether `program args` runs and exits 0.
fn answers(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> Machine {
        Machine {
            root: true,
            apt: true,
            rustfmt: true,
            clippy: true,
            cargo_deny: true,
            cargo_fuzz: true,
            missing: Vec::new(),
        }
    }

    fn commands(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| format!("{} {}", s.program, s.args.join(" ")))
            .collect()
    }

    #[test]
    fn a_complete_machine_needs_nothing() {
        assert_eq!(plan(&complete()), Ok(Vec::new()));
    }

    #[test]
    fn a_fresh_debian_machine_as_root_gets_packages_then_cargo_deny_and_cargo_fuzz() {
        let machine = Machine {
            cargo_deny: false,
            cargo_fuzz: false,
            missing: vec!["chromium", "openssl"],
            ..complete()
        };
        let steps = plan(&machine).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            commands(&steps),
            [
                "apt-get update -qq",
                "apt-get install -y -qq --no-install-recommends chromium openssl",
                "cargo install --locked cargo-deny",
                "cargo install --locked cargo-fuzz",
            ]
        );
        // One line per package, saying why.
        let lines: Vec<&str> = steps[1].say.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].contains("chromium: the browser and dashboard tests"),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains("openssl: "), "{}", lines[1]);
        assert!(steps.iter().all(|s| s.say.starts_with("setup: ")));
    }

    #[test]
    fn python_venv_and_a_c_compiler_map_to_their_packages() {
        let machine = Machine {
            missing: vec!["python3-venv", "cc"],
            ..complete()
        };
        let steps = plan(&machine).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            commands(&steps)[1..],
            ["apt-get install -y -qq --no-install-recommends python3-venv gcc"]
        );
    }

    #[test]
    fn missing_python_headers_map_to_python3_dev_for_crcmod() {
        let machine = Machine {
            missing: vec!["curl", "python3-dev"],
            ..complete()
        };
        let steps = plan(&machine).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            commands(&steps)[1..],
            ["apt-get install -y -qq --no-install-recommends curl python3-dev"]
        );
        assert!(
            steps[1]
                .say
                .contains("curl: the benches compare uploads with curl")
        );
        assert!(
            steps[1]
                .say
                .contains("python3-dev: the bench's oss2 baseline needs crcmod's C extension")
        );
    }

    #[test]
    fn a_missing_cpp_compiler_maps_to_gpp_for_libfuzzer() {
        let machine = Machine {
            missing: vec!["c++"],
            ..complete()
        };
        let steps = plan(&machine).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            commands(&steps)[1..],
            ["apt-get install -y -qq --no-install-recommends g++"]
        );
        assert!(
            steps[1]
                .say
                .contains("g++: the fuzz targets link libFuzzer")
        );
    }

    #[test]
    fn only_cargo_fuzz_missing_needs_no_apt() {
        let machine = Machine {
            cargo_fuzz: false,
            root: false,
            apt: false,
            ..complete()
        };
        let steps = plan(&machine).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(commands(&steps), ["cargo install --locked cargo-fuzz"]);
    }

    #[test]
    fn only_cargo_deny_missing_needs_no_apt() {
        let machine = Machine {
            cargo_deny: false,
            root: false,
            apt: false,
            ..complete()
        };
        let steps = plan(&machine).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(commands(&steps), ["cargo install --locked cargo-deny"]);
    }

    #[test]
    fn without_root_it_stops_with_the_command_to_run() {
        let machine = Machine {
            root: false,
            missing: vec!["chromium"],
            ..complete()
        };
        let message = plan(&machine).expect_err("cannot install");
        assert!(
            message.contains(
                "sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends chromium'"
            ),
            "{message}"
        );
    }

    #[test]
    fn without_apt_it_names_what_is_missing() {
        let machine = Machine {
            apt: false,
            missing: vec!["openssl", "curl"],
            ..complete()
        };
        let message = plan(&machine).expect_err("cannot install");
        assert!(message.contains("missing openssl, curl"), "{message}");
        assert!(message.contains("not a Debian system"), "{message}");
    }

    #[test]
    fn a_toolchain_without_clippy_is_never_fetched() {
        let machine = Machine {
            clippy: false,
            missing: vec!["chromium"],
            ..complete()
        };
        let message = plan(&machine).expect_err("no toolchain download");
        assert!(
            message.contains("`rustup component add clippy`"),
            "{message}"
        );
        assert!(message.contains("never downloads a toolchain"), "{message}");
    }
}
