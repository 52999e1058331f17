//! Faults on v3 endpoints (named `wechat.v3.<endpoint>`, v3 codes), the IP allow-list and the
//! 150 refunds/s limit.

use crate::support::*;

#[tokio::test]
async fn an_injected_system_error_then_the_real_answer() {
    let sandbox = start().await;
    sandbox.seed_order("v3-fault-0001", 1000, json!({})).await;
    sandbox
        .fault(Fault::err_code("wechat.v3.refund", "SYSTEM_ERROR"))
        .await;
    let v3 = sandbox.v3_client();
    let body = refund_body("v3-fault-0001", "v3-fault-r1", 1000, 100);
    let failed = v3.post(REFUNDS, &body).await;
    assert_eq!(
        failed.assert_error(500, "SYSTEM_ERROR")["message"],
        "系统繁忙，请稍后重试"
    );
    // Before the ledger: nothing was refunded.
    assert!(sandbox.wechat_refunds().await.is_empty());
    let retried = v3.post(REFUNDS, &body).await;
    assert_eq!(retried.status, 200, "{}", retried.body);
}

#[tokio::test]
async fn after_apply_the_refund_happened_and_a_retry_with_the_same_number_returns_it() {
    let sandbox = start().await;
    sandbox.seed_order("v3-fault-0002", 1000, json!({})).await;
    sandbox
        .fault(Fault::err_code("wechat.v3.refund", "SYSTEM_ERROR").after_apply(true))
        .await;
    let v3 = sandbox.v3_client();
    let body = refund_body("v3-fault-0002", "v3-fault-r2", 1000, 100);
    v3.post(REFUNDS, &body)
        .await
        .assert_error(500, "SYSTEM_ERROR");
    let refunds = sandbox.wechat_refunds().await;
    assert_eq!(refunds.len(), 1);
    let retried = v3.post(REFUNDS, &body).await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.json["refund_id"], refunds[0]["refund_id"]);
    assert_eq!(sandbox.wechat_refunds().await.len(), 1);
}

#[tokio::test]
async fn a_bare_status_a_query_fault_and_a_delay() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    sandbox
        .fault(Fault::http_status("wechat.v3.certificates", 502))
        .await;
    let bare = v3.get("/v3/certificates").await;
    assert_eq!(bare.status, 502);
    assert_eq!(bare.body, "");
    assert!(bare.header("request-id").is_some());
    assert_eq!(v3.get("/v3/certificates").await.status, 200);

    sandbox
        .fault(Fault::err_code("wechat.v3.order_query", "FREQUENCY_LIMITED").count(2))
        .await;
    let url = format!("/v3/pay/transactions/out-trade-no/demo-order-0001?mchid={MCH}");
    v3.get(&url).await.assert_error(429, "FREQUENCY_LIMITED");
    v3.get(&format!("/v3/pay/transactions/id/42?mchid={MCH}"))
        .await
        .assert_error(429, "FREQUENCY_LIMITED");
    assert_eq!(v3.get(&url).await.status, 200);

    sandbox
        .fault(Fault::delay_ms("wechat.v3.refund_query", 200))
        .await;
    let started = std::time::Instant::now();
    v3.get(&format!("{REFUNDS}/none"))
        .await
        .assert_error(404, "RESOURCE_NOT_EXISTS");
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    let entries = sandbox.journal_of("/v3/certificates").await;
    assert_eq!(entries[0]["status"], 502);
    assert_eq!(entries[0]["rule"], "injected fault");
}

#[tokio::test]
async fn an_address_outside_the_allow_list_is_no_auth() {
    let sandbox = start().await;
    sandbox
        .admin_patch(
            &format!("/admin/wechat/merchants/{MCH}"),
            json!({ "ip_allowlist": ["10.0.0.1"] }),
        )
        .await;
    let answer = sandbox.v3_client().get("/v3/certificates").await;
    assert_eq!(
        answer.assert_error(403, "NO_AUTH")["message"],
        "请求IP不在商户IP白名单内"
    );
}

#[tokio::test]
async fn the_151st_refund_request_in_a_second_is_frequency_limited() {
    let sandbox = start().await;
    let mut lines = String::new();
    for i in 0..151 {
        lines += &format!(
            "{{\"mch_id\":\"{MCH}\",\"out_trade_no\":\"v3-qps-{i:04}\",\"total_fee\":100}}\n"
        );
    }
    let response = http_client()
        .post(format!(
            "{}/admin/wechat/orders/bulk",
            sandbox.running.admin_url
        ))
        .body(lines)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let v3 = sandbox.v3_client();
    for i in 0..150 {
        let no = format!("v3-qps-{i:04}");
        let answer = v3.post(REFUNDS, &refund_body(&no, &no, 100, 100)).await;
        assert_eq!(answer.status, 200, "{i}: {}", answer.body);
    }
    let limited = v3
        .post(
            REFUNDS,
            &refund_body("v3-qps-0150", "v3-qps-0150", 100, 100),
        )
        .await;
    assert_eq!(
        limited.assert_error(429, "FREQUENCY_LIMITED")["message"],
        "频率限制,请降低退款请求频率后重试"
    );
    sandbox.advance(1).await;
    let later = v3
        .post(
            REFUNDS,
            &refund_body("v3-qps-0150", "v3-qps-0150", 100, 100),
        )
        .await;
    assert_eq!(later.status, 200, "{}", later.body);
}

#[tokio::test]
async fn a_bill_fault_covers_both_addresses_and_the_download() {
    let sandbox = start().await;
    sandbox.advance(100_000).await;
    let v3 = sandbox.v3_client();
    let address = v3.get("/v3/bill/tradebill?bill_date=2023-11-15").await;
    assert_eq!(address.status, 200, "{}", address.body);
    let url = address.json["download_url"].as_str().unwrap();
    let path = &url[url.find("/v3/").unwrap()..];
    sandbox
        .fault(Fault::err_code("wechat.v3.bill", "SYSTEM_ERROR").count(3))
        .await;
    for url in [
        "/v3/bill/tradebill?bill_date=2023-11-15",
        "/v3/bill/fundflowbill?bill_date=2023-11-15",
        path,
    ] {
        v3.get(url).await.assert_error(500, "SYSTEM_ERROR");
    }
    let file = v3.download(path).await;
    assert_eq!(file.status, 200, "{}", file.body);
}
