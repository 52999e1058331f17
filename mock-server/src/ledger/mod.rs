//! The domain: merchants, orders, refunds, balances and their rules, for each platform, and
//! what each keeps beside its ledger (WeChat: the refund rate limits and the sandbox keys;
//! Alipay: the bill download links).
//!
//! Synchronous and free of HTTP and wire types: a route decodes and authenticates a request,
//! calls one ledger method with the current time, and encodes what comes back. Each method
//! applies one operation atomically (the server holds the ledger behind a mutex), which is
//! what guarantees that concurrent refunds of one order never refund more than was paid.

pub mod alipay;
pub mod wechat;
