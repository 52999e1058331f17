//! Responses are verified: a man in the middle that alters a signed response, drops its
//! signature or sends something else is an error, never a result.

use paysandbox_sdk::wechat::{ErrCode, Error, OrderId, RefundQuery, SignType, SignatureError};

use crate::support::*;

#[tokio::test]
async fn a_tampered_refund_response_is_rejected() {
    let sandbox = start().await;
    // Double the refund amount in the (signed) answer, leaving its sign as it was.
    let proxy = sandbox
        .wechat_tamper_proxy(|body| {
            body.replace(
                "<refund_fee>300</refund_fee>",
                "<refund_fee>600</refund_fee>",
            )
        })
        .await;
    let client = sandbox.wechat_builder().base_url(proxy).build().unwrap();
    let e = client
        .refund(&refund("demo-order-0001", "sig-1", 1000, 300))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Signature(SignatureError::Mismatch(SignType::Md5))),
        "{e:?}"
    );
    // The platform did make the refund: the SDK says the outcome is unknown.
    assert!(e.is_outcome_unknown());
    assert_eq!(sandbox.wechat_refunds().await.len(), 1);
}

#[tokio::test]
async fn a_tampered_hmac_signature_is_rejected() {
    let sandbox = start().await;
    // Flip one hex digit of the sign itself.
    let proxy = sandbox
        .wechat_tamper_proxy(|body| {
            let at = body.find("<sign><![CDATA[").unwrap() + "<sign><![CDATA[".len();
            let mut bytes = body.into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).unwrap()
        })
        .await;
    let client = sandbox
        .wechat_builder()
        .base_url(proxy)
        .sign_type(SignType::HmacSha256)
        .build()
        .unwrap();
    let e = client
        .order_query(&OrderId::OutTradeNo("demo-order-0001".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Signature(SignatureError::Mismatch(SignType::HmacSha256))
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_stripped_signature_is_rejected_even_on_a_business_error() {
    let sandbox = start().await;
    let strip = |body: String| {
        let start = body.find("<sign>").unwrap();
        let end = body.find("</sign>").unwrap() + "</sign>".len();
        format!("{}{}", &body[..start], &body[end..])
    };
    let proxy = sandbox.wechat_tamper_proxy(strip).await;
    let client = sandbox.wechat_builder().base_url(proxy).build().unwrap();
    let e = client
        .order_query(&OrderId::OutTradeNo("demo-order-0001".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Signature(SignatureError::Missing)),
        "{e:?}"
    );
    // An unsigned REFUNDNOTEXIST is not believed either: only MCHID_NOT_EXIST may be
    // unsigned.
    let e = client
        .refund_query(&RefundQuery::by_out_refund_no("never-made"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Signature(SignatureError::Missing)),
        "{e:?}"
    );
    assert_ne!(e.err_code(), Some(&ErrCode::RefundNotExist));
}

#[tokio::test]
async fn a_non_xml_answer_is_a_decode_error() {
    let sandbox = start().await;
    let proxy = sandbox
        .wechat_tamper_proxy(|_| "<html><body>maintenance</body></html>".to_owned())
        .await;
    let client = sandbox.wechat_builder().base_url(proxy).build().unwrap();
    let e = client
        .order_query(&OrderId::OutTradeNo("demo-order-0001".into()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.is_outcome_unknown() && !e.is_retryable());
}
