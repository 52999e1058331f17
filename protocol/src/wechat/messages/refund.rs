//! `POST /secapi/pay/refund` (§3): the request and the successful response.

use super::common::{
    At, OrderId, Put, Result, ResultHeader, check_positive_fee, order_id, read_common,
    validate_common, validate_opt, validate_order_ids, write_common,
};
use super::coupons::{CouponRefund, REFUND_COUPONS, get_coupons, put_coupons};
use crate::wechat::codes::{RefundAccount, RefundChannel};
use crate::wechat::fields::{self};
use crate::wechat::params::Params;
use crate::wechat::sign::SignType;

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
    /// answers that with a protocol-level FAIL ([`INVALID_REFUND_FEE`](crate::wechat::codes::return_msg::INVALID_REFUND_FEE)).
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
