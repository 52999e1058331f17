//! Every call against the sandbox, and what goes over the wire.

use paysandbox_sdk::alipay::{
    Fen, PrecreateRequest, RefundQuery, RefundRequest, RefundStatus, SignType, TradeId,
    TradeStatus, refund_made,
};
use serde_json::{Value, json};

use crate::support::*;

/// Partial refunds: `fund_change` Y, `refund_fee` the cumulative total; the refund query
/// finds each by its request number.
#[tokio::test]
async fn partial_refunds_accumulate_and_are_found_by_request_number() {
    let sandbox = start().await;
    let client = sandbox.alipay_client();
    let first = client
        .trade_refund(&refund("demo-trade-0002", "part-1", 1000))
        .await
        .unwrap();
    assert_eq!(first.fund_change, Some(true));
    assert_eq!(first.refund_fee, Some(Fen(1000)));
    assert_eq!(first.out_trade_no.as_deref(), Some("demo-trade-0002"));
    assert!(first.trade_no.is_some());
    assert!(first.status.is_success());

    sandbox.advance(3).await;
    let second = client
        .trade_refund(
            &RefundRequest::builder()
                .trade_no(first.trade_no.clone().unwrap())
                .out_request_no("part-2")
                .refund_amount(2345)
                .refund_reason("退货 / returned")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(second.fund_change, Some(true));
    assert_eq!(second.refund_fee, Some(Fen(3345)), "cumulative");

    let found = client
        .refund_query(
            &RefundQuery::new(TradeId::out_trade_no("demo-trade-0002"), "part-2")
                .with_query_option("gmt_refund_pay"),
        )
        .await
        .unwrap();
    assert!(refund_made(&found));
    assert_eq!(found.refund_status, Some(RefundStatus::RefundSuccess));
    assert_eq!(found.refund_amount, Some(Fen(2345)));
    assert_eq!(found.total_amount, Some(Fen(8888)));
    assert_eq!(found.out_request_no.as_deref(), Some("part-2"));
    assert_eq!(found.refund_reason.as_deref(), Some("退货 / returned"));
    assert_eq!(found.gmt_refund_pay.as_deref(), Some("2023-11-15 06:13:23"));

    // A request number never used: the query runs (10000) and says nothing was refunded.
    let none = client
        .refund_query(&RefundQuery::new(
            TradeId::out_trade_no("demo-trade-0002"),
            "never-made",
        ))
        .await
        .unwrap();
    assert!(!refund_made(&none));
    assert_eq!(none.refund_amount, None);

    let trade = client
        .trade_query(&TradeId::out_trade_no("demo-trade-0002"))
        .await
        .unwrap();
    assert_eq!(trade.trade_status, Some(TradeStatus::TradeSuccess));
    assert_eq!(trade.total_amount, Some(Fen(8888)));

    let refunds = sandbox.alipay_refunds().await;
    let mine: Vec<&Value> = refunds
        .iter()
        .filter(|r| r["out_trade_no"] == "demo-trade-0002")
        .collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(
        sandbox.alipay_trade("demo-trade-0002").await["refunded_yuan"],
        "33.45"
    );
}

/// The refund that reaches the total closes the trade; a later new refund is
/// ACQ.TRADE_HAS_CLOSE but the old one still replays.
#[tokio::test]
async fn a_full_refund_closes_the_trade() {
    let sandbox = start().await;
    let client = sandbox.alipay_client();
    // Without out_request_no: only allowed for the full amount; numbered by out_trade_no.
    let full = RefundRequest::builder()
        .out_trade_no("demo-trade-0001")
        .refund_amount(10_000)
        .omit_out_request_no()
        .build()
        .unwrap();
    let done = client.trade_refund(&full).await.unwrap();
    assert_eq!(done.fund_change, Some(true));
    assert_eq!(done.refund_fee, Some(Fen(10_000)));

    let trade = client
        .trade_query(&TradeId::out_trade_no("demo-trade-0001"))
        .await
        .unwrap();
    assert_eq!(trade.trade_status, Some(TradeStatus::TradeClosed));
    let by_trade_no = client
        .trade_query(&TradeId::trade_no(trade.trade_no.clone().unwrap()))
        .await
        .unwrap();
    assert_eq!(by_trade_no.trade_status, Some(TradeStatus::TradeClosed));

    // Its request number is the trade's out_trade_no.
    let found = client
        .refund_query(&RefundQuery::new(
            TradeId::out_trade_no("demo-trade-0001"),
            "demo-trade-0001",
        ))
        .await
        .unwrap();
    assert_eq!(found.refund_amount, Some(Fen(10_000)));

    sandbox.advance(3).await;
    let again = client.trade_refund(&full).await.unwrap();
    assert_eq!(
        again.fund_change,
        Some(false),
        "an idempotent repeat moves nothing"
    );
    assert_eq!(sandbox.alipay_refunds().await.len(), 1);
}

#[tokio::test]
async fn close_an_unpaid_trade() {
    let sandbox = start().await;
    let client = sandbox.alipay_client();
    let trade = TradeId::out_trade_no("demo-trade-0005");
    let closed = client.trade_close(&trade).await.unwrap();
    assert_eq!(closed.out_trade_no.as_deref(), Some("demo-trade-0005"));
    let state = client.trade_query(&trade).await.unwrap();
    assert_eq!(state.trade_status, Some(TradeStatus::TradeClosed));
    assert_eq!(state.receipt_amount, Some(Fen(0)));
}

/// precreate → the buyer scans and pays (admin API) → the trade refunds like any other.
#[tokio::test]
async fn precreate_pay_and_refund() {
    let sandbox = start().await;
    let client = sandbox.alipay_client();
    let order = PrecreateRequest::builder()
        .out_trade_no("sdk-qr-1")
        .total_amount(1999)
        .subject("一本书")
        .timeout_express("90m")
        .build()
        .unwrap();
    let qr = client.precreate(&order).await.unwrap();
    assert!(
        qr.qr_code
            .as_deref()
            .unwrap()
            .starts_with("https://qr.alipay.com/")
    );
    assert_eq!(client.precreate(&order).await.unwrap().qr_code, qr.qr_code);

    let trade = TradeId::out_trade_no("sdk-qr-1");
    let e = client.trade_query(&trade).await.unwrap_err();
    assert_eq!(
        e.sub_code().map(|s| s.as_str()),
        Some("ACQ.TRADE_NOT_EXIST")
    );

    let admin = sandbox.admin_client();
    let pay = admin.trade_action("sdk-qr-1", TradeAction::Pay, "", json!({}));
    pay.await.unwrap();
    let paid = client.trade_query(&trade).await.unwrap();
    assert_eq!(paid.trade_status, Some(TradeStatus::TradeSuccess));
    assert_eq!(paid.total_amount, Some(Fen(1999)));
    let refunded = client
        .trade_refund(&refund("sdk-qr-1", "qr-refund-1", 1999))
        .await
        .unwrap();
    assert_eq!(refunded.refund_fee, Some(Fen(1999)));
    let closed = client.trade_query(&trade).await.unwrap();
    assert_eq!(closed.trade_status, Some(TradeStatus::TradeClosed));
}

/// POST, every parameter in the form body, the common parameters as documented, the
/// timestamp in Beijing time from the injected clock, biz_content with yuan amounts.
#[tokio::test]
async fn what_goes_over_the_wire() {
    let sandbox = start().await;
    let client = sandbox
        .alipay_builder()
        .clock(sandbox.clock())
        .build()
        .unwrap();
    client
        .trade_refund(
            &RefundRequest::builder()
                .out_trade_no("demo-trade-0002")
                .out_request_no("wire-1")
                .refund_amount(150)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let entries = sandbox.gateway_journal("alipay.trade.refund").await;
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e["method"], "POST");
    for (name, value) in [
        ("app_id", ALIPAY_APP),
        ("charset", "utf-8"),
        ("format", "JSON"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
        ("timestamp", "2023-11-15 06:13:20"),
        (
            "biz_content",
            r#"{"out_trade_no":"demo-trade-0002","refund_amount":"1.50","out_request_no":"wire-1"}"#,
        ),
    ] {
        assert_eq!(sent(e, name), Some(value), "{name}");
    }
    assert_eq!(
        sent(e, "sign").map(str::len),
        Some(344),
        "2048-bit RSA, base64"
    );
    assert_eq!(e["request"].as_array().unwrap().len(), 9);
}

/// RSA (SHA1withRSA) both ways: requests signed and answers verified with it.
#[tokio::test]
async fn rsa_and_rsa2() {
    let sandbox = start().await;
    for (sign_type, no) in [(SignType::Rsa, "rsa-1"), (SignType::Rsa2, "rsa2-1")] {
        let client = sandbox
            .alipay_builder()
            .sign_type(sign_type)
            .build()
            .unwrap();
        assert_eq!(client.sign_type(), sign_type);
        let query = client
            .trade_query(&TradeId::out_trade_no("demo-trade-0002"))
            .await
            .unwrap();
        assert!(query.status.is_success());
        client
            .trade_refund(&refund("demo-trade-0002", no, 100))
            .await
            .unwrap();
        sandbox.advance(3).await;
        let last = sandbox
            .gateway_journal("alipay.trade.refund")
            .await
            .pop()
            .unwrap();
        assert_eq!(sent(&last, "sign_type"), Some(sign_type.as_str()));
        assert_eq!(last["outcome"], "SUCCESS");
    }
}

/// The plain-HTTP listener works too (`http://127.0.0.1:8080/gateway.do` in `serve`).
#[tokio::test]
async fn plain_http_gateway() {
    let sandbox = start().await;
    let client = sandbox
        .alipay_builder()
        .gateway_url(format!("{}/gateway.do", sandbox.running.http_url))
        .build()
        .unwrap();
    let trade = client
        .trade_query(&TradeId::out_trade_no("demo-trade-0004"))
        .await
        .unwrap();
    assert_eq!(trade.trade_status, Some(TradeStatus::TradeFinished));
}

/// Characters that matter to form encoding, the canonical string or the node's signed bytes
/// survive the round trip: signed as sent, stored, and answered verbatim.
#[tokio::test]
async fn awkward_characters_round_trip() {
    let sandbox = start().await;
    let client = sandbox.alipay_client();
    let reason = r#"退款 a&b=c+d%20 {"x":[1]} \ 'q' é 🧾"#;
    client
        .trade_refund(
            &RefundRequest::builder()
                .out_trade_no("demo-trade-0002")
                .out_request_no("odd+chars&=%")
                .refund_amount(1)
                .refund_reason(reason)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let found = client
        .refund_query(&RefundQuery::new(
            TradeId::out_trade_no("demo-trade-0002"),
            "odd+chars&=%",
        ))
        .await
        .unwrap();
    assert_eq!(found.refund_reason.as_deref(), Some(reason));
    assert_eq!(found.out_request_no.as_deref(), Some("odd+chars&=%"));
}
