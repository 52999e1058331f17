//! Authentication (spec §1.8): every failure is 401 SIGN_ERROR in the observed shape, with the
//! truncated copy of the message the server built once the header could be read.

use paysandbox_protocol::wechat::v3::auth::sign_request;
use reqwest::Method;

use crate::support::*;

#[tokio::test]
async fn a_missing_header_is_sign_error_without_sign_information() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let extra = Extra {
        authorization: Some(String::new()),
        ..Extra::default()
    };
    let answer = v3
        .send(Method::GET, "/v3/certificates", Vec::new(), extra)
        .await;
    let body = answer.assert_error(401, "SIGN_ERROR");
    assert_eq!(body["message"], "错误的签名，验签失败");
    assert_eq!(body["detail"]["field"], "authorization");
    assert_eq!(body["detail"]["location"], "authorization");
    assert!(body["detail"]["detail"]["issue"].is_string());
    assert!(body["detail"].get("sign_information").is_none());
}

#[tokio::test]
async fn a_broken_header_names_the_part_at_fault() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let extra = Extra {
        authorization: Some(format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"{MCH}\",nonce_str=\"abc\",timestamp=\"1\",signature=\"AA==\""
        )),
        ..Extra::default()
    };
    let answer = v3
        .send(Method::GET, "/v3/certificates", Vec::new(), extra)
        .await;
    let body = answer.assert_error(401, "SIGN_ERROR");
    assert_eq!(body["detail"]["field"], "serial_no");
}

#[tokio::test]
async fn a_signature_over_other_bytes_echoes_the_message_the_server_built() {
    let sandbox = start().await;
    sandbox.seed_order("v3-auth-0001", 1000, json!({})).await;
    let v3 = sandbox.v3_client();
    let sent = refund_body("v3-auth-0001", "v3-auth-r1", 1000, 100).to_string();
    let extra = Extra {
        signed_body: Some(b"{}".to_vec()),
        ..Extra::default()
    };
    let answer = v3
        .send(Method::POST, REFUNDS, sent.clone().into_bytes(), extra)
        .await;
    let body = answer.assert_error(401, "SIGN_ERROR");
    let detail = &body["detail"];
    assert_eq!(detail["field"], "signature");
    assert_eq!(detail["location"], "authorization");
    assert_eq!(detail["detail"]["issue"], "sign not match");
    let info = &detail["sign_information"];
    assert_eq!(info["method"], "POST");
    assert_eq!(info["url"], REFUNDS);
    let message = info["truncated_sign_message"].as_str().unwrap();
    assert!(
        message.starts_with("POST\n/v3/refund/domestic/refunds\n"),
        "{message}"
    );
    // Method, URL, timestamp, nonce (32) and body, each with its newline.
    let timestamp_len = message.split('\n').nth(2).unwrap().len();
    assert_eq!(
        info["sign_message_length"],
        5 + 4 + REFUNDS.len() + timestamp_len + 32 + sent.len()
    );
    // Nothing reached the ledger.
    assert!(sandbox.wechat_refunds().await.is_empty());
}

#[tokio::test]
async fn the_query_string_is_signed_as_sent() {
    let sandbox = start().await;
    sandbox.seed_order("v3-auth-0002", 1000, json!({})).await;
    let v3 = sandbox.v3_client();
    let url = format!("/v3/pay/transactions/out-trade-no/v3-auth-0002?mchid={MCH}");
    let ok = v3.get(&url).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let now = paysandbox_mock_server::clock::system_millis() / 1000;
    let extra = Extra {
        authorization: Some(v3.authorization(
            "GET",
            "/v3/pay/transactions/out-trade-no/v3-auth-0002",
            now,
            b"",
        )),
        ..Extra::default()
    };
    let answer = v3.send(Method::GET, &url, Vec::new(), extra).await;
    let body = answer.assert_error(401, "SIGN_ERROR");
    assert_eq!(body["detail"]["sign_information"]["url"], url);
}

#[tokio::test]
async fn a_timestamp_more_than_300_s_off_the_wall_clock_is_refused() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let now = paysandbox_mock_server::clock::system_millis() / 1000;
    for (offset, accepted) in [(-290, true), (290, true), (-310, false), (310, false)] {
        let extra = Extra {
            timestamp: Some(now + offset),
            ..Extra::default()
        };
        let answer = v3
            .send(Method::GET, "/v3/certificates", Vec::new(), extra)
            .await;
        if accepted {
            assert_eq!(answer.status, 200, "{offset}: {}", answer.body);
        } else {
            let body = answer.assert_error(401, "SIGN_ERROR");
            assert_eq!(body["detail"]["field"], "timestamp", "{offset}");
        }
    }
    // The sandbox clock does not matter: a day later, wall-clock signatures still pass.
    sandbox.advance(86_400).await;
    assert_eq!(v3.get("/v3/certificates").await.status, 200);
}

#[tokio::test]
async fn the_serial_must_name_the_api_certificate_and_the_merchant_must_exist() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let files = V3Files::of(MCH);
    let now = paysandbox_mock_server::clock::system_millis() / 1000;
    let header = |mchid: &str, serial: &str| {
        sign_request(
            &files.key,
            mchid,
            serial,
            "GET",
            "/v3/certificates",
            now,
            "0123456789ABCDEF0123456789ABCDEF",
            b"",
        )
        .unwrap()
        .to_header_value()
    };
    let wrong_serial = Extra {
        authorization: Some(header(MCH, files.certificate_serial())),
        ..Extra::default()
    };
    let answer = v3
        .send(Method::GET, "/v3/certificates", Vec::new(), wrong_serial)
        .await;
    let body = answer.assert_error(401, "SIGN_ERROR");
    assert_eq!(body["detail"]["field"], "serial_no");

    // The serial is hex: either case names the certificate.
    let lower = Extra {
        authorization: Some(header(MCH, &files.serial_no.to_ascii_lowercase())),
        ..Extra::default()
    };
    let answer = v3
        .send(Method::GET, "/v3/certificates", Vec::new(), lower)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let unknown = Extra {
        authorization: Some(header("1900009999", &files.serial_no)),
        ..Extra::default()
    };
    let answer = v3
        .send(Method::GET, "/v3/certificates", Vec::new(), unknown)
        .await;
    answer.assert_error(404, "MCH_NOT_EXISTS");
}

#[tokio::test]
async fn the_plain_http_listener_serves_v3_too_and_unknown_paths_are_nginx_404() {
    let sandbox = start().await;
    let answer = http_client()
        .get(format!("{}/v3/certificates", sandbox.running.http_url))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert!(answer.headers().get("request-id").is_some());
    let answer = http_client()
        .get(format!("{}/v3/no/such/path", sandbox.running.http_url))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    assert!(answer.text().await.unwrap().contains("nginx"));
}

#[tokio::test]
async fn every_exchange_is_in_the_journal() {
    let sandbox = start().await;
    sandbox.seed_order("v3-auth-0003", 1000, json!({})).await;
    let v3 = sandbox.v3_client();
    let answer = v3
        .post(
            REFUNDS,
            &refund_body("v3-auth-0003", "v3-auth-r3", 1000, 100),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let entries = sandbox.journal_of(REFUNDS).await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry["status"], 200);
    assert_eq!(entry["outcome"], "SUCCESS");
    assert_eq!(entry["merchant"], MCH);
    assert_eq!(sent(entry, "out_refund_no"), Some("v3-auth-r3"));
    assert_eq!(entry["response"], answer.body);
}
