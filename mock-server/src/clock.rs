//! The injected clock. Every rule that involves time (refund window, spacing between refunds,
//! rate limits, settlement) reads [`Clock::now`], never the system clock directly, so tests
//! advance time instead of sleeping.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use paysandbox_protocol::beijing;

/// A point in time: milliseconds since the Unix epoch (UTC).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// `self + d`, saturating.
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(duration_millis(d)))
    }

    /// `self - d`, saturating.
    pub fn minus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(duration_millis(d)))
    }

    /// Time elapsed from `earlier` to `self` (zero if `earlier` is later).
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// `yyyy-MM-dd HH:mm:ss` in Beijing time, as in `refund_success_time_$n`.
    pub fn beijing_datetime(self) -> String {
        beijing::datetime(self.0)
    }

    /// `yyyy-MM-dd HH:mm:ss.SSS` in Beijing time, as in Alipay's `gmt_refund`.
    pub fn beijing_datetime_millis(self) -> String {
        beijing::datetime_millis(self.0)
    }

    /// `yyyyMMddHHmmss` in Beijing time, as in `time_end`.
    pub fn beijing_compact(self) -> String {
        beijing::compact(self.0)
    }

    /// Parses `yyyyMMddHHmmss` in Beijing time (`time_start`, `time_expire`).
    pub fn from_beijing_compact(text: &str) -> Option<Timestamp> {
        beijing::parse_compact(text).map(Timestamp)
    }

    /// `yyyyMMdd` in Beijing time, used inside generated ids.
    pub fn beijing_date(self) -> String {
        beijing::compact_date(self.0)
    }

    /// The Beijing calendar day (days since 1970-01-01) and the milliseconds into it.
    pub fn beijing_day(self) -> (i64, i64) {
        beijing::split_day(self.0)
    }

    /// The first instant of a Beijing calendar day.
    pub fn beijing_day_start(day: i64) -> Timestamp {
        Timestamp(beijing::day_start(day))
    }
}

fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The sandbox clock: either frozen (moves only when advanced: tests) or following the system
/// clock plus an offset that [`Clock::advance`] grows (a live sandbox that can still
/// fast-forward through a settlement delay or a one-year refund window).
#[derive(Debug)]
pub struct Clock {
    state: Mutex<ClockState>,
}

#[derive(Debug, Clone, Copy)]
enum ClockState {
    Frozen(Timestamp),
    System { offset_ms: i64 },
}

impl Clock {
    /// A clock that stands still at `at` until advanced.
    pub fn frozen(at: Timestamp) -> Clock {
        Clock {
            state: Mutex::new(ClockState::Frozen(at)),
        }
    }

    /// A clock that follows the system time.
    pub fn system() -> Clock {
        Clock {
            state: Mutex::new(ClockState::System { offset_ms: 0 }),
        }
    }

    /// The current sandbox time.
    pub fn now(&self) -> Timestamp {
        match *self.lock() {
            ClockState::Frozen(at) => at,
            ClockState::System { offset_ms } => {
                Timestamp(system_millis().saturating_add(offset_ms))
            }
        }
    }

    /// Moves the clock forward by `by` and returns the new time.
    pub fn advance(&self, by: Duration) -> Timestamp {
        let mut state = self.lock();
        match &mut *state {
            ClockState::Frozen(at) => *at = at.plus(by),
            ClockState::System { offset_ms } => {
                *offset_ms = offset_ms.saturating_add(duration_millis(by))
            }
        }
        drop(state);
        self.now()
    }

    /// Whether the clock only moves when advanced.
    pub fn is_frozen(&self) -> bool {
        matches!(*self.lock(), ClockState::Frozen(_))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        // The state is a plain value: a panic elsewhere cannot leave it inconsistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The system time in milliseconds since the Unix epoch.
pub fn system_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(duration_millis)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_formats_are_utc_plus_eight() {
        // 2020-01-04 10:34:24 UTC is 18:34:24 in Beijing.
        let t = Timestamp(1_578_134_064_000);
        assert_eq!(t.beijing_datetime(), "2020-01-04 18:34:24");
        assert_eq!(t.beijing_compact(), "20200104183424");
        assert_eq!(t.beijing_date(), "20200104");
        assert_eq!(Timestamp::from_beijing_compact("20200104183424"), Some(t));
        assert_eq!(Timestamp::from_beijing_compact("20200104183460"), None);
        let (day, ms) = t.beijing_day();
        let into = Duration::from_millis(u64::try_from(ms).unwrap());
        assert_eq!(Timestamp::beijing_day_start(day).plus(into), t);
    }

    #[test]
    fn frozen_clock_moves_only_when_advanced() {
        let clock = Clock::frozen(Timestamp(1_000));
        assert_eq!(clock.now(), Timestamp(1_000));
        assert_eq!(clock.advance(Duration::from_secs(60)), Timestamp(61_000));
        assert_eq!(clock.now(), Timestamp(61_000));
        assert!(clock.is_frozen());
    }

    #[test]
    fn system_clock_advance_adds_an_offset() {
        let clock = Clock::system();
        let before = clock.now();
        let after = clock.advance(Duration::from_secs(86_400));
        assert!(after.since(before) >= Duration::from_secs(86_400));
    }
}
