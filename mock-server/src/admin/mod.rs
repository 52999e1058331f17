//! The admin API: JSON over plain HTTP on its own loopback listener. It seeds merchants and
//! orders (WeChat), apps and trades (Alipay), sets balances and allow-lists, advances the
//! clock, injects faults, forces refund outcomes, plays the buyer (scan, pay), lists state and
//! notifications, reads the request journal and resets. Not part of any platform; the
//! reference is `docs/admin.md`.
//!
//! # How it works
//! - **One table.** [`table()`] lists every endpoint once: method, path pattern
//!   (`/admin/wechat/refunds/{refund_id}/status`), a summary and the handler. [`handle`]
//!   walks it; `GET /admin` renders it. A path that fits with another method answers 405
//!   with `Allow`, an unknown path 404.
//! - **Typed input and views.** A handler names what it reads in its signature: path
//!   parameters, query and body as serde structs behind the extractors of [`route`]
//!   ([`route::Path`], [`route::Query`], [`route::Json`]...), and its answer as a
//!   [`route::Reply`] of a view type. The table takes the field names from those types
//!   ([`shape`]), so `GET /admin` and the docs check cannot drift from the code. Views are
//!   plain `Serialize` structs (a domain object flattened, plus what derives from it), written
//!   out through `serde_json::Value`, so every answer's keys are sorted.
//! - **One failure type.** Every handler fails with a [`Failure`]; domain errors convert into
//!   it with `?` and it alone writes `{"error": ...}` ([`failure`]).
//! - **Notifications.** After a synchronous handler's call with any method but GET, due
//!   notifications are delivered before the answer, so whatever the call changed is notified
//!   by then; the clock advance and the notification endpoints await the engine themselves.
//!
//! Requests bodies never refuse unknown fields (they never did).
//!
//! # Layout
//! - [`table()`]: the endpoints; [`route`]: what a route is, the extractors, dispatch;
//!   [`failure`]: the error mapping; [`shape`]: field names from serde; [`input`]: every
//!   rule for what the admin API accepts (times, amounts, coupons, ids, texts); [`origin`]:
//!   the refusal of requests a web page of another site could send.
//! - Handlers with their request and view types: [`general`] (index, clock, reset, faults,
//!   journal), [`scenario`] (health, the state as a scenario), [`events`] (the live event
//!   stream), [`wechat`], [`bulk`] (streamed NDJSON seeding), [`notifications`], [`alipay`].

pub mod alipay;
pub mod bulk;
#[cfg(test)]
mod docs;
pub mod events;
pub mod failure;
pub mod general;
pub mod input;
pub mod notifications;
pub mod origin;
pub mod route;
pub mod scenario;
pub mod shape;
mod table;
pub mod wechat;

use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response};

pub use failure::Failure;
pub use table::fault_endpoints;
pub use table::table;

use crate::http::{self, Body};
use crate::state::AppState;

/// Handles one admin request.
pub async fn handle(request: Request<Incoming>, state: &AppState) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let body = request.into_body();
    let answer = route::dispatch(table(), state, &method, &path, &query, body).await;
    if answer.is_ok() && method != Method::GET {
        state.events.changed(format!("{method} {path}"));
    }
    match answer {
        Ok((status, route::Payload::Json(value))) => http::json(status, &value),
        Ok((status, route::Payload::Text(document))) => {
            http::respond(status, document.content_type, document.text)
        }
        Ok((status, route::Payload::Stream(body))) => {
            let mut response = Response::new(body);
            *response.status_mut() = status;
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        Err(failure) => failure.into_response(),
    }
}
