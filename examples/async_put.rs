//! Concurrent uploads with osscb-async, each with a callback.
//!
//! ```text
//! cargo run --example async_put -- PATH...
//! ```
//!
//! Each file goes to the key of its name, streamed, all at once. Uses the same
//! variables as `put_object_callback`, and the embedded emulator when neither
//! `OSS_ENDPOINT` nor `OSS_REGION` is set.

use std::path::PathBuf;
use std::process::ExitCode;

use osscb_async::UploadOptions;
use osscb_examples::embedded::Setup;

#[tokio::main]
async fn main() -> ExitCode {
    let paths: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: cargo run --example async_put -- PATH...");
        return ExitCode::FAILURE;
    }
    let setup = match Setup::from_env() {
        Ok(setup) => setup,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bucket = match setup.async_client().and_then(|c| c.bucket(&setup.bucket)) {
        Ok(bucket) => bucket,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let callback = match setup.callback("bucket=${bucket}&object=${object}&size=${size}") {
        Ok(callback) => callback,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut uploads = tokio::task::JoinSet::new();
    for path in paths {
        let key = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "upload.bin".to_owned());
        let bucket = bucket.clone();
        let options = UploadOptions::new().callback(callback.clone());
        uploads.spawn(async move {
            let result = bucket.put_object_from_file(&key, &path, &options).await;
            (path, key, result)
        });
    }
    let mut failed = false;
    while let Some(joined) = uploads.join_next().await {
        match joined {
            Ok((path, key, Ok(output))) => {
                let answer = output.callback.map(|a| a.text()).unwrap_or_default();
                println!("{} -> {key}: {answer}", path.display());
            }
            Ok((path, key, Err(e))) => {
                failed = true;
                eprintln!("{} -> {key}: {e}", path.display());
            }
            Err(e) => {
                failed = true;
                eprintln!("upload task failed: {e}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
