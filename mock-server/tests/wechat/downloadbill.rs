//! `/pay/downloadbill`: the exact text of a day's bill (ALL, SUCCESS, REFUND, gzip), the
//! availability rules on the injected clock, and every error in its own XML shape.

use paysandbox_protocol::wechat::bill::{gunzip, is_gzip, parse_bill};
use paysandbox_protocol::wechat::{Params, sign, xml};
use serde_json::{Value, json};

use crate::support::*;

/// T0 is 2023-11-15 06:13:20 in Beijing.
const DAY: &str = "20231115";

/// A sandbox without demo data but with the demo merchant, and this day:
/// - `bill-a` 10.00 paid 05:13:20, refunded 2.50 at 06:13:20;
/// - `bill-b` 6.00 with a 1.00 NO_CASH coupon, paid 05:43:20;
/// - `bill-c` 3.00 paid the day before (23:13:20), refunded in full at 06:13:20;
/// - `bill-d` unpaid.
///
/// Returns the sandbox (clock still at T0) and the seeded orders.
async fn day_of_business() -> (Sandbox, Vec<Value>) {
    let sandbox = start_with(|c| c.demo_data = false).await;
    sandbox
        .admin_post(
            "/admin/wechat/merchants",
            json!({"mch_id": MCH, "appids": [APPID], "api_key": KEY,
                   "company": paysandbox_mock_server::demo::COMPANY}),
        )
        .await;
    let mut orders = Vec::new();
    for body in [
        json!({"out_trade_no": "bill-a", "total_fee": 1000, "paid_seconds_ago": 3600}),
        json!({"out_trade_no": "bill-b", "total_fee": 600, "paid_seconds_ago": 1800,
               "coupons": [{"kind": "NO_CASH", "fee": 100}]}),
        json!({"out_trade_no": "bill-c", "total_fee": 300, "paid_seconds_ago": 25_200}),
        json!({"out_trade_no": "bill-d", "total_fee": 700, "state": "NOTPAY"}),
    ] {
        let mut body = body;
        body["mch_id"] = json!(MCH);
        orders.push(sandbox.admin_post("/admin/wechat/orders", body).await);
    }
    for (order, refund, total, fee) in [("bill-a", "r-a", 1000, 250), ("bill-c", "r-c", 300, 300)] {
        let answer = sandbox
            .call(
                "/secapi/pay/refund",
                refund_params(order, refund, total, fee),
            )
            .await;
        assert_eq!(answer.get("result_code"), Some("SUCCESS"), "{answer:?}");
    }
    (sandbox, orders)
}

/// POSTs a signed downloadbill request without a certificate; returns status, content type
/// and the raw body.
async fn download(sandbox: &Sandbox, fields: &[(&str, &str)], key: &str) -> (u16, String, Vec<u8>) {
    let mut params = base();
    for (k, v) in fields {
        params.insert_text(*k, *v);
    }
    let params = signed(params, key);
    let response = sandbox
        .https_client(ClientCert::None)
        .post(format!("{}/pay/downloadbill", sandbox.running.api_url))
        .body(xml::encode(&params))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

async fn bill_text(sandbox: &Sandbox, bill_type: &str) -> String {
    let (status, content_type, body) = download(
        sandbox,
        &[("bill_date", DAY), ("bill_type", bill_type)],
        KEY,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "text/plain; charset=utf-8",
        "{}",
        String::from_utf8_lossy(&body)
    );
    String::from_utf8(body).unwrap()
}

/// Asserts a downloadbill error: FAIL, this message and error_code, nothing else, unsigned.
fn assert_bill_error(body: &[u8], return_msg: &str, error_code: Option<&str>) {
    let params: Params = xml::decode(body).unwrap();
    assert_eq!(params.get("return_code"), Some("FAIL"), "{params:?}");
    assert_eq!(params.get("return_msg"), Some(return_msg), "{params:?}");
    assert_eq!(params.get("error_code"), error_code, "{params:?}");
    assert_eq!(params.len(), 2 + usize::from(error_code.is_some()));
}

async fn assert_error(
    sandbox: &Sandbox,
    fields: &[(&str, &str)],
    return_msg: &str,
    error_code: Option<&str>,
) {
    let (status, content_type, body) = download(sandbox, fields, KEY).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/xml; charset=utf-8");
    assert_bill_error(&body, return_msg, error_code);
}

fn tid(order: &Value) -> &str {
    order["transaction_id"].as_str().unwrap()
}

#[tokio::test]
async fn the_days_bill_in_the_exact_format() {
    let (sandbox, orders) = day_of_business().await;
    // 2023-11-16 10:00:00 in Beijing.
    sandbox.advance(100_000).await;
    let refunds = sandbox
        .admin(reqwest::Method::GET, "/admin/wechat/refunds", None)
        .await
        .1;
    let refund_id = |no: &str| {
        refunds
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["out_refund_no"] == no)
            .unwrap()["refund_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (a, b, c) = (tid(&orders[0]), tid(&orders[1]), tid(&orders[2]));
    let (ra, rc) = (refund_id("r-a"), refund_id("r-c"));
    let common = "`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI";
    let head = format!("`{APPID},`{MCH},`0,`");

    let text = bill_text(&sandbox, "ALL").await;
    let expected = [
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注".to_owned(),
        format!("`2023-11-15 05:13:20,{head},`{a},`bill-a,{common},`SUCCESS,`CFT,`CNY,`10.00,`0.00,`0,`0,`0.00,`0.00,`,`,`paysandbox demo goods,`,`0.06000,`0.60%,`10.00,`0.00,`"),
        format!("`2023-11-15 05:43:20,{head},`{b},`bill-b,{common},`SUCCESS,`CFT,`CNY,`5.00,`1.00,`0,`0,`0.00,`0.00,`,`,`paysandbox demo goods,`,`0.03000,`0.60%,`6.00,`0.00,`"),
        format!("`2023-11-15 06:13:20,{head},`{a},`bill-a,{common},`REFUND,`CFT,`CNY,`0.00,`0.00,`{ra},`r-a,`2.50,`0.00,`ORIGINAL,`SUCCESS,`paysandbox demo goods,`,`-0.02000,`0.60%,`0.00,`2.50,`"),
        format!("`2023-11-15 06:13:20,{head},`{c},`bill-c,{common},`REFUND,`CFT,`CNY,`0.00,`0.00,`{rc},`r-c,`3.00,`0.00,`ORIGINAL,`SUCCESS,`paysandbox demo goods,`,`-0.02000,`0.60%,`0.00,`3.00,`"),
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额".to_owned(),
        "`4,`15.00,`5.50,`0.00,`0.05000,`16.00,`5.50".to_owned(),
    ];
    assert_eq!(text, format!("{}\r\n", expected.join("\r\n")));

    // SUCCESS: the two payments only, 20 columns, the 7-field summary.
    let text = bill_text(&sandbox, "SUCCESS").await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].ends_with(",商品名称,商户数据包,手续费,费率,订单金额,费率备注"));
    assert_eq!(
        lines[1],
        format!(
            "`2023-11-15 05:13:20,{head},`{a},`bill-a,{common},`SUCCESS,`CFT,`CNY,`10.00,`0.00,`paysandbox demo goods,`,`0.06000,`0.60%,`10.00,`"
        )
    );
    assert_eq!(lines[4], "`2,`15.00,`0.00,`0.00,`0.09000,`16.00,`0.00");

    // REFUND: both refunds (bill-c was paid the day before), with application and success
    // times.
    let text = bill_text(&sandbox, "REFUND").await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines[1],
        format!(
            "`2023-11-15 06:13:20,{head},`{a},`bill-a,{common},`REFUND,`CFT,`CNY,`0.00,`0.00,`2023-11-15 06:13:20,`2023-11-15 06:13:30,`{ra},`r-a,`2.50,`0.00,`ORIGINAL,`SUCCESS,`paysandbox demo goods,`,`-0.02000,`0.60%,`0.00,`2.50,`"
        )
    );
    assert_eq!(lines[4], "`2,`0.00,`5.50,`0.00,`-0.04000,`0.00,`5.50");
    let parsed = parse_bill(&text).unwrap();
    assert!(parsed.rows.iter().all(|r| r.is_refund()));

    // No recharge coupon was refunded that day.
    assert_error(
        &sandbox,
        &[("bill_date", DAY), ("bill_type", "RECHARGE_REFUND")],
        "No Bill Exist",
        Some("20002"),
    )
    .await;
}

#[tokio::test]
async fn gzip_is_the_same_text_compressed() {
    let (sandbox, _) = day_of_business().await;
    sandbox.advance(100_000).await;
    let plain = bill_text(&sandbox, "ALL").await;
    let (status, content_type, body) = download(
        &sandbox,
        &[
            ("bill_date", DAY),
            ("bill_type", "ALL"),
            ("tar_type", "GZIP"),
        ],
        KEY,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/x-gzip");
    assert!(is_gzip(&body));
    assert_eq!(gunzip(&body, 1 << 20).unwrap(), plain.as_bytes());
    // bill_type defaults to ALL.
    let (_, _, body) = download(&sandbox, &[("bill_date", DAY)], KEY).await;
    assert_eq!(body, plain.as_bytes());
}

#[tokio::test]
async fn a_refund_still_processing_at_download_shows_processing() {
    let (sandbox, _) = day_of_business().await;
    // Refunds settle 10 s after T0 unless forced; force bill-c's refund closed first.
    let refunds = sandbox
        .admin(reqwest::Method::GET, "/admin/wechat/refunds", None)
        .await
        .1;
    let rc = refunds
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["out_refund_no"] == "r-c")
        .unwrap()["refund_id"]
        .as_str()
        .unwrap()
        .to_owned();
    sandbox
        .admin_post(
            &format!("/admin/wechat/refunds/{rc}/status"),
            json!({"status": "REFUNDCLOSE"}),
        )
        .await;
    sandbox.advance(100_000).await;
    let bill = parse_bill(&bill_text(&sandbox, "REFUND").await).unwrap();
    let statuses: Vec<(&str, &str, &str)> = bill
        .rows
        .iter()
        .map(|r| {
            (
                r.out_refund_no.as_str(),
                r.refund_status.as_str(),
                r.refund_success_time.as_str(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("r-a", "SUCCESS", "2023-11-15 06:13:30"),
            ("r-c", "REFUNDCLOSE", "")
        ]
    );
}

#[tokio::test]
async fn availability_follows_the_injected_clock() {
    let (sandbox, _) = day_of_business().await;
    // Today: not generated yet.
    assert_error(&sandbox, &[("bill_date", DAY)], "Bill Creating", None).await;
    // Tomorrow: a date in the future.
    assert_error(
        &sandbox,
        &[("bill_date", "20231116")],
        "data format error",
        Some("20001"),
    )
    .await;
    // 2023-11-16 08:00 in Beijing: yesterday's bill is still being made.
    sandbox.advance(92_800).await;
    assert_error(&sandbox, &[("bill_date", DAY)], "Bill Creating", None).await;
    // 09:00: ready.
    sandbox.advance(3_600).await;
    let text = bill_text(&sandbox, "ALL").await;
    assert!(text.ends_with("`4,`15.00,`5.50,`0.00,`0.05000,`16.00,`5.50\r\n"));
    // A day without a transaction.
    assert_error(
        &sandbox,
        &[("bill_date", "20231113")],
        "No Bill Exist",
        Some("20002"),
    )
    .await;
    // Three calendar months back is the limit: 2023-08-16 is still served (no bill), the
    // 15th is out of range.
    assert_error(
        &sandbox,
        &[("bill_date", "20230816")],
        "No Bill Exist",
        Some("20002"),
    )
    .await;
    assert_error(
        &sandbox,
        &[("bill_date", "20230815")],
        "data format error",
        Some("20001"),
    )
    .await;
}

#[tokio::test]
async fn every_request_error_in_the_bill_error_shape() {
    let sandbox = start().await;
    sandbox.advance(100_000).await;
    assert_error(
        &sandbox,
        &[("bill_date", "20231115"), ("bill_type", "FOO")],
        "invalid bill_type",
        None,
    )
    .await;
    for bad in ["2023111", "2023-11-15", "20231131"] {
        assert_error(
            &sandbox,
            &[("bill_date", bad)],
            "data format error",
            Some("20001"),
        )
        .await;
    }
    assert_error(
        &sandbox,
        &[("bill_date", "20231115"), ("tar_type", "ZIP")],
        "data format error",
        Some("20001"),
    )
    .await;
    assert_error(&sandbox, &[], "missing parameter", None).await;
    // The observed answer to sign_type=HMAC_SHA256 (underscore).
    assert_error(
        &sandbox,
        &[("bill_date", "20231115"), ("sign_type", "HMAC_SHA256")],
        "data format error",
        Some("20001"),
    )
    .await;
    // A wrong key: the observed lowercase text.
    let (_, _, body) = download(
        &sandbox,
        &[("bill_date", "20231115")],
        "wrongkey000000000000000000000000",
    )
    .await;
    assert_bill_error(&body, "sign error", Some("20001"));
    // Missing common field.
    let mut params = Params::new();
    params.insert_text("mch_id", MCH);
    params.insert_text("bill_date", "20231115");
    let (_, body) = sandbox
        .post_raw(
            &sandbox.https_client(ClientCert::None),
            "/pay/downloadbill",
            xml::encode(&params),
        )
        .await;
    assert_bill_error(body.as_bytes(), "missing parameter", None);
    // Unknown merchant.
    let mut params = base();
    params.insert_text("mch_id", "1900009999");
    params.insert_text("bill_date", "20231115");
    sign::sign_in_place(&mut params, KEY, sign::SignType::Md5);
    let (_, body) = sandbox
        .post_raw(
            &sandbox.https_client(ClientCert::None),
            "/pay/downloadbill",
            xml::encode(&params),
        )
        .await;
    assert_bill_error(body.as_bytes(), "MCHID_NOT_EXIST", None);
}

#[tokio::test]
async fn injected_faults_and_the_journal() {
    let sandbox = start().await;
    sandbox.advance(100_000).await;
    sandbox
        .fault(Fault::err_code("wechat.downloadbill", "SYSTEMERROR").count(1))
        .await;
    assert_error(&sandbox, &[("bill_date", "20231115")], "SYSTEMERROR", None).await;
    // The demo orders were paid on 2023-11-15 (Beijing): the next answer is that bill.
    let text = bill_text(&sandbox, "SUCCESS").await;
    assert!(text.contains(",`demo-order-0001,"));
    let journal = sandbox
        .admin(reqwest::Method::GET, "/admin/journal?limit=2", None)
        .await
        .1;
    let outcomes: Vec<&str> = journal
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["FAIL: SYSTEMERROR", "SUCCESS"]);
}
