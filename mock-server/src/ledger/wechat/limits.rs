//! The refund endpoint's per-merchant request limits (spec §3.4 rule 5): at most
//! [`REFUND_QPS`] refund requests a second, and a merchant that sends more than [`ERROR_QPS`]
//! erroneous requests within a second is refused every refund for [`ERROR_BLOCK`].
//!
//! The route asks [`RefundLimits::admit`] after authentication (step 8 of the order of checks
//! in `crate::wechat`) and reports each erroneous answer with [`RefundLimits::record_error`];
//! which answers count is the caller's to say (deviation: `wx-erroneous-requests`), and
//! they count against whoever proved who they are ([`Caller`]): the merchant whose key signed
//! the request or whose certificate carried it, else the address it came from, never the
//! `mch_id` a request merely names (deviation: `wx-erroneous-requests-caller`). The sandbox
//! has none of these limits (deviation: `wx-sandbox-rate-limits`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::ratelimit::SlidingWindow;

/// Refund requests per second per merchant.
pub const REFUND_QPS: usize = 150;
/// Erroneous refund requests per second per merchant before a block.
pub const ERROR_QPS: usize = 6;
/// How long a merchant stays blocked after too many erroneous requests.
pub const ERROR_BLOCK: Duration = Duration::from_secs(60);

/// Why a refund request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitError {
    /// Blocked for too many erroneous requests (INVALID_REQ_TOO_MUCH).
    Blocked {
        /// When the block ends.
        until: Timestamp,
    },
    /// Over [`REFUND_QPS`] in the last second (FREQUENCY_LIMITED).
    TooFrequent,
}

/// Most callers tracked at once. Addresses are not bounded by the merchants the admin API
/// made, so past this the idle ones are forgotten, and if every one is busy a new caller is
/// not tracked (admitted, its errors not counted) rather than growing the table.
pub const MAX_CALLERS: usize = 65_536;

/// Who a request's limits are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A merchant that authenticated (its key signed the request, or its certificate
    /// carried it).
    Merchant(String),
    /// A caller that proved no merchant identity: its address.
    Address(IpAddr),
}

/// One caller's windows.
#[derive(Debug)]
struct MerchantLimits {
    /// Refund requests in the last second.
    requests: SlidingWindow,
    /// Erroneous refund requests in the last second.
    errors: SlidingWindow,
    /// Blocked until then.
    blocked_until: Option<Timestamp>,
}

impl Default for MerchantLimits {
    fn default() -> Self {
        MerchantLimits {
            requests: SlidingWindow::new(Duration::from_secs(1), REFUND_QPS),
            errors: SlidingWindow::new(Duration::from_secs(1), ERROR_QPS),
            blocked_until: None,
        }
    }
}

impl MerchantLimits {
    fn is_idle(&mut self, now: Timestamp) -> bool {
        self.blocked_until.is_none_or(|until| until <= now)
            && self.requests.is_empty_at(now)
            && self.errors.is_empty_at(now)
    }
}

/// The limits of every caller of the refund endpoint, at most [`MAX_CALLERS`] of them.
#[derive(Debug, Default)]
pub struct RefundLimits {
    callers: HashMap<Caller, MerchantLimits>,
}

impl RefundLimits {
    /// Admits a refund request of merchant `mch_id` at `now` and counts it, unless the
    /// merchant is blocked (not counted) or already sent [`REFUND_QPS`] in the last second.
    pub fn admit(&mut self, mch_id: &str, now: Timestamp) -> Result<(), LimitError> {
        let Some(limits) = self.caller(Caller::Merchant(mch_id.to_owned()), now) else {
            return Ok(());
        };
        if let Some(until) = limits.blocked_until.filter(|until| now < *until) {
            return Err(LimitError::Blocked { until });
        }
        if !limits.requests.try_record(now) {
            return Err(LimitError::TooFrequent);
        }
        Ok(())
    }

    /// When `caller` is blocked at `now`, until when.
    pub fn blocked(&self, caller: &Caller, now: Timestamp) -> Option<Timestamp> {
        self.callers
            .get(caller)
            .and_then(|l| l.blocked_until)
            .filter(|until| now < *until)
    }

    /// Counts an erroneous request of merchant `mch_id` at `now` (see [`Self::record_error_of`]).
    pub fn record_error(&mut self, mch_id: &str, now: Timestamp) {
        self.record_error_of(Caller::Merchant(mch_id.to_owned()), now);
    }

    /// Counts an erroneous request of `caller` at `now`; the one that makes more than
    /// [`ERROR_QPS`] within a second blocks it for [`ERROR_BLOCK`] from `now`.
    pub fn record_error_of(&mut self, caller: Caller, now: Timestamp) {
        if let Some(limits) = self.caller(caller, now)
            && limits.errors.record(now) > ERROR_QPS
        {
            limits.blocked_until = Some(now.plus(ERROR_BLOCK));
        }
    }

    /// How many callers are tracked.
    pub fn len(&self) -> usize {
        self.callers.len()
    }

    /// Whether no caller is tracked.
    pub fn is_empty(&self) -> bool {
        self.callers.is_empty()
    }

    /// Forgets every caller's windows and blocks (admin reset), and their memory.
    pub fn clear(&mut self) {
        self.callers = HashMap::new();
    }

    fn caller(&mut self, caller: Caller, now: Timestamp) -> Option<&mut MerchantLimits> {
        if self.callers.len() >= MAX_CALLERS && !self.callers.contains_key(&caller) {
            self.callers.retain(|_, limits| !limits.is_idle(now));
            self.callers.shrink_to_fit();
            if self.callers.len() >= MAX_CALLERS {
                return None;
            }
        }
        Some(self.callers.entry(caller).or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MCH: &str = "1900000109";

    fn t0() -> Timestamp {
        Timestamp(1_700_000_000_000)
    }

    #[test]
    fn the_151st_request_of_a_second_is_too_frequent() {
        let mut limits = RefundLimits::default();
        for _ in 0..REFUND_QPS {
            assert_eq!(limits.admit(MCH, t0()), Ok(()));
        }
        assert_eq!(limits.admit(MCH, t0()), Err(LimitError::TooFrequent));
        assert_eq!(limits.admit("another", t0()), Ok(()));
        assert_eq!(limits.admit(MCH, t0().plus(Duration::from_secs(1))), Ok(()));
    }

    #[test]
    fn the_seventh_error_of_a_second_blocks_for_a_minute() {
        let mut limits = RefundLimits::default();
        for _ in 0..ERROR_QPS {
            limits.record_error(MCH, t0());
        }
        assert_eq!(limits.admit(MCH, t0()), Ok(()));
        let at = t0().plus(Duration::from_millis(500));
        limits.record_error(MCH, at);
        let until = at.plus(ERROR_BLOCK);
        assert_eq!(limits.admit(MCH, at), Err(LimitError::Blocked { until }));
        assert_eq!(
            limits.admit(MCH, until.minus(Duration::from_millis(1))),
            Err(LimitError::Blocked { until })
        );
        assert_eq!(limits.admit(MCH, until), Ok(()));
        limits.clear();
        assert_eq!(limits.admit(MCH, at), Ok(()));
    }

    #[test]
    fn an_address_is_blocked_apart_from_every_merchant() {
        let mut limits = RefundLimits::default();
        let address = Caller::Address(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..=ERROR_QPS {
            limits.record_error_of(address.clone(), t0());
        }
        assert_eq!(limits.blocked(&address, t0()), Some(t0().plus(ERROR_BLOCK)));
        assert_eq!(limits.admit(MCH, t0()), Ok(()));
    }

    #[test]
    fn the_table_stays_bounded_and_forgets_idle_callers_first() {
        let mut limits = RefundLimits::default();
        for i in 0..MAX_CALLERS {
            let ip = IpAddr::from(u32::try_from(i).unwrap().to_be_bytes());
            limits.record_error_of(Caller::Address(ip), t0());
        }
        assert_eq!(limits.len(), MAX_CALLERS);
        // Everyone is busy this second: a newcomer is not tracked.
        limits.record_error(MCH, t0());
        assert_eq!(limits.len(), MAX_CALLERS);
        assert_eq!(limits.admit(MCH, t0()), Ok(()));
        // A second later all are idle and make room.
        let later = t0().plus(Duration::from_secs(2));
        assert_eq!(limits.admit(MCH, later), Ok(()));
        assert_eq!(limits.len(), 1);
    }
}
