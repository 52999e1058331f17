//! The payment side (§6): unified order (and its repeats), close order, and the simulated
//! buyer paying an unpaid order (admin API).

use serde::Deserialize;

use super::admin::AdminError;
use super::model::{
    DEFAULT_OPENID, Order, OrderDetails, OrderRef, PREPAY_VALIDITY, PaymentState, Prepay,
};
use super::seed::{SeedCoupon, new_transaction_id, paid_coupons};
use super::store::WechatLedger;
use crate::clock::Timestamp;
use crate::ids::IdGenerator;

/// A unified order that passed authentication and field validation.
#[derive(Debug, Clone)]
pub struct UnifiedOrderCommand {
    /// Merchant.
    pub mch_id: String,
    /// Appid of the request.
    pub appid: String,
    /// Merchant order number.
    pub out_trade_no: String,
    /// Amount in fen.
    pub total_fee: u64,
    /// Currency.
    pub fee_type: String,
    /// Goods description.
    pub body: String,
    /// Merchant data.
    pub attach: Option<String>,
    /// JSAPI, NATIVE, APP or MWEB.
    pub trade_type: String,
    /// Payer (JSAPI).
    pub openid: Option<String>,
    /// Product (NATIVE).
    pub product_id: Option<String>,
    /// Notification URL.
    pub notify_url: String,
    /// Payer IP.
    pub spbill_create_ip: String,
    /// Terminal.
    pub device_info: Option<String>,
    /// `time_start` as sent.
    pub time_start: Option<String>,
    /// `time_expire`, parsed.
    pub time_expire: Option<Timestamp>,
    /// The request's sign type.
    pub sign_type: String,
}

/// Why a unified order was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnifiedOrderError {
    /// The out_trade_no names a paid order (ORDERPAID).
    #[error("order already paid")]
    OrderPaid,
    /// The out_trade_no names a closed order (ORDERCLOSED).
    #[error("order closed")]
    OrderClosed,
    /// The out_trade_no names an unpaid order made with other parameters (OUT_TRADE_NO_USED).
    #[error("out_trade_no used with other parameters")]
    OutTradeNoUsed,
}

/// Why a close order was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseOrderError {
    /// No such order for this merchant (ORDERNOTEXIST).
    #[error("order not found")]
    OrderNotExist,
    /// Paid (ORDERPAID).
    #[error("order already paid")]
    OrderPaid,
    /// Already closed (ORDERCLOSED).
    #[error("order already closed")]
    OrderClosed,
}

/// What the simulated buyer pays with (admin API).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BuyerPayment {
    /// The payer; defaults to the order's openid, else the demo payer.
    pub openid: Option<String>,
    /// Paying bank; default CFT (balance).
    pub bank_type: Option<String>,
    /// Coupons used (ids generated when absent).
    pub coupons: Vec<SeedCoupon>,
}

impl WechatLedger {
    /// `/pay/unifiedorder` (§6.1). An out_trade_no already used: paid -> ORDERPAID, closed
    /// -> ORDERCLOSED; unpaid with the same appid, body, attach, amount, currency, trade
    /// type, openid and product_id -> the same order again, with the same prepay_id while it
    /// is valid (two hours) and a new one after; anything else -> OUT_TRADE_NO_USED.
    /// notify_url, spbill_create_ip and the times are not compared (they legitimately vary
    /// between attempts; deviation: `wx-unifiedorder-repeat`). A new order is NOTPAY, without
    /// a transaction_id until paid.
    pub fn unified_order(
        &mut self,
        cmd: UnifiedOrderCommand,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<Order, UnifiedOrderError> {
        let existing = self
            .merchants
            .get(&cmd.mch_id)
            .and_then(|m| m.orders_by_out_trade_no.get(cmd.out_trade_no.as_str()))
            .copied();
        if let Some(index) = existing {
            let order = self
                .orders
                .get(index)
                .ok_or(UnifiedOrderError::OutTradeNoUsed)?;
            match order.payment_state {
                PaymentState::Success => return Err(UnifiedOrderError::OrderPaid),
                PaymentState::Closed | PaymentState::Revoked => {
                    return Err(UnifiedOrderError::OrderClosed);
                }
                PaymentState::Notpay | PaymentState::Userpaying | PaymentState::Payerror => {}
            }
            let d = &order.details;
            let same = order.total_fee == cmd.total_fee
                && d.appid == cmd.appid
                && d.body == cmd.body
                && d.attach == cmd.attach.clone().unwrap_or_default()
                && d.fee_type == cmd.fee_type
                && d.trade_type == cmd.trade_type
                && cmd.openid.as_ref().is_none_or(|o| *o == d.openid)
                && order.prepay.as_ref().and_then(|p| p.product_id.as_ref())
                    == cmd.product_id.as_ref();
            if !same {
                return Err(UnifiedOrderError::OutTradeNoUsed);
            }
            let fresh = order
                .prepay
                .as_ref()
                .is_some_and(|p| now.since(p.prepay_issued_at) < PREPAY_VALIDITY);
            if !fresh {
                let prepay = new_prepay(&cmd, now, ids, order.prepay.as_deref());
                if let Some(order) = self.orders.get_mut(index) {
                    order.prepay = Some(Box::new(prepay));
                    self.changed_orders.mark(index);
                }
            }
            return self
                .orders
                .get(index)
                .cloned()
                .ok_or(UnifiedOrderError::OutTradeNoUsed);
        }
        let Some(merchant) = self.merchants.get(&cmd.mch_id) else {
            return Err(UnifiedOrderError::OutTradeNoUsed);
        };
        let mch_id = merchant.shared_id.clone();
        let prepay = new_prepay(&cmd, now, ids, None);
        let details = self.intern(OrderDetails {
            appid: cmd.appid,
            fee_type: cmd.fee_type,
            trade_type: cmd.trade_type,
            openid: cmd.openid.unwrap_or_default(),
            bank_type: String::new(),
            body: cmd.body,
            attach: cmd.attach.unwrap_or_default(),
            refund_recv_account: "支付用户零钱".to_owned(),
        });
        let order = Order {
            mch_id,
            // Assigned when paid; an unpaid order cannot be found by transaction_id.
            transaction_id: Box::from(""),
            out_trade_no: cmd.out_trade_no.into(),
            total_fee: cmd.total_fee,
            coupons: Vec::new(),
            payment_state: PaymentState::Notpay,
            payer_account_abnormal: false,
            not_ready: false,
            refund_outcome: None,
            paid_at: None,
            details,
            prepay: Some(Box::new(prepay)),
        };
        self.insert_order(order.clone());
        Ok(order)
    }

    /// `/pay/closeorder` (§6.3): an unpaid order becomes CLOSED; paid -> ORDERPAID, closed ->
    /// ORDERCLOSED. The older "at least 5 minutes after creation" rule is not applied
    /// (deviation: `wx-closeorder-5-minutes`).
    pub fn close_order(
        &mut self,
        mch_id: &str,
        out_trade_no: &str,
        now: Timestamp,
    ) -> Result<Order, CloseOrderError> {
        let index = self
            .find_order(mch_id, &OrderRef::OutTradeNo(out_trade_no.to_owned()))
            .ok_or(CloseOrderError::OrderNotExist)?;
        self.changed_orders.mark(index);
        let order = self
            .orders
            .get_mut(index)
            .ok_or(CloseOrderError::OrderNotExist)?;
        match order.payment_state {
            PaymentState::Success => return Err(CloseOrderError::OrderPaid),
            PaymentState::Closed | PaymentState::Revoked => {
                return Err(CloseOrderError::OrderClosed);
            }
            PaymentState::Notpay | PaymentState::Userpaying | PaymentState::Payerror => {}
        }
        order.payment_state = PaymentState::Closed;
        if let Some(prepay) = order.prepay.as_mut() {
            prepay.closed_at = Some(now);
        }
        Ok(order.clone())
    }

    /// The index of the order `out_trade_no` of `mch_id`, or of the only merchant that has
    /// one when `mch_id` is not given.
    fn admin_order_index(
        &self,
        mch_id: Option<&str>,
        out_trade_no: &str,
    ) -> Result<usize, AdminError> {
        let unknown = || AdminError::UnknownOrder(out_trade_no.to_owned());
        if let Some(mch_id) = mch_id {
            let merchant = self
                .merchants
                .get(mch_id)
                .ok_or_else(|| AdminError::UnknownMerchant(mch_id.to_owned()))?;
            return merchant
                .orders_by_out_trade_no
                .get(out_trade_no)
                .copied()
                .ok_or_else(unknown);
        }
        let mut found = self
            .merchants
            .values()
            .filter_map(|m| m.orders_by_out_trade_no.get(out_trade_no).copied());
        match (found.next(), found.next()) {
            (Some(index), None) => Ok(index),
            (None, _) => Err(unknown()),
            (Some(_), Some(_)) => Err(AdminError::Conflict(format!(
                "several merchants have an order {out_trade_no}: give mch_id"
            ))),
        }
    }

    /// The simulated buyer pays an unpaid order (admin API): NOTPAY -> SUCCESS with a new
    /// transaction_id, `time_end` = now, the payer and bank given (or defaults), and the
    /// settlement amount credited to the merchant's refundable balance. Refused for paid or
    /// closed orders, after `time_expire`, and when the prepay_id is older than two hours
    /// (the buyer's client could no longer pay with it; unified-order again first).
    pub fn pay_order(
        &mut self,
        mch_id: Option<&str>,
        out_trade_no: &str,
        payment: BuyerPayment,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<Order, AdminError> {
        self.settle_due(now);
        let index = self.admin_order_index(mch_id, out_trade_no)?;
        let order = self
            .orders
            .get(index)
            .ok_or_else(|| AdminError::UnknownOrder(out_trade_no.to_owned()))?;
        if !matches!(
            order.payment_state,
            PaymentState::Notpay | PaymentState::Userpaying | PaymentState::Payerror
        ) {
            return Err(AdminError::Conflict(format!(
                "order {out_trade_no} is {}, not NOTPAY",
                order.payment_state.as_str()
            )));
        }
        if let Some(prepay) = &order.prepay {
            // deviation: wx-order-expired (the order stays NOTPAY; paying it is refused)
            if let Some(expire) = prepay.time_expire
                && now >= expire
            {
                return Err(AdminError::Conflict(format!(
                    "order {out_trade_no} expired at {} (time_expire)",
                    expire.beijing_datetime()
                )));
            }
            if now.since(prepay.prepay_issued_at) >= PREPAY_VALIDITY {
                return Err(AdminError::Conflict(format!(
                    "prepay_id {} is older than two hours: call /pay/unifiedorder again with the same parameters",
                    prepay.prepay_id
                )));
            }
        }
        let coupons = paid_coupons(payment.coupons, order.total_fee, ids)?;
        let openid = payment
            .openid
            .or_else(|| Some(order.details.openid.clone()).filter(|o| !o.is_empty()))
            .unwrap_or_else(|| DEFAULT_OPENID.to_owned());
        let details = OrderDetails {
            openid,
            bank_type: payment.bank_type.unwrap_or_else(|| "CFT".to_owned()),
            ..(*order.details).clone()
        };
        let transaction_id: Box<str> = if order.transaction_id.is_empty() {
            new_transaction_id(&self.orders_by_transaction_id, ids, now).into()
        } else {
            order.transaction_id.clone()
        };
        let details = self.intern(details);
        self.orders_by_transaction_id
            .insert(transaction_id.clone(), index);
        self.changed_orders.mark(index);
        let order = self
            .orders
            .get_mut(index)
            .ok_or_else(|| AdminError::UnknownOrder(out_trade_no.to_owned()))?;
        order.transaction_id = transaction_id;
        order.coupons = coupons;
        order.payment_state = PaymentState::Success;
        order.paid_at = Some(now);
        order.details = details;
        let order = order.clone();
        // deviation: wx-admin-payment-balance
        if let Some(merchant) = self.merchants.get_mut(&*order.mch_id) {
            merchant.refundable_balance = merchant
                .refundable_balance
                .saturating_add(order.settlement_total_fee());
        }
        Ok(order)
    }
}

/// A new prepay_id (and code_url / mweb_url for NATIVE / MWEB) for a unified order, keeping
/// what an earlier one recorded about the order's creation.
fn new_prepay(
    cmd: &UnifiedOrderCommand,
    now: Timestamp,
    ids: &mut IdGenerator,
    earlier: Option<&Prepay>,
) -> Prepay {
    let prepay_id = ids.wechat_prepay_id(now);
    let code_url = (cmd.trade_type == "NATIVE").then(|| ids.wechat_code_url());
    let mweb_url = (cmd.trade_type == "MWEB").then(|| ids.wechat_mweb_url(&prepay_id));
    match earlier {
        Some(earlier) => Prepay {
            prepay_id,
            prepay_issued_at: now,
            code_url,
            mweb_url,
            ..earlier.clone()
        },
        None => Prepay {
            prepay_id,
            prepay_issued_at: now,
            created_at: now,
            notify_url: cmd.notify_url.clone(),
            spbill_create_ip: cmd.spbill_create_ip.clone(),
            device_info: cmd.device_info.clone(),
            product_id: cmd.product_id.clone(),
            time_start: cmd.time_start.clone(),
            time_expire: cmd.time_expire,
            code_url,
            mweb_url,
            sign_type: cmd.sign_type.clone(),
            closed_at: None,
        },
    }
}
