//! `alipay.trade.refund`: the success answer and every business code under its rule, through
//! real HTTPS with every answer's signature checked.

use paysandbox_protocol::alipay::TradeRefundResponse;
use paysandbox_protocol::money::Fen;
use serde_json::{Value, json};

use crate::support::*;

const REFUND: &str = "alipay.trade.refund";

async fn refund(sandbox: &Sandbox, trade: &str, amount: Value, request_no: Option<&str>) -> Value {
    let mut biz = json!({ "out_trade_no": trade, "refund_amount": amount });
    if let Some(no) = request_no {
        biz["out_request_no"] = json!(no);
    }
    sandbox.alipay(REFUND, biz).await
}

async fn trade_status(sandbox: &Sandbox, trade: &str) -> Value {
    sandbox
        .alipay("alipay.trade.query", json!({ "out_trade_no": trade }))
        .await
}

#[tokio::test]
async fn partial_refund_answers_every_field_with_cumulative_refund_fee() {
    let sandbox = start().await;
    let node = refund(&sandbox, "demo-trade-0002", json!("10.00"), Some("p1")).await;
    let parsed: TradeRefundResponse = serde_json::from_value(node.clone()).unwrap();
    assert!(parsed.status.is_success());
    assert_eq!(node["msg"], "Success");
    assert_eq!(parsed.fund_change, Some(true));
    assert_eq!(parsed.refund_fee, Some(Fen(1000)));
    assert_eq!(parsed.send_back_fee, Some(Fen(0)));
    assert_eq!(parsed.out_trade_no.as_deref(), Some("demo-trade-0002"));
    assert_eq!(parsed.trade_no.as_ref().unwrap().len(), 28);
    assert_eq!(parsed.buyer_logon_id.as_deref(), Some("csq***@sandbox.com"));
    assert_eq!(parsed.buyer_user_id.as_deref(), Some("2088102177846880"));
    // Beijing time of the frozen clock (2023-11-14 22:13:20 UTC).
    assert_eq!(
        parsed.gmt_refund_pay.as_deref(),
        Some("2023-11-15 06:13:20")
    );
    assert_eq!(node.get("sub_code"), None);

    // A second part three seconds later: refund_fee is the trade's total so far.
    sandbox.advance(3).await;
    let node = refund(&sandbox, "demo-trade-0002", json!("0.88"), Some("p2")).await;
    assert_eq!(node["refund_fee"], "10.88");
    assert_eq!(node["gmt_refund_pay"], "2023-11-15 06:13:23");
    let status = trade_status(&sandbox, "demo-trade-0002").await;
    assert_eq!(status["trade_status"], "TRADE_SUCCESS");
}

#[tokio::test]
async fn same_out_request_no_and_amount_is_success_with_fund_change_n() {
    let sandbox = start().await;
    let first = refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("same")).await;
    // Immediately (inside the 3 s spacing) and much later: the same answer, no money moved.
    let again = refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("same")).await;
    sandbox.advance(86_400).await;
    let later = refund(&sandbox, "demo-trade-0002", json!(1), Some("same")).await;
    for node in [&again, &later] {
        assert_eq!(node["code"], "10000");
        assert_eq!(node["fund_change"], "N");
        assert_eq!(node["refund_fee"], "1.00");
        assert_eq!(node["trade_no"], first["trade_no"]);
        assert_eq!(node["gmt_refund_pay"], first["gmt_refund_pay"]);
    }
    let world = sandbox.running.state.world();
    assert_eq!(world.alipay.refunds(Some(ALIPAY_APP)).count(), 1);
}

#[tokio::test]
async fn same_out_request_no_with_another_amount_is_discordant_repeat_request() {
    let sandbox = start().await;
    refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("same")).await;
    sandbox.advance(10).await;
    let node = refund(&sandbox, "demo-trade-0002", json!("1.01"), Some("same")).await;
    assert_acq(&node, "ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致");
    // The failure node carries out_trade_no, the cumulative refund_fee and send_back_fee.
    assert_eq!(node["out_trade_no"], "demo-trade-0002");
    assert_eq!(node["refund_fee"], "1.00");
    assert_eq!(node["send_back_fee"], "0.00");
}

#[tokio::test]
async fn full_refund_without_out_request_no_closes_the_trade() {
    let sandbox = start().await;
    let partial = refund(&sandbox, "demo-trade-0001", json!("99.99"), None).await;
    assert_acq(
        &partial,
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
        "撤销或退款金额与订单金额不一致",
    );
    assert_eq!(partial["refund_fee"], "0.00");
    let full = refund(&sandbox, "demo-trade-0001", json!("100.00"), None).await;
    assert_eq!(full["fund_change"], "Y");
    assert_eq!(full["refund_fee"], "100.00");
    let status = trade_status(&sandbox, "demo-trade-0001").await;
    assert_eq!(status["trade_status"], "TRADE_CLOSED");
    // Its number is the out_trade_no: a replay by either form is fund_change N.
    sandbox.advance(5).await;
    let replay = refund(&sandbox, "demo-trade-0001", json!("100.00"), None).await;
    assert_eq!(replay["fund_change"], "N");
    let explicit = refund(
        &sandbox,
        "demo-trade-0001",
        json!("100"),
        Some("demo-trade-0001"),
    )
    .await;
    assert_eq!(explicit["fund_change"], "N");
    // Any new refund of the closed trade.
    let node = refund(&sandbox, "demo-trade-0001", json!("0.01"), Some("late")).await;
    assert_acq(&node, "ACQ.TRADE_HAS_CLOSE", "交易已关闭");
    assert_eq!(node["refund_fee"], "100.00");
}

#[tokio::test]
async fn amounts_above_the_total_or_the_remainder() {
    let sandbox = start().await;
    let node = refund(&sandbox, "demo-trade-0002", json!("88.89"), Some("big")).await;
    assert_acq(
        &node,
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
        "撤销或退款金额与订单金额不一致",
    );
    refund(&sandbox, "demo-trade-0002", json!("80.00"), Some("a")).await;
    sandbox.advance(3).await;
    let node = refund(&sandbox, "demo-trade-0002", json!("8.89"), Some("b")).await;
    assert_acq(&node, "ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额无效");
    assert_eq!(node["refund_fee"], "80.00");
    let last = refund(&sandbox, "demo-trade-0002", json!("8.88"), Some("b")).await;
    assert_eq!(last["refund_fee"], "88.88");
    assert_eq!(
        trade_status(&sandbox, "demo-trade-0002").await["trade_status"],
        "TRADE_CLOSED"
    );
}

#[tokio::test]
async fn refunds_of_one_trade_must_be_three_seconds_apart() {
    let sandbox = start().await;
    refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("s1")).await;
    sandbox
        .admin_post("/admin/clock/advance", json!({ "millis": 2_999 }))
        .await;
    let node = refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("s2")).await;
    assert_acq(&node, "ACQ.SYSTEM_ERROR", "系统错误");
    // The documented handling of SYSTEM_ERROR: retry the same request; after 3 s it runs.
    sandbox
        .admin_post("/admin/clock/advance", json!({ "millis": 1 }))
        .await;
    let node = refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("s2")).await;
    assert_eq!(node["fund_change"], "Y");
    assert_eq!(node["refund_fee"], "2.00");
    let (_, journal) = sandbox
        .admin(reqwest::Method::GET, "/admin/journal?limit=2", None)
        .await;
    assert_eq!(
        journal[0]["outcome"],
        "ACQ.SYSTEM_ERROR (refunds of one trade must be 3 s apart)"
    );
}

#[tokio::test]
async fn spacing_can_be_turned_off() {
    let sandbox = start_with(|c| c.alipay_rules.refund_spacing = std::time::Duration::ZERO).await;
    refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("s1")).await;
    let node = refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("s2")).await;
    assert_eq!(node["fund_change"], "Y");
}

#[tokio::test]
async fn unknown_and_foreign_trades_do_not_exist() {
    let sandbox = start().await;
    let node = refund(&sandbox, "no-such-trade", json!("1.00"), Some("x")).await;
    assert_acq(&node, "ACQ.TRADE_NOT_EXIST", "交易不存在");
    assert_eq!(node["out_trade_no"], "no-such-trade");
    assert_eq!(node["refund_fee"], "0.00");
    let node = sandbox
        .alipay(
            REFUND,
            json!({"trade_no": "2023111522001234567890123456", "refund_amount": "1.00"}),
        )
        .await;
    assert_acq(&node, "ACQ.TRADE_NOT_EXIST", "交易不存在");
    assert_eq!(node["trade_no"], "2023111522001234567890123456");

    // A trade of another app, by out_trade_no and by trade_no.
    sandbox
        .admin_post(
            "/admin/alipay/apps",
            json!({ "app_id": "2021000000000777" }),
        )
        .await;
    let other = sandbox
        .admin_post(
            "/admin/alipay/trades",
            json!({ "app_id": "2021000000000777", "out_trade_no": "theirs", "total_fen": 100 }),
        )
        .await;
    let node = refund(&sandbox, "theirs", json!("1.00"), None).await;
    assert_acq(&node, "ACQ.TRADE_NOT_EXIST", "交易不存在");
    let node = sandbox
        .alipay(
            REFUND,
            json!({"trade_no": other["trade_no"], "refund_amount": "1.00"}),
        )
        .await;
    assert_acq(&node, "ACQ.TRADE_NOT_EXIST", "交易不存在");
}

#[tokio::test]
async fn trade_no_wins_over_out_trade_no() {
    let sandbox = start().await;
    let trade = trade_status(&sandbox, "demo-trade-0002").await;
    let node = sandbox
        .alipay(
            REFUND,
            json!({"trade_no": trade["trade_no"], "out_trade_no": "demo-trade-0001",
                   "refund_amount": "1.00", "out_request_no": "w1"}),
        )
        .await;
    assert_eq!(node["code"], "10000");
    assert_eq!(node["out_trade_no"], "demo-trade-0002");
}

#[tokio::test]
async fn each_trade_state_has_its_code() {
    let sandbox = start().await;
    let cases = [
        (
            "demo-trade-0003",
            "ACQ.REASON_TRADE_BEEN_FREEZEN",
            "请求退款的交易被冻结",
        ),
        ("demo-trade-0004", "ACQ.TRADE_HAS_FINISHED", "交易已完结"),
        ("demo-trade-0005", "ACQ.TRADE_STATUS_ERROR", "交易状态非法"),
        ("demo-trade-0006", "ACQ.TRADE_HAS_FINISHED", "交易已完结"),
        ("demo-trade-0007", "ACQ.TRADE_HAS_CLOSE", "交易已关闭"),
    ];
    for (trade, sub_code, sub_msg) in cases {
        let node = refund(&sandbox, trade, json!("1.00"), Some("r")).await;
        assert_acq(&node, sub_code, sub_msg);
    }
    // Unfreeze through the admin API and the frozen trade refunds.
    sandbox
        .admin_post(
            "/admin/alipay/trades/demo-trade-0003/freeze",
            json!({ "frozen": false }),
        )
        .await;
    let node = refund(&sandbox, "demo-trade-0003", json!("1.00"), Some("r")).await;
    assert_eq!(node["code"], "10000");
}

#[tokio::test]
async fn the_refund_period_runs_on_the_sandbox_clock() {
    let sandbox = start().await;
    sandbox
        .seed_trade("young", "5.00", json!({ "paid_seconds_ago": 364 * 86_400 }))
        .await;
    let node = refund(&sandbox, "young", json!("1.00"), Some("r1")).await;
    assert_eq!(node["code"], "10000");
    sandbox.advance(2 * 86_400).await;
    let node = refund(&sandbox, "young", json!("1.00"), Some("r2")).await;
    assert_acq(&node, "ACQ.TRADE_HAS_FINISHED", "交易已完结");
    assert_eq!(
        trade_status(&sandbox, "young").await["trade_status"],
        "TRADE_FINISHED"
    );
    // Finishing through the admin API does the same at once.
    sandbox
        .admin_post("/admin/alipay/trades/demo-trade-0002/finish", json!({}))
        .await;
    let node = refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("r")).await;
    assert_acq(&node, "ACQ.TRADE_HAS_FINISHED", "交易已完结");
}

#[tokio::test]
async fn seller_balance_not_enough_then_topped_up_and_retried() {
    let sandbox = start().await;
    let (status, _) = sandbox
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/alipay/apps/{ALIPAY_APP}"),
            Some(json!({ "seller_balance": 99 })),
        )
        .await;
    assert_eq!(status, 200);
    let node = refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("b1")).await;
    assert_acq(&node, "ACQ.SELLER_BALANCE_NOT_ENOUGH", "卖家余额不足");
    sandbox
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/alipay/apps/{ALIPAY_APP}"),
            Some(json!({ "seller_balance": 100 })),
        )
        .await;
    let node = refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("b1")).await;
    assert_eq!(node["fund_change"], "Y");
    let (_, apps) = sandbox
        .admin(reqwest::Method::GET, "/admin/alipay/apps", None)
        .await;
    assert_eq!(apps[0]["seller_balance"], 0);
}

#[tokio::test]
async fn amounts_are_exact_yuan_and_bad_ones_are_invalid_parameter() {
    let sandbox = start().await;
    // A JSON number as the Java samples send, one decimal, an integer: all exact.
    for (i, (amount, total)) in [
        (json!(0.1), "0.10"),
        (json!("0.2"), "0.30"),
        (json!(3), "3.30"),
    ]
    .into_iter()
    .enumerate()
    {
        sandbox.advance(3).await;
        let node = refund(&sandbox, "demo-trade-0002", amount, Some(&format!("n{i}"))).await;
        assert_eq!(node["refund_fee"], total, "{node}");
    }
    for bad in [
        json!("1.001"),
        json!("0"),
        json!("0.00"),
        json!("-1"),
        json!("abc"),
        json!("1e2"),
        json!(" 1"),
        json!(true),
        json!("100000000.01"),
    ] {
        let node = refund(&sandbox, "demo-trade-0002", bad.clone(), Some("bad")).await;
        assert_acq(&node, "ACQ.INVALID_PARAMETER", "参数无效");
    }
    let node = sandbox
        .alipay(
            REFUND,
            json!({"out_trade_no": "demo-trade-0002", "out_request_no": "x"}),
        )
        .await;
    assert_acq(&node, "ACQ.INVALID_PARAMETER", "参数无效");
}

#[tokio::test]
async fn refund_detail_item_list_on_request() {
    let sandbox = start().await;
    let node = sandbox
        .alipay(
            REFUND,
            json!({"out_trade_no": "demo-trade-0002", "refund_amount": "2.50",
                   "out_request_no": "d1", "query_options": ["refund_detail_item_list"]}),
        )
        .await;
    assert_eq!(node["send_back_fee"], "2.50");
    assert_eq!(
        node["refund_detail_item_list"],
        json!([{"amount": "2.50", "fund_channel": "ALIPAYACCOUNT", "real_amount": "2.50"}])
    );
}

#[tokio::test]
async fn injected_system_error_before_and_after_the_refund() {
    let sandbox = start().await;
    sandbox
        .fault(Fault::err_code("alipay.trade.refund", "ACQ.SYSTEM_ERROR"))
        .await;
    let node = refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("f1")).await;
    assert_acq(&node, "ACQ.SYSTEM_ERROR", "系统错误");
    assert_eq!(
        sandbox.running.state.world().alipay.refunds(None).count(),
        0
    );

    // After apply: the money moved but the client saw SYSTEM_ERROR; the retry with the same
    // out_request_no and amount is the idempotent success.
    sandbox
        .fault(Fault::err_code("alipay.trade.refund", "ACQ.SYSTEM_ERROR").after_apply(true))
        .await;
    let node = refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("f1")).await;
    assert_acq(&node, "ACQ.SYSTEM_ERROR", "系统错误");
    let retry = refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("f1")).await;
    assert_eq!(retry["fund_change"], "N");
    assert_eq!(retry["refund_fee"], "1.00");

    // 20000 by prefix, and a bare HTTP status; other methods are untouched.
    sandbox
        .fault(Fault::err_code("alipay.trade.refund", "isp.unknow-error"))
        .await;
    sandbox
        .fault(Fault::http_status("alipay.trade.refund", 502))
        .await;
    let status = trade_status(&sandbox, "demo-trade-0002").await;
    assert_eq!(status["code"], "10000");
    let node = refund(&sandbox, "demo-trade-0002", json!("1.00"), Some("f1")).await;
    assert_eq!(node["code"], "20000");
    assert_eq!(node["msg"], "Service Currently Unavailable");
    assert_eq!(node["sub_code"], "isp.unknow-error");
    assert_eq!(node["sub_msg"], "系统繁忙");
    let params = alipay_signed(
        REFUND,
        &json!({"out_trade_no": "demo-trade-0002", "refund_amount": "1.00", "out_request_no": "f1"}),
    );
    let (status, _, body) = sandbox
        .alipay_raw(&sandbox.running.api_url, Placement::Split, &params)
        .await;
    assert_eq!((status, body.as_str()), (502, ""));

    // Something that is not a sub_code is refused up front.
    let (status, _) = sandbox
        .admin(
            reqwest::Method::POST,
            "/admin/faults",
            Some(json!({"endpoint": "alipay.trade.refund", "err_code": "SYSTEMERROR"})),
        )
        .await;
    assert_eq!(status, 400);
}

/// Many clients refunding one trade at once, each twice with its own out_request_no: never
/// more than was paid, every repeat answered like its first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refunds_of_one_trade_never_exceed_it() {
    let sandbox = start_with(|c| c.alipay_rules.refund_spacing = std::time::Duration::ZERO).await;
    let sandbox = std::sync::Arc::new(sandbox);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let sandbox = sandbox.clone();
        tasks.push(tokio::spawn(async move {
            let no = format!("c{i}");
            let a = refund(&sandbox, "demo-trade-0002", json!("8.00"), Some(&no)).await;
            let b = refund(&sandbox, "demo-trade-0002", json!("8.00"), Some(&no)).await;
            (a, b)
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        let (a, b) = task.await.unwrap();
        assert_eq!(a["code"], b["code"]);
        if a["code"] == "10000" {
            assert_eq!(a["fund_change"], "Y");
            assert_eq!(b["fund_change"], "N");
            accepted += 1;
        } else {
            assert_acq(&a, "ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额无效");
        }
    }
    assert_eq!(accepted, 11, "11 × 8.00 fit in 88.88, a 12th does not");
    let world = sandbox.running.state.world();
    let trade = world
        .alipay
        .trades(Some(ALIPAY_APP))
        .find(|t| t.out_trade_no == "demo-trade-0002")
        .unwrap();
    assert_eq!(trade.refunded, 8_800);
    assert_eq!(world.alipay.refunds(Some(ALIPAY_APP)).count(), 11);
}
