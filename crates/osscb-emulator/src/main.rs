//! `osscb-emulator`: run the emulator from the command line.

use std::process::ExitCode;
use std::time::Duration;

use osscb_emulator::{Emulator, EmulatorConfig};

const USAGE: &str = "usage: osscb-emulator --access-key-id ID --access-key-secret SECRET
    [--listen ADDR:PORT] [--security-token TOKEN] [--data-dir DIR] [--rsa-key PEMFILE]
    [--header-read-timeout-ms MS (default 10000)]
    [--fail-next N:STATUS] [--fail-nth N:STATUS]... [--drop-next N]
    [--delay-ms MS [--delay-count N]] [--corrupt-crc64-next N]";

#[derive(Default)]
struct Args {
    listen: Option<String>,
    id: Option<String>,
    secret: Option<String>,
    token: Option<String>,
    data_dir: Option<String>,
    rsa_key: Option<String>,
    header_read_timeout_ms: Option<u64>,
    fail_next: Option<(u32, u16)>,
    fail_nth: Vec<(u32, u16)>,
    drop_next: u32,
    delay_ms: Option<u64>,
    delay_count: u32,
    corrupt: u32,
}

fn pair(text: &str) -> Result<(u32, u16), String> {
    let (n, s) = text
        .split_once(':')
        .ok_or_else(|| format!("expected N:STATUS, got {text:?}"))?;
    Ok((
        n.parse().map_err(|_| format!("bad count {n:?}"))?,
        s.parse().map_err(|_| format!("bad status {s:?}"))?,
    ))
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("bad number {text:?}"))
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        delay_count: u32::MAX,
        ..Args::default()
    };
    while let Some(flag) = argv.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = argv.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => args.listen = Some(value),
            "--access-key-id" => args.id = Some(value),
            "--access-key-secret" => args.secret = Some(value),
            "--security-token" => args.token = Some(value),
            "--data-dir" => args.data_dir = Some(value),
            "--rsa-key" => args.rsa_key = Some(value),
            "--header-read-timeout-ms" => args.header_read_timeout_ms = Some(number(&value)?),
            "--fail-next" => args.fail_next = Some(pair(&value)?),
            "--fail-nth" => args.fail_nth.push(pair(&value)?),
            "--drop-next" => args.drop_next = number(&value)?,
            "--delay-ms" => args.delay_ms = Some(number(&value)?),
            "--delay-count" => args.delay_count = number(&value)?,
            "--corrupt-crc64-next" => args.corrupt = number(&value)?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(args)
}

fn run(args: Args) -> Result<(), String> {
    let (Some(id), Some(secret)) = (args.id, args.secret) else {
        return Err("--access-key-id and --access-key-secret are required".to_owned());
    };
    let mut config = EmulatorConfig::new(id, secret);
    if let Some(listen) = args.listen {
        config = config.listen(
            listen
                .parse()
                .map_err(|_| format!("bad --listen address {listen:?}"))?,
        );
    }
    if let Some(token) = args.token {
        config = config.security_token(token);
    }
    if let Some(dir) = args.data_dir {
        config = config.data_dir(dir);
    }
    if let Some(ms) = args.header_read_timeout_ms {
        config = config.header_read_timeout(Duration::from_millis(ms));
    }
    if let Some(path) = args.rsa_key {
        let pem = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        config = config.rsa_key_pem(pem);
    }
    let emulator = Emulator::start(config).map_err(|e| format!("cannot start: {e}"))?;
    let faults = emulator.faults();
    if let Some((n, status)) = args.fail_next {
        faults.fail_next(n, status);
    }
    for (n, status) in args.fail_nth {
        faults.fail_nth(n, status);
    }
    if args.drop_next > 0 {
        faults.drop_next(args.drop_next);
    }
    if let Some(ms) = args.delay_ms {
        faults.delay_next(args.delay_count, Duration::from_millis(ms));
    }
    if args.corrupt > 0 {
        faults.corrupt_crc64_next(args.corrupt);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // Ctrl-C or (on Unix) SIGTERM stops it cleanly, which removes the
    // temporary directory of a run without --data-dir. The handlers are in
    // place before the line that says it is listening.
    let stopped = {
        let _entered = runtime.enter();
        stop_signal().map_err(|e| format!("waiting for Ctrl-C: {e}"))?
    };
    println!(
        "osscb-emulator listening on {} (callback public key: {})",
        emulator.endpoint(),
        emulator.public_key_url()
    );
    runtime.block_on(stopped);
    emulator.shutdown();
    Ok(())
}

/// Ctrl-C or, on Unix, SIGTERM: registered now, awaited later.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Ctrl-C.
#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("osscb-emulator: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("osscb-emulator: {message}");
            ExitCode::FAILURE
        }
    }
}
