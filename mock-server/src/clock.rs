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

/// A time as scenario files write it: an instant, or an offset from the sandbox's "now" at the
/// moment the file is loaded (so demo data stays "paid a minute ago" whenever it is loaded).
///
/// Read from an integer (milliseconds since the Unix epoch), a Beijing time
/// `yyyy-MM-dd HH:mm:ss` with optional `.SSS`, an RFC 3339 time with its offset
/// (`2024-05-01T04:00:00Z`), or `now`, `now - 40d`, `now + 1h 30m` (durations as `humantime`
/// reads them). Written as a Beijing time (`.SSS` only when the milliseconds are not zero),
/// which reads back to the same instant; an instant no Beijing time can show (past year 9999)
/// is written as its integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// This instant.
    At(Timestamp),
    /// This many milliseconds after "now" (before, when negative).
    FromNow(i64),
}

impl When {
    /// The instant, with relative times counted from `now`.
    pub fn resolve(self, now: Timestamp) -> Timestamp {
        match self {
            When::At(at) => at,
            When::FromNow(ms) => Timestamp(now.0.saturating_add(ms)),
        }
    }

    /// Reads the text forms (see [`When`]); `None` if it is none of them.
    pub fn parse(text: &str) -> Option<When> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("now") {
            let rest = rest.trim_start();
            if rest.is_empty() {
                return Some(When::FromNow(0));
            }
            let (sign, duration) = match (rest.strip_prefix('-'), rest.strip_prefix('+')) {
                (Some(duration), _) => (-1, duration),
                (None, Some(duration)) => (1, duration),
                (None, None) => return None,
            };
            let duration = humantime::parse_duration(duration.trim()).ok()?;
            let ms = i64::try_from(duration.as_millis()).ok()?;
            return Some(When::FromNow(ms.checked_mul(sign)?));
        }
        beijing::parse_datetime_millis(text)
            .or_else(|| beijing::parse_rfc3339(text))
            .map(|ms| When::At(Timestamp(ms)))
    }
}

impl From<Timestamp> for When {
    fn from(at: Timestamp) -> When {
        When::At(at)
    }
}

impl serde::Serialize for When {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            When::At(at) => {
                let text = if at.0.rem_euclid(1000) == 0 {
                    at.beijing_datetime()
                } else {
                    at.beijing_datetime_millis()
                };
                // Out of the calendar's range the face would read back as another instant.
                if beijing::parse_datetime_millis(&text) == Some(at.0) {
                    serializer.serialize_str(&text)
                } else {
                    serializer.serialize_i64(at.0)
                }
            }
            When::FromNow(0) => serializer.serialize_str("now"),
            When::FromNow(ms) => {
                let sign = if ms < 0 { '-' } else { '+' };
                let duration = Duration::from_millis(ms.unsigned_abs());
                let text = format!("now {sign} {}", humantime::format_duration(duration));
                serializer.serialize_str(&text)
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for When {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<When, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = When;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a time: \"yyyy-MM-dd HH:mm:ss\" (Beijing), an RFC 3339 time, \"now\", \"now - 40d\", or milliseconds since 1970 (TOML: quote it)",
                )
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<When, E> {
                When::parse(text)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(text), &self))
            }

            fn visit_i64<E: serde::de::Error>(self, ms: i64) -> Result<When, E> {
                Ok(When::At(Timestamp(ms)))
            }

            fn visit_u64<E: serde::de::Error>(self, ms: u64) -> Result<When, E> {
                i64::try_from(ms)
                    .map(|ms| When::At(Timestamp(ms)))
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(ms), &self))
            }
        }

        deserializer.deserialize_any(Visitor)
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

    /// Sets the clock to `at`: a frozen clock stands there, a system clock takes the offset
    /// that makes it read `at` now (restoring a saved clock).
    pub fn set_now(&self, at: Timestamp) {
        let mut state = self.lock();
        match &mut *state {
            ClockState::Frozen(frozen_at) => *frozen_at = at,
            ClockState::System { offset_ms } => *offset_ms = at.0.saturating_sub(system_millis()),
        }
    }

    /// Freezes the clock at its current time, or lets it follow the system clock from its
    /// current time on.
    pub fn set_frozen(&self, frozen: bool) {
        let now = self.now();
        let mut state = self.lock();
        *state = if frozen {
            ClockState::Frozen(now)
        } else {
            ClockState::System {
                offset_ms: now.0.saturating_sub(system_millis()),
            }
        };
    }

    /// Whether the clock only moves when advanced.
    pub fn is_frozen(&self) -> bool {
        matches!(*self.lock(), ClockState::Frozen(_))
    }

    /// What the clock is set to, as the persisted store keeps it: a frozen clock's time, or a
    /// system clock's offset (not its reading, so that the time the process was down still
    /// passes for it).
    pub fn saved(&self) -> SavedClock {
        match *self.lock() {
            ClockState::Frozen(at) => SavedClock::Frozen { at },
            ClockState::System { offset_ms } => SavedClock::System { offset_ms },
        }
    }

    /// Sets the clock to what [`Clock::saved`] gave.
    pub fn restore(&self, saved: SavedClock) {
        *self.lock() = match saved {
            SavedClock::Frozen { at } => ClockState::Frozen(at),
            SavedClock::System { offset_ms } => ClockState::System { offset_ms },
        };
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        // The state is a plain value: a panic elsewhere cannot leave it inconsistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A clock's setting as the persisted store keeps it ([`Clock::saved`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum SavedClock {
    /// Stands still at `at`.
    Frozen {
        /// Its time.
        at: Timestamp,
    },
    /// Follows the system clock, `offset_ms` ahead (behind if negative).
    System {
        /// Milliseconds added to the system time.
        offset_ms: i64,
    },
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
    fn a_clock_can_be_set_and_frozen_or_thawed() {
        let clock = Clock::system();
        clock.set_now(Timestamp(1_000_000));
        assert!(clock.now().0 >= 1_000_000 && clock.now().0 < 1_000_000 + 60_000);
        clock.set_frozen(true);
        let frozen = clock.now();
        assert!(clock.is_frozen());
        clock.set_now(Timestamp(5));
        assert_eq!(clock.now(), Timestamp(5));
        clock.set_frozen(false);
        assert!(!clock.is_frozen() && clock.now().0 >= 5);
        assert!(frozen.0 >= 1_000_000);
    }

    #[test]
    fn times_read_in_every_form_and_write_as_beijing_time() {
        let t = Timestamp(1_578_134_064_567);
        let when = |text: &str| When::parse(text);
        assert_eq!(when("2020-01-04 18:34:24.567"), Some(When::At(t)));
        assert_eq!(when("2020-01-04T10:34:24.567Z"), Some(When::At(t)));
        assert_eq!(when("now"), Some(When::FromNow(0)));
        assert_eq!(when("now - 40d"), Some(When::FromNow(-40 * 86_400_000)));
        assert_eq!(when("now+1h 30m"), Some(When::FromNow(5_400_000)));
        assert_eq!(when("now * 2"), None);
        assert_eq!(when("yesterday"), None);
        assert_eq!(When::FromNow(-60_000).resolve(t), Timestamp(t.0 - 60_000));
        let json = |w: When| serde_json::to_string(&w).unwrap();
        assert_eq!(json(When::At(t)), "\"2020-01-04 18:34:24.567\"");
        assert_eq!(
            json(When::At(Timestamp(t.0 - 567))),
            "\"2020-01-04 18:34:24\""
        );
        assert_eq!(json(When::At(Timestamp(i64::MAX))), i64::MAX.to_string());
        assert_eq!(json(When::FromNow(-90_000)), "\"now - 1m 30s\"");
        for w in [
            When::At(t),
            When::At(Timestamp(i64::MAX)),
            When::At(Timestamp(-1)),
            When::FromNow(-90_000),
            When::FromNow(0),
        ] {
            assert_eq!(serde_json::from_str::<When>(&json(w)).unwrap(), w);
        }
        let refused = serde_json::from_str::<When>("\"2020-13-01 00:00:00\"").unwrap_err();
        assert!(refused.to_string().contains("expected a time"), "{refused}");
    }

    #[test]
    fn system_clock_advance_adds_an_offset() {
        let clock = Clock::system();
        let before = clock.now();
        let after = clock.advance(Duration::from_secs(86_400));
        assert!(after.since(before) >= Duration::from_secs(86_400));
    }
}
