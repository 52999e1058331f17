//! Beijing time (UTC+8, no daylight saving): the clock face on which WeChat Pay and Alipay
//! print every time, whatever the caller's zone, and the calendar their bills are cut by. The
//! one place, on the `time` crate, where the mock server, the SDK and the wire formats turn
//! instants into Beijing dates and times and back.
//!
//! - An instant is milliseconds since the Unix epoch (the mock's `Timestamp`, a
//!   `SystemTime` converted by the SDK). Its faces: [`datetime`] `yyyy-MM-dd HH:mm:ss`,
//!   [`datetime_millis`] `yyyy-MM-dd HH:mm:ss.SSS`, [`compact`] `yyyyMMddHHmmss`,
//!   [`compact_date`] `yyyyMMdd`, [`chinese_datetime`] `yyyy年MM月dd日 HH:mm:ss` and
//!   [`rfc3339`] `yyyy-MM-ddTHH:mm:ss+08:00` (API v3); read back by [`parse_compact`],
//!   [`parse_datetime`], [`parse_datetime_millis`] and [`parse_rfc3339`] ([`wall_datetime`] reads the fields alone).
//! - Days: [`split_day`] gives the Beijing calendar day of an instant (days since 1970-01-01)
//!   and the milliseconds into it, [`day_start`] the instant a day begins.
//! - The calendar: [`date`] checks a year, month and day, [`days_since_epoch`] and
//!   [`date_from_days`] convert between dates and day numbers, [`add_months`] moves by
//!   calendar months.
//!
//! Pure: no clock is read. An instant outside what `time` represents (years ±9999 in Beijing)
//! prints as the Unix epoch; nothing here panics.

use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// UTC+8.
pub const OFFSET: UtcOffset = offset!(+8);
/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

const OFFSET_MS: i64 = 8 * 3_600_000;
/// The Julian day number of 1970-01-01.
const EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// The instant in Beijing time; the epoch when `time` cannot represent it.
fn local(unix_ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .ok()
        .and_then(|utc| utc.checked_to_offset(OFFSET))
        .unwrap_or_else(|| OffsetDateTime::UNIX_EPOCH.to_offset(OFFSET))
}

/// `yyyy-MM-dd HH:mm:ss`: `refund_success_time`, Alipay's `gmt_payment`, bill rows.
pub fn datetime(unix_ms: i64) -> String {
    local(unix_ms)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

/// `yyyy-MM-dd HH:mm:ss.SSS`: Alipay's `gmt_refund` (`2020-03-27 18:19:15.143`).
pub fn datetime_millis(unix_ms: i64) -> String {
    local(unix_ms)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]"
        ))
        .unwrap_or_default()
}

/// `yyyyMMddHHmmss`: WeChat's `time_end`, `time_start`, `time_expire`.
pub fn compact(unix_ms: i64) -> String {
    local(unix_ms)
        .format(format_description!(
            "[year][month][day][hour][minute][second]"
        ))
        .unwrap_or_default()
}

/// `yyyyMMdd`: the date inside WeChat and Alipay ids.
pub fn compact_date(unix_ms: i64) -> String {
    local(unix_ms)
        .format(format_description!("[year][month][day]"))
        .unwrap_or_default()
}

/// `yyyy年MM月dd日 HH:mm:ss`: the header lines of Alipay's bill CSVs.
pub fn chinese_datetime(unix_ms: i64) -> String {
    local(unix_ms)
        .format(format_description!(
            "[year]年[month]月[day]日 [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

/// `yyyy-MM-ddTHH:mm:ss+08:00`, to the second: the times of WeChat Pay API v3.
pub fn rfc3339(unix_ms: i64) -> String {
    local(unix_ms)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
        ))
        .unwrap_or_default()
}

fn unix_ms(at: OffsetDateTime) -> Option<i64> {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// `time` reads a sign before a year; none of these formats has one.
fn starts_with_digit(text: &str) -> bool {
    text.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

/// Reads `yyyyMMddHHmmss` as Beijing time: 14 digits naming a real calendar second.
pub fn parse_compact(text: &str) -> Option<i64> {
    let format = format_description!("[year][month][day][hour][minute][second]");
    if !starts_with_digit(text) {
        return None;
    }
    let local = PrimitiveDateTime::parse(text, format).ok()?;
    unix_ms(local.assume_offset(OFFSET))
}

/// Reads `yyyy-MM-dd HH:mm:ss` as Beijing time.
pub fn parse_datetime(text: &str) -> Option<i64> {
    unix_ms(wall_datetime(text)?.assume_offset(OFFSET))
}

/// Reads `yyyy-MM-dd HH:mm:ss` or `yyyy-MM-dd HH:mm:ss.SSS` (three digits) as Beijing time:
/// what [`datetime`] and [`datetime_millis`] print.
pub fn parse_datetime_millis(text: &str) -> Option<i64> {
    let (seconds, millis) = match text.split_once('.') {
        Some((seconds, millis))
            if millis.len() == 3 && millis.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (seconds, millis.parse::<i64>().ok()?)
        }
        Some(_) => return None,
        None => (text, 0),
    };
    parse_datetime(seconds)?.checked_add(millis)
}

/// The date and time a `yyyy-MM-dd HH:mm:ss` text names (a real calendar second), in no zone
/// in particular: Alipay's `timestamp` parameter, which clients write in their own.
pub fn wall_datetime(text: &str) -> Option<PrimitiveDateTime> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    if !starts_with_digit(text) {
        return None;
    }
    PrimitiveDateTime::parse(text, format).ok()
}

/// Reads an RFC 3339 time in any offset (API v3 sends `+08:00`).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    unix_ms(OffsetDateTime::parse(text, &Rfc3339).ok()?)
}

/// The Beijing calendar day of an instant (days since 1970-01-01) and the milliseconds into
/// it.
pub fn split_day(unix_ms: i64) -> (i64, i64) {
    let local = unix_ms.saturating_add(OFFSET_MS);
    (local.div_euclid(DAY_MS), local.rem_euclid(DAY_MS))
}

/// The first instant of a Beijing calendar day.
pub fn day_start(day: i64) -> i64 {
    day.saturating_mul(DAY_MS).saturating_sub(OFFSET_MS)
}

/// The date `year`-`month`-`day`, if it is one (proleptic Gregorian, years ±9999).
pub fn date(year: i32, month: u8, day: u8) -> Option<Date> {
    let month = Month::try_from(month).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// Days from 1970-01-01 to `date`.
pub fn days_since_epoch(date: Date) -> i64 {
    i64::from(date.to_julian_day()) - EPOCH_JULIAN_DAY
}

/// The date `days` days after 1970-01-01, if `time` represents it.
pub fn date_from_days(days: i64) -> Option<Date> {
    let julian = i32::try_from(days.checked_add(EPOCH_JULIAN_DAY)?).ok()?;
    Date::from_julian_day(julian).ok()
}

/// The same day `months` calendar months later (earlier when negative), clamped to the
/// length of that month: three months before 31 May is 28 (or 29) February.
pub fn add_months(date: Date, months: i32) -> Option<Date> {
    let index = date
        .year()
        .checked_mul(12)?
        .checked_add(i32::from(u8::from(date.month())) - 1)?
        .checked_add(months)?;
    let year = index.div_euclid(12);
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// 2020-01-04 10:34:24.567 UTC, 18:34:24.567 in Beijing.
    const T: i64 = 1_578_134_064_567;

    #[test]
    fn faces_of_an_instant() {
        assert_eq!(datetime(T), "2020-01-04 18:34:24");
        assert_eq!(datetime_millis(T), "2020-01-04 18:34:24.567");
        assert_eq!(compact(T), "20200104183424");
        assert_eq!(compact_date(T), "20200104");
        assert_eq!(chinese_datetime(T), "2020年01月04日 18:34:24");
        assert_eq!(rfc3339(T), "2020-01-04T18:34:24+08:00");
        assert_eq!(datetime(0), "1970-01-01 08:00:00");
        assert_eq!(datetime_millis(-1), "1970-01-01 07:59:59.999");
    }

    #[test]
    fn faces_read_back() {
        let second = T - 567;
        assert_eq!(parse_datetime_millis("2020-01-04 18:34:24.567"), Some(T));
        assert_eq!(parse_datetime_millis("2020-01-04 18:34:24"), Some(second));
        assert_eq!(parse_datetime_millis("2020-01-04 18:34:24.5"), None);
        assert_eq!(parse_datetime_millis("2020-01-04 18:34:24.-12"), None);
        assert_eq!(parse_compact("20200104183424"), Some(second));
        assert_eq!(parse_datetime("2020-01-04 18:34:24"), Some(second));
        assert_eq!(parse_rfc3339("2020-01-04T18:34:24+08:00"), Some(second));
        assert_eq!(parse_rfc3339("2020-01-04T10:34:24.567Z"), Some(T));
        for bad in [
            "20200104183460",
            "20230229000000",
            "2020010418342",
            "+20200104183424",
            "-20200104183424",
            "",
        ] {
            assert_eq!(parse_compact(bad), None, "{bad}");
        }
        assert_eq!(parse_datetime("2020-01-04T18:34:24"), None);
        assert_eq!(parse_datetime("+2020-01-04 18:34:24"), None);
        assert_eq!(parse_datetime("2020-01-04 18:34:24 "), None);
        assert_eq!(parse_rfc3339("2020-01-04 18:34:24"), None);
    }

    #[test]
    fn the_edges_of_the_range_do_not_panic() {
        // The last second of 9999 in Beijing, then an instant past it (the epoch face).
        let last = parse_compact("99991231235959").unwrap();
        assert_eq!(datetime(last), "9999-12-31 23:59:59");
        assert_eq!(datetime(last + 1_000), "1970-01-01 08:00:00");
        assert_eq!(compact(i64::MAX), "19700101080000");
        assert_eq!(rfc3339(i64::MIN), "1970-01-01T08:00:00+08:00");
        assert_eq!(split_day(i64::MAX).0, i64::MAX.div_euclid(DAY_MS));
        assert_eq!(day_start(i64::MIN), i64::MIN);
        assert_eq!(date_from_days(i64::MAX), None);
    }

    #[test]
    fn beijing_days_start_at_16_utc() {
        // 2026-11-22 00:00 Beijing is 2026-11-21 16:00 UTC.
        let start = day_start(20_779);
        assert_eq!(datetime(start), "2026-11-22 00:00:00");
        assert_eq!(split_day(start), (20_779, 0));
        assert_eq!(split_day(start - 1), (20_778, DAY_MS - 1));
        assert_eq!(date_from_days(20_779), date(2026, 11, 22));
    }

    #[test]
    fn calendar() {
        assert!(date(2024, 2, 29).is_some());
        assert!(date(2023, 2, 29).is_none());
        assert!(date(1900, 2, 29).is_none());
        assert!(date(2000, 2, 29).is_some());
        assert!(date(2023, 13, 1).is_none());
        assert!(date(2023, 4, 31).is_none());
        assert_eq!(date(1970, 1, 1).map(days_since_epoch), Some(0));
        let month = |y, m, d, n| add_months(date(y, m, d).unwrap(), n);
        assert_eq!(month(2024, 5, 31, -3), date(2024, 2, 29));
        assert_eq!(month(2023, 5, 31, -3), date(2023, 2, 28));
        assert_eq!(month(2024, 1, 15, -3), date(2023, 10, 15));
        assert_eq!(month(2023, 11, 30, 2), date(2024, 1, 30));
    }

    /// Howard Hinnant's days-from-civil, the arithmetic this module replaced, as the reference.
    fn hinnant_days(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    proptest! {
        #[test]
        fn day_numbers_agree_with_the_civil_algorithm(days in -719_162i64..2_932_896) {
            let date = date_from_days(days).unwrap();
            prop_assert_eq!(days_since_epoch(date), days);
            let civil = hinnant_days(
                i64::from(date.year()),
                i64::from(u8::from(date.month())),
                i64::from(date.day()),
            );
            prop_assert_eq!(civil, days);
        }

        #[test]
        fn faces_agree_with_day_arithmetic(ms in -62_135_596_800_000i64..253_402_271_999_999) {
            let (day, into) = split_day(ms);
            let date = date_from_days(day).unwrap();
            let expected = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                date.year(),
                u8::from(date.month()),
                date.day(),
                into / 3_600_000,
                into % 3_600_000 / 60_000,
                into % 60_000 / 1_000,
            );
            prop_assert_eq!(datetime(ms), expected);
            prop_assert_eq!(day_start(day) + into, ms);
            prop_assert_eq!(parse_datetime(&datetime(ms)), Some(ms - ms.rem_euclid(1_000)));
            prop_assert_eq!(parse_compact(&compact(ms)), Some(ms - ms.rem_euclid(1_000)));
        }
    }
}
