//! The `osscb-emulator` command line, as a library (feature `cli`): the
//! `osscb-emulator` binary and `osscb emulator` parse the same [`Args`] and
//! call [`run`].

use std::time::Duration;

use crate::{Emulator, EmulatorConfig};

/// A local Alibaba Cloud OSS: real signature checks, RSA-signed upload
/// callbacks, fault injection.
#[derive(clap::Parser, Debug)]
#[command(version, about)]
pub struct Args {
    /// The address to listen on (default: 127.0.0.1 and a free port).
    #[arg(long, env = "OSSCB_EMULATOR_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// The AccessKey ID requests must be signed with.
    #[arg(long = "access-key-id", env = "OSSCB_EMULATOR_ACCESS_KEY_ID")]
    id: String,
    /// Its secret.
    #[arg(
        long = "access-key-secret",
        env = "OSSCB_EMULATOR_ACCESS_KEY_SECRET",
        hide_env_values = true
    )]
    secret: String,
    /// An STS token requests must carry.
    #[arg(
        long = "security-token",
        env = "OSSCB_EMULATOR_SECURITY_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// Keep objects and uploads in this directory, across restarts.
    #[arg(long, env = "OSSCB_EMULATOR_DATA_DIR")]
    data_dir: Option<String>,
    /// Sign callbacks with this RSA private key (PEM, at least 1024 bits).
    #[arg(long)]
    rsa_key: Option<String>,
    /// How long a client may take to send its request headers.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    header_read_timeout_ms: u64,
    /// Answer the next N requests with STATUS.
    #[arg(long, value_parser = pair, value_name = "N:STATUS")]
    fail_next: Option<(u32, u16)>,
    /// Answer the Nth request from now with STATUS (repeatable).
    #[arg(long, value_parser = pair, value_name = "N:STATUS")]
    fail_nth: Vec<(u32, u16)>,
    /// Drop the connection of the next N requests.
    #[arg(long, default_value_t = 0, value_name = "N")]
    drop_next: u32,
    /// Delay answers by MS milliseconds.
    #[arg(long, value_name = "MS")]
    delay_ms: Option<u64>,
    /// How many answers --delay-ms delays (default: all).
    #[arg(long, default_value_t = u32::MAX, value_name = "N")]
    delay_count: u32,
    /// Log each request (method, path, status, request id, duration) and
    /// callback on stderr at this level: error, warn, info, debug or trace.
    /// Queries, headers and bodies are never logged.
    #[arg(long, env = "OSSCB_EMULATOR_LOG", value_name = "LEVEL")]
    log: Option<tracing::Level>,
    /// Report a wrong CRC-64 for the next N writes.
    #[arg(long = "corrupt-crc64-next", default_value_t = 0, value_name = "N")]
    corrupt: u32,
    /// The RAM role the ECS metadata service (/__osscb/metadata) names
    /// (default: osscb-emulator-role).
    #[arg(long, value_name = "NAME")]
    ecs_role: Option<String>,
    /// Refuse metadata GETs without a session token (hardened mode).
    #[arg(long)]
    metadata_requires_token: bool,
    /// The only OIDC token STS AssumeRoleWithOIDC accepts (default: any).
    #[arg(long, env = "OSSCB_EMULATOR_OIDC_TOKEN", hide_env_values = true)]
    oidc_token: Option<String>,
    /// The lifetime of every credential the emulator issues (default: 3600
    /// from metadata and the credentials URI, DurationSeconds from STS).
    #[arg(long, value_name = "SECS")]
    credential_lifetime: Option<u64>,
    /// Serve no dashboard at /__osscb/.
    #[arg(long)]
    no_dashboard: bool,
    /// The token the dashboard's fault controls require (Authorization:
    /// Bearer TOKEN); without it they answer only on a loopback address.
    #[arg(
        long,
        env = "OSSCB_EMULATOR_DASHBOARD_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    dashboard_token: Option<String>,
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

/// Runs the emulator with `args` until Ctrl-C or SIGTERM.
///
/// # Errors
/// It cannot start (a key file, the listen address, the data directory).
pub fn run(args: Args) -> Result<(), String> {
    if let Some(level) = args.log {
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stderr)
            .init();
    }
    let mut config = EmulatorConfig::new(args.id, args.secret);
    if let Some(listen) = args.listen {
        config = config.listen(listen);
    }
    if let Some(token) = args.token {
        config = config.security_token(token);
    }
    if let Some(dir) = args.data_dir {
        config = config.data_dir(dir);
    }
    config = config.header_read_timeout(Duration::from_millis(args.header_read_timeout_ms));
    if let Some(path) = args.rsa_key {
        let pem = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        config = config.rsa_key_pem(pem);
    }
    if let Some(role) = args.ecs_role {
        config = config.ecs_role(role);
    }
    config = config.metadata_requires_token(args.metadata_requires_token);
    if let Some(token) = args.oidc_token {
        config = config.oidc_token(token);
    }
    if let Some(secs) = args.credential_lifetime {
        config = config.credential_lifetime(Duration::from_secs(secs));
    }
    config = config.dashboard(!args.no_dashboard);
    if let Some(token) = args.dashboard_token {
        config = config.dashboard_token(token);
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
    if let Some(url) = emulator.dashboard_url() {
        // A second line, which a caller that reads only the first may not
        // want: a closed stdout is no reason to stop.
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), "dashboard: {url}");
    }
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
