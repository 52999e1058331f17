//! `POST /pay/downloadbill` (spec §7): the request, the bill's text table, its gzip form, and
//! the error XML with `error_code`.
//!
//! The bill is not XML: a header line, one line per transaction, a summary header and the
//! summary, every value prefixed with a backtick so that spreadsheets keep long numbers as text.
//! Amounts are yuan with two decimals, the fee (手续费) with five; a refund row's fee is
//! negative. The headers are the current ("免充值券") ones; the summary has the seven fields of
//! the ALL bill for every type (spec §7.2's conflict note: WxJava indexes five summary fields
//! unconditionally, so the documented four-field SUCCESS summary would break it; deviation:
//! `wx-bill-success-summary`).
//!
//! Lines end in `\r\n` (UNCONFIRMED, spec §7.2; every client read splits on `\r?\n` or on
//! backticks; deviation: `wx-bill-line-ending`). The parser accepts `\n` or `\r\n`, a UTF-8 BOM, and columns in any order: it
//! reads the header and maps each known column name to a field, so it reads all three bill
//! types into the one [`BillRow`].

use std::fmt;
use std::io::{Read, Write};

use super::codes::ReturnCode;
use super::fields::{self, FieldError};
use super::params::Params;
use super::sign::SignType;
use crate::beijing;
use crate::money::{AmountError, format_yuan, parse_yuan_unbounded};

/// `bill_type`: which transactions a bill lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BillType {
    /// Payments and refunds (recharge refunds excluded). The default when absent.
    #[default]
    All,
    /// Successful payments only.
    Success,
    /// Refunds only.
    Refund,
    /// Refunds of recharge coupons.
    RechargeRefund,
}

impl BillType {
    /// The wire value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            BillType::All => "ALL",
            BillType::Success => "SUCCESS",
            BillType::Refund => "REFUND",
            BillType::RechargeRefund => "RECHARGE_REFUND",
        }
    }

    /// Parses a wire value (exact).
    #[must_use]
    pub fn from_wire(s: &str) -> Option<BillType> {
        [
            BillType::All,
            BillType::Success,
            BillType::Refund,
            BillType::RechargeRefund,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }

    /// The detail columns of this bill type, in order. RECHARGE_REFUND uses the REFUND layout
    /// (UNCONFIRMED: the spec quotes no RECHARGE_REFUND header).
    #[must_use]
    pub fn columns(self) -> &'static [Column] {
        match self {
            BillType::All => ALL_COLUMNS,
            BillType::Success => SUCCESS_COLUMNS,
            BillType::Refund | BillType::RechargeRefund => REFUND_COLUMNS,
        }
    }
}

impl fmt::Display for BillType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `bill_date`: a calendar day, `yyyyMMdd` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BillDate {
    /// Year.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day, 1 to the month's length.
    pub day: u8,
}

impl BillDate {
    /// A valid calendar date, or `None`.
    #[must_use]
    pub fn new(year: u16, month: u8, day: u8) -> Option<BillDate> {
        beijing::date(i32::from(year), month, day)?;
        (year >= 1970).then_some(BillDate { year, month, day })
    }

    /// Parses `yyyyMMdd` (eight digits, a real date).
    #[must_use]
    pub fn parse(s: &str) -> Option<BillDate> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year = s.get(0..4)?.parse().ok()?;
        let month = s.get(4..6)?.parse().ok()?;
        let day = s.get(6..8)?.parse().ok()?;
        BillDate::new(year, month, day)
    }

    /// Parses Alipay's `yyyy-MM-dd`.
    #[must_use]
    pub fn parse_dashed(s: &str) -> Option<BillDate> {
        let mut parts = s.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        BillDate::parse(&format!("{y}{m}{d}"))
    }

    /// `yyyyMMdd`.
    #[must_use]
    pub fn compact(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// `yyyy-MM-dd`.
    #[must_use]
    pub fn dashed(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// Days since 1970-01-01. Counted from the first of the month, so the fields of a value
    /// not made by [`BillDate::new`] give a number rather than a panic.
    #[must_use]
    pub fn days_since_epoch(self) -> i64 {
        let first = beijing::date(i32::from(self.year), self.month, 1);
        first.map_or(0, beijing::days_since_epoch) + i64::from(self.day) - 1
    }

    /// The date `days` days after 1970-01-01.
    #[must_use]
    pub fn from_days_since_epoch(days: i64) -> Option<BillDate> {
        let date = beijing::date_from_days(days)?;
        BillDate::new(
            u16::try_from(date.year()).ok()?,
            u8::from(date.month()),
            date.day(),
        )
    }
}

impl fmt::Display for BillDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.compact())
    }
}

/// A downloadbill request (§7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadBillRequest {
    /// `appid`.
    pub appid: String,
    /// `mch_id`.
    pub mch_id: String,
    /// `nonce_str`.
    pub nonce_str: String,
    /// `sign_type`; `None` means MD5 and no field.
    pub sign_type: Option<SignType>,
    /// `bill_date`.
    pub bill_date: BillDate,
    /// `bill_type` (sent even when ALL).
    pub bill_type: BillType,
    /// `tar_type=GZIP`: the answer is a gzip stream of the same text.
    pub gzip: bool,
}

/// Why a received downloadbill request is refused, mapped to its error answer by
/// [`BillRequestError::to_error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillRequestError {
    /// `bill_date` missing.
    #[error("bill_date is missing")]
    MissingDate,
    /// `bill_date` not a `yyyyMMdd` date.
    #[error("bill_date is not a yyyyMMdd date")]
    BadDate,
    /// `bill_type` not one of the four values.
    #[error("bill_type is invalid")]
    BadBillType,
    /// `tar_type` other than GZIP.
    #[error("tar_type is invalid")]
    BadTarType,
}

impl BillRequestError {
    /// The error answer (§7.4): `invalid bill_type` for a bad type, `missing parameter` for
    /// a missing date, `data format error` / 20001 for the rest.
    #[must_use]
    pub fn to_error(&self) -> BillError {
        match self {
            BillRequestError::MissingDate => BillError::new(bill_msg::MISSING_PARAMETER, None),
            BillRequestError::BadBillType => BillError::new(bill_msg::INVALID_BILL_TYPE, None),
            BillRequestError::BadDate | BillRequestError::BadTarType => {
                BillError::new(bill_msg::DATA_FORMAT_ERROR, Some("20001"))
            }
        }
    }
}

impl DownloadBillRequest {
    /// The request's parameters, unsigned.
    #[must_use]
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        p.insert_text("appid", &self.appid);
        p.insert_text("mch_id", &self.mch_id);
        p.insert_text("nonce_str", &self.nonce_str);
        if let Some(st) = self.sign_type {
            p.insert_text("sign_type", st.as_str());
        }
        p.insert_text("bill_date", self.bill_date.compact());
        p.insert_text("bill_type", self.bill_type.as_str());
        if self.gzip {
            p.insert_text("tar_type", "GZIP");
        }
        p
    }

    /// Checks the common fields' formats (the SDK, before sending).
    ///
    /// # Errors
    /// The first field that breaks its rule.
    pub fn validate(&self) -> Result<(), FieldError> {
        fields::appid(&self.appid)?;
        fields::mch_id(&self.mch_id)?;
        fields::nonce_str(&self.nonce_str)
    }

    /// Reads the bill fields of a received request whose common fields (`appid`, `mch_id`,
    /// `nonce_str`, `sign_type`) the server has already checked.
    ///
    /// # Errors
    /// [`BillRequestError`]: date, type, tar_type.
    pub fn bill_fields(p: &Params) -> Result<(BillDate, BillType, bool), BillRequestError> {
        let date = p
            .non_empty("bill_date")
            .ok_or(BillRequestError::MissingDate)?;
        let date = BillDate::parse(date).ok_or(BillRequestError::BadDate)?;
        let bill_type = match p.non_empty("bill_type") {
            None => BillType::All,
            Some(t) => BillType::from_wire(t).ok_or(BillRequestError::BadBillType)?,
        };
        let gzip = match p.non_empty("tar_type") {
            None => false,
            Some("GZIP") => true,
            Some(_) => return Err(BillRequestError::BadTarType),
        };
        Ok((date, bill_type, gzip))
    }
}

/// The `return_msg` texts of downloadbill errors (§7.4).
pub mod bill_msg {
    /// Download failed; retry.
    pub const SYSTEMERROR: &str = "SYSTEMERROR";
    /// A bill_type outside the four values.
    pub const INVALID_BILL_TYPE: &str = "invalid bill_type";
    /// A malformed parameter (error_code 20001).
    pub const DATA_FORMAT_ERROR: &str = "data format error";
    /// A missing parameter.
    pub const MISSING_PARAMETER: &str = "missing parameter";
    /// A wrong signature, as observed (lowercase; error_code 20001).
    pub const SIGN_ERROR: &str = "sign error";
    /// No successful transaction that day (error_code 20002).
    pub const NO_BILL_EXIST: &str = "No Bill Exist";
    /// The bill is not generated yet; retry after 10:00.
    pub const BILL_CREATING: &str = "Bill Creating";
}

/// A downloadbill error answer: `return_code=FAIL`, `return_msg` and, for some, `error_code`
/// (not `err_code`). Never signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillError {
    /// `return_msg`, e.g. [`bill_msg::NO_BILL_EXIST`].
    pub return_msg: String,
    /// `error_code`, e.g. `20002`.
    pub error_code: Option<String>,
}

impl BillError {
    /// An error with this message and code.
    #[must_use]
    pub fn new(return_msg: &str, error_code: Option<&str>) -> BillError {
        BillError {
            return_msg: return_msg.to_owned(),
            error_code: error_code.map(str::to_owned),
        }
    }

    /// "No Bill Exist" / 20002: the day had no successful transaction.
    #[must_use]
    pub fn no_bill_exist() -> BillError {
        BillError::new(bill_msg::NO_BILL_EXIST, Some("20002"))
    }

    /// Whether this is the "No Bill Exist" answer (by code 20002, or by the message in any
    /// case: the documentation spells it `NO Bill Exist`).
    #[must_use]
    pub fn is_no_bill(&self) -> bool {
        self.error_code.as_deref() == Some("20002")
            || self
                .return_msg
                .eq_ignore_ascii_case(bill_msg::NO_BILL_EXIST)
    }

    /// The parameters to encode (in the observed order).
    #[must_use]
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        p.insert_text("return_code", ReturnCode::Fail.as_str());
        p.insert_text("return_msg", &self.return_msg);
        if let Some(code) = &self.error_code {
            p.insert_text("error_code", code);
        }
        p
    }

    /// Reads an error answer.
    ///
    /// # Errors
    /// `return_code` is not FAIL.
    pub fn from_params(p: &Params) -> Result<BillError, FieldError> {
        if p.get("return_code") != Some(ReturnCode::Fail.as_str()) {
            return Err(FieldError::invalid("return_code", "expected FAIL"));
        }
        Ok(BillError {
            return_msg: p.get("return_msg").unwrap_or_default().to_owned(),
            error_code: p.non_empty("error_code").map(str::to_owned),
        })
    }
}

impl fmt::Display for BillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error_code {
            Some(code) => write!(f, "{} ({code})", self.return_msg),
            None => f.write_str(&self.return_msg),
        }
    }
}

/// The fee (手续费): signed, in hundred-thousandths of a yuan (the bill prints five decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fee(pub i64);

impl Fee {
    /// A fee of a whole number of fen (negative for refunds).
    #[must_use]
    pub fn from_fen(fen: i64) -> Fee {
        Fee(fen.saturating_mul(1000))
    }

    /// `-0.02000` style text.
    #[must_use]
    pub fn to_yuan5(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:05}", abs / 100_000, abs % 100_000)
    }

    /// Parses an optionally negative yuan amount with up to five decimals.
    ///
    /// # Errors
    /// Not such an amount.
    pub fn parse(s: &str) -> Result<Fee, AmountError> {
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() {
            return Err(AmountError::MissingIntegerPart);
        }
        if frac.len() > 5 {
            return Err(AmountError::TooManyDecimals);
        }
        if let Some(c) = int
            .chars()
            .chain(frac.chars())
            .find(|c| !c.is_ascii_digit())
        {
            return Err(AmountError::InvalidCharacter(c));
        }
        let int: i64 = int.parse().map_err(|_| AmountError::Overflow)?;
        let frac_value: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse::<i64>().map_err(|_| AmountError::Overflow)?
                * 10_i64.pow(5 - u32::try_from(frac.len()).unwrap_or(5))
        };
        let value = int
            .checked_mul(100_000)
            .and_then(|v| v.checked_add(frac_value))
            .ok_or(AmountError::Overflow)?;
        Ok(Fee(if negative { -value } else { value }))
    }
}

impl fmt::Display for Fee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_yuan5())
    }
}

/// One transaction line of a bill. Columns a bill type does not print are left at their
/// default when parsed and ignored when written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BillRow {
    /// 交易时间: payment time, or the refund's application time for refund rows
    /// (`yyyy-MM-dd HH:mm:ss`, Beijing).
    pub trade_time: String,
    /// 公众账号ID: the appid used at payment time.
    pub appid: String,
    /// 商户号.
    pub mch_id: String,
    /// 特约商户号: `0` for ordinary merchants.
    pub sub_mch_id: String,
    /// 设备号.
    pub device_info: String,
    /// 微信订单号.
    pub transaction_id: String,
    /// 商户订单号.
    pub out_trade_no: String,
    /// 用户标识 (openid).
    pub openid: String,
    /// 交易类型 (JSAPI, NATIVE, ...).
    pub trade_type: String,
    /// 交易状态: `SUCCESS` for payments, `REFUND` for refund rows.
    pub trade_state: String,
    /// 付款银行.
    pub bank_type: String,
    /// 货币种类.
    pub fee_type: String,
    /// 应结订单金额 in fen.
    pub settlement_total_fee: u64,
    /// 代金券金额 in fen.
    pub coupon_fee: u64,
    /// 退款申请时间 (REFUND bills only).
    pub refund_apply_time: String,
    /// 退款成功时间 (REFUND bills only; empty while not successful).
    pub refund_success_time: String,
    /// 微信退款单号 (`0` on payment rows of an ALL bill).
    pub refund_id: String,
    /// 商户退款单号 (`0` on payment rows of an ALL bill).
    pub out_refund_no: String,
    /// 退款金额 in fen: the settlement refund amount.
    pub settlement_refund_fee: u64,
    /// 充值券退款金额 in fen.
    pub coupon_refund_fee: u64,
    /// 退款类型 (`ORIGINAL`), empty on payment rows.
    pub refund_type: String,
    /// 退款状态 at bill time, empty on payment rows.
    pub refund_status: String,
    /// 商品名称.
    pub body: String,
    /// 商户数据包.
    pub attach: String,
    /// 手续费 (negative on refund rows).
    pub fee: Fee,
    /// 费率, e.g. `0.60%`.
    pub rate: String,
    /// 订单金额 in fen.
    pub total_fee: u64,
    /// 申请退款金额 in fen.
    pub refund_fee: u64,
    /// 费率备注.
    pub rate_note: String,
}

impl BillRow {
    /// Whether this is a refund line.
    #[must_use]
    pub fn is_refund(&self) -> bool {
        self.trade_state == "REFUND"
    }
}

/// The summary line: the seven fields of the ALL bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BillSummary {
    /// 总交易单数: number of lines.
    pub count: u64,
    /// 应结订单总金额 in fen.
    pub settlement_total_fee: u64,
    /// 退款总金额 in fen.
    pub settlement_refund_fee: u64,
    /// 充值券退款总金额 in fen.
    pub coupon_refund_fee: u64,
    /// 手续费总金额.
    pub fee: Fee,
    /// 订单总金额 in fen.
    pub total_fee: u64,
    /// 申请退款总金额 in fen.
    pub refund_fee: u64,
}

impl BillSummary {
    /// The summary of these rows.
    #[must_use]
    pub fn of(rows: &[BillRow]) -> BillSummary {
        rows.iter().fold(
            BillSummary {
                count: rows.len() as u64,
                ..BillSummary::default()
            },
            |s, r| BillSummary {
                count: s.count,
                settlement_total_fee: s.settlement_total_fee + r.settlement_total_fee,
                settlement_refund_fee: s.settlement_refund_fee + r.settlement_refund_fee,
                coupon_refund_fee: s.coupon_refund_fee + r.coupon_refund_fee,
                fee: Fee(s.fee.0 + r.fee.0),
                total_fee: s.total_fee + r.total_fee,
                refund_fee: s.refund_fee + r.refund_fee,
            },
        )
    }
}

/// A downloaded bill.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bill {
    /// Its transactions, in the bill's order.
    pub rows: Vec<BillRow>,
    /// Its summary line.
    pub summary: BillSummary,
}

/// A bill column: its header name and the field it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// 交易时间.
    TradeTime,
    /// 公众账号ID.
    Appid,
    /// 商户号.
    MchId,
    /// 特约商户号.
    SubMchId,
    /// 设备号.
    DeviceInfo,
    /// 微信订单号.
    TransactionId,
    /// 商户订单号.
    OutTradeNo,
    /// 用户标识.
    Openid,
    /// 交易类型.
    TradeType,
    /// 交易状态.
    TradeState,
    /// 付款银行.
    BankType,
    /// 货币种类.
    FeeType,
    /// 应结订单金额.
    SettlementTotalFee,
    /// 代金券金额.
    CouponFee,
    /// 退款申请时间.
    RefundApplyTime,
    /// 退款成功时间.
    RefundSuccessTime,
    /// 微信退款单号.
    RefundId,
    /// 商户退款单号.
    OutRefundNo,
    /// 退款金额.
    SettlementRefundFee,
    /// 充值券退款金额.
    CouponRefundFee,
    /// 退款类型.
    RefundType,
    /// 退款状态.
    RefundStatus,
    /// 商品名称.
    Body,
    /// 商户数据包.
    Attach,
    /// 手续费.
    Fee,
    /// 费率.
    Rate,
    /// 订单金额.
    TotalFee,
    /// 申请退款金额.
    RefundFee,
    /// 费率备注.
    RateNote,
}

const ALL_COLUMNS: &[Column] = &[
    Column::TradeTime,
    Column::Appid,
    Column::MchId,
    Column::SubMchId,
    Column::DeviceInfo,
    Column::TransactionId,
    Column::OutTradeNo,
    Column::Openid,
    Column::TradeType,
    Column::TradeState,
    Column::BankType,
    Column::FeeType,
    Column::SettlementTotalFee,
    Column::CouponFee,
    Column::RefundId,
    Column::OutRefundNo,
    Column::SettlementRefundFee,
    Column::CouponRefundFee,
    Column::RefundType,
    Column::RefundStatus,
    Column::Body,
    Column::Attach,
    Column::Fee,
    Column::Rate,
    Column::TotalFee,
    Column::RefundFee,
    Column::RateNote,
];

const SUCCESS_COLUMNS: &[Column] = &[
    Column::TradeTime,
    Column::Appid,
    Column::MchId,
    Column::SubMchId,
    Column::DeviceInfo,
    Column::TransactionId,
    Column::OutTradeNo,
    Column::Openid,
    Column::TradeType,
    Column::TradeState,
    Column::BankType,
    Column::FeeType,
    Column::SettlementTotalFee,
    Column::CouponFee,
    Column::Body,
    Column::Attach,
    Column::Fee,
    Column::Rate,
    Column::TotalFee,
    Column::RateNote,
];

const REFUND_COLUMNS: &[Column] = &[
    Column::TradeTime,
    Column::Appid,
    Column::MchId,
    Column::SubMchId,
    Column::DeviceInfo,
    Column::TransactionId,
    Column::OutTradeNo,
    Column::Openid,
    Column::TradeType,
    Column::TradeState,
    Column::BankType,
    Column::FeeType,
    Column::SettlementTotalFee,
    Column::CouponFee,
    Column::RefundApplyTime,
    Column::RefundSuccessTime,
    Column::RefundId,
    Column::OutRefundNo,
    Column::SettlementRefundFee,
    Column::CouponRefundFee,
    Column::RefundType,
    Column::RefundStatus,
    Column::Body,
    Column::Attach,
    Column::Fee,
    Column::Rate,
    Column::TotalFee,
    Column::RefundFee,
    Column::RateNote,
];

/// The summary header (§7.2, ALL).
pub const SUMMARY_HEADER: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";

impl Column {
    /// Every column (REFUND's columns are a superset of ALL's and SUCCESS's).
    pub const ALL: &'static [Column] = REFUND_COLUMNS;

    /// The header name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Column::TradeTime => "交易时间",
            Column::Appid => "公众账号ID",
            Column::MchId => "商户号",
            Column::SubMchId => "特约商户号",
            Column::DeviceInfo => "设备号",
            Column::TransactionId => "微信订单号",
            Column::OutTradeNo => "商户订单号",
            Column::Openid => "用户标识",
            Column::TradeType => "交易类型",
            Column::TradeState => "交易状态",
            Column::BankType => "付款银行",
            Column::FeeType => "货币种类",
            Column::SettlementTotalFee => "应结订单金额",
            Column::CouponFee => "代金券金额",
            Column::RefundApplyTime => "退款申请时间",
            Column::RefundSuccessTime => "退款成功时间",
            Column::RefundId => "微信退款单号",
            Column::OutRefundNo => "商户退款单号",
            Column::SettlementRefundFee => "退款金额",
            Column::CouponRefundFee => "充值券退款金额",
            Column::RefundType => "退款类型",
            Column::RefundStatus => "退款状态",
            Column::Body => "商品名称",
            Column::Attach => "商户数据包",
            Column::Fee => "手续费",
            Column::Rate => "费率",
            Column::TotalFee => "订单金额",
            Column::RefundFee => "申请退款金额",
            Column::RateNote => "费率备注",
        }
    }

    /// The column with this header name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Column> {
        Column::ALL.iter().copied().find(|c| c.name() == name)
    }

    fn value(self, row: &BillRow) -> String {
        match self {
            Column::TradeTime => row.trade_time.clone(),
            Column::Appid => row.appid.clone(),
            Column::MchId => row.mch_id.clone(),
            Column::SubMchId => row.sub_mch_id.clone(),
            Column::DeviceInfo => row.device_info.clone(),
            Column::TransactionId => row.transaction_id.clone(),
            Column::OutTradeNo => row.out_trade_no.clone(),
            Column::Openid => row.openid.clone(),
            Column::TradeType => row.trade_type.clone(),
            Column::TradeState => row.trade_state.clone(),
            Column::BankType => row.bank_type.clone(),
            Column::FeeType => row.fee_type.clone(),
            Column::SettlementTotalFee => format_yuan(row.settlement_total_fee),
            Column::CouponFee => format_yuan(row.coupon_fee),
            Column::RefundApplyTime => row.refund_apply_time.clone(),
            Column::RefundSuccessTime => row.refund_success_time.clone(),
            Column::RefundId => row.refund_id.clone(),
            Column::OutRefundNo => row.out_refund_no.clone(),
            Column::SettlementRefundFee => format_yuan(row.settlement_refund_fee),
            Column::CouponRefundFee => format_yuan(row.coupon_refund_fee),
            Column::RefundType => row.refund_type.clone(),
            Column::RefundStatus => row.refund_status.clone(),
            Column::Body => row.body.clone(),
            Column::Attach => row.attach.clone(),
            Column::Fee => row.fee.to_yuan5(),
            Column::Rate => row.rate.clone(),
            Column::TotalFee => format_yuan(row.total_fee),
            Column::RefundFee => format_yuan(row.refund_fee),
            Column::RateNote => row.rate_note.clone(),
        }
    }

    fn set(self, row: &mut BillRow, value: &str) -> Result<(), AmountError> {
        let text = value.to_owned();
        match self {
            Column::TradeTime => row.trade_time = text,
            Column::Appid => row.appid = text,
            Column::MchId => row.mch_id = text,
            Column::SubMchId => row.sub_mch_id = text,
            Column::DeviceInfo => row.device_info = text,
            Column::TransactionId => row.transaction_id = text,
            Column::OutTradeNo => row.out_trade_no = text,
            Column::Openid => row.openid = text,
            Column::TradeType => row.trade_type = text,
            Column::TradeState => row.trade_state = text,
            Column::BankType => row.bank_type = text,
            Column::FeeType => row.fee_type = text,
            Column::SettlementTotalFee => row.settlement_total_fee = amount(value)?,
            Column::CouponFee => row.coupon_fee = amount(value)?,
            Column::RefundApplyTime => row.refund_apply_time = text,
            Column::RefundSuccessTime => row.refund_success_time = text,
            Column::RefundId => row.refund_id = text,
            Column::OutRefundNo => row.out_refund_no = text,
            Column::SettlementRefundFee => row.settlement_refund_fee = amount(value)?,
            Column::CouponRefundFee => row.coupon_refund_fee = amount(value)?,
            Column::RefundType => row.refund_type = text,
            Column::RefundStatus => row.refund_status = text,
            Column::Body => row.body = text,
            Column::Attach => row.attach = text,
            Column::Fee => row.fee = Fee::parse(value)?,
            Column::Rate => row.rate = text,
            Column::TotalFee => row.total_fee = amount(value)?,
            Column::RefundFee => row.refund_fee = amount(value)?,
            Column::RateNote => row.rate_note = text,
        }
        Ok(())
    }
}

/// A bill amount: yuan, empty meaning zero.
fn amount(value: &str) -> Result<u64, AmountError> {
    if value.is_empty() {
        Ok(0)
    } else {
        parse_yuan_unbounded(value)
    }
}

/// The line terminator the writer uses.
pub const LINE_END: &str = "\r\n";

/// Writes a bill of `bill_type` as the text table of §7.2 (the summary is written as given).
/// Values must not contain commas or line breaks (the platform's own format cannot carry
/// them); the writer replaces them with spaces.
#[must_use]
pub fn write_bill(bill_type: BillType, bill: &Bill) -> String {
    let columns = bill_type.columns();
    let mut out = String::new();
    let header: Vec<&str> = columns.iter().map(|c| c.name()).collect();
    out.push_str(&header.join(","));
    out.push_str(LINE_END);
    for row in &bill.rows {
        let cells: Vec<String> = columns.iter().map(|c| cell(&c.value(row))).collect();
        out.push_str(&cells.join(","));
        out.push_str(LINE_END);
    }
    out.push_str(SUMMARY_HEADER);
    out.push_str(LINE_END);
    let s = &bill.summary;
    let summary = [
        s.count.to_string(),
        format_yuan(s.settlement_total_fee),
        format_yuan(s.settlement_refund_fee),
        format_yuan(s.coupon_refund_fee),
        s.fee.to_yuan5(),
        format_yuan(s.total_fee),
        format_yuan(s.refund_fee),
    ];
    let summary: Vec<String> = summary.iter().map(|v| cell(v)).collect();
    out.push_str(&summary.join(","));
    out.push_str(LINE_END);
    out
}

fn cell(value: &str) -> String {
    let clean: String = value
        .chars()
        .map(|c| {
            if matches!(c, ',' | '\r' | '\n') {
                ' '
            } else {
                c
            }
        })
        .collect();
    format!("`{clean}")
}

/// Why a bill text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BillParseError {
    /// Fewer than the three lines every bill has (header, summary header, summary).
    #[error("a bill needs a header, a summary header and a summary")]
    TooShort,
    /// The first line is not a known bill header.
    #[error("unknown bill header")]
    UnknownHeader,
    /// A line has another number of fields than its header.
    #[error("line {line}: {found} fields, the header has {expected}")]
    FieldCount {
        /// 1-based line number.
        line: usize,
        /// Header's field count.
        expected: usize,
        /// This line's.
        found: usize,
    },
    /// A value is not its column's type.
    #[error("line {line}, column {column}: {error}")]
    Value {
        /// 1-based line number.
        line: usize,
        /// The column's header name.
        column: String,
        /// What is wrong.
        error: AmountError,
    },
    /// A field lacks its backtick.
    #[error("line {line}: a field without its backtick prefix")]
    NoBacktick {
        /// 1-based line number.
        line: usize,
    },
    /// The text is an error XML, not a bill.
    #[error("an XML answer, not a bill")]
    Xml,
}

/// Parses a bill text (any of ALL, SUCCESS, REFUND; columns found by name).
///
/// # Errors
/// [`BillParseError`].
pub fn parse_bill(text: &str) -> Result<Bill, BillParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('<') {
        return Err(BillParseError::Xml);
    }
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.trim().is_empty())
        .collect();
    let [header, body @ .., summary_header, summary] = lines.as_slice() else {
        return Err(BillParseError::TooShort);
    };
    let columns: Vec<Option<Column>> = header.split(',').map(Column::from_name).collect();
    if !columns.contains(&Some(Column::TransactionId)) {
        return Err(BillParseError::UnknownHeader);
    }
    let mut rows = Vec::with_capacity(body.len());
    for (i, line) in body.iter().enumerate() {
        let number = i + 2;
        let values = values(line, number)?;
        if values.len() != columns.len() {
            return Err(BillParseError::FieldCount {
                line: number,
                expected: columns.len(),
                found: values.len(),
            });
        }
        let mut row = BillRow::default();
        for (column, value) in columns.iter().zip(&values) {
            if let Some(column) = column {
                column
                    .set(&mut row, value)
                    .map_err(|error| BillParseError::Value {
                        line: number,
                        column: column.name().to_owned(),
                        error,
                    })?;
            }
        }
        rows.push(row);
    }
    let summary_line = lines.len();
    let names: Vec<&str> = summary_header.split(',').collect();
    let values = values(summary, summary_line)?;
    if values.len() != names.len() {
        return Err(BillParseError::FieldCount {
            line: summary_line,
            expected: names.len(),
            found: values.len(),
        });
    }
    let mut s = BillSummary::default();
    for (name, value) in names.iter().zip(&values) {
        let bad = |error| BillParseError::Value {
            line: summary_line,
            column: (*name).to_owned(),
            error,
        };
        match *name {
            "总交易单数" => {
                s.count = value
                    .parse()
                    .map_err(|_| bad(AmountError::InvalidCharacter('?')))?;
            }
            "应结订单总金额" => s.settlement_total_fee = amount(value).map_err(bad)?,
            "退款总金额" => s.settlement_refund_fee = amount(value).map_err(bad)?,
            "充值券退款总金额" => s.coupon_refund_fee = amount(value).map_err(bad)?,
            "手续费总金额" => s.fee = Fee::parse(value).map_err(bad)?,
            "订单总金额" => s.total_fee = amount(value).map_err(bad)?,
            "申请退款总金额" => s.refund_fee = amount(value).map_err(bad)?,
            _ => {}
        }
    }
    Ok(Bill { rows, summary: s })
}

/// The backtick-prefixed values of one line.
fn values(line: &str, number: usize) -> Result<Vec<&str>, BillParseError> {
    line.split(',')
        .map(|field| {
            field
                .strip_prefix('`')
                .ok_or(BillParseError::NoBacktick { line: number })
        })
        .collect()
}

/// Gzips a bill text (`tar_type=GZIP`).
#[must_use]
pub fn gzip(text: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(text);
    encoder.finish().unwrap_or_default()
}

/// Whether a body starts with the gzip magic bytes.
#[must_use]
pub fn is_gzip(body: &[u8]) -> bool {
    body.starts_with(&[0x1f, 0x8b])
}

/// Decompresses a gzip body, refusing more than `limit` bytes of output.
///
/// # Errors
/// Not gzip, corrupt, or larger than `limit`.
pub fn gunzip(body: &[u8], limit: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(std::io::Error::other("decompressed bill too large"));
    }
    Ok(out)
}
