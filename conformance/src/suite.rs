//! Runs the suite and reports: what passed, what failed, and the shrunk counterexample.

use std::sync::Arc;

use crate::env::Env;
pub use crate::run::{Counterexample, Options, run_machine};

/// One line of the report.
#[derive(Debug)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Passed (with a summary) or the counterexample.
    pub outcome: Result<String, Counterexample>,
}

/// Everything, against one target: deviations file, vectors, wire properties, the state
/// machines (WeChat v2, WeChat v2 + v3 mixed, Alipay), then the concurrency property (last: it may trip the server's rate limits, so
/// the clock is advanced past their window afterwards).
pub fn run_all(env: &Arc<Env>, options: &Options) -> Vec<Check> {
    let simple = |r: Result<String, String>| {
        r.map_err(|reason| Counterexample {
            reason,
            steps: Vec::new(),
            seed: 0,
        })
    };
    let mut checks = vec![
        Check {
            name: "deviations file lists every cited id",
            outcome: simple(
                crate::deviations::Deviations::embedded()
                    .and_then(|d| d.check_cited().map(|()| d.len()))
                    .map(|n| format!("{n} rows, {} cited", crate::deviations::CITED.len()))
                    .map_err(|e| e.to_string()),
            ),
        },
        Check {
            name: "known-answer vectors",
            outcome: simple(
                crate::vectors::check_all(crate::vectors::KNOWN_ANSWERS).map(|r| format!("{r:?}")),
            ),
        },
        Check {
            name: "wire properties",
            outcome: crate::wire::run(options).map(|n| format!("{n} properties")),
        },
        Check {
            name: "WeChat state machine",
            outcome: run_machine::<crate::wechat::Machine>(env.clone(), options)
                .map(|n| format!("{n} cases")),
        },
        Check {
            name: "WeChat v2 + v3 mixed state machine",
            outcome: run_machine::<crate::wechat_v3::Machine>(env.clone(), options)
                .map(|n| format!("{n} cases")),
        },
        Check {
            name: "Alipay state machine",
            outcome: run_machine::<crate::alipay::Machine>(env.clone(), options)
                .map(|n| format!("{n} cases")),
        },
        Check {
            name: "concurrent refunds never over-refund",
            outcome: crate::concurrency::run(env, options),
        },
    ];
    // Leave no rate-limit block behind for whoever uses the server next.
    if let Err(e) = env.block_on(env.admin.advance_ms(62_000)) {
        checks.push(Check {
            name: "clock advance after the run",
            outcome: simple(Err(e.to_string())),
        });
    }
    checks
}
