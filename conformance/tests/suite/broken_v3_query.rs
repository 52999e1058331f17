//! The mixed suite catches a v3-only divergence: with the test-only switch that makes the v3
//! refund query report a PROCESSING refund as SUCCESS (v2 still says PROCESSING, the ledger is
//! sound), the v2 + v3 state machine fails, shrunk to a short sequence that ends in a v3 read.

use std::sync::Arc;

use paysandbox_conformance::env::Env;
use paysandbox_conformance::suite::{self, Options};
use paysandbox_conformance::{wechat, wechat_v3};

#[test]
fn v3_query_divergence_is_found_and_shrunk() {
    let env =
        Arc::new(Env::in_process(|c| c.wechat_rules.v3_query_divergence_for_tests = true).unwrap());
    let options = Options {
        cases: 64,
        max_steps: 30,
        seed: Some(7),
        ..Options::default()
    };
    // The v2-only suite cannot see it: the ledger and every v2 answer are right.
    suite::run_machine::<wechat::Machine>(
        env.clone(),
        &Options {
            cases: 8,
            ..options
        },
    )
    .expect("the divergence is v3-only");
    let failure = suite::run_machine::<wechat_v3::Machine>(env, &options)
        .expect_err("the v3 divergence must fail the mixed suite");
    println!("{failure}");
    let last = failure.steps.last().map(String::as_str).unwrap_or_default();
    assert!(
        failure.steps.len() <= 5
            && failure.steps.iter().any(|s| s.contains("refund order#"))
            && (last.starts_with("v3 refund query") || last.starts_with("compare")),
        "not shrunk to a short sequence ending in a v3 read:\n{failure}"
    );
    assert!(
        failure.reason.contains("SUCCESS") && failure.reason.contains("PROCESSING"),
        "{failure}"
    );
}
