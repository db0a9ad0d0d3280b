//! Fault injection for reliability tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// Faults to inject into the next requests. Cheap to clone: clones share state.
/// Requests to the emulator's own `/__osscb/` paths are never faulted or counted.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    seen: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    fail_next: Option<(u32, u16)>,
    fail_at: Vec<(u64, u16)>,
    drop_next: u32,
    delay_next: Option<(u32, Duration)>,
    corrupt_crc64_next: u32,
    corrupt_body_next: u32,
    lose_response_next: u32,
    clock: Option<(Duration, bool)>,
}

/// What happens to one request.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Answer with this status and an OSS error instead of processing.
    pub(crate) fail: Option<u16>,
    /// Read part of the body, then close the connection without answering.
    pub(crate) drop: bool,
    /// Wait this long before processing.
    pub(crate) delay: Option<Duration>,
    /// Process the request, then close the connection instead of answering.
    pub(crate) lose_response: bool,
}

impl Faults {
    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next `count` requests get `status` with an OSS error XML
    /// (503 `ServiceUnavailable`, 500 `InternalError`, …).
    pub fn fail_next(&self, count: u32, status: u16) {
        self.state().fail_next = (count > 0).then_some((count, status));
    }

    /// The `n`-th request from now (1-based) fails with `status`.
    pub fn fail_nth(&self, n: u32, status: u16) {
        let target = self.inner.seen.load(Ordering::SeqCst) + u64::from(n.max(1));
        self.state().fail_at.push((target, status));
    }

    /// The next `count` requests: read part of the body, then close the
    /// connection without answering.
    pub fn drop_next(&self, count: u32) {
        self.state().drop_next = count;
    }

    /// The next `count` requests are answered `delay` late.
    pub fn delay_next(&self, count: u32, delay: Duration) {
        self.state().delay_next = (count > 0).then_some((count, delay));
    }

    /// The next `count` successful writes answer with a wrong `x-oss-hash-crc64ecma`.
    pub fn corrupt_crc64_next(&self, count: u32) {
        self.state().corrupt_crc64_next = count;
    }

    /// The next `count` successful downloads (GetObject) send a body with
    /// one byte flipped, under the object's true `x-oss-hash-crc64ecma`: a
    /// download damaged on the way.
    pub fn corrupt_body_next(&self, count: u32) {
        self.state().corrupt_body_next = count;
    }

    /// The next `count` requests are carried out in full, but the connection
    /// closes instead of answering: the client cannot tell whether they took
    /// effect (a lost CompleteMultipartUpload answer, say).
    pub fn lose_response_next(&self, count: u32) {
        self.state().lose_response_next = count;
    }

    /// The emulator's clock runs `by` ahead (`ahead`) or behind the real
    /// one from now on: for the request-time check (OSS refuses a signing
    /// time more than 15 minutes off with 403 `RequestTimeTooSkewed`) and
    /// the `Date` of its answers. [`Faults::clear`] sets it right.
    pub fn skew_clock(&self, by: Duration, ahead: bool) {
        self.state().clock = Some((by, ahead));
    }

    /// The emulator's time: the real one, or as skewed by [`Faults::skew_clock`].
    pub(crate) fn now(&self) -> SystemTime {
        let now = SystemTime::now();
        let moved = match self.state().clock {
            Some((by, true)) => now.checked_add(by),
            Some((by, false)) => now.checked_sub(by),
            None => None,
        };
        moved.unwrap_or(now)
    }

    /// Removes every pending fault.
    pub fn clear(&self) {
        *self.state() = State::default();
    }

    /// How many requests the emulator has received (faulted ones included).
    pub fn requests_seen(&self) -> u64 {
        self.inner.seen.load(Ordering::SeqCst)
    }

    /// Counts a request and decides its fate.
    pub(crate) fn on_request(&self) -> Verdict {
        let seq = self.inner.seen.fetch_add(1, Ordering::SeqCst) + 1;
        let mut state = self.state();
        let mut verdict = Verdict::default();
        if let Some((count, delay)) = state.delay_next {
            verdict.delay = Some(delay);
            state.delay_next = (count > 1).then_some((count - 1, delay));
        }
        if state.drop_next > 0 {
            state.drop_next -= 1;
            verdict.drop = true;
            return verdict;
        }
        if state.lose_response_next > 0 {
            state.lose_response_next -= 1;
            verdict.lose_response = true;
        }
        if let Some(i) = state.fail_at.iter().position(|(at, _)| *at == seq) {
            verdict.fail = Some(state.fail_at.swap_remove(i).1);
            return verdict;
        }
        state.fail_at.retain(|(at, _)| *at > seq);
        if let Some((count, status)) = state.fail_next {
            verdict.fail = Some(status);
            state.fail_next = (count > 1).then_some((count - 1, status));
        }
        verdict
    }

    /// Whether this successful write must report a wrong CRC-64.
    pub(crate) fn take_corrupt_crc64(&self) -> bool {
        take(&mut self.state().corrupt_crc64_next)
    }

    /// Whether this successful download must send a damaged body.
    pub(crate) fn take_corrupt_body(&self) -> bool {
        take(&mut self.state().corrupt_body_next)
    }
}

/// Takes one from `count`, if any are left.
fn take(count: &mut u32) -> bool {
    let some = *count > 0;
    *count = count.saturating_sub(1);
    some
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_and_order() {
        let f = Faults::default();
        f.fail_nth(2, 500);
        f.fail_next(1, 503);
        assert_eq!(f.on_request().fail, Some(503));
        assert_eq!(f.on_request().fail, Some(500));
        assert_eq!(f.on_request(), Verdict::default());
        f.drop_next(1);
        assert!(f.on_request().drop);
        f.delay_next(1, Duration::from_millis(5));
        assert_eq!(f.on_request().delay, Some(Duration::from_millis(5)));
        assert_eq!(f.on_request().delay, None);
        f.corrupt_crc64_next(1);
        assert!(f.take_corrupt_crc64());
        assert!(!f.take_corrupt_crc64());
        f.lose_response_next(1);
        assert!(f.on_request().lose_response);
        assert!(!f.on_request().lose_response);
        let hour = Duration::from_secs(3600);
        f.skew_clock(hour, true);
        assert!(f.now() > SystemTime::now() + hour - Duration::from_secs(1));
        f.skew_clock(hour, false);
        assert!(f.now() < SystemTime::now() - hour + Duration::from_secs(1));
        f.fail_next(3, 503);
        f.clear();
        assert!(f.now() < SystemTime::now() + Duration::from_secs(1));
        assert_eq!(f.on_request(), Verdict::default());
        assert_eq!(f.requests_seen(), 9);
    }
}
