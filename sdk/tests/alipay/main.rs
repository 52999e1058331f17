//! The Alipay client against the in-process paysandbox gateway (HTTPS with the sandbox CA,
//! and plain HTTP). One binary, one module per concern, sharing `support` (the CA and the
//! demo app's keys are generated once per binary).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

mod bills;
mod calls;
mod errors;
mod keys;
mod notify;
#[path = "../shared/receiver.rs"]
mod receiver;
mod retry;
mod signatures;
