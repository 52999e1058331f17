//! Scenarios and start-up: the whole state written as a scenario file and loaded back
//! exactly (round trip), what a broken file is told, and `paysandbox serve`'s start-up for
//! pipelines (port 0, `--json`, `--ready-file`, `/admin/health`); the persisted store
//! (`--persist`) brings the same state back after a restart, and loses no acknowledged refund
//! when `serve` is killed under load.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod crash;
mod load_errors;
mod persist;
mod round_trip;
mod startup;
