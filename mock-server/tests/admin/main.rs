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
