//! `osscb-emulator`: run the emulator from the command line.

use std::process::ExitCode;

use osscb_emulator::cli::{Args, run};

fn main() -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("osscb-emulator: {message}");
            ExitCode::FAILURE
        }
    }
}
