//! The admin route table through a running sandbox: `GET /admin` renders it, a known path
//! with another method is a 405 with `Allow`, an unknown one a 404, and dispatch picks the
//! route whose method fits.
#![allow(missing_docs, clippy::unwrap_used, clippy::indexing_slicing)]

use paysandbox_mock_server::admin;
use paysandbox_mock_server::server::RunningSandbox;
use reqwest::Method;
use serde_json::{Value, json};

struct Answer {
    status: u16,
    allow: Option<String>,
    body: Value,
}

async fn start() -> RunningSandbox {
    paysandbox_testkit::sandbox::start_with(|config| config.demo_data = false)
        .await
        .running
}

async fn call(sandbox: &RunningSandbox, method: Method, path: &str, body: Option<&str>) -> Answer {
    let mut request = paysandbox_testkit::https::http_client()
        .request(method, format!("{}{path}", sandbox.admin_url));
    if let Some(body) = body {
        request = request.body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    Answer {
        status,
        allow,
        body,
    }
}

#[tokio::test]
async fn get_admin_lists_the_table_with_fields_views_and_fault_names() {
    let sandbox = start().await;
    let index = call(&sandbox, Method::GET, "/admin", None).await;
    assert_eq!(index.status, 200);
    let endpoints = index.body["endpoints"].as_array().unwrap();
    let listed: Vec<String> = endpoints
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["method"].as_str().unwrap(),
                e["path"].as_str().unwrap()
            )
        })
        .collect();
    let table: Vec<String> = admin::table()
        .iter()
        .map(|r| format!("{} {}", r.method(), r.path()))
        .collect();
    assert_eq!(listed, table);
    let force = endpoints
        .iter()
        .find(|e| e["path"] == "/admin/wechat/refunds/{refund_id}/status")
        .unwrap();
    assert_eq!(
        force,
        &json!({
            "method": "POST",
            "path": "/admin/wechat/refunds/{refund_id}/status",
            "summary": "forces a PROCESSING refund's outcome",
            "query": [],
            "body": { "format": "json", "types": ["ForceStatus"], "fields": ["status"] },
            "view": "WechatRefundView",
        })
    );
    let orders = endpoints
        .iter()
        .find(|e| e["method"] == "GET" && e["path"] == "/admin/wechat/orders")
        .unwrap();
    assert_eq!(
        orders["query"],
        json!(["mch_id", "sandbox", "limit", "offset"])
    );
    assert_eq!(
        orders["body"],
        json!({ "format": "optional_json", "types": ["LedgerBody"], "fields": ["sandbox"] })
    );
    assert_eq!(orders["view"], "Vec<OrderView>");
    let bulk = endpoints
        .iter()
        .find(|e| e["path"] == "/admin/wechat/orders/bulk")
        .unwrap();
    assert_eq!(bulk["body"]["format"], "ndjson");
    assert_eq!(bulk["body"]["types"], json!(["SeedOrder"]));
    assert_eq!(bulk["body"]["fields"][0], "mch_id");
    assert_eq!(
        index.body["fault_endpoints"],
        json!([
            "wechat.refund",
            "wechat.refundquery",
            "wechat.orderquery",
            "wechat.unifiedorder",
            "wechat.closeorder",
            "wechat.downloadbill",
            "wechat.v3.refund",
            "wechat.v3.refund_query",
            "wechat.v3.abnormal_refund",
            "wechat.v3.prepay",
            "wechat.v3.order_query",
            "wechat.v3.close",
            "wechat.v3.certificates",
            "wechat.v3.bill",
            "alipay.trade.refund",
            "alipay.trade.fastpay.refund.query",
            "alipay.trade.query",
            "alipay.trade.close",
            "alipay.trade.precreate",
            "alipay.data.dataservice.bill.downloadurl.query",
        ])
    );
}

#[tokio::test]
async fn other_methods_get_405_with_allow_and_unknown_paths_404() {
    let sandbox = start().await;

    let clock = call(&sandbox, Method::DELETE, "/admin/clock", None).await;
    assert_eq!(clock.status, 405);
    assert_eq!(clock.allow.as_deref(), Some("GET"));
    assert_eq!(
        clock.body,
        json!({ "error": "/admin/clock takes GET, not DELETE" })
    );

    let faults = call(&sandbox, Method::PUT, "/admin/faults/", Some("{}")).await;
    assert_eq!(faults.status, 405);
    assert_eq!(faults.allow.as_deref(), Some("GET, POST, DELETE"));

    let bulk = call(&sandbox, Method::GET, "/admin/wechat/orders/bulk", None).await;
    assert_eq!((bulk.status, bulk.allow.as_deref()), (405, Some("POST")));

    // `/` is the dashboard's (tests/admin/dashboard.rs).
    for path in [
        "/admin/nothing",
        "/admin/alipay/trades/t-1/explode",
        "/adminx",
    ] {
        let unknown = call(&sandbox, Method::GET, path, None).await;
        assert_eq!(unknown.status, 404, "{path}");
        assert_eq!(unknown.allow, None, "{path}");
        assert_eq!(
            unknown.body,
            json!({ "error": "no such admin endpoint; GET /admin lists them" }),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_method_picks_between_routes_that_fit_one_path() {
    let sandbox = start().await;
    // GET fits /admin/notifications/{id}; POST fits the literal /admin/notifications/flush.
    let show = call(&sandbox, Method::GET, "/admin/notifications/flush", None).await;
    assert_eq!(
        (show.status, show.body),
        (404, json!({ "error": "no notification flush" }))
    );
    let flush = call(&sandbox, Method::POST, "/admin/notifications/flush/", None).await;
    assert_eq!(
        (flush.status, flush.body),
        (200, json!({ "flushed": true }))
    );
    let other = call(&sandbox, Method::DELETE, "/admin/notifications/flush", None).await;
    assert_eq!(other.allow.as_deref(), Some("GET, POST"));
}

#[tokio::test]
async fn an_advance_past_u64_seconds_is_refused_and_moves_nothing() {
    let sandbox = start().await;
    let refused = call(
        &sandbox,
        Method::POST,
        "/admin/clock/advance",
        Some(r#"{"seconds":18446744073709551615,"millis":1000}"#),
    )
    .await;
    assert_eq!(
        (refused.status, refused.body),
        (
            400,
            json!({
                "error": "seconds: would move the clock past 9999-12-31 23:59:59 (Beijing time), the last time the answers can write",
                "field": "seconds",
            })
        )
    );
    let clock = call(&sandbox, Method::GET, "/admin/clock", None).await;
    assert_eq!(clock.body["now_ms"], 1_700_000_000_000_i64);
}
