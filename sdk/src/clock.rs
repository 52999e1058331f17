//! Time as the SDK sees it: "now" and "wait", injectable so that tests never sleep.
//!
//! Everything in the crate that waits (retry backoff, [`wait_for_refund`] polling) goes
//! through a [`Clock`]. The default, [`TokioClock`], reads tokio's clock and sleeps with
//! [`tokio::time::sleep`] (so `tokio::time::pause` works with it too). A test can implement [`Clock`]
//! to advance a virtual time instead, for example the sandbox's own clock through its admin
//! API, and run an hour of polling in milliseconds.
//!
//! The clock also says what time it is on the wall ([`Clock::wall_time`]): Alipay requests
//! carry a `timestamp`, and a test clock can make it the mock's own (frozen) time.
//!
//! [`wait_for_refund`]: crate::wechat::Client::wait_for_refund

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

/// The future returned by [`Clock::sleep`].
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A source of time and a way to wait.
///
/// Implementations must be monotonic: `now()` never goes backwards, and after
/// `sleep(d).await` returns, `now()` has advanced by at least `d`.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Instant;

    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> Sleep<'_>;

    /// The current wall-clock time, for timestamps the platforms ask for (Alipay's
    /// `timestamp` parameter). [`SystemTime::now`] unless overridden; it need not move with
    /// [`Clock::now`].
    fn wall_time(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The real clock: tokio's [`tokio::time::Instant::now`] and [`tokio::time::sleep`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(duration))
    }
}
