//! What a transport client is built from, written once for both transports:
//! endpoint, credentials, timeouts, retries, user agent, addressing style and
//! region, and how they are read from the official SDKs' environment
//! variables. Sans-IO: the variables come through a lookup function.
//!
//! ```
//! use std::time::Duration;
//! use osscb_core::transport::ClientOptions;
//! use osscb_core::{Config, Credentials, Endpoint, Error};
//!
//! // What `osscb_blocking::Client::new` and `osscb_async::Client::new` take.
//! let options = ClientOptions::default()
//!     .endpoint("http://127.0.0.1:9000")
//!     .credentials(Credentials::new("id", "secret"))
//!     .io_timeout(Duration::from_secs(30));
//! let endpoint = Endpoint::parse("http://127.0.0.1:9000")?;
//! assert_eq!(options.config()?, Config::v1(endpoint));
//!
//! let vars = |name: &str| (name == "OSS_ACCESS_KEY_ID").then(|| "x".to_owned());
//! let missing = ClientOptions::from_vars(vars).expect_err("no endpoint");
//! assert!(matches!(missing, Error::MissingEnv("OSS_ENDPOINT")));
//! # Ok::<(), Error>(())
//! ```

use std::sync::Arc;
use std::time::Duration;

use crate::Region;
use crate::credentials::chain::{Endpoints, Vars, default_chain};
use crate::credentials::source::Source;
use crate::retry::RetryPolicy;
use crate::{AddressingStyle, Config, Endpoint, Error, ProvideCredentials};

/// Where a client's credentials come from, as its transport receives it.
#[derive(Clone, Debug)]
pub enum CredentialsPlan {
    /// A provider to ask before every request.
    Provider(Arc<dyn ProvideCredentials>),
    /// A source the transport fetches from (and refreshes) itself, without
    /// blocking an async runtime: see [`crate::credentials::fetch`].
    Source(Source),
}

/// A client's settings, as a transport receives them.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// The endpoint as given (`oss-cn-hangzhou.aliyuncs.com`, `http://127.0.0.1:9000`).
    pub(crate) endpoint: Option<String>,
    /// Where credentials come from; the default chain when `None`.
    pub(crate) credentials: Option<CredentialsPlan>,
    /// Where the default chain's services are.
    pub(crate) credential_endpoints: Endpoints,
    /// Connection timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Timeout of each read and write on a connection (default 60 s).
    pub io_timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// The `User-Agent`; the transport's own when `None`.
    pub user_agent: Option<String>,
    /// Overrides the addressing style the endpoint implies.
    pub(crate) style: Option<AddressingStyle>,
    /// A region: requests are then signed with Signature V4.
    pub(crate) region: Option<String>,
    /// Whether an endpoint derived from the region is OSS's internal one.
    pub(crate) internal: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            endpoint: None,
            credentials: None,
            credential_endpoints: Endpoints::default(),
            connect_timeout: Duration::from_secs(10),
            io_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            user_agent: None,
            style: None,
            region: None,
            internal: false,
        }
    }
}

impl ClientOptions {
    /// The endpoint, addressing style and signature version to use. Without
    /// an endpoint, a region names OSS's public one,
    /// `oss-<region>.aliyuncs.com` (or `oss-<region>-internal.aliyuncs.com`
    /// when asked), as Go SDK v2 derives it (`config.go`, `WithRegion`).
    ///
    /// # Errors
    /// A missing or invalid endpoint or region.
    pub fn config(&self) -> Result<Config, Error> {
        let region = self.region.clone().map(Region::new).transpose()?;
        let endpoint = match (&self.endpoint, &region) {
            (Some(endpoint), _) => Endpoint::parse(endpoint)?,
            (None, Some(region)) => {
                let internal = if self.internal { "-internal" } else { "" };
                Endpoint::parse(&format!("oss-{region}{internal}.aliyuncs.com"))?
            }
            (None, None) => {
                return Err(Error::InvalidArgument(
                    "no endpoint or region given".to_owned(),
                ));
            }
        };
        let endpoint = match self.style {
            Some(style) => endpoint.with_style(style),
            None => endpoint,
        };
        Ok(Config::for_region(endpoint, region))
    }

    /// Where the credentials come from: the provider or source given, else
    /// the default chain for `vars` (see [`crate::credentials::chain`]).
    ///
    /// # Errors
    /// [`Error::Credentials`] when the default chain finds no source, or a
    /// broken one.
    pub fn credentials_plan(&self, vars: &Vars<'_>) -> Result<CredentialsPlan, Error> {
        match &self.credentials {
            Some(plan) => Ok(plan.clone()),
            None => {
                let source = default_chain(vars, &self.credential_endpoints)?;
                Ok(match source {
                    Source::Static(credentials) => CredentialsPlan::Provider(Arc::new(credentials)),
                    source => CredentialsPlan::Source(source),
                })
            }
        }
    }
}

impl ClientOptions {
    /// Settings from the official SDKs' variables, looked up by `var`:
    /// `OSS_ENDPOINT` and/or `OSS_REGION` (a region alone names OSS's public
    /// endpoint; a region signs with Signature V4). Credentials are left to
    /// the default chain ([`crate::credentials::chain`]), which reads
    /// `OSS_ACCESS_KEY_ID`, `OSS_ACCESS_KEY_SECRET` and `OSS_SESSION_TOKEN`
    /// first. Empty values count as unset.
    ///
    /// # Errors
    /// [`Error::MissingEnv`]`("OSS_ENDPOINT")` when neither it nor
    /// `OSS_REGION` is set.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name| var(name).filter(|v| !v.trim().is_empty());
        let region = get("OSS_REGION");
        let endpoint = match &region {
            Some(_) => get("OSS_ENDPOINT"),
            None => Some(get("OSS_ENDPOINT").ok_or(Error::MissingEnv("OSS_ENDPOINT"))?),
        };
        Ok(Self {
            endpoint,
            region,
            ..Self::default()
        })
    }

    /// The endpoint: `oss-cn-hangzhou.aliyuncs.com`, `http://127.0.0.1:9000`, …
    #[must_use]
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Where credentials come from; asked before every request. Without
    /// this or [`ClientOptions::credentials_source`], the default chain.
    #[must_use]
    pub fn credentials(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.credentials = Some(CredentialsPlan::Provider(Arc::new(provider)));
        self
    }

    /// Credentials from `source` (the ECS RAM role, an STS role, …), fetched
    /// and refreshed before they expire by the transport.
    #[must_use]
    pub fn credentials_source(mut self, source: Source) -> Self {
        self.credentials = Some(match source {
            Source::Static(credentials) => CredentialsPlan::Provider(Arc::new(credentials)),
            source => CredentialsPlan::Source(source),
        });
        self
    }

    /// Where the default chain finds the ECS metadata service and STS
    /// (tests point them at an emulator).
    #[must_use]
    pub fn credential_endpoints(mut self, endpoints: Endpoints) -> Self {
        self.credential_endpoints = endpoints;
        self
    }

    /// Connection timeout (default 10 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Timeout of each read and write on a connection (default 60 s).
    #[must_use]
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout;
        self
    }

    /// Retry policy (default: 3 attempts, exponential backoff with jitter).
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The `User-Agent`.
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// How URLs name the bucket: virtual-hosted (the default), path-style
    /// (`endpoint/bucket/key`, as emulators want) or a custom domain bound to
    /// the bucket (CNAME).
    #[must_use]
    pub fn style(mut self, style: AddressingStyle) -> Self {
        self.style = Some(style);
        self
    }

    /// The region (`cn-hangzhou`). With a region, requests are signed with
    /// Signature V4; without one, with V1.
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Whether an endpoint derived from the region (no endpoint given) is
    /// OSS's internal one, reachable from the region's own network (default
    /// `false`).
    #[must_use]
    pub fn internal_endpoint(mut self, internal: bool) -> Self {
        self.internal = internal;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Credentials;

    #[test]
    fn environment_and_switches() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let full = env(&[
            ("OSS_ENDPOINT", "cdn.example.com"),
            ("OSS_ACCESS_KEY_ID", "id"),
            ("OSS_ACCESS_KEY_SECRET", "secret"),
            ("OSS_SESSION_TOKEN", "token"),
            ("OSS_REGION", " "),
        ]);
        let built = ClientOptions::from_vars(full)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .style(AddressingStyle::Cname);
        let config = built.config().unwrap_or_else(|e| panic!("{e}"));
        let cname = Endpoint::parse("cdn.example.com").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.endpoint, cname.with_style(AddressingStyle::Cname));
        assert_eq!(built.region, None, "blank counts as unset");
        let no_files = |_: &std::path::Path| None;
        let process = |name: &str| full(name);
        let CredentialsPlan::Provider(provider) = built
            .credentials_plan(&Vars::new(&process, &no_files))
            .unwrap_or_else(|e| panic!("{e}"))
        else {
            panic!("OSS_* variables are fixed credentials")
        };
        let creds = provider.credentials().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(creds.security_token(), Some("token"));
        let given = ClientOptions::from_vars(full)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .credentials(Credentials::new("given", "s"));
        let nothing = |_: &str| None;
        let CredentialsPlan::Provider(provider) = given
            .credentials_plan(&Vars::new(&nothing, &no_files))
            .unwrap_or_else(|e| panic!("{e}"))
        else {
            panic!("a provider given")
        };
        let creds = provider.credentials().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            creds.access_key_id(),
            "given",
            "what is given wins over the chain"
        );
        assert!(ClientOptions::default().config().is_err(), "no endpoint");
        let regional = ClientOptions::from_vars(env(&[
            ("OSS_REGION", "cn-hangzhou"),
            ("OSS_ACCESS_KEY_ID", "id"),
            ("OSS_ACCESS_KEY_SECRET", "secret"),
        ]))
        .unwrap_or_else(|e| panic!("{e:?}"));
        let hangzhou = |host: &str| {
            let endpoint = Endpoint::parse(host).unwrap_or_else(|e| panic!("{e}"));
            let region = Region::new("cn-hangzhou").unwrap_or_else(|e| panic!("{e}"));
            Config::v4(endpoint, region)
        };
        assert_eq!(
            regional.config().unwrap_or_else(|e| panic!("{e}")),
            hangzhou("oss-cn-hangzhou.aliyuncs.com")
        );
        assert_eq!(
            regional
                .internal_endpoint(true)
                .config()
                .unwrap_or_else(|e| panic!("{e}")),
            hangzhou("oss-cn-hangzhou-internal.aliyuncs.com")
        );
        let neither = ClientOptions::from_vars(env(&[("OSS_ACCESS_KEY_ID", "id")]));
        assert!(
            matches!(neither, Err(Error::MissingEnv("OSS_ENDPOINT"))),
            "{neither:?}"
        );
        let disabled =
            |name: &str| (name == "ALIBABA_CLOUD_ECS_METADATA_DISABLED").then(|| "true".to_owned());
        let no_creds = ClientOptions::default().endpoint("e.com");
        let none = no_creds.credentials_plan(&Vars::new(&disabled, &no_files));
        assert!(matches!(none, Err(Error::Credentials(_))), "{none:?}");
        let text = format!(
            "{:?}",
            ClientOptions::default().credentials(Credentials::new("id", "s3cr3t"))
        );
        assert!(!text.contains("s3cr3t"), "{text}");
    }
}
