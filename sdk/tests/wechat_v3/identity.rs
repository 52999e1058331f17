//! The platform's two identities and the switch-over: which keys a client trusts, which
//! `Wechatpay-Serial` it sends, and which answers it therefore accepts.

use paysandbox_protocol::wechat::v3::identity::{IdentityMode, Signer};
use paysandbox_sdk::error::ConfigError;
use paysandbox_sdk::wechat::v3::{Error, VerifyError};

use crate::support::*;

fn success() -> Answer {
    Answer::json(200, refund_json("R-1", "SUCCESS"))
}

#[tokio::test]
async fn public_key_mode_names_the_key_id_and_accepts_its_answers() {
    let platform = Platform::start(IdentityMode::PublicKey).await;
    platform.script([success()]);
    let client = platform.public_key_client();
    assert_eq!(
        client.wechatpay_serial().as_deref(),
        Some(keys().public_key_id())
    );
    client.refund_query("R-1").await.unwrap();
    assert_eq!(
        platform.seen()[0].wechatpay_serial.as_deref(),
        Some(keys().public_key_id())
    );
}

#[tokio::test]
async fn a_public_key_client_refuses_certificate_signed_answers() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([success()]);
    let e = platform
        .public_key_client()
        .refund_query("R-1")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Signature(VerifyError::UnknownSerial(s)) if s == keys().certificate_serial()),
        "{e}"
    );
}

fn switching_client(
    platform: &Platform,
    prefer: Option<&str>,
) -> paysandbox_sdk::wechat::v3::Client {
    let files = &keys().files;
    let mut builder = platform
        .builder()
        .platform_certificates_dir(&files.certificates_dir)
        .wechatpay_public_key_file(&files.public_key.id, &files.public_key.public_key_path);
    if let Some(serial) = prefer {
        builder = builder.wechatpay_serial(serial);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn during_the_switch_over_answers_follow_the_serial_sent_and_both_verify() {
    let platform = Platform::start(IdentityMode::SwitchOver { days_elapsed: 2 }).await;
    platform.script([success(), success()]);
    // Trusting both, the client prefers the public key; named explicitly, the certificate.
    let by_key = switching_client(&platform, None);
    let by_certificate = switching_client(&platform, Some(keys().certificate_serial()));
    assert_eq!(
        by_key.platform_serials(),
        [keys().certificate_serial(), keys().public_key_id()]
    );
    by_key.refund_query("R-1").await.unwrap();
    by_certificate.refund_query("R-1").await.unwrap();
    let sent: Vec<_> = platform
        .seen()
        .into_iter()
        .map(|s| s.wechatpay_serial.unwrap())
        .collect();
    assert_eq!(sent, [keys().public_key_id(), keys().certificate_serial()]);
}

#[tokio::test]
async fn trusting_both_accepts_either_signer() {
    let platform = Platform::start(IdentityMode::SwitchOver { days_elapsed: 0 }).await;
    platform.script([
        success().signed(Signing::By(Signer::Certificate)),
        success().signed(Signing::By(Signer::PublicKey)),
    ]);
    let client = switching_client(&platform, None);
    client.refund_query("R-1").await.unwrap();
    client.refund_query("R-1").await.unwrap();
}

#[tokio::test]
async fn a_serial_that_names_no_trusted_key_is_a_configuration_error() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    let e = platform
        .builder()
        .platform_certificate_pem(keys().certificate_pem())
        .wechatpay_serial("PUB_KEY_ID_0100190000012026010200000000000001")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Config(ConfigError::Credential {
                field: "wechatpay_serial",
                ..
            })
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_key_that_is_not_the_certificates_is_refused_at_build_time() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    let e = platform
        .builder()
        .merchant_key_pem(keys().files.public_key.keys.private_pkcs8_pem.clone())
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config(ConfigError::Key { .. })), "{e}");
    let e = paysandbox_sdk::wechat::v3::Client::builder(MCHID)
        .merchant_key_file(&keys().files.merchant.key_path)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Config(ConfigError::Credential {
                field: "serial_no",
                ..
            })
        ),
        "{e}"
    );
}

#[tokio::test]
async fn no_trusted_key_means_nothing_is_accepted_and_nothing_encrypted() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([success()]);
    let client = platform.builder().build().unwrap();
    assert_eq!(client.wechatpay_serial(), None);
    let e = client.refund_query("R-1").await.unwrap_err();
    assert!(
        matches!(e, Error::Signature(VerifyError::UnknownSerial(_))),
        "{e}"
    );
    assert_eq!(platform.seen()[0].wechatpay_serial, None);
    let e = client
        .abnormal_refund(
            "5000",
            &paysandbox_sdk::wechat::v3::AbnormalRefund {
                out_refund_no: "R-1".into(),
                target: paysandbox_sdk::wechat::v3::AbnormalRefundTarget::UserBankCard {
                    bank_type: "ICBC_DEBIT".into(),
                    bank_account: "6212260000000000000".into(),
                    real_name: "张三".into(),
                },
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Crypto(_)), "{e}");
}
