//! WeChat Pay API v3 (JSON over HTTPS, RSA-signed both ways): refunds, refund queries, the
//! abnormal refund, prepay (JSAPI, Native, App, H5) with the front end's signed parameters,
//! order queries, close, the platform certificate download, and bills.
//!
//! - [`Client`] / [`ClientBuilder`]: the merchant id, the API certificate's private key and
//!   serial (requests are signed with them), the APIv3 key, the platform keys trusted
//!   (certificates, the WeChat Pay public key, or both during the switch-over), base URL,
//!   timeouts, retries, clock.
//! - [`RefundRequest`] ([`Client::refund`]), [`Client::refund_query`],
//!   [`Client::wait_for_refund`], [`AbnormalRefund`]
//!   ([`Client::abnormal_refund`]); [`PrepayRequest`] ([`Client::prepay_jsapi`],
//!   [`Client::prepay_app`], [`Client::prepay_native`], [`Client::prepay_h5`]),
//!   [`Client::order_query`], [`Client::close_order`]; [`Client::download_certificates`].
//! - Bills: [`Client::trade_bill`] and [`Client::fund_flow_bill`] (address and SHA-1),
//!   [`Client::download_bill_file`] (downloaded and hash-checked), or in one step
//!   [`Client::download_trade_bill`] (typed rows, as v2's) and
//!   [`Client::download_fund_flow_bill`].
//! - [`notify`]: notifications verified and decrypted ([`Client::refund_notification`],
//!   [`Client::payment_notification`]).
//! - [`Error`]: one enum, with [`Error::is_retryable`] and [`Error::is_outcome_unknown`]
//!   meaning what they mean for the v2 client.
//!
//! Answers are the serde types of `paysandbox-protocol` ([`Refund`], [`Transaction`]),
//! decoded leniently: a member the platform adds later is ignored.
//!
//! # What every call checks
//! A request is checked before it is sent against the same field tables the sandbox checks
//! it with, then signed: `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n` with SHA256withRSA by the
//! merchant key, the URL exactly as the request line carries it. It names the platform key
//! the client prefers in `Wechatpay-Serial` ([`Client::wechatpay_serial`]); during a
//! switch-over the platform answers with that key.
//!
//! Every 2xx answer is verified before its body is read: the four `Wechatpay-*` signature
//! headers present, not a `WECHATPAY/SIGNTEST/` probe, a timestamp within five minutes of
//! this machine's clock, a serial the client trusts, and the signature over
//! `TIMESTAMP\nNONCE\nBODY\n`. Anything else is [`Error::Signature`], never a result. Error
//! answers (4xx, 5xx) are read unverified, as every official client does, since the platform
//! leaves some of them unsigned; they can only make a call fail. A bill file is the one 2xx
//! answer the platform does not sign: its SHA-1 must be the hash the verified bill answer
//! gave ([`Error::BillHash`]).
//!
//! Retries ([`crate::retry::RetryPolicy`]) resend the same body bytes (the same
//! `out_refund_no` and amounts); only the nonce, timestamp and signature are new.

mod bill;
mod certificates;
mod client;
mod error;
pub mod notify;
mod payment;
mod refund;

pub use bill::{FundFlowAccount, MAX_BILL_BYTES};
pub use certificates::DownloadedCertificate;
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
    MAX_ANSWER_BYTES, MIN_REFRESH_INTERVAL,
};
pub use error::{Error, RATE_LIMIT_WAIT};
pub use payment::{AppPayment, AppPrepay, JsapiPayment, JsapiPrepay, PrepayRequest, check_prepay};
pub use refund::{AbnormalRefund, AbnormalRefundTarget, RefundRequest, RefundRequestBuilder};

pub use crate::wechat::WaitOptions;
pub use paysandbox_protocol::wechat::OrderId;
pub use paysandbox_protocol::wechat::bill::{Bill, BillDate, BillRow, BillSummary, BillType};
pub use paysandbox_protocol::wechat::v3::decode::DecodeError;
pub use paysandbox_protocol::wechat::v3::error::{ErrorCode, ErrorDetail};
pub use paysandbox_protocol::wechat::v3::messages::BillResponse;
pub use paysandbox_protocol::wechat::v3::messages::refund::{Refund, RefundAmount};
pub use paysandbox_protocol::wechat::v3::messages::transaction::{Transaction, TransactionAmount};
pub use paysandbox_protocol::wechat::v3::messages::{
    Notification, RefundNotification, RefundStatus, TradeState,
};
pub use paysandbox_protocol::wechat::v3::response::VerifyError;
