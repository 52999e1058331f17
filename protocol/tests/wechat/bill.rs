//! Bills: the WeChat downloadbill text table and error XML (spec §7).

use paysandbox_protocol::wechat::bill::{
    Bill, BillDate, BillError, BillParseError, BillRequestError, BillRow, BillSummary, BillType,
    DownloadBillRequest, Fee, gunzip, gzip, is_gzip, parse_bill, write_bill,
};
use paysandbox_protocol::wechat::{Params, SignType, xml};

/// The WxJava test sample quoted in spec §7.2 (ALL bill, one row, its summary).
const WXJAVA_ALL: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n\
`2019-07-25 08:35:41,`WWWW,`XXXXXXXX,`0,`,`XXXXXXXXXXXXX,`XXXXXXXXXX,`XXXXXXXXXXX,`JSAPI,`SUCCESS,`PSBC_DEBIT,`CNY,`6.00,`0.00,`0,`0,`0.00,`0.00,`,`,`XXXXXX,`XXXXXXX,`0.04000,`0.60%,`6.00,`0.00,`\n\
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n\
`48,`5.76,`1.42,`0.00,`0.01000,`5.76,`1.42\n";

#[test]
fn parses_the_wxjava_sample() {
    let bill = parse_bill(WXJAVA_ALL).unwrap();
    assert_eq!(bill.rows.len(), 1);
    let row = &bill.rows[0];
    assert_eq!(row.trade_time, "2019-07-25 08:35:41");
    assert_eq!(row.appid, "WWWW");
    assert_eq!(row.sub_mch_id, "0");
    assert_eq!(row.device_info, "");
    assert_eq!(row.transaction_id, "XXXXXXXXXXXXX");
    assert_eq!(row.trade_type, "JSAPI");
    assert_eq!(row.trade_state, "SUCCESS");
    assert_eq!(row.bank_type, "PSBC_DEBIT");
    assert_eq!(row.settlement_total_fee, 600);
    assert_eq!(row.coupon_fee, 0);
    assert_eq!(row.refund_id, "0");
    assert_eq!(row.refund_status, "");
    assert_eq!(row.fee, Fee(4000));
    assert_eq!(row.rate, "0.60%");
    assert_eq!(row.total_fee, 600);
    assert_eq!(row.rate_note, "");
    assert!(!row.is_refund());
    assert_eq!(
        bill.summary,
        BillSummary {
            count: 48,
            settlement_total_fee: 576,
            settlement_refund_fee: 142,
            coupon_refund_fee: 0,
            fee: Fee(1000),
            total_fee: 576,
            refund_fee: 142,
        }
    );
    // CRLF and a BOM read the same.
    let crlf = format!("\u{feff}{}", WXJAVA_ALL.replace('\n', "\r\n"));
    assert_eq!(parse_bill(&crlf).unwrap(), bill);
}

fn payment() -> BillRow {
    BillRow {
        trade_time: "2026-11-22 10:00:00".into(),
        appid: "wx2421b1c4370ec43b".into(),
        mch_id: "1900000109".into(),
        sub_mch_id: "0".into(),
        transaction_id: "4200000001202611220000000001".into(),
        out_trade_no: "order-1".into(),
        openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
        trade_type: "JSAPI".into(),
        trade_state: "SUCCESS".into(),
        bank_type: "CMC".into(),
        fee_type: "CNY".into(),
        settlement_total_fee: 1000,
        refund_id: "0".into(),
        out_refund_no: "0".into(),
        body: "商品".into(),
        fee: Fee::from_fen(6),
        rate: "0.60%".into(),
        total_fee: 1000,
        ..BillRow::default()
    }
}

fn refund() -> BillRow {
    BillRow {
        trade_time: "2026-11-22 11:00:00".into(),
        trade_state: "REFUND".into(),
        settlement_total_fee: 0,
        total_fee: 0,
        refund_apply_time: "2026-11-22 11:00:00".into(),
        refund_success_time: "2026-11-22 11:00:10".into(),
        refund_id: "50000000012026112200000000001".into(),
        out_refund_no: "refund-1".into(),
        settlement_refund_fee: 250,
        refund_type: "ORIGINAL".into(),
        refund_status: "SUCCESS".into(),
        fee: Fee::from_fen(-2),
        refund_fee: 250,
        ..payment()
    }
}

#[test]
fn all_bill_round_trips_with_exact_lines() {
    let rows = vec![payment(), refund()];
    let bill = Bill {
        summary: BillSummary::of(&rows),
        rows,
    };
    let text = write_bill(BillType::All, &bill);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(lines[5], "");
    assert!(lines[0].starts_with("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号"));
    assert!(lines[0].ends_with("手续费,费率,订单金额,申请退款金额,费率备注"));
    assert_eq!(
        lines[1],
        "`2026-11-22 10:00:00,`wx2421b1c4370ec43b,`1900000109,`0,`,`4200000001202611220000000001,`order-1,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,`CMC,`CNY,`10.00,`0.00,`0,`0,`0.00,`0.00,`,`,`商品,`,`0.06000,`0.60%,`10.00,`0.00,`"
    );
    assert!(lines[2].contains(",`REFUND,"));
    assert!(lines[2].contains(",`-0.02000,"));
    assert_eq!(
        lines[3],
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
    );
    assert_eq!(lines[4], "`2,`10.00,`2.50,`0.00,`0.04000,`10.00,`2.50");
    let back = parse_bill(&text).unwrap();
    // ALL has no refund application / success time columns.
    let mut expected = bill.clone();
    expected.rows[1].refund_apply_time.clear();
    expected.rows[1].refund_success_time.clear();
    assert_eq!(back, expected);
}

#[test]
fn success_and_refund_bills_have_their_own_headers_and_the_seven_field_summary() {
    let rows = vec![payment()];
    let bill = Bill {
        summary: BillSummary::of(&rows),
        rows,
    };
    let text = write_bill(BillType::Success, &bill);
    let header = text.lines().next().unwrap();
    assert_eq!(
        header,
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注"
    );
    assert_eq!(text.lines().nth(1).unwrap().split(',').count(), 20);
    assert_eq!(text.lines().nth(3).unwrap().split(',').count(), 7);

    let rows = vec![refund()];
    let bill = Bill {
        summary: BillSummary::of(&rows),
        rows,
    };
    let text = write_bill(BillType::Refund, &bill);
    assert!(
        text.starts_with(
            "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号"
        )
    );
    assert_eq!(text.lines().nth(1).unwrap().split(',').count(), 29);
    assert_eq!(parse_bill(&text).unwrap(), bill);
}

#[test]
fn writer_keeps_commas_out_of_values() {
    let mut row = payment();
    row.body = "a,b".into();
    row.attach = "x\ny".into();
    let bill = Bill {
        summary: BillSummary::of(std::slice::from_ref(&row)),
        rows: vec![row],
    };
    let back = parse_bill(&write_bill(BillType::All, &bill)).unwrap();
    assert_eq!(back.rows[0].body, "a b");
    assert_eq!(back.rows[0].attach, "x y");
}

#[test]
fn parser_refuses_what_is_not_a_bill() {
    assert_eq!(
        parse_bill("<xml><return_code>FAIL</return_code></xml>"),
        Err(BillParseError::Xml)
    );
    assert_eq!(parse_bill("a\nb"), Err(BillParseError::TooShort));
    assert_eq!(
        parse_bill("x,y\n`1,`2\n`3"),
        Err(BillParseError::UnknownHeader)
    );
    let broken = WXJAVA_ALL.replace("`6.00,`0.00,`0,", "`6.0x,`0.00,`0,");
    assert!(matches!(
        parse_bill(&broken),
        Err(BillParseError::Value { line: 2, ref column, .. }) if column == "应结订单金额"
    ));
    let short = WXJAVA_ALL.replace("`0.60%,", "");
    assert!(matches!(
        parse_bill(&short),
        Err(BillParseError::FieldCount {
            line: 2,
            expected: 27,
            found: 26
        })
    ));
}

#[test]
fn fee_has_five_decimals_and_a_sign() {
    assert_eq!(Fee(4000).to_yuan5(), "0.04000");
    assert_eq!(Fee(-2000).to_yuan5(), "-0.02000");
    assert_eq!(Fee(123_456_789).to_yuan5(), "1234.56789");
    assert_eq!(Fee::parse("-0.02000"), Ok(Fee(-2000)));
    assert_eq!(Fee::parse("0.5"), Ok(Fee(50_000)));
    assert_eq!(Fee::parse("3"), Ok(Fee(300_000)));
    assert!(Fee::parse("0.000001").is_err());
    assert!(Fee::parse("-").is_err());
    assert!(Fee::parse("1e3").is_err());
    assert_eq!(Fee::from_fen(-2), Fee(-2000));
}

#[test]
fn gzip_round_trips_and_is_bounded() {
    let text = write_bill(BillType::All, &parse_bill(WXJAVA_ALL).unwrap());
    let packed = gzip(text.as_bytes());
    assert!(is_gzip(&packed));
    assert!(!is_gzip(text.as_bytes()));
    assert_eq!(gunzip(&packed, 1 << 20).unwrap(), text.as_bytes());
    assert!(gunzip(&packed, 10).is_err());
    assert!(gunzip(b"not gzip", 1 << 20).is_err());
}

#[test]
fn dates_parse_strictly_and_count_days() {
    assert_eq!(BillDate::parse("20261122"), BillDate::new(2026, 11, 22));
    assert_eq!(BillDate::parse("20240229").unwrap().day, 29);
    for bad in [
        "20230229",
        "2026112",
        "202611222",
        "2026-11-22",
        "20261322",
        "abcdefgh",
    ] {
        assert_eq!(BillDate::parse(bad), None, "{bad}");
    }
    assert_eq!(
        BillDate::parse_dashed("2026-11-22"),
        BillDate::new(2026, 11, 22)
    );
    assert_eq!(BillDate::parse_dashed("2026-11"), None);
    let d = BillDate::new(2026, 11, 22).unwrap();
    assert_eq!(d.days_since_epoch(), 20_779);
    assert_eq!(BillDate::from_days_since_epoch(20_779), Some(d));
    assert_eq!(BillDate::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
    assert_eq!(
        BillDate::from_days_since_epoch(20_779 + 10)
            .unwrap()
            .dashed(),
        "2026-12-02"
    );
}

#[test]
fn request_params_and_field_errors() {
    let request = DownloadBillRequest {
        appid: "wx2421b1c4370ec43b".into(),
        mch_id: "1900000109".into(),
        nonce_str: "abc".into(),
        sign_type: Some(SignType::HmacSha256),
        bill_date: BillDate::new(2026, 11, 22).unwrap(),
        bill_type: BillType::Refund,
        gzip: true,
    };
    let p = request.to_params();
    assert_eq!(p.get("bill_date"), Some("20261122"));
    assert_eq!(p.get("bill_type"), Some("REFUND"));
    assert_eq!(p.get("tar_type"), Some("GZIP"));
    assert_eq!(p.get("sign_type"), Some("HMAC-SHA256"));
    assert_eq!(
        DownloadBillRequest::bill_fields(&p),
        Ok((request.bill_date, BillType::Refund, true))
    );

    let with = |k: &str, v: &str| {
        let mut p = p.clone();
        p.insert_text(k, v);
        DownloadBillRequest::bill_fields(&p)
    };
    assert_eq!(with("bill_type", "FOO"), Err(BillRequestError::BadBillType));
    assert_eq!(
        with("bill_date", "2026-11-22"),
        Err(BillRequestError::BadDate)
    );
    assert_eq!(with("tar_type", "ZIP"), Err(BillRequestError::BadTarType));
    assert_eq!(with("bill_date", ""), Err(BillRequestError::MissingDate));
    assert_eq!(
        with("bill_type", ""),
        Ok((request.bill_date, BillType::All, true))
    );

    assert_eq!(
        BillRequestError::BadBillType.to_error(),
        BillError::new("invalid bill_type", None)
    );
    assert_eq!(
        BillRequestError::BadDate.to_error(),
        BillError::new("data format error", Some("20001"))
    );
}

#[test]
fn error_xml_has_error_code_and_no_sign() {
    let error = BillError::no_bill_exist();
    assert!(error.is_no_bill());
    // The body observed from the real platform (spec §7.4), give or take the newline after
    // `<xml>`.
    let body = xml::encode(&error.to_params());
    assert_eq!(
        body,
        "<xml>\n<return_code><![CDATA[FAIL]]></return_code>\n<return_msg><![CDATA[No Bill Exist]]></return_msg>\n<error_code><![CDATA[20002]]></error_code>\n</xml>"
    );
    let observed = "<xml><return_code><![CDATA[FAIL]]></return_code>\n<return_msg><![CDATA[No Bill Exist]]></return_msg>\n<error_code><![CDATA[20002]]></error_code>\n</xml>";
    let parsed = BillError::from_params(&xml::decode(observed.as_bytes()).unwrap()).unwrap();
    assert_eq!(parsed, error);
    assert!(BillError::new("NO Bill Exist", None).is_no_bill());
    assert!(!BillError::new("Bill Creating", None).is_no_bill());
    let mut ok = Params::new();
    ok.insert_text("return_code", "SUCCESS");
    assert!(BillError::from_params(&ok).is_err());
}
