//! Unified order and close order through the SDK, with the simulated buyer paying in
//! between.

use paysandbox_sdk::wechat::{
    ErrCode, Error, OrderId, SignType, TradeState, TradeType, UnifiedOrderRequest,
};
use serde_json::json;

use crate::support::*;

fn native_order(out_trade_no: &str, total_fee: u64) -> UnifiedOrderRequest {
    UnifiedOrderRequest::builder()
        .out_trade_no(out_trade_no)
        .body("sdk goods")
        .total_fee(total_fee)
        .spbill_create_ip("203.0.113.9")
        .notify_url("http://127.0.0.1:9/notify")
        .trade_type(TradeType::Native)
        .product_id("sku-1")
        .attach("from-sdk")
        .build()
        .unwrap()
}

#[tokio::test]
async fn order_pay_query_with_hmac() {
    let sandbox = start().await;
    let client = sandbox
        .wechat_builder()
        .sign_type(SignType::HmacSha256)
        .build()
        .unwrap();
    let made = client
        .unified_order(&native_order("sdk-pay-0001", 2300))
        .await
        .unwrap();
    assert_eq!(made.trade_type, TradeType::Native);
    assert!(
        made.prepay_id.starts_with("wx2023111506"),
        "{}",
        made.prepay_id
    );
    assert!(
        made.code_url
            .as_deref()
            .unwrap()
            .starts_with("weixin://wxpay/bizpayurl?pr=")
    );
    assert_eq!(made.mweb_url, None);
    // Sent once more: the same prepay_id.
    let again = client
        .unified_order(&native_order("sdk-pay-0001", 2300))
        .await
        .unwrap();
    assert_eq!(again.prepay_id, made.prepay_id);
    let first = &sandbox.journal_of("/pay/unifiedorder").await[0];
    assert_eq!(sent(first, "sign_type"), Some("HMAC-SHA256"));
    assert_eq!(sent(first, "total_fee"), Some("2300"));

    let unpaid = client
        .order_query(&OrderId::OutTradeNo("sdk-pay-0001".into()))
        .await
        .unwrap();
    assert_eq!(unpaid.trade_state, TradeState::NotPay);
    assert_eq!(unpaid.attach.as_deref(), Some("from-sdk"));
    assert_eq!(unpaid.payment, None);

    let buyer = json!({"openid": "oSdkBuyer", "bank_type": "CCB_DEBIT"});
    let admin = sandbox.admin_client();
    let paid = admin.pay_order("sdk-pay-0001", "", buyer).await.unwrap();
    let queried = client
        .order_query(&OrderId::OutTradeNo("sdk-pay-0001".into()))
        .await
        .unwrap();
    assert_eq!(queried.trade_state, TradeState::Success);
    let payment = queried.payment.unwrap();
    assert_eq!(
        payment.transaction_id,
        paid["transaction_id"].as_str().unwrap()
    );
    assert_eq!(payment.openid, "oSdkBuyer");
    assert_eq!(payment.bank_type, "CCB_DEBIT");
    assert_eq!(payment.trade_type, "NATIVE");
    assert_eq!(payment.total_fee, 2300);

    match client.close_order("sdk-pay-0001").await {
        Err(Error::Business { code, .. }) => assert_eq!(code, ErrCode::OrderPaid),
        other => panic!("{other:?}"),
    }
    match client
        .unified_order(&native_order("sdk-pay-0001", 2300))
        .await
    {
        Err(Error::Business { code, .. }) => assert_eq!(code, ErrCode::OrderPaid),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn close_then_reuse_and_mismatch() {
    let sandbox = start().await;
    let client = sandbox.wechat_client();
    client
        .unified_order(&native_order("sdk-close-01", 500))
        .await
        .unwrap();
    match client
        .unified_order(&native_order("sdk-close-01", 501))
        .await
    {
        Err(Error::Business { code, description }) => {
            assert_eq!(code, ErrCode::OutTradeNoUsed);
            assert_eq!(description, "商户订单号重复");
        }
        other => panic!("{other:?}"),
    }
    let closed = client.close_order("sdk-close-01").await.unwrap();
    assert_eq!(closed.result_msg.as_deref(), Some("OK"));
    let state = client
        .order_query(&OrderId::OutTradeNo("sdk-close-01".into()))
        .await
        .unwrap();
    assert_eq!(state.trade_state, TradeState::Closed);
    match client.close_order("sdk-close-01").await {
        Err(Error::Business { code, .. }) => assert_eq!(code, ErrCode::OrderClosed),
        other => panic!("{other:?}"),
    }
    match client.close_order("sdk-none-01").await {
        Err(Error::Business { code, .. }) => assert_eq!(code, ErrCode::OrderNotExist),
        other => panic!("{other:?}"),
    }
}

#[test]
fn builder_checks_fields_before_sending() {
    let base = || {
        UnifiedOrderRequest::builder()
            .out_trade_no("sdk-rule-01")
            .body("x")
            .total_fee(1)
            .spbill_create_ip("127.0.0.1")
            .notify_url("https://shop.example/n")
            .trade_type(TradeType::Jsapi)
            .openid("oX")
    };
    assert!(base().build().is_ok());
    for (bad, field) in [
        (base().out_trade_no("short"), "out_trade_no"),
        (base().total_fee(0), "total_fee"),
        (base().spbill_create_ip("host"), "spbill_create_ip"),
        (
            base().notify_url("https://shop.example/n?a=1"),
            "notify_url",
        ),
        (base().time_expire("2024-01-01"), "time_expire"),
        (base().body("b".repeat(129)), "body"),
        (base().openid(""), "openid"),
        (base().trade_type(TradeType::Native), "product_id"),
    ] {
        assert_eq!(bad.build().unwrap_err().field, field);
    }
}
