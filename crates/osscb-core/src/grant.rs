//! Callback binding: proof that a callback belongs to an upload this
//! application server issued.
//!
//! OSS signs every callback with one key for all accounts, and a PostObject
//! form does not sign its callback: the uploader can replace it. A verified
//! callback therefore proves only that *some* OSS upload caused it. A grant
//! closes that gap. When the application server hands out an upload (a
//! PostObject form, a presigned PUT, or its own upload), [`Seal::grant`] MACs
//! what it intended — bucket, exact key or key prefix, expiry and a nonce —
//! under an application secret, and [`CallbackBuilder::grant`] puts the token
//! in the callback as the custom variable `x:osscb_grant`, with the body
//! fields `bucket`, `object` and `osscb_grant`. [`Seal::check`] then refuses a
//! verified callback that carries no grant, a grant made under another secret,
//! an expired one, or one whose bucket and object are not the body's.
//!
//! What a bound callback proves: OSS sent it, and its body names a bucket and
//! object this server granted, before the grant expired. What it does not
//! prove: a callback template an uploader swapped can still carry a grant it
//! was given and state its bucket, object, size or ETag as literal text. Act
//! on size, ETag or CRC-64 only after confirming them with a HeadObject of the
//! granted object, and accept each nonce once.
//!
//! [`CallbackBuilder::grant`]: crate::callback::CallbackBuilder::grant

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

use crate::ops::ObjectMetadata;
use crate::verify::{VerifiedCallback, VerifyError};
use crate::{Bucket, Error, ObjectKey};

/// The custom variable that carries the grant token.
pub(crate) const GRANT_VAR: &str = "x:osscb_grant";
/// The body field the token arrives in.
pub(crate) const GRANT_FIELD: &str = "osscb_grant";
/// The shortest secret accepted: 32 bytes, HMAC-SHA256's key size.
const MIN_SECRET: usize = 32;
const VERSION: &str = "g1";

/// What a grant lets the uploader write.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// Exactly this key.
    Key(&'a ObjectKey),
    /// Any key that starts with this prefix.
    Prefix(&'a str),
}

/// The application secret that grants are made and checked with.
#[derive(Clone)]
pub struct Seal {
    secret: Vec<u8>,
}

impl fmt::Debug for Seal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seal(<redacted>)")
    }
}

/// A grant that checked out: what the server issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The object the callback names, within the grant.
    pub object: String,
    /// The nonce given to [`Seal::grant`]: accept each one once.
    pub nonce: String,
}

impl Grant {
    /// Confirms the facts the callback body states — `size`, `etag` and
    /// `crc64`, those it has — against `head`, a HeadObject of
    /// [`Grant::object`] in the granted bucket: a swapped template can state
    /// them as literal text.
    ///
    /// # Errors
    /// [`VerifyError::FactsDiffer`] naming the first fact that differs.
    pub fn confirm(
        &self,
        callback: &VerifiedCallback,
        head: &ObjectMetadata,
    ) -> Result<(), VerifyError> {
        let etag = head
            .object
            .etag
            .as_deref()
            .map(|e| e.trim_matches('"').to_ascii_uppercase());
        let actual = [
            ("size", head.content_length.map(|n| n.to_string())),
            ("etag", etag),
            ("crc64", head.object.crc64.map(|c| c.to_string())),
        ];
        for (name, actual) in actual {
            let stated = callback.variables().get(name).map(|v| v.trim_matches('"'));
            let stated = stated.map(str::to_ascii_uppercase);
            if stated.is_some_and(|v| Some(v) != actual) {
                return Err(VerifyError::FactsDiffer(name.to_owned()));
            }
        }
        Ok(())
    }
}

impl Seal {
    /// A seal with `secret` (at least 32 random bytes, kept on the server).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a shorter secret.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let secret = secret.into();
        if secret.len() < MIN_SECRET {
            return Err(Error::InvalidArgument(format!(
                "a grant secret needs at least {MIN_SECRET} bytes"
            )));
        }
        Ok(Self { secret })
    }

    /// A grant token for an upload to `bucket` within `scope`, valid until
    /// `expires`. `nonce` (8 to 64 of `A-Z a-z 0-9 _ -`) names the upload:
    /// make it unique, and accept it once.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad nonce or an expiry before 1970.
    pub fn grant(
        &self,
        bucket: &Bucket,
        scope: Scope<'_>,
        expires: SystemTime,
        nonce: &str,
    ) -> Result<String, Error> {
        let nonce_ok = (8..=64).contains(&nonce.len())
            && nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !nonce_ok {
            return Err(Error::InvalidArgument(
                "a grant nonce is 8 to 64 of A-Z a-z 0-9 _ -".to_owned(),
            ));
        }
        let expires = expires
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::InvalidArgument("a grant expiry before 1970".to_owned()))?
            .as_secs();
        let (kind, text) = match scope {
            Scope::Key(key) => ("k", key.as_str()),
            Scope::Prefix(prefix) => ("p", prefix),
        };
        let scope = URL_SAFE_NO_PAD.encode(text);
        let mac = self.mac(bucket.as_str(), kind, text, expires, nonce);
        Ok(format!("{VERSION}.{expires}.{nonce}.{kind}.{scope}.{mac}"))
    }

    /// Checks the grant in a verified callback's body against its `bucket`
    /// and `object` fields, at `now`.
    ///
    /// # Errors
    /// [`VerifyError::Unbound`] without a grant (or without the fields it
    /// covers), [`VerifyError::GrantMismatch`] for a grant this seal did not
    /// make or that does not cover the body's bucket and object, and
    /// [`VerifyError::GrantExpired`].
    pub fn check(
        &self,
        callback: &VerifiedCallback,
        now: SystemTime,
    ) -> Result<Grant, VerifyError> {
        let field = |name: &'static str| {
            callback
                .variables()
                .get(name)
                .ok_or(VerifyError::Unbound(name))
        };
        let (token, bucket, object) = (field(GRANT_FIELD)?, field("bucket")?, field("object")?);
        let mismatch = |why: &str| VerifyError::GrantMismatch(why.to_owned());
        let parts: Vec<&str> = token.split('.').collect();
        let [VERSION, expires, nonce, kind, scope, mac] = parts[..] else {
            return Err(mismatch("not a grant token"));
        };
        let expires: u64 = expires.parse().map_err(|_| mismatch("bad expiry"))?;
        let scope = URL_SAFE_NO_PAD
            .decode(scope)
            .ok()
            .and_then(|s| String::from_utf8(s).ok())
            .ok_or_else(|| mismatch("bad scope"))?;
        let expected = self.mac(bucket, kind, &scope, expires, nonce);
        let given = URL_SAFE_NO_PAD.decode(mac).unwrap_or_default();
        let expected = URL_SAFE_NO_PAD.decode(expected).unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&given[..], &expected[..])) {
            return Err(mismatch("made under another secret, or for another bucket"));
        }
        let covered = match kind {
            "k" => *object == scope,
            "p" => object.starts_with(&scope),
            _ => false,
        };
        if !covered {
            return Err(mismatch("the object is outside the grant"));
        }
        let until = UNIX_EPOCH.checked_add(Duration::from_secs(expires));
        if until.is_none_or(|until| now > until) {
            return Err(VerifyError::GrantExpired);
        }
        Ok(Grant {
            object: object.clone(),
            nonce: nonce.to_owned(),
        })
    }

    fn mac(&self, bucket: &str, kind: &str, scope: &str, expires: u64, nonce: &str) -> String {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        for part in [VERSION, bucket, kind, scope, &expires.to_string(), nonce] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal() -> Seal {
        Seal::new([7u8; 32]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn body(bucket: &str, object: &str, token: &str) -> VerifiedCallback {
        VerifiedCallback::for_tests(&[("bucket", bucket), ("object", object), (GRANT_FIELD, token)])
    }

    fn names() -> (Bucket, ObjectKey) {
        let bucket = Bucket::new("photos").unwrap_or_else(|e| panic!("{e}"));
        let key = ObjectKey::new("u/42/cat.jpg").unwrap_or_else(|e| panic!("{e}"));
        (bucket, key)
    }

    const T0: Duration = Duration::from_secs(1_700_000_000);

    #[test]
    fn a_grant_covers_what_was_issued_and_nothing_else() {
        let (bucket, key) = names();
        let until = UNIX_EPOCH + T0 + Duration::from_secs(600);
        let now = UNIX_EPOCH + T0;
        let token = seal()
            .grant(&bucket, Scope::Key(&key), until, "n0nce-0001")
            .expect("grant");
        assert!(
            token.starts_with("g1.1700000600.n0nce-0001.k.dS80Mi9jYXQuanBn."),
            "{token}"
        );
        let grant = seal().check(&body("photos", "u/42/cat.jpg", &token), now);
        let grant = grant.expect("bound");
        assert_eq!(
            (grant.object.as_str(), grant.nonce.as_str()),
            ("u/42/cat.jpg", "n0nce-0001")
        );

        let swapped_key = seal().check(&body("photos", "u/43/cat.jpg", &token), now);
        assert!(
            matches!(swapped_key, Err(VerifyError::GrantMismatch(_))),
            "{swapped_key:?}"
        );
        let swapped_bucket = seal().check(&body("other", "u/42/cat.jpg", &token), now);
        assert!(matches!(swapped_bucket, Err(VerifyError::GrantMismatch(_))));
        let foreign = Seal::new([8u8; 32]).expect("seal");
        let foreign = foreign.check(&body("photos", "u/42/cat.jpg", &token), now);
        assert!(matches!(foreign, Err(VerifyError::GrantMismatch(_))));
        let late = seal().check(
            &body("photos", "u/42/cat.jpg", &token),
            until + Duration::from_secs(1),
        );
        assert_eq!(late, Err(VerifyError::GrantExpired));
        let tampered = token.replacen(".k.", ".p.", 1);
        let tampered = seal().check(&body("photos", "u/42/cat.jpg", &tampered), now);
        assert!(matches!(tampered, Err(VerifyError::GrantMismatch(_))));
        let unbound =
            VerifiedCallback::for_tests(&[("bucket", "photos"), ("object", "u/42/cat.jpg")]);
        assert_eq!(
            seal().check(&unbound, now),
            Err(VerifyError::Unbound(GRANT_FIELD))
        );
    }

    #[test]
    fn a_prefix_grant_covers_keys_below_it() {
        let (bucket, _) = names();
        let until = UNIX_EPOCH + T0 + Duration::from_secs(60);
        let token = seal()
            .grant(&bucket, Scope::Prefix("u/42/"), until, "abcdefgh")
            .expect("grant");
        let now = UNIX_EPOCH + T0;
        assert!(
            seal()
                .check(&body("photos", "u/42/a/b.png", &token), now)
                .is_ok()
        );
        assert!(
            seal()
                .check(&body("photos", "u/4/a.png", &token), now)
                .is_err()
        );
    }

    #[test]
    fn bad_inputs_are_refused() {
        let (bucket, key) = names();
        assert!(Seal::new(vec![0; 31]).is_err());
        let now = UNIX_EPOCH + T0;
        for nonce in ["short", "has space", &"x".repeat(65)] {
            assert!(
                seal().grant(&bucket, Scope::Key(&key), now, nonce).is_err(),
                "{nonce}"
            );
        }
        for token in [
            "",
            "g1",
            "g1.x.n.k.s.m",
            "g2.1.abcdefgh.k.dQ.AAAA",
            "g1.1.abcdefgh.k.%%.AAAA",
        ] {
            let checked = seal().check(&body("photos", "u/42/cat.jpg", token), now);
            assert!(
                matches!(checked, Err(VerifyError::GrantMismatch(_))),
                "{token}: {checked:?}"
            );
        }
        assert_eq!(format!("{:?}", seal()), "Seal(<redacted>)");
    }
}
