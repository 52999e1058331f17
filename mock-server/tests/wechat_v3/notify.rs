//! v3 notifications (spec §1.4) on a loopback receiver: every event type, decrypted with ring's
//! AES-256-GCM (not the RustCrypto implementation the mock seals with) and verified against
//! the merchant's platform identity files; the retry schedule on the sandbox clock; bad
//! receivers; signature probes.

use base64::Engine;
use paysandbox_mock_server::notify::WECHAT_V3_RETRY_SECS;
use paysandbox_protocol::wechat::v3::response::{ReceivedHeaders, SIGNTEST_PREFIX, Verifier};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

use crate::support::*;

/// Decrypts a notification's `resource` with ring.
fn open(resource: &Value) -> Value {
    assert_eq!(resource["algorithm"], "AEAD_AES_256_GCM");
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, API_V3_KEY.as_bytes()).unwrap());
    let nonce =
        Nonce::try_assume_unique_for_key(resource["nonce"].as_str().unwrap().as_bytes()).unwrap();
    let aad = resource["associated_data"].as_str().unwrap();
    let mut sealed = base64::engine::general_purpose::STANDARD
        .decode(resource["ciphertext"].as_str().unwrap())
        .unwrap();
    let plain = key
        .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut sealed)
        .unwrap();
    serde_json::from_slice(plain).unwrap()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

/// The serial whose key verifies a received notification.
fn verify(files: &V3Files, headers: &[(String, String)], body: &[u8]) -> String {
    let mut verifier = Verifier::new();
    for (serial, key) in &files.certificates {
        verifier.insert(serial, key.clone());
    }
    verifier.insert(&files.public_key.0, files.public_key.1.clone());
    let received = ReceivedHeaders::from_lookup(|name| header(headers, name));
    let now = paysandbox_mock_server::clock::system_millis() / 1000;
    verifier
        .verify(&received, body, now)
        .unwrap_or_else(|e| panic!("notification does not verify: {e}"))
        .to_owned()
}

fn refund_to(out_trade_no: &str, out_refund_no: &str, total: u64, url: &str) -> Value {
    let mut body = refund_body(out_trade_no, out_refund_no, total, total);
    body["notify_url"] = json!(url);
    body
}

#[tokio::test]
async fn every_event_type_arrives_encrypted_and_signed() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let files = V3Files::of(MCH);
    // 204 without a body, and 200 with any body, acknowledge.
    let receiver = Receiver::start(&[(204, ""), (200, "{\"code\":\"FAIL\"}")]).await;
    sandbox.seed_order("v3-n-ok", 1000, json!({})).await;
    sandbox
        .seed_order("v3-n-change", 2000, json!({ "refund_outcome": "CHANGE" }))
        .await;
    sandbox
        .seed_order(
            "v3-n-close",
            3000,
            json!({ "refund_outcome": "REFUNDCLOSE" }),
        )
        .await;
    for (order, refund, total) in [
        ("v3-n-ok", "v3-n-r1", 1000),
        ("v3-n-change", "v3-n-r2", 2000),
        ("v3-n-close", "v3-n-r3", 3000),
    ] {
        let answer = v3
            .post(REFUNDS, &refund_to(order, refund, total, &receiver.url))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        sandbox.advance(2).await;
    }
    let mut prepay = jsapi_body("v3-n-pay", 500);
    prepay["notify_url"] = json!(receiver.url);
    let answer = v3.post("/v3/pay/transactions/jsapi", &prepay).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let paid = sandbox
        .admin_post("/admin/wechat/orders/v3-n-pay/pay", json!({}))
        .await;
    assert!(paid["notification_id"].is_u64(), "{paid}");
    sandbox.advance(60).await;

    let bodies = receiver.bodies();
    let headers = receiver.headers();
    assert_eq!(bodies.len(), 4);
    let mut seen = Vec::new();
    for (body, headers) in bodies.iter().zip(&headers) {
        assert_eq!(header(headers, "content-type"), Some("application/json"));
        assert_eq!(
            header(headers, "wechatpay-signature-type"),
            Some("WECHATPAY2-SHA256-RSA2048")
        );
        let serial = verify(&files, headers, body);
        assert!(
            serial == files.public_key.0 || serial == files.certificate_serial(),
            "{serial}"
        );
        let envelope: Value = serde_json::from_slice(body).unwrap();
        assert!(envelope["id"].as_str().unwrap().starts_with("EV-"));
        assert_eq!(envelope["resource_type"], "encrypt-resource");
        assert!(
            envelope["create_time"]
                .as_str()
                .unwrap()
                .ends_with("+08:00")
        );
        let plain = open(&envelope["resource"]);
        seen.push((
            envelope["event_type"].as_str().unwrap().to_owned(),
            envelope["summary"].as_str().unwrap().to_owned(),
            envelope["resource"]["original_type"]
                .as_str()
                .unwrap()
                .to_owned(),
            plain,
        ));
    }
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    let events: Vec<(&str, &str, &str)> = seen
        .iter()
        .map(|(e, s, o, _)| (e.as_str(), s.as_str(), o.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            ("REFUND.ABNORMAL", "退款异常", "refund"),
            ("REFUND.CLOSED", "退款关闭", "refund"),
            ("REFUND.SUCCESS", "退款成功", "refund"),
            ("TRANSACTION.SUCCESS", "支付成功", "transaction"),
        ]
    );
    let abnormal = &seen[0].3;
    assert_eq!(abnormal["refund_status"], "ABNORMAL");
    assert_eq!(abnormal["out_refund_no"], "v3-n-r2");
    assert_eq!(abnormal["amount"]["refund"], 2000);
    assert!(abnormal.get("success_time").is_none());
    let success = &seen[2].3;
    assert_eq!(success["mchid"], MCH);
    assert_eq!(success["out_trade_no"], "v3-n-ok");
    assert_eq!(success["refund_status"], "SUCCESS");
    assert_eq!(
        success["amount"],
        json!({ "total": 1000, "refund": 1000, "payer_total": 1000, "payer_refund": 1000 })
    );
    assert!(
        success["success_time"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    let transaction = &seen[3].3;
    assert_eq!(transaction["trade_state"], "SUCCESS");
    assert_eq!(transaction["out_trade_no"], "v3-n-pay");
    assert_eq!(transaction["amount"]["total"], 500);
    assert_eq!(transaction["mchid"], MCH);

    let listed = sandbox.notifications("platform=wechat_v3").await;
    assert_eq!(listed.len(), 4);
    for n in &listed {
        assert_eq!(n["status"], "delivered", "{n}");
        assert_eq!(n["content_type"], "application/json");
        assert!(n["notify_id"].as_str().unwrap().starts_with("EV-"));
        let attempt = &n["attempts"][0];
        assert!(
            attempt["http_status"] == 204 || attempt["http_status"] == 200,
            "{attempt}"
        );
        assert!(attempt["serial"].is_string());
    }
}

#[tokio::test]
async fn v2_refunds_of_the_same_merchant_stay_v2() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(204, "")]).await;
    sandbox.seed_order("v3-n-v2", 1000, json!({})).await;
    let mut params = refund_params("v3-n-v2", "v3-n-v2r", 1000, 1000);
    params.insert_text("notify_url", &receiver.url);
    let made = sandbox.call("/secapi/pay/refund", params).await;
    assert_eq!(made.get("result_code"), Some("SUCCESS"), "{made:?}");
    sandbox.advance(60).await;
    let listed = sandbox.notifications("refund_no=v3-n-v2r").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["platform"], "wechat");
    assert_eq!(listed[0]["content_type"], "text/xml");
}

#[tokio::test]
async fn failed_attempts_follow_the_v3_schedule_on_the_sandbox_clock() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let receiver = Receiver::start(&[(500, "{\"code\":\"FAIL\",\"message\":\"失败\"}")]).await;
    sandbox.seed_order("v3-n-retry", 1000, json!({})).await;
    let answer = v3
        .post(
            REFUNDS,
            &refund_to("v3-n-retry", "v3-n-rr", 1000, &receiver.url),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    sandbox.advance(30 * 3600).await;
    let listed = sandbox.notifications("refund_no=v3-n-rr").await;
    assert_eq!(listed.len(), 1);
    let n = &listed[0];
    assert_eq!(n["platform"], "wechat_v3");
    assert_eq!(n["status"], "failed");
    let times = paysandbox_testkit::admin::attempt_times(n);
    assert_eq!(times.len(), WECHAT_V3_RETRY_SECS.len() + 1);
    let gaps: Vec<i64> = times.windows(2).map(|w| (w[1] - w[0]) / 1000).collect();
    let expected: Vec<i64> = WECHAT_V3_RETRY_SECS.iter().map(|s| *s as i64).collect();
    assert_eq!(gaps, expected);
    assert_eq!(
        expected,
        [
            15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10_800, 10_800, 10_800, 21_600,
            21_600
        ]
    );
    assert_eq!(receiver.bodies().len(), 16);
    // Every attempt is the same body, signed anew.
    let bodies = receiver.bodies();
    assert!(bodies.iter().all(|b| *b == bodies[0]));
    assert!(
        n["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["http_status"] == 500 && a["success"] == false)
    );
    // A resend after giving up delivers once the receiver is fixed.
    receiver.answer(200, "");
    let id = n["id"].as_u64().unwrap();
    let resent = sandbox
        .admin_post(&format!("/admin/notifications/{id}/resend"), json!({}))
        .await;
    assert_eq!(resent["status"], "delivered", "{resent}");
}

#[tokio::test]
async fn bad_receivers_are_recorded_and_never_stick_the_outbox() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let redirect = Receiver::start(&[(302, "")]).await;
    let huge = "x".repeat(900 * 1024);
    let big = Receiver::start(&[(500, huge.as_str())]).await;
    let good = Receiver::start(&[(204, "")]).await;
    // Nothing listens on port 1.
    let unreachable = "http://127.0.0.1:1/notify".to_owned();
    let cases = [
        ("v3-n-bad1", "v3-n-b1", unreachable.clone()),
        ("v3-n-bad2", "v3-n-b2", redirect.url.clone()),
        ("v3-n-bad3", "v3-n-b3", big.url.clone()),
        ("v3-n-bad4", "v3-n-b4", good.url.clone()),
    ];
    for (order, refund, url) in &cases {
        sandbox.seed_order(order, 1000, json!({})).await;
        let answer = v3.post(REFUNDS, &refund_to(order, refund, 1000, url)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        sandbox.advance(2).await;
    }
    sandbox.advance(60).await;
    let first = |no: &str| {
        let no = no.to_owned();
        let sandbox = &sandbox;
        async move {
            let listed = sandbox.notifications(&format!("refund_no={no}")).await;
            assert_eq!(listed.len(), 1);
            listed[0].clone()
        }
    };
    let n = first("v3-n-b1").await;
    assert_eq!(n["status"], "pending");
    assert_eq!(n["attempts"][0]["error"], "connection failed");
    let n = first("v3-n-b2").await;
    assert_eq!(n["status"], "pending");
    assert_eq!(n["attempts"][0]["http_status"], 302);
    // The redirect was not followed: the receiver saw one request per attempt.
    assert_eq!(
        redirect.bodies().len(),
        n["attempts"].as_array().unwrap().len()
    );
    let n = first("v3-n-b3").await;
    assert_eq!(n["status"], "pending");
    assert_eq!(n["attempts"][0]["http_status"], 500);
    assert_eq!(
        n["attempts"][0]["response_excerpt"].as_str().unwrap().len(),
        512
    );
    // The good receiver behind them got its notification.
    let n = first("v3-n-b4").await;
    assert_eq!(n["status"], "delivered");
    assert_eq!(good.bodies().len(), 1);
}

#[tokio::test]
async fn a_merchant_in_one_mode_signs_every_notification_with_its_key() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let files = V3Files::of(MCH);
    let receiver = Receiver::start(&[(204, "")]).await;
    for (i, identity) in ["certificate", "public_key"].into_iter().enumerate() {
        sandbox
            .admin_post(
                &format!("/admin/wechat/merchants/{MCH}/v3"),
                json!({ "identity": identity }),
            )
            .await;
        let order = format!("v3-n-mode{i}");
        sandbox.seed_order(&order, 1000, json!({})).await;
        let answer = v3
            .post(
                REFUNDS,
                &refund_to(&order, &format!("v3-n-m{i}"), 1000, &receiver.url),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        sandbox.advance(60).await;
    }
    let headers = receiver.headers();
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        verify(&files, &headers[0], &bodies[0]),
        files.certificate_serial()
    );
    assert_eq!(verify(&files, &headers[1], &bodies[1]), files.public_key.0);
    assert!(
        !header(&headers[0], "wechatpay-signature")
            .unwrap()
            .starts_with(SIGNTEST_PREFIX)
    );
}

#[tokio::test]
async fn a_handler_that_accepts_a_probe_is_reported() {
    let sandbox = start().await;
    let files = V3Files::of(MCH);
    let careless = Receiver::start(&[(200, "")]).await;
    let careful = Receiver::start(&[(401, "{\"code\":\"FAIL\",\"message\":\"签名错误\"}")]).await;
    let accepted = sandbox
        .admin_post(
            &format!("/admin/wechat/merchants/{MCH}/v3/probe"),
            json!({ "url": careless.url }),
        )
        .await;
    assert_eq!(accepted["accepted"], true, "{accepted}");
    assert_eq!(accepted["check"], "failed");
    assert_eq!(accepted["http_status"], 200);
    let refused = sandbox
        .admin_post(
            &format!("/admin/wechat/merchants/{MCH}/v3/probe"),
            json!({ "url": careful.url }),
        )
        .await;
    assert_eq!(refused["check"], "passed", "{refused}");
    assert_eq!(refused["http_status"], 401);

    // What arrived is a well-formed notification whose signature no key verifies.
    let headers = careless.headers();
    let bodies = careless.bodies();
    assert_eq!(bodies.len(), 1);
    let signature = header(&headers[0], "wechatpay-signature").unwrap();
    assert!(signature.starts_with(SIGNTEST_PREFIX), "{signature}");
    let serial = header(&headers[0], "wechatpay-serial").unwrap();
    assert!(serial == files.public_key.0 || serial == files.certificate_serial());
    let envelope: Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert!(envelope["id"].as_str().unwrap().starts_with("EV-"));
    assert_eq!(envelope["event_type"], "TRANSACTION.SUCCESS");

    let failed = sandbox
        .admin_get(&format!(
            "/admin/wechat/v3/probes?merchant={MCH}&check=failed"
        ))
        .await;
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed}");
    assert_eq!(failed[0]["url"], careless.url.as_str());
    let all = sandbox.admin_get("/admin/wechat/v3/probes").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    // Probes are not notifications: the outbox holds none.
    assert!(sandbox.notifications("platform=wechat_v3").await.is_empty());

    let (status, _) = sandbox
        .admin(
            reqwest::Method::POST,
            "/admin/wechat/merchants/nobody/v3/probe",
            Some(json!({ "url": careless.url })),
        )
        .await;
    assert_eq!(status, 404);
}

/// A JSAPI order of the demo merchant prepaid with `url` as its notify_url and paid by the
/// buyer (admin API): its TRANSACTION.SUCCESS is due now. Returns the notification's id.
async fn paid_order(sandbox: &Sandbox, out_trade_no: &str, url: &str) -> u64 {
    let mut prepay = jsapi_body(out_trade_no, 500);
    prepay["notify_url"] = json!(url);
    let answer = sandbox
        .v3_client()
        .post("/v3/pay/transactions/jsapi", &prepay)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let paid = sandbox
        .admin_post(
            &format!("/admin/wechat/orders/{out_trade_no}/pay"),
            json!({}),
        )
        .await;
    paid["notification_id"].as_u64().unwrap()
}

#[tokio::test]
async fn a_flush_delivers_what_is_due_and_no_retry_before_its_time() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(500, ""), (204, "")]).await;
    let id = paid_order(&sandbox, "v3-n-flush", &receiver.url).await;
    sandbox.flush_notifications().await;
    let n = sandbox
        .admin_get(&format!("/admin/notifications/{id}"))
        .await;
    assert_eq!(n["platform"], "wechat_v3");
    assert_eq!(n["event"], "TRANSACTION.SUCCESS");
    assert_eq!(n["status"], "pending");
    assert_eq!(n["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(n["attempts"][0]["http_status"], 500);
    assert_eq!(receiver.bodies().len(), 1);
    // The retry is due 15 s on: a flush now sends nothing.
    sandbox.flush_notifications().await;
    assert_eq!(receiver.bodies().len(), 1);
    sandbox.advance(14).await;
    sandbox.flush_notifications().await;
    assert_eq!(receiver.bodies().len(), 1);
    sandbox.advance(1).await;
    let n = sandbox
        .admin_get(&format!("/admin/notifications/{id}"))
        .await;
    assert_eq!(n["status"], "delivered", "{n}");
    let times = paysandbox_testkit::admin::attempt_times(&n);
    assert_eq!(times[1] - times[0], 15_000);
    assert_eq!(n["attempts"][1]["http_status"], 204);
    // The same envelope both times.
    let bodies = receiver.bodies();
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(n["body"].as_str().unwrap().as_bytes(), bodies[0].as_slice());
}

#[tokio::test]
async fn during_a_switch_over_notifications_pick_either_key_with_the_rising_share() {
    let sandbox = start().await;
    let files = V3Files::of(MCH);
    let receiver = Receiver::start(&[(204, "")]).await;
    // The demo merchant is loaded switching over, on day 0 for good; a merchant that moves
    // from certificates to the switch-over starts its day 0 now.
    sandbox
        .admin_post(
            &format!("/admin/wechat/merchants/{MCH}/v3"),
            json!({ "identity": "certificate" }),
        )
        .await;
    let view = sandbox
        .admin_post(
            &format!("/admin/wechat/merchants/{MCH}/v3"),
            json!({ "identity": "switch_over" }),
        )
        .await;
    assert_eq!(view["identity"], "switch_over", "{view}");
    let id = paid_order(&sandbox, "v3-n-switch", &receiver.url).await;
    sandbox.flush_notifications().await;
    // Each resend is signed anew, its signer drawn again.
    let resend = async |times: usize| {
        for _ in 0..times {
            let n = sandbox
                .admin_post(&format!("/admin/notifications/{id}/resend"), json!({}))
                .await;
            assert_eq!(n["status"], "delivered", "{n}");
        }
    };
    resend(59).await;
    let day0 = receiver.headers();
    let bodies = receiver.bodies();
    assert_eq!(day0.len(), 60);
    let mut by_key = 0;
    for (headers, body) in day0.iter().zip(&bodies) {
        // Each one verifies with the key its serial names.
        let serial = verify(&files, headers, body);
        assert_eq!(header(headers, "wechatpay-serial"), Some(serial.as_str()));
        if serial == files.public_key.0 {
            by_key += 1;
        } else {
            assert_eq!(serial, files.certificate_serial());
        }
    }
    // 14 % on day 0 (deviation wx3-notify-switch-share): some of each, mostly certificates.
    assert!(
        (1..=20).contains(&by_key),
        "{by_key} of 60 by the public key"
    );
    // The attempts record the serial each one carried.
    let n = sandbox
        .admin_get(&format!("/admin/notifications/{id}"))
        .await;
    let recorded: Vec<&str> = n["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["serial"].as_str().unwrap())
        .collect();
    let sent: Vec<&str> = day0
        .iter()
        .map(|h| header(h, "wechatpay-serial").unwrap())
        .collect();
    assert_eq!(recorded, sent);

    // Day 6, the seventh day: the public key signs every one.
    sandbox.advance(6 * 86_400).await;
    resend(20).await;
    let later = receiver.headers();
    assert_eq!(later.len(), 80);
    assert!(
        later[60..]
            .iter()
            .all(|h| header(h, "wechatpay-serial") == Some(files.public_key.0.as_str()))
    );
    // A handler trusting only the certificate would have refused some of day 0's.
    assert!(by_key > 0);
}

/// A loopback listener that accepts, reads and never answers; counts what it accepted.
async fn never_answering() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buffer = vec![0_u8; 4096];
                while matches!(socket.read(&mut buffer).await, Ok(n) if n > 0) {}
            });
        }
    });
    (url, accepted)
}

/// A loopback listener answering `status` with a chunked body that never ends (until the
/// sandbox hangs up).
async fn endless_answer(status: u16) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                // The request head and body (small: read once).
                let mut buffer = vec![0_u8; 64 * 1024];
                let _ = socket.read(&mut buffer).await;
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                );
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("4000\r\n{}\r\n", "y".repeat(0x4000));
                while socket.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    url
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_and_holds_up_nothing() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let (hanging, accepted) = never_answering().await;
    let good = Receiver::start(&[(204, "")]).await;
    for (order, refund, url) in [
        ("v3-n-slow1", "v3-n-s1", hanging.as_str()),
        ("v3-n-slow2", "v3-n-s2", good.url.as_str()),
    ] {
        sandbox.seed_order(order, 1000, json!({})).await;
        let answer = v3.post(REFUNDS, &refund_to(order, refund, 1000, url)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    // Both settle 10 s on and are attempted together: the good receiver is served while the
    // other attempt hangs, which the advance waits for (5 s real time).
    sandbox.advance(10).await;
    let n = &sandbox.notifications("refund_no=v3-n-s1").await[0];
    assert_eq!(n["status"], "pending", "{n}");
    assert_eq!(n["attempts"].as_array().unwrap().len(), 1, "{n}");
    let attempt = &n["attempts"][0];
    assert_eq!(attempt["error"], "timeout after 5 s", "{n}");
    assert_eq!(attempt["http_status"], Value::Null);
    assert_eq!(attempt["success"], false);
    assert!(attempt["serial"].is_string());
    let first = paysandbox_testkit::admin::attempt_times(n)[0];
    assert_eq!(first + 15_000, n["next_attempt_at"].as_i64().unwrap());
    let n = &sandbox.notifications("refund_no=v3-n-s2").await[0];
    assert_eq!(n["status"], "delivered", "{n}");
    assert_eq!(good.bodies().len(), 1);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A probe to a handler that never answers waits for its own timeout only: an advance made
    // meanwhile, delivering to the good receiver, is not held up by it.
    let (silent, probed) = never_answering().await;
    let probing = {
        let admin = sandbox.admin_client().clone();
        tokio::spawn(async move {
            admin
                .post(
                    &format!("/admin/wechat/merchants/{MCH}/v3/probe"),
                    json!({ "url": silent }),
                )
                .await
                .unwrap()
        })
    };
    until_accepted(&probed, 1).await;
    sandbox.seed_order("v3-n-slow3", 1000, json!({})).await;
    let answer = v3
        .post(
            REFUNDS,
            &refund_to("v3-n-slow3", "v3-n-s3", 1000, &good.url),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // 10 s on: the refund settles and is delivered; the hanging notification's retry (15 s
    // after its first attempt) is not due yet.
    sandbox.advance(10).await;
    assert!(!probing.is_finished(), "the advance waited for the probe");
    let n = &sandbox.notifications("refund_no=v3-n-s3").await[0];
    assert_eq!(n["status"], "delivered", "{n}");
    assert_eq!(good.bodies().len(), 2);
    let probe = probing.await.unwrap();
    assert_eq!(probe["error"], "timeout after 5 s", "{probe}");
    assert_eq!(probe["accepted"], false);
    assert_eq!(probe["http_status"], Value::Null);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// Waits (real time, bounded) until the never-answering listener accepted `count` connections.
async fn until_accepted(accepted: &std::sync::atomic::AtomicUsize, count: usize) {
    let start = std::time::Instant::now();
    while accepted.load(std::sync::atomic::Ordering::SeqCst) < count {
        assert!(start.elapsed() < std::time::Duration::from_secs(4));
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn an_endless_answer_is_read_only_so_far() {
    let sandbox = start().await;
    let endless_ok = endless_answer(200).await;
    let endless_fail = endless_answer(503).await;
    let ok = paid_order(&sandbox, "v3-n-endless1", &endless_ok).await;
    let failed = paid_order(&sandbox, "v3-n-endless2", &endless_fail).await;
    sandbox.flush_notifications().await;
    // Read up to a bound, then judged by the status alone: no timeout waiting for the end.
    let n = sandbox
        .admin_get(&format!("/admin/notifications/{ok}"))
        .await;
    assert_eq!(n["status"], "delivered", "{n}");
    assert_eq!(n["attempts"][0]["http_status"], 200);
    assert_eq!(n["attempts"][0]["error"], Value::Null);
    assert_eq!(
        n["attempts"][0]["response_excerpt"],
        "y".repeat(paysandbox_mock_server::notify::EXCERPT_BYTES)
    );
    let n = sandbox
        .admin_get(&format!("/admin/notifications/{failed}"))
        .await;
    assert_eq!(n["status"], "pending", "{n}");
    assert_eq!(n["attempts"][0]["http_status"], 503);
    assert_eq!(n["attempts"][0]["error"], Value::Null);
}

#[tokio::test]
async fn at_a_configured_rate_a_probe_goes_just_before_the_real_attempt() {
    let sandbox = paysandbox_testkit::start_with(|c| c.v3_probe_percent = 100).await;
    let files = V3Files::of(MCH);
    // A careful handler refuses the probe, then takes the real notification.
    let careful = Receiver::start(&[
        (401, "{\"code\":\"FAIL\",\"message\":\"签名错误\"}"),
        (204, ""),
    ])
    .await;
    let id = paid_order(&sandbox, "v3-n-rate1", &careful.url).await;
    sandbox.flush_notifications().await;
    let n = sandbox
        .admin_get(&format!("/admin/notifications/{id}"))
        .await;
    assert_eq!(n["status"], "delivered", "{n}");
    assert_eq!(n["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(n["attempts"][0]["http_status"], 204);
    let headers = careful.headers();
    let bodies = careful.bodies();
    assert_eq!(bodies.len(), 2);
    // The probe carries the real body; only its signature gives it away.
    assert_eq!(bodies[0], bodies[1]);
    assert!(
        header(&headers[0], "wechatpay-signature")
            .unwrap()
            .starts_with(SIGNTEST_PREFIX)
    );
    verify(&files, &headers[1], &bodies[1]);
    let probes = sandbox.admin_get("/admin/wechat/v3/probes").await;
    assert_eq!(probes.as_array().unwrap().len(), 1, "{probes}");
    assert_eq!(probes[0]["notification"], id);
    assert_eq!(probes[0]["check"], "passed");
    assert_eq!(probes[0]["http_status"], 401);
    assert_eq!(probes[0]["url"], careful.url.as_str());
    assert_eq!(probes[0]["at"], n["attempts"][0]["at"]);

    // A careless handler takes both: its probe is a failed check.
    let careless = Receiver::start(&[(204, "")]).await;
    let id = paid_order(&sandbox, "v3-n-rate2", &careless.url).await;
    sandbox.flush_notifications().await;
    let failed = sandbox
        .admin_get("/admin/wechat/v3/probes?check=failed")
        .await;
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed}");
    assert_eq!(failed[0]["notification"], id);
    assert_eq!(careless.bodies().len(), 2);
    // A resend is the merchant's own request: no probe before it.
    let resent = sandbox
        .admin_post(&format!("/admin/notifications/{id}/resend"), json!({}))
        .await;
    assert_eq!(resent["status"], "delivered");
    assert_eq!(careless.bodies().len(), 3);
    let all = sandbox.admin_get("/admin/wechat/v3/probes").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
}
