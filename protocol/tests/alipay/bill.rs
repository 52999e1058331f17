//! Bills: the Alipay trade bill CSVs and zip (spec §8), and the bill URL query.

use paysandbox_protocol::alipay::bill::{
    self as abill, TradeBill, TradeBillRow, TradeBillTotals, parse_signed_yuan, signed_yuan,
};
use paysandbox_protocol::alipay::{BillDownloadUrlQueryRequest, BizRequest, Method, SubCode};

fn trade_row() -> TradeBillRow {
    TradeBillRow {
        trade_no: "2026112222001400000000000001".into(),
        out_trade_no: "trade-1".into(),
        biz_type: abill::BIZ_TRADE.into(),
        subject: "商品".into(),
        created_at: "2026-11-22 10:00:00".into(),
        finished_at: "2026-11-22 10:00:05".into(),
        buyer_account: "csq***@sandbox.com".into(),
        total_amount: 10_000,
        receipt_amount: 10_000,
        service_fee: -60,
        ..TradeBillRow::default()
    }
}

fn refund_row() -> TradeBillRow {
    TradeBillRow {
        biz_type: abill::BIZ_REFUND.into(),
        finished_at: "2026-11-22 12:00:00".into(),
        total_amount: -2_550,
        receipt_amount: -2_550,
        refund_request_no: "refund-1".into(),
        service_fee: 15,
        ..trade_row()
    }
}

fn trade_bill() -> TradeBill {
    TradeBill {
        account: "20880000000000010156".into(),
        start: "2026年11月22日 00:00:00".into(),
        end: "2026年11月23日 00:00:00".into(),
        rows: vec![trade_row(), refund_row()],
        exported_at: "2026年11月23日 10:00:00".into(),
    }
}

#[test]
fn alipay_detail_csv_layout_and_round_trip() {
    let bill = trade_bill();
    let text = abill::write_detail(&bill);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], "#支付宝业务明细查询");
    assert_eq!(lines[1], "#账号：[20880000000000010156]");
    assert_eq!(
        lines[2],
        "#起始日期：[2026年11月22日 00:00:00]   终止日期：[2026年11月23日 00:00:00]"
    );
    assert!(lines[3].starts_with("#-") && lines[3].contains("业务明细列表"));
    assert!(lines[4].starts_with("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间"));
    assert!(lines[4].ends_with("退款批次号/请求号,服务费（元）,分润（元）,备注"));
    assert!(lines[5].starts_with("2026112222001400000000000001\t,trade-1\t,交易,商品,"));
    assert!(lines[5].contains(",100.00,100.00,"));
    assert!(lines[6].contains(",退款,"));
    assert!(lines[6].contains(",-25.50,-25.50,"));
    assert!(lines[6].contains(",refund-1,0.15,"));
    assert!(lines[7].contains("业务明细列表结束"));
    assert_eq!(
        lines[8],
        "#交易合计：1笔，商家实收共100.00元，商家优惠共0.00元"
    );
    assert_eq!(
        lines[9],
        "#退款合计：1笔，商家实收共-25.50元，商家优惠共0.00元"
    );
    assert_eq!(lines[10], "#导出时间：[2026年11月23日 10:00:00]");
    assert_eq!(abill::parse_detail(&text).unwrap(), bill);
    assert_eq!(
        TradeBillTotals::of(&bill.rows),
        TradeBillTotals {
            trade_count: 1,
            trade_receipt: 10_000,
            refund_count: 1,
            refund_receipt: -2_550,
            ..TradeBillTotals::default()
        }
    );
}

#[test]
fn alipay_zip_holds_two_gbk_csvs() {
    let bill = trade_bill();
    let zip = abill::write_zip("2088000000000001", "20261122", &bill).unwrap();
    assert!(zip.starts_with(b"PK\x03\x04"));
    assert_eq!(abill::read_zip(&zip, 1 << 20).unwrap(), bill);
    assert!(abill::read_zip(&zip, 10).is_err());
    assert!(abill::read_zip(b"not a zip", 1 << 20).is_err());

    // The detail entry is GBK: 支 is D6 A7 in GBK.
    let detail = abill::write_detail(&bill);
    let gbk = abill::to_gbk(&detail);
    assert_ne!(gbk, detail.as_bytes());
    assert!(gbk.starts_with(b"#\xD6\xA7"));
    assert_eq!(abill::from_gbk(&gbk), detail);

    let (zip_name, detail_name, summary_name) = abill::file_names("2088000000000001", "20261122");
    assert_eq!(zip_name, "20880000000000010156_20261122.csv.zip");
    assert_eq!(detail_name, "20880000000000010156_20261122_业务明细.csv");
    assert_eq!(
        summary_name,
        "20880000000000010156_20261122_业务明细(汇总).csv"
    );

    let summary = abill::write_summary(&bill);
    assert!(summary.starts_with("#支付宝业务汇总查询\r\n"));
    assert!(summary.contains("\r\n,合计,1,1,74.50,74.50,0.00,0.00,-0.45,74.05\r\n"));
}

#[test]
fn alipay_detail_parser_errors() {
    assert_eq!(
        abill::parse_detail("#支付宝业务汇总查询\n"),
        Err(abill::TradeBillError::NotDetail)
    );
    assert_eq!(
        abill::parse_detail("#支付宝业务明细查询\n#x\n"),
        Err(abill::TradeBillError::NoHeader)
    );
    let text = abill::write_detail(&trade_bill()).replace(",100.00,100.00,", ",1OO.00,100.00,");
    assert!(matches!(
        abill::parse_detail(&text),
        Err(abill::TradeBillError::Amount { line: 6, ref column, .. }) if column == "订单金额（元）"
    ));
}

#[test]
fn signed_yuan_both_ways() {
    assert_eq!(signed_yuan(-2550), "-25.50");
    assert_eq!(signed_yuan(5), "0.05");
    assert_eq!(parse_signed_yuan("-25.50"), Ok(-2550));
    assert_eq!(parse_signed_yuan(""), Ok(0));
    assert!(parse_signed_yuan("--1").is_err());
}

#[test]
fn bill_url_query_biz_content() {
    assert_eq!(
        Method::from_wire("alipay.data.dataservice.bill.downloadurl.query"),
        Some(Method::DataBillDownloadUrlQuery)
    );
    assert_eq!(
        Method::DataBillDownloadUrlQuery.response_key(),
        "alipay_data_dataservice_bill_downloadurl_query_response"
    );
    let r = BillDownloadUrlQueryRequest::parse(r#"{"bill_type":"trade","bill_date":"2026-11-22"}"#)
        .unwrap();
    assert_eq!(r.bill_type, "trade");
    assert_eq!(r.bill_date, "2026-11-22");
    assert_eq!(
        r.to_biz_content().unwrap(),
        r#"{"bill_type":"trade","bill_date":"2026-11-22"}"#
    );
    assert!(BillDownloadUrlQueryRequest::parse(r#"{"bill_type":"trade"}"#).is_err());
    assert_eq!(
        SubCode::from_wire("isp.bill_not_exist"),
        SubCode::IspBillNotExist
    );
    assert_eq!(SubCode::IspBillNotExist.gateway_code().as_str(), "40004");
    assert_eq!(
        SubCode::IsvInvalidArguments.gateway_code().as_str(),
        "40004"
    );
}
