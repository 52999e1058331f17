//! Alipay notifications from the sandbox, received on loopback and verified with the SDK.

use paysandbox_sdk::alipay::notify::{self, NotifyError};
use paysandbox_sdk::alipay::{RefundRequest, TradeStatus};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn payment_and_refund_notifications_verify_with_the_sdk() {
    let sandbox = start().await;
    let receiver = Receiver::answering(notify::SUCCESS_REPLY).await;
    let unpaid = json!({ "status": "WAIT_BUYER_PAY", "notify_url": receiver.url });
    sandbox.seed_trade("sdk-n-trade", "50.00", unpaid).await;
    let admin = sandbox.admin_client();
    let pay = admin.trade_action("sdk-n-trade", TradeAction::Pay, "", json!({}));
    pay.await.unwrap();
    // The pay call does not wait for the delivery; a flush does.
    sandbox.flush_notifications().await;
    let client = sandbox.alipay_client();
    let paid = client.notification(&receiver.bodies()[0]).unwrap();
    assert_eq!(paid.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(paid.total_amount, 5000);
    assert_eq!(paid.out_trade_no, "sdk-n-trade");

    let request = RefundRequest::builder()
        .out_trade_no("sdk-n-trade")
        .refund_amount(5000)
        .out_request_no("sdk-r1")
        .build()
        .unwrap();
    client.trade_refund(&request).await.unwrap();
    sandbox.flush_notifications().await;
    let body = receiver.bodies()[1].clone();
    let refunded = client.notification(&body).unwrap();
    assert_eq!(refunded.trade_status, TradeStatus::TradeClosed);
    assert_eq!(refunded.refund_fee, Some(5000));
    assert_eq!(refunded.out_biz_no.as_deref(), Some("sdk-r1"));
    assert!(refunded.gmt_refund.is_some());
    // Another app, or a changed amount: refused.
    let other_key = paysandbox_protocol::alipay::parse_public_key(
        &std::fs::read_to_string(&alipay_files().app_public_key_path).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        notify::parse_notification(&body, ALIPAY_APP, &other_key),
        Err(NotifyError::Signature(_))
    ));
    assert!(matches!(
        notify::parse_notification(&body, "2021000000009999", &alipay_public()),
        Err(NotifyError::AppIdMismatch { .. })
    ));
    let tampered = String::from_utf8(body)
        .unwrap()
        .replace("refund_fee=50.00", "refund_fee=0.01");
    assert!(client.notification(tampered.as_bytes()).is_err());
}

fn alipay_public() -> paysandbox_protocol::rsa::PublicKey {
    paysandbox_protocol::alipay::parse_public_key(
        &std::fs::read_to_string(&alipay_files().alipay_public_key_path).unwrap(),
    )
    .unwrap()
}
