//! The paysandbox conformance suite: proves the mock behaves like the platforms' specification
//! and the SDK speaks the protocol, in-process (`cargo test -p paysandbox-conformance`) or
//! against any running server (the `paysandbox-conformance` binary).
//!
//! # Layout
//! - [`deviations`]: `DEVIATIONS.md` read as data; the models cite rows by id, and a cited id
//!   missing from the file fails the suite.
//! - [`vectors`]: every known-answer vector of `protocol/tests/data/known_answers.json`.
//! - [`wechat`], [`alipay`]: a reference model per platform (plain Rust, from the spec, never
//!   calling the mock's ledger) and a `proptest-state-machine` binding that runs random
//!   sequences through the SDK and compares every answer with the model, then checks the
//!   invariants (Σ refunds ≤ paid, one debit per refund number, the server holds exactly the
//!   model's refunds, balance + refunded conserved, every answer signed and verifying).
//! - [`wechat_v3`]: WeChat Pay v2 and API v3 mixed on the same orders, predicted by the
//!   [`wechat`] model: both protocols must tell the same story (codes mapped, amounts, ids,
//!   states), every v3 answer's signature verified by the SDK's v3 client.
//! - [`wire`]: sign/verify and codec round trips over arbitrary field sets; tampering always
//!   detected.
//! - [`concurrency`]: N clients refunding one order at once never over-refund.
//! - [`env`]: the target (in-process sandbox or URLs) and the credentials the suite creates
//!   through the admin API.
//! - [`run`]: the options of one property run and the counterexample it reports.
//! - [`suite`]: runs everything with a case count and reports passes, failures and the shrunk
//!   counterexample.
//!
//! # Rules the models know
//! The models follow the server's real rules (refund spacing, settle delay, 50-refund cap,
//! balances) rather than switching them off; the rate limits are kept out of reach by pacing
//! (see [`wechat`]). The in-process sandbox runs a frozen clock, so timing predictions are
//! exact; against a live server every modelled time stays a second or more from a boundary.
//!
//! # Case counts
//! `cargo test` runs a small fixed number of cases; `PROPTEST_CASES=500 cargo test -p
//! paysandbox-conformance --release` is a longer run, and the runner takes `--cases N`.

pub mod alipay;
pub mod concurrency;
pub mod deviations;
pub mod env;
pub mod run;
pub mod suite;
pub mod vectors;
pub mod wechat;
pub mod wechat_v3;
pub mod wire;

use std::cell::RefCell;
use std::sync::Arc;

use crate::env::Env;

thread_local! {
    static ENV: RefCell<Option<Arc<Env>>> = const { RefCell::new(None) };
}

/// Runs `f` with `env` as the target of the state machines on this thread
/// (`StateMachineTest::init_test` takes no arguments, so the target travels this way).
pub fn with_env<R>(env: Arc<Env>, f: impl FnOnce() -> R) -> R {
    wechat::set_rules(&env);
    alipay::set_rules(&env);
    let previous = ENV.with(|e| e.borrow_mut().replace(env));
    let result = f();
    ENV.with(|e| *e.borrow_mut() = previous);
    result
}

pub(crate) fn current_env() -> Arc<Env> {
    match ENV.with(|e| e.borrow().clone()) {
        Some(env) => env,
        None => fail("no target: run the state machines inside conformance::with_env".into()),
    }
}

/// Fails the current test case with a message: the state machines report a mismatch by
/// panicking, which proptest catches, records and shrinks.
///
/// # Panics
/// Always.
#[doc(hidden)]
#[allow(clippy::panic)]
pub fn fail(message: String) -> ! {
    panic!("{message}")
}

/// [`fail`] with `format!` arguments.
#[macro_export]
#[doc(hidden)]
macro_rules! fail {
    ($($arg:tt)*) => {
        $crate::fail(format!($($arg)*))
    };
}
