//! The daily reconciliation job for Alipay, end to end: a day of payments and refunds in the
//! sandbox, the trade bill downloaded through the SDK (URL query, zip, GBK CSV), reconciled
//! against the merchant's own records with planted discrepancies.

use paysandbox_protocol::alipay::bill::TradeBillTotals;
use paysandbox_sdk::alipay::{BillDate, BillType, Error, SubCode};
use paysandbox_sdk::reconcile::alipay_records;
use paysandbox_sdk::reconcile::{Mismatch, Record, reconcile};
use serde_json::json;

use crate::support::*;

/// 2023-11-15, the Beijing day of T0 (06:13:20 there).
fn day() -> BillDate {
    BillDate::day(2023, 11, 15).unwrap()
}

/// The demo app without the demo trades.
async fn empty_sandbox() -> Sandbox {
    let sandbox = start_with(|c| c.demo_data = false).await;
    let admin = sandbox.admin_client();
    admin.create_app(ALIPAY_APP, json!({})).await.unwrap();
    sandbox
}

#[tokio::test]
async fn a_day_of_business_reconciles_with_planted_discrepancies() {
    let sandbox = empty_sandbox().await;
    let client = sandbox.alipay_client();

    // The day: five payments, one trade paid the evening before, one never paid.
    for (no, fen, ago, extra) in [
        ("day-p0", 600, 30_000, json!({})),
        ("day-p1", 1000, 3600, json!({})),
        ("day-p2", 2500, 3000, json!({})),
        ("day-p3", 800, 2400, json!({})),
        ("day-p4", 1200, 1800, json!({})),
        ("day-p5", 5000, 1200, json!({})),
        ("day-p6", 1500, 600, json!({"status": "WAIT_BUYER_PAY"})),
    ] {
        let mut extra = extra;
        extra["paid_seconds_ago"] = json!(ago);
        sandbox.seed_trade(no, fen, extra).await;
    }
    // Refunds through the SDK at 06:13:20 that day: a partial one, a full one, and the full
    // refund of yesterday's trade.
    for (trade, request_no, fen) in [
        ("day-p1", "day-r1", 300),
        ("day-p2", "day-r2", 2500),
        ("day-p0", "day-r0", 600),
    ] {
        client
            .trade_refund(&refund(trade, request_no, fen))
            .await
            .unwrap();
    }

    // Too early: yesterday's bill is not generated before 10:00, today's is refused.
    assert!(matches!(
        client
            .download_bill(BillType::Trade, BillDate::day(2023, 11, 14).unwrap())
            .await,
        Err(Error::NoBill)
    ));
    match client.download_bill(BillType::Trade, day()).await {
        Err(Error::Gateway { sub_code, .. }) => {
            assert_eq!(sub_code, SubCode::IsvInvalidArguments);
        }
        other => panic!("{other:?}"),
    }
    // 2023-11-16 10:00 in Beijing.
    sandbox.advance(100_000).await;

    let bill = client.download_bill(BillType::Trade, day()).await.unwrap();
    assert_eq!(bill.account, "20880000000000010156");
    assert_eq!(bill.start, "2023年11月15日 00:00:00");
    assert_eq!(bill.end, "2023年11月16日 00:00:00");
    assert_eq!(bill.exported_at, "2023年11月16日 10:00:00");
    assert_eq!(
        TradeBillTotals::of(&bill.rows),
        TradeBillTotals {
            trade_count: 5,
            trade_receipt: 1000 + 2500 + 800 + 1200 + 5000,
            trade_merchant_discount: 0,
            refund_count: 3,
            refund_receipt: -(300 + 2500 + 600),
            refund_merchant_discount: 0,
        }
    );
    // Every row carries the ledger's trade_no.
    let trade_no = sandbox.alipay_trade("day-p1").await["trade_no"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        bill.rows
            .iter()
            .filter(|r| r.out_trade_no == "day-p1")
            .all(|r| r.trade_no == trade_no)
    );

    // The merchant's own records, with planted discrepancies: day-p5 lost, day-p6 believed
    // paid, day-p3 booked at 8.80 instead of 8.00, day-r1 booked at 3.50 instead of 3.00, and
    // a refund of day-p4 the merchant believes made but never sent.
    let ours = vec![
        Record::payment("day-p1", 1000, "SUCCESS"),
        Record::payment("day-p2", 2500, "SUCCESS"),
        Record::payment("day-p3", 880, "SUCCESS"),
        Record::payment("day-p4", 1200, "SUCCESS"),
        Record::payment("day-p6", 1500, "SUCCESS"),
        Record::refund("day-p1", "day-r1", 350, "SUCCESS"),
        Record::refund("day-p2", "day-r2", 2500, "SUCCESS"),
        Record::refund("day-p0", "day-r0", 600, "SUCCESS"),
        Record::refund("day-p4", "day-r4", 1200, "SUCCESS"),
    ];
    let report = reconcile(&ours, &alipay_records(&bill.rows));
    assert_eq!(report.missing, [Record::payment("day-p5", 5000, "SUCCESS")]);
    assert_eq!(
        report.extra,
        [
            Record::payment("day-p6", 1500, "SUCCESS"),
            Record::refund("day-p4", "day-r4", 1200, "SUCCESS"),
        ]
    );
    assert_eq!(
        report.mismatched,
        [
            Mismatch {
                ours: Record::payment("day-p3", 880, "SUCCESS"),
                bill: Record::payment("day-p3", 800, "SUCCESS"),
            },
            Mismatch {
                ours: Record::refund("day-p1", "day-r1", 350, "SUCCESS"),
                bill: Record::refund("day-p1", "day-r1", 300, "SUCCESS"),
            },
        ]
    );
    assert_eq!(report.matched, 5);

    // The day before has yesterday's payment only; a day without business is the distinct
    // NoBill, not a failure.
    let before = client
        .download_bill(BillType::Trade, BillDate::day(2023, 11, 14).unwrap())
        .await
        .unwrap();
    assert_eq!(
        alipay_records(&before.rows),
        [Record::payment("day-p0", 600, "SUCCESS")]
    );
    assert!(matches!(
        client
            .download_bill(BillType::Trade, BillDate::day(2023, 11, 13).unwrap())
            .await,
        Err(Error::NoBill)
    ));
}

#[tokio::test]
async fn bill_urls_expire_and_errors_are_typed() {
    let sandbox = empty_sandbox().await;
    let client = sandbox.alipay_client();
    sandbox
        .seed_trade("exp-1", 4200, json!({"paid_seconds_ago": 3600}))
        .await;
    sandbox.advance(100_000).await;

    // The URL, then the download within 30 s of the sandbox clock, then after.
    let response = client
        .bill_download_url(BillType::Trade, day())
        .await
        .unwrap();
    let url = response.bill_download_url.unwrap();
    assert!(url.starts_with(&sandbox.running.api_url), "{url}");
    assert!(url.contains("bizDates=20231115"), "{url}");
    sandbox.advance(30).await;
    let bill = client.download_bill_url(&url).await.unwrap();
    assert_eq!(
        alipay_records(&bill.rows),
        [Record::payment("exp-1", 4200, "SUCCESS")]
    );
    sandbox.advance(1).await;
    let expired = client.download_bill_url(&url).await.unwrap_err();
    assert!(matches!(expired, Error::BillLinkExpired), "{expired}");
    assert!(expired.is_retryable());
    // download_bill asks for a fresh URL each time.
    let again = client.download_bill(BillType::Trade, day()).await.unwrap();
    assert_eq!(again.rows, bill.rows);
    assert_eq!(again.exported_at, "2023年11月16日 10:00:31");

    // The account bill is not parsed by download_bill (refused before sending) and not
    // modelled by the sandbox.
    assert!(matches!(
        client.download_bill(BillType::Signcustomer, day()).await,
        Err(Error::InvalidRequest(e)) if e.field == "bill_type"
    ));
    match client
        .bill_download_url(BillType::Signcustomer, day())
        .await
    {
        Err(e) => assert_eq!(e.sub_code(), Some(&SubCode::IsvInvalidArguments)),
        Ok(r) => panic!("{r:?}"),
    }
    // The current month, and a month without business.
    let error = client
        .bill_download_url(BillType::Trade, BillDate::month(2023, 11).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.sub_code(), Some(&SubCode::IsvInvalidArguments));
    assert!(matches!(
        client
            .download_bill(BillType::Trade, BillDate::month(2023, 10).unwrap())
            .await,
        Err(Error::NoBill)
    ));
    // An injected outcome-unknown answer comes back as the gateway error it is, retryable.
    sandbox
        .fault(
            Fault::err_code(
                "alipay.data.dataservice.bill.downloadurl.query",
                "isp.unknow-error",
            )
            .count(1),
        )
        .await;
    let error = client
        .download_bill(BillType::Trade, day())
        .await
        .unwrap_err();
    assert_eq!(error.sub_code(), Some(&SubCode::IspUnknowError));
    assert!(error.is_retryable());
}
