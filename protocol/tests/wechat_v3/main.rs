//! WeChat Pay API v3 wire formats: request and answer signatures, messages and their strict
//! decoding, and the known-answer vectors. One binary, one module per concern.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod auth;
mod messages;
mod vectors;
