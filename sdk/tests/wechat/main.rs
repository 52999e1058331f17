//! The SDK against the in-process paysandbox mock, over real mutual TLS. One binary, one
//! module per concern, sharing the test kit (certificates are made once per binary).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

mod bills;
mod bills_v3;
mod calls;
mod certificates;
mod errors;
mod notify;
mod paging;
mod payment;
mod retry;
mod sandbox;
mod signatures;
mod wait;
