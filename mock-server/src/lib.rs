//! paysandbox mock server: a faithful, stateful mock of the WeChat Pay v2 and Alipay refund
//! APIs, embeddable in Rust tests and runnable as `paysandbox`.
//!
//! # Layout
//! - [`server`]: listeners and connections; [`server::run`] serves bound listeners until a
//!   shutdown future resolves; [`server::RunningSandbox`] starts everything on loopback
//!   port 0 for tests.
//! - [`tls`]: rustls acceptor that requests client certificates and classifies them after the
//!   handshake, like nginx's `ssl_verify_client optional`.
//! - [`router`]: admin listener → [`admin`], API listeners → [`alipay`] (`/gateway.do`) and
//!   [`wechat`].
//! - [`wechat`]: one module per endpoint; the order of checks and the one mapping from every
//!   outcome to its wire form ([`wechat::reply`]).
//! - [`alipay`]: the Alipay gateway (`/gateway.do`): the order of checks in one place, the one
//!   mapping from every outcome to its wire form ([`alipay::reply`]), one module per method.
//! - [`ledger`]: the domain (merchants, orders, refunds, balances, rules), synchronous and
//!   wire-free.
//! - [`notify`]: the notification outbox and delivery engine (WeChat refund and payment
//!   results, Alipay trade_status_sync) with the real retry schedules on the injected clock.
//! - [`admin`]: the JSON control API (seed, inspect, faults, clock, journal, reset).
//! - [`state`]: configuration and shared state; [`clock`]: the injected clock; [`ids`]: ids
//!   and nonces from a seeded RNG; [`faults`], [`journal`], [`ratelimit`]: what their names say.
//! - [`demo`]: the demo merchant, app, orders and trades `paysandbox serve` starts with.

pub mod admin;
pub mod alipay;
pub mod clock;
pub mod demo;
pub mod faults;
pub mod http;
pub mod ids;
pub mod journal;
pub mod ledger;
pub mod notify;
pub mod outbox;
pub mod ratelimit;
pub mod router;
pub mod server;
pub mod state;
pub mod tls;
pub mod wechat;
pub mod world;
