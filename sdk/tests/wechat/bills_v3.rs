//! v3 bills through the SDK against the sandbox: a day of payments and v3 refunds, the trade
//! bill downloaded over v3 (the same bill as v2's), reconciled against records kept from v3
//! answers, a file that changed after its address was given caught by its hash, and the
//! fund-flow bill.

use std::path::PathBuf;
use std::time::Duration;

use paysandbox_sdk::reconcile::{Record, reconcile, wechat_records, wechat_v3_records};
use paysandbox_sdk::wechat::v3::{
    BillDate, BillType, Client, Error, FundFlowAccount, OrderId, RefundRequest,
};
use serde_json::{Value, json};

use crate::support::*;

fn day() -> BillDate {
    BillDate::new(2023, 11, 15).unwrap()
}

/// The demo merchant alone (no demo orders), with its APIv3 key, refunds settling only
/// after three days so their status can be forced when the test needs it.
async fn sandbox() -> Sandbox {
    let sandbox = start_with(|c| {
        c.demo_data = false;
        c.wechat_rules.settle_delay = Duration::from_secs(3 * 86_400);
    })
    .await;
    let merchant = json!({ "appids": [APPID], "api_key": KEY,
                           "company": paysandbox_mock_server::demo::COMPANY,
                           "api_v3_key": paysandbox_testkit::wechat_v3::API_V3_KEY });
    sandbox
        .admin_client()
        .create_merchant(MCH, merchant)
        .await
        .unwrap();
    sandbox
}

/// The merchant's v3 client, from the files the admin API names, trusting every platform
/// key.
async fn v3_client(sandbox: &Sandbox) -> Client {
    let view = sandbox
        .admin_get(&format!("/admin/wechat/merchants/{MCH}/v3"))
        .await;
    let path = |v: &Value| PathBuf::from(v.as_str().unwrap());
    let mut builder = Client::builder(MCH)
        .base_url(&sandbox.running.api_url)
        .public_roots(false)
        .extra_root_ca_file(&sandbox.running.ca_path)
        .merchant_key_file(path(&view["private_key_path"]))
        .serial_no(view["merchant_serial_no"].as_str().unwrap())
        .apiv3_key(paysandbox_testkit::wechat_v3::API_V3_KEY)
        .wechatpay_public_key_file(
            view["public_key_id"].as_str().unwrap(),
            path(&view["public_key_path"]),
        )
        .timeout(Duration::from_secs(5));
    for certificate in view["platform_certificates"].as_array().unwrap() {
        builder = builder.platform_certificate_file(path(&certificate["path"]));
    }
    builder.build().unwrap()
}

async fn force(sandbox: &Sandbox, refund_id: &str, status: &str) {
    sandbox
        .admin_client()
        .force_refund_status(refund_id, status)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_v3_day_reconciles_against_records_kept_from_v3_answers() {
    let sandbox = sandbox().await;
    let client = v3_client(&sandbox).await;
    for (no, fee, ago) in [
        ("v3b-p1", 1000, 3600),
        ("v3b-p2", 2500, 1800),
        ("v3b-p3", 800, 600),
    ] {
        sandbox
            .seed_order(no, fee, json!({ "paid_seconds_ago": ago }))
            .await;
    }
    let mut refund_ids = Vec::new();
    for (order, refund_no, total, amount) in [
        ("v3b-p1", "v3b-r1", 1000, 300),
        ("v3b-p2", "v3b-r2", 2500, 2500),
    ] {
        let request = RefundRequest::builder()
            .out_trade_no(order)
            .out_refund_no(refund_no)
            .refund(amount)
            .total(total)
            .build()
            .unwrap();
        refund_ids.push(client.refund(&request).await.unwrap().refund_id);
    }
    // The day is not over: the bill is being made.
    let early = client
        .trade_bill(day(), BillType::All, false)
        .await
        .unwrap_err();
    assert_eq!(early.code().map(|c| c.as_str()), Some("STATEMENT_CREATING"));
    // 2023-11-16 10:00 in Beijing; the platform closes v3b-r2 (the card was cancelled).
    sandbox.advance(100_000).await;
    force(&sandbox, &refund_ids[1], "REFUNDCLOSE").await;

    // The merchant's records, from v3 answers: order queries and refund queries.
    let mut ours = Vec::new();
    for no in ["v3b-p1", "v3b-p2", "v3b-p3"] {
        let order = client
            .order_query(&OrderId::OutTradeNo(no.to_owned()))
            .await
            .unwrap();
        ours.push(Record::v3_payment(&order).unwrap());
    }
    for no in ["v3b-r1", "v3b-r2"] {
        ours.push(Record::v3_refund(&client.refund_query(no).await.unwrap()));
    }
    assert_eq!(ours[4].status, "CLOSED");

    // The v3 bill is v2's bill, plain or gzip.
    let bill = client
        .download_trade_bill(day(), BillType::All, true)
        .await
        .unwrap();
    let v2 = sandbox
        .wechat_client()
        .download_bill(day(), BillType::All, false)
        .await
        .unwrap();
    assert_eq!(bill, v2);
    assert_eq!(
        client
            .download_trade_bill(day(), BillType::All, false)
            .await
            .unwrap(),
        bill
    );
    assert_eq!(bill.rows.len(), 5);

    // In v3's words every record matches; in v2's, the closed refund would not.
    let report = reconcile(&ours, &wechat_v3_records(&bill.rows));
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.matched, 5);
    let v2_words = reconcile(&ours, &wechat_records(&bill.rows));
    assert_eq!(v2_words.mismatched.len(), 1);
    assert_eq!(v2_words.mismatched[0].bill.status, "REFUNDCLOSE");
    // A lost record shows as missing.
    let report = reconcile(&ours[1..], &wechat_v3_records(&bill.rows));
    assert_eq!(report.missing, [Record::payment("v3b-p1", 1000, "SUCCESS")]);

    // An address given, then the file changes (v3b-r1 goes abnormal) before the download:
    // the file no longer has the hash the signed answer gave.
    let address = client
        .trade_bill(day(), BillType::Refund, false)
        .await
        .unwrap();
    force(&sandbox, &refund_ids[0], "CHANGE").await;
    match client.download_bill_file(&address).await {
        Err(Error::BillHash { expected, actual }) => {
            assert_eq!(expected, address.hash_value);
            assert_ne!(actual, expected);
        }
        other => panic!("{other:?}"),
    }
    // Asked again, it matches, and the abnormal refund reads ABNORMAL in v3's words.
    let refunds = client
        .download_trade_bill(day(), BillType::Refund, false)
        .await
        .unwrap();
    let r1 = Record::v3_refund(&client.refund_query("v3b-r1").await.unwrap());
    assert_eq!(r1.status, "ABNORMAL");
    assert!(wechat_v3_records(&refunds.rows).contains(&r1));

    // An address is good for 30 s of sandbox time.
    let address = client
        .trade_bill(day(), BillType::Success, false)
        .await
        .unwrap();
    sandbox.advance(31).await;
    let expired = client.download_bill_file(&address).await.unwrap_err();
    assert_eq!(expired.code().map(|c| c.as_str()), Some("INVALID_REQUEST"));

    // The fund-flow bill: three payments in, their fees out; v3b-r1's refund out and its fee
    // back; the closed v3b-r2 moved nothing.
    let flow = client
        .download_fund_flow_bill(day(), FundFlowAccount::Basic, true)
        .await
        .unwrap();
    let lines: Vec<&str> = flow.trim_end().split("\r\n").collect();
    assert!(lines[0].starts_with("记账时间,"), "{flow}");
    assert_eq!(lines.len(), 1 + 8 + 2, "{flow}");
    assert_eq!(
        lines[9],
        "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额"
    );
    // In: 10.00 + 25.00 + 8.00 + the 0.02 fee of the 3.00 refund; out: fees 0.06 + 0.15 +
    // 0.05 and the 3.00 refund.
    assert_eq!(lines[10], "`8,`4,`43.02,`4,`3.26");
    assert_eq!(
        client
            .fund_flow_bill(day(), FundFlowAccount::Fees, false)
            .await
            .unwrap_err()
            .code()
            .map(|c| c.as_str()),
        Some("NO_STATEMENT_EXIST")
    );
}
