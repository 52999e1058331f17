//! Alipay open platform (`gateway.do`, OpenAPI v2, RSA2/RSA): refund, refund query, trade
//! query, close, precreate, trade bills.
//!
//! - [`Client`] / [`ClientBuilder`]: app id, app private key (PKCS#1 or PKCS#8 PEM, or bare
//!   base64; text or file), Alipay public key, gateway URL, sign type, timeouts, trusted
//!   roots, retries, clock.
//! - [`RefundRequest`] ([`Client::trade_refund`]), [`RefundQuery`]
//!   ([`Client::refund_query`]), [`TradeId`] ([`Client::trade_query`],
//!   [`Client::trade_close`]), [`PrecreateRequest`] ([`Client::precreate`]), [`BillType`] and
//!   [`BillDate`] ([`Client::bill_download_url`], [`Client::download_bill`] → [`TradeBill`]).
//! - [`Error`]: one enum for every failure, with [`Error::is_retryable`] and
//!   [`Error::is_outcome_unknown`]; gateway and business refusals are both
//!   [`Error::Gateway`], with `code` and `sub_code`.
//!
//! Responses are the typed nodes of `paysandbox-protocol`, re-exported here; amounts in them
//! are [`Fen`] (integer fen, `Fen(150)` is 1.50 yuan).
//!
//! # What every call sends
//! A `POST` to the gateway URL with every parameter in the form body
//! (`application/x-www-form-urlencoded;charset=utf-8`, as smartwalle and gopay send them):
//! `app_id`, `method`, `format=JSON`, `charset=utf-8`, `sign_type`, `timestamp` (Beijing
//! time, `yyyy-MM-dd HH:mm:ss`, from the client's [`Clock`](crate::clock::Clock)),
//! `version=1.0`, `app_auth_token` if configured, `biz_content` (compact JSON, amounts as
//! yuan strings with two decimals), and `sign` over the sorted non-empty parameters.
//!
//! # What every answer must be
//! HTTP 200, a JSON object holding `<method>_response` (the method's dots as underscores) and
//! `sign`: the signature, with the Alipay public key and the request's sign type, of the
//! node's **exact bytes** as they appear in the body (no re-serialisation). A missing or
//! wrong signature is [`Error::Signature`] — business failures are signed too. The only
//! unsigned answers accepted are those the gateway has no key for: `isv.invalid-app-id` and
//! `isv.missing-app-id` under the method node, `isv.missing-method` and `isv.invalid-method`
//! under `error_response`; they come back as [`Error::Gateway`]. An unsigned answer is never
//! taken as a success. A verified answer must also be about the trade (and refund) asked for.

mod bill;
mod client;
mod error;
mod fields;
pub mod notify;
mod precreate;
mod refund;
mod refund_query;
mod trade;

pub use bill::MAX_BILL_BYTES;
pub use client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_GATEWAY_URL, DEFAULT_TIMEOUT,
    REFUND_SPACING,
};
pub use error::{Error, FieldError, FieldErrorKind, SignatureError};
pub use precreate::{PrecreateRequest, PrecreateRequestBuilder};
pub use refund::{RefundRequest, RefundRequestBuilder};
pub use refund_query::{RefundQuery, refund_made};
pub use trade::TradeId;

pub use paysandbox_protocol::alipay::bill::{BillDate, BillType, TradeBill, TradeBillRow};
pub use paysandbox_protocol::alipay::{
    BillDownloadUrlQueryResponse, FastpayRefundQueryResponse, FundBill, GatewayCode, RefundStatus,
    ResponseStatus, SignType, SubCode, TradeCloseResponse, TradePrecreateResponse,
    TradeQueryResponse, TradeRefundResponse, TradeStatus,
};
pub use paysandbox_protocol::money::Fen;
