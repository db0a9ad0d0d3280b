//! `oss://bucket/key`, the way the official `ossutil` names objects.

use std::fmt;

/// An object named `oss://bucket/key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) bucket: String,
    pub(crate) key: String,
}

impl Location {
    /// Parses `oss://bucket/key`; `None` for anything that does not start
    /// with `oss://` (a local path).
    ///
    /// # Errors
    /// An `oss://` text without a bucket or a key.
    pub(crate) fn parse(text: &str) -> Option<Result<Self, String>> {
        let rest = text.strip_prefix("oss://")?;
        let parsed = match rest.split_once('/') {
            Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(Self {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            }),
            _ => Err(format!("{text:?} is not oss://bucket/key")),
        };
        Some(parsed)
    }

    /// Parses an argument that must be `oss://bucket/key`.
    pub(crate) fn parse_arg(text: &str) -> Result<Self, String> {
        Self::parse(text).unwrap_or_else(|| Err(format!("{text:?} is not oss://bucket/key")))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oss://{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_bucket_and_a_key() {
        let parsed = Location::parse("oss://b/dir/k.txt").map(|r| r.map(|l| l.to_string()));
        assert_eq!(parsed, Some(Ok("oss://b/dir/k.txt".to_owned())));
        assert_eq!(Location::parse("./k.txt"), None);
        assert!(matches!(Location::parse("oss://b"), Some(Err(_))));
        assert!(matches!(Location::parse("oss://b/"), Some(Err(_))));
        assert!(matches!(Location::parse("oss:///k"), Some(Err(_))));
    }
}
