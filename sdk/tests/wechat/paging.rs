//! Refund query paging: more than ten refunds of one order, walked through `offset`, by each
//! of the four ids.

use std::time::Duration;

use paysandbox_sdk::wechat::{RefundQuery, RefundStatus};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn every_refund_across_pages_by_any_id() {
    let sandbox = start_with(|c| c.wechat_rules.refund_spacing = Duration::ZERO).await;
    let client = sandbox.wechat_client();
    let order = sandbox
        .seed_order("paging-order-23", 10_000, json!({}))
        .await;
    let transaction_id = order["transaction_id"].as_str().unwrap().to_owned();
    let mut refund_ids = Vec::new();
    for i in 0..23 {
        let r = client
            .refund(&refund(
                "paging-order-23",
                &format!("page-{i:02}"),
                10_000,
                100 + i,
            ))
            .await
            .unwrap();
        refund_ids.push(r.refund_id);
    }

    // One page: ten records and the total.
    let first = client
        .refund_query(&RefundQuery::by_out_trade_no("paging-order-23"))
        .await
        .unwrap();
    assert_eq!(first.refunds.len(), 10);
    assert_eq!(first.total_refund_count, Some(23));

    // The stream walks offsets 0, 10, 20 and yields all 23 in order.
    let mut stream = client.refunds(RefundQuery::by_out_trade_no("paging-order-23"));
    let mut seen = Vec::new();
    while let Some(record) = stream.next().await {
        let record = record.unwrap();
        assert_eq!(record.refund_status, RefundStatus::Processing);
        seen.push((record.out_refund_no, record.refund_id, record.refund_fee));
    }
    assert_eq!(stream.pages_fetched(), 3);
    let expected: Vec<_> = (0..23u64)
        .map(|i| {
            (
                format!("page-{i:02}"),
                refund_ids[i as usize].clone(),
                100 + i,
            )
        })
        .collect();
    assert_eq!(seen, expected);
    let journal = sandbox.journal_of("/pay/refundquery").await;
    let sent_offsets: Vec<Option<&str>> =
        journal.iter().skip(1).map(|e| sent(e, "offset")).collect();
    assert_eq!(sent_offsets, [None, Some("10"), Some("20")]);

    // By transaction_id, from an offset.
    let tail = client
        .all_refunds(RefundQuery::by_transaction_id(&transaction_id).with_offset(15))
        .await
        .unwrap();
    assert_eq!(tail.len(), 8);
    assert_eq!(tail[0].out_refund_no, "page-15");
    assert_eq!(tail[7].out_refund_no, "page-22");

    // By one refund's ids: that refund alone.
    let by_id = client
        .all_refunds(RefundQuery::by_refund_id(&refund_ids[17]))
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0].out_refund_no, "page-17");
    let by_no = client
        .all_refunds(RefundQuery::by_out_refund_no("page-04"))
        .await
        .unwrap();
    assert_eq!(by_no.len(), 1);
    assert_eq!(by_no[0].refund_id, refund_ids[4]);
}

#[tokio::test]
async fn an_exact_multiple_of_ten_stops_without_an_empty_page() {
    let sandbox = start_with(|c| c.wechat_rules.refund_spacing = Duration::ZERO).await;
    let client = sandbox.wechat_client();
    sandbox
        .seed_order("paging-order-20", 2_000, json!({}))
        .await;
    for i in 0..20 {
        client
            .refund(&refund(
                "paging-order-20",
                &format!("p20-{i:02}"),
                2_000,
                100,
            ))
            .await
            .unwrap();
    }
    let mut stream = client.refunds(RefundQuery::by_out_trade_no("paging-order-20"));
    let mut n = 0;
    while let Some(record) = stream.next().await {
        record.unwrap();
        n += 1;
    }
    assert_eq!((n, stream.pages_fetched()), (20, 2));
    assert_eq!(sandbox.journal_of("/pay/refundquery").await.len(), 2);
}

#[tokio::test]
async fn a_failing_page_ends_the_stream_with_its_error() {
    let sandbox = start_with(|c| c.wechat_rules.refund_spacing = Duration::ZERO).await;
    let client = sandbox.wechat_client();
    sandbox
        .seed_order("paging-order-12", 1_200, json!({}))
        .await;
    for i in 0..12 {
        client
            .refund(&refund(
                "paging-order-12",
                &format!("p12-{i:02}"),
                1_200,
                100,
            ))
            .await
            .unwrap();
    }
    let mut stream = client.refunds(RefundQuery::by_out_trade_no("paging-order-12"));
    for _ in 0..10 {
        stream.next().await.unwrap().unwrap();
    }
    sandbox
        .fault(Fault::err_code("wechat.refundquery", "SYSTEMERROR"))
        .await;
    let error = stream.next().await.unwrap().unwrap_err();
    assert!(error.is_retryable());
    assert!(stream.next().await.is_none());
}
