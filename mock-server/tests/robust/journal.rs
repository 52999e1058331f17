//! The journal is bounded in bytes: each body keeps a prefix (marked, with its length), the
//! entries together stay under the budget, and emptying it gives the memory back.

use paysandbox_mock_server::journal::JournalLimits;
use paysandbox_protocol::wechat::xml;
use paysandbox_testkit::prelude::*;

#[tokio::test]
async fn large_requests_keep_a_prefix_and_the_total_stays_in_budget() {
    let sandbox = start_with(|c| {
        c.journal = JournalLimits {
            body_prefix: 1024,
            budget: 50_000,
        };
    })
    .await;
    let client = sandbox.https_client(ClientCert::Merchant(MCH));
    // Unauthenticated (unsigned) refunds carrying 300 KB each.
    let mut params = refund_params("demo-order-0001", "big-1", 1000, 1);
    params.insert_text("refund_desc", "r".repeat(300_000));
    let body = xml::encode(&params);
    for _ in 0..40 {
        let (status, _) = sandbox
            .post_raw(&client, "/secapi/pay/refund", body.clone())
            .await;
        assert_eq!(status, 200);
    }
    let (kept, bytes) = {
        let journal = sandbox.running.state.journal();
        (journal.len(), journal.bytes())
    };
    assert!(bytes <= 50_000, "{bytes} bytes kept");
    // Each entry weighs about 2 KB now, not 300 KB: a score of them fit, the oldest went.
    assert!((10..40).contains(&kept), "{kept} entries");
    let entries = sandbox.admin_get("/admin/journal?limit=1000").await;
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), kept);
    let last = entries.last().unwrap();
    assert_eq!(last["seq"], 40);
    assert_eq!(last["request_truncated"], true);
    assert!(last["request_bytes"].as_u64().unwrap() > 300_000, "{last}");
    let kept_bytes: usize = last["request"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap().len() + p[1].as_str().unwrap().len())
        .sum();
    assert!(kept_bytes <= 1024, "{kept_bytes}");
    assert!(last.get("response_truncated").is_none(), "{last}");
    assert_eq!(
        last["response_bytes"].as_u64().unwrap() as usize,
        last["response"].as_str().unwrap().len()
    );
    sandbox
        .admin_client()
        .delete("/admin/journal")
        .await
        .unwrap();
    let journal = sandbox.running.state.journal();
    assert_eq!((journal.len(), journal.bytes()), (0, 0));
}
