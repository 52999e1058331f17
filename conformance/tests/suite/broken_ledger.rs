//! The suite catches a broken ledger: with the test-only switch that lets a refund exceed
//! what is left of the order (Σ refunds > paid), the WeChat state machine fails, and
//! shrinking leaves a short, readable counterexample.

use std::sync::Arc;

use paysandbox_conformance::env::Env;
use paysandbox_conformance::suite::{self, Options};
use paysandbox_conformance::wechat;

#[test]
fn over_refund_bug_is_found_and_shrunk() {
    let env = Arc::new(
        Env::in_process(|c| c.wechat_rules.unchecked_over_refund_for_tests = true).unwrap(),
    );
    let options = Options {
        cases: 64,
        max_steps: 30,
        seed: Some(7),
        ..Options::default()
    };
    let failure = suite::run_machine::<wechat::Machine>(env, &options)
        .expect_err("the broken ledger must fail the suite");
    println!("{failure}");
    let refunds = failure
        .steps
        .iter()
        .filter(|s| s.starts_with("refund "))
        .count();
    assert!(
        failure.steps.len() <= 6 && refunds >= 1,
        "not shrunk to a short sequence:\n{failure}"
    );
    assert!(
        failure.reason.contains("INVALID_REQUEST") || failure.reason.contains("more than its"),
        "{failure}"
    );
}
