//! paysandbox mock server (being written).
#![allow(missing_docs)]
pub mod clock;
pub mod ids;
pub mod ledger;
pub mod ratelimit;
