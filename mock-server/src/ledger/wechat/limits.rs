//! The refund endpoint's per-merchant request limits (spec §3.4 rule 5): at most
//! [`REFUND_QPS`] refund requests a second, and a merchant that sends more than [`ERROR_QPS`]
//! erroneous requests within a second is refused every refund for [`ERROR_BLOCK`].
//!
//! The route asks [`RefundLimits::admit`] after authentication (step 8 of the order of checks
//! in `crate::wechat`) and reports each erroneous answer with [`RefundLimits::record_error`];
//! which answers count, and against whom, is the caller's to say (deviation:
//! `wx-erroneous-requests`). The sandbox has none of these limits (deviation:
//! `wx-sandbox-rate-limits`).

use std::collections::HashMap;
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

/// One merchant's windows.
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

/// The limits of every merchant that has called the refund endpoint. Keyed by whoever the
/// caller names, so the caller bounds the keys (the route names only known merchants).
#[derive(Debug, Default)]
pub struct RefundLimits {
    merchants: HashMap<String, MerchantLimits>,
}

impl RefundLimits {
    /// Admits a refund request of `mch_id` at `now` and counts it, unless the merchant is
    /// blocked (not counted) or already sent [`REFUND_QPS`] in the last second.
    pub fn admit(&mut self, mch_id: &str, now: Timestamp) -> Result<(), LimitError> {
        let limits = self.merchant(mch_id);
        if let Some(until) = limits.blocked_until.filter(|until| now < *until) {
            return Err(LimitError::Blocked { until });
        }
        if !limits.requests.try_record(now) {
            return Err(LimitError::TooFrequent);
        }
        Ok(())
    }

    /// Counts an erroneous request of `mch_id` at `now`; the one that makes more than
    /// [`ERROR_QPS`] within a second blocks the merchant for [`ERROR_BLOCK`] from `now`.
    pub fn record_error(&mut self, mch_id: &str, now: Timestamp) {
        let limits = self.merchant(mch_id);
        if limits.errors.record(now) > ERROR_QPS {
            limits.blocked_until = Some(now.plus(ERROR_BLOCK));
        }
    }

    /// Forgets every merchant's windows and blocks (admin reset).
    pub fn clear(&mut self) {
        self.merchants.clear();
    }

    fn merchant(&mut self, mch_id: &str) -> &mut MerchantLimits {
        self.merchants.entry(mch_id.to_owned()).or_default()
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
}
