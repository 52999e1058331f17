//! A state with every kind of entity, reached through the APIs as a client and a tester would
//! reach it, exported, loaded into a second sandbox and exported again: the same text, the
//! same admin views, and the same ids from then on.

use std::sync::Arc;

use paysandbox_mock_server::scenario::{Format, Scenario};
use paysandbox_protocol::wechat::Params;
use paysandbox_testkit::admin::Fault;
use paysandbox_testkit::https::ClientCert;
use paysandbox_testkit::sandbox::{Sandbox, start, start_with};
use paysandbox_testkit::wechat::{KEY, MCH, refund_params};
use serde_json::{Value, json};

/// Nothing listens on the discard port: every attempt there fails at once.
const DEAD_URL: &str = "http://127.0.0.1:9/notify";

pub(crate) async fn refund(
    sandbox: &Sandbox,
    out_trade_no: &str,
    out_refund_no: &str,
    total: u64,
    fee: u64,
) -> Params {
    let mut params = refund_params(out_trade_no, out_refund_no, total, fee);
    params.insert_text("notify_url", DEAD_URL);
    let answer = sandbox.call("/secapi/pay/refund", params).await;
    assert_eq!(answer.get("result_code"), Some("SUCCESS"), "{answer:?}");
    answer
}

/// Everything the admin API lists, comparable between two sandboxes (merchants and apps in
/// id order).
pub(crate) async fn views(sandbox: &Sandbox) -> Vec<(String, Value)> {
    let mut views = Vec::new();
    for path in [
        "/admin/clock",
        "/admin/wechat/merchants",
        "/admin/wechat/orders",
        "/admin/wechat/refunds",
        "/admin/wechat/orders?sandbox=1",
        "/admin/wechat/refunds?sandbox=1",
        "/admin/wechat/sandbox/keys",
        "/admin/alipay/apps",
        "/admin/alipay/trades",
        "/admin/alipay/refunds",
        "/admin/notifications",
        "/admin/faults",
    ] {
        let mut view = sandbox.admin_get(path).await;
        if path.ends_with("merchants")
            && let Some(list) = view.as_array_mut()
        {
            list.sort_by_key(|m| m["mch_id"].as_str().unwrap_or_default().to_owned());
        }
        views.push((path.to_owned(), view));
    }
    views
}

/// Reaches a state with every kind of entity the scenario holds.
async fn busy_sandbox() -> Sandbox {
    busy(start().await).await
}

/// Takes `sandbox` (started with the demo data) to a state with every kind of entity.
pub(crate) async fn busy(sandbox: Sandbox) -> Sandbox {
    let admin = sandbox.admin_client();
    // A second merchant with an allow-list and a default notify URL.
    admin
        .create_merchant(
            "1900000200",
            json!({"appids": ["wx00000000000000a1", "wx00000000000000a2"],
                   "api_key": "roundtripkey0000000000000000000x", "company": "round trip",
                   "refundable_balance": 5_000, "ip_allowlist": ["127.0.0.1", "::1"],
                   "notify_url": DEAD_URL}),
        )
        .await
        .unwrap();
    sandbox
        .admin_post(
            "/admin/wechat/orders",
            json!({"mch_id": "1900000200", "appid": "wx00000000000000a2", "out_trade_no": "rt-1",
                   "total_fee": 3000, "paid_seconds_ago": 86_400, "trade_type": "NATIVE",
                   "body": "round trip", "attach": "a=1",
                   "coupons": [{"kind": "CASH", "fee": 100}, {"kind": "NO_CASH", "fee": 200}]}),
        )
        .await;
    // WeChat refunds: settled to SUCCESS (with a coupon split), to CHANGE, closed, pending.
    refund(&sandbox, "demo-order-0001", "rt-r1", 1000, 300).await;
    refund(&sandbox, "demo-order-0003", "rt-r2", 1000, 500).await;
    refund(&sandbox, "demo-order-0008", "rt-r3", 500, 500).await;
    let closed = refund(&sandbox, "demo-order-0002", "rt-r4", 8800, 800).await;
    sandbox
        .admin_post(
            &format!(
                "/admin/wechat/refunds/{}/status",
                closed.get("refund_id").unwrap()
            ),
            json!({"status": "REFUNDCLOSE"}),
        )
        .await;
    sandbox.advance(61).await;
    refund(&sandbox, "demo-order-0002", "rt-r5", 8800, 1200).await;
    refund(&sandbox, "demo-order-0004", "rt-r6", 500, 100).await;
    // The payment flow: one unified order paid by the buyer (its notification fails), one
    // closed.
    sandbox
        .admin_post(
            "/admin/wechat/orders/demo-order-0009/pay",
            json!({"bank_type": "CMB_DEBIT"}),
        )
        .await;
    let mut close = paysandbox_testkit::wechat::base();
    close.insert_text("out_trade_no", "demo-order-0010");
    let closed_order = sandbox.call("/pay/closeorder", close).await;
    assert_eq!(closed_order.get("result_code"), Some("SUCCESS"));
    // The /sandboxnew/ side: a key and an order of its own ledger.
    let mut getsignkey = Params::new();
    getsignkey.insert_text("mch_id", MCH);
    getsignkey.insert_text("nonce_str", "roundtripnonce01");
    let client = sandbox.https_client(ClientCert::None);
    let key = sandbox
        .call_with(&client, "/sandboxnew/pay/getsignkey", getsignkey, KEY)
        .await;
    assert_eq!(key.get("return_code"), Some("SUCCESS"));
    sandbox
        .admin_post(
            "/admin/wechat/orders?sandbox=1",
            json!({"mch_id": MCH, "out_trade_no": "rt-sandbox-1", "total_fee": 101}),
        )
        .await;
    // Alipay: a partial and a full refund (without out_request_no), a precreated trade not
    // scanned, a scanned one, a notified trade, a frozen one.
    let partial = sandbox
        .alipay(
            "alipay.trade.refund",
            json!({"out_trade_no": "demo-trade-0002", "refund_amount": "8.88",
                   "out_request_no": "rt-a1", "refund_reason": "round trip"}),
        )
        .await;
    assert_eq!(partial["code"], "10000", "{partial}");
    let full = sandbox
        .alipay(
            "alipay.trade.refund",
            json!({"out_trade_no": "demo-trade-0001", "refund_amount": "100.00"}),
        )
        .await;
    assert_eq!(full["code"], "10000", "{full}");
    for (no, amount) in [("rt-pre-1", "1.23"), ("rt-pre-2", "4.56")] {
        let pre = sandbox
            .alipay(
                "alipay.trade.precreate",
                json!({"out_trade_no": no, "total_amount": amount, "subject": "precreated"}),
            )
            .await;
        assert_eq!(pre["code"], "10000", "{pre}");
    }
    sandbox
        .admin_post("/admin/alipay/trades/rt-pre-2/scan", json!({}))
        .await;
    sandbox
        .seed_trade(
            "rt-notified",
            "20.00",
            json!({"notify_url": DEAD_URL, "store_id": "s1", "body": "notified"}),
        )
        .await;
    sandbox.advance(5).await;
    let notified = sandbox
        .alipay(
            "alipay.trade.refund",
            json!({"out_trade_no": "rt-notified", "refund_amount": "5.00", "out_request_no": "rt-a2"}),
        )
        .await;
    assert_eq!(notified["code"], "10000", "{notified}");
    admin
        .patch(
            "/admin/alipay/apps/2021000000000001",
            json!({"seller_balance": 123_456}),
        )
        .await
        .unwrap();
    // A few retries on the way, leaving some notifications pending; then one refund that
    // is still PROCESSING.
    sandbox.advance(120).await;
    refund(&sandbox, "demo-order-0001", "rt-r7", 1000, 200).await;
    // Faults still queued, two runs on one endpoint.
    sandbox
        .fault(Fault::err_code("wechat.refund", "SYSTEMERROR").count(2))
        .await;
    sandbox
        .fault(Fault::http_status("wechat.refund", 503).after_apply(true))
        .await;
    sandbox
        .fault(Fault::delay_ms("alipay.trade.query", 10))
        .await;
    sandbox
}

#[tokio::test]
async fn a_state_with_every_kind_of_entity_exports_loads_and_exports_the_same() {
    let first = busy_sandbox().await;
    let toml = first.export_scenario("toml").await;
    let json = first.export_scenario("json").await;
    let scenario = Scenario::parse(&toml, Format::Toml, "first.toml").unwrap();
    // Everything is there: both WeChat ledgers, keys, Alipay, faults and notifications,
    // failed attempts included, and the clock frozen where the first one stood.
    assert_eq!(scenario.wechat.merchants.len(), 2);
    assert_eq!(scenario.wechat_sandbox.orders.len(), 1);
    assert_eq!(scenario.wechat_sandbox_keys.len(), 1);
    assert!(scenario.alipay.trades.iter().any(|t| !t.visible));
    assert_eq!(scenario.faults.len(), 3);
    assert!(
        scenario
            .notifications
            .iter()
            .any(|n| n.attempts.len() > 1 && n.attempts.iter().all(|a| !a.success))
    );
    let statuses: Vec<_> = scenario
        .wechat
        .refunds
        .iter()
        .map(|r| r.status.as_str())
        .collect();
    for status in ["PROCESSING", "SUCCESS", "CHANGE", "REFUNDCLOSE"] {
        assert!(
            statuses.contains(&status),
            "{status} missing from {statuses:?}"
        );
    }
    assert_eq!(
        Scenario::parse(&json, Format::Json, "first.json").unwrap(),
        scenario
    );

    let second = start_with(|config| config.scenario = Some(Arc::new(scenario))).await;
    assert_eq!(second.export_scenario("toml").await, toml);
    assert_eq!(second.export_scenario("json").await, json);
    let (a, b) = (views(&first).await, views(&second).await);
    for ((path, a), (_, b)) in a.iter().zip(&b) {
        assert_eq!(a, b, "{path} differs after the round trip");
    }

    // The same state goes on the same way: the next refund gets the same id in both.
    sandbox_refund_ids_agree(&first, &second).await;
}

async fn sandbox_refund_ids_agree(first: &Sandbox, second: &Sandbox) {
    let mut ids = Vec::new();
    for sandbox in [first, second] {
        sandbox.admin_client().clear_faults().await.unwrap();
        let answer = refund(sandbox, "demo-order-0002", "rt-next", 8800, 100).await;
        ids.push(answer.get("refund_id").unwrap().to_owned());
    }
    assert_eq!(ids[0], ids[1]);
}
