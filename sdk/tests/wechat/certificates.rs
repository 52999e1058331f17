//! The merchant certificate as PEM pair or PKCS#12, over real mutual TLS, and what happens
//! when it or the server's certificate is wrong.

use paysandbox_certs::CertificateAuthority;
use paysandbox_sdk::error::ConfigError;
use paysandbox_sdk::tls::Identity;
use paysandbox_sdk::wechat::{Client, Error, OrderId};

use crate::support::*;

#[tokio::test]
async fn refund_with_the_pem_pair() {
    let sandbox = start().await;
    let dir = merchant_dir(MCH);
    let client = Client::builder(MCH, APPID, KEY)
        .base_url(&sandbox.running.api_url)
        .extra_root_ca_file(&sandbox.running.ca_path)
        .merchant_pem_files(
            dir.join("apiclient_cert.pem"),
            dir.join("apiclient_key.pem"),
        )
        .build()
        .unwrap();
    client
        .refund(&refund("demo-order-0001", "cert-pem", 1000, 1))
        .await
        .unwrap();
}

#[tokio::test]
async fn refund_with_the_p12_and_its_default_password() {
    let sandbox = start().await;
    let p12 = merchant_dir(MCH).join("apiclient_cert.p12");
    // The password defaults to the mch_id, as WeChat issues the file.
    let client = Client::builder(MCH, APPID, KEY)
        .base_url(&sandbox.running.api_url)
        .extra_root_ca_file(&sandbox.running.ca_path)
        .merchant_p12_file(&p12)
        .build()
        .unwrap();
    client
        .refund(&refund("demo-order-0001", "cert-p12", 1000, 1))
        .await
        .unwrap();

    let explicit = sandbox
        .wechat_builder()
        .merchant_p12_file_with_password(&p12, MCH)
        .build()
        .unwrap();
    sandbox.advance(60).await;
    explicit
        .refund(&refund("demo-order-0001", "cert-p12-2", 1000, 1))
        .await
        .unwrap();

    let wrong = sandbox
        .wechat_builder()
        .merchant_p12_file_with_password(&p12, "not-the-password")
        .build()
        .unwrap_err();
    assert!(
        matches!(wrong, Error::Config(ConfigError::Pkcs12(_))),
        "{wrong:?}"
    );
    let identity = Identity::from_pkcs12_file(&p12, MCH).unwrap();
    assert_eq!(identity.certificate_chain().len(), 1);
    assert!(!format!("{identity:?}").contains("BEGIN"));
}

#[tokio::test]
async fn unreadable_certificate_files_fail_the_build() {
    let missing = Client::builder(MCH, APPID, KEY)
        .merchant_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem")
        .build()
        .unwrap_err();
    assert!(
        matches!(missing, Error::Config(ConfigError::Read { .. })),
        "{missing:?}"
    );
    let dir = merchant_dir(MCH);
    let swapped = Client::builder(MCH, APPID, KEY)
        .merchant_pem_files(
            dir.join("apiclient_key.pem"),
            dir.join("apiclient_cert.pem"),
        )
        .build()
        .unwrap_err();
    assert!(
        matches!(swapped, Error::Config(ConfigError::Pem(_))),
        "{swapped:?}"
    );
}

/// A certificate from another CA: the gateway (nginx in front of the real API) answers 400
/// with an HTML page; nothing was done.
#[tokio::test]
async fn an_untrusted_client_certificate_gets_the_gateways_400() {
    let sandbox = start().await;
    let foreign = CertificateAuthority::generate("Not the sandbox CA").unwrap();
    let cert = foreign.issue_merchant(MCH, "impostor").unwrap();
    let client = sandbox
        .wechat_builder()
        .identity(Identity::from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let e = client
        .refund(&refund("demo-order-0001", "cert-foreign", 1000, 1))
        .await
        .unwrap_err();
    match &e {
        Error::Http { status: 400, body } => {
            assert!(body.contains("The SSL certificate error"), "{body}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.is_retryable());
    assert!(sandbox.wechat_refunds().await.is_empty());
}

/// Without the sandbox CA the server certificate is not trusted: the handshake fails, nothing
/// is sent.
#[tokio::test]
async fn the_server_certificate_is_verified() {
    let sandbox = start().await;
    let dir = merchant_dir(MCH);
    let client = Client::builder(MCH, APPID, KEY)
        .base_url(&sandbox.running.api_url)
        .merchant_pem_files(
            dir.join("apiclient_cert.pem"),
            dir.join("apiclient_key.pem"),
        )
        .build()
        .unwrap();
    let e = client
        .order_query(&OrderId::OutTradeNo("demo-order-0001".into()))
        .await
        .unwrap_err();
    match &e {
        Error::Transport(t) => assert!(t.is_connect() && !t.maybe_delivered()),
        other => panic!("{other:?}"),
    }
    assert!(
        sandbox
            .admin_get("/admin/journal")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
}
