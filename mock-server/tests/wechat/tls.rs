//! Certificates on `/secapi/`: what nginx answers before the application, and CERT_ERROR.

use paysandbox_certs::CertificateAuthority;
use paysandbox_protocol::wechat::xml;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn refund_without_a_certificate_gets_nginx_400() {
    let sandbox = start().await;
    let client = sandbox.https_client(ClientCert::None);
    let body = xml::encode(&signed(
        refund_params("demo-order-0001", "r1", 1000, 1),
        KEY,
    ));
    let (status, page) = sandbox.post_raw(&client, "/secapi/pay/refund", body).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("<title>400 No required SSL certificate was sent</title>"),
        "{page}"
    );
    assert!(page.contains("<hr><center>nginx</center>"));
    assert!(
        sandbox
            .running
            .state
            .world()
            .wechat
            .refunds(None)
            .next()
            .is_none()
    );
}

#[tokio::test]
async fn refund_with_a_certificate_from_another_ca_gets_nginx_400() {
    let sandbox = start().await;
    let foreign = CertificateAuthority::generate("Not the sandbox CA").unwrap();
    let cert = foreign.issue_merchant(MCH, "impostor").unwrap();
    let client = sandbox.https_client(ClientCert::Pem(cert.cert_pem, cert.key_pem));
    let body = xml::encode(&signed(
        refund_params("demo-order-0001", "r1", 1000, 1),
        KEY,
    ));
    let (status, page) = sandbox.post_raw(&client, "/secapi/pay/refund", body).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("<title>400 The SSL certificate error</title>"),
        "{page}"
    );
}

#[tokio::test]
async fn refund_with_another_merchants_certificate_is_cert_error() {
    let sandbox = start().await;
    sandbox
        .admin_post(
            "/admin/wechat/merchants",
            json!({ "mch_id": "1900000110", "appids": ["wxd930ea5d5a258f4f"], "api_key": "k".repeat(32) }),
        )
        .await;
    let client = sandbox.https_client(ClientCert::Merchant("1900000110"));
    let response = sandbox
        .call_with(
            &client,
            "/secapi/pay/refund",
            refund_params("demo-order-0001", "r1", 1000, 1),
            KEY,
        )
        .await;
    assert_business_error(&response, "CERT_ERROR", "商户号与API证书不匹配");
}

#[tokio::test]
async fn refund_query_needs_no_certificate() {
    let sandbox = start().await;
    let client = sandbox.https_client(ClientCert::None);
    let mut params = base();
    params.insert_text("out_trade_no", "demo-order-0001");
    let response = sandbox
        .call_with(&client, "/pay/refundquery", params, KEY)
        .await;
    assert_business_error(&response, "REFUNDNOTEXIST", "not exist");
}

#[tokio::test]
async fn unknown_paths_get_nginx_404() {
    let sandbox = start().await;
    let client = sandbox.https_client(ClientCert::Merchant(MCH));
    let (status, page) = sandbox.post_raw(&client, "/pay/refund", "<xml/>").await;
    assert_eq!(status, 404);
    assert!(page.contains("<title>404 Not Found</title>"), "{page}");
}

#[tokio::test]
async fn refund_over_plain_http_is_treated_as_no_certificate() {
    let sandbox = start().await;
    let body = xml::encode(&signed(
        refund_params("demo-order-0001", "r1", 1000, 1),
        KEY,
    ));
    let response = http_client()
        .post(format!("{}/secapi/pay/refund", sandbox.running.http_url))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("No required SSL certificate was sent")
    );
}
