//! Money as integer fen, and exact conversion of Alipay's yuan strings.
//!
//! Amounts never touch floating point: WeChat Pay already speaks integer fen, and Alipay's
//! decimal yuan strings (`"88.88"`) are parsed digit by digit into fen. The one place a float
//! can appear is a JSON *number* amount in an Alipay `biz_content` (the official Java/PHP
//! samples send `"refund_amount":200.12`); see [`yuan_from_json_number`] for how that is
//! brought back to its decimal text before parsing.

use std::fmt;

/// Smallest amount the Alipay gateway accepts in a request, in fen (0.01 yuan).
pub const MIN_REQUEST_FEN: u64 = 1;

/// Largest amount the Alipay gateway accepts in a request, in fen (100000000 yuan; spec §6.5
/// gives the documented range [0.01, 100000000] for `total_amount`, and refunds are bounded by it).
pub const MAX_REQUEST_FEN: u64 = 10_000_000_000;

/// An amount in fen (1/100 yuan). Integer only, so sums and comparisons are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(pub u64);

impl Fen {
    /// Zero fen.
    pub const ZERO: Fen = Fen(0);

    /// Parses an Alipay request amount (strict grammar and the gateway's range), see [`parse_yuan`].
    ///
    /// # Errors
    /// The [`AmountError`] that [`parse_yuan`] reports.
    pub fn from_yuan(s: &str) -> Result<Fen, AmountError> {
        parse_yuan(s).map(Fen)
    }

    /// The amount as an Alipay yuan string with exactly two decimals, see [`format_yuan`].
    #[must_use]
    pub fn to_yuan(self) -> String {
        format_yuan(self.0)
    }

    /// `self + other`, or `None` on overflow.
    #[must_use]
    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    /// `self - other`, or `None` if it would go below zero.
    #[must_use]
    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }
}

impl fmt::Display for Fen {
    /// Shows yuan with two decimals, the form every Alipay response uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_yuan(self.0))
    }
}

/// Why a yuan string was refused. Each variant names one rule so the gateway mock can explain
/// the rejection and tests can pin which rule fired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The string is empty.
    #[error("amount is empty")]
    Empty,
    /// A leading `+` or `-`.
    #[error("amount has a sign")]
    Sign,
    /// Scientific notation (`1e2`, `1E-2`).
    #[error("amount uses an exponent")]
    Exponent,
    /// Whitespace anywhere, including leading or trailing.
    #[error("amount contains whitespace")]
    Whitespace,
    /// Any other character that is not a digit or a single `.`.
    #[error("amount contains invalid character {0:?}")]
    InvalidCharacter(char),
    /// More than one `.`.
    #[error("amount has more than one decimal point")]
    MultipleDecimalPoints,
    /// Nothing before the `.` (`.5`).
    #[error("amount has no integer part")]
    MissingIntegerPart,
    /// Nothing after the `.` (`1.`).
    #[error("amount has a decimal point but no decimals")]
    MissingFraction,
    /// A redundant leading zero (`01.00`, `00.5`).
    #[error("amount has a leading zero")]
    LeadingZero,
    /// Three or more decimals (`1.001`): Alipay amounts have at most two.
    #[error("amount has more than two decimals")]
    TooManyDecimals,
    /// Does not fit in `u64` fen.
    #[error("amount overflows")]
    Overflow,
    /// Below 0.01 yuan (a request amount of zero).
    #[error("amount is below the minimum of 0.01")]
    BelowMinimum,
    /// Above 100000000 yuan.
    #[error("amount is above the maximum of 100000000.00")]
    AboveMaximum,
}

/// Parses an Alipay request amount (`refund_amount`, `total_amount`) into fen.
///
/// Accepted: `<int>[.<d>[<d>]]` where `<int>` is `0` or has no leading zero, i.e. `"1"`,
/// `"0.5"`, `"88.88"`, `"100.00"`, within [0.01, 100000000] yuan (spec §4.2: "at most 2
/// decimals"; §6.5: range). One decimal is accepted because the new doc says "at most 2" and
/// Java's `BigDecimal`, which the gateway is built on, reads it; the old English page's "0 or 2
/// digits" describes what it emits, not what it refuses.
///
/// UNCONFIRMED: the real gateway likely parses with `BigDecimal`, which would also take `+1`,
/// `1E2` or `01.5`. No client emits those, so the mock refuses them to surface client bugs
/// rather than guess at the gateway's exact leniency.
///
/// # Errors
/// [`AmountError`] naming the first rule broken.
pub fn parse_yuan(s: &str) -> Result<u64, AmountError> {
    let fen = parse_yuan_unbounded(s)?;
    if fen < MIN_REQUEST_FEN {
        return Err(AmountError::BelowMinimum);
    }
    if fen > MAX_REQUEST_FEN {
        return Err(AmountError::AboveMaximum);
    }
    Ok(fen)
}

/// Parses a yuan string with the same grammar as [`parse_yuan`] but without its range check:
/// response fields such as `refund_fee` and `receipt_amount` are legitimately `"0.00"`, and
/// cumulative sums are not bounded by the request limit.
///
/// # Errors
/// [`AmountError`] for a grammar violation or `u64` overflow; never the range variants.
pub fn parse_yuan_unbounded(s: &str) -> Result<u64, AmountError> {
    if s.is_empty() {
        return Err(AmountError::Empty);
    }
    // Character-class checks first so that the error names the offending rule
    // (e.g. " 1" is Whitespace, not InvalidCharacter).
    for c in s.chars() {
        match c {
            '0'..='9' | '.' => {}
            '+' | '-' => return Err(AmountError::Sign),
            'e' | 'E' => return Err(AmountError::Exponent),
            c if c.is_whitespace() => return Err(AmountError::Whitespace),
            c => return Err(AmountError::InvalidCharacter(c)),
        }
    }
    let (int_part, frac_part) = match s.split_once('.') {
        None => (s, ""),
        Some((_, rest)) if rest.contains('.') => return Err(AmountError::MultipleDecimalPoints),
        Some((i, f)) => {
            if f.is_empty() {
                return Err(AmountError::MissingFraction);
            }
            (i, f)
        }
    };
    if int_part.is_empty() {
        return Err(AmountError::MissingIntegerPart);
    }
    if int_part.len() > 1 && int_part.starts_with('0') {
        return Err(AmountError::LeadingZero);
    }
    if frac_part.len() > 2 {
        return Err(AmountError::TooManyDecimals);
    }
    let mut yuan: u64 = 0;
    for b in int_part.bytes() {
        yuan = yuan
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or(AmountError::Overflow)?;
    }
    // "0.5" is 50 fen: pad the fraction to two digits.
    let mut fen_part: u64 = 0;
    let mut digits = 0;
    for b in frac_part.bytes() {
        fen_part = fen_part * 10 + u64::from(b - b'0');
        digits += 1;
    }
    while digits < 2 {
        fen_part *= 10;
        digits += 1;
    }
    yuan.checked_mul(100)
        .and_then(|v| v.checked_add(fen_part))
        .ok_or(AmountError::Overflow)
}

/// Formats fen as yuan with exactly two decimals: `1` → `"0.01"`, `10000` → `"100.00"`.
/// This is the shape of every amount in Alipay responses and notifications (spec §3.3).
#[must_use]
pub fn format_yuan(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// Brings a JSON number amount back to decimal text for [`parse_yuan`].
///
/// serde_json (without `arbitrary_precision`) hands numbers over as `u64`, `i64` or `f64`.
/// Rust prints an `f64` with the shortest digits that round-trip, so a JSON `200.12` comes
/// back as `"200.12"` and `1.005` as `"1.005"` (then refused for its third decimal): the
/// decimal the client wrote is recovered exactly for any amount in range, without doing
/// arithmetic on the float.
#[must_use]
pub fn yuan_from_json_number(n: &serde_json::Number) -> String {
    if let Some(u) = n.as_u64() {
        u.to_string()
    } else if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(f) = n.as_f64() {
        // `{}` never uses exponent notation for f64, so the grammar sees plain digits.
        format!("{f}")
    } else {
        String::new()
    }
}

/// Serde adapter for amounts that are yuan strings on the wire and [`Fen`] in Rust.
///
/// Serialises as `"x.yy"`. Deserialises a string with [`parse_yuan_unbounded`] (responses carry
/// `"0.00"`) or, as spec §1.5 asks of request amounts, a JSON number. Request range checks
/// belong to the biz_content parsers, which report the field by name.
///
/// Use as `#[serde(with = "crate::money::serde_yuan")]` on `Fen`, or
/// `#[serde(with = "crate::money::serde_yuan::option", default, skip_serializing_if = "Option::is_none")]`
/// on `Option<Fen>`.
pub mod serde_yuan {
    use super::{Fen, format_yuan, parse_yuan_unbounded, yuan_from_json_number};
    use serde::de::{self, Deserializer, Visitor};
    use serde::ser::Serializer;
    use std::fmt;

    /// Serialises fen as a two-decimal yuan string.
    ///
    /// # Errors
    /// Only the serializer's own errors.
    pub fn serialize<S: Serializer>(fen: &Fen, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_yuan(fen.0))
    }

    /// Deserialises a yuan string or JSON number into fen.
    ///
    /// # Errors
    /// A custom error carrying the [`super::AmountError`] text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fen, D::Error> {
        d.deserialize_any(YuanVisitor)
    }

    struct YuanVisitor;

    impl YuanVisitor {
        fn parse<E: de::Error>(text: &str) -> Result<Fen, E> {
            parse_yuan_unbounded(text)
                .map(Fen)
                .map_err(|e| E::custom(format_args!("invalid yuan amount {text:?}: {e}")))
        }
    }

    impl<'de> Visitor<'de> for YuanVisitor {
        type Value = Fen;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a yuan amount such as \"88.88\"")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Fen, E> {
            Self::parse(v)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fen, E> {
            Self::parse(&yuan_from_json_number(&serde_json::Number::from(v)))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fen, E> {
            Self::parse(&yuan_from_json_number(&serde_json::Number::from(v)))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fen, E> {
            match serde_json::Number::from_f64(v) {
                Some(n) => Self::parse(&yuan_from_json_number(&n)),
                None => Err(E::custom("amount is not a finite number")),
            }
        }
    }

    /// The same adapter for `Option<Fen>`: absent or `null` is `None`.
    pub mod option {
        use super::super::Fen;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Serialises `Some` as a yuan string; pair with `skip_serializing_if = "Option::is_none"`.
        ///
        /// # Errors
        /// Only the serializer's own errors.
        pub fn serialize<S: Serializer>(fen: &Option<Fen>, s: S) -> Result<S::Ok, S::Error> {
            match fen {
                Some(f) => super::serialize(f, s),
                None => s.serialize_none(),
            }
        }

        /// Deserialises an optional yuan string or number.
        ///
        /// # Errors
        /// As [`super::deserialize`].
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Fen>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] Fen);
            Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(f)| f))
        }
    }
}
