//! paysandbox mock server: a faithful, stateful mock of the WeChat Pay v2 and Alipay refund
//! APIs, embeddable in Rust tests and runnable as `paysandbox`.
//!
//! # Layout
//! From the ground up; a module uses only the floors below its own (`layers.rs` checks it, and
//! ARCHITECTURE.md at the repository root walks a request through them).
//!
//! - The ground: [`clock`], the injected clock every time rule reads; [`ids`], ids and nonces
//!   from a seeded RNG; [`ratelimit`], sliding windows; [`faults`] and [`journal`], what their
//!   names say; [`tls`], the rustls configuration that requests client certificates and
//!   classifies them after the handshake (nginx's `ssl_verify_client optional`); [`http`], the
//!   HTTP types every route shares ([`http::ConnInfo`], bodies, nginx pages); [`record`],
//!   the error every part of the state answers when its saved records do not hold together;
//!   [`events`], the bounded broadcast of journal entries and state changes that live pages
//!   subscribe to.
//! - The domain: [`ledger`], each platform's merchants, orders, refunds and rules, synchronous
//!   and wire-free, with the WeChat refund rate limits, sandbox keys and Alipay bill links
//!   beside them; [`world`], all of it in one value; [`outbox`], the notifications owed and
//!   their retry schedules; [`scenario`], the whole state as data (scenario files, export);
//!   [`demo`], the scenario `paysandbox serve` starts with.
//! - [`state`]: [`state::AppState`], what a running sandbox shares: configuration, clock,
//!   certificates and TLS, the world, faults, journal, rate limits and outbox behind their
//!   locks, and the delivery engine's handle.
//! - [`notify`]: the delivery engine, which turns ledger events into notifications and POSTs
//!   them on the real schedules.
//! - The routes: [`wechat`] and [`alipay`], each with its order of checks in its module docs,
//!   one module per endpoint and one table from outcomes to the wire ([`wechat::reply`],
//!   [`alipay::reply`]); [`admin`], the JSON control API.
//! - [`dashboard`]: the web pages on the admin listener, drawn from the admin API's own views
//!   and acting through its own endpoints.
//! - [`router`]: which route answers a request; [`server`]: listeners and connections,
//!   [`server::run`] and [`server::RunningSandbox`] for tests; [`startup`]: what `serve`
//!   reports once it listens (banner, `--json`, the ready file).

pub mod admin;
pub mod alipay;
pub mod clock;
pub mod dashboard;
pub mod demo;
pub mod events;
pub mod faults;
pub mod http;
pub mod ids;
pub mod journal;
pub mod ledger;
pub mod notify;
pub mod outbox;
pub mod ratelimit;
pub mod record;
pub mod router;
pub mod scenario;
pub mod server;
pub mod startup;
pub mod state;
pub mod store;
pub mod tls;
pub mod wechat;
pub mod world;

#[cfg(test)]
mod layers;
