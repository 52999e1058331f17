//! WeChat Pay v2 against an in-process sandbox over real (mutual) TLS: the protocol rules, each
//! endpoint, sandbox mode, bills and notifications. One binary, one module per concern, sharing
//! the test kit (certificates are made once per binary).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

mod downloadbill;
mod notify;
mod payment;
mod protocol;
mod refund;
mod refundquery;
mod sandbox_mode;
mod tls;
