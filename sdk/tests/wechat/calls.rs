//! The three calls on their happy paths: typed responses, indexed fields as `Vec`s, both sign
//! types.

use paysandbox_sdk::wechat::{
    CouponType, OrderId, RefundQuery, RefundStatus, SignType, TradeState,
};

use crate::support::*;

#[tokio::test]
async fn refund_then_query_with_md5() {
    let sandbox = start().await;
    let client = sandbox.wechat_client();
    let accepted = client
        .refund(&refund("demo-order-0001", "calls-r1", 1000, 300))
        .await
        .unwrap();
    assert_eq!(accepted.out_trade_no, "demo-order-0001");
    assert_eq!(accepted.out_refund_no, "calls-r1");
    assert_eq!((accepted.total_fee, accepted.refund_fee), (1000, 300));
    assert!(!accepted.refund_id.is_empty());
    assert!(accepted.header.is_success());

    let page = client
        .refund_query(&RefundQuery::by_out_refund_no("calls-r1"))
        .await
        .unwrap();
    assert_eq!(page.refunds.len(), 1);
    let record = &page.refunds[0];
    assert_eq!(record.refund_id, accepted.refund_id);
    assert_eq!(record.refund_fee, 300);
    assert_eq!(record.refund_status, RefundStatus::Processing);

    // What went over the wire: no sign_type field for MD5, a 32-char nonce, and the answer
    // is signed (the SDK verified it).
    let sent_refund = &sandbox.journal_of("/secapi/pay/refund").await[0];
    assert_eq!(sent(sent_refund, "sign_type"), None);
    assert_eq!(sent(sent_refund, "nonce_str").map(str::len), Some(32));
    assert_eq!(sent(sent_refund, "sign").map(str::len), Some(32));
}

#[tokio::test]
async fn hmac_sha256_end_to_end() {
    let sandbox = start().await;
    let client = sandbox
        .wechat_builder()
        .sign_type(SignType::HmacSha256)
        .build()
        .unwrap();
    let accepted = client
        .refund(&refund("demo-order-0002", "calls-hmac", 8800, 800))
        .await
        .unwrap();
    let all = client
        .all_refunds(RefundQuery::by_out_trade_no("demo-order-0002"))
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].refund_id, accepted.refund_id);
    let order = client
        .order_query(&OrderId::OutTradeNo("demo-order-0002".into()))
        .await
        .unwrap();
    assert_eq!(order.trade_state, TradeState::Refund);
    let sent_refund = &sandbox.journal_of("/secapi/pay/refund").await[0];
    assert_eq!(sent(sent_refund, "sign_type"), Some("HMAC-SHA256"));
    assert_eq!(sent(sent_refund, "sign").map(str::len), Some(64));
    // ... and the platform answered with HMAC too, which the SDK verified.
    let answer = paysandbox_protocol::wechat::xml::decode(
        sent_refund["response"].as_str().unwrap().as_bytes(),
    )
    .unwrap();
    assert_eq!(answer.get("sign").map(str::len), Some(64));
}

#[tokio::test]
async fn coupons_come_as_vecs() {
    let sandbox = start().await;
    let client = sandbox.wechat_client();
    // demo-order-0003: 10.00 paid with a 2.00 NO_CASH coupon. Refund it in full.
    let accepted = client
        .refund(&refund("demo-order-0003", "calls-coupon", 1000, 1000))
        .await
        .unwrap();
    assert_eq!(accepted.coupons.len(), 1);
    assert_eq!(accepted.coupons[0].coupon_type, Some(CouponType::NoCash));
    assert_eq!(accepted.coupons[0].coupon_refund_fee, 200);
    assert_eq!(accepted.coupon_refund_fee, 200);
    assert_eq!(accepted.settlement_refund_fee, Some(800));

    let record = &client
        .refund_query(&RefundQuery::by_refund_id(&accepted.refund_id))
        .await
        .unwrap()
        .refunds[0];
    assert_eq!(record.coupons, accepted.coupons);
    assert_eq!(record.coupon_refund_fee, 200);

    let order = client
        .order_query(&OrderId::OutTradeNo("demo-order-0003".into()))
        .await
        .unwrap();
    let payment = order.payment.unwrap();
    assert_eq!(payment.coupons.len(), 1);
    assert_eq!(payment.coupons[0].coupon_fee, 200);
    assert_eq!(payment.coupon_fee, Some(200));
    assert_eq!(payment.cash_fee, 800);
}

#[tokio::test]
async fn order_query_by_either_id() {
    let sandbox = start().await;
    let client = sandbox.wechat_client();
    let by_no = client
        .order_query(&OrderId::OutTradeNo("demo-order-0001".into()))
        .await
        .unwrap();
    assert_eq!(by_no.trade_state, TradeState::Success);
    let payment = by_no.payment.clone().unwrap();
    assert_eq!(payment.total_fee, 1000);
    let by_id = client
        .order_query(&OrderId::TransactionId(payment.transaction_id.clone()))
        .await
        .unwrap();
    assert_eq!(by_id.out_trade_no, "demo-order-0001");
    assert_eq!(
        by_id.payment.unwrap().transaction_id,
        payment.transaction_id
    );
}

/// Clients, calls, streams and errors can cross tasks and threads; the stream is a
/// `futures_core::Stream`.
#[tokio::test]
async fn calls_and_streams_are_send() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<paysandbox_sdk::wechat::Client>();
    send_sync::<paysandbox_sdk::wechat::Error>();

    let sandbox = start().await;
    let client = sandbox.wechat_client();
    let spawned = client.clone();
    tokio::spawn(async move {
        spawned
            .refund(&refund("demo-order-0001", "calls-spawn", 1000, 1))
            .await
    })
    .await
    .unwrap()
    .unwrap();

    let stream = client.refunds(RefundQuery::by_out_trade_no("demo-order-0001"));
    let all = tokio::spawn(stream.try_collect()).await.unwrap().unwrap();
    assert_eq!(all.len(), 1);

    use futures_core::Stream;
    let mut stream = client.refunds(RefundQuery::by_out_trade_no("demo-order-0001"));
    let first = std::future::poll_fn(|cx| std::pin::Pin::new(&mut stream).poll_next(cx)).await;
    assert_eq!(first.unwrap().unwrap().out_refund_no, "calls-spawn");
    let end = std::future::poll_fn(|cx| std::pin::Pin::new(&mut stream).poll_next(cx)).await;
    assert!(end.is_none());
}
