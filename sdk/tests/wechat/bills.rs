//! The daily reconciliation job, end to end: a day of payments and refunds in the sandbox,
//! the bill downloaded through the SDK (ALL, SUCCESS, REFUND; plain and gzip), reconciled
//! against the merchant's own records with planted discrepancies.

use paysandbox_sdk::reconcile::{Mismatch, Record, reconcile, wechat_records};
use paysandbox_sdk::wechat::{BillDate, BillSummary, BillType, Error};
use serde_json::json;

use crate::support::*;

/// 2023-11-15, the Beijing day of T0 (06:13:20 there).
fn day() -> BillDate {
    BillDate::new(2023, 11, 15).unwrap()
}

/// The demo merchant without the demo orders.
async fn empty_sandbox() -> Sandbox {
    let sandbox = start_with(|c| c.demo_data = false).await;
    let demo = json!({ "appids": [APPID], "api_key": KEY,
                       "company": paysandbox_mock_server::demo::COMPANY });
    sandbox
        .admin_client()
        .create_merchant(MCH, demo)
        .await
        .unwrap();
    sandbox
}

#[tokio::test]
async fn a_day_of_business_reconciles_with_planted_discrepancies() {
    let sandbox = empty_sandbox().await;
    let client = sandbox.wechat_client();

    // The day: five payments (one with a 2.00 NO_CASH coupon), one order paid the evening
    // before, one never paid.
    for (no, fee, ago, extra) in [
        ("day-p0", 600, 30_000, json!({})),
        ("day-p1", 1000, 3600, json!({})),
        ("day-p2", 2500, 3000, json!({})),
        ("day-p3", 800, 2400, json!({})),
        (
            "day-p4",
            1200,
            1800,
            json!({"coupons": [{"kind": "NO_CASH", "fee": 200}]}),
        ),
        ("day-p5", 5000, 1200, json!({})),
        ("day-p6", 1500, 600, json!({"state": "NOTPAY"})),
    ] {
        let mut extra = extra;
        extra["paid_seconds_ago"] = json!(ago);
        sandbox.seed_order(no, fee, extra).await;
    }
    // Refunds through the SDK at 06:13:20 that day: a partial one, a full one, and the full
    // refund of yesterday's order.
    for (order, refund_no, total, fee) in [
        ("day-p1", "day-r1", 1000, 300),
        ("day-p2", "day-r2", 2500, 2500),
        ("day-p0", "day-r0", 600, 600),
    ] {
        client
            .refund(&refund(order, refund_no, total, fee))
            .await
            .unwrap();
    }
    // day-r2 is closed by the platform (the payer's card was cancelled, say).
    let r2 = sandbox
        .wechat_refunds()
        .await
        .into_iter()
        .find(|r| r["out_refund_no"] == "day-r2")
        .unwrap();
    let admin = sandbox.admin_client();
    let r2_id = r2["refund_id"].as_str().unwrap();
    admin
        .force_refund_status(r2_id, "REFUNDCLOSE")
        .await
        .unwrap();

    // Too early: the day is not over.
    match client.download_bill(day(), BillType::All, false).await {
        Err(Error::BillRefused(e)) => assert_eq!(e.return_msg, "Bill Creating"),
        other => panic!("{other:?}"),
    }
    // 2023-11-16 10:00 in Beijing.
    sandbox.advance(100_000).await;

    let bill = client
        .download_bill(day(), BillType::All, false)
        .await
        .unwrap();
    let gzipped = client
        .download_bill(day(), BillType::All, true)
        .await
        .unwrap();
    assert_eq!(gzipped, bill);
    assert_eq!(bill.summary, BillSummary::of(&bill.rows));
    assert_eq!(bill.summary.count, 8);
    assert_eq!(bill.summary.total_fee, 1000 + 2500 + 800 + 1200 + 5000);
    assert_eq!(bill.summary.settlement_total_fee, 10_500 - 200);
    assert_eq!(bill.summary.refund_fee, 300 + 2500 + 600);

    // The merchant's own records, with three planted discrepancies: day-p5 lost, day-p6
    // believed paid, day-p3 booked at 8.80 instead of 8.00; and day-r2 still believed
    // successful.
    let ours = vec![
        Record::payment("day-p1", 1000, "SUCCESS"),
        Record::payment("day-p2", 2500, "SUCCESS"),
        Record::payment("day-p3", 880, "SUCCESS"),
        Record::payment("day-p4", 1200, "SUCCESS"),
        Record::payment("day-p6", 1500, "SUCCESS"),
        Record::refund("day-p1", "day-r1", 300, "SUCCESS"),
        Record::refund("day-p2", "day-r2", 2500, "SUCCESS"),
        Record::refund("day-p0", "day-r0", 600, "SUCCESS"),
    ];
    let report = reconcile(&ours, &wechat_records(&bill.rows));
    assert_eq!(report.missing, [Record::payment("day-p5", 5000, "SUCCESS")]);
    assert_eq!(report.extra, [Record::payment("day-p6", 1500, "SUCCESS")]);
    assert_eq!(
        report.mismatched,
        [
            Mismatch {
                ours: Record::payment("day-p3", 880, "SUCCESS"),
                bill: Record::payment("day-p3", 800, "SUCCESS"),
            },
            Mismatch {
                ours: Record::refund("day-p2", "day-r2", 2500, "SUCCESS"),
                bill: Record::refund("day-p2", "day-r2", 2500, "REFUNDCLOSE"),
            },
        ]
    );
    assert_eq!(report.matched, 5);

    // The SUCCESS and REFUND bills reconcile the two halves separately.
    let payments = client
        .download_bill(day(), BillType::Success, true)
        .await
        .unwrap();
    assert_eq!(payments.rows.len(), 5);
    let ours_payments: Vec<Record> = ours
        .iter()
        .filter(|r| r.refund_no.is_empty())
        .cloned()
        .collect();
    let report = reconcile(&ours_payments, &wechat_records(&payments.rows));
    assert_eq!(report.missing.len(), 1);
    assert_eq!(report.extra.len(), 1);
    assert_eq!(report.mismatched.len(), 1);
    let refunds = client
        .download_bill(day(), BillType::Refund, false)
        .await
        .unwrap();
    let refund_rows: Vec<(&str, &str, &str)> = refunds
        .rows
        .iter()
        .map(|r| {
            (
                r.out_refund_no.as_str(),
                r.refund_status.as_str(),
                r.refund_apply_time.as_str(),
            )
        })
        .collect();
    assert_eq!(
        refund_rows,
        [
            ("day-r1", "SUCCESS", "2023-11-15 06:13:20"),
            ("day-r2", "REFUNDCLOSE", "2023-11-15 06:13:20"),
            ("day-r0", "SUCCESS", "2023-11-15 06:13:20"),
        ]
    );

    // A day without business is the distinct NoBill, not a failure.
    let quiet = BillDate::new(2023, 11, 13).unwrap();
    assert!(matches!(
        client.download_bill(quiet, BillType::All, false).await,
        Err(Error::NoBill)
    ));
    // The day before has yesterday's payment only.
    let before = client
        .download_bill(BillDate::new(2023, 11, 14).unwrap(), BillType::All, false)
        .await
        .unwrap();
    assert_eq!(
        wechat_records(&before.rows),
        [Record::payment("day-p0", 600, "SUCCESS")]
    );
}

#[tokio::test]
async fn bill_errors_are_typed() {
    let sandbox = start().await;
    sandbox.advance(100_000).await;
    let wrong_key =
        paysandbox_sdk::wechat::Client::builder(MCH, APPID, "wrongkey000000000000000000000000")
            .base_url(&sandbox.running.api_url)
            .public_roots(false)
            .extra_root_ca_file(&sandbox.running.ca_path)
            .build()
            .unwrap();
    match wrong_key.download_bill(day(), BillType::All, false).await {
        Err(Error::BillRefused(e)) => {
            assert_eq!(e.return_msg, "sign error");
            assert_eq!(e.error_code.as_deref(), Some("20001"));
        }
        other => panic!("{other:?}"),
    }
    sandbox
        .fault(Fault::err_code("wechat.downloadbill", "SYSTEMERROR").count(1))
        .await;
    let error = sandbox
        .wechat_client()
        .download_bill(day(), BillType::All, false)
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(!error.is_outcome_unknown());
    // The demo orders were paid that day: the bill is there without a certificate too.
    let no_cert = paysandbox_sdk::wechat::Client::builder(MCH, APPID, KEY)
        .base_url(&sandbox.running.api_url)
        .public_roots(false)
        .extra_root_ca_file(&sandbox.running.ca_path)
        .build()
        .unwrap();
    let bill = no_cert
        .download_bill(day(), BillType::Success, false)
        .await
        .unwrap();
    assert!(
        bill.rows
            .iter()
            .any(|r| r.out_trade_no == "demo-order-0001")
    );
}
