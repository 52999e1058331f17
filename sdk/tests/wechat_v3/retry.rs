//! Retries: only what the platform says may be retried, always the very same body (the same
//! `out_refund_no` and amounts), waiting on the injected clock.

use std::collections::HashSet;
use std::time::Duration;

use paysandbox_protocol::wechat::v3::identity::IdentityMode;
use paysandbox_sdk::wechat::v3::{ErrorCode, RefundRequest};

use crate::support::*;

fn request() -> RefundRequest {
    RefundRequest::builder()
        .out_trade_no("demo-order-0001")
        .out_refund_no("retry-1")
        .refund(250)
        .total(1000)
        .build()
        .unwrap()
}

#[tokio::test]
async fn system_error_is_retried_with_the_same_body_and_a_new_signature() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([
        Answer::error(500, "SYSTEM_ERROR", "系统繁忙，请稍后重试"),
        Answer::error(503, "SERVICE_UNAVAILABLE", "服务不可用"),
        Answer::json(200, refund_json("retry-1", "PROCESSING")),
    ]);
    let clock = InstantClock::new();
    let client = platform
        .builder()
        .platform_certificate_file(keys().certificate_path())
        .retry(retries(3))
        .clock(clock.clone())
        .build()
        .unwrap();
    let refund = client.refund(&request()).await.unwrap();
    assert_eq!(refund.out_refund_no, "retry-1");

    let seen = platform.seen();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter().all(|s| s.body == seen[0].body),
        "the same bytes every time"
    );
    let nonces: HashSet<_> = seen
        .iter()
        .map(|s| s.authorization.nonce_str.clone())
        .collect();
    assert_eq!(nonces.len(), 3, "a fresh nonce per attempt");
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(
        sleeps[0] <= Duration::from_millis(100) && sleeps[1] <= Duration::from_millis(200),
        "{sleeps:?}"
    );
}

#[tokio::test]
async fn refusals_are_not_retried() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([Answer::error(403, "NOT_ENOUGH", "余额不足")]);
    let clock = InstantClock::new();
    let client = platform
        .builder()
        .platform_certificate_file(keys().certificate_path())
        .retry(retries(5))
        .clock(clock.clone())
        .build()
        .unwrap();
    let e = client.refund(&request()).await.unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::NotEnough));
    assert_eq!(platform.seen().len(), 1);
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn an_unverified_answer_is_not_retried() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([
        Answer::json(200, refund_json("retry-1", "PROCESSING")).signed(Signing::Unsigned)
    ]);
    let client = platform
        .builder()
        .platform_certificate_file(keys().certificate_path())
        .retry(retries(5))
        .clock(InstantClock::new())
        .build()
        .unwrap();
    let e = client.refund(&request()).await.unwrap_err();
    assert!(e.is_outcome_unknown());
    assert_eq!(platform.seen().len(), 1);
}

#[tokio::test]
async fn a_rate_limit_waits_its_minute_only_when_the_policy_allows_it() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([
        Answer::error(429, "FREQUENCY_LIMITED", "频率超限"),
        Answer::error(429, "FREQUENCY_LIMITED", "频率超限"),
        Answer::json(200, refund_json("retry-1", "PROCESSING")),
    ]);
    let short = platform
        .builder()
        .platform_certificate_file(keys().certificate_path())
        .retry(retries(5))
        .clock(InstantClock::new())
        .build()
        .unwrap();
    let e = short.refund(&request()).await.unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::FrequencyLimited));

    let clock = InstantClock::new();
    let patient = platform
        .builder()
        .platform_certificate_file(keys().certificate_path())
        .retry(retries(3).with_max_delay(Duration::from_secs(90)))
        .clock(clock.clone())
        .build()
        .unwrap();
    patient.refund(&request()).await.unwrap();
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 1);
    assert!(sleeps[0] >= Duration::from_secs(60), "{sleeps:?}");
    assert_eq!(platform.seen().len(), 3);
}

#[tokio::test]
async fn waiting_for_a_refund_polls_on_the_injected_clock() {
    use paysandbox_sdk::wechat::v3::{Error, RefundStatus, WaitOptions};
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([
        Answer::json(200, refund_json("wait-1", "PROCESSING")),
        Answer::error(500, "SYSTEM_ERROR", "系统繁忙，请稍后重试"),
        Answer::json(200, refund_json("wait-1", "SUCCESS")),
        Answer::json(200, refund_json("wait-2", "PROCESSING")),
        Answer::json(200, refund_json("wait-2", "PROCESSING")),
        Answer::json(200, refund_json("wait-2", "PROCESSING")),
    ]);
    let clock = InstantClock::new();
    let client = platform
        .builder()
        .platform_certificate_file(keys().certificate_path())
        .clock(clock.clone())
        .build()
        .unwrap();
    let options = WaitOptions::new(Duration::from_secs(30))
        .with_poll_interval(Duration::from_secs(5))
        .with_max_poll_interval(Duration::from_secs(60));
    let settled = client.wait_for_refund("wait-1", options).await.unwrap();
    assert_eq!(settled.refund_status(), Some(RefundStatus::Success));
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(5), Duration::from_secs(10)]
    );

    // Queried at 0 s, 10 s and 30 s (the deadline: one last look), then over.
    let e = client
        .wait_for_refund(
            "wait-2",
            WaitOptions::new(Duration::from_secs(30)).with_poll_interval(Duration::from_secs(10)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Timeout { waited, last_status: Some(s) } if *waited == Duration::from_secs(30) && s == "PROCESSING"),
        "{e}"
    );
    assert_eq!(platform.seen().len(), 6);
    assert_eq!(
        clock.sleeps()[2..],
        [Duration::from_secs(10), Duration::from_secs(20)]
    );
}
