//! The figure programs of `cargo xtask bench`. Each figure runs as its own
//! process (so that its peak RSS is its own) and prints one JSON line on
//! stdout; `cargo xtask bench` runs them beside their baselines, interleaved,
//! and writes the table.
//!
//! ```text
//! osscb-bench sign ROUNDS ITERS
//! osscb-bench crc FILE ROUNDS
//! osscb-bench presign-put ENDPOINT KEY
//! osscb-bench put blocking|async ENDPOINT FILE
//! osscb-bench multipart blocking|async ENDPOINT FILE PART_MIB PARALLELISM
//! osscb-bench load ENDPOINT PUTS IN_FLIGHT SIZE ROUNDS
//! osscb-bench pipe-upload blocking|async ENDPOINT MIB
//! osscb-bench stream-download blocking|async ENDPOINT
//! ```

use std::process::ExitCode;

mod crc;
mod receiver;
mod sign;
mod streamed;
mod timing;
mod transfer;

/// A figure's error, printed on stderr.
type Result<T = ()> = std::result::Result<T, String>;

/// The emulator's test credentials (`cargo xtask bench` starts it with them).
const ACCESS_KEY_ID: &str = "osscb-interop-id";
/// See [`ACCESS_KEY_ID`].
const ACCESS_KEY_SECRET: &str = "osscb-interop-secret";
/// The bucket every transfer figure writes to.
const BUCKET: &str = "examplebucket";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["sign", rounds, iters] => number(rounds)
            .and_then(|r| number(iters).map(|i| (r, i)))
            .and_then(|(r, i)| sign::run(r, i)),
        ["crc", file, rounds] => number(rounds).and_then(|r| crc::run(file, r)),
        ["presign-put", endpoint, key] => transfer::presign_put(endpoint, key),
        ["put", mode, endpoint, file] => transfer::put(mode, endpoint, file),
        ["multipart", mode, endpoint, file, part_mib, parallelism] => number(part_mib)
            .and_then(|p| number(parallelism).map(|n| (p, n)))
            .and_then(|(p, n)| transfer::multipart(mode, endpoint, file, p, n)),
        ["load", endpoint, puts, in_flight, size, rounds] => (|| {
            let counts = [number(puts)?, number(in_flight)?, number(size)?];
            transfer::load(endpoint, counts, number(rounds)?)
        })(),
        ["pipe-upload", mode, endpoint, mib] => {
            number(mib).and_then(|m| streamed::pipe_upload(mode, endpoint, m))
        }
        ["stream-download", mode, endpoint] => streamed::stream_download(mode, endpoint),
        _ => Err("usage: see the crate's documentation (osscb-bench FIGURE ARGS…)".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("osscb-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn number(text: &str) -> Result<usize> {
    text.parse().map_err(|_| format!("not a count: {text:?}"))
}

/// Prints a figure's JSON line.
fn emit(value: &serde_json::Value) {
    println!("{value}");
}

/// This process's peak resident set (`VmHWM`), KiB; 0 where `/proc` has none.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
