//! `/secapi/pay/refund`: the success answer and every business error code under its rule.

use std::time::Duration;

use paysandbox_protocol::wechat::sign::SignType;
use paysandbox_protocol::wechat::{Params, RefundResponse};
use serde_json::json;

use crate::support::*;

async fn refund(
    sandbox: &Sandbox,
    order: &str,
    out_refund_no: &str,
    total: u64,
    fee: u64,
) -> Params {
    sandbox
        .call(
            "/secapi/pay/refund",
            refund_params(order, out_refund_no, total, fee),
        )
        .await
}

async fn order_query(sandbox: &Sandbox, out_trade_no: &str) -> Params {
    let mut params = base();
    params.insert_text("out_trade_no", out_trade_no);
    sandbox.call("/pay/orderquery", params).await
}

#[tokio::test]
async fn accepted_refund_has_every_field_and_flips_the_order_to_refund() {
    let sandbox = start().await;
    let response = refund(&sandbox, "demo-order-0003", "r-coupon-1", 1000, 500).await;
    assert_signed(&response, SignType::Md5);
    let parsed = RefundResponse::from_params(&response).unwrap();
    assert_eq!(parsed.out_trade_no, "demo-order-0003");
    assert_eq!(parsed.out_refund_no, "r-coupon-1");
    assert_eq!(parsed.refund_id.len(), 29);
    assert_eq!(parsed.transaction_id.len(), 28);
    assert_eq!(parsed.refund_fee, 500);
    assert_eq!(parsed.total_fee, 1000);
    // 200 of the 1000 were a NO_CASH coupon: half of it goes back with half the order.
    assert_eq!(parsed.coupon_refund_fee, 100);
    assert_eq!(parsed.settlement_refund_fee, Some(400));
    assert_eq!(parsed.settlement_total_fee, Some(800));
    assert_eq!(parsed.cash_fee, 800);
    assert_eq!(parsed.cash_refund_fee, Some(400));
    assert_eq!(parsed.coupons.len(), 1);
    assert_eq!(response.get("refund_channel"), Some(""));
    assert_eq!(response.get("coupon_type_0"), Some("NO_CASH"));

    let order = order_query(&sandbox, "demo-order-0003").await;
    assert_eq!(order.get("trade_state"), Some("REFUND"));
    assert_eq!(order.get("coupon_count"), Some("1"));
    assert_signed(&order, SignType::Md5);
}

#[tokio::test]
async fn same_out_refund_no_and_amounts_returns_the_same_refund() {
    let sandbox = start().await;
    let first = refund(&sandbox, "demo-order-0001", "same-1", 1000, 300).await;
    let again = refund(&sandbox, "demo-order-0001", "same-1", 1000, 300).await;
    assert_eq!(again.get("result_code"), Some("SUCCESS"));
    assert_eq!(again.get("refund_id"), first.get("refund_id"));
    let refunds = sandbox
        .running
        .state
        .world()
        .wechat
        .refunds(Some(MCH))
        .count();
    assert_eq!(refunds, 1);
}

#[tokio::test]
async fn same_out_refund_no_with_other_amounts_is_refund_fee_mismatch() {
    let sandbox = start().await;
    refund(&sandbox, "demo-order-0001", "same-1", 1000, 300).await;
    let response = refund(&sandbox, "demo-order-0001", "same-1", 1000, 301).await;
    assert_business_error(
        &response,
        "REFUND_FEE_MISMATCH",
        "订单金额或退款金额与之前请求不一致,请核实后再试",
    );
}

#[tokio::test]
async fn refund_fee_above_total_fee_is_invalid_refund_fee() {
    let sandbox = start().await;
    let response = refund(&sandbox, "demo-order-0001", "r1", 1000, 1001).await;
    assert_protocol_fail(&response, "invalid refund_fee");
}

#[tokio::test]
async fn total_fee_other_than_the_order_amount_is_invalid_request() {
    let sandbox = start().await;
    let response = refund(&sandbox, "demo-order-0001", "r1", 999, 1).await;
    assert_business_error(
        &response,
        "INVALID_REQUEST",
        "订单金额或退款金额与之前请求不一致,请核实后再试",
    );
}

#[tokio::test]
async fn cumulative_refund_above_payment_is_invalid_request_then_trade_state_error() {
    let sandbox = start().await;
    refund(&sandbox, "demo-order-0001", "r1", 1000, 600).await;
    sandbox.advance(60).await;
    let response = refund(&sandbox, "demo-order-0001", "r2", 1000, 401).await;
    assert_business_error(&response, "INVALID_REQUEST", "申请退款金额超过订单可退金额");
    let response = refund(&sandbox, "demo-order-0001", "r3", 1000, 400).await;
    assert_eq!(response.get("result_code"), Some("SUCCESS"));
    sandbox.advance(60).await;
    let response = refund(&sandbox, "demo-order-0001", "r4", 1000, 1).await;
    assert_business_error(&response, "TRADE_STATE_ERROR", "订单状态错误");
}

#[tokio::test]
async fn short_balance_is_notenough() {
    let sandbox = start().await;
    let (status, _) = sandbox
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/wechat/merchants/{MCH}"),
            Some(json!({ "refundable_balance": 50 })),
        )
        .await;
    assert_eq!(status, 200);
    let response = refund(&sandbox, "demo-order-0001", "r1", 1000, 51).await;
    assert_business_error(&response, "NOTENOUGH", "基本账户余额不足,请充值后重新发起");
}

#[tokio::test]
async fn unknown_and_unpaid_orders() {
    let sandbox = start().await;
    let response = refund(&sandbox, "no-such-order", "r1", 1000, 1).await;
    assert_business_error(&response, "ORDERNOTEXIST", "此交易订单号不存在");
    let response = refund(&sandbox, "demo-order-0006", "r1", 500, 1).await;
    assert_business_error(&response, "ORDERNOTEXIST", "此交易订单号不存在");
    let mut params = refund_params("x", "r1", 1000, 1);
    params.remove("out_trade_no");
    params.insert_text("transaction_id", "4200000000202001010000000000");
    let response = sandbox.call("/secapi/pay/refund", params).await;
    assert_business_error(&response, "INVALID_TRANSACTIONID", "无效transaction_id");
}

#[tokio::test]
async fn malformed_fields_are_param_error() {
    let sandbox = start().await;
    let response = refund(&sandbox, "demo-order-0001", "bad refund no!", 1000, 1).await;
    assert_business_error(&response, "PARAM_ERROR", "out_refund_no参数格式错误");
    let mut params = refund_params("x", "r1", 1000, 1);
    params.remove("out_trade_no");
    params.insert_text("transaction_id", "42000abc");
    let response = sandbox.call("/secapi/pay/refund", params).await;
    assert_business_error(&response, "PARAM_ERROR", "微信订单号非法");
    let mut params = refund_params("demo-order-0001", "r1", 1000, 1);
    params.insert_text("refund_fee", "1.00");
    let response = sandbox.call("/secapi/pay/refund", params).await;
    assert_business_error(&response, "PARAM_ERROR", "refund_fee参数格式错误");
}

#[tokio::test]
async fn seeded_conditions_give_their_codes() {
    let sandbox = start().await;
    let response = refund(&sandbox, "demo-order-0005", "r1", 500, 1).await;
    assert_business_error(&response, "TRADE_OVERDUE", "订单已经超过退款期限");
    let response = refund(&sandbox, "demo-order-0007", "r1", 500, 1).await;
    assert_business_error(&response, "USER_ACCOUNT_ABNORMAL", "用户账户异常或已注销");
    sandbox
        .admin_post(
            "/admin/wechat/orders",
            json!({ "mch_id": MCH, "out_trade_no": "not-ready-1", "total_fee": 100, "not_ready": true }),
        )
        .await;
    let response = refund(&sandbox, "not-ready-1", "r1", 100, 1).await;
    assert_business_error(
        &response,
        "ORDER_NOT_READY",
        "订单处理中,暂时无法退款,请稍后再试",
    );
}

#[tokio::test]
async fn refunds_of_one_order_need_a_minute_between_them() {
    let sandbox = start().await;
    refund(&sandbox, "demo-order-0002", "r1", 8800, 1).await;
    sandbox.advance(59).await;
    let response = refund(&sandbox, "demo-order-0002", "r2", 8800, 1).await;
    assert_business_error(
        &response,
        "FREQUENCY_LIMITED",
        "同一笔订单的多次退款需间隔1分钟以上,请稍后再试",
    );
    sandbox.advance(1).await;
    let response = refund(&sandbox, "demo-order-0002", "r2", 8800, 1).await;
    assert_eq!(response.get("result_code"), Some("SUCCESS"));
}

#[tokio::test]
async fn the_fifty_first_refund_is_refused() {
    let sandbox = start_with(|c| {
        c.wechat_rules.refund_spacing = Duration::ZERO;
        c.rate_limits = false;
    })
    .await;
    for i in 0..50 {
        let response = refund(&sandbox, "demo-order-0002", &format!("r{i}"), 8800, 1).await;
        assert_eq!(
            response.get("result_code"),
            Some("SUCCESS"),
            "{i}: {response:?}"
        );
    }
    let response = refund(&sandbox, "demo-order-0002", "r50", 8800, 1).await;
    assert_business_error(&response, "INVALID_REQUEST", "该订单退款次数已达上限(50次)");
}

#[tokio::test]
async fn old_orders_are_limited_per_minute() {
    let sandbox = start_with(|c| c.wechat_rules.old_order_refunds_per_minute = 1).await;
    sandbox
        .admin_post(
            "/admin/wechat/orders",
            json!({ "mch_id": MCH, "out_trade_no": "old-order-2", "total_fee": 500, "paid_seconds_ago": 3_456_000 }),
        )
        .await;
    let response = refund(&sandbox, "demo-order-0004", "r1", 500, 1).await;
    assert_eq!(response.get("result_code"), Some("SUCCESS"));
    let response = refund(&sandbox, "old-order-2", "r2", 500, 1).await;
    assert_business_error(
        &response,
        "FREQUENCY_LIMITED",
        "频率限制,1个月之前的订单申请退款请降低频率再重试。",
    );
}

#[tokio::test]
async fn too_many_erroneous_requests_block_the_merchant_for_a_minute() {
    let sandbox = start().await;
    for _ in 0..7 {
        let response = refund(&sandbox, "no-such-order", "r1", 1000, 1).await;
        assert_eq!(response.get("err_code"), Some("ORDERNOTEXIST"));
    }
    let response = refund(&sandbox, "demo-order-0001", "r1", 1000, 1).await;
    assert_business_error(
        &response,
        "INVALID_REQ_TOO_MUCH",
        "无效请求过多,请1分钟后再试",
    );
    sandbox.advance(60).await;
    let response = refund(&sandbox, "demo-order-0001", "r1", 1000, 1).await;
    assert_eq!(response.get("result_code"), Some("SUCCESS"));
}

#[tokio::test]
async fn more_than_150_refund_requests_a_second_are_frequency_limited() {
    let sandbox = start_with(|c| c.wechat_rules.refund_spacing = Duration::ZERO).await;
    // Identical repeats are valid requests: they count towards the rate, not the errors.
    for _ in 0..150 {
        let response = refund(&sandbox, "demo-order-0002", "r1", 8800, 1).await;
        assert_eq!(response.get("result_code"), Some("SUCCESS"));
    }
    let response = refund(&sandbox, "demo-order-0002", "r1", 8800, 1).await;
    assert_business_error(
        &response,
        "FREQUENCY_LIMITED",
        "频率限制,请降低退款请求频率后重试",
    );
}

#[tokio::test]
async fn injected_faults_answer_before_the_ledger_unless_after_apply() {
    let sandbox = start().await;
    sandbox
        .fault(Fault::err_code("wechat.refund", "SYSTEMERROR").count(1))
        .await;
    let response = refund(&sandbox, "demo-order-0001", "r1", 1000, 100).await;
    assert_business_error(
        &response,
        "SYSTEMERROR",
        "系统超时,请使用相同参数再次调用API",
    );
    assert_eq!(
        sandbox.running.state.world().wechat.refunds(None).count(),
        0
    );

    sandbox
        .fault(Fault::err_code("wechat.refund", "BIZERR_NEED_RETRY").after_apply(true))
        .await;
    let response = refund(&sandbox, "demo-order-0001", "r1", 1000, 100).await;
    assert_business_error(
        &response,
        "BIZERR_NEED_RETRY",
        "并发情况下,业务被拒绝,商户重试即可解决",
    );
    assert_eq!(
        sandbox.running.state.world().wechat.refunds(None).count(),
        1
    );
    // The retry with the same out_refund_no finds the refund made behind the error.
    let response = refund(&sandbox, "demo-order-0001", "r1", 1000, 100).await;
    assert_eq!(response.get("result_code"), Some("SUCCESS"));
    assert_eq!(
        sandbox.running.state.world().wechat.refunds(None).count(),
        1
    );

    sandbox
        .fault(Fault::http_status("wechat.refund", 503))
        .await;
    let client = sandbox.https_client(ClientCert::Merchant(MCH));
    let body = paysandbox_protocol::wechat::xml::encode(&signed(
        refund_params("demo-order-0001", "r2", 1000, 100),
        KEY,
    ));
    let (status, text) = sandbox
        .post_raw(&client, "/secapi/pay/refund", body.clone())
        .await;
    assert_eq!((status, text.as_str()), (503, ""));
    assert_eq!(
        sandbox.running.state.world().wechat.refunds(None).count(),
        1
    );

    // A gateway failure after the refund was made: applied, yet the client sees a 502.
    sandbox.advance(60).await;
    sandbox
        .fault(Fault::http_status("wechat.refund", 502).after_apply(true))
        .await;
    let (status, _) = sandbox
        .post_raw(&client, "/secapi/pay/refund", body.clone())
        .await;
    assert_eq!(status, 502);
    assert_eq!(
        sandbox.running.state.world().wechat.refunds(None).count(),
        2
    );
    sandbox.advance(60).await;
    let (_, text) = sandbox.post_raw(&client, "/secapi/pay/refund", body).await;
    assert!(
        text.contains("<result_code><![CDATA[SUCCESS]]></result_code>"),
        "{text}"
    );
    assert_eq!(
        sandbox.running.state.world().wechat.refunds(None).count(),
        2
    );
}

#[tokio::test]
async fn refunds_settle_and_can_be_forced_to_change_or_closed() {
    let sandbox = start().await;
    let first = refund(&sandbox, "demo-order-0001", "r1", 1000, 1000).await;
    let refund_id = first.get("refund_id").unwrap().to_owned();
    let forced = sandbox
        .admin_post(
            &format!("/admin/wechat/refunds/{refund_id}/status"),
            json!({ "status": "REFUNDCLOSE" }),
        )
        .await;
    assert_eq!(forced["status"], "REFUNDCLOSE");
    // A closed refund makes its amount refundable again.
    sandbox.advance(60).await;
    let second = refund(&sandbox, "demo-order-0001", "r2", 1000, 1000).await;
    assert_eq!(second.get("result_code"), Some("SUCCESS"), "{second:?}");
    let (status, conflict) = sandbox
        .admin(
            reqwest::Method::POST,
            &format!("/admin/wechat/refunds/{refund_id}/status"),
            Some(json!({ "status": "SUCCESS" })),
        )
        .await;
    assert_eq!(status, 409, "{conflict}");
}
