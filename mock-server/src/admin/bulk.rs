//! `POST /admin/wechat/orders/bulk`: seeds orders from an NDJSON body (one `SeedOrder` JSON
//! object a line, the same fields as `POST /admin/wechat/orders`), streamed, so a million
//! orders never sit in memory as one request body. Seeds are applied in batches under the
//! ledger lock; a bad line is reported and skipped, the others are seeded.

use std::time::Instant;

use http_body_util::BodyExt;
use hyper::StatusCode;
use hyper::body::Incoming;
use serde_json::{Value, json};

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

#[derive(Default)]
struct Progress {
    line: u64,
    seeded: u64,
    failed: u64,
    errors: Vec<Value>,
    batch: Vec<(u64, SeedOrder)>,
}

impl Progress {
    fn fail(&mut self, line: u64, error: String) {
        self.failed += 1;
        if self.errors.len() < REPORTED_ERRORS {
            self.errors.push(json!({ "line": line, "error": error }));
        }
    }

    fn take_line(&mut self, text: &[u8], state: &AppState) {
        self.line += 1;
        if text.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match serde_json::from_slice::<SeedOrder>(text) {
            Ok(seed) => self.batch.push((self.line, seed)),
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
pub async fn seed_orders(body: Incoming, state: &AppState) -> (StatusCode, Value) {
    let started = Instant::now();
    let mut progress = Progress::default();
    let mut pending: Vec<u8> = Vec::new();
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return (
                StatusCode::BAD_REQUEST,
                json!({ "error": "the request body ended early", "seeded": progress.seeded }),
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
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({
                    "error": format!("lines must be under {MAX_LINE} bytes and at most {MAX_LINES}"),
                    "seeded": progress.seeded,
                }),
            );
        }
    }
    if !pending.is_empty() {
        let last = std::mem::take(&mut pending);
        progress.take_line(&last, state);
    }
    progress.flush(state);
    (
        StatusCode::OK,
        json!({
            "seeded": progress.seeded,
            "failed": progress.failed,
            "errors": progress.errors,
            "seconds": started.elapsed().as_secs_f64(),
        }),
    )
}
