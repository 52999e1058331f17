//! Notifications from the sandbox, received on loopback and opened with the SDK.

use paysandbox_sdk::wechat::notify::{self, NotifyError};
use paysandbox_sdk::wechat::{RefundAccount, RefundStatus, SignType};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn refund_and_payment_notifications_open_with_the_sdk_and_its_reply_is_accepted() {
    let sandbox = start().await;
    let receiver = Receiver::answering(&notify::success_reply()).await;
    let client = sandbox.wechat_client();
    let request = paysandbox_sdk::wechat::RefundRequest::builder()
        .out_trade_no("demo-order-0002")
        .out_refund_no("sdk-n-1")
        .total_fee(8800)
        .refund_fee(800)
        .notify_url(&receiver.url)
        .build()
        .unwrap();
    let accepted = client.refund(&request).await.unwrap();
    sandbox.advance(10).await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    let info = client.refund_notification(&bodies[0]).unwrap();
    assert_eq!(info.refund_id, accepted.refund_id);
    assert_eq!(info.out_refund_no, "sdk-n-1");
    assert_eq!(info.out_trade_no, "demo-order-0002");
    assert_eq!(info.refund_fee, 800);
    assert_eq!(info.total_fee, 8800);
    assert_eq!(info.refund_status, RefundStatus::Success);
    assert_eq!(info.refund_account, Some(RefundAccount::UnsettledFunds));
    assert!(info.success_time.is_some());
    // Someone else's key or merchant: refused.
    assert_eq!(
        notify::parse_refund_notification(
            &bodies[0],
            APPID,
            MCH,
            "wrongkeywrongkeywrongkeywrongkey"
        )
        .err(),
        Some(NotifyError::Padding)
    );
    assert!(matches!(
        notify::parse_refund_notification(&bodies[0], APPID, "1900000999", KEY),
        Err(NotifyError::Mismatch {
            field: "mch_id",
            ..
        })
    ));
    // The sandbox accepted the SDK's reply.
    let listed = sandbox
        .admin_get("/admin/notifications?refund_no=sdk-n-1")
        .await;
    assert_eq!(listed[0]["status"], "delivered");

    sandbox
        .admin_post(
            "/admin/notifications/wechat/payment",
            json!({"mch_id": MCH, "out_trade_no": "demo-order-0003",
                   "notify_url": receiver.url, "sign_type": "HMAC-SHA256"}),
        )
        .await;
    let body = receiver.bodies().pop().unwrap();
    let payment = client.payment_notification(&body).unwrap();
    assert_eq!(payment.sign_type, Some(SignType::HmacSha256));
    assert_eq!(payment.total_fee, 1000);
    assert_eq!(payment.coupon_fee, Some(200));
    assert_eq!(payment.coupons.len(), 1);
    let tampered = String::from_utf8(body)
        .unwrap()
        .replace("<total_fee>1000</total_fee>", "<total_fee>1</total_fee>");
    assert_eq!(
        client.payment_notification(tampered.as_bytes()).err(),
        Some(NotifyError::Signature)
    );
}

#[tokio::test]
async fn buyer_payment_of_a_unified_order_notifies_its_notify_url() {
    let sandbox = start().await;
    let receiver = Receiver::answering(&notify::success_reply()).await;
    let client = sandbox
        .wechat_builder()
        .sign_type(SignType::HmacSha256)
        .build()
        .unwrap();
    let order = paysandbox_sdk::wechat::UnifiedOrderRequest::builder()
        .out_trade_no("sdk-paid-0001")
        .body("notified goods")
        .total_fee(4200)
        .spbill_create_ip("203.0.113.9")
        .notify_url(&receiver.url)
        .trade_type(paysandbox_sdk::wechat::TradeType::Jsapi)
        .openid("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
        .attach("cart-7")
        .build()
        .unwrap();
    client.unified_order(&order).await.unwrap();
    // Nothing is sent before the buyer pays.
    assert!(receiver.bodies().is_empty());

    let card = json!({"mch_id": MCH, "bank_type": "CMB_CREDIT"});
    let admin = sandbox.admin_client();
    let paid = admin.pay_order("sdk-paid-0001", "", card).await.unwrap();
    let id = paid["notification_id"].as_u64().unwrap();
    // The pay call does not wait for the delivery; a flush does.
    sandbox.flush_notifications().await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    let payment = client.payment_notification(&bodies[0]).unwrap();
    // Signed with the unified order's sign type, carrying the order as paid.
    assert_eq!(payment.sign_type, Some(SignType::HmacSha256));
    assert_eq!(payment.out_trade_no, "sdk-paid-0001");
    assert_eq!(
        payment.transaction_id,
        paid["transaction_id"].as_str().unwrap()
    );
    assert_eq!(payment.total_fee, 4200);
    assert_eq!(payment.cash_fee, 4200);
    assert_eq!(payment.trade_type, "JSAPI");
    assert_eq!(payment.openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    assert_eq!(payment.bank_type, "CMB_CREDIT");
    assert_eq!(payment.attach.as_deref(), Some("cart-7"));
    assert_eq!(payment.appid, APPID);
    assert_eq!(payment.mch_id, MCH);
    // The reply was accepted: one attempt, delivered.
    let n = sandbox
        .admin_get(&format!("/admin/notifications/{id}"))
        .await;
    assert_eq!(n["status"], "delivered");
    assert_eq!(n["attempts"].as_array().unwrap().len(), 1);
}
