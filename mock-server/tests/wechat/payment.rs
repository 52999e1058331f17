//! The payment flow: `/pay/unifiedorder`, `/pay/closeorder`, `/pay/orderquery` for unpaid and
//! closed orders, and the simulated buyer's payment through the admin API.

use paysandbox_protocol::wechat::sign::SignType;
use paysandbox_protocol::wechat::{Params, UnifiedOrderResponse};
use serde_json::json;

use crate::support::*;

/// A JSAPI unified order of the demo merchant.
fn order_params(out_trade_no: &str, total_fee: u64) -> Params {
    let mut params = base();
    params.insert_text("body", "paysandbox-测试商品");
    params.insert_text("attach", "cart=7");
    params.insert_text("out_trade_no", out_trade_no);
    params.insert_int("total_fee", total_fee);
    params.insert_text("spbill_create_ip", "203.0.113.7");
    params.insert_text("notify_url", "http://127.0.0.1:9/wechat/pay");
    params.insert_text("trade_type", "JSAPI");
    params.insert_text("openid", "oPayer000000000000000000001");
    params
}

fn with(mut params: Params, fields: &[(&str, &str)]) -> Params {
    for (k, v) in fields {
        params.insert_text(*k, *v);
    }
    params
}

fn without(mut params: Params, field: &str) -> Params {
    params.remove(field);
    params
}

async fn order_query(sandbox: &Sandbox, out_trade_no: &str) -> Params {
    sandbox
        .call(
            "/pay/orderquery",
            with(base(), &[("out_trade_no", out_trade_no)]),
        )
        .await
}

async fn close(sandbox: &Sandbox, out_trade_no: &str) -> Params {
    sandbox
        .call(
            "/pay/closeorder",
            with(base(), &[("out_trade_no", out_trade_no)]),
        )
        .await
}

#[tokio::test]
async fn unified_order_creates_a_notpay_order_with_a_prepay_id() {
    let sandbox = start().await;
    let response = sandbox
        .call("/pay/unifiedorder", order_params("pay-jsapi-1", 1990))
        .await;
    assert_signed(&response, SignType::Md5);
    assert_eq!(response.get("result_code"), Some("SUCCESS"));
    assert_eq!(response.get("trade_type"), Some("JSAPI"));
    let prepay_id = response.get("prepay_id").unwrap();
    // wx + Beijing yyyyMMddHHmmss (T0 is 2023-11-15 06:13:20 in Beijing) + 20 hex digits.
    assert_eq!(prepay_id.len(), 36, "{prepay_id}");
    assert!(prepay_id.starts_with("wx20231115061320"), "{prepay_id}");
    assert_eq!(response.get("code_url"), None);
    assert_eq!(response.get("mweb_url"), None);
    let typed = UnifiedOrderResponse::from_params(&response).unwrap();
    assert_eq!(typed.prepay_id, prepay_id);

    let query = order_query(&sandbox, "pay-jsapi-1").await;
    assert_signed(&query, SignType::Md5);
    assert_eq!(query.get("trade_state"), Some("NOTPAY"));
    assert_eq!(query.get("trade_state_desc"), Some("订单未支付"));
    assert_eq!(query.get("out_trade_no"), Some("pay-jsapi-1"));
    assert_eq!(query.get("attach"), Some("cart=7"));
    // Unpaid: only out_trade_no, attach and the state (§6.2).
    for absent in [
        "transaction_id",
        "total_fee",
        "openid",
        "time_end",
        "bank_type",
    ] {
        assert_eq!(query.get(absent), None, "{absent}");
    }

    let (_, orders) = sandbox
        .admin(reqwest::Method::GET, "/admin/wechat/orders", None)
        .await;
    let order = orders
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["out_trade_no"] == "pay-jsapi-1")
        .unwrap();
    assert_eq!(order["trade_state"], "NOTPAY");
    assert_eq!(order["openid"], "oPayer000000000000000000001");
    assert_eq!(
        order["prepay"]["notify_url"],
        "http://127.0.0.1:9/wechat/pay"
    );
    assert_eq!(order["prepay"]["spbill_create_ip"], "203.0.113.7");
    assert_eq!(order["prepay"]["sign_type"], "MD5");
}

#[tokio::test]
async fn native_and_mweb_get_their_urls_and_hmac_is_echoed() {
    let sandbox = start().await;
    let native = with(
        without(order_params("pay-native-1", 100), "openid"),
        &[("trade_type", "NATIVE"), ("product_id", "sku-42")],
    );
    let response = sandbox.call("/pay/unifiedorder", native).await;
    assert_eq!(response.get("trade_type"), Some("NATIVE"));
    let code_url = response.get("code_url").unwrap();
    assert!(
        code_url.starts_with("weixin://wxpay/bizpayurl?pr=") && code_url.len() == 35,
        "{code_url}"
    );

    let mweb = with(
        without(order_params("pay-mweb-1", 100), "openid"),
        &[("trade_type", "MWEB"), ("sign_type", "HMAC-SHA256")],
    );
    let response = sandbox.call("/pay/unifiedorder", mweb).await;
    assert_signed(&response, SignType::HmacSha256);
    let prepay_id = response.get("prepay_id").unwrap();
    let mweb_url = response.get("mweb_url").unwrap();
    assert!(
        mweb_url.starts_with(&format!(
            "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={prepay_id}&package="
        )),
        "{mweb_url}"
    );
}

#[tokio::test]
async fn a_repeat_gives_the_prepay_id_again_other_parameters_are_out_trade_no_used() {
    let sandbox = start().await;
    let first = sandbox
        .call("/pay/unifiedorder", order_params("pay-repeat-1", 500))
        .await;
    let prepay_id = first.get("prepay_id").unwrap().to_owned();
    // Same order from another IP and with a new nonce: the same prepay_id.
    let again = sandbox
        .call(
            "/pay/unifiedorder",
            with(
                order_params("pay-repeat-1", 500),
                &[("spbill_create_ip", "198.51.100.1"), ("nonce_str", "other")],
            ),
        )
        .await;
    assert_eq!(again.get("prepay_id"), Some(prepay_id.as_str()));
    for changed in [
        order_params("pay-repeat-1", 501),
        with(
            order_params("pay-repeat-1", 500),
            &[("body", "other goods")],
        ),
        with(order_params("pay-repeat-1", 500), &[("attach", "cart=8")]),
        with(
            order_params("pay-repeat-1", 500),
            &[("openid", "oSomeoneElse")],
        ),
    ] {
        let response = sandbox.call("/pay/unifiedorder", changed).await;
        assert_business_error(&response, "OUT_TRADE_NO_USED", "商户订单号重复");
    }
    // Two hours later the prepay_id has expired: a repeat issues a new one.
    sandbox.advance(2 * 3600).await;
    let later = sandbox
        .call("/pay/unifiedorder", order_params("pay-repeat-1", 500))
        .await;
    let renewed = later.get("prepay_id").unwrap();
    assert_ne!(renewed, prepay_id);
    assert!(renewed.starts_with("wx20231115081320"), "{renewed}");
}

#[tokio::test]
async fn paid_and_closed_out_trade_nos_are_refused() {
    let sandbox = start().await;
    // demo-order-0001 is a paid demo order.
    let response = sandbox
        .call("/pay/unifiedorder", order_params("demo-order-0001", 1000))
        .await;
    assert_business_error(&response, "ORDERPAID", "商户订单已支付");
    sandbox
        .call("/pay/unifiedorder", order_params("pay-closed-1", 300))
        .await;
    assert_eq!(
        close(&sandbox, "pay-closed-1").await.get("result_code"),
        Some("SUCCESS")
    );
    let response = sandbox
        .call("/pay/unifiedorder", order_params("pay-closed-1", 300))
        .await;
    assert_business_error(&response, "ORDERCLOSED", "订单已关闭");
}

#[tokio::test]
async fn unified_order_field_rules() {
    let sandbox = start().await;
    for missing in [
        "body",
        "out_trade_no",
        "total_fee",
        "spbill_create_ip",
        "notify_url",
        "trade_type",
    ] {
        let response = sandbox
            .call(
                "/pay/unifiedorder",
                without(order_params("pay-f-1", 1), missing),
            )
            .await;
        assert_protocol_fail(&response, "缺少参数");
    }
    for (field, value) in [
        ("out_trade_no", "12345"),
        ("out_trade_no", "abc@defg"),
        ("total_fee", "0"),
        ("total_fee", "1.00"),
        ("spbill_create_ip", "not-an-ip"),
        ("notify_url", "http://example.com/n?x=1"),
        ("time_start", "20231301000000"),
        ("limit_pay", "credit"),
    ] {
        let response = sandbox
            .call(
                "/pay/unifiedorder",
                with(order_params("pay-f-2", 1), &[(field, value)]),
            )
            .await;
        assert_business_error(&response, "PARAM_ERROR", &format!("{field}参数格式错误"));
    }
    let response = sandbox
        .call(
            "/pay/unifiedorder",
            with(order_params("pay-f-3", 1), &[("body", &"长".repeat(129))]),
        )
        .await;
    assert_business_error(&response, "PARAM_ERROR", "body参数格式错误");
    let response = sandbox
        .call(
            "/pay/unifiedorder",
            with(order_params("pay-f-3", 1), &[("trade_type", "MICROPAY")]),
        )
        .await;
    assert_business_error(&response, "PARAM_ERROR", "trade_type参数格式错误");
    let response = sandbox
        .call(
            "/pay/unifiedorder",
            without(order_params("pay-f-4", 1), "openid"),
        )
        .await;
    assert_business_error(
        &response,
        "PARAM_ERROR",
        "trade_type=JSAPI时（即JSAPI支付），此参数必传，此参数为微信用户在商户对应appid下的唯一标识",
    );
    let response = sandbox
        .call(
            "/pay/unifiedorder",
            with(order_params("pay-f-5", 1), &[("trade_type", "NATIVE")]),
        )
        .await;
    assert_business_error(
        &response,
        "PARAM_ERROR",
        "trade_type=NATIVE时，此参数必传。此参数为二维码中包含的商品ID，商户自行定义",
    );
    // time_expire must leave at least a minute (Beijing time; T0 is 06:13:20 there).
    let response = sandbox
        .call(
            "/pay/unifiedorder",
            with(
                order_params("pay-f-6", 1),
                &[("time_expire", "20231115061400")],
            ),
        )
        .await;
    assert_business_error(
        &response,
        "INVALID_REQUEST",
        "time_expire时间过短，刷卡至少1分钟，其他5分钟",
    );
    let response = sandbox
        .call(
            "/pay/unifiedorder",
            with(
                order_params("pay-f-6", 1),
                &[("time_expire", "20231115061420")],
            ),
        )
        .await;
    assert_eq!(response.get("result_code"), Some("SUCCESS"), "{response:?}");
    // Nothing was created by the refused requests.
    let query = order_query(&sandbox, "pay-f-1").await;
    assert_business_error(&query, "ORDERNOTEXIST", "此交易订单号不存在");
}

#[tokio::test]
async fn signature_appid_and_faults_apply_to_the_new_endpoints() {
    let sandbox = start().await;
    let client = sandbox.https_client(ClientCert::None);
    let response = sandbox
        .call_with(
            &client,
            "/pay/unifiedorder",
            order_params("pay-s-1", 1),
            "wrongkey000000000000000000000000",
        )
        .await;
    assert_protocol_fail(&response, "签名错误,请检查后再试");
    let response = sandbox
        .call_with(
            &client,
            "/pay/closeorder",
            with(
                base(),
                &[("appid", "wx0000000000000000"), ("out_trade_no", "x12345")],
            ),
            KEY,
        )
        .await;
    assert_eq!(response.get("err_code"), Some("APPID_NOT_EXIST"));
    sandbox
        .fault(Fault::err_code("wechat.unifiedorder", "SYSTEMERROR"))
        .await;
    let response = sandbox
        .call_with(
            &client,
            "/pay/unifiedorder",
            order_params("pay-s-1", 1),
            KEY,
        )
        .await;
    assert_eq!(response.get("err_code"), Some("SYSTEMERROR"));
    sandbox
        .fault(Fault::http_status("wechat.closeorder", 503))
        .await;
    let (status, _) = sandbox
        .post_raw(
            &client,
            "/pay/closeorder",
            paysandbox_protocol::wechat::xml::encode(&signed(
                with(base(), &[("out_trade_no", "pay-s-1")]),
                KEY,
            )),
        )
        .await;
    assert_eq!(status, 503);
}

#[tokio::test]
async fn close_order_states() {
    let sandbox = start().await;
    sandbox
        .call("/pay/unifiedorder", order_params("pay-close-1", 800))
        .await;
    let response = close(&sandbox, "pay-close-1").await;
    assert_signed(&response, SignType::Md5);
    assert_eq!(response.get("result_code"), Some("SUCCESS"));
    assert_eq!(response.get("result_msg"), Some("OK"));
    let query = order_query(&sandbox, "pay-close-1").await;
    assert_eq!(query.get("trade_state"), Some("CLOSED"));
    assert_eq!(query.get("trade_state_desc"), Some("订单已关闭"));
    assert_eq!(query.get("transaction_id"), None);
    assert_business_error(
        &close(&sandbox, "pay-close-1").await,
        "ORDERCLOSED",
        "订单已关闭",
    );
    assert_business_error(
        &close(&sandbox, "demo-order-0002").await,
        "ORDERPAID",
        "商户订单已支付",
    );
    assert_business_error(
        &close(&sandbox, "no-such-order").await,
        "ORDERNOTEXIST",
        "此交易订单号不存在",
    );
    // A closed order cannot be paid.
    let (status, body) = sandbox
        .admin(
            reqwest::Method::POST,
            "/admin/wechat/orders/pay-close-1/pay",
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "order pay-close-1 is CLOSED, not NOTPAY");
}

#[tokio::test]
async fn the_buyer_pays_then_the_order_is_paid_everywhere() {
    let sandbox = start().await;
    sandbox
        .call("/pay/unifiedorder", order_params("pay-buy-1", 1200))
        .await;
    sandbox.advance(90).await;
    let paid = sandbox
        .admin_post(
            "/admin/wechat/orders/pay-buy-1/pay",
            json!({"bank_type": "CMC", "coupons": [{"kind": "NO_CASH", "fee": 200}]}),
        )
        .await;
    assert_eq!(paid["trade_state"], "SUCCESS");
    let transaction_id = paid["transaction_id"].as_str().unwrap().to_owned();
    assert_eq!(transaction_id.len(), 28);
    assert_eq!(&transaction_id[10..18], "20231115");

    let query = order_query(&sandbox, "pay-buy-1").await;
    assert_signed(&query, SignType::Md5);
    assert_eq!(query.get("trade_state"), Some("SUCCESS"));
    assert_eq!(query.get("transaction_id"), Some(transaction_id.as_str()));
    assert_eq!(query.get("openid"), Some("oPayer000000000000000000001"));
    assert_eq!(query.get("trade_type"), Some("JSAPI"));
    assert_eq!(query.get("bank_type"), Some("CMC"));
    assert_eq!(query.get("total_fee"), Some("1200"));
    assert_eq!(query.get("cash_fee"), Some("1000"));
    assert_eq!(query.get("settlement_total_fee"), Some("1000"));
    assert_eq!(query.get("coupon_count"), Some("1"));
    assert_eq!(query.get("coupon_type_0"), Some("NO_CASH"));
    assert_eq!(query.get("attach"), Some("cart=7"));
    // time_end = when the buyer paid (T0 + 90 s, Beijing).
    assert_eq!(query.get("time_end"), Some("20231115061450"));
    let by_id = sandbox
        .call(
            "/pay/orderquery",
            with(base(), &[("transaction_id", &transaction_id)]),
        )
        .await;
    assert_eq!(by_id.get("out_trade_no"), Some("pay-buy-1"));

    // Paid: no second payment, no close, no new unified order; refundable.
    let (status, body) = sandbox
        .admin(
            reqwest::Method::POST,
            "/admin/wechat/orders/pay-buy-1/pay",
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("order pay-buy-1 is SUCCESS, not NOTPAY"))
    );
    assert_business_error(
        &close(&sandbox, "pay-buy-1").await,
        "ORDERPAID",
        "商户订单已支付",
    );
    let response = sandbox
        .call("/pay/unifiedorder", order_params("pay-buy-1", 1200))
        .await;
    assert_business_error(&response, "ORDERPAID", "商户订单已支付");
    let refund = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("pay-buy-1", "pay-buy-1-r1", 1200, 600),
        )
        .await;
    assert_eq!(refund.get("result_code"), Some("SUCCESS"), "{refund:?}");
    assert_eq!(refund.get("transaction_id"), Some(transaction_id.as_str()));
    assert_eq!(
        order_query(&sandbox, "pay-buy-1").await.get("trade_state"),
        Some("REFUND")
    );
}

#[tokio::test]
async fn payment_needs_a_live_prepay_id_and_time_before_time_expire() {
    let sandbox = start().await;
    sandbox
        .call(
            "/pay/unifiedorder",
            with(
                order_params("pay-exp-1", 100),
                &[("time_expire", "20231115063320")],
            ),
        )
        .await;
    sandbox
        .call("/pay/unifiedorder", order_params("pay-exp-2", 100))
        .await;
    sandbox.advance(20 * 60).await;
    let (status, body) = sandbox
        .admin(
            reqwest::Method::POST,
            "/admin/wechat/orders/pay-exp-1/pay",
            None,
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        body["error"],
        "order pay-exp-1 expired at 2023-11-15 06:33:20 (time_expire)"
    );
    // Expired unpaid orders stay NOTPAY until closed.
    assert_eq!(
        order_query(&sandbox, "pay-exp-1").await.get("trade_state"),
        Some("NOTPAY")
    );
    assert_eq!(
        close(&sandbox, "pay-exp-1").await.get("result_code"),
        Some("SUCCESS")
    );

    sandbox.advance(2 * 3600).await;
    let (status, body) = sandbox
        .admin(
            reqwest::Method::POST,
            "/admin/wechat/orders/pay-exp-2/pay",
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("older than two hours")
    );
    sandbox
        .call("/pay/unifiedorder", order_params("pay-exp-2", 100))
        .await;
    let paid = sandbox
        .admin_post("/admin/wechat/orders/pay-exp-2/pay", json!({}))
        .await;
    assert_eq!(paid["trade_state"], "SUCCESS");
    let (status, body) = sandbox
        .admin(
            reqwest::Method::POST,
            "/admin/wechat/orders/nope-1/pay",
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown order nope-1"))
    );
}

#[tokio::test]
async fn demo_has_unpaid_orders_to_pay() {
    let sandbox = start().await;
    let query = order_query(&sandbox, "demo-order-0010").await;
    assert_eq!(query.get("trade_state"), Some("NOTPAY"));
    let (_, orders) = sandbox
        .admin(reqwest::Method::GET, "/admin/wechat/orders", None)
        .await;
    let native = orders
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["out_trade_no"] == "demo-order-0010")
        .unwrap();
    assert_eq!(native["trade_type"], "NATIVE");
    assert!(
        native["prepay"]["code_url"]
            .as_str()
            .unwrap()
            .starts_with("weixin://wxpay/bizpayurl?pr=")
    );
    let paid = sandbox
        .admin_post("/admin/wechat/orders/demo-order-0009/pay", json!({}))
        .await;
    assert_eq!(paid["trade_state"], "SUCCESS");
    assert_eq!(paid["total_fee"], 2500);
}
