//! Queries: refund query (§4, one refund or a page of ten), order query (§6.2) and the
//! derived `trade_state`.

use super::model::{Order, OrderRef, Refund};
use super::store::WechatLedger;
use crate::clock::Timestamp;

/// What a refund query selects, in priority order refund_id > out_refund_no >
/// transaction_id > out_trade_no (§4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundSelector {
    /// One refund by WeChat refund id.
    RefundId(String),
    /// One refund by merchant refund number.
    OutRefundNo(String),
    /// The refunds of an order by WeChat order id.
    TransactionId(String),
    /// The refunds of an order by merchant order id.
    OutTradeNo(String),
}

/// Why a refund query found nothing to return.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefundQueryError {
    /// Unknown id, unpaid order, or an order never refunded (REFUNDNOTEXIST).
    #[error("refund does not exist")]
    RefundNotExist,
    /// `offset` beyond `total_refund_count` (PARAM_ERROR).
    #[error("offset {offset} exceeds total_refund_count {total}")]
    OffsetOutOfRange {
        /// Requested offset.
        offset: usize,
        /// Number of refunds of the order.
        total: usize,
    },
}

/// A page of a refund query.
#[derive(Debug, Clone)]
pub struct RefundPage {
    /// The order the refunds belong to.
    pub order: Order,
    /// Refunds of the order in total, when queried by order.
    pub total_refund_count: Option<usize>,
    /// The refunds in this page (at most [`REFUND_PAGE_SIZE`]).
    pub refunds: Vec<Refund>,
    /// Sum of every refund of the order (all pages, every status), when queried by order.
    pub refund_fee_total: Option<u64>,
    /// Sum of the coupon parts of every refund of the order, when queried by order.
    pub coupon_refund_fee_total: Option<u64>,
}

/// Refunds per refund-query page (§4.1).
pub const REFUND_PAGE_SIZE: usize = 10;

impl WechatLedger {
    /// Answers a refund query (§4): one refund by refund number, or a page of up to ten
    /// refunds of an order starting at `offset`.
    pub fn query_refunds(
        &mut self,
        mch_id: &str,
        selector: &RefundSelector,
        offset: usize,
        now: Timestamp,
    ) -> Result<RefundPage, RefundQueryError> {
        self.settle_due(now);
        let single = match selector {
            RefundSelector::RefundId(id) => Some(
                self.refunds_by_refund_id
                    .get(id)
                    .copied()
                    .ok_or(RefundQueryError::RefundNotExist)?,
            ),
            RefundSelector::OutRefundNo(no) => Some(
                self.merchants
                    .get(mch_id)
                    .and_then(|m| m.refunds_by_out_refund_no.get(no))
                    .copied()
                    .ok_or(RefundQueryError::RefundNotExist)?,
            ),
            RefundSelector::TransactionId(_) | RefundSelector::OutTradeNo(_) => None,
        };
        if let Some(index) = single {
            let refund = self
                .refunds
                .get(index)
                .ok_or(RefundQueryError::RefundNotExist)?;
            let order = self
                .orders
                .get(refund.order)
                .filter(|o| *o.mch_id == *mch_id)
                .ok_or(RefundQueryError::RefundNotExist)?;
            return Ok(RefundPage {
                order: order.clone(),
                total_refund_count: None,
                refunds: vec![refund.clone()],
                refund_fee_total: None,
                coupon_refund_fee_total: None,
            });
        }
        let by = match selector {
            RefundSelector::TransactionId(id) => OrderRef::TransactionId(id.clone()),
            RefundSelector::OutTradeNo(no) => OrderRef::OutTradeNo(no.clone()),
            RefundSelector::RefundId(_) | RefundSelector::OutRefundNo(_) => {
                return Err(RefundQueryError::RefundNotExist);
            }
        };
        let order_index = self
            .find_order(mch_id, &by)
            .ok_or(RefundQueryError::RefundNotExist)?;
        let order = self
            .orders
            .get(order_index)
            .ok_or(RefundQueryError::RefundNotExist)?;
        let indexes = self
            .order_refunds
            .get(&order_index)
            .map(|b| b.refunds.as_slice())
            .unwrap_or_default();
        let total = indexes.len();
        if total == 0 {
            return Err(RefundQueryError::RefundNotExist);
        }
        // deviation: wx-offset-equals-total (offset = total is an empty page)
        if offset > total {
            return Err(RefundQueryError::OffsetOutOfRange { offset, total });
        }
        // deviation: wx-refund-query-sums (every refund of the order, any status, all pages)
        let all = || indexes.iter().filter_map(|i| self.refunds.get(*i));
        let refund_fee_total = all().try_fold(0u64, |sum, r| sum.checked_add(r.refund_fee));
        let coupon_refund_fee_total = all()
            .flat_map(|r| r.coupon_refunds.iter())
            .try_fold(0u64, |sum, c| sum.checked_add(c.fee));
        let refunds = indexes
            .iter()
            .skip(offset)
            .take(REFUND_PAGE_SIZE)
            .filter_map(|i| self.refunds.get(*i).cloned())
            .collect();
        Ok(RefundPage {
            order: order.clone(),
            total_refund_count: Some(total),
            refunds,
            refund_fee_total,
            coupon_refund_fee_total,
        })
    }

    /// Looks an order up for `/pay/orderquery`; `None` is ORDERNOTEXIST. Old orders may be
    /// found by out_trade_no too (deviation: `wx-old-order-query-by-out-trade-no`).
    pub fn query_order(&mut self, mch_id: &str, by: &OrderRef, now: Timestamp) -> Option<Order> {
        self.settle_due(now);
        let index = self.find_order(mch_id, by)?;
        self.orders.get(index).cloned()
    }

    /// `trade_state` of an order: REFUND once it has a refund that was not closed (deviation:
    /// `wx-partial-refund-trade-state`).
    pub fn trade_state(&self, order: &Order) -> &'static str {
        let has_live_refund = self
            .order_index(order)
            .and_then(|i| self.order_refunds.get(&i))
            .is_some_and(|b| b.refunded > 0);
        if order.is_paid() && has_live_refund {
            "REFUND"
        } else {
            order.payment_state.as_str()
        }
    }
}
