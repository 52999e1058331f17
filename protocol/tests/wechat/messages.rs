//! Typed messages: request validation, response emission as the platform does it, and round
//! trips through sign/encode/decode/from_params.

use paysandbox_protocol::wechat::fields::{FieldError, FieldErrorKind};
use paysandbox_protocol::wechat::messages::MAX_INDEXED_COUNT;
use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::*;

const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

fn params(pairs: &[(&str, &str)]) -> Params {
    pairs.iter().copied().collect()
}

/// Encodes, decodes and checks the signature, as a client receiving the response would.
fn over_the_wire(mut p: Params, ty: SignType) -> Params {
    sign::sign_in_place(&mut p, KEY, ty);
    let back = xml::decode(xml::encode(&p).as_bytes()).unwrap();
    assert!(sign::verify(&back, KEY, ty));
    back
}

// ---- refund request -------------------------------------------------------------------

fn refund_req() -> Params {
    params(&[
        ("appid", "wx2421b1c4370ec43b"),
        ("mch_id", "10000100"),
        ("nonce_str", "6cefdb308e1e2e8aabd48cf79e546a02"),
        ("out_trade_no", "1415757673"),
        ("out_refund_no", "1415701182"),
        ("total_fee", "100"),
        ("refund_fee", "30"),
    ])
}

fn refund_err(edit: impl FnOnce(&mut Params)) -> FieldError {
    let mut p = refund_req();
    edit(&mut p);
    RefundRequest::from_params(&p).unwrap_err()
}

#[test]
fn refund_request_minimal() {
    let r = RefundRequest::from_params(&refund_req()).unwrap();
    assert_eq!(r.order_id(), Ok(OrderId::OutTradeNo("1415757673".into())));
    assert_eq!((r.total_fee, r.refund_fee), (100, 30));
    assert_eq!(r.sign_type, None);
    assert!(r.to_params().same_fields(&refund_req()));
    assert_eq!(r.to_params().kind("total_fee"), Some(ValueKind::Int));
    assert_eq!(r.to_params().get("sign"), None);
}

#[test]
fn refund_request_ignores_legacy_and_unknown_fields() {
    let mut p = refund_req();
    for (k, v) in [
        ("op_user_id", "10000100"),
        ("device_info", "WEB"),
        ("detail", "{}"),
        ("sub_appid", "wx"),
        ("sign", "X"),
    ] {
        p.insert_text(k, v);
    }
    assert_eq!(
        RefundRequest::from_params(&p),
        RefundRequest::from_params(&refund_req())
    );
}

#[test]
fn refund_request_transaction_id_wins() {
    let mut p = refund_req();
    p.insert_text("transaction_id", "4200000560202005168434734774");
    let r = RefundRequest::from_params(&p).unwrap();
    assert_eq!(
        r.order_id(),
        Ok(OrderId::TransactionId(
            "4200000560202005168434734774".into()
        ))
    );
    assert_eq!(r.out_trade_no.as_deref(), Some("1415757673"));
}

#[test]
fn refund_request_errors() {
    use FieldErrorKind::*;
    type Edit = Box<dyn FnOnce(&mut Params)>;
    let cases: Vec<(Edit, &str, FieldErrorKind)> = vec![
        (Box::new(|p| drop(p.remove("appid"))), "appid", Missing),
        (Box::new(|p| p.insert_text("appid", "")), "appid", Missing),
        (
            Box::new(|p| drop(p.remove("nonce_str"))),
            "nonce_str",
            Missing,
        ),
        (
            Box::new(|p| p.insert_text("nonce_str", "n".repeat(33))),
            "nonce_str",
            Invalid("longer than 32 characters"),
        ),
        (
            Box::new(|p| drop(p.remove("out_trade_no"))),
            "out_trade_no",
            Missing,
        ),
        (
            Box::new(|p| p.insert_text("out_trade_no", "order 1")),
            "out_trade_no",
            Invalid("allowed characters are 0-9 a-z A-Z _ - | * @"),
        ),
        (
            Box::new(|p| p.insert_text("transaction_id", "abc")),
            "transaction_id",
            Invalid("must be decimal digits"),
        ),
        (
            Box::new(|p| drop(p.remove("out_refund_no"))),
            "out_refund_no",
            Missing,
        ),
        (
            Box::new(|p| p.insert_text("out_refund_no", "a b")),
            "out_refund_no",
            Invalid("allowed characters are 0-9 a-z A-Z _ - | * @"),
        ),
        (
            Box::new(|p| drop(p.remove("total_fee"))),
            "total_fee",
            Missing,
        ),
        (
            Box::new(|p| p.insert_text("total_fee", "1.00")),
            "total_fee",
            Invalid("must be bare decimal digits"),
        ),
        (
            Box::new(|p| p.insert_text("refund_fee", "0")),
            "refund_fee",
            Invalid("must be greater than 0"),
        ),
        (
            Box::new(|p| p.insert_text("refund_fee", "-1")),
            "refund_fee",
            Invalid("must be bare decimal digits"),
        ),
        (
            Box::new(|p| p.insert_text("sign_type", "HMAC_SHA256")),
            "sign_type",
            Invalid("must be MD5 or HMAC-SHA256"),
        ),
        (
            Box::new(|p| p.insert_text("refund_account", "REFUND_SOURCE_X")),
            "refund_account",
            Invalid("unknown value"),
        ),
        (
            Box::new(|p| p.insert_text("refund_fee_type", "cny")),
            "refund_fee_type",
            Invalid("must be an ISO 4217 code such as CNY"),
        ),
        (
            Box::new(|p| p.insert_text("notify_url", "https://m.example/n?x=1")),
            "notify_url",
            Invalid("must not carry a query string"),
        ),
        (
            Box::new(|p| p.insert_text("refund_desc", "退".repeat(81))),
            "refund_desc",
            Invalid("longer than 80 characters"),
        ),
    ];
    for (edit, field, kind) in cases {
        assert_eq!(refund_err(edit), FieldError { field, kind });
    }
}

#[test]
fn refund_fee_above_total_fee_is_not_a_format_error() {
    // The platform answers it with return_code=FAIL "invalid refund_fee"; the server decides.
    let mut p = refund_req();
    p.insert_text("refund_fee", "101");
    assert!(RefundRequest::from_params(&p).is_ok());
}

#[test]
fn refund_request_round_trips_with_every_optional_field() {
    let r = RefundRequest {
        appid: "wx2421b1c4370ec43b".into(),
        mch_id: "10000100".into(),
        nonce_str: "n1".into(),
        sign_type: Some(SignType::Md5),
        transaction_id: Some("4200000560202005168434734774".into()),
        out_trade_no: Some("order_0001".into()),
        out_refund_no: "refund@1".into(),
        total_fee: 101,
        refund_fee: 1,
        refund_fee_type: Some("CNY".into()),
        refund_desc: Some("商品已售完".into()),
        refund_account: Some(RefundAccount::RechargeFunds),
        notify_url: Some("https://m.example/notify".into()),
    };
    let p = over_the_wire(r.to_params(), SignType::Md5);
    assert_eq!(p.get("sign_type"), Some("MD5"));
    assert_eq!(RefundRequest::from_params(&p), Ok(r));
}

// ---- refund query / order query requests ----------------------------------------------

fn query(extra: &[(&str, &str)]) -> Result<RefundQueryRequest, FieldError> {
    let mut p = params(&[("appid", "wx1"), ("mch_id", "10000100"), ("nonce_str", "n")]);
    for (k, v) in extra {
        p.insert_text(*k, *v);
    }
    RefundQueryRequest::from_params(&p)
}

#[test]
fn refund_query_selector_priority() {
    let all = [
        ("out_trade_no", "1415757673"),
        ("transaction_id", "4200000560202005168434734774"),
        ("out_refund_no", "r1"),
        ("refund_id", "50300604212020051600550537447"),
    ];
    let expect = [
        RefundQuerySelector::OutTradeNo("1415757673".into()),
        RefundQuerySelector::TransactionId("4200000560202005168434734774".into()),
        RefundQuerySelector::OutRefundNo("r1".into()),
        RefundQuerySelector::RefundId("50300604212020051600550537447".into()),
    ];
    for i in 0..all.len() {
        let q = query(&all[..=i]).unwrap();
        assert_eq!(q.selector(), Ok(expect[i].clone()));
    }
    // Empty values do not select.
    let q = query(&[("refund_id", ""), ("out_refund_no", "r1")]).unwrap();
    assert_eq!(
        q.selector(),
        Ok(RefundQuerySelector::OutRefundNo("r1".into()))
    );
}

#[test]
fn refund_query_without_id_or_with_bad_offset() {
    assert_eq!(query(&[]), Err(FieldError::missing("out_trade_no")));
    assert_eq!(
        query(&[("out_trade_no", "1415757673"), ("offset", "24")])
            .unwrap()
            .offset,
        Some(24)
    );
    assert_eq!(
        query(&[("out_trade_no", "1415757673"), ("offset", "-1")]),
        Err(FieldError::invalid("offset", "must be bare decimal digits"))
    );
}

#[test]
fn refund_query_request_round_trip() {
    let q = RefundQueryRequest {
        appid: "wx1".into(),
        mch_id: "10000100".into(),
        nonce_str: "n".into(),
        sign_type: Some(SignType::HmacSha256),
        refund_id: None,
        out_refund_no: None,
        transaction_id: Some("4200000560202005168434734774".into()),
        out_trade_no: None,
        offset: Some(10),
    };
    let p = over_the_wire(q.to_params(), SignType::HmacSha256);
    assert_eq!(p.kind("offset"), Some(ValueKind::Int));
    assert_eq!(RefundQueryRequest::from_params(&p), Ok(q));
}

#[test]
fn order_query_request() {
    let p = params(&[
        ("appid", "wx1"),
        ("mch_id", "1"),
        ("nonce_str", "n"),
        ("out_trade_no", "1415757673"),
        ("transaction_id", "4200000560202005168434734774"),
    ]);
    let q = OrderQueryRequest::from_params(&p).unwrap();
    assert_eq!(
        q.order_id(),
        Ok(OrderId::TransactionId(
            "4200000560202005168434734774".into()
        ))
    );
    assert!(q.to_params().same_fields(&p));
    let p = params(&[("appid", "wx1"), ("mch_id", "1"), ("nonce_str", "n")]);
    assert_eq!(
        OrderQueryRequest::from_params(&p),
        Err(FieldError::missing("out_trade_no"))
    );
}

// ---- responses --------------------------------------------------------------------------

fn header() -> ResultHeader {
    ResultHeader::success("wx2421b1c4370ec43b", "10000100", "NfsMFbUFpdbEhPXP")
}

fn refund_response() -> RefundResponse {
    RefundResponse {
        header: header(),
        transaction_id: "4008450740201411110005820873".into(),
        out_trade_no: "1415757673".into(),
        out_refund_no: "1415701182".into(),
        refund_id: "2008450740201411110000174436".into(),
        refund_channel: None,
        refund_fee: 1,
        settlement_refund_fee: None,
        total_fee: 1,
        settlement_total_fee: None,
        fee_type: None,
        cash_fee: 1,
        cash_fee_type: None,
        cash_refund_fee: Some(1),
        coupon_refund_fee: 0,
        coupons: vec![],
    }
}

#[test]
fn refund_response_emits_what_the_platform_emits() {
    let p = refund_response().to_params();
    let names: Vec<&str> = p.iter().map(|(k, _)| k).collect();
    assert_eq!(
        names,
        [
            "return_code",
            "return_msg",
            "appid",
            "mch_id",
            "nonce_str",
            "result_code",
            "transaction_id",
            "out_trade_no",
            "out_refund_no",
            "refund_id",
            "refund_channel",
            "refund_fee",
            "coupon_refund_fee",
            "total_fee",
            "cash_fee",
            "coupon_refund_count",
            "cash_refund_fee",
        ]
    );
    assert_eq!(p.get("refund_channel"), Some(""));
    assert_eq!(p.get("coupon_refund_count"), Some("0"));
    assert_eq!(p.kind("coupon_refund_fee"), Some(ValueKind::Int));
    assert_eq!(p.kind("refund_id"), Some(ValueKind::Text));
    let body = xml::encode(&p);
    assert!(
        body.contains("<refund_channel><![CDATA[]]></refund_channel>\n<refund_fee>1</refund_fee>"),
        "{body}"
    );
}

#[test]
fn refund_response_with_coupons_round_trips() {
    let mut r = refund_response();
    r.refund_fee = 552;
    r.settlement_refund_fee = Some(551);
    r.total_fee = 552;
    r.settlement_total_fee = Some(551);
    r.fee_type = Some("CNY".into());
    r.cash_fee = 551;
    r.cash_fee_type = Some("CNY".into());
    r.cash_refund_fee = Some(551);
    r.refund_channel = Some(RefundChannel::Original);
    r.coupon_refund_fee = 1;
    r.coupons = vec![CouponRefund {
        coupon_type: Some(CouponType::NoCash),
        coupon_refund_id: "10000".into(),
        coupon_refund_fee: 1,
    }];
    let p = over_the_wire(r.to_params(), SignType::Md5);
    assert_eq!(p.get("coupon_type_0"), Some("NO_CASH"));
    assert_eq!(p.get("coupon_refund_id_0"), Some("10000"));
    assert_eq!(p.get("coupon_refund_fee_0"), Some("1"));
    assert_eq!(p.get("coupon_refund_count"), Some("1"));
    assert_eq!(RefundResponse::from_params(&p), Ok(r));
}

fn refund_query_response() -> RefundQueryResponse {
    RefundQueryResponse {
        header: header(),
        transaction_id: "1008450740201411110005820873".into(),
        out_trade_no: "1415757673".into(),
        total_fee: 1000,
        settlement_total_fee: Some(997),
        fee_type: Some("CNY".into()),
        cash_fee: 997,
        total_refund_count: Some(2),
        refund_fee: Some(400),
        coupon_refund_fee: Some(3),
        refunds: vec![
            RefundRecord {
                out_refund_no: "r-0".into(),
                refund_id: "50300604212020051600550537447".into(),
                refund_channel: Some(RefundChannel::Original),
                refund_fee: 100,
                settlement_refund_fee: Some(100),
                coupon_refund_fee: 0,
                coupons: vec![],
                refund_status: RefundStatus::Success,
                refund_account: Some(RefundAccount::UnsettledFunds),
                refund_recv_accout: Some("支付用户零钱".into()),
                refund_success_time: Some("2016-07-25 15:26:26".into()),
            },
            RefundRecord {
                out_refund_no: "r-1".into(),
                refund_id: "50300604212020051600550537448".into(),
                refund_channel: None,
                refund_fee: 300,
                settlement_refund_fee: Some(297),
                coupon_refund_fee: 3,
                coupons: vec![
                    CouponRefund {
                        coupon_type: Some(CouponType::NoCash),
                        coupon_refund_id: "c-a".into(),
                        coupon_refund_fee: 1,
                    },
                    CouponRefund {
                        coupon_type: Some(CouponType::Cash),
                        coupon_refund_id: "c-b".into(),
                        coupon_refund_fee: 2,
                    },
                ],
                refund_status: RefundStatus::Processing,
                refund_account: None,
                refund_recv_accout: Some("招商银行信用卡0403".into()),
                refund_success_time: None,
            },
        ],
    }
}

#[test]
fn refund_query_response_two_refunds_one_with_two_coupons_round_trips() {
    let r = refund_query_response();
    let p = over_the_wire(r.to_params(), SignType::HmacSha256);
    for (name, value) in [
        ("refund_count", "2"),
        ("total_refund_count", "2"),
        ("refund_fee", "400"),
        ("coupon_refund_fee", "3"),
        ("out_refund_no_0", "r-0"),
        ("refund_status_0", "SUCCESS"),
        ("refund_success_time_0", "2016-07-25 15:26:26"),
        ("coupon_refund_count_0", "0"),
        ("coupon_refund_fee_0", "0"),
        ("refund_channel_1", ""),
        ("refund_status_1", "PROCESSING"),
        ("coupon_refund_count_1", "2"),
        ("coupon_refund_fee_1", "3"),
        ("coupon_type_1_0", "NO_CASH"),
        ("coupon_refund_id_1_0", "c-a"),
        ("coupon_refund_fee_1_0", "1"),
        ("coupon_type_1_1", "CASH"),
        ("coupon_refund_id_1_1", "c-b"),
        ("coupon_refund_fee_1_1", "2"),
        ("refund_recv_accout_1", "招商银行信用卡0403"),
    ] {
        assert_eq!(p.get(name), Some(value), "{name}");
    }
    assert_eq!(p.get("refund_success_time_1"), None);
    assert_eq!(p.get("refund_account_1"), None);
    assert_eq!(p.kind("coupon_refund_fee_1_1"), Some(ValueKind::Int));
    assert_eq!(RefundQueryResponse::from_params(&p), Ok(r));
}

#[test]
fn refund_query_response_without_top_level_sums_parses_them_as_absent() {
    let mut r = refund_query_response();
    r.refund_fee = None;
    r.coupon_refund_fee = None;
    let p = over_the_wire(r.to_params(), SignType::Md5);
    assert_eq!(p.get("refund_fee"), None);
    assert_eq!(p.get("coupon_refund_fee"), None);
    assert_eq!(RefundQueryResponse::from_params(&p), Ok(r));
}

fn rq_params() -> Params {
    refund_query_response().to_params()
}

#[test]
fn refund_query_response_refuses_huge_counts_without_allocating() {
    let mut p = rq_params();
    p.insert_int("refund_count", MAX_INDEXED_COUNT + 1);
    assert_eq!(
        RefundQueryResponse::from_params(&p),
        Err(FieldError::invalid("refund_count", "count too large"))
    );
    p.insert_int("refund_count", u64::MAX);
    assert!(RefundQueryResponse::from_params(&p).is_err());
    let mut p = rq_params();
    p.insert_int("coupon_refund_count_1", 4_000_000_000u64);
    assert_eq!(
        RefundQueryResponse::from_params(&p),
        Err(FieldError::invalid(
            "coupon_refund_count_$n",
            "count too large"
        ))
    );
}

#[test]
fn refund_query_response_counts_drive_parsing() {
    // A count larger than the records present: the first missing record is reported.
    let mut p = rq_params();
    p.insert_int("refund_count", 3);
    assert_eq!(
        RefundQueryResponse::from_params(&p),
        Err(FieldError::missing("out_refund_no_$n"))
    );
    // Fewer: extra records are ignored.
    let mut p = rq_params();
    p.insert_int("refund_count", 1);
    assert_eq!(
        RefundQueryResponse::from_params(&p).unwrap().refunds.len(),
        1
    );
    // A coupon announced but absent.
    let mut p = rq_params();
    p.insert_int("coupon_refund_count_1", 3);
    assert_eq!(
        RefundQueryResponse::from_params(&p),
        Err(FieldError::missing("coupon_refund_id_$n_$m"))
    );
    // refund_count itself is required.
    let mut p = rq_params();
    p.remove("refund_count");
    assert_eq!(
        RefundQueryResponse::from_params(&p),
        Err(FieldError::missing("refund_count"))
    );
}

#[test]
fn refund_query_response_refuses_unknown_status() {
    let mut p = rq_params();
    p.insert_text("refund_status_1", "NOTSURE");
    assert_eq!(
        RefundQueryResponse::from_params(&p),
        Err(FieldError::invalid("refund_status_$n", "unknown value"))
    );
}

#[test]
fn refund_query_sandbox_sample_parses() {
    // Shape of the sandbox sample quoted in §8.1, with the extra fields the sandbox adds.
    let body = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg><appid><![CDATA[wx1]]></appid><mch_id><![CDATA[10000100]]></mch_id><nonce_str><![CDATA[n]]></nonce_str><sign><![CDATA[X]]></sign><result_code><![CDATA[SUCCESS]]></result_code><err_code><![CDATA[SUCCESS]]></err_code><err_code_des><![CDATA[ok]]></err_code_des><transaction_id><![CDATA[4008450740201411110005820873]]></transaction_id><out_trade_no><![CDATA[sandbox_out_trade_no]]></out_trade_no><total_fee>552</total_fee><cash_fee>551</cash_fee><cash_fee_type><![CDATA[CNY]]></cash_fee_type><rate><![CDATA[1]]></rate><refund_count>1</refund_count><out_refund_no_0><![CDATA[sandbox_out_refund_no_0]]></out_refund_no_0><refund_id_0><![CDATA[2008450740201411110000174436]]></refund_id_0><refund_fee_0>552</refund_fee_0><coupon_refund_fee_0>1</coupon_refund_fee_0><coupon_refund_count_0>1</coupon_refund_count_0><coupon_type_0_0><![CDATA[NO_CASH]]></coupon_type_0_0><coupon_refund_id_0_0><![CDATA[10000]]></coupon_refund_id_0_0><coupon_refund_fee_0_0>1</coupon_refund_fee_0_0><refund_status_0><![CDATA[SUCCESS]]></refund_status_0><refund_recv_accout_0><![CDATA[招商银行信用卡0403]]></refund_recv_accout_0></xml>";
    let r = RefundQueryResponse::from_params(&xml::decode(body.as_bytes()).unwrap()).unwrap();
    assert_eq!(r.header.err_code, Some(ErrCode::Other("SUCCESS".into())));
    assert_eq!(r.refunds.len(), 1);
    assert_eq!(
        r.refunds[0].coupons[0].coupon_type,
        Some(CouponType::NoCash)
    );
    assert_eq!(
        r.refunds[0].refund_recv_accout.as_deref(),
        Some("招商银行信用卡0403")
    );
}

#[test]
fn business_errors_are_headers() {
    let p = over_the_wire(
        ResultHeader::fail("wx1", "10000100", "n", ErrCode::RefundNotExist).to_params(),
        SignType::HmacSha256,
    );
    let h = match Envelope::from_params(&p).unwrap() {
        Envelope::Signed(h) => h,
        other => panic!("{other:?}"),
    };
    assert!(!h.is_success());
    assert_eq!(h.err_code, Some(ErrCode::RefundNotExist));
    assert_eq!(h.err_code_des.as_deref(), Some("not exist"));

    let custom =
        ResultHeader::fail("wx1", "1", "n", ErrCode::Error).with_description("订单已全额退款");
    assert_eq!(
        custom.to_params().get("err_code_des"),
        Some("订单已全额退款")
    );
}

#[test]
fn observed_irregular_error_responses_parse() {
    // REFUNDNOTEXIST with an empty appid (§1.3).
    let p = params(&[
        ("return_code", "SUCCESS"),
        ("return_msg", "OK"),
        ("appid", ""),
        ("mch_id", "1"),
        ("nonce_str", "n"),
        ("sign", "S"),
        ("result_code", "FAIL"),
        ("err_code", "REFUNDNOTEXIST"),
        ("err_code_des", "not exist"),
    ]);
    let h = ResultHeader::from_params(&p).unwrap();
    assert_eq!(h.appid, "");
    // INVALID_REQUEST without appid, mch_id or sign (§1.3).
    let p = params(&[
        ("return_code", "SUCCESS"),
        ("return_msg", "OK"),
        ("nonce_str", "n"),
        ("result_code", "FAIL"),
        ("err_code", "INVALID_REQUEST"),
        ("err_code_des", "申请退款金额超过订单可退金额"),
    ]);
    assert_eq!(
        ResultHeader::from_params(&p).unwrap().err_code,
        Some(ErrCode::InvalidRequest)
    );
}

#[test]
fn return_fail_is_unsigned_and_minimal() {
    let p = return_fail(codes::return_msg::INVALID_REFUND_FEE);
    assert_eq!(
        xml::encode(&p),
        "<xml>\n<return_code><![CDATA[FAIL]]></return_code>\n<return_msg><![CDATA[invalid refund_fee]]></return_msg>\n</xml>"
    );
    assert!(ResultHeader::from_params(&p).is_err());
}

fn paid_order() -> OrderQueryResponse {
    OrderQueryResponse {
        header: header(),
        trade_state: TradeState::Success,
        trade_state_desc: TradeState::Success.description().into(),
        out_trade_no: "1415757673".into(),
        attach: Some("a&b".into()),
        payment: Some(PaymentInfo {
            transaction_id: "1008450740201411110005820873".into(),
            device_info: None,
            openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
            is_subscribe: Some("N".into()),
            trade_type: "JSAPI".into(),
            bank_type: "CMC".into(),
            total_fee: 101,
            settlement_total_fee: Some(100),
            fee_type: Some("CNY".into()),
            cash_fee: 100,
            cash_fee_type: None,
            coupon_fee: Some(1),
            coupons: vec![OrderCoupon {
                coupon_type: Some(CouponType::NoCash),
                coupon_id: "c0".into(),
                coupon_fee: 1,
            }],
            time_end: "20141030133525".into(),
        }),
    }
}

#[test]
fn order_query_paid_round_trips() {
    let r = paid_order();
    let p = over_the_wire(r.to_params(), SignType::Md5);
    for (name, value) in [
        ("coupon_count", "1"),
        ("coupon_type_0", "NO_CASH"),
        ("coupon_id_0", "c0"),
        ("coupon_fee_0", "1"),
        ("coupon_fee", "1"),
        ("trade_state", "SUCCESS"),
        ("time_end", "20141030133525"),
    ] {
        assert_eq!(p.get(name), Some(value), "{name}");
    }
    assert_eq!(OrderQueryResponse::from_params(&p), Ok(r));
}

#[test]
fn order_query_unpaid_carries_only_state() {
    let r = OrderQueryResponse {
        header: header(),
        trade_state: TradeState::NotPay,
        trade_state_desc: TradeState::NotPay.description().into(),
        out_trade_no: "1415757673".into(),
        attach: None,
        payment: None,
    };
    let p = over_the_wire(r.to_params(), SignType::Md5);
    let names: Vec<&str> = p.iter().map(|(k, _)| k).collect();
    assert_eq!(
        names,
        [
            "return_code",
            "return_msg",
            "appid",
            "mch_id",
            "nonce_str",
            "result_code",
            "out_trade_no",
            "trade_state",
            "trade_state_desc",
            "sign"
        ]
    );
    assert_eq!(OrderQueryResponse::from_params(&p), Ok(r));
}

#[test]
fn order_query_refuses_unknown_trade_state() {
    let mut p = paid_order().to_params();
    p.insert_text("trade_state", "PAID");
    assert_eq!(
        OrderQueryResponse::from_params(&p),
        Err(FieldError::invalid("trade_state", "unknown value"))
    );
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "return_code",
        "result_code",
        "refund_count",
        "coupon_refund_count",
        "coupon_refund_count_0",
        "coupon_refund_count_1",
        "coupon_count",
        "out_refund_no_0",
        "refund_id_0",
        "refund_fee_0",
        "refund_status_0",
        "coupon_refund_id_0_0",
        "coupon_refund_fee_0_0",
        "coupon_type_0_0",
        "coupon_type_0",
        "coupon_refund_id_0",
        "coupon_refund_fee_0",
        "coupon_id_0",
        "coupon_fee_0",
        "transaction_id",
        "out_trade_no",
        "out_refund_no",
        "refund_id",
        "total_fee",
        "refund_fee",
        "cash_fee",
        "offset",
        "trade_state",
        "time_end",
        "openid",
        "trade_type",
        "bank_type",
        "appid",
        "mch_id",
        "nonce_str",
        "sign_type",
        "total_refund_count",
        "refund_channel_0",
    ];

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("SUCCESS".to_owned()),
            Just("FAIL".to_owned()),
            Just("1000".to_owned()),
            Just("1001".to_owned()),
            Just("18446744073709551616".to_owned()),
            "[0-9]{1,3}",
            "[A-Z_]{0,12}",
            ".{0,8}",
        ]
    }

    proptest! {
        #[test]
        fn from_params_never_panics(fields in proptest::collection::vec((proptest::sample::select(NAMES), value()), 0..40)) {
            let mut p = Params::new();
            for (k, v) in fields {
                p.insert_text(k, v);
            }
            let _ = Envelope::from_params(&p);
            let _ = RefundRequest::from_params(&p);
            let _ = RefundQueryRequest::from_params(&p);
            let _ = OrderQueryRequest::from_params(&p);
            let _ = RefundResponse::from_params(&p);
            let _ = RefundQueryResponse::from_params(&p);
            let _ = OrderQueryResponse::from_params(&p);
        }
    }
}
