//! `osscb`: uploads with callbacks, downloads, presigned URLs, callback
//! verification and the emulator, over `osscb-blocking`. One module per
//! subcommand; [`exit`] maps outcomes to exit codes.

mod callback;
mod cat;
mod client;
mod cp;
mod exit;
mod location;
mod presign;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::Failure;

/// Alibaba Cloud OSS uploads with callbacks, from the command line.
///
/// Configuration comes from the environment, as for the libraries:
/// OSS_ENDPOINT and/or OSS_REGION (a region signs with Signature V4);
/// credentials from the default chain (OSS_ACCESS_KEY_ID,
/// OSS_ACCESS_KEY_SECRET, OSS_SESSION_TOKEN, then ALIBABA_CLOUD_*
/// variables, profiles, the ECS RAM role, …).
#[derive(Parser, Debug)]
#[command(
    name = "osscb",
    version,
    after_help = "Exit codes:\n  \
        0  success\n  \
        1  an error (nothing uploaded, or a download or check failed)\n  \
        2  usage error\n  \
        3  the object was stored, but its upload callback failed (HTTP 203)\n  \
        4  the outcome of an upload with a callback is unknown: the object may be stored; do not upload it again blindly"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Upload (FILE oss://bucket/key) or download (oss://bucket/key FILE).
    Cp(cp::Args),
    /// Write an object to standard output.
    Cat(cat::Args),
    /// Print a presigned URL.
    Presign(presign::Args),
    /// Verify a captured upload callback, and say why it fails when it does.
    Verify(verify::Args),
    /// Run the emulator: a local OSS (the same flags as `osscb-emulator`).
    Emulator(osscb_emulator::cli::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Cp(args) => cp::run(args),
        Command::Cat(args) => cat::run(args),
        Command::Presign(args) => presign::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Emulator(args) => osscb_emulator::cli::run(args).map_err(Failure::other),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
