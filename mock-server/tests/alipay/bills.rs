//! `alipay.data.dataservice.bill.downloadurl.query` and `/downloadBillFile.resource`: the
//! exact CSV lines of a seeded day, the URL's host following the request, the 30 s expiry on
//! the injected clock, monthly bills, and every error (signed, 40004).

use paysandbox_protocol::alipay::bill::{file_names, from_gbk, read_zip, zip_entries};
use serde_json::{Value, json};

use crate::support::*;

const METHOD: &str = "alipay.data.dataservice.bill.downloadurl.query";
/// The demo app's seller: `2088` + the app id's last 12 digits, then `0156`.
const ACCOUNT: &str = "20880000000000010156";

/// A sandbox without demo data but with the demo app, and this day (T0 is 2023-11-15
/// 06:13:20 in Beijing):
/// - `bill-a` 100.00 paid 05:13:20, refunded 25.00 (`r-a`) at 06:13:20;
/// - `bill-b` 8.88 `测试商品` paid 05:43:20 by `buyer@example.com`;
/// - `bill-c` 3.00 paid the day before (23:13:20), refunded in full at 06:13:20 without an
///   out_request_no (so it is `bill-c`);
/// - `bill-d` unpaid; `bill-e` 12.34 paid 2023-10-06.
///
/// Returns the sandbox (clock still at T0) and the trade numbers of a, b, c, e.
async fn day_of_business() -> (Sandbox, Vec<String>) {
    let sandbox = start_with(|c| c.demo_data = false).await;
    sandbox
        .admin_post("/admin/alipay/apps", json!({"app_id": ALIPAY_APP}))
        .await;
    let mut trade_nos = Vec::new();
    for (no, total, extra) in [
        ("bill-a", "100.00", json!({"paid_seconds_ago": 3600})),
        (
            "bill-b",
            "8.88",
            json!({"paid_seconds_ago": 1800, "subject": "测试商品",
                   "buyer_logon_id": "buyer@example.com"}),
        ),
        ("bill-c", "3.00", json!({"paid_seconds_ago": 25_200})),
        (
            "bill-d",
            "7.00",
            json!({"status": "WAIT_BUYER_PAY", "paid_seconds_ago": 600}),
        ),
        ("bill-e", "12.34", json!({"paid_seconds_ago": 40 * 86_400})),
    ] {
        let trade = sandbox.seed_trade(no, total, extra).await;
        if no != "bill-d" {
            trade_nos.push(trade["trade_no"].as_str().unwrap().to_owned());
        }
    }
    let refund = sandbox
        .alipay(
            "alipay.trade.refund",
            json!({"out_trade_no": "bill-a", "refund_amount": "25.00", "out_request_no": "r-a"}),
        )
        .await;
    assert_eq!(refund["code"], "10000", "{refund}");
    let refund = sandbox
        .alipay(
            "alipay.trade.refund",
            json!({"out_trade_no": "bill-c", "refund_amount": "3.00"}),
        )
        .await;
    assert_eq!(refund["code"], "10000", "{refund}");
    (sandbox, trade_nos)
}

/// Asks for a bill URL over HTTPS; returns the verified node.
async fn query(sandbox: &Sandbox, bill_type: &str, bill_date: &str) -> Value {
    sandbox
        .alipay(
            METHOD,
            json!({"bill_type": bill_type, "bill_date": bill_date}),
        )
        .await
}

/// GETs a URL with the sandbox CA; returns status, content type, disposition, body.
async fn fetch(sandbox: &Sandbox, url: &str) -> (u16, String, String, Vec<u8>) {
    let response = sandbox
        .https_client(ClientCert::None)
        .get(url)
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (status, content_type, disposition) = (
        response.status().as_u16(),
        header("content-type"),
        header("content-disposition"),
    );
    (
        status,
        content_type,
        disposition,
        response.bytes().await.unwrap().to_vec(),
    )
}

async fn journal(sandbox: &Sandbox, limit: usize) -> Value {
    let path = format!("/admin/journal?limit={limit}");
    let (status, value) = sandbox.admin(reqwest::Method::GET, &path, None).await;
    assert_eq!(status, 200);
    value
}

fn lines(raw: &[u8]) -> Vec<String> {
    from_gbk(raw).split("\r\n").map(str::to_owned).collect()
}

const HEADER: &str = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注";

#[tokio::test]
async fn a_seeded_day_downloads_as_the_exact_gbk_csvs() {
    let (sandbox, nos) = day_of_business().await;
    // 2023-11-16 10:00:00 in Beijing: yesterday's bill is ready.
    sandbox.advance(100_000).await;
    let node = query(&sandbox, "trade", "2023-11-15").await;
    assert_eq!(node["code"], "10000", "{node}");
    assert_eq!(node["msg"], "Success");
    let url = node["bill_download_url"].as_str().unwrap();
    let prefix = format!(
        "{}/downloadBillFile.resource?bizType=trade&userId={ACCOUNT}&fileType=csv.zip&bizDates=20231115&downloadFileName={ACCOUNT}_20231115.csv.zip&fileId=",
        sandbox.running.api_url
    );
    assert!(url.starts_with(&prefix), "{url}");
    // 2023-11-16 10:00:00 Beijing in milliseconds.
    assert!(url.contains("&timestamp=1700100000000&token="), "{url}");

    let (status, content_type, disposition, body) = fetch(&sandbox, url).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/octet-stream");
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{ACCOUNT}_20231115.csv.zip\"")
    );
    let entries = zip_entries(&body, 1 << 20).unwrap();
    let (_, detail_name, summary_name) = file_names("2088000000000001", "20231115");
    assert_eq!(detail_name, format!("{ACCOUNT}_20231115_业务明细.csv"));
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, [detail_name.as_str(), summary_name.as_str()]);
    // GBK, not UTF-8.
    assert!(String::from_utf8(entries[0].1.clone()).is_err());

    let (a, b, c) = (&nos[0], &nos[1], &nos[2]);
    let created_c = "2023-11-14 23:13:20";
    assert_eq!(
        lines(&entries[0].1),
        [
            "#支付宝业务明细查询".to_owned(),
            format!("#账号：[{ACCOUNT}]"),
            "#起始日期：[2023年11月15日 00:00:00]   终止日期：[2023年11月16日 00:00:00]".to_owned(),
            "#-----------------------------------------业务明细列表----------------------------------------".to_owned(),
            HEADER.to_owned(),
            format!("{a}\t,bill-a\t,交易,paysandbox demo goods,2023-11-15 05:13:20,2023-11-15 05:13:20,,,,,csq***@sandbox.com,100.00,100.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,-0.60,0.00,"),
            format!("{b}\t,bill-b\t,交易,测试商品,2023-11-15 05:43:20,2023-11-15 05:43:20,,,,,buyer@example.com,8.88,8.88,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,-0.05,0.00,"),
            format!("{a}\t,bill-a\t,退款,paysandbox demo goods,2023-11-15 05:13:20,2023-11-15 06:13:20,,,,,csq***@sandbox.com,-25.00,-25.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,r-a,0.15,0.00,"),
            format!("{c}\t,bill-c\t,退款,paysandbox demo goods,{created_c},2023-11-15 06:13:20,,,,,csq***@sandbox.com,-3.00,-3.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,bill-c,0.02,0.00,"),
            "#-----------------------------------------业务明细列表结束------------------------------------".to_owned(),
            "#交易合计：2笔，商家实收共108.88元，商家优惠共0.00元".to_owned(),
            "#退款合计：2笔，商家实收共-28.00元，商家优惠共0.00元".to_owned(),
            "#导出时间：[2023年11月16日 10:00:00]".to_owned(),
            String::new(),
        ]
    );
    assert_eq!(
        lines(&entries[1].1),
        [
            "#支付宝业务汇总查询".to_owned(),
            format!("#账号：[{ACCOUNT}]"),
            "#起始日期：[2023年11月15日 00:00:00]   终止日期：[2023年11月16日 00:00:00]".to_owned(),
            "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,服务费（元）,实收净额（元）".to_owned(),
            ",合计,2,2,80.88,80.88,0.00,0.00,-0.48,80.40".to_owned(),
            "#导出时间：[2023年11月16日 10:00:00]".to_owned(),
            String::new(),
        ]
    );
    // The protocol's reader agrees.
    let bill = read_zip(&body, 1 << 20).unwrap();
    assert_eq!(bill.rows.len(), 4);
    assert_eq!(bill.account, ACCOUNT);

    // The day before: bill-c's payment only.
    let node = query(&sandbox, "trade", "2023-11-14").await;
    let (_, _, _, body) = fetch(&sandbox, node["bill_download_url"].as_str().unwrap()).await;
    let bill = read_zip(&body, 1 << 20).unwrap();
    let rows: Vec<(&str, &str, i64)> = bill
        .rows
        .iter()
        .map(|r| (r.out_trade_no.as_str(), r.biz_type.as_str(), r.total_amount))
        .collect();
    assert_eq!(rows, [("bill-c", "交易", 300)]);

    // October as a monthly bill: bill-e, named by the month.
    let node = query(&sandbox, "trade", "2023-10").await;
    let url = node["bill_download_url"].as_str().unwrap();
    assert!(
        url.contains(&format!(
            "&bizDates=202310&downloadFileName={ACCOUNT}_202310.csv.zip&"
        )),
        "{url}"
    );
    let (_, _, _, body) = fetch(&sandbox, url).await;
    let bill = read_zip(&body, 1 << 20).unwrap();
    assert_eq!(bill.start, "2023年10月01日 00:00:00");
    assert_eq!(bill.end, "2023年11月01日 00:00:00");
    let rows: Vec<(&str, &str, i64)> = bill
        .rows
        .iter()
        .map(|r| (r.trade_no.as_str(), r.finished_at.as_str(), r.total_amount))
        .collect();
    assert_eq!(rows, [(nos[3].as_str(), "2023-10-06 06:13:20", 1234)]);
}

#[tokio::test]
async fn the_url_follows_the_request_and_expires_after_30_seconds() {
    let (sandbox, _) = day_of_business().await;
    sandbox.advance(100_000).await;

    // Plain HTTP, with the Host the client used (a name that resolves nowhere).
    let params = alipay_signed(
        METHOD,
        &json!({"bill_type": "trade", "bill_date": "2023-11-15"}),
    );
    let body = paysandbox_protocol::alipay::encode_urlencoded(&params);
    let response = http_client()
        .post(format!("{}/gateway.do", sandbox.running.http_url))
        .header("host", "bills.example.test:8080")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let node = verified(&response.text().await.unwrap(), METHOD);
    let url = node["bill_download_url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with("http://bills.example.test:8080/downloadBillFile.resource?"),
        "{url}"
    );
    // Over plain HTTP to the sandbox itself the same path and query work.
    let local = url.replace("http://bills.example.test:8080", &sandbox.running.http_url);
    let plain = http_client().get(&local).send().await.unwrap();
    assert_eq!(plain.status().as_u16(), 200);
    let zip = plain.bytes().await.unwrap();
    assert_eq!(read_zip(&zip, 1 << 20).unwrap().rows.len(), 4);

    // HTTPS: the URL is the listener's own address.
    let node = query(&sandbox, "trade", "2023-11-15").await;
    let url = node["bill_download_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&sandbox.running.api_url), "{url}");

    // Valid for 30 s, to the millisecond.
    sandbox.advance(30).await;
    let (status, content_type, _, body) = fetch(&sandbox, &url).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/octet-stream")
    );
    assert_eq!(read_zip(&body, 1 << 20).unwrap().rows.len(), 4);
    sandbox
        .admin_post("/admin/clock/advance", json!({"millis": 1}))
        .await;
    let expired = |(status, content_type, disposition, body): (u16, String, String, Vec<u8>)| {
        assert_eq!(status, 200);
        assert_eq!(content_type, "text/html;charset=utf-8");
        assert_eq!(disposition, "");
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("下载超时，请重新下载"), "{text}");
    };
    expired(fetch(&sandbox, &url).await);
    // The plain-HTTP link issued earlier has expired too; an unknown token, or none, likewise.
    let plain = http_client().get(&local).send().await.unwrap();
    let content_type = plain.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "text/html;charset=utf-8");
    let token_at = url.find("&token=").unwrap();
    let forged = format!(
        "{}&token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &url[..token_at]
    );
    expired(fetch(&sandbox, &forged).await);
    expired(
        fetch(
            &sandbox,
            &format!("{}/downloadBillFile.resource", sandbox.running.api_url),
        )
        .await,
    );
    // A new query gives a new link that works.
    let node = query(&sandbox, "trade", "2023-11-15").await;
    let fresh = node["bill_download_url"].as_str().unwrap();
    assert_ne!(fresh, url);
    assert_eq!(fetch(&sandbox, fresh).await.0, 200);

    // Downloads are journaled under their path.
    let journal = journal(&sandbox, 100).await;
    let outcomes: Vec<&str> = journal
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] == "/downloadBillFile.resource")
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "SUCCESS",
            "SUCCESS",
            "link expired or unknown",
            "link expired or unknown",
            "link expired or unknown",
            "link expired or unknown",
            "SUCCESS"
        ]
    );
}

#[tokio::test]
async fn every_refusal_is_a_signed_40004() {
    let (sandbox, _) = day_of_business().await;
    // At T0 (2023-11-15 06:13:20): yesterday's bill is not generated before 10:00.
    let not_exist = |node: &Value| assert_acq(node, "isp.bill_not_exist", "账单不存在");
    let invalid = |node: &Value| assert_acq(node, "isv.invalid_arguments", "入参不合法");
    not_exist(&query(&sandbox, "trade", "2023-11-14").await);
    // Today, the future, the current month, a later month.
    for date in [
        "2023-11-15",
        "2023-11-16",
        "2024-01-01",
        "2023-11",
        "2023-12",
    ] {
        invalid(&query(&sandbox, "trade", date).await);
    }
    // Not dates, or another type.
    for (bill_type, date) in [
        ("trade", "2023/11/13"),
        ("trade", "20231113"),
        ("trade", "2023-02-29"),
        ("trade", "2023-11-13 00:00:00"),
        ("TRADE", "2023-11-13"),
        ("fund", "2023-11-13"),
        // The account bill is not modelled (DEVIATIONS.md).
        ("signcustomer", "2023-11-13"),
    ] {
        invalid(&query(&sandbox, bill_type, date).await);
    }
    for biz in [
        json!({"bill_type": "trade"}),
        json!({"bill_date": "2023-11-13"}),
    ] {
        invalid(&sandbox.alipay(METHOD, biz).await);
    }
    // No business that day, or that month.
    not_exist(&query(&sandbox, "trade", "2023-11-13").await);
    not_exist(&query(&sandbox, "trade", "2023-09").await);
    // Kept 30 months: May 2021 is the oldest.
    not_exist(&query(&sandbox, "trade", "2021-05-01").await);
    invalid(&query(&sandbox, "trade", "2021-04-30").await);
    invalid(&query(&sandbox, "trade", "2021-04").await);
    // Last month's bill exists from the 4th at 10:00 (it is the 15th).
    let october = query(&sandbox, "trade", "2023-10").await;
    assert_eq!(october["code"], "10000", "{october}");

    // Injected faults reach this method too.
    sandbox
        .fault(Fault::err_code(METHOD, "isp.unknow-error").count(1))
        .await;
    let node = query(&sandbox, "trade", "2023-10").await;
    assert_eq!(node["code"], "20000", "{node}");
    assert_eq!(node["sub_code"], "isp.unknow-error");

    // A GET of the gateway (fzlee's placement) is answered the same way, and the journal says
    // why each refusal happened.
    let params = alipay_signed(
        METHOD,
        &json!({"bill_type": "trade", "bill_date": "2023-11-15"}),
    );
    let (status, _, body) = sandbox
        .alipay_raw(&sandbox.running.http_url, Placement::Get, &params)
        .await;
    assert_eq!(status, 200);
    invalid(&verified(&body, METHOD));
    let journal = journal(&sandbox, 1).await;
    assert_eq!(
        journal[0]["outcome"],
        "isv.invalid_arguments (the period is not over)"
    );
}
