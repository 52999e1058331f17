//! The Alipay client against the in-process paysandbox gateway (HTTPS with the sandbox CA,
//! and plain HTTP). One binary, one module per concern, sharing the test kit (the CA and the
//! demo app's keys are made once per binary).
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
mod retry;
mod signatures;
