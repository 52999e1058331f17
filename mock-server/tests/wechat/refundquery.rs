//! `/pay/refundquery`: the four ids and their priority, paging, every indexed field, errors;
//! and concurrent refunds of one order.

use std::time::Duration;

use paysandbox_protocol::wechat::sign::SignType;
use paysandbox_protocol::wechat::{Params, RefundQueryResponse, RefundStatus};
use serde_json::json;

use crate::support::*;

async fn query(sandbox: &Sandbox, fields: &[(&str, &str)]) -> Params {
    let mut params = base();
    for (k, v) in fields {
        params.insert_text(*k, *v);
    }
    sandbox.call("/pay/refundquery", params).await
}

#[tokio::test]
async fn query_by_each_id_with_every_indexed_field() {
    let sandbox = start().await;
    let made = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("demo-order-0003", "q-1", 1000, 500),
        )
        .await;
    let refund_id = made.get("refund_id").unwrap();
    let transaction_id = made.get("transaction_id").unwrap();
    for fields in [
        vec![("refund_id", refund_id)],
        vec![("out_refund_no", "q-1")],
        vec![("transaction_id", transaction_id)],
        vec![("out_trade_no", "demo-order-0003")],
        // Priority: refund_id wins over a wrong out_trade_no.
        vec![("refund_id", refund_id), ("out_trade_no", "no-such-order")],
    ] {
        let response = query(&sandbox, &fields).await;
        assert_signed(&response, SignType::Md5);
        assert_eq!(response.get("refund_count"), Some("1"), "{fields:?}");
        assert_eq!(response.get("out_refund_no_0"), Some("q-1"));
        assert_eq!(response.get("refund_id_0"), Some(refund_id));
        assert_eq!(response.get("refund_fee_0"), Some("500"));
        assert_eq!(response.get("settlement_refund_fee_0"), Some("400"));
        assert_eq!(response.get("coupon_refund_fee_0"), Some("100"));
        assert_eq!(response.get("coupon_refund_count_0"), Some("1"));
        assert_eq!(response.get("coupon_type_0_0"), Some("NO_CASH"));
        assert_eq!(response.get("coupon_refund_fee_0_0"), Some("100"));
        assert!(response.get("coupon_refund_id_0_0").is_some());
        assert_eq!(response.get("refund_status_0"), Some("PROCESSING"));
        assert_eq!(response.get("refund_channel_0"), Some("ORIGINAL"));
        assert_eq!(
            response.get("refund_account_0"),
            Some("REFUND_SOURCE_UNSETTLED_FUNDS")
        );
        assert_eq!(response.get("refund_recv_accout_0"), Some("支付用户零钱"));
        assert_eq!(response.get("refund_success_time_0"), None);
        assert_eq!(response.get("total_fee"), Some("1000"));
        assert_eq!(response.get("cash_fee"), Some("800"));
    }
    let by_order = query(&sandbox, &[("out_trade_no", "demo-order-0003")]).await;
    assert_eq!(by_order.get("total_refund_count"), Some("1"));
    let by_refund = query(&sandbox, &[("out_refund_no", "q-1")]).await;
    assert_eq!(by_refund.get("total_refund_count"), None);
}

#[tokio::test]
async fn settled_refund_shows_success_time_in_beijing_time() {
    let sandbox = start().await;
    sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("demo-order-0001", "q-1", 1000, 1),
        )
        .await;
    sandbox.advance(10).await;
    let response = query(&sandbox, &[("out_refund_no", "q-1")]).await;
    assert_eq!(response.get("refund_status_0"), Some("SUCCESS"));
    // T0 + 10 s = 2023-11-14 22:13:30 UTC = 2023-11-15 06:13:30 Beijing.
    assert_eq!(
        response.get("refund_success_time_0"),
        Some("2023-11-15 06:13:30")
    );
}

#[tokio::test]
async fn pages_of_ten_through_offset() {
    let sandbox = start_with(|c| {
        c.wechat_rules.refund_spacing = Duration::ZERO;
    })
    .await;
    for i in 0..25 {
        let response = sandbox
            .call(
                "/secapi/pay/refund",
                refund_params("demo-order-0002", &format!("page-{i:02}"), 8800, 10),
            )
            .await;
        assert_eq!(response.get("result_code"), Some("SUCCESS"));
    }
    let mut seen = Vec::new();
    for offset in [0, 10, 20] {
        let response = query(
            &sandbox,
            &[
                ("out_trade_no", "demo-order-0002"),
                ("offset", &offset.to_string()),
            ],
        )
        .await;
        let parsed = RefundQueryResponse::from_params(&response).unwrap();
        assert_eq!(parsed.total_refund_count, Some(25));
        assert_eq!(parsed.refunds.len(), if offset == 20 { 5 } else { 10 });
        assert!(
            parsed
                .refunds
                .iter()
                .all(|r| r.refund_status == RefundStatus::Processing)
        );
        seen.extend(parsed.refunds.into_iter().map(|r| r.out_refund_no));
    }
    let expected: Vec<String> = (0..25).map(|i| format!("page-{i:02}")).collect();
    assert_eq!(seen, expected);
    let response = query(
        &sandbox,
        &[("out_trade_no", "demo-order-0002"), ("offset", "26")],
    )
    .await;
    assert_business_error(&response, "PARAM_ERROR", "offset参数错误,超出退款单总数");
}

#[tokio::test]
async fn nothing_to_find_is_refundnotexist() {
    let sandbox = start().await;
    for fields in [
        [("out_trade_no", "demo-order-0001")],
        [("out_trade_no", "no-such-order")],
        [("out_refund_no", "no-such-refund")],
        [("refund_id", "50300000000000000000000000000")],
    ] {
        let response = query(&sandbox, &fields).await;
        assert_business_error(&response, "REFUNDNOTEXIST", "not exist");
    }
    let response = query(&sandbox, &[]).await;
    assert_protocol_fail(&response, "缺少参数");
}

/// Many clients refunding one order at once: never more than was paid, nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refunds_never_exceed_the_payment() {
    let sandbox = start_with(|c| {
        c.wechat_rules.refund_spacing = Duration::ZERO;
        c.rate_limits = false;
    })
    .await;
    sandbox
        .admin_post(
            "/admin/wechat/orders",
            json!({ "mch_id": MCH, "out_trade_no": "race-order", "total_fee": 1000 }),
        )
        .await;
    let sandbox = std::sync::Arc::new(sandbox);
    let mut tasks = Vec::new();
    for i in 0..48 {
        let sandbox = sandbox.clone();
        tasks.push(tokio::spawn(async move {
            // Every client sends twice with the same out_refund_no: one refund each at most.
            let a = sandbox
                .call(
                    "/secapi/pay/refund",
                    refund_params("race-order", &format!("race-{i}"), 1000, 30),
                )
                .await;
            let b = sandbox
                .call(
                    "/secapi/pay/refund",
                    refund_params("race-order", &format!("race-{i}"), 1000, 30),
                )
                .await;
            (a, b)
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        let (a, b) = task.await.unwrap();
        assert_eq!(a.get("result_code"), b.get("result_code"));
        match a.get("result_code") {
            Some("SUCCESS") => {
                assert_eq!(a.get("refund_id"), b.get("refund_id"));
                accepted += 1;
            }
            _ => assert_eq!(a.get("err_code"), Some("INVALID_REQUEST"), "{a:?}"),
        }
    }
    assert_eq!(accepted, 33, "1000 fen holds 33 refunds of 30");
    let world = sandbox.running.state.world();
    let refunds: Vec<_> = world
        .wechat
        .refunds(Some(MCH))
        .filter(|(_, o)| &*o.out_trade_no == "race-order")
        .collect();
    assert_eq!(refunds.len(), 33);
    assert_eq!(refunds.iter().map(|(r, _)| r.refund_fee).sum::<u64>(), 990);
}

/// A query by order carries the order's totals at the top level (`refund_fee`,
/// `coupon_refund_fee`), summed over every page; a query by refund carries neither.
#[tokio::test]
async fn query_by_order_carries_the_order_refund_totals() {
    let sandbox = start().await;
    for (no, fee) in [("sum-1", 500), ("sum-2", 300)] {
        let made = sandbox
            .call(
                "/secapi/pay/refund",
                refund_params("demo-order-0003", no, 1000, fee),
            )
            .await;
        assert_eq!(made.get("result_code"), Some("SUCCESS"), "{made:?}");
        // The platform's minute between two refunds of one order.
        sandbox.advance(61).await;
    }
    let transaction_id = sandbox
        .call("/pay/refundquery", {
            let mut p = base();
            p.insert_text("out_refund_no", "sum-1");
            p
        })
        .await
        .get("transaction_id")
        .unwrap()
        .to_string();
    for fields in [
        vec![("out_trade_no", "demo-order-0003")],
        vec![("transaction_id", transaction_id.as_str())],
        // Totals cover the whole order even on a page that shows only the second refund.
        vec![("out_trade_no", "demo-order-0003"), ("offset", "1")],
    ] {
        let response = query(&sandbox, &fields).await;
        assert_signed(&response, SignType::Md5);
        assert_eq!(response.get("refund_fee"), Some("800"), "{fields:?}");
        assert_eq!(response.get("coupon_refund_fee"), Some("160"), "{fields:?}");
        let parsed = RefundQueryResponse::from_params(&response).unwrap();
        assert_eq!(parsed.refund_fee, Some(800));
        assert_eq!(parsed.coupon_refund_fee, Some(160));
    }
    let by_refund = query(&sandbox, &[("out_refund_no", "sum-2")]).await;
    assert_eq!(by_refund.get("refund_fee_0"), Some("300"));
    assert_eq!(by_refund.get("refund_fee"), None);
    assert_eq!(by_refund.get("coupon_refund_fee"), None);
}
