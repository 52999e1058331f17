//! `POST /pay/orderquery` (§6.2): the request and the successful response, with the payment
//! fields of a paid order.

use super::common::{
    At, OrderId, Put, Result, ResultHeader, order_id, read_common, validate_common,
    validate_order_ids, write_common,
};
use super::coupons::{ORDER_COUPONS, OrderCoupon, get_coupons, put_coupons};
use crate::wechat::codes::TradeState;
use crate::wechat::params::Params;
use crate::wechat::sign::SignType;

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
