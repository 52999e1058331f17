//! The ledger itself: merchants, orders and refunds with the indexes that find them, and the
//! lookups every operation shares.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::model::{Merchant, Order, OrderDetails, OrderRef, OrderRefunds, Refund, WechatRules};
use crate::clock::Timestamp;
use crate::record::Changed;

/// The WeChat side of the sandbox.
#[derive(Debug)]
pub struct WechatLedger {
    pub(super) rules: WechatRules,
    pub(super) merchants: HashMap<String, Merchant>,
    pub(super) orders: Vec<Order>,
    pub(super) orders_by_transaction_id: HashMap<Box<str>, usize>,
    /// Interned order details (see [`OrderDetails`]).
    pub(super) details: HashSet<Arc<OrderDetails>>,
    /// Refund bookkeeping of the orders that have refunds, by order index.
    pub(super) order_refunds: HashMap<usize, OrderRefunds>,
    pub(super) refunds: Vec<Refund>,
    pub(super) refunds_by_refund_id: HashMap<String, usize>,
    /// PROCESSING refunds by settlement time, so settling is a range scan.
    pub(super) pending: BTreeSet<(Timestamp, usize)>,
    /// Refunds that reached a final status (index, when), not yet taken by the notification
    /// engine ([`WechatLedger::take_finished`]).
    pub(super) finished: Vec<(usize, Timestamp)>,
    /// Orders added or altered since the persisted store took them, by index.
    pub(super) changed_orders: Changed<usize>,
    /// Refunds added or altered since the persisted store took them, by index.
    pub(super) changed_refunds: Changed<usize>,
}

impl WechatLedger {
    /// An empty ledger with these rules.
    pub fn new(rules: WechatRules) -> WechatLedger {
        WechatLedger {
            rules,
            merchants: HashMap::new(),
            orders: Vec::new(),
            orders_by_transaction_id: HashMap::new(),
            details: HashSet::new(),
            order_refunds: HashMap::new(),
            refunds: Vec::new(),
            refunds_by_refund_id: HashMap::new(),
            pending: BTreeSet::new(),
            finished: Vec::new(),
            changed_orders: Changed::default(),
            changed_refunds: Changed::default(),
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &WechatRules {
        &self.rules
    }

    /// A merchant by id.
    pub fn merchant(&self, mch_id: &str) -> Option<&Merchant> {
        self.merchants.get(mch_id)
    }

    /// Every merchant.
    pub fn merchants(&self) -> impl Iterator<Item = &Merchant> {
        self.merchants.values()
    }

    /// Adds an order with its indexes (by transaction_id once it has one, by out_trade_no
    /// under its merchant); its index.
    pub(super) fn insert_order(&mut self, order: Order) -> usize {
        let index = self.orders.len();
        if !order.transaction_id.is_empty() {
            self.orders_by_transaction_id
                .insert(order.transaction_id.clone(), index);
        }
        if let Some(merchant) = self.merchants.get_mut(&*order.mch_id) {
            merchant
                .orders_by_out_trade_no
                .insert(order.out_trade_no.clone(), index);
        }
        self.orders.push(order);
        self.changed_orders.mark(index);
        index
    }

    /// One shared copy of each distinct [`OrderDetails`].
    pub(super) fn intern(&mut self, details: OrderDetails) -> Arc<OrderDetails> {
        if let Some(shared) = self.details.get(&details) {
            return shared.clone();
        }
        let shared = Arc::new(details);
        self.details.insert(shared.clone());
        shared
    }

    pub(super) fn find_order(&self, mch_id: &str, by: &OrderRef) -> Option<usize> {
        let index = match by {
            OrderRef::TransactionId(id) => *self.orders_by_transaction_id.get(id.as_str())?,
            OrderRef::OutTradeNo(no) => *self
                .merchants
                .get(mch_id)?
                .orders_by_out_trade_no
                .get(no.as_str())?,
        };
        // Another merchant's order does not exist for this one.
        (*self.orders.get(index)?.mch_id == *mch_id).then_some(index)
    }

    pub(super) fn refunds_of(&self, order_index: usize) -> impl Iterator<Item = &Refund> {
        self.order_refunds
            .get(&order_index)
            .map(|b| b.refunds.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|i| self.refunds.get(*i))
    }

    /// Number of refunds ever accepted for an order (closed ones included).
    pub fn refund_count(&self, order: &Order) -> usize {
        self.order_index(order)
            .and_then(|i| self.order_refunds.get(&i))
            .map_or(0, |b| b.refunds.len())
    }

    pub(super) fn order_index(&self, order: &Order) -> Option<usize> {
        self.orders_by_transaction_id
            .get(&order.transaction_id)
            .copied()
    }

    /// Orders, optionally of one merchant, in creation order.
    pub fn orders(&self, mch_id: Option<&str>) -> impl DoubleEndedIterator<Item = &Order> {
        self.orders
            .iter()
            .filter(move |o| mch_id.is_none_or(|m| *o.mch_id == *m))
    }

    /// Refunds, optionally of one merchant, in creation order.
    pub fn refunds(
        &self,
        mch_id: Option<&str>,
    ) -> impl DoubleEndedIterator<Item = (&Refund, &Order)> {
        self.refunds.iter().filter_map(move |r| {
            let order = self.orders.get(r.order)?;
            mch_id
                .is_none_or(|m| *order.mch_id == *m)
                .then_some((r, order))
        })
    }

    /// The order a refund belongs to.
    pub fn order_of(&self, refund: &Refund) -> Option<&Order> {
        self.orders.get(refund.order)
    }
}
