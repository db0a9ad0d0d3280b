//! The client every subcommand that talks to OSS builds: the libraries'
//! configuration (`Client::from_env`), with `--endpoint` and `--region`
//! standing in for `OSS_ENDPOINT` and `OSS_REGION`.

use osscb_blocking::{Bucket, Client, ClientOptions};

use crate::location::Location;

/// Where OSS is.
#[derive(clap::Args, Debug)]
pub(crate) struct ClientArgs {
    /// The OSS endpoint (`oss-cn-hangzhou.aliyuncs.com`, `http://127.0.0.1:9000`).
    #[arg(long, env = "OSS_ENDPOINT")]
    endpoint: Option<String>,
    /// The region (`cn-hangzhou`): requests are signed with Signature V4.
    #[arg(long, env = "OSS_REGION")]
    region: Option<String>,
}

impl ClientArgs {
    /// The bucket `location` names, on a client for these settings and the
    /// default credential chain.
    ///
    /// # Errors
    /// No endpoint or region, no credentials, an invalid bucket name.
    pub(crate) fn bucket(&self, location: &Location) -> osscb_blocking::Result<Bucket> {
        let options = ClientOptions::from_vars(|name| match name {
            "OSS_ENDPOINT" => self.endpoint.clone(),
            "OSS_REGION" => self.region.clone(),
            _ => None,
        })?;
        Client::new(options)?.bucket(&location.bucket)
    }
}
