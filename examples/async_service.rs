//! A long-running async service that uploads with callbacks, signing with
//! credentials it never sees in its configuration: the ECS RAM role's, from
//! the instance metadata service, refreshed before they expire.
//!
//! ```text
//! cargo run --example async_service -- [ROUNDS] [INTERVAL_MS]
//! ```
//!
//! Without `OSS_ENDPOINT` and `OSS_REGION` it runs against the embedded
//! emulator, whose metadata service hands out credentials that live 2
//! seconds: the uploads (one per round, 4 rounds 1.5 s apart by default)
//! outlive several of them. With either variable set, it talks to OSS with
//! the default credentials chain (on ECS, the instance's RAM role). Its spans
//! and events go to stderr: `osscb.credentials` for each fetch of
//! credentials, `osscb.send` for each exchange with OSS.

use std::process::ExitCode;
use std::time::Duration;

use osscb_async::osscb_core::credentials::source::{EcsRamRole, Source};
use osscb_async::{Client, ClientOptions, UploadOptions};
use osscb_examples::embedded::Setup;
use tracing_subscriber::fmt::format::FmtSpan;

/// How long the embedded emulator's temporary credentials live.
const CREDENTIAL_LIFETIME: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let rounds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let interval = Duration::from_millis(args.next().and_then(|a| a.parse().ok()).unwrap_or(1500));
    match run(rounds, interval).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(rounds: u32, interval: Duration) -> Result<(), Box<dyn std::error::Error>> {
    let setup = Setup::from_env_with_credential_lifetime(CREDENTIAL_LIFETIME)?;
    let client = match setup.endpoint() {
        // The emulator's metadata service stands in for the instance's.
        Some(endpoint) => Client::new(
            ClientOptions::default()
                .endpoint(endpoint)
                .credentials_source(Source::EcsRamRole(EcsRamRole {
                    endpoint: format!("{endpoint}/__osscb/metadata"),
                    ..EcsRamRole::default()
                })),
        )?,
        None => Client::from_env()?,
    };
    let bucket = client.bucket(&setup.bucket)?;
    let callback = setup.callback("bucket=${bucket}&object=${object}&size=${size}")?;
    let options = UploadOptions::new().callback(callback);
    for round in 1..=rounds {
        let key = format!("service/round-{round}.txt");
        let body = format!("round {round}\n").into_bytes();
        let output = bucket.put_object(&key, body, &options).await?;
        let answer = output.callback.map(|a| a.text()).unwrap_or_default();
        println!("round {round}: {key}: {answer}");
        if round < rounds {
            tokio::time::sleep(interval).await;
        }
    }
    Ok(())
}
