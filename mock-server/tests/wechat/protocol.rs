//! Protocol-level behaviour shared by every WeChat endpoint: method, body, XML, required
//! fields, signatures, merchant and appid, sign types, and the request styles of real clients.

use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::xml;
use serde_json::json;

use crate::support::*;

async fn raw(sandbox: &Sandbox, path: &str, body: &str) -> paysandbox_protocol::wechat::Params {
    let client = sandbox.https_client(ClientCert::Merchant(MCH));
    let (status, text) = sandbox.post_raw(&client, path, body.to_owned()).await;
    assert_eq!(status, 200, "{text}");
    xml::decode(text.as_bytes()).unwrap()
}

#[tokio::test]
async fn get_is_refused_with_require_post() {
    let sandbox = start().await;
    let client = sandbox.https_client(ClientCert::Merchant(MCH));
    let response = client
        .get(format!("{}/pay/refundquery", sandbox.running.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let params = xml::decode(response.text().await.unwrap().as_bytes()).unwrap();
    assert_protocol_fail(&params, "请使用post方法");
}

#[tokio::test]
async fn empty_body_malformed_xml_and_doctype_are_protocol_failures() {
    let sandbox = start().await;
    assert_protocol_fail(&raw(&sandbox, "/pay/refundquery", "").await, "post数据为空");
    assert_protocol_fail(
        &raw(&sandbox, "/pay/refundquery", "<xml><appid>").await,
        "XML格式错误",
    );
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><appid>&x;</appid></xml>"#;
    assert_protocol_fail(&raw(&sandbox, "/pay/refundquery", xxe).await, "XML格式错误");
    assert_protocol_fail(
        &raw(&sandbox, "/pay/refundquery", "<root><a>1</a></root>").await,
        "XML格式错误",
    );
}

#[tokio::test]
async fn non_utf8_body_is_refused() {
    let sandbox = start().await;
    let client = sandbox.https_client(ClientCert::Merchant(MCH));
    let body = b"<xml><body>\xc9\xcc\xc6\xb7</body></xml>".to_vec();
    let (_, text) = sandbox.post_raw(&client, "/pay/refundquery", body).await;
    assert_protocol_fail(
        &xml::decode(text.as_bytes()).unwrap(),
        "参数编码不是utf8编码",
    );
}

#[tokio::test]
async fn missing_required_field_is_lack_params() {
    let sandbox = start().await;
    let mut params = base();
    params.remove("nonce_str");
    params.insert_text("out_trade_no", "demo-order-0001");
    let response = sandbox.call("/pay/refundquery", params).await;
    assert_protocol_fail(&response, "缺少参数");
    // out_refund_no missing on a refund: a protocol failure too.
    let mut params = refund_params("demo-order-0001", "x", 1000, 1);
    params.remove("out_refund_no");
    assert_protocol_fail(
        &sandbox.call("/secapi/pay/refund", params).await,
        "缺少参数",
    );
}

#[tokio::test]
async fn wrong_signature_is_an_unsigned_sign_error() {
    let sandbox = start().await;
    let client = sandbox.https_client(ClientCert::Merchant(MCH));
    let mut params = signed(refund_params("demo-order-0001", "r1", 1000, 1), KEY);
    params.insert_text("refund_fee", "2");
    let (_, text) = sandbox
        .post_raw(&client, "/secapi/pay/refund", xml::encode(&params))
        .await;
    assert_protocol_fail(
        &xml::decode(text.as_bytes()).unwrap(),
        "签名错误,请检查后再试",
    );
    let response = sandbox
        .call_with(
            &client,
            "/secapi/pay/refund",
            refund_params("demo-order-0001", "r1", 1000, 1),
            &"0".repeat(32),
        )
        .await;
    assert_protocol_fail(&response, "签名错误,请检查后再试");
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
async fn invalid_sign_type_is_refused() {
    let sandbox = start().await;
    let mut params = refund_params("demo-order-0001", "r1", 1000, 1);
    params.insert_text("sign_type", "HMAC_SHA256");
    params.insert_text("sign", "00");
    let client = sandbox.https_client(ClientCert::Merchant(MCH));
    let (_, text) = sandbox
        .post_raw(&client, "/secapi/pay/refund", xml::encode(&params))
        .await;
    assert_protocol_fail(
        &xml::decode(text.as_bytes()).unwrap(),
        "sign_type参数格式错误",
    );
}

#[tokio::test]
async fn unknown_merchant_is_mchid_not_exist_unsigned() {
    let sandbox = start().await;
    let mut params = base();
    params.insert_text("mch_id", "1234567890");
    params.insert_text("out_trade_no", "demo-order-0001");
    let response = sandbox.call("/pay/refundquery", params).await;
    assert_eq!(response.get("return_code"), Some("SUCCESS"));
    assert_eq!(response.get("result_code"), Some("FAIL"));
    assert_eq!(response.get("err_code"), Some("MCHID_NOT_EXIST"));
    assert_eq!(response.get("mch_id"), Some("1234567890"));
    assert_eq!(response.get("sign"), None, "no key to sign with");
}

#[tokio::test]
async fn appid_not_bound_to_the_merchant_is_appid_not_exist() {
    let sandbox = start().await;
    let mut params = base();
    params.insert_text("appid", "wx0000000000000000");
    params.insert_text("out_trade_no", "demo-order-0001");
    let response = sandbox.call("/pay/refundquery", params).await;
    assert_eq!(response.get("err_code"), Some("APPID_NOT_EXIST"));
    assert_eq!(response.get("appid"), Some("wx0000000000000000"));
    assert!(sign::verify(&response, KEY, SignType::Md5));
}

#[tokio::test]
async fn hmac_requests_get_hmac_signed_responses() {
    let sandbox = start().await;
    let mut params = refund_params("demo-order-0001", "hmac-1", 1000, 100);
    params.insert_text("sign_type", "HMAC-SHA256");
    let response = sandbox.call("/secapi/pay/refund", params).await;
    assert_eq!(response.get("result_code"), Some("SUCCESS"), "{response:?}");
    assert_eq!(response.get("sign").map(str::len), Some(64));
    assert!(sign::verify(&response, KEY, SignType::HmacSha256));
    assert!(!sign::verify(&response, KEY, SignType::Md5));
    assert_eq!(
        response.get("sign_type"),
        None,
        "responses do not echo sign_type"
    );
}

#[tokio::test]
async fn ip_allow_list_is_noauth() {
    let sandbox = start().await;
    let (status, _) = sandbox
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/wechat/merchants/{MCH}"),
            Some(json!({ "ip_allowlist": ["10.1.2.3"] })),
        )
        .await;
    assert_eq!(status, 200);
    let response = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("demo-order-0001", "r1", 1000, 1),
        )
        .await;
    assert_business_error(&response, "NOAUTH", "请求IP不在商户IP白名单内");
    sandbox
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/wechat/merchants/{MCH}"),
            Some(json!({ "ip_allowlist": ["127.0.0.1"] })),
        )
        .await;
    let response = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("demo-order-0001", "r1", 1000, 1),
        )
        .await;
    assert_eq!(response.get("result_code"), Some("SUCCESS"));
}

/// What wechatpy sends: sorted keys, digits bare, strings in CDATA, sign last, no prolog.
#[tokio::test]
async fn wechatpy_style_request_is_accepted() {
    let sandbox = start().await;
    let params = signed(refund_params("demo-order-0002", "py-1", 8800, 100), KEY);
    let mut body = String::from("<xml>");
    let mut fields: Vec<(&str, &str)> = params.iter().filter(|(k, _)| *k != "sign").collect();
    fields.sort();
    for (k, v) in fields {
        if v.bytes().all(|b| b.is_ascii_digit()) {
            body += &format!("<{k}>{v}</{k}>");
        } else {
            body += &format!("<{k}><![CDATA[{v}]]></{k}>");
        }
    }
    body += &format!(
        "<sign><![CDATA[{}]]></sign></xml>",
        params.get("sign").unwrap()
    );
    let response = raw(&sandbox, "/secapi/pay/refund", &body).await;
    assert_eq!(response.get("result_code"), Some("SUCCESS"), "{response:?}");
}

/// What WxJava sends: XStream pretty printing, escaped text, a prolog-free document, a JSON
/// content type (sic); and gopay: random order with entity escaping and a prolog.
#[tokio::test]
async fn wxjava_and_gopay_style_requests_are_accepted() {
    let sandbox = start().await;
    let mut params = refund_params("demo-order-0002", "java-1", 8800, 100);
    params.insert_text("refund_desc", "退款 <test> & 'quotes'");
    params.insert_text("op_user_id", MCH);
    let params = signed(params, KEY);
    let mut body = String::from("<xml>\n");
    for (k, v) in params.iter() {
        let escaped = v
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        body += &format!("  <{k}>{escaped}</{k}>\n");
    }
    body += "</xml>";
    let client = sandbox.https_client(ClientCert::Merchant(MCH));
    let response = client
        .post(format!("{}/secapi/pay/refund", sandbox.running.api_url))
        .header("Content-Type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    let response = xml::decode(response.text().await.unwrap().as_bytes()).unwrap();
    assert_eq!(response.get("result_code"), Some("SUCCESS"), "{response:?}");

    let params = signed(refund_params("demo-order-0002", "go-1", 8800, 100), KEY);
    let mut fields: Vec<(&str, &str)> = params.iter().collect();
    fields.reverse();
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><xml>");
    for (k, v) in fields {
        body += &format!("<{k}>{v}</{k}>");
    }
    body += "</xml>";
    sandbox.advance(60).await;
    let response = raw(&sandbox, "/secapi/pay/refund", &body).await;
    assert_eq!(response.get("result_code"), Some("SUCCESS"), "{response:?}");
}

#[tokio::test]
async fn zero_is_a_signed_value_not_an_empty_one() {
    // wechatpy drops int 0 from its signature while sending it: the server must reject that.
    let sandbox = start().await;
    let mut params = base();
    params.insert_text("out_trade_no", "demo-order-0001");
    params.insert_text("offset", "0");
    let mut bad = params.clone();
    bad.remove("offset");
    let sign_without_zero = sign::sign(&bad, KEY, SignType::Md5);
    params.insert_text("sign", sign_without_zero);
    let client = sandbox.https_client(ClientCert::None);
    let (_, text) = sandbox
        .post_raw(&client, "/pay/refundquery", xml::encode(&params))
        .await;
    assert_protocol_fail(
        &xml::decode(text.as_bytes()).unwrap(),
        "签名错误,请检查后再试",
    );
}
