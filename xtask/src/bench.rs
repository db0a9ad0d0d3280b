//! `cargo xtask bench [--quick] [--readme]`: every figure of the
//! performance table beside its peers and its floor, in the same run.
//!
//! The figure programs (`crates/osscb-bench`, and `interop/bench.py` for
//! oss2) are built once in release and run each as its own process, which
//! prints one flat JSON line; the peak RSS of each process is read from
//! `/proc/<pid>/status` (`VmHWM`) while it runs. Every transfer figure gets
//! a fresh release emulator on loopback, whose own peak RSS is reported
//! apart. Subjects of a figure take turns round by round (machines are
//! noisy), and the medians are compared as ratios against the issue's
//! targets.
//!
//! Writes `target/bench/results.json` and `target/bench/results.md`; with
//! `--readme`, also the README's Performance section (between
//! [`report::START`] and [`report::END`]) and `docs/bench-multipart.svg`.
//! `--quick` runs small files and few rounds, to check that every figure is
//! produced (`cargo xtask test` runs it); its numbers mean little.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::interop::{Emulator, exe, target_dir, venv};
use crate::{Result, cargo, root};

mod flat;
mod report;

use flat::{Flat, Value};

/// How much each figure does.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scale {
    pub(crate) quick: bool,
    /// Signing: rounds, and calls per round for osscb / reqsign / floor and for oss2.
    sign_rounds: usize,
    sign_iters: usize,
    oss2_sign_iters: usize,
    /// CRC-64: the buffer, MiB, and rounds.
    crc_mib: usize,
    crc_rounds: usize,
    /// PutObject: the file, MiB, and rounds of every subject.
    put_mib: usize,
    put_rounds: usize,
    /// Multipart: the file, MiB; part size, MiB; the parallelisms.
    multipart_mib: usize,
    part_mib: usize,
    /// The pipe upload and the streamed download: MiB.
    stream_mib: usize,
    /// Small puts: how many, in flight, size, rounds.
    load_puts: usize,
    load_in_flight: usize,
    load_size: usize,
    load_rounds: usize,
}

/// The parallelisms of the multipart chart; the table's figure is at 4.
pub(crate) const PARALLELISMS: [usize; 4] = [1, 2, 4, 8];
/// The parallelism of the multipart figure and of oss2's `num_threads`.
pub(crate) const TABLE_PARALLELISM: usize = 4;

const FULL: Scale = Scale {
    quick: false,
    sign_rounds: 15,
    sign_iters: 2_000,
    oss2_sign_iters: 200,
    crc_mib: 64,
    crc_rounds: 9,
    put_mib: 256,
    put_rounds: 3,
    multipart_mib: 1024,
    part_mib: 8,
    stream_mib: 1024,
    load_puts: 1_000,
    load_in_flight: 64,
    load_size: 4096,
    load_rounds: 3,
};

const QUICK: Scale = Scale {
    quick: true,
    sign_rounds: 3,
    sign_iters: 200,
    oss2_sign_iters: 20,
    crc_mib: 8,
    crc_rounds: 3,
    put_mib: 16,
    put_rounds: 1,
    multipart_mib: 32,
    part_mib: 8,
    stream_mib: 32,
    load_puts: 100,
    load_in_flight: 64,
    load_size: 4096,
    load_rounds: 1,
};

/// The streaming figures' ceiling on the client's peak RSS, KiB (64 MiB):
/// above it the bench fails.
pub(crate) const STREAM_RSS_KIB: f64 = 64.0 * 1024.0;

/// The streaming figures, whose client RSS is held to [`STREAM_RSS_KIB`].
pub(crate) const STREAM_FIGURES: [&str; 2] = ["pipe-upload", "stream-download"];

/// A figure program that runs longer is killed and the bench fails.
const FIGURE_TIMEOUT: Duration = Duration::from_secs(600);

pub(crate) fn run(args: &[String]) -> Result {
    let mut scale = FULL;
    let mut readme = false;
    for arg in args {
        match arg.as_str() {
            "--quick" => scale = QUICK,
            "--readme" => readme = true,
            other => {
                return Err(format!(
                    "unknown bench option {other:?} (--quick, --readme)"
                ));
            }
        }
    }
    let root = root();
    let python = venv(&root)?;
    crate::run(
        &cargo(),
        &[
            "build",
            "--release",
            "-q",
            "-p",
            "osscb-bench",
            "-p",
            "osscb-emulator",
        ],
    )?;
    let target = target_dir(&root);
    let dir = target.join("bench");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tools = Tools {
        bench: target.join("release").join(exe("osscb-bench")),
        emulator: target.join("release").join(exe("osscb-emulator")),
        python,
        script: root.join("interop").join("bench.py"),
        dir,
    };
    eprintln!("bench: running every figure beside its baselines ({scale:?})");
    // The figures' time, without the release build.
    let started = Instant::now();
    let runs = figures(&tools, scale)?;
    let rows = report::rows(&runs, scale)?;
    let markdown = report::markdown(&rows, &runs, scale);
    let seconds = started.elapsed().as_secs_f64();
    let json = report::json(&rows, &runs, scale, seconds);
    write(&tools.dir.join("results.json"), &json)?;
    write(&tools.dir.join("results.md"), &markdown)?;
    let svg = report::svg(&runs)?;
    write(&tools.dir.join("bench-multipart.svg"), &svg)?;
    eprintln!("{markdown}");
    eprintln!(
        "bench: every figure produced in {seconds:.0} s; results in {}",
        tools.dir.display()
    );
    let over: Vec<String> = runs
        .iter()
        .filter(|run| flat::text(run, "figure").is_ok_and(|f| STREAM_FIGURES.contains(&f)))
        .filter(|run| flat::number(run, "client_rss_kib").map_or(true, |kib| kib > STREAM_RSS_KIB))
        .map(flat::write)
        .collect();
    if !over.is_empty() {
        return Err(format!(
            "a streaming figure's client peak RSS is over 64 MiB: {}",
            over.join("; ")
        ));
    }
    if readme {
        if scale.quick {
            return Err("--readme takes the full run's figures, not --quick's".to_owned());
        }
        let readme_path = root.join("README.md");
        let text = fs::read_to_string(&readme_path)
            .map_err(|e| format!("cannot read {}: {e}", readme_path.display()))?;
        write(&readme_path, &report::splice(&text, &markdown)?)?;
        let docs = root.join("docs");
        fs::create_dir_all(&docs).map_err(|e| format!("cannot create {}: {e}", docs.display()))?;
        write(&docs.join("bench-multipart.svg"), &svg)?;
        eprintln!("bench: README.md's Performance section and docs/bench-multipart.svg written");
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The programs the figures run.
struct Tools {
    bench: PathBuf,
    emulator: PathBuf,
    python: PathBuf,
    script: PathBuf,
    dir: PathBuf,
}

/// What one run of one subject printed, with the peak RSS of its process
/// (`client_rss_kib`) and, for transfers, of its emulator
/// (`emulator_rss_kib`), under `figure` and `subject` keys.
pub(crate) type Run = Flat;

/// Every figure's runs, in the order they ran.
fn figures(tools: &Tools, scale: Scale) -> Result<Vec<Run>> {
    let mut runs = Vec::new();
    let rounds = |n: usize| n.to_string();
    eprintln!("bench: signing (osscb, floor, reqsign interleaved; then oss2)");
    let osscb = measured(Command::new(&tools.bench).args([
        "sign",
        &rounds(scale.sign_rounds),
        &rounds(scale.sign_iters),
    ]))?;
    runs.push(tagged(osscb.0, "sign", "osscb"));
    let oss2 = measured(&mut tools.python_figure(&[
        "sign",
        &rounds(scale.sign_rounds),
        &rounds(scale.oss2_sign_iters),
    ]))?;
    runs.push(tagged(oss2.0, "sign", "oss2"));

    eprintln!("bench: CRC-64 (osscb and memcpy interleaved; then oss2's crcmod)");
    let buffer = data_file(&tools.dir, "crc", scale.crc_mib)?;
    let buffer_arg = buffer.to_string_lossy().into_owned();
    let osscb =
        measured(Command::new(&tools.bench).args(["crc", &buffer_arg, &rounds(scale.crc_rounds)]))?;
    let crcmod =
        measured(&mut tools.python_figure(&["crc", &buffer_arg, &rounds(scale.crc_rounds)]))?;
    if flat::text(&osscb.0, "crc64")? != flat::text(&crcmod.0, "crc64")? {
        return Err("osscb and crcmod disagree on the buffer's CRC-64".to_owned());
    }
    runs.push(tagged(osscb.0, "crc", "osscb"));
    runs.push(tagged(crcmod.0, "crc", "oss2"));

    let file = data_file(&tools.dir, "put", scale.put_mib)?;
    for round in 0..scale.put_rounds {
        eprintln!("bench: PutObject round {}/{}", round + 1, scale.put_rounds);
        for subject in ["blocking", "async", "curl", "oss2"] {
            runs.push(tools.transfer("put", subject, &file, scale, 0)?);
        }
    }

    let file = data_file(&tools.dir, "multipart", scale.multipart_mib)?;
    eprintln!(
        "bench: multipart (parallelism {PARALLELISMS:?}; oss2 at {TABLE_PARALLELISM}; curl's single PUT)"
    );
    for parallelism in PARALLELISMS {
        for subject in ["blocking", "async"] {
            runs.push(tools.transfer("multipart", subject, &file, scale, parallelism)?);
        }
    }
    for subject in ["oss2", "curl"] {
        runs.push(tools.transfer("multipart", subject, &file, scale, TABLE_PARALLELISM)?);
    }

    eprintln!(
        "bench: a {} MiB upload from a pipe and its streamed download (client RSS <= 64 MiB)",
        scale.stream_mib
    );
    for mode in ["blocking", "async"] {
        runs.extend(tools.streamed(mode, scale)?);
    }

    eprintln!("bench: small async puts, with and without callbacks (alternating rounds)");
    let emulator = tools.emulator("load")?;
    let load = measured(Command::new(&tools.bench).args([
        "load",
        &emulator.endpoint,
        &rounds(scale.load_puts),
        &rounds(scale.load_in_flight),
        &rounds(scale.load_size),
        &rounds(scale.load_rounds),
    ]))?;
    let mut run = tagged(load.0, "load", "async");
    run.insert("client_rss_kib".to_owned(), Value::Number(load.1 as f64));
    run.insert(
        "emulator_rss_kib".to_owned(),
        Value::Number(peak_rss_kib(emulator.child.id()) as f64),
    );
    runs.push(run);
    Ok(runs)
}

impl Tools {
    fn python_figure(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.python);
        command
            .arg(&self.script)
            .args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        command
    }

    fn emulator(&self, figure: &str) -> Result<Emulator> {
        Emulator::start(
            &self.emulator,
            None,
            &self.dir.join(format!("emulator-{figure}.log")),
        )
    }

    /// One subject's transfer of `file` to a fresh emulator.
    fn transfer(
        &self,
        figure: &str,
        subject: &str,
        file: &Path,
        scale: Scale,
        parallelism: usize,
    ) -> Result<Run> {
        let emulator = self.emulator(figure)?;
        let endpoint = emulator.endpoint.as_str();
        let file_arg = file.to_string_lossy().into_owned();
        let part = scale.part_mib.to_string();
        let threads = parallelism.to_string();
        let (mut run, client_kib) = match (figure, subject) {
            ("put", "curl") | ("multipart", "curl") => self.curl(endpoint, file, figure)?,
            ("put", "oss2") => measured(&mut self.python_figure(&["put", endpoint, &file_arg]))?,
            ("multipart", "oss2") => measured(&mut self.python_figure(&[
                "multipart",
                endpoint,
                &file_arg,
                &part,
                &threads,
            ]))?,
            ("put", mode) => {
                measured(Command::new(&self.bench).args(["put", mode, endpoint, &file_arg]))?
            }
            (_, mode) => measured(Command::new(&self.bench).args([
                "multipart",
                mode,
                endpoint,
                &file_arg,
                &part,
                &threads,
            ]))?,
        };
        let emulator_kib = peak_rss_kib(emulator.child.id());
        drop(emulator);
        run.insert(
            "client_rss_kib".to_owned(),
            Value::Number(client_kib as f64),
        );
        run.insert(
            "emulator_rss_kib".to_owned(),
            Value::Number(emulator_kib as f64),
        );
        run.insert("parallelism".to_owned(), Value::Number(parallelism as f64));
        Ok(tagged(run, figure, subject))
    }

    /// A `stream_mib` upload from a generator of unknown length, then its
    /// download read as it arrives, each in its own process, to one fresh
    /// emulator.
    fn streamed(&self, mode: &str, scale: Scale) -> Result<[Run; 2]> {
        let emulator = self.emulator("streamed")?;
        let endpoint = emulator.endpoint.as_str();
        let mib = scale.stream_mib.to_string();
        let (mut upload, upload_kib) =
            measured(Command::new(&self.bench).args(["pipe-upload", mode, endpoint, &mib]))?;
        let (mut download, download_kib) =
            measured(Command::new(&self.bench).args(["stream-download", mode, endpoint]))?;
        let emulator_kib = peak_rss_kib(emulator.child.id()) as f64;
        for (run, kib) in [(&mut upload, upload_kib), (&mut download, download_kib)] {
            run.insert("client_rss_kib".to_owned(), Value::Number(kib as f64));
            run.insert("emulator_rss_kib".to_owned(), Value::Number(emulator_kib));
        }
        Ok([
            tagged(upload, "pipe-upload", mode),
            tagged(download, "stream-download", mode),
        ])
    }

    /// `curl -T` of `file` to a presigned PUT URL (osscb's presign), with
    /// the headers the URL was signed with; curl's own transfer time.
    fn curl(&self, endpoint: &str, file: &Path, figure: &str) -> Result<(Flat, u64)> {
        let key = format!("bench/{figure}-curl.bin");
        let (presigned, _) =
            measured(Command::new(&self.bench).args(["presign-put", endpoint, &key]))?;
        let url = flat::text(&presigned, "url")?;
        let mut command = Command::new("curl");
        command.args(["-sS", "-f", "-o", "/dev/null", "-w", "%{time_total}", "-T"]);
        command.arg(file);
        for (name, value) in &presigned {
            if let (Some(name), Value::Text(value)) = (name.strip_prefix("header:"), value) {
                command.arg("-H").arg(format!("{name}: {value}"));
            }
        }
        command.arg(url);
        let (stdout, rss) = measured_text(&mut command)?;
        let seconds: f64 = stdout
            .trim()
            .parse()
            .map_err(|_| format!("curl printed {stdout:?}, not its time"))?;
        let bytes = fs::metadata(file)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .len() as f64;
        let mut run = Flat::new();
        run.insert("bytes".to_owned(), Value::Number(bytes));
        run.insert("seconds".to_owned(), Value::Number(seconds));
        run.insert("mb_s".to_owned(), Value::Number(bytes / 1e6 / seconds));
        Ok((run, rss))
    }
}

fn tagged(mut run: Flat, figure: &str, subject: &str) -> Run {
    run.insert("figure".to_owned(), Value::Text(figure.to_owned()));
    run.insert("subject".to_owned(), Value::Text(subject.to_owned()));
    run
}

/// Runs a figure program: its JSON line, and its peak RSS (KiB).
fn measured(command: &mut Command) -> Result<(Flat, u64)> {
    let (stdout, rss) = measured_text(command)?;
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| format!("{command:?} printed no JSON line"))?;
    Ok((flat::parse(line)?, rss))
}

/// Runs `command` to its end (at most [`FIGURE_TIMEOUT`]), reading its
/// `VmHWM` from `/proc` while it runs: its stdout and peak RSS (KiB). A
/// process that exits non-zero fails the bench.
fn measured_text(command: &mut Command) -> Result<(String, u64)> {
    let mut child = command
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("stdout is not piped")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + FIGURE_TIMEOUT;
    let mut peak = 0;
    let status = loop {
        // Read before reaping: a reaped process has no /proc entry.
        peak = peak.max(peak_rss_kib(child.id()));
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{command:?} ran over {FIGURE_TIMEOUT:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("cannot wait for {command:?}: {e}")),
        }
    };
    let text = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("{command:?} failed ({status})"));
    }
    // A figure that reports its own VmHWM at its end saw its last growth too.
    let own = flat::parse(text.lines().last().unwrap_or_default())
        .ok()
        .and_then(|f| flat::number(&f, "rss_kib").ok())
        .map_or(0, |kib| kib as u64);
    Ok((text, peak.max(own)))
}

/// `VmHWM` of process `pid`, KiB (0 once it is gone).
fn peak_rss_kib(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// `target/bench/NAME-MIBmib.bin`: `mib` MiB of pseudo-random bytes,
/// generated once and reused.
fn data_file(dir: &Path, name: &str, mib: usize) -> Result<PathBuf> {
    let path = dir.join(format!("{name}-{mib}mib.bin"));
    let len = mib as u64 * 1024 * 1024;
    if fs::metadata(&path).is_ok_and(|m| m.len() == len) {
        return Ok(path);
    }
    eprintln!("bench: generating {} ({mib} MiB)", path.display());
    let partial = path.with_extension("partial");
    let mut out = std::io::BufWriter::new(
        fs::File::create(&partial)
            .map_err(|e| format!("cannot create {}: {e}", partial.display()))?,
    );
    // xorshift64*: incompressible enough, and the same file on every machine.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ mib as u64;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for chunk in block.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            chunk.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        std::io::Write::write_all(&mut out, &block)
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    }
    std::io::Write::flush(&mut out).map_err(|e| format!("{}: {e}", partial.display()))?;
    drop(out);
    fs::rename(&partial, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}
