//! Form/query decoding, the query+body merge (spec §1.3) and the common-parameter checks
//! with their exact isv.* sub_codes (spec §1.2).

use crate::support::pairs;
use paysandbox_protocol::alipay::{
    Charset, CommonParams, ConflictingParam, FormError, GatewayCode, Method, SignType, SubCode,
    Timestamp, encode_urlencoded, merge_params, parse_urlencoded,
};
use proptest::prelude::*;

#[test]
fn urlencoded_decoding_rules() {
    let got = parse_urlencoded(
        b"a=1&b=x+y&sign=ab%2Bcd%2F%3D&empty=&flag&&c=%E9%80%80%E6%AC%BE&d=a%26b%3Dc&e=%e4%b8%ad&f==",
    )
    .unwrap();
    assert_eq!(
        got,
        pairs(&[
            ("a", "1"),
            ("b", "x y"),
            ("sign", "ab+cd/="),
            ("empty", ""),
            ("flag", ""),
            ("c", "退款"),
            ("d", "a&b=c"),
            ("e", "中"),
            ("f", "="),
        ])
    );
    // Raw UTF-8 (not percent-encoded) passes through; keys are decoded too.
    assert_eq!(
        parse_urlencoded("k%5F1=中".as_bytes()).unwrap(),
        pairs(&[("k_1", "中")])
    );
    assert_eq!(parse_urlencoded(b"").unwrap(), vec![]);
}

#[test]
fn urlencoded_refuses_bad_escapes_and_non_utf8() {
    assert_eq!(
        parse_urlencoded(b"a=%"),
        Err(FormError::BadPercentEscape { offset: 2 })
    );
    assert_eq!(
        parse_urlencoded(b"a=1&b=%4"),
        Err(FormError::BadPercentEscape { offset: 6 })
    );
    assert_eq!(
        parse_urlencoded(b"a=%zz"),
        Err(FormError::BadPercentEscape { offset: 2 })
    );
    assert_eq!(
        parse_urlencoded(b"%g0=1"),
        Err(FormError::BadPercentEscape { offset: 0 })
    );
    // GBK "退款" percent-encoded: not UTF-8.
    assert_eq!(
        parse_urlencoded(b"reason=%CD%CB%BF%EE"),
        Err(FormError::InvalidUtf8 {
            key: "reason".into()
        })
    );
    assert!(matches!(
        parse_urlencoded(b"%FF=1"),
        Err(FormError::InvalidUtf8 { .. })
    ));
    assert!(matches!(
        parse_urlencoded(&[b'a', b'=', 0xC3]),
        Err(FormError::InvalidUtf8 { .. })
    ));
}

proptest! {
    #[test]
    fn encode_then_parse_round_trips(items in proptest::collection::vec((".{0,8}", ".{0,16}"), 0..8)) {
        let encoded = encode_urlencoded(&items);
        prop_assert_eq!(parse_urlencoded(encoded.as_bytes()).unwrap(), items);
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_urlencoded(&bytes);
    }
}

#[test]
fn merge_counts_identical_duplicates_once_and_refuses_conflicts() {
    // gopay: charset in the URL and in the body.
    let q = pairs(&[("charset", "utf-8")]);
    let b = pairs(&[("app_id", "1"), ("charset", "utf-8"), ("biz_content", "{}")]);
    assert_eq!(
        merge_params(&q, &b).unwrap(),
        pairs(&[("charset", "utf-8"), ("app_id", "1"), ("biz_content", "{}")])
    );
    let b = pairs(&[("charset", "GBK")]);
    assert_eq!(
        merge_params(&q, &b),
        Err(ConflictingParam {
            key: "charset".into()
        })
    );
    // Within one source too.
    let q = pairs(&[("a", "1"), ("a", "2")]);
    assert_eq!(
        merge_params(&q, &[]),
        Err(ConflictingParam { key: "a".into() })
    );
    let q = pairs(&[("a", "1"), ("a", "1")]);
    assert_eq!(merge_params(&q, &[]).unwrap(), pairs(&[("a", "1")]));
}

fn valid() -> Vec<(String, String)> {
    pairs(&[
        ("app_id", "2021000000000001"),
        ("method", "alipay.trade.refund"),
        ("format", "JSON"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("sign", "c2ln"),
        ("timestamp", "2026-11-23 20:15:18"),
        ("version", "1.0"),
        ("notify_url", "https://m.example/n"),
        ("app_auth_token", ""),
        (
            "biz_content",
            r#"{"out_trade_no":"T1","refund_amount":"1.00"}"#,
        ),
    ])
}

fn with(key: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = valid().into_iter().filter(|(k, _)| k != key).collect();
    if let Some(v) = value {
        p.push((key.to_owned(), v.to_owned()));
    }
    p
}

#[test]
fn valid_common_params_parse() {
    let c = CommonParams::parse(&valid()).unwrap();
    assert_eq!(c.method, Method::TradeRefund);
    assert_eq!(c.app_id, "2021000000000001");
    assert_eq!(c.charset, Charset::Utf8);
    assert_eq!(c.sign_type, SignType::Rsa2);
    assert_eq!(c.sign, "c2ln");
    assert_eq!(c.timestamp.to_string(), "2026-11-23 20:15:18");
    assert_eq!(c.version, "1.0");
    assert_eq!(c.format.as_deref(), Some("JSON"));
    assert_eq!(c.notify_url.as_deref(), Some("https://m.example/n"));
    assert_eq!(c.app_auth_token, None, "empty means absent");
    assert!(c.biz_content.unwrap().contains("T1"));
    // format is optional (fzlee, node) and case-insensitive; charset too.
    for p in [
        with("format", None),
        with("format", Some("json")),
        with("charset", Some("UTF-8")),
    ] {
        CommonParams::parse(&p).unwrap();
    }
    assert_eq!(
        CommonParams::parse(&with("charset", Some("gbk")))
            .unwrap()
            .charset,
        Charset::Gbk
    );
    for m in Method::ALL {
        assert_eq!(
            CommonParams::parse(&with("method", Some(m.as_str())))
                .unwrap()
                .method,
            m
        );
    }
}

#[test]
fn each_bad_common_param_gets_its_exact_sub_code() {
    use SubCode::*;
    type Case = (Vec<(String, String)>, SubCode, &'static str);
    let cases: Vec<Case> = vec![
        (with("method", None), IsvMissingMethod, "method"),
        (with("method", Some("")), IsvMissingMethod, "method"),
        (
            with("method", Some("alipay.trade.pay.nope")),
            IsvInvalidMethod,
            "method",
        ),
        (
            with("method", Some("ALIPAY.TRADE.REFUND")),
            IsvInvalidMethod,
            "method",
        ),
        (with("app_id", None), IsvMissingAppId, "app_id"),
        (
            with("app_id", Some(&"1".repeat(33))),
            IsvInvalidAppId,
            "app_id",
        ),
        (with("charset", None), IsvInvalidCharset, "charset"),
        (
            with("charset", Some("latin1")),
            IsvInvalidCharset,
            "charset",
        ),
        (
            with("sign_type", None),
            IsvMissingSignatureType,
            "sign_type",
        ),
        (
            with("sign_type", Some("rsa2")),
            IsvInvalidSignatureType,
            "sign_type",
        ),
        (
            with("sign_type", Some("MD5")),
            IsvInvalidSignatureType,
            "sign_type",
        ),
        (with("sign", None), IsvMissingSignature, "sign"),
        (with("sign", Some("")), IsvMissingSignature, "sign"),
        (with("timestamp", None), IsvMissingTimestamp, "timestamp"),
        (
            with("timestamp", Some("2026-11-23T20:15:18")),
            IsvInvalidTimestamp,
            "timestamp",
        ),
        (
            with("timestamp", Some("1732364118")),
            IsvInvalidTimestamp,
            "timestamp",
        ),
        (with("version", None), IsvMissingVersion, "version"),
        (with("version", Some("2.0")), IsvInvalidParameter, "version"),
        (with("format", Some("xml")), IsvInvalidFormat, "format"),
        (
            with("encrypt_type", Some("RSA")),
            IsvInvalidEncryptType,
            "encrypt_type",
        ),
    ];
    for (params, sub_code, param) in cases {
        let err = CommonParams::parse(&params).unwrap_err();
        assert_eq!((&err.sub_code, err.param), (&sub_code, param), "{param}");
    }
    // Missing → 40001, invalid → 40002.
    let err = CommonParams::parse(&with("method", None)).unwrap_err();
    assert_eq!(
        err.sub_code.gateway_code(),
        GatewayCode::MissingRequiredArguments
    );
    let err = CommonParams::parse(&with("timestamp", Some("x"))).unwrap_err();
    assert_eq!(err.sub_code.gateway_code(), GatewayCode::InvalidArguments);
    // Nothing at all: the gateway's first question is the method.
    assert_eq!(
        CommonParams::parse(&[]).unwrap_err().sub_code,
        IsvMissingMethod
    );
    // AES content encryption is accepted here; decrypting is the server's business.
    assert!(CommonParams::parse(&with("encrypt_type", Some("AES"))).is_ok());
}

#[test]
fn timestamps_are_checked_against_the_calendar() {
    for ok in [
        "2014-07-24 03:07:50",
        "2024-02-29 23:59:59",
        "2000-02-29 00:00:00",
        "1970-01-01 00:00:00",
    ] {
        assert_eq!(Timestamp::parse(ok).unwrap().to_string(), ok);
    }
    for bad in [
        "",
        "2014-07-24",
        "2014-07-24 3:07:50",
        "2014/07/24 03:07:50",
        "2014-07-24 03:07:50.123",
        "2014-07-24  03:07:5",
        "2014-13-01 00:00:00",
        "2014-00-01 00:00:00",
        "2014-04-31 00:00:00",
        "2023-02-29 00:00:00",
        "1900-02-29 00:00:00",
        "2014-07-00 00:00:00",
        "2014-07-24 24:00:00",
        "2014-07-24 23:60:00",
        "2014-07-24 23:59:60",
        "２０１４-07-24 03:07:50",
        "2014-07-24 03:07:5０",
        "+014-07-24 03:07:50",
    ] {
        assert_eq!(Timestamp::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn timestamp_to_unix_seconds_at_an_offset() {
    let t = Timestamp::parse("1970-01-01 08:00:00").unwrap();
    assert_eq!(t.to_unix_seconds(8 * 3600), 0);
    // 2014-07-24 03:07:50 GMT+8 = 2014-07-23 19:07:50 UTC = 1406142470.
    let t = Timestamp::parse("2014-07-24 03:07:50").unwrap();
    assert_eq!(t.to_unix_seconds(8 * 3600), 1_406_142_470);
    assert_eq!(t.to_unix_seconds(0), 1_406_142_470 + 8 * 3600);
    let t = Timestamp::parse("2000-03-01 00:00:00").unwrap();
    assert_eq!(t.to_unix_seconds(0), 951_868_800);
}
