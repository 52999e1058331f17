//! The admin API: seeding, listing, journal, reset, and its error statuses.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod dashboard;
mod docs_links;
mod table;

use paysandbox_testkit::prelude::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn journal_records_requests_and_reset_restores_the_demo_state() {
    let sandbox = start().await;
    let made = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("demo-order-0001", "j-1", 1000, 100),
        )
        .await;
    let (_, journal) = sandbox
        .admin(Method::GET, "/admin/journal?limit=1", None)
        .await;
    let entry = &journal[0];
    assert_eq!(entry["path"], "/secapi/pay/refund");
    assert_eq!(entry["outcome"], "SUCCESS");
    assert_eq!(entry["merchant"], MCH);
    assert_eq!(entry["status"], 200);
    assert!(
        entry["response"]
            .as_str()
            .unwrap()
            .contains(made.get("refund_id").unwrap())
    );

    let (_, refunds) = sandbox
        .admin(
            Method::GET,
            &format!("/admin/wechat/refunds?mch_id={MCH}"),
            None,
        )
        .await;
    assert_eq!(refunds.as_array().unwrap().len(), 1);
    assert_eq!(refunds[0]["status"], "PROCESSING");
    assert_eq!(refunds[0]["out_trade_no"], "demo-order-0001");

    sandbox.reset().await;
    let (_, refunds) = sandbox
        .admin(Method::GET, "/admin/wechat/refunds", None)
        .await;
    assert_eq!(refunds, json!([]));
    let (_, journal) = sandbox.admin(Method::GET, "/admin/journal", None).await;
    assert_eq!(journal, json!([]));
    let (_, orders) = sandbox
        .admin(Method::GET, "/admin/wechat/orders", None)
        .await;
    assert_eq!(orders.as_array().unwrap().len(), 10); // 8 paid or seeded, 2 unpaid
    assert_eq!(orders[0]["trade_state"], "SUCCESS");
    // Same seed after reset: the same refund id again.
    let again = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("demo-order-0001", "j-1", 1000, 100),
        )
        .await;
    assert_eq!(again.get("transaction_id"), made.get("transaction_id"));
}

#[tokio::test]
async fn admin_errors_have_their_statuses() {
    let sandbox = start().await;
    let (status, body) = sandbox
        .admin(
            Method::POST,
            "/admin/wechat/orders",
            Some(json!({ "mch_id": "nobody", "total_fee": 1 })),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (404, "unknown merchant nobody")
    );
    let (status, _) = sandbox
        .admin(
            Method::POST,
            "/admin/wechat/orders",
            Some(json!({ "mch_id": MCH, "out_trade_no": "demo-order-0001", "total_fee": 1 })),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = sandbox
        .admin(
            Method::POST,
            "/admin/faults",
            Some(json!({ "endpoint": "wechat.refund" })),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = sandbox.admin(Method::GET, "/admin/nothing", None).await;
    assert_eq!(status, 404);
    let (status, _) = sandbox
        .admin(
            Method::POST,
            "/admin/clock/advance",
            Some(json!("not an object")),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn clock_advance_settles_due_refunds() {
    let sandbox = start().await;
    let made = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("demo-order-0008", "c-1", 500, 500),
        )
        .await;
    let (_, clock) = sandbox.admin(Method::GET, "/admin/clock", None).await;
    assert_eq!(clock["now_ms"], T0.0);
    assert_eq!(clock["frozen"], true);
    let advanced = sandbox
        .admin_post("/admin/clock/advance", json!({ "seconds": 10 }))
        .await;
    assert_eq!(
        advanced["settled_refunds"],
        json!([made.get("refund_id").unwrap()])
    );
    let (_, refunds) = sandbox
        .admin(Method::GET, "/admin/wechat/refunds", None)
        .await;
    // demo-order-0008 is seeded to settle to CHANGE.
    assert_eq!(refunds[0]["status"], "CHANGE");
}

#[tokio::test]
async fn bulk_seeding_streams_ndjson_and_reports_bad_lines() {
    let sandbox = start().await;
    let mut body = String::new();
    for i in 0..25_000 {
        body += &format!(
            "{{\"mch_id\":\"{MCH}\",\"out_trade_no\":\"bulk-{i:08}\",\"total_fee\":100}}\n"
        );
    }
    body += "not json\n";
    body +=
        &format!("{{\"mch_id\":\"{MCH}\",\"out_trade_no\":\"bulk-00000001\",\"total_fee\":100}}\n");
    body += &format!("{{\"mch_id\":\"{MCH}\",\"out_trade_no\":\"bulk-last\",\"total_fee\":100}}");
    let response = http_client()
        .post(format!(
            "{}/admin/wechat/orders/bulk",
            sandbox.running.admin_url
        ))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let report: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(report["seeded"], 25_001);
    assert_eq!(report["failed"], 2);
    assert_eq!(report["errors"][0]["line"], 25_001);
    assert_eq!(report["errors"][1]["line"], 25_002);
    assert_eq!(
        report["errors"][1]["error"],
        "out_trade_no bulk-00000001 already exists"
    );
    // Bulk-seeded orders are ordinary orders: refundable.
    let refund = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("bulk-00024999", "b-1", 100, 100),
        )
        .await;
    assert_eq!(refund.get("result_code"), Some("SUCCESS"), "{refund:?}");
}

/// The out_trade_nos of a listing, in its order.
fn trade_nos(list: &serde_json::Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| o["out_trade_no"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn lists_answer_a_page_of_the_newest_oldest_first_and_refuse_bad_bounds() {
    let sandbox = start().await;
    for i in 0..5 {
        let (status, _) = sandbox
            .admin(
                Method::POST,
                "/admin/wechat/orders",
                Some(
                    json!({ "mch_id": MCH, "out_trade_no": format!("page-{i}"), "total_fee": 100 }),
                ),
            )
            .await;
        assert_eq!(status, 201);
    }
    let all = sandbox.admin_get("/admin/wechat/orders").await;
    let all = trade_nos(&all);
    let n = all.len();
    assert_eq!(
        &all[n - 5..],
        ["page-0", "page-1", "page-2", "page-3", "page-4"]
    );

    let newest = sandbox.admin_get("/admin/wechat/orders?limit=2").await;
    assert_eq!(trade_nos(&newest), ["page-3", "page-4"]);
    let back = sandbox
        .admin_get("/admin/wechat/orders?limit=2&offset=1")
        .await;
    assert_eq!(trade_nos(&back), ["page-2", "page-3"]);
    let filtered = sandbox
        .admin_get(&format!(
            "/admin/wechat/orders?mch_id={MCH}&limit=1&offset=4"
        ))
        .await;
    assert_eq!(trade_nos(&filtered), ["page-0"]);
    let past_the_end = sandbox
        .admin_get(&format!("/admin/wechat/orders?offset={n}"))
        .await;
    assert_eq!(past_the_end, json!([]));
    let everything = sandbox.admin_get("/admin/wechat/orders?limit=10000").await;
    assert_eq!(trade_nos(&everything), all);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("offset=18446744073709551616", "offset"),
    ] {
        for list in [
            "/admin/wechat/orders",
            "/admin/wechat/refunds",
            "/admin/alipay/trades",
            "/admin/alipay/refunds",
            "/admin/notifications",
        ] {
            let (status, body) = sandbox
                .admin(Method::GET, &format!("{list}?{query}"), None)
                .await;
            assert_eq!(
                (status, body["field"].as_str()),
                (400, Some(field)),
                "{list}?{query}: {body}"
            );
        }
    }

    // Trades and refunds page the same way.
    let trades = sandbox.admin_get("/admin/alipay/trades").await;
    let trades = trades.as_array().unwrap();
    let last = sandbox.admin_get("/admin/alipay/trades?limit=1").await;
    assert_eq!(last, json!([trades.last().unwrap()]));
}
