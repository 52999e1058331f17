//! API v3 messages: strict server-side decoding of every request (each defect its own error and
//! the platform's PARAM_ERROR body), the cross-field rules, and lenient client-side decoding of
//! the answers.

use paysandbox_protocol::wechat::v3::decode::{DecodeError, Violation, lenient, strict};
use paysandbox_protocol::wechat::v3::error::Location;
use paysandbox_protocol::wechat::v3::messages::refund::{
    ABNORMAL_REFUND_REQUEST, FundsFrom, REFUND_REQUEST, RefundAmountRequest, RefundGoods,
};
use paysandbox_protocol::wechat::v3::messages::transaction::{
    CLOSE_REQUEST, CodeUrlResponse, Payer, PrepayAmount, SceneInfo, prepay_fields,
};
use paysandbox_protocol::wechat::v3::messages::{
    AbnormalRefundRequest, BillResponse, CloseRequest, PrepayRequest, Refund, RefundRequest,
    RefundStatus, TradeState, TradeType, Transaction,
};
use serde_json::{Value, json};

fn full_refund() -> RefundRequest {
    RefundRequest {
        sub_mchid: None,
        transaction_id: Some("1217752501201407033233368018".into()),
        out_trade_no: Some("1217752501201407033233368018".into()),
        out_refund_no: "1217752501201407033233368018-R|1*@".into(),
        reason: Some("商品已售完".into()),
        notify_url: Some("https://weixin.qq.com".into()),
        funds_account: Some("AVAILABLE".into()),
        amount: RefundAmountRequest {
            refund: 888,
            from: Some(vec![
                FundsFrom {
                    account: "AVAILABLE".into(),
                    amount: 444,
                },
                FundsFrom {
                    account: "UNAVAILABLE".into(),
                    amount: 444,
                },
            ]),
            total: 888,
            currency: "CNY".into(),
        },
        goods_detail: Some(vec![RefundGoods {
            merchant_goods_id: "1217752501201407033233368018".into(),
            wechatpay_goods_id: Some("1001".into()),
            goods_name: Some("iPhone6s 16G".into()),
            unit_price: 528_800,
            refund_amount: 528_800,
            refund_quantity: 1,
        }]),
    }
}

fn refund(body: &Value) -> Result<RefundRequest, DecodeError> {
    let decoded: RefundRequest = strict(body.to_string().as_bytes(), REFUND_REQUEST)?;
    decoded.validate()?;
    Ok(decoded)
}

fn minimal_refund() -> Value {
    json!({"out_trade_no":"o1","out_refund_no":"r1","amount":{"refund":1,"total":10,"currency":"CNY"}})
}

#[test]
fn every_request_table_accepts_what_its_type_writes() {
    let full = full_refund();
    assert_eq!(refund(&serde_json::to_value(&full).unwrap()), Ok(full));
    let minimal = refund(&minimal_refund()).unwrap();
    assert_eq!(minimal.transaction_id, None);
    assert_eq!(minimal.amount.from, None);

    let abnormal = AbnormalRefundRequest {
        sub_mchid: None,
        out_refund_no: "r1".into(),
        kind: "USER_BANK_CARD".into(),
        bank_type: Some("ICBC_DEBIT".into()),
        bank_account: Some(
            "d+xT+MQCvrLHUVD5Fnx30mr4L8sPndjXTd75kPkyjqnoMRrEEaYQE8ZRGYoeorwC".into(),
        ),
        real_name: Some("UPgQcZSdq3zOayJwZ5XLrHY2dZU1W2Cd".into()),
    };
    let text = serde_json::to_string(&abnormal).unwrap();
    assert!(text.contains("\"type\":\"USER_BANK_CARD\""));
    let back: AbnormalRefundRequest = strict(text.as_bytes(), ABNORMAL_REFUND_REQUEST).unwrap();
    assert_eq!(back, abnormal);
    assert_eq!(back.validate(), Ok(()));

    for trade_type in [
        TradeType::Jsapi,
        TradeType::Native,
        TradeType::App,
        TradeType::Mweb,
    ] {
        let request = PrepayRequest {
            appid: "wxd678efh567hg6787".into(),
            mchid: "1230000109".into(),
            description: "Image形象店-深圳腾大-QQ公仔".into(),
            out_trade_no: "1217752501201407033233368018".into(),
            time_expire: Some("2018-06-08T10:34:56+08:00".into()),
            attach: Some("自定义数据".into()),
            notify_url: "https://www.weixin.qq.com/wxpay/pay.php".into(),
            goods_tag: Some("WXG".into()),
            support_fapiao: Some(false),
            amount: PrepayAmount {
                total: 100,
                currency: Some("CNY".into()),
            },
            payer: Some(Payer {
                openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
            }),
            detail: Some(
                json!({"cost_price":608800,"invoice_id":"微信123","goods_detail":[
                {"merchant_goods_id":"1246464644","wechatpay_goods_id":"1001","goods_name":"iPhoneX 256G","quantity":1,"unit_price":528800}]}),
            ),
            scene_info: Some(SceneInfo {
                payer_client_ip: "14.23.150.211".into(),
                device_id: Some("013467007045764".into()),
                store_info: Some(
                    json!({"id":"0001","name":"腾讯大厦分店","area_code":"440305","address":"广东省深圳市南山区科技中一道10000号"}),
                ),
                h5_info: Some(
                    json!({"type":"Wap","app_name":"王者荣耀","app_url":"https://pay.qq.com","bundle_id":"com.tencent.wzryiOS","package_name":"com.tencent.tmgp.sgame"}),
                ),
            }),
            settle_info: Some(json!({"profit_sharing":false})),
        };
        let text = serde_json::to_string(&request).unwrap();
        let fields = prepay_fields(trade_type);
        assert_eq!(
            strict::<PrepayRequest>(text.as_bytes(), fields),
            Ok(request),
            "{trade_type}"
        );
    }
    assert_eq!(
        strict::<CloseRequest>(br#"{"mchid":"1230000109"}"#, CLOSE_REQUEST),
        Ok(CloseRequest {
            mchid: "1230000109".into()
        })
    );
}

#[test]
fn refund_request_defects() {
    let with = |pointer: &str, value: Value| {
        let mut body = minimal_refund();
        let (parent, name) = pointer.rsplit_once('/').unwrap();
        body.pointer_mut(parent).unwrap()[name] = value;
        body
    };
    let mut unknown = minimal_refund();
    unknown["amount"]["refund_fee"] = json!(1);
    unknown["sub_appid"] = json!("wx");
    let mut missing = minimal_refund();
    missing.as_object_mut().unwrap().remove("out_refund_no");
    let mut neither = minimal_refund();
    neither.as_object_mut().unwrap().remove("out_trade_no");
    let mut with_null = minimal_refund();
    with_null["funds_account"] = Value::Null;
    let mut uneven = minimal_refund();
    uneven["amount"]["from"] =
        json!([{"account":"AVAILABLE","amount":1},{"account":"AVAILABLE","amount":0}]);
    let mut wrong_sum = minimal_refund();
    wrong_sum["amount"]["from"] = json!([{"account":"AVAILABLE","amount":2}]);

    let rule = |pointer: &str, label: &'static str, value: Value, violation| DecodeError::Rule {
        pointer: pointer.into(),
        label,
        value,
        violation,
    };
    let cases: Vec<(Value, DecodeError)> = vec![
        (
            unknown,
            DecodeError::UnknownFields(vec!["/amount/refund_fee".into(), "/sub_appid".into()]),
        ),
        (
            with_null,
            DecodeError::Null {
                pointer: "/funds_account".into(),
                label: "退款资金来源",
            },
        ),
        (
            with("/amount/refund", json!("1")),
            DecodeError::WrongType {
                pointer: "/amount/refund".into(),
                label: "退款金额",
                expected: "integer",
            },
        ),
        (
            missing,
            DecodeError::Missing {
                pointer: "/out_refund_no".into(),
                label: "商户退款单号",
            },
        ),
        (
            neither,
            DecodeError::Missing {
                pointer: "/out_trade_no".into(),
                label: "商户订单号",
            },
        ),
        (
            with("/out_refund_no", json!("r#1")),
            rule(
                "/out_refund_no",
                "商户退款单号",
                json!("r#1"),
                Violation::Pattern("^[0-9A-Za-z_\\-|*@]{1,64}$"),
            ),
        ),
        (
            with("/amount/currency", json!("USD")),
            rule(
                "/amount/currency",
                "退款币种",
                json!("USD"),
                Violation::NotOneOf(&["CNY"]),
            ),
        ),
        (
            with("/reason", json!("退".repeat(27))),
            rule(
                "/reason",
                "退款原因",
                json!("退".repeat(27)),
                Violation::TooLong { bytes: 81, max: 80 },
            ),
        ),
        (
            with("/amount/refund", json!(11)),
            rule(
                "/amount/refund",
                "退款金额",
                json!(11),
                Violation::Business("退款金额不能大于原订单金额".into()),
            ),
        ),
        (
            with("/amount/refund", json!(0)),
            rule(
                "/amount/refund",
                "退款金额",
                json!(0),
                Violation::BelowMinimum { min: 1 },
            ),
        ),
        (
            uneven,
            rule(
                "/amount/from/1/amount",
                "出资金额",
                json!(0),
                Violation::BelowMinimum { min: 1 },
            ),
        ),
        (
            wrong_sum,
            rule(
                "/amount/from",
                "退款出资账户及金额",
                Value::Null,
                Violation::Business("出资金额之和必须等于退款金额".into()),
            ),
        ),
    ];
    for (body, error) in cases {
        assert_eq!(refund(&body), Err(error), "{body}");
    }
    let mut duplicate = minimal_refund();
    duplicate["amount"]["from"] =
        json!([{"account":"AVAILABLE","amount":1},{"account":"AVAILABLE","amount":1}]);
    duplicate["amount"]["refund"] = json!(2);
    assert_eq!(
        refund(&duplicate),
        Err(rule(
            "/amount/from",
            "退款出资账户及金额",
            Value::Null,
            Violation::Business("出资账户类型不能重复".into())
        ))
    );
}

#[test]
fn refund_errors_render_as_the_platform_does() {
    let mut body = minimal_refund();
    body["out_refund_no"] = json!("r".repeat(65));
    let error = refund(&body).unwrap_err().to_error_body(Location::Body);
    assert_eq!(error.http_status(), 400);
    assert_eq!(
        error.to_json(),
        format!(
            r#"{{"code":"PARAM_ERROR","detail":{{"field":"/body/out_refund_no","location":"body","value":"{}"}},"message":"输入源“/body/out_refund_no”映射到值字段“商户退款单号”字符串规则校验失败，字节数 65，大于最大值 64"}}"#,
            "r".repeat(65)
        )
    );
    let malformed = strict::<RefundRequest>(b"{\"out_refund_no\":", REFUND_REQUEST).unwrap_err();
    assert!(matches!(malformed, DecodeError::Malformed(_)));
    assert_eq!(
        malformed.to_error_body(Location::Body).message,
        "请求体JSON格式错误"
    );
}

#[test]
fn abnormal_refund_rules() {
    let decode = |body: Value| {
        strict::<AbnormalRefundRequest>(body.to_string().as_bytes(), ABNORMAL_REFUND_REQUEST)
            .and_then(|r| r.validate().map(|()| r))
    };
    assert_eq!(
        decode(
            json!({"out_refund_no":"r1","type":"USER_BANK_CARD","bank_type":"ICBC_DEBIT","bank_account":"x"})
        ),
        Err(DecodeError::Missing {
            pointer: "/real_name".into(),
            label: "收款用户姓名"
        })
    );
    assert_eq!(
        decode(json!({"out_refund_no":"r1","type":"MERCHANT_BANK_CARD"})).map(|r| r.kind),
        Ok("MERCHANT_BANK_CARD".to_owned())
    );
    assert!(matches!(
        decode(json!({"out_refund_no":"r1","type":"BANK"})),
        Err(DecodeError::Rule {
            violation: Violation::NotOneOf(_),
            ..
        })
    ));
}

#[test]
fn prepay_tables_differ_per_endpoint() {
    let base = json!({"appid":"wxd678efh567hg6787","mchid":"1230000109","description":"d",
        "out_trade_no":"o1","notify_url":"https://example.com/n","amount":{"total":1}});
    let decode = |t: TradeType, body: &Value| {
        strict::<PrepayRequest>(body.to_string().as_bytes(), prepay_fields(t))
    };
    assert_eq!(
        decode(TradeType::Jsapi, &base),
        Err(DecodeError::Missing {
            pointer: "/payer".into(),
            label: "支付者"
        })
    );
    assert!(decode(TradeType::Native, &base).is_ok());
    assert!(decode(TradeType::App, &base).is_ok());
    assert_eq!(
        decode(TradeType::Mweb, &base),
        Err(DecodeError::Missing {
            pointer: "/scene_info".into(),
            label: "场景信息"
        })
    );
    let mut h5 = base.clone();
    h5["scene_info"] = json!({"payer_client_ip":"127.0.0.1"});
    assert_eq!(
        decode(TradeType::Mweb, &h5),
        Err(DecodeError::Missing {
            pointer: "/scene_info/h5_info".into(),
            label: "H5场景信息"
        })
    );
    let mut no_appid = base.clone();
    no_appid.as_object_mut().unwrap().remove("appid");
    no_appid["payer"] = json!({"openid":"o"});
    // The observed PARAM_ERROR of a JSAPI prepay without appid, byte for byte.
    assert_eq!(
        decode(TradeType::Jsapi, &no_appid)
            .unwrap_err()
            .to_error_body(Location::Body)
            .to_json(),
        r#"{"code":"PARAM_ERROR","detail":{"location":"body","value":""},"message":"输入源“/body/appid”映射到字段“公众号ID”必填性规则校验失败，此字段为必填项"}"#
    );
    let mut openid_in_native = base.clone();
    openid_in_native["payer"] = json!({"openid":"o","sub_openid":"x"});
    assert_eq!(
        decode(TradeType::Native, &openid_in_native),
        Err(DecodeError::UnknownFields(vec!["/payer/sub_openid".into()]))
    );
    let mut long = base.clone();
    long["description"] = json!("x".repeat(128));
    assert_eq!(
        decode(TradeType::Native, &long)
            .unwrap_err()
            .to_error_body(Location::Body)
            .message,
        "输入源“/body/description”映射到值字段“商品描述”字符串规则校验失败，字节数 128，大于最大值 127"
    );
}

#[test]
fn answers_decode_leniently_and_encode_in_the_platform_order() {
    // A refund answer with every documented member, plus one the SDK does not know.
    let text = r#"{"refund_id":"50000000382019052709732678859","out_refund_no":"1217752501201407033233368018","transaction_id":"1217752501201407033233368018","out_trade_no":"1217752501201407033233368018","channel":"ORIGINAL","user_received_account":"招商银行信用卡0403","success_time":"2020-12-01T16:18:12+08:00","create_time":"2020-12-01T16:18:12+08:00","status":"SUCCESS","funds_account":"UNSETTLED","amount":{"total":100,"refund":100,"from":[{"account":"AVAILABLE","amount":444}],"payer_total":90,"payer_refund":90,"settlement_refund":100,"settlement_total":100,"discount_refund":10,"currency":"CNY","refund_fee":0},"promotion_detail":[{"promotion_id":"109519","scope":"SINGLE","type":"DISCOUNT","amount":5,"refund_amount":100,"goods_detail":[{"merchant_goods_id":"1217752501201407033233368018","wechatpay_goods_id":"1001","goods_name":"iPhone6s 16G","unit_price":100,"refund_amount":100,"refund_quantity":1}]}],"a_new_member":{"x":1}}"#;
    let answer: Refund = lenient(text.as_bytes()).unwrap();
    assert_eq!(answer.refund_status(), Some(RefundStatus::Success));
    assert_eq!(answer.amount.discount_refund, 10);
    assert_eq!(answer.promotion_detail[0].kind, "DISCOUNT");
    // Encoding it again gives the same text minus the unknown member: member order is the
    // platform's.
    let again = serde_json::to_string(&answer).unwrap();
    assert_eq!(again, text.replace(r#","a_new_member":{"x":1}"#, ""));

    // A PROCESSING refund has no success_time, and the encoder leaves it out.
    let processing = Refund {
        success_time: None,
        status: "PROCESSING".into(),
        funds_account: None,
        promotion_detail: Vec::new(),
        ..answer
    };
    let text = serde_json::to_string(&processing).unwrap();
    assert!(!text.contains("success_time") && !text.contains("promotion_detail"));

    let order: Transaction = lenient(
        r#"{"appid":"wxd678efh567hg6787","mchid":"1230000109","out_trade_no":"1217752501201407033233368018","transaction_id":"1217752501201407033233368018","trade_type":"JSAPI","trade_state":"SUCCESS","trade_state_desc":"支付成功","bank_type":"CMC","attach":"自定义数据","success_time":"2018-06-08T10:34:56+08:00","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"},"scene_info":{"device_id":"013467007045764"},"promotion_detail":[{"coupon_id":"109519","name":"单品惠-6","scope":"SINGLE","type":"CASH","amount":100,"stock_id":"931386","wechatpay_contribute":0,"merchant_contribute":0,"other_contribute":0,"currency":"CNY","goods_detail":[{"goods_id":"M1006","quantity":1,"unit_price":100,"discount_amount":1}]}]}"#.as_bytes(),
    )
    .unwrap();
    assert_eq!(order.state(), Some(TradeState::Success));
    assert_eq!(order.amount.and_then(|a| a.payer_total), Some(100));
    // An unpaid order: only what the platform sends before payment.
    let unpaid: Transaction = lenient(
        r#"{"appid":"wx1","mchid":"1230000109","out_trade_no":"o1","trade_state":"NOTPAY","trade_state_desc":"订单未支付","amount":{"total":1,"currency":"CNY"}}"#.as_bytes(),
    )
    .unwrap();
    assert_eq!(unpaid.transaction_id, None);
    assert_eq!(unpaid.state(), Some(TradeState::NotPay));

    let code: CodeUrlResponse =
        lenient(br#"{"code_url":"weixin://wxpay/bizpayurl?pr=p4lpSuKzz"}"#).unwrap();
    assert_eq!(code.code_url, "weixin://wxpay/bizpayurl?pr=p4lpSuKzz");
    let bill: BillResponse = lenient(br#"{"hash_type":"SHA1","hash_value":"79bb0f45fc4c42234a918000b2668d689e2bde04","download_url":"https://api.mch.weixin.qq.com/v3/billdownload/file?token=xx"}"#).unwrap();
    assert_eq!(bill.hash_type, "SHA1");
    assert!(lenient::<Refund>(br#"{"refund_id":"1"}"#).is_err());
}
