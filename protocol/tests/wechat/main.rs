//! The WeChat Pay v2 wire format: the `<xml>` codec, signatures and their known answers, what
//! client libraries send, typed messages, bills and notifications. One binary, one module per
//! concern.
// clippy.toml only exempts #[test] functions; the helpers here are test code too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod bill;
mod clients;
mod messages;
mod notify;
mod sign;
mod xml;
