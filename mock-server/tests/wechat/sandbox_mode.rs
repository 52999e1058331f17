//! The `/sandboxnew/` sandbox: getsignkey, MD5-only sandbox-key signatures, separate storage,
//! both refund paths, and the key's three-day life on the injected clock.

use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::{Params, xml};
use serde_json::json;

use crate::support::*;

const SANDBOX_SIGN_ERROR: &str =
    "沙箱验证签名失败，请确认沙箱签名key是否正确（通过getsignkey调用生成）";

fn getsignkey_params() -> Params {
    let mut params = Params::new();
    params.insert_text("mch_id", MCH);
    params.insert_text("nonce_str", "ibuaiVcKdpRxkhJA");
    params
}

async fn sandbox_key(sandbox: &Sandbox) -> String {
    let client = sandbox.https_client(ClientCert::None);
    let response = sandbox
        .call_with(
            &client,
            "/sandboxnew/pay/getsignkey",
            getsignkey_params(),
            KEY,
        )
        .await;
    assert_eq!(response.get("return_code"), Some("SUCCESS"), "{response:?}");
    response.get("sandbox_signkey").unwrap().to_owned()
}

fn with(mut params: Params, fields: &[(&str, &str)]) -> Params {
    for (k, v) in fields {
        params.insert_text(*k, *v);
    }
    params
}

fn order_params(out_trade_no: &str, total_fee: u64) -> Params {
    let mut params = base();
    params.insert_text("body", "sandbox goods");
    params.insert_text("out_trade_no", out_trade_no);
    params.insert_int("total_fee", total_fee);
    params.insert_text("spbill_create_ip", "127.0.0.1");
    params.insert_text("notify_url", "http://127.0.0.1:9/n");
    params.insert_text("trade_type", "NATIVE");
    params.insert_text("product_id", "p1");
    params.insert_text("device_info", "sandbox");
    params
}

/// Signed with `key` (MD5 unless the params say otherwise), without a client certificate.
async fn plain_call(sandbox: &Sandbox, path: &str, params: Params, key: &str) -> Params {
    let client = sandbox.https_client(ClientCert::None);
    sandbox.call_with(&client, path, params, key).await
}

fn assert_sandbox_signed(response: &Params, key: &str) {
    assert_eq!(response.get("result_code"), Some("SUCCESS"), "{response:?}");
    assert!(
        sign::verify(response, key, SignType::Md5),
        "not signed with the sandbox key: {response:?}"
    );
    assert!(!sign::verify(response, KEY, SignType::Md5));
}

#[tokio::test]
async fn getsignkey_gives_one_key_that_lives_three_days() {
    let sandbox = start().await;
    let client = sandbox.https_client(ClientCert::None);
    let response = sandbox
        .call_with(
            &client,
            "/sandboxnew/pay/getsignkey",
            getsignkey_params(),
            KEY,
        )
        .await;
    assert_eq!(response.get("return_code"), Some("SUCCESS"));
    assert_eq!(response.get("return_msg"), Some("ok"));
    assert_eq!(response.get("mch_id"), Some(MCH));
    assert_eq!(
        response.get("sign"),
        None,
        "getsignkey answers are not signed"
    );
    let key = response.get("sandbox_signkey").unwrap().to_owned();
    assert_eq!(key.len(), 32);
    assert!(
        key.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_ne!(key, KEY);
    // The same key while it lives.
    assert_eq!(sandbox_key(&sandbox).await, key);
    let (_, keys) = sandbox
        .admin(reqwest::Method::GET, "/admin/wechat/sandbox/keys", None)
        .await;
    assert_eq!(keys[0]["key"], key.as_str());
    assert_eq!(keys[0]["expires_at"], T0.0 + 3 * 86_400_000);

    let made = plain_call(
        &sandbox,
        "/sandboxnew/pay/unifiedorder",
        order_params("sbx-0001", 101),
        &key,
    )
    .await;
    assert_sandbox_signed(&made, &key);
    // Three days later it is gone: calls fail, getsignkey issues a new one.
    sandbox.advance(3 * 86_400).await;
    let response = plain_call(
        &sandbox,
        "/sandboxnew/pay/orderquery",
        with(base(), &[("out_trade_no", "sbx-0001")]),
        &key,
    )
    .await;
    assert_protocol_fail(&response, SANDBOX_SIGN_ERROR);
    let renewed = sandbox_key(&sandbox).await;
    assert_ne!(renewed, key);
    let response = plain_call(
        &sandbox,
        "/sandboxnew/pay/orderquery",
        with(base(), &[("out_trade_no", "sbx-0001")]),
        &renewed,
    )
    .await;
    assert_sandbox_signed(&response, &renewed);
    assert_eq!(response.get("trade_state"), Some("NOTPAY"));
}

#[tokio::test]
async fn getsignkey_failures() {
    let sandbox = start().await;
    let fail = "获取沙箱密钥失败,确认交易密钥是否正确";
    let response = plain_call(
        &sandbox,
        "/sandboxnew/pay/getsignkey",
        getsignkey_params(),
        "wrongkey000000000000000000000000",
    )
    .await;
    assert_protocol_fail(&response, fail);
    let response = plain_call(
        &sandbox,
        "/sandboxnew/pay/getsignkey",
        with(getsignkey_params(), &[("sign_type", "HMAC-SHA256")]),
        KEY,
    )
    .await;
    assert_protocol_fail(&response, fail);
    let response = plain_call(
        &sandbox,
        "/sandboxnew/pay/getsignkey",
        with(getsignkey_params(), &[("mch_id", "1234567890")]),
        KEY,
    )
    .await;
    assert_protocol_fail(&response, fail);
    let mut missing = getsignkey_params();
    missing.remove("nonce_str");
    let response = plain_call(&sandbox, "/sandboxnew/pay/getsignkey", missing, KEY).await;
    assert_protocol_fail(&response, "缺少参数");
    // No getsignkey outside the sandbox.
    let client = sandbox.https_client(ClientCert::None);
    let (status, _) = sandbox
        .post_raw(
            &client,
            "/pay/getsignkey",
            xml::encode(&signed(getsignkey_params(), KEY)),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn sandbox_calls_need_the_sandbox_key_and_md5() {
    let sandbox = start().await;
    // Before any getsignkey, and with the real key after it: the sandbox's complaint.
    let query = with(base(), &[("out_trade_no", "demo-order-0001")]);
    let response = plain_call(&sandbox, "/sandboxnew/pay/orderquery", query.clone(), KEY).await;
    assert_protocol_fail(&response, SANDBOX_SIGN_ERROR);
    let key = sandbox_key(&sandbox).await;
    let response = plain_call(&sandbox, "/sandboxnew/pay/orderquery", query.clone(), KEY).await;
    assert_protocol_fail(&response, SANDBOX_SIGN_ERROR);
    let hmac = with(query.clone(), &[("sign_type", "HMAC-SHA256")]);
    let response = plain_call(&sandbox, "/sandboxnew/pay/orderquery", hmac, &key).await;
    assert_protocol_fail(&response, SANDBOX_SIGN_ERROR);
    // The sandbox key is not the production key either.
    let response = plain_call(&sandbox, "/pay/orderquery", query.clone(), &key).await;
    assert_protocol_fail(&response, "签名错误,请检查后再试");
    // Signed right: production's paid demo order does not exist in the sandbox.
    let response = plain_call(&sandbox, "/sandboxnew/pay/orderquery", query, &key).await;
    assert_eq!(
        response.get("err_code"),
        Some("ORDERNOTEXIST"),
        "{response:?}"
    );
    assert!(sign::verify(&response, &key, SignType::Md5));
}

#[tokio::test]
async fn sandbox_and_production_storage_are_separate() {
    let sandbox = start().await;
    let key = sandbox_key(&sandbox).await;
    let made = plain_call(
        &sandbox,
        "/sandboxnew/pay/unifiedorder",
        order_params("sbx-sep-1", 101),
        &key,
    )
    .await;
    assert_sandbox_signed(&made, &key);
    assert_eq!(made.get("device_info"), Some("sandbox"));
    assert!(made.get("code_url").is_some());
    // Invisible in production, and the same out_trade_no is free there.
    let response = sandbox
        .call(
            "/pay/orderquery",
            with(base(), &[("out_trade_no", "sbx-sep-1")]),
        )
        .await;
    assert_business_error(&response, "ORDERNOTEXIST", "此交易订单号不存在");
    let response = sandbox
        .call("/pay/unifiedorder", order_params("sbx-sep-1", 999))
        .await;
    assert_eq!(response.get("result_code"), Some("SUCCESS"), "{response:?}");
    // The admin API shows each ledger on its own.
    let (_, sandbox_orders) = sandbox
        .admin(reqwest::Method::GET, "/admin/wechat/orders?sandbox=1", None)
        .await;
    let sandbox_orders = sandbox_orders.as_array().unwrap();
    assert_eq!(sandbox_orders.len(), 1);
    assert_eq!(sandbox_orders[0]["total_fee"], 101);
    // The buyer pays the sandbox order; production's namesake stays NOTPAY.
    let paid = sandbox
        .admin_post("/admin/wechat/orders/sbx-sep-1/pay?sandbox=1", json!({}))
        .await;
    assert_eq!(paid["trade_state"], "SUCCESS");
    let response = plain_call(
        &sandbox,
        "/sandboxnew/pay/orderquery",
        with(base(), &[("out_trade_no", "sbx-sep-1")]),
        &key,
    )
    .await;
    assert_eq!(response.get("trade_state"), Some("SUCCESS"));
    assert_eq!(response.get("total_fee"), Some("101"));
    let response = sandbox
        .call(
            "/pay/orderquery",
            with(base(), &[("out_trade_no", "sbx-sep-1")]),
        )
        .await;
    assert_eq!(response.get("trade_state"), Some("NOTPAY"));
    // Seeding into the sandbox with the body flag.
    sandbox
        .admin_post(
            "/admin/wechat/orders",
            json!({"mch_id": MCH, "out_trade_no": "sbx-seeded-1", "total_fee": 552, "sandbox": true}),
        )
        .await;
    let response = plain_call(
        &sandbox,
        "/sandboxnew/pay/orderquery",
        with(base(), &[("out_trade_no", "sbx-seeded-1")]),
        &key,
    )
    .await;
    assert_eq!(response.get("trade_state"), Some("SUCCESS"));
    let response = plain_call(
        &sandbox,
        "/sandboxnew/pay/closeorder",
        with(base(), &[("out_trade_no", "sbx-seeded-1")]),
        &key,
    )
    .await;
    assert_eq!(response.get("err_code"), Some("ORDERPAID"));
}

#[tokio::test]
async fn both_sandbox_refund_paths() {
    let sandbox = start().await;
    let key = sandbox_key(&sandbox).await;
    sandbox
        .admin_post(
            "/admin/wechat/orders",
            json!({"mch_id": MCH, "out_trade_no": "sbx-refund-1", "total_fee": 552, "sandbox": true}),
        )
        .await;
    // /sandboxnew/pay/refund works without a client certificate.
    let response = plain_call(
        &sandbox,
        "/sandboxnew/pay/refund",
        refund_params("sbx-refund-1", "sbx-r-1", 552, 100),
        &key,
    )
    .await;
    assert_sandbox_signed(&response, &key);
    assert_eq!(response.get("refund_fee"), Some("100"));
    // /sandboxnew/secapi/pay/refund wants one, like production /secapi/.
    let client = sandbox.https_client(ClientCert::None);
    let (status, body) = sandbox
        .post_raw(
            &client,
            "/sandboxnew/secapi/pay/refund",
            xml::encode(&signed(
                refund_params("sbx-refund-1", "sbx-r-2", 552, 100),
                &key,
            )),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("No required SSL certificate was sent"),
        "{body}"
    );
    // The sandbox applies the ledger's rules, one minute between refunds of an order too.
    sandbox.advance(60).await;
    let with_cert = sandbox.https_client(ClientCert::Merchant(MCH));
    let response = sandbox
        .call_with(
            &with_cert,
            "/sandboxnew/secapi/pay/refund",
            refund_params("sbx-refund-1", "sbx-r-2", 552, 100),
            &key,
        )
        .await;
    assert_sandbox_signed(&response, &key);
    let query = plain_call(
        &sandbox,
        "/sandboxnew/pay/refundquery",
        with(base(), &[("out_trade_no", "sbx-refund-1")]),
        &key,
    )
    .await;
    assert_sandbox_signed(&query, &key);
    assert_eq!(query.get("refund_count"), Some("2"));
    // Production knows nothing of these refunds.
    let response = sandbox
        .call(
            "/pay/refundquery",
            with(base(), &[("out_refund_no", "sbx-r-1")]),
        )
        .await;
    assert_business_error(&response, "REFUNDNOTEXIST", "not exist");
}
