//! Platform identities (spec §1.8): certificate mode, public-key mode and the switch-over,
//! set through the admin API; `/v3/certificates`, encrypted with the APIv3 key.

use paysandbox_protocol::wechat::v3::aead::ApiV3Key;
use paysandbox_protocol::wechat::v3::messages::CertificatesResponse;

use crate::support::*;

async fn set_identity(sandbox: &Sandbox, identity: &str) -> Value {
    sandbox
        .admin_post(
            &format!("/admin/wechat/merchants/{MCH}/v3"),
            json!({ "identity": identity }),
        )
        .await
}

#[tokio::test]
async fn the_demo_merchant_is_switching_over_and_answers_follow_the_request_serial() {
    let sandbox = start().await;
    let files = V3Files::of(MCH);
    let view = sandbox
        .admin_get(&format!("/admin/wechat/merchants/{MCH}/v3"))
        .await;
    assert_eq!(view["identity"], "switch_over");
    assert_eq!(view["api_v3_key"], API_V3_KEY);
    assert_eq!(view["merchant_serial_no"], files.serial_no.as_str());
    assert_eq!(view["public_key_id"], files.public_key.0.as_str());

    let v3 = sandbox.v3_client();
    let by_certificate = v3.get("/v3/certificates").await;
    assert_eq!(
        by_certificate.verified_by.as_deref(),
        Some(files.certificate_serial())
    );
    let by_public_key = sandbox
        .v3_client()
        .with_wechatpay_serial(&files.public_key.0)
        .get("/v3/certificates")
        .await;
    assert_eq!(
        by_public_key.verified_by.as_deref(),
        Some(files.public_key.0.as_str())
    );
}

#[tokio::test]
async fn each_mode_signs_with_its_key_whatever_the_request_says() {
    let sandbox = start().await;
    let files = V3Files::of(MCH);
    let pub_key_client = sandbox
        .v3_client()
        .with_wechatpay_serial(&files.public_key.0);

    let view = set_identity(&sandbox, "certificate").await;
    assert_eq!(view["identity"], "certificate");
    let answer = pub_key_client.get("/v3/certificates").await;
    assert_eq!(
        answer.verified_by.as_deref(),
        Some(files.certificate_serial())
    );

    set_identity(&sandbox, "public_key").await;
    let answer = sandbox
        .v3_client()
        .get(&format!(
            "/v3/pay/transactions/out-trade-no/demo-order-0001?mchid={MCH}"
        ))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.verified_by.as_deref(),
        Some(files.public_key.0.as_str())
    );
    // No platform certificates to list in public-key mode.
    pub_key_client
        .get("/v3/certificates")
        .await
        .assert_error(403, "NO_AUTH");

    let (status, body) = sandbox
        .admin(
            reqwest::Method::POST,
            &format!("/admin/wechat/merchants/{MCH}/v3"),
            Some(json!({ "identity": "both" })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn certificates_decrypt_with_the_api_v3_key_to_the_files() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let answer = v3.get("/v3/certificates?algorithm_type=RSA").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let list: CertificatesResponse = serde_json::from_str(&answer.body).unwrap();
    let view = sandbox
        .admin_get(&format!("/admin/wechat/merchants/{MCH}/v3"))
        .await;
    assert_eq!(
        list.data.len(),
        view["platform_certificates"].as_array().unwrap().len()
    );
    let key = ApiV3Key::new(API_V3_KEY).unwrap();
    for (listed, file) in list
        .data
        .iter()
        .zip(view["platform_certificates"].as_array().unwrap())
    {
        assert_eq!(listed.serial_no, file["serial_no"].as_str().unwrap());
        assert_eq!(listed.encrypt_certificate.associated_data, "certificate");
        assert_eq!(listed.encrypt_certificate.nonce.len(), 12);
        assert!(listed.effective_time.ends_with("+08:00"));
        let pem = listed.certificate_pem(&key).unwrap();
        let on_disk = std::fs::read_to_string(file["path"].as_str().unwrap()).unwrap();
        assert_eq!(pem, on_disk);
    }
    let sm2 = v3.get("/v3/certificates?algorithm_type=SM2").await;
    assert_eq!(sm2.json, json!({ "data": [] }));
    let bad = v3.get("/v3/certificates?algorithm_type=DSA").await;
    assert_eq!(
        bad.assert_error(400, "PARAM_ERROR")["detail"]["location"],
        "query"
    );

    // A new key: the old one no longer opens the listing.
    let new_key = "0123456789abcdef0123456789abcdef";
    sandbox
        .admin_post(
            &format!("/admin/wechat/merchants/{MCH}/v3"),
            json!({ "api_v3_key": new_key }),
        )
        .await;
    let answer = v3.get("/v3/certificates").await;
    let list: CertificatesResponse = serde_json::from_str(&answer.body).unwrap();
    assert!(list.data[0].certificate_pem(&key).is_err());
    assert!(
        list.data[0]
            .certificate_pem(&ApiV3Key::new(new_key).unwrap())
            .is_ok()
    );
}

#[tokio::test]
async fn a_new_merchant_is_in_public_key_mode_with_its_own_files() {
    let sandbox = start().await;
    sandbox
        .admin_client()
        .create_merchant(
            "1900000777",
            json!({ "appids": ["wx1234567890abcdef"], "api_key": "k".repeat(32) }),
        )
        .await
        .unwrap();
    let view = sandbox
        .admin_get("/admin/wechat/merchants/1900000777/v3")
        .await;
    assert_eq!(view["identity"], "public_key");
    assert_eq!(view["api_v3_key"], Value::Null);
    let public_key_id = view["public_key_id"].as_str().unwrap();
    assert!(
        public_key_id.starts_with("PUB_KEY_ID_01"),
        "{public_key_id}"
    );
    let v3 = sandbox.v3_client_for("1900000777");
    let answer = v3
        .get("/v3/pay/transactions/out-trade-no/none?mchid=1900000777")
        .await;
    answer.assert_error(404, "ORDER_NOT_EXIST");
    sandbox
        .admin_post(
            "/admin/wechat/merchants/1900000777/v3",
            json!({ "identity": "certificate" }),
        )
        .await;
    v3.get("/v3/certificates")
        .await
        .assert_error(403, "NO_AUTH");
}

#[tokio::test]
async fn the_v3_settings_round_trip_through_a_scenario() {
    use paysandbox_mock_server::scenario::{Format, Scenario};
    use paysandbox_mock_server::state::AppState;
    let sandbox = start().await;
    sandbox
        .admin_post(
            &format!("/admin/wechat/merchants/{MCH}/v3"),
            json!({ "identity": "certificate", "api_v3_key": "abcdefghijabcdefghijabcdefghij12" }),
        )
        .await;
    let exported = sandbox.export_scenario("toml").await;
    assert!(
        exported.contains("v3_identity = \"certificate\""),
        "{exported}"
    );
    assert!(exported.contains("api_v3_key = \"abcdefghijabcdefghijabcdefghij12\""));
    let scenario = Scenario::parse(&exported, Format::Toml, "exported").unwrap();
    let state = AppState::new(paysandbox_testkit::sandbox::frozen_config(data_dir())).unwrap();
    state.load(&scenario).unwrap();
    let merchant = state.world().wechat.merchant(MCH).cloned().unwrap();
    assert_eq!(merchant.v3_identity.as_str(), "certificate");
    assert_eq!(
        merchant.api_v3_key.as_deref(),
        Some("abcdefghijabcdefghijabcdefghij12")
    );
    let again = state.scenario();
    assert_eq!(again.wechat.merchants, scenario.wechat.merchants);
}
