//! API v3 signatures end to end with generated keys: a client signs a request and the server
//! verifies it; the server signs an answer and a client's verifier (certificate and public-key
//! identities, switch-over) accepts or refuses it; sensitive fields round-trip through OAEP.

use std::sync::OnceLock;

use paysandbox_protocol::rsa::{PrivateKey, RsaError};
use paysandbox_protocol::wechat::v3::auth::{
    Authorization, RequestSignatureError, sign_request, verify_request,
};
use paysandbox_protocol::wechat::v3::error::{ErrorBody, SignInformation};
use paysandbox_protocol::wechat::v3::identity::{IdentityMode, Signer};
use paysandbox_protocol::wechat::v3::oaep::{FieldDecryptError, decrypt_field, encrypt_field};
use paysandbox_protocol::wechat::v3::response::{
    ReceivedHeaders, SIGNTEST_PREFIX, SignedHeaders, Verifier, VerifyError, probe_headers,
    sign_response,
};

const MCHID: &str = "1900000109";
const MERCHANT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
const CERT_SERIAL: &str = "7132D72A03E93CDDF8C03BBD1F37EEDF843C7F1D";
const KEY_ID: &str = "PUB_KEY_ID_0119000001092026120400000000000001";
const NOW: i64 = 1_796_405_178;

/// Three keys: the merchant's, the platform certificate's, the WeChat Pay public key's.
fn keys() -> &'static [PrivateKey; 3] {
    static KEYS: OnceLock<[PrivateKey; 3]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            PrivateKey::generate(2048).unwrap(),
            PrivateKey::generate(2048).unwrap(),
            PrivateKey::generate(2048).unwrap(),
        ]
    })
}

#[test]
fn a_signed_request_verifies_only_as_sent() {
    let [merchant, other, _] = keys();
    let body = br#"{"out_trade_no":"1217752501201407033233368018","out_refund_no":"R1","amount":{"refund":1,"total":1,"currency":"CNY"}}"#;
    let url = "/v3/refund/domestic/refunds";
    let auth = sign_request(
        merchant,
        MCHID,
        MERCHANT_SERIAL,
        "POST",
        url,
        NOW,
        "n0nce",
        body,
    )
    .unwrap();
    let header = auth.to_header_value();
    let parsed = Authorization::parse(&header).unwrap();
    assert_eq!(parsed.serial_no, MERCHANT_SERIAL);
    assert_eq!(parsed.timestamp_secs(), NOW);
    let public = merchant.to_public_key();
    assert_eq!(verify_request(&parsed, &public, "POST", url, body), Ok(()));
    assert_eq!(
        verify_request(&parsed, &other.to_public_key(), "POST", url, body),
        Err(RequestSignatureError::Mismatch)
    );
    assert_eq!(
        verify_request(
            &parsed,
            &public,
            "POST",
            "/v3/refund/domestic/refunds?x=1",
            body
        ),
        Err(RequestSignatureError::Mismatch)
    );
    let replayed = Authorization {
        timestamp: (NOW + 1).to_string(),
        ..parsed.clone()
    };
    assert_eq!(
        verify_request(&replayed, &public, "POST", url, body),
        Err(RequestSignatureError::Mismatch)
    );
    let garbled = Authorization {
        signature: "not base64!".into(),
        ..parsed.clone()
    };
    assert_eq!(
        verify_request(&garbled, &public, "POST", url, body),
        Err(RequestSignatureError::InvalidBase64)
    );

    // What the server echoes in its SIGN_ERROR: the message it built for this request.
    let info = SignInformation::new("POST", url, &parsed.message("POST", url, body));
    assert_eq!(
        info.sign_message_length,
        4 + url.len() + 1 + 10 + 1 + 5 + 1 + body.len() + 1 + 1
    );
    assert!(
        info.truncated_sign_message
            .starts_with("POST\n/v3/refund/domestic/refunds\n1796405178\nn0nce\n{")
    );
    let error = ErrorBody::sign_error("signature", "sign not match", Some(info));
    assert_eq!(error.http_status(), 401);
}

fn verifier_for(mode: IdentityMode) -> Verifier {
    let [_, certificate, public_key] = keys();
    match mode {
        IdentityMode::Certificates => {
            Verifier::new().with_key(CERT_SERIAL, certificate.to_public_key())
        }
        IdentityMode::PublicKey => Verifier::new().with_key(KEY_ID, public_key.to_public_key()),
        IdentityMode::SwitchOver { .. } => Verifier::new()
            .with_key(CERT_SERIAL, certificate.to_public_key())
            .with_key(KEY_ID, public_key.to_public_key()),
    }
}

/// Signs like the sandbox: the mode and the request's Wechatpay-Serial pick the key.
fn answer(
    mode: IdentityMode,
    request_serial: Option<&str>,
    body: &[u8],
) -> (Signer, SignedHeaders) {
    let [_, certificate, public_key] = keys();
    let signer = mode.response_signer(request_serial);
    let (key, serial) = match signer {
        Signer::Certificate => (certificate, CERT_SERIAL),
        Signer::PublicKey => (public_key, KEY_ID),
    };
    let headers = sign_response(
        key,
        serial,
        NOW,
        "c5ac7061fccab6bf3e254dcf98995b8c",
        "08F78BB5AF0610D1E2CF1B",
        body,
    )
    .unwrap();
    (signer, headers)
}

#[test]
fn answers_verify_in_each_identity_mode() {
    let body = br#"{"refund_id":"50000000382019052709732678859","status":"PROCESSING"}"#;
    for (mode, request_serial, expected_signer) in [
        (IdentityMode::Certificates, None, Signer::Certificate),
        (
            IdentityMode::Certificates,
            Some(KEY_ID),
            Signer::Certificate,
        ),
        (IdentityMode::PublicKey, None, Signer::PublicKey),
        (
            IdentityMode::SwitchOver { days_elapsed: 3 },
            Some(KEY_ID),
            Signer::PublicKey,
        ),
        (
            IdentityMode::SwitchOver { days_elapsed: 3 },
            Some(CERT_SERIAL),
            Signer::Certificate,
        ),
    ] {
        let (signer, headers) = answer(mode, request_serial, body);
        assert_eq!(signer, expected_signer, "{mode:?}");
        let received = headers.as_received();
        let expected_serial = if signer == Signer::Certificate {
            CERT_SERIAL
        } else {
            KEY_ID
        };
        assert_eq!(
            verifier_for(mode).verify(&received, body, NOW),
            Ok(expected_serial)
        );
        // The clock check uses the caller's wall clock: five minutes either way.
        assert_eq!(
            verifier_for(mode).verify(&received, body, NOW - 300),
            Ok(expected_serial)
        );
        assert_eq!(
            verifier_for(mode).verify(&received, body, NOW + 301),
            Err(VerifyError::StaleTimestamp {
                timestamp: NOW,
                now: NOW + 301,
                max_skew: 300
            })
        );
    }
    // A client that trusts only the certificate fails on a public-key answer, not silently.
    let (_, headers) = answer(IdentityMode::PublicKey, None, body);
    assert_eq!(
        verifier_for(IdentityMode::Certificates).verify(&headers.as_received(), body, NOW),
        Err(VerifyError::UnknownSerial(KEY_ID.into()))
    );
    // A lower-case serial still finds the certificate.
    let (_, headers) = answer(IdentityMode::Certificates, None, body);
    let lower = CERT_SERIAL.to_ascii_lowercase();
    let received = ReceivedHeaders {
        serial: Some(&lower),
        ..headers.as_received()
    };
    assert_eq!(
        verifier_for(IdentityMode::Certificates).verify(&received, body, NOW),
        Ok(lower.as_str())
    );
}

#[test]
fn a_204_is_signed_over_an_empty_body_line() {
    let (_, headers) = answer(IdentityMode::Certificates, None, b"");
    let verifier = verifier_for(IdentityMode::Certificates);
    assert_eq!(
        verifier.verify(&headers.as_received(), b"", NOW),
        Ok(CERT_SERIAL)
    );
    assert_eq!(
        verifier.verify(&headers.as_received(), b"{}", NOW),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn forged_and_probe_notifications_are_refused() {
    let body = br#"{"id":"EV-1","event_type":"REFUND.SUCCESS"}"#;
    let [merchant, _, _] = keys();
    // Signed by a key the client does not hold, under the platform's serial.
    let forged = sign_response(merchant, CERT_SERIAL, NOW, "n", "r", body).unwrap();
    let verifier = verifier_for(IdentityMode::SwitchOver { days_elapsed: 0 });
    assert_eq!(
        verifier.verify(&forged.as_received(), body, NOW),
        Err(VerifyError::Mismatch)
    );
    let probe = probe_headers(CERT_SERIAL, NOW, "n", "r", "dGVzdA==");
    assert!(probe.signature.starts_with(SIGNTEST_PREFIX));
    assert_eq!(
        verifier.verify(&probe.as_received(), body, NOW),
        Err(VerifyError::SignatureProbe)
    );
    // The pairs are the six headers the platform sends.
    let names: Vec<&str> = forged.pairs().iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "Wechatpay-Nonce",
            "Wechatpay-Serial",
            "Wechatpay-Signature",
            "Wechatpay-Signature-Type",
            "Wechatpay-Timestamp",
            "Request-ID"
        ]
    );
}

#[test]
fn sensitive_fields_round_trip_through_oaep() {
    let [_, certificate, public_key] = keys();
    for platform in [certificate, public_key] {
        let encrypted = encrypt_field(&platform.to_public_key(), "张三").unwrap();
        assert_eq!(encrypted.len(), 344, "base64 of one 256-byte block");
        assert_eq!(decrypt_field(platform, &encrypted), Ok("张三".to_owned()));
        let account = encrypt_field(&platform.to_public_key(), "6214830000000000").unwrap();
        assert_eq!(
            decrypt_field(platform, &account),
            Ok("6214830000000000".to_owned())
        );
    }
    let encrypted = encrypt_field(&certificate.to_public_key(), "张三").unwrap();
    assert_eq!(
        decrypt_field(public_key, &encrypted),
        Err(FieldDecryptError::Decryption)
    );
    assert_eq!(
        decrypt_field(certificate, "***"),
        Err(FieldDecryptError::InvalidBase64)
    );
    assert_eq!(
        encrypt_field(&certificate.to_public_key(), &"x".repeat(215)),
        Err(RsaError::PlaintextTooLong { len: 215, max: 214 })
    );
}
