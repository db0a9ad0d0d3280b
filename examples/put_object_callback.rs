//! Upload with a callback, as the Go SDK's upload-callback sample does:
//! 1 MiB of `a` to `examplefiles/exampleobject.txt`, with the callback body
//! `bucket=${bucket}&object=${object}` (form-urlencoded).
//!
//! ```text
//! cargo run --example put_object_callback
//! ```
//!
//! Without `OSS_ENDPOINT` or `OSS_REGION` it runs against an embedded emulator
//! and a local callback receiver that verifies OSS's signature; with
//! `OSS_ENDPOINT` or `OSS_REGION` (a region alone names OSS's public
//! endpoint), `OSS_ACCESS_KEY_ID`, `OSS_ACCESS_KEY_SECRET`, `OSS_BUCKET` and
//! `OSS_CALLBACK_URL` it talks to real OSS. Prints the callback server's
//! answer, then `Object uploaded with callback successfully.`; exits 2 when OSS
//! stored the object but the callback failed (HTTP 203), 3 when OSS stored
//! the object and ran the callback but its answer was lost in transit, 4 when
//! the outcome is unknown (see the README's Decisions), 1 on other errors.

use std::process::ExitCode;

use osscb_blocking::UploadOptions;
use osscb_examples::embedded::Setup;

fn main() -> ExitCode {
    let setup = match Setup::from_env() {
        Ok(setup) => setup,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&setup) {
        Ok(answer) => {
            println!("{answer}");
            println!("Object uploaded with callback successfully.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let core = e.downcast_ref::<osscb_blocking::Error>();
            if let Some(osscb_core::Error::AnswerLost(object)) = core {
                eprintln!(
                    "The object was stored (ETag {}) and OSS ran the callback, but its answer was lost in transit; the upload was not repeated.",
                    object.etag.as_deref().unwrap_or("unknown")
                );
                return ExitCode::from(3);
            }
            if let Some(unknown @ osscb_core::Error::OutcomeUnknown { .. }) = core {
                eprintln!("{unknown}");
                return ExitCode::from(4);
            }
            if let Some(failed) = e
                .downcast_ref::<osscb_blocking::Error>()
                .and_then(|e| e.callback_failed())
            {
                eprintln!(
                    "The object was stored (ETag {}), but the upload callback failed: {}",
                    failed.object.etag.as_deref().unwrap_or("unknown"),
                    if failed.error.message.is_empty() {
                        failed.error.code.as_str()
                    } else {
                        failed.error.message.as_str()
                    }
                );
                return ExitCode::from(2);
            }
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(setup: &Setup) -> Result<String, Box<dyn std::error::Error>> {
    let bucket = setup.blocking_client()?.bucket(&setup.bucket)?;
    let callback = setup.callback("bucket=${bucket}&object=${object}")?;
    let content = vec![b'a'; 1024 * 1024];
    let options = UploadOptions::new().callback(callback);
    let output = bucket.put_object("examplefiles/exampleobject.txt", &content, &options)?;
    Ok(output
        .callback
        .map(|answer| answer.text())
        .unwrap_or_default())
}
