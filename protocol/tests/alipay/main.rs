//! The Alipay wire format: form decoding and common parameters, request and response
//! signatures pinned by known answers, keys in every form, codes, typed messages, yuan amounts,
//! bills and notifications. One binary, one module per concern, sharing `support` (the
//! known-answer vectors and their keys).
// clippy.toml only exempts #[test] functions; the helpers here are test code too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

mod bill;
mod codes;
mod common;
mod envelope;
mod keys;
mod messages;
mod money;
mod notify;
mod sign;
