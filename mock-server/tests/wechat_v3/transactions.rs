//! Prepay, the order queries and close over v3, on the ledger v2 reads.

use paysandbox_protocol::wechat::Params;

use crate::support::*;

const JSAPI: &str = "/v3/pay/transactions/jsapi";

fn by_out_trade_no(no: &str) -> String {
    format!("/v3/pay/transactions/out-trade-no/{no}?mchid={MCH}")
}

async fn pay(sandbox: &Sandbox, out_trade_no: &str) -> Value {
    sandbox
        .admin_client()
        .pay_order(out_trade_no, &format!("mch_id={MCH}"), json!({}))
        .await
        .unwrap()
}

#[tokio::test]
async fn jsapi_prepay_pay_query_refund_and_close_refused() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let prepay = v3.post(JSAPI, &jsapi_body("v3-pay-0001", 1500)).await;
    assert_eq!(prepay.status, 200, "{}", prepay.body);
    let prepay_id = prepay.json["prepay_id"].as_str().unwrap().to_owned();
    assert!(prepay_id.starts_with("wx"), "{prepay_id}");
    assert_eq!(prepay.json.as_object().unwrap().len(), 1);

    // The same request again is the same prepay.
    let again = v3.post(JSAPI, &jsapi_body("v3-pay-0001", 1500)).await;
    assert_eq!(again.json["prepay_id"], prepay_id.as_str());

    let unpaid = v3.get(&by_out_trade_no("v3-pay-0001")).await;
    assert_eq!(unpaid.status, 200, "{}", unpaid.body);
    assert_eq!(unpaid.json["trade_state"], "NOTPAY");
    assert_eq!(unpaid.json["appid"], APPID);
    assert_eq!(unpaid.json["mchid"], MCH);
    assert!(unpaid.json.get("transaction_id").is_none());

    pay(&sandbox, "v3-pay-0001").await;
    let paid = v3.get(&by_out_trade_no("v3-pay-0001")).await;
    assert_eq!(paid.json["trade_state"], "SUCCESS");
    assert_eq!(paid.json["trade_type"], "JSAPI");
    assert_eq!(paid.json["amount"]["total"], 1500);
    assert_eq!(paid.json["amount"]["payer_total"], 1500);
    assert_eq!(paid.json["payer"]["openid"], "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    let transaction_id = paid.json["transaction_id"].as_str().unwrap().to_owned();
    let by_id = v3
        .get(&format!(
            "/v3/pay/transactions/id/{transaction_id}?mchid={MCH}"
        ))
        .await;
    assert_eq!(by_id.json, paid.json);

    // v2 reads the same order.
    let mut params = base();
    params.insert_text("out_trade_no", "v3-pay-0001");
    let v2: Params = sandbox.call("/pay/orderquery", params).await;
    assert_eq!(v2.get("transaction_id"), Some(transaction_id.as_str()));
    assert_eq!(v2.get("trade_state"), Some("SUCCESS"));

    let refund = v3
        .post(REFUNDS, &refund_body("v3-pay-0001", "v3-pay-r1", 1500, 500))
        .await;
    assert_eq!(refund.status, 200, "{}", refund.body);
    let refunded = v3.get(&by_out_trade_no("v3-pay-0001")).await;
    assert_eq!(refunded.json["trade_state"], "REFUND");

    let close = v3
        .post(
            "/v3/pay/transactions/out-trade-no/v3-pay-0001/close",
            &json!({ "mchid": MCH }),
        )
        .await;
    close.assert_error(403, "RULE_LIMIT");
    let reused = v3.post(JSAPI, &jsapi_body("v3-pay-0001", 1500)).await;
    reused.assert_error(400, "INVALID_REQUEST");
}

#[tokio::test]
async fn native_app_and_h5_prepay_and_close_answers_a_signed_204() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let mut native = jsapi_body("v3-pay-0002", 100);
    native.as_object_mut().unwrap().remove("payer");
    let answer = v3.post("/v3/pay/transactions/native", &native).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.json["code_url"]
            .as_str()
            .unwrap()
            .starts_with("weixin://wxpay/bizpayurl")
    );
    let mut app = jsapi_body("v3-pay-0003", 100);
    app.as_object_mut().unwrap().remove("payer");
    let answer = v3.post("/v3/pay/transactions/app", &app).await;
    assert!(answer.json["prepay_id"].is_string(), "{}", answer.body);
    let mut h5 = app.clone();
    h5["out_trade_no"] = json!("v3-pay-0004");
    let missing_scene = v3.post("/v3/pay/transactions/h5", &h5).await;
    missing_scene.assert_error(400, "PARAM_ERROR");
    h5["scene_info"] = json!({ "payer_client_ip": "127.0.0.1", "h5_info": { "type": "Wap" } });
    let answer = v3.post("/v3/pay/transactions/h5", &h5).await;
    assert!(answer.json["h5_url"].is_string(), "{}", answer.body);

    let close = v3
        .post(
            "/v3/pay/transactions/out-trade-no/v3-pay-0002/close",
            &json!({ "mchid": MCH }),
        )
        .await;
    assert_eq!(close.status, 204, "{}", close.body);
    assert_eq!(close.body, "");
    // WxJava fails on a 2xx answer without a Content-Type (deviation: wx3-204-content-type).
    assert_eq!(
        close.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert!(close.verified_by.is_some());
    let closed = v3.get(&by_out_trade_no("v3-pay-0002")).await;
    assert_eq!(closed.json["trade_state"], "CLOSED");
    let again = v3
        .post(
            "/v3/pay/transactions/out-trade-no/v3-pay-0002/close",
            &json!({ "mchid": MCH }),
        )
        .await;
    assert_eq!(again.status, 204);
    let reopened = v3.post("/v3/pay/transactions/native", &native).await;
    reopened.assert_error(400, "ORDER_CLOSED");
}

#[tokio::test]
async fn payment_refusals() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let mut wrong_appid = jsapi_body("v3-pay-0005", 100);
    wrong_appid["appid"] = json!("wx0000000000000000");
    v3.post(JSAPI, &wrong_appid)
        .await
        .assert_error(400, "APPID_MCHID_NOT_MATCH");
    let mut other_mchid = jsapi_body("v3-pay-0005", 100);
    other_mchid["mchid"] = json!("1900000110");
    v3.post(JSAPI, &other_mchid)
        .await
        .assert_error(400, "INVALID_REQUEST");
    let mut no_payer = jsapi_body("v3-pay-0005", 100);
    no_payer.as_object_mut().unwrap().remove("payer");
    let error = v3.post(JSAPI, &no_payer).await;
    assert_eq!(
        error.assert_error(400, "PARAM_ERROR")["detail"]["location"],
        "body"
    );

    assert_eq!(
        v3.post(JSAPI, &jsapi_body("v3-pay-0005", 100)).await.status,
        200
    );
    v3.post(JSAPI, &jsapi_body("v3-pay-0005", 200))
        .await
        .assert_error(403, "OUT_TRADE_NO_USED");

    v3.get(&by_out_trade_no("no-such-order"))
        .await
        .assert_error(404, "ORDER_NOT_EXIST");
    v3.get(&format!(
        "/v3/pay/transactions/id/4200000000000000?mchid={MCH}"
    ))
    .await
    .assert_error(404, "ORDER_NOT_EXIST");
    let no_mchid = v3
        .get("/v3/pay/transactions/out-trade-no/v3-pay-0005")
        .await;
    assert_eq!(
        no_mchid.assert_error(400, "PARAM_ERROR")["detail"]["location"],
        "query"
    );
    v3.get("/v3/pay/transactions/out-trade-no/v3-pay-0005?mchid=1900000110")
        .await
        .assert_error(400, "INVALID_REQUEST");
    v3.post(
        "/v3/pay/transactions/out-trade-no/no-such-order/close",
        &json!({ "mchid": MCH }),
    )
    .await
    .assert_error(404, "ORDER_NOT_EXIST");
    v3.post(
        "/v3/pay/transactions/out-trade-no/v3-pay-0005/close",
        &json!({ "mchid": MCH, "extra": 1 }),
    )
    .await
    .assert_error(400, "PARAM_ERROR");
}

#[tokio::test]
async fn an_order_prepaid_through_v2_is_refunded_through_v3() {
    let sandbox = start().await;
    let mut params = base();
    params.insert_text("body", "v2 order");
    params.insert_text("out_trade_no", "v3-pay-0006");
    params.insert_int("total_fee", 900);
    params.insert_text("spbill_create_ip", "127.0.0.1");
    params.insert_text("notify_url", "https://example.com/notify");
    params.insert_text("trade_type", "NATIVE");
    params.insert_text("product_id", "p1");
    let v2 = sandbox.call("/pay/unifiedorder", params).await;
    assert_eq!(v2.get("result_code"), Some("SUCCESS"), "{v2:?}");
    pay(&sandbox, "v3-pay-0006").await;
    let v3 = sandbox.v3_client();
    let refund = v3
        .post(REFUNDS, &refund_body("v3-pay-0006", "v3-pay-r6", 900, 900))
        .await;
    assert_eq!(refund.status, 200, "{}", refund.body);
    let order = v3.get(&by_out_trade_no("v3-pay-0006")).await;
    assert_eq!(order.json["trade_state"], "REFUND");
    assert_eq!(order.json["trade_type"], "NATIVE");
}
