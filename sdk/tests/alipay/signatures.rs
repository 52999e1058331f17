//! Answers are verified: a man in the middle that alters a signed answer, drops its
//! signature or sends something else is an error, never a result.

use paysandbox_sdk::alipay::{Error, RefundQuery, SignType, SignatureError, SubCode, TradeId};

use crate::support::*;

#[tokio::test]
async fn a_tampered_refund_answer_is_rejected() {
    let sandbox = start().await;
    // Raise the refunded total in the (signed) node, leaving its sign as it was.
    let proxy = sandbox
        .alipay_tamper_proxy(|body| {
            body.replace(r#""refund_fee":"3.00""#, r#""refund_fee":"6.00""#)
        })
        .await;
    let client = sandbox.alipay_builder().gateway_url(proxy).build().unwrap();
    let e = client
        .trade_refund(&refund("demo-trade-0002", "sig-1", 300))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Signature(SignatureError::Mismatch(SignType::Rsa2))
        ),
        "{e:?}"
    );
    // The gateway did make the refund: the SDK says the outcome is unknown.
    assert!(e.is_outcome_unknown() && !e.is_retryable());
    assert_eq!(sandbox.alipay_refunds().await.len(), 1);
}

/// A signed business failure turned into a success: the sign no longer matches.
#[tokio::test]
async fn a_failure_turned_into_a_success_is_rejected() {
    let sandbox = start().await;
    let proxy = sandbox.alipay_tamper_proxy(|body| {
        body.replace(
            r#""code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_HAS_CLOSE","sub_msg":"交易已关闭","#,
            r#""code":"10000","msg":"Success","fund_change":"Y","#,
        )
    })
    .await;
    let client = sandbox
        .alipay_builder()
        .gateway_url(proxy)
        .sign_type(SignType::Rsa)
        .build()
        .unwrap();
    let e = client
        .trade_refund(&refund("demo-trade-0007", "sig-2", 100))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Signature(SignatureError::Mismatch(SignType::Rsa))),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_stripped_signature_is_rejected_even_on_a_business_error() {
    let sandbox = start().await;
    let strip = |body: String| {
        let at = body.rfind(r#","sign":""#).unwrap();
        format!("{}}}", &body[..at])
    };
    let proxy = sandbox.alipay_tamper_proxy(strip).await;
    let client = sandbox.alipay_builder().gateway_url(proxy).build().unwrap();
    let e = client
        .trade_query(&TradeId::out_trade_no("demo-trade-0002"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Signature(SignatureError::Missing)),
        "{e:?}"
    );
    // An unsigned ACQ.TRADE_NOT_EXIST is not believed either.
    let e = client
        .refund_query(&RefundQuery::new(TradeId::out_trade_no("nowhere"), "r"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Signature(SignatureError::Missing)),
        "{e:?}"
    );
    assert_ne!(e.sub_code(), Some(&SubCode::AcqTradeNotExist));
    assert!(e.is_outcome_unknown());
}

/// A signed answer to another request (replayed by a man in the middle) is refused: the
/// signature is the gateway's, but it is not about the trade asked for.
#[tokio::test]
async fn a_replayed_answer_about_another_trade_is_rejected() {
    let sandbox = start().await;
    let proxy = sandbox.alipay_tamper_proxy(|body| body).await;
    let client = sandbox
        .alipay_builder()
        .gateway_url(proxy.clone())
        .build()
        .unwrap();
    client
        .trade_query(&TradeId::out_trade_no("demo-trade-0001"))
        .await
        .unwrap();
    // Fetch a genuine answer about trade 0001, then serve it for every request.
    let direct = sandbox.alipay_client();
    let genuine = direct
        .trade_query(&TradeId::out_trade_no("demo-trade-0001"))
        .await
        .unwrap();
    assert_eq!(genuine.out_trade_no.as_deref(), Some("demo-trade-0001"));
    let last = sandbox
        .gateway_journal("alipay.trade.query")
        .await
        .pop()
        .unwrap();
    let recorded = last["response"].as_str().unwrap().to_owned();
    let replay = sandbox.alipay_tamper_proxy(move |_| recorded.clone()).await;
    let client = sandbox
        .alipay_builder()
        .gateway_url(replay)
        .build()
        .unwrap();
    let e = client
        .trade_query(&TradeId::out_trade_no("demo-trade-0002"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("demo-trade-0001"), "{e}");
}

#[tokio::test]
async fn a_non_json_answer_is_a_decode_error() {
    let sandbox = start().await;
    let proxy = sandbox
        .alipay_tamper_proxy(|_| "<html><body>maintenance</body></html>".to_owned())
        .await;
    let client = sandbox.alipay_builder().gateway_url(proxy).build().unwrap();
    let e = client
        .trade_query(&TradeId::out_trade_no("demo-trade-0002"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.is_outcome_unknown() && !e.is_retryable());
}

/// The wrong Alipay public key (another key pair's): every answer fails verification.
#[tokio::test]
async fn a_wrong_alipay_public_key_fails_every_answer() {
    let sandbox = start().await;
    // Any public key that is neither Alipay's nor the app's.
    let other = paysandbox_certs::generate_rsa_keypair(1024).unwrap();
    let client = sandbox
        .alipay_builder()
        .alipay_public_key(other.public_base64)
        .build()
        .unwrap();
    let e = client
        .trade_query(&TradeId::out_trade_no("demo-trade-0002"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Signature(SignatureError::Mismatch(SignType::Rsa2))
        ),
        "{e:?}"
    );
}
