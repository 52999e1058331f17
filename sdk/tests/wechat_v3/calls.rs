//! Each call: the request it signs (method, URL, body, headers) and the answer it returns.

use base64::Engine as _;
use paysandbox_protocol::rsa::Hash;
use paysandbox_protocol::wechat::v3::identity::IdentityMode;
use paysandbox_protocol::wechat::v3::oaep;
use paysandbox_sdk::wechat::v3::{
    AbnormalRefund, AbnormalRefundTarget, OrderId, PrepayRequest, RefundRequest, RefundStatus,
    TradeState,
};
use serde_json::json;

use crate::support::*;

fn refund_request(out_refund_no: &str) -> RefundRequest {
    RefundRequest::builder()
        .out_trade_no("demo-order-0001")
        .out_refund_no(out_refund_no)
        .refund(250)
        .total(1000)
        .build()
        .unwrap()
}

#[tokio::test]
async fn refund_posts_the_checked_body_and_returns_the_verified_refund() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([Answer::json(200, refund_json("R-1|a*b@c", "PROCESSING"))]);
    let client = platform.certificate_client();
    let refund = client.refund(&refund_request("R-1|a*b@c")).await.unwrap();
    assert_eq!(refund.out_refund_no, "R-1|a*b@c");
    assert_eq!(refund.refund_status(), Some(RefundStatus::Processing));
    assert_eq!(refund.amount.refund, 250);

    let seen = platform.seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "/v3/refund/domestic/refunds");
    assert_eq!(
        request.json(),
        json!({"out_trade_no": "demo-order-0001", "out_refund_no": "R-1|a*b@c",
               "amount": {"refund": 250, "total": 1000, "currency": "CNY"}})
    );
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    assert_eq!(request.accept.as_deref(), Some("application/json"));
    assert_eq!(request.authorization.mchid, MCHID);
    assert_eq!(
        request.authorization.serial_no,
        keys().files.merchant_serial_no
    );
    assert_eq!(request.authorization.nonce_str.len(), 32);
    assert_eq!(
        request.wechatpay_serial.as_deref(),
        Some(keys().certificate_serial())
    );
}

#[tokio::test]
async fn refund_query_gets_the_refund_by_its_number_without_a_body() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([Answer::json(200, refund_json("R-2", "SUCCESS"))]);
    let refund = platform
        .certificate_client()
        .refund_query("R-2")
        .await
        .unwrap();
    assert_eq!(refund.refund_status(), Some(RefundStatus::Success));
    let seen = platform.seen();
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].url, "/v3/refund/domestic/refunds/R-2");
    assert!(seen[0].body.is_empty());
    assert_eq!(seen[0].content_type, None);
}

#[tokio::test]
async fn an_answer_about_another_refund_is_refused() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([Answer::json(200, refund_json("SOMEONE-ELSE", "SUCCESS"))]);
    let e = platform
        .certificate_client()
        .refund_query("R-3")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, paysandbox_sdk::wechat::v3::Error::Decode { reason } if reason.contains("SOMEONE-ELSE")),
        "{e}"
    );
    assert!(e.is_outcome_unknown());
}

#[tokio::test]
async fn invalid_requests_are_never_sent() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    let client = platform.certificate_client();
    let e = client.refund_query("退款/1").await.unwrap_err();
    assert!(
        matches!(e, paysandbox_sdk::wechat::v3::Error::InvalidRequest(_)),
        "{e}"
    );
    assert!(!e.is_retryable() && !e.is_outcome_unknown());
    let e = client
        .prepay_native(&PrepayRequest::new(
            "wx2421b1c4370ec43b",
            "Tea",
            "o 1",
            "https://m/n",
            1,
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(e, paysandbox_sdk::wechat::v3::Error::InvalidRequest(_)),
        "{e}"
    );
    assert!(platform.seen().is_empty());
}

#[tokio::test]
async fn abnormal_refund_encrypts_the_card_for_the_key_it_names() {
    let platform = Platform::start(IdentityMode::PublicKey).await;
    platform.script([Answer::json(200, refund_json("R-4", "PROCESSING"))]);
    let client = platform.public_key_client();
    let refund = client
        .abnormal_refund(
            "50000000382019052709732678859",
            &AbnormalRefund {
                out_refund_no: "R-4".into(),
                target: AbnormalRefundTarget::UserBankCard {
                    bank_type: "ICBC_DEBIT".into(),
                    bank_account: "6212260000000000000".into(),
                    real_name: "张三".into(),
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(refund.out_refund_no, "R-4");
    let seen = &platform.seen()[0];
    assert_eq!(
        seen.url,
        "/v3/refund/domestic/refunds/50000000382019052709732678859/apply-abnormal-refund"
    );
    assert_eq!(
        seen.wechatpay_serial.as_deref(),
        Some(keys().public_key_id())
    );
    let body = seen.json();
    assert_eq!(body["type"], "USER_BANK_CARD");
    assert_eq!(body["bank_type"], "ICBC_DEBIT");
    let key = &keys().public_key_private;
    let decrypt = |field: &str| oaep::decrypt_field(key, body[field].as_str().unwrap()).unwrap();
    assert_eq!(decrypt("bank_account"), "6212260000000000000");
    assert_eq!(decrypt("real_name"), "张三");
}

#[tokio::test]
async fn abnormal_refund_to_the_merchant_card_sends_no_card() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([Answer::json(200, refund_json("R-5", "PROCESSING"))]);
    platform
        .certificate_client()
        .abnormal_refund(
            "50000000382019052709732678859",
            &AbnormalRefund {
                out_refund_no: "R-5".into(),
                target: AbnormalRefundTarget::MerchantBankCard,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        platform.seen()[0].json(),
        json!({"out_refund_no": "R-5", "type": "MERCHANT_BANK_CARD"})
    );
}

fn verify_with_merchant_key(message: &str, signature: &str) {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .unwrap();
    keys()
        .merchant_public
        .verify(Hash::Sha256, message.as_bytes(), &raw)
        .unwrap();
}

#[tokio::test]
async fn jsapi_prepay_returns_the_signed_front_end_parameters() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([Answer::json(
        200,
        json!({"prepay_id": "wx201410272009395522657a690389285100"}),
    )]);
    let request = PrepayRequest::new(
        "wx2421b1c4370ec43b",
        "Image形象店-深圳腾大-QQ公仔",
        "o-jsapi-1",
        "https://merchant.example/notify",
        100,
    )
    .payer_openid("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    .attach("a");
    let prepay = platform
        .certificate_client()
        .prepay_jsapi(&request)
        .await
        .unwrap();
    assert_eq!(prepay.prepay_id, "wx201410272009395522657a690389285100");
    let p = &prepay.payment;
    assert_eq!(p.app_id, "wx2421b1c4370ec43b");
    assert_eq!(p.package, "prepay_id=wx201410272009395522657a690389285100");
    assert_eq!(p.sign_type, "RSA");
    assert_eq!(p.nonce_str.len(), 32);
    assert!(p.time_stamp.parse::<i64>().unwrap().abs_diff(unix_now()) < 60);
    verify_with_merchant_key(
        &format!(
            "{}\n{}\n{}\n{}\n",
            p.app_id, p.time_stamp, p.nonce_str, p.package
        ),
        &p.pay_sign,
    );
    let front_end = serde_json::to_value(p).unwrap();
    for member in [
        "appId",
        "timeStamp",
        "nonceStr",
        "package",
        "signType",
        "paySign",
    ] {
        assert!(front_end.get(member).is_some(), "{member} in {front_end}");
    }
    let seen = &platform.seen()[0];
    assert_eq!(seen.url, "/v3/pay/transactions/jsapi");
    assert_eq!(
        seen.json(),
        json!({"appid": "wx2421b1c4370ec43b", "mchid": MCHID,
               "description": "Image形象店-深圳腾大-QQ公仔", "out_trade_no": "o-jsapi-1",
               "notify_url": "https://merchant.example/notify", "attach": "a",
               "amount": {"total": 100}, "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}})
    );
}

#[tokio::test]
async fn app_native_and_h5_prepays() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([
        Answer::json(200, json!({"prepay_id": "wx-app-1"})),
        Answer::json(
            200,
            json!({"code_url": "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"}),
        ),
        Answer::json(
            200,
            json!({"h5_url": "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=x"}),
        ),
    ]);
    let client = platform.certificate_client();
    let base =
        |no: &str| PrepayRequest::new("wx2421b1c4370ec43b", "Tea", no, "https://m.example/n", 1);

    let app = client.prepay_app(&base("o-app")).await.unwrap();
    let p = &app.payment;
    assert_eq!(
        (
            p.partnerid.as_str(),
            p.prepayid.as_str(),
            p.package.as_str()
        ),
        (MCHID, "wx-app-1", "Sign=WXPay")
    );
    verify_with_merchant_key(
        &format!(
            "{}\n{}\n{}\n{}\n",
            p.appid, p.timestamp, p.noncestr, p.prepayid
        ),
        &p.sign,
    );

    let code_url = client.prepay_native(&base("o-native")).await.unwrap();
    assert_eq!(code_url, "weixin://wxpay/bizpayurl?pr=p4lpSuKzz");
    let h5_url = client
        .prepay_h5(&base("o-h5").payer_client_ip("203.0.113.7").h5_scene("Wap"))
        .await
        .unwrap();
    assert!(h5_url.starts_with("https://wx.tenpay.com/"));

    let seen = platform.seen();
    let urls: Vec<_> = seen.iter().map(|s| s.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "/v3/pay/transactions/app",
            "/v3/pay/transactions/native",
            "/v3/pay/transactions/h5"
        ]
    );
    assert_eq!(
        seen[2].json()["scene_info"],
        json!({"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}})
    );
}

#[tokio::test]
async fn order_queries_by_either_id_and_close() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    let order = json!({
        "appid": "wx2421b1c4370ec43b", "mchid": MCHID, "out_trade_no": "demo-order-0001",
        "transaction_id": "4200000000000000000000000001", "trade_type": "JSAPI",
        "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
        "success_time": "2023-11-15T06:00:00+08:00", "payer": {"openid": "o1"},
        "amount": {"total": 1000, "payer_total": 1000, "currency": "CNY", "payer_currency": "CNY"}
    });
    platform.script([
        Answer::json(200, order.clone()),
        Answer::json(200, order),
        Answer::no_content(),
    ]);
    let client = platform.certificate_client();
    let by_no = client
        .order_query(&OrderId::OutTradeNo("demo-order-0001".into()))
        .await
        .unwrap();
    assert_eq!(by_no.state(), Some(TradeState::Success));
    let by_id = client
        .order_query(&OrderId::TransactionId(
            "4200000000000000000000000001".into(),
        ))
        .await
        .unwrap();
    assert_eq!(by_id, by_no);
    client.close_order("demo-order-0001").await.unwrap();

    let seen = platform.seen();
    let lines: Vec<_> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.url))
        .collect();
    assert_eq!(
        lines,
        [
            "GET /v3/pay/transactions/out-trade-no/demo-order-0001?mchid=1900000109",
            "GET /v3/pay/transactions/id/4200000000000000000000000001?mchid=1900000109",
            "POST /v3/pay/transactions/out-trade-no/demo-order-0001/close",
        ]
    );
    assert_eq!(seen[2].json(), json!({"mchid": MCHID}));
}

#[tokio::test]
async fn close_must_answer_204() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([Answer::json(200, json!({}))]);
    let e = platform
        .certificate_client()
        .close_order("o-1")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(200));
}

#[tokio::test]
async fn a_refund_number_with_every_allowed_symbol_is_signed_as_sent() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([Answer::json(200, refund_json("R_1-2|3*4@5", "SUCCESS"))]);
    platform
        .certificate_client()
        .refund_query("R_1-2|3*4@5")
        .await
        .unwrap();
    // The platform verified the signature over the URL as it arrived (seen() checks).
    assert_eq!(
        platform.seen()[0].url,
        "/v3/refund/domestic/refunds/R_1-2|3*4@5"
    );
}
