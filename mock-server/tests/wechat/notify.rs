//! Notifications received on a real loopback listener: WeChat refund results (decrypted) and
//! payment results (verified), the retry schedule on the injected clock, resend, the admin
//! listing, and reset.

use paysandbox_mock_server::notify::WECHAT_RETRY_SECS;
use paysandbox_protocol::wechat::notify::{PaymentNotification, RefundNotification};
use paysandbox_protocol::wechat::{RefundAccount, RefundStatus, SignType};
use paysandbox_testkit::admin::attempt_times;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const WECHAT_OK: &str = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

/// A refund of a demo order with a notify_url.
async fn refund_with_url(sandbox: &Sandbox, order: &str, no: &str, fee: u64, url: &str) -> String {
    let total = if order == "demo-order-0002" {
        8800
    } else {
        1000
    };
    let mut params = refund_params(order, no, total, fee);
    params.insert_text("notify_url", url);
    let made = sandbox.call("/secapi/pay/refund", params).await;
    assert_eq!(made.get("result_code"), Some("SUCCESS"), "{made:?}");
    made.get("refund_id").unwrap().to_owned()
}

#[tokio::test]
async fn wechat_refund_success_is_notified_once_settled_and_decrypts_to_every_field() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(200, WECHAT_OK)]).await;
    let refund_id = refund_with_url(&sandbox, "demo-order-0001", "n-1", 250, &receiver.url).await;
    assert!(receiver.texts().is_empty(), "nothing before settlement");
    sandbox.advance(10).await;
    let bodies = receiver.texts();
    assert_eq!(bodies.len(), 1);
    let outer = RefundNotification::from_xml(bodies[0].as_bytes()).unwrap();
    assert_eq!(outer.appid, APPID);
    assert_eq!(outer.mch_id, MCH);
    assert!(
        !bodies[0].contains("<sign>"),
        "refund notifications are not signed"
    );
    let info = outer.open(KEY).unwrap();
    let (_, orders) = sandbox
        .admin(Method::GET, "/admin/wechat/orders", None)
        .await;
    let order = orders
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["out_trade_no"] == "demo-order-0001")
        .unwrap();
    assert_eq!(info.out_refund_no, "n-1");
    assert_eq!(info.out_trade_no, "demo-order-0001");
    assert_eq!(
        info.transaction_id,
        order["transaction_id"].as_str().unwrap()
    );
    assert_eq!(info.refund_id, refund_id);
    assert_eq!(info.refund_fee, 250);
    assert_eq!(info.total_fee, 1000);
    assert_eq!(info.settlement_refund_fee, Some(250));
    assert_eq!(info.settlement_total_fee, Some(1000));
    assert_eq!(info.refund_status, RefundStatus::Success);
    assert_eq!(info.refund_account, Some(RefundAccount::UnsettledFunds));
    assert_eq!(info.refund_recv_accout.as_deref(), Some("支付用户零钱"));
    assert_eq!(info.refund_request_source.as_deref(), Some("API"));
    // T0 + 10 s = 2023-11-15 06:13:30 Beijing.
    assert_eq!(info.success_time.as_deref(), Some("2023-11-15 06:13:30"));

    let listed = sandbox.notifications("platform=wechat&kind=refund").await;
    assert_eq!(listed.len(), 1);
    let n = &listed[0];
    assert_eq!(n["status"], "delivered");
    assert_eq!(n["event"], "SUCCESS");
    assert_eq!(n["refund_id"], refund_id.as_str());
    assert_eq!(n["url"], receiver.url.as_str());
    assert_eq!(attempt_times(n), vec![T0.0 + 10_000]);
    assert_eq!(n["attempts"][0]["http_status"], 200);
    assert_eq!(n["attempts"][0]["success"], true);
    assert_eq!(n["body"], bodies[0].as_str());
    let (status, one) = sandbox
        .admin(
            Method::GET,
            &format!("/admin/notifications/{}", n["id"]),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(one["id"], n["id"]);
    assert!(sandbox.notifications("refund_no=other").await.is_empty());
}

#[tokio::test]
async fn forced_outcomes_notify_change_and_refundclose_without_success_time() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(200, WECHAT_OK)]).await;
    let closed = refund_with_url(&sandbox, "demo-order-0001", "c-1", 100, &receiver.url).await;
    let changed = refund_with_url(&sandbox, "demo-order-0002", "c-2", 100, &receiver.url).await;
    for (id, status) in [(&closed, "REFUNDCLOSE"), (&changed, "CHANGE")] {
        sandbox
            .admin_post(
                &format!("/admin/wechat/refunds/{id}/status"),
                json!({ "status": status }),
            )
            .await;
    }
    // Due at once: a flush waits for them, no clock advance needed. Attempts due at the same
    // time go out concurrently, so they are matched by refund, not by arrival order.
    sandbox.flush_notifications().await;
    let bodies = receiver.texts();
    assert_eq!(bodies.len(), 2);
    let mut infos: Vec<_> = bodies
        .iter()
        .map(|b| {
            RefundNotification::from_xml(b.as_bytes())
                .unwrap()
                .open(KEY)
                .unwrap()
        })
        .collect();
    infos.sort_by_key(|i| i.refund_id != closed);
    assert_eq!(infos[0].refund_status, RefundStatus::RefundClose);
    assert_eq!(infos[0].refund_id, closed);
    assert_eq!(infos[1].refund_status, RefundStatus::Change);
    assert_eq!(infos[1].total_fee, 8800);
    assert!(infos.iter().all(|i| i.success_time.is_none()));
}

#[tokio::test]
async fn without_any_notify_url_the_notification_is_recorded_and_not_sent() {
    let sandbox = start().await;
    let made = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("demo-order-0001", "u-1", 1000, 100),
        )
        .await;
    sandbox.advance(10).await;
    let listed = sandbox.notifications("refund_no=u-1").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "no_url");
    assert_eq!(listed[0]["url"], Value::Null);
    assert_eq!(listed[0]["refund_id"], made.get("refund_id").unwrap());
    assert!(listed[0]["attempts"].as_array().unwrap().is_empty());
    let (status, _) = sandbox
        .admin(
            Method::POST,
            &format!("/admin/notifications/{}/resend", listed[0]["id"]),
            None,
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn the_merchant_default_url_is_used_when_the_refund_has_none() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(200, WECHAT_OK)]).await;
    sandbox
        .admin_post(
            "/admin/wechat/merchants",
            json!({"mch_id": "1900000200", "appids": ["wx0000000000000200"],
                   "api_key": "merchantkey2000000000000000000000", "notify_url": receiver.url}),
        )
        .await;
    sandbox
        .admin_post(
            "/admin/wechat/orders",
            json!({"mch_id": "1900000200", "out_trade_no": "m2-1", "total_fee": 500}),
        )
        .await;
    // A refund through the ledger directly is enough here: the URL choice is the point.
    {
        let state = &sandbox.running.state;
        let mut world = state.world();
        let world = &mut *world;
        world
            .wechat
            .refund(
                paysandbox_mock_server::ledger::wechat::RefundCommand {
                    mch_id: "1900000200".into(),
                    order: paysandbox_mock_server::ledger::wechat::OrderRef::OutTradeNo(
                        "m2-1".into(),
                    ),
                    out_refund_no: "m2-r1".into(),
                    total_fee: 500,
                    refund_fee: 500,
                    refund_account: None,
                    notify_url: None,
                    refund_desc: None,
                    api_v3: false,
                },
                T0,
                &mut world.ids,
            )
            .unwrap();
    }
    sandbox.advance(10).await;
    let bodies = receiver.texts();
    assert_eq!(bodies.len(), 1);
    let info = RefundNotification::from_xml(bodies[0].as_bytes())
        .unwrap()
        .open("merchantkey2000000000000000000000")
        .unwrap();
    assert_eq!(info.out_refund_no, "m2-r1");
}

#[tokio::test]
async fn a_failing_receiver_is_retried_exactly_on_the_wechat_schedule_then_given_up() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(500, "oops")]).await;
    refund_with_url(&sandbox, "demo-order-0001", "f-1", 100, &receiver.url).await;
    sandbox.advance(10).await;
    let first = T0.0 + 10_000;
    // 24 h later: every attempt but the 16th (due at 24 h 4 min) has happened.
    sandbox.advance(24 * 3600).await;
    let n = &sandbox.notifications("refund_no=f-1").await[0];
    let mut expected = vec![first];
    for secs in WECHAT_RETRY_SECS {
        expected.push(expected.last().unwrap() + i64::try_from(secs).unwrap() * 1000);
    }
    assert_eq!(expected.len(), 16);
    assert_eq!(*expected.last().unwrap() - first, 86_640_000, "24 h 4 min");
    assert_eq!(attempt_times(n), expected[..15]);
    assert_eq!(n["status"], "pending");
    assert_eq!(n["next_attempt_at"], expected[15]);
    sandbox.advance(3600).await;
    let n = &sandbox.notifications("refund_no=f-1").await[0];
    assert_eq!(attempt_times(n), expected);
    assert_eq!(n["status"], "failed");
    assert_eq!(n["next_attempt_at"], Value::Null);
    assert_eq!(n["attempts"][3]["http_status"], 500);
    assert_eq!(n["attempts"][3]["response_excerpt"], "oops");
    assert_eq!(n["attempts"][3]["success"], false);
    // The same bytes every time.
    let bodies = receiver.texts();
    assert_eq!(bodies.len(), 16);
    assert!(bodies.iter().all(|b| *b == bodies[0]));

    // Resend: a manual attempt now, and it is accepted this time.
    receiver.answer(200, WECHAT_OK);
    let resent = sandbox
        .admin_post(
            &format!("/admin/notifications/{}/resend", n["id"]),
            json!({}),
        )
        .await;
    assert_eq!(resent["status"], "delivered");
    assert_eq!(resent["attempts"].as_array().unwrap().len(), 17);
    assert_eq!(resent["attempts"][16]["manual"], true);
    assert_eq!(resent["attempts"][16]["success"], true);
}

#[tokio::test]
async fn only_an_exact_success_reply_stops_wechat_retries() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[
        (200, "success"),
        (
            200,
            "<xml><return_code>FAIL</return_code><return_msg>busy</return_msg></xml>",
        ),
        (201, WECHAT_OK),
        (200, WECHAT_OK),
    ])
    .await;
    refund_with_url(&sandbox, "demo-order-0001", "e-1", 100, &receiver.url).await;
    sandbox.advance(3600).await;
    let n = &sandbox.notifications("refund_no=e-1").await[0];
    let results: Vec<bool> = n["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["success"].as_bool().unwrap())
        .collect();
    assert_eq!(results, vec![false, false, false, true]);
    assert_eq!(
        attempt_times(n),
        vec![T0.0 + 10_000, T0.0 + 25_000, T0.0 + 40_000, T0.0 + 70_000]
    );
    assert_eq!(n["status"], "delivered");
}

#[tokio::test]
async fn an_unreachable_receiver_records_a_transport_error() {
    let sandbox = start().await;
    // A port nothing listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/n", closed.local_addr().unwrap());
    drop(closed);
    refund_with_url(&sandbox, "demo-order-0001", "t-1", 100, &url).await;
    sandbox.advance(10).await;
    let n = &sandbox.notifications("refund_no=t-1").await[0];
    assert_eq!(n["attempts"][0]["http_status"], Value::Null);
    assert!(
        n["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("connection")
    );
    assert_eq!(n["status"], "pending");
}

#[tokio::test]
async fn wechat_payment_notification_is_signed_with_the_orders_sign_type() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(200, WECHAT_OK)]).await;
    for (sign_type, wire) in [
        (SignType::Md5, None),
        (SignType::HmacSha256, Some("HMAC-SHA256")),
    ] {
        let mut request = json!({"mch_id": MCH, "out_trade_no": "demo-order-0003",
                                 "notify_url": receiver.url});
        if let Some(wire) = wire {
            request["sign_type"] = json!(wire);
        }
        let n = sandbox
            .admin_post("/admin/notifications/wechat/payment", request)
            .await;
        assert_eq!(n["status"], "delivered");
        assert_eq!(n["kind"], "payment");
        let body = receiver.texts().last().unwrap().clone();
        let payment = PaymentNotification::verify_xml(body.as_bytes(), KEY).unwrap();
        assert_eq!(payment.sign_type, wire.map(|_| sign_type));
        assert_eq!(payment.out_trade_no, "demo-order-0003");
        assert_eq!(payment.total_fee, 1000);
        assert_eq!(payment.coupon_fee, Some(200));
        assert_eq!(payment.cash_fee, 800);
        assert_eq!(payment.settlement_total_fee, Some(800));
        assert_eq!(payment.coupons.len(), 1);
        assert_eq!(payment.coupons[0].coupon_fee, 200);
        assert_eq!(payment.appid, APPID);
        assert_eq!(payment.time_end.len(), 14);
        assert!(PaymentNotification::verify_xml(body.as_bytes(), "wrong").is_err());
    }
    let (status, _) = sandbox
        .admin(
            Method::POST,
            "/admin/notifications/wechat/payment",
            Some(json!({"mch_id": MCH, "out_trade_no": "demo-order-0006", "notify_url": receiver.url})),
        )
        .await;
    assert_eq!(status, 409, "an unpaid order is not notified");
}

#[tokio::test]
async fn reset_forgets_notifications() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(200, WECHAT_OK)]).await;
    refund_with_url(&sandbox, "demo-order-0001", "r-1", 100, &receiver.url).await;
    sandbox.advance(10).await;
    assert_eq!(sandbox.notifications("").await.len(), 1);
    sandbox.reset().await;
    assert!(sandbox.notifications("").await.is_empty());
    let (status, _) = sandbox
        .admin(Method::GET, "/admin/notifications/1", None)
        .await;
    assert_eq!(status, 404);
}

/// A loopback listener that accepts and never answers (issue 12's slow merchant): it counts
/// the connections it accepted, those the sandbox closed (its attempt gave up), and the most
/// open at once.
struct Hanging {
    url: String,
    counts: std::sync::Arc<HangingCounts>,
}

#[derive(Default)]
struct HangingCounts {
    accepted: std::sync::atomic::AtomicUsize,
    closed: std::sync::atomic::AtomicUsize,
    open: std::sync::atomic::AtomicUsize,
    most_open: std::sync::atomic::AtomicUsize,
}

impl Hanging {
    async fn start() -> Hanging {
        use std::sync::atomic::Ordering::SeqCst;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        let counts = std::sync::Arc::new(HangingCounts::default());
        let shared = counts.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let counts = shared.clone();
                let open = counts.open.fetch_add(1, SeqCst) + 1;
                counts.most_open.fetch_max(open, SeqCst);
                counts.accepted.fetch_add(1, SeqCst);
                tokio::spawn(async move {
                    use tokio::io::AsyncReadExt;
                    // Reads and never answers, until the sandbox hangs up.
                    let mut buffer = vec![0_u8; 4096];
                    while let Ok(n) = socket.read(&mut buffer).await {
                        if n == 0 {
                            break;
                        }
                    }
                    counts.open.fetch_sub(1, SeqCst);
                    counts.closed.fetch_add(1, SeqCst);
                });
            }
        });
        Hanging { url, counts }
    }

    fn accepted(&self) -> usize {
        self.counts
            .accepted
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    fn closed(&self) -> usize {
        self.counts.closed.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn most_open(&self) -> usize {
        self.counts
            .most_open
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Waits (in real time, bounded) until `done` holds; the attempts under test run on real
/// sockets with a real 5 s timeout, which the sandbox clock does not drive.
async fn until(what: &str, limit: std::time::Duration, mut done: impl AsyncFnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "still waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_receiver_that_never_answers_holds_up_no_admin_call_and_slots_are_bounded() {
    use paysandbox_mock_server::notify::MAX_IN_FLIGHT;
    const REFUNDS: usize = MAX_IN_FLIGHT + 8;
    let sandbox = start().await;
    let hanging = Hanging::start().await;
    let mut refunds = Vec::new();
    for i in 0..REFUNDS {
        // One order each: refunds of one order must be a minute apart.
        let order = format!("slow-order-{i}");
        let (status, _) = sandbox
            .admin(
                Method::POST,
                "/admin/wechat/orders",
                Some(json!({ "mch_id": MCH, "out_trade_no": order, "total_fee": 1000 })),
            )
            .await;
        assert_eq!(status, 201);
        let no = format!("slow-{i}");
        refunds.push(refund_with_url(&sandbox, &order, &no, 100, &hanging.url).await);
    }
    // Each of these admin POSTs makes one notification due and answers without waiting for it.
    for id in &refunds {
        let (status, _) = sandbox
            .admin(
                Method::POST,
                &format!("/admin/wechat/refunds/{id}/status"),
                Some(json!({ "status": "SUCCESS" })),
            )
            .await;
        assert_eq!(status, 200);
    }
    until(
        "the engine to fill its slots",
        std::time::Duration::from_secs(4),
        async || hanging.accepted() >= MAX_IN_FLIGHT,
    )
    .await;
    let (status, _) = sandbox
        .admin(
            Method::POST,
            "/admin/wechat/orders",
            Some(json!({ "mch_id": MCH, "out_trade_no": "after-the-slow-ones", "total_fee": 1 })),
        )
        .await;
    assert_eq!(status, 201);
    // No attempt had ended when the admin POST answered: it did not wait for any of them, and
    // no slot was free for more than the bound.
    assert_eq!(hanging.closed(), 0);
    assert_eq!(hanging.accepted(), MAX_IN_FLIGHT);
    let listed = sandbox.notifications("kind=refund").await;
    assert_eq!(listed.len(), REFUNDS);
    assert!(
        listed
            .iter()
            .all(|n| n["attempts"].as_array().unwrap().is_empty())
    );

    // Later every one is recorded as a timeout at its virtual time, its retry 15 s on.
    until(
        "every attempt to time out",
        std::time::Duration::from_secs(60),
        async || {
            sandbox
                .notifications("kind=refund")
                .await
                .iter()
                .all(|n| n["attempts"].as_array().unwrap().len() == 1)
        },
    )
    .await;
    for n in sandbox.notifications("kind=refund").await {
        let attempt = &n["attempts"][0];
        assert_eq!(attempt["error"], "timeout after 5 s", "{n}");
        assert_eq!(attempt["http_status"], Value::Null);
        assert_eq!(n["status"], "pending");
        assert_eq!(
            attempt_times(&n)[0] + i64::try_from(WECHAT_RETRY_SECS[0] * 1000).unwrap(),
            n["next_attempt_at"].as_i64().unwrap()
        );
    }
    assert_eq!(hanging.accepted(), REFUNDS);
    assert!(
        hanging.most_open() <= MAX_IN_FLIGHT,
        "{}",
        hanging.most_open()
    );
}
