//! The one place where every WeChat outcome gets its wire form (spec §1.3, §2.3):
//!
//! | outcome | HTTP | return_code | result_code | signed |
//! |---|---|---|---|---|
//! | protocol failure (bad XML, bad signature, missing parameter, `invalid refund_fee`) | 200 | FAIL + `return_msg` | — | no |
//! | business error with a known merchant | 200 | SUCCESS | FAIL + `err_code`, `err_code_des` | yes, request's sign type |
//! | business error, merchant unknown (MCHID_NOT_EXIST) | 200 | SUCCESS | FAIL | no: there is no key to sign with (deviation: `wx-mchid-not-exist-unsigned`) |
//! | success | 200 | SUCCESS | SUCCESS | yes |
//! | sandbox getsignkey | 200 | SUCCESS | — | no (deviation: `wx-getsignkey-unsigned`) |
//! | certificate missing or untrusted on `/secapi/` | 400 nginx HTML | — | — | — |
//! | downloadbill failure | 200 | FAIL + `return_msg`, `error_code` | — | no |
//! | downloadbill success | 200 text table (`text/plain`) or gzip (`application/x-gzip`) | — | — | — |
//!
//! and where each ledger error becomes its err_code and message. Each answer the mock chose
//! where the spec is UNCONFIRMED or the platforms disagree names its DEVIATIONS.md row with a
//! `deviation:` comment.

use std::borrow::Cow;

use bytes::Bytes;
use hyper::StatusCode;
use paysandbox_protocol::wechat::bill::BillError;
use paysandbox_protocol::wechat::codes::ErrCode;
use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::{Params, xml};

use crate::http;
use crate::ledger::wechat::{LimitError, RefundError, RefundQueryError};

/// The merchant a response is signed for.
#[derive(Debug, Clone)]
pub struct Signer {
    /// Appid echoed in the response.
    pub appid: String,
    /// Merchant id echoed in the response.
    pub mch_id: String,
    /// API key.
    pub key: String,
    /// The request's sign type, which the response uses too.
    pub sign_type: SignType,
    /// The response's `nonce_str`.
    pub nonce: String,
}

/// A business error: err_code and err_code_des.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessError {
    /// The code.
    pub code: ErrCode,
    /// The message.
    pub des: Cow<'static, str>,
    /// The rule that refused, for the journal (not on the wire).
    pub rule: Option<String>,
}

impl BusinessError {
    /// An error with the code's usual message.
    pub fn new(code: ErrCode) -> BusinessError {
        let des = Cow::Owned(code.description().to_owned());
        BusinessError {
            code,
            des,
            rule: None,
        }
    }

    /// An error with a specific message.
    pub fn with(code: ErrCode, des: impl Into<Cow<'static, str>>) -> BusinessError {
        BusinessError {
            code,
            des: des.into(),
            rule: None,
        }
    }

    /// Names the rule that refused, for the journal.
    pub fn by(mut self, rule: impl Into<String>) -> BusinessError {
        self.rule = Some(rule.into());
        self
    }
}

/// What a WeChat route answers, before rendering.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `return_code=FAIL` with this `return_msg`, unsigned.
    ProtocolFail(Cow<'static, str>),
    /// `result_code=FAIL`; signed when the merchant is known (deviation:
    /// `wx-mchid-not-exist-unsigned`).
    Business {
        /// Who to sign for; `None` when the merchant is unknown.
        signer: Option<Signer>,
        /// Appid to echo when unsigned.
        appid: String,
        /// Merchant id to echo when unsigned.
        mch_id: String,
        /// The error.
        error: BusinessError,
    },
    /// `result_code=SUCCESS`: a complete response (header included), signed on render.
    Success {
        /// Who to sign for.
        signer: Signer,
        /// The response fields, unsigned.
        fields: Params,
    },
    /// A `return_code=SUCCESS` answer sent as is, unsigned (the sandbox's getsignkey;
    /// deviation: `wx-getsignkey-unsigned`).
    Plain(Params),
    /// An nginx page: a status and an optional detail line.
    Nginx(StatusCode, Option<&'static str>),
    /// A bare HTTP status with an empty body (an injected gateway failure).
    Status(StatusCode),
    /// A downloadbill failure: `return_code=FAIL`, `return_msg`, `error_code`, unsigned.
    BillFail(BillError),
    /// A downloadbill success: the bill text, or its gzip stream.
    Bill {
        /// The body.
        body: Bytes,
        /// Whether it is gzipped.
        gzip: bool,
    },
}

impl Reply {
    /// A business error for a known merchant.
    pub fn error(signer: &Signer, error: BusinessError) -> Reply {
        Reply::Business {
            signer: Some(signer.clone()),
            appid: signer.appid.clone(),
            mch_id: signer.mch_id.clone(),
            error,
        }
    }

    /// The summary the journal records: `SUCCESS`, the err_code, or the return_msg.
    pub fn outcome(&self) -> String {
        match self {
            Reply::ProtocolFail(msg) => format!("FAIL: {msg}"),
            Reply::Business { error, .. } => error.code.as_str().to_owned(),
            Reply::Success { .. } | Reply::Plain(_) => "SUCCESS".to_owned(),
            Reply::Nginx(status, _) | Reply::Status(status) => format!("HTTP {}", status.as_u16()),
            Reply::BillFail(error) => format!("FAIL: {error}"),
            Reply::Bill { .. } => "SUCCESS".to_owned(),
        }
    }

    /// Whether this counts as an erroneous request for the rate limits.
    pub fn is_error(&self) -> bool {
        !matches!(
            self,
            Reply::Success { .. } | Reply::Plain(_) | Reply::Bill { .. }
        )
    }

    /// Renders the reply as status, content type and body; `nonce` is the response's
    /// `nonce_str`.
    pub fn render(self, nonce: &str) -> (StatusCode, &'static str, Bytes) {
        match self {
            Reply::ProtocolFail(msg) => {
                let mut params = Params::new();
                params.insert_text("return_code", "FAIL");
                params.insert_text("return_msg", msg);
                xml_response(&params)
            }
            Reply::Business {
                signer,
                appid,
                mch_id,
                error,
            } => {
                let mut params = header(&appid, &mch_id, nonce, "FAIL");
                params.insert_text("err_code", error.code.as_str());
                params.insert_text("err_code_des", error.des);
                if let Some(signer) = signer {
                    sign::sign_in_place(&mut params, &signer.key, signer.sign_type);
                }
                xml_response(&params)
            }
            Reply::Success { signer, mut fields } => {
                sign::sign_in_place(&mut fields, &signer.key, signer.sign_type);
                xml_response(&fields)
            }
            Reply::Plain(params) => xml_response(&params),
            Reply::Nginx(status, detail) => (
                status,
                "text/html",
                Bytes::from(http::nginx_page(status, detail)),
            ),
            Reply::Status(status) => (status, "text/plain", Bytes::new()),
            Reply::BillFail(error) => xml_response(&error.to_params()),
            // deviation: wx-bill-content-type
            Reply::Bill { body, gzip: true } => (StatusCode::OK, "application/x-gzip", body),
            Reply::Bill { body, gzip: false } => {
                (StatusCode::OK, "text/plain; charset=utf-8", body)
            }
        }
    }
}

fn header(appid: &str, mch_id: &str, nonce: &str, result_code: &str) -> Params {
    let mut params = Params::new();
    params.insert_text("return_code", "SUCCESS");
    params.insert_text("return_msg", "OK");
    params.insert_text("appid", appid);
    params.insert_text("mch_id", mch_id);
    params.insert_text("nonce_str", nonce);
    params.insert_text("result_code", result_code);
    params
}

fn xml_response(params: &Params) -> (StatusCode, &'static str, Bytes) {
    // deviation: wx-content-type
    (
        StatusCode::OK,
        "text/xml; charset=utf-8",
        Bytes::from(xml::encode(params)),
    )
}

/// The err_code and message of each refund refusal. Codes the spec leaves UNCONFIRMED name
/// their DEVIATIONS.md rows.
pub fn refund_error(error: &RefundError) -> BusinessError {
    use BusinessError as E;
    match error {
        RefundError::UnknownTransactionId => E::new(ErrCode::InvalidTransactionId),
        RefundError::OrderNotExist => E::new(ErrCode::OrderNotExist),
        // deviation: wx-out-refund-no-other-order
        RefundError::OutRefundNoOfAnotherOrder => E::with(
            ErrCode::InvalidRequest,
            "退款单号已被其他订单使用,请更换out_refund_no",
        ),
        RefundError::AmountsDifferFromEarlierRequest => E::new(ErrCode::RefundFeeMismatch),
        RefundError::PayerAccountAbnormal => E::new(ErrCode::UserAccountAbnormal),
        RefundError::OrderNotReady => E::new(ErrCode::OrderNotReady),
        RefundError::Overdue => E::new(ErrCode::TradeOverdue),
        // deviation: wx-total-fee-mismatch
        RefundError::TotalFeeMismatch { .. } => E::with(
            ErrCode::InvalidRequest,
            "订单金额或退款金额与之前请求不一致,请核实后再试",
        ),
        // deviation: wx-fully-refunded
        RefundError::FullyRefunded => E::with(ErrCode::TradeStateError, "订单状态错误"),
        // deviation: wx-51st-refund
        RefundError::TooManyRefunds => {
            E::with(ErrCode::InvalidRequest, "该订单退款次数已达上限(50次)")
        }
        // deviation: wx-cumulative-over-payment
        RefundError::ExceedsRefundable { .. } => {
            E::with(ErrCode::InvalidRequest, "申请退款金额超过订单可退金额")
        }
        // deviation: wx-refund-spacing
        RefundError::TooSoonAfterPreviousRefund => E::with(
            ErrCode::FrequencyLimited,
            "同一笔订单的多次退款需间隔1分钟以上,请稍后再试",
        ),
        RefundError::OldOrderRateLimited => E::new(ErrCode::FrequencyLimited),
        RefundError::NotEnoughBalance { .. } => E::new(ErrCode::NotEnough),
    }
}

/// The err_code and message of each refund-query refusal.
pub fn refund_query_error(error: &RefundQueryError) -> BusinessError {
    match error {
        RefundQueryError::RefundNotExist => BusinessError::new(ErrCode::RefundNotExist),
        // deviation: wx-offset-equals-total (only offset > total gets here)
        RefundQueryError::OffsetOutOfRange { .. } => {
            BusinessError::with(ErrCode::ParamError, "offset参数错误,超出退款单总数")
        }
    }
}

/// The err_code and message of each refund-rate refusal (§3.4 rule 5).
pub fn limit_error(error: LimitError) -> BusinessError {
    match error {
        LimitError::Blocked { .. } => BusinessError::new(ErrCode::InvalidReqTooMuch),
        // deviation: wx-refund-rate-150
        LimitError::TooFrequent => BusinessError::with(
            ErrCode::FrequencyLimited,
            "频率限制,请降低退款请求频率后重试",
        ),
    }
}

/// nginx detail lines for certificate failures on `/secapi/` (§9, observed).
pub mod nginx {
    /// No client certificate.
    pub const NO_CERT: &str = "No required SSL certificate was sent";
    /// A certificate not issued by the sandbox CA.
    pub const BAD_CERT: &str = "The SSL certificate error";
}
