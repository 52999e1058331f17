//! The response envelope (spec §3): real captures re-signed with openssl, exact node bytes,
//! awkward bodies, and refusal of malformed ones without panicking.

use crate::support::{alipay_private, alipay_public, app_public, sign_type, vectors};
use paysandbox_protocol::alipay::{
    EncodeError, EnvelopeError, FastpayRefundQueryResponse, GatewayCode, NodeKind, ResponseError,
    ResponseStatus, SignType, SignatureError, SubCode, TradeQueryResponse, TradeRefundResponse,
    encode_envelope, encode_error_response, encode_response, encode_typed_response,
    encode_unsigned_response, extract_signed_node, node_json, parse_envelope, response_key,
    sign_bytes, verify_response, verify_response_as,
};
use paysandbox_protocol::money::Fen;
use proptest::prelude::*;

const REFUND: &str = "alipay.trade.refund";

fn sign(node: &str) -> String {
    sign_bytes(node.as_bytes(), alipay_private(), SignType::Rsa2).unwrap()
}

#[test]
fn response_key_replaces_dots() {
    assert_eq!(response_key(REFUND), "alipay_trade_refund_response");
    assert_eq!(
        response_key("alipay.trade.fastpay.refund.query"),
        "alipay_trade_fastpay_refund_query_response"
    );
}

#[test]
fn captured_responses_verify_and_extract_their_exact_node() {
    let key = alipay_public();
    for v in &vectors().response_vectors {
        let (node, sign) = extract_signed_node(&v.body, &v.method).unwrap();
        assert_eq!(node, v.node, "{}", v.name);
        assert_eq!(sign.as_deref(), Some(v.sign.as_str()));
        let value = verify_response(&v.body, &v.method, &key, sign_type(&v.sign_type))
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(
            value,
            serde_json::from_str::<serde_json::Value>(&v.node).unwrap()
        );
        // Our own encoder, given the same node, emits the same body byte for byte.
        let ours = encode_response(
            &v.method,
            &v.node,
            alipay_private(),
            sign_type(&v.sign_type),
        )
        .unwrap();
        assert_eq!(ours, v.body, "{}", v.name);
        // The app key (a common mix-up, spec §9) does not verify it.
        assert!(matches!(
            verify_response(&v.body, &v.method, &app_public(), sign_type(&v.sign_type)),
            Err(ResponseError::Signature(SignatureError::Mismatch))
        ));
    }
}

fn capture(name: &str) -> &'static str {
    &vectors()
        .response_vectors
        .iter()
        .find(|v| v.name == name)
        .unwrap()
        .node
}

#[test]
fn typed_nodes_serialise_to_the_captured_bytes() {
    // Field order: code, msg, sub_code, sub_msg, then alphabetical, as in every capture.
    let success = TradeRefundResponse {
        status: ResponseStatus::success(),
        buyer_logon_id: Some("150****8675".into()),
        buyer_user_id: Some("2088702939584880".into()),
        fund_change: Some(true),
        gmt_refund_pay: Some("2018-08-01 14:16:22".into()),
        out_trade_no: Some("201881141452422".into()),
        refund_fee: Some(Fen(1)),
        send_back_fee: Some(Fen(0)),
        trade_no: Some("2018080121001004890510526853".into()),
        ..Default::default()
    };
    assert_eq!(
        node_json(&success).unwrap(),
        capture("refund_success_capture")
    );

    let failure = TradeRefundResponse {
        status: ResponseStatus::error(SubCode::AcqRefundAmtNotEqualTotal),
        out_trade_no: Some("2017082114417614181".into()),
        refund_fee: Some(Fen(0)),
        send_back_fee: Some(Fen(0)),
        ..Default::default()
    };
    assert_eq!(
        node_json(&failure).unwrap(),
        capture("refund_failure_capture")
    );

    let query = FastpayRefundQueryResponse {
        status: ResponseStatus::success(),
        out_request_no: Some("201881141452422".into()),
        out_trade_no: Some("201881141452422".into()),
        refund_amount: Some(Fen(1)),
        total_amount: Some(Fen(1)),
        trade_no: Some("2018080121001004890510526880".into()),
        ..Default::default()
    };
    assert_eq!(node_json(&query).unwrap(), capture("refund_query_capture"));

    let not_exist = TradeQueryResponse {
        status: ResponseStatus::error(SubCode::AcqTradeNotExist),
        buyer_pay_amount: Some(Fen(0)),
        invoice_amount: Some(Fen(0)),
        out_trade_no: Some("T5".into()),
        point_amount: Some(Fen(0)),
        receipt_amount: Some(Fen(0)),
        ..Default::default()
    };
    assert_eq!(
        node_json(&not_exist).unwrap(),
        capture("trade_query_not_exist_capture")
    );

    // And the captures parse back into the same values.
    let parsed: TradeRefundResponse =
        serde_json::from_str(capture("refund_success_capture")).unwrap();
    assert_eq!(parsed, success);
    let parsed: TradeRefundResponse =
        serde_json::from_str(capture("refund_failure_capture")).unwrap();
    assert_eq!(parsed, failure);
    assert_eq!(parsed.status.code, GatewayCode::BusinessFailed);
}

#[test]
fn typed_encode_then_verify_round_trips() {
    let node = TradeRefundResponse {
        status: ResponseStatus::success(),
        fund_change: Some(false),
        out_trade_no: Some("T1".into()),
        refund_fee: Some(Fen(12345)),
        ..Default::default()
    };
    for st in [SignType::Rsa2, SignType::Rsa] {
        let body = encode_typed_response(REFUND, &node, alipay_private(), st).unwrap();
        assert!(body.starts_with(
            r#"{"alipay_trade_refund_response":{"code":"10000","msg":"Success","fund_change":"N","#
        ));
        let back: TradeRefundResponse =
            verify_response_as(&body, REFUND, &alipay_public(), st).unwrap();
        assert_eq!(back, node);
    }
}

#[test]
fn extraction_works_when_sign_comes_first_and_with_whitespace() {
    let node = capture("refund_success_capture");
    let sig = sign(node);
    let bodies = [
        format!(r#"{{"sign":"{sig}","alipay_trade_refund_response":{node}}}"#),
        format!("{{ \"alipay_trade_refund_response\" :\n\t{node} ,\r\n \"sign\" : \"{sig}\" }}"),
        format!(
            r#"{{"alipay_cert_sn":"abc","sign":"{sig}","alipay_trade_refund_response":{node}}}"#
        ),
        format!(
            r#"{{"other":{{"x":[1,{{"y":"}}"}}]}},"alipay_trade_refund_response":{node},"sign":"{sig}"}}"#
        ),
    ];
    for body in &bodies {
        let (got, s) = extract_signed_node(body, REFUND).unwrap();
        assert_eq!(got, node, "{body}");
        assert_eq!(s.as_deref(), Some(sig.as_str()));
        verify_response(body, REFUND, &alipay_public(), SignType::Rsa2).unwrap();
    }
}

#[test]
fn strings_with_braces_quotes_backslashes_and_unicode_keep_exact_bytes() {
    // Pre-serialised by hand, as another server might: raw braces inside strings, a fake
    // `},"sign":"` inside a value, escapes, and non-ASCII in three forms.
    let node = r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR","sub_msg":"a}b{c \"q\" \\ \/ },\"sign\":\"x 中文 \u4e2d 😀","list":[{"k":"]}"}],"n":-1.5e3,"t":true,"z":null}"#;
    let body = encode_response(REFUND, node, alipay_private(), SignType::Rsa2).unwrap();
    let (got, _) = extract_signed_node(&body, REFUND).unwrap();
    assert_eq!(got, node);
    let value = verify_response(&body, REFUND, &alipay_public(), SignType::Rsa2).unwrap();
    assert_eq!(
        value["sub_msg"],
        "a}b{c \"q\" \\ / },\"sign\":\"x 中文 中 😀"
    );
    assert_eq!(value["list"][0]["k"], "]}");
}

#[test]
fn node_json_is_compact_raw_utf8_without_escaped_slashes_and_hides_braces() {
    let node = TradeRefundResponse {
        status: ResponseStatus::error_with_msg(
            SubCode::AcqInvalidParameter,
            "参数无效：{a/b} \"x\"",
        ),
        ..Default::default()
    };
    let json = node_json(&node).unwrap();
    assert_eq!(
        json,
        r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.INVALID_PARAMETER","sub_msg":"参数无效：\u007ba/b\u007d \"x\""}"#
    );
    // Outside the outer object there is no `{` or `}` left for a naive brace counter (fzlee).
    let inner = &json[1..json.len() - 1];
    assert!(!inner.contains('{') && !inner.contains('}'));
    let back: TradeRefundResponse = serde_json::from_str(&json).unwrap();
    assert_eq!(back, node);
}

#[test]
fn cert_mode_puts_the_serial_between_node_and_sign() {
    let node = r#"{"code":"10000","msg":"Success"}"#;
    let body = encode_envelope(
        &response_key("alipay.trade.query"),
        node,
        Some("f8c7c9"),
        Some((alipay_private(), SignType::Rsa2)),
    )
    .unwrap();
    assert!(body.starts_with(r#"{"alipay_trade_query_response":{"code":"10000","msg":"Success"},"alipay_cert_sn":"f8c7c9","sign":""#));
    let env = parse_envelope(&body, "alipay.trade.query").unwrap();
    assert_eq!(env.cert_sn.as_deref(), Some("f8c7c9"));
    assert_eq!(env.node, node);
    verify_response(
        &body,
        "alipay.trade.query",
        &alipay_public(),
        SignType::Rsa2,
    )
    .unwrap();
}

#[test]
fn unsigned_invalid_app_id_and_error_response_shapes() {
    let status = ResponseStatus::error(SubCode::IsvInvalidAppId);
    let node = node_json(&status).unwrap();
    // Spec §3.4: method node, no sign at all.
    let body = encode_unsigned_response(REFUND, &node).unwrap();
    assert_eq!(
        body,
        r#"{"alipay_trade_refund_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id","sub_msg":"无效的AppID参数"}}"#
    );
    let env = parse_envelope(&body, REFUND).unwrap();
    assert_eq!((env.kind, env.sign), (NodeKind::Method, None));
    assert_eq!(
        verify_response(&body, REFUND, &alipay_public(), SignType::Rsa2),
        Err(ResponseError::Signature(SignatureError::MissingSignature))
    );

    // Unknown method: error_response, unsigned (spec §3.4 UNCONFIRMED, §10.7).
    let node = node_json(&ResponseStatus::error(SubCode::IsvInvalidMethod)).unwrap();
    let body = encode_error_response(&node, None).unwrap();
    assert!(body.starts_with(r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-method""#));
    // Clients look for the method node, then fall back to error_response.
    let env = parse_envelope(&body, "alipay.trade.nonexistent").unwrap();
    assert_eq!(env.kind, NodeKind::Error);
    assert_eq!(env.node, node);
    // `"sign":""` (OAuth-style error_response, spec §3.4) reads as unsigned.
    let body = format!(r#"{{"error_response":{node},"alipay_cert_sn":"x","sign":""}}"#);
    assert_eq!(parse_envelope(&body, REFUND).unwrap().sign, None);
    // A signed error_response verifies like any node.
    let body = encode_error_response(&node, Some((alipay_private(), SignType::Rsa))).unwrap();
    verify_response(&body, REFUND, &alipay_public(), SignType::Rsa).unwrap();
    // The method node wins when both are present.
    let ok = r#"{"code":"10000","msg":"Success"}"#;
    let body = format!(r#"{{"error_response":{node},"alipay_trade_refund_response":{ok}}}"#);
    assert_eq!(parse_envelope(&body, REFUND).unwrap().node, ok);
}

#[test]
fn any_change_to_the_signed_bytes_fails_verification() {
    let v = &vectors().response_vectors[0];
    let key = alipay_public();
    // Same JSON value, different bytes: re-serialisation would break real clients too.
    let spaced = v
        .body
        .replacen(r#""code":"10000""#, r#""code": "10000""#, 1);
    assert_eq!(
        verify_response(&spaced, &v.method, &key, SignType::Rsa2),
        Err(ResponseError::Signature(SignatureError::Mismatch))
    );
    let tampered = v
        .body
        .replacen(r#""refund_fee":"0.01""#, r#""refund_fee":"9.01""#, 1);
    assert_eq!(
        verify_response(&tampered, &v.method, &key, SignType::Rsa2),
        Err(ResponseError::Signature(SignatureError::Mismatch))
    );
    // A typed read of the wrong shape is reported as such, after verification.
    assert!(matches!(
        verify_response_as::<Vec<u8>>(&v.body, &v.method, &key, SignType::Rsa2),
        Err(ResponseError::Shape(_))
    ));
}

#[test]
fn malformed_bodies_are_refused_with_a_reason() {
    let node = r#"{"code":"10000","msg":"Success"}"#;
    type Check = fn(&EnvelopeError) -> bool;
    let cases: Vec<(String, Check)> = vec![
        (String::new(), |e| matches!(e, EnvelopeError::Malformed(_))),
        ("not json".into(), |e| {
            matches!(e, EnvelopeError::Malformed(_))
        }),
        ("{".into(), |e| matches!(e, EnvelopeError::Malformed(_))),
        (format!(r#"{{"alipay_trade_refund_response":{node}"#), |e| {
            matches!(e, EnvelopeError::Malformed(_))
        }),
        (
            format!(r#"{{"alipay_trade_refund_response":{node}}} trailing"#),
            |e| matches!(e, EnvelopeError::Malformed(_)),
        ),
        (
            format!(r#"{{"alipay_trade_refund_response":{node},}}"#),
            |e| matches!(e, EnvelopeError::Malformed(_)),
        ),
        ("null".into(), |e| matches!(e, EnvelopeError::NotAnObject)),
        (format!("[{node}]"), |e| {
            matches!(e, EnvelopeError::NotAnObject)
        }),
        (r#""alipay_trade_refund_response""#.into(), |e| {
            matches!(e, EnvelopeError::NotAnObject)
        }),
        ("{}".into(), |e| {
            matches!(e, EnvelopeError::NodeMissing { .. })
        }),
        (
            format!(r#"{{"alipay_trade_query_response":{node}}}"#),
            |e| matches!(e, EnvelopeError::NodeMissing { .. }),
        ),
        // Encrypted nodes are strings (spec §3.6): out of scope.
        (
            r#"{"alipay_trade_refund_response":"b64cipher","sign":"x"}"#.into(),
            |e| matches!(e, EnvelopeError::NodeNotObject),
        ),
        (
            r#"{"alipay_trade_refund_response":[1],"sign":"x"}"#.into(),
            |e| matches!(e, EnvelopeError::NodeNotObject),
        ),
        (
            format!(r#"{{"alipay_trade_refund_response":{node},"sign":5}}"#),
            |e| matches!(e, EnvelopeError::SignNotString),
        ),
        (
            format!(r#"{{"alipay_trade_refund_response":{node},"alipay_cert_sn":{{}}}}"#),
            |e| matches!(e, EnvelopeError::CertSnNotString),
        ),
        (
            format!(
                r#"{{"alipay_trade_refund_response":{node},"alipay_trade_refund_response":{node},"sign":"x"}}"#
            ),
            |e| matches!(e, EnvelopeError::DuplicateKey(k) if k == "alipay_trade_refund_response"),
        ),
        (
            format!(r#"{{"alipay_trade_refund_response":{node},"sign":"a","sign":"b"}}"#),
            |e| matches!(e, EnvelopeError::DuplicateKey(k) if k == "sign"),
        ),
        // Deep nesting: the validator and the span walker are both iterative, no stack overflow.
        (
            format!(
                r#"{{"alipay_trade_refund_response":{}{}}}"#,
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
            |e| matches!(e, EnvelopeError::NodeNotObject),
        ),
        (
            format!(
                r#"{{"alipay_trade_refund_response":{{"a":{}"#,
                "[".repeat(100_000)
            ),
            |e| matches!(e, EnvelopeError::Malformed(_)),
        ),
    ];
    for (body, check) in &cases {
        let err = parse_envelope(body, REFUND).unwrap_err();
        assert!(check(&err), "{body:.80}: got {err:?}");
        assert!(verify_response(body, REFUND, &alipay_public(), SignType::Rsa2).is_err());
    }
    // A deeply nested but valid node is located; reading it as a value then fails cleanly
    // (serde_json's recursion limit) instead of overflowing the stack.
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let body = encode_response(REFUND, &deep, alipay_private(), SignType::Rsa2).unwrap();
    assert_eq!(parse_envelope(&body, REFUND).unwrap().node, deep);
    assert!(matches!(
        verify_response(&body, REFUND, &alipay_public(), SignType::Rsa2),
        Err(ResponseError::Shape(_))
    ));
    // An escaped key still names the node (JSON allows it; the key is compared decoded).
    let escaped = format!(r#"{{"alipay_trade_refund\u005fresponse":{node}}}"#);
    assert_eq!(parse_envelope(&escaped, REFUND).unwrap().node, node);
}

#[test]
fn encoder_refuses_a_node_that_is_not_an_object() {
    // Surrounding whitespace would be signed but not extracted: refused too.
    for bad in [
        "", "[]", "\"x\"", "{", "{} {}", "{\"a\":}", "1", " {}", "{}\n",
    ] {
        assert_eq!(
            encode_response(REFUND, bad, alipay_private(), SignType::Rsa2),
            Err(EncodeError::NodeNotObject),
            "{bad:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_sub_msg_survives_encode_extract_verify(msg in any::<String>(), reason in "[{}\"\\\\/a-z 中😀]{0,20}") {
        let node = TradeRefundResponse {
            status: ResponseStatus::error_with_msg(SubCode::AcqSystemError, msg),
            out_trade_no: Some(reason),
            ..Default::default()
        };
        let body = encode_typed_response(REFUND, &node, alipay_private(), SignType::Rsa2).unwrap();
        let back: TradeRefundResponse = verify_response_as(&body, REFUND, &alipay_public(), SignType::Rsa2).unwrap();
        prop_assert_eq!(back, node);
    }

    #[test]
    fn parse_envelope_never_panics(body in any::<String>()) {
        let _ = parse_envelope(&body, REFUND);
    }

    #[test]
    fn parse_envelope_never_panics_on_near_misses(
        prefix in r#"[{}\[\]",: a-z_\\]{0,12}"#,
        suffix in r#"[{}\[\]",: a-z_\\]{0,12}"#,
    ) {
        let body = format!(r#"{prefix}{{"alipay_trade_refund_response":{{"code":"10000"}}{suffix}"#);
        let _ = parse_envelope(&body, REFUND);
    }
}
