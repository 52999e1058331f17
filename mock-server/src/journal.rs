//! The request journal: what each client sent and what it got, readable through the admin
//! API so a failing integration test can show the exchange.
//!
//! It is bounded in bytes as well as entries, because anyone who reaches the port writes to
//! it: each request and each response keeps at most a prefix ([`JournalLimits::body_prefix`];
//! the entry says it was cut and how long the original was), and the entries together stay
//! under a byte budget ([`JournalLimits::budget`]), the oldest dropped first. What it drops it
//! gives back: a kept response prefix is a copy (not a view that would pin the whole answer),
//! and the queue's own storage shrinks when it empties or falls well below its capacity.

use std::collections::VecDeque;

use bytes::Bytes;
use serde::Serialize;

use crate::clock::Timestamp;

/// How much the journal keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalLimits {
    /// Bytes of each request (its parameter names and values, in order) and of each response
    /// body kept.
    pub body_prefix: usize,
    /// Bytes all entries together may take (an estimate: their texts plus a fixed overhead
    /// per entry and per parameter).
    pub budget: usize,
}

impl Default for JournalLimits {
    /// 4 KiB of each body, 64 MiB in all.
    fn default() -> Self {
        JournalLimits {
            body_prefix: 4096,
            budget: 64 << 20,
        }
    }
}

/// Bytes counted for an entry besides its texts.
const ENTRY_OVERHEAD: usize = 256;
/// Bytes counted for each request parameter besides its name and value.
const PARAM_OVERHEAD: usize = 48;

/// Writes bytes as text; a character cut by the prefix limit becomes U+FFFD.
fn lossy_text<S: serde::Serializer>(bytes: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&String::from_utf8_lossy(bytes))
}

/// Entries kept; older ones are dropped first.
pub const JOURNAL_CAPACITY: usize = 10_000;

/// One request and its answer.
#[derive(Debug, Clone, Serialize)]
pub struct JournalEntry {
    /// Sequence number, increasing from 1.
    pub seq: u64,
    /// Sandbox time of the request.
    pub at: Timestamp,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Client address.
    pub peer: String,
    /// Merchant (or app) named by the request, if it could be read.
    pub merchant: Option<String>,
    /// Request parameters as decoded (values verbatim), up to the journal's prefix of the
    /// request.
    pub request: Vec<(String, String)>,
    /// Whether `request` was cut to the prefix.
    #[serde(skip_serializing_if = "is_false")]
    pub request_truncated: bool,
    /// The request's length in bytes (names and values) before any cut.
    pub request_bytes: usize,
    /// HTTP status returned.
    pub status: u16,
    /// `SUCCESS`, an err_code / sub_code, or the return_msg of a protocol failure.
    pub outcome: String,
    /// Response body as sent, up to the journal's prefix. A body within the prefix is kept
    /// as the shared buffer that was sent (a reference count on the request path); a longer
    /// one as a copy of its prefix, so the journal never pins a whole large answer.
    #[serde(serialize_with = "lossy_text")]
    pub response: Bytes,
    /// Whether `response` was cut to the prefix.
    #[serde(skip_serializing_if = "is_false")]
    pub response_truncated: bool,
    /// The response body's length in bytes before any cut.
    pub response_bytes: usize,
    /// What the request's signature came to.
    pub signature: Signature,
    /// The rule that produced a failed answer: a DEVIATIONS.md id where the answer is one the
    /// mock chose, else the check or ledger rule by name (`WechatLedger::refund:
    /// ExceedsRefundable`); `None` for a success.
    pub rule: Option<String>,
}

/// The verdict on a request's signature, as the journal records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signature {
    /// It verified with the merchant's (or app's) key.
    Ok,
    /// It was sent and did not verify (or there was no valid key to verify it with).
    Bad,
    /// The request carried none.
    Missing,
    /// Never checked: the request failed before the check, named no known merchant, or is
    /// one the platform does not sign.
    #[default]
    NotApplicable,
}

/// The rule of a ledger refusal: the rule's function and the refusal's variant
/// (`WechatLedger::refund: ExceedsRefundable`), read from the error's `Debug` form.
pub fn ledger_rule(function: &str, error: &impl std::fmt::Debug) -> String {
    let debug = format!("{error:?}");
    let variant: String = debug
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    format!("{function}: {variant}")
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl JournalEntry {
    /// Cuts the request and the response to `prefix` bytes each, recording their lengths.
    fn cut(&mut self, prefix: usize) {
        let mut total = 0usize;
        let mut kept = 0usize;
        let mut keep = self.request.len();
        for (i, (name, value)) in self.request.iter_mut().enumerate() {
            let len = name.len().saturating_add(value.len());
            total = total.saturating_add(len);
            if keep < i {
                continue;
            }
            let room = prefix.saturating_sub(kept);
            if len <= room {
                kept = kept.saturating_add(len);
                continue;
            }
            // Cut this value at a character boundary and drop everything after it.
            let mut end = room.saturating_sub(name.len()).min(value.len());
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value.truncate(end);
            value.shrink_to_fit();
            kept = kept.saturating_add(name.len().saturating_add(end));
            keep = i;
        }
        if keep < self.request.len() {
            self.request.truncate(keep.saturating_add(1));
            self.request.shrink_to_fit();
            self.request_truncated = true;
        }
        self.request_bytes = total;
        self.response_bytes = self.response.len();
        if self.response.len() > prefix {
            self.response = Bytes::copy_from_slice(self.response.get(..prefix).unwrap_or_default());
            self.response_truncated = true;
        }
    }

    /// Bytes counted against the budget.
    fn weight(&self) -> usize {
        let texts = self.method.len()
            + self.path.len()
            + self.peer.len()
            + self.outcome.len()
            + self.merchant.as_ref().map_or(0, String::len)
            + self.response.len();
        self.request
            .iter()
            .fold(texts.saturating_add(ENTRY_OVERHEAD), |sum, (n, v)| {
                sum.saturating_add(n.len() + v.len() + PARAM_OVERHEAD)
            })
    }
}

/// A journal bounded in entries and in bytes.
#[derive(Debug, Default)]
pub struct Journal {
    limits: JournalLimits,
    next_seq: u64,
    /// Each entry with its weight.
    entries: VecDeque<(JournalEntry, usize)>,
    /// The sum of the weights.
    bytes: usize,
}

impl Journal {
    /// An empty journal keeping what `limits` allow.
    pub fn new(limits: JournalLimits) -> Journal {
        Journal {
            limits,
            ..Journal::default()
        }
    }

    /// Appends an entry (its `seq` is assigned here), cut to the prefix, dropping the oldest
    /// entries while the journal is over its entry count or its byte budget.
    pub fn record(&mut self, mut entry: JournalEntry) {
        self.next_seq = self.next_seq.saturating_add(1);
        entry.seq = self.next_seq;
        entry.cut(self.limits.body_prefix);
        let weight = entry.weight();
        self.entries.push_back((entry, weight));
        self.bytes = self.bytes.saturating_add(weight);
        while self.entries.len() > JOURNAL_CAPACITY
            || (self.bytes > self.limits.budget && self.entries.len() > 1)
        {
            let Some((_, dropped)) = self.entries.pop_front() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(dropped);
        }
        self.shrink();
    }

    /// Bytes the entries are counted as.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Gives the queue's storage back once it holds far fewer entries than it has room for.
    fn shrink(&mut self) {
        if self.entries.capacity() > 64 && self.entries.len() < self.entries.capacity() / 4 {
            self.entries.shrink_to(self.entries.len().saturating_mul(2));
        }
    }

    /// The last `limit` entries, oldest first.
    pub fn tail(&self, limit: usize) -> Vec<JournalEntry> {
        let skip = self.entries.len().saturating_sub(limit);
        self.entries
            .iter()
            .skip(skip)
            .map(|(e, _)| e.clone())
            .collect()
    }

    /// Empties the journal and gives its storage back.
    pub fn clear(&mut self) {
        self.entries = VecDeque::new();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(value_len: usize, response_len: usize) -> JournalEntry {
        JournalEntry {
            seq: 0,
            at: Timestamp(0),
            method: "POST".into(),
            path: "/secapi/pay/refund".into(),
            peer: "127.0.0.1:1".into(),
            merchant: None,
            request: vec![
                ("appid".into(), "wx1".into()),
                ("body".into(), "é".repeat(value_len / 2)),
                ("tail".into(), "t".into()),
            ],
            request_truncated: false,
            request_bytes: 0,
            status: 200,
            outcome: "SUCCESS".into(),
            response: Bytes::from(vec![b'x'; response_len]),
            response_truncated: false,
            response_bytes: 0,
            signature: Signature::NotApplicable,
            rule: None,
        }
    }

    #[test]
    fn a_long_request_and_response_keep_their_prefix_and_lengths() {
        let mut journal = Journal::new(JournalLimits {
            body_prefix: 100,
            budget: 1 << 20,
        });
        journal.record(entry(1_000_000, 50_000));
        let kept = journal.tail(1).remove(0);
        assert!(kept.request_truncated && kept.response_truncated);
        assert_eq!(kept.request_bytes, 5 + 3 + 4 + 1_000_000 + 4 + 1);
        assert_eq!(kept.response_bytes, 50_000);
        assert_eq!(kept.response.len(), 100);
        // appid=wx1 (8) + "body" + 88 bytes of é (44 characters); "tail" is dropped.
        assert_eq!(kept.request.len(), 2);
        assert_eq!(kept.request[1].1, "é".repeat(44));
        let small = {
            journal.record(entry(4, 10));
            journal.tail(1).remove(0)
        };
        assert!(!small.request_truncated && !small.response_truncated);
        assert_eq!(small.request.len(), 3);
    }

    #[test]
    fn the_budget_drops_the_oldest_and_clear_gives_everything_back() {
        let mut journal = Journal::new(JournalLimits {
            body_prefix: 4096,
            budget: 100_000,
        });
        for _ in 0..1000 {
            journal.record(entry(1_000_000, 1_000_000));
        }
        assert!(journal.bytes() <= 100_000, "{}", journal.bytes());
        assert!(journal.len() < 20, "{}", journal.len());
        assert_eq!(journal.tail(1)[0].seq, 1000);
        journal.clear();
        assert_eq!((journal.len(), journal.bytes()), (0, 0));
        assert_eq!(journal.entries.capacity(), 0);
    }
}
