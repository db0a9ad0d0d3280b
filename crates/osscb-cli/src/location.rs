//! `oss://bucket/key`, the way the official `ossutil` names objects.

use std::fmt;

/// An object named `oss://bucket/key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) bucket: String,
    pub(crate) key: String,
}

impl Location {
    /// Parses `oss://bucket/key` (or `oss://bucket/dir/`, a directory);
    /// `None` for anything that does not start with `oss://` (a local path).
    ///
    /// # Errors
    /// An `oss://` text without a bucket.
    pub(crate) fn parse(text: &str) -> Option<Result<Self, String>> {
        let rest = text.strip_prefix("oss://")?;
        let parsed = match rest.split_once('/') {
            Some((bucket, key)) if !bucket.is_empty() => Ok(Self {
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

impl Location {
    /// `name` in this directory when the key is one (empty or ending in
    /// `/`, as `ossutil cp` reads it), else this object.
    pub(crate) fn or_in_dir(&self, name: &str) -> Self {
        let mut location = self.clone();
        if location.key.is_empty() || location.key.ends_with('/') {
            location.key.push_str(name);
        }
        location
    }

    /// The last segment of the key, a file name for a download into a
    /// directory.
    pub(crate) fn file_name(&self) -> &str {
        self.key.rsplit('/').next().unwrap_or_default()
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
        assert!(matches!(Location::parse("oss:///k"), Some(Err(_))));
        let dir = Location::parse("oss://b/d/").and_then(Result::ok);
        let dir = dir.expect("a directory");
        assert_eq!(dir.or_in_dir("f.txt").to_string(), "oss://b/d/f.txt");
        let file = Location::parse("oss://b/d/k").and_then(Result::ok);
        let file = file.expect("an object");
        assert_eq!(file.or_in_dir("f.txt").to_string(), "oss://b/d/k");
        assert_eq!(file.file_name(), "k");
    }
}
