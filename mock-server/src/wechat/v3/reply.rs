//! The one place where every v3 outcome gets its wire form, and where each ledger error becomes
//! its v3 code (spec §1.7), as `wechat/reply.rs` does for v2:
//!
//! | outcome | HTTP | body | signed |
//! |---|---|---|---|
//! | success with a body | 200 | the answer's JSON | yes: `Wechatpay-*` headers, `Request-ID` |
//! | success without a body (close) | 204 | empty | yes, over an empty body line |
//! | error | the code's status | `{"code","detail"?,"message"}` | no; `Request-ID` only |
//! | injected gateway failure | the fault's status | empty | no; `Request-ID` only |
//! | a downloaded bill | 200 | the file (`text/plain` or `application/x-gzip`) | no; `Request-ID` only |
//!
//! Errors are unsigned: some real 4xx answers carry no signature headers, so clients verify
//! 2xx only (spec §1.7; deviation: `wx3-errors-unsigned`).

use hyper::StatusCode;
use paysandbox_protocol::wechat::v3::error::{ErrorBody, ErrorCode};

use crate::ledger::wechat::{
    CloseOrderError, LimitError, RedirectError, RefundError, RefundQueryError, UnifiedOrderError,
};

/// What a v3 route answers, before rendering.
#[derive(Debug, Clone)]
pub enum V3Reply {
    /// 200 with this JSON body, signed.
    Json(Vec<u8>),
    /// 204 without a body, signed.
    NoContent,
    /// An error body with its code's status.
    Error(Box<ErrorBody>),
    /// A bare status with an empty body (an injected gateway failure).
    Status(StatusCode),
    /// 200 with a downloaded file (a bill), unsigned.
    File {
        /// The bytes.
        body: Vec<u8>,
        /// Whether they are gzip.
        gzip: bool,
    },
}

impl V3Reply {
    /// A 200 answer of `value`'s JSON.
    pub fn json<T: serde::Serialize>(value: &T) -> V3Reply {
        match serde_json::to_vec(value) {
            Ok(body) => V3Reply::Json(body),
            // The answer types are plain strings and numbers: this cannot happen.
            Err(_) => V3Reply::code(&ErrorCode::SystemError),
        }
    }

    /// An error with the code's usual message.
    pub fn code(code: &ErrorCode) -> V3Reply {
        V3Reply::body(ErrorBody::of(code))
    }

    /// An error with this body.
    pub fn body(body: ErrorBody) -> V3Reply {
        V3Reply::Error(Box::new(body))
    }

    /// An error with a precise message.
    pub fn error(code: &ErrorCode, message: &str) -> V3Reply {
        V3Reply::body(ErrorBody::new(code, message))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            V3Reply::Json(_) | V3Reply::File { .. } => StatusCode::OK,
            V3Reply::NoContent => StatusCode::NO_CONTENT,
            V3Reply::Error(body) => StatusCode::from_u16(body.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            V3Reply::Status(status) => *status,
        }
    }

    /// Whether the answer is a success.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            V3Reply::Json(_) | V3Reply::NoContent | V3Reply::File { .. }
        )
    }

    /// Whether the answer carries the platform's signature: every success but a downloaded
    /// file, which clients check against the bill's `hash_value` instead (the platform sends
    /// the file unsigned; deviation: `wx3-bill-download-unsigned`).
    pub fn is_signed(&self) -> bool {
        matches!(self, V3Reply::Json(_) | V3Reply::NoContent)
    }

    /// The summary the journal records: `SUCCESS`, the code, or `HTTP <status>`.
    pub fn outcome(&self) -> String {
        match self {
            V3Reply::Json(_) | V3Reply::NoContent | V3Reply::File { .. } => "SUCCESS".to_owned(),
            V3Reply::Error(body) => body.code.clone(),
            V3Reply::Status(status) => format!("HTTP {}", status.as_u16()),
        }
    }

    /// The error code, if this is an error body.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            V3Reply::Error(body) => Some(body.error_code()),
            _ => None,
        }
    }
}

/// The code and message of each refund refusal. v3 folds v2's many refund codes into a few
/// (spec §1.7's table): an unknown or unpaid order is RESOURCE_NOT_EXISTS, a broken business
/// rule INVALID_REQUEST, the spacing and old-order limits FREQUENCY_LIMITED. The messages are
/// v2's where the rule is the same (deviation: `wx3-refund-codes`).
pub fn refund_error(error: &RefundError) -> V3Reply {
    use ErrorCode as C;
    match error {
        RefundError::UnknownTransactionId | RefundError::OrderNotExist => {
            V3Reply::error(&C::ResourceNotExists, "订单不存在")
        }
        RefundError::OutRefundNoOfAnotherOrder => V3Reply::error(
            &C::InvalidRequest,
            "退款单号已被其他订单使用,请更换out_refund_no",
        ),
        RefundError::AmountsDifferFromEarlierRequest | RefundError::TotalFeeMismatch { .. } => {
            V3Reply::error(
                &C::InvalidRequest,
                "订单金额或退款金额与之前请求不一致,请核实后再试",
            )
        }
        RefundError::PayerAccountAbnormal => V3Reply::error(
            &C::UserAccountAbnormal,
            "用户账户异常,退款请求失败,请商户自行处理",
        ),
        RefundError::OrderNotReady => {
            V3Reply::error(&C::InvalidRequest, "订单处理中,暂时无法退款,请稍后再试")
        }
        RefundError::Overdue => V3Reply::error(&C::InvalidRequest, "订单已超过退款期限"),
        RefundError::FullyRefunded => V3Reply::error(&C::InvalidRequest, "订单已全额退款"),
        RefundError::TooManyRefunds => {
            V3Reply::error(&C::InvalidRequest, "该订单退款次数已达上限(50次)")
        }
        RefundError::ExceedsRefundable { .. } => {
            V3Reply::error(&C::InvalidRequest, "申请退款金额超过订单可退金额")
        }
        RefundError::TooSoonAfterPreviousRefund => V3Reply::error(
            &C::FrequencyLimited,
            "同一笔订单的多次退款需间隔1分钟以上,请稍后再试",
        ),
        // The official page's text (spec §1.1).
        RefundError::OldOrderRateLimited => V3Reply::error(
            &C::FrequencyLimited,
            "频率限制,1个月之前的订单请降低申请频率再重试",
        ),
        RefundError::NotEnoughBalance { .. } => V3Reply::error(&C::NotEnough, "基本账户余额不足"),
    }
}

/// A refund query that found nothing: RESOURCE_NOT_EXISTS (spec §1.2, the official script's
/// "refund not found").
pub fn refund_query_error(_error: &RefundQueryError) -> V3Reply {
    V3Reply::error(&ErrorCode::ResourceNotExists, "退款单不存在")
}

/// The refund endpoint's request limits: both refusals are FREQUENCY_LIMITED, the merchant's
/// rate limit (spec §1.7; deviation: `wx3-refund-codes`).
pub fn limit_error(error: LimitError) -> V3Reply {
    match error {
        LimitError::Blocked { .. } => {
            V3Reply::error(&ErrorCode::FrequencyLimited, "错误请求过多,请1分钟后再试")
        }
        LimitError::TooFrequent => V3Reply::error(
            &ErrorCode::FrequencyLimited,
            "频率限制,请降低退款请求频率后重试",
        ),
    }
}

/// The code of each abnormal-refund refusal (deviation: `wx3-abnormal-refund`).
pub fn redirect_error(error: &RedirectError) -> V3Reply {
    match error {
        RedirectError::NotFound => V3Reply::error(&ErrorCode::ResourceNotExists, "退款单不存在"),
        RedirectError::NotAbnormal => V3Reply::error(
            &ErrorCode::InvalidRequest,
            "退款单状态不是异常退款,无需申请异常退款",
        ),
    }
}

/// The code of each prepay refusal (deviation: `wx3-payment-codes`).
pub fn prepay_error(error: UnifiedOrderError) -> V3Reply {
    match error {
        UnifiedOrderError::OrderPaid => V3Reply::error(&ErrorCode::InvalidRequest, "该订单已支付"),
        UnifiedOrderError::OrderClosed => V3Reply::code(&ErrorCode::OrderClosed),
        UnifiedOrderError::OutTradeNoUsed => V3Reply::code(&ErrorCode::OutTradeNoUsed),
    }
}

/// The answer of each close refusal; closing a closed order again answers 204 like the first
/// close (deviation: `wx3-payment-codes`).
pub fn close_error(error: CloseOrderError) -> V3Reply {
    match error {
        CloseOrderError::OrderNotExist => V3Reply::code(&ErrorCode::OrderNotExist),
        CloseOrderError::OrderPaid => V3Reply::error(&ErrorCode::RuleLimit, "订单已支付,不能关闭"),
        CloseOrderError::OrderClosed => V3Reply::NoContent,
    }
}

/// An order query that found nothing.
pub fn order_not_exist() -> V3Reply {
    V3Reply::code(&ErrorCode::OrderNotExist)
}
