//! Notifications the sandbox itself sends (not hand-made ones), opened with the SDK: a refund
//! and a payment made through the SDK, each identity mode and the switch-over (a client that
//! trusts only one key fails some, one that trusts both opens all), the refund outcomes as
//! typed statuses, and a signature probe refused.

use std::path::PathBuf;
use std::time::Duration;

use paysandbox_protocol::wechat::v3::response::ReceivedHeaders;
use paysandbox_sdk::wechat::v3::{
    Client, Error, PrepayRequest, RefundRequest, RefundStatus, TradeState, VerifyError,
};
use paysandbox_testkit::prelude::{APPID, MCH, Receiver};
use paysandbox_testkit::{Sandbox, start};
use serde_json::{Value, json};

/// The demo merchant's APIv3 key.
const KEY: &str = paysandbox_testkit::wechat_v3::API_V3_KEY;

/// Which platform keys a client trusts.
#[derive(Clone, Copy)]
enum Trusts {
    Both,
    Certificate,
    PublicKey,
}

/// The demo merchant's v3 client, from the files `GET /admin/wechat/merchants/{mch_id}/v3`
/// names, trusting `trusts`.
async fn client(sandbox: &Sandbox, trusts: Trusts) -> Client {
    let view = sandbox
        .admin_get(&format!("/admin/wechat/merchants/{MCH}/v3"))
        .await;
    let path = |v: &Value| PathBuf::from(v.as_str().unwrap());
    let mut builder = Client::builder(MCH)
        .base_url(&sandbox.running.api_url)
        .public_roots(false)
        .extra_root_ca_file(&sandbox.running.ca_path)
        .merchant_key_file(path(&view["private_key_path"]))
        .serial_no(view["merchant_serial_no"].as_str().unwrap())
        .apiv3_key(KEY)
        .timeout(Duration::from_secs(5));
    if matches!(trusts, Trusts::Both | Trusts::PublicKey) {
        builder = builder.wechatpay_public_key_file(
            view["public_key_id"].as_str().unwrap(),
            path(&view["public_key_path"]),
        );
    }
    if matches!(trusts, Trusts::Both | Trusts::Certificate) {
        for certificate in view["platform_certificates"].as_array().unwrap() {
            builder = builder.platform_certificate_file(path(&certificate["path"]));
        }
    }
    builder.build().unwrap()
}

async fn set_identity(sandbox: &Sandbox, identity: &str) {
    let view = sandbox
        .admin_post(
            &format!("/admin/wechat/merchants/{MCH}/v3"),
            json!({ "identity": identity }),
        )
        .await;
    assert_eq!(view["identity"], identity, "{view}");
}

/// A recorded request's headers (names lower case) as the SDK reads them.
fn received(headers: &[(String, String)]) -> ReceivedHeaders<'_> {
    ReceivedHeaders::from_lookup(|name| {
        let name = name.to_ascii_lowercase();
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    })
}

/// A refund of `out_trade_no` (an order of `total` fen) through the SDK, notifying `url`.
async fn refund(client: &Client, out_trade_no: &str, out_refund_no: &str, total: u64, url: &str) {
    let request = RefundRequest::builder()
        .out_trade_no(out_trade_no)
        .out_refund_no(out_refund_no)
        .refund(total)
        .total(total)
        .notify_url(url)
        .build()
        .unwrap();
    let refund = client.refund(&request).await.unwrap();
    assert_eq!(refund.out_refund_no, out_refund_no);
}

#[tokio::test]
async fn the_sandboxs_notifications_open_with_the_keys_of_each_identity_mode() {
    let sandbox = start().await;
    let receiver = Receiver::start(&[(204, "")]).await;
    let both = client(&sandbox, Trusts::Both).await;
    let certificate_only = client(&sandbox, Trusts::Certificate).await;
    let public_key_only = client(&sandbox, Trusts::PublicKey).await;

    // Certificate mode: REFUND.SUCCESS, CLOSED and ABNORMAL of refunds made through the SDK.
    set_identity(&sandbox, "certificate").await;
    for (order, outcome) in [
        ("sdk-n3-ok", json!({})),
        ("sdk-n3-close", json!({ "refund_outcome": "REFUNDCLOSE" })),
        ("sdk-n3-change", json!({ "refund_outcome": "CHANGE" })),
    ] {
        sandbox.seed_order(order, 1000, outcome).await;
        refund(&both, order, &format!("{order}-r"), 1000, &receiver.url).await;
    }
    sandbox.advance(10).await;
    let headers = receiver.headers();
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 3);
    let mut outcomes = Vec::new();
    for (headers, body) in headers.iter().zip(&bodies) {
        let (envelope, refund) = both.refund_notification(&received(headers), body).unwrap();
        let (_, same) = certificate_only
            .refund_notification(&received(headers), body)
            .unwrap();
        assert_eq!(same, refund);
        assert!(matches!(
            public_key_only.refund_notification(&received(headers), body),
            Err(Error::Signature(VerifyError::UnknownSerial(_)))
        ));
        assert_eq!(refund.mchid, MCH);
        assert_eq!(refund.amount.refund, 1000);
        assert_eq!(refund.out_refund_no, format!("{}-r", refund.out_trade_no));
        outcomes.push((
            refund.out_trade_no.clone(),
            envelope.event_type,
            refund.status(),
            refund.success_time.is_some(),
        ));
    }
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        outcomes,
        [
            (
                "sdk-n3-change".to_owned(),
                "REFUND.ABNORMAL".to_owned(),
                Some(RefundStatus::Abnormal),
                false
            ),
            (
                "sdk-n3-close".to_owned(),
                "REFUND.CLOSED".to_owned(),
                Some(RefundStatus::Closed),
                false
            ),
            (
                "sdk-n3-ok".to_owned(),
                "REFUND.SUCCESS".to_owned(),
                Some(RefundStatus::Success),
                true
            ),
        ]
    );

    // Public-key mode: TRANSACTION.SUCCESS of an order prepaid through the SDK.
    set_identity(&sandbox, "public_key").await;
    let prepay = PrepayRequest::new(APPID, "sdk", "sdk-n3-pay", &receiver.url, 700)
        .payer_openid("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    both.prepay_jsapi(&prepay).await.unwrap();
    let paid = sandbox
        .admin_post("/admin/wechat/orders/sdk-n3-pay/pay", json!({}))
        .await;
    let id = paid["notification_id"].as_u64().unwrap();
    sandbox.flush_notifications().await;
    let headers = receiver.headers();
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 4);
    let (last_headers, last_body) = (&headers[3], &bodies[3]);
    let (envelope, order) = public_key_only
        .payment_notification(&received(last_headers), last_body)
        .unwrap();
    assert_eq!(envelope.event_type, "TRANSACTION.SUCCESS");
    assert_eq!(order.state(), Some(TradeState::Success));
    assert_eq!(order.out_trade_no, "sdk-n3-pay");
    assert_eq!(order.amount.as_ref().unwrap().total, Some(700));
    assert!(
        both.payment_notification(&received(last_headers), last_body)
            .is_ok()
    );
    assert!(matches!(
        certificate_only.payment_notification(&received(last_headers), last_body),
        Err(Error::Signature(VerifyError::UnknownSerial(_)))
    ));
    // A payment notification is no refund notification.
    assert!(matches!(
        both.refund_notification(&received(last_headers), last_body),
        Err(Error::Decode { .. })
    ));

    // Switch-over (day 0 now): each resend's signer is drawn anew. The client trusting both
    // opens every one; one trusting only the certificate fails those the public key signed.
    set_identity(&sandbox, "certificate").await;
    set_identity(&sandbox, "switch_over").await;
    for _ in 0..40 {
        let n = sandbox
            .admin_post(&format!("/admin/notifications/{id}/resend"), json!({}))
            .await;
        assert_eq!(n["status"], "delivered", "{n}");
    }
    let headers = receiver.headers();
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 44);
    let mut refused = 0;
    for (headers, body) in headers[4..].iter().zip(&bodies[4..]) {
        both.payment_notification(&received(headers), body).unwrap();
        if certificate_only
            .payment_notification(&received(headers), body)
            .is_err()
        {
            refused += 1;
        }
    }
    assert!(
        (1..40).contains(&refused),
        "{refused} of 40 refused by the certificate-only client"
    );
}

#[tokio::test]
async fn the_sandboxs_signature_probe_is_refused_by_the_sdk() {
    let sandbox = start().await;
    // First a careless handler, answering 204 to anything.
    let receiver = Receiver::start(&[(204, "")]).await;
    let both = client(&sandbox, Trusts::Both).await;
    let probe = sandbox
        .admin_post(
            &format!("/admin/wechat/merchants/{MCH}/v3/probe"),
            json!({ "url": receiver.url }),
        )
        .await;
    // It accepted the probe: the sandbox reports it. The SDK refuses what it accepted.
    assert_eq!(probe["check"], "failed", "{probe}");
    let headers = receiver.headers();
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    assert!(matches!(
        both.payment_notification(&received(&headers[0]), &bodies[0]),
        Err(Error::Signature(VerifyError::SignatureProbe))
    ));
    assert!(matches!(
        both.refund_notification(&received(&headers[0]), &bodies[0]),
        Err(Error::Signature(VerifyError::SignatureProbe))
    ));
    // Answering as the SDK decided (401) makes the next probe a passed check.
    receiver.answer(
        401,
        &paysandbox_sdk::wechat::v3::notify::fail_body("signature"),
    );
    let probe = sandbox
        .admin_post(
            &format!("/admin/wechat/merchants/{MCH}/v3/probe"),
            json!({ "url": receiver.url }),
        )
        .await;
    assert_eq!(probe["check"], "passed", "{probe}");
    let failed = sandbox
        .admin_get(&format!(
            "/admin/wechat/v3/probes?merchant={MCH}&check=failed"
        ))
        .await;
    assert_eq!(failed.as_array().unwrap().len(), 1);
}
