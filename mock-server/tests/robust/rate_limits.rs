//! Rate-limit isolation: an erroneous refund counts against whoever authenticated it (the
//! signing merchant, else the certificate's merchant, else the address), never against the
//! merchant it merely names.

use paysandbox_protocol::wechat::Params;
use paysandbox_testkit::prelude::*;
use serde_json::json;

const VICTIM: &str = "1900000301";
const VICTIM_APPID: &str = "wx00000000000003a1";
const VICTIM_KEY: &str = "victimkey0000000000000000000000v";
/// A merchant of its own for the address test: the in-process sandboxes of this binary share
/// one certificate directory, and two tests creating one merchant at once would race on its
/// certificate and key files.
const STRANGER: &str = "1900000302";

fn victim_refund(out_trade_no: &str, out_refund_no: &str) -> Params {
    let mut params = refund_params(out_trade_no, out_refund_no, 1000, 10);
    params.insert_text("mch_id", VICTIM);
    params.insert_text("appid", VICTIM_APPID);
    params
}

async fn create_victim(sandbox: &Sandbox, mch_id: &str) {
    sandbox
        .admin_client()
        .create_merchant(
            mch_id,
            json!({"appids": [VICTIM_APPID], "api_key": VICTIM_KEY, "refundable_balance": 100_000}),
        )
        .await
        .unwrap();
    sandbox
        .admin_post(
            "/admin/wechat/orders",
            json!({"mch_id": mch_id, "out_trade_no": "victim-order", "total_fee": 1000}),
        )
        .await;
}

#[tokio::test]
async fn bad_signatures_naming_another_merchant_count_against_the_certificate() {
    let sandbox = start().await;
    create_victim(&sandbox, VICTIM).await;
    let attacker = sandbox.https_client(ClientCert::Merchant(MCH));
    for i in 0..8 {
        // Names the victim, carried by the demo merchant's certificate, signed with a wrong key.
        let answer = sandbox
            .call_with(
                &attacker,
                "/secapi/pay/refund",
                victim_refund("victim-order", &format!("bad-{i}")),
                "not-the-victims-key-000000000000",
            )
            .await;
        if i < 7 {
            assert_eq!(answer.get("return_code"), Some("FAIL"), "{answer:?}");
            assert_eq!(
                answer.get("return_msg"),
                Some("签名错误,请检查后再试"),
                "{answer:?}"
            );
        } else {
            // The seventh error blocked the certificate's merchant, which the eighth meets.
            assert_eq!(
                answer.get("err_code"),
                Some("INVALID_REQ_TOO_MUCH"),
                "{answer:?}"
            );
            assert_eq!(answer.get("mch_id"), Some(VICTIM));
            assert_eq!(answer.get("sign"), None);
        }
    }
    let victim = sandbox.https_client(ClientCert::Merchant(VICTIM));
    let answer = sandbox
        .call_with(
            &victim,
            "/secapi/pay/refund",
            victim_refund("victim-order", "good-1"),
            VICTIM_KEY,
        )
        .await;
    assert_eq!(answer.get("result_code"), Some("SUCCESS"), "{answer:?}");
    // The certificate's merchant sent them: it is the one blocked.
    let answer = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("demo-order-0001", "x-1", 1000, 1),
        )
        .await;
    assert_eq!(
        answer.get("err_code"),
        Some("INVALID_REQ_TOO_MUCH"),
        "{answer:?}"
    );
}

#[tokio::test]
async fn errors_without_a_known_merchant_count_against_the_address() {
    let sandbox = start().await;
    create_victim(&sandbox, STRANGER).await;
    // After a reset the victim is gone, but its certificate still chains to the sandbox CA:
    // a caller that proves no known merchant.
    sandbox.reset().await;
    let stranger = sandbox.https_client(ClientCert::Merchant(STRANGER));
    for i in 0..7 {
        let answer = sandbox
            .call_with(
                &stranger,
                "/secapi/pay/refund",
                refund_params("demo-order-0001", &format!("s-{i}"), 1000, 1),
                "wrong-key-00000000000000000000000",
            )
            .await;
        assert_eq!(
            answer.get("return_msg"),
            Some("签名错误,请检查后再试"),
            "{answer:?}"
        );
    }
    // The address is now blocked for requests that fail authentication...
    let answer = sandbox
        .call_with(
            &stranger,
            "/secapi/pay/refund",
            refund_params("demo-order-0001", "s-8", 1000, 1),
            "wrong-key-00000000000000000000000",
        )
        .await;
    assert_eq!(
        answer.get("err_code"),
        Some("INVALID_REQ_TOO_MUCH"),
        "{answer:?}"
    );
    assert_eq!(answer.get("sign"), None, "nobody to sign for");
    // ...but the merchant it named, calling from the same address, is not.
    let answer = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("demo-order-0001", "ok-1", 1000, 1),
        )
        .await;
    assert_eq!(answer.get("result_code"), Some("SUCCESS"), "{answer:?}");
}
