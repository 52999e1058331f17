//! `POST /pay/refundquery` (§4): the request, one refund record, the successful response.

use super::common::{
    At, Put, Result, ResultHeader, read_common, validate_common, validate_opt, write_common,
};
use super::coupons::{CouponRefund, RECORD_COUPONS, get_coupons, put_coupons};
use crate::wechat::codes::{RefundAccount, RefundChannel, RefundStatus};
use crate::wechat::fields::{self, FieldError};
use crate::wechat::params::Params;
use crate::wechat::sign::SignType;

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
    /// `out_trade_no` (§4.1). With none, `Missing` on `out_trade_no` (see [`OrderId`](super::OrderId)'s rule).
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
    /// Top-level `refund_fee`: the sum of every refund of the order, in fen (退款总金额 in
    /// the older field table; production answers to a query by order carry it).
    pub refund_fee: Option<u64>,
    /// Top-level `coupon_refund_fee`: the coupon part of every refund of the order, in fen.
    pub coupon_refund_fee: Option<u64>,
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
        put.opt_int("refund_fee", self.refund_fee);
        put.opt_int("coupon_refund_fee", self.coupon_refund_fee);
        for (n, r) in self.refunds.iter().enumerate() {
            r.write(&mut put.at(&[n]));
        }
        p
    }

    /// Parses a `result_code=SUCCESS` refund query response, driven by `refund_count`
    /// (required; at most [`MAX_INDEXED_COUNT`](super::MAX_INDEXED_COUNT)).
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
            refund_fee: at.opt_uint("refund_fee")?,
            coupon_refund_fee: at.opt_uint("coupon_refund_fee")?,
            refunds,
        })
    }
}
