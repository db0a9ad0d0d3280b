//! Every date format the protocol uses, in one place.
//!
//! | format | where |
//! | --- | --- |
//! | HTTP date, `Sat, 16 Dec 2023 16:20:57 GMT` (RFC 9110 IMF-fixdate) | the `Date` header, V1's string to sign, `Last-Modified` |
//! | `20231216T162057Z` and its `20231216` | V4's `x-oss-date` and credential scope |
//! | ISO 8601 `2023-12-16T16:20:57.000Z` | a PostObject policy's `expiration` |
//! | seconds since 1970 | V1 presigned URLs' `Expires` |
//!
//! The calendar arithmetic is [`jiff`]'s, not ours: jiff (by the author of
//! `regex`, actively maintained, no dependencies with its default features
//! off) parses strictly — `2024-02-31` is an error, not March 2nd — and
//! formats every field with fixed widths. `time` would do as well; jiff was
//! chosen for its strict parsers and its RFC 9110 printer, which the `Date`
//! header needs.
//!
//! Only instants from 1970 to 9999-12-30T22:00:00Z (the last one jiff's
//! timestamps hold, so that any UTC offset keeps a four-digit year) are
//! accepted: OSS has no use for others.

use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::fmt::rfc2822;
use jiff::tz::TimeZone;

use crate::Error;

/// `time` as a jiff timestamp, when it lies in 1970..=9999.
fn timestamp(time: SystemTime) -> Result<Timestamp, Error> {
    let outside = || {
        Error::InvalidArgument(format!(
            "{time:?} is outside 1970-01-01T00:00:00Z..=9999-12-30T22:00:00Z"
        ))
    };
    time.duration_since(UNIX_EPOCH).map_err(|_| outside())?;
    Timestamp::try_from(time).map_err(|_| outside())
}

/// `time` back as a `SystemTime`, refusing instants before 1970.
fn system_time(timestamp: Timestamp) -> Option<SystemTime> {
    (timestamp.as_second() >= 0).then(|| SystemTime::from(timestamp))
}

/// `time` as an HTTP date (`Sat, 16 Dec 2023 16:20:57 GMT`, whole seconds).
///
/// # Errors
/// [`Error::InvalidArgument`] for a time before 1970 or after 9999-12-30.
pub fn http_date(time: SystemTime) -> Result<String, Error> {
    rfc2822::DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&timestamp(time)?)
        .map_err(|e| Error::InvalidArgument(format!("cannot format {time:?} as an HTTP date: {e}")))
}

/// Parses an HTTP date (`Sat, 16 Dec 2023 16:20:57 GMT`); `None` unless it is
/// a valid date from 1970 on.
pub fn parse_http_date(text: &str) -> Option<SystemTime> {
    let timestamp = rfc2822::DateTimeParser::new()
        .parse_timestamp(text.trim())
        .ok()?;
    system_time(timestamp)
}

/// `time` as ISO 8601 UTC with milliseconds (truncated):
/// `2023-12-16T16:20:57.000Z`, the format of a PostObject policy's
/// `expiration`.
///
/// # Errors
/// [`Error::InvalidArgument`] for a time before 1970 or after 9999-12-30.
pub fn iso8601_millis(time: SystemTime) -> Result<String, Error> {
    Ok(timestamp(time)?
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string())
}

/// `time` as ISO 8601 UTC in whole seconds: `2023-12-16T16:20:57Z`, the
/// `Timestamp` of Alibaba Cloud's RPC APIs (STS) and the `Expiration` of the
/// credentials they issue.
///
/// # Errors
/// [`Error::InvalidArgument`] for a time before 1970 or after 9999-12-30.
pub fn iso8601_seconds(time: SystemTime) -> Result<String, Error> {
    Ok(timestamp(time)?.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Parses an ISO 8601 UTC time as OSS accepts it in a policy's `expiration`:
/// `2023-12-16T16:20:57Z` or with a fraction (`…57.000Z`). `None` for any
/// other shape, an impossible date (`2024-02-31`) or a time before 1970.
pub fn parse_iso8601(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let (date, _) = text.split_once('T')?;
    let shaped = text.ends_with('Z')
        && date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return None;
    }
    system_time(text.parse::<Timestamp>().ok()?)
}

/// `time` as `YYYYMMDDTHHMMSSZ` (UTC, whole seconds): V4's `x-oss-date`.
///
/// # Errors
/// [`Error::InvalidArgument`] for a time before 1970 or after 9999-12-30.
pub(crate) fn v4_datetime(time: SystemTime) -> Result<String, Error> {
    Ok(timestamp(time)?.strftime("%Y%m%dT%H%M%SZ").to_string())
}

/// Parses a V4 `YYYYMMDDTHHMMSSZ` timestamp; `None` unless it is exactly that
/// shape (ASCII digits) and a real UTC instant from 1970 on.
pub(crate) fn parse_v4_datetime(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    let shaped = b.len() == 16
        && b.iter().enumerate().all(|(i, c)| match i {
            8 => *c == b'T',
            15 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    let civil = DateTime::strptime("%Y%m%dT%H%M%SZ", text).ok()?;
    system_time(TimeZone::UTC.to_timestamp(civil).ok()?)
}

/// Whole seconds since 1970 (V1's `Expires`).
///
/// # Errors
/// [`Error::InvalidArgument`] for a time before 1970 or after 9999-12-30.
pub(crate) fn epoch_seconds(time: SystemTime) -> Result<u64, Error> {
    let seconds = timestamp(time)?.as_second();
    u64::try_from(seconds).map_err(|_| Error::InvalidArgument(format!("{time:?} is before 1970")))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// 9999-12-30T22:00:00Z: the last whole second jiff's timestamps hold.
    const LAST: u64 = 253_402_207_200;

    #[test]
    fn http_dates() {
        assert_eq!(
            http_date(at(1_702_743_657)).unwrap(),
            "Sat, 16 Dec 2023 16:20:57 GMT"
        );
        assert_eq!(http_date(at(0)).unwrap(), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(at(LAST)).unwrap(),
            "Thu, 30 Dec 9999 22:00:00 GMT"
        );
        assert!(http_date(at(LAST + 1)).is_err());
        assert!(http_date(UNIX_EPOCH - Duration::from_secs(1)).is_err());
        assert_eq!(
            parse_http_date("Sat, 16 Dec 2023 16:20:57 GMT"),
            Some(at(1_702_743_657))
        );
        for bad in ["", "yesterday", "Sat, 31 Feb 2023 16:20:57 GMT"] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn v4_datetimes_round_trip() {
        for (secs, text) in [
            (0, "19700101T000000Z"),
            (951_782_400, "20000229T000000Z"),
            (1_702_743_657, "20231216T162057Z"),
            (4_102_444_799, "20991231T235959Z"),
            (LAST, "99991230T220000Z"),
        ] {
            assert_eq!(v4_datetime(at(secs)).unwrap(), text);
            assert_eq!(parse_v4_datetime(text), Some(at(secs)));
        }
        assert!(v4_datetime(at(LAST + 1)).is_err());
        assert!(v4_datetime(UNIX_EPOCH - Duration::from_secs(1)).is_err());
        for bad in [
            "",
            "20231216T162057",
            "20231316T162057Z",
            "20230229T000000Z",
            "20231216T246000Z",
            "2023121GT162057Z",
            "19691231T235959Z",
            "+0231216T162057Z",
            "２023121T162057Z",
        ] {
            assert_eq!(parse_v4_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn iso8601_round_trips_and_is_strict() {
        for (time, text) in [
            (at(0), "1970-01-01T00:00:00.000Z"),
            (at(951_782_400), "2000-02-29T00:00:00.000Z"),
            (
                at(1_672_223_261) + Duration::from_millis(1_999),
                "2022-12-28T10:27:42.999Z",
            ),
            (at(LAST), "9999-12-30T22:00:00.000Z"),
        ] {
            assert_eq!(iso8601_millis(time).unwrap(), text);
        }
        assert!(iso8601_millis(at(LAST + 1)).is_err());
        assert!(iso8601_millis(UNIX_EPOCH - Duration::from_secs(1)).is_err());
        assert_eq!(
            parse_iso8601("2022-12-28T10:27:41Z"),
            Some(at(1_672_223_261))
        );
        assert_eq!(
            parse_iso8601("2022-12-28T10:27:41.000Z"),
            Some(at(1_672_223_261))
        );
        for bad in [
            "2024-02-31T00:00:00Z",
            "2023-02-29T00:00:00.000Z",
            "2022-13-28T10:27:41Z",
            "2022-12-28T24:00:00Z",
            "2022-12-28T10:27:41",
            "2022-12-28T10:27:41+08:00",
            "1969-12-31T23:59:59Z",
            "+2022-12-28T10:27:41Z",
            "nonsense",
            "",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn epoch_seconds_are_whole() {
        assert_eq!(
            epoch_seconds(at(1_699_807_420) + Duration::from_millis(999)).unwrap(),
            1_699_807_420
        );
        assert!(epoch_seconds(UNIX_EPOCH - Duration::from_secs(1)).is_err());
    }
}
