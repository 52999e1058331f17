//! The error answer (spec §1.7): an HTTP status and `{"code","message","detail"?}`.
//!
//! [`ErrorCode`] is the one table of codes: wire string, HTTP status, default message and
//! whether the SDK may retry. [`ErrorBody`] is the body, with the `detail` shapes the platform
//! has been observed to send: `field`/`value`/`issue`/`location` for PARAM_ERROR, and for
//! SIGN_ERROR the nested `detail.issue` plus `sign_information`, the truncated copy of the
//! message the server built (the platform's own debugging aid).
//!
//! Keys are written in alphabetical order, as in every observed platform body.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Defines [`ErrorCode`] from one table so status, message and retry policy never drift.
macro_rules! error_codes {
    ( $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, $status:literal, $retry:literal, $message:literal; )+ ) => {
        /// A v3 error `code`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$vmeta])* $variant, )+
            /// A code this crate does not know, kept verbatim (never produced for a known one).
            Other(String),
        }

        impl ErrorCode {
            /// Every known code, in declaration order.
            pub const KNOWN: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// Parses a wire string; unknown strings become [`ErrorCode::Other`].
            #[must_use]
            pub fn from_wire(s: &str) -> Self {
                match s {
                    $($wire => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }

            /// The wire string.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(s) => s,
                }
            }

            /// The HTTP status the platform answers this code with (500 for unknown codes).
            #[must_use]
            pub fn http_status(&self) -> u16 {
                match self {
                    $(Self::$variant => $status,)+
                    Self::Other(_) => 500,
                }
            }

            /// Whether the same request (same `out_refund_no` / `out_trade_no` and amounts) may
            /// be sent again, after waiting for the rate limits. Unknown codes are not retried.
            #[must_use]
            pub fn is_retryable(&self) -> bool {
                match self {
                    $(Self::$variant => $retry,)+
                    Self::Other(_) => false,
                }
            }

            /// The platform's usual `message` for the code (a code can carry other messages
            /// too; routes pass the precise one where the spec gives it).
            #[must_use]
            pub fn default_message(&self) -> &'static str {
                match self {
                    $(Self::$variant => $message,)+
                    Self::Other(_) => "系统错误",
                }
            }
        }
    };
}

error_codes! {
    /// 400: a parameter is missing, malformed, or violates its rule (spec §1.7).
    ParamError = "PARAM_ERROR", 400, false, "参数错误";
    /// 400: well-formed, but the HTTP request breaks an APIv3 rule or a business rule
    /// (refunds: e.g. the order is past its refund window, too many refunds).
    InvalidRequest = "INVALID_REQUEST", 400, false, "HTTP 请求不符合微信支付 APIv3 接口规则";
    /// 401: the request signature is missing, malformed or wrong.
    SignError = "SIGN_ERROR", 401, false, "错误的签名，验签失败";
    /// 403: the merchant's balance cannot cover the refund.
    NotEnough = "NOT_ENOUGH", 403, false, "余额不足";
    /// 403: the refund request failed on the user's account; the merchant handles it.
    UserAccountAbnormal = "USER_ACCOUNT_ABNORMAL", 403, false, "退款请求失败";
    /// 403: no permission for this API or this order.
    NoAuth = "NO_AUTH", 403, false, "商户无权限";
    /// 403: the trade failed (payments).
    TradeError = "TRADE_ERROR", 403, false, "交易错误";
    /// 403: a business rule forbids the call (payments, close).
    RuleLimit = "RULE_LIMIT", 403, false, "业务规则限制";
    /// 403: the `out_trade_no` was used for another order.
    OutTradeNoUsed = "OUT_TRADE_NO_USED", 403, false, "商户订单号重复";
    /// 400: the order is closed.
    OrderClosed = "ORDER_CLOSED", 400, false, "订单已关闭";
    /// 400: the appid is not bound to the mchid.
    AppidMchidNotMatch = "APPID_MCHID_NOT_MATCH", 400, false, "AppID和mch_id不匹配";
    /// 404 (refunds table): the mchid does not exist.
    MchNotExists = "MCH_NOT_EXISTS", 404, false, "商户号不存在";
    /// 404: the order or refund does not exist, or the order is unpaid (refunds).
    ResourceNotExists = "RESOURCE_NOT_EXISTS", 404, false, "订单不存在";
    /// 404: the order does not exist (payments, queries).
    OrderNotExist = "ORDER_NOT_EXIST", 404, false, "订单不存在";
    /// 429: the merchant's rate limit; retry later with the same parameters.
    FrequencyLimited = "FREQUENCY_LIMITED", 429, true, "频率超限";
    /// 429: the platform's global rate limit.
    RatelimitExceeded = "RATELIMIT_EXCEEDED", 429, true, "请求超过频率限制";
    /// 500: a timeout or internal failure; retry with the same `out_refund_no`.
    SystemError = "SYSTEM_ERROR", 500, true, "系统繁忙，请稍后重试";
    /// 500: the bank's system failed; retry later.
    BankError = "BANK_ERROR", 500, true, "银行系统异常";
    /// 503: the service is unavailable; retry later.
    ServiceUnavailable = "SERVICE_UNAVAILABLE", 503, true, "服务不可用";
    /// 400 (bills): no bill for that day (v2's `No Bill Exist`).
    NoStatementExist = "NO_STATEMENT_EXIST", 400, false, "账单文件不存在";
    /// 400 (bills): the day's bill is not generated yet (v2's `Bill Creating`); ask again
    /// later.
    StatementCreating = "STATEMENT_CREATING", 400, true, "账单生成中";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a refused value came from (`detail.location`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    /// The JSON body.
    Body,
    /// The query string.
    Query,
    /// A path parameter (`{out_refund_no}`).
    UriTemplate,
    /// The `Authorization` header.
    Authorization,
    /// Another header (`Wechatpay-Serial`, `Content-Type`).
    Header,
}

impl Location {
    /// The wire value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Body => "body",
            Location::Query => "query",
            Location::UriTemplate => "uri_template",
            Location::Authorization => "authorization",
            Location::Header => "header",
        }
    }
}

/// The error body. `detail` is left out when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The code (see [`ErrorCode`]).
    pub code: String,
    /// Optional details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<ErrorDetail>,
    /// Human-readable text (Chinese on the platform).
    pub message: String,
}

/// `detail`: which part of the request was refused and why. Absent members are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// SIGN_ERROR's nested `{"issue": …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<IssueDetail>,
    /// The refused field: a JSON pointer (`/amount/refund`) or a parameter name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    /// `body`, `query`, `uri_template`, `authorization`, `header`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// SIGN_ERROR: what the server signed over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_information: Option<SignInformation>,
    /// The refused value (a string, or the list of unknown parameters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// SIGN_ERROR's `detail.detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueDetail {
    /// E.g. `sign not match`.
    pub issue: String,
}

/// SIGN_ERROR's `detail.sign_information`: the message the server built, so a client can see
/// where its own differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInformation {
    /// The request method.
    pub method: String,
    /// The byte length of the whole message.
    pub sign_message_length: usize,
    /// The message's first [`TRUNCATED_SIGN_MESSAGE_CHARS`] characters.
    pub truncated_sign_message: String,
    /// The URL as signed (path and query).
    pub url: String,
}

/// How many characters of the message `truncated_sign_message` keeps. The platform's cut-off
/// is not documented (spec §1.7 has one sample of a 207-byte message); 200 characters keep
/// the four header lines and the start of any body. UNCONFIRMED, see DEVIATIONS.md.
pub const TRUNCATED_SIGN_MESSAGE_CHARS: usize = 200;

impl SignInformation {
    /// Describes the message the server built for this request.
    #[must_use]
    pub fn new(method: &str, url: &str, message: &[u8]) -> Self {
        Self {
            method: method.to_owned(),
            sign_message_length: message.len(),
            truncated_sign_message: String::from_utf8_lossy(message)
                .chars()
                .take(TRUNCATED_SIGN_MESSAGE_CHARS)
                .collect(),
            url: url.to_owned(),
        }
    }
}

impl ErrorBody {
    /// A body with the code's default message and no detail.
    #[must_use]
    pub fn of(code: &ErrorCode) -> Self {
        Self::new(code, code.default_message())
    }

    /// A body with a given message and no detail.
    #[must_use]
    pub fn new(code: &ErrorCode, message: &str) -> Self {
        Self {
            code: code.as_str().to_owned(),
            detail: None,
            message: message.to_owned(),
        }
    }

    /// Adds a detail.
    #[must_use]
    pub fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.detail = Some(detail);
        self
    }

    /// The SIGN_ERROR body in the observed shape:
    /// `{"code":"SIGN_ERROR","detail":{"detail":{"issue":…},"field":…,"location":"authorization","sign_information":{…}},"message":"错误的签名，验签失败"}`.
    /// `sign_information` is absent when the header was too broken to build a message.
    #[must_use]
    pub fn sign_error(field: &str, issue: &str, sign_information: Option<SignInformation>) -> Self {
        Self::of(&ErrorCode::SignError).with_detail(ErrorDetail {
            detail: Some(IssueDetail {
                issue: issue.to_owned(),
            }),
            field: Some(field.to_owned()),
            location: Some(Location::Authorization.as_str().to_owned()),
            sign_information,
            ..ErrorDetail::default()
        })
    }

    /// The parsed code.
    #[must_use]
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::from_wire(&self.code)
    }

    /// The HTTP status of the code.
    #[must_use]
    pub fn http_status(&self) -> u16 {
        self.error_code().http_status()
    }

    /// The compact JSON text.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Plain strings, numbers and JSON values: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| {
            format!(
                "{{\"code\":\"{}\",\"message\":\"系统错误\"}}",
                ErrorCode::SystemError
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_table() {
        let table: Vec<(&str, u16, bool)> = ErrorCode::KNOWN
            .iter()
            .map(|c| (c.as_str(), c.http_status(), c.is_retryable()))
            .collect();
        assert_eq!(
            table,
            [
                ("PARAM_ERROR", 400, false),
                ("INVALID_REQUEST", 400, false),
                ("SIGN_ERROR", 401, false),
                ("NOT_ENOUGH", 403, false),
                ("USER_ACCOUNT_ABNORMAL", 403, false),
                ("NO_AUTH", 403, false),
                ("TRADE_ERROR", 403, false),
                ("RULE_LIMIT", 403, false),
                ("OUT_TRADE_NO_USED", 403, false),
                ("ORDER_CLOSED", 400, false),
                ("APPID_MCHID_NOT_MATCH", 400, false),
                ("MCH_NOT_EXISTS", 404, false),
                ("RESOURCE_NOT_EXISTS", 404, false),
                ("ORDER_NOT_EXIST", 404, false),
                ("FREQUENCY_LIMITED", 429, true),
                ("RATELIMIT_EXCEEDED", 429, true),
                ("SYSTEM_ERROR", 500, true),
                ("BANK_ERROR", 500, true),
                ("SERVICE_UNAVAILABLE", 503, true),
                ("NO_STATEMENT_EXIST", 400, false),
                ("STATEMENT_CREATING", 400, true),
            ]
        );
        for code in ErrorCode::KNOWN {
            assert_eq!(&ErrorCode::from_wire(code.as_str()), code);
        }
        let other = ErrorCode::from_wire("REQUEST_BLOCKED");
        assert_eq!(other, ErrorCode::Other("REQUEST_BLOCKED".into()));
        assert_eq!((other.http_status(), other.is_retryable()), (500, false));
    }

    #[test]
    fn sign_error_body_has_the_observed_shape() {
        let message = b"POST\n/v3/refund/domestic/refunds\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{\"out_refund_no\":\"1217752501201407033233368018\"}\n";
        let body = ErrorBody::sign_error(
            "signature",
            "sign not match",
            Some(SignInformation::new(
                "POST",
                "/v3/refund/domestic/refunds",
                message,
            )),
        );
        assert_eq!(body.http_status(), 401);
        assert_eq!(
            body.to_json(),
            format!(
                "{{\"code\":\"SIGN_ERROR\",\"detail\":{{\"detail\":{{\"issue\":\"sign not match\"}},\"field\":\"signature\",\"location\":\"authorization\",\"sign_information\":{{\"method\":\"POST\",\"sign_message_length\":{},\"truncated_sign_message\":{},\"url\":\"/v3/refund/domestic/refunds\"}}}},\"message\":\"错误的签名，验签失败\"}}",
                message.len(),
                serde_json::to_string(std::str::from_utf8(message).unwrap_or_default())
                    .unwrap_or_default()
            )
        );
        // The platform's sample body parses into the same types.
        let observed = r#"{"code":"SIGN_ERROR","detail":{"detail":{"issue":"sign not match"},"field":"signature","location":"authorization","sign_information":{"method":"POST","sign_message_length":207,"truncated_sign_message":"POST\n/v3/refund/domestic/refunds\n","url":"/v3/refund/domestic/refunds"}},"message":"错误的签名，验签失败"}"#;
        let parsed: ErrorBody =
            serde_json::from_str(observed).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(parsed.error_code(), ErrorCode::SignError);
        assert_eq!(
            parsed
                .detail
                .and_then(|d| d.sign_information)
                .map(|s| s.sign_message_length),
            Some(207)
        );
    }

    #[test]
    fn long_messages_are_truncated_by_characters() {
        let body = "退".repeat(300);
        let info = SignInformation::new("POST", "/v3/x", body.as_bytes());
        assert_eq!(info.sign_message_length, 900);
        assert_eq!(info.truncated_sign_message.chars().count(), 200);
        assert_eq!(info.truncated_sign_message, "退".repeat(200));
    }

    #[test]
    fn plain_bodies() {
        assert_eq!(
            ErrorBody::of(&ErrorCode::SystemError).to_json(),
            r#"{"code":"SYSTEM_ERROR","message":"系统繁忙，请稍后重试"}"#
        );
        assert_eq!(
            ErrorBody::new(
                &ErrorCode::NotEnough,
                "平台证书已过期失效,请联系微信支付技术支持。"
            )
            .to_json(),
            r#"{"code":"NOT_ENOUGH","message":"平台证书已过期失效,请联系微信支付技术支持。"}"#
        );
    }
}
