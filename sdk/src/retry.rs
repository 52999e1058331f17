//! Opt-in, bounded retries with jittered exponential backoff.
//!
//! The platforms say which failures may be retried (WeChat's `SYSTEMERROR`,
//! `BIZERR_NEED_RETRY`...; Alipay's `ACQ.SYSTEM_ERROR`), and a transport timeout may be
//! retried because the merchant's refund number makes a refund idempotent. Every error type
//! of this crate says so through [`Retryable`]; [`RetryPolicy`] decides how often and how
//! long to wait.
//!
//! A retry always re-sends **the same request**: the same refund number and the same amounts.
//! Only the per-message nonce and signature are new, as on the real platforms.
//!
//! Delays use "full jitter": before retry `n` (1-based) the client waits a uniformly random
//! time in `0..=min(max_delay, base_delay * 2^(n-1))`, so that many clients hitting one
//! outage do not come back in lockstep. An error that asks for a specific wait
//! ([`RetryAdvice::After`], e.g. WeChat's `INVALID_REQ_TOO_MUCH`: one minute) is retried
//! only when that wait fits in `max_delay`; otherwise it is returned at once and the caller
//! decides.

use std::future::Future;
use std::time::Duration;

use rand::RngExt;

use crate::clock::Clock;

/// Whether and when a failed request may be sent again, unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryAdvice {
    /// Sending it again cannot help (or is not known to be safe).
    Never,
    /// Transient: send it again after a short, backed-off delay.
    Backoff,
    /// Send it again, but not before this long (the platform says how long to wait).
    After(Duration),
}

impl RetryAdvice {
    /// True unless [`RetryAdvice::Never`].
    pub fn is_retryable(self) -> bool {
        !matches!(self, RetryAdvice::Never)
    }
}

/// Errors that know whether the platform allows retrying them.
pub trait Retryable {
    /// What the platform advises for this error.
    fn retry_advice(&self) -> RetryAdvice;
}

/// How many times, and how patiently, a client retries retryable failures.
///
/// Off by default ([`RetryPolicy::none`]): a client makes one attempt unless given a policy.
///
/// ```
/// use std::time::Duration;
/// use paysandbox_sdk::retry::RetryPolicy;
///
/// // Up to 4 attempts in all, waiting at most 200 ms, 400 ms, 800 ms (jittered) in between.
/// let policy = RetryPolicy::new(4)
///     .with_base_delay(Duration::from_millis(200))
///     .with_max_delay(Duration::from_secs(2));
/// assert_eq!(policy.max_attempts(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    /// The same as [`RetryPolicy::none`].
    fn default() -> Self {
        Self::none()
    }
}

impl RetryPolicy {
    /// Default first backoff step of [`RetryPolicy::new`].
    pub const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(250);
    /// Default longest wait of [`RetryPolicy::new`].
    pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(5);

    /// No retries: one attempt.
    pub const fn none() -> Self {
        Self {
            max_attempts: 1,
            base_delay: Self::DEFAULT_BASE_DELAY,
            max_delay: Self::DEFAULT_MAX_DELAY,
        }
    }

    /// At most `max_attempts` attempts in all (the first one included; 0 counts as 1), with
    /// the default delays ([`Self::DEFAULT_BASE_DELAY`], [`Self::DEFAULT_MAX_DELAY`]).
    pub const fn new(max_attempts: u32) -> Self {
        Self {
            max_attempts: if max_attempts == 0 { 1 } else { max_attempts },
            base_delay: Self::DEFAULT_BASE_DELAY,
            max_delay: Self::DEFAULT_MAX_DELAY,
        }
    }

    /// Sets the first backoff step; each later retry doubles it, up to the maximum.
    pub const fn with_base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// Sets the longest single wait. Errors asking for a longer wait are not retried.
    pub const fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// Attempts in all, the first one included.
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The first backoff step.
    pub const fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// The longest single wait.
    pub const fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The upper bound of the wait before retry `retry` (1-based) of a
    /// [`RetryAdvice::Backoff`] error: `min(max_delay, base_delay * 2^(retry-1))`.
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.max_delay)
    }

    /// How long to wait before retry `retry` (1-based) after an error with `advice`, or
    /// `None` when the policy does not retry it: attempts used up, not retryable, or a
    /// required wait longer than `max_delay`. Randomised (full jitter).
    pub fn delay_before(&self, retry: u32, advice: RetryAdvice) -> Option<Duration> {
        if retry >= self.max_attempts {
            return None;
        }
        let mut rng = rand::rng();
        match advice {
            RetryAdvice::Never => None,
            RetryAdvice::Backoff => {
                let cap = self.backoff_cap(retry);
                Some(random_up_to(&mut rng, cap))
            }
            RetryAdvice::After(wait) if wait <= self.max_delay => {
                // A little jitter on top, never beyond max_delay.
                let room = (self.max_delay - wait).min(self.base_delay);
                Some(wait + random_up_to(&mut rng, room))
            }
            RetryAdvice::After(_) => None,
        }
    }
}

fn random_up_to(rng: &mut impl rand::Rng, cap: Duration) -> Duration {
    let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.random_range(0..=nanos))
}

/// Runs `attempt` (given the 1-based attempt number) until it succeeds, fails with an error
/// the policy does not retry, or the attempts are used up; waits through `clock`.
///
/// `attempt` must send the same request every time (same idempotency key and amounts).
pub async fn run<T, E, F, Fut>(
    policy: &RetryPolicy,
    clock: &dyn Clock,
    mut attempt: F,
) -> Result<T, E>
where
    E: Retryable + std::fmt::Display,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut n = 1;
    loop {
        match attempt(n).await {
            Ok(value) => return Ok(value),
            Err(error) => match policy.delay_before(n, error.retry_advice()) {
                Some(delay) => {
                    tracing::debug!(attempt = n, ?delay, %error, "retrying the same request");
                    clock.sleep(delay).await;
                    n += 1;
                }
                None => return Err(error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_never_retries() {
        let p = RetryPolicy::none();
        assert_eq!(p.max_attempts(), 1);
        assert_eq!(p.delay_before(1, RetryAdvice::Backoff), None);
        assert_eq!(RetryPolicy::new(0).max_attempts(), 1);
        assert_eq!(RetryPolicy::default(), RetryPolicy::none());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::new(10)
            .with_base_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_millis(700));
        let caps: Vec<_> = (1..=5).map(|n| p.backoff_cap(n).as_millis()).collect();
        assert_eq!(caps, [100, 200, 400, 700, 700]);
        assert_eq!(p.backoff_cap(200), Duration::from_millis(700));
    }

    #[test]
    fn jitter_stays_within_bounds_and_varies() {
        let p = RetryPolicy::new(3)
            .with_base_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(1));
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let d = p.delay_before(2, RetryAdvice::Backoff).unwrap();
            assert!(d <= Duration::from_millis(200), "{d:?}");
            seen.insert(d);
        }
        assert!(seen.len() > 10, "no jitter");
        assert_eq!(
            p.delay_before(3, RetryAdvice::Backoff),
            None,
            "attempts used up"
        );
    }

    #[test]
    fn never_and_long_waits_are_not_retried() {
        let p = RetryPolicy::new(5).with_max_delay(Duration::from_secs(5));
        assert_eq!(p.delay_before(1, RetryAdvice::Never), None);
        assert_eq!(
            p.delay_before(1, RetryAdvice::After(Duration::from_secs(60))),
            None
        );
        let d = p
            .delay_before(1, RetryAdvice::After(Duration::from_secs(4)))
            .unwrap();
        assert!(d >= Duration::from_secs(4) && d <= Duration::from_secs(5));
    }
}
