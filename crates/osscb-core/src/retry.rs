//! When a request is tried again, and how long to wait first: the rules the
//! workflow machines in [`crate::flow`] follow for every request.
//!
//! Retried: 5xx answers; requests that failed in transit (nothing sent, no
//! complete answer — a reset while the answer is read included —, timed
//! out) when their body can be sent again; an UploadPart whose answer
//! reports another CRC-64 than that of the bytes sent (the part is replaced;
//! a PutObject is not: the object it replaced is gone). Never retried: 4xx,
//! 203 (the object was stored; only its callback failed), local failures
//! (credentials, unreadable files) — but a 403 `RequestTimeTooSkewed` is
//! sent once more, outside the policy, signed at OSS's time (see
//! [`crate::flow::Call`]). [`RetryPolicy::total_timeout`] bounds a
//! call's retries in time. A write carrying an upload
//! callback is never sent again blindly after an ambiguous failure: see
//! [`crate::flow`].
//!
//! ```
//! use std::time::Duration;
//! use osscb_core::retry::RetryPolicy;
//!
//! let policy = RetryPolicy::default();
//! assert_eq!(policy.max_attempts, 3);
//! assert_eq!(RetryPolicy::none().max_attempts, 1);
//! assert!(policy.max_delay <= Duration::from_secs(5));
//! assert_eq!(policy.total_timeout, None);
//! let bounded = RetryPolicy { total_timeout: Some(Duration::from_secs(60)), ..policy };
//! assert_eq!(bounded.max_attempts, 3);
//! ```

use std::time::Duration;

use http::StatusCode;

/// How often and how patiently a request is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retries).
    pub max_attempts: u32,
    /// The wait ceiling before the first retry; doubled after each attempt.
    pub base_delay: Duration,
    /// The largest wait between two attempts.
    pub max_delay: Duration,
    /// A deadline for one call (one operation; in a multipart upload, each
    /// part, the initiation and the completion), its retries and lost-answer
    /// checks included, counted from its first attempt. Once it has passed,
    /// or the next attempt could not start before it, the call stops and
    /// fails with [`crate::Error::Timeout`] ([`crate::Error::OutcomeUnknown`]
    /// for a write carrying a callback that may have taken effect),
    /// abandoning a request still in flight. `None`: no deadline; the
    /// transport's I/O timeout then bounds each read and write of a request,
    /// not a server that trickles a byte at a time.
    pub total_timeout: Option<Duration>,
}

impl Default for RetryPolicy {
    /// Three attempts, 200 ms base delay, 5 s at most, no total timeout.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            total_timeout: None,
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Whether another attempt may follow attempt number `attempt` (1-based).
    pub(crate) fn allows_another(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }

    /// The wait after failed attempt number `attempt` (1-based): "full jitter"
    /// exponential backoff, `jitter × min(max_delay, base_delay × 2^(attempt-1))`
    /// with `jitter` in `0.0..=1.0` (clamped; NaN counts as 1).
    pub(crate) fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let jitter = if jitter.is_nan() {
            1.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        ceiling.mul_f64(jitter)
    }
}

/// Whether a response status is worth another attempt: 5xx, 408 (OSS timed
/// out reading the request) and 429 (throttled), as the official v2 SDKs
/// retry them (Go SDK v2 `retry/retryable_error.go`,
/// `HTTPStatusCodeRetryable`). 408 and 429 come before OSS stored anything,
/// so even a write with a callback is sent again. The SDKs' 401 is not
/// here: it helps only credentials that refresh.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
}

/// Jitter samples in `0.0..1.0` from a seed the transport passes in
/// (xorshift64*: no clock, no OS randomness in the core).
#[derive(Clone, Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub(crate) fn sample(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_ceiling() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            total_timeout: None,
        };
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(100));
        assert_eq!(p.backoff(2, 1.0), Duration::from_millis(200));
        assert_eq!(p.backoff(3, 1.0), Duration::from_millis(350));
        assert_eq!(p.backoff(u32::MAX, 1.0), Duration::from_millis(350));
        assert_eq!(p.backoff(2, 0.5), Duration::from_millis(100));
        assert_eq!(p.backoff(2, 0.0), Duration::ZERO);
        assert_eq!(p.backoff(2, 7.0), Duration::from_millis(200));
        assert_eq!(p.backoff(2, f64::NAN), Duration::from_millis(200));
        assert!(p.allows_another(4));
        assert!(!p.allows_another(5));
        assert!(!RetryPolicy::none().allows_another(1));
    }

    #[test]
    fn server_errors_timeouts_and_throttling_are_retried() {
        assert!(is_retryable_status(StatusCode::SERVICE_UNAVAILABLE));
        assert!(is_retryable_status(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(is_retryable_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(is_retryable_status(StatusCode::REQUEST_TIMEOUT));
        assert!(!is_retryable_status(StatusCode::FORBIDDEN));
        assert!(!is_retryable_status(StatusCode::UNAUTHORIZED));
        assert!(!is_retryable_status(StatusCode::NOT_FOUND));
        assert!(!is_retryable_status(
            StatusCode::NON_AUTHORITATIVE_INFORMATION
        ));
    }

    #[test]
    fn jitter_is_seeded_and_in_range() {
        let (mut a, mut b) = (Jitter::new(7), Jitter::new(7));
        for _ in 0..1000 {
            let x = a.sample();
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x.to_bits(), b.sample().to_bits());
        }
        assert_ne!(Jitter::new(8).sample(), Jitter::new(7).sample());
    }
}
