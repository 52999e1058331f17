//! The Alipay gateway against an in-process sandbox, over HTTPS and plain HTTP: the gateway's
//! parameter and signature rules, refunds, trades, bills and notifications. One binary, one
//! module per concern, sharing the test kit (the demo app's keys are made once per binary).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

mod bills;
mod gateway;
mod notify;
mod refund;
mod trades;
