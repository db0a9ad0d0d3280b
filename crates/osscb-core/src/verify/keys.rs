//! Callback public keys: decoding them, and the store that decides when one
//! is fetched. Sans-IO: the caller passes the time in and performs the
//! fetches the store hands out.
//!
//! The store is what an unauthenticated client can reach (any POST to the
//! callback URL names a key URL), so every rule here bounds what it can make
//! the server do:
//! - **single flight:** one fetch per URL at a time; other callers wait for it
//!   ([`FLIGHT`] at most, after which the next caller fetches);
//! - **a fetch budget:** at most [`BUDGET`] fetches per minute over all URLs;
//! - **negative caching:** a failed fetch is remembered for [`FAILED_TTL`];
//! - **a bounded cache:** [`CAPACITY`] URLs, the least recently used evicted
//!   first, so that keys in use stay while a stream of new URLs churns;
//! - **refresh on mismatch:** a signature that does not match a key fetched
//!   more than [`REFRESH_AFTER`] ago fetches the key once more (a restarted
//!   emulator, a rotated key), within the same budget.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rsa::pkcs8::der::Decode as _;
use rsa::{BoxedUint, pkcs1, pkcs8};

use super::VerifyError;

/// The URL of OSS's callback public key (v1), as OSS sends it.
pub(crate) const OSS_PUBLIC_KEY_URL: &str = "http://gosspublic.alicdn.com/callback_pub_key_v1.pem";

/// OSS's callback public key (`callback_pub_key_v1.pem`, 512-bit RSA).
pub(crate) const OSS_PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKs/JBGzwUB2aVht4crBx3oIPBLNsjGs
C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==
-----END PUBLIC KEY-----
";

/// The largest key document accepted (16 KiB; a 4096-bit PEM is under 1 KiB).
pub(crate) const MAX_KEY_LEN: usize = 16 * 1024;
/// How many key URLs are remembered.
pub(crate) const CAPACITY: usize = 64;
/// How long a fetched key is used before it is fetched again.
pub(crate) const TTL: Duration = Duration::from_secs(3600);
/// How long a failed fetch is remembered.
pub(crate) const FAILED_TTL: Duration = Duration::from_secs(60);
/// How long one fetch may take before another caller may start one.
pub(crate) const FLIGHT: Duration = Duration::from_secs(15);
/// How often waiting callers look again.
pub(crate) const POLL: Duration = Duration::from_millis(20);
/// Fetches per minute, over all URLs.
pub(crate) const BUDGET: usize = 16;
/// A key this old is fetched again when a signature does not match it.
pub(crate) const REFRESH_AFTER: Duration = Duration::from_secs(10);

const MINUTE: Duration = Duration::from_secs(60);

/// An RSA public key that callbacks are verified with (512 to 4096 bits: OSS's
/// own key is 512-bit, which RustCrypto's default constructors refuse).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PublicKey(pub(crate) rsa::PublicKey);

impl PublicKey {
    /// OSS's key, when `url` is OSS's documented key URL (http or https).
    pub(crate) fn builtin(url: &str) -> Option<Self> {
        let path = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))?;
        (Some(path) == OSS_PUBLIC_KEY_URL.strip_prefix("http://"))
            .then(|| Self::parse(OSS_PUBLIC_KEY_PEM.as_bytes()).ok())
            .flatten()
    }

    /// Decodes a key document: PEM (SPKI `PUBLIC KEY` or PKCS#1
    /// `RSA PUBLIC KEY`) or DER SPKI, at most [`MAX_KEY_LEN`] bytes.
    pub(crate) fn parse(document: &[u8]) -> Result<Self, VerifyError> {
        let bad = |what: &dyn std::fmt::Display| VerifyError::BadKey(what.to_string());
        if document.len() > MAX_KEY_LEN {
            return Err(bad(&format!("key document over {MAX_KEY_LEN} bytes")));
        }
        let is_pem = std::str::from_utf8(document)
            .is_ok_and(|text| text.trim_start().starts_with("-----BEGIN"));
        if !is_pem {
            return Self::from_der(document);
        }
        let text = std::str::from_utf8(document).unwrap_or_default().trim();
        let (label, der) = pem_rfc7468::decode_vec(text.as_bytes()).map_err(|e| bad(&e))?;
        match label {
            "PUBLIC KEY" => Self::from_der(&der),
            "RSA PUBLIC KEY" => Self::from_pkcs1_der(&der),
            _ => Err(bad(&"expected a PUBLIC KEY or RSA PUBLIC KEY")),
        }
    }

    /// Decodes a DER SubjectPublicKeyInfo holding an RSA key.
    fn from_der(der: &[u8]) -> Result<Self, VerifyError> {
        let spki = pkcs8::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| VerifyError::BadKey(e.to_string()))?;
        if spki.algorithm.oid != pkcs1::ALGORITHM_OID {
            return Err(VerifyError::BadKey("not an RSA key".to_owned()));
        }
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| VerifyError::BadKey("key bit string is not whole bytes".to_owned()))?;
        Self::from_pkcs1_der(bits)
    }

    /// Decodes a DER PKCS#1 `RSAPublicKey` of 512 to 4096 bits.
    fn from_pkcs1_der(der: &[u8]) -> Result<Self, VerifyError> {
        let bad = |e: &dyn std::fmt::Display| VerifyError::BadKey(e.to_string());
        let key = pkcs1::RsaPublicKeyRef::from_der(der).map_err(|e| bad(&e))?;
        let uint = |bytes: &[u8]| {
            let bits = u32::try_from(bytes.len() * 8).map_err(|e| bad(&e))?;
            BoxedUint::from_be_slice(bytes, bits.max(64)).map_err(|e| bad(&format!("{e:?}")))
        };
        let n = uint(key.modulus.as_bytes())?;
        let e = uint(key.public_exponent.as_bytes())?;
        rsa::PublicKey::new_with_size_limits(n, e, 512..=4096)
            .map(Self)
            .map_err(|e| bad(&e))
    }
}

/// What the store says about a key URL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Use this key.
    Key(PublicKey),
    /// Fetch it: this caller owns the flight and must report with
    /// [`KeyStore::fetched`].
    Fetch,
    /// Another caller is fetching it: look again after this pause.
    Wait(Duration),
    /// It cannot be had now (a recent failure, or the budget is spent).
    Unavailable(String),
}

#[derive(Clone, Debug)]
enum State {
    Key {
        key: PublicKey,
        fetched: Instant,
    },
    /// A flight; a refresh keeps the key it replaces, used meanwhile and
    /// kept should the fetch fail.
    Fetching {
        since: Instant,
        previous: Option<(PublicKey, Instant)>,
    },
    Failed {
        at: Instant,
        reason: String,
    },
}

#[derive(Clone, Debug)]
struct Entry {
    state: State,
    used: Instant,
}

/// The keys by URL, their flights and failures, and the fetch budget.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyStore {
    entries: HashMap<String, Entry>,
    /// When each fetch of the last minute started.
    fetches: VecDeque<Instant>,
}

impl KeyStore {
    /// What to do for `url` at `now`.
    pub(crate) fn lookup(&mut self, url: &str, now: Instant) -> Lookup {
        let state = self.entries.get_mut(url).map(|entry| {
            entry.used = now;
            entry.state.clone()
        });
        match state {
            Some(State::Key { key, fetched }) if now.saturating_duration_since(fetched) < TTL => {
                Lookup::Key(key)
            }
            Some(State::Fetching { since, previous })
                if now.saturating_duration_since(since) < FLIGHT =>
            {
                previous.map_or(Lookup::Wait(POLL), |(key, _)| Lookup::Key(key))
            }
            Some(State::Failed { at, reason })
                if now.saturating_duration_since(at) < FAILED_TTL =>
            {
                Lookup::Unavailable(reason)
            }
            _ => self.start_flight(url, now),
        }
    }

    /// A signature did not match `url`'s key: whether to fetch it again (the
    /// caller then owns the flight, as for [`Lookup::Fetch`]).
    pub(crate) fn refresh(&mut self, url: &str, now: Instant) -> bool {
        let stale = self.entries.get(url).is_some_and(|entry| {
            matches!(entry.state, State::Key { fetched, .. }
                if now.saturating_duration_since(fetched) >= REFRESH_AFTER)
        });
        stale && self.start_flight(url, now) == Lookup::Fetch
    }

    /// The outcome of the flight for `url`.
    pub(crate) fn fetched(&mut self, url: &str, key: Result<PublicKey, String>, now: Instant) {
        let previous = match self.entries.get(url).map(|entry| &entry.state) {
            Some(State::Fetching { previous, .. }) => previous.clone(),
            _ => None,
        };
        let state = match (key, previous) {
            (Ok(key), _) => State::Key { key, fetched: now },
            (Err(_), Some((key, fetched))) => State::Key { key, fetched },
            (Err(reason), None) => State::Failed { at: now, reason },
        };
        self.insert(url, state, now);
    }

    fn start_flight(&mut self, url: &str, now: Instant) -> Lookup {
        while self
            .fetches
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= MINUTE)
        {
            self.fetches.pop_front();
        }
        if self.fetches.len() >= BUDGET {
            return Lookup::Unavailable(format!(
                "over {BUDGET} key fetches in the last minute; not fetching {url} now"
            ));
        }
        self.fetches.push_back(now);
        let previous = match self.entries.get(url).map(|entry| &entry.state) {
            Some(State::Key { key, fetched }) => Some((key.clone(), *fetched)),
            _ => None,
        };
        let since = now;
        self.insert(url, State::Fetching { since, previous }, now);
        Lookup::Fetch
    }

    fn insert(&mut self, url: &str, state: State, now: Instant) {
        if !self.entries.contains_key(url) && self.entries.len() >= CAPACITY {
            let least_used = self
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(url, _)| url.clone());
            if let Some(url) = least_used {
                self.entries.remove(&url);
            }
        }
        let entry = Entry { state, used: now };
        self.entries.insert(url.to_owned(), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oss_key() -> PublicKey {
        PublicKey::parse(OSS_PUBLIC_KEY_PEM.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    const A: &str = "http://127.0.0.1:9000/a.pem";
    const B: &str = "http://127.0.0.1:9000/b.pem";

    #[test]
    fn one_flight_per_url_and_others_wait() {
        let (mut store, t0) = (KeyStore::default(), Instant::now());
        assert_eq!(store.lookup(A, t0), Lookup::Fetch);
        assert_eq!(store.lookup(A, t0), Lookup::Wait(POLL));
        assert_eq!(store.lookup(B, t0), Lookup::Fetch, "other URLs fly alone");
        store.fetched(A, Ok(oss_key()), t0 + Duration::from_millis(5));
        assert_eq!(store.lookup(A, t0 + POLL), Lookup::Key(oss_key()));
        // A flight whose owner never reports expires; the next caller fetches.
        assert_eq!(store.lookup(B, t0 + FLIGHT), Lookup::Fetch);
    }

    #[test]
    fn failures_are_remembered_then_retried() {
        let (mut store, t0) = (KeyStore::default(), Instant::now());
        assert_eq!(store.lookup(A, t0), Lookup::Fetch);
        store.fetched(A, Err("HTTP 404".to_owned()), t0);
        let later = t0 + FAILED_TTL - Duration::from_secs(1);
        assert_eq!(
            store.lookup(A, later),
            Lookup::Unavailable("HTTP 404".into())
        );
        assert_eq!(store.lookup(A, t0 + FAILED_TTL), Lookup::Fetch);
    }

    #[test]
    fn fetches_are_budgeted_per_minute() {
        let (mut store, t0) = (KeyStore::default(), Instant::now());
        for i in 0..BUDGET {
            let url = format!("http://127.0.0.1:9000/{i}.pem");
            assert_eq!(store.lookup(&url, t0), Lookup::Fetch, "{url}");
        }
        let over = store.lookup("http://127.0.0.1:9000/x.pem", t0 + Duration::from_secs(59));
        assert!(matches!(over, Lookup::Unavailable(ref why) if why.contains("16 key fetches")));
        assert_eq!(
            store.lookup("http://127.0.0.1:9000/x.pem", t0 + MINUTE),
            Lookup::Fetch
        );
    }

    #[test]
    fn keys_in_use_survive_a_stream_of_new_urls() {
        let (mut store, mut now) = (KeyStore::default(), Instant::now());
        assert_eq!(store.lookup(A, now), Lookup::Fetch);
        store.fetched(A, Ok(oss_key()), now);
        for i in 0..CAPACITY * 2 {
            now += Duration::from_secs(4); // 15 a minute: within the budget
            let url = format!("http://127.0.0.1:9000/{i}.pem");
            assert_eq!(store.lookup(&url, now), Lookup::Fetch);
            store.fetched(&url, Err("HTTP 404".to_owned()), now);
            assert_eq!(store.lookup(A, now), Lookup::Key(oss_key()), "after {i}");
        }
        assert_eq!(store.entries.len(), CAPACITY);
    }

    #[test]
    fn keys_expire_and_refresh_once_on_a_mismatch() {
        let (mut store, t0) = (KeyStore::default(), Instant::now());
        assert_eq!(store.lookup(A, t0), Lookup::Fetch);
        store.fetched(A, Ok(oss_key()), t0);
        assert!(
            !store.refresh(A, t0 + Duration::from_secs(1)),
            "fresh key: a real mismatch"
        );
        let t1 = t0 + REFRESH_AFTER;
        assert!(store.refresh(A, t1));
        assert!(!store.refresh(A, t1), "one refresh in flight");
        assert_eq!(
            store.lookup(A, t1),
            Lookup::Key(oss_key()),
            "the old key meanwhile"
        );
        store.fetched(A, Err("HTTP 503".to_owned()), t1);
        assert_eq!(
            store.lookup(A, t1),
            Lookup::Key(oss_key()),
            "kept when the refresh fails"
        );
        assert!(store.refresh(A, t1 + Duration::from_secs(1)));
        store.fetched(A, Ok(oss_key()), t1 + Duration::from_secs(1));
        assert!(
            !store.refresh(A, t1 + Duration::from_secs(2)),
            "refetched just now"
        );
        let t2 = t1 + Duration::from_secs(1) + TTL;
        assert_eq!(store.lookup(A, t2), Lookup::Fetch, "expired");
        assert_eq!(
            store.lookup(A, t2),
            Lookup::Key(oss_key()),
            "stale while it is fetched"
        );
    }

    #[test]
    fn key_documents_are_checked() {
        assert_eq!(
            oss_key(),
            PublicKey::builtin(OSS_PUBLIC_KEY_URL).unwrap_or_else(|| panic!())
        );
        assert!(PublicKey::builtin("http://example.com/callback_pub_key_v1.pem").is_none());
        let https = OSS_PUBLIC_KEY_URL.replacen("http", "https", 1);
        assert!(PublicKey::builtin(&https).is_some());
        let truncated = &OSS_PUBLIC_KEY_PEM[..OSS_PUBLIC_KEY_PEM.len() - 40];
        let short = OSS_PUBLIC_KEY_PEM.replace(
            "C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==",
            "C0fTXv+nvlmklvkc",
        );
        for bad in [
            truncated.as_bytes(),
            short.as_bytes(),
            b"not a key",
            &[b'-'; MAX_KEY_LEN + 1],
        ] {
            assert!(matches!(PublicKey::parse(bad), Err(VerifyError::BadKey(_))));
        }
    }
}
