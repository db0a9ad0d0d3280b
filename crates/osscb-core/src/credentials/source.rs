//! Where credentials come from: the recipes a transport's provider follows
//! ([`crate::credentials::fetch::Fetch`] turns one into requests), and the
//! endpoints of the services they ask.
//!
//! The sources are those of Alibaba Cloud's official credentials libraries
//! (aliyun/credentials-go `providers/`, alibabacloud-credentials for
//! Python): fixed keys, the ECS instance metadata service (RAM role), STS
//! `AssumeRole` (RAM role ARN) signed with another source's keys, STS
//! `AssumeRoleWithOIDC` (RRSA on ACK), a credentials URI, and a chain of them
//! tried in order. Every endpoint is configurable, so that tests talk to a
//! local emulator and never to Alibaba Cloud.

use std::path::PathBuf;
use std::time::Duration;

use crate::Credentials;

/// The ECS instance metadata service's address on every ECS instance.
pub const ECS_METADATA_ENDPOINT: &str = "http://100.100.100.200";

/// STS's global endpoint.
pub const STS_ENDPOINT: &str = "https://sts.aliyuncs.com";

/// How long STS credentials asked for last unless said otherwise: 3600 s,
/// the official libraries' default (STS accepts 900 s up to the role's
/// maximum).
pub const DEFAULT_ROLE_DURATION: Duration = Duration::from_secs(3600);

/// A source of credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Fixed credentials: an AccessKey, or STS credentials handed over as
    /// they are. Never refreshed.
    Static(Credentials),
    /// The RAM role of the ECS instance, from its metadata service.
    EcsRamRole(EcsRamRole),
    /// STS `AssumeRole`, signed with the credentials of another source.
    RamRoleArn(Box<RamRoleArn>),
    /// STS `AssumeRoleWithOIDC` with a token read from a file (RRSA).
    OidcRoleArn(OidcRoleArn),
    /// A URL answering credentials as JSON
    /// (`ALIBABA_CLOUD_CREDENTIALS_URI`).
    Uri(String),
    /// The first of these that gives credentials, as the official default
    /// chain tries its providers; the one that did is kept for refreshes.
    Chain(Vec<Source>),
}

impl Source {
    /// What kind of source this is, for messages: `static`, `ecs_ram_role`,
    /// `ram_role_arn`, `oidc_role_arn`, `credentials_uri` or `chain` (the
    /// official libraries' provider names).
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Static(_) => "static",
            Source::EcsRamRole(_) => "ecs_ram_role",
            Source::RamRoleArn(_) => "ram_role_arn",
            Source::OidcRoleArn(_) => "oidc_role_arn",
            Source::Uri(_) => "credentials_uri",
            Source::Chain(_) => "chain",
        }
    }
}

impl From<Credentials> for Source {
    fn from(credentials: Credentials) -> Self {
        Source::Static(credentials)
    }
}

/// The ECS RAM role source: the instance metadata service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcsRamRole {
    /// The role; asked of the metadata service when `None`.
    pub role_name: Option<String>,
    /// The metadata service's base URL ([`ECS_METADATA_ENDPOINT`]).
    pub endpoint: String,
    /// Refuse the unhardened mode: without a session token from the service,
    /// fail instead of asking without one (`ALIBABA_CLOUD_IMDSV1_DISABLED`).
    pub imdsv1_disabled: bool,
}

impl Default for EcsRamRole {
    fn default() -> Self {
        Self {
            role_name: None,
            endpoint: ECS_METADATA_ENDPOINT.to_owned(),
            imdsv1_disabled: false,
        }
    }
}

/// STS `AssumeRole`: temporary credentials of a RAM role, asked with the
/// credentials of `base`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RamRoleArn {
    /// Whose keys sign the `AssumeRole` request.
    pub base: Source,
    /// `acs:ram::<account>:role/<name>`.
    pub role_arn: String,
    /// The session name (2–64 characters of `[A-Za-z0-9.@_-]`); `osscb-<unix
    /// seconds>` when `None`.
    pub session_name: Option<String>,
    /// The credentials' lifetime ([`DEFAULT_ROLE_DURATION`]).
    pub duration: Duration,
    /// A policy narrowing the role's permissions (JSON).
    pub policy: Option<String>,
    /// The role's external ID, when its trust policy asks for one.
    pub external_id: Option<String>,
    /// STS's endpoint ([`STS_ENDPOINT`]).
    pub sts_endpoint: String,
}

impl RamRoleArn {
    /// Assumes `role_arn` with the credentials of `base`, for an hour, at
    /// STS's global endpoint.
    pub fn new(base: impl Into<Source>, role_arn: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            role_arn: role_arn.into(),
            session_name: None,
            duration: DEFAULT_ROLE_DURATION,
            policy: None,
            external_id: None,
            sts_endpoint: STS_ENDPOINT.to_owned(),
        }
    }
}

/// STS `AssumeRoleWithOIDC`: temporary credentials of a RAM role for an
/// OIDC token (RRSA: ACK mounts one in each pod).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcRoleArn {
    /// `acs:ram::<account>:role/<name>` (`ALIBABA_CLOUD_ROLE_ARN`).
    pub role_arn: String,
    /// `acs:ram::<account>:oidc-provider/<name>`
    /// (`ALIBABA_CLOUD_OIDC_PROVIDER_ARN`).
    pub provider_arn: String,
    /// The file holding the token, read at every refresh (the token is
    /// rotated in place) (`ALIBABA_CLOUD_OIDC_TOKEN_FILE`).
    pub token_file: PathBuf,
    /// The session name (`ALIBABA_CLOUD_ROLE_SESSION_NAME`); `osscb-<unix
    /// seconds>` when `None`.
    pub session_name: Option<String>,
    /// The credentials' lifetime ([`DEFAULT_ROLE_DURATION`]).
    pub duration: Duration,
    /// A policy narrowing the role's permissions (JSON).
    pub policy: Option<String>,
    /// STS's endpoint ([`STS_ENDPOINT`]).
    pub sts_endpoint: String,
}

impl OidcRoleArn {
    /// Assumes `role_arn` with the token in `token_file`, for an hour, at
    /// STS's global endpoint.
    pub fn new(
        role_arn: impl Into<String>,
        provider_arn: impl Into<String>,
        token_file: impl Into<PathBuf>,
    ) -> Self {
        Self {
            role_arn: role_arn.into(),
            provider_arn: provider_arn.into(),
            token_file: token_file.into(),
            session_name: None,
            duration: DEFAULT_ROLE_DURATION,
            policy: None,
            sts_endpoint: STS_ENDPOINT.to_owned(),
        }
    }
}
