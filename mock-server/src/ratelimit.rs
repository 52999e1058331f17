//! Sliding-window counters on the injected clock, for the platforms' rate limits.

use std::collections::VecDeque;
use std::time::Duration;

use crate::clock::Timestamp;

/// Counts events in the trailing `window` and refuses the one that would exceed `limit`.
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    window: Duration,
    limit: usize,
    events: VecDeque<Timestamp>,
}

impl SlidingWindow {
    /// A window of `window` length that admits at most `limit` events.
    pub fn new(window: Duration, limit: usize) -> SlidingWindow {
        SlidingWindow {
            window,
            limit,
            events: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: Timestamp) {
        let horizon = now.minus(self.window);
        while self.events.front().is_some_and(|t| *t <= horizon) {
            self.events.pop_front();
        }
    }

    /// Records an event at `now` if the window has room; returns whether it had.
    pub fn try_record(&mut self, now: Timestamp) -> bool {
        self.expire(now);
        if self.events.len() >= self.limit {
            return false;
        }
        self.events.push_back(now);
        true
    }

    /// Whether the window holds no event at `now`.
    pub fn is_empty_at(&mut self, now: Timestamp) -> bool {
        self.expire(now);
        self.events.is_empty()
    }

    /// Records an event at `now` unconditionally and returns how many are in the window.
    pub fn record(&mut self, now: Timestamp) -> usize {
        self.expire(now);
        self.events.push_back(now);
        self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_until_the_window_slides() {
        let mut w = SlidingWindow::new(Duration::from_secs(1), 2);
        let t = Timestamp(10_000);
        assert!(w.try_record(t));
        assert!(w.try_record(t));
        assert!(!w.try_record(t.plus(Duration::from_millis(999))));
        assert!(w.try_record(t.plus(Duration::from_secs(1))));
    }
}
