//! The default credentials chain: where a client looks for credentials when
//! it is given none, in the official order (aliyun/credentials-go
//! `providers/default.go`, which oss2 and Go SDK v2 users get through the
//! credentials libraries), with the OSS SDKs' own variables first:
//!
//! 1. `OSS_ACCESS_KEY_ID`, `OSS_ACCESS_KEY_SECRET`, `OSS_SESSION_TOKEN`
//!    (the OSS SDKs' environment provider);
//! 2. `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET`,
//!    `ALIBABA_CLOUD_SECURITY_TOKEN`;
//! 3. OIDC (RRSA): `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`
//!    and `ALIBABA_CLOUD_OIDC_TOKEN_FILE`, all three set
//!    (`ALIBABA_CLOUD_ROLE_SESSION_NAME` optional);
//! 4. the aliyun CLI's `~/.aliyun/config.json` (unless
//!    `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true`): the profile named by
//!    `ALIBABA_CLOUD_PROFILE`, else its `current` one;
//! 5. `~/.alibabacloud/credentials` (or `ALIBABA_CLOUD_CREDENTIALS_FILE`): the
//!    profile named by `ALIBABA_CLOUD_PROFILE`, else `default`;
//! 6. the ECS RAM role (unless `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`),
//!    named by `ALIBABA_CLOUD_ECS_METADATA` or asked of the metadata service;
//! 7. `ALIBABA_CLOUD_CREDENTIALS_URI`.
//!
//! Variables set in the environment (1, 2) are taken at once. The others are
//! tried in order when credentials are first needed, and the first that gives
//! them is kept, as the official chain does.
//!
//! Two choices differ from credentials-go, on purpose: a variable pair set by
//! half (an ID without its secret) and a profile file that cannot be parsed
//! are errors, reported when the client is built, not sources skipped in
//! silence; and a profile file is read when the chain is resolved, not at
//! each fetch.
//!
//! Sans-IO: variables and files come through the functions given, and the
//! services' endpoints from [`Endpoints`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::profile;
use super::source::{ECS_METADATA_ENDPOINT, EcsRamRole, OidcRoleArn, STS_ENDPOINT, Source};
use crate::{Credentials, CredentialsError};

/// Where the credentials services are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// The ECS metadata service's base URL ([`ECS_METADATA_ENDPOINT`]).
    pub metadata: String,
    /// STS's endpoint: `None` derives it as credentials-go does:
    /// `https://sts.<region>.aliyuncs.com` for a region (a profile's
    /// `sts_region`, else `ALIBABA_CLOUD_STS_REGION`), `sts-vpc` with
    /// `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true`, else [`STS_ENDPOINT`].
    pub sts: Option<String>,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            metadata: ECS_METADATA_ENDPOINT.to_owned(),
            sts: None,
        }
    }
}

impl Endpoints {
    /// STS's endpoint: the one set, else `https://sts.<region>.aliyuncs.com`
    /// for a region (a profile's `sts_region`, else `ALIBABA_CLOUD_STS_REGION`),
    /// with `sts-vpc` when `vpc` (or `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true`),
    /// else [`STS_ENDPOINT`].
    pub(crate) fn sts_for(&self, vars: &Vars<'_>, region: Option<&str>, vpc: bool) -> String {
        if let Some(sts) = &self.sts {
            return sts.clone();
        }
        let region = region
            .map(str::to_owned)
            .or_else(|| vars.get("ALIBABA_CLOUD_STS_REGION"));
        let vpc = vpc || vars.is_true("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED");
        match region {
            Some(region) => {
                let prefix = if vpc { "sts-vpc" } else { "sts" };
                format!("https://{prefix}.{region}.aliyuncs.com")
            }
            None => STS_ENDPOINT.to_owned(),
        }
    }
}

/// The environment as the chain sees it: a variable lookup and a file reader.
pub struct Vars<'a> {
    var: &'a dyn Fn(&str) -> Option<String>,
    read_file: &'a dyn Fn(&Path) -> Option<String>,
}

impl<'a> Vars<'a> {
    /// Variables from `var` (`|name| std::env::var(name).ok()`) and files
    /// from `read_file` (`|path| std::fs::read_to_string(path).ok()`; `None`
    /// for a file that is not there).
    pub fn new(
        var: &'a dyn Fn(&str) -> Option<String>,
        read_file: &'a dyn Fn(&Path) -> Option<String>,
    ) -> Self {
        Self { var, read_file }
    }

    /// A variable's value; empty counts as unset.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        (self.var)(name).filter(|v| !v.trim().is_empty())
    }

    fn is_true(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    fn home(&self) -> Option<PathBuf> {
        self.get("HOME")
            .or_else(|| self.get("USERPROFILE"))
            .map(PathBuf::from)
    }
}

/// The default chain for this environment (see the module documentation).
///
/// # Errors
/// No source found, a variable pair set by half, or a profile file that
/// cannot be parsed.
pub fn default_chain(vars: &Vars<'_>, endpoints: &Endpoints) -> Result<Source, CredentialsError> {
    for names in [
        [
            "OSS_ACCESS_KEY_ID",
            "OSS_ACCESS_KEY_SECRET",
            "OSS_SESSION_TOKEN",
        ],
        [
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIBABA_CLOUD_SECURITY_TOKEN",
        ],
    ] {
        if let Some(credentials) = from_vars(vars, names)? {
            return Ok(Source::Static(credentials));
        }
    }
    let mut chain = Vec::new();
    let oidc = [
        "ALIBABA_CLOUD_ROLE_ARN",
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    ]
    .map(|name| vars.get(name));
    if let [Some(role), Some(provider), Some(file)] = oidc {
        let mut source = OidcRoleArn::new(role, provider, file);
        source.session_name = vars.get("ALIBABA_CLOUD_ROLE_SESSION_NAME");
        source.sts_endpoint = endpoints.sts_for(vars, None, false);
        chain.push(Source::OidcRoleArn(source));
    }
    let home = vars.home();
    let wanted = vars.get("ALIBABA_CLOUD_PROFILE");
    if !vars.is_true("ALIBABA_CLOUD_CLI_PROFILE_DISABLED")
        && let Some(path) = home.as_ref().map(|h| h.join(".aliyun").join("config.json"))
        && let Some(text) = (vars.read_file)(&path)
    {
        let found = profile::cli_profile(&text, wanted.as_deref(), vars, endpoints)
            .map_err(|e| CredentialsError(format!("{}: {e}", path.display())))?;
        chain.extend(found);
    }
    let ini = vars
        .get("ALIBABA_CLOUD_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".alibabacloud").join("credentials")));
    if let Some(path) = ini
        && let Some(text) = (vars.read_file)(&path)
    {
        let name = wanted.as_deref().unwrap_or("default");
        let found = profile::ini_profile(&text, name, vars, endpoints)
            .map_err(|e| CredentialsError(format!("{}: {e}", path.display())))?;
        chain.extend(found);
    }
    if !vars.is_true("ALIBABA_CLOUD_ECS_METADATA_DISABLED") {
        chain.push(Source::EcsRamRole(EcsRamRole {
            role_name: vars.get("ALIBABA_CLOUD_ECS_METADATA"),
            endpoint: endpoints.metadata.clone(),
            imdsv1_disabled: vars.is_true("ALIBABA_CLOUD_IMDSV1_DISABLED"),
        }));
    }
    if let Some(uri) = vars.get("ALIBABA_CLOUD_CREDENTIALS_URI") {
        chain.push(Source::Uri(uri));
    }
    match chain.len() {
        0 => Err(CredentialsError(
            "no credentials: set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET, or see the \
             default chain in osscb_core::credentials::chain"
                .to_owned(),
        )),
        1 => Ok(chain.remove(0)),
        _ => Ok(Source::Chain(chain)),
    }
}

/// Credentials from an ID, secret and token variable; an ID or secret
/// without the other is an error.
fn from_vars(
    vars: &Vars<'_>,
    [id, secret, token]: [&str; 3],
) -> Result<Option<Credentials>, CredentialsError> {
    match (vars.get(id), vars.get(secret)) {
        (Some(id), Some(secret)) => {
            let credentials = Credentials::new(id, secret);
            Ok(Some(match vars.get(token) {
                Some(token) => credentials.with_security_token(token),
                None => credentials,
            }))
        }
        (None, None) => Ok(None),
        (Some(_), None) => Err(CredentialsError(format!("{id} is set but {secret} is not"))),
        (None, Some(_)) => Err(CredentialsError(format!("{secret} is set but {id} is not"))),
    }
}

/// A role session's lifetime from a profile's seconds; the default when unset.
pub(crate) fn duration(seconds: Option<u64>) -> Duration {
    seconds
        .filter(|s| *s > 0)
        .map_or(super::source::DEFAULT_ROLE_DURATION, Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chain for these variables and files.
    fn chain(vars: &[(&str, &str)], files: &[(&str, &str)]) -> Result<Source, CredentialsError> {
        let var = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let read = |path: &Path| {
            files
                .iter()
                .find(|(p, _)| Path::new(p) == path)
                .map(|(_, text)| (*text).to_owned())
        };
        let endpoints = Endpoints {
            metadata: "http://127.0.0.1:1/md".to_owned(),
            sts: Some("http://127.0.0.1:1/sts".to_owned()),
        };
        default_chain(&Vars::new(&var, &read), &endpoints)
    }

    fn kinds(source: &Source) -> Vec<&'static str> {
        match source {
            Source::Chain(sources) => sources.iter().map(Source::kind).collect(),
            other => vec![other.kind()],
        }
    }

    const CLI: &str = r#"{"current":"dev","profiles":[
        {"name":"dev","mode":"AK","access_key_id":"cli-id","access_key_secret":"cli-secret"},
        {"name":"sts","mode":"StsToken","access_key_id":"i","access_key_secret":"s","sts_token":"t"},
        {"name":"role","mode":"RamRoleArn","access_key_id":"i","access_key_secret":"s",
         "ram_role_arn":"acs:ram::1:role/r","ram_session_name":"sess","expired_seconds":900},
        {"name":"chained","mode":"ChainableRamRoleArn","source_profile":"dev","ram_role_arn":"acs:ram::1:role/c"},
        {"name":"ecs","mode":"EcsRamRole","ram_role_name":"app"}]}"#;

    const INI: &str = "# comment\n[default]\ntype = access_key\naccess_key_id = ini-id\n\
        access_key_secret = ini-secret\n\n[oidc]\ntype = oidc_role_arn\nrole_arn = acs:ram::1:role/o\n\
        oidc_provider_arn = acs:ram::1:oidc-provider/p\noidc_token_file_path = /t\n";

    #[test]
    fn the_chain_follows_the_official_order() {
        let oss = [("OSS_ACCESS_KEY_ID", "oss"), ("OSS_ACCESS_KEY_SECRET", "s")];
        let alibaba = [
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ali"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"),
            ("ALIBABA_CLOUD_SECURITY_TOKEN", "tok"),
        ];
        let oidc = [
            ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1:role/o"),
            (
                "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
                "acs:ram::1:oidc-provider/p",
            ),
            ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "/var/run/token"),
        ];
        let home = [("HOME", "/h")];
        let files = [
            ("/h/.aliyun/config.json", CLI),
            ("/h/.alibabacloud/credentials", INI),
        ];
        let all: Vec<_> = [
            &oss[..],
            &alibaba,
            &oidc,
            &home,
            &[("ALIBABA_CLOUD_CREDENTIALS_URI", "http://127.0.0.1:1/c")],
        ]
        .concat();
        let pick = |vars: &[(&str, &str)]| chain(vars, &files).unwrap_or_else(|e| panic!("{e}"));

        let Source::Static(c) = pick(&all) else {
            panic!("OSS_* first")
        };
        assert_eq!(c.access_key_id(), "oss");
        let Source::Static(c) = pick(&all[2..]) else {
            panic!("then ALIBABA_CLOUD_*")
        };
        assert_eq!(
            (c.access_key_id(), c.security_token()),
            ("ali", Some("tok"))
        );
        assert_eq!(
            kinds(&pick(&all[5..])),
            [
                "oidc_role_arn",
                "static",
                "static",
                "ecs_ram_role",
                "credentials_uri"
            ],
            "then OIDC, the CLI profile, the INI profile, ECS, the URI"
        );
        let disabled: Vec<_> = [
            &home[..],
            &[
                ("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true"),
                ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "TRUE"),
            ],
        ]
        .concat();
        let Source::Static(c) = pick(&disabled) else {
            panic!("the INI profile alone")
        };
        assert_eq!(c.access_key_id(), "ini-id");
        let Source::EcsRamRole(ecs) =
            chain(&[("ALIBABA_CLOUD_ECS_METADATA", "app")], &[]).unwrap_or_else(|e| panic!("{e}"))
        else {
            panic!("ECS alone")
        };
        assert_eq!(ecs.role_name.as_deref(), Some("app"));
        assert_eq!(ecs.endpoint, "http://127.0.0.1:1/md", "the endpoint given");
        let none = chain(&[("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")], &[]);
        assert!(none.is_err(), "{none:?}");
    }

    #[test]
    fn profiles_are_picked_by_name_and_parsed_by_mode() {
        let files = [
            ("/h/.aliyun/config.json", CLI),
            ("/h/.alibabacloud/credentials", INI),
        ];
        let profile = |name: &str| {
            let vars = [
                ("HOME", "/h"),
                ("ALIBABA_CLOUD_PROFILE", name),
                ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"),
            ];
            chain(&vars, &files).unwrap_or_else(|e| panic!("{e}"))
        };
        let Source::Static(c) = profile("sts") else {
            panic!("StsToken")
        };
        assert_eq!(c.security_token(), Some("t"));
        let Source::RamRoleArn(role) = profile("role") else {
            panic!("RamRoleArn")
        };
        assert_eq!(role.role_arn, "acs:ram::1:role/r");
        assert_eq!(role.session_name.as_deref(), Some("sess"));
        assert_eq!(role.duration, Duration::from_secs(900));
        assert_eq!(role.sts_endpoint, "http://127.0.0.1:1/sts");
        let Source::RamRoleArn(chained) = profile("chained") else {
            panic!("Chainable")
        };
        assert_eq!(
            chained.base,
            Source::Static(Credentials::new("cli-id", "cli-secret"))
        );
        let Source::EcsRamRole(ecs) = profile("ecs") else {
            panic!("EcsRamRole")
        };
        assert_eq!(ecs.role_name.as_deref(), Some("app"));
        let Source::OidcRoleArn(oidc) = profile("oidc") else {
            panic!("the INI's oidc section")
        };
        assert_eq!(oidc.token_file, PathBuf::from("/t"));
    }

    #[test]
    fn half_set_variables_and_broken_files_are_errors() {
        let half = chain(&[("ALIBABA_CLOUD_ACCESS_KEY_ID", "id")], &[]);
        assert_eq!(
            half.expect_err("half").0,
            "ALIBABA_CLOUD_ACCESS_KEY_ID is set but ALIBABA_CLOUD_ACCESS_KEY_SECRET is not"
        );
        let broken = chain(
            &[("HOME", "/h")],
            &[("/h/.alibabacloud/credentials", "[default\n")],
        );
        assert_eq!(
            broken.expect_err("broken").0,
            "/h/.alibabacloud/credentials: line 1: an unclosed section header"
        );
        let bad_mode = r#"{"current":"x","profiles":[{"name":"x","mode":"Magic"}]}"#;
        let broken = chain(&[("HOME", "/h")], &[("/h/.aliyun/config.json", bad_mode)]);
        assert!(
            broken
                .expect_err("mode")
                .0
                .contains("unsupported mode \"Magic\"")
        );
    }

    #[test]
    fn sts_endpoints_follow_region_and_vpc() {
        let var = |name: &str| match name {
            "ALIBABA_CLOUD_STS_REGION" => Some("cn-beijing".to_owned()),
            _ => None,
        };
        let read = |_: &Path| None;
        let vars = Vars::new(&var, &read);
        let official = Endpoints::default();
        assert_eq!(
            official.sts_for(&vars, None, false),
            "https://sts.cn-beijing.aliyuncs.com"
        );
        assert_eq!(
            official.sts_for(&vars, Some("cn-shanghai"), true),
            "https://sts-vpc.cn-shanghai.aliyuncs.com"
        );
        let none = |_: &str| None;
        assert_eq!(
            official.sts_for(&Vars::new(&none, &read), None, false),
            STS_ENDPOINT
        );
    }
}
