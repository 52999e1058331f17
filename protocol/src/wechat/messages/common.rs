//! What every message shares: the indexed-name helper and the field readers and writers
//! ([`At`], [`Put`]), the common request fields, which order a request names ([`OrderId`]),
//! and the answers every endpoint can give ([`ReturnFail`], [`ResultHeader`], [`Envelope`]).

use std::fmt::Write as _;

use crate::wechat::codes::{ErrCode, ResultCode, ReturnCode, return_msg};
use crate::wechat::fields::{self, FieldError};
use crate::wechat::params::Params;
use crate::wechat::sign::SignType;

/// Upper bound accepted for `refund_count`, `coupon_refund_count*` and `coupon_count` when
/// parsing. Real values are at most 50 refunds per order and 10 per page.
pub const MAX_INDEXED_COUNT: usize = 1000;

pub(super) type Result<T> = std::result::Result<T, FieldError>;

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
pub(in crate::wechat) struct At<'a> {
    pub(super) params: &'a Params,
    pub(super) path: &'a [usize],
}

impl<'a> At<'a> {
    pub(in crate::wechat) fn top(params: &'a Params) -> Self {
        Self { params, path: &[] }
    }

    pub(super) fn get(&self, pattern: &str) -> Option<&'a str> {
        if self.path.is_empty() {
            self.params.non_empty(pattern)
        } else {
            self.params.non_empty(&wire_name(pattern, self.path))
        }
    }

    pub(in crate::wechat) fn text(&self, pattern: &'static str) -> Result<String> {
        self.get(pattern)
            .map(str::to_owned)
            .ok_or(FieldError::missing(pattern))
    }

    pub(in crate::wechat) fn opt_text(&self, pattern: &str) -> Option<String> {
        self.get(pattern).map(str::to_owned)
    }

    /// Lenient: absent becomes empty (fields the platform has been seen to omit or empty).
    pub(super) fn text_or_empty(&self, pattern: &str) -> String {
        self.get(pattern).unwrap_or_default().to_owned()
    }

    pub(in crate::wechat) fn uint(&self, pattern: &'static str) -> Result<u64> {
        fields::parse_uint(pattern, self.get(pattern).unwrap_or_default())
    }

    pub(in crate::wechat) fn opt_uint(&self, pattern: &'static str) -> Result<Option<u64>> {
        self.get(pattern)
            .map(|v| fields::parse_uint(pattern, v))
            .transpose()
    }

    /// A counter driving an indexed family: absent is 0, above [`MAX_INDEXED_COUNT`] refused.
    pub(super) fn count(&self, pattern: &'static str) -> Result<usize> {
        let n = self.opt_uint(pattern)?.unwrap_or(0);
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_INDEXED_COUNT)
            .ok_or(FieldError::invalid(pattern, "count too large"))
    }

    pub(in crate::wechat) fn opt_enum<T>(
        &self,
        pattern: &'static str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<Option<T>> {
        self.get(pattern)
            .map(|v| parse(v).ok_or(FieldError::invalid(pattern, "unknown value")))
            .transpose()
    }

    pub(in crate::wechat) fn enumerated<T>(
        &self,
        pattern: &'static str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<T> {
        self.opt_enum(pattern, parse)?
            .ok_or(FieldError::missing(pattern))
    }
}

/// Writes fields into `params` at an index path.
pub(in crate::wechat) struct Put<'a> {
    pub(super) params: &'a mut Params,
    pub(super) path: &'a [usize],
}

impl<'a> Put<'a> {
    pub(in crate::wechat) fn top(params: &'a mut Params) -> Self {
        Self { params, path: &[] }
    }

    pub(super) fn at<'b>(&'b mut self, path: &'b [usize]) -> Put<'b> {
        Put {
            params: self.params,
            path,
        }
    }

    pub(in crate::wechat) fn text(&mut self, pattern: &str, value: &str) {
        self.params
            .insert_text(wire_name(pattern, self.path), value);
    }

    /// Skips `None` and empty values: an empty optional field is the same as an absent one.
    pub(in crate::wechat) fn opt_text(&mut self, pattern: &str, value: Option<&str>) {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.text(pattern, v);
        }
    }

    pub(in crate::wechat) fn int(&mut self, pattern: &str, value: impl std::fmt::Display) {
        self.params.insert_int(wire_name(pattern, self.path), value);
    }

    pub(in crate::wechat) fn opt_int(
        &mut self,
        pattern: &str,
        value: Option<impl std::fmt::Display>,
    ) {
        if let Some(v) = value {
            self.int(pattern, v);
        }
    }
}

/// The `sign_type` of a request, if given: `None` when absent or empty, an error when unknown.
pub(super) fn read_sign_type(at: At<'_>) -> Result<Option<SignType>> {
    at.opt_enum("sign_type", SignType::from_wire)
        .map_err(|_| FieldError::invalid("sign_type", "must be MD5 or HMAC-SHA256"))
}

/// Fields every request carries.
pub(super) fn read_common(at: At<'_>) -> Result<(String, String, String, Option<SignType>)> {
    Ok((
        at.text("appid")?,
        at.text("mch_id")?,
        at.text("nonce_str")?,
        read_sign_type(at)?,
    ))
}

pub(super) fn write_common(
    put: &mut Put<'_>,
    appid: &str,
    mch_id: &str,
    nonce: &str,
    st: Option<SignType>,
) {
    put.text("appid", appid);
    put.text("mch_id", mch_id);
    put.text("nonce_str", nonce);
    put.opt_text("sign_type", st.map(SignType::as_str));
}

pub(super) fn validate_common(appid: &str, mch_id: &str, nonce_str: &str) -> Result<()> {
    fields::appid(appid)?;
    fields::mch_id(mch_id)?;
    fields::nonce_str(nonce_str)
}

pub(super) fn validate_opt(v: &Option<String>, check: fn(&str) -> Result<()>) -> Result<()> {
    match v.as_deref() {
        Some(s) if !s.is_empty() => check(s),
        _ => Ok(()),
    }
}

pub(super) fn check_positive_fee(field: &'static str, n: u64) -> Result<()> {
    if n == 0 {
        Err(FieldError::invalid(field, "must be greater than 0"))
    } else if i64::try_from(n).is_err() {
        Err(FieldError::invalid(field, "too large"))
    } else {
        Ok(())
    }
}

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
pub(super) fn order_id(
    transaction_id: &Option<String>,
    out_trade_no: &Option<String>,
) -> Result<OrderId> {
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    nonempty(transaction_id)
        .map(OrderId::TransactionId)
        .or_else(|| nonempty(out_trade_no).map(OrderId::OutTradeNo))
        .ok_or(FieldError::missing("out_trade_no"))
}

/// Validates whichever order ids are present (both, when both are given: a malformed one is
/// refused even if the other would win), and that at least one is.
pub(super) fn validate_order_ids(
    transaction_id: &Option<String>,
    out_trade_no: &Option<String>,
) -> Result<()> {
    validate_opt(transaction_id, fields::transaction_id)?;
    validate_opt(out_trade_no, fields::out_trade_no)?;
    order_id(transaction_id, out_trade_no).map(drop)
}

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

    pub(super) fn write(&self, put: &mut Put<'_>) {
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
    pub(super) fn from_params_success(p: &Params) -> Result<Self> {
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
