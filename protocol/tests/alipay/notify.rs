//! Notifications: the Alipay V1 notification signature, its content and round trips.

use paysandbox_protocol::alipay::notify::{
    NotifyFundBill, TradeNotification, sign_content, sign_notification, verify_notification,
};
use paysandbox_protocol::alipay::{SignType as AlipaySignType, TradeStatus};

#[test]
fn alipay_notification_signs_over_v1_content_and_round_trips() {
    let key = paysandbox_protocol::rsa::PrivateKey::generate(1024).unwrap();
    let public = key.to_public_key();
    let n = TradeNotification {
        notify_time: "2020-03-27 18:19:16".into(),
        notify_type: "trade_status_sync".into(),
        notify_id: "2020032700222181916061141404356789".into(),
        app_id: "2021000000000001".into(),
        charset: "utf-8".into(),
        version: "1.0".into(),
        trade_no: "2020032722001400001234567890".into(),
        out_trade_no: "order & 1".into(),
        out_biz_no: Some("r1".into()),
        buyer_id: Some("2088102177846880".into()),
        buyer_logon_id: Some("csq***@sandbox.com".into()),
        seller_id: None,
        seller_email: None,
        trade_status: TradeStatus::TradeSuccess,
        total_amount: 8888,
        receipt_amount: Some(8888),
        invoice_amount: None,
        buyer_pay_amount: Some(8888),
        point_amount: Some(0),
        refund_fee: Some(100),
        send_back_fee: None,
        subject: Some("测试 subject=1".into()),
        body: None,
        gmt_create: Some("2020-03-27 18:00:00".into()),
        gmt_payment: Some("2020-03-27 18:00:05".into()),
        gmt_refund: Some("2020-03-27 18:19:15.143".into()),
        gmt_close: None,
        fund_bill_list: vec![NotifyFundBill {
            fund_channel: "ALIPAYACCOUNT".into(),
            amount: 8888,
        }],
        passback_params: None,
    };
    let mut params = n.to_params();
    assert!(params.iter().all(|(_, v)| !v.is_empty()));
    let bills = params
        .iter()
        .find(|(k, _)| k == "fund_bill_list")
        .map(|(_, v)| v.as_str());
    assert_eq!(
        bills,
        Some(r#"[{"amount":"88.88","fundChannel":"ALIPAYACCOUNT"}]"#)
    );
    sign_notification(&mut params, &key, AlipaySignType::Rsa2).unwrap();
    assert_eq!(
        verify_notification(&params, &public),
        Ok(AlipaySignType::Rsa2)
    );
    assert_eq!(TradeNotification::from_params(&params), Ok(n.clone()));
    // The V1 content leaves sign_type out: changing it to RSA breaks only the hash choice.
    assert!(!sign_content(&params).contains("sign_type"));
    let mut tampered = params.clone();
    for (k, v) in &mut tampered {
        if k == "refund_fee" {
            *v = "88.88".into();
        }
    }
    assert!(verify_notification(&tampered, &public).is_err());
    // Form round trip: encode, decode, still verifies.
    let body = paysandbox_protocol::alipay::encode_urlencoded(&params);
    let decoded = paysandbox_protocol::alipay::parse_urlencoded(body.as_bytes()).unwrap();
    assert_eq!(
        verify_notification(&decoded, &public),
        Ok(AlipaySignType::Rsa2)
    );
}
