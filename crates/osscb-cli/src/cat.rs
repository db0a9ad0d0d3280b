//! `osscb cat`: an object to standard output, streamed, its CRC-64 checked
//! at the end.

use std::io::Write as _;

use osscb_core::ObjectKey;
use osscb_core::ops::GetObject;

use crate::exit::Failure;
use crate::location::Location;

/// Write an object to standard output.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// oss://bucket/key
    #[arg(value_parser = Location::parse_arg)]
    object: Location,
    #[command(flatten)]
    client: crate::client::ClientArgs,
}

/// Runs `cat`.
pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let bucket = args.client.bucket(&args.object)?;
    let op = GetObject::new(bucket.name().clone(), ObjectKey::new(&args.object.key)?);
    let mut reader = bucket.open_object(op)?;
    let mut stdout = std::io::stdout().lock();
    std::io::copy(&mut reader, &mut stdout)
        .and_then(|_| stdout.flush())
        .map_err(|e| match e.kind() {
            // The CRC-64 check at the end of the object.
            std::io::ErrorKind::InvalidData => Failure::other(format!(
                "{}: {e}; what was written is damaged: discard it",
                args.object
            )),
            _ => Failure::other(format!("{}: {e}", args.object)),
        })?;
    Ok(())
}
