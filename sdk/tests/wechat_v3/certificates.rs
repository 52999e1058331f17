//! `GET /v3/certificates`: decrypted with the APIv3 key, its own signature checked (by a key
//! already trusted, or on first download by a certificate inside the answer), trusted on
//! request.

use paysandbox_protocol::wechat::v3::aead::{ApiV3Key, EncryptedResource};
use paysandbox_protocol::wechat::v3::identity::{IdentityMode, Signer};
use paysandbox_sdk::wechat::v3::{Error, VerifyError};
use serde_json::{Value, json};

use crate::support::*;

fn certificates_answer(apiv3_key: &str) -> Value {
    let key = ApiV3Key::new(apiv3_key).unwrap();
    let sealed = EncryptedResource::seal(
        &key,
        None,
        "a1b2c3d4e5f6",
        "certificate",
        keys().certificate_pem().as_bytes(),
    )
    .unwrap();
    json!({"data": [{
        "serial_no": keys().certificate_serial(),
        "effective_time": "2023-11-15T06:13:20+08:00",
        "expire_time": "2028-11-13T06:13:20+08:00",
        "encrypt_certificate": sealed,
    }]})
}

#[tokio::test]
async fn the_first_download_verifies_with_the_certificate_it_brings() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([
        Answer::json(200, certificates_answer(APIV3_KEY)),
        Answer::json(200, refund_json("R-1", "SUCCESS")),
    ]);
    let client = platform.builder().build().unwrap();
    let downloaded = client.refresh_platform_certificates().await.unwrap();
    assert_eq!(downloaded.len(), 1);
    assert_eq!(downloaded[0].serial_no, keys().certificate_serial());
    assert_eq!(downloaded[0].pem, keys().certificate_pem());
    assert_eq!(downloaded[0].expire_time, "2028-11-13T06:13:20+08:00");
    assert_eq!(
        platform.seen()[0].url,
        "/v3/certificates?algorithm_type=RSA"
    );
    // Trusted from now on.
    assert_eq!(client.platform_serials(), [keys().certificate_serial()]);
    client.refund_query("R-1").await.unwrap();
}

#[tokio::test]
async fn a_wrong_apiv3_key_decrypts_nothing() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([Answer::json(
        200,
        certificates_answer("another-apiv3-key-0000000000000a"),
    )]);
    let e = platform
        .builder()
        .build()
        .unwrap()
        .download_certificates()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Decode { reason } if reason.contains("authentication failed")),
        "{e}"
    );
}

#[tokio::test]
async fn a_download_signed_by_a_stranger_is_refused() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([Answer::json(200, certificates_answer(APIV3_KEY)).signed(Signing::Stranger)]);
    let client = platform.builder().build().unwrap();
    let e = client.refresh_platform_certificates().await.unwrap_err();
    assert!(
        matches!(e, Error::Signature(VerifyError::UnknownSerial(_))),
        "{e}"
    );
    assert!(client.platform_serials().is_empty(), "nothing trusted");
}

#[tokio::test]
async fn a_download_signed_by_a_trusted_key_needs_no_bootstrap() {
    let platform = Platform::start(IdentityMode::SwitchOver { days_elapsed: 1 }).await;
    platform.script([
        Answer::json(200, certificates_answer(APIV3_KEY)).signed(Signing::By(Signer::PublicKey)),
        Answer::json(200, certificates_answer(APIV3_KEY)).signed(Signing::OverOtherBody),
    ]);
    let client = platform.public_key_client();
    assert_eq!(client.download_certificates().await.unwrap().len(), 1);
    let e = client.download_certificates().await.unwrap_err();
    assert!(matches!(e, Error::Signature(VerifyError::Mismatch)), "{e}");
}

#[tokio::test]
async fn public_key_merchants_get_an_error_and_no_apiv3_key_means_no_download() {
    let platform = Platform::start(IdentityMode::PublicKey).await;
    platform.script([Answer::error(
        404,
        "RESOURCE_NOT_EXISTS",
        "无可用的平台证书",
    )]);
    let e = platform
        .public_key_client()
        .download_certificates()
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    let files = &keys().files;
    let without_key = paysandbox_sdk::wechat::v3::Client::builder(MCHID)
        .base_url(&platform.base_url)
        .merchant_key_file(&files.merchant.key_path)
        .merchant_certificate_file(&files.merchant.cert_path)
        .build()
        .unwrap();
    let e = without_key.download_certificates().await.unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
}
