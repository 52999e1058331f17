//! The v3 client against a scripted platform on loopback: what it sends (signed, checked,
//! the same bytes on every retry) and what it accepts (only verified 2xx answers), one module
//! per concern.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

mod auto_refresh;
mod bills;
mod calls;
mod certificates;
mod errors;
mod identity;
mod notify;
mod retry;
mod sandbox_notify;
mod verification;
