//! `GET /admin/events`: the sandbox's live events ([`crate::events`]) as server-sent events,
//! which the dashboard's pages subscribe to.

use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use tokio::sync::mpsc;

use super::failure::Failure;
use super::route::{Payload, Reply, View};
use crate::events::{MAX_SUBSCRIBERS, Next};
use crate::http::Body;
use crate::state::AppState;

/// Chunks written ahead of a slow reader; past them the stream waits and its subscription
/// falls behind (and is told so) instead of anything growing.
const CHUNKS_AHEAD: usize = 16;

/// A comment line this often keeps proxies from closing an idle stream and notices a reader
/// that went away.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// A reader that takes nothing for this long is dropped.
const STALLED: Duration = Duration::from_secs(30);

/// An open event stream: `text/event-stream`, one event per journal entry (`event: journal`,
/// `data:` the entry) and per state change (`event: changed`, `data: {"type": "changed",
/// "what": ...}`); `event: lagged` (`data: {"lost": N}`) when the reader fell behind and lost
/// N events.
#[derive(Debug)]
pub struct EventStream(pub Body);

impl View for EventStream {
    fn into_payload(self) -> Result<Payload, Failure> {
        Ok(Payload::Stream(self.0))
    }
}

pub(super) fn events(state: &AppState, (): ()) -> Result<Reply<EventStream>, Failure> {
    let Some(mut subscription) = state.events.subscribe() else {
        return Err(Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{MAX_SUBSCRIBERS} event streams are open already"),
        ));
    };
    let (chunks, body) = mpsc::channel::<Bytes>(CHUNKS_AHEAD);
    tokio::spawn(async move {
        // The first bytes tell the browser the stream is open.
        let mut chunk = ": open\n\n".to_owned();
        loop {
            match tokio::time::timeout(STALLED, chunks.send(Bytes::from(chunk))).await {
                Ok(Ok(())) => {}
                // The reader went away, or stalled.
                _ => return,
            }
            chunk = tokio::select! {
                next = subscription.next() => match next {
                    Next::Event(event) => event.to_sse(),
                    Next::Lagged(lost) => format!("event: lagged\ndata: {{\"lost\":{lost}}}\n\n"),
                    Next::Closed => return,
                },
                () = tokio::time::sleep(KEEP_ALIVE) => ": keep-alive\n\n".to_owned(),
            };
        }
    });
    Ok(Reply::ok(EventStream(Body::stream(body))))
}
