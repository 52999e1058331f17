//! Every error surfaces as the right typed error: business codes (from real ledger situations,
//! and every documented code through fault injection), protocol failures, HTTP statuses,
//! transport failures and refused requests.

use std::time::Duration;

use paysandbox_sdk::error::ConfigError;
use paysandbox_sdk::retry::{RetryAdvice, Retryable};
use paysandbox_sdk::wechat::{
    Client, ErrCode, Error, OrderId, RATE_LIMIT_WAIT, RefundQuery, RefundRequest, RefundResponse,
};
use serde_json::json;

use crate::support::*;

async fn refund_of(
    client: &Client,
    order: &str,
    no: &str,
    total_fee: u64,
    refund_fee: u64,
) -> Result<RefundResponse, Error> {
    client
        .refund(&refund(order, no, total_fee, refund_fee))
        .await
}

/// Asserts a business error with this code (and, when given, this message).
#[track_caller]
fn assert_business<T: std::fmt::Debug>(
    result: Result<T, Error>,
    code: ErrCode,
    des: Option<&str>,
) -> Error {
    let error = result.expect_err("expected a business error");
    match &error {
        Error::Business {
            code: got,
            description,
        } => {
            assert_eq!(got, &code, "{error}");
            if let Some(des) = des {
                assert_eq!(description, des);
            }
            assert_eq!(error.is_retryable(), code.is_retryable(), "{code}");
        }
        other => panic!("expected {code}, got {other:?}"),
    }
    error
}

#[tokio::test]
async fn refund_refusals_from_the_ledger() {
    let sandbox = start_with(|c| c.rate_limits = false).await;
    let client = sandbox.wechat_client();

    assert_business(
        refund_of(&client, "demo-order-0005", "e-overdue", 500, 1).await,
        ErrCode::TradeOverdue,
        None,
    );
    assert_business(
        refund_of(&client, "demo-order-0006", "e-notpaid", 500, 1).await,
        ErrCode::OrderNotExist,
        Some("此交易订单号不存在"),
    );
    assert_business(
        refund_of(&client, "demo-order-0007", "e-abnormal", 500, 1).await,
        ErrCode::UserAccountAbnormal,
        None,
    );
    assert_business(
        refund_of(&client, "demo-order-0001", "e-total", 999, 1).await,
        ErrCode::InvalidRequest,
        Some("订单金额或退款金额与之前请求不一致,请核实后再试"),
    );
    let unknown = RefundRequest::builder()
        .transaction_id("4200000000000000000000000000")
        .out_refund_no("e-txid")
        .total_fee(1)
        .refund_fee(1)
        .build()
        .unwrap();
    assert_business(
        client.refund(&unknown).await,
        ErrCode::InvalidTransactionId,
        None,
    );
    let usd = RefundRequest::builder()
        .out_trade_no("demo-order-0001")
        .out_refund_no("e-usd")
        .total_fee(1000)
        .refund_fee(1)
        .refund_fee_type("USD")
        .build()
        .unwrap();
    assert_business(client.refund(&usd).await, ErrCode::ParamError, None);

    // The same refund number with other amounts.
    refund_of(&client, "demo-order-0001", "e-r1", 1000, 300)
        .await
        .unwrap();
    assert_business(
        refund_of(&client, "demo-order-0001", "e-r1", 1000, 400).await,
        ErrCode::RefundFeeMismatch,
        None,
    );
    // A second refund of the same order within a minute (§3.4 rule 8), retryable later.
    let e = assert_business(
        refund_of(&client, "demo-order-0001", "e-r2", 1000, 100).await,
        ErrCode::FrequencyLimited,
        None,
    );
    assert_eq!(e.retry_advice(), RetryAdvice::After(RATE_LIMIT_WAIT));
    sandbox.advance(60).await;
    // More than is left.
    assert_business(
        refund_of(&client, "demo-order-0001", "e-r3", 1000, 701).await,
        ErrCode::InvalidRequest,
        Some("申请退款金额超过订单可退金额"),
    );
    refund_of(&client, "demo-order-0001", "e-r4", 1000, 700)
        .await
        .unwrap();
    sandbox.advance(60).await;
    assert_business(
        refund_of(&client, "demo-order-0001", "e-r5", 1000, 1).await,
        ErrCode::TradeStateError,
        None,
    );

    sandbox
        .seed_order("not-ready-order", 100, json!({ "not_ready": true }))
        .await;
    assert_business(
        refund_of(&client, "not-ready-order", "e-ready", 100, 1).await,
        ErrCode::OrderNotReady,
        None,
    );

    let admin = sandbox.admin_client();
    let no_balance = json!({ "refundable_balance": 0 });
    admin.update_merchant(MCH, no_balance).await.unwrap();
    let e = assert_business(
        refund_of(&client, "demo-order-0002", "e-balance", 8800, 1).await,
        ErrCode::NotEnough,
        None,
    );
    assert!(!e.is_outcome_unknown());
}

#[tokio::test]
async fn query_refusals() {
    let sandbox = start().await;
    let client = sandbox.wechat_client();
    assert_business(
        client
            .refund_query(&RefundQuery::by_out_refund_no("never-made"))
            .await,
        ErrCode::RefundNotExist,
        Some("not exist"),
    );
    assert_business(
        client
            .order_query(&OrderId::OutTradeNo("no-such-order".into()))
            .await,
        ErrCode::OrderNotExist,
        None,
    );
    client
        .refund(&refund("demo-order-0001", "q-r1", 1000, 1))
        .await
        .unwrap();
    assert_business(
        client
            .refund_query(&RefundQuery::by_out_trade_no("demo-order-0001").with_offset(5))
            .await,
        ErrCode::ParamError,
        None,
    );
}

#[tokio::test]
async fn merchant_configuration_refusals() {
    let sandbox = start().await;
    // An appid not bound to the merchant: signed APPID_NOT_EXIST.
    let other_app = Client::builder(MCH, "wxd930ea5d5a258f4f", KEY)
        .base_url(&sandbox.running.api_url)
        .extra_root_ca_file(&sandbox.running.ca_path)
        .build()
        .unwrap();
    assert_business(
        other_app
            .order_query(&OrderId::OutTradeNo("demo-order-0001".into()))
            .await,
        ErrCode::AppidNotExist,
        None,
    );
    // An unknown merchant: MCHID_NOT_EXIST arrives unsigned (no key to sign with) and is
    // still reported as the business error, not as a signature failure.
    let unknown = Client::builder("1900009999", APPID, KEY)
        .base_url(&sandbox.running.api_url)
        .extra_root_ca_file(&sandbox.running.ca_path)
        .build()
        .unwrap();
    assert_business(
        unknown
            .refund_query(&RefundQuery::by_out_refund_no("x"))
            .await,
        ErrCode::MchidNotExist,
        None,
    );
    // The wrong API key: the platform refuses the signature at the protocol layer.
    let wrong_key = Client::builder(MCH, APPID, "0".repeat(32))
        .base_url(&sandbox.running.api_url)
        .extra_root_ca_file(&sandbox.running.ca_path)
        .build()
        .unwrap();
    match wrong_key
        .order_query(&OrderId::OutTradeNo("demo-order-0001".into()))
        .await
    {
        Err(e @ Error::Protocol { .. }) => {
            assert!(!e.is_retryable() && !e.is_outcome_unknown());
            assert!(
                matches!(&e, Error::Protocol { return_msg } if return_msg == "签名错误,请检查后再试")
            );
        }
        other => panic!("{other:?}"),
    }
    // Another merchant's certificate on /secapi/: CERT_ERROR.
    let other = sandbox
        .admin_client()
        .create_merchant(
            "1900000110",
            json!({ "appids": [APPID], "api_key": "k".repeat(32) }),
        )
        .await
        .unwrap();
    let with_other_cert = sandbox
        .wechat_builder()
        .merchant_pem_files(
            other["cert"]["cert_path"].as_str().unwrap(),
            other["cert"]["key_path"].as_str().unwrap(),
        )
        .build()
        .unwrap();
    assert_business(
        with_other_cert
            .refund(&refund("demo-order-0001", "m-cert", 1000, 1))
            .await,
        ErrCode::CertError,
        Some("商户号与API证书不匹配"),
    );
    // An IP allow-list that does not hold 127.0.0.1: NOAUTH.
    let elsewhere = json!({ "ip_allowlist": ["10.0.0.1"] });
    let admin = sandbox.admin_client();
    admin.update_merchant(MCH, elsewhere).await.unwrap();
    assert_business(
        sandbox
            .wechat_client()
            .refund(&refund("demo-order-0001", "m-ip", 1000, 1))
            .await,
        ErrCode::NoAuth,
        None,
    );
}

#[tokio::test]
async fn too_many_invalid_requests_blocks_for_a_minute() {
    let sandbox = start().await;
    let client = sandbox.wechat_client();
    let mut blocked = None;
    for i in 0..10 {
        match client
            .refund(&refund("demo-order-0006", &format!("b-{i}"), 500, 1))
            .await
        {
            Err(Error::Business {
                code: ErrCode::OrderNotExist,
                ..
            }) => {}
            Err(
                e @ Error::Business {
                    code: ErrCode::InvalidReqTooMuch,
                    ..
                },
            ) => {
                blocked = Some((i, e));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    let (i, error) = blocked.expect("never blocked");
    assert_eq!(
        i, 7,
        "blocked after the 7th erroneous request within a second"
    );
    assert!(error.is_retryable());
    assert_eq!(
        error.retry_advice(),
        RetryAdvice::After(Duration::from_secs(60))
    );
    sandbox.advance(61).await;
    client
        .refund(&refund("demo-order-0001", "b-after", 1000, 1))
        .await
        .unwrap();
}

/// Every code the platform documents, plus one it does not, arrives as its own
/// [`ErrCode`] with the platform's retry advice: injected as signed business errors.
#[tokio::test]
async fn every_documented_code_is_typed() {
    let sandbox = start().await;
    let client = sandbox.wechat_client();
    let query = RefundQuery::by_out_refund_no("any");
    for code in ErrCode::KNOWN
        .iter()
        .chain([&ErrCode::Other("SOMETHING_NEW".into())])
    {
        sandbox
            .fault(Fault::err_code("wechat.refundquery", code.as_str()))
            .await;
        let error = client.refund_query(&query).await.unwrap_err();
        match &error {
            Error::Business { code: got, .. } => assert_eq!(got, code),
            other => panic!("{code}: {other:?}"),
        }
        assert_eq!(error.err_code(), Some(code));
        assert_eq!(error.is_retryable(), code.is_retryable(), "{code}");
        assert_eq!(
            error.is_outcome_unknown(),
            *code == ErrCode::SystemError,
            "{code}"
        );
    }
    let retryable: Vec<&str> = ErrCode::KNOWN
        .iter()
        .filter(|c| c.is_retryable())
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        retryable,
        [
            "SYSTEMERROR",
            "BIZERR_NEED_RETRY",
            "INVALID_REQ_TOO_MUCH",
            "FREQUENCY_LIMITED",
            "ORDER_NOT_READY"
        ]
    );
}

#[tokio::test]
async fn http_and_transport_failures() {
    let sandbox = start().await;
    // A gateway failure: HTTP 503 with an empty body. Not retried automatically; the outcome
    // is unknown.
    sandbox
        .fault(Fault::http_status("wechat.refund", 503))
        .await;
    let e = sandbox
        .wechat_client()
        .refund(&refund("demo-order-0001", "h-503", 1000, 1))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Http { status: 503, .. }), "{e:?}");
    assert!(e.is_outcome_unknown() && !e.is_retryable());

    // A response slower than the timeout: maybe delivered, retryable.
    sandbox
        .fault(Fault::delay_ms("wechat.orderquery", 2000))
        .await;
    let impatient = sandbox
        .wechat_builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let e = impatient
        .order_query(&OrderId::OutTradeNo("demo-order-0001".into()))
        .await
        .unwrap_err();
    match &e {
        Error::Transport(t) => {
            assert!(t.is_timeout() && t.maybe_delivered(), "{t}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.is_retryable() && e.is_outcome_unknown());

    // Nothing listening: not delivered, not retried.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let nowhere = sandbox
        .wechat_builder()
        .base_url(format!("https://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let e = nowhere
        .order_query(&OrderId::OutTradeNo("demo-order-0001".into()))
        .await
        .unwrap_err();
    match &e {
        Error::Transport(t) => assert!(
            t.is_connect() && !t.maybe_delivered() && !t.is_timeout(),
            "{t}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(!e.is_retryable() && !e.is_outcome_unknown());
}

#[tokio::test]
async fn invalid_requests_are_not_sent() {
    let sandbox = start().await;
    let client = sandbox.wechat_client();
    let e = client
        .order_query(&OrderId::OutTradeNo("bad id".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidRequest(f) if f.field == "out_trade_no"),
        "{e:?}"
    );
    let e = client
        .refund_query(&RefundQuery::by_transaction_id("not-digits"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidRequest(f) if f.field == "transaction_id"),
        "{e:?}"
    );
    let e = client
        .wait_for_refund("bad.no", Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidRequest(f) if f.field == "out_refund_no"),
        "{e:?}"
    );
    assert!(
        sandbox
            .admin_get("/admin/journal")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A client without the merchant certificate refuses to attempt a refund.
    let no_cert = Client::builder(MCH, APPID, KEY)
        .base_url(&sandbox.running.api_url)
        .extra_root_ca_file(&sandbox.running.ca_path)
        .build()
        .unwrap();
    let e = no_cert
        .refund(&refund("demo-order-0001", "i-nocert", 1000, 1))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Config(ConfigError::NoClientCertificate)),
        "{e:?}"
    );
    assert!(sandbox.journal_of("/secapi/pay/refund").await.is_empty());
}
