//! `paysandbox-conformance`: runs the conformance suite against an already running server
//! (e.g. `paysandbox serve`) and prints passed, failed and the shrunk counterexample.
//!
//! The suite creates its own WeChat merchant and Alipay app through the admin API and reads
//! their certificate and key files at the paths the admin API answers, so it must run on the
//! server's machine (or see its data directory at the same path).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use paysandbox_conformance::env::{Env, Rules, Urls};
use paysandbox_conformance::suite::{self, Options};

/// Runs the paysandbox conformance suite against a running server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// WeChat API base URL.
    #[arg(long, default_value = "https://localhost:8443")]
    wechat_url: String,
    /// Alipay gateway URL.
    #[arg(long, default_value = "http://127.0.0.1:8080/gateway.do")]
    alipay_url: String,
    /// Admin API base URL (without /admin).
    #[arg(long, default_value = "http://127.0.0.1:8444")]
    admin_url: String,
    /// CA certificate to trust for HTTPS (default: the one the admin API names).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Cases per property (state machines: one random sequence per case).
    #[arg(long, default_value_t = 32, env = "PROPTEST_CASES")]
    cases: u32,
    /// Longest sequence of a state-machine case.
    #[arg(long, default_value_t = 30)]
    max_steps: usize,
    /// RNG seed, to replay a reported failure.
    #[arg(long)]
    seed: Option<u64>,
    /// The server's `--settle-delay-secs`.
    #[arg(long, default_value_t = 10)]
    settle_delay_secs: u64,
    /// The server runs with `--no-refund-spacing`.
    #[arg(long)]
    no_refund_spacing: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let spacing = !args.no_refund_spacing;
    let rules = Rules {
        settle_secs: args.settle_delay_secs,
        wechat_spacing_secs: if spacing { 60 } else { 0 },
        alipay_spacing_secs: if spacing { 3 } else { 0 },
    };
    let urls = Urls {
        wechat: args.wechat_url,
        alipay: args.alipay_url,
        admin: args.admin_url,
        ca: args.ca,
    };
    let env = match Env::remote(urls, rules) {
        Ok(env) => Arc::new(env),
        Err(e) => {
            eprintln!("setup failed: {e}");
            return ExitCode::from(2);
        }
    };
    let options = Options {
        cases: args.cases,
        max_steps: args.max_steps,
        seed: Some(
            args.seed
                .unwrap_or_else(|| u64::from(std::process::id()) << 20 ^ 0x5eed),
        ),
        ..Options::default()
    };
    println!(
        "paysandbox conformance: merchant {} app {} against {} (cases {}, seed {:?})",
        env.wechat.mch_id, env.alipay.app_id, env.urls.wechat, options.cases, options.seed
    );
    // Failing cases panic while proptest shrinks them; the report prints the minimal one.
    std::panic::set_hook(Box::new(|_| {}));
    let checks = suite::run_all(&env, &options);
    let _ = std::panic::take_hook();
    let mut failed = 0;
    for check in &checks {
        match &check.outcome {
            Ok(summary) => println!("PASS  {}: {summary}", check.name),
            Err(counterexample) => {
                failed += 1;
                println!("FAIL  {}\n{counterexample}", check.name);
            }
        }
    }
    println!("{} passed, {failed} failed", checks.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
