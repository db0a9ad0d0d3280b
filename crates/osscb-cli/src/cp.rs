//! `osscb cp`: an upload with a callback (FILE oss://bucket/key), single or
//! multipart by size and resumable, or a download (oss://bucket/key FILE).

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use osscb_blocking::{Bucket, UploadOptions};
use osscb_core::response::{CallbackAnswer, ObjectFacts};

use crate::exit::{Failure, facts};
use crate::location::Location;

/// 8 MiB: files up to this size go in one PutObject, larger ones in parts.
const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;

/// Upload or download one object. An upload to a key ending in `/` goes
/// under it by the file's name; a download into a directory takes the key's
/// last segment as its name.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// A local file, or oss://bucket/key.
    source: String,
    /// oss://bucket/key (or oss://bucket/dir/), or a local file (or directory).
    destination: String,
    /// Files larger than this go in parts of this size, resumable: a
    /// checkpoint beside the file (FILE.osscb-checkpoint) lets a rerun of the
    /// same command skip the parts already sent (100 KiB to 5 GiB).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_PART_SIZE)]
    part_size: u64,
    /// Parts sent at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    parallelism: usize,
    /// The object's Content-Type (default: guessed from the key, then the file name).
    #[arg(long, value_name = "TYPE")]
    content_type: Option<String>,
    #[command(flatten)]
    callback: crate::callback::CallbackArgs,
    #[command(flatten)]
    client: crate::client::ClientArgs,
}

/// Runs `cp`.
pub(crate) fn run(args: Args) -> Result<(), Failure> {
    match (
        Location::parse(&args.source),
        Location::parse(&args.destination),
    ) {
        (None, Some(to)) => {
            let path = Path::new(&args.source);
            let name = path.file_name().map(|n| n.to_string_lossy());
            let to = to.map_err(Failure::usage)?;
            upload(&args, path, &to.or_in_dir(&name.unwrap_or_default()))
        }
        (Some(from), None) => {
            let from = from.map_err(Failure::usage)?;
            let mut path = PathBuf::from(&args.destination);
            if path.is_dir() {
                path.push(from.file_name());
            }
            download(&args, &from, &path)
        }
        _ => Err(Failure::usage(
            "cp copies a local file to oss://bucket/key, or oss://bucket/key to a local file",
        )),
    }
}

fn upload(args: &Args, path: &Path, to: &Location) -> Result<(), Failure> {
    let callback = args.callback.callback()?;
    let len = std::fs::metadata(path)
        .map_err(|e| Failure::other(format!("{}: {e}", path.display())))?
        .len();
    let bucket = args.client.bucket(to)?;
    let bar = progress_bar(len)?;
    let shown = bar.clone();
    let mut options = UploadOptions::new()
        .part_size(args.part_size)
        .parallelism(args.parallelism)
        .progress(move |done, total| {
            shown.set_length(total);
            shown.set_position(done);
        });
    if let Some(content_type) = &args.content_type {
        options = options.content_type(content_type.as_str());
    }
    if let Some(callback) = callback {
        options = options.callback(callback);
    }
    let outcome = if len > args.part_size {
        multipart(&bucket, path, to, options)
    } else {
        bucket
            .put_object_from_file(&to.key, path, &options)
            .map(|out| (out.object, out.callback))
            .map_err(|e| Failure::upload(&e))
    };
    bar.finish_and_clear();
    let (object, answer) = outcome?;
    if let Some(answer) = answer {
        println!("{}", answer.text());
    }
    eprintln!("uploaded {} to {to}: {}", path.display(), facts(&object));
    Ok(())
}

/// What an upload stored, and the application server's answer.
type Stored = (ObjectFacts, Option<CallbackAnswer>);

/// A multipart upload with its checkpoint beside the file.
fn multipart(
    bucket: &Bucket,
    path: &Path,
    to: &Location,
    options: UploadOptions,
) -> Result<Stored, Failure> {
    let mut checkpoint = PathBuf::from(path).into_os_string();
    checkpoint.push(".osscb-checkpoint");
    let checkpoint = PathBuf::from(checkpoint);
    if checkpoint.exists() {
        eprintln!("resuming from {}", checkpoint.display());
    }
    let options = options.checkpoint(&checkpoint);
    match bucket.upload_file(&to.key, path, &options) {
        Ok(out) => Ok((out.object, out.callback)),
        Err(e) => {
            let mut failure = Failure::upload(&e);
            if failure.is_other() {
                failure = Failure::other(format!(
                    "{e} (run the same command again to resume from {})",
                    checkpoint.display()
                ));
            }
            Err(failure)
        }
    }
}

/// A byte progress bar on stderr, drawn only when stderr is a terminal.
fn progress_bar(len: u64) -> Result<ProgressBar, Failure> {
    let style =
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .map_err(Failure::other)?;
    Ok(ProgressBar::new(len).with_style(style))
}

fn download(args: &Args, from: &Location, path: &Path) -> Result<(), Failure> {
    let bucket = args.client.bucket(from)?;
    let output = bucket.get_object_to_file(&from.key, path)?;
    let len = output
        .metadata
        .content_length
        .map_or_else(|| "unknown".to_owned(), |n| n.to_string());
    eprintln!(
        "downloaded {from} to {} ({len} bytes): {}",
        path.display(),
        facts(&output.metadata.object)
    );
    Ok(())
}
