//! Field format rules of §3.1 / §4.1, shared by the server (to answer `PARAM_ERROR`) and the
//! SDK (to refuse a request before sending it).
//!
//! Lengths are counted in characters. For the ASCII-only fields this equals bytes; for
//! `refund_desc` the doc's `String(80)` could mean bytes — UNCONFIRMED, we count characters.

use std::fmt;

/// `out_trade_no` minimum length for a *new* order (2023 doc: "at least 6"). Orders created
/// under the older rules (no minimum, `@` allowed) still exist and can still be refunded and
/// queried, so [`out_trade_no`] (naming an existing order) does not apply it; only
/// [`new_out_trade_no`] does.
pub const OUT_TRADE_NO_MIN_LEN: usize = 6;
/// `out_trade_no` maximum length (`String(32)`).
pub const OUT_TRADE_NO_MAX_LEN: usize = 32;
/// `out_refund_no` maximum length (`String(64)`).
pub const OUT_REFUND_NO_MAX_LEN: usize = 64;
/// `refund_desc` maximum length (`String(80)`).
pub const REFUND_DESC_MAX_LEN: usize = 80;
/// `notify_url` maximum length (`String(256)`).
pub const NOTIFY_URL_MAX_LEN: usize = 256;

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// Required but absent or empty.
    Missing,
    /// Present but breaks a rule; the reason is English, for logs and developers.
    Invalid(&'static str),
}

/// A field that is missing or breaks its format rule.
///
/// For indexed fields `field` is the pattern, e.g. `refund_fee_$n` or `coupon_refund_id_$n_$m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub struct FieldError {
    /// The field's wire name (or indexed pattern).
    pub field: &'static str,
    /// What is wrong.
    pub kind: FieldErrorKind,
}

impl FieldError {
    /// `field` is required but absent or empty.
    pub fn missing(field: &'static str) -> Self {
        Self {
            field,
            kind: FieldErrorKind::Missing,
        }
    }

    /// `field` breaks a rule.
    pub fn invalid(field: &'static str, reason: &'static str) -> Self {
        Self {
            field,
            kind: FieldErrorKind::Invalid(reason),
        }
    }

    /// A message in the platform's style, for `return_msg` / `err_code_des`: `缺少参数<field>`
    /// or `<field>参数格式错误` (observed pattern `body参数格式错误`, §2.3; the exact text per
    /// field is UNCONFIRMED).
    pub fn wechat_message(&self) -> String {
        match self.kind {
            FieldErrorKind::Missing => format!("缺少参数{}", self.field),
            FieldErrorKind::Invalid(_) => format!("{}参数格式错误", self.field),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FieldErrorKind::Missing => write!(f, "missing field {}", self.field),
            FieldErrorKind::Invalid(reason) => {
                write!(f, "invalid field {}: {}", self.field, reason)
            }
        }
    }
}

type Result<T = ()> = std::result::Result<T, FieldError>;

/// Checks the length in characters, and that there is at least one.
fn length(field: &'static str, v: &str, min: usize, max: usize, reason: &'static str) -> Result {
    if v.is_empty() {
        return Err(FieldError::missing(field));
    }
    let n = v.chars().count();
    if n < min || n > max {
        return Err(FieldError::invalid(field, reason));
    }
    Ok(())
}

fn charset(field: &'static str, v: &str, ok: impl Fn(u8) -> bool, reason: &'static str) -> Result {
    if v.bytes().all(ok) {
        Ok(())
    } else {
        Err(FieldError::invalid(field, reason))
    }
}

/// No control characters: they cannot be written in XML 1.0 and never belong in a field.
fn printable(field: &'static str, v: &str) -> Result {
    if v.chars().any(char::is_control) {
        Err(FieldError::invalid(field, "contains control characters"))
    } else {
        Ok(())
    }
}

/// `appid`: 1..=32 characters, no control characters (format not checked further: sandbox
/// and test ids vary).
pub fn appid(v: &str) -> Result {
    length("appid", v, 1, 32, "longer than 32 characters")?;
    printable("appid", v)
}

/// `mch_id`: 1..=32 characters, no control characters.
pub fn mch_id(v: &str) -> Result {
    length("mch_id", v, 1, 32, "longer than 32 characters")?;
    printable("mch_id", v)
}

/// `out_trade_no` naming an existing order (refund, refund query, order query): 1..=32
/// characters of `0-9 a-z A-Z _ - | * @`, the union of the current and older rules, since
/// orders made under the older rules are still refundable.
pub fn out_trade_no(v: &str) -> Result {
    length(
        "out_trade_no",
        v,
        1,
        OUT_TRADE_NO_MAX_LEN,
        "longer than 32 characters",
    )?;
    charset(
        "out_trade_no",
        v,
        |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*' | b'@'),
        "allowed characters are 0-9 a-z A-Z _ - | * @",
    )
}

/// `out_trade_no` of a *new* order: [`OUT_TRADE_NO_MIN_LEN`]..=32 characters of
/// `0-9 a-z A-Z _ - | *` (2023 doc).
pub fn new_out_trade_no(v: &str) -> Result {
    length(
        "out_trade_no",
        v,
        OUT_TRADE_NO_MIN_LEN,
        OUT_TRADE_NO_MAX_LEN,
        "length must be 6 to 32",
    )?;
    charset(
        "out_trade_no",
        v,
        |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*'),
        "allowed characters are 0-9 a-z A-Z _ - | *",
    )
}

/// `out_refund_no`: 1..=64 characters of `0-9 a-z A-Z _ - | * @`.
pub fn out_refund_no(v: &str) -> Result {
    length(
        "out_refund_no",
        v,
        1,
        OUT_REFUND_NO_MAX_LEN,
        "longer than 64 characters",
    )?;
    charset(
        "out_refund_no",
        v,
        |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*' | b'@'),
        "allowed characters are 0-9 a-z A-Z _ - | * @",
    )
}

/// `transaction_id`: 1..=32 ASCII digits. The doc only says `String(32)`; every real id is
/// 28 digits, and the observed PARAM_ERROR `微信订单号非法` shows the server checks the
/// format, so digits-only is our reading.
pub fn transaction_id(v: &str) -> Result {
    length("transaction_id", v, 1, 32, "longer than 32 characters")?;
    charset(
        "transaction_id",
        v,
        |b| b.is_ascii_digit(),
        "must be decimal digits",
    )
}

/// `refund_id`: 1..=32 characters, no control characters (29 digits in practice; the format
/// is not documented, so only the length is checked).
pub fn refund_id(v: &str) -> Result {
    length("refund_id", v, 1, 32, "longer than 32 characters")?;
    printable("refund_id", v)
}

/// `nonce_str`: 1..=32 characters, no control characters.
pub fn nonce_str(v: &str) -> Result {
    length("nonce_str", v, 1, 32, "longer than 32 characters")?;
    printable("nonce_str", v)
}

/// `refund_desc`: at most 80 characters (an empty one is treated as absent by callers), no
/// control characters.
pub fn refund_desc(v: &str) -> Result {
    if v.chars().count() > REFUND_DESC_MAX_LEN {
        return Err(FieldError::invalid(
            "refund_desc",
            "longer than 80 characters",
        ));
    }
    printable("refund_desc", v)
}

/// `notify_url`: at most 256 characters, `http://` or `https://` with a non-empty host, no
/// whitespace or control characters, and no query string (doc: "不能携带参数"; enforcement by
/// the real server UNCONFIRMED). Plain http is allowed so local test receivers work.
pub fn notify_url(v: &str) -> Result {
    const F: &str = "notify_url";
    length(F, v, 1, NOTIFY_URL_MAX_LEN, "longer than 256 characters")?;
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::invalid(F, "contains whitespace"));
    }
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .ok_or(FieldError::invalid(
            F,
            "must start with http:// or https://",
        ))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(FieldError::invalid(F, "has no host"));
    }
    if v.contains('?') {
        return Err(FieldError::invalid(F, "must not carry a query string"));
    }
    Ok(())
}

/// An amount or count: bare decimal digits (no sign, no `+`, no decimal point, no spaces),
/// fitting in `i64`. Zero allowed. Leading zeros are accepted, as Java's `parseInt` does.
pub fn parse_uint(field: &'static str, v: &str) -> Result<u64> {
    if v.is_empty() {
        return Err(FieldError::missing(field));
    }
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::invalid(field, "must be bare decimal digits"));
    }
    match v.parse::<u64>() {
        Ok(n) if i64::try_from(n).is_ok() => Ok(n),
        _ => Err(FieldError::invalid(field, "too large")),
    }
}

/// A fee in fen that must be positive (`total_fee`, `refund_fee`): [`parse_uint`] and > 0.
pub fn parse_fee(field: &'static str, v: &str) -> Result<u64> {
    match parse_uint(field, v)? {
        0 => Err(FieldError::invalid(field, "must be greater than 0")),
        n => Ok(n),
    }
}

/// `refund_fee_type`: three uppercase ASCII letters (ISO 4217).
pub fn refund_fee_type(v: &str) -> Result {
    if v.len() == 3 && v.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(FieldError::invalid(
            "refund_fee_type",
            "must be an ISO 4217 code such as CNY",
        ))
    }
}

/// `offset`: a non-negative integer fitting in `u32`.
pub fn offset(v: &str) -> Result<u32> {
    let n = parse_uint("offset", v)?;
    u32::try_from(n).map_err(|_| FieldError::invalid("offset", "too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind<T>(r: Result<T>) -> Option<FieldErrorKind> {
        r.err().map(|e| e.kind)
    }

    #[test]
    fn out_trade_no_rules() {
        assert!(out_trade_no("1415757673").is_ok());
        assert!(out_trade_no("a_b-c|d*").is_ok());
        assert!(out_trade_no(&"x".repeat(32)).is_ok());
        // Older orders: short numbers and `@` are still refundable.
        assert!(out_trade_no("12345").is_ok());
        assert!(out_trade_no("abc@def").is_ok());
        assert_eq!(kind(out_trade_no("")), Some(FieldErrorKind::Missing));
        assert!(out_trade_no(&"x".repeat(33)).is_err());
        assert!(out_trade_no("abc def").is_err());
        assert!(out_trade_no("订单号订单号").is_err());
    }

    #[test]
    fn new_out_trade_no_rules() {
        assert!(new_out_trade_no("1415757673").is_ok());
        assert!(new_out_trade_no("12345").is_err());
        assert!(new_out_trade_no("abc@def").is_err());
        assert!(new_out_trade_no(&"x".repeat(33)).is_err());
    }

    #[test]
    fn out_refund_no_rules() {
        assert!(out_refund_no("1").is_ok());
        assert!(out_refund_no("r@1|*-_").is_ok());
        assert!(out_refund_no(&"9".repeat(64)).is_ok());
        assert!(out_refund_no(&"9".repeat(65)).is_err());
        assert!(out_refund_no("a.b").is_err());
    }

    #[test]
    fn ids() {
        assert!(transaction_id("4200000560202005168434734774").is_ok());
        assert!(transaction_id("42x").is_err());
        assert!(transaction_id(&"1".repeat(33)).is_err());
        assert!(refund_id("50300604212020051600550537447").is_ok());
        assert!(refund_id(&"1".repeat(33)).is_err());
        assert!(nonce_str("ibuaiVcKdpRxkhJA").is_ok());
        assert!(nonce_str(&"n".repeat(33)).is_err());
        assert!(nonce_str("a\u{0}b").is_err());
    }

    #[test]
    fn fees() {
        assert_eq!(parse_fee("total_fee", "1"), Ok(1));
        assert_eq!(parse_fee("total_fee", "0100"), Ok(100));
        assert_eq!(parse_uint("cash_fee", "0"), Ok(0));
        assert_eq!(parse_uint("x", "9223372036854775807"), Ok(i64::MAX as u64));
        for bad in [
            "0",
            "-1",
            "+1",
            "1.0",
            " 1",
            "1 ",
            "1e3",
            "9223372036854775808",
            "99999999999999999999999",
            "０",
        ] {
            assert!(parse_fee("refund_fee", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            kind(parse_fee("refund_fee", "")),
            Some(FieldErrorKind::Missing)
        );
        assert_eq!(offset("24"), Ok(24));
        assert!(offset("4294967296").is_err());
        assert!(offset("-1").is_err());
    }

    #[test]
    fn misc() {
        assert!(refund_fee_type("CNY").is_ok());
        assert!(refund_fee_type("cny").is_err());
        assert!(refund_fee_type("CNYY").is_err());
        assert!(refund_desc(&"退".repeat(80)).is_ok());
        assert!(refund_desc(&"退".repeat(81)).is_err());
        assert!(notify_url("https://example.com/notify").is_ok());
        assert!(notify_url("http://127.0.0.1:8080/n").is_ok());
        assert!(notify_url("ftp://example.com").is_err());
        assert!(notify_url("https://").is_err());
        assert!(notify_url("https://example.com/n?a=1").is_err());
        assert!(notify_url("https://exa mple.com").is_err());
        assert!(notify_url(&format!("https://e.com/{}", "a".repeat(250))).is_err());
    }

    #[test]
    fn messages() {
        let e = FieldError::invalid("body", "x");
        assert_eq!(e.wechat_message(), "body参数格式错误");
        assert_eq!(
            FieldError::missing("appid").wechat_message(),
            "缺少参数appid"
        );
        assert_eq!(e.to_string(), "invalid field body: x");
    }
}
