//! Typed biz_content requests (field-named errors) and response nodes (spec §4, §5, §6).

use paysandbox_protocol::alipay::{
    BizContentError, BizRequest, FastpayRefundQueryRequest, FastpayRefundQueryResponse,
    FieldProblem, FundBill, Method, RefundStatus, ResponseStatus, SubCode, TradeCloseRequest,
    TradeCloseResponse, TradePrecreateRequest, TradePrecreateResponse, TradeQueryRequest,
    TradeQueryResponse, TradeRef, TradeRefundRequest, TradeRefundResponse, TradeStatus, node_json,
};
use paysandbox_protocol::money::{AmountError, Fen};

#[test]
fn refund_request_parses_the_clients_shapes() {
    // py-official (sorted keys, raw UTF-8), spec §2.1.
    let r = TradeRefundRequest::parse(
        r#"{"out_request_no":"R1","out_trade_no":"T1","refund_amount":"1.00","refund_reason":"退款"}"#,
    )
    .unwrap();
    assert_eq!(r.out_trade_no.as_deref(), Some("T1"));
    assert_eq!(r.trade_no, None);
    assert_eq!(r.refund_amount, Fen(100));
    assert_eq!(r.out_request_no.as_deref(), Some("R1"));
    assert_eq!(r.refund_reason.as_deref(), Some("退款"));
    assert_eq!(r.trade_ref(), Some(TradeRef::OutTradeNo("T1")));

    // fzlee: \u escapes. Java/PHP samples: a JSON number amount. smartwalle: empty strings.
    let r = TradeRefundRequest::parse(
        r#"{"trade_no":"2018","out_trade_no":"T1","refund_amount":200.12,"refund_reason":"\u9000\u6b3e","out_request_no":"","query_options":["refund_detail_item_list"],"goods_detail":[{"x":1}]}"#,
    )
    .unwrap();
    assert_eq!(r.refund_amount, Fen(20012));
    assert_eq!(r.refund_reason.as_deref(), Some("退款"));
    assert_eq!(r.out_request_no, None, "empty string is absent (spec §1.5)");
    assert_eq!(r.query_options, ["refund_detail_item_list"]);
    assert_eq!(
        r.trade_ref(),
        Some(TradeRef::TradeNo("2018")),
        "trade_no wins"
    );

    // Numeric ids are coerced to their text.
    let r = TradeRefundRequest::parse(r#"{"out_trade_no":25,"refund_amount":"3"}"#).unwrap();
    assert_eq!(r.out_trade_no.as_deref(), Some("25"));
    assert_eq!(r.refund_amount, Fen(300));
}

#[test]
fn refund_request_errors_name_the_field() {
    use BizContentError::*;
    let cases: Vec<(&str, BizContentError)> = vec![
        ("", Absent),
        ("  ", Absent),
        ("not json", Malformed(String::new())),
        (
            r#"{"out_trade_no":"T1","refund_amount":"1.00",}"#,
            Malformed(String::new()),
        ),
        ("[]", Malformed(String::new())),
        (
            r#"{"refund_amount":"1.00"}"#,
            MissingOneOf(&["out_trade_no", "trade_no"]),
        ),
        (
            r#"{"out_trade_no":"","trade_no":null,"refund_amount":"1.00"}"#,
            MissingOneOf(&["out_trade_no", "trade_no"]),
        ),
        (r#"{"out_trade_no":"T1"}"#, MissingField("refund_amount")),
        (
            r#"{"out_trade_no":"T1","refund_amount":""}"#,
            MissingField("refund_amount"),
        ),
        (
            r#"{"out_trade_no":"T1","refund_amount":"1.001"}"#,
            InvalidField {
                field: "refund_amount",
                problem: FieldProblem::Amount(AmountError::TooManyDecimals),
            },
        ),
        (
            r#"{"out_trade_no":"T1","refund_amount":"0"}"#,
            InvalidField {
                field: "refund_amount",
                problem: FieldProblem::Amount(AmountError::BelowMinimum),
            },
        ),
        (
            r#"{"out_trade_no":"T1","refund_amount":-1}"#,
            InvalidField {
                field: "refund_amount",
                problem: FieldProblem::Amount(AmountError::Sign),
            },
        ),
        (
            r#"{"out_trade_no":"T1","refund_amount":"abc"}"#,
            InvalidField {
                field: "refund_amount",
                problem: FieldProblem::Amount(AmountError::InvalidCharacter('a')),
            },
        ),
        (
            r#"{"out_trade_no":"T1","refund_amount":"100000000.01"}"#,
            InvalidField {
                field: "refund_amount",
                problem: FieldProblem::Amount(AmountError::AboveMaximum),
            },
        ),
        (
            r#"{"out_trade_no":"T1","refund_amount":true}"#,
            InvalidField {
                field: "refund_amount",
                problem: FieldProblem::WrongType,
            },
        ),
        (
            r#"{"out_trade_no":{"a":1},"refund_amount":"1"}"#,
            InvalidField {
                field: "out_trade_no",
                problem: FieldProblem::WrongType,
            },
        ),
        (
            r#"{"out_trade_no":"T1","refund_amount":"1","query_options":"refund_detail_item_list"}"#,
            InvalidField {
                field: "query_options",
                problem: FieldProblem::WrongType,
            },
        ),
        (
            r#"{"out_trade_no":"T1","refund_amount":"1","query_options":[1]}"#,
            InvalidField {
                field: "query_options",
                problem: FieldProblem::WrongType,
            },
        ),
    ];
    for (biz, want) in cases {
        let got = TradeRefundRequest::parse(biz).unwrap_err();
        match (&got, &want) {
            (Malformed(_), Malformed(_)) => {}
            _ => assert_eq!(got, want, "{biz}"),
        }
        assert_eq!(got.sub_code(), SubCode::AcqInvalidParameter);
    }
    // Length limits count characters, so 256 Chinese characters fit in refund_reason.
    let ok = format!(
        r#"{{"out_trade_no":"T1","refund_amount":"1","refund_reason":"{}"}}"#,
        "退".repeat(256)
    );
    assert!(TradeRefundRequest::parse(&ok).is_ok());
    let long = format!(
        r#"{{"out_trade_no":"T1","refund_amount":"1","refund_reason":"{}"}}"#,
        "退".repeat(257)
    );
    assert_eq!(
        TradeRefundRequest::parse(&long).unwrap_err(),
        InvalidField {
            field: "refund_reason",
            problem: FieldProblem::TooLong { max: 256 }
        }
    );
    let long_id = format!(
        r#"{{"out_trade_no":"{}","refund_amount":"1"}}"#,
        "9".repeat(65)
    );
    assert_eq!(
        TradeRefundRequest::parse(&long_id).unwrap_err().field(),
        Some("out_trade_no")
    );
    // sub_msg: the captured format-error text for unusable JSON, the default otherwise.
    assert_eq!(
        TradeRefundRequest::parse("x").unwrap_err().sub_msg(),
        "参数无效：参数格式错误"
    );
    assert_eq!(
        TradeRefundRequest::parse(r#"{"out_trade_no":"T1"}"#)
            .unwrap_err()
            .sub_msg(),
        "参数无效"
    );
    assert_eq!(TradeRefundRequest::parse_opt(None).unwrap_err(), Absent);
}

#[test]
fn refund_request_serialises_for_the_sdk() {
    let r = TradeRefundRequest {
        out_trade_no: Some("T1".into()),
        refund_amount: Fen(50),
        out_request_no: Some("R1".into()),
        ..Default::default()
    };
    let biz = r.to_biz_content().unwrap();
    assert_eq!(
        biz,
        r#"{"out_trade_no":"T1","refund_amount":"0.50","out_request_no":"R1"}"#
    );
    assert_eq!(TradeRefundRequest::parse(&biz).unwrap(), r);
    assert_eq!(TradeRefundRequest::METHOD, Method::TradeRefund);
}

#[test]
fn refund_query_request() {
    let q = FastpayRefundQueryRequest::parse(
        r#"{"out_trade_no":"T1","out_request_no":"R1","query_options":["gmt_refund_pay"]}"#,
    )
    .unwrap();
    assert_eq!(q.out_request_no, "R1");
    assert_eq!(q.trade_ref(), Some(TradeRef::OutTradeNo("T1")));
    assert_eq!(q.query_options, ["gmt_refund_pay"]);
    assert_eq!(
        FastpayRefundQueryRequest::parse(r#"{"out_trade_no":"T1"}"#).unwrap_err(),
        BizContentError::MissingField("out_request_no")
    );
    assert_eq!(
        FastpayRefundQueryRequest::parse(r#"{"out_request_no":"R1"}"#).unwrap_err(),
        BizContentError::MissingOneOf(&["out_trade_no", "trade_no"])
    );
    assert_eq!(
        FastpayRefundQueryRequest::parse(&q.to_biz_content().unwrap()).unwrap(),
        q
    );
}

#[test]
fn trade_query_and_close_requests() {
    let q = TradeQueryRequest::parse(r#"{"trade_no":"2018"}"#).unwrap();
    assert_eq!(q.trade_ref(), Some(TradeRef::TradeNo("2018")));
    assert!(TradeQueryRequest::parse("{}").is_err());
    let c = TradeCloseRequest::parse(r#"{"out_trade_no":"T1","operator_id":"op"}"#).unwrap();
    assert_eq!(c.operator_id.as_deref(), Some("op"));
    assert_eq!(c.trade_ref(), Some(TradeRef::OutTradeNo("T1")));
    assert_eq!(
        TradeCloseRequest::parse(r#"{"operator_id":"op"}"#).unwrap_err(),
        BizContentError::MissingOneOf(&["out_trade_no", "trade_no"])
    );
    assert_eq!(TradeCloseRequest::default().trade_ref(), None);
}

#[test]
fn precreate_request() {
    let p = TradePrecreateRequest::parse(
        r#"{"out_trade_no":"T9","total_amount":"88.88","subject":"咖啡","timeout_express":"90m"}"#,
    )
    .unwrap();
    assert_eq!(
        (p.out_trade_no.as_str(), p.total_amount, p.subject.as_str()),
        ("T9", Fen(8888), "咖啡")
    );
    assert_eq!(p.timeout_express.as_deref(), Some("90m"));
    assert_eq!(
        TradePrecreateRequest::parse(r#"{"out_trade_no":"T9","total_amount":"1"}"#).unwrap_err(),
        BizContentError::MissingField("subject")
    );
    assert_eq!(
        TradePrecreateRequest::parse(
            r#"{"out_trade_no":"T9","total_amount":"0.00","subject":"s"}"#
        )
        .unwrap_err()
        .field(),
        Some("total_amount")
    );
    assert_eq!(
        TradePrecreateRequest::parse(&p.to_biz_content().unwrap()).unwrap(),
        p
    );
}

#[test]
fn refund_response_with_detail_items_round_trips() {
    let node = TradeRefundResponse {
        status: ResponseStatus::success(),
        fund_change: Some(true),
        refund_fee: Some(Fen(150)),
        refund_detail_item_list: Some(vec![FundBill {
            amount: Fen(150),
            fund_channel: "ALIPAYACCOUNT".into(),
            fund_type: None,
            real_amount: Some(Fen(150)),
        }]),
        ..Default::default()
    };
    let json = node_json(&node).unwrap();
    assert_eq!(
        json,
        r#"{"code":"10000","msg":"Success","fund_change":"Y","refund_detail_item_list":[{"amount":"1.50","fund_channel":"ALIPAYACCOUNT","real_amount":"1.50"}],"refund_fee":"1.50"}"#
    );
    assert_eq!(
        serde_json::from_str::<TradeRefundResponse>(&json).unwrap(),
        node
    );
    // Unknown fields from the real gateway are ignored; a bad Y/N or amount is not.
    let extra = r#"{"code":"10000","msg":"Success","refund_hyb_amount":"0.00","present_refund_buyer_amount":"1.00"}"#;
    assert!(serde_json::from_str::<TradeRefundResponse>(extra).is_ok());
    assert!(
        serde_json::from_str::<TradeRefundResponse>(
            r#"{"code":"10000","msg":"Success","fund_change":"y"}"#
        )
        .is_err()
    );
    assert!(
        serde_json::from_str::<TradeRefundResponse>(
            r#"{"code":"10000","msg":"Success","refund_fee":"1.2.3"}"#
        )
        .is_err()
    );
}

#[test]
fn refund_query_response_status_and_unknown_request() {
    let done = FastpayRefundQueryResponse {
        status: ResponseStatus::success(),
        out_request_no: Some("R1".into()),
        refund_amount: Some(Fen(100)),
        refund_status: Some(RefundStatus::RefundSuccess),
        total_amount: Some(Fen(300)),
        ..Default::default()
    };
    let json = node_json(&done).unwrap();
    assert_eq!(
        json,
        r#"{"code":"10000","msg":"Success","out_request_no":"R1","refund_amount":"1.00","refund_status":"REFUND_SUCCESS","total_amount":"3.00"}"#
    );
    assert_eq!(
        serde_json::from_str::<FastpayRefundQueryResponse>(&json).unwrap(),
        done
    );
    // Unknown out_request_no: 10000 with no refund fields (spec §5.3).
    let none = FastpayRefundQueryResponse {
        out_trade_no: Some("T1".into()),
        trade_no: Some("2018".into()),
        ..Default::default()
    };
    assert_eq!(
        node_json(&none).unwrap(),
        r#"{"code":"10000","msg":"Success","out_trade_no":"T1","trade_no":"2018"}"#
    );
    let odd: FastpayRefundQueryResponse =
        serde_json::from_str(r#"{"code":"10000","msg":"Success","refund_status":"SOMETHING_NEW"}"#)
            .unwrap();
    assert_eq!(
        odd.refund_status,
        Some(RefundStatus::Other("SOMETHING_NEW".into()))
    );
}

#[test]
fn trade_query_close_precreate_responses() {
    let q = TradeQueryResponse {
        status: ResponseStatus::success(),
        out_trade_no: Some("T1".into()),
        receipt_amount: Some(Fen(0)),
        total_amount: Some(Fen(8888)),
        trade_status: Some(TradeStatus::WaitBuyerPay),
        ..Default::default()
    };
    let json = node_json(&q).unwrap();
    assert_eq!(
        json,
        r#"{"code":"10000","msg":"Success","out_trade_no":"T1","receipt_amount":"0.00","total_amount":"88.88","trade_status":"WAIT_BUYER_PAY"}"#
    );
    assert_eq!(
        serde_json::from_str::<TradeQueryResponse>(&json).unwrap(),
        q
    );
    for (wire, status, paid) in [
        ("WAIT_BUYER_PAY", TradeStatus::WaitBuyerPay, false),
        ("TRADE_SUCCESS", TradeStatus::TradeSuccess, true),
        ("TRADE_CLOSED", TradeStatus::TradeClosed, false),
        ("TRADE_FINISHED", TradeStatus::TradeFinished, true),
    ] {
        assert_eq!(TradeStatus::from_wire(wire), status);
        assert_eq!(status.as_str(), wire);
        assert_eq!(status.is_paid(), paid);
    }

    let c = TradeCloseResponse {
        status: ResponseStatus::error(SubCode::AcqTradeStatusError),
        out_trade_no: Some("T1".into()),
        trade_no: None,
    };
    assert_eq!(
        node_json(&c).unwrap(),
        r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_STATUS_ERROR","sub_msg":"交易状态非法","out_trade_no":"T1"}"#
    );
    let p = TradePrecreateResponse {
        status: ResponseStatus::success(),
        out_trade_no: Some("T9".into()),
        qr_code: Some("https://qr.alipay.com/bax0".into()),
    };
    assert_eq!(
        node_json(&p).unwrap(),
        r#"{"code":"10000","msg":"Success","out_trade_no":"T9","qr_code":"https://qr.alipay.com/bax0"}"#
    );
}
