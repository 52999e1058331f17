//! WeChat Pay API v3 against an in-process sandbox over HTTPS: authentication and its
//! SIGN_ERROR answers, refunds and the payment calls on the shared ledger (with v2 on the same
//! orders), the platform identities, faults and the ledger's rules. Every 2xx answer is
//! verified by the test kit's v3 client; every error is checked for its status, body and
//! Request-ID.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

mod auth;
mod bill;
mod faults;
mod identity;
mod notify;
mod refund;
mod transactions;
