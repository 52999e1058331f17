//! Alipay trade_status_sync notifications received on a real loopback listener: verified with
//! the platform key, on the payment, a partial and a full refund and a close, and retried on
//! Alipay's schedule with the same notify_id.

use paysandbox_mock_server::notify::ALIPAY_RETRY_SECS;
use paysandbox_protocol::alipay::notify::{TradeNotification, verify_notification};
use paysandbox_protocol::alipay::{SignType as AlipaySignType, TradeStatus, parse_urlencoded};
use paysandbox_testkit::admin::attempt_times;
use serde_json::json;

use crate::support::*;

fn alipay_notification(body: &str) -> TradeNotification {
    let params = parse_urlencoded(body.as_bytes()).unwrap();
    assert_eq!(
        verify_notification(&params, &alipay_public_key()),
        Ok(AlipaySignType::Rsa2)
    );
    assert!(params.iter().all(|(_, v)| !v.is_empty()), "no empty values");
    TradeNotification::from_params(&params).unwrap()
}

#[tokio::test]
async fn alipay_payment_partial_and_full_refund_are_notified_and_verify() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(200, "success\n")]).await;
    sandbox
        .seed_trade(
            "n-trade-1",
            "88.88",
            json!({"status": "WAIT_BUYER_PAY", "notify_url": receiver.url}),
        )
        .await;
    sandbox
        .admin_post("/admin/alipay/trades/n-trade-1/pay", json!({}))
        .await;
    // The pay call does not wait for the delivery (issue 12); a flush does.
    sandbox.flush_notifications().await;
    let bodies = receiver.texts();
    assert_eq!(bodies.len(), 1, "the payment is notified once flushed");
    let paid = alipay_notification(&bodies[0]);
    assert_eq!(paid.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(paid.notify_type, "trade_status_sync");
    assert_eq!(paid.app_id, ALIPAY_APP);
    assert_eq!(paid.out_trade_no, "n-trade-1");
    assert_eq!(paid.total_amount, 8888);
    assert_eq!(paid.receipt_amount, Some(8888));
    assert_eq!(paid.buyer_pay_amount, Some(8888));
    assert_eq!(paid.fund_bill_list.len(), 1);
    assert_eq!(paid.fund_bill_list[0].amount, 8888);
    assert_eq!(paid.buyer_id.as_deref(), Some("2088102177846880"));
    assert!(paid.gmt_payment.is_some());
    assert_eq!(paid.out_biz_no, None);
    assert_eq!(paid.refund_fee, None);

    let refund = sandbox
        .alipay(
            "alipay.trade.refund",
            json!({"out_trade_no": "n-trade-1", "refund_amount": "10.00", "out_request_no": "p1"}),
        )
        .await;
    assert_eq!(refund["code"], "10000");
    sandbox.flush_notifications().await;
    let partial = alipay_notification(&receiver.texts()[1]);
    assert_eq!(partial.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(partial.out_biz_no.as_deref(), Some("p1"));
    assert_eq!(partial.refund_fee, Some(1000));
    // yyyy-MM-dd HH:mm:ss.SSS
    let gmt_refund = partial.gmt_refund.clone().unwrap();
    assert_eq!(gmt_refund.len(), 23, "{gmt_refund}");
    assert_eq!(&gmt_refund[19..20], ".");
    assert_ne!(partial.notify_id, paid.notify_id);

    sandbox.advance(3).await;
    sandbox
        .alipay(
            "alipay.trade.refund",
            json!({"out_trade_no": "n-trade-1", "refund_amount": "78.88", "out_request_no": "p2"}),
        )
        .await;
    sandbox.advance(0).await;
    let full = alipay_notification(&receiver.texts()[2]);
    assert_eq!(full.trade_status, TradeStatus::TradeClosed);
    assert_eq!(full.refund_fee, Some(8888), "cumulative");
    assert_eq!(full.out_biz_no.as_deref(), Some("p2"));
    assert!(full.gmt_close.is_some());
    assert_eq!(full.receipt_amount, None);
    assert!(full.fund_bill_list.is_empty());
    let listed = sandbox
        .notifications("platform=alipay&out_trade_no=n-trade-1")
        .await;
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|n| n["status"] == "delivered"));
    assert_eq!(listed[1]["refund_no"], "p1");
}

#[tokio::test]
async fn alipay_retries_on_its_schedule_with_the_same_notify_id() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(200, "fail")]).await;
    sandbox
        .seed_trade(
            "n-trade-2",
            "1.00",
            json!({"status": "WAIT_BUYER_PAY", "notify_url": receiver.url}),
        )
        .await;
    // Closing an unpaid trade notifies TRADE_CLOSED (spec §7.2 trigger table).
    let closed = sandbox
        .alipay("alipay.trade.close", json!({"out_trade_no": "n-trade-2"}))
        .await;
    assert_eq!(closed["code"], "10000");
    sandbox.advance(25 * 3600).await;
    let n = &sandbox
        .notifications("platform=alipay&out_trade_no=n-trade-2")
        .await[0];
    let mut expected = vec![T0.0];
    for secs in ALIPAY_RETRY_SECS {
        expected.push(expected.last().unwrap() + i64::try_from(secs).unwrap() * 1000);
    }
    assert_eq!(attempt_times(n), expected);
    assert_eq!(n["status"], "failed");
    assert_eq!(n["event"], "TRADE_CLOSED");
    let bodies = receiver.texts();
    assert_eq!(bodies.len(), 8);
    let ids: Vec<String> = bodies
        .iter()
        .map(|b| alipay_notification(b).notify_id)
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
    assert!(alipay_notification(&bodies[0]).gmt_close.is_some());
}
