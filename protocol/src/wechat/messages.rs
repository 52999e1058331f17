//! Typed requests and responses of refund (§3), refund query (§4) and order query (§6.2),
//! converted to and from [`Params`].
//!
//! Requests: `from_params` checks presence and formats with [`super::fields`] (what the server
//! answers `PARAM_ERROR` to); `validate` runs the same checks on a built value (what the SDK
//! refuses to send). Unknown and legacy fields (`op_user_id`, `device_info`, `detail`,
//! `sub_appid`...) are ignored. Neither `sign` nor its check is handled here.
//!
//! Responses: `to_params` emits what the real platform emits (integers bare, strings as text);
//! `from_params` is lenient on what the platform has been seen to omit, strict on types.
//! Indexed families (`refund_fee_$n`, `coupon_refund_id_$n_$m`) go through one helper,
//! [`wire_name`], which expands a documented pattern with indices.

use std::fmt::Write as _;

use super::codes::{
    CouponType, ErrCode, RefundAccount, RefundChannel, RefundStatus, ResultCode, ReturnCode,
    TradeState, return_msg,
};
use super::fields::{self, FieldError};
use super::params::Params;
use super::sign::SignType;

/// Upper bound accepted for `refund_count`, `coupon_refund_count*` and `coupon_count` when
/// parsing. Real values are at most 50 refunds per order and 10 per page.
pub const MAX_INDEXED_COUNT: usize = 1000;

type Result<T> = std::result::Result<T, FieldError>;

mod payment;
pub use payment::{
    CloseOrderRequest, CloseOrderResponse, GetSignKeyRequest, GetSignKeyResponse, UnifiedOrder,
    UnifiedOrderRequest, UnifiedOrderResponse, compact_time, spbill_create_ip,
};
/// Reasons of the conditional-presence [`FieldError`]s of [`UnifiedOrder::validate`].
pub mod unified_order_reasons {
    pub use super::payment::{OPENID_REQUIRED, PRODUCT_ID_REQUIRED};
}

// ---------------------------------------------------------------------------------------
// Indexed-name helper and field readers/writers, written once for every message.

/// Expands an indexed pattern: each `$x` placeholder (`$n`, `$m`) is replaced by the next
/// index of `path`. `wire_name("coupon_refund_id_$n_$m", &[1, 0])` is
/// `coupon_refund_id_1_0`; a pattern without placeholders is returned as is.
pub fn wire_name(pattern: &str, path: &[usize]) -> String {
    let mut out = String::with_capacity(pattern.len() + 4 * path.len());
    let mut indices = path.iter();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '$' {
            chars.next(); // the placeholder letter
            if let Some(i) = indices.next() {
                let _ = write!(out, "{i}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads fields of `params` at an index path (empty for top-level fields).
#[derive(Clone, Copy)]
pub(super) struct At<'a> {
    params: &'a Params,
    path: &'a [usize],
}

impl<'a> At<'a> {
    pub(super) fn top(params: &'a Params) -> Self {
        Self { params, path: &[] }
    }

    fn get(&self, pattern: &str) -> Option<&'a str> {
        if self.path.is_empty() {
            self.params.non_empty(pattern)
        } else {
            self.params.non_empty(&wire_name(pattern, self.path))
        }
    }

    pub(super) fn text(&self, pattern: &'static str) -> Result<String> {
        self.get(pattern)
            .map(str::to_owned)
            .ok_or(FieldError::missing(pattern))
    }

    pub(super) fn opt_text(&self, pattern: &str) -> Option<String> {
        self.get(pattern).map(str::to_owned)
    }

    /// Lenient: absent becomes empty (fields the platform has been seen to omit or empty).
    fn text_or_empty(&self, pattern: &str) -> String {
        self.get(pattern).unwrap_or_default().to_owned()
    }

    pub(super) fn uint(&self, pattern: &'static str) -> Result<u64> {
        fields::parse_uint(pattern, self.get(pattern).unwrap_or_default())
    }

    pub(super) fn opt_uint(&self, pattern: &'static str) -> Result<Option<u64>> {
        self.get(pattern)
            .map(|v| fields::parse_uint(pattern, v))
            .transpose()
    }

    /// A counter driving an indexed family: absent is 0, above [`MAX_INDEXED_COUNT`] refused.
    fn count(&self, pattern: &'static str) -> Result<usize> {
        let n = self.opt_uint(pattern)?.unwrap_or(0);
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_INDEXED_COUNT)
            .ok_or(FieldError::invalid(pattern, "count too large"))
    }

    pub(super) fn opt_enum<T>(
        &self,
        pattern: &'static str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<Option<T>> {
        self.get(pattern)
            .map(|v| parse(v).ok_or(FieldError::invalid(pattern, "unknown value")))
            .transpose()
    }

    pub(super) fn enumerated<T>(
        &self,
        pattern: &'static str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<T> {
        self.opt_enum(pattern, parse)?
            .ok_or(FieldError::missing(pattern))
    }
}

/// Writes fields into `params` at an index path.
pub(super) struct Put<'a> {
    params: &'a mut Params,
    path: &'a [usize],
}

impl<'a> Put<'a> {
    pub(super) fn top(params: &'a mut Params) -> Self {
        Self { params, path: &[] }
    }

    fn at<'b>(&'b mut self, path: &'b [usize]) -> Put<'b> {
        Put {
            params: self.params,
            path,
        }
    }

    pub(super) fn text(&mut self, pattern: &str, value: &str) {
        self.params
            .insert_text(wire_name(pattern, self.path), value);
    }

    /// Skips `None` and empty values: an empty optional field is the same as an absent one.
    pub(super) fn opt_text(&mut self, pattern: &str, value: Option<&str>) {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.text(pattern, v);
        }
    }

    pub(super) fn int(&mut self, pattern: &str, value: impl std::fmt::Display) {
        self.params.insert_int(wire_name(pattern, self.path), value);
    }

    pub(super) fn opt_int(&mut self, pattern: &str, value: Option<impl std::fmt::Display>) {
        if let Some(v) = value {
            self.int(pattern, v);
        }
    }
}

/// The `sign_type` of a request, if given: `None` when absent or empty, an error when unknown.
fn read_sign_type(at: At<'_>) -> Result<Option<SignType>> {
    at.opt_enum("sign_type", SignType::from_wire)
        .map_err(|_| FieldError::invalid("sign_type", "must be MD5 or HMAC-SHA256"))
}

/// Fields every request carries.
fn read_common(at: At<'_>) -> Result<(String, String, String, Option<SignType>)> {
    Ok((
        at.text("appid")?,
        at.text("mch_id")?,
        at.text("nonce_str")?,
        read_sign_type(at)?,
    ))
}

fn write_common(put: &mut Put<'_>, appid: &str, mch_id: &str, nonce: &str, st: Option<SignType>) {
    put.text("appid", appid);
    put.text("mch_id", mch_id);
    put.text("nonce_str", nonce);
    put.opt_text("sign_type", st.map(SignType::as_str));
}

fn validate_common(appid: &str, mch_id: &str, nonce_str: &str) -> Result<()> {
    fields::appid(appid)?;
    fields::mch_id(mch_id)?;
    fields::nonce_str(nonce_str)
}

fn validate_opt(v: &Option<String>, check: fn(&str) -> Result<()>) -> Result<()> {
    match v.as_deref() {
        Some(s) if !s.is_empty() => check(s),
        _ => Ok(()),
    }
}

fn check_positive_fee(field: &'static str, n: u64) -> Result<()> {
    if n == 0 {
        Err(FieldError::invalid(field, "must be greater than 0"))
    } else if i64::try_from(n).is_err() {
        Err(FieldError::invalid(field, "too large"))
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Coupons: the same (type, id, fee) triple under three naming schemes.

/// The patterns of one coupon family.
pub(super) struct CouponNames {
    count: &'static str,
    kind: &'static str,
    id: &'static str,
    fee: &'static str,
}

/// Refund response (§3.2): `coupon_refund_count`, `coupon_type_$n`...
const REFUND_COUPONS: CouponNames = CouponNames {
    count: "coupon_refund_count",
    kind: "coupon_type_$n",
    id: "coupon_refund_id_$n",
    fee: "coupon_refund_fee_$n",
};
/// Refund query record `$n` (§4.2): `coupon_refund_count_$n`, `coupon_type_$n_$m`...
const RECORD_COUPONS: CouponNames = CouponNames {
    count: "coupon_refund_count_$n",
    kind: "coupon_type_$n_$m",
    id: "coupon_refund_id_$n_$m",
    fee: "coupon_refund_fee_$n_$m",
};
/// Order query (§6.2) and payment notification (§6.4): `coupon_count`, `coupon_type_$n`,
/// `coupon_id_$n`, `coupon_fee_$n`.
pub(super) const ORDER_COUPONS: CouponNames = CouponNames {
    count: "coupon_count",
    kind: "coupon_type_$n",
    id: "coupon_id_$n",
    fee: "coupon_fee_$n",
};

/// A coupon type seen through its (type, id, fee) triple.
pub(super) trait CouponTriple: Sized {
    fn parts(&self) -> (Option<CouponType>, &str, u64);
    fn from_parts(kind: Option<CouponType>, id: String, fee: u64) -> Self;
}

/// Writes the counter (always, even 0: real responses carry zero counters) and each coupon.
pub(super) fn put_coupons<C: CouponTriple>(put: &mut Put<'_>, names: &CouponNames, coupons: &[C]) {
    put.int(names.count, coupons.len());
    let mut path = put.path.to_vec();
    path.push(0);
    for (m, c) in coupons.iter().enumerate() {
        if let Some(last) = path.last_mut() {
            *last = m;
        }
        let (kind, id, fee) = c.parts();
        let mut at = put.at(&path);
        at.opt_text(names.kind, kind.map(CouponType::as_str));
        at.text(names.id, id);
        at.int(names.fee, fee);
    }
}

/// Reads coupons driven by the counter; stops at the first missing required field with an
/// error rather than trusting the counter for allocation.
pub(super) fn get_coupons<C: CouponTriple>(at: At<'_>, names: &CouponNames) -> Result<Vec<C>> {
    let count = at.count(names.count)?;
    let mut path = at.path.to_vec();
    path.push(0);
    let mut out = Vec::new();
    for m in 0..count {
        if let Some(last) = path.last_mut() {
            *last = m;
        }
        let c = At {
            params: at.params,
            path: &path,
        };
        out.push(C::from_parts(
            c.opt_enum(names.kind, CouponType::from_wire)?,
            c.text(names.id)?,
            c.uint(names.fee)?,
        ));
    }
    Ok(out)
}

/// One coupon refunded (§3.2 `coupon_*_$n`, §4.2 `coupon_*_$n_$m`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponRefund {
    /// `coupon_type_*`: `CASH` / `NO_CASH`; optional on the wire.
    pub coupon_type: Option<CouponType>,
    /// `coupon_refund_id_*`.
    pub coupon_refund_id: String,
    /// `coupon_refund_fee_*`, fen.
    pub coupon_refund_fee: u64,
}

impl CouponTriple for CouponRefund {
    fn parts(&self) -> (Option<CouponType>, &str, u64) {
        (
            self.coupon_type,
            &self.coupon_refund_id,
            self.coupon_refund_fee,
        )
    }
    fn from_parts(coupon_type: Option<CouponType>, id: String, fee: u64) -> Self {
        Self {
            coupon_type,
            coupon_refund_id: id,
            coupon_refund_fee: fee,
        }
    }
}

/// One coupon used to pay an order (§6.2 `coupon_*_$n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCoupon {
    /// `coupon_type_$n`: `CASH` / `NO_CASH`; optional on the wire.
    pub coupon_type: Option<CouponType>,
    /// `coupon_id_$n`.
    pub coupon_id: String,
    /// `coupon_fee_$n`, fen.
    pub coupon_fee: u64,
}

impl CouponTriple for OrderCoupon {
    fn parts(&self) -> (Option<CouponType>, &str, u64) {
        (self.coupon_type, &self.coupon_id, self.coupon_fee)
    }
    fn from_parts(coupon_type: Option<CouponType>, id: String, fee: u64) -> Self {
        Self {
            coupon_type,
            coupon_id: id,
            coupon_fee: fee,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Requests.

/// Which order a refund or order query is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderId {
    /// WeChat's order id.
    TransactionId(String),
    /// The merchant's order number.
    OutTradeNo(String),
}

impl OrderId {
    /// The wire field name.
    pub fn field(&self) -> &'static str {
        match self {
            Self::TransactionId(_) => "transaction_id",
            Self::OutTradeNo(_) => "out_trade_no",
        }
    }

    /// The id.
    pub fn value(&self) -> &str {
        match self {
            Self::TransactionId(v) | Self::OutTradeNo(v) => v,
        }
    }
}

/// `transaction_id` wins over `out_trade_no` (§3.1, §6.2). With neither, the error names
/// `out_trade_no`: merchants always have it, and the sandbox's own complaint about a missing
/// id said `param out_trade_no invalid` (§8.2).
fn order_id(transaction_id: &Option<String>, out_trade_no: &Option<String>) -> Result<OrderId> {
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    nonempty(transaction_id)
        .map(OrderId::TransactionId)
        .or_else(|| nonempty(out_trade_no).map(OrderId::OutTradeNo))
        .ok_or(FieldError::missing("out_trade_no"))
}

/// Validates whichever order ids are present (both, when both are given: a malformed one is
/// refused even if the other would win), and that at least one is.
fn validate_order_ids(
    transaction_id: &Option<String>,
    out_trade_no: &Option<String>,
) -> Result<()> {
    validate_opt(transaction_id, fields::transaction_id)?;
    validate_opt(out_trade_no, fields::out_trade_no)?;
    order_id(transaction_id, out_trade_no).map(drop)
}

/// `POST /secapi/pay/refund` request (§3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// `appid`.
    pub appid: String,
    /// `mch_id`.
    pub mch_id: String,
    /// `nonce_str`.
    pub nonce_str: String,
    /// `sign_type`; `None` means MD5 and no field.
    pub sign_type: Option<SignType>,
    /// `transaction_id`; wins over `out_trade_no` (see [`RefundRequest::order_id`]).
    pub transaction_id: Option<String>,
    /// `out_trade_no`.
    pub out_trade_no: Option<String>,
    /// `out_refund_no`.
    pub out_refund_no: String,
    /// `total_fee`: the original order amount, fen.
    pub total_fee: u64,
    /// `refund_fee`: this refund, fen. Not checked against `total_fee` here: the platform
    /// answers that with a protocol-level FAIL ([`return_msg::INVALID_REFUND_FEE`]).
    pub refund_fee: u64,
    /// `refund_fee_type` (ISO 4217, default CNY).
    pub refund_fee_type: Option<String>,
    /// `refund_desc`.
    pub refund_desc: Option<String>,
    /// `refund_account`. Values other than the two documented ones are refused
    /// (server behaviour UNCONFIRMED).
    pub refund_account: Option<RefundAccount>,
    /// `notify_url`.
    pub notify_url: Option<String>,
}

impl RefundRequest {
    /// The order to refund, applying the priority `transaction_id` > `out_trade_no`.
    pub fn order_id(&self) -> Result<OrderId> {
        order_id(&self.transaction_id, &self.out_trade_no)
    }

    /// Checks every field's format rule (§3.1).
    pub fn validate(&self) -> Result<()> {
        validate_common(&self.appid, &self.mch_id, &self.nonce_str)?;
        validate_order_ids(&self.transaction_id, &self.out_trade_no)?;
        fields::out_refund_no(&self.out_refund_no)?;
        check_positive_fee("total_fee", self.total_fee)?;
        check_positive_fee("refund_fee", self.refund_fee)?;
        validate_opt(&self.refund_fee_type, fields::refund_fee_type)?;
        validate_opt(&self.refund_desc, fields::refund_desc)?;
        validate_opt(&self.notify_url, fields::notify_url)
    }

    /// The request's parameters, unsigned.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        let mut put = Put::top(&mut p);
        write_common(
            &mut put,
            &self.appid,
            &self.mch_id,
            &self.nonce_str,
            self.sign_type,
        );
        put.opt_text("transaction_id", self.transaction_id.as_deref());
        put.opt_text("out_trade_no", self.out_trade_no.as_deref());
        put.text("out_refund_no", &self.out_refund_no);
        put.int("total_fee", self.total_fee);
        put.int("refund_fee", self.refund_fee);
        put.opt_text("refund_fee_type", self.refund_fee_type.as_deref());
        put.opt_text("refund_desc", self.refund_desc.as_deref());
        put.opt_text(
            "refund_account",
            self.refund_account.map(RefundAccount::as_str),
        );
        put.opt_text("notify_url", self.notify_url.as_deref());
        p
    }

    /// Parses and validates a received request.
    pub fn from_params(p: &Params) -> Result<Self> {
        let at = At::top(p);
        let (appid, mch_id, nonce_str, sign_type) = read_common(at)?;
        let r = Self {
            appid,
            mch_id,
            nonce_str,
            sign_type,
            transaction_id: at.opt_text("transaction_id"),
            out_trade_no: at.opt_text("out_trade_no"),
            out_refund_no: at.text("out_refund_no")?,
            total_fee: fields::parse_fee("total_fee", at.get("total_fee").unwrap_or_default())?,
            refund_fee: fields::parse_fee("refund_fee", at.get("refund_fee").unwrap_or_default())?,
            refund_fee_type: at.opt_text("refund_fee_type"),
            refund_desc: at.opt_text("refund_desc"),
            refund_account: at.opt_enum("refund_account", RefundAccount::from_wire)?,
            notify_url: at.opt_text("notify_url"),
        };
        r.validate()?;
        Ok(r)
    }
}

/// Which refunds a refund query asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RefundQuerySelector {
    /// `refund_id`: one refund.
    RefundId(String),
    /// `out_refund_no`: one refund.
    OutRefundNo(String),
    /// `transaction_id`: the order's refunds, paged.
    TransactionId(String),
    /// `out_trade_no`: the order's refunds, paged.
    OutTradeNo(String),
}

/// `POST /pay/refundquery` request (§4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundQueryRequest {
    /// `appid`.
    pub appid: String,
    /// `mch_id`.
    pub mch_id: String,
    /// `nonce_str`.
    pub nonce_str: String,
    /// `sign_type`; `None` means MD5 and no field.
    pub sign_type: Option<SignType>,
    /// `refund_id`.
    pub refund_id: Option<String>,
    /// `out_refund_no`.
    pub out_refund_no: Option<String>,
    /// `transaction_id`.
    pub transaction_id: Option<String>,
    /// `out_trade_no`.
    pub out_trade_no: Option<String>,
    /// `offset`: index of the first record wanted when querying by order.
    pub offset: Option<u32>,
}

impl RefundQueryRequest {
    /// The id used, by priority `refund_id` > `out_refund_no` > `transaction_id` >
    /// `out_trade_no` (§4.1). With none, `Missing` on `out_trade_no` (see [`OrderId`]'s rule).
    pub fn selector(&self) -> Result<RefundQuerySelector> {
        let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        nonempty(&self.refund_id)
            .map(RefundQuerySelector::RefundId)
            .or_else(|| nonempty(&self.out_refund_no).map(RefundQuerySelector::OutRefundNo))
            .or_else(|| nonempty(&self.transaction_id).map(RefundQuerySelector::TransactionId))
            .or_else(|| nonempty(&self.out_trade_no).map(RefundQuerySelector::OutTradeNo))
            .ok_or(FieldError::missing("out_trade_no"))
    }

    /// Checks every present field's format rule and that some id is given.
    pub fn validate(&self) -> Result<()> {
        validate_common(&self.appid, &self.mch_id, &self.nonce_str)?;
        validate_opt(&self.refund_id, fields::refund_id)?;
        validate_opt(&self.out_refund_no, fields::out_refund_no)?;
        validate_opt(&self.transaction_id, fields::transaction_id)?;
        validate_opt(&self.out_trade_no, fields::out_trade_no)?;
        self.selector().map(drop)
    }

    /// The request's parameters, unsigned.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        let mut put = Put::top(&mut p);
        write_common(
            &mut put,
            &self.appid,
            &self.mch_id,
            &self.nonce_str,
            self.sign_type,
        );
        put.opt_text("refund_id", self.refund_id.as_deref());
        put.opt_text("out_refund_no", self.out_refund_no.as_deref());
        put.opt_text("transaction_id", self.transaction_id.as_deref());
        put.opt_text("out_trade_no", self.out_trade_no.as_deref());
        put.opt_int("offset", self.offset);
        p
    }

    /// Parses and validates a received request.
    pub fn from_params(p: &Params) -> Result<Self> {
        let at = At::top(p);
        let (appid, mch_id, nonce_str, sign_type) = read_common(at)?;
        let r = Self {
            appid,
            mch_id,
            nonce_str,
            sign_type,
            refund_id: at.opt_text("refund_id"),
            out_refund_no: at.opt_text("out_refund_no"),
            transaction_id: at.opt_text("transaction_id"),
            out_trade_no: at.opt_text("out_trade_no"),
            offset: at.get("offset").map(fields::offset).transpose()?,
        };
        r.validate()?;
        Ok(r)
    }
}

/// `POST /pay/orderquery` request (§6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderQueryRequest {
    /// `appid`.
    pub appid: String,
    /// `mch_id`.
    pub mch_id: String,
    /// `nonce_str`.
    pub nonce_str: String,
    /// `sign_type`; `None` means MD5 and no field.
    pub sign_type: Option<SignType>,
    /// `transaction_id`; wins over `out_trade_no`.
    pub transaction_id: Option<String>,
    /// `out_trade_no`.
    pub out_trade_no: Option<String>,
}

impl OrderQueryRequest {
    /// The order asked for, `transaction_id` first.
    pub fn order_id(&self) -> Result<OrderId> {
        order_id(&self.transaction_id, &self.out_trade_no)
    }

    /// Checks every field's format rule.
    pub fn validate(&self) -> Result<()> {
        validate_common(&self.appid, &self.mch_id, &self.nonce_str)?;
        validate_order_ids(&self.transaction_id, &self.out_trade_no)
    }

    /// The request's parameters, unsigned.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        let mut put = Put::top(&mut p);
        write_common(
            &mut put,
            &self.appid,
            &self.mch_id,
            &self.nonce_str,
            self.sign_type,
        );
        put.opt_text("transaction_id", self.transaction_id.as_deref());
        put.opt_text("out_trade_no", self.out_trade_no.as_deref());
        p
    }

    /// Parses and validates a received request.
    pub fn from_params(p: &Params) -> Result<Self> {
        let at = At::top(p);
        let (appid, mch_id, nonce_str, sign_type) = read_common(at)?;
        let r = Self {
            appid,
            mch_id,
            nonce_str,
            sign_type,
            transaction_id: at.opt_text("transaction_id"),
            out_trade_no: at.opt_text("out_trade_no"),
        };
        r.validate()?;
        Ok(r)
    }
}

// ---------------------------------------------------------------------------------------
// Responses.

/// A protocol-level failure: `return_code=FAIL` and `return_msg`, unsigned (§2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnFail {
    /// `return_msg`, e.g. [`return_msg::SIGN_ERROR`].
    pub return_msg: String,
}

/// The parameters of a protocol-level failure; encode as is, do not sign.
pub fn return_fail(msg: impl Into<String>) -> Params {
    ReturnFail {
        return_msg: msg.into(),
    }
    .to_params()
}

impl ReturnFail {
    /// `return_code=FAIL`, `return_msg`.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        p.insert_text("return_code", ReturnCode::Fail.as_str());
        p.insert_text("return_msg", &self.return_msg);
        p
    }

    /// Parses a `return_code=FAIL` response. Reads the sandbox's `retmsg` when `return_msg`
    /// is absent (§8.2); a missing message is empty.
    pub fn from_params(p: &Params) -> Result<Self> {
        if p.get("return_code") != Some(ReturnCode::Fail.as_str()) {
            return Err(FieldError::invalid("return_code", "expected FAIL"));
        }
        let msg = p
            .get("return_msg")
            .or_else(|| p.get("retmsg"))
            .unwrap_or_default();
        Ok(Self {
            return_msg: msg.to_owned(),
        })
    }
}

/// The fields every signed business response carries (`return_code=SUCCESS`, `return_msg=OK`
/// are implied). A business error is just this with `result_code=FAIL`:
/// `ResultHeader::fail(appid, mch_id, nonce, ErrCode::NotEnough).to_params()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultHeader {
    /// `appid` (the platform has answered with it empty: parsed leniently).
    pub appid: String,
    /// `mch_id` (parsed leniently, see `appid`).
    pub mch_id: String,
    /// `nonce_str`, server-generated.
    pub nonce_str: String,
    /// `result_code`.
    pub result_code: ResultCode,
    /// `err_code`, on FAIL.
    pub err_code: Option<ErrCode>,
    /// `err_code_des`, on FAIL.
    pub err_code_des: Option<String>,
}

impl ResultHeader {
    /// A `result_code=SUCCESS` header.
    pub fn success(
        appid: impl Into<String>,
        mch_id: impl Into<String>,
        nonce_str: impl Into<String>,
    ) -> Self {
        Self {
            appid: appid.into(),
            mch_id: mch_id.into(),
            nonce_str: nonce_str.into(),
            result_code: ResultCode::Success,
            err_code: None,
            err_code_des: None,
        }
    }

    /// A `result_code=FAIL` header with `err_code` and its default
    /// [`ErrCode::description`]; change the text with [`ResultHeader::with_description`].
    pub fn fail(
        appid: impl Into<String>,
        mch_id: impl Into<String>,
        nonce_str: impl Into<String>,
        err_code: ErrCode,
    ) -> Self {
        let des = err_code.description().to_owned();
        Self {
            result_code: ResultCode::Fail,
            err_code: Some(err_code),
            err_code_des: Some(des),
            ..Self::success(appid, mch_id, nonce_str)
        }
    }

    /// Replaces `err_code_des`.
    pub fn with_description(mut self, des: impl Into<String>) -> Self {
        self.err_code_des = Some(des.into());
        self
    }

    /// True for `result_code=SUCCESS`.
    pub fn is_success(&self) -> bool {
        self.result_code == ResultCode::Success
    }

    /// The header alone (a complete business error response), unsigned.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        self.write(&mut Put::top(&mut p));
        p
    }

    fn write(&self, put: &mut Put<'_>) {
        put.text("return_code", ReturnCode::Success.as_str());
        put.text("return_msg", return_msg::OK);
        put.text("appid", &self.appid);
        put.text("mch_id", &self.mch_id);
        put.text("nonce_str", &self.nonce_str);
        put.text("result_code", self.result_code.as_str());
        put.opt_text("err_code", self.err_code.as_ref().map(ErrCode::as_str));
        put.opt_text("err_code_des", self.err_code_des.as_deref());
    }

    /// Parses the header of a `return_code=SUCCESS` response (any `result_code`).
    pub fn from_params(p: &Params) -> Result<Self> {
        let at = At::top(p);
        if at.get("return_code") != Some(ReturnCode::Success.as_str()) {
            return Err(FieldError::invalid("return_code", "expected SUCCESS"));
        }
        Ok(Self {
            appid: at.text_or_empty("appid"),
            mch_id: at.text_or_empty("mch_id"),
            nonce_str: at.text_or_empty("nonce_str"),
            result_code: at.enumerated("result_code", ResultCode::from_wire)?,
            err_code: at.get("err_code").map(ErrCode::from_wire),
            err_code_des: at.opt_text("err_code_des"),
        })
    }

    /// Parses the header and requires `result_code=SUCCESS` (for the success bodies).
    fn from_params_success(p: &Params) -> Result<Self> {
        let h = Self::from_params(p)?;
        if h.is_success() {
            Ok(h)
        } else {
            Err(FieldError::invalid("result_code", "expected SUCCESS"))
        }
    }
}

/// Any response, classified by `return_code` / `result_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Envelope {
    /// `return_code=FAIL` (unsigned).
    ReturnFail(ReturnFail),
    /// `return_code=SUCCESS` (signed); check [`ResultHeader::is_success`] before parsing the
    /// body.
    Signed(ResultHeader),
}

impl Envelope {
    /// Classifies a response; `return_code` missing or unknown is an error, as in the
    /// official Java SDK (§2.2).
    pub fn from_params(p: &Params) -> Result<Self> {
        match At::top(p).enumerated("return_code", ReturnCode::from_wire)? {
            ReturnCode::Fail => ReturnFail::from_params(p).map(Self::ReturnFail),
            ReturnCode::Success => ResultHeader::from_params(p).map(Self::Signed),
        }
    }
}

/// A successful refund response (§3.2): the application was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundResponse {
    /// Common header, `result_code=SUCCESS`.
    pub header: ResultHeader,
    /// `transaction_id`.
    pub transaction_id: String,
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// `out_refund_no`.
    pub out_refund_no: String,
    /// `refund_id`.
    pub refund_id: String,
    /// `refund_channel`: real responses carry it empty (`None` is emitted empty).
    pub refund_channel: Option<RefundChannel>,
    /// `refund_fee`, fen.
    pub refund_fee: u64,
    /// `settlement_refund_fee` = refund_fee − non-recharge coupon refund.
    pub settlement_refund_fee: Option<u64>,
    /// `total_fee`, fen.
    pub total_fee: u64,
    /// `settlement_total_fee`.
    pub settlement_total_fee: Option<u64>,
    /// `fee_type`.
    pub fee_type: Option<String>,
    /// `cash_fee`, fen.
    pub cash_fee: u64,
    /// `cash_fee_type`.
    pub cash_fee_type: Option<String>,
    /// `cash_refund_fee`.
    pub cash_refund_fee: Option<u64>,
    /// `coupon_refund_fee` (always emitted; absent parses as 0).
    pub coupon_refund_fee: u64,
    /// `coupon_refund_count` + `coupon_type_$n`, `coupon_refund_id_$n`, `coupon_refund_fee_$n`.
    pub coupons: Vec<CouponRefund>,
}

impl RefundResponse {
    /// The response's parameters, unsigned, in the order real responses use.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        let mut put = Put::top(&mut p);
        self.header.write(&mut put);
        put.text("transaction_id", &self.transaction_id);
        put.text("out_trade_no", &self.out_trade_no);
        put.text("out_refund_no", &self.out_refund_no);
        put.text("refund_id", &self.refund_id);
        put.text(
            "refund_channel",
            self.refund_channel
                .map(RefundChannel::as_str)
                .unwrap_or_default(),
        );
        put.int("refund_fee", self.refund_fee);
        put.opt_int("settlement_refund_fee", self.settlement_refund_fee);
        put.int("coupon_refund_fee", self.coupon_refund_fee);
        put.int("total_fee", self.total_fee);
        put.opt_int("settlement_total_fee", self.settlement_total_fee);
        put.opt_text("fee_type", self.fee_type.as_deref());
        put.int("cash_fee", self.cash_fee);
        put.opt_text("cash_fee_type", self.cash_fee_type.as_deref());
        put_coupons(&mut put, &REFUND_COUPONS, &self.coupons);
        put.opt_int("cash_refund_fee", self.cash_refund_fee);
        p
    }

    /// Parses a `result_code=SUCCESS` refund response.
    pub fn from_params(p: &Params) -> Result<Self> {
        let header = ResultHeader::from_params_success(p)?;
        let at = At::top(p);
        Ok(Self {
            header,
            transaction_id: at.text("transaction_id")?,
            out_trade_no: at.text("out_trade_no")?,
            out_refund_no: at.text("out_refund_no")?,
            refund_id: at.text("refund_id")?,
            refund_channel: at.opt_enum("refund_channel", RefundChannel::from_wire)?,
            refund_fee: at.uint("refund_fee")?,
            settlement_refund_fee: at.opt_uint("settlement_refund_fee")?,
            total_fee: at.uint("total_fee")?,
            settlement_total_fee: at.opt_uint("settlement_total_fee")?,
            fee_type: at.opt_text("fee_type"),
            cash_fee: at.uint("cash_fee")?,
            cash_fee_type: at.opt_text("cash_fee_type"),
            cash_refund_fee: at.opt_uint("cash_refund_fee")?,
            coupon_refund_fee: at.opt_uint("coupon_refund_fee")?.unwrap_or(0),
            coupons: get_coupons(at, &REFUND_COUPONS)?,
        })
    }
}

/// One refund of a refund query response: the `$n` fields (§4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    /// `out_refund_no_$n`.
    pub out_refund_no: String,
    /// `refund_id_$n`.
    pub refund_id: String,
    /// `refund_channel_$n` (`None` is emitted empty).
    pub refund_channel: Option<RefundChannel>,
    /// `refund_fee_$n`, fen.
    pub refund_fee: u64,
    /// `settlement_refund_fee_$n`.
    pub settlement_refund_fee: Option<u64>,
    /// `coupon_refund_fee_$n` (always emitted; absent parses as 0).
    pub coupon_refund_fee: u64,
    /// `coupon_refund_count_$n` + `coupon_type_$n_$m`, `coupon_refund_id_$n_$m`,
    /// `coupon_refund_fee_$n_$m`.
    pub coupons: Vec<CouponRefund>,
    /// `refund_status_$n`.
    pub refund_status: RefundStatus,
    /// `refund_account_$n`.
    pub refund_account: Option<RefundAccount>,
    /// `refund_recv_accout_$n` (sic), e.g. `支付用户零钱`.
    pub refund_recv_accout: Option<String>,
    /// `refund_success_time_$n`, `yyyy-MM-dd HH:mm:ss` Beijing time, only when SUCCESS.
    pub refund_success_time: Option<String>,
}

impl RefundRecord {
    fn write(&self, put: &mut Put<'_>) {
        put.text("out_refund_no_$n", &self.out_refund_no);
        put.text("refund_id_$n", &self.refund_id);
        put.text(
            "refund_channel_$n",
            self.refund_channel
                .map(RefundChannel::as_str)
                .unwrap_or_default(),
        );
        put.int("refund_fee_$n", self.refund_fee);
        put.opt_int("settlement_refund_fee_$n", self.settlement_refund_fee);
        put.int("coupon_refund_fee_$n", self.coupon_refund_fee);
        put_coupons(put, &RECORD_COUPONS, &self.coupons);
        put.text("refund_status_$n", self.refund_status.as_str());
        put.opt_text(
            "refund_account_$n",
            self.refund_account.map(RefundAccount::as_str),
        );
        put.opt_text("refund_recv_accout_$n", self.refund_recv_accout.as_deref());
        put.opt_text(
            "refund_success_time_$n",
            self.refund_success_time.as_deref(),
        );
    }

    fn read(at: At<'_>) -> Result<Self> {
        Ok(Self {
            out_refund_no: at.text("out_refund_no_$n")?,
            refund_id: at.text("refund_id_$n")?,
            refund_channel: at.opt_enum("refund_channel_$n", RefundChannel::from_wire)?,
            refund_fee: at.uint("refund_fee_$n")?,
            settlement_refund_fee: at.opt_uint("settlement_refund_fee_$n")?,
            coupon_refund_fee: at.opt_uint("coupon_refund_fee_$n")?.unwrap_or(0),
            coupons: get_coupons(at, &RECORD_COUPONS)?,
            refund_status: at.enumerated("refund_status_$n", RefundStatus::from_wire)?,
            refund_account: at.opt_enum("refund_account_$n", RefundAccount::from_wire)?,
            refund_recv_accout: at.opt_text("refund_recv_accout_$n"),
            refund_success_time: at.opt_text("refund_success_time_$n"),
        })
    }
}

/// A successful refund query response (§4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundQueryResponse {
    /// Common header, `result_code=SUCCESS`.
    pub header: ResultHeader,
    /// `transaction_id`.
    pub transaction_id: String,
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// `total_fee`, fen.
    pub total_fee: u64,
    /// `settlement_total_fee`.
    pub settlement_total_fee: Option<u64>,
    /// `fee_type`.
    pub fee_type: Option<String>,
    /// `cash_fee`, fen.
    pub cash_fee: u64,
    /// `total_refund_count`: present when paging applies (query by order).
    pub total_refund_count: Option<u32>,
    /// The records of this page: `refund_count` and the `$n` fields.
    pub refunds: Vec<RefundRecord>,
}

impl RefundQueryResponse {
    /// The response's parameters, unsigned.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        let mut put = Put::top(&mut p);
        self.header.write(&mut put);
        put.opt_int("total_refund_count", self.total_refund_count);
        put.text("transaction_id", &self.transaction_id);
        put.text("out_trade_no", &self.out_trade_no);
        put.int("total_fee", self.total_fee);
        put.opt_int("settlement_total_fee", self.settlement_total_fee);
        put.opt_text("fee_type", self.fee_type.as_deref());
        put.int("cash_fee", self.cash_fee);
        put.int("refund_count", self.refunds.len());
        for (n, r) in self.refunds.iter().enumerate() {
            r.write(&mut put.at(&[n]));
        }
        p
    }

    /// Parses a `result_code=SUCCESS` refund query response, driven by `refund_count`
    /// (required; at most [`MAX_INDEXED_COUNT`]).
    pub fn from_params(p: &Params) -> Result<Self> {
        let header = ResultHeader::from_params_success(p)?;
        let at = At::top(p);
        if at.get("refund_count").is_none() {
            return Err(FieldError::missing("refund_count"));
        }
        let count = at.count("refund_count")?;
        let mut refunds = Vec::new();
        for n in 0..count {
            refunds.push(RefundRecord::read(At {
                params: p,
                path: &[n],
            })?);
        }
        Ok(Self {
            header,
            transaction_id: at.text("transaction_id")?,
            out_trade_no: at.text("out_trade_no")?,
            total_fee: at.uint("total_fee")?,
            settlement_total_fee: at.opt_uint("settlement_total_fee")?,
            fee_type: at.opt_text("fee_type"),
            cash_fee: at.uint("cash_fee")?,
            total_refund_count: at
                .opt_uint("total_refund_count")?
                .map(|n| {
                    u32::try_from(n)
                        .map_err(|_| FieldError::invalid("total_refund_count", "too large"))
                })
                .transpose()?,
            refunds,
        })
    }
}

/// The payment fields of an order query, present once the order was paid (§6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentInfo {
    /// `transaction_id`.
    pub transaction_id: String,
    /// `device_info`.
    pub device_info: Option<String>,
    /// `openid`.
    pub openid: String,
    /// `is_subscribe`: `Y` / `N`.
    pub is_subscribe: Option<String>,
    /// `trade_type`: `JSAPI`, `NATIVE`, `APP`, `MICROPAY`...
    pub trade_type: String,
    /// `bank_type`, e.g. `CMC`, `CFT`.
    pub bank_type: String,
    /// `total_fee`, fen.
    pub total_fee: u64,
    /// `settlement_total_fee`.
    pub settlement_total_fee: Option<u64>,
    /// `fee_type`.
    pub fee_type: Option<String>,
    /// `cash_fee`, fen.
    pub cash_fee: u64,
    /// `cash_fee_type`.
    pub cash_fee_type: Option<String>,
    /// `coupon_fee`: total paid with coupons.
    pub coupon_fee: Option<u64>,
    /// `coupon_count` + `coupon_type_$n`, `coupon_id_$n`, `coupon_fee_$n`; the counter is
    /// emitted only when there are coupons.
    pub coupons: Vec<OrderCoupon>,
    /// `time_end`: `yyyyMMddHHmmss`, Beijing time.
    pub time_end: String,
}

/// A successful order query response (§6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderQueryResponse {
    /// Common header, `result_code=SUCCESS`.
    pub header: ResultHeader,
    /// `trade_state`.
    pub trade_state: TradeState,
    /// `trade_state_desc` (see [`TradeState::description`] for defaults).
    pub trade_state_desc: String,
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// `attach`, echoed from the unified order.
    pub attach: Option<String>,
    /// Payment fields; `None` for orders never paid (the doc: only `out_trade_no`, `attach`
    /// and the state are returned then). Parsed as present when `transaction_id` is.
    pub payment: Option<PaymentInfo>,
}

impl OrderQueryResponse {
    /// The response's parameters, unsigned.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        let mut put = Put::top(&mut p);
        self.header.write(&mut put);
        if let Some(pay) = &self.payment {
            put.opt_text("device_info", pay.device_info.as_deref());
            put.text("openid", &pay.openid);
            put.opt_text("is_subscribe", pay.is_subscribe.as_deref());
            put.text("trade_type", &pay.trade_type);
            put.text("trade_state", self.trade_state.as_str());
            put.text("bank_type", &pay.bank_type);
            put.int("total_fee", pay.total_fee);
            put.opt_int("settlement_total_fee", pay.settlement_total_fee);
            put.opt_text("fee_type", pay.fee_type.as_deref());
            put.int("cash_fee", pay.cash_fee);
            put.opt_text("cash_fee_type", pay.cash_fee_type.as_deref());
            put.opt_int("coupon_fee", pay.coupon_fee);
            if !pay.coupons.is_empty() {
                put_coupons(&mut put, &ORDER_COUPONS, &pay.coupons);
            }
            put.text("transaction_id", &pay.transaction_id);
            put.text("out_trade_no", &self.out_trade_no);
            put.opt_text("attach", self.attach.as_deref());
            put.text("time_end", &pay.time_end);
        } else {
            put.text("out_trade_no", &self.out_trade_no);
            put.opt_text("attach", self.attach.as_deref());
            put.text("trade_state", self.trade_state.as_str());
        }
        put.text("trade_state_desc", &self.trade_state_desc);
        p
    }

    /// Parses a `result_code=SUCCESS` order query response.
    pub fn from_params(p: &Params) -> Result<Self> {
        let header = ResultHeader::from_params_success(p)?;
        let at = At::top(p);
        let payment = match at.get("transaction_id") {
            None => None,
            Some(transaction_id) => Some(PaymentInfo {
                transaction_id: transaction_id.to_owned(),
                device_info: at.opt_text("device_info"),
                openid: at.text("openid")?,
                is_subscribe: at.opt_text("is_subscribe"),
                trade_type: at.text("trade_type")?,
                bank_type: at.text("bank_type")?,
                total_fee: at.uint("total_fee")?,
                settlement_total_fee: at.opt_uint("settlement_total_fee")?,
                fee_type: at.opt_text("fee_type"),
                cash_fee: at.uint("cash_fee")?,
                cash_fee_type: at.opt_text("cash_fee_type"),
                coupon_fee: at.opt_uint("coupon_fee")?,
                coupons: get_coupons(at, &ORDER_COUPONS)?,
                time_end: at.text("time_end")?,
            }),
        };
        Ok(Self {
            header,
            trade_state: at.enumerated("trade_state", TradeState::from_wire)?,
            trade_state_desc: at.text_or_empty("trade_state_desc"),
            out_trade_no: at.text("out_trade_no")?,
            attach: at.opt_text("attach"),
            payment,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names() {
        assert_eq!(wire_name("appid", &[]), "appid");
        assert_eq!(wire_name("refund_fee_$n", &[3]), "refund_fee_3");
        assert_eq!(
            wire_name("coupon_refund_id_$n_$m", &[1, 0]),
            "coupon_refund_id_1_0"
        );
    }

    #[test]
    fn business_error_one_liner() {
        let p = ResultHeader::fail("wx1", "100", "nonce", ErrCode::NotEnough).to_params();
        assert_eq!(p.get("return_code"), Some("SUCCESS"));
        assert_eq!(p.get("return_msg"), Some("OK"));
        assert_eq!(p.get("result_code"), Some("FAIL"));
        assert_eq!(p.get("err_code"), Some("NOTENOUGH"));
        assert_eq!(
            p.get("err_code_des"),
            Some("基本账户余额不足,请充值后重新发起")
        );
        let h = ResultHeader::from_params(&p);
        assert_eq!(h.as_ref().map(ResultHeader::is_success), Ok(false));
        assert_eq!(
            RefundResponse::from_params(&p).err(),
            Some(FieldError::invalid("result_code", "expected SUCCESS"))
        );
    }

    #[test]
    fn return_fail_round_trip_and_sandbox_retmsg() {
        let p = return_fail(return_msg::SIGN_ERROR);
        assert_eq!(
            Envelope::from_params(&p),
            Ok(Envelope::ReturnFail(ReturnFail {
                return_msg: return_msg::SIGN_ERROR.into()
            }))
        );
        let sandbox: Params = [("return_code", "FAIL"), ("retmsg", "x"), ("retcode", "1")]
            .into_iter()
            .collect();
        assert_eq!(
            ReturnFail::from_params(&sandbox).map(|f| f.return_msg),
            Ok("x".into())
        );
        assert!(Envelope::from_params(&Params::new()).is_err());
    }
}
