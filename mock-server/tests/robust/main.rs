//! A sandbox a team can leave running: admin input that cannot panic or corrupt answers,
//! rate limits that one merchant cannot turn against another, ids that do not repeat, a
//! journal bounded in bytes, connection hygiene, cross-origin refusal and notification
//! delivery that blocks nothing else. One module per concern, sharing the test kit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod admin_input;
mod connections;
mod cross_origin;
mod journal;
mod rate_limits;
