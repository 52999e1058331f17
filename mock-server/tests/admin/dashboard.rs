//! The dashboard's pages, the live event stream they follow, and the journal's signature
//! verdicts and rules they show.

use std::time::Duration;

use paysandbox_mock_server::dashboard;
use paysandbox_mock_server::events::MAX_SUBSCRIBERS;
use paysandbox_mock_server::state::{AppState, Listening};
use paysandbox_protocol::wechat::xml;
use paysandbox_testkit::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

/// The newest journal entry of `path`.
async fn last_entry(sandbox: &Sandbox, path: &str) -> Value {
    sandbox
        .journal_of(path)
        .await
        .pop()
        .unwrap_or_else(|| panic!("no journal entry for {path}"))
}

async fn page(sandbox: &Sandbox, path: &str) -> (u16, String, String) {
    let response = http_client()
        .get(format!("{}{path}", sandbox.running.admin_url))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    // minijinja escapes `/` in what it writes; the tests read the text as a browser would.
    let html = response.text().await.unwrap();
    (status, content_type, html.replace("&#x2f;", "/"))
}

#[tokio::test]
async fn wechat_journal_entries_carry_the_signature_verdict_and_the_refusing_rule() {
    let sandbox = start().await;
    let refund = "/secapi/pay/refund";

    sandbox
        .call(refund, refund_params("demo-order-0001", "v-1", 1000, 100))
        .await;
    let entry = last_entry(&sandbox, refund).await;
    assert_eq!(entry["signature"], "ok");
    assert_eq!(entry["rule"], Value::Null);

    // An order the ledger does not have: the ledger's rule, named.
    sandbox
        .call(refund, refund_params("no-such-order", "v-2", 1000, 100))
        .await;
    let entry = last_entry(&sandbox, refund).await;
    assert_eq!(entry["outcome"], "ORDERNOTEXIST");
    assert_eq!(entry["signature"], "ok");
    assert_eq!(entry["rule"], "WechatLedger::refund: OrderNotExist");

    // Signed with another key.
    let client = sandbox.https_client(ClientCert::Merchant(MCH));
    let wrong = signed(
        refund_params("demo-order-0001", "v-3", 1000, 100),
        "another-key-00000000000000000000",
    );
    sandbox.post_raw(&client, refund, xml::encode(&wrong)).await;
    let entry = last_entry(&sandbox, refund).await;
    assert_eq!(entry["outcome"], "FAIL: 签名错误,请检查后再试");
    assert_eq!(entry["signature"], "bad");
    assert_eq!(entry["rule"], "wechat check 5: signature");

    // No sign at all.
    let unsigned = refund_params("demo-order-0001", "v-4", 1000, 100);
    sandbox
        .post_raw(&client, refund, xml::encode(&unsigned))
        .await;
    let entry = last_entry(&sandbox, refund).await;
    assert_eq!(entry["signature"], "missing");
    assert_eq!(entry["rule"], "wx-missing-field");

    // An injected fault names itself.
    sandbox
        .fault(Fault::err_code("wechat.refund", "SYSTEMERROR"))
        .await;
    sandbox
        .call(refund, refund_params("demo-order-0001", "v-5", 1000, 100))
        .await;
    let entry = last_entry(&sandbox, refund).await;
    assert_eq!(entry["outcome"], "SYSTEMERROR");
    assert_eq!(entry["signature"], "ok");
    assert_eq!(entry["rule"], "injected fault");

    // No client certificate: refused before anything was read.
    let bare = sandbox.https_client(ClientCert::None);
    let params = signed(refund_params("demo-order-0001", "v-6", 1000, 100), KEY);
    let (status, _) = sandbox.post_raw(&bare, refund, xml::encode(&params)).await;
    assert_eq!(status, 400);
    let entry = last_entry(&sandbox, refund).await;
    assert_eq!(entry["signature"], "not-applicable");
    assert_eq!(entry["rule"], "wechat check 1: client certificate");
}

#[tokio::test]
async fn alipay_journal_entries_carry_the_signature_verdict_and_the_refusing_rule() {
    let sandbox = start().await;
    let method = "alipay.trade.refund";

    let node = sandbox
        .alipay(
            method,
            json!({"out_trade_no": "demo-trade-0002", "refund_amount": "1.00", "out_request_no": "a-1"}),
        )
        .await;
    assert_eq!(node["code"], "10000");
    let entry = sandbox.gateway_journal(method).await.pop().unwrap();
    assert_eq!(entry["signature"], "ok");
    assert_eq!(entry["rule"], Value::Null);

    let node = sandbox
        .alipay(
            method,
            json!({"out_trade_no": "demo-trade-0002", "refund_amount": "500.00", "out_request_no": "a-2"}),
        )
        .await;
    assert_eq!(node["sub_code"], "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
    let entry = sandbox.gateway_journal(method).await.pop().unwrap();
    assert_eq!(entry["signature"], "ok");
    assert_eq!(entry["rule"], "AlipayLedger::refund: AmountAboveTotal");

    let biz = json!({"out_trade_no": "demo-trade-0002", "refund_amount": "1.00"});
    let mut tampered = alipay_signed(method, &biz);
    for (key, value) in &mut tampered {
        if key == "biz_content" {
            *value =
                json!({"out_trade_no": "demo-trade-0002", "refund_amount": "2.00"}).to_string();
        }
    }
    sandbox
        .alipay_raw(&sandbox.running.api_url, Placement::Body, &tampered)
        .await;
    let entry = sandbox.gateway_journal(method).await.pop().unwrap();
    assert_eq!(entry["outcome"], "isv.invalid-signature");
    assert_eq!(entry["signature"], "bad");
    assert_eq!(entry["rule"], "alipay check 6: signature");

    let unsigned = alipay_unsigned(method, &biz);
    sandbox
        .alipay_raw(&sandbox.running.api_url, Placement::Body, &unsigned)
        .await;
    let entry = sandbox.gateway_journal(method).await.pop().unwrap();
    assert_eq!(entry["outcome"], "isv.missing-signature");
    assert_eq!(entry["signature"], "missing");
    assert_eq!(entry["rule"], "alipay check 4: common parameters");
}

/// Reads an event stream until a chunk holds `needle`, for at most five seconds.
async fn read_until(stream: &mut reqwest::Response, needle: &str) -> String {
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains(needle) {
                return;
            }
        }
    })
    .await;
    assert!(
        found.is_ok() && seen.contains(needle),
        "{needle} not in {seen}"
    );
    seen
}

#[tokio::test]
async fn the_event_stream_sends_journal_entries_and_changes_as_they_happen() {
    let sandbox = start().await;
    let mut stream = http_client()
        .get(format!("{}/admin/events", sandbox.running.admin_url))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    read_until(&mut stream, ": open").await;

    sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("demo-order-0002", "live-1", 8800, 100),
        )
        .await;
    let seen = read_until(&mut stream, "live-1").await;
    let data = seen
        .lines()
        .find(|line| line.starts_with("data: ") && line.contains("live-1"))
        .unwrap();
    let event: Value = serde_json::from_str(&data["data: ".len()..]).unwrap();
    assert_eq!(event["type"], "journal");
    assert_eq!(event["entry"]["path"], "/secapi/pay/refund");
    assert_eq!(event["entry"]["signature"], "ok");
    assert!(seen.contains("event: journal\n"), "{seen}");

    sandbox.advance(60).await;
    let seen = read_until(&mut stream, "POST /admin/clock/advance").await;
    assert!(seen.contains("event: changed\n"), "{seen}");
    assert!(seen.contains("refunds settled"), "{seen}");
}

#[tokio::test]
async fn event_streams_are_capped_and_end_when_the_sandbox_stops() {
    let sandbox = start().await;
    let held: Vec<_> = (0..MAX_SUBSCRIBERS)
        .map(|_| sandbox.running.state.events.subscribe().unwrap())
        .collect();
    let (status, body) = sandbox.admin(Method::GET, "/admin/events", None).await;
    assert_eq!(status, 503);
    assert_eq!(
        body["error"],
        format!("{MAX_SUBSCRIBERS} event streams are open already")
    );
    drop(held);

    let mut stream = http_client()
        .get(format!("{}/admin/events", sandbox.running.admin_url))
        .send()
        .await
        .unwrap();
    read_until(&mut stream, ": open").await;
    let Sandbox { running, .. } = sandbox;
    // An open stream must not hold the graceful shutdown for its 10 s grace.
    tokio::time::timeout(Duration::from_secs(5), running.shutdown())
        .await
        .expect("shutdown waited on the event stream");
    let rest = tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await;
    assert!(matches!(rest, Ok(Ok(None)) | Ok(Err(_))), "{rest:?}");
}

#[tokio::test]
async fn every_page_renders_the_admin_views() {
    let sandbox = start().await;
    sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("demo-order-0001", "page-1", 1000, 300),
        )
        .await;

    let (status, content_type, home) = page(&sandbox, "/").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(home.contains(&format!("data-mch-id=\"{MCH}\"")), "{home}");
    assert!(home.contains("apiclient_cert.pem"), "{home}");
    assert!(home.contains("alipay_public_key.pem"), "{home}");
    assert!(
        home.contains("platform identity <code>switch_over</code>"),
        "{home}"
    );
    assert!(home.contains("<option value=\"wechat.refund\">"), "{home}");
    // T0 in Beijing time, frozen.
    assert!(home.contains("2023-11-15 06:13:20"), "{home}");
    assert!(!home.contains("id=\"not-loopback\""), "{home}");

    let (_, _, refunds) = page(&sandbox, "/dashboard/refunds").await;
    assert!(
        refunds.contains("data-out-refund-no=\"page-1\""),
        "{refunds}"
    );
    assert!(refunds.contains("PROCESSING until"), "{refunds}");
    assert!(
        refunds.contains("/admin/wechat/refunds/") && refunds.contains("\"status\":\"SUCCESS\""),
        "{refunds}"
    );

    let (_, _, journal) = page(&sandbox, "/dashboard/journal").await;
    assert!(journal.contains("/secapi/pay/refund"), "{journal}");
    assert!(
        journal.contains("<td class=\"signature-verdict\">ok</td>"),
        "{journal}"
    );

    let (_, _, orders) = page(&sandbox, "/dashboard/orders").await;
    assert!(orders.contains("demo-order-0001"), "{orders}");
    assert!(orders.contains("demo-trade-0001"), "{orders}");

    let (status, _, _) = page(&sandbox, "/dashboard/notifications").await;
    assert_eq!(status, 200);
    let (status, content_type, _) = page(&sandbox, "/dashboard/static/app.js").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/javascript; charset=utf-8")
    );
    let (status, _, _) = page(&sandbox, "/dashboard/nothing").await;
    assert_eq!(status, 404);
    // The admin index stays where it was.
    let (status, index) = sandbox.admin(Method::GET, "/admin", None).await;
    assert_eq!(status, 200);
    assert!(index["endpoints"].as_array().unwrap().len() > 30);
    let response = http_client()
        .post(format!("{}/", sandbox.running.admin_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn a_page_says_so_when_the_admin_listener_is_not_on_loopback() {
    let mut config = paysandbox_testkit::sandbox::frozen_config(data_dir());
    config.demo_data = false;
    let state = AppState::new(config).unwrap();
    let exposed = Listening {
        api: "127.0.0.1:1".parse().unwrap(),
        http: None,
        admin: "0.0.0.0:8444".parse().unwrap(),
    };
    state.set_listening(exposed);
    let html = dashboard::render(&state, "/").await.unwrap().unwrap();
    assert!(html.contains("id=\"not-loopback\""), "{html}");
    assert!(
        html.contains("<code>0.0.0.0:8444</code>, not to loopback"),
        "{html}"
    );
}
