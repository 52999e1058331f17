//! Field rules shared by the request builders. Lengths are the documented maxima, counted in
//! characters as the platform counts them ("string(64)").

use paysandbox_protocol::money::{MAX_REQUEST_FEN, MIN_REQUEST_FEN};

use super::error::FieldError;

/// An identifier (`out_trade_no`, `trade_no`, `out_request_no`, ...): 1 to `max` printable
/// ASCII characters, no spaces. The platform documents letters, digits and `_` for new order
/// numbers; merchants' existing numbers use `-` and other punctuation, which it accepts.
pub(crate) fn id(field: &'static str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(FieldError::missing(field));
    }
    if value.len() > max {
        return Err(FieldError::invalid(field, too_long(max)));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldError::invalid(
            field,
            "only printable ASCII, no spaces or control characters",
        ));
    }
    Ok(())
}

/// Free text (`refund_reason`, `subject`, ...): at most `max` characters, no control
/// characters.
pub(crate) fn text(field: &'static str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.chars().count() > max {
        return Err(FieldError::invalid(field, too_long(max)));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::invalid(field, "no control characters"));
    }
    Ok(())
}

/// Like [`text`], and required.
pub(crate) fn required_text(
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(FieldError::missing(field));
    }
    text(field, value, max)
}

pub(crate) fn opt<T: AsRef<str>>(
    value: Option<&T>,
    check: impl FnOnce(&str) -> Result<(), FieldError>,
) -> Result<(), FieldError> {
    value.map_or(Ok(()), |v| check(v.as_ref()))
}

/// A request amount in fen: 0.01 to 100000000.00 yuan, the gateway's range.
pub(crate) fn amount(field: &'static str, fen: u64) -> Result<(), FieldError> {
    if fen < MIN_REQUEST_FEN {
        Err(FieldError::invalid(field, "must be at least 1 fen (0.01)"))
    } else if fen > MAX_REQUEST_FEN {
        Err(FieldError::invalid(
            field,
            "must be at most 10000000000 fen (100000000.00)",
        ))
    } else {
        Ok(())
    }
}

/// A relative timeout such as `90m`: 1 to 5 digits and one of `m` (minutes), `h`, `d`, or
/// `1c` (until the end of the day).
pub(crate) fn timeout_express(field: &'static str, value: &str) -> Result<(), FieldError> {
    let ok = match value.len().checked_sub(1).map(|i| value.split_at(i)) {
        Some(("1", "c")) => true,
        Some((digits, "m" | "h" | "d")) => {
            (1..=5).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0')
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(FieldError::invalid(
            field,
            "must be a number and m, h or d (e.g. 90m), or 1c",
        ))
    }
}

fn too_long(max: usize) -> &'static str {
    match max {
        6 => "at most 6 characters",
        28 => "at most 28 characters",
        30 => "at most 30 characters",
        32 => "at most 32 characters",
        64 => "at most 64 characters",
        128 => "at most 128 characters",
        256 => "at most 256 characters",
        _ => "too long",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alipay::FieldErrorKind;

    #[test]
    fn ids() {
        assert!(id("out_request_no", "refund-1_a|b*@:.", 64).is_ok());
        assert!(id("out_request_no", &"9".repeat(64), 64).is_ok());
        assert_eq!(
            id("out_request_no", "", 64).unwrap_err().kind,
            FieldErrorKind::Missing
        );
        assert_eq!(
            id("out_request_no", &"9".repeat(65), 64).unwrap_err().kind,
            FieldErrorKind::Invalid("at most 64 characters")
        );
        for bad in ["a b", "退款1", "a\tb", "a\n"] {
            assert!(id("out_request_no", bad, 64).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn texts_and_amounts() {
        assert!(text("refund_reason", &"退".repeat(256), 256).is_ok());
        assert!(text("refund_reason", &"退".repeat(257), 256).is_err());
        assert!(text("refund_reason", "a\u{7}", 256).is_err());
        assert!(required_text("subject", "", 256).is_err());
        assert!(amount("refund_amount", 0).is_err());
        assert!(amount("refund_amount", 1).is_ok());
        assert!(amount("refund_amount", 10_000_000_000).is_ok());
        assert!(amount("refund_amount", 10_000_000_001).is_err());
    }

    #[test]
    fn timeouts() {
        for good in ["90m", "1m", "15d", "2h", "1c", "99999m"] {
            assert!(timeout_express("timeout_express", good).is_ok(), "{good}");
        }
        for bad in ["", "m", "90", "0m", "2c", "100000m", "1.5h", "90M"] {
            assert!(timeout_express("timeout_express", bad).is_err(), "{bad}");
        }
    }
}
