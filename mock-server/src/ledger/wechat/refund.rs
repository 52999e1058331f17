//! Refunds (§3): the rules of spec/wechat-v2.md §3.4 in their order, the split between coupons
//! and cash, and the state machine of §3.5 (PROCESSING settles to SUCCESS, CHANGE or
//! REFUNDCLOSE on the injected clock; each final status is an event for the notifier).

use std::collections::HashMap;
use std::time::Duration;

use super::model::{
    CouponKind, CouponRefund, Merchant, Order, OrderRef, Refund, RefundAccount, RefundStatus,
};
use super::store::WechatLedger;
use crate::clock::Timestamp;
use crate::ids::IdGenerator;
use crate::ratelimit::SlidingWindow;

/// A refund request that passed authentication and field validation.
#[derive(Debug, Clone)]
pub struct RefundCommand {
    /// Merchant making the request.
    pub mch_id: String,
    /// The order.
    pub order: OrderRef,
    /// Merchant refund number.
    pub out_refund_no: String,
    /// Order total as stated by the merchant.
    pub total_fee: u64,
    /// Amount to refund.
    pub refund_fee: u64,
    /// Source of funds, if given.
    pub refund_account: Option<RefundAccount>,
    /// Notification URL, if given.
    pub notify_url: Option<String>,
    /// Reason, if given.
    pub refund_desc: Option<String>,
    /// Made through API v3: its result notification is v3's JSON (spec §1.4), not v2's XML.
    pub api_v3: bool,
}

/// Why a refund was refused. The WeChat route maps each to its err_code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefundError {
    /// No order with that transaction_id for this merchant (INVALID_TRANSACTIONID).
    #[error("transaction_id not found")]
    UnknownTransactionId,
    /// No order with that out_trade_no, or it is not paid (ORDERNOTEXIST).
    #[error("order not found or not paid")]
    OrderNotExist,
    /// The out_refund_no already belongs to a refund of another order (INVALID_REQUEST).
    #[error("out_refund_no belongs to another order")]
    OutRefundNoOfAnotherOrder,
    /// Same out_refund_no with other amounts (REFUND_FEE_MISMATCH).
    #[error("amounts differ from the earlier request with this out_refund_no")]
    AmountsDifferFromEarlierRequest,
    /// The payer's account is cancelled (USER_ACCOUNT_ABNORMAL).
    #[error("payer account abnormal")]
    PayerAccountAbnormal,
    /// The order is still being processed (ORDER_NOT_READY).
    #[error("order not ready")]
    OrderNotReady,
    /// Paid more than a year ago (TRADE_OVERDUE).
    #[error("order older than the refund window")]
    Overdue,
    /// total_fee is not the order amount (INVALID_REQUEST).
    #[error("total_fee {stated} is not the order amount {actual}")]
    TotalFeeMismatch {
        /// What the request said.
        stated: u64,
        /// The order's amount.
        actual: u64,
    },
    /// Nothing left to refund (TRADE_STATE_ERROR).
    #[error("order fully refunded")]
    FullyRefunded,
    /// The 51st refund of an order (INVALID_REQUEST).
    #[error("too many refunds for this order")]
    TooManyRefunds,
    /// The refund would exceed what is left (INVALID_REQUEST).
    #[error("refund exceeds the refundable amount {refundable}")]
    ExceedsRefundable {
        /// Fen still refundable.
        refundable: u64,
    },
    /// Less than a minute since the previous refund of this order (FREQUENCY_LIMITED).
    #[error("previous refund of this order was too recent")]
    TooSoonAfterPreviousRefund,
    /// Refunds of month-old orders above 5000/min (FREQUENCY_LIMITED).
    #[error("refund rate limit for old orders")]
    OldOrderRateLimited,
    /// The merchant's refundable balance is short (NOTENOUGH).
    #[error("refundable balance {balance} is short of {needed}")]
    NotEnoughBalance {
        /// Fen available.
        balance: u64,
        /// Fen needed.
        needed: u64,
    },
}

/// Why an abnormal refund could not be redirected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectError {
    /// No refund with that refund_id for this merchant, or its out_refund_no differs.
    #[error("no such refund")]
    NotFound,
    /// The refund is not in CHANGE (v3: ABNORMAL).
    #[error("the refund is not abnormal")]
    NotAbnormal,
}

/// A successful refund answer: the refund and its order.
#[derive(Debug, Clone)]
pub struct RefundAccepted {
    /// The refund (new, or the earlier one for a repeated out_refund_no).
    pub refund: Refund,
    /// Its order.
    pub order: Order,
    /// True when this repeated an earlier identical request (nothing was debited).
    pub repeated: bool,
}

/// A refund that reached SUCCESS, CHANGE or REFUNDCLOSE (spec §5.1: each is notified).
#[derive(Debug, Clone)]
pub struct FinishedRefund {
    /// The refund after the change.
    pub refund: Refund,
    /// Its order.
    pub order: Order,
    /// When it changed.
    pub at: Timestamp,
}

impl WechatLedger {
    /// Takes the refunds that reached a final status since the last call, oldest first.
    pub fn take_finished(&mut self) -> Vec<FinishedRefund> {
        std::mem::take(&mut self.finished)
            .into_iter()
            .filter_map(|(index, at)| {
                let refund = self.refunds.get(index)?.clone();
                let order = self.orders.get(refund.order)?.clone();
                Some(FinishedRefund { refund, order, at })
            })
            .collect()
    }

    /// When the next PROCESSING refund settles, if any.
    pub fn next_settlement(&self) -> Option<Timestamp> {
        self.pending.first().map(|(at, _)| *at)
    }

    /// Applies a refund request. Checks, in this order (the first that fails answers):
    /// 1. the order exists for this merchant (INVALID_TRANSACTIONID by transaction_id,
    ///    ORDERNOTEXIST by out_trade_no) and is paid (ORDERNOTEXIST);
    /// 2. an earlier refund with the same out_refund_no: same order and amounts -> the same
    ///    refund again, nothing debited; other amounts -> REFUND_FEE_MISMATCH; another order
    ///    -> INVALID_REQUEST;
    /// 3. seeded payer/order conditions (USER_ACCOUNT_ABNORMAL, ORDER_NOT_READY);
    /// 4. the one-year refund window (TRADE_OVERDUE);
    /// 5. total_fee equals the order amount;
    /// 6. fully refunded (TRADE_STATE_ERROR), the refund-count cap, the refundable amount;
    /// 7. spacing since the previous refund of the order, the old-order rate limit;
    /// 8. the merchant's refundable balance (NOTENOUGH).
    pub fn refund(
        &mut self,
        cmd: RefundCommand,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<RefundAccepted, RefundError> {
        self.settle_due(now);
        let order_index = match self.find_order(&cmd.mch_id, &cmd.order) {
            Some(index) => index,
            None => {
                return Err(match cmd.order {
                    OrderRef::TransactionId(_) => RefundError::UnknownTransactionId,
                    OrderRef::OutTradeNo(_) => RefundError::OrderNotExist,
                });
            }
        };
        let order = self.order_at(order_index)?;
        if !order.is_paid() {
            return Err(RefundError::OrderNotExist);
        }

        let earlier = self
            .merchants
            .get(&cmd.mch_id)
            .and_then(|m| m.refunds_by_out_refund_no.get(&cmd.out_refund_no))
            .copied();
        if let Some(refund_index) = earlier {
            let refund = self
                .refunds
                .get(refund_index)
                .ok_or(RefundError::OrderNotExist)?;
            if refund.order != order_index {
                return Err(RefundError::OutRefundNoOfAnotherOrder);
            }
            if refund.refund_fee != cmd.refund_fee || refund.total_fee != cmd.total_fee {
                return Err(RefundError::AmountsDifferFromEarlierRequest);
            }
            return Ok(RefundAccepted {
                refund: refund.clone(),
                order: order.clone(),
                repeated: true,
            });
        }

        if order.payer_account_abnormal {
            return Err(RefundError::PayerAccountAbnormal);
        }
        if order.not_ready {
            return Err(RefundError::OrderNotReady);
        }
        let paid_at = order.paid_at.unwrap_or(now);
        if now.since(paid_at) > self.rules.refund_window {
            return Err(RefundError::Overdue);
        }
        if cmd.total_fee != order.total_fee {
            return Err(RefundError::TotalFeeMismatch {
                stated: cmd.total_fee,
                actual: order.total_fee,
            });
        }
        let book = self.order_refunds.get(&order_index);
        let refunded = book.map_or(0, |b| b.refunded);
        let refundable = order.total_fee.saturating_sub(refunded);
        if refundable == 0 {
            return Err(RefundError::FullyRefunded);
        }
        if book.map_or(0, |b| b.refunds.len()) >= self.rules.max_refunds_per_order {
            return Err(RefundError::TooManyRefunds);
        }
        if cmd.refund_fee > refundable && !self.rules.unchecked_over_refund_for_tests {
            return Err(RefundError::ExceedsRefundable { refundable });
        }
        if book
            .and_then(|b| b.last_refund_at)
            .is_some_and(|last| now.since(last) < self.rules.refund_spacing)
        {
            return Err(RefundError::TooSoonAfterPreviousRefund);
        }
        let is_old = now.since(paid_at) > self.rules.old_order_age;

        let coupon_refunds = self.split_coupons(order_index, cmd.refund_fee, refundable);
        let no_cash_part: u64 = coupon_refunds
            .iter()
            .filter(|c| c.kind == CouponKind::NoCash)
            .map(|c| c.fee)
            .sum();
        let coupon_part: u64 = coupon_refunds.iter().map(|c| c.fee).sum();
        let settlement_refund_fee = cmd.refund_fee.saturating_sub(no_cash_part);

        let per_minute = self.rules.old_order_refunds_per_minute;
        let merchant = self
            .merchants
            .get_mut(&cmd.mch_id)
            .ok_or(RefundError::OrderNotExist)?;
        if is_old {
            let window = merchant
                .old_order_refunds
                .get_or_insert_with(|| SlidingWindow::new(Duration::from_secs(60), per_minute));
            if !window.try_record(now) {
                return Err(RefundError::OldOrderRateLimited);
            }
        }
        if merchant.refundable_balance < settlement_refund_fee {
            return Err(RefundError::NotEnoughBalance {
                balance: merchant.refundable_balance,
                needed: settlement_refund_fee,
            });
        }
        merchant.refundable_balance -= settlement_refund_fee;

        let refund_id = loop {
            let id = ids.wechat_refund_id(now);
            if !self.refunds_by_refund_id.contains_key(&id) {
                break id;
            }
        };
        let settles_at = now.plus(self.rules.settle_delay);
        let order = self
            .orders
            .get(order_index)
            .ok_or(RefundError::OrderNotExist)?;
        let refund = Refund {
            refund_id: refund_id.clone(),
            out_refund_no: cmd.out_refund_no.clone(),
            refund_fee: cmd.refund_fee,
            total_fee: cmd.total_fee,
            settlement_refund_fee,
            cash_refund_fee: cmd.refund_fee.saturating_sub(coupon_part),
            coupon_refunds,
            status: RefundStatus::Processing,
            refund_account: cmd.refund_account.unwrap_or_default(),
            refund_recv_account: order.details.refund_recv_account.clone(),
            refund_channel: "ORIGINAL".to_owned(),
            request_source: "API".to_owned(),
            notify_url: cmd.notify_url,
            refund_desc: cmd.refund_desc,
            api_v3: cmd.api_v3,
            requested_at: now,
            settles_at,
            success_at: None,
            order: order_index,
        };
        let refund_index = self.refunds.len();
        let order = order.clone();
        let book = self.order_refunds.entry(order_index).or_default();
        book.refunds.push(refund_index);
        book.refunded = book.refunded.saturating_add(cmd.refund_fee);
        book.last_refund_at = Some(now);
        self.refunds.push(refund.clone());
        self.changed_refunds.mark(refund_index);
        self.refunds_by_refund_id.insert(refund_id, refund_index);
        self.pending.insert((settles_at, refund_index));
        merchant_index_refund(
            &mut self.merchants,
            &cmd.mch_id,
            cmd.out_refund_no,
            refund_index,
        );
        Ok(RefundAccepted {
            refund,
            order,
            repeated: false,
        })
    }

    fn order_at(&self, index: usize) -> Result<&Order, RefundError> {
        self.orders.get(index).ok_or(RefundError::OrderNotExist)
    }

    /// Splits a refund between the order's coupons and cash in proportion to how the order
    /// was paid; the refund that empties the order takes whatever each coupon has left, so
    /// rounding never strands a fen.
    pub(super) fn split_coupons(
        &self,
        order_index: usize,
        refund_fee: u64,
        refundable: u64,
    ) -> Vec<CouponRefund> {
        let Some(order) = self.orders.get(order_index) else {
            return Vec::new();
        };
        if order.coupons.is_empty() {
            return Vec::new();
        }
        let mut coupon_left: Vec<u64> = order.coupons.iter().map(|c| c.fee).collect();
        let mut cash_left = order.cash_fee();
        for refund in self
            .refunds_of(order_index)
            .filter(|r| r.status.holds_money())
        {
            for part in &refund.coupon_refunds {
                if let Some(pos) = order.coupons.iter().position(|c| c.id == part.coupon_id)
                    && let Some(left) = coupon_left.get_mut(pos)
                {
                    *left = left.saturating_sub(part.fee);
                }
            }
            cash_left = cash_left.saturating_sub(refund.cash_refund_fee);
        }
        let shares: Vec<u64> = if refund_fee == refundable {
            coupon_left
        } else {
            // Proportional share, at least what cash cannot cover, never more than is left.
            let proportional: Vec<u64> = order
                .coupons
                .iter()
                .zip(&coupon_left)
                .map(|(c, left)| {
                    let share = u128::from(c.fee) * u128::from(refund_fee)
                        / u128::from(order.total_fee.max(1));
                    u64::try_from(share).unwrap_or(u64::MAX).min(*left)
                })
                .collect();
            let mut needed = refund_fee
                .saturating_sub(cash_left)
                .saturating_sub(proportional.iter().sum());
            proportional
                .iter()
                .zip(&coupon_left)
                .map(|(share, left)| {
                    let extra = needed.min(left.saturating_sub(*share));
                    needed -= extra;
                    share + extra
                })
                .collect()
        };
        order
            .coupons
            .iter()
            .zip(shares)
            .filter(|(_, fee)| *fee > 0)
            .map(|(c, fee)| CouponRefund {
                coupon_id: c.id.clone(),
                kind: c.kind,
                fee,
            })
            .collect()
    }

    /// Sends a refund in CHANGE (v3's ABNORMAL: the original route failed) to another account,
    /// the v3 abnormal-refund API: it succeeds at once, to `account` (deviation:
    /// `wx3-abnormal-refund`), and reaches the notifier as any refund that succeeds.
    pub fn redirect_abnormal(
        &mut self,
        mch_id: &str,
        refund_id: &str,
        out_refund_no: &str,
        account: String,
        now: Timestamp,
    ) -> Result<(Refund, Order), RedirectError> {
        self.settle_due(now);
        let index = *self
            .refunds_by_refund_id
            .get(refund_id)
            .ok_or(RedirectError::NotFound)?;
        let refund = self.refunds.get(index).ok_or(RedirectError::NotFound)?;
        let order = self
            .orders
            .get(refund.order)
            .filter(|o| &*o.mch_id == mch_id)
            .ok_or(RedirectError::NotFound)?;
        if refund.out_refund_no != out_refund_no {
            return Err(RedirectError::NotFound);
        }
        if refund.status != RefundStatus::Change {
            return Err(RedirectError::NotAbnormal);
        }
        let order = order.clone();
        self.changed_refunds.mark(index);
        if let Some(refund) = self.refunds.get_mut(index) {
            refund.status = RefundStatus::Processing;
            refund.refund_recv_account = account;
        }
        self.finish_refund(index, RefundStatus::Success, now);
        let refund = self
            .refunds
            .get(index)
            .cloned()
            .ok_or(RedirectError::NotFound)?;
        Ok((refund, order))
    }

    /// Settles every PROCESSING refund whose time has come; returns the refund ids that
    /// changed status.
    pub fn settle_due(&mut self, now: Timestamp) -> Vec<String> {
        let mut settled = Vec::new();
        while let Some(&(at, index)) = self.pending.first() {
            if at > now {
                break;
            }
            self.pending.pop_first();
            let outcome = self
                .refunds
                .get(index)
                .and_then(|r| self.orders.get(r.order))
                .and_then(|o| o.refund_outcome)
                .unwrap_or(RefundStatus::Success);
            if let Some(id) = self.finish_refund(index, outcome, at) {
                settled.push(id);
            }
        }
        settled
    }

    /// Moves a PROCESSING refund to a final status at `at`; a closed refund gives its money
    /// back to the merchant's balance and becomes refundable again.
    pub(super) fn finish_refund(
        &mut self,
        index: usize,
        status: RefundStatus,
        at: Timestamp,
    ) -> Option<String> {
        let refund = self.refunds.get_mut(index)?;
        if refund.status != RefundStatus::Processing || status == RefundStatus::Processing {
            return None;
        }
        self.changed_refunds.mark(index);
        refund.status = status;
        if status == RefundStatus::Success {
            refund.success_at = Some(at);
        }
        self.finished.push((index, at));
        let refund_id = refund.refund_id.clone();
        let give_back = refund.settlement_refund_fee;
        if status == RefundStatus::Refundclose {
            let refund_fee = refund.refund_fee;
            let order_index = refund.order;
            if let Some(book) = self.order_refunds.get_mut(&order_index) {
                book.refunded = book.refunded.saturating_sub(refund_fee);
            }
            let mch_id = self.orders.get(order_index)?.mch_id.clone();
            if let Some(merchant) = self.merchants.get_mut(&*mch_id) {
                merchant.refundable_balance = merchant.refundable_balance.saturating_add(give_back);
            }
        }
        Some(refund_id)
    }
}

fn merchant_index_refund(
    merchants: &mut HashMap<String, Merchant>,
    mch_id: &str,
    out_refund_no: String,
    refund_index: usize,
) {
    if let Some(merchant) = merchants.get_mut(mch_id) {
        merchant
            .refunds_by_out_refund_no
            .insert(out_refund_no, refund_index);
    }
}
