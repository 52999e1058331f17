//! Notifications: verified with the trusted platform keys (probes refused), decrypted with
//! the APIv3 key, checked to be for this merchant.

use paysandbox_protocol::wechat::v3::aead::{ApiV3Key, EncryptedResource};
use paysandbox_protocol::wechat::v3::identity::{IdentityMode, Signer};
use paysandbox_protocol::wechat::v3::response::{SignedHeaders, probe_headers, sign_response};
use paysandbox_sdk::wechat::v3::{Error, RefundStatus, TradeState, VerifyError, notify};
use serde_json::{Value, json};

use crate::support::*;

fn envelope(event_type: &str, original_type: &str, plaintext: &Value, apiv3_key: &str) -> Vec<u8> {
    let key = ApiV3Key::new(apiv3_key).unwrap();
    let resource = EncryptedResource::seal(
        &key,
        Some(original_type),
        "fdasflkja484",
        if original_type == "refund" {
            ""
        } else {
            "transaction"
        },
        plaintext.to_string().as_bytes(),
    )
    .unwrap();
    serde_json::to_vec(&json!({
        "id": "EV-2018022511223320873", "create_time": "2023-11-15T06:13:20+08:00",
        "resource_type": "encrypt-resource", "event_type": event_type, "summary": "退款成功",
        "resource": resource,
    }))
    .unwrap()
}

fn refund_plaintext(mchid: &str) -> Value {
    json!({"mchid": mchid, "transaction_id": "1217752501201407033233368018",
           "out_trade_no": "demo-order-0001", "refund_id": "50000000382019052709732678859",
           "out_refund_no": "R-1", "refund_status": "SUCCESS",
           "success_time": "2023-11-15T06:20:00+08:00", "user_received_account": "支付用户零钱",
           "amount": {"total": 1000, "refund": 250, "payer_total": 1000, "payer_refund": 250}})
}

fn signed_by(signer: Signer, body: &[u8]) -> SignedHeaders {
    let (key, serial) = keys().signer(signer);
    sign_response(key, serial, unix_now(), "n0nce", "rid", body).unwrap()
}

async fn switching_client() -> paysandbox_sdk::wechat::v3::Client {
    let platform = Platform::start(IdentityMode::Certificates).await;
    let files = &keys().files;
    platform
        .builder()
        .platform_certificate_file(keys().certificate_path())
        .wechatpay_public_key_file(&files.public_key.id, &files.public_key.public_key_path)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_refund_notification_by_either_key_is_verified_and_decrypted() {
    let client = switching_client().await;
    let body = envelope(
        "REFUND.SUCCESS",
        "refund",
        &refund_plaintext(MCHID),
        APIV3_KEY,
    );
    for signer in [Signer::Certificate, Signer::PublicKey] {
        let headers = signed_by(signer, &body);
        let (envelope, refund) = client
            .refund_notification(&headers.as_received(), &body)
            .unwrap();
        assert_eq!(envelope.event_type, "REFUND.SUCCESS");
        assert_eq!(refund.status(), Some(RefundStatus::Success));
        assert_eq!(
            (refund.out_refund_no.as_str(), refund.amount.refund),
            ("R-1", 250)
        );
    }
}

#[tokio::test]
async fn a_probe_a_forgery_and_a_stale_notification_are_refused() {
    let client = switching_client().await;
    let body = envelope(
        "REFUND.SUCCESS",
        "refund",
        &refund_plaintext(MCHID),
        APIV3_KEY,
    );
    let probe = probe_headers(keys().certificate_serial(), unix_now(), "n", "rid", "QUJD");
    assert!(matches!(
        client.refund_notification(&probe.as_received(), &body),
        Err(Error::Signature(VerifyError::SignatureProbe))
    ));
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let headers = signed_by(Signer::Certificate, &body);
    assert!(matches!(
        client.refund_notification(&headers.as_received(), &tampered),
        Err(Error::Signature(VerifyError::Mismatch))
    ));
    let stale = sign_response(
        &keys().certificate_key,
        keys().certificate_serial(),
        unix_now() - 3600,
        "n",
        "rid",
        &body,
    )
    .unwrap();
    assert!(matches!(
        client.refund_notification(&stale.as_received(), &body),
        Err(Error::Signature(VerifyError::StaleTimestamp { .. }))
    ));
    // The headers straight from an http::HeaderMap.
    let mut map = reqwest::header::HeaderMap::new();
    for (name, value) in headers.pairs() {
        map.insert(name, value.parse().unwrap());
    }
    client
        .refund_notification(&notify::headers(&map), &body)
        .unwrap();
}

#[tokio::test]
async fn another_merchants_or_another_keys_notification_is_refused() {
    let client = switching_client().await;
    let body = envelope(
        "REFUND.SUCCESS",
        "refund",
        &refund_plaintext("1900000110"),
        APIV3_KEY,
    );
    let e = client
        .refund_notification(&signed_by(Signer::Certificate, &body).as_received(), &body)
        .unwrap_err();
    assert!(
        matches!(&e, Error::Decode { reason } if reason.contains("1900000110")),
        "{e}"
    );

    let body = envelope(
        "REFUND.SUCCESS",
        "refund",
        &refund_plaintext(MCHID),
        "another-apiv3-key-0000000000000a",
    );
    let e = client
        .refund_notification(&signed_by(Signer::Certificate, &body).as_received(), &body)
        .unwrap_err();
    assert!(
        matches!(&e, Error::Decode { reason } if reason.contains("authentication failed")),
        "{e}"
    );

    // A payment notification is not a refund one.
    let body = envelope("TRANSACTION.SUCCESS", "transaction", &json!({}), APIV3_KEY);
    let e = client
        .refund_notification(&signed_by(Signer::Certificate, &body).as_received(), &body)
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e}");
}

#[tokio::test]
async fn a_payment_notification() {
    let client = switching_client().await;
    let order = json!({"appid": "wx2421b1c4370ec43b", "mchid": MCHID, "out_trade_no": "o-1",
                       "transaction_id": "4200000000000000000000000001", "trade_type": "NATIVE",
                       "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
                       "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"}});
    let body = envelope("TRANSACTION.SUCCESS", "transaction", &order, APIV3_KEY);
    let (_, transaction) = client
        .payment_notification(&signed_by(Signer::PublicKey, &body).as_received(), &body)
        .unwrap();
    assert_eq!(transaction.state(), Some(TradeState::Success));
    assert_eq!(
        notify::fail_body("存储失败"),
        r#"{"code":"FAIL","message":"存储失败"}"#
    );
}
