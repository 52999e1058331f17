//! `alipay.trade.fastpay.refund.query`, `alipay.trade.query`, `alipay.trade.close`,
//! `alipay.trade.precreate` with the admin buyer (scan, pay), and the Alipay admin API.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const REFUND: &str = "alipay.trade.refund";
const REFUND_QUERY: &str = "alipay.trade.fastpay.refund.query";
const QUERY: &str = "alipay.trade.query";
const CLOSE: &str = "alipay.trade.close";
const PRECREATE: &str = "alipay.trade.precreate";

async fn query(sandbox: &Sandbox, out_trade_no: &str) -> Value {
    sandbox
        .alipay(QUERY, json!({ "out_trade_no": out_trade_no }))
        .await
}

#[tokio::test]
async fn refund_query_returns_the_refund_by_its_request_number() {
    let sandbox = start().await;
    let refund = sandbox
        .alipay(
            REFUND,
            json!({"out_trade_no": "demo-trade-0002", "refund_amount": "12.34",
                   "out_request_no": "q1", "refund_reason": "退货 {size}"}),
        )
        .await;
    let node = sandbox
        .alipay(
            REFUND_QUERY,
            json!({"out_trade_no": "demo-trade-0002", "out_request_no": "q1"}),
        )
        .await;
    assert_eq!(
        node,
        json!({
            "code": "10000", "msg": "Success", "out_request_no": "q1",
            "out_trade_no": "demo-trade-0002", "refund_amount": "12.34",
            "refund_reason": "退货 {size}", "refund_status": "REFUND_SUCCESS",
            "total_amount": "88.88", "trade_no": refund["trade_no"]
        })
    );
    // By trade_no, with the optional parts asked for.
    let node = sandbox
        .alipay(
            REFUND_QUERY,
            json!({"trade_no": refund["trade_no"], "out_request_no": "q1",
                   "query_options": ["gmt_refund_pay", "refund_detail_item_list"]}),
        )
        .await;
    assert_eq!(node["gmt_refund_pay"], "2023-11-15 06:13:20");
    assert_eq!(node["send_back_fee"], "12.34");
    assert_eq!(
        node["refund_detail_item_list"],
        json!([{"amount": "12.34", "fund_channel": "ALIPAYACCOUNT", "real_amount": "12.34"}])
    );
}

#[tokio::test]
async fn refund_query_for_a_refund_that_never_happened_is_bare_success() {
    let sandbox = start().await;
    let node = sandbox
        .alipay(
            REFUND_QUERY,
            json!({"out_trade_no": "demo-trade-0002", "out_request_no": "never"}),
        )
        .await;
    assert_eq!(node, json!({"code": "10000", "msg": "Success"}));
    let node = sandbox
        .alipay(
            REFUND_QUERY,
            json!({"out_trade_no": "no-such-trade", "out_request_no": "never"}),
        )
        .await;
    assert_acq(&node, "ACQ.TRADE_NOT_EXIST", "查询退款的交易不存在");
    let node = sandbox
        .alipay(REFUND_QUERY, json!({"out_trade_no": "demo-trade-0002"}))
        .await;
    assert_acq(&node, "ACQ.INVALID_PARAMETER", "参数无效");
}

#[tokio::test]
async fn trade_query_paid_unpaid_unknown_and_after_a_full_refund() {
    let sandbox = start().await;
    // Key order on the wire: code, msg, then the fields alphabetically (the real captures).
    let params = alipay_signed(QUERY, &json!({"out_trade_no": "demo-trade-0001"}));
    let (_, _, body) = sandbox
        .alipay_raw(&sandbox.running.api_url, Placement::Split, &params)
        .await;
    let keys = [
        "code",
        "msg",
        "buyer_logon_id",
        "buyer_pay_amount",
        "buyer_user_id",
        "invoice_amount",
        "out_trade_no",
        "point_amount",
        "receipt_amount",
        "send_pay_date",
        "total_amount",
        "trade_no",
        "trade_status",
    ];
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| body.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{body}");
    let node = verified(&body, QUERY);
    assert_eq!(node.as_object().unwrap().len(), keys.len(), "{node}");
    assert_eq!(node["total_amount"], "100.00");
    assert_eq!(node["buyer_pay_amount"], "100.00");
    assert_eq!(node["receipt_amount"], "100.00");
    assert_eq!(node["point_amount"], "0.00");
    assert_eq!(node["trade_status"], "TRADE_SUCCESS");
    // Seeded "a minute ago" on the frozen clock.
    assert_eq!(node["send_pay_date"], "2023-11-15 06:12:20");

    let unpaid = query(&sandbox, "demo-trade-0005").await;
    assert_eq!(unpaid["trade_status"], "WAIT_BUYER_PAY");
    assert_eq!(unpaid["total_amount"], "10.00");
    assert_eq!(unpaid["receipt_amount"], "0.00");
    assert_eq!(unpaid["buyer_pay_amount"], "0.00");
    assert_eq!(unpaid.get("send_pay_date"), None);

    assert_eq!(
        query(&sandbox, "demo-trade-0004").await["trade_status"],
        "TRADE_FINISHED"
    );
    assert_eq!(
        query(&sandbox, "demo-trade-0006").await["trade_status"],
        "TRADE_FINISHED"
    );
    assert_eq!(
        query(&sandbox, "demo-trade-0007").await["trade_status"],
        "TRADE_CLOSED"
    );

    // The capture of a trade that does not exist, signed.
    let missing = query(&sandbox, "no-such-trade").await;
    assert_eq!(
        missing,
        json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST",
               "sub_msg": "交易不存在", "buyer_pay_amount": "0.00", "invoice_amount": "0.00",
               "out_trade_no": "no-such-trade", "point_amount": "0.00", "receipt_amount": "0.00"})
    );

    sandbox
        .alipay(
            REFUND,
            json!({"out_trade_no": "demo-trade-0001", "refund_amount": "100"}),
        )
        .await;
    let closed = query(&sandbox, "demo-trade-0001").await;
    assert_eq!(closed["trade_status"], "TRADE_CLOSED");
    assert_eq!(closed["receipt_amount"], "100.00");

    let bills = sandbox
        .alipay(
            QUERY,
            json!({"out_trade_no": "demo-trade-0002", "query_options": ["fund_bill_list"]}),
        )
        .await;
    assert_eq!(
        bills["fund_bill_list"],
        json!([{"amount": "88.88", "fund_channel": "ALIPAYACCOUNT"}])
    );
}

#[tokio::test]
async fn close_an_unpaid_trade_only() {
    let sandbox = start().await;
    let node = sandbox
        .alipay(CLOSE, json!({"out_trade_no": "demo-trade-0005"}))
        .await;
    let trade_no = node["trade_no"].clone();
    assert_eq!(
        node,
        json!({"code": "10000", "msg": "Success", "out_trade_no": "demo-trade-0005", "trade_no": trade_no})
    );
    assert_eq!(
        query(&sandbox, "demo-trade-0005").await["trade_status"],
        "TRADE_CLOSED"
    );
    for trade in ["demo-trade-0005", "demo-trade-0002", "demo-trade-0004"] {
        let node = sandbox.alipay(CLOSE, json!({"out_trade_no": trade})).await;
        assert_acq(&node, "ACQ.TRADE_STATUS_ERROR", "交易状态非法");
    }
    let node = sandbox.alipay(CLOSE, json!({"out_trade_no": "nope"})).await;
    assert_acq(&node, "ACQ.TRADE_NOT_EXIST", "交易不存在");
    // A closed unpaid trade cannot be paid any more.
    let (status, _) = sandbox
        .admin(
            Method::POST,
            "/admin/alipay/trades/demo-trade-0005/pay",
            None,
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn precreate_then_the_buyer_scans_and_pays_then_refund() {
    let sandbox = start().await;
    let biz = json!({"out_trade_no": "qr-1", "total_amount": "66.60", "subject": "咖啡"});
    let node = sandbox.alipay(PRECREATE, biz.clone()).await;
    assert_eq!(node["code"], "10000");
    assert_eq!(node["out_trade_no"], "qr-1");
    let qr = node["qr_code"].as_str().unwrap().to_owned();
    assert!(qr.starts_with("https://qr.alipay.com/bax0"), "{qr}");
    // The same request again: the same code.
    assert_eq!(
        sandbox.alipay(PRECREATE, biz.clone()).await["qr_code"],
        qr.as_str()
    );

    // Until the QR is scanned the trade does not exist (spec §6.5).
    assert_acq(
        &query(&sandbox, "qr-1").await,
        "ACQ.TRADE_NOT_EXIST",
        "交易不存在",
    );
    let close = sandbox.alipay(CLOSE, json!({"out_trade_no": "qr-1"})).await;
    assert_acq(&close, "ACQ.TRADE_NOT_EXIST", "交易不存在");
    let scanned = sandbox
        .admin_post("/admin/alipay/trades/qr-1/scan", json!({}))
        .await;
    assert_eq!(scanned["trade_status"], "WAIT_BUYER_PAY");
    let node = query(&sandbox, "qr-1").await;
    assert_eq!(node["trade_status"], "WAIT_BUYER_PAY");
    assert_eq!(node["total_amount"], "66.60");
    let refund = sandbox
        .alipay(
            REFUND,
            json!({"out_trade_no": "qr-1", "refund_amount": "66.60"}),
        )
        .await;
    assert_acq(&refund, "ACQ.TRADE_STATUS_ERROR", "交易状态非法");

    let paid = sandbox
        .admin_post(
            &format!("/admin/alipay/trades/qr-1/pay?app_id={ALIPAY_APP}"),
            json!({"buyer_logon_id": "159****5620", "buyer_user_id": "2088102177000001"}),
        )
        .await;
    assert_eq!(paid["trade_status"], "TRADE_SUCCESS");
    let node = query(&sandbox, "qr-1").await;
    assert_eq!(node["trade_status"], "TRADE_SUCCESS");
    assert_eq!(node["buyer_logon_id"], "159****5620");
    assert_eq!(node["receipt_amount"], "66.60");
    let refund = sandbox
        .alipay(
            REFUND,
            json!({"out_trade_no": "qr-1", "refund_amount": "66.60"}),
        )
        .await;
    assert_eq!(refund["fund_change"], "Y");
    assert_eq!(refund["buyer_user_id"], "2088102177000001");

    // The out_trade_no is taken now.
    let again = sandbox.alipay(PRECREATE, biz).await;
    assert_acq(&again, "ACQ.TRADE_HAS_CLOSE", "交易已关闭");
}

#[tokio::test]
async fn precreate_refusals() {
    let sandbox = start().await;
    let node = sandbox
        .alipay(
            PRECREATE,
            json!({"out_trade_no": "demo-trade-0002", "total_amount": "88.88", "subject": "x"}),
        )
        .await;
    assert_acq(&node, "ACQ.TRADE_HAS_SUCCESS", "交易已被支付");
    sandbox
        .alipay(
            PRECREATE,
            json!({"out_trade_no": "qr-2", "total_amount": "1.00", "subject": "x"}),
        )
        .await;
    let node = sandbox
        .alipay(
            PRECREATE,
            json!({"out_trade_no": "qr-2", "total_amount": "1.01", "subject": "x"}),
        )
        .await;
    assert_acq(&node, "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改");
    let node = sandbox
        .alipay(
            PRECREATE,
            json!({"out_trade_no": "qr-3", "total_amount": "100000000.01", "subject": "x"}),
        )
        .await;
    assert_acq(&node, "ACQ.TOTAL_FEE_EXCEED", "订单金额超过限额");
    let node = sandbox
        .alipay(
            PRECREATE,
            json!({"out_trade_no": "qr-3", "total_amount": "1.00"}),
        )
        .await;
    assert_acq(&node, "ACQ.INVALID_PARAMETER", "参数无效");
    // Paying through the admin API credits the seller's balance.
    let before = sandbox
        .running
        .state
        .world()
        .alipay
        .app(ALIPAY_APP)
        .unwrap()
        .seller_balance;
    sandbox
        .admin_post("/admin/alipay/trades/qr-2/pay", json!({}))
        .await;
    let after = sandbox
        .running
        .state
        .world()
        .alipay
        .app(ALIPAY_APP)
        .unwrap()
        .seller_balance;
    assert_eq!(after - before, 100);
}

#[tokio::test]
async fn a_new_app_gets_its_own_keys_and_works_at_once() {
    let sandbox = start().await;
    let app = sandbox
        .admin_post(
            "/admin/alipay/apps",
            json!({"app_id": "2021000000000555", "name": "shop", "seller_balance": 500,
                   "app_auth_tokens": ["isv-token-1"]}),
        )
        .await;
    assert_eq!(app["app_id"], "2021000000000555");
    assert_eq!(app["seller_balance_yuan"], "5.00");
    let keys = &app["keys"];
    let private_pem =
        std::fs::read_to_string(keys["app_private_key_path"].as_str().unwrap()).unwrap();
    let alipay_pem =
        std::fs::read_to_string(keys["alipay_public_key_path"].as_str().unwrap()).unwrap();
    let app_key = paysandbox_protocol::alipay::parse_private_key(&private_pem).unwrap();
    let alipay_key = paysandbox_protocol::alipay::parse_public_key(&alipay_pem).unwrap();
    assert_eq!(
        keys["alipay_public_key"].as_str().unwrap(),
        std::fs::read_to_string(keys["alipay_public_key_base64_path"].as_str().unwrap()).unwrap()
    );
    sandbox
        .admin_post(
            "/admin/alipay/trades",
            json!({"app_id": "2021000000000555", "out_trade_no": "s-1", "total_fen": 300}),
        )
        .await;
    let mut params = alipay_unsigned(
        REFUND,
        &json!({"out_trade_no": "s-1", "refund_amount": "3.00"}),
    );
    for (k, v) in &mut params {
        if k == "app_id" {
            *v = "2021000000000555".into();
        }
    }
    params.push(("app_auth_token".into(), "isv-token-1".into()));
    alipay_sign_with(&mut params, &app_key);
    let (_, _, body) = sandbox
        .alipay_raw(&sandbox.running.http_url, Placement::Body, &params)
        .await;
    let node = paysandbox_protocol::alipay::verify_response(
        &body,
        REFUND,
        &alipay_key,
        paysandbox_protocol::alipay::SignType::Rsa2,
    )
    .unwrap();
    assert_eq!(node["refund_fee"], "3.00");
    // The demo app's key is not this app's.
    let demo_signed = {
        let mut p = params.clone();
        alipay_sign_with(&mut p, app_private_key());
        p
    };
    let (_, _, body) = sandbox
        .alipay_raw(&sandbox.running.http_url, Placement::Body, &demo_signed)
        .await;
    assert!(body.contains("isv.invalid-signature"));

    let (_, apps) = sandbox.admin(Method::GET, "/admin/alipay/apps", None).await;
    let ids: Vec<&str> = apps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["2021000000000001", "2021000000000555"]);
    assert_eq!(apps[1]["seller_balance"], 200);
}

#[tokio::test]
async fn admin_errors_and_reset() {
    let sandbox = start().await;
    let cases = [
        (
            Method::POST,
            "/admin/alipay/apps",
            Some(json!({"app_id": ALIPAY_APP})),
            409,
        ),
        (
            Method::POST,
            "/admin/alipay/apps",
            Some(json!({"app_id": "../x"})),
            400,
        ),
        (
            Method::PATCH,
            "/admin/alipay/apps/nope",
            Some(json!({"seller_balance": 1})),
            404,
        ),
        (
            Method::POST,
            "/admin/alipay/trades",
            Some(json!({"app_id": ALIPAY_APP, "total_amount": "1.001"})),
            400,
        ),
        (
            Method::POST,
            "/admin/alipay/trades",
            Some(json!({"app_id": ALIPAY_APP, "total_amount": 1})),
            400,
        ),
        (
            Method::POST,
            "/admin/alipay/trades",
            Some(json!({"app_id": ALIPAY_APP, "total_amount": "1", "total_fen": 100})),
            400,
        ),
        (
            Method::POST,
            "/admin/alipay/trades",
            Some(json!({"app_id": "nope", "total_fen": 100})),
            404,
        ),
        (
            Method::POST,
            "/admin/alipay/trades",
            Some(
                json!({"app_id": ALIPAY_APP, "out_trade_no": "demo-trade-0001", "total_fen": 100}),
            ),
            409,
        ),
        (Method::POST, "/admin/alipay/trades/nope/pay", None, 404),
        (
            Method::POST,
            "/admin/alipay/trades/demo-trade-0001/pay",
            None,
            409,
        ),
        (
            Method::POST,
            "/admin/alipay/trades/demo-trade-0007/finish",
            None,
            409,
        ),
        (
            Method::POST,
            "/admin/alipay/trades/demo-trade-0001/explode",
            None,
            404,
        ),
    ];
    for (method, path, body, status) in cases {
        let (got, value) = sandbox.admin(method.clone(), path, body.clone()).await;
        assert_eq!(got, status, "{method} {path} {body:?}: {value}");
        assert!(value["error"].is_string());
    }
    let seeded = sandbox
        .seed_trade("yuan-1", "12.30", json!({"status": "WAIT_BUYER_PAY"}))
        .await;
    assert_eq!(seeded["total_amount"], 1230);
    assert_eq!(seeded["total_yuan"], "12.30");
    assert_eq!(seeded["trade_status"], "WAIT_BUYER_PAY");
    sandbox
        .alipay(
            REFUND,
            json!({"out_trade_no": "demo-trade-0002", "refund_amount": "1", "out_request_no": "x"}),
        )
        .await;
    let (_, refunds) = sandbox
        .admin(Method::GET, "/admin/alipay/refunds", None)
        .await;
    assert_eq!(refunds[0]["out_request_no"], "x");
    assert_eq!(refunds[0]["refund_yuan"], "1.00");
    let (_, trades) = sandbox
        .admin(
            Method::GET,
            &format!("/admin/alipay/trades?app_id={ALIPAY_APP}"),
            None,
        )
        .await;
    assert_eq!(trades.as_array().unwrap().len(), 8);

    sandbox.reset().await;
    let (_, trades) = sandbox
        .admin(Method::GET, "/admin/alipay/trades", None)
        .await;
    let trades = trades.as_array().unwrap();
    assert_eq!(trades.len(), 7);
    assert!(trades.iter().all(|t| t["refunded"] == 0));
    // The demo keys survive a reset: the same client keeps working.
    assert_eq!(query(&sandbox, "demo-trade-0002").await["code"], "10000");
    let (_, index) = sandbox.admin(Method::GET, "/admin", None).await;
    assert!(
        index["endpoints"]
            .to_string()
            .contains("/admin/alipay/trades")
    );
}
