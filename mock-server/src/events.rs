//! Live events for whoever watches the sandbox (the dashboard, `GET /admin/events`): every
//! journal entry as it is recorded, and a note whenever the state changed (an admin call, a
//! refund settling, a notification attempt).
//!
//! Bounded on every side, since a watcher is a browser tab that may stall: one broadcast
//! buffer of [`EVENT_BUFFER`] events shared by all subscribers (a subscriber that falls
//! further behind loses the oldest and is told how many it missed, the sender never waits),
//! and at most [`MAX_SUBSCRIBERS`] subscribers at once. Publishing with nobody subscribed
//! costs one atomic load: the request path pays for events only while someone watches.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::journal::JournalEntry;

/// Events buffered for the slowest subscriber before it starts losing the oldest.
pub const EVENT_BUFFER: usize = 256;

/// Subscribers at once; one more is refused.
pub const MAX_SUBSCRIBERS: usize = 32;

/// Something that happened.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A request was answered and journalled.
    Journal {
        /// The entry, as `GET /admin/journal` lists it.
        entry: Box<JournalEntry>,
    },
    /// The state changed.
    Changed {
        /// What changed it: `POST /admin/clock/advance`, `notification attempt`...
        what: String,
    },
}

impl Event {
    /// The event's name on an event stream (`event:` line).
    pub fn name(&self) -> &'static str {
        match self {
            Event::Journal { .. } => "journal",
            Event::Changed { .. } => "changed",
        }
    }

    /// The event as one server-sent event: its name and its JSON on one `data:` line (JSON
    /// escapes newlines, so one line always holds it).
    pub fn to_sse(&self) -> String {
        let data = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned());
        format!("event: {}\ndata: {data}\n\n", self.name())
    }
}

/// What a subscriber receives next.
#[derive(Debug)]
pub enum Next {
    /// An event.
    Event(Arc<Event>),
    /// It fell behind and lost this many events (whoever shows them should reload).
    Lagged(u64),
    /// The sandbox is shutting down.
    Closed,
}

/// The sandbox's event bus.
#[derive(Debug)]
pub struct Events {
    sender: broadcast::Sender<Arc<Event>>,
    subscribers: Arc<AtomicUsize>,
    closed: watch::Sender<bool>,
}

impl Default for Events {
    fn default() -> Events {
        Events {
            sender: broadcast::channel(EVENT_BUFFER).0,
            subscribers: Arc::default(),
            closed: watch::channel(false).0,
        }
    }
}

impl Events {
    /// Whether anyone is subscribed (so building an event is worth it).
    pub fn watched(&self) -> bool {
        self.subscribers.load(Ordering::Relaxed) > 0
    }

    /// Sends `event` to every subscriber; never waits.
    pub fn publish(&self, event: Event) {
        if self.watched() {
            // An error only says that nobody is subscribed any more.
            let _ = self.sender.send(Arc::new(event));
        }
    }

    /// A note that the state changed, if anyone watches.
    pub fn changed(&self, what: impl Into<String>) {
        if self.watched() {
            self.publish(Event::Changed { what: what.into() });
        }
    }

    /// Subscribes, unless [`MAX_SUBSCRIBERS`] already are or the bus is closed.
    pub fn subscribe(&self) -> Option<Subscription> {
        if *self.closed.borrow() {
            return None;
        }
        let taken = self
            .subscribers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_SUBSCRIBERS).then_some(n + 1)
            });
        taken.ok()?;
        Some(Subscription {
            receiver: self.sender.subscribe(),
            closed: self.closed.subscribe(),
            _slot: Slot(self.subscribers.clone()),
        })
    }

    /// Ends every subscription (the server is stopping: open event streams must not hold
    /// up its graceful shutdown), and refuses new ones.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Subscribers now.
    pub fn subscribers(&self) -> usize {
        self.subscribers.load(Ordering::Relaxed)
    }
}

/// A subscriber's place; freed when the subscription is dropped.
#[derive(Debug)]
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One subscriber's view of the bus.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<Event>>,
    closed: watch::Receiver<bool>,
    _slot: Slot,
}

impl Subscription {
    /// The next event, the number lost if it fell behind, or the end.
    pub async fn next(&mut self) -> Next {
        if *self.closed.borrow() {
            return Next::Closed;
        }
        tokio::select! {
            received = self.receiver.recv() => match received {
                Ok(event) => Next::Event(event),
                Err(broadcast::error::RecvError::Lagged(lost)) => Next::Lagged(lost),
                Err(broadcast::error::RecvError::Closed) => Next::Closed,
            },
            _ = self.closed.wait_for(|closed| *closed) => Next::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(n: usize) -> Event {
        Event::Changed {
            what: format!("change {n}"),
        }
    }

    #[tokio::test]
    async fn subscribers_get_events_in_order_and_the_slow_one_is_told_what_it_lost() {
        let events = Events::default();
        events.changed("nobody watches: dropped");
        let mut sub = events.subscribe().unwrap();
        for n in 0..EVENT_BUFFER + 10 {
            events.publish(changed(n));
        }
        match sub.next().await {
            Next::Lagged(lost) => assert_eq!(lost, 10),
            other => panic!("expected a lag, got {other:?}"),
        }
        match sub.next().await {
            Next::Event(event) => assert_eq!(event.to_sse(), changed(10).to_sse()),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn subscribers_are_capped_and_their_slots_freed() {
        let events = Events::default();
        let subs: Vec<Subscription> = (0..MAX_SUBSCRIBERS)
            .map(|_| events.subscribe().unwrap())
            .collect();
        assert!(events.subscribe().is_none());
        drop(subs);
        assert_eq!(events.subscribers(), 0);
        let mut sub = events.subscribe().unwrap();
        events.close();
        assert!(matches!(sub.next().await, Next::Closed));
        assert!(events.subscribe().is_none());
    }

    #[test]
    fn an_event_is_one_sse_frame() {
        let sse = Event::Changed {
            what: "a\nb".to_owned(),
        }
        .to_sse();
        assert_eq!(
            sse,
            "event: changed\ndata: {\"type\":\"changed\",\"what\":\"a\\nb\"}\n\n"
        );
    }
}
