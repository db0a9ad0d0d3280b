//! Access keys and STS tokens, a trait for sources that refresh them, and
//! the credential sources of Alibaba Cloud's official libraries as sans-IO
//! recipes: [`source`] says where credentials come from, [`chain`] finds
//! them as the official default chain does, [`fetch`] turns a source into
//! the HTTP requests (and file reads) a transport executes, [`refresh`]
//! decides when to fetch again, and [`rpc`] signs STS's requests.
//!
//! Why not an existing crate: reqsign's Aliyun loader and the
//! `alibabacloud` credentials ports fetch with their own HTTP client inside
//! (reqwest or a trait of theirs, async only), so they cannot be driven by
//! the blocking transport, and their endpoints and clocks are not ours to
//! give in tests. The sources are a few requests and JSON answers each; the
//! core describes them once and both transports execute them.

pub mod chain;
pub mod fetch;
mod profile;
pub mod refresh;
pub mod rpc;
pub mod source;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::sign::keys::SigningKeys;

/// An AccessKey pair, optionally with an STS security token.
///
/// The secret and the token never appear in `Debug` or `Display` output.
/// The HMAC keys derived from the secret are kept with it (and shared by its
/// clones), so signing many requests keys each HMAC once.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    access_key_secret: String,
    security_token: Option<String>,
    expiration: Option<SystemTime>,
    keys: Arc<SigningKeys>,
}

impl PartialEq for Credentials {
    fn eq(&self, other: &Self) -> bool {
        self.access_key_id == other.access_key_id
            && self.access_key_secret == other.access_key_secret
            && self.security_token == other.security_token
            && self.expiration == other.expiration
    }
}

impl Eq for Credentials {}

impl Credentials {
    /// Long-term credentials: an AccessKey ID and its secret.
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            security_token: None,
            expiration: None,
            keys: Arc::default(),
        }
    }

    /// Temporary STS credentials: the requests carry `x-oss-security-token`.
    #[must_use]
    pub fn with_security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// Temporary credentials that stop working at `at` (STS's
    /// `Expiration`): a provider refreshes them before.
    #[must_use]
    pub fn with_expiration(mut self, at: SystemTime) -> Self {
        self.expiration = Some(at);
        self
    }

    /// When these credentials stop working, if they are temporary and it is known.
    pub fn expiration(&self) -> Option<SystemTime> {
        self.expiration
    }

    /// The AccessKey ID (public; it names the key in every signature).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The AccessKey secret. Handle with care: it signs requests.
    pub fn access_key_secret(&self) -> &str {
        &self.access_key_secret
    }

    /// The STS security token, if these are temporary credentials.
    pub fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
    }

    /// The keyed HMACs of the secret.
    pub(crate) fn keys(&self) -> &SigningKeys {
        &self.keys
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expiration", &self.expiration)
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.access_key_id)?;
        if self.security_token.is_some() {
            f.write_str(" (STS)")?;
        }
        Ok(())
    }
}

/// Why a [`ProvideCredentials`] source could not hand out credentials.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("credentials unavailable: {0}")]
pub struct CredentialsError(pub String);

/// A source of credentials, asked before every request so it can refresh them
/// (STS tokens expire). Fixed credentials are their own provider.
pub trait ProvideCredentials: Send + Sync + fmt::Debug {
    /// The credentials to sign the next request with.
    ///
    /// # Errors
    /// When the source cannot produce credentials right now.
    fn credentials(&self) -> Result<Credentials, CredentialsError>;
}

impl ProvideCredentials for Credentials {
    fn credentials(&self) -> Result<Credentials, CredentialsError> {
        Ok(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_secrets() {
        let c =
            Credentials::new("LTAIexampleid", "s3cr3t-VALUE").with_security_token("t0ken-VALUE");
        for text in [format!("{c:?}"), format!("{c:#?}"), c.to_string()] {
            assert!(text.contains("LTAIexampleid"), "{text}");
            assert!(!text.contains("s3cr3t-VALUE"), "{text}");
            assert!(!text.contains("t0ken-VALUE"), "{text}");
        }
        assert_eq!(c.to_string(), "LTAIexampleid (STS)");
        assert_eq!(
            format!("{c:?}"),
            r#"Credentials { access_key_id: "LTAIexampleid", access_key_secret: "<redacted>", security_token: Some("<redacted>"), expiration: None }"#
        );
    }

    #[test]
    fn fixed_credentials_provide_themselves() {
        let c = Credentials::new("id", "secret");
        assert_eq!(c.credentials().unwrap_or_else(|e| panic!("{e}")), c);
        assert_eq!(c.security_token(), None);
    }
}
