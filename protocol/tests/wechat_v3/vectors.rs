//! API v3 known answers: the `wechat_v3` section of `tests/data/known_answers.json` (request
//! and response signatures, `/v3/certificates` and notification decryption), each vector
//! published by an official SDK or generated with openssl / Python `cryptography`.

use paysandbox_protocol::rsa::{Hash, PrivateKey, PublicKey, parse_pem};
use paysandbox_protocol::wechat::v3::aead::{self, ApiV3Key, EncryptedResource};
use paysandbox_protocol::wechat::v3::auth::{
    Authorization, RequestSignatureError, request_message, sign_request, verify_request,
};
use paysandbox_protocol::wechat::v3::decode::lenient;
use paysandbox_protocol::wechat::v3::identity::certificate_serial_hex;
use paysandbox_protocol::wechat::v3::messages::{
    CertificatesResponse, Notification, RefundNotification, RefundStatus,
};
use paysandbox_protocol::wechat::v3::response::{
    ReceivedHeaders, Verifier, VerifyError, response_message, sign_response,
};
use serde_json::Value;

fn section() -> Value {
    let text = include_str!("../data/known_answers.json");
    let all: Value = serde_json::from_str(text).unwrap();
    all["wechat_v3"].clone()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

fn vectors<'a>(section: &'a Value, key: &str) -> &'a Vec<Value> {
    let list = section[key].as_array().unwrap();
    assert!(!list.is_empty(), "{key} has vectors");
    list
}

fn merchant_key(section: &Value) -> PrivateKey {
    PrivateKey::from_pem(s(&section["keys"], "merchant_private_key_pem")).unwrap()
}

fn certificate_key(section: &Value) -> PublicKey {
    PublicKey::from_pem(s(&section["keys"], "certificate_pem")).unwrap()
}

#[test]
fn the_key_pair_and_its_certificate_agree() {
    let section = section();
    assert_eq!(
        merchant_key(&section).to_public_key(),
        certificate_key(&section)
    );
    let der = parse_pem(s(&section["keys"], "certificate_pem"))
        .unwrap()
        .unwrap()
        .der;
    assert_eq!(
        certificate_serial_hex(&der).unwrap(),
        s(&section["keys"], "certificate_serial")
    );
}

#[test]
fn raw_signatures() {
    let section = section();
    let key = merchant_key(&section);
    for v in vectors(&section, "raw_signatures") {
        assert_eq!(
            key.sign_base64(Hash::Sha256, s(v, "message").as_bytes())
                .unwrap(),
            s(v, "signature"),
            "{}",
            s(v, "name")
        );
    }
}

#[test]
fn request_signatures() {
    let section = section();
    let key = merchant_key(&section);
    let public = certificate_key(&section);
    for v in vectors(&section, "request_signatures") {
        let name = s(v, "name");
        let (method, url, body) = (s(v, "method"), s(v, "url"), s(v, "body"));
        assert_eq!(
            request_message(
                method,
                url,
                s(v, "timestamp"),
                s(v, "nonce"),
                body.as_bytes()
            ),
            s(v, "message").as_bytes(),
            "{name}"
        );
        let timestamp: i64 = s(v, "timestamp").parse().unwrap();
        let auth = sign_request(
            &key,
            s(v, "mchid"),
            s(v, "serial_no"),
            method,
            url,
            timestamp,
            s(v, "nonce"),
            body.as_bytes(),
        )
        .unwrap();
        assert_eq!(auth.signature, s(v, "signature"), "{name}");
        assert_eq!(auth.to_header_value(), s(v, "authorization"), "{name}");

        // The server side: parse the header and verify it over the same request.
        let parsed = Authorization::parse(s(v, "authorization")).unwrap();
        assert_eq!(parsed, auth, "{name}");
        assert_eq!(
            verify_request(&parsed, &public, method, url, body.as_bytes()),
            Ok(())
        );
        // One byte off anywhere is a mismatch.
        assert_eq!(
            verify_request(
                &parsed,
                &public,
                method,
                &format!("{url}&"),
                body.as_bytes()
            ),
            Err(RequestSignatureError::Mismatch),
            "{name}"
        );
        assert_eq!(
            verify_request(&parsed, &public, method, url, format!("{body} ").as_bytes()),
            Err(RequestSignatureError::Mismatch),
            "{name}"
        );
        let other_method = if method == "GET" { "POST" } else { "GET" };
        assert_eq!(
            verify_request(&parsed, &public, other_method, url, body.as_bytes()),
            Err(RequestSignatureError::Mismatch),
            "{name}"
        );
    }
}

#[test]
fn response_signatures() {
    let section = section();
    let key = merchant_key(&section);
    let verifier = Verifier::new().with_key(
        s(&section["keys"], "certificate_serial"),
        certificate_key(&section),
    );
    for v in vectors(&section, "response_signatures") {
        let name = s(v, "name");
        let body = s(v, "body").as_bytes();
        assert_eq!(
            response_message(s(v, "timestamp"), s(v, "nonce"), body),
            s(v, "message").as_bytes(),
            "{name}"
        );
        let timestamp: i64 = s(v, "timestamp").parse().unwrap();
        let signed =
            sign_response(&key, s(v, "serial"), timestamp, s(v, "nonce"), "rid", body).unwrap();
        assert_eq!(signed.signature, s(v, "signature"), "{name}");
        let received = ReceivedHeaders {
            timestamp: Some(s(v, "timestamp")),
            nonce: Some(s(v, "nonce")),
            signature: Some(s(v, "signature")),
            serial: Some(s(v, "serial")),
            signature_type: Some("WECHATPAY2-SHA256-RSA2048"),
        };
        // Verified at the vector's own time, and the serial comes back.
        assert_eq!(
            verifier.verify(&received, body, timestamp + 299),
            Ok(s(v, "serial"))
        );
        assert_eq!(
            verifier.verify(&received, b"tampered", timestamp),
            Err(VerifyError::Mismatch),
            "{name}"
        );
        assert!(matches!(
            verifier.verify(&received, body, timestamp + 301),
            Err(VerifyError::StaleTimestamp { .. })
        ));
    }
}

#[test]
fn certificates_decryption() {
    let section = section();
    for v in vectors(&section, "certificates_decryption") {
        let key = ApiV3Key::new(s(v, "api_v3_key")).unwrap();
        let answer: CertificatesResponse = lenient(s(v, "body").as_bytes()).unwrap();
        let expected = v["certificates"].as_array().unwrap();
        assert_eq!(answer.data.len(), expected.len());
        for (entry, want) in answer.data.iter().zip(expected) {
            assert_eq!(entry.serial_no, s(want, "serial_no"));
            assert_eq!(entry.effective_time, s(want, "effective_time"));
            assert_eq!(entry.expire_time, s(want, "expire_time"));
            assert_eq!(entry.encrypt_certificate.associated_data, "certificate");
            let pem = entry.certificate_pem(&key).unwrap();
            assert_eq!(pem, s(want, "certificate_pem"));
            // The decrypted certificate carries the serial the entry announces, and its key
            // loads as a platform key.
            let der = parse_pem(&pem).unwrap().unwrap().der;
            assert_eq!(certificate_serial_hex(&der).unwrap(), entry.serial_no);
            assert_eq!(PublicKey::from_pem(&pem).unwrap().bits(), 2048);
            // Re-encrypting gives the published bytes back.
            let again = EncryptedResource::seal(
                &key,
                None,
                &entry.encrypt_certificate.nonce,
                "certificate",
                pem.as_bytes(),
            )
            .unwrap();
            assert_eq!(again, entry.encrypt_certificate);
        }
    }
}

#[test]
fn single_resources() {
    let section = section();
    for v in vectors(&section, "aead") {
        let key = ApiV3Key::new(s(v, "api_v3_key")).unwrap();
        let (nonce, aad) = (s(v, "nonce"), s(v, "associated_data"));
        assert_eq!(
            aead::decrypt(&key, nonce, aad, s(v, "ciphertext")).unwrap(),
            s(v, "plaintext").as_bytes()
        );
        assert_eq!(
            aead::encrypt(&key, nonce, aad, s(v, "plaintext").as_bytes()).unwrap(),
            s(v, "ciphertext")
        );
    }
}

#[test]
fn notification_decryption() {
    let section = section();
    for v in vectors(&section, "notification_decryption") {
        let key = ApiV3Key::new(s(v, "api_v3_key")).unwrap();
        let notification: Notification = lenient(s(v, "body").as_bytes()).unwrap();
        assert_eq!(notification.resource_type, "encrypt-resource");
        assert_eq!(notification.event_type, "REFUND.SUCCESS");
        assert_eq!(
            notification.resource.original_type.as_deref(),
            Some("refund")
        );
        let plaintext = notification.plaintext(&key).unwrap();
        assert_eq!(plaintext, s(v, "plaintext"));
        let refund: RefundNotification = lenient(plaintext.as_bytes()).unwrap();
        assert_eq!(refund.status(), Some(RefundStatus::Success));
        assert_eq!(refund.amount.refund, 888);
        assert_eq!(refund.user_received_account, "支付用户零钱");
        // Sealing the plaintext again with the same nonce reproduces the resource.
        let resealed = EncryptedResource::seal(
            &key,
            Some("refund"),
            &notification.resource.nonce,
            &notification.resource.associated_data,
            plaintext.as_bytes(),
        )
        .unwrap();
        assert_eq!(resealed, notification.resource);
        // Serialising the envelope gives the body's bytes back (member order included).
        assert_eq!(serde_json::to_string(&notification).unwrap(), s(v, "body"));
    }
}
