//! Concurrency: N clients refunding one order at the same moment never over-refund, and a
//! refund number sent by several clients at once is debited once.
//!
//! Each case seeds an order, then N SDK clients (each with its own connections) send their
//! refunds together, some sharing one out_refund_no. Afterwards the server's refunds of that
//! order must total at most the order's amount, each out_refund_no must hold one refund, every
//! accepted answer must name a refund the server holds, and the balance must have moved by
//! exactly the refunded amount. With the refund spacing on, at most one refund of the order
//! can succeed at one instant; the property holds either way.

use std::collections::HashMap;
use std::sync::Arc;

use paysandbox_sdk::wechat::{self, OrderId, RefundRequest};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

use crate::env::Env;
use crate::run::{Counterexample, Options};

/// Clients per case.
pub const CLIENTS: usize = 8;

async fn case(env: &Env, case: &str, total: u64, fees: &[(usize, u64)]) -> Result<(), String> {
    let out_trade_no = format!("{case}o");
    let admin = &env.admin;
    let mch = &env.wechat.mch_id;
    admin
        .update_merchant(mch, json!({ "refundable_balance": 100_000_000u64 }))
        .await
        .map_err(|e| e.to_string())?;
    admin
        .seed_order(
            mch,
            &out_trade_no,
            total,
            json!({ "appid": env.wechat.appid, "paid_seconds_ago": 60 }),
        )
        .await
        .map_err(|e| e.to_string())?;
    // Past any spacing or rate window left by earlier requests.
    admin.advance_ms(62_000).await.map_err(|e| e.to_string())?;

    let mut tasks = Vec::new();
    for (number, fee) in fees {
        let client = wechat::Client::builder(
            mch.as_str(),
            env.wechat.appid.as_str(),
            env.wechat.api_key.as_str(),
        )
        .base_url(&env.urls.wechat)
        .public_roots(false)
        .extra_root_ca_file(&env.wechat.ca)
        .merchant_pem_files(&env.wechat.cert.0, &env.wechat.cert.1)
        .build()
        .map_err(|e| e.to_string())?;
        let request = RefundRequest::builder()
            .order(OrderId::OutTradeNo(out_trade_no.clone()))
            .out_refund_no(format!("{case}r{number}"))
            .total_fee(total)
            .refund_fee(*fee)
            .build()
            .map_err(|e| e.to_string())?;
        tasks.push(tokio::spawn(async move { client.refund(&request).await }));
    }
    let mut accepted: HashMap<String, (String, u64)> = HashMap::new();
    for task in tasks {
        match task.await.map_err(|e| e.to_string())? {
            Ok(r) => {
                if let Some((id, fee)) = accepted.get(&r.out_refund_no)
                    && (id != &r.refund_id || *fee != r.refund_fee)
                {
                    return Err(format!(
                        "{} answered two different refunds",
                        r.out_refund_no
                    ));
                }
                accepted.insert(r.out_refund_no.clone(), (r.refund_id.clone(), r.refund_fee));
            }
            Err(wechat::Error::Business { .. }) => {}
            Err(e) => return Err(format!("unexpected failure: {e}")),
        }
    }
    let list = admin
        .wechat_refunds(&format!("mch_id={mch}"))
        .await
        .map_err(|e| e.to_string())?;
    let held: Vec<&Value> = list
        .iter()
        .filter(|r| r.get("out_trade_no").and_then(Value::as_str) == Some(out_trade_no.as_str()))
        .collect();
    let mut sum = 0;
    let mut numbers = std::collections::HashSet::new();
    for r in &held {
        let no = r
            .get("out_refund_no")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !numbers.insert(no.to_owned()) {
            return Err(format!("{no} debited twice"));
        }
        sum += r.get("refund_fee").and_then(Value::as_u64).unwrap_or(0);
    }
    if sum > total {
        return Err(format!("refunds total {sum} fen of a {total} fen order"));
    }
    if held.len() != accepted.len() {
        return Err(format!(
            "{} answers accepted, the server holds {} refunds",
            accepted.len(),
            held.len()
        ));
    }
    let balance = admin
        .merchant(mch)
        .await
        .map_err(|e| e.to_string())?
        .and_then(|m| m.get("refundable_balance").and_then(Value::as_u64))
        .ok_or("merchant not listed")?;
    if balance + sum != 100_000_000 {
        return Err(format!("balance {balance} + refunded {sum} ≠ 100000000"));
    }
    Ok(())
}

/// Runs the property for `options.cases / 4` cases (at least 4).
///
/// # Errors
/// The failing case, shrunk: the order amount and the (number, fee) list.
pub fn run(env: &Arc<Env>, options: &Options) -> Result<String, Counterexample> {
    let seed = options.seed.unwrap_or(0xc0c0);
    let cases = (options.cases / 4).max(4);
    let mut runner = Options {
        cases,
        max_shrink_iters: 64,
        ..*options
    }
    .runner(seed);
    let strategy = (1u64..=1_000).prop_flat_map(|total| {
        (
            Just(total),
            prop::collection::vec((0usize..CLIENTS / 2, 1..=total), CLIENTS),
        )
    });
    let result = runner.run(&strategy, |(total, fees)| {
        let prefix = env.next_case_prefix();
        env.block_on(case(env, &prefix, total, &fees)).map_err(|e| {
            TestCaseError::fail(format!(
                "order {total} fen, refunds (number, fee) {fees:?}: {e}"
            ))
        })
    });
    result
        .map(|()| format!("{cases} cases of {CLIENTS} parallel clients"))
        .map_err(|e| Counterexample {
            reason: e.to_string(),
            steps: Vec::new(),
            seed,
        })
}
