//! Yuan strings ⇄ fen: accept/reject tables, formatting, the serde adapter, and round trips.

use paysandbox_protocol::money::{
    AmountError, Fen, MAX_REQUEST_FEN, format_yuan, parse_yuan, parse_yuan_unbounded,
    yuan_from_json_number,
};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[test]
fn accepts_the_forms_the_gateway_takes() {
    let table: &[(&str, u64)] = &[
        ("0.01", 1),
        ("0.1", 10),
        ("0.5", 50),
        ("0.50", 50),
        ("1", 100),
        ("1.0", 100),
        ("1.00", 100),
        ("3", 300), // Java samples send integers
        ("88.88", 8888),
        ("200.12", 20012),
        ("10.05", 1005),
        ("100000000", 10_000_000_000),
        ("100000000.00", 10_000_000_000),
        ("99999999.99", 9_999_999_999),
    ];
    for &(s, fen) in table {
        assert_eq!(parse_yuan(s), Ok(fen), "{s:?}");
        assert_eq!(Fen::from_yuan(s), Ok(Fen(fen)), "{s:?}");
    }
}

#[test]
fn rejects_everything_else_with_the_specific_rule() {
    use AmountError::*;
    let table: &[(&str, AmountError)] = &[
        ("", Empty),
        ("-1.00", Sign),
        ("+1.00", Sign),
        ("1e2", Exponent),
        ("1E2", Exponent),
        ("1.5e-1", Exponent),
        (" 1.00", Whitespace),
        ("1.00 ", Whitespace),
        ("1 .00", Whitespace),
        ("1.00\n", Whitespace),
        ("1,00", InvalidCharacter(',')),
        ("¥1", InvalidCharacter('¥')),
        ("0x10", InvalidCharacter('x')),
        ("NaN", InvalidCharacter('N')),
        ("1.0.0", MultipleDecimalPoints),
        (".5", MissingIntegerPart),
        ("1.", MissingFraction),
        (".", MissingFraction),
        ("01", LeadingZero),
        ("00.50", LeadingZero),
        ("1.001", TooManyDecimals),
        ("0.005", TooManyDecimals),
        ("1.000", TooManyDecimals), // trailing zeros count: BigDecimal scale 3
        ("0", BelowMinimum),
        ("0.00", BelowMinimum),
        ("0.0", BelowMinimum),
        ("100000000.01", AboveMaximum),
        ("100000001", AboveMaximum),
        ("184467440737095516.16", Overflow), // u64::MAX fen + 1
        ("99999999999999999999", Overflow),
    ];
    for (s, err) in table {
        assert_eq!(parse_yuan(s).as_ref(), Err(err), "{s:?}");
    }
}

#[test]
fn unbounded_parse_takes_zero_and_large_sums() {
    assert_eq!(parse_yuan_unbounded("0.00"), Ok(0));
    assert_eq!(parse_yuan_unbounded("0"), Ok(0));
    assert_eq!(
        parse_yuan_unbounded("123456789012.34"),
        Ok(12_345_678_901_234)
    );
    assert_eq!(parse_yuan_unbounded("184467440737095516.15"), Ok(u64::MAX));
    assert_eq!(parse_yuan_unbounded("-0.00"), Err(AmountError::Sign));
    assert_eq!(
        parse_yuan_unbounded("1.234"),
        Err(AmountError::TooManyDecimals)
    );
}

#[test]
fn formats_with_exactly_two_decimals() {
    let table: &[(u64, &str)] = &[
        (0, "0.00"),
        (1, "0.01"),
        (10, "0.10"),
        (99, "0.99"),
        (100, "1.00"),
        (8888, "88.88"),
        (10000, "100.00"),
        (MAX_REQUEST_FEN, "100000000.00"),
        (u64::MAX, "184467440737095516.15"),
    ];
    for &(fen, s) in table {
        assert_eq!(format_yuan(fen), s);
        assert_eq!(Fen(fen).to_yuan(), s);
        assert_eq!(Fen(fen).to_string(), s);
    }
}

#[test]
fn json_numbers_come_back_as_the_decimal_the_client_wrote() {
    let cases: &[(&str, Result<u64, AmountError>)] = &[
        ("200.12", Ok(20012)),
        ("0.1", Ok(10)),
        ("3", Ok(300)),
        ("1.10", Ok(110)),
        ("88.88", Ok(8888)),
        ("0.29", Ok(29)), // 0.29 * 100 = 28.999999999999996 in f64: no float arithmetic here
        ("1.005", Err(AmountError::TooManyDecimals)),
        ("-1", Err(AmountError::Sign)),
        ("0", Err(AmountError::BelowMinimum)),
        ("1e2", Ok(10000)),
    ];
    for (json, want) in cases {
        let n: serde_json::Number = serde_json::from_str(json).unwrap();
        assert_eq!(&parse_yuan(&yuan_from_json_number(&n)), want, "{json}");
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Amounts {
    #[serde(with = "paysandbox_protocol::money::serde_yuan")]
    total: Fen,
    #[serde(
        with = "paysandbox_protocol::money::serde_yuan::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    refunded: Option<Fen>,
}

#[test]
fn serde_adapter_writes_strings_and_reads_strings_or_numbers() {
    let a = Amounts {
        total: Fen(8888),
        refunded: Some(Fen(0)),
    };
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        r#"{"total":"88.88","refunded":"0.00"}"#
    );
    let none = Amounts {
        total: Fen(1),
        refunded: None,
    };
    assert_eq!(serde_json::to_string(&none).unwrap(), r#"{"total":"0.01"}"#);

    let read: Amounts = serde_json::from_str(r#"{"total":200.12,"refunded":null}"#).unwrap();
    assert_eq!(
        read,
        Amounts {
            total: Fen(20012),
            refunded: None
        }
    );
    let read: Amounts = serde_json::from_str(r#"{"total":"1","refunded":"0.00"}"#).unwrap();
    assert_eq!(
        read,
        Amounts {
            total: Fen(100),
            refunded: Some(Fen(0))
        }
    );

    for bad in [
        r#"{"total":"1.001"}"#,
        r#"{"total":"-1"}"#,
        r#"{"total":-1}"#,
        r#"{"total":""}"#,
        r#"{"total":true}"#,
        r#"{"total":"1","refunded":"x"}"#,
    ] {
        assert!(serde_json::from_str::<Amounts>(bad).is_err(), "{bad}");
    }
}

#[test]
fn fen_arithmetic_is_checked() {
    assert_eq!(Fen(1).checked_add(Fen(2)), Some(Fen(3)));
    assert_eq!(Fen(u64::MAX).checked_add(Fen(1)), None);
    assert_eq!(Fen(1).checked_sub(Fen(2)), None);
    assert_eq!(Fen(5).checked_sub(Fen(2)), Some(Fen(3)));
}

proptest! {
    #[test]
    fn request_range_round_trips(fen in 1u64..=MAX_REQUEST_FEN) {
        prop_assert_eq!(parse_yuan(&format_yuan(fen)), Ok(fen));
    }

    #[test]
    fn every_u64_round_trips_unbounded(fen in any::<u64>()) {
        prop_assert_eq!(parse_yuan_unbounded(&format_yuan(fen)), Ok(fen));
    }

    #[test]
    fn short_fractions_parse_to_the_same_fen(yuan in 0u64..=100_000_000, tenths in 0u64..10) {
        // "Y.T" and "Y.T0" are the same amount.
        let one = format!("{yuan}.{tenths}");
        let two = format!("{yuan}.{tenths}0");
        prop_assert_eq!(parse_yuan_unbounded(&one), parse_yuan_unbounded(&two));
        prop_assert_eq!(parse_yuan_unbounded(&one), Ok(yuan * 100 + tenths * 10));
    }

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,40}") {
        let _ = parse_yuan(&s);
    }
}
