//! Notifications: the `req_info` known-answer vectors of the `wechat_refund_notify` section of
//! `tests/data/known_answers.json` (spec wechat-v2.md §5.4), payment notification signing, and
//! the Alipay V1 notification signature.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use paysandbox_protocol::alipay::notify::{
    NotifyFundBill, TradeNotification, sign_content, sign_notification, verify_notification,
};
use paysandbox_protocol::alipay::{SignType as AlipaySignType, TradeStatus};
use paysandbox_protocol::wechat::notify::{
    NotifyError, PaymentNotification, RefundNotification, RefundNotifyInfo, decrypt_req_info,
    encrypt_req_info, req_info_key,
};
use paysandbox_protocol::wechat::{
    CouponType, OrderCoupon, RefundAccount, RefundStatus, ResultCode, SignType, sign, xml,
};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/known_answers.json"
    ))
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["wechat_refund_notify"]["vectors"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn every_req_info_vector_decrypts_to_its_plaintext_and_reencrypts_to_the_same_bytes() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let key = v["api_key"].as_str().unwrap();
        let req_info = v["req_info"].as_str().unwrap();
        let plaintext = v["plaintext"].as_str().unwrap();
        assert_eq!(
            decrypt_req_info(req_info, key).as_deref(),
            Ok(plaintext),
            "{name}"
        );
        // ECB is deterministic: standard PKCS#7 re-encryption gives the platform's bytes.
        assert_eq!(encrypt_req_info(plaintext, key), req_info, "{name}");
        if let Some(md5) = v["key_md5_hex"].as_str() {
            assert_eq!(&req_info_key(key), md5.as_bytes(), "{name}");
        }
        // The wrong key never yields the document.
        assert_ne!(
            decrypt_req_info(req_info, "wrongkeywrongkeywrongkeywrongkey").ok(),
            Some(plaintext.to_owned()),
            "{name}"
        );
    }
}

#[test]
fn full_vectors_parse_into_every_field() {
    let vectors = vectors();
    let wechatpy = &vectors[0];
    let info = RefundNotifyInfo::from_root_xml(wechatpy["plaintext"].as_str().unwrap()).unwrap();
    assert_eq!(
        info,
        RefundNotifyInfo {
            out_refund_no: "1234".into(),
            out_trade_no: "2020010418301551404339261814".into(),
            refund_account: Some(RefundAccount::RechargeFunds),
            refund_fee: 1,
            refund_id: "50300103182020010413419046597".into(),
            refund_recv_accout: Some("招商银行信用卡8915".into()),
            refund_request_source: Some("API".into()),
            refund_status: RefundStatus::Success,
            settlement_refund_fee: Some(1),
            settlement_total_fee: Some(1),
            success_time: Some("2020-01-04 18:34:24".into()),
            total_fee: 1,
            transaction_id: "4200000483202001042069747825".into(),
        }
    );
    // Our encoder writes the same document the platform wrote (fields sorted, CDATA, one a
    // line), so it encrypts to the platform's exact req_info.
    assert_eq!(info.to_root_xml(), wechatpy["plaintext"].as_str().unwrap());
    let gopay = &vectors[1];
    let info = RefundNotifyInfo::from_root_xml(gopay["plaintext"].as_str().unwrap()).unwrap();
    assert_eq!(info.out_refund_no, "50fd012ed1b311e7af7800163e32c503");
    assert_eq!(info.refund_fee, 6);
    assert_eq!(info.total_fee, 6);
    assert_eq!(info.refund_recv_accout.as_deref(), Some("支付用户零钱"));
    assert_eq!(info.success_time.as_deref(), Some("2017-11-25 15:36:17"));
    assert_eq!(info.to_root_xml(), gopay["plaintext"].as_str().unwrap());
    for v in &vectors[..2] {
        let info = RefundNotifyInfo::from_root_xml(v["plaintext"].as_str().unwrap()).unwrap();
        for (field, value) in v["fields"].as_object().unwrap() {
            let params = info.to_params();
            assert_eq!(params.get(field), value.as_str(), "{field}");
        }
    }
}

#[test]
fn the_wechatpy_outer_notification_opens() {
    let v = &vectors()[0];
    let body = format!(
        "<xml>\n<return_code>SUCCESS</return_code>\n<appid><![CDATA[{}]]></appid>\n<mch_id><![CDATA[{}]]></mch_id>\n<nonce_str><![CDATA[c1c237efc87ee8dfcb3f9124b63a4d94]]></nonce_str>\n<req_info><![CDATA[{}]]></req_info>\n</xml>",
        v["appid"].as_str().unwrap(),
        v["mch_id"].as_str().unwrap(),
        v["req_info"].as_str().unwrap()
    );
    let outer = RefundNotification::from_xml(body.as_bytes()).unwrap();
    assert_eq!(outer.appid, "wx4f4bc4dec97d474b");
    assert_eq!(outer.mch_id, "12345678");
    let info = outer.open(v["api_key"].as_str().unwrap()).unwrap();
    assert_eq!(info.transaction_id, "4200000483202001042069747825");
    assert_eq!(outer.open("another"), Err(NotifyError::Padding));
    // Sealing again gives the same req_info (deterministic ECB).
    let resealed = RefundNotification::seal(
        &info,
        "wx4f4bc4dec97d474b",
        "12345678",
        "c1c237efc87ee8dfcb3f9124b63a4d94",
        v["api_key"].as_str().unwrap(),
    );
    assert_eq!(resealed.req_info, v["req_info"].as_str().unwrap());
    let fail = b"<xml><return_code>FAIL</return_code><return_msg>x</return_msg></xml>";
    assert_eq!(
        RefundNotification::from_xml(fail),
        Err(NotifyError::ReturnFail("x".into()))
    );
}

fn payment(sign_type: Option<SignType>) -> PaymentNotification {
    PaymentNotification {
        appid: "wx2421b1c4370ec43b".into(),
        mch_id: "10000100".into(),
        device_info: None,
        nonce_str: "5K8264ILTKCH16CQ".into(),
        sign_type,
        result_code: ResultCode::Success,
        err_code: None,
        err_code_des: None,
        openid: "oUpF8uMEb4qRXf22hE3X68TekukE".into(),
        is_subscribe: Some("N".into()),
        trade_type: "JSAPI".into(),
        bank_type: "CFT".into(),
        total_fee: 1000,
        settlement_total_fee: Some(800),
        fee_type: Some("CNY".into()),
        cash_fee: 800,
        cash_fee_type: None,
        coupon_fee: Some(200),
        coupons: vec![OrderCoupon {
            coupon_type: Some(CouponType::NoCash),
            coupon_id: "10000".into(),
            coupon_fee: 200,
        }],
        transaction_id: "1004400740201409030005092168".into(),
        out_trade_no: "1409811653".into(),
        attach: Some("支付测试".into()),
        time_end: "20140903131540".into(),
    }
}

#[test]
fn payment_notification_signs_md5_by_default_and_hmac_with_its_sign_type() {
    let key = "192006250b4c09247ec02edce69f6a2d";
    let md5 = payment(None).to_signed_xml(key);
    let p = xml::decode(md5.as_bytes()).unwrap();
    assert_eq!(p.get("sign").map(str::len), Some(32));
    assert_eq!(p.get("sign_type"), None);
    assert!(sign::verify(&p, key, SignType::Md5));
    assert_eq!(p.get("coupon_count"), Some("1"));
    assert_eq!(p.get("coupon_type_0"), Some("NO_CASH"));
    assert_eq!(p.get("coupon_fee_0"), Some("200"));
    assert!(p.iter().all(|(_, v)| !v.is_empty()), "no empty elements");
    assert_eq!(
        PaymentNotification::verify_xml(md5.as_bytes(), key),
        Ok(payment(None))
    );
    let hmac = payment(Some(SignType::HmacSha256)).to_signed_xml(key);
    let p = xml::decode(hmac.as_bytes()).unwrap();
    assert_eq!(p.get("sign_type"), Some("HMAC-SHA256"));
    assert_eq!(p.get("sign").map(str::len), Some(64));
    assert_eq!(
        PaymentNotification::verify_xml(hmac.as_bytes(), key),
        Ok(payment(Some(SignType::HmacSha256)))
    );
    assert_eq!(
        PaymentNotification::verify_xml(md5.as_bytes(), "another"),
        Err(NotifyError::Signature)
    );
    let tampered = md5.replace("<total_fee>1000</total_fee>", "<total_fee>1</total_fee>");
    assert_eq!(
        PaymentNotification::verify_xml(tampered.as_bytes(), key),
        Err(NotifyError::Signature)
    );
}

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
