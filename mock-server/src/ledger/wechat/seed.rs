//! Seeding orders in any state and age (admin API, bulk seeding, demo data).

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use super::admin::AdminError;
use super::model::{
    Coupon, CouponKind, DEFAULT_OPENID, Order, OrderDetails, PaymentState, RefundStatus,
};
use super::store::WechatLedger;
use crate::clock::Timestamp;
use crate::ids::IdGenerator;

/// Currency of orders that name none.
pub(super) const DEFAULT_FEE_TYPE: &str = "CNY";
/// Trade type of seeded orders that name none.
pub(super) const DEFAULT_TRADE_TYPE: &str = "JSAPI";
/// Paying bank of seeded orders that name none: the balance.
pub(super) const DEFAULT_BANK_TYPE: &str = "CFT";
/// Goods description of seeded orders that name none.
pub(super) const DEFAULT_BODY: &str = "paysandbox demo goods";
/// Where refunds go back to when the order says nothing else: the payer's balance.
// deviation: wx-refund-recv-accout
pub(super) const DEFAULT_RECV_ACCOUNT: &str = "支付用户零钱";
/// How long before now a seeded paid order was paid when the seed does not say.
pub(super) const DEFAULT_PAID_AGO: Duration = Duration::from_secs(60);

/// An order to seed through the admin API.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct SeedOrder {
    /// Owning merchant.
    pub mch_id: String,
    /// Appid; defaults to the merchant's first.
    pub appid: Option<String>,
    /// Merchant order id; generated when absent.
    pub out_trade_no: Option<String>,
    /// WeChat order id; generated when absent.
    pub transaction_id: Option<String>,
    /// Amount in fen.
    pub total_fee: u64,
    /// Coupons (ids generated when empty).
    pub coupons: Vec<SeedCoupon>,
    /// Payment state (default SUCCESS).
    pub state: PaymentState,
    /// Paid this many seconds before now (default 60).
    pub paid_seconds_ago: Option<u64>,
    /// Trade type (default JSAPI).
    pub trade_type: Option<String>,
    /// Bank type (default CFT: balance).
    pub bank_type: Option<String>,
    /// Goods description.
    pub body: Option<String>,
    /// Merchant data.
    pub attach: Option<String>,
    /// Receiving account text for refunds.
    pub refund_recv_account: Option<String>,
    /// Payer account cancelled.
    pub payer_account_abnormal: bool,
    /// Order still processing.
    pub not_ready: bool,
    /// Refunds settle to this status instead of SUCCESS.
    pub refund_outcome: Option<RefundStatus>,
}

/// A coupon in a seeded order.
#[derive(Debug, Clone, Deserialize)]
pub struct SeedCoupon {
    /// Coupon id (generated when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// Kind.
    pub kind: CouponKind,
    /// Amount in fen.
    pub fee: u64,
}

impl WechatLedger {
    /// Seeds an order (any state, any age) and returns it.
    pub fn seed_order(
        &mut self,
        seed: SeedOrder,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<Order, AdminError> {
        let index = self.seed_order_indexed(seed, now, ids)?;
        self.orders
            .get(index)
            .cloned()
            .ok_or_else(|| AdminError::Invalid("order vanished".into()))
    }

    /// [`WechatLedger::seed_order`] without the copy of the new order: for bulk seeding.
    pub fn seed_order_indexed(
        &mut self,
        seed: SeedOrder,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<usize, AdminError> {
        let merchant = self
            .merchants
            .get(&seed.mch_id)
            .ok_or_else(|| AdminError::UnknownMerchant(seed.mch_id.clone()))?;
        if seed.total_fee == 0 {
            return Err(AdminError::Invalid(
                "total_fee must be at least 1 fen".into(),
            ));
        }
        let appid = match seed.appid {
            Some(appid) if merchant.appids.contains(&appid) => appid,
            Some(appid) => {
                return Err(AdminError::Invalid(format!(
                    "appid {appid} is not bound to merchant {}",
                    seed.mch_id
                )));
            }
            None => merchant.appids.first().cloned().unwrap_or_default(),
        };
        let mch_id = merchant.shared_id.clone();
        let paid_at = seed
            .paid_seconds_ago
            .map_or(now.minus(DEFAULT_PAID_AGO), |ago| {
                now.minus(Duration::from_secs(ago))
            });
        let out_trade_no = match seed.out_trade_no {
            Some(no) => no,
            None => ids.out_trade_no(paid_at),
        };
        if merchant
            .orders_by_out_trade_no
            .contains_key(out_trade_no.as_str())
        {
            return Err(AdminError::Duplicate(format!(
                "out_trade_no {out_trade_no}"
            )));
        }
        let transaction_id = match seed.transaction_id {
            Some(id) => id,
            None => new_transaction_id(&self.orders_by_transaction_id, ids, paid_at),
        };
        if self
            .orders_by_transaction_id
            .contains_key(transaction_id.as_str())
        {
            return Err(AdminError::Duplicate(format!(
                "transaction_id {transaction_id}"
            )));
        }
        let coupons = paid_coupons(seed.coupons, seed.total_fee, ids)?;
        let details = self.intern(OrderDetails {
            appid,
            fee_type: DEFAULT_FEE_TYPE.to_owned(),
            trade_type: seed
                .trade_type
                .unwrap_or_else(|| DEFAULT_TRADE_TYPE.to_owned()),
            openid: DEFAULT_OPENID.to_owned(),
            bank_type: seed
                .bank_type
                .unwrap_or_else(|| DEFAULT_BANK_TYPE.to_owned()),
            body: seed.body.unwrap_or_else(|| DEFAULT_BODY.to_owned()),
            attach: seed.attach.unwrap_or_default(),
            refund_recv_account: seed
                .refund_recv_account
                .unwrap_or_else(|| DEFAULT_RECV_ACCOUNT.to_owned()),
        });
        Ok(self.insert_order(Order {
            mch_id,
            transaction_id: transaction_id.into(),
            out_trade_no: out_trade_no.into(),
            total_fee: seed.total_fee,
            coupons,
            payment_state: seed.state,
            payer_account_abnormal: seed.payer_account_abnormal,
            not_ready: seed.not_ready,
            refund_outcome: seed.refund_outcome,
            paid_at: (seed.state == PaymentState::Success).then_some(paid_at),
            details,
            prepay: None,
        }))
    }
}

/// A transaction_id for an order paid at `at` that no order holds yet.
pub(super) fn new_transaction_id(
    taken: &HashMap<Box<str>, usize>,
    ids: &mut IdGenerator,
    at: Timestamp,
) -> String {
    loop {
        let id = ids.wechat_transaction_id(at);
        if !taken.contains_key(id.as_str()) {
            break id;
        }
    }
}

/// The coupons of a seeded or admin-paid order, with generated ids where none was given;
/// refused when they add up to more than the order's `total_fee`.
pub(super) fn paid_coupons(
    coupons: Vec<SeedCoupon>,
    total_fee: u64,
    ids: &mut IdGenerator,
) -> Result<Vec<Coupon>, AdminError> {
    let coupons: Vec<Coupon> = coupons
        .into_iter()
        .map(|c| Coupon {
            id: c.id.unwrap_or_else(|| ids.coupon_id()),
            kind: c.kind,
            fee: c.fee,
        })
        .collect();
    let sum = coupons
        .iter()
        .try_fold(0u64, |sum, c| sum.checked_add(c.fee));
    if sum.is_none_or(|sum| sum > total_fee) {
        return Err(AdminError::Invalid("coupons exceed total_fee".into()));
    }
    Ok(coupons)
}
