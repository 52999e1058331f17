//! Every 2xx answer is verified before it is read: unsigned, mis-signed, stale, unknown and
//! probe answers are errors, never results, and each says the refund's outcome is unknown.

use paysandbox_protocol::wechat::v3::identity::{IdentityMode, Signer};
use paysandbox_sdk::wechat::v3::{Error, VerifyError};
use serde_json::json;

use crate::support::*;

async fn refund_query_answered(answer: Answer) -> Error {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([answer]);
    let e = platform
        .certificate_client()
        .refund_query("R-1")
        .await
        .unwrap_err();
    assert!(e.is_outcome_unknown(), "{e}");
    assert!(!e.is_retryable(), "{e}");
    e
}

fn success() -> Answer {
    Answer::json(200, refund_json("R-1", "SUCCESS"))
}

#[tokio::test]
async fn an_unsigned_answer_is_refused() {
    let e = refund_query_answered(success().signed(Signing::Unsigned)).await;
    assert!(
        matches!(
            e,
            Error::Signature(VerifyError::MissingHeader("Wechatpay-Timestamp"))
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_signature_over_another_body_is_refused() {
    let e = refund_query_answered(success().signed(Signing::OverOtherBody)).await;
    assert!(matches!(e, Error::Signature(VerifyError::Mismatch)), "{e}");
}

#[tokio::test]
async fn a_stale_answer_is_refused() {
    let e = refund_query_answered(success().signed(Signing::Stale)).await;
    assert!(
        matches!(
            e,
            Error::Signature(VerifyError::StaleTimestamp { max_skew: 300, .. })
        ),
        "{e}"
    );
}

#[tokio::test]
async fn an_answer_signed_by_an_unknown_key_is_refused() {
    let e = refund_query_answered(success().signed(Signing::Stranger)).await;
    assert!(
        matches!(&e, Error::Signature(VerifyError::UnknownSerial(s)) if s == "7E57AB1E0000000000000000000000000000000A"),
        "{e}"
    );
}

#[tokio::test]
async fn a_key_the_client_was_not_given_is_unknown() {
    // Signed by the public key, which this client (certificates only) does not trust.
    let e = refund_query_answered(success().signed(Signing::By(Signer::PublicKey))).await;
    assert!(
        matches!(e, Error::Signature(VerifyError::UnknownSerial(_))),
        "{e}"
    );
}

#[tokio::test]
async fn a_signature_probe_is_refused() {
    let e = refund_query_answered(success().signed(Signing::Probe)).await;
    assert!(
        matches!(e, Error::Signature(VerifyError::SignatureProbe)),
        "{e}"
    );
}

#[tokio::test]
async fn an_unsigned_204_is_refused_too() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([Answer::no_content().signed(Signing::Unsigned)]);
    let e = platform
        .certificate_client()
        .close_order("o-1")
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Signature(VerifyError::MissingHeader(_))),
        "{e}"
    );
}

#[tokio::test]
async fn a_verified_body_that_is_not_a_refund_is_a_decode_error() {
    let e = refund_query_answered(Answer::json(200, json!({"status": "SUCCESS"}))).await;
    assert!(matches!(e, Error::Decode { .. }), "{e}");
}

#[tokio::test]
async fn a_tighter_skew_is_honoured() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([success().signed(Signing::Stale)]);
    let client = platform
        .builder()
        .platform_certificate_file(keys().certificate_path())
        .max_clock_skew(std::time::Duration::from_secs(3600))
        .build()
        .unwrap();
    // Ten minutes old passes an hour's tolerance.
    client.refund_query("R-1").await.unwrap();
}
