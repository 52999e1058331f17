//! Typed `biz_content` requests and response nodes (spec §4, §5, §6).
//!
//! Amounts are [`Fen`] in Rust and yuan strings on the wire, through the one adapter
//! [`crate::money::serde_yuan`]. Requests are parsed field by field rather than with a derived
//! `Deserialize`, so that an error names the field for the gateway's answer; they serialise with
//! serde for the SDK side. Response nodes derive both directions, with fields in the order the
//! real gateway emits them: `code`, `msg`, `sub_code`, `sub_msg`, then the API's fields in
//! alphabetical order (every capture quoted in spec §4.3, §5.2, §6.2 is ordered that way).

use super::codes::{GatewayCode, SubCode};
use super::common::Method;
use crate::money::{AmountError, Fen, parse_yuan, yuan_from_json_number};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

// ---------------------------------------------------------------------------------------------
// biz_content parsing
// ---------------------------------------------------------------------------------------------

/// What is wrong with one biz_content field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldProblem {
    /// A JSON type that cannot stand for the field (object where a string belongs, …).
    WrongType,
    /// Longer than the documented maximum, in characters.
    TooLong {
        /// The documented maximum.
        max: usize,
    },
    /// An amount that is not a valid yuan value in the gateway's range.
    Amount(AmountError),
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldProblem::WrongType => f.write_str("wrong JSON type"),
            FieldProblem::TooLong { max } => write!(f, "longer than {max} characters"),
            FieldProblem::Amount(e) => write!(f, "{e}"),
        }
    }
}

/// Why a biz_content was refused, naming the field.
///
/// Every case answers `40004 ACQ.INVALID_PARAMETER` ([`BizContentError::sub_code`]): a Java
/// SDK log in public code shows a malformed refund biz_content answered that way, signed, with
/// sub_msg "参数无效：参数格式错误". The exact code for a missing field or a bad amount is
/// UNCONFIRMED (spec §4.2, §11); ACQ.INVALID_PARAMETER is the spec's "likely one".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BizContentError {
    /// No `biz_content` parameter (or an empty one).
    #[error("biz_content is missing")]
    Absent,
    /// Not a JSON object. The gateway's JSON parser (fastjson) is more lenient than this one
    /// about trailing commas; strict parsing surfaces client bugs instead.
    #[error("biz_content is not a JSON object: {0}")]
    Malformed(String),
    /// A required field is absent, `null` or `""` (spec §1.5: empty means absent).
    #[error("biz_content field {0} is missing")]
    MissingField(&'static str),
    /// None of these alternative fields is present (`trade_no` / `out_trade_no`).
    #[error("biz_content needs one of {0:?}")]
    MissingOneOf(&'static [&'static str]),
    /// A field is present but unusable.
    #[error("biz_content field {field} is invalid: {problem}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: FieldProblem,
    },
}

impl BizContentError {
    /// The sub_code to answer with: always `ACQ.INVALID_PARAMETER` (see the type's docs).
    #[must_use]
    pub fn sub_code(&self) -> SubCode {
        SubCode::AcqInvalidParameter
    }

    /// The sub_msg to answer with: the captured "参数无效：参数格式错误" when the JSON itself is
    /// unusable, the default "参数无效" otherwise.
    #[must_use]
    pub fn sub_msg(&self) -> &'static str {
        match self {
            BizContentError::Absent | BizContentError::Malformed(_) => "参数无效：参数格式错误",
            _ => SubCode::AcqInvalidParameter.default_sub_msg(),
        }
    }

    /// The field at fault, if one is named.
    #[must_use]
    pub fn field(&self) -> Option<&'static str> {
        match self {
            BizContentError::MissingField(f) | BizContentError::InvalidField { field: f, .. } => {
                Some(f)
            }
            BizContentError::MissingOneOf(fs) => fs.first().copied(),
            BizContentError::Absent | BizContentError::Malformed(_) => None,
        }
    }
}

/// The biz_content object, read field by field.
struct Fields(Map<String, Value>);

impl Fields {
    fn parse(biz_content: &str) -> Result<Fields, BizContentError> {
        if biz_content.trim().is_empty() {
            return Err(BizContentError::Absent);
        }
        match serde_json::from_str::<Value>(biz_content) {
            Ok(Value::Object(map)) => Ok(Fields(map)),
            Ok(_) => Err(BizContentError::Malformed("not an object".to_owned())),
            Err(e) => Err(BizContentError::Malformed(e.to_string())),
        }
    }

    /// An optional string. `null` and `""` are absent. A JSON number is taken as its text:
    /// ids such as out_trade_no sometimes arrive unquoted, and the gateway coerces them.
    fn opt_str(&self, field: &'static str, max: usize) -> Result<Option<String>, BizContentError> {
        let text = match self.0.get(field) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) if s.is_empty() => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => {
                return Err(BizContentError::InvalidField {
                    field,
                    problem: FieldProblem::WrongType,
                });
            }
        };
        // Lengths are documented in characters ("string(64)"); Chinese refund reasons count 1 each.
        if text.chars().count() > max {
            return Err(BizContentError::InvalidField {
                field,
                problem: FieldProblem::TooLong { max },
            });
        }
        Ok(Some(text))
    }

    fn req_str(&self, field: &'static str, max: usize) -> Result<String, BizContentError> {
        self.opt_str(field, max)?
            .ok_or(BizContentError::MissingField(field))
    }

    /// A required request amount: a yuan string or, as the official Java/PHP samples send, a
    /// JSON number (spec §1.5). Checked against the request range.
    fn req_amount(&self, field: &'static str) -> Result<Fen, BizContentError> {
        let text: Cow<'_, str> = match self.0.get(field) {
            None | Some(Value::Null) => return Err(BizContentError::MissingField(field)),
            Some(Value::String(s)) if s.is_empty() => {
                return Err(BizContentError::MissingField(field));
            }
            Some(Value::String(s)) => Cow::Borrowed(s),
            Some(Value::Number(n)) => Cow::Owned(yuan_from_json_number(n)),
            Some(_) => {
                return Err(BizContentError::InvalidField {
                    field,
                    problem: FieldProblem::WrongType,
                });
            }
        };
        parse_yuan(&text)
            .map(Fen)
            .map_err(|e| BizContentError::InvalidField {
                field,
                problem: FieldProblem::Amount(e),
            })
    }

    /// An optional array of strings (`query_options`); absent, `null` or `[]` is empty.
    fn str_list(&self, field: &'static str) -> Result<Vec<String>, BizContentError> {
        let wrong = || BizContentError::InvalidField {
            field,
            problem: FieldProblem::WrongType,
        };
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(wrong))
                .collect(),
            Some(_) => Err(wrong()),
        }
    }

    /// `trade_no` and `out_trade_no`, at least one present.
    fn trade_ids(&self) -> Result<(Option<String>, Option<String>), BizContentError> {
        let trade_no = self.opt_str("trade_no", 64)?;
        let out_trade_no = self.opt_str("out_trade_no", 64)?;
        if trade_no.is_none() && out_trade_no.is_none() {
            return Err(BizContentError::MissingOneOf(&["out_trade_no", "trade_no"]));
        }
        Ok((trade_no, out_trade_no))
    }
}

/// How a request names its trade. `trade_no` wins when both are given (spec §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeRef<'a> {
    /// Alipay's trade number.
    TradeNo(&'a str),
    /// The merchant's order number.
    OutTradeNo(&'a str),
}

fn trade_ref<'a>(
    trade_no: Option<&'a String>,
    out_trade_no: Option<&'a String>,
) -> Option<TradeRef<'a>> {
    trade_no
        .map(|t| TradeRef::TradeNo(t))
        .or_else(|| out_trade_no.map(|o| TradeRef::OutTradeNo(o)))
}

/// A typed biz_content of one API.
pub trait BizRequest: Sized + Serialize {
    /// The API this biz_content belongs to.
    const METHOD: Method;

    /// Parses and validates a biz_content string.
    ///
    /// # Errors
    /// [`BizContentError`] naming the field at fault.
    fn parse(biz_content: &str) -> Result<Self, BizContentError>;

    /// [`BizRequest::parse`] on an optional parameter (e.g. [`super::CommonParams::biz_content`]).
    ///
    /// # Errors
    /// [`BizContentError::Absent`] for `None`, else as [`BizRequest::parse`].
    fn parse_opt(biz_content: Option<&str>) -> Result<Self, BizContentError> {
        Self::parse(biz_content.ok_or(BizContentError::Absent)?)
    }

    /// Compact JSON for the `biz_content` parameter (absent options omitted).
    ///
    /// # Errors
    /// Only serde_json's own errors.
    fn to_biz_content(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// biz_content of `alipay.trade.refund` (spec §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TradeRefundRequest {
    /// Merchant order number of the payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// Alipay trade number; wins over `out_trade_no`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    /// Amount to refund now, within [0.01, 100000000] yuan.
    #[serde(with = "crate::money::serde_yuan")]
    pub refund_amount: Fen,
    /// Shown in the bills (max 256).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
    /// Idempotency key of this refund within the trade (max 64); required for partial refunds.
    /// When absent the refund's number is the trade's out_trade_no (spec §4.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_request_no: Option<String>,
    /// Refund currency (older page, max 8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_currency: Option<String>,
    /// Operator (max 30).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<String>,
    /// Store (max 32).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// Terminal (max 32).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<String>,
    /// Extra response data: `refund_detail_item_list`, `deposit_back_info`, ….
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub query_options: Vec<String>,
}

impl TradeRefundRequest {
    /// The trade this refund targets.
    #[must_use]
    pub fn trade_ref(&self) -> Option<TradeRef<'_>> {
        trade_ref(self.trade_no.as_ref(), self.out_trade_no.as_ref())
    }
}

impl BizRequest for TradeRefundRequest {
    const METHOD: Method = Method::TradeRefund;

    fn parse(biz_content: &str) -> Result<Self, BizContentError> {
        let f = Fields::parse(biz_content)?;
        let (trade_no, out_trade_no) = f.trade_ids()?;
        Ok(TradeRefundRequest {
            out_trade_no,
            trade_no,
            refund_amount: f.req_amount("refund_amount")?,
            refund_reason: f.opt_str("refund_reason", 256)?,
            out_request_no: f.opt_str("out_request_no", 64)?,
            refund_currency: f.opt_str("refund_currency", 8)?,
            operator_id: f.opt_str("operator_id", 30)?,
            store_id: f.opt_str("store_id", 32)?,
            terminal_id: f.opt_str("terminal_id", 32)?,
            query_options: f.str_list("query_options")?,
        })
    }
}

/// biz_content of `alipay.trade.fastpay.refund.query` (spec §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct FastpayRefundQueryRequest {
    /// Merchant order number of the payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// Alipay trade number; wins over `out_trade_no`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    /// The refund's request number (the trade's out_trade_no if the refund had none).
    pub out_request_no: String,
    /// `refund_detail_item_list`, `gmt_refund_pay`, `deposit_back_info`, ….
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub query_options: Vec<String>,
}

impl FastpayRefundQueryRequest {
    /// The trade this query targets.
    #[must_use]
    pub fn trade_ref(&self) -> Option<TradeRef<'_>> {
        trade_ref(self.trade_no.as_ref(), self.out_trade_no.as_ref())
    }
}

impl BizRequest for FastpayRefundQueryRequest {
    const METHOD: Method = Method::TradeFastpayRefundQuery;

    fn parse(biz_content: &str) -> Result<Self, BizContentError> {
        let f = Fields::parse(biz_content)?;
        let (trade_no, out_trade_no) = f.trade_ids()?;
        Ok(FastpayRefundQueryRequest {
            out_trade_no,
            trade_no,
            out_request_no: f.req_str("out_request_no", 64)?,
            query_options: f.str_list("query_options")?,
        })
    }
}

/// biz_content of `alipay.trade.query` (spec §6.2).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TradeQueryRequest {
    /// Merchant order number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// Alipay trade number; wins over `out_trade_no`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    /// `trade_settle_info`, `fund_bill_list`, `voucher_detail_list`, ….
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub query_options: Vec<String>,
}

impl TradeQueryRequest {
    /// The trade this query targets.
    #[must_use]
    pub fn trade_ref(&self) -> Option<TradeRef<'_>> {
        trade_ref(self.trade_no.as_ref(), self.out_trade_no.as_ref())
    }
}

impl BizRequest for TradeQueryRequest {
    const METHOD: Method = Method::TradeQuery;

    fn parse(biz_content: &str) -> Result<Self, BizContentError> {
        let f = Fields::parse(biz_content)?;
        let (trade_no, out_trade_no) = f.trade_ids()?;
        Ok(TradeQueryRequest {
            out_trade_no,
            trade_no,
            query_options: f.str_list("query_options")?,
        })
    }
}

/// biz_content of `alipay.trade.close` (spec §6.3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TradeCloseRequest {
    /// Merchant order number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// Alipay trade number; wins over `out_trade_no`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    /// Operator (max 28 in the old doc; 30 accepted like refund's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<String>,
}

impl TradeCloseRequest {
    /// The trade to close.
    #[must_use]
    pub fn trade_ref(&self) -> Option<TradeRef<'_>> {
        trade_ref(self.trade_no.as_ref(), self.out_trade_no.as_ref())
    }
}

impl BizRequest for TradeCloseRequest {
    const METHOD: Method = Method::TradeClose;

    fn parse(biz_content: &str) -> Result<Self, BizContentError> {
        let f = Fields::parse(biz_content)?;
        let (trade_no, out_trade_no) = f.trade_ids()?;
        Ok(TradeCloseRequest {
            out_trade_no,
            trade_no,
            operator_id: f.opt_str("operator_id", 30)?,
        })
    }
}

/// biz_content of `alipay.trade.precreate` (spec §6.5), enough for the mock to create trades.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TradePrecreateRequest {
    /// Merchant order number (required, max 64).
    pub out_trade_no: String,
    /// Order total, within [0.01, 100000000] yuan.
    #[serde(with = "crate::money::serde_yuan")]
    pub total_amount: Fen,
    /// Order title (required, max 256).
    pub subject: String,
    /// Order description (max 128).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// e.g. `FACE_TO_FACE_PAYMENT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    /// Store (max 32).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// Operator (max 28).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<String>,
    /// Terminal (max 32).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<String>,
    /// Relative payment timeout such as `90m`, kept as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_express: Option<String>,
    /// Relative QR validity such as `5m`, kept as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_code_timeout_express: Option<String>,
}

impl BizRequest for TradePrecreateRequest {
    const METHOD: Method = Method::TradePrecreate;

    fn parse(biz_content: &str) -> Result<Self, BizContentError> {
        let f = Fields::parse(biz_content)?;
        Ok(TradePrecreateRequest {
            out_trade_no: f.req_str("out_trade_no", 64)?,
            total_amount: f.req_amount("total_amount")?,
            subject: f.req_str("subject", 256)?,
            body: f.opt_str("body", 128)?,
            product_code: f.opt_str("product_code", 64)?,
            store_id: f.opt_str("store_id", 32)?,
            operator_id: f.opt_str("operator_id", 28)?,
            terminal_id: f.opt_str("terminal_id", 32)?,
            timeout_express: f.opt_str("timeout_express", 6)?,
            qr_code_timeout_express: f.opt_str("qr_code_timeout_express", 6)?,
        })
    }
}

/// biz_content of `alipay.data.dataservice.bill.downloadurl.query` (spec §8).
///
/// `bill_type` and `bill_date` are kept as text: which values the gateway serves (and the
/// error for the others) is the gateway's business, not a parse failure.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct BillDownloadUrlQueryRequest {
    /// `trade` (acquiring bill) or `signcustomer` (account bill).
    pub bill_type: String,
    /// `yyyy-MM-dd` (daily) or `yyyy-MM` (monthly).
    pub bill_date: String,
    /// Secondary merchant id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smid: Option<String>,
}

impl BizRequest for BillDownloadUrlQueryRequest {
    const METHOD: Method = Method::DataBillDownloadUrlQuery;

    fn parse(biz_content: &str) -> Result<Self, BizContentError> {
        let f = Fields::parse(biz_content)?;
        Ok(BillDownloadUrlQueryRequest {
            bill_type: f.req_str("bill_type", 32)?,
            bill_date: f.req_str("bill_date", 15)?,
            smid: f.opt_str("smid", 32)?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Response nodes
// ---------------------------------------------------------------------------------------------

/// `code`, `msg` and, on failure, `sub_code`, `sub_msg`: the head of every node, and the whole
/// of a gateway-error node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseStatus {
    /// Top-level code.
    pub code: GatewayCode,
    /// Its English text.
    pub msg: String,
    /// Detailed code, on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_code: Option<SubCode>,
    /// Detailed message, on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_msg: Option<String>,
}

impl ResponseStatus {
    /// `10000 Success`.
    #[must_use]
    pub fn success() -> Self {
        ResponseStatus {
            code: GatewayCode::Success,
            msg: GatewayCode::Success.msg().to_owned(),
            sub_code: None,
            sub_msg: None,
        }
    }

    /// A failure with the sub_code's own top-level code and msg and its default sub_msg.
    #[must_use]
    pub fn error(sub_code: SubCode) -> Self {
        let sub_msg = sub_code.default_sub_msg().to_owned();
        Self::error_with_msg(sub_code, sub_msg)
    }

    /// A failure with an explicit sub_msg (API-specific texts, the invalid-signature echo).
    #[must_use]
    pub fn error_with_msg(sub_code: SubCode, sub_msg: impl Into<String>) -> Self {
        let code = sub_code.gateway_code();
        ResponseStatus {
            msg: code.msg().to_owned(),
            code,
            sub_code: Some(sub_code),
            sub_msg: Some(sub_msg.into()),
        }
    }

    /// `code` is 10000. Clients test "no sub_code" (py-official, java); for what this crate
    /// emits the two agree.
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.code.is_success()
    }
}

impl Default for ResponseStatus {
    fn default() -> Self {
        ResponseStatus::success()
    }
}

/// A fund channel line: `refund_detail_item_list` of a refund, `fund_bill_list` of a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundBill {
    /// Amount through this channel.
    #[serde(with = "crate::money::serde_yuan")]
    pub amount: Fen,
    /// e.g. `ALIPAYACCOUNT`, `PCREDIT`, `COUPON`.
    pub fund_channel: String,
    /// e.g. `DEBIT_CARD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_type: Option<String>,
    /// Amount actually moved.
    #[serde(
        with = "crate::money::serde_yuan::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub real_amount: Option<Fen>,
}

/// `alipay_trade_refund_response` (spec §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradeRefundResponse {
    /// `code`, `msg`, `sub_code`, `sub_msg`.
    #[serde(flatten)]
    pub status: ResponseStatus,
    /// Masked buyer login, e.g. `159****5620`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_logon_id: Option<String>,
    /// Buyer open id (newer apps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_open_id: Option<String>,
    /// Buyer user id, `2088…` (16 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_user_id: Option<String>,
    /// `Y`: this call moved money. `N`: no movement (an idempotent replay); confirm by query.
    #[serde(with = "yes_no", default, skip_serializing_if = "Option::is_none")]
    pub fund_change: Option<bool>,
    /// `yyyy-MM-dd HH:mm:ss` (older and real responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmt_refund_pay: Option<String>,
    /// Merchant order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// Refund currency, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_currency: Option<String>,
    /// Channels, only with query_options `refund_detail_item_list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_detail_item_list: Option<Vec<FundBill>>,
    /// **Cumulative** refunded total of the trade.
    #[serde(
        with = "crate::money::serde_yuan::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_fee: Option<Fen>,
    /// Amount actually returned this time; real responses show `0.00` even on success.
    #[serde(
        with = "crate::money::serde_yuan::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub send_back_fee: Option<Fen>,
    /// Store name at payment time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_name: Option<String>,
    /// Alipay trade number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
}

/// `refund_status` of a refund query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefundStatus {
    /// `REFUND_SUCCESS`: the only status a sync refund reports.
    RefundSuccess,
    /// `REFUND_PROCESSING` (async `refund.apply`).
    RefundProcessing,
    /// `REFUND_FAIL` (async `refund.apply`).
    RefundFail,
    /// Anything else, verbatim.
    Other(String),
}

impl RefundStatus {
    /// The wire value.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            RefundStatus::RefundSuccess => "REFUND_SUCCESS",
            RefundStatus::RefundProcessing => "REFUND_PROCESSING",
            RefundStatus::RefundFail => "REFUND_FAIL",
            RefundStatus::Other(s) => s,
        }
    }

    /// Parses a wire value; unknown ones become [`RefundStatus::Other`].
    #[must_use]
    pub fn from_wire(s: &str) -> Self {
        match s {
            "REFUND_SUCCESS" => RefundStatus::RefundSuccess,
            "REFUND_PROCESSING" => RefundStatus::RefundProcessing,
            "REFUND_FAIL" => RefundStatus::RefundFail,
            other => RefundStatus::Other(other.to_owned()),
        }
    }
}

/// `alipay_trade_fastpay_refund_query_response` (spec §5.2).
///
/// For an unknown out_request_no on an existing trade the mock answers `10000` with at most
/// the trade ids and no refund fields (spec §5.3, UNCONFIRMED): every field is optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FastpayRefundQueryResponse {
    /// `code`, `msg`, `sub_code`, `sub_msg`.
    #[serde(flatten)]
    pub status: ResponseStatus,
    /// Error detail some versions return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Only with query_options `gmt_refund_pay`; `yyyy-MM-dd HH:mm:ss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmt_refund_pay: Option<String>,
    /// The refund's request number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_request_no: Option<String>,
    /// Merchant order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// This refund's amount.
    #[serde(
        with = "crate::money::serde_yuan::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_amount: Option<Fen>,
    /// Channels, only with query_options `refund_detail_item_list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_detail_item_list: Option<Vec<FundBill>>,
    /// The refund's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
    /// `REFUND_SUCCESS`, or absent for "not received or failed".
    #[serde(
        with = "refund_status",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub refund_status: Option<RefundStatus>,
    /// Amount actually returned.
    #[serde(
        with = "crate::money::serde_yuan::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub send_back_fee: Option<Fen>,
    /// The trade's total.
    #[serde(
        with = "crate::money::serde_yuan::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub total_amount: Option<Fen>,
    /// Alipay trade number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
}

/// `trade_status` (spec §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TradeStatus {
    /// Created, waiting for payment.
    WaitBuyerPay,
    /// Paid and refundable; stays so after partial refunds.
    TradeSuccess,
    /// Unpaid and closed, or fully refunded. Terminal.
    TradeClosed,
    /// Paid and no longer refundable. Terminal.
    TradeFinished,
    /// Anything else, verbatim.
    Other(String),
}

impl TradeStatus {
    /// The wire value.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            TradeStatus::WaitBuyerPay => "WAIT_BUYER_PAY",
            TradeStatus::TradeSuccess => "TRADE_SUCCESS",
            TradeStatus::TradeClosed => "TRADE_CLOSED",
            TradeStatus::TradeFinished => "TRADE_FINISHED",
            TradeStatus::Other(s) => s,
        }
    }

    /// Parses a wire value; unknown ones become [`TradeStatus::Other`].
    #[must_use]
    pub fn from_wire(s: &str) -> Self {
        match s {
            "WAIT_BUYER_PAY" => TradeStatus::WaitBuyerPay,
            "TRADE_SUCCESS" => TradeStatus::TradeSuccess,
            "TRADE_CLOSED" => TradeStatus::TradeClosed,
            "TRADE_FINISHED" => TradeStatus::TradeFinished,
            other => TradeStatus::Other(other.to_owned()),
        }
    }

    /// Only TRADE_SUCCESS and TRADE_FINISHED count as paid (spec §6.1).
    #[must_use]
    pub fn is_paid(&self) -> bool {
        matches!(self, TradeStatus::TradeSuccess | TradeStatus::TradeFinished)
    }
}

macro_rules! string_enum_serde {
    ($ty:ty, $module:ident) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = Cow::<str>::deserialize(d)?;
                Ok(<$ty>::from_wire(&s))
            }
        }

        mod $module {
            use super::*;

            pub(super) fn serialize<S: Serializer>(
                v: &Option<$ty>,
                s: S,
            ) -> Result<S::Ok, S::Error> {
                v.serialize(s)
            }

            pub(super) fn deserialize<'de, D: Deserializer<'de>>(
                d: D,
            ) -> Result<Option<$ty>, D::Error> {
                Option::<$ty>::deserialize(d)
            }
        }
    };
}

string_enum_serde!(RefundStatus, refund_status);
string_enum_serde!(TradeStatus, trade_status);

/// `alipay_trade_query_response` (spec §6.2).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradeQueryResponse {
    /// `code`, `msg`, `sub_code`, `sub_msg`.
    #[serde(flatten)]
    pub status: ResponseStatus,
    /// Order description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Masked buyer login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_logon_id: Option<String>,
    /// Buyer open id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_open_id: Option<String>,
    /// What the buyer paid.
    #[serde(
        with = "crate::money::serde_yuan::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub buyer_pay_amount: Option<Fen>,
    /// Buyer user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_user_id: Option<String>,
    /// Buyer type (`PRIVATE`, `CORPORATE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_user_type: Option<String>,
    /// Channels, with query_options `fund_bill_list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund_bill_list: Option<Vec<FundBill>>,
    /// Invoiceable amount.
    #[serde(
        with = "crate::money::serde_yuan::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_amount: Option<Fen>,
    /// Merchant order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// Paid in points.
    #[serde(
        with = "crate::money::serde_yuan::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub point_amount: Option<Fen>,
    /// What the merchant received.
    #[serde(
        with = "crate::money::serde_yuan::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub receipt_amount: Option<Fen>,
    /// Payment time, `yyyy-MM-dd HH:mm:ss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_pay_date: Option<String>,
    /// Store id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// Store name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_name: Option<String>,
    /// Order title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Terminal id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_id: Option<String>,
    /// Order total.
    #[serde(
        with = "crate::money::serde_yuan::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub total_amount: Option<Fen>,
    /// Alipay trade number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    /// Trade state.
    #[serde(
        with = "trade_status",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub trade_status: Option<TradeStatus>,
}

/// `alipay_trade_close_response` (spec §6.3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradeCloseResponse {
    /// `code`, `msg`, `sub_code`, `sub_msg`.
    #[serde(flatten)]
    pub status: ResponseStatus,
    /// Merchant order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// Alipay trade number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
}

/// `alipay_trade_precreate_response` (spec §6.5).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TradePrecreateResponse {
    /// `code`, `msg`, `sub_code`, `sub_msg`.
    #[serde(flatten)]
    pub status: ResponseStatus,
    /// Merchant order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// `https://qr.alipay.com/…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
}

/// `fund_change` as `Option<bool>`: `"Y"` / `"N"` on the wire.
mod yes_no {
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub(super) fn serialize<S: Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(true) => s.serialize_str("Y"),
            Some(false) => s.serialize_str("N"),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Option::<String>::deserialize(d)?.as_deref() {
            None => Ok(None),
            Some("Y") => Ok(Some(true)),
            Some("N") => Ok(Some(false)),
            Some(other) => Err(de::Error::custom(format_args!(
                "expected Y or N, got {other:?}"
            ))),
        }
    }
}

/// `alipay_data_dataservice_bill_downloadurl_query_response` (spec §8).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BillDownloadUrlQueryResponse {
    /// `code`, `msg`, `sub_code`, `sub_msg`.
    #[serde(flatten)]
    pub status: ResponseStatus,
    /// Where to fetch the zip; valid for 30 seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_download_url: Option<String>,
    /// The newer file code field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_file_code: Option<String>,
}
