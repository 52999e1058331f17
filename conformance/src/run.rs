//! How one property runs: the options (cases, steps, seed) and the shrunk counterexample a
//! failure reports. The suite ([`crate::suite`]) and the properties share them.

use std::fmt;
use std::sync::Arc;

use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};

use crate::env::Env;

/// How much to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Cases per property (state-machine cases: one sequence each).
    pub cases: u32,
    /// Longest transition sequence of a state-machine case.
    pub max_steps: usize,
    /// Shrinking steps at most (each replays a case against the server).
    pub max_shrink_iters: u32,
    /// RNG seed; `None`: random (printed in the report so a failure can be replayed).
    pub seed: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cases: 16,
            max_steps: 30,
            max_shrink_iters: 512,
            seed: None,
        }
    }
}

impl Options {
    /// The defaults with `PROPTEST_CASES` (if set) as the case count.
    pub fn from_env(default_cases: u32) -> Options {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(default_cases);
        Options {
            cases,
            ..Options::default()
        }
    }

    fn seed(&self) -> u64 {
        self.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
    }

    /// A proptest runner for these options, seeded with `seed`.
    pub fn runner(&self, seed: u64) -> TestRunner {
        let config = Config {
            cases: self.cases,
            max_shrink_iters: self.max_shrink_iters,
            failure_persistence: None,
            ..Config::default()
        };
        let mut bytes = [0u8; 32];
        for (i, b) in seed.to_le_bytes().iter().enumerate() {
            if let Some(slot) = bytes.get_mut(i) {
                *slot = *b;
            }
        }
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
    }
}

/// A failed property, shrunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counterexample {
    /// Why it failed (the assertion's message).
    pub reason: String,
    /// The minimal transitions, in order (empty for properties that are not state machines).
    pub steps: Vec<String>,
    /// The seed that found it.
    pub seed: u64,
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "minimal failing sequence (seed {}):", self.seed)?;
        for (i, step) in self.steps.iter().enumerate() {
            writeln!(f, "  {}. {step}", i + 1)?;
        }
        write!(f, "  => {}", self.reason)
    }
}

/// Runs a state machine `M` for `options.cases` cases against `env`; a failure comes back
/// shrunk to its shortest sequence.
///
/// # Errors
/// The counterexample.
pub fn run_machine<M>(env: Arc<Env>, options: &Options) -> Result<u32, Counterexample>
where
    M: StateMachineTest,
    <M::Reference as ReferenceStateMachine>::State: Clone + fmt::Debug,
    <M::Reference as ReferenceStateMachine>::Transition: Clone + fmt::Debug,
{
    let seed = options.seed();
    let mut runner = options.runner(seed);
    let config = runner.config().clone();
    let strategy = M::Reference::sequential_strategy(1..=options.max_steps);
    let result = crate::with_env(env, || {
        runner.run(&strategy, |(state, transitions, seen)| {
            M::test_sequential(config.clone(), state, transitions, seen);
            Ok(())
        })
    });
    match result {
        Ok(()) => Ok(options.cases),
        Err(TestError::Fail(reason, (_, transitions, _))) => Err(Counterexample {
            reason: reason.message().to_owned(),
            steps: transitions.iter().map(|t| format!("{t:?}")).collect(),
            seed,
        }),
        Err(TestError::Abort(reason)) => Err(Counterexample {
            reason: format!("aborted: {}", reason.message()),
            steps: Vec::new(),
            seed,
        }),
    }
}
