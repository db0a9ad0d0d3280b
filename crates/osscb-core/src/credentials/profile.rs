//! The shared profile files, parsed into [`Source`]s: the aliyun CLI's
//! `~/.aliyun/config.json` and the credentials libraries'
//! `~/.alibabacloud/credentials` (INI), as aliyun/credentials-go reads them
//! (`providers/cli_profile.go`, `providers/profile.go`).
//!
//! The INI file is parsed here rather than with an INI crate: its grammar is
//! `[section]` headers, `key = value` lines and `#`/`;` comments, which takes
//! a few lines, while `rust-ini` would add four crates to the core.

use std::collections::HashMap;

use serde::Deserialize;

use super::chain::{Endpoints, Vars, duration};
use super::source::{EcsRamRole, OidcRoleArn, RamRoleArn, Source};
use crate::Credentials;

/// How deep `ChainableRamRoleArn` profiles may point at each other.
const MAX_SOURCE_DEPTH: usize = 4;

#[derive(Deserialize)]
struct CliConfig {
    #[serde(default)]
    current: String,
    #[serde(default)]
    profiles: Vec<CliProfile>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CliProfile {
    name: String,
    mode: String,
    access_key_id: String,
    access_key_secret: String,
    sts_token: String,
    ram_role_arn: String,
    ram_session_name: String,
    ram_role_name: String,
    expired_seconds: u64,
    sts_region: String,
    enable_vpc: bool,
    source_profile: String,
    oidc_token_file: String,
    oidc_provider_arn: String,
    policy: String,
    external_id: String,
}

fn some(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// The profile `wanted` (else the `current` one) of the aliyun CLI's
/// configuration; `None` when there is no such profile.
pub(crate) fn cli_profile(
    text: &str,
    wanted: Option<&str>,
    vars: &Vars<'_>,
    endpoints: &Endpoints,
) -> Result<Option<Source>, String> {
    let config: CliConfig =
        serde_json::from_str(text).map_err(|e| format!("not the aliyun CLI's JSON: {e}"))?;
    let name = wanted.unwrap_or(&config.current);
    cli_source(&config, name, vars, endpoints, 0)
}

fn cli_source(
    config: &CliConfig,
    name: &str,
    vars: &Vars<'_>,
    endpoints: &Endpoints,
    depth: usize,
) -> Result<Option<Source>, String> {
    let Some(p) = config.profiles.iter().find(|p| p.name == name) else {
        return Ok(None);
    };
    let key = || -> Result<Credentials, String> {
        match (some(&p.access_key_id), some(&p.access_key_secret)) {
            (Some(id), Some(secret)) => Ok(Credentials::new(id, secret)),
            _ => Err(format!(
                "profile {name:?} has no access_key_id and access_key_secret"
            )),
        }
    };
    let sts = endpoints.sts_for(vars, some(&p.sts_region).as_deref(), p.enable_vpc);
    let role = |base: Source| {
        let mut role = RamRoleArn::new(base, p.ram_role_arn.clone());
        role.session_name = some(&p.ram_session_name);
        role.duration = duration(Some(p.expired_seconds));
        role.policy = some(&p.policy);
        role.external_id = some(&p.external_id);
        role.sts_endpoint = sts.clone();
        Source::RamRoleArn(Box::new(role))
    };
    let source = match p.mode.as_str() {
        "AK" => Source::Static(key()?),
        "StsToken" => {
            let token = some(&p.sts_token)
                .ok_or_else(|| format!("profile {name:?} (StsToken) has no sts_token"))?;
            Source::Static(key()?.with_security_token(token))
        }
        "RamRoleArn" => role(Source::Static(key()?)),
        "EcsRamRole" => Source::EcsRamRole(EcsRamRole {
            role_name: some(&p.ram_role_name),
            endpoint: endpoints.metadata.clone(),
            imdsv1_disabled: false,
        }),
        "OIDC" => {
            let mut oidc = OidcRoleArn::new(
                p.ram_role_arn.clone(),
                p.oidc_provider_arn.clone(),
                p.oidc_token_file.clone(),
            );
            oidc.session_name = some(&p.ram_session_name);
            oidc.duration = duration(Some(p.expired_seconds));
            oidc.policy = some(&p.policy);
            oidc.sts_endpoint = sts.clone();
            Source::OidcRoleArn(oidc)
        }
        "ChainableRamRoleArn" => {
            if depth >= MAX_SOURCE_DEPTH || p.source_profile == name {
                return Err(format!("profile {name:?}: source_profile chain too deep"));
            }
            let base = cli_source(config, &p.source_profile, vars, endpoints, depth + 1)?
                .ok_or_else(|| {
                    format!("profile {name:?}: no source profile {:?}", p.source_profile)
                })?;
            role(base)
        }
        other => return Err(format!("profile {name:?}: unsupported mode {other:?}")),
    };
    Ok(Some(source))
}

/// The section `name` of a credentials INI file; `None` when absent.
pub(crate) fn ini_profile(
    text: &str,
    name: &str,
    vars: &Vars<'_>,
    endpoints: &Endpoints,
) -> Result<Option<Source>, String> {
    let Some(section) = ini_section(text, name)? else {
        return Ok(None);
    };
    let get = |key: &str| section.get(key).and_then(|v| some(v));
    let need = |key: &str| get(key).ok_or_else(|| format!("[{name}] has no {key}"));
    let key = || -> Result<Credentials, String> {
        Ok(Credentials::new(
            need("access_key_id")?,
            need("access_key_secret")?,
        ))
    };
    let kind = need("type")?;
    let sts = endpoints.sts_for(vars, get("sts_region").as_deref(), false);
    let source = match kind.as_str() {
        "access_key" => Source::Static(key()?),
        "sts" => Source::Static(key()?.with_security_token(need("security_token")?)),
        "ecs_ram_role" => Source::EcsRamRole(EcsRamRole {
            role_name: get("role_name"),
            endpoint: endpoints.metadata.clone(),
            imdsv1_disabled: false,
        }),
        "ram_role_arn" => {
            let mut role = RamRoleArn::new(Source::Static(key()?), need("role_arn")?);
            role.session_name = get("role_session_name");
            role.policy = get("policy");
            role.sts_endpoint = sts;
            Source::RamRoleArn(Box::new(role))
        }
        "oidc_role_arn" => {
            let mut oidc = OidcRoleArn::new(
                need("role_arn")?,
                need("oidc_provider_arn")?,
                need("oidc_token_file_path")?,
            );
            oidc.session_name = get("role_session_name");
            oidc.policy = get("policy");
            oidc.sts_endpoint = sts;
            Source::OidcRoleArn(oidc)
        }
        other => return Err(format!("[{name}]: unsupported type {other:?}")),
    };
    Ok(Some(source))
}

/// The keys of section `name`; `None` when it is not there.
fn ini_section(text: &str, name: &str) -> Result<Option<HashMap<String, String>>, String> {
    let mut current: Option<&str> = None;
    let mut found: Option<HashMap<String, String>> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header
                .strip_suffix(']')
                .ok_or_else(|| format!("line {}: an unclosed section header", n + 1))?;
            current = Some(header.trim());
            if current == Some(name) && found.is_none() {
                found = Some(HashMap::new());
            }
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: neither a section nor key = value", n + 1))?;
        if current == Some(name)
            && let Some(section) = &mut found
        {
            section.insert(key.trim().to_owned(), value.trim().to_owned());
        }
    }
    Ok(found)
}
