//! Refunds over v3 on the shared ledger: create, query, every refusal's code, the rules, and
//! v2 and v3 telling the same story about one refund.

use paysandbox_protocol::wechat::Params;
use reqwest::Method;

use crate::support::*;

fn query_url(out_refund_no: &str) -> String {
    format!("{REFUNDS}/{out_refund_no}")
}

#[tokio::test]
async fn a_refund_is_accepted_signed_and_settles() {
    let sandbox = start().await;
    sandbox.seed_order("v3-refund-0001", 1000, json!({})).await;
    let v3 = sandbox.v3_client();
    let answer = v3
        .post(
            REFUNDS,
            &refund_body("v3-refund-0001", "v3-r-0001", 1000, 300),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.verified_by.is_some());
    assert_eq!(
        answer.header("wechatpay-signature-type"),
        Some("WECHATPAY2-SHA256-RSA2048")
    );
    assert_eq!(
        answer.header("request-id").map(str::len),
        Some(32),
        "{:?}",
        answer.headers
    );
    assert!(
        answer
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let refund = &answer.json;
    assert_eq!(refund["out_refund_no"], "v3-r-0001");
    assert_eq!(refund["out_trade_no"], "v3-refund-0001");
    assert_eq!(refund["status"], "PROCESSING");
    assert_eq!(refund["funds_account"], "UNSETTLED");
    assert_eq!(refund["create_time"], "2023-11-15T06:13:20+08:00");
    assert!(refund.get("success_time").is_none());
    assert_eq!(
        refund["amount"],
        json!({
            "total": 1000, "refund": 300, "payer_total": 1000, "payer_refund": 300,
            "settlement_refund": 300, "settlement_total": 1000, "discount_refund": 0,
            "currency": "CNY"
        })
    );
    let refund_id = refund["refund_id"].as_str().unwrap().to_owned();

    sandbox.advance(60).await;
    let queried = v3.get(&query_url("v3-r-0001")).await;
    assert_eq!(queried.status, 200, "{}", queried.body);
    assert_eq!(queried.json["refund_id"], refund_id.as_str());
    assert_eq!(queried.json["status"], "SUCCESS");
    assert!(queried.json["success_time"].is_string());

    // The same out_refund_no again is the same refund, nothing refunded twice.
    let again = v3
        .post(
            REFUNDS,
            &refund_body("v3-refund-0001", "v3-r-0001", 1000, 300),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json["refund_id"], refund_id.as_str());
    assert_eq!(sandbox.wechat_refunds().await.len(), 1);
}

#[tokio::test]
async fn refusals_have_their_codes_and_statuses() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    sandbox.seed_order("v3-refund-0002", 1000, json!({})).await;
    sandbox
        .seed_order("v3-refund-0003", 1000, json!({ "state": "NOTPAY" }))
        .await;
    sandbox
        .seed_order(
            "v3-refund-0004",
            1000,
            json!({ "payer_account_abnormal": true }),
        )
        .await;

    let unknown = v3
        .post(REFUNDS, &refund_body("no-such-order", "v3-r-x1", 1000, 100))
        .await;
    assert_eq!(
        unknown.assert_error(404, "RESOURCE_NOT_EXISTS")["message"],
        "订单不存在"
    );
    sandbox.advance(2).await;
    let unpaid = v3
        .post(
            REFUNDS,
            &refund_body("v3-refund-0003", "v3-r-x2", 1000, 100),
        )
        .await;
    unpaid.assert_error(404, "RESOURCE_NOT_EXISTS");
    let abnormal = v3
        .post(
            REFUNDS,
            &refund_body("v3-refund-0004", "v3-r-x3", 1000, 100),
        )
        .await;
    abnormal.assert_error(403, "USER_ACCOUNT_ABNORMAL");
    sandbox.advance(2).await;

    let wrong_total = v3
        .post(REFUNDS, &refund_body("v3-refund-0002", "v3-r-x4", 999, 100))
        .await;
    wrong_total.assert_error(400, "INVALID_REQUEST");

    sandbox
        .admin_patch(
            &format!("/admin/wechat/merchants/{MCH}"),
            json!({ "refundable_balance": 50 }),
        )
        .await;
    let short = v3
        .post(
            REFUNDS,
            &refund_body("v3-refund-0002", "v3-r-x5", 1000, 100),
        )
        .await;
    short.assert_error(403, "NOT_ENOUGH");
    sandbox
        .admin_patch(
            &format!("/admin/wechat/merchants/{MCH}"),
            json!({ "refundable_balance": 100_000 }),
        )
        .await;
    sandbox.advance(2).await;

    let first = v3
        .post(
            REFUNDS,
            &refund_body("v3-refund-0002", "v3-r-x6", 1000, 600),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let soon = v3
        .post(
            REFUNDS,
            &refund_body("v3-refund-0002", "v3-r-x7", 1000, 100),
        )
        .await;
    soon.assert_error(429, "FREQUENCY_LIMITED");
    sandbox.advance(61).await;
    let over = v3
        .post(
            REFUNDS,
            &refund_body("v3-refund-0002", "v3-r-x8", 1000, 500),
        )
        .await;
    assert_eq!(
        over.assert_error(400, "INVALID_REQUEST")["message"],
        "申请退款金额超过订单可退金额"
    );
    let other_order = v3
        .post(
            REFUNDS,
            &refund_body("v3-refund-0004", "v3-r-x6", 1000, 100),
        )
        .await;
    other_order.assert_error(400, "INVALID_REQUEST");

    let missing = v3.get(&query_url("v3-r-none")).await;
    missing.assert_error(404, "RESOURCE_NOT_EXISTS");
}

#[tokio::test]
async fn bodies_are_decoded_strictly() {
    // Many refused refunds in one second: without the limits, which would block the merchant.
    let sandbox = start_with(|config| config.rate_limits = false).await;
    let v3 = sandbox.v3_client();
    let mut unknown = refund_body("o", "v3-r-p1", 1000, 100);
    unknown["refund_fee"] = json!(1);
    let mut null = refund_body("o", "v3-r-p2", 1000, 100);
    null["reason"] = Value::Null;
    let mut wrong_type = refund_body("o", "v3-r-p3", 1000, 100);
    wrong_type["amount"]["refund"] = json!("100");
    let mut missing = refund_body("o", "v3-r-p4", 1000, 100);
    missing.as_object_mut().unwrap().remove("out_refund_no");
    let mut bad_currency = refund_body("o", "v3-r-p5", 1000, 100);
    bad_currency["amount"]["currency"] = json!("USD");
    for (body, message) in [
        (unknown, "请求中含有未在API文档中定义的参数"),
        (null, ""),
        (wrong_type, ""),
        (missing, ""),
        (bad_currency, ""),
    ] {
        let answer = v3.post(REFUNDS, &body).await;
        let error = answer.assert_error(400, "PARAM_ERROR");
        assert_eq!(error["detail"]["location"], "body", "{body}");
        if !message.is_empty() {
            assert_eq!(error["message"], message);
        }
    }
    for raw in [&b"{"[..], b"[]", b"", b"\xff\xfe"] {
        let answer = v3
            .send(Method::POST, REFUNDS, raw.to_vec(), Extra::default())
            .await;
        answer.assert_error(400, "PARAM_ERROR");
    }
    let refund_too_big = v3
        .post(REFUNDS, &refund_body("o", "v3-r-p6", 100, 200))
        .await;
    refund_too_big.assert_error(400, "PARAM_ERROR");
    let bad_number = v3.get(&query_url("bad%20number")).await;
    assert_eq!(
        bad_number.assert_error(400, "PARAM_ERROR")["detail"]["location"],
        "uri_template"
    );
}

#[tokio::test]
async fn erroneous_refund_requests_block_the_merchant_for_both_protocols() {
    let sandbox = start().await;
    sandbox.seed_order("v3-refund-0005", 1000, json!({})).await;
    let v3 = sandbox.v3_client();
    // The seventh erroneous request within a second blocks the merchant for a minute.
    for i in 0..7 {
        let answer = v3
            .post(
                REFUNDS,
                &refund_body("no-such-order", &format!("e{i}"), 10, 1),
            )
            .await;
        answer.assert_error(404, "RESOURCE_NOT_EXISTS");
    }
    let blocked = v3
        .post(
            REFUNDS,
            &refund_body("v3-refund-0005", "v3-r-b1", 1000, 100),
        )
        .await;
    blocked.assert_error(429, "FREQUENCY_LIMITED");
    // v2 sees the same block.
    let v2 = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("v3-refund-0005", "v3-r-b2", 1000, 100),
        )
        .await;
    assert_eq!(v2.get("err_code"), Some("INVALID_REQ_TOO_MUCH"), "{v2:?}");
    sandbox.advance(61).await;
    let later = v3
        .post(
            REFUNDS,
            &refund_body("v3-refund-0005", "v3-r-b1", 1000, 100),
        )
        .await;
    assert_eq!(later.status, 200, "{}", later.body);
}

fn v2_refund_query(out_refund_no: &str) -> Params {
    let mut params = base();
    params.insert_text("out_refund_no", out_refund_no);
    params
}

#[tokio::test]
async fn a_refund_made_through_v2_reads_the_same_through_v3() {
    let sandbox = start().await;
    sandbox.seed_order("v3-cross-0001", 2000, json!({})).await;
    let v2 = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("v3-cross-0001", "v3-cross-r1", 2000, 700),
        )
        .await;
    assert_eq!(v2.get("result_code"), Some("SUCCESS"), "{v2:?}");
    let v3 = sandbox.v3_client();
    let answer = v3.get(&query_url("v3-cross-r1")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json["refund_id"], v2.get("refund_id").unwrap());
    assert_eq!(
        answer.json["transaction_id"],
        v2.get("transaction_id").unwrap()
    );
    assert_eq!(answer.json["amount"]["refund"], 700);
    assert_eq!(answer.json["status"], "PROCESSING");

    // CHANGE in v2 is ABNORMAL in v3.
    let refund_id = v2.get("refund_id").unwrap().to_owned();
    expect_ok(
        sandbox
            .admin_client()
            .force_refund_status(&refund_id, "CHANGE")
            .await,
    );
    let answer = v3.get(&query_url("v3-cross-r1")).await;
    assert_eq!(answer.json["status"], "ABNORMAL");
    let v2q = sandbox
        .call("/pay/refundquery", v2_refund_query("v3-cross-r1"))
        .await;
    assert_eq!(v2q.get("refund_status_0"), Some("CHANGE"), "{v2q:?}");
}

#[tokio::test]
async fn a_refund_made_through_v3_reads_the_same_through_v2() {
    let sandbox = start().await;
    sandbox.seed_order("v3-cross-0002", 3000, json!({})).await;
    let v3 = sandbox.v3_client();
    let answer = v3
        .post(
            REFUNDS,
            &refund_body("v3-cross-0002", "v3-cross-r2", 3000, 1000),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let refund_id = answer.json["refund_id"].as_str().unwrap().to_owned();
    expect_ok(
        sandbox
            .admin_client()
            .force_refund_status(&refund_id, "REFUNDCLOSE")
            .await,
    );
    let v2q = sandbox
        .call("/pay/refundquery", v2_refund_query("v3-cross-r2"))
        .await;
    assert_eq!(v2q.get("refund_id_0"), Some(refund_id.as_str()), "{v2q:?}");
    assert_eq!(v2q.get("refund_fee_0"), Some("1000"));
    assert_eq!(v2q.get("refund_status_0"), Some("REFUNDCLOSE"));
    let answer = v3.get(&query_url("v3-cross-r2")).await;
    assert_eq!(answer.json["status"], "CLOSED");
    // The closed refund gave its amount back: v2 can refund the whole order.
    sandbox.advance(61).await;
    let v2 = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("v3-cross-0002", "v3-cross-r3", 3000, 3000),
        )
        .await;
    assert_eq!(v2.get("result_code"), Some("SUCCESS"), "{v2:?}");
}

#[tokio::test]
async fn coupons_split_the_refund_as_v2_does() {
    let sandbox = start().await;
    sandbox
        .seed_order(
            "v3-coupon-0001",
            1000,
            json!({ "coupons": [{ "kind": "NO_CASH", "fee": 200 }] }),
        )
        .await;
    let v3 = sandbox.v3_client();
    let answer = v3
        .post(
            REFUNDS,
            &refund_body("v3-coupon-0001", "v3-coupon-r1", 1000, 500),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let amount = &answer.json["amount"];
    assert_eq!(amount["payer_total"], 800);
    assert_eq!(
        amount["payer_refund"].as_u64().unwrap() + amount["discount_refund"].as_u64().unwrap(),
        500
    );
    let promotion = &answer.json["promotion_detail"][0];
    assert_eq!(promotion["type"], "DISCOUNT");
    assert_eq!(promotion["amount"], 200);
    assert_eq!(promotion["refund_amount"], amount["discount_refund"]);
    let v2q = sandbox
        .call("/pay/refundquery", v2_refund_query("v3-coupon-r1"))
        .await;
    assert_eq!(
        v2q.get("settlement_refund_fee_0")
            .map(|s| s.parse::<u64>().unwrap()),
        amount["settlement_refund"].as_u64()
    );
}

fn expect_ok<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

fn abnormal_url(refund_id: &str) -> String {
    format!("{REFUNDS}/{refund_id}/apply-abnormal-refund")
}

/// A refund of `out_trade_no` made through v3 and forced to CHANGE (ABNORMAL); its id.
async fn abnormal_refund(sandbox: &Sandbox, out_trade_no: &str, out_refund_no: &str) -> String {
    sandbox.seed_order(out_trade_no, 1000, json!({})).await;
    let answer = sandbox
        .v3_client()
        .post(
            REFUNDS,
            &refund_body(out_trade_no, out_refund_no, 1000, 400),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let refund_id = answer.json["refund_id"].as_str().unwrap().to_owned();
    expect_ok(
        sandbox
            .admin_client()
            .force_refund_status(&refund_id, "CHANGE")
            .await,
    );
    refund_id
}

#[tokio::test]
async fn an_abnormal_refund_goes_to_the_users_bank_card() {
    use paysandbox_protocol::wechat::v3::oaep::encrypt_field;
    let sandbox = start().await;
    let refund_id = abnormal_refund(&sandbox, "v3-abn-0001", "v3-abn-r1").await;
    let v3 = sandbox.v3_client();
    assert_eq!(
        v3.get(&query_url("v3-abn-r1")).await.json["status"],
        "ABNORMAL"
    );

    let files = V3Files::of(MCH);
    let (serial, key) = files.certificates.last().unwrap().clone();
    let body = json!({
        "out_refund_no": "v3-abn-r1",
        "type": "USER_BANK_CARD",
        "bank_type": "ICBC_DEBIT",
        "bank_account": encrypt_field(&key, "6222020200001234").unwrap(),
        "real_name": encrypt_field(&key, "张三").unwrap(),
    });
    // Without Wechatpay-Serial the platform cannot tell which key encrypted the fields.
    let unnamed = v3.post(&abnormal_url(&refund_id), &body).await;
    assert_eq!(
        unnamed.assert_error(400, "PARAM_ERROR")["detail"]["location"],
        "header"
    );
    // Fields encrypted for another key do not decrypt.
    let public_key_client = sandbox
        .v3_client()
        .with_wechatpay_serial(&files.public_key.0);
    let wrong = public_key_client
        .post(&abnormal_url(&refund_id), &body)
        .await;
    assert_eq!(
        wrong.assert_error(400, "PARAM_ERROR")["detail"]["field"],
        "/body/bank_account"
    );

    let answer = sandbox
        .v3_client()
        .with_wechatpay_serial(&serial)
        .post(&abnormal_url(&refund_id), &body)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json["refund_id"], refund_id.as_str());
    assert_eq!(answer.json["status"], "SUCCESS");
    assert_eq!(answer.json["user_received_account"], "ICBC_DEBIT1234");
    let v2q = sandbox
        .call("/pay/refundquery", v2_refund_query("v3-abn-r1"))
        .await;
    assert_eq!(v2q.get("refund_status_0"), Some("SUCCESS"), "{v2q:?}");
    assert_eq!(v2q.get("refund_recv_accout_0"), Some("ICBC_DEBIT1234"));

    // Only an abnormal refund can be redirected.
    let again = sandbox
        .v3_client()
        .with_wechatpay_serial(&serial)
        .post(&abnormal_url(&refund_id), &body)
        .await;
    again.assert_error(400, "INVALID_REQUEST");
}

#[tokio::test]
async fn an_abnormal_refund_to_the_merchants_card_and_its_refusals() {
    let sandbox = start().await;
    let refund_id = abnormal_refund(&sandbox, "v3-abn-0002", "v3-abn-r2").await;
    let v3 = sandbox.v3_client();
    let merchant_card = json!({ "out_refund_no": "v3-abn-r2", "type": "MERCHANT_BANK_CARD" });
    let wrong_number = json!({ "out_refund_no": "v3-abn-r9", "type": "MERCHANT_BANK_CARD" });
    v3.post(&abnormal_url(&refund_id), &wrong_number)
        .await
        .assert_error(404, "RESOURCE_NOT_EXISTS");
    v3.post(
        &abnormal_url("50300000000000000000000000000"),
        &merchant_card,
    )
    .await
    .assert_error(404, "RESOURCE_NOT_EXISTS");
    let missing = json!({ "out_refund_no": "v3-abn-r2", "type": "USER_BANK_CARD" });
    v3.post(&abnormal_url(&refund_id), &missing)
        .await
        .assert_error(400, "PARAM_ERROR");
    let answer = v3.post(&abnormal_url(&refund_id), &merchant_card).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json["status"], "SUCCESS");
    assert_eq!(answer.json["user_received_account"], "商户银行卡");
}
