//! `wait_for_refund` polls until the refund leaves PROCESSING or the deadline passes, on an
//! injected clock that advances the sandbox's time instead of sleeping.

use std::time::Duration;

use paysandbox_sdk::wechat::{Error, RefundStatus, WaitOptions};

use crate::support::*;

fn options(timeout_secs: u64) -> WaitOptions {
    WaitOptions::new(Duration::from_secs(timeout_secs))
        .with_poll_interval(Duration::from_secs(2))
        .with_max_poll_interval(Duration::from_secs(30))
}

#[tokio::test]
async fn waits_until_success() {
    let sandbox = start().await; // refunds settle 10 s after they are accepted
    let clock = sandbox.clock();
    let client = sandbox
        .wechat_builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    let accepted = client
        .refund(&refund("demo-order-0001", "wait-ok", 1000, 400))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let record = client
        .wait_for_refund("wait-ok", options(600))
        .await
        .unwrap();
    assert_eq!(record.refund_status, RefundStatus::Success);
    assert_eq!(record.refund_id, accepted.refund_id);
    assert!(record.refund_success_time.is_some());
    // Polled at 0, 2, 6 and 14 s of sandbox time (doubling intervals), no real sleeping.
    assert_eq!(clock.sleeps(), [2, 4, 8].map(Duration::from_secs).to_vec());
    assert_eq!(sandbox.journal_of("/pay/refundquery").await.len(), 4);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn waits_until_change() {
    let sandbox = start().await;
    let clock = sandbox.clock();
    let client = sandbox
        .wechat_builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    // demo-order-0008: the card was cancelled, refunds settle to CHANGE.
    client
        .refund(&refund("demo-order-0008", "wait-change", 500, 500))
        .await
        .unwrap();
    let record = client
        .wait_for_refund("wait-change", options(600))
        .await
        .unwrap();
    assert_eq!(record.refund_status, RefundStatus::Change);
    assert_eq!(
        record.refund_recv_accout.as_deref(),
        Some("招商银行信用卡0403")
    );
    assert!(clock.elapsed() >= Duration::from_secs(10));
}

#[tokio::test]
async fn a_refund_forced_closed_ends_the_wait() {
    let sandbox = start_with(|c| c.wechat_rules.settle_delay = Duration::from_secs(3600)).await;
    let clock = sandbox.clock();
    let client = sandbox
        .wechat_builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    let accepted = client
        .refund(&refund("demo-order-0002", "wait-close", 8800, 100))
        .await
        .unwrap();
    let admin = sandbox.admin_client();
    let close = admin.force_refund_status(&accepted.refund_id, "REFUNDCLOSE");
    close.await.unwrap();
    let record = client
        .wait_for_refund("wait-close", options(600))
        .await
        .unwrap();
    assert_eq!(record.refund_status, RefundStatus::RefundClose);
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn times_out_while_processing() {
    let sandbox = start_with(|c| c.wechat_rules.settle_delay = Duration::from_secs(3600)).await;
    let clock = sandbox.clock();
    let client = sandbox
        .wechat_builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    client
        .refund(&refund("demo-order-0001", "wait-late", 1000, 1))
        .await
        .unwrap();
    let e = client
        .wait_for_refund("wait-late", options(60))
        .await
        .unwrap_err();
    match e {
        Error::Timeout {
            waited,
            last_status,
        } => {
            assert_eq!(waited, Duration::from_secs(60));
            assert_eq!(last_status, Some(RefundStatus::Processing));
        }
        other => panic!("{other:?}"),
    }
    // 2 + 4 + 8 + 16 + 30 (the rest of the minute, capped by the deadline).
    assert_eq!(
        clock.sleeps(),
        [2, 4, 8, 16, 30].map(Duration::from_secs).to_vec()
    );
}

#[tokio::test]
async fn transient_query_failures_are_polled_through() {
    let sandbox = start().await;
    let clock = sandbox.clock();
    let client = sandbox
        .wechat_builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    client
        .refund(&refund("demo-order-0001", "wait-flaky", 1000, 1))
        .await
        .unwrap();
    sandbox
        .fault(Fault::err_code("wechat.refundquery", "SYSTEMERROR").count(2))
        .await;
    let record = client
        .wait_for_refund("wait-flaky", options(600))
        .await
        .unwrap();
    assert_eq!(record.refund_status, RefundStatus::Success);
}
