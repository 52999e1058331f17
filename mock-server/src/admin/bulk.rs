//! `POST /admin/wechat/orders/bulk`: seeds orders from an NDJSON body (one `SeedOrder` JSON
//! object a line, the same fields as `POST /admin/wechat/orders`), streamed, so a million
//! orders never sit in memory as one request body. Seeds are applied in batches under the
//! ledger lock; a bad line is reported and skipped, the others are seeded.

use std::time::Instant;

use http_body_util::BodyExt;
use hyper::StatusCode;
use hyper::body::Incoming;
use serde::Serialize;

use super::failure::Failure;
use super::route::{Reply, ReplyFuture};
use crate::ledger::wechat::SeedOrder;
use crate::state::AppState;

/// Seeds parsed per lock acquisition: large enough to amortise the lock, small enough that
/// API requests interleave with a long bulk load.
const BATCH: usize = 10_000;
/// Longest accepted line.
const MAX_LINE: usize = 64 * 1024;
/// Most lines one request may carry.
const MAX_LINES: u64 = 20_000_000;
/// Errors echoed back in full.
const REPORTED_ERRORS: usize = 10;

/// What a bulk load did.
#[derive(Debug, Clone, Serialize)]
pub struct BulkReport {
    /// Orders seeded.
    pub seeded: u64,
    /// Lines refused (bad JSON, or refused by the ledger).
    pub failed: u64,
    /// The first refused lines.
    pub errors: Vec<LineError>,
    /// Wall-clock time the load took.
    pub seconds: f64,
}

/// A refused line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// 1-based line number.
    pub line: u64,
    /// Why it was refused.
    pub error: String,
}

#[derive(Default)]
struct Progress {
    line: u64,
    seeded: u64,
    failed: u64,
    errors: Vec<LineError>,
    batch: Vec<(u64, SeedOrder)>,
}

impl Progress {
    fn fail(&mut self, line: u64, error: String) {
        self.failed += 1;
        if self.errors.len() < REPORTED_ERRORS {
            self.errors.push(LineError { line, error });
        }
    }

    fn take_line(&mut self, text: &[u8], state: &AppState) {
        self.line += 1;
        if text.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match serde_json::from_slice::<SeedOrder>(text) {
            Ok(seed) => match super::input::wechat_seed(&seed, state.clock.now()) {
                Ok(()) => self.batch.push((self.line, seed)),
                Err(refused) => self.fail(self.line, refused.view().error.clone()),
            },
            Err(e) => self.fail(self.line, format!("invalid JSON: {e}")),
        }
        if self.batch.len() >= BATCH {
            self.flush(state);
        }
    }

    fn flush(&mut self, state: &AppState) {
        if self.batch.is_empty() {
            return;
        }
        let now = state.clock.now();
        let batch = std::mem::take(&mut self.batch);
        let mut failures = Vec::new();
        {
            let mut guard = state.world();
            let world = &mut *guard;
            for (line, seed) in batch {
                match world.wechat.seed_order_indexed(seed, now, &mut world.ids) {
                    Ok(_) => self.seeded += 1,
                    Err(e) => failures.push((line, e.to_string())),
                }
            }
        }
        for (line, error) in failures {
            self.fail(line, error);
        }
    }
}

/// Streams the body, seeding as it goes; answers with counts and the first errors.
pub(super) fn seed_orders(body: Incoming, state: &AppState) -> ReplyFuture<'_, BulkReport> {
    Box::pin(seed_stream(body, state))
}

async fn seed_stream(mut body: Incoming, state: &AppState) -> Result<Reply<BulkReport>, Failure> {
    let started = Instant::now();
    let mut progress = Progress::default();
    let mut pending: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(
                Failure::bad_request("the request body ended early").with_seeded(progress.seeded)
            );
        };
        let Some(data) = frame.data_ref() else {
            continue;
        };
        pending.extend_from_slice(data);
        let mut start = 0;
        while let Some(offset) = pending
            .get(start..)
            .and_then(|rest| rest.iter().position(|b| *b == b'\n'))
        {
            let end = start + offset;
            if let Some(line) = pending.get(start..end) {
                progress.take_line(line, state);
            }
            start = end + 1;
        }
        pending.drain(..start);
        if pending.len() > MAX_LINE || progress.line > MAX_LINES {
            progress.flush(state);
            return Err(Failure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("lines must be under {MAX_LINE} bytes and at most {MAX_LINES}"),
            )
            .with_seeded(progress.seeded));
        }
    }
    if !pending.is_empty() {
        let last = std::mem::take(&mut pending);
        progress.take_line(&last, state);
    }
    progress.flush(state);
    Ok(Reply::ok(BulkReport {
        seeded: progress.seeded,
        failed: progress.failed,
        errors: progress.errors,
        seconds: started.elapsed().as_secs_f64(),
    }))
}
