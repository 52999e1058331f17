//! WeChat Pay v2 ("APIv2", XML, MD5 / HMAC-SHA256): refund, refund query, order query,
//! unified order and close order, in production or in the sandbox
//! ([`ClientBuilder::sandbox`]).
//!
//! - [`Client`] / [`ClientBuilder`]: credentials, the merchant certificate (PEM or p12),
//!   trusted roots, base URL, timeouts, retries, clock.
//! - [`RefundRequest`] ([`Client::refund`]), [`RefundQuery`] ([`Client::refund_query`],
//!   [`Client::refunds`], [`Client::all_refunds`], [`Client::wait_for_refund`]),
//!   [`OrderId`] ([`Client::order_query`]), [`UnifiedOrderRequest`]
//!   ([`Client::unified_order`]), [`Client::close_order`].
//! - [`Client::download_bill`]: the day's bill ([`Bill`]: typed rows and summary; gzip
//!   handled), "No Bill Exist" as the distinct [`Error::NoBill`].
//! - [`Error`]: one enum for every failure, with [`Error::is_retryable`] and
//!   [`Error::is_outcome_unknown`].
//!
//! Responses are the typed messages of `paysandbox-protocol`, re-exported here: indexed
//! fields (`refund_fee_$n`, `coupon_refund_id_$n_$m`) are `Vec`s.
//!
//! # What every call checks
//! A request is validated field by field before it is sent, signed with the API key and
//! the configured sign type (MD5 sends no `sign_type` field, the documented default; HMAC
//! sends `sign_type=HMAC-SHA256`), with a fresh 32-character `nonce_str`.
//!
//! A response must be HTTP 200 and a flat `<xml>` document. `return_code=FAIL` is
//! [`Error::Protocol`] (the platform does not sign those). Anything with
//! `return_code=SUCCESS` must be signed with the same sign type and key, or it is
//! [`Error::Signature`], with a single exception: an unsigned `MCHID_NOT_EXIST` business
//! error is accepted as [`Error::Business`], since the platform has no key to sign with for
//! a merchant it does not know. An unsigned answer is never taken as a success.

pub(crate) mod bill;
mod client;
mod error;
pub mod notify;
mod order_query;
mod payment;
mod refund;
mod refund_query;
pub mod v3;
#[cfg(test)]
mod vectors;
mod wire;

pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
    SANDBOX_KEY_TTL,
};
pub use error::{Error, RATE_LIMIT_WAIT, SignatureError};
pub use payment::{UnifiedOrderRequest, UnifiedOrderRequestBuilder};
pub use refund::{RefundRequest, RefundRequestBuilder};
pub use refund_query::{RefundQuery, RefundStream, WaitOptions};

pub use paysandbox_protocol::wechat::bill::{Bill, BillDate, BillRow, BillSummary, BillType, Fee};
pub use paysandbox_protocol::wechat::{
    CloseOrderResponse, CouponRefund, CouponType, ErrCode, FieldError, FieldErrorKind, OrderCoupon,
    OrderId, OrderQueryResponse, PaymentInfo, RefundAccount, RefundChannel, RefundQueryResponse,
    RefundQuerySelector, RefundRecord, RefundResponse, RefundStatus, ResultHeader, SignType,
    TradeState, TradeType, UnifiedOrder, UnifiedOrderResponse,
};
