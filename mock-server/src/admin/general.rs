//! Sandbox-wide endpoints: the clock, reset, faults and the journal.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::failure::Failure;
use super::input;
use super::route::{Json, Query, Reply, ReplyFuture};
use crate::clock::When;
use crate::faults::{self, Endpoint, Fault};
use crate::journal::JournalEntry;
use crate::state::AppState;

/// The sandbox clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockView {
    /// Milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// `yyyy-MM-dd HH:mm:ss`, Beijing time.
    pub beijing: String,
    /// Whether it stands still between advances.
    pub frozen: bool,
}

impl ClockView {
    fn of(state: &AppState) -> ClockView {
        let now = state.clock.now();
        ClockView {
            now_ms: now.0,
            beijing: now.beijing_datetime(),
            frozen: state.clock.is_frozen(),
        }
    }
}

pub(super) fn clock(state: &AppState, (): ()) -> Result<Reply<ClockView>, Failure> {
    Ok(Reply::ok(ClockView::of(state)))
}

/// `POST /admin/clock/advance`: how far.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Advance {
    /// Seconds.
    pub seconds: u64,
    /// Milliseconds, added to the seconds.
    pub millis: u64,
}

/// The clock after an advance, and the WeChat refunds that settled on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdvanceView {
    /// The clock now.
    #[serde(flatten)]
    pub clock: ClockView,
    /// refund_ids that reached a final status, in order.
    pub settled_refunds: Vec<String>,
}

pub(super) fn advance(
    state: &AppState,
    Json(advance): Json<Advance>,
) -> ReplyFuture<'_, AdvanceView> {
    Box::pin(async move {
        let by = input::clock_move(state.clock.now(), advance.seconds, advance.millis)?;
        let done = crate::notify::advance(state, by).await;
        Ok(Reply::ok(AdvanceView {
            clock: ClockView {
                now_ms: done.now.0,
                beijing: done.now.beijing_datetime(),
                frozen: state.clock.is_frozen(),
            },
            settled_refunds: done.settled_refunds,
        }))
    })
}

/// `POST /admin/clock/set`: where the clock stands, and optionally whether it is frozen.
#[derive(Debug, Clone, Deserialize)]
pub struct ClockSet {
    /// The time: milliseconds since 1970, `yyyy-MM-dd HH:mm:ss` Beijing time, an RFC 3339
    /// time, or `now - 1d` (relative to the sandbox clock).
    pub at: When,
    /// Freeze the clock there (`true`) or let it run on from there (`false`); left out, it
    /// keeps its mode.
    #[serde(default)]
    pub frozen: Option<bool>,
}

pub(super) fn set_clock(
    state: &AppState,
    Json(set): Json<ClockSet>,
) -> Result<Reply<ClockView>, Failure> {
    let at = input::clock_time("at", set.at.resolve(state.clock.now()))?;
    if let Some(frozen) = set.frozen {
        state.clock.set_frozen(frozen);
    }
    state.clock.set_now(at);
    Ok(Reply::ok(ClockView::of(state)))
}

/// `{"reset": true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResetView {
    /// Always true.
    pub reset: bool,
}

pub(super) fn reset(state: &AppState, (): ()) -> Result<Reply<ResetView>, Failure> {
    state.reset()?;
    Ok(Reply::ok(ResetView { reset: true }))
}

/// `{"cleared": true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClearedView {
    /// Always true.
    pub cleared: bool,
}

/// How many faults are still queued, per endpoint name (endpoints with none left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PendingFaults(pub HashMap<Endpoint, usize>);

pub(super) fn faults(state: &AppState, (): ()) -> Result<Reply<PendingFaults>, Failure> {
    Ok(Reply::ok(PendingFaults(state.faults().pending())))
}

/// `POST /admin/faults`: a fault and how many answers it replaces.
#[derive(Debug, Clone, Deserialize)]
pub struct FaultInjection {
    /// The endpoint whose answers are replaced.
    pub endpoint: Endpoint,
    /// How many of its next answers (1 to 10,000).
    #[serde(default = "one")]
    pub count: usize,
    /// A business error code: WeChat err_code, or Alipay sub_code.
    #[serde(default)]
    pub err_code: Option<String>,
    /// An HTTP status with an empty body instead.
    #[serde(default)]
    pub http_status: Option<u16>,
    /// Wall-clock milliseconds to wait before answering.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Apply the request to the ledger first, then answer with the fault.
    #[serde(default)]
    pub after_apply: bool,
}

fn one() -> usize {
    1
}

pub(super) fn inject_fault(
    state: &AppState,
    Json(injection): Json<FaultInjection>,
) -> Result<Reply<PendingFaults>, Failure> {
    let FaultInjection {
        endpoint,
        count,
        err_code,
        http_status,
        delay_ms,
        after_apply,
    } = injection;
    let fault = Fault {
        err_code,
        http_status,
        delay_ms,
        after_apply,
    };
    input::fault_status(fault.http_status)?;
    input::fault_delay(fault.delay_ms)?;
    faults::check(endpoint, &fault, count).map_err(Failure::bad_request)?;
    let mut faults = state.faults();
    faults.push(endpoint, fault, count);
    Ok(Reply::created(PendingFaults(faults.pending())))
}

pub(super) fn clear_faults(state: &AppState, (): ()) -> Result<Reply<ClearedView>, Failure> {
    state.faults().clear();
    Ok(Reply::ok(ClearedView { cleared: true }))
}

/// `GET /admin/journal?limit=N`.
#[derive(Debug, Clone, Deserialize)]
pub struct JournalQuery {
    /// How many of the newest entries (default 100; a value that is not a number counts as
    /// absent).
    pub limit: Option<String>,
}

/// Entries listed when the query names no (valid) limit.
const DEFAULT_JOURNAL_LIMIT: usize = 100;

pub(super) fn journal(
    state: &AppState,
    Query(query): Query<JournalQuery>,
) -> Result<Reply<Vec<JournalEntry>>, Failure> {
    let limit = query
        .limit
        .and_then(|l| l.parse().ok())
        .unwrap_or(DEFAULT_JOURNAL_LIMIT);
    Ok(Reply::ok(state.journal().tail(limit)))
}

pub(super) fn clear_journal(state: &AppState, (): ()) -> Result<Reply<ClearedView>, Failure> {
    state.journal().clear();
    Ok(Reply::ok(ClearedView { cleared: true }))
}
