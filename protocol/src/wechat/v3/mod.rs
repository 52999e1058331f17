//! WeChat Pay API v3 wire formats (JSON over HTTPS, RSA-signed): the layer the sandbox's v3
//! routes and the SDK's v3 client both stand on. The spec is `shared/spec/wechat-v3.md`.
//!
//! Pure: no I/O, no async, no clock. Anything that needs "now" (signature timestamps) or
//! randomness (nonces, AEAD nonces) takes it as an argument.
//!
//! # Layout
//! - [`auth`]: the request signature: the `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n` message and
//!   the `Authorization: WECHATPAY2-SHA256-RSA2048 …` header, built, parsed, signed, verified.
//! - [`response`]: the response and notification signature (`Wechatpay-*` headers), the
//!   server's signer and the client's [`response::Verifier`] (key set, clock skew, probes).
//! - [`aead`]: `AEAD_AES_256_GCM` resources (notifications, `/v3/certificates`).
//! - [`oaep`]: RSA-OAEP sensitive fields (the abnormal refund's `bank_account`, `real_name`).
//! - [`error`]: the error body `{"code","message","detail"}` and [`error::ErrorCode`] (HTTP
//!   status, default message, retryability).
//! - [`identity`]: `serial_no` / `Wechatpay-Serial` values, certificate serials vs WeChat Pay
//!   public-key ids, the two platform-identity modes and the switch-over between them.
//! - [`messages`]: serde types of every request and answer of the refund, payment, query,
//!   close, certificate, notification and bill endpoints, with their field rules.
//! - [`decode`]: strict JSON decoding for the server (every defect a precise
//!   [`decode::DecodeError`], mapped to the platform's PARAM_ERROR / INVALID_REQUEST bodies) and
//!   lenient decoding for the client.
//!
//! A server handles a request as: [`auth::Authorization::parse`] → [`auth::verify_request`] →
//! [`decode::strict`] → `Validate::validate` → ledger → answer → [`response::sign_response`];
//! every failure becomes an [`error::ErrorBody`]. A client runs the mirror image:
//! [`auth::sign_request`] → send → [`response::Verifier::verify`] → [`decode::lenient`].

pub mod aead;
pub mod auth;
pub mod decode;
pub mod error;
pub mod identity;
pub mod messages;
pub mod oaep;
pub mod response;

/// The signature scheme of requests (`Authorization`) and of answers and notifications
/// (`Wechatpay-Signature-Type`).
pub const SIGNATURE_SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
