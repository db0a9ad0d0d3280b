//! What the emulator hands out and must remember: the temporary credentials
//! it issues (ECS metadata, credentials URI, STS), the metadata service's
//! session tokens and the STS signature nonces it has seen. Each is a table
//! of at most [`CAP`] entries; expired entries are purged when a table is
//! full, and a full table of live entries refuses to grow (the caller
//! answers 503).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use osscb_core::Credentials;
use serde::Serialize;

use crate::server::random_hex;

/// The most live entries a table holds.
pub(crate) const CAP: usize = 10_000;

/// How long a signature nonce is remembered: STS refuses a nonce seen in the
/// last 15 minutes, the same window as its timestamp check.
pub(crate) const NONCE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Where an issued credential went out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialSource {
    /// The ECS instance metadata service (`/__osscb/metadata`).
    Metadata,
    /// The credentials URI (`/__osscb/credentials`).
    Uri,
    /// STS `AssumeRole`.
    AssumeRole,
    /// STS `AssumeRoleWithOIDC`.
    AssumeRoleWithOidc,
}

impl CredentialSource {
    fn index(self) -> usize {
        match self {
            Self::Metadata => 0,
            Self::Uri => 1,
            Self::AssumeRole => 2,
            Self::AssumeRoleWithOidc => 3,
        }
    }
}

/// A table is full of live entries.
#[derive(Debug)]
pub(crate) struct Full;

/// What a table knows of a key.
#[derive(Debug)]
pub(crate) enum Lookup<V> {
    /// Present and unexpired.
    Live(V),
    /// Present, expired (not yet purged).
    Expired,
    /// Never issued, or purged.
    Unknown,
}

/// Entries with an expiry, at most [`CAP`].
struct Table<V> {
    entries: HashMap<String, (SystemTime, V)>,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }
}

impl<V: Clone> Table<V> {
    fn insert(
        &mut self,
        key: String,
        expires: SystemTime,
        value: V,
        now: SystemTime,
    ) -> Result<(), Full> {
        if self.entries.len() >= CAP {
            self.entries.retain(|_, (expires, _)| *expires > now);
        }
        if self.entries.len() >= CAP {
            return Err(Full);
        }
        self.entries.insert(key, (expires, value));
        Ok(())
    }

    fn get(&self, key: &str, now: SystemTime) -> Lookup<V> {
        match self.entries.get(key) {
            Some((expires, value)) if *expires > now => Lookup::Live(value.clone()),
            Some(_) => Lookup::Expired,
            None => Lookup::Unknown,
        }
    }
}

/// A credential just issued.
pub(crate) struct Issue {
    pub(crate) credentials: Credentials,
    pub(crate) expires: SystemTime,
}

impl fmt::Debug for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `Credentials`' own Debug redacts the secret and the token.
        f.debug_struct("Issue")
            .field("credentials", &self.credentials)
            .field("expires", &self.expires)
            .finish()
    }
}

impl Issue {
    /// The credential as the services answer it (`Code` and `LastUpdated`
    /// where the service sends them).
    pub(crate) fn wire(&self, code: bool, last_updated: Option<SystemTime>) -> Wire<'_> {
        Wire {
            code: code.then_some("Success"),
            access_key_id: self.credentials.access_key_id(),
            access_key_secret: self.credentials.access_key_secret(),
            security_token: self.credentials.security_token().unwrap_or_default(),
            expiration: utc_seconds(self.expires),
            last_updated: last_updated.map(utc_seconds),
        }
    }
}

/// A credential's JSON, fields in the order Alibaba Cloud's services send
/// them. Deliberately without `Debug`: it holds the secret.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Wire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    access_key_id: &'a str,
    access_key_secret: &'a str,
    security_token: &'a str,
    expiration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_updated: Option<String>,
}

/// `YYYY-MM-DDThh:mm:ssZ` (UTC, whole seconds, truncated): the times of the
/// credential answers and of STS's `Timestamp`.
pub(crate) fn utc_seconds(time: SystemTime) -> String {
    let millis = osscb_core::time::iso8601_millis(time).unwrap_or_default();
    match millis.get(..19) {
        Some(seconds) => format!("{seconds}Z"),
        None => millis,
    }
}

/// The emulator's issued credentials, metadata tokens and nonces.
#[derive(Default)]
pub(crate) struct Issued {
    credentials: Mutex<Table<Credentials>>,
    tokens: Mutex<Table<()>>,
    nonces: Mutex<Table<()>>,
    counts: [AtomicU64; 4],
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued").finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Issued {
    /// A fresh credential (`STS.` AccessKey ID, secret, security token)
    /// valid for `lifetime` from `now`.
    pub(crate) fn issue(
        &self,
        source: CredentialSource,
        lifetime: Duration,
        now: SystemTime,
    ) -> Result<Issue, Full> {
        let credentials = Credentials::new(format!("STS.{}", random_hex(12)), random_hex(20))
            .with_security_token(format!("CAIS{}", random_hex(48)));
        let expires = now + lifetime;
        lock(&self.credentials).insert(
            credentials.access_key_id().to_owned(),
            expires,
            credentials.clone(),
            now,
        )?;
        if let Some(count) = self.counts.get(source.index()) {
            count.fetch_add(1, Ordering::SeqCst);
        }
        Ok(Issue {
            credentials,
            expires,
        })
    }

    /// The issued credential named `access_key_id`.
    pub(crate) fn credentials(&self, access_key_id: &str, now: SystemTime) -> Lookup<Credentials> {
        lock(&self.credentials).get(access_key_id, now)
    }

    /// How many credentials went out from `source`.
    pub(crate) fn count(&self, source: CredentialSource) -> u64 {
        self.counts
            .get(source.index())
            .map_or(0, |c| c.load(Ordering::SeqCst))
    }

    /// A metadata session token valid for `ttl` from `now`.
    pub(crate) fn token(&self, ttl: Duration, now: SystemTime) -> Result<String, Full> {
        let token = random_hex(28);
        lock(&self.tokens).insert(token.clone(), now + ttl, (), now)?;
        Ok(token)
    }

    /// Whether `token` was handed out and has not expired.
    pub(crate) fn token_is_live(&self, token: &str, now: SystemTime) -> bool {
        matches!(lock(&self.tokens).get(token, now), Lookup::Live(()))
    }

    /// Remembers `nonce` for [`NONCE_WINDOW`]; `Ok(false)` if it was seen within it.
    pub(crate) fn fresh_nonce(&self, nonce: &str, now: SystemTime) -> Result<bool, Full> {
        let mut nonces = lock(&self.nonces);
        if matches!(nonces.get(nonce, now), Lookup::Live(())) {
            return Ok(false);
        }
        nonces.insert(nonce.to_owned(), now + NONCE_WINDOW, (), now)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_whole_utc_seconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_112_000_999);
        assert_eq!(utc_seconds(t), "2026-12-01T08:00:00Z");
    }

    #[test]
    fn credentials_expire_and_tables_stay_bounded() {
        let issued = Issued::default();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let issue = issued
            .issue(CredentialSource::Uri, Duration::from_secs(2), now)
            .unwrap_or_else(|_| panic!("full"));
        let id = issue.credentials.access_key_id().to_owned();
        assert!(id.starts_with("STS."), "{id}");
        assert!(matches!(issued.credentials(&id, now), Lookup::Live(c) if c == issue.credentials));
        let later = now + Duration::from_secs(2);
        assert!(matches!(issued.credentials(&id, later), Lookup::Expired));
        assert!(matches!(
            issued.credentials("STS.other", now),
            Lookup::Unknown
        ));
        assert_eq!(issued.count(CredentialSource::Uri), 1);
        assert_eq!(issued.count(CredentialSource::Metadata), 0);

        // A full table of live nonces refuses; once they expire it purges them.
        for i in 0..CAP - 1 {
            assert!(matches!(issued.fresh_nonce(&i.to_string(), now), Ok(true)));
        }
        assert!(matches!(issued.fresh_nonce("0", now), Ok(false)));
        assert!(matches!(issued.fresh_nonce("last", now), Ok(true)));
        assert!(issued.fresh_nonce("one-more", now).is_err());
        let after = now + NONCE_WINDOW;
        assert!(matches!(issued.fresh_nonce("one-more", after), Ok(true)));
        assert!(matches!(issued.fresh_nonce("0", after), Ok(true)));
        assert_eq!(lock(&issued.nonces).entries.len(), 2);
    }
}
