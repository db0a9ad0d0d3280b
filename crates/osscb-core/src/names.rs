//! Validated bucket names and object keys, and the endpoint that turns them into URLs.

use std::fmt;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::Arc;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::Error;

/// Bytes kept as they are in a URL: RFC 3986 unreserved characters.
pub(crate) const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Unreserved characters plus `/`: how object keys travel in a path.
const KEY_PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Percent-encodes a query key or value (everything but unreserved characters).
pub(crate) fn encode_query_component(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// A validated OSS bucket name: 3–63 characters, lowercase letters, digits and
/// hyphens, neither starting nor ending with a hyphen.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bucket(Arc<str>);

impl Bucket {
    /// Validates `name` as a bucket name.
    ///
    /// # Errors
    /// [`Error::InvalidBucket`] naming the rule the name breaks.
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        let reason = if name.len() < 3 || name.len() > 63 {
            Some("must be 3 to 63 characters long")
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            Some("may contain only lowercase letters, digits and hyphens")
        } else if name.starts_with('-') || name.ends_with('-') {
            Some("must not start or end with a hyphen")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidBucket { name, reason }),
            None => Ok(Self(name.into())),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated object key: 1–1023 bytes of UTF-8, not starting with `/` or `\`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(Arc<str>);

impl ObjectKey {
    /// Validates `key` as an object key.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] naming the rule the key breaks.
    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        let reason = if key.is_empty() {
            Some("must not be empty")
        } else if key.len() > 1023 {
            Some("must be at most 1023 bytes of UTF-8")
        } else if key.starts_with('/') || key.starts_with('\\') {
            Some("must not start with '/' or '\\'")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidKey { key, reason }),
            None => Ok(Self(key.into())),
        }
    }

    /// The key as stored (raw UTF-8, as signed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a `/`-separated segment of the key is `.` or `..`.
    fn has_dot_segment(&self) -> bool {
        self.0.split('/').any(|s| s == "." || s == "..")
    }

    /// Whether the whole key is one dot segment (`.` or `..`).
    fn is_dot_segment(&self) -> bool {
        matches!(&*self.0, "." | "..")
    }

    /// The key as it travels in a URL path. OSS keys are literal: `a/../b`,
    /// `a/./c`, `..`, `x/..` and `./x` are keys of their own, which no client
    /// or proxy on the way may normalise as RFC 3986 dot segments (the WHATWG
    /// URL rules that `reqwest` follows even treat `%2E` as `.`). So:
    /// - a key without a `.` or `..` segment is percent-encoded with `/` kept
    ///   (`dir/a%20b.txt`);
    /// - a key with one is written as a single path segment: every `/` as
    ///   `%2F` — as oss2 writes every key by default (`_UrlMaker`:
    ///   `urlquote(key, safe='')`), since OSS decodes the path — and every `.`
    ///   of a dot segment as `%2E`: `a/../b` → `a%2F%2E%2E%2Fb`.
    ///
    /// Signatures name the decoded key either way (see [`crate::sign`]).
    pub(crate) fn push_url_path(&self, out: &mut String) {
        if !self.has_dot_segment() {
            out.extend(utf8_percent_encode(&self.0, KEY_PATH));
            return;
        }
        for (i, segment) in self.0.split('/').enumerate() {
            if i > 0 {
                out.push_str("%2F");
            }
            match segment {
                "." => out.push_str("%2E"),
                ".." => out.push_str("%2E%2E"),
                other => out.extend(utf8_percent_encode(other, UNRESERVED)),
            }
        }
    }
}

macro_rules! name_traits {
    ($ty:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }
        impl TryFrom<&str> for $ty {
            type Error = Error;
            fn try_from(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }
        impl TryFrom<String> for $ty {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                Self::new(s)
            }
        }
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}
name_traits!(Bucket);
name_traits!(ObjectKey);

/// How a bucket appears in request URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressingStyle {
    /// `https://bucket.endpoint/key` — OSS's default.
    VirtualHosted,
    /// `http://endpoint/bucket/key` — for IP addresses, `localhost` and emulators.
    Path,
    /// `https://custom.domain/key` — a domain bound to one bucket (CNAME).
    Cname,
}

/// Where requests go: scheme, host (with an optional port) and addressing style.
///
/// Parsed from what users type: `oss-cn-hangzhou.aliyuncs.com` (https),
/// `https://oss-cn-hangzhou.aliyuncs.com`, `http://127.0.0.1:9000` (path style),
/// `cdn.example.com` followed by [`Endpoint::with_style`]`(AddressingStyle::Cname)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    https: bool,
    host: String,
    port: Option<u16>,
    style: AddressingStyle,
}

impl Endpoint {
    /// Parses an endpoint. A scheme-less endpoint means https; an IP address or
    /// `localhost` selects path style, anything else virtual-hosted style.
    ///
    /// # Errors
    /// [`Error::InvalidEndpoint`] for an unknown scheme, a path, query or
    /// credentials in the endpoint, or a malformed host or port.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidEndpoint {
            input: input.to_owned(),
            reason,
        };
        let trimmed = input.trim();
        let (https, rest) = match trimmed.split_once("://") {
            None => (true, trimmed),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (false, rest),
            Some(_) => return Err(invalid("the scheme must be http or https")),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(invalid(
                "must be a host with an optional port, without a path or query",
            ));
        }
        if authority.contains('@') {
            return Err(invalid("must not contain credentials"));
        }
        let (host, port) = split_host_port(authority)
            .ok_or_else(|| invalid("the port must be a number from 1 to 65535"))?;
        let host = host.to_ascii_lowercase();
        let is_ip = host.parse::<Ipv4Addr>().is_ok()
            || host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .is_some_and(|h| h.parse::<Ipv6Addr>().is_ok());
        if !is_ip && !is_hostname(&host) {
            return Err(invalid("the host must be a DNS name or an IP address"));
        }
        let style = if is_ip || host == "localhost" {
            AddressingStyle::Path
        } else {
            AddressingStyle::VirtualHosted
        };
        Ok(Self {
            https,
            host,
            port,
            style,
        })
    }

    /// The same endpoint with another addressing style.
    #[must_use]
    pub fn with_style(mut self, style: AddressingStyle) -> Self {
        self.style = style;
        self
    }

    /// The `Host` a request for `bucket` goes to, with the port when one was given.
    pub(crate) fn authority(&self, bucket: Option<&Bucket>) -> String {
        let mut out = String::new();
        self.push_authority(&mut out, bucket, self.port);
        out
    }

    /// The `Host` header HTTP clients send for `bucket`: [`Endpoint::authority`]
    /// without a default port (80 for http, 443 for https). V4 signs this
    /// value when `host` is an additional header.
    pub(crate) fn host_header(&self, bucket: Option<&Bucket>) -> String {
        let default_port = if self.https { 443 } else { 80 };
        let mut out = String::new();
        self.push_authority(&mut out, bucket, self.port.filter(|p| *p != default_port));
        out
    }

    fn push_authority(&self, out: &mut String, bucket: Option<&Bucket>, port: Option<u16>) {
        if let (Some(bucket), AddressingStyle::VirtualHosted) = (bucket, self.style) {
            out.push_str(bucket.as_str());
            out.push('.');
        }
        out.push_str(&self.host);
        if let Some(port) = port {
            // Writing to a String cannot fail.
            let _ = write!(out, ":{port}");
        }
    }

    /// The URL path for a bucket and key: the one place an object's URI path
    /// is written (see [`ObjectKey`]'s rule for keys with dot segments). In
    /// path style, a key that is itself `.` or `..` follows the bucket after
    /// `%2F`, so the whole path is one segment: `/bucket%2F%2E%2E`. In
    /// virtual-hosted and CNAME style such a key can only be `/%2E%2E`, which
    /// WHATWG URL parsers (`reqwest`) turn into `/`: that transport cannot
    /// send it, and refuses.
    fn push_path(&self, out: &mut String, bucket: Option<&Bucket>, key: Option<&ObjectKey>) {
        out.push('/');
        if let (Some(bucket), AddressingStyle::Path) = (bucket, self.style) {
            out.push_str(bucket.as_str());
            if key.is_some_and(ObjectKey::is_dot_segment) {
                out.push_str("%2F");
            } else {
                out.push('/');
            }
        }
        if let Some(key) = key {
            key.push_url_path(out);
        }
    }

    /// The full URL of a request: scheme, authority, path and `query` (given
    /// decoded; written sorted by key and percent-encoded, a bare key when the
    /// value is empty), built in one buffer.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the pieces do not form a URI (cannot happen
    /// with validated names and an encoded query).
    pub(crate) fn url(
        &self,
        bucket: Option<&Bucket>,
        key: Option<&ObjectKey>,
        query: &[(String, String)],
    ) -> Result<http::Uri, Error> {
        let mut url = String::with_capacity(256);
        url.push_str(if self.https { "https://" } else { "http://" });
        self.push_authority(&mut url, bucket, self.port);
        self.push_path(&mut url, bucket, key);
        if !query.is_empty() {
            let mut sorted: Vec<&(String, String)> = query.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                // `?acl&=x` has no agreed reading: each side would sign it
                // differently (a property test sent one).
                if k.is_empty() {
                    return Err(Error::InvalidArgument(
                        "a query parameter needs a name".to_owned(),
                    ));
                }
                url.push(if i == 0 { '?' } else { '&' });
                url.extend(utf8_percent_encode(k, UNRESERVED));
                if !v.is_empty() {
                    url.push('=');
                    url.extend(utf8_percent_encode(v, UNRESERVED));
                }
            }
        }
        http::Uri::try_from(url).map_err(|e| Error::InvalidArgument(format!("request URL: {e}")))
    }
}

impl FromStr for Endpoint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}", self.authority(None))
    }
}

fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let port_sep = if authority.starts_with('[') {
        authority.rfind("]:").map(|i| i + 1)
    } else {
        authority.rfind(':')
    };
    match port_sep {
        None => Some((authority, None)),
        Some(i) => {
            let port: u16 = authority[i + 1..].parse().ok()?;
            (port != 0).then_some((&authority[..i], Some(port)))
        }
    }
}

fn is_hostname(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    fn path_of(endpoint: &Endpoint, bucket: &Bucket, key: &ObjectKey) -> String {
        let mut out = String::new();
        endpoint.push_path(&mut out, Some(bucket), Some(key));
        out
    }

    fn url_path(key: &ObjectKey) -> String {
        let mut out = String::new();
        key.push_url_path(&mut out);
        out
    }

    use super::*;

    fn b(s: &str) -> Bucket {
        Bucket::new(s).unwrap_or_else(|e| panic!("{e}"))
    }
    fn k(s: &str) -> ObjectKey {
        ObjectKey::new(s).unwrap_or_else(|e| panic!("{e}"))
    }
    fn e(s: &str) -> Endpoint {
        Endpoint::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn urls_for_each_style() {
        let bucket = b("examplebucket");
        let key = k("dir/a b+c?d#e%f&g=h/中文.txt");
        let cases = [
            (
                e("oss-cn-hangzhou.aliyuncs.com"),
                "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/a%20b%2Bc%3Fd%23e%25f%26g%3Dh/%E4%B8%AD%E6%96%87.txt",
            ),
            (
                e("http://oss-cn-hangzhou-internal.aliyuncs.com/"),
                "http://examplebucket.oss-cn-hangzhou-internal.aliyuncs.com/dir/a%20b%2Bc%3Fd%23e%25f%26g%3Dh/%E4%B8%AD%E6%96%87.txt",
            ),
            (
                e("http://127.0.0.1:9000"),
                "http://127.0.0.1:9000/examplebucket/dir/a%20b%2Bc%3Fd%23e%25f%26g%3Dh/%E4%B8%AD%E6%96%87.txt",
            ),
            (
                e("localhost:9000"),
                "https://localhost:9000/examplebucket/dir/a%20b%2Bc%3Fd%23e%25f%26g%3Dh/%E4%B8%AD%E6%96%87.txt",
            ),
            (
                e("https://CDN.example.com").with_style(AddressingStyle::Cname),
                "https://cdn.example.com/dir/a%20b%2Bc%3Fd%23e%25f%26g%3Dh/%E4%B8%AD%E6%96%87.txt",
            ),
        ];
        for (endpoint, want) in cases {
            let url = endpoint
                .url(Some(&bucket), Some(&key), &[])
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(url.to_string(), want);
        }
        let url = e("[::1]:9000")
            .url(
                Some(&bucket),
                None,
                &[("uploads".to_owned(), String::new())],
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(url.to_string(), "https://[::1]:9000/examplebucket/?uploads");
        assert_eq!(e("[::1]:9000").style, AddressingStyle::Path);
        let url = e("oss-cn-beijing.aliyuncs.com")
            .url(Some(&bucket), None, &[])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            url.to_string(),
            "https://examplebucket.oss-cn-beijing.aliyuncs.com/"
        );
    }

    /// Keys with dot segments travel as one path segment, with no `.` or `..`
    /// segment a URL parser could remove.
    #[test]
    fn dot_segment_keys_are_literal_on_the_wire() {
        let bucket = b("bucket");
        let path_style = e("http://127.0.0.1:9000");
        let hosted = e("oss-cn-hangzhou.aliyuncs.com");
        let cname = e("cdn.example.com").with_style(AddressingStyle::Cname);
        for (key, path, hosted_path) in [
            ("a/../b", "/bucket/a%2F%2E%2E%2Fb", "/a%2F%2E%2E%2Fb"),
            ("a/./c", "/bucket/a%2F%2E%2Fc", "/a%2F%2E%2Fc"),
            ("..", "/bucket%2F%2E%2E", "/%2E%2E"),
            (".", "/bucket%2F%2E", "/%2E"),
            ("x/..", "/bucket/x%2F%2E%2E", "/x%2F%2E%2E"),
            ("./x", "/bucket/%2E%2Fx", "/%2E%2Fx"),
            (
                "a b/../c+d",
                "/bucket/a%20b%2F%2E%2E%2Fc%2Bd",
                "/a%20b%2F%2E%2E%2Fc%2Bd",
            ),
            // Dots inside a segment are not dot segments: written as before.
            ("a/..b/c.", "/bucket/a/..b/c.", "/a/..b/c."),
            (".../x", "/bucket/.../x", "/.../x"),
        ] {
            let key = k(key);
            assert_eq!(path_of(&path_style, &bucket, &key), path, "{key}");
            assert_eq!(path_of(&hosted, &bucket, &key), hosted_path, "{key}");
            assert_eq!(path_of(&cname, &bucket, &key), hosted_path, "{key}");
        }
        assert_eq!(
            path_style
                .url(
                    Some(&bucket),
                    Some(&k("..")),
                    &[("acl".to_owned(), String::new())]
                )
                .unwrap_or_else(|e| panic!("{e}"))
                .to_string(),
            "http://127.0.0.1:9000/bucket%2F%2E%2E?acl"
        );
    }

    #[test]
    fn host_header_drops_default_ports() {
        let bucket = b("bucket");
        assert_eq!(
            e("https://oss.example.com:443").host_header(Some(&bucket)),
            "bucket.oss.example.com"
        );
        assert_eq!(
            e("http://oss.example.com:443").host_header(Some(&bucket)),
            "bucket.oss.example.com:443"
        );
        assert_eq!(
            e("http://127.0.0.1:80").host_header(Some(&bucket)),
            "127.0.0.1"
        );
        assert_eq!(
            e("http://127.0.0.1:9000").host_header(Some(&bucket)),
            "127.0.0.1:9000"
        );
    }

    #[test]
    fn names_accept_the_edges() {
        b("abc");
        b(&"a".repeat(63));
        b("a-1");
        k("a");
        k(&"é".repeat(511)); // 1022 bytes
        k("..\\x");
        // OSS allows any UTF-8 after the first character, control characters too.
        assert_eq!(url_path(&k("a\nb\r\0")), "a%0Ab%0D%00");
        assert_eq!(k("a/b").to_string(), "a/b");
    }
}
