//! Sandbox mode: `/sandboxnew/` paths, the sandbox key fetched and cached, MD5 forced, a
//! fresh key fetched once when the sandbox refuses the cached one.

use paysandbox_sdk::wechat::{
    OrderId, RefundRequest, SignType, TradeState, TradeType, UnifiedOrderRequest,
};
use serde_json::json;

use crate::support::*;

fn order(out_trade_no: &str) -> UnifiedOrderRequest {
    UnifiedOrderRequest::builder()
        .out_trade_no(out_trade_no)
        .body("sandbox goods")
        .total_fee(101)
        .spbill_create_ip("127.0.0.1")
        .notify_url("http://127.0.0.1:9/notify")
        .trade_type(TradeType::Jsapi)
        .openid("sandboxopenid")
        .build()
        .unwrap()
}

#[tokio::test]
async fn sandbox_flow_uses_its_own_key_paths_and_storage() {
    let sandbox = start().await;
    // HMAC is asked for, but the sandbox only speaks MD5; no certificate needed either.
    let client = sandbox
        .wechat_builder()
        .sign_type(SignType::HmacSha256)
        .sandbox()
        .build()
        .unwrap();
    assert!(client.is_sandbox());
    assert_eq!(client.sign_type(), SignType::Md5);
    let made = client.unified_order(&order("sdk-sbx-0001")).await.unwrap();
    assert!(made.prepay_id.starts_with("wx"));
    let state = client
        .order_query(&OrderId::OutTradeNo("sdk-sbx-0001".into()))
        .await
        .unwrap();
    assert_eq!(state.trade_state, TradeState::NotPay);

    // One getsignkey for both calls; every call signed with the sandbox key, MD5.
    assert_eq!(
        sandbox.journal_of("/sandboxnew/pay/getsignkey").await.len(),
        1
    );
    let keys = sandbox.admin_get("/admin/wechat/sandbox/keys").await;
    let key = keys[0]["key"].as_str().unwrap().to_owned();
    let sent_order = &sandbox.journal_of("/sandboxnew/pay/unifiedorder").await[0];
    assert_eq!(sent(sent_order, "sign_type"), None);
    let mut params = paysandbox_protocol::wechat::Params::new();
    for pair in sent_order["request"].as_array().unwrap() {
        params.insert_text(pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
    }
    assert!(paysandbox_protocol::wechat::sign::verify(
        &params,
        &key,
        SignType::Md5
    ));

    // Production does not see the sandbox's order.
    let production = sandbox.wechat_client();
    assert!(
        production
            .order_query(&OrderId::OutTradeNo("sdk-sbx-0001".into()))
            .await
            .is_err()
    );

    // Paid by the buyer in the sandbox, then refunded at /sandboxnew/pay/refund.
    let admin = sandbox.admin_client();
    let pay = admin.pay_order("sdk-sbx-0001", "sandbox=1", json!({}));
    pay.await.unwrap();
    let refund = RefundRequest::builder()
        .out_trade_no("sdk-sbx-0001")
        .out_refund_no("sdk-sbx-r1")
        .total_fee(101)
        .refund_fee(101)
        .build()
        .unwrap();
    let accepted = client.refund(&refund).await.unwrap();
    assert_eq!(accepted.refund_fee, 101);
    assert_eq!(sandbox.journal_of("/sandboxnew/pay/refund").await.len(), 1);
    assert!(sandbox.journal_of("/secapi/pay/refund").await.is_empty());
}

#[tokio::test]
async fn an_expired_key_is_fetched_again_once() {
    let sandbox = start().await;
    let client = sandbox.wechat_builder().sandbox().build().unwrap();
    client.unified_order(&order("sdk-sbx-0002")).await.unwrap();
    // The sandbox forgets the key after three days; the client's own cache (one day, on its
    // clock, which does not move here) still holds it: the refusal makes it fetch again.
    sandbox.advance(3 * 86_400).await;
    let state = client
        .order_query(&OrderId::OutTradeNo("sdk-sbx-0002".into()))
        .await
        .unwrap();
    assert_eq!(state.trade_state, TradeState::NotPay);
    assert_eq!(
        sandbox.journal_of("/sandboxnew/pay/getsignkey").await.len(),
        2
    );
    let queries = sandbox.journal_of("/sandboxnew/pay/orderquery").await;
    assert_eq!(queries.len(), 2, "one refused, one retried");
}

#[tokio::test]
async fn a_wrong_api_key_cannot_get_a_sandbox_key() {
    let sandbox = start().await;
    let client =
        paysandbox_sdk::wechat::Client::builder(MCH, APPID, "wrongkey000000000000000000000000")
            .base_url(&sandbox.running.api_url)
            .public_roots(false)
            .extra_root_ca_file(&sandbox.running.ca_path)
            .sandbox()
            .build()
            .unwrap();
    match client.close_order("sdk-sbx-0003").await {
        Err(paysandbox_sdk::wechat::Error::Protocol { return_msg }) => {
            assert_eq!(return_msg, "获取沙箱密钥失败,确认交易密钥是否正确");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        sandbox
            .journal_of("/sandboxnew/pay/closeorder")
            .await
            .is_empty()
    );
}
