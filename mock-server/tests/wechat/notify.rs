//! Notifications received on a real loopback listener: WeChat refund results (decrypted),
//! WeChat payment results and Alipay trade_status_sync (verified), the retry schedules on the
//! injected clock, resend, and the admin listing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use paysandbox_mock_server::notify::{ALIPAY_RETRY_SECS, WECHAT_RETRY_SECS};
use paysandbox_protocol::alipay::notify::{TradeNotification, verify_notification};
use paysandbox_protocol::alipay::{SignType as AlipaySignType, TradeStatus, parse_urlencoded};
use paysandbox_protocol::wechat::notify::{PaymentNotification, RefundNotification};
use paysandbox_protocol::wechat::{RefundAccount, RefundStatus, SignType};
use reqwest::Method;
use serde_json::{Value, json};
use support::*;

/// What the receiver answers: `(HTTP status, body)`, the last one repeated.
type Script = Arc<Mutex<Vec<(u16, String)>>>;

/// A tiny HTTP server that records every POST body and answers from a script.
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    script: Script,
}

impl Receiver {
    async fn start(answers: &[(u16, &str)]) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        let bodies: Arc<Mutex<Vec<String>>> = Arc::default();
        let script: Script = Arc::new(Mutex::new(
            answers.iter().map(|(s, b)| (*s, (*b).to_owned())).collect(),
        ));
        let (b, s) = (bodies.clone(), script.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (b, s) = (b.clone(), s.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                        let (b, s) = (b.clone(), s.clone());
                        async move {
                            let body = request.into_body().collect().await.unwrap().to_bytes();
                            b.lock()
                                .unwrap()
                                .push(String::from_utf8(body.to_vec()).unwrap());
                            let (status, text) = {
                                let mut script = s.lock().unwrap();
                                if script.len() > 1 {
                                    script.remove(0)
                                } else {
                                    script[0].clone()
                                }
                            };
                            let mut response = Response::new(Full::new(Bytes::from(text)));
                            *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver {
            url,
            bodies,
            script,
        }
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }

    fn answer(&self, status: u16, body: &str) {
        *self.script.lock().unwrap() = vec![(status, body.to_owned())];
    }
}

const WECHAT_OK: &str = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>";

async fn notifications(sandbox: &Sandbox, query: &str) -> Vec<Value> {
    let (status, value) = sandbox
        .admin(Method::GET, &format!("/admin/notifications?{query}"), None)
        .await;
    assert_eq!(status, 200);
    value.as_array().unwrap().clone()
}

fn attempt_times(n: &Value) -> Vec<i64> {
    n["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["at"].as_i64().unwrap())
        .collect()
}

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
    assert!(receiver.bodies().is_empty(), "nothing before settlement");
    sandbox.advance(10).await;
    let bodies = receiver.bodies();
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

    let listed = notifications(&sandbox, "platform=wechat&kind=refund").await;
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
    assert!(notifications(&sandbox, "refund_no=other").await.is_empty());
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
    // Delivered before the admin call answered: no clock advance needed.
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 2);
    let infos: Vec<_> = bodies
        .iter()
        .map(|b| {
            RefundNotification::from_xml(b.as_bytes())
                .unwrap()
                .open(KEY)
                .unwrap()
        })
        .collect();
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
    let listed = notifications(&sandbox, "refund_no=u-1").await;
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
                },
                T0,
                &mut world.ids,
            )
            .unwrap();
    }
    sandbox.advance(10).await;
    let bodies = receiver.bodies();
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
    let n = &notifications(&sandbox, "refund_no=f-1").await[0];
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
    let n = &notifications(&sandbox, "refund_no=f-1").await[0];
    assert_eq!(attempt_times(n), expected);
    assert_eq!(n["status"], "failed");
    assert_eq!(n["next_attempt_at"], Value::Null);
    assert_eq!(n["attempts"][3]["http_status"], 500);
    assert_eq!(n["attempts"][3]["response_excerpt"], "oops");
    assert_eq!(n["attempts"][3]["success"], false);
    // The same bytes every time.
    let bodies = receiver.bodies();
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
    let n = &notifications(&sandbox, "refund_no=e-1").await[0];
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
    let n = &notifications(&sandbox, "refund_no=t-1").await[0];
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
        let body = receiver.bodies().last().unwrap().clone();
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

fn alipay_notification(body: &str) -> TradeNotification {
    let params = parse_urlencoded(body.as_bytes()).unwrap();
    assert_eq!(
        verify_notification(&params, &alipay_public_key()),
        Ok(AlipaySignType::Rsa2)
    );
    assert!(params.iter().all(|(_, v)| !v.is_empty()), "no empty values");
    TradeNotification::from_params(&params).unwrap()
}

#[tokio::test]
async fn alipay_payment_partial_and_full_refund_are_notified_and_verify() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(200, "success\n")]).await;
    sandbox
        .seed_trade(
            "n-trade-1",
            "88.88",
            json!({"status": "WAIT_BUYER_PAY", "notify_url": receiver.url}),
        )
        .await;
    sandbox
        .admin_post("/admin/alipay/trades/n-trade-1/pay", json!({}))
        .await;
    let bodies = receiver.bodies();
    assert_eq!(
        bodies.len(),
        1,
        "the payment is notified before pay answers"
    );
    let paid = alipay_notification(&bodies[0]);
    assert_eq!(paid.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(paid.notify_type, "trade_status_sync");
    assert_eq!(paid.app_id, ALIPAY_APP);
    assert_eq!(paid.out_trade_no, "n-trade-1");
    assert_eq!(paid.total_amount, 8888);
    assert_eq!(paid.receipt_amount, Some(8888));
    assert_eq!(paid.buyer_pay_amount, Some(8888));
    assert_eq!(paid.fund_bill_list.len(), 1);
    assert_eq!(paid.fund_bill_list[0].amount, 8888);
    assert_eq!(paid.buyer_id.as_deref(), Some("2088102177846880"));
    assert!(paid.gmt_payment.is_some());
    assert_eq!(paid.out_biz_no, None);
    assert_eq!(paid.refund_fee, None);

    let refund = sandbox
        .alipay(
            "alipay.trade.refund",
            json!({"out_trade_no": "n-trade-1", "refund_amount": "10.00", "out_request_no": "p1"}),
        )
        .await;
    assert_eq!(refund["code"], "10000");
    sandbox
        .admin_post("/admin/notifications/flush", json!({}))
        .await;
    let partial = alipay_notification(&receiver.bodies()[1]);
    assert_eq!(partial.trade_status, TradeStatus::TradeSuccess);
    assert_eq!(partial.out_biz_no.as_deref(), Some("p1"));
    assert_eq!(partial.refund_fee, Some(1000));
    // yyyy-MM-dd HH:mm:ss.SSS
    let gmt_refund = partial.gmt_refund.clone().unwrap();
    assert_eq!(gmt_refund.len(), 23, "{gmt_refund}");
    assert_eq!(&gmt_refund[19..20], ".");
    assert_ne!(partial.notify_id, paid.notify_id);

    sandbox.advance(3).await;
    sandbox
        .alipay(
            "alipay.trade.refund",
            json!({"out_trade_no": "n-trade-1", "refund_amount": "78.88", "out_request_no": "p2"}),
        )
        .await;
    sandbox.advance(0).await;
    let full = alipay_notification(&receiver.bodies()[2]);
    assert_eq!(full.trade_status, TradeStatus::TradeClosed);
    assert_eq!(full.refund_fee, Some(8888), "cumulative");
    assert_eq!(full.out_biz_no.as_deref(), Some("p2"));
    assert!(full.gmt_close.is_some());
    assert_eq!(full.receipt_amount, None);
    assert!(full.fund_bill_list.is_empty());
    let listed = notifications(&sandbox, "platform=alipay&out_trade_no=n-trade-1").await;
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|n| n["status"] == "delivered"));
    assert_eq!(listed[1]["refund_no"], "p1");
}

#[tokio::test]
async fn alipay_retries_on_its_schedule_with_the_same_notify_id() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(200, "fail")]).await;
    sandbox
        .seed_trade(
            "n-trade-2",
            "1.00",
            json!({"status": "WAIT_BUYER_PAY", "notify_url": receiver.url}),
        )
        .await;
    // Closing an unpaid trade notifies TRADE_CLOSED (spec §7.2 trigger table).
    let closed = sandbox
        .alipay("alipay.trade.close", json!({"out_trade_no": "n-trade-2"}))
        .await;
    assert_eq!(closed["code"], "10000");
    sandbox.advance(25 * 3600).await;
    let n = &notifications(&sandbox, "platform=alipay&out_trade_no=n-trade-2").await[0];
    let mut expected = vec![T0.0];
    for secs in ALIPAY_RETRY_SECS {
        expected.push(expected.last().unwrap() + i64::try_from(secs).unwrap() * 1000);
    }
    assert_eq!(attempt_times(n), expected);
    assert_eq!(n["status"], "failed");
    assert_eq!(n["event"], "TRADE_CLOSED");
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 8);
    let ids: Vec<String> = bodies
        .iter()
        .map(|b| alipay_notification(b).notify_id)
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
    assert!(alipay_notification(&bodies[0]).gmt_close.is_some());
}

#[tokio::test]
async fn reset_forgets_notifications() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(200, WECHAT_OK)]).await;
    refund_with_url(&sandbox, "demo-order-0001", "r-1", 100, &receiver.url).await;
    sandbox.advance(10).await;
    assert_eq!(notifications(&sandbox, "").await.len(), 1);
    sandbox.admin_post("/admin/reset", json!({})).await;
    assert!(notifications(&sandbox, "").await.is_empty());
    let (status, _) = sandbox
        .admin(Method::GET, "/admin/notifications/1", None)
        .await;
    assert_eq!(status, 404);
}
