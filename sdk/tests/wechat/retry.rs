//! Retries: opt-in, bounded, jittered, only for retryable codes and timeouts, always the same
//! refund number and amounts, waiting on the injected clock (nothing sleeps for real).

use std::time::Duration;

use paysandbox_sdk::retry::RetryPolicy;
use paysandbox_sdk::wechat::{ErrCode, Error};
use serde_json::{Value, json};

use crate::support::*;

/// Every attempt sent the same refund, each with its own nonce.
fn assert_same_refund(attempts: &[Value], out_refund_no: &str, total_fee: &str, refund_fee: &str) {
    let mut nonces = std::collections::HashSet::new();
    for a in attempts {
        assert_eq!(sent(a, "out_refund_no"), Some(out_refund_no));
        assert_eq!(sent(a, "total_fee"), Some(total_fee));
        assert_eq!(sent(a, "refund_fee"), Some(refund_fee));
        assert!(
            nonces.insert(sent(a, "nonce_str").unwrap().to_owned()),
            "nonce reused"
        );
    }
}

fn outcomes(attempts: &[Value]) -> Vec<&str> {
    attempts
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect()
}

/// The dangerous case: the platform made the refund but answered SYSTEMERROR. The retry
/// sends the same out_refund_no and amounts, and the platform refunds once.
#[tokio::test]
async fn systemerror_after_the_refund_was_applied_refunds_once() {
    let sandbox = start().await;
    let clock = sandbox.clock();
    let client = sandbox
        .wechat_builder()
        .retry(RetryPolicy::new(3).with_base_delay(Duration::from_millis(400)))
        .clock(clock.clone())
        .build()
        .unwrap();
    sandbox
        .fault(Fault::err_code("wechat.refund", "SYSTEMERROR").after_apply(true))
        .await;
    let accepted = client
        .refund(&refund("demo-order-0001", "retry-1", 1000, 600))
        .await
        .unwrap();

    let refunds = sandbox.wechat_refunds().await;
    assert_eq!(refunds.len(), 1, "one refund, not two: {refunds:?}");
    assert_eq!(refunds[0]["refund_id"], accepted.refund_id.as_str());
    assert_eq!(refunds[0]["refund_fee"], 600);

    let attempts = sandbox.journal_of("/secapi/pay/refund").await;
    assert_eq!(outcomes(&attempts), ["SYSTEMERROR", "SUCCESS"]);
    assert_same_refund(&attempts, "retry-1", "1000", "600");
    // One jittered wait, within the first backoff step, on the injected clock.
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 1);
    assert!(sleeps[0] <= Duration::from_millis(400), "{sleeps:?}");
}

/// Without a policy the error comes back, says it is retryable and that the refund may have
/// been made; calling again with the same request is the retry.
#[tokio::test]
async fn without_a_policy_the_caller_retries_the_same_request() {
    let sandbox = start().await;
    let client = sandbox.wechat_client();
    sandbox
        .fault(Fault::err_code("wechat.refund", "SYSTEMERROR").after_apply(true))
        .await;
    let request = refund("demo-order-0002", "retry-manual", 8800, 100);
    let e = client.refund(&request).await.unwrap_err();
    assert_eq!(e.err_code(), Some(&ErrCode::SystemError));
    assert!(e.is_retryable() && e.is_outcome_unknown());
    client.refund(&request).await.unwrap();
    assert_eq!(sandbox.wechat_refunds().await.len(), 1);
}

#[tokio::test]
async fn retries_are_bounded() {
    let sandbox = start().await;
    let clock = sandbox.clock();
    let client = sandbox
        .wechat_builder()
        .retry(
            RetryPolicy::new(3)
                .with_base_delay(Duration::from_millis(100))
                .with_max_delay(Duration::from_millis(150)),
        )
        .clock(clock.clone())
        .build()
        .unwrap();
    sandbox
        .fault(Fault::err_code("wechat.refund", "BIZERR_NEED_RETRY").count(5))
        .await;
    let e = client
        .refund(&refund("demo-order-0001", "retry-bounded", 1000, 1))
        .await
        .unwrap_err();
    assert_eq!(e.err_code(), Some(&ErrCode::BizerrNeedRetry));
    let attempts = sandbox.journal_of("/secapi/pay/refund").await;
    assert_eq!(outcomes(&attempts), ["BIZERR_NEED_RETRY"; 3]);
    assert_same_refund(&attempts, "retry-bounded", "1000", "1");
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(sleeps[0] <= Duration::from_millis(100), "{sleeps:?}");
    assert!(sleeps[1] <= Duration::from_millis(150), "{sleeps:?}");
    assert!(sandbox.wechat_refunds().await.is_empty());
}

#[tokio::test]
async fn final_errors_are_not_retried() {
    let sandbox = start().await;
    let clock = sandbox.clock();
    let client = sandbox
        .wechat_builder()
        .retry(RetryPolicy::new(5))
        .clock(clock.clone())
        .build()
        .unwrap();
    let admin = sandbox.admin_client();
    let no_balance = json!({ "refundable_balance": 0 });
    admin.update_merchant(MCH, no_balance).await.unwrap();
    let e = client
        .refund(&refund("demo-order-0001", "retry-final", 1000, 1))
        .await
        .unwrap_err();
    assert_eq!(e.err_code(), Some(&ErrCode::NotEnough));
    assert_eq!(sandbox.journal_of("/secapi/pay/refund").await.len(), 1);
    // A 503 is not a retryable code nor a timeout either.
    sandbox
        .fault(Fault::http_status("wechat.refund", 503))
        .await;
    let e = client
        .refund(&refund("demo-order-0001", "retry-503", 1000, 1))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Http { status: 503, .. }));
    assert_eq!(sandbox.journal_of("/secapi/pay/refund").await.len(), 2);
    assert!(clock.sleeps().is_empty());
}

/// INVALID_REQ_TOO_MUCH asks for a one-minute wait: retried only when the policy allows
/// waiting that long, and then after (virtual) minute.
#[tokio::test]
async fn platform_waits_are_respected() {
    let sandbox = start().await;
    let clock = sandbox.clock();
    let patient = sandbox
        .wechat_builder()
        .retry(RetryPolicy::new(2).with_max_delay(Duration::from_secs(61)))
        .clock(clock.clone())
        .build()
        .unwrap();
    let hasty = sandbox
        .wechat_builder()
        .retry(RetryPolicy::new(2))
        .clock(clock.clone())
        .build()
        .unwrap();
    sandbox
        .fault(Fault::err_code("wechat.refund", "INVALID_REQ_TOO_MUCH"))
        .await;
    let e = hasty
        .refund(&refund("demo-order-0001", "retry-wait", 1000, 1))
        .await
        .unwrap_err();
    assert_eq!(e.err_code(), Some(&ErrCode::InvalidReqTooMuch));
    assert!(
        clock.sleeps().is_empty(),
        "a one-minute wait exceeds the default max_delay"
    );

    sandbox
        .fault(Fault::err_code("wechat.refund", "INVALID_REQ_TOO_MUCH"))
        .await;
    patient
        .refund(&refund("demo-order-0001", "retry-wait", 1000, 1))
        .await
        .unwrap();
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 1);
    assert!(sleeps[0] >= Duration::from_secs(60) && sleeps[0] <= Duration::from_secs(61));
}

/// A timed-out attempt (the platform may have received it) is retried with the same refund;
/// one refund results.
#[tokio::test]
async fn timeouts_are_retried_with_the_same_refund() {
    let sandbox = start().await;
    let clock = sandbox.clock();
    let client = sandbox
        .wechat_builder()
        .timeout(Duration::from_millis(700))
        .retry(RetryPolicy::new(3))
        .clock(clock.clone())
        .build()
        .unwrap();
    sandbox.fault(Fault::delay_ms("wechat.refund", 2000)).await;
    let accepted = client
        .refund(&refund("demo-order-0001", "retry-timeout", 1000, 250))
        .await
        .unwrap();
    assert_eq!(clock.sleeps().len(), 1);
    let refunds = sandbox.wechat_refunds().await;
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0]["refund_id"], accepted.refund_id.as_str());
    // Whatever the delayed first attempt does when it finally runs, it is the same refund.
    tokio::time::sleep(Duration::from_millis(1400)).await;
    assert_eq!(sandbox.wechat_refunds().await.len(), 1);
    let attempts = sandbox.journal_of("/secapi/pay/refund").await;
    assert!(!attempts.is_empty());
    assert_same_refund(&attempts, "retry-timeout", "1000", "250");
}
