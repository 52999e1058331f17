//! What every part of the state says when its saved records cannot be put back: where (a
//! path such as `orders[3].refunds[0]`, naming the entity) and why. The ledgers, the outbox
//! and the faults each read their own records ([`crate::scenario`] puts the whole state
//! together) and answer this error; the caller prefixes the path with the section it came
//! from.

use std::fmt;

/// A record that cannot be loaded: where it is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Where, from the section's root: `orders[3] (out_trade_no demo-order-0004)`.
    pub path: String,
    /// Why.
    pub message: String,
}

impl RecordError {
    /// An error at `path`.
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> RecordError {
        RecordError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error, with `outer` (a section name, a list entry) before its path.
    pub fn within(self, outer: &str) -> RecordError {
        let path = match (outer.is_empty(), self.path.is_empty()) {
            (true, _) => self.path,
            (false, true) => outer.to_owned(),
            (false, false) if self.path.starts_with('[') => format!("{outer}{}", self.path),
            (false, false) => format!("{outer}.{}", self.path),
        };
        RecordError { path, ..self }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for RecordError {}

/// For `skip_serializing_if`: a flag left out of a record is false.
pub fn is_false(flag: &bool) -> bool {
    !*flag
}

/// For `skip_serializing_if`: a flag left out of a record is true.
pub fn is_true(flag: &bool) -> bool {
    *flag
}

/// For `#[serde(default = ...)]`: a flag left out of a record is true.
pub fn yes() -> bool {
    true
}

/// The keys of the entities of one part of the state (orders by index, notifications by id)
/// that changed since the persisted store last took them ([`Changed::take`]). It records only
/// once tracking is on (`serve --persist`), so a sandbox without a store keeps no such set;
/// with one, the set holds at most one key per entity and is emptied at every commit.
#[derive(Debug, Clone, Default)]
pub struct Changed<K: Ord> {
    tracking: bool,
    keys: std::collections::BTreeSet<K>,
}

impl<K: Ord> Changed<K> {
    /// Starts recording changes (the store has written everything up to now).
    pub fn track(&mut self) {
        self.tracking = true;
    }

    /// Notes that the entity `key` changed (was added, altered or dropped).
    pub fn mark(&mut self, key: K) {
        if self.tracking {
            self.keys.insert(key);
        }
    }

    /// The keys changed since the last call, in order.
    pub fn take(&mut self) -> std::collections::BTreeSet<K> {
        std::mem::take(&mut self.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_kept_only_while_tracked() {
        let mut changed = Changed::default();
        changed.mark(3_usize);
        assert!(changed.take().is_empty());
        changed.track();
        changed.mark(5);
        changed.mark(2);
        changed.mark(5);
        assert_eq!(changed.take().into_iter().collect::<Vec<_>>(), vec![2, 5]);
        assert!(changed.take().is_empty());
    }

    #[test]
    fn paths_nest_from_the_inside_out() {
        let error = RecordError::at("refunds[0]", "refund_fee must be at least 1 fen");
        let error = error
            .within("orders[3] (out_trade_no o-3)")
            .within("wechat");
        assert_eq!(error.path, "wechat.orders[3] (out_trade_no o-3).refunds[0]");
        assert_eq!(
            RecordError::at("", "bad").within("wechat").to_string(),
            "wechat: bad"
        );
        assert_eq!(
            RecordError::at("[2]", "bad").within("faults").path,
            "faults[2]"
        );
    }
}
