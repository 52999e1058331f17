//! Error answers: the platform's `{"code","message","detail"}` with its status, typed, and
//! what each says about retrying and about the refund's outcome.

use paysandbox_protocol::wechat::v3::identity::IdentityMode;
use paysandbox_sdk::retry::{RetryAdvice, Retryable};
use paysandbox_sdk::wechat::v3::{Error, ErrorCode, RATE_LIMIT_WAIT};
use serde_json::json;

use crate::support::*;

async fn refund_query_answered(answer: Answer) -> Error {
    let platform = Platform::start(IdentityMode::Certificates).await;
    platform.script([answer]);
    platform
        .certificate_client()
        .refund_query("R-1")
        .await
        .unwrap_err()
}

#[tokio::test]
async fn each_code_keeps_its_status_and_advice() {
    // (status, code, retry advice, outcome unknown)
    let cases = [
        (400, "PARAM_ERROR", RetryAdvice::Never, false),
        (400, "INVALID_REQUEST", RetryAdvice::Never, false),
        (401, "SIGN_ERROR", RetryAdvice::Never, false),
        (403, "NOT_ENOUGH", RetryAdvice::Never, false),
        (403, "USER_ACCOUNT_ABNORMAL", RetryAdvice::Never, false),
        (403, "NO_AUTH", RetryAdvice::Never, false),
        (404, "MCH_NOT_EXISTS", RetryAdvice::Never, false),
        (404, "RESOURCE_NOT_EXISTS", RetryAdvice::Never, false),
        (
            429,
            "FREQUENCY_LIMITED",
            RetryAdvice::After(RATE_LIMIT_WAIT),
            false,
        ),
        (500, "SYSTEM_ERROR", RetryAdvice::Backoff, true),
        (503, "SERVICE_UNAVAILABLE", RetryAdvice::Backoff, true),
        (403, "REQUEST_BLOCKED", RetryAdvice::Never, false),
    ];
    for (status, code, advice, unknown) in cases {
        let e = refund_query_answered(Answer::error(status, code, "消息")).await;
        let Error::Api {
            status: got,
            code: parsed,
            message,
            ..
        } = &e
        else {
            panic!("{code}: {e}");
        };
        assert_eq!(
            (*got, parsed.as_str(), message.as_str()),
            (status, code, "消息")
        );
        assert_eq!(e.retry_advice(), advice, "{code}");
        assert_eq!(e.is_outcome_unknown(), unknown, "{code}");
    }
}

#[tokio::test]
async fn sign_error_carries_the_message_the_server_built() {
    let body = json!({
        "code": "SIGN_ERROR",
        "detail": {"detail": {"issue": "sign not match"}, "field": "signature",
                   "location": "authorization",
                   "sign_information": {"method": "GET", "sign_message_length": 60,
                                        "truncated_sign_message": "GET\n/v3/refund/domestic/refunds/R-1\n",
                                        "url": "/v3/refund/domestic/refunds/R-1"}},
        "message": "错误的签名，验签失败"
    });
    let e = refund_query_answered(Answer::json(401, body).signed(Signing::Unsigned)).await;
    assert_eq!(e.code(), Some(&ErrorCode::SignError));
    let Error::Api {
        detail: Some(detail),
        ..
    } = e
    else {
        panic!()
    };
    let info = detail.sign_information.unwrap();
    assert_eq!(info.url, "/v3/refund/domestic/refunds/R-1");
    assert_eq!(info.sign_message_length, 60);
    assert_eq!(detail.location.as_deref(), Some("authorization"));
}

#[tokio::test]
async fn param_error_names_the_field() {
    let body = json!({"code": "PARAM_ERROR",
                      "detail": {"field": "/body/amount/refund", "location": "body", "value": 0},
                      "message": "输入源“/body/amount/refund”映射到字段“退款金额”数值规则校验失败"});
    let e = refund_query_answered(Answer::json(400, body).signed(Signing::Unsigned)).await;
    let Error::Api {
        detail: Some(detail),
        ..
    } = e
    else {
        panic!()
    };
    assert_eq!(detail.field.as_deref(), Some("/body/amount/refund"));
    assert_eq!(detail.location.as_deref(), Some("body"));
}

#[tokio::test]
async fn a_gateway_page_is_an_http_error() {
    let e = refund_query_answered(Answer {
        status: 502,
        body: b"<html><body>502 Bad Gateway</body></html>".to_vec(),
        signing: Signing::Unsigned,
    })
    .await;
    assert!(
        matches!(&e, Error::Http { status: 502, body } if body.contains("Bad Gateway")),
        "{e}"
    );
    assert!(e.is_outcome_unknown() && !e.is_retryable());
}

#[tokio::test]
async fn a_signed_202_asks_for_the_same_request_again() {
    let e = refund_query_answered(Answer::json(202, json!({}))).await;
    assert!(matches!(e, Error::Http { status: 202, .. }), "{e}");
    assert_eq!(e.retry_advice(), RetryAdvice::Backoff);
    assert!(e.is_outcome_unknown());
}

#[tokio::test]
async fn a_refused_connection_was_not_delivered() {
    let platform = Platform::start(IdentityMode::Certificates).await;
    let client = platform
        .builder()
        .base_url("http://127.0.0.1:1")
        .platform_certificate_file(keys().certificate_path())
        .build()
        .unwrap();
    let e = client.refund_query("R-1").await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e}");
    assert!(!e.is_outcome_unknown() && !e.is_retryable());
}
