//! STS (`Version=2015-04-01`): `AssumeRole`, signed with the RPC signature
//! by the emulator's own key or a credential it issued, and the anonymous
//! `AssumeRoleWithOIDC`. Each success issues a fresh credential.
//!
//! The parameters are read from the query and an
//! `application/x-www-form-urlencoded` body, merged: aliyun/credentials-go
//! (`ram_role_arn.go`, `oidc.go`) sends the common ones in the query and the
//! action's in the body. The answers and refusals are STS's JSON, with the
//! codes of the STS API reference ("AssumeRole", "AssumeRoleWithOIDC", and
//! the common error codes of the RPC APIs). Whatever `Format` asks, the
//! answer is JSON.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use osscb_core::Credentials;
use osscb_core::credentials::rpc;
use percent_encoding::percent_decode_str;
use serde::Serialize;

use crate::auth::constant_time_eq;
use crate::error::OssError;
use crate::issued::{CredentialSource, Lookup, NONCE_WINDOW, Wire, utc_seconds};
use crate::server::{Resp, Shared, random_hex, read_body, respond};

/// The STS endpoint's paths: clients POST to `{endpoint}/__osscb/sts/`.
pub(crate) const PATHS: [&str; 2] = ["/__osscb/sts", "/__osscb/sts/"];
/// The largest body read.
const MAX_BODY: usize = 64 * 1024;
/// The only API version.
const VERSION: &str = "2015-04-01";
/// `DurationSeconds`' bounds (15 minutes to 12 hours) and default (1 hour).
const MIN_DURATION: u64 = 900;
const MAX_DURATION: u64 = 43_200;
const DEFAULT_DURATION: u64 = 3600;

/// The parameters, query first, then the body's.
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter that must be present and non-empty (else `Missing<name>`).
    fn required(&self, name: &'static str, code: &'static str) -> Result<&str, OssError> {
        self.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            OssError::new(400, code, format!("{name} is mandatory for this action."))
        })
    }
}

/// Form decoding (`+` is a space), as for `application/x-www-form-urlencoded`.
fn parse_form(raw: &str) -> impl Iterator<Item = (String, String)> + '_ {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    raw.split('&').filter(|p| !p.is_empty()).map(move |p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (decode(k), decode(v))
    })
}

/// `POST {endpoint}/__osscb/sts/`.
pub(crate) async fn sts(
    shared: &Shared,
    req: Request<Incoming>,
    request_id: &str,
    host_id: &str,
) -> Resp {
    let (status, body) = match call(shared, req, request_id).await {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => {
            let refusal = Refusal {
                request_id,
                host_id,
                code: e.code,
                message: &e.message,
            };
            // Strings only: serialising cannot fail.
            (e.status, serde_json::to_vec(&refusal).unwrap_or_default())
        }
    };
    respond(
        status,
        &[(CONTENT_TYPE, "application/json;charset=utf-8".to_owned())],
        Bytes::from(body),
    )
}

/// STS's error document.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Refusal<'a> {
    request_id: &'a str,
    host_id: &'a str,
    code: &'a str,
    message: &'a str,
}

/// A success: the assumed role and its credential.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Assumed<'a> {
    request_id: &'a str,
    assumed_role_user: RoleUser,
    credentials: Wire<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RoleUser {
    arn: String,
    assumed_role_id: String,
}

async fn call(
    shared: &Shared,
    req: Request<Incoming>,
    request_id: &str,
) -> Result<Vec<u8>, OssError> {
    let (parts, body) = req.into_parts();
    let body = read_body(body, MAX_BODY).await?;
    let mut params: Vec<(String, String)> =
        parse_form(parts.uri.query().unwrap_or_default()).collect();
    params.extend(parse_form(&String::from_utf8_lossy(&body)));
    let params = Params(params);
    let now = shared.faults.now();
    let action = params.required("Action", "MissingAction")?;
    let source = match action {
        "AssumeRole" => CredentialSource::AssumeRole,
        "AssumeRoleWithOIDC" => CredentialSource::AssumeRoleWithOidc,
        _ => {
            return Err(OssError::new(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            ));
        }
    };
    if params.required("Version", "MissingVersion")? != VERSION {
        return Err(OssError::new(
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        ));
    }
    if source == CredentialSource::AssumeRole {
        authenticate(shared, &parts.method, &params, now)?;
    }
    let role = Role::of(&params)?;
    if source == CredentialSource::AssumeRoleWithOidc {
        check_oidc(shared, &params)?;
    }
    let lifetime = shared.credential_lifetime.unwrap_or(role.duration);
    let issue = shared
        .issued
        .issue(source, lifetime, now)
        .map_err(|_| unavailable())?;
    let assumed = Assumed {
        request_id,
        assumed_role_user: RoleUser {
            arn: format!("{}/{}", role.arn, role.session),
            assumed_role_id: format!("{}:{}", role_id(), role.session),
        },
        credentials: issue.wire(false, None),
    };
    serde_json::to_vec(&assumed).map_err(|e| OssError::internal(e.to_string()))
}

/// A role's id: 18 digits, as STS's are.
fn role_id() -> String {
    let n = u64::from_str_radix(&random_hex(8), 16).unwrap_or_default();
    format!("{:018}", n % 1_000_000_000_000_000_000)
}

fn unavailable() -> OssError {
    OssError::new(
        503,
        "ServiceUnavailable",
        "The emulator holds too many live credentials or nonces; try again when some expire.",
    )
}

/// The role asked for: `RoleArn`, `RoleSessionName`, `DurationSeconds`.
struct Role<'a> {
    arn: &'a str,
    session: &'a str,
    duration: Duration,
}

impl<'a> Role<'a> {
    fn of(params: &'a Params) -> Result<Self, OssError> {
        let arn = params.required("RoleArn", "MissingRoleArn")?;
        if !is_arn(arn, "role/") {
            return Err(invalid("InvalidParameter.RoleArn"));
        }
        let session = params.required("RoleSessionName", "MissingRoleSessionName")?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || ".@_-".contains(c);
        if !(2..=64).contains(&session.len()) || !session.chars().all(allowed) {
            return Err(invalid("InvalidParameter.RoleSessionName"));
        }
        let seconds = match params.get("DurationSeconds") {
            None => DEFAULT_DURATION,
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|s| (MIN_DURATION..=MAX_DURATION).contains(s))
                .ok_or_else(|| invalid("InvalidParameter.DurationSeconds"))?,
        };
        Ok(Self {
            arn,
            session,
            duration: Duration::from_secs(seconds),
        })
    }
}

/// `InvalidParameter.<name>` (400), `code` naming the parameter.
fn invalid(code: &'static str) -> OssError {
    let name = code.strip_prefix("InvalidParameter.").unwrap_or(code);
    OssError::new(
        400,
        code,
        format!("The parameter {name} is wrongly formed."),
    )
}

/// `acs:ram::<digits>:<kind><name>`, the name of `[A-Za-z0-9.@_-]`.
fn is_arn(arn: &str, kind: &str) -> bool {
    let Some((account, resource)) = arn
        .strip_prefix("acs:ram::")
        .and_then(|rest| rest.split_once(':'))
    else {
        return false;
    };
    let name = resource.strip_prefix(kind).unwrap_or_default();
    !account.is_empty()
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".@_-".contains(c))
}

/// `AssumeRoleWithOIDC`'s provider and token.
fn check_oidc(shared: &Shared, params: &Params) -> Result<(), OssError> {
    let provider = params.required("OIDCProviderArn", "MissingOIDCProviderArn")?;
    if !is_arn(provider, "oidc-provider/") {
        return Err(invalid("InvalidParameter.OIDCProviderArn"));
    }
    let token = params.required("OIDCToken", "MissingOIDCToken")?;
    match &shared.oidc_token {
        Some(expected) if !constant_time_eq(token, expected) => Err(OssError::new(
            400,
            "InvalidParameter.OIDCToken",
            "The OIDCToken is invalid.",
        )),
        _ => Ok(()),
    }
}

/// `AssumeRole`'s caller: a known key, its token, a fresh timestamp, the RPC
/// signature, then a nonce not seen within [`NONCE_WINDOW`] (remembered only
/// for signed requests, so no one else can fill the table).
fn authenticate(
    shared: &Shared,
    method: &Method,
    params: &Params,
    now: SystemTime,
) -> Result<(), OssError> {
    let id = params.required("AccessKeyId", "MissingAccessKeyId")?;
    let signature = params.required("Signature", "MissingSignature")?;
    let creds = caller(shared, id, now)?;
    if let Some(expected) = creds.security_token() {
        let sent = params.get("SecurityToken").unwrap_or_default();
        if !constant_time_eq(sent, expected) {
            return Err(OssError::new(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "Specified SecurityToken mismatch with the AccessKey.",
            ));
        }
    }
    let timestamp = params.required("Timestamp", "MissingTimestamp")?;
    let signed_at = parse_timestamp(timestamp).ok_or_else(|| {
        OssError::new(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    })?;
    let skew = now
        .duration_since(signed_at)
        .unwrap_or_else(|e| e.duration());
    if skew > NONCE_WINDOW {
        return Err(OssError::new(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    let nonce = params.required("SignatureNonce", "MissingSignatureNonce")?;
    let string_to_sign = rpc::string_to_sign(method, &params.0);
    let expected = rpc::signature(creds.access_key_secret(), &string_to_sign);
    if !constant_time_eq(&expected, signature) {
        return Err(OssError::new(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
        ));
    }
    match shared.issued.fresh_nonce(nonce, now) {
        Ok(true) => Ok(()),
        Ok(false) => Err(OssError::new(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        )),
        Err(_) => Err(unavailable()),
    }
}

/// The caller's credentials: the emulator's own key or an unexpired one it issued.
fn caller(shared: &Shared, id: &str, now: SystemTime) -> Result<Credentials, OssError> {
    if id == shared.creds.access_key_id() {
        return Ok(shared.creds.clone());
    }
    match shared.issued.credentials(id, now) {
        Lookup::Live(creds) => Ok(creds),
        Lookup::Expired => Err(OssError::new(
            400,
            "InvalidSecurityToken.Expired",
            "Specified SecurityToken is expired.",
        )),
        Lookup::Unknown => Err(OssError::new(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )),
    }
}

/// `YYYY-MM-DDThh:mm:ssZ` exactly.
fn parse_timestamp(text: &str) -> Option<SystemTime> {
    let time = osscb_core::time::parse_iso8601(text)?;
    (text.len() == 20 && utc_seconds(time) == text).then_some(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_forms() {
        assert!(is_arn("acs:ram::1234567890:role/osscb-role", "role/"));
        assert!(!is_arn("acs:ram::12ab:role/r", "role/"));
        assert!(!is_arn("acs:ram::123:role/", "role/"));
        assert!(!is_arn("acs:ram::123:user/r", "role/"));
        assert!(!is_arn("acs:ram::123:role/a/b", "role/"));
        assert!(is_arn("acs:ram::123:oidc-provider/ack", "oidc-provider/"));
        let form: Vec<_> = parse_form("a=b+c%2B&&d&e=%3D").collect();
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(form, [pair("a", "b c+"), pair("d", ""), pair("e", "=")]);
        assert!(parse_timestamp("2026-12-01T08:00:00Z").is_some());
        assert!(parse_timestamp("2026-12-01T08:00:00.000Z").is_none());
        assert!(parse_timestamp("2026-12-01 08:00:00Z").is_none());
    }
}
