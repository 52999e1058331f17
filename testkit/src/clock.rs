//! [`SandboxClock`]: time that passes only when an SDK client sleeps, by advancing the
//! sandbox's clock through the admin API, so an hour of retries or polling runs in
//! milliseconds and the sandbox sees the same hour go by.
// A clock that cannot advance the sandbox is a broken test: `sleep` has no error to return.
#![allow(clippy::panic)]

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use paysandbox_mock_server::clock::Timestamp;
use paysandbox_sdk::clock::{Clock, Sleep};

use crate::admin::Admin;

/// An SDK [`Clock`] whose sleeps advance a sandbox's clock and return at once. Its wall time
/// is the sandbox's frozen start plus what it advanced.
#[derive(Debug)]
pub struct SandboxClock {
    admin: Admin,
    wall_start: SystemTime,
    base: Instant,
    advanced: Mutex<Duration>,
    sleeps: Mutex<Vec<Duration>>,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SandboxClock {
    /// A clock for the sandbox behind `admin`, whose clock stands at `start`.
    pub fn new(admin: Admin, start: Timestamp) -> SandboxClock {
        let since_epoch = u64::try_from(start.0).map_or(Duration::ZERO, Duration::from_millis);
        SandboxClock {
            admin,
            wall_start: UNIX_EPOCH + since_epoch,
            base: Instant::now(),
            advanced: Mutex::new(Duration::ZERO),
            sleeps: Mutex::new(Vec::new()),
        }
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        locked(&self.sleeps).clone()
    }

    /// Virtual time elapsed: the sum of the sleeps.
    pub fn elapsed(&self) -> Duration {
        *locked(&self.advanced)
    }
}

impl Clock for SandboxClock {
    fn now(&self) -> Instant {
        self.base + self.elapsed()
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        Box::pin(async move {
            let millis = u64::try_from(duration.as_millis())
                .unwrap_or_else(|_| panic!("a sleep of {duration:?}"));
            if let Err(e) = self.admin.advance_ms(millis).await {
                panic!("advancing the sandbox clock: {e}");
            }
            *locked(&self.advanced) += Duration::from_millis(millis);
            locked(&self.sleeps).push(duration);
        })
    }

    fn wall_time(&self) -> SystemTime {
        self.wall_start + self.elapsed()
    }
}
