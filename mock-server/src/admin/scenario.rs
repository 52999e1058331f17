//! The sandbox as a whole: `GET /admin/health` (readiness) and `GET /admin/scenario`, the
//! current state written as a scenario file (docs/scenarios.md) that `serve --scenario` loads
//! back.

use hyper::StatusCode;
use serde::{Deserialize, Serialize};

use super::failure::Failure;
use super::route::{Document, Query, Reply, ReplyFuture};
use crate::scenario::Format;
use crate::state::{AppState, Listening};

/// `GET /admin/health`: the sandbox answers, and where it listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthView {
    /// Always true: every listener is bound and the start state loaded before anything
    /// answers.
    pub ready: bool,
    /// The listeners' addresses (the ports the OS chose for port 0).
    pub listening: Listening,
}

pub(super) fn health(state: &AppState, (): ()) -> Result<Reply<HealthView>, Failure> {
    // The server records its addresses before it accepts: an embedder calling handlers
    // without a server is the only way to see this.
    let listening = state
        .listening()
        .ok_or_else(|| Failure::new(StatusCode::SERVICE_UNAVAILABLE, "not listening yet"))?;
    Ok(Reply::ok(HealthView {
        ready: true,
        listening,
    }))
}

/// `GET /admin/scenario?format=json`.
#[derive(Debug, Clone, Deserialize)]
pub struct ScenarioQuery {
    /// `toml` (default) or `json`.
    pub format: Option<String>,
}

pub(super) fn export(
    state: &AppState,
    Query(query): Query<ScenarioQuery>,
) -> ReplyFuture<'_, Document> {
    Box::pin(async move {
        let (format, content_type) = match query.format.as_deref() {
            None | Some("toml") => (Format::Toml, "application/toml"),
            Some("json") => (Format::Json, "application/json"),
            Some(other) => {
                return Err(Failure::bad_request(format!(
                    "format must be toml or json, not {other}"
                )));
            }
        };
        // While the engine drives, an event can be out of the ledgers and not yet in the
        // outbox: the turn waits for the drive to finish.
        let _turn = state.delivery.turn().await;
        let text = state
            .scenario()
            .render(format)
            .map_err(|e| Failure::internal(format!("could not write the scenario: {e}")))?;
        Ok(Reply::ok(Document { content_type, text }))
    })
}
