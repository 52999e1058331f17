//! Admin input: every out-of-range value is a 400 naming its field, nothing panics, and the
//! sandbox state is left as it was.

use paysandbox_testkit::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Sends `body` to `path` and asserts a 400 naming `field`.
async fn refused(sandbox: &Sandbox, method: Method, path: &str, body: Value, field: &str) {
    let (status, answer) = sandbox
        .admin(method.clone(), path, Some(body.clone()))
        .await;
    assert_eq!(status, 400, "{method} {path} {body}: {answer}");
    assert_eq!(answer["field"], field, "{method} {path} {body}: {answer}");
    assert!(
        answer["error"].as_str().is_some_and(|e| e.contains(field)),
        "{answer}"
    );
}

#[tokio::test]
async fn clock_moves_past_the_calendar_are_refused_and_the_clock_stays() {
    let sandbox = start().await;
    let before = sandbox.admin_get("/admin/clock").await;
    for (body, field) in [
        (json!({"seconds": u64::MAX, "millis": u64::MAX}), "seconds"),
        (json!({"seconds": u64::MAX}), "seconds"),
        (json!({"millis": u64::MAX}), "millis"),
        (json!({"seconds": 300_000_000_000u64}), "seconds"),
        (json!({"seconds": -1}), "seconds"),
        (json!({"seconds": 1e30}), "seconds"),
        (json!({"millis": "soon"}), "millis"),
    ] {
        refused(&sandbox, Method::POST, "/admin/clock/advance", body, field).await;
    }
    assert_eq!(sandbox.admin_get("/admin/clock").await, before);
    // The server still answers, and an ordinary advance still works.
    let moved = sandbox.advance(60).await;
    assert_eq!(moved["now_ms"], T0.0 + 60_000);
}

#[tokio::test]
async fn clock_set_and_reset_give_a_known_clock_back() {
    let sandbox = start().await;
    let set = sandbox
        .admin_post("/admin/clock/set", json!({"at": "2030-01-01 08:00:00"}))
        .await;
    assert_eq!(set["now_ms"], 1_893_456_000_000i64);
    assert_eq!(set["beijing"], "2030-01-01 08:00:00");
    assert_eq!(set["frozen"], true);
    let set = sandbox
        .admin_post("/admin/clock/set", json!({"at": 1_000}))
        .await;
    assert_eq!(set["now_ms"], 1_000);
    for at in [
        json!(-1),
        json!(253_402_272_000_000i64),
        json!("10000-01-01 00:00:00"),
    ] {
        refused(
            &sandbox,
            Method::POST,
            "/admin/clock/set",
            json!({"at": at}),
            "at",
        )
        .await;
    }
    // Far ahead, then reset: the clock is the start clock again, with the start state.
    sandbox.advance(86_400 * 400).await;
    sandbox.reset().await;
    let clock = sandbox.admin_get("/admin/clock").await;
    assert_eq!(clock["now_ms"], T0.0);
    assert_eq!(clock["frozen"], true);
}

#[tokio::test]
async fn order_amounts_coupons_ages_and_ids_out_of_range_are_refused() {
    let sandbox = start().await;
    let order = |extra: Value| {
        let mut base = json!({"mch_id": MCH, "total_fee": 1000});
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    };
    let cases = [
        (json!({"total_fee": 0}), "total_fee"),
        (json!({"total_fee": 2_147_483_648u64}), "total_fee"),
        (json!({"total_fee": u64::MAX}), "total_fee"),
        (
            json!({"coupons": [{"kind": "CASH", "fee": u64::MAX}, {"kind": "CASH", "fee": u64::MAX}]}),
            "coupons.fee",
        ),
        (
            json!({"total_fee": 2_000_000_000u64, "coupons": [
                {"kind": "CASH", "fee": 2_000_000_000u64},
                {"kind": "NO_CASH", "fee": 2_000_000_000u64}]}),
            "coupons",
        ),
        (
            json!({"coupons": [{"kind": "CASH", "fee": 0}]}),
            "coupons.fee",
        ),
        (
            json!({"coupons": [{"kind": "CASH", "fee": 1, "id": "c\u{1}"}]}),
            "coupons.id",
        ),
        (json!({"out_trade_no": "bad\u{1}no"}), "out_trade_no"),
        (json!({"out_trade_no": "x".repeat(33)}), "out_trade_no"),
        (json!({"out_trade_no": "有中文"}), "out_trade_no"),
        (json!({"transaction_id": "42abc"}), "transaction_id"),
        (json!({"appid": "wx\u{7f}"}), "appid"),
        (json!({"mch_id": ""}), "mch_id"),
        (json!({"body": "line\nbreak"}), "body"),
        (json!({"attach": "a".repeat(128)}), "attach"),
        (json!({"paid_seconds_ago": u64::MAX}), "paid_seconds_ago"),
        (
            json!({"paid_seconds_ago": 700_000_000u64}),
            "paid_seconds_ago",
        ),
        (json!({"paid_seconds_ago": -5}), "paid_seconds_ago"),
    ];
    for (extra, field) in cases {
        refused(
            &sandbox,
            Method::POST,
            "/admin/wechat/orders",
            order(extra),
            field,
        )
        .await;
    }
    // Nothing of it reached the ledger.
    let orders = sandbox
        .admin_get(&format!("/admin/wechat/orders?mch_id={MCH}"))
        .await;
    let before = orders.as_array().unwrap().len();
    let made = sandbox
        .admin_post(
            "/admin/wechat/orders",
            order(json!({"out_trade_no": "ok-order-1", "total_fee": 2_147_483_647u64})),
        )
        .await;
    assert_eq!(made["total_fee"], 2_147_483_647u64);
    let orders = sandbox
        .admin_get(&format!("/admin/wechat/orders?mch_id={MCH}"))
        .await;
    assert_eq!(orders.as_array().unwrap().len(), before + 1);
}

#[tokio::test]
async fn bulk_lines_follow_the_same_rules() {
    let sandbox = start().await;
    let body = format!(
        "{}\n{}\n",
        json!({"mch_id": MCH, "out_trade_no": "bulk-ok-1", "total_fee": 5}),
        json!({"mch_id": MCH, "out_trade_no": "bulk\u{1}", "total_fee": 5}),
    );
    let response = http_client()
        .post(format!(
            "{}/admin/wechat/orders/bulk",
            sandbox.admin_client().base_url()
        ))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let report: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(report["seeded"], 1, "{report}");
    assert_eq!(report["failed"], 1, "{report}");
    assert_eq!(report["errors"][0]["line"], 2);
    assert!(
        report["errors"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("out_trade_no:"),
        "{report}"
    );
}

#[tokio::test]
async fn merchants_apps_trades_and_balances_out_of_range_are_refused() {
    let sandbox = start().await;
    let merchant = |extra: Value| {
        let mut base = json!({"mch_id": "1900000109", "appids": ["wxd678efh567hg6787"], "api_key": "k".repeat(32)});
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    };
    for (extra, field) in [
        (json!({"mch_id": "19\u{1}"}), "mch_id"),
        (json!({"appids": []}), "appids"),
        (json!({"appids": ["wx\u{0}"]}), "appids"),
        (json!({"api_key": "with space"}), "api_key"),
        (json!({"company": "Acme\u{1b}[31m"}), "company"),
        (
            json!({"refundable_balance": 9_007_199_254_740_992u64}),
            "refundable_balance",
        ),
        (json!({"notify_url": "ftp://x.example/n"}), "notify_url"),
    ] {
        refused(
            &sandbox,
            Method::POST,
            "/admin/wechat/merchants",
            merchant(extra),
            field,
        )
        .await;
    }
    refused(
        &sandbox,
        Method::PATCH,
        &format!("/admin/wechat/merchants/{MCH}"),
        json!({"refundable_balance": u64::MAX}),
        "refundable_balance",
    )
    .await;
    let trade = |extra: Value| {
        let mut base = json!({"app_id": ALIPAY_APP, "total_fen": 100});
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    };
    for (extra, field) in [
        (json!({"total_fen": 10_000_000_001u64}), "total_amount"),
        (json!({"total_fen": 0}), "total_amount"),
        (json!({"out_trade_no": "t\u{1}"}), "out_trade_no"),
        (json!({"trade_no": "1".repeat(65)}), "trade_no"),
        (json!({"subject": "s\u{0}"}), "subject"),
        (json!({"paid_seconds_ago": u64::MAX}), "paid_seconds_ago"),
    ] {
        refused(
            &sandbox,
            Method::POST,
            "/admin/alipay/trades",
            trade(extra),
            field,
        )
        .await;
    }
    refused(
        &sandbox,
        Method::PATCH,
        &format!("/admin/alipay/apps/{}", ALIPAY_APP),
        json!({"seller_balance": u64::MAX}),
        "seller_balance",
    )
    .await;
}

#[tokio::test]
async fn fault_statuses_are_final_statuses_a_front_end_answers() {
    let sandbox = start().await;
    for status in [100, 101, 199, 600, 1000] {
        refused(
            &sandbox,
            Method::POST,
            "/admin/faults",
            json!({"endpoint": "wechat.refund", "http_status": status}),
            "http_status",
        )
        .await;
    }
    refused(
        &sandbox,
        Method::POST,
        "/admin/faults",
        json!({"endpoint": "wechat.refund", "delay_ms": u64::MAX}),
        "delay_ms",
    )
    .await;
    let pending = sandbox.admin_get("/admin/faults").await;
    assert_eq!(pending, json!({}));
    let (status, _) = sandbox
        .admin(
            Method::POST,
            "/admin/faults",
            Some(json!({"endpoint": "wechat.refund", "http_status": 502})),
        )
        .await;
    assert_eq!(status, 201);
}
