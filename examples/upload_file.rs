//! A resumable multipart upload with a progress bar and a callback.
//!
//! ```text
//! cargo run --example upload_file -- PATH [KEY]
//! ```
//!
//! The key defaults to the file's name. A checkpoint records finished parts:
//! interrupt the upload (Ctrl-C) and run the same command again to continue
//! where it stopped. Checkpoints live in `OSSCB_CHECKPOINT_DIR` if set, else
//! in `osscb-upload` under the user's cache directory (`$XDG_CACHE_HOME`,
//! else `~/.cache`) — never under a guessable name in the shared temp
//! directory — created for the owner only; a directory other users can enter
//! is refused. Uses the same variables as `put_object_callback`, and the
//! embedded emulator when neither `OSS_ENDPOINT` nor `OSS_REGION` is set.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use osscb_blocking::UploadOptions;
use osscb_core::crc64;
use osscb_examples::embedded::Setup;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: cargo run --example upload_file -- PATH [KEY]");
        return ExitCode::FAILURE;
    };
    let key = args.next().unwrap_or_else(|| {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "upload.bin".to_owned())
    });
    match run(&path, &key) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &Path, key: &str) -> Result<(), Box<dyn std::error::Error>> {
    let setup = Setup::from_env()?;
    let bucket = setup.blocking_client()?.bucket(&setup.bucket)?;
    let absolute = std::fs::canonicalize(path)?;
    let id = format!("{}\n{}\n{}", setup.bucket, key, absolute.display());
    let checkpoint = checkpoint_dir()?.join(format!(
        "osscb-upload-{:016x}.json",
        crc64::checksum(id.as_bytes())
    ));
    if checkpoint.exists() {
        eprintln!("resuming from {}", checkpoint.display());
    }
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )?);
    let progress = bar.clone();
    let options = UploadOptions::new()
        .callback(setup.callback("bucket=${bucket}&object=${object}&size=${size}")?)
        .checkpoint(&checkpoint)
        .progress(move |done, total| {
            progress.set_length(total);
            progress.set_position(done);
        });
    let output = bucket.upload_file(key, path, &options);
    bar.finish();
    match output {
        Ok(output) => {
            println!("{}", output.callback.map(|a| a.text()).unwrap_or_default());
            println!("Uploaded {} to {key}.", path.display());
            Ok(())
        }
        // The object is (or may be) stored: nothing to resume. A lost
        // answer or an unknown outcome says so in its message.
        Err(e)
            if e.callback_failed().is_some()
                || matches!(
                    e,
                    osscb_core::Error::AnswerLost(_) | osscb_core::Error::OutcomeUnknown { .. }
                ) =>
        {
            Err(e.into())
        }
        Err(e) => Err(format!("{e} (rerun to resume from {})", checkpoint.display()).into()),
    }
}

/// The checkpoints' directory (see the module's doc), created owner-only.
///
/// # Errors
/// No directory given and no home, a directory that cannot be created, or
/// one that other users can enter.
fn checkpoint_dir() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let dir = match var("OSSCB_CHECKPOINT_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => var("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| var("HOME").map(|home| Path::new(&home).join(".cache")))
            .ok_or("no home directory: set OSSCB_CHECKPOINT_DIR")?
            .join("osscb-upload"),
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&dir)?;
    let meta = std::fs::metadata(&dir)?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()).into());
    }
    #[cfg(unix)]
    if std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o077 != 0 {
        let dir = dir.display();
        return Err(format!(
            "other users can enter {dir}: chmod 700 it, or set OSSCB_CHECKPOINT_DIR"
        )
        .into());
    }
    Ok(dir)
}
