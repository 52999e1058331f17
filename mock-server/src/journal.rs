//! The request journal: what each client sent and what it got, readable through the admin
//! API so a failing integration test can show the exchange.

use std::collections::VecDeque;

use bytes::Bytes;
use serde::Serialize;

use crate::clock::Timestamp;

/// Bytes of a response body kept.
const RESPONSE_KEPT: usize = 4096;

/// Writes bytes as text; a character cut by the 4 KiB limit becomes U+FFFD.
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
    /// Request parameters as decoded (values verbatim).
    pub request: Vec<(String, String)>,
    /// HTTP status returned.
    pub status: u16,
    /// `SUCCESS`, an err_code / sub_code, or the return_msg of a protocol failure.
    pub outcome: String,
    /// Response body as sent (truncated to 4 KiB). Kept as the shared buffer that was sent,
    /// not a copy: the journal costs the request path a reference count, and the text is
    /// made when the journal is read.
    #[serde(serialize_with = "lossy_text")]
    pub response: Bytes,
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

/// A bounded journal.
#[derive(Debug, Default)]
pub struct Journal {
    next_seq: u64,
    entries: VecDeque<JournalEntry>,
}

impl Journal {
    /// Appends an entry (its `seq` is assigned here).
    pub fn record(&mut self, mut entry: JournalEntry) {
        self.next_seq += 1;
        entry.seq = self.next_seq;
        if entry.response.len() > RESPONSE_KEPT {
            entry.response = entry.response.slice(..RESPONSE_KEPT);
        }
        if self.entries.len() == JOURNAL_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// The last `limit` entries, oldest first.
    pub fn tail(&self, limit: usize) -> Vec<JournalEntry> {
        let skip = self.entries.len().saturating_sub(limit);
        self.entries.iter().skip(skip).cloned().collect()
    }

    /// Empties the journal.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
