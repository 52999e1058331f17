//! `auto_refresh_certificates`: a client that trusts no platform certificate (or an old one)
//! downloads them when an answer is signed by one it does not know, once, and only for
//! certificate serials; against the sandbox.

use std::path::PathBuf;
use std::time::Duration;

use paysandbox_sdk::error::ConfigError;
use paysandbox_sdk::wechat::v3::{Client, ClientBuilder, Error, OrderId, VerifyError};
use paysandbox_testkit::prelude::MCH;
use paysandbox_testkit::{Sandbox, start};
use serde_json::{Value, json};

/// The demo merchant's v3 client with its credentials and no platform key trusted.
async fn bare_builder(sandbox: &Sandbox) -> ClientBuilder {
    let view = sandbox
        .admin_get(&format!("/admin/wechat/merchants/{MCH}/v3"))
        .await;
    Client::builder(MCH)
        .base_url(&sandbox.running.api_url)
        .public_roots(false)
        .extra_root_ca_file(&sandbox.running.ca_path)
        .merchant_key_file(PathBuf::from(view["private_key_path"].as_str().unwrap()))
        .serial_no(view["merchant_serial_no"].as_str().unwrap())
        .apiv3_key(paysandbox_testkit::wechat_v3::API_V3_KEY)
        .timeout(Duration::from_secs(5))
}

async fn set_identity(sandbox: &Sandbox, identity: &str) -> Value {
    sandbox
        .admin_post(
            &format!("/admin/wechat/merchants/{MCH}/v3"),
            json!({ "identity": identity }),
        )
        .await
}

/// How many `GET /v3/certificates` the sandbox has answered.
async fn downloads(sandbox: &Sandbox) -> usize {
    let journal = sandbox.admin_get("/admin/journal?limit=10000").await;
    journal
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] == "/v3/certificates")
        .count()
}

fn demo_order() -> OrderId {
    OrderId::OutTradeNo("demo-order-0001".into())
}

#[tokio::test]
async fn a_client_without_certificates_downloads_them_once_and_verifies() {
    let sandbox = start().await;
    let view = set_identity(&sandbox, "certificate").await;
    let serial = view["platform_certificates"][0]["serial_no"]
        .as_str()
        .unwrap()
        .to_owned();

    let strict = bare_builder(&sandbox).await.build().unwrap();
    let refused = strict.order_query(&demo_order()).await.unwrap_err();
    assert!(
        matches!(&refused, Error::Signature(VerifyError::UnknownSerial(s)) if *s == serial),
        "{refused}"
    );
    assert_eq!(downloads(&sandbox).await, 0, "off by default");

    let client = bare_builder(&sandbox)
        .await
        .auto_refresh_certificates(true)
        .build()
        .unwrap();
    assert!(client.platform_serials().is_empty());
    let order = client.order_query(&demo_order()).await.unwrap();
    assert_eq!(order.out_trade_no, "demo-order-0001");
    assert_eq!(client.platform_serials(), vec![serial.clone()]);
    assert_eq!(downloads(&sandbox).await, 1);
    // Known now: no second download.
    client.order_query(&demo_order()).await.unwrap();
    assert!(client.learn_serial(&serial).await);
    assert_eq!(downloads(&sandbox).await, 1);
}

#[tokio::test]
async fn public_key_ids_are_never_downloaded_and_unknown_serials_at_most_once_a_minute() {
    let sandbox = start().await;
    set_identity(&sandbox, "public_key").await;
    let client = bare_builder(&sandbox)
        .await
        .auto_refresh_certificates(true)
        .build()
        .unwrap();
    // Answers signed by the WeChat Pay public key: nothing to download, the key must be given.
    let refused = client.order_query(&demo_order()).await.unwrap_err();
    assert!(
        matches!(&refused, Error::Signature(VerifyError::UnknownSerial(s)) if s.starts_with("PUB_KEY_ID_")),
        "{refused}"
    );
    assert_eq!(downloads(&sandbox).await, 0);

    // A certificate serial nobody issued: one download (which finds nothing usable in
    // public-key mode), then none for a minute.
    let stray = "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C";
    assert!(!client.learn_serial(stray).await);
    assert!(!client.learn_serial(stray).await);
    assert_eq!(downloads(&sandbox).await, 1);
}

#[tokio::test]
async fn auto_refresh_needs_the_apiv3_key() {
    let sandbox = start().await;
    let view = sandbox
        .admin_get(&format!("/admin/wechat/merchants/{MCH}/v3"))
        .await;
    let error = Client::builder(MCH)
        .merchant_key_file(PathBuf::from(view["private_key_path"].as_str().unwrap()))
        .serial_no(view["merchant_serial_no"].as_str().unwrap())
        .auto_refresh_certificates(true)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Config(ConfigError::Credential {
                field: "apiv3_key",
                ..
            })
        ),
        "{error}"
    );
}
