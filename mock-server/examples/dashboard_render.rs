//! How long the dashboard takes to render its pages, in-process (no HTTP): a sandbox with the
//! demo data and N journal entries shaped like WeChat refunds (ten parameters, a 700-byte
//! signed answer), each page rendered R times; prints the median and the slowest of each and
//! the page's size. BENCHMARKS.md records the figures.
//!
//! `cargo run --release -p paysandbox-mock-server --example dashboard_render -- 300 50`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use paysandbox_mock_server::clock::Timestamp;
use paysandbox_mock_server::dashboard;
use paysandbox_mock_server::journal::{JournalEntry, Signature};
use paysandbox_mock_server::state::{AppState, ClockMode, SandboxConfig};

fn entry(i: usize, now: Timestamp) -> JournalEntry {
    let request: Vec<(String, String)> = [
        ("appid", "wx2421b1c4370ec43b".to_owned()),
        ("mch_id", "1900000109".to_owned()),
        ("nonce_str", format!("{i:032}")),
        ("out_trade_no", "demo-order-0001".to_owned()),
        ("out_refund_no", format!("bench-refund-{i:06}")),
        ("total_fee", "1000".to_owned()),
        ("refund_fee", "1".to_owned()),
        ("refund_desc", "render benchmark".to_owned()),
        ("notify_url", "http://127.0.0.1:9/notify".to_owned()),
        ("sign", "C380BEC2BFD727A4B6845133519F3AD6".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let response = format!(
        "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg><appid><![CDATA[wx2421b1c4370ec43b]]></appid><mch_id><![CDATA[1900000109]]></mch_id><nonce_str><![CDATA[{i:032}]]></nonce_str><result_code><![CDATA[SUCCESS]]></result_code><transaction_id><![CDATA[4200000000202311150000000001]]></transaction_id><out_trade_no><![CDATA[demo-order-0001]]></out_trade_no><out_refund_no><![CDATA[bench-refund-{i:06}]]></out_refund_no><refund_id><![CDATA[50300000000000000000{i:08}]]></refund_id><refund_fee>1</refund_fee><total_fee>1000</total_fee><cash_fee>1000</cash_fee><sign><![CDATA[0A1B2C3D4E5F60718293A4B5C6D7E8F9]]></sign></xml>"
    );
    JournalEntry {
        seq: 0,
        at: now,
        method: "POST".into(),
        path: "/secapi/pay/refund".into(),
        peer: "127.0.0.1:40000".into(),
        merchant: Some("1900000109".into()),
        request,
        request_truncated: false,
        request_bytes: 0,
        status: 200,
        outcome: if i.is_multiple_of(10) {
            "NOTENOUGH"
        } else {
            "SUCCESS"
        }
        .into(),
        response: Bytes::from(response),
        response_truncated: false,
        response_bytes: 0,
        signature: Signature::Ok,
        rule: i.is_multiple_of(10).then(|| "injected fault".to_owned()),
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let entries: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(300);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let now = Timestamp(1_700_000_000_000);
    let mut config = SandboxConfig::new(dir.path());
    config.clock = ClockMode::FrozenAt(now);
    let state = AppState::new(config).unwrap();
    for i in 0..entries {
        state.record(entry(i, now));
    }
    println!("{entries} journal entries, {rounds} renders of each page");
    for page in [
        "/",
        "/dashboard/orders",
        "/dashboard/refunds",
        "/dashboard/notifications",
        "/dashboard/journal",
    ] {
        let mut times: Vec<Duration> = Vec::with_capacity(rounds);
        let mut bytes = 0;
        for _ in 0..rounds {
            let started = Instant::now();
            let html = dashboard::render(&state, page).await.unwrap().unwrap();
            times.push(started.elapsed());
            bytes = html.len();
        }
        times.sort();
        let median = times[times.len() / 2];
        let slowest = times[times.len() - 1];
        println!(
            "{page:<26} median {:>7.2} ms  slowest {:>7.2} ms  {:>7} bytes",
            median.as_secs_f64() * 1e3,
            slowest.as_secs_f64() * 1e3,
            bytes
        );
    }
}
