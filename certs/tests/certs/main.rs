//! The certificates and keys paysandbox generates: the CA and what it issues, the on-disk
//! store, PKCS#12 files, RSA keys for Alipay apps, and interop with the `openssl` command line.
//! One binary, one module per concern, sharing `common`.
// clippy.toml only exempts #[test] functions; the helpers here are test code too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

mod alipay_app;
mod ca;
mod openssl;
mod p12;
mod rsa_keys;
mod store;
mod wechat_v3;
