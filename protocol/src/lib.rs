//! Wire formats of WeChat Pay v2 (XML, MD5 / HMAC-SHA256), WeChat Pay API v3 (JSON,
//! SHA256withRSA, AEAD_AES_256_GCM) and Alipay (gateway.do, RSA2), shared by the paysandbox
//! mock server and SDK.
//!
//! Pure: no I/O, no async, no clock. Everything here is pinned by known-answer vectors from
//! the official documentation so that a mistake shared by the server and the SDK cannot pass
//! unnoticed.
//!
//! # Layout
//! - [`wechat`]: signatures, the flat `<xml>` codec, typed messages, error codes; API v3 in
//!   [`wechat::v3`].
//! - [`rsa`]: the one RSA implementation (aws-lc-rs signing and verification, key loading,
//!   OAEP) that Alipay and API v3 sign with.
//! - [`alipay`]: RSA2/RSA request and response signatures, the JSON response envelope,
//!   typed messages and codes.
//! - [`money`]: amounts as integer fen, and exact conversion of Alipay's yuan strings.
//! - [`beijing`]: Beijing time (UTC+8): every date and time format both platforms print, the
//!   calendar days bills are cut by, and parsing back.

pub mod alipay;
pub mod beijing;
pub mod money;
pub mod rsa;
pub mod wechat;
