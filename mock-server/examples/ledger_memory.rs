//! Resident memory per seeded WeChat order, measured in-process: seeds N orders straight into
//! the ledger and prints the RSS growth per order (`/proc/self/status`, Linux only).
//!
//! `cargo run --release -p paysandbox-mock-server --example ledger_memory -- 1000000`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use paysandbox_mock_server::clock::Timestamp;
use paysandbox_mock_server::demo;
use paysandbox_mock_server::ledger::alipay::AlipayRules;
use paysandbox_mock_server::ledger::wechat::{SeedOrder, WechatRules};

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let now = Timestamp(1_700_000_000_000);
    let mut world = demo::scenario()
        .unwrap()
        .load(&WechatRules::default(), &AlipayRules::default(), 1, now)
        .unwrap()
        .world;
    let before = rss_kib();
    let start = std::time::Instant::now();
    for i in 0..n {
        let seed = SeedOrder {
            mch_id: demo::MCH_ID.into(),
            out_trade_no: Some(format!("bench-{i:08}")),
            total_fee: 1_000_000,
            ..SeedOrder::default()
        };
        world.wechat.seed_order(seed, now, &mut world.ids).unwrap();
    }
    let elapsed = start.elapsed();
    let after = rss_kib();
    println!(
        "{n} orders: {:.2} s, RSS +{} KiB, {:.0} bytes/order",
        elapsed.as_secs_f64(),
        after - before,
        (after - before) as f64 * 1024.0 / n as f64
    );
}
