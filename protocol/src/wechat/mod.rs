//! WeChat Pay v2 ("legacy", XML) wire formats: refund, refund query, order query, unified
//! order, close order and the sandbox's getsignkey.
//!
//! Pure functions over bytes and strings; the spec is `shared/spec/wechat-v2.md`.
//!
//! - [`params`]: [`Params`], the ordered flat fields of an `<xml>` message.
//! - [`xml`]: [`xml::decode`] (strict and bounded, for untrusted bodies) and [`xml::encode`]
//!   (server style: CDATA strings, bare integers, no prolog).
//! - [`sign`]: MD5 / HMAC-SHA256 signatures, [`sign::sign`], [`sign::verify`].
//! - [`codes`]: `err_code` values ([`ErrCode`]), refund and trade states, channels, accounts,
//!   and the fixed `return_msg` texts.
//! - [`fields`]: field format rules shared by the server and the SDK ([`FieldError`]).
//! - [`messages`]: typed requests and responses to and from [`Params`].
//! - [`bill`]: downloadbill: the request, the bill's text table (writer and parser), gzip, and
//!   the error XML with `error_code`.
//! - [`notify`]: refund notifications (`req_info` AES-256-ECB) and payment notifications, and
//!   the merchant's reply.
//! - [`v3`]: API v3 (JSON, RSA-signed) over the same merchants and orders.
//!
//! A server handles a (v2) request as: [`xml::decode`] → [`sign::request_sign_type`] →
//! [`sign::verify`] → `XxxRequest::from_params` → build a response → `to_params` →
//! [`sign::sign_in_place`] → [`xml::encode`]. Protocol failures use
//! [`messages::return_fail`] and are not signed.

pub mod bill;
pub mod codes;
pub mod fields;
pub mod messages;
pub mod notify;
pub mod params;
pub mod sign;
pub mod v3;
pub mod xml;

pub use codes::{
    CouponType, ErrCode, RefundAccount, RefundChannel, RefundStatus, ResultCode, ReturnCode,
    TradeState, TradeType,
};
pub use fields::{FieldError, FieldErrorKind};
pub use messages::{
    CloseOrderRequest, CloseOrderResponse, GetSignKeyRequest, GetSignKeyResponse, UnifiedOrder,
    UnifiedOrderRequest, UnifiedOrderResponse,
};
pub use messages::{
    CouponRefund, Envelope, OrderCoupon, OrderId, OrderQueryRequest, OrderQueryResponse,
    PaymentInfo, RefundQueryRequest, RefundQueryResponse, RefundQuerySelector, RefundRecord,
    RefundRequest, RefundResponse, ResultHeader, ReturnFail, return_fail,
};
pub use params::{Params, ValueKind};
pub use sign::{InvalidSignType, SignType};
pub use xml::XmlError;
