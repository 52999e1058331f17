//! Every admin input rule in one place: what the admin API accepts for times, amounts,
//! coupons, ids and texts, and the 400 that names the field it refuses.
//!
//! The admin API is how tests and people put state into the sandbox, so what it lets in must
//! be something the platform itself could have produced: ids follow the platform's own field
//! rules (`protocol::wechat::fields` for WeChat; the documented lengths and characters for
//! Alipay), texts carry no control characters (they cannot be written in XML 1.0, and every
//! later answer naming them would be ill-formed), amounts fit what the platform's clients
//! parse, and clock moves stay inside the calendar the answers can write. Nothing here
//! panics or overflows: every sum and product is checked, and a refusal is a [`Failure`]
//! with the field's name.

use std::time::Duration;

use paysandbox_protocol::wechat::fields;
use paysandbox_protocol::wechat::messages::MAX_INDEXED_COUNT;

use super::failure::Failure;
use crate::clock::Timestamp;
use crate::ledger::wechat::{NewMerchant, SeedCoupon, SeedOrder};

/// The earliest time the sandbox clock may show: the Unix epoch.
pub const MIN_CLOCK: Timestamp = Timestamp(0);
/// The latest: 9999-12-31 23:59:59.999 in Beijing time, the last instant every answer's
/// four-digit year can write.
pub const MAX_CLOCK: Timestamp = Timestamp(253_402_271_999_999);

/// The largest WeChat amount in fen: `Int` in the field tables, a Java `int` in the widely
/// used clients (WxJava reads `total_fee` into an `Integer`), so 2^31 - 1.
pub const MAX_WECHAT_FEN: u64 = i32::MAX as u64;
/// The largest Alipay amount in fen: `total_amount` is at most 100,000,000.00 yuan.
pub const MAX_ALIPAY_FEN: u64 = 10_000_000_000;
/// The largest balance in fen: the largest integer a JSON reader in a browser holds exactly
/// (2^53 - 1), since the admin API answers balances as JSON numbers.
pub const MAX_BALANCE_FEN: u64 = (1 << 53) - 1;
/// The longest ago a seeded order or trade may have been paid: twenty years (365-day years).
pub const MAX_PAID_SECONDS_AGO: u64 = 20 * 365 * 86_400;
/// Most coupons on one order: as many indexed fields as the protocol reads back.
pub const MAX_COUPONS: usize = MAX_INDEXED_COUNT;
/// The longest fault delay: ten minutes of wall time.
pub const MAX_FAULT_DELAY_MS: u64 = 600_000;

/// Entries a list answers when the query names no `limit`.
pub const DEFAULT_LIST_LIMIT: usize = 1_000;
/// The most entries one list answer holds: a list is cloned under the state's lock and
/// written in one piece, so its size is bounded however long the sandbox has run.
pub const MAX_LIST_LIMIT: usize = 10_000;

/// `?limit=&offset=` of a list endpoint: the newest `limit` entries once the `offset` newest
/// are skipped (to page back), listed oldest first like the whole list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    limit: usize,
    offset: usize,
}

impl Page {
    /// Reads the two query parameters; absent ones take their defaults.
    ///
    /// # Errors
    /// A 400 naming `limit` (not 1 to [`MAX_LIST_LIMIT`]) or `offset` (not a count).
    pub fn parse(limit: Option<&str>, offset: Option<&str>) -> Result<Page, Failure> {
        let limit = match limit {
            None => DEFAULT_LIST_LIMIT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
                .ok_or_else(|| refuse("limit", format!("1 to {MAX_LIST_LIMIT}")))?,
        };
        let offset = match offset {
            None => 0,
            Some(text) => text
                .parse::<usize>()
                .map_err(|_| refuse("offset", "a count of entries (0 or more)"))?,
        };
        Ok(Page { limit, offset })
    }

    /// The entries of `all` (oldest first) this page covers, oldest first; only they are
    /// taken, so a page costs its own size whatever the list's.
    pub fn of<T>(&self, all: impl DoubleEndedIterator<Item = T>) -> Vec<T> {
        let mut page: Vec<T> = all.rev().skip(self.offset).take(self.limit).collect();
        page.reverse();
        page
    }
}

/// A 400 naming `field`.
pub fn refuse(field: &str, message: impl std::fmt::Display) -> Failure {
    Failure::field(field, format!("{field}: {message}"))
}

/// How far `POST /admin/clock/advance` moves the clock: `seconds` plus `millis`, refused when
/// the sum does not fit or would carry the clock past [`MAX_CLOCK`].
pub fn clock_move(now: Timestamp, seconds: u64, millis: u64) -> Result<Duration, Failure> {
    let room = u64::try_from(MAX_CLOCK.0.saturating_sub(now.0)).unwrap_or(0);
    let second_ms = seconds
        .checked_mul(1000)
        .filter(|ms| *ms <= room)
        .ok_or_else(|| refuse("seconds", beyond_calendar()))?;
    let total = second_ms
        .checked_add(millis)
        .filter(|ms| *ms <= room)
        .ok_or_else(|| refuse("millis", beyond_calendar()))?;
    Ok(Duration::from_millis(total))
}

fn beyond_calendar() -> String {
    format!(
        "would move the clock past {} (Beijing time), the last time the answers can write",
        MAX_CLOCK.beijing_datetime()
    )
}

/// A time `POST /admin/clock/set` may set: between [`MIN_CLOCK`] and [`MAX_CLOCK`].
pub fn clock_time(field: &str, at: Timestamp) -> Result<Timestamp, Failure> {
    if (MIN_CLOCK..=MAX_CLOCK).contains(&at) {
        Ok(at)
    } else {
        Err(refuse(
            field,
            format!(
                "must be from 1970-01-01 08:00:00 to {} (Beijing time)",
                MAX_CLOCK.beijing_datetime()
            ),
        ))
    }
}

/// A WeChat field checked by the platform's own rule.
fn wechat_field(
    value: &str,
    rule: fn(&str) -> Result<(), fields::FieldError>,
) -> Result<(), Failure> {
    rule(value).map_err(|e| refuse(e.field, e))
}

/// Free text: at most `max` characters and no control characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<(), Failure> {
    if value.chars().any(char::is_control) {
        return Err(refuse(field, "must not contain control characters"));
    }
    if value.chars().count() > max {
        return Err(refuse(field, format!("must be at most {max} characters")));
    }
    Ok(())
}

fn opt_text(field: &str, value: Option<&str>, max: usize) -> Result<(), Failure> {
    value.map_or(Ok(()), |v| text(field, v, max))
}

/// An id: 1 to `max` characters, each allowed by `allowed` (described by `chars`).
fn id(
    field: &str,
    value: &str,
    max: usize,
    allowed: fn(u8) -> bool,
    chars: &str,
) -> Result<(), Failure> {
    if value.is_empty() || value.len() > max || !value.bytes().all(allowed) {
        return Err(refuse(field, format!("must be 1 to {max} of {chars}")));
    }
    Ok(())
}

/// An amount in fen from 1 to `max`.
pub fn amount(field: &str, fen: u64, max: u64) -> Result<u64, Failure> {
    if fen == 0 || fen > max {
        return Err(refuse(field, format!("must be 1 to {max} fen")));
    }
    Ok(fen)
}

/// A balance in fen, from 0 to [`MAX_BALANCE_FEN`].
pub fn balance(field: &str, fen: u64) -> Result<u64, Failure> {
    if fen > MAX_BALANCE_FEN {
        return Err(refuse(field, format!("must be 0 to {MAX_BALANCE_FEN} fen")));
    }
    Ok(fen)
}

/// `paid_seconds_ago`: at most [`MAX_PAID_SECONDS_AGO`], and not before 1970.
pub fn paid_seconds_ago(now: Timestamp, ago: Option<u64>) -> Result<(), Failure> {
    let Some(ago) = ago else {
        return Ok(());
    };
    let fits = ago <= MAX_PAID_SECONDS_AGO
        && ago
            .checked_mul(1000)
            .and_then(|ms| i64::try_from(ms).ok())
            .and_then(|ms| now.0.checked_sub(ms))
            .is_some_and(|at| at >= MIN_CLOCK.0);
    if fits {
        Ok(())
    } else {
        Err(refuse(
            "paid_seconds_ago",
            format!("must be at most {MAX_PAID_SECONDS_AGO} and not before 1970"),
        ))
    }
}

/// WeChat coupons: at most [`MAX_COUPONS`], each 1 to [`MAX_WECHAT_FEN`] fen with a
/// `coupon_id`-shaped id, together no more than `total_fee` (without overflow).
pub fn wechat_coupons(coupons: &[SeedCoupon], total_fee: Option<u64>) -> Result<(), Failure> {
    if coupons.len() > MAX_COUPONS {
        return Err(refuse(
            "coupons",
            format!("at most {MAX_COUPONS} coupons an order"),
        ));
    }
    let mut sum = 0u64;
    for coupon in coupons {
        amount("coupons.fee", coupon.fee, MAX_WECHAT_FEN)?;
        if let Some(coupon_id) = &coupon.id {
            // coupon_id_$n is String(20) in the field tables.
            id("coupons.id", coupon_id, 20, is_id_byte, ID_CHARS)?;
        }
        sum = sum
            .checked_add(coupon.fee)
            .ok_or_else(|| refuse("coupons", "the coupons add up past the order's total_fee"))?;
    }
    if let Some(total) = total_fee
        && sum > total
    {
        return Err(refuse(
            "coupons",
            "the coupons add up past the order's total_fee",
        ));
    }
    Ok(())
}

const ID_CHARS: &str = "0-9 A-Z a-z _ -";

fn is_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')
}

/// A WeChat order to seed (`POST /admin/wechat/orders`, and each line of the bulk load).
pub fn wechat_seed(seed: &SeedOrder, now: Timestamp) -> Result<(), Failure> {
    wechat_field(&seed.mch_id, fields::mch_id)?;
    if let Some(appid) = &seed.appid {
        wechat_field(appid, fields::appid)?;
    }
    if let Some(no) = &seed.out_trade_no {
        wechat_field(no, fields::out_trade_no)?;
    }
    if let Some(tid) = &seed.transaction_id {
        wechat_field(tid, fields::transaction_id)?;
    }
    amount("total_fee", seed.total_fee, MAX_WECHAT_FEN)?;
    wechat_coupons(&seed.coupons, Some(seed.total_fee))?;
    paid_seconds_ago(now, seed.paid_seconds_ago)?;
    // The lengths of the field tables: trade_type String(16), bank_type String(32),
    // body String(128), attach String(127), refund_recv_accout String(64).
    opt_text("trade_type", seed.trade_type.as_deref(), 16)?;
    opt_text("bank_type", seed.bank_type.as_deref(), 32)?;
    opt_text("body", seed.body.as_deref(), 128)?;
    opt_text("attach", seed.attach.as_deref(), 127)?;
    opt_text(
        "refund_recv_account",
        seed.refund_recv_account.as_deref(),
        64,
    )
}

/// The buyer's payment of a WeChat order: openid String(128), bank_type String(32), coupons.
pub fn wechat_buyer(
    openid: Option<&str>,
    bank_type: Option<&str>,
    coupons: &[SeedCoupon],
) -> Result<(), Failure> {
    opt_text("openid", openid, 128)?;
    opt_text("bank_type", bank_type, 32)?;
    wechat_coupons(coupons, None)
}

/// A WeChat merchant to create.
pub fn wechat_merchant(new: &NewMerchant) -> Result<(), Failure> {
    id("mch_id", &new.mch_id, 32, is_id_byte, ID_CHARS)?;
    if new.appids.is_empty() {
        return Err(refuse("appids", "a merchant needs at least one appid"));
    }
    for appid in &new.appids {
        id("appids", appid, 32, is_id_byte, ID_CHARS)?;
    }
    // The API key signs every message: printable ASCII, 32 characters on the platform; longer
    // test keys are allowed up to 64.
    id(
        "api_key",
        &new.api_key,
        64,
        |b| b.is_ascii_graphic(),
        "printable ASCII",
    )?;
    text("company", &new.company, 128)?;
    balance("refundable_balance", new.refundable_balance)?;
    if let Some(url) = &new.notify_url {
        wechat_field(url, fields::notify_url)?;
    }
    Ok(())
}

/// An Alipay trade to seed: ids of the documented lengths (`out_trade_no` string(64) of
/// letters, digits and `_`, with `-` accepted as merchants use it; `trade_no` string(64)),
/// the amount, the age and the texts.
pub fn alipay_seed(
    now: Timestamp,
    out_trade_no: Option<&str>,
    trade_no: Option<&str>,
    total_fen: u64,
    paid_ago: Option<u64>,
    texts: [(&str, Option<&str>, usize); 5],
    notify_url: Option<&str>,
) -> Result<(), Failure> {
    if let Some(no) = out_trade_no {
        id("out_trade_no", no, 64, is_id_byte, ID_CHARS)?;
    }
    if let Some(no) = trade_no {
        id("trade_no", no, 64, is_id_byte, ID_CHARS)?;
    }
    amount("total_amount", total_fen, MAX_ALIPAY_FEN)?;
    paid_seconds_ago(now, paid_ago)?;
    for (field, value, max) in texts {
        opt_text(field, value, max)?;
    }
    if let Some(url) = notify_url {
        wechat_field(url, fields::notify_url).map_err(|_| {
            refuse(
                "notify_url",
                "must be an http:// or https:// URL of at most 256 characters",
            )
        })?;
    }
    Ok(())
}

/// A fault's HTTP status: one a real front end answers (200 to 599; no 1xx, which would
/// turn the answer into an interim response or a protocol switch).
pub fn fault_status(status: Option<u16>) -> Result<(), Failure> {
    match status {
        Some(s) if !(200..=599).contains(&s) => Err(refuse("http_status", "must be 200 to 599")),
        _ => Ok(()),
    }
}

/// A fault's delay: at most [`MAX_FAULT_DELAY_MS`].
pub fn fault_delay(delay_ms: Option<u64>) -> Result<(), Failure> {
    match delay_ms {
        Some(ms) if ms > MAX_FAULT_DELAY_MS => Err(refuse(
            "delay_ms",
            format!("must be at most {MAX_FAULT_DELAY_MS}"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_moves_stop_at_the_calendar_end_without_overflow() {
        let now = Timestamp(1_700_000_000_000);
        assert_eq!(
            clock_move(now, 60, 5).ok(),
            Some(Duration::from_millis(60_005))
        );
        for (seconds, millis, field) in [
            (u64::MAX, u64::MAX, "seconds"),
            (u64::MAX, 0, "seconds"),
            (0, u64::MAX, "millis"),
            (253_402_271_999, 0, "seconds"),
        ] {
            let refused = clock_move(now, seconds, millis).unwrap_err();
            assert_eq!(refused.status().as_u16(), 400);
            assert_eq!(refused.view().field.as_deref(), Some(field));
        }
        let room = u64::try_from(MAX_CLOCK.0 - now.0).unwrap();
        assert!(clock_move(now, 0, room).is_ok());
        assert!(clock_move(now, 0, room + 1).is_err());
        assert_eq!(MAX_CLOCK.beijing_datetime(), "9999-12-31 23:59:59");
    }

    #[test]
    fn fault_statuses_are_what_a_front_end_answers() {
        for ok in [None, Some(200), Some(404), Some(503), Some(599)] {
            assert!(fault_status(ok).is_ok(), "{ok:?}");
        }
        for bad in [Some(100), Some(101), Some(199), Some(600), Some(999)] {
            assert!(fault_status(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paid_ago_neither_overflows_nor_goes_before_1970() {
        let now = Timestamp(86_400_000);
        assert!(paid_seconds_ago(now, Some(86_400)).is_ok());
        assert!(paid_seconds_ago(now, Some(86_401)).is_err());
        assert!(paid_seconds_ago(now, Some(u64::MAX)).is_err());
        assert!(paid_seconds_ago(now, None).is_ok());
    }
}
