//! When a transport retries a request, and how long it waits: sans-IO rules
//! shared by the blocking and async transports.
//!
//! Retried: 5xx answers, timeouts and connection errors, on requests whose
//! body can be replayed. Never retried: 4xx, and 203 (the object was stored;
//! only its callback failed).
//!
//! ```
//! use std::time::Duration;
//! use osscb_core::retry::{RetryPolicy, is_retryable_status};
//!
//! let policy = RetryPolicy::default();
//! assert!(is_retryable_status(http::StatusCode::SERVICE_UNAVAILABLE));
//! assert!(!is_retryable_status(http::StatusCode::NON_AUTHORITATIVE_INFORMATION));
//! // The wait before the second attempt, with the jitter sample at its top.
//! assert_eq!(policy.backoff(1, 1.0), policy.base_delay);
//! assert!(policy.backoff(30, 1.0) <= policy.max_delay);
//! ```

use std::time::Duration;

use http::StatusCode;

use crate::Error;

/// How often and how patiently a request is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retries).
    pub max_attempts: u32,
    /// The wait ceiling before the first retry; doubled after each attempt.
    pub base_delay: Duration,
    /// The largest wait between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts, 200 ms base delay, 5 s at most.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
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
    pub fn allows_another(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }

    /// The wait after failed attempt number `attempt` (1-based): "full jitter"
    /// exponential backoff, `jitter × min(max_delay, base_delay × 2^(attempt-1))`.
    /// `jitter` is a random sample in `0.0..=1.0` supplied by the caller
    /// (clamped; NaN counts as 1).
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
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

/// Whether a response status is worth another attempt: 5xx only.
pub fn is_retryable_status(status: StatusCode) -> bool {
    status.is_server_error()
}

/// Whether an error the core produced from a response is worth another
/// attempt: OSS errors with a 5xx status. Never a callback failure (203),
/// a 4xx, or a malformed or oversized answer.
pub fn is_retryable(error: &Error) -> bool {
    error
        .service()
        .is_some_and(|e| is_retryable_status(e.status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{CallbackFailed, ServiceError, StoredObject};

    #[test]
    fn backoff_doubles_up_to_the_ceiling() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
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
    fn only_server_errors_are_retried() {
        let service = |code: u16| -> Error {
            ServiceError::from_response(
                StatusCode::from_u16(code).unwrap_or_default(),
                &http::HeaderMap::new(),
                b"",
            )
            .into()
        };
        assert!(is_retryable(&service(503)));
        assert!(is_retryable(&service(500)));
        assert!(!is_retryable(&service(403)));
        assert!(!is_retryable(&service(404)));
        let failed: Error = CallbackFailed {
            object: StoredObject::default(),
            error: ServiceError::from_response(
                StatusCode::NON_AUTHORITATIVE_INFORMATION,
                &http::HeaderMap::new(),
                b"",
            ),
        }
        .into();
        assert!(!is_retryable(&failed));
        assert!(!is_retryable(&Error::MalformedResponse("x".to_owned())));
        assert!(!is_retryable_status(
            StatusCode::NON_AUTHORITATIVE_INFORMATION
        ));
        assert!(!is_retryable_status(StatusCode::TOO_MANY_REQUESTS));
    }
}
