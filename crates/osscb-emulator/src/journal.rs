//! The journal the dashboard shows: the last requests (with their signature
//! verdicts) and callback deliveries, in bounded rings, and the live feed of
//! new entries to each dashboard watching.
//!
//! Memory stays bounded whatever the traffic: at most [`MAX_REQUESTS`] and
//! [`MAX_DELIVERIES`] entries, answers cut at [`MAX_ANSWER`] bytes, at most
//! [`MAX_WATCHERS`] watchers, each with a queue of [`WATCHER_QUEUE`] entries;
//! a watcher whose queue is full is dropped (its page reconnects and gets a
//! new snapshot), so a slow one never holds the emulator up.
//!
//! No entry holds a secret: paths never carry their query (a presigned URL's
//! signature and STS token are there), `Authorization` values are replaced by
//! [`REDACTED`], and so are STS tokens inside a string to sign.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use serde::Serialize;
use tokio::sync::mpsc;

/// How many requests the journal keeps.
pub(crate) const MAX_REQUESTS: usize = 500;
/// How many callback deliveries the journal keeps.
pub(crate) const MAX_DELIVERIES: usize = 200;
/// How much of an application server's answer an entry keeps.
pub(crate) const MAX_ANSWER: usize = 4 * 1024;
/// How many dashboards can watch at once (more are refused, 503).
pub(crate) const MAX_WATCHERS: usize = 32;
/// How many entries may wait for one watcher before it is dropped.
pub(crate) const WATCHER_QUEUE: usize = 256;
/// What a secret is replaced by.
pub(crate) const REDACTED: &str = "<redacted>";

/// What the signature check made of a request.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub(crate) enum Signature {
    /// Not checked (an injected fault, a malformed address, …).
    Unchecked,
    /// Accepted.
    Ok,
    /// Refused with this OSS error code; for `SignatureDoesNotMatch`, the
    /// string the emulator signed (tokens redacted).
    Refused {
        code: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        string_to_sign: Option<String>,
    },
}

/// One request to the OSS API.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct RequestEntry {
    pub(crate) method: String,
    /// The path, never the query.
    pub(crate) path: String,
    pub(crate) status: u16,
    pub(crate) request_id: String,
    pub(crate) signature: Signature,
}

/// One try of a callback delivery: to one of the callback's URLs.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Attempt {
    /// The URL without its query.
    pub(crate) url: String,
    /// The signed request's headers, `authorization` redacted.
    pub(crate) headers: Vec<(String, String)>,
    /// The body the emulator sent, cut at [`MAX_ANSWER`] bytes.
    pub(crate) body: String,
    /// The application server's status, when it answered.
    pub(crate) status: Option<u16>,
    /// Its answer, cut at [`MAX_ANSWER`] bytes.
    pub(crate) answer: String,
    /// Why the attempt failed (OSS's `CallbackFailed` message), if it did.
    pub(crate) error: Option<String>,
}

/// A callback delivery and what the uploader got.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct DeliveryEntry {
    /// The upload's request id.
    pub(crate) request_id: String,
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) attempts: Vec<Attempt>,
    /// 200 (the callback succeeded) or 203 (stored, callback failed).
    pub(crate) uploader_status: u16,
}

/// A journal entry as the dashboard receives it.
#[derive(Serialize)]
struct Event<'a, T> {
    kind: &'static str,
    seq: u64,
    /// Milliseconds since the epoch.
    time: u64,
    #[serde(flatten)]
    entry: &'a T,
}

/// The journal: bounded rings of serialised entries and the watchers' queues.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    seq: u64,
    requests: VecDeque<(u64, Arc<str>)>,
    deliveries: VecDeque<(u64, Arc<str>)>,
    watchers: Vec<mpsc::Sender<Arc<str>>>,
}

impl Journal {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a request.
    pub(crate) fn request(&self, entry: &RequestEntry) {
        self.record("request", entry, MAX_REQUESTS, |s| &mut s.requests);
    }

    /// Records a callback delivery.
    pub(crate) fn delivery(&self, entry: &DeliveryEntry) {
        self.record("delivery", entry, MAX_DELIVERIES, |s| &mut s.deliveries);
    }

    fn record<T: Serialize>(
        &self,
        kind: &'static str,
        entry: &T,
        max: usize,
        ring: impl FnOnce(&mut State) -> &mut VecDeque<(u64, Arc<str>)>,
    ) {
        let time = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut state = self.state();
        state.seq += 1;
        let seq = state.seq;
        let event = Event {
            kind,
            seq,
            time,
            entry,
        };
        let Ok(json) = serde_json::to_string(&event) else {
            return;
        };
        let json: Arc<str> = json.into();
        // A watcher whose queue is full (or whose page is gone) is dropped.
        state
            .watchers
            .retain(|watcher| watcher.try_send(Arc::clone(&json)).is_ok());
        let ring = ring(&mut state);
        if ring.len() == max {
            ring.pop_front();
        }
        ring.push_back((seq, json));
    }

    /// A new watcher; `None` when [`MAX_WATCHERS`] already watch.
    pub(crate) fn watch(&self) -> Option<Watch> {
        let mut state = self.state();
        state.watchers.retain(|watcher| !watcher.is_closed());
        if state.watchers.len() >= MAX_WATCHERS {
            return None;
        }
        let (tx, rx) = mpsc::channel(WATCHER_QUEUE);
        state.watchers.push(tx);
        let mut snapshot: Vec<_> = state
            .requests
            .iter()
            .chain(state.deliveries.iter())
            .cloned()
            .collect();
        snapshot.sort_by_key(|(seq, _)| *seq);
        Some(Watch {
            snapshot: snapshot.into_iter().map(|(_, json)| json).collect(),
            live: rx,
        })
    }
}

/// What a new watcher gets.
pub(crate) struct Watch {
    /// The entries so far, oldest first.
    pub(crate) snapshot: Vec<Arc<str>>,
    /// The entries to come.
    pub(crate) live: mpsc::Receiver<Arc<str>>,
}

/// `bytes` as text, cut to at most [`MAX_ANSWER`] bytes (on a character boundary).
pub(crate) fn capped(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes.get(..MAX_ANSWER).unwrap_or(bytes));
    text.into_owned()
}

/// `url` without its query (where a URL's signature and token travel).
pub(crate) fn without_query(url: &str) -> String {
    url.split_once('?').map_or(url, |(base, _)| base).to_owned()
}

/// A string to sign (or canonical request) with its STS tokens redacted: a
/// V1 string to sign holds the header `x-oss-security-token:TOKEN` and, for
/// a presigned URL, the subresource `security-token=TOKEN`; a V4 canonical
/// request the same header and query parameter `x-oss-security-token=TOKEN`.
///
/// A PostObject's string to sign is its base64 policy, whose conditions may
/// name the STS token: such a policy is redacted whole.
pub(crate) fn redact_signed_text(text: &str) -> String {
    use base64::Engine as _;
    let policy = base64::engine::general_purpose::STANDARD.decode(text.trim());
    if policy.is_ok_and(|p| {
        String::from_utf8_lossy(&p)
            .to_ascii_lowercase()
            .contains("security-token")
    }) {
        return REDACTED.to_owned();
    }
    let mut lines = Vec::new();
    for line in text.split('\n') {
        if let Some((name, _)) = line.split_once(':')
            && name.eq_ignore_ascii_case("x-oss-security-token")
        {
            lines.push(format!("{name}:{REDACTED}"));
            continue;
        }
        let mut out = String::with_capacity(line.len());
        let mut rest = line;
        while let Some(at) = find_token_param(rest) {
            let (head, tail) = rest.split_at(at);
            let Some((name, value)) = tail.split_once('=') else {
                break;
            };
            out.push_str(head);
            out.push_str(name);
            out.push('=');
            out.push_str(REDACTED);
            rest = value
                .find('&')
                .map_or("", |end| value.get(end..).unwrap_or(""));
        }
        out.push_str(rest);
        lines.push(out);
    }
    lines.join("\n")
}

/// Where the next `security-token=` or `x-oss-security-token=` parameter
/// of `text` starts (after `?`, `&` or at the start of the text).
fn find_token_param(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower.get(from..)?.find("security-token=") {
        let at = from + found;
        let start = if lower.get(..at)?.ends_with("x-oss-") {
            at - "x-oss-".len()
        } else {
            at
        };
        let before = lower.get(..start)?.chars().next_back();
        if matches!(before, None | Some('?' | '&')) {
            return Some(start);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(n: usize) -> RequestEntry {
        RequestEntry {
            method: "GET".to_owned(),
            path: format!("/b/{n}"),
            status: 200,
            request_id: format!("R{n}"),
            signature: Signature::Ok,
        }
    }

    #[test]
    fn rings_are_bounded_and_snapshots_ordered() {
        let journal = Journal::default();
        for n in 0..MAX_REQUESTS + 7 {
            journal.request(&request(n));
        }
        let Watch { snapshot, .. } = journal.watch().unwrap_or_else(|| panic!("refused"));
        assert_eq!(snapshot.len(), MAX_REQUESTS);
        assert!(snapshot[0].contains("\"path\":\"/b/7\""), "{}", snapshot[0]);
        assert!(snapshot[0].starts_with("{\"kind\":\"request\",\"seq\":8,"));
    }

    #[test]
    fn a_slow_watcher_is_dropped_not_waited_for() {
        let journal = Journal::default();
        let mut slow = journal.watch().unwrap_or_else(|| panic!("refused")).live;
        for n in 0..=WATCHER_QUEUE {
            journal.request(&request(n));
        }
        let mut received = 0;
        while slow.try_recv().is_ok() {
            received += 1;
        }
        assert_eq!(received, WATCHER_QUEUE);
        // Its sender is gone: the stream ends and the page reconnects.
        assert_eq!(
            slow.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        );
    }

    #[test]
    fn watchers_are_bounded() {
        let journal = Journal::default();
        let kept: Vec<_> = (0..MAX_WATCHERS).filter_map(|_| journal.watch()).collect();
        assert_eq!(kept.len(), MAX_WATCHERS);
        assert!(journal.watch().is_none());
        drop(kept);
        assert!(journal.watch().is_some());
    }

    #[test]
    fn tokens_in_signed_texts_are_redacted() {
        let v1 = "GET\n\n\n1700000000\nx-oss-security-token:SECRET\n/b/k?security-token=SECRET";
        assert_eq!(
            redact_signed_text(v1),
            "GET\n\n\n1700000000\nx-oss-security-token:<redacted>\n/b/k?security-token=<redacted>"
        );
        let v4 = "GET\n/b/k\nx-oss-date=1&x-oss-security-token=SECRET&z=1\nhost:h";
        assert_eq!(
            redact_signed_text(v4),
            "GET\n/b/k\nx-oss-date=1&x-oss-security-token=<redacted>&z=1\nhost:h"
        );
        assert_eq!(
            redact_signed_text("/b/not-security-token=x"),
            "/b/not-security-token=x"
        );
        let policy = r#"{"conditions":[{"x-oss-security-token":"SECRET"}]}"#;
        let policy = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, policy);
        assert_eq!(redact_signed_text(&policy), REDACTED);
        let policy = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "{}");
        assert_eq!(redact_signed_text(&policy), policy);
        assert_eq!(without_query("http://h/cb?Signature=S"), "http://h/cb");
        assert_eq!(capped(&[b'a'; MAX_ANSWER + 10]).len(), MAX_ANSWER);
    }
}
