//! Retries: opt-in, bounded, jittered, only for the outcome-unknown answers and timeouts,
//! always the same biz_content (same out_request_no, same amount), waiting on the injected
//! clock (nothing sleeps for real).

use std::time::Duration;

use paysandbox_sdk::alipay::{Error, REFUND_SPACING, SubCode, TradeId};
use paysandbox_sdk::retry::RetryPolicy;
use serde_json::Value;

use crate::support::*;

/// Every attempt sent the same biz_content, signed.
fn assert_same_refund(attempts: &[Value], biz_content: &str) {
    assert!(!attempts.is_empty());
    for a in attempts {
        assert_eq!(sent(a, "biz_content"), Some(biz_content));
        assert!(sent(a, "sign").is_some());
    }
}

/// The dangerous case: the gateway made the refund but answered ACQ.SYSTEM_ERROR. The retry
/// sends the same out_request_no and amount; the gateway refunds once and answers the retry
/// with fund_change N.
#[tokio::test]
async fn system_error_after_the_refund_was_applied_refunds_once() {
    let sandbox = start().await;
    let clock = sandbox.clock();
    let client = sandbox
        .alipay_builder()
        .retry(RetryPolicy::new(3).with_base_delay(Duration::from_millis(400)))
        .clock(clock.clone())
        .build()
        .unwrap();
    sandbox
        .fault(Fault::err_code("alipay.trade.refund", "ACQ.SYSTEM_ERROR").after_apply(true))
        .await;
    let response = client
        .trade_refund(&refund("demo-trade-0002", "retry-1", 600))
        .await
        .unwrap();
    assert_eq!(response.fund_change, Some(false), "the retry found it done");
    assert_eq!(response.refund_fee.map(|f| f.0), Some(600));

    let refunds = sandbox.alipay_refunds().await;
    assert_eq!(refunds.len(), 1, "one refund, not two: {refunds:?}");
    assert_eq!(refunds[0]["out_request_no"], "retry-1");
    assert_eq!(refunds[0]["refund_amount"], 600);

    let attempts = sandbox.gateway_journal("alipay.trade.refund").await;
    assert_eq!(outcomes(&attempts), ["ACQ.SYSTEM_ERROR", "SUCCESS"]);
    assert_same_refund(
        &attempts,
        r#"{"out_trade_no":"demo-trade-0002","refund_amount":"6.00","out_request_no":"retry-1"}"#,
    );
    assert!(
        attempts[1]["response"]
            .as_str()
            .unwrap()
            .contains(r#""fund_change":"N""#)
    );
    // One wait on the injected clock (which also dated the requests): a refund's
    // ACQ.SYSTEM_ERROR waits out the 3 s between refunds of a trade, plus jitter of at most
    // the base delay.
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 1);
    assert!(
        sleeps[0] >= REFUND_SPACING && sleeps[0] <= REFUND_SPACING + Duration::from_millis(400),
        "{sleeps:?}"
    );
    assert_eq!(sent(&attempts[0], "timestamp"), Some("2023-11-15 06:13:20"));
    assert_eq!(sent(&attempts[1], "timestamp"), Some("2023-11-15 06:13:23"));
}

/// Two refunds of one trade back to back: the second is answered ACQ.SYSTEM_ERROR (3 s
/// spacing) and the client's retry, 3 s later on the sandbox's clock, makes it.
#[tokio::test]
async fn a_refund_too_soon_is_retried_after_the_spacing() {
    let sandbox = start().await;
    let clock = sandbox.clock();
    let client = sandbox
        .alipay_builder()
        .retry(RetryPolicy::new(2))
        .clock(clock.clone())
        .build()
        .unwrap();
    client
        .trade_refund(&refund("demo-trade-0002", "spacing-1", 100))
        .await
        .unwrap();
    let second = client
        .trade_refund(&refund("demo-trade-0002", "spacing-2", 200))
        .await
        .unwrap();
    assert_eq!(second.fund_change, Some(true));
    assert_eq!(second.refund_fee.map(|f| f.0), Some(300));
    let attempts = sandbox.gateway_journal("alipay.trade.refund").await;
    assert_eq!(
        outcomes(&attempts),
        ["SUCCESS", "ACQ.SYSTEM_ERROR", "SUCCESS"]
    );
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 1);
    assert!(sleeps[0] >= REFUND_SPACING, "{sleeps:?}");

    // A policy that may not wait 3 s does not retry a refund's ACQ.SYSTEM_ERROR (the caller
    // decides), but still backs off on a query's.
    let hasty = sandbox
        .alipay_builder()
        .retry(RetryPolicy::new(3).with_max_delay(Duration::from_secs(2)))
        .clock(clock.clone())
        .build()
        .unwrap();
    let e = hasty
        .trade_refund(&refund("demo-trade-0002", "spacing-3", 300))
        .await
        .unwrap_err();
    assert_eq!(e.sub_code(), Some(&SubCode::AcqSystemError));
    assert_eq!(clock.sleeps().len(), 1);
    sandbox
        .fault(Fault::err_code("alipay.trade.query", "ACQ.SYSTEM_ERROR"))
        .await;
    hasty
        .trade_query(&TradeId::out_trade_no("demo-trade-0002"))
        .await
        .unwrap();
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(sleeps[1] <= RetryPolicy::DEFAULT_BASE_DELAY, "{sleeps:?}");
}

/// Without a policy the error comes back, says it may be retried and that the refund may
/// have been made; calling again with the same request is the retry.
#[tokio::test]
async fn without_a_policy_the_caller_retries_the_same_request() {
    let sandbox = start().await;
    let client = sandbox.alipay_client();
    sandbox
        .fault(Fault::err_code("alipay.trade.refund", "ACQ.SYSTEM_ERROR").after_apply(true))
        .await;
    let request = refund("demo-trade-0002", "retry-manual", 100);
    let e = client.trade_refund(&request).await.unwrap_err();
    assert_eq!(e.sub_code(), Some(&SubCode::AcqSystemError));
    assert!(e.is_retryable() && e.is_outcome_unknown());
    let again = client.trade_refund(&request).await.unwrap();
    assert_eq!(again.fund_change, Some(false));
    assert_eq!(sandbox.alipay_refunds().await.len(), 1);
}

#[tokio::test]
async fn retries_are_bounded() {
    let sandbox = start().await;
    let clock = sandbox.clock();
    let client = sandbox
        .alipay_builder()
        .retry(
            RetryPolicy::new(3)
                .with_base_delay(Duration::from_millis(100))
                .with_max_delay(Duration::from_millis(150)),
        )
        .clock(clock.clone())
        .build()
        .unwrap();
    sandbox
        .fault(Fault::err_code("alipay.trade.refund", "isp.unknow-error").count(5))
        .await;
    let e = client
        .trade_refund(&refund("demo-trade-0002", "retry-bounded", 1))
        .await
        .unwrap_err();
    assert_eq!(e.sub_code(), Some(&SubCode::IspUnknowError));
    let attempts = sandbox.gateway_journal("alipay.trade.refund").await;
    assert_eq!(outcomes(&attempts), ["isp.unknow-error"; 3]);
    assert_same_refund(
        &attempts,
        r#"{"out_trade_no":"demo-trade-0002","refund_amount":"0.01","out_request_no":"retry-bounded"}"#,
    );
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(sleeps[0] <= Duration::from_millis(100), "{sleeps:?}");
    assert!(sleeps[1] <= Duration::from_millis(150), "{sleeps:?}");
    assert!(sandbox.alipay_refunds().await.is_empty());
}

/// Final refusals, gateway errors and HTTP statuses are not retried.
#[tokio::test]
async fn final_errors_are_not_retried() {
    let sandbox = start().await;
    let clock = sandbox.clock();
    let client = sandbox
        .alipay_builder()
        .retry(RetryPolicy::new(5))
        .clock(clock.clone())
        .build()
        .unwrap();
    let e = client
        .trade_refund(&refund("demo-trade-0007", "final-1", 1))
        .await
        .unwrap_err();
    assert_eq!(e.sub_code(), Some(&SubCode::AcqTradeHasClose));
    assert_eq!(
        sandbox.gateway_journal("alipay.trade.refund").await.len(),
        1
    );
    // A 503 in front of the gateway is neither a retryable code nor a timeout; the refund
    // may have been made (after_apply), which the error says.
    sandbox
        .fault(Fault::http_status("alipay.trade.refund", 503).after_apply(true))
        .await;
    let request = refund("demo-trade-0002", "final-503", 1);
    let e = client.trade_refund(&request).await.unwrap_err();
    assert!(matches!(e, Error::Http { status: 503, .. }), "{e:?}");
    assert!(e.is_outcome_unknown() && !e.is_retryable());
    assert_eq!(
        sandbox.gateway_journal("alipay.trade.refund").await.len(),
        2
    );
    assert!(clock.sleeps().is_empty());
    assert_eq!(sandbox.alipay_refunds().await.len(), 1);
    // ... and sending it again finds it made.
    let again = client.trade_refund(&request).await.unwrap();
    assert_eq!(again.fund_change, Some(false));
}

/// A timed-out attempt (the gateway may have received it) is retried with the same refund;
/// one refund results.
#[tokio::test]
async fn timeouts_are_retried_with_the_same_refund() {
    let sandbox = start().await;
    let clock = sandbox.clock();
    let client = sandbox
        .alipay_builder()
        .timeout(Duration::from_millis(700))
        .retry(RetryPolicy::new(3))
        .clock(clock.clone())
        .build()
        .unwrap();
    sandbox
        .fault(Fault::delay_ms("alipay.trade.refund", 2000))
        .await;
    let response = client
        .trade_refund(&refund("demo-trade-0002", "retry-timeout", 250))
        .await
        .unwrap();
    assert_eq!(clock.sleeps().len(), 1);
    assert_eq!(response.refund_fee.map(|f| f.0), Some(250));
    // The first attempt is still held by the sandbox; when it runs, it is the same
    // biz_content, answered as an idempotent repeat (nothing moves).
    assert_eq!(sandbox.alipay_refunds().await.len(), 1);
    let attempts = sandbox.gateway_journal("alipay.trade.refund").await;
    assert_same_refund(
        &attempts,
        r#"{"out_trade_no":"demo-trade-0002","refund_amount":"2.50","out_request_no":"retry-timeout"}"#,
    );
}
