//! Every refund, query and close refusal surfaces as [`Error::Gateway`] with its code and
//! sub_code, and says whether a retry may help and whether the refund may have happened.

use paysandbox_sdk::alipay::{
    Client, Error, GatewayCode, RefundQuery, RefundRequest, SubCode, TradeId,
};
use serde_json::json;

use crate::support::*;

/// Asserts a gateway error and returns its sub_msg.
#[track_caller]
fn expect(
    result: Result<impl std::fmt::Debug, Error>,
    code: GatewayCode,
    sub_code: SubCode,
) -> String {
    match result {
        Err(Error::Gateway {
            code: c,
            msg,
            sub_code: s,
            sub_msg,
        }) => {
            assert_eq!((&c, &s), (&code, &sub_code), "{msg} {sub_msg}");
            assert_eq!(msg, code.msg());
            sub_msg
        }
        other => panic!("expected {code} {sub_code}, got {other:?}"),
    }
}

#[track_caller]
fn business(result: Result<impl std::fmt::Debug, Error>, sub_code: SubCode) -> Error {
    let e = match result {
        Err(e) => e,
        Ok(v) => panic!("expected {sub_code}, got {v:?}"),
    };
    assert!(e.is_business(), "{e}");
    assert_eq!(e.sub_code(), Some(&sub_code), "{e}");
    assert_eq!(e.gateway_code(), Some(&GatewayCode::BusinessFailed));
    e
}

/// A final refusal: nothing happened, and sending it again cannot help.
#[track_caller]
fn assert_final(e: &Error) {
    assert!(!e.is_retryable(), "{e}");
    assert!(!e.is_outcome_unknown(), "{e}");
}

async fn refund_of(client: &Client, out_trade_no: &str, no: &str, fen: u64) -> Result<(), Error> {
    client
        .trade_refund(&refund(out_trade_no, no, fen))
        .await
        .map(drop)
}

#[tokio::test]
async fn trade_not_exist_on_every_call() {
    let sandbox = start().await;
    let client = sandbox.alipay_client();
    let nowhere = TradeId::out_trade_no("no-such-trade");
    let e = business(
        refund_of(&client, "no-such-trade", "r-1", 100).await,
        SubCode::AcqTradeNotExist,
    );
    assert_final(&e);
    let e = business(
        client
            .refund_query(&RefundQuery::new(nowhere.clone(), "r-1"))
            .await,
        SubCode::AcqTradeNotExist,
    );
    // The refund query's own text (spec §5.4).
    assert!(e.to_string().contains("查询退款的交易不存在"), "{e}");
    business(
        client.trade_query(&nowhere).await,
        SubCode::AcqTradeNotExist,
    );
    business(
        client.trade_close(&nowhere).await,
        SubCode::AcqTradeNotExist,
    );
    business(
        client
            .trade_query(&TradeId::trade_no("2099010122001400000000000000"))
            .await,
        SubCode::AcqTradeNotExist,
    );
}

/// The same request number with another amount.
#[tokio::test]
async fn discordant_repeat_request() {
    let sandbox = start().await;
    let client = sandbox.alipay_client();
    refund_of(&client, "demo-trade-0002", "repeat-1", 500)
        .await
        .unwrap();
    sandbox.advance(3).await;
    let e = business(
        refund_of(&client, "demo-trade-0002", "repeat-1", 501).await,
        SubCode::AcqDiscordantRepeatRequest,
    );
    assert_final(&e);
    // The same amount is an idempotent success.
    let again = client
        .trade_refund(&refund("demo-trade-0002", "repeat-1", 500))
        .await
        .unwrap();
    assert_eq!(again.fund_change, Some(false));
    assert_eq!(sandbox.alipay_refunds().await.len(), 1);
}

/// Cumulative refunds above the total, and one refund above the total.
#[tokio::test]
async fn refund_fee_err_and_amount_not_equal_total() {
    let sandbox = start().await;
    let client = sandbox.alipay_client();
    refund_of(&client, "demo-trade-0002", "fee-1", 8000)
        .await
        .unwrap();
    sandbox.advance(3).await;
    let e = business(
        refund_of(&client, "demo-trade-0002", "fee-2", 889).await,
        SubCode::AcqReasonTradeRefundFeeErr,
    );
    assert_final(&e);
    let e = business(
        refund_of(&client, "demo-trade-0002", "fee-3", 8889).await,
        SubCode::AcqRefundAmtNotEqualTotal,
    );
    assert_final(&e);
    // A partial refund without out_request_no.
    let partial = RefundRequest::builder()
        .out_trade_no("demo-trade-0001")
        .refund_amount(100)
        .omit_out_request_no()
        .build()
        .unwrap();
    business(
        client.trade_refund(&partial).await,
        SubCode::AcqRefundAmtNotEqualTotal,
    );
    // What is left is still refundable.
    let rest = client
        .trade_refund(&refund("demo-trade-0002", "fee-4", 888))
        .await
        .unwrap();
    assert_eq!(rest.refund_fee.map(|f| f.0), Some(8888));
}

/// The demo trades in each refusing state.
#[tokio::test]
async fn trade_states_that_refuse_refunds() {
    let sandbox = start().await;
    let client = sandbox.alipay_client();
    for (trade, sub_code) in [
        ("demo-trade-0003", SubCode::AcqReasonTradeBeenFreezen),
        ("demo-trade-0004", SubCode::AcqTradeHasFinished),
        ("demo-trade-0005", SubCode::AcqTradeStatusError),
        ("demo-trade-0006", SubCode::AcqTradeHasFinished),
        ("demo-trade-0007", SubCode::AcqTradeHasClose),
    ] {
        let e = business(refund_of(&client, trade, "state-1", 100).await, sub_code);
        assert_final(&e);
    }
    // A fully refunded trade is closed too.
    refund_of(&client, "demo-trade-0001", "all", 10_000)
        .await
        .unwrap();
    sandbox.advance(3).await;
    business(
        refund_of(&client, "demo-trade-0001", "more", 1).await,
        SubCode::AcqTradeHasClose,
    );
    // Closing anything but an unpaid trade.
    for trade in ["demo-trade-0002", "demo-trade-0004", "demo-trade-0007"] {
        business(
            client.trade_close(&TradeId::out_trade_no(trade)).await,
            SubCode::AcqTradeStatusError,
        );
    }
    assert!(sandbox.alipay_refunds().await.len() == 1);
}

/// The seller's balance: retryable once topped up, but not retried automatically.
#[tokio::test]
async fn seller_balance_not_enough() {
    let sandbox = start().await;
    let client = sandbox
        .alipay_builder()
        .retry(paysandbox_sdk::retry::RetryPolicy::new(3))
        .build()
        .unwrap();
    let admin = sandbox.admin_client();
    let seller_balance = |fen: u64| json!({ "seller_balance": fen });
    admin
        .update_app(ALIPAY_APP, seller_balance(99))
        .await
        .unwrap();
    let request = refund("demo-trade-0002", "balance-1", 100);
    let e = business(
        client.trade_refund(&request).await,
        SubCode::AcqSellerBalanceNotEnough,
    );
    assert!(e.is_retryable() && !e.is_outcome_unknown());
    assert_eq!(
        sandbox.gateway_journal("alipay.trade.refund").await.len(),
        1
    );
    admin
        .update_app(ALIPAY_APP, seller_balance(100))
        .await
        .unwrap();
    let done = client.trade_refund(&request).await.unwrap();
    assert_eq!(done.fund_change, Some(true));
}

/// Two refunds of one trade less than 3 s apart: ACQ.SYSTEM_ERROR, outcome unknown and
/// retryable; the same request succeeds once the 3 s have passed.
#[tokio::test]
async fn system_error_from_refund_spacing() {
    let sandbox = start().await;
    let client = sandbox.alipay_client();
    refund_of(&client, "demo-trade-0002", "space-1", 100)
        .await
        .unwrap();
    let second = refund("demo-trade-0002", "space-2", 200);
    let e = business(client.trade_refund(&second).await, SubCode::AcqSystemError);
    assert!(e.is_retryable() && e.is_outcome_unknown());
    sandbox.advance(3).await;
    let done = client.trade_refund(&second).await.unwrap();
    assert_eq!(done.fund_change, Some(true));
    assert_eq!(done.refund_fee.map(|f| f.0), Some(300));
}

/// Injected platform failures: ACQ.SYSTEM_ERROR (40004) and isp.unknow-error (20000), on
/// refunds and on queries.
#[tokio::test]
async fn injected_system_errors() {
    let sandbox = start().await;
    let client = sandbox.alipay_client();
    sandbox
        .fault(Fault::err_code("alipay.trade.refund", "ACQ.SYSTEM_ERROR"))
        .await;
    let e = business(
        refund_of(&client, "demo-trade-0002", "inj-1", 100).await,
        SubCode::AcqSystemError,
    );
    assert!(e.is_retryable() && e.is_outcome_unknown());
    assert!(
        sandbox.alipay_refunds().await.is_empty(),
        "injected before the ledger"
    );

    sandbox
        .fault(Fault::err_code("alipay.trade.refund", "isp.unknow-error"))
        .await;
    let e = refund_of(&client, "demo-trade-0002", "inj-1", 100).await;
    let e = match e {
        Err(e) => e,
        Ok(()) => panic!("expected isp.unknow-error"),
    };
    assert_eq!(e.gateway_code(), Some(&GatewayCode::ServiceUnavailable));
    assert_eq!(e.sub_code(), Some(&SubCode::IspUnknowError));
    assert!(!e.is_business() && e.is_retryable() && e.is_outcome_unknown());

    sandbox
        .fault(Fault::err_code(
            "alipay.trade.fastpay.refund.query",
            "ACQ.SYSTEM_ERROR",
        ))
        .await;
    business(
        client
            .refund_query(&RefundQuery::new(
                TradeId::out_trade_no("demo-trade-0002"),
                "inj-1",
            ))
            .await,
        SubCode::AcqSystemError,
    );
    sandbox
        .fault(Fault::err_code("alipay.trade.query", "ACQ.SYSTEM_ERROR"))
        .await;
    business(
        client
            .trade_query(&TradeId::out_trade_no("demo-trade-0002"))
            .await,
        SubCode::AcqSystemError,
    );
    sandbox
        .fault(Fault::err_code("alipay.trade.close", "ACQ.SYSTEM_ERROR"))
        .await;
    business(
        client
            .trade_close(&TradeId::out_trade_no("demo-trade-0005"))
            .await,
        SubCode::AcqSystemError,
    );
}

/// Signed with a key the gateway does not know for the app: 40002 isv.invalid-signature,
/// itself signed, whose sub_msg shows the string the gateway verified.
#[tokio::test]
async fn invalid_signature_with_a_wrong_app_key() {
    let sandbox = start().await;
    // A well-formed key that is not the app's.
    let other = paysandbox_certs::generate_rsa_keypair(1024).unwrap();
    let client = sandbox
        .alipay_builder()
        .app_private_key(other.private_pkcs1_pem)
        .build()
        .unwrap();
    let sub_msg = expect(
        client
            .trade_refund(&refund("demo-trade-0002", "badsig-1", 100))
            .await,
        GatewayCode::InvalidArguments,
        SubCode::IsvInvalidSignature,
    );
    assert!(sub_msg.contains("验签出错"), "{sub_msg}");
    assert!(sub_msg.contains("method=alipay.trade.refund"), "{sub_msg}");
    let e = client
        .trade_query(&TradeId::out_trade_no("demo-trade-0002"))
        .await
        .unwrap_err();
    assert!(!e.is_business());
    assert_final(&e);
    assert!(sandbox.alipay_refunds().await.is_empty());
}

/// An app the gateway does not know: 40002 isv.invalid-app-id, unsigned (it has no key to
/// sign with), accepted as the gateway's answer.
#[tokio::test]
async fn invalid_app_id() {
    let sandbox = start().await;
    let client = Client::builder("2021009999999999")
        .gateway_url(sandbox.gateway())
        .public_roots(false)
        .extra_root_ca_file(&sandbox.running.ca_path)
        .app_private_key_file(&alipay_files().app_private_key_path)
        .alipay_public_key_file(&alipay_files().alipay_public_key_path)
        .build()
        .unwrap();
    let sub_msg = expect(
        client
            .trade_refund(&refund("demo-trade-0002", "appid-1", 100))
            .await,
        GatewayCode::InvalidArguments,
        SubCode::IsvInvalidAppId,
    );
    assert_eq!(sub_msg, "无效的AppID参数");
    let e = client
        .trade_query(&TradeId::out_trade_no("demo-trade-0002"))
        .await
        .unwrap_err();
    assert_final(&e);
    let last = sandbox
        .gateway_journal("alipay.trade.query")
        .await
        .pop()
        .unwrap();
    assert!(
        !last["response"].as_str().unwrap().contains("\"sign\""),
        "the gateway sent it unsigned"
    );
}

/// A request that breaks a field rule is refused before anything is sent.
#[tokio::test]
async fn invalid_requests_are_not_sent() {
    let sandbox = start().await;
    let client = sandbox.alipay_client();
    let e = client
        .trade_query(&TradeId::out_trade_no("has space"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidRequest(ref f) if f.field == "out_trade_no"),
        "{e:?}"
    );
    let e = client
        .refund_query(&RefundQuery::new(TradeId::out_trade_no("t"), ""))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidRequest(ref f) if f.field == "out_request_no"),
        "{e:?}"
    );
    assert!(
        sandbox
            .gateway_journal("alipay.trade.query")
            .await
            .is_empty()
    );
}
