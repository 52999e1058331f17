//! `/gateway.do`: transports (GET, query+body, body only, plain HTTP, absolute-form request
//! line), the common-parameter checks, signatures both ways, and the unsigned answers.

use paysandbox_protocol::alipay::{SignType, encode_urlencoded, parse_envelope};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

const QUERY: &str = "alipay.trade.query";
const REFUND: &str = "alipay.trade.refund";

fn query_biz() -> serde_json::Value {
    json!({ "out_trade_no": "demo-trade-0002" })
}

#[tokio::test]
async fn every_placement_on_both_listeners_is_answered_and_signed() {
    let sandbox = start().await;
    let params = alipay_signed(QUERY, &query_biz());
    for base in [&sandbox.running.api_url, &sandbox.running.http_url] {
        for placement in [Placement::Get, Placement::Split, Placement::Body] {
            let (status, content_type, body) = sandbox.alipay_raw(base, placement, &params).await;
            assert_eq!(status, 200, "{base} {placement:?}: {body}");
            assert_eq!(content_type, "text/html;charset=utf-8");
            let node = verified(&body, QUERY);
            assert_eq!(node["code"], "10000", "{placement:?}");
            assert_eq!(node["trade_status"], "TRADE_SUCCESS");
            assert_eq!(node["total_amount"], "88.88");
        }
    }
}

#[tokio::test]
async fn compact_envelope_node_first_then_sign_and_fields_in_gateway_order() {
    let sandbox = start().await;
    let params = alipay_signed(
        REFUND,
        &json!({"out_trade_no": "demo-trade-0002", "refund_amount": "1.00", "out_request_no": "o1"}),
    );
    let (_, _, body) = sandbox
        .alipay_raw(&sandbox.running.api_url, Placement::Split, &params)
        .await;
    assert!(
        body.starts_with(
            r#"{"alipay_trade_refund_response":{"code":"10000","msg":"Success","buyer_logon_id":"#
        ),
        "{body}"
    );
    let env = parse_envelope(&body, REFUND).unwrap();
    assert!(
        body.contains(&format!("{},\"sign\":\"", env.node)),
        "{body}"
    );
    assert!(body.ends_with("\"}"));
    assert!(
        !body.contains(": ") && !body.contains(", ") && !body.contains('\n'),
        "compact: {body}"
    );
    assert_eq!(
        env.sign.unwrap().len(),
        344,
        "2048-bit RSA2 signature in base64"
    );
    // Signed with the platform key, not the app key.
    let app_public = paysandbox_protocol::alipay::parse_public_key(
        &std::fs::read_to_string(&alipay_files().app_public_key_path).unwrap(),
    )
    .unwrap();
    assert!(
        paysandbox_protocol::alipay::verify_response(&body, REFUND, &app_public, SignType::Rsa2)
            .is_err()
    );
}

#[tokio::test]
async fn rsa_sha1_requests_get_sha1_signed_answers() {
    let sandbox = start().await;
    let mut params = alipay_unsigned(QUERY, &query_biz());
    for (k, v) in &mut params {
        if k == "sign_type" {
            *v = "RSA".into();
        }
    }
    alipay_sign_with(&mut params, app_private_key());
    let (_, _, body) = sandbox
        .alipay_raw(&sandbox.running.http_url, Placement::Body, &params)
        .await;
    let node = verified_as(&body, QUERY, SignType::Rsa);
    assert_eq!(node["code"], "10000");
    let sha256 = paysandbox_protocol::alipay::verify_response(
        &body,
        QUERY,
        &alipay_public_key(),
        SignType::Rsa2,
    );
    assert!(
        sha256.is_err(),
        "the answer follows the request's sign_type"
    );
}

#[tokio::test]
async fn bad_signature_echoes_the_gateways_string_to_sign_signed() {
    let sandbox = start().await;
    let mut params = alipay_unsigned(QUERY, &query_biz());
    let other = paysandbox_certs::generate_rsa_keypair(2048).unwrap();
    let other = paysandbox_protocol::alipay::parse_private_key(&other.private_pkcs1_pem).unwrap();
    alipay_sign_with(&mut params, &other);
    for placement in [Placement::Get, Placement::Split, Placement::Body] {
        let (status, _, body) = sandbox
            .alipay_raw(&sandbox.running.api_url, placement, &params)
            .await;
        assert_eq!(status, 200);
        let node = verified(&body, QUERY);
        assert_eq!(node["code"], "40002");
        assert_eq!(node["msg"], "Invalid Arguments");
        assert_eq!(node["sub_code"], "isv.invalid-signature");
        assert_eq!(
            node["sub_msg"],
            "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：\
             app_id=2021000000000001&amp;biz_content={&quot;out_trade_no&quot;:&quot;demo-trade-0002&quot;}\
             &amp;charset=utf-8&amp;format=json&amp;method=alipay.trade.query&amp;sign_type=RSA2\
             &amp;timestamp=2023-11-15 06:13:20&amp;version=1.0"
        );
    }
}

#[tokio::test]
async fn a_plus_sent_unencoded_in_the_query_breaks_the_signature_and_2b_does_not() {
    let sandbox = start().await;
    // Find a signature with a '+' (about 1 in 3 biz_contents give one).
    let (params, sign) = (0..200)
        .find_map(|i| {
            let params = alipay_signed(QUERY, &json!({"out_trade_no": "demo-trade-0002", "n": i}));
            let sign = params.last().unwrap().1.clone();
            sign.contains('+').then_some((params, sign))
        })
        .unwrap();
    let without: Vec<_> = params
        .iter()
        .filter(|(k, _)| k != "sign")
        .cloned()
        .collect();
    let raw = format!("{}&sign={sign}", encode_urlencoded(&without));
    let client = http_client();
    let base = format!("{}/gateway.do", sandbox.running.http_url);
    let body = client
        .get(format!("{base}?{raw}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(verified(&body, QUERY)["sub_code"], "isv.invalid-signature");
    let (_, _, body) = sandbox
        .alipay_raw(&sandbox.running.http_url, Placement::Get, &params)
        .await;
    assert_eq!(verified(&body, QUERY)["code"], "10000");
}

#[tokio::test]
async fn empty_parameters_and_empty_biz_fields_are_absent() {
    // smartwalle sends "refund_reason":"","out_request_no":"" and some clients notify_url="".
    let sandbox = start().await;
    let mut params = alipay_unsigned(
        REFUND,
        &json!({"out_trade_no": "demo-trade-0001", "refund_amount": "100.00",
                "refund_reason": "", "out_request_no": ""}),
    );
    params.push(("notify_url".into(), String::new()));
    alipay_sign_with(&mut params, app_private_key());
    let (_, _, body) = sandbox
        .alipay_raw(&sandbox.running.api_url, Placement::Body, &params)
        .await;
    let node = verified(&body, REFUND);
    assert_eq!(node["code"], "10000", "{node}");
    assert_eq!(node["fund_change"], "Y");
    assert_eq!(node["refund_fee"], "100.00");
    // No out_request_no: the refund's number is the out_trade_no.
    let query = sandbox
        .alipay(
            "alipay.trade.fastpay.refund.query",
            json!({"out_trade_no": "demo-trade-0001", "out_request_no": "demo-trade-0001"}),
        )
        .await;
    assert_eq!(query["refund_amount"], "100.00");
}

#[tokio::test]
async fn gopay_charset_in_url_and_body_counts_once_two_values_are_refused() {
    let sandbox = start().await;
    let params = alipay_signed(QUERY, &query_biz());
    let client = http_client();
    let url = |q: &str| format!("{}/gateway.do?{q}", sandbox.running.http_url);
    let send = |q: &'static str| {
        client
            .post(url(q))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode_urlencoded(&params))
            .send()
    };
    let body = send("charset=utf-8").await.unwrap().text().await.unwrap();
    assert_eq!(verified(&body, QUERY)["code"], "10000");
    let body = send("charset=GBK").await.unwrap().text().await.unwrap();
    let node = verified(&body, QUERY);
    assert_eq!(node["code"], "40002");
    assert_eq!(node["sub_code"], "isv.invalid-parameter");
    assert_eq!(node["sub_msg"], "参数无效");
}

#[tokio::test]
async fn absolute_form_request_line_as_py_official_sends_it() {
    let sandbox = start().await;
    let params = alipay_signed(QUERY, &query_biz());
    let (query, body): (Vec<_>, Vec<_>) = params.into_iter().partition(|(k, _)| k != "biz_content");
    let authority = sandbox.running.http_url.trim_start_matches("http://");
    let body = encode_urlencoded(&body);
    let request = format!(
        "POST http://{authority}/gateway.do?{} HTTP/1.1\r\nHost: {authority}\r\n\
         Content-Type: application/x-www-form-urlencoded;charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        encode_urlencoded(&query),
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    assert_eq!(verified(body, QUERY)["trade_status"], "TRADE_SUCCESS");
}

#[tokio::test]
async fn missing_or_unknown_method_is_an_unsigned_error_response() {
    let sandbox = start().await;
    let mut params = alipay_signed(QUERY, &query_biz());
    params.retain(|(k, _)| k != "method");
    let (status, _, body) = sandbox
        .alipay_raw(&sandbox.running.http_url, Placement::Get, &params)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        r#"{"error_response":{"code":"40001","msg":"Missing Required Arguments","sub_code":"isv.missing-method","sub_msg":"缺少方法名参数"}}"#
    );
    let params = alipay_signed("alipay.trade.pay", &query_biz());
    let (_, _, body) = sandbox
        .alipay_raw(&sandbox.running.http_url, Placement::Get, &params)
        .await;
    assert_eq!(
        body,
        r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-method","sub_msg":"不存在的方法名"}}"#
    );
    // The bare gateway URL.
    let body = http_client()
        .get(format!("{}/gateway.do", sandbox.running.http_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        json_body(&body)["error_response"]["sub_code"],
        "isv.missing-method"
    );
}

#[tokio::test]
async fn unknown_app_id_is_unsigned_under_the_method_node() {
    let sandbox = start().await;
    let mut params = alipay_signed(QUERY, &query_biz());
    for (k, v) in &mut params {
        if k == "app_id" {
            *v = "2021999999999999".into();
        }
    }
    let (_, _, body) = sandbox
        .alipay_raw(&sandbox.running.api_url, Placement::Split, &params)
        .await;
    assert_eq!(
        body,
        r#"{"alipay_trade_query_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id","sub_msg":"无效的AppID参数"}}"#
    );
    // No app_id at all: the method node, unsigned too.
    params.retain(|(k, _)| k != "app_id");
    let (_, _, body) = sandbox
        .alipay_raw(&sandbox.running.http_url, Placement::Get, &params)
        .await;
    assert_eq!(
        body,
        r#"{"alipay_trade_query_response":{"code":"40001","msg":"Missing Required Arguments","sub_code":"isv.missing-app-id","sub_msg":"缺少appId参数"}}"#
    );
}

#[tokio::test]
async fn common_parameter_errors_of_a_known_app_are_signed() {
    let sandbox = start().await;
    let cases: [(&str, Option<&str>, &str, &str, &str); 7] = [
        (
            "sign",
            None,
            "40001",
            "isv.missing-signature",
            "缺少签名参数",
        ),
        (
            "timestamp",
            None,
            "40001",
            "isv.missing-timestamp",
            "缺少时间戳参数",
        ),
        (
            "timestamp",
            Some("2023/11/15 06:13:20"),
            "40002",
            "isv.invalid-timestamp",
            "非法的时间戳参数",
        ),
        (
            "version",
            None,
            "40001",
            "isv.missing-version",
            "缺少版本参数",
        ),
        (
            "sign_type",
            Some("RSA256"),
            "40002",
            "isv.invalid-signature-type",
            "无效的签名类型",
        ),
        (
            "charset",
            Some("latin1"),
            "40002",
            "isv.invalid-charset",
            "字符集错误",
        ),
        (
            "format",
            Some("xml"),
            "40002",
            "isv.invalid-format",
            "无效的数据格式",
        ),
    ];
    for (key, value, code, sub_code, sub_msg) in cases {
        let mut params = alipay_signed(QUERY, &query_biz());
        match value {
            None => params.retain(|(k, _)| k != key),
            Some(value) => {
                for (k, v) in &mut params {
                    if k == key {
                        *v = value.into();
                    }
                }
            }
        }
        let (_, _, body) = sandbox
            .alipay_raw(&sandbox.running.http_url, Placement::Split, &params)
            .await;
        let node = verified(&body, QUERY);
        assert_eq!(node["code"], code, "{key}: {node}");
        assert_eq!(node["sub_code"], sub_code, "{key}");
        assert_eq!(node["sub_msg"], sub_msg, "{key}");
    }
    // `format` absent (fzlee, node) or upper case (smartwalle) is fine.
    for format in [None, Some("JSON")] {
        let mut params = alipay_unsigned(QUERY, &query_biz());
        params.retain(|(k, _)| k != "format");
        if let Some(f) = format {
            params.push(("format".into(), f.into()));
        }
        alipay_sign_with(&mut params, app_private_key());
        let (_, _, body) = sandbox
            .alipay_raw(&sandbox.running.http_url, Placement::Get, &params)
            .await;
        assert_eq!(verified(&body, QUERY)["code"], "10000");
    }
}

#[tokio::test]
async fn undecodable_parameters_are_refused_before_anything_else() {
    let sandbox = start().await;
    let params = alipay_signed(QUERY, &query_biz());
    let (query, _): (Vec<_>, Vec<_>) = params.into_iter().partition(|(k, _)| k != "biz_content");
    let url = format!(
        "{}/gateway.do?{}",
        sandbox.running.http_url,
        encode_urlencoded(&query)
    );
    let client = http_client();
    for (body, sub_code, sub_msg) in [
        ("biz_content=%FF%FE", "isv.invalid-charset", "字符集错误"),
        ("biz_content=%G1", "isv.invalid-parameter", "参数无效"),
    ] {
        let text = client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // The query named the method and a known app: method node, signed.
        let node = verified(&text, QUERY);
        assert_eq!(node["code"], "40002");
        assert_eq!(node["sub_code"], sub_code);
        assert_eq!(node["sub_msg"], sub_msg);
    }
    // Nothing readable at all: error_response, unsigned.
    let text = client
        .post(format!("{}/gateway.do", sandbox.running.http_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("method=%FF")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        text,
        r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-charset","sub_msg":"字符集错误"}}"#
    );
}

#[tokio::test]
async fn app_auth_token_must_be_one_the_app_accepts() {
    let sandbox = start().await;
    let mut params = alipay_unsigned(QUERY, &query_biz());
    params.push((
        "app_auth_token".into(),
        "201611BB8xxxxxxxxxxxxxxxxxxxedcecde6".into(),
    ));
    alipay_sign_with(&mut params, app_private_key());
    let (_, _, body) = sandbox
        .alipay_raw(&sandbox.running.http_url, Placement::Split, &params)
        .await;
    let node = verified(&body, QUERY);
    assert_eq!(node["code"], "20001");
    assert_eq!(node["msg"], "Insufficient Token Permissions");
    assert_eq!(node["sub_code"], "aop.invalid-app-auth-token");
    assert_eq!(node["sub_msg"], "无效的应用授权令牌");
}

#[tokio::test]
async fn missing_or_malformed_biz_content_is_acq_invalid_parameter() {
    let sandbox = start().await;
    let mut params = alipay_unsigned(QUERY, &query_biz());
    params.retain(|(k, _)| k != "biz_content");
    alipay_sign_with(&mut params, app_private_key());
    let (_, _, body) = sandbox
        .alipay_raw(&sandbox.running.http_url, Placement::Get, &params)
        .await;
    assert_acq(
        &verified(&body, QUERY),
        "ACQ.INVALID_PARAMETER",
        "参数无效：参数格式错误",
    );
    let node = sandbox.alipay(QUERY, json!({"trade_no": {"a": 1}})).await;
    assert_acq(&node, "ACQ.INVALID_PARAMETER", "参数无效");
    let node = sandbox.alipay(QUERY, json!({})).await;
    assert_acq(&node, "ACQ.INVALID_PARAMETER", "参数无效");
}

#[tokio::test]
async fn other_http_methods_get_nginx_405_and_the_journal_records_alipay_calls() {
    let sandbox = start().await;
    let response = http_client()
        .put(format!("{}/gateway.do", sandbox.running.http_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<center>nginx</center>")
    );

    sandbox.alipay(QUERY, query_biz()).await;
    let (_, journal) = sandbox
        .admin(reqwest::Method::GET, "/admin/journal?limit=1", None)
        .await;
    let entry = &journal[0];
    assert_eq!(entry["path"], "/gateway.do");
    assert_eq!(entry["method"], "POST");
    assert_eq!(entry["merchant"], ALIPAY_APP);
    assert_eq!(entry["outcome"], "SUCCESS");
    assert!(
        entry["response"]
            .as_str()
            .unwrap()
            .starts_with("{\"alipay_trade_query_response\"")
    );
}
