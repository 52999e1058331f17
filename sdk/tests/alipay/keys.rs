//! The app private key in every form the clients use (PKCS#1 PEM, PKCS#8 PEM, bare base64 of
//! either; from a file or a string) and the Alipay public key as PEM or bare base64 all sign
//! and verify against the gateway.

use paysandbox_sdk::alipay::{Client, TradeId, TradeStatus};
use paysandbox_sdk::error::ConfigError;

use crate::support::*;

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test]
async fn every_key_form_works() {
    let sandbox = start().await;
    let f = alipay_files();
    assert!(read(&f.app_private_key_path).starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert!(read(&f.app_private_key_pkcs8_path).starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(!read(&f.app_private_key_base64_path).contains("-----"));

    let private_forms = [
        &f.app_private_key_path,
        &f.app_private_key_pkcs8_path,
        &f.app_private_key_base64_path,
        &f.app_private_key_pkcs8_base64_path,
    ];
    let public_forms = [&f.alipay_public_key_path, &f.alipay_public_key_base64_path];
    for private in private_forms {
        for public in public_forms {
            for (from_file, client) in [
                (
                    true,
                    sandbox
                        .alipay_builder()
                        .app_private_key_file(private)
                        .alipay_public_key_file(public),
                ),
                (
                    false,
                    sandbox
                        .alipay_builder()
                        .app_private_key(read(private))
                        .alipay_public_key(read(public)),
                ),
            ] {
                let client = client.build().unwrap();
                let trade = client
                    .trade_query(&TradeId::out_trade_no("demo-trade-0002"))
                    .await
                    .unwrap_or_else(|e| panic!("{private:?} {public:?} (file: {from_file}): {e}"));
                assert_eq!(trade.trade_status, Some(TradeStatus::TradeSuccess));
            }
        }
    }
    let outcomes = outcomes(&sandbox.gateway_journal("alipay.trade.query").await);
    assert_eq!(outcomes, vec!["SUCCESS"; 16]);
}

/// Keys are read and checked when the client is built, with errors naming the key.
#[tokio::test]
async fn key_problems_are_configuration_errors() {
    let f = alipay_files();
    let base = || {
        Client::builder(ALIPAY_APP)
            .app_private_key_file(&f.app_private_key_path)
            .alipay_public_key_file(&f.alipay_public_key_path)
    };
    let config = |b: paysandbox_sdk::alipay::ClientBuilder| match b.build() {
        Err(paysandbox_sdk::alipay::Error::Config(e)) => e,
        other => panic!("{other:?}"),
    };
    // The app's own public key where Alipay's belongs: the classic mix-up.
    let e = config(base().alipay_public_key_file(&f.app_public_key_path));
    assert!(
        matches!(
            e,
            ConfigError::Key {
                key: "Alipay public key",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("app's own public key"), "{e}");
    // A public key where the private key belongs.
    let e = config(base().app_private_key_file(&f.alipay_public_key_path));
    assert!(
        matches!(
            e,
            ConfigError::Key {
                key: "app private key",
                ..
            }
        ),
        "{e}"
    );
    // Headers without a body, a truncated base64 body.
    let e = config(
        base().app_private_key("-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----"),
    );
    assert!(matches!(e, ConfigError::Key { .. }), "{e}");
    let body = read(&f.app_private_key_base64_path);
    let e = config(base().app_private_key(&body[..body.len() / 2]));
    assert!(matches!(e, ConfigError::Key { .. }), "{e}");
    let e = config(base().alipay_public_key_file(f.alipay_public_key_path.with_extension("nope")));
    assert!(matches!(e, ConfigError::Read { .. }), "{e}");
}
