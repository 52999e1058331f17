//! WeChat Pay v2: the reference model of the refund ledger and the state machine that runs
//! it against a server through the SDK.
//!
//! # The model
//! Written from spec `wechat-v2.md` §3 (refund) and §4 (refund query), plus the mock's
//! documented choices where the spec is UNCONFIRMED (each cited by its `DEVIATIONS.md` id).
//! Refund checks, in the order the model applies them:
//! 1. order unknown → `INVALID_TRANSACTIONID` (by transaction_id) / `ORDERNOTEXIST`; unpaid →
//!    `ORDERNOTEXIST`;
//! 2. the out_refund_no used before: on another order → `INVALID_REQUEST`; other amounts →
//!    `REFUND_FEE_MISMATCH`; same amounts → the same refund again, nothing debited (§3.4.3);
//! 3. total_fee not the order amount → `INVALID_REQUEST` (§3.4.4);
//! 4. nothing left → `TRADE_STATE_ERROR`; the 51st refund → `INVALID_REQUEST`; more than is
//!    left → `INVALID_REQUEST` (§3.4.2, §3.4.6);
//! 5. less than the spacing after the order's previous refund → `FREQUENCY_LIMITED` (§3.4.8);
//! 6. the merchant's balance short → `NOTENOUGH`;
//! 7. accepted: `PROCESSING`, the balance debited; `SUCCESS` after the settle delay; forced
//!    `REFUNDCLOSE` gives the money back and makes it refundable again.
//!
//! An injected fault answers the next refund with its code, before the ledger or (with
//! `after_apply`) after it applied the request.
//!
//! # Rate limits
//! Not modelled: the executor advances the sandbox clock by [`PACE_MS`] before every refund
//! request (the model too), so no second ever holds more than one refund request and the
//! 150/s and 6-errors/s limits cannot trigger, with or without `--no-rate-limits`. The
//! spacing rule and the settle delay are modelled; every modelled time is a multiple of
//! [`PACE_MS`], which keeps predictions at least a second from the 3 s, 10 s and 60 s
//! boundaries when the server's clock runs on its own.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use paysandbox_protocol::wechat::{Params, sign, xml};
use paysandbox_sdk::wechat::{
    self, ErrCode, OrderId, RefundQuery, RefundRequest, RefundStatus as SdkStatus,
};
use paysandbox_testkit::admin::{self, AdminError};
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};
use serde_json::{Value, json};

use crate::deviations::{self, cited};
use crate::env::{Env, begin_case};
use crate::fail;

/// Sandbox time the executor adds before every refund request, and the unit of every clock
/// advance, in ms.
pub const PACE_MS: u64 = 2_000;
/// Refunds per refund-query page (§4.1).
pub const PAGE: usize = 10;

/// A refund's status in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Accepted, not settled.
    Processing,
    /// Settled.
    Success,
    /// Closed: its money went back.
    RefundClose,
    /// Settled to another account.
    Change,
}

impl Status {
    /// The v2 spelling (`refund_status_$n`, the admin API).
    pub fn wire(self) -> &'static str {
        match self {
            Status::Processing => "PROCESSING",
            Status::Success => "SUCCESS",
            Status::RefundClose => "REFUNDCLOSE",
            Status::Change => "CHANGE",
        }
    }
}

/// An order in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// total_fee, fen.
    pub total: u64,
    /// Paid (else NOTPAY).
    pub paid: bool,
    /// Its refunds (indexes into [`Model::refunds`]), in order.
    pub refunds: Vec<usize>,
}

/// A refund in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// Its order.
    pub order: usize,
    /// Its out_refund_no slot.
    pub number: usize,
    /// refund_fee.
    pub fee: u64,
    /// total_fee as requested (the order's).
    pub total_fee: u64,
    /// Status.
    pub status: Status,
    /// Model time it was accepted.
    pub at_ms: u64,
}

/// A fault queued for the next refund request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// `SYSTEMERROR` or `BIZERR_NEED_RETRY`.
    pub code: &'static str,
    /// Applied to the ledger before the fault answers.
    pub after_apply: bool,
}

/// The reference model of one merchant's refund ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// Settle delay, ms.
    pub settle_ms: u64,
    /// Refund spacing per order, ms.
    pub spacing_ms: u64,
    /// Refunds per order.
    pub max_refunds: usize,
    /// Model time, ms since the case started.
    pub now_ms: u64,
    /// The balance the case started with.
    pub initial_balance: u64,
    /// The merchant's refundable balance.
    pub balance: u64,
    /// Seeded orders.
    pub orders: Vec<Order>,
    /// Accepted refunds, in order.
    pub refunds: Vec<Refund>,
    /// out_refund_no slots handed out (a transition may use 0..=numbers).
    pub numbers: usize,
    /// Queued fault.
    pub fault: Option<Fault>,
}

/// What the model predicts for a refund request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Accepted: this refund (repeated: an earlier identical request, nothing debited).
    Accepted {
        /// Index in [`Model::refunds`].
        refund: usize,
        /// Nothing new was made.
        repeated: bool,
    },
    /// `result_code=FAIL` with this err_code.
    Refused(&'static str),
}

/// What the model predicts for a refund query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryOutcome {
    /// These refunds (indexes), and total_refund_count when queried by order.
    Found(Vec<usize>, Option<usize>),
    /// `REFUNDNOTEXIST`.
    NotExist,
}

impl Model {
    /// A model with these timing rules and starting balance, no orders.
    pub fn new(settle_ms: u64, spacing_ms: u64, balance: u64) -> Model {
        Model {
            settle_ms,
            spacing_ms,
            max_refunds: 50,
            now_ms: 0,
            initial_balance: balance,
            balance,
            orders: Vec::new(),
            refunds: Vec::new(),
            numbers: 0,
            fault: None,
        }
    }

    /// Settles every refund whose delay has passed.
    pub fn settle(&mut self) {
        let _ = cited(deviations::WX_SETTLEMENT_TIME);
        for r in &mut self.refunds {
            if r.status == Status::Processing && r.at_ms + self.settle_ms <= self.now_ms {
                r.status = Status::Success;
            }
        }
    }

    /// The refund holding this out_refund_no slot.
    pub fn refund_by_number(&self, number: usize) -> Option<usize> {
        self.refunds.iter().position(|r| r.number == number)
    }

    /// Refunded and not closed, of an order.
    pub fn refunded(&self, order: usize) -> u64 {
        self.refunds
            .iter()
            .filter(|r| r.order == order && r.status != Status::RefundClose)
            .map(|r| r.fee)
            .sum()
    }

    /// Applies a refund request.
    pub fn refund(&mut self, args: &RefundArgs) -> RefundOutcome {
        self.now_ms += PACE_MS;
        self.settle();
        let fault = self.fault.take();
        if let Some(f) = fault.filter(|f| !f.after_apply) {
            return RefundOutcome::Refused(f.code);
        }
        let outcome = self.ledger_refund(args);
        match fault {
            Some(f) => RefundOutcome::Refused(f.code),
            None => outcome,
        }
    }

    fn ledger_refund(&mut self, a: &RefundArgs) -> RefundOutcome {
        use RefundOutcome::Refused;
        let Some(oi) = a.order.index().filter(|i| *i < self.orders.len()) else {
            return Refused(if a.by_transaction_id {
                "INVALID_TRANSACTIONID"
            } else {
                "ORDERNOTEXIST"
            });
        };
        let Some(order) = self.orders.get(oi).cloned() else {
            return Refused("ORDERNOTEXIST");
        };
        if !order.paid {
            return Refused("ORDERNOTEXIST");
        }
        let total_fee = if a.wrong_total {
            order.total + 1
        } else {
            order.total
        };
        if let Some(ri) = self.refund_by_number(a.number) {
            let Some(earlier) = self.refunds.get(ri) else {
                return Refused("ORDERNOTEXIST");
            };
            if earlier.order != oi {
                return Refused(pick(
                    deviations::WX_OUT_REFUND_NO_OTHER_ORDER,
                    "INVALID_REQUEST",
                ));
            }
            if earlier.fee != a.fee || earlier.total_fee != total_fee {
                return Refused("REFUND_FEE_MISMATCH");
            }
            return RefundOutcome::Accepted {
                refund: ri,
                repeated: true,
            };
        }
        if total_fee != order.total {
            return Refused(pick(deviations::WX_TOTAL_FEE_MISMATCH, "INVALID_REQUEST"));
        }
        let refundable = order.total.saturating_sub(self.refunded(oi));
        if refundable == 0 {
            return Refused(pick(deviations::WX_FULLY_REFUNDED, "TRADE_STATE_ERROR"));
        }
        if order.refunds.len() >= self.max_refunds {
            return Refused(pick(deviations::WX_51ST_REFUND, "INVALID_REQUEST"));
        }
        if a.fee > refundable {
            return Refused(pick(
                deviations::WX_CUMULATIVE_OVER_PAYMENT,
                "INVALID_REQUEST",
            ));
        }
        let last = order
            .refunds
            .iter()
            .filter_map(|i| self.refunds.get(*i))
            .map(|r| r.at_ms)
            .max();
        if last.is_some_and(|at| self.now_ms - at < self.spacing_ms) {
            return Refused(pick(deviations::WX_REFUND_SPACING, "FREQUENCY_LIMITED"));
        }
        if self.balance < a.fee {
            return Refused("NOTENOUGH");
        }
        self.balance -= a.fee;
        let index = self.refunds.len();
        self.refunds.push(Refund {
            order: oi,
            number: a.number,
            fee: a.fee,
            total_fee,
            status: Status::Processing,
            at_ms: self.now_ms,
        });
        if let Some(o) = self.orders.get_mut(oi) {
            o.refunds.push(index);
        }
        RefundOutcome::Accepted {
            refund: index,
            repeated: false,
        }
    }

    /// Answers a refund query.
    pub fn query(&mut self, by: &QueryBy) -> QueryOutcome {
        self.settle();
        match *by {
            QueryBy::RefundId(n) | QueryBy::OutRefundNo(n) => match self.refund_by_number(n) {
                Some(i) => QueryOutcome::Found(vec![i], None),
                None => QueryOutcome::NotExist,
            },
            QueryBy::TransactionId(o) | QueryBy::OutTradeNo(o) => {
                match o.index().and_then(|i| self.orders.get(i)) {
                    Some(order) if !order.refunds.is_empty() => QueryOutcome::Found(
                        order.refunds.iter().take(PAGE).copied().collect(),
                        Some(order.refunds.len()),
                    ),
                    _ => QueryOutcome::NotExist,
                }
            }
        }
    }

    /// trade_state of an order (None: unknown → ORDERNOTEXIST).
    pub fn trade_state(&mut self, order: OrderPick) -> Option<&'static str> {
        self.settle();
        let oi = order.index()?;
        let o = self.orders.get(oi)?;
        Some(if !o.paid {
            "NOTPAY"
        } else if o
            .refunds
            .iter()
            .filter_map(|i| self.refunds.get(*i))
            .any(|r| r.status != Status::RefundClose)
        {
            pick(deviations::WX_PARTIAL_REFUND_TRADE_STATE, "REFUND")
        } else {
            "SUCCESS"
        })
    }

    /// Forces a refund's outcome: `true` if it was PROCESSING (else the admin API answers 409).
    pub fn force(&mut self, number: usize, status: Status) -> bool {
        self.settle();
        let Some(ri) = self.refund_by_number(number) else {
            return false;
        };
        let Some(r) = self.refunds.get_mut(ri) else {
            return false;
        };
        if r.status != Status::Processing {
            return false;
        }
        r.status = status;
        if status == Status::RefundClose {
            self.balance += r.fee;
        }
        true
    }
}

/// The mock's documented choice (checked to be listed in DEVIATIONS.md) and its answer.
fn pick(id: &'static str, answer: &'static str) -> &'static str {
    let _ = cited(id);
    answer
}

/// Which order a transition names.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OrderPick {
    /// The n-th seeded order of the case.
    Seeded(usize),
    /// An order that was never seeded.
    Unknown,
}

impl OrderPick {
    /// The seeded order's index.
    pub fn index(self) -> Option<usize> {
        match self {
            OrderPick::Seeded(i) => Some(i),
            OrderPick::Unknown => None,
        }
    }
}

impl fmt::Debug for OrderPick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderPick::Seeded(i) => write!(f, "order#{i}"),
            OrderPick::Unknown => write!(f, "unknown-order"),
        }
    }
}

/// A refund request.
#[derive(Clone, PartialEq, Eq)]
pub struct RefundArgs {
    /// The order.
    pub order: OrderPick,
    /// Name it by transaction_id (else out_trade_no).
    pub by_transaction_id: bool,
    /// out_refund_no slot.
    pub number: usize,
    /// refund_fee.
    pub fee: u64,
    /// total_fee one more than the order's.
    pub wrong_total: bool,
    /// Sign with HMAC-SHA256 (else MD5).
    pub hmac: bool,
}

/// A refund query selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryBy {
    /// refund_id of the refund with this number (a made-up id if none).
    RefundId(usize),
    /// out_refund_no slot.
    OutRefundNo(usize),
    /// The order's transaction_id (a made-up one if unknown).
    TransactionId(OrderPick),
    /// The order's out_trade_no.
    OutTradeNo(OrderPick),
}

/// One step of a WeChat case.
#[derive(Clone, PartialEq, Eq)]
pub enum Transition {
    /// Seed an order (paid or NOTPAY).
    Seed {
        /// total_fee.
        total: u64,
        /// Paid.
        paid: bool,
    },
    /// A refund request.
    Refund(RefundArgs),
    /// A refund query.
    Query(QueryBy),
    /// An order query.
    OrderQuery(OrderPick),
    /// Advance the sandbox clock (a multiple of [`PACE_MS`]).
    Advance {
        /// Seconds.
        secs: u64,
    },
    /// Force a refund's outcome through the admin API.
    Force {
        /// out_refund_no slot.
        number: usize,
        /// The outcome.
        status: Status,
    },
    /// Queue a fault for the next refund.
    Fault(Fault),
    /// A refund query from a merchant the server does not know.
    Stranger,
}

impl fmt::Debug for RefundArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refund {:?} by {}, refund#{}, refund_fee={}{}{}",
            self.order,
            if self.by_transaction_id {
                "transaction_id"
            } else {
                "out_trade_no"
            },
            self.number,
            self.fee,
            if self.wrong_total {
                ", total_fee=order+1"
            } else {
                ""
            },
            if self.hmac { ", HMAC-SHA256" } else { "" },
        )
    }
}

impl fmt::Debug for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transition::Seed { total, paid } => {
                write!(
                    f,
                    "seed order total_fee={total}{}",
                    if *paid { "" } else { " NOTPAY" }
                )
            }
            Transition::Refund(a) => write!(f, "{a:?}"),
            Transition::Query(by) => write!(f, "refund query by {by:?}"),
            Transition::OrderQuery(o) => write!(f, "order query {o:?}"),
            Transition::Advance { secs } => write!(f, "advance clock {secs}s"),
            Transition::Force { number, status } => {
                write!(f, "force refund#{number} to {}", status.wire())
            }
            Transition::Fault(x) => write!(
                f,
                "inject {}{} into the next refund",
                x.code,
                if x.after_apply { " after_apply" } else { "" }
            ),
            Transition::Stranger => write!(f, "refund query from an unknown mch_id"),
        }
    }
}

/// Balance every case starts with: enough for most refunds, short enough that NOTENOUGH
/// happens.
pub const START_BALANCE: u64 = 20_000;

/// The reference state machine.
#[derive(Debug, Clone, Copy)]
pub struct Reference;

thread_local! {
    static RULES: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((10_000, 60_000)) };
}

/// Sets the timing rules the model uses on this thread (from the [`Env`]).
pub fn set_rules(env: &Env) {
    RULES.with(|r| {
        r.set((
            env.rules.settle_secs * 1000,
            env.rules.wechat_spacing_secs * 1000,
        ));
    });
}

/// Timing rules (settle, spacing; ms) set by [`set_rules`] on this thread.
pub(crate) fn rules() -> (u64, u64) {
    RULES.with(std::cell::Cell::get)
}

pub(crate) fn order_pick(state: &Model) -> BoxedStrategy<OrderPick> {
    let n = state.orders.len();
    if n == 0 {
        return Just(OrderPick::Unknown).boxed();
    }
    prop_oneof![
        9 => (0..n).prop_map(OrderPick::Seeded),
        1 => Just(OrderPick::Unknown),
    ]
    .boxed()
}

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Model> {
        let (settle, spacing) = RULES.with(std::cell::Cell::get);
        Just(Model::new(settle, spacing, START_BALANCE)).boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Transition> {
        let seed = (
            prop_oneof![Just(100u64), Just(999), 1u64..=10_000],
            prop::bool::weighted(0.9),
        )
            .prop_map(|(total, paid)| Transition::Seed { total, paid });
        if state.orders.is_empty() {
            return seed.boxed();
        }
        let numbers = state.numbers;
        let max_total = state.orders.iter().map(|o| o.total).max().unwrap_or(1);
        let refund = (
            order_pick(state),
            prop::bool::weighted(0.3),
            0..=numbers,
            prop_oneof![1u64..=max_total, Just(max_total), Just(1)],
            prop::bool::weighted(0.1),
            any::<bool>(),
        )
            .prop_map(
                |(order, by_transaction_id, number, fee, wrong_total, hmac)| {
                    Transition::Refund(RefundArgs {
                        order,
                        by_transaction_id,
                        number,
                        fee,
                        wrong_total,
                        hmac,
                    })
                },
            );
        let query = prop_oneof![
            (0..=numbers).prop_map(QueryBy::RefundId),
            (0..=numbers).prop_map(QueryBy::OutRefundNo),
            order_pick(state).prop_map(QueryBy::TransactionId),
            order_pick(state).prop_map(QueryBy::OutTradeNo),
        ]
        .prop_map(Transition::Query);
        let advance = prop_oneof![Just(2u64), Just(8), Just(20), Just(62)]
            .prop_map(|secs| Transition::Advance { secs });
        let force = (
            0..numbers.max(1),
            prop_oneof![
                Just(Status::Success),
                Just(Status::Change),
                Just(Status::RefundClose)
            ],
        )
            .prop_map(|(number, status)| Transition::Force { number, status });
        let fault = (
            prop_oneof![Just("SYSTEMERROR"), Just("BIZERR_NEED_RETRY")],
            any::<bool>(),
        )
            .prop_map(|(code, after_apply)| Transition::Fault(Fault { code, after_apply }));
        prop_oneof![
            2 => seed,
            8 => refund,
            4 => query,
            1 => order_pick(state).prop_map(Transition::OrderQuery),
            3 => advance,
            1 => force,
            1 => fault,
            1 => Just(Transition::Stranger),
        ]
        .boxed()
    }

    fn preconditions(state: &Model, t: &Transition) -> bool {
        let order_ok = |o: &OrderPick| match o {
            OrderPick::Seeded(i) => *i < state.orders.len(),
            OrderPick::Unknown => true,
        };
        match t {
            Transition::Seed { .. } | Transition::Advance { .. } | Transition::Stranger => true,
            Transition::Refund(a) => {
                let paid_or_by_no = match a.order {
                    OrderPick::Seeded(i) => {
                        !a.by_transaction_id || state.orders.get(i).is_some_and(|o| o.paid)
                    }
                    OrderPick::Unknown => true,
                };
                // refund_fee above total_fee is refused by the SDK before sending.
                let stated_total = a
                    .order
                    .index()
                    .and_then(|i| state.orders.get(i))
                    .map_or(u64::MAX, |o| o.total + u64::from(a.wrong_total));
                order_ok(&a.order)
                    && paid_or_by_no
                    && a.number <= state.numbers
                    && a.fee >= 1
                    && a.fee <= stated_total
            }
            Transition::Query(by) => match by {
                QueryBy::RefundId(n) | QueryBy::OutRefundNo(n) => *n <= state.numbers,
                QueryBy::TransactionId(o) => {
                    order_ok(o)
                        && o.index()
                            .is_none_or(|i| state.orders.get(i).is_some_and(|o| o.paid))
                }
                QueryBy::OutTradeNo(o) => order_ok(o),
            },
            Transition::OrderQuery(o) => order_ok(o),
            Transition::Force { number, .. } => state.refund_by_number(*number).is_some(),
            Transition::Fault(_) => state.fault.is_none(),
        }
    }

    fn apply(mut state: Model, t: &Transition) -> Model {
        match t {
            Transition::Seed { total, paid } => state.orders.push(Order {
                total: *total,
                paid: *paid,
                refunds: Vec::new(),
            }),
            Transition::Refund(a) => {
                if a.number == state.numbers {
                    state.numbers += 1;
                }
                state.refund(a);
            }
            Transition::Query(by) => {
                state.query(by);
            }
            Transition::OrderQuery(o) => {
                state.trade_state(*o);
            }
            Transition::Advance { secs } => {
                state.now_ms += secs * 1000;
                state.settle();
            }
            Transition::Force { number, status } => {
                state.force(*number, *status);
            }
            Transition::Fault(f) => state.fault = Some(*f),
            Transition::Stranger => {}
        }
        state
    }
}

/// Starts a WeChat case: the merchant's refundable balance set to the model's `balance`, and
/// the journal position the case's checks read from.
pub(crate) fn begin_wechat_case(env: &Env, balance: u64) -> u64 {
    let admin = env.admin.clone();
    let mch_id = env.wechat.mch_id.clone();
    let seq = env.block_on(async move {
        admin
            .update_merchant(&mch_id, json!({ "refundable_balance": balance }))
            .await?;
        begin_case(&admin).await
    });
    seq.unwrap_or_else(|e| fail!("case setup failed: {e}"))
}

/// What one case calls its orders and refunds (under its own prefix), and the ids the server
/// handed out for them; both WeChat machines (v2 alone, and v2 mixed with v3) keep one.
#[derive(Debug)]
pub(crate) struct CaseIds {
    /// Starts every out_trade_no and out_refund_no of the case.
    pub(crate) prefix: String,
    /// The transaction_id of each seeded order, by order index.
    pub(crate) transaction_ids: Vec<String>,
    /// The refund_id of each refund the server made, by out_refund_no slot.
    pub(crate) refund_ids: HashMap<usize, String>,
}

impl CaseIds {
    /// A new case's names under `prefix`, no id known yet.
    pub(crate) fn new(prefix: String) -> CaseIds {
        CaseIds {
            prefix,
            transaction_ids: Vec::new(),
            refund_ids: HashMap::new(),
        }
    }

    /// The out_trade_no of `order` (an unknown one for [`OrderPick::Unknown`]).
    pub(crate) fn out_trade_no(&self, order: OrderPick) -> String {
        match order {
            OrderPick::Seeded(i) => format!("{}o{i}", self.prefix),
            OrderPick::Unknown => format!("{}nope", self.prefix),
        }
    }

    /// The transaction_id the server gave `order`, else one it never gave.
    pub(crate) fn transaction_id(&self, order: OrderPick) -> String {
        order
            .index()
            .and_then(|i| self.transaction_ids.get(i).cloned())
            .unwrap_or_else(|| "4200099999197001010000000001".to_owned())
    }

    /// Seeds the case's next order (paid a minute ago, or NOTPAY) through the admin API and
    /// keeps the transaction_id the server gave it.
    pub(crate) fn seed_order(&mut self, env: &Env, total: u64, paid: bool) {
        let extra = json!({
            "appid": env.wechat.appid,
            "state": if paid { "SUCCESS" } else { "NOTPAY" },
            "paid_seconds_ago": 60,
        });
        let out_trade_no = self.out_trade_no(OrderPick::Seeded(self.transaction_ids.len()));
        let order =
            env.block_on(
                env.admin
                    .seed_order(&env.wechat.mch_id, &out_trade_no, total, extra),
            );
        let order = order.unwrap_or_else(|e| fail!("seeding failed: {e}"));
        let id = order
            .get("transaction_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.transaction_ids.push(id);
    }

    /// The out_refund_no of slot `number`.
    pub(crate) fn out_refund_no(&self, number: usize) -> String {
        format!("{}r{number}", self.prefix)
    }

    /// Keeps the refund_id an answer gave slot `number`; a slot already known must get the
    /// same one again (a repeated out_refund_no is the same refund).
    pub(crate) fn keep_refund_id(&mut self, t: &impl fmt::Debug, number: usize, refund_id: &str) {
        if let Some(known) = self.refund_ids.get(&number) {
            assert_eq!(known, refund_id, "{t:?}: refund_id of a repeated refund");
        }
        self.refund_ids.insert(number, refund_id.to_owned());
    }

    /// The refund_id the server gave slot `number`, else one it never gave.
    pub(crate) fn refund_id(&self, number: usize) -> String {
        self.refund_ids
            .get(&number)
            .cloned()
            .unwrap_or_else(|| "50300999999919700101000000001".to_owned())
    }
}

/// The system under test: the server through the SDK, plus the ids it handed out.
pub struct Sut {
    env: Arc<Env>,
    ids: CaseIds,
    /// The model as it was before the current transition (to predict from).
    before: Model,
    journal_seq: std::cell::Cell<u64>,
}

impl fmt::Debug for Sut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wechat::Sut({})", self.ids.prefix)
    }
}

impl Sut {
    fn client(&self, hmac: bool) -> &wechat::Client {
        if hmac {
            &self.env.wechat.hmac
        } else {
            &self.env.wechat.md5
        }
    }
}

pub(crate) fn code_of(result: &Result<impl fmt::Debug, wechat::Error>) -> Option<String> {
    match result {
        Err(wechat::Error::Business { code, .. }) => Some(code.as_str().to_owned()),
        _ => None,
    }
}

/// The [`StateMachineTest`] binding: runs each transition through the SDK against the
/// [`Env`] installed with [`crate::with_env`], and compares with the model.
#[derive(Debug, Clone, Copy)]
pub struct Machine;

impl StateMachineTest for Machine {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(ref_state: &Model) -> Sut {
        let env = crate::current_env();
        let prefix = env.next_case_prefix();
        let seq = begin_wechat_case(&env, ref_state.balance);
        Sut {
            env,
            ids: CaseIds::new(prefix),
            before: ref_state.clone(),
            journal_seq: std::cell::Cell::new(seq),
        }
    }

    fn apply(mut sut: Sut, after: &Model, t: Transition) -> Sut {
        let env = sut.env.clone();
        let mut model = sut.before.clone();
        match &t {
            Transition::Seed { total, paid } => {
                sut.ids.seed_order(&env, *total, *paid);
                model = <Reference as ReferenceStateMachine>::apply(model, &t);
            }
            Transition::Refund(a) => {
                if a.number == model.numbers {
                    model.numbers += 1;
                }
                let predicted = model.refund(a);
                let order = match a.order {
                    OrderPick::Seeded(_) if a.by_transaction_id => {
                        OrderId::TransactionId(sut.ids.transaction_id(a.order))
                    }
                    OrderPick::Unknown if a.by_transaction_id => {
                        OrderId::TransactionId(sut.ids.transaction_id(a.order))
                    }
                    _ => OrderId::OutTradeNo(sut.ids.out_trade_no(a.order)),
                };
                let total_fee = a
                    .order
                    .index()
                    .and_then(|i| sut.before.orders.get(i))
                    .map_or(a.fee, |o| o.total + u64::from(a.wrong_total));
                let request = RefundRequest::builder()
                    .order(order)
                    .out_refund_no(sut.ids.out_refund_no(a.number))
                    .total_fee(total_fee)
                    .refund_fee(a.fee)
                    .build();
                let request = request
                    .unwrap_or_else(|e| fail!("{t:?}: refused by the SDK's own checks: {e}"));
                let result = env.block_on(async {
                    env.admin.advance_ms(PACE_MS).await?;
                    Ok::<_, AdminError>(sut.client(a.hmac).refund(&request).await)
                });
                let result = result.unwrap_or_else(|e| fail!("{t:?}: clock: {e}"));
                match predicted {
                    RefundOutcome::Accepted { refund, repeated } => {
                        let Ok(response) = &result else {
                            fail!(
                                "{t:?}: model accepts (refund {refund}, repeated={repeated}), server answered {result:?}"
                            );
                        };
                        let m = model.refunds.get(refund).cloned();
                        assert_eq!(
                            Some(response.refund_fee),
                            m.as_ref().map(|r| r.fee),
                            "{t:?}: refund_fee"
                        );
                        assert_eq!(
                            response.out_refund_no,
                            sut.ids.out_refund_no(a.number),
                            "{t:?}"
                        );
                        assert_eq!(
                            response.out_trade_no,
                            sut.ids.out_trade_no(a.order),
                            "{t:?}"
                        );
                        if repeated {
                            assert_eq!(
                                sut.ids.refund_ids.get(&a.number),
                                Some(&response.refund_id),
                                "{t:?}: a repeated out_refund_no must answer the same refund_id"
                            );
                        }
                        sut.ids
                            .refund_ids
                            .insert(a.number, response.refund_id.clone());
                    }
                    RefundOutcome::Refused(code) => {
                        assert_eq!(
                            code_of(&result).as_deref(),
                            Some(code),
                            "{t:?}: model refuses with {code}, server answered {result:?}"
                        );
                        // An after_apply fault hid a refund the ledger made: learn its id by
                        // querying it (a client would, too).
                        if let Some(ri) = model.refund_by_number(a.number)
                            && !sut.ids.refund_ids.contains_key(&a.number)
                            && model.refunds.get(ri).is_some()
                        {
                            let query =
                                RefundQuery::by_out_refund_no(sut.ids.out_refund_no(a.number));
                            let found = env.block_on(sut.client(false).refund_query(&query));
                            match found {
                                Ok(page) => {
                                    if let Some(r) = page.refunds.first() {
                                        sut.ids.refund_ids.insert(a.number, r.refund_id.clone());
                                    }
                                }
                                Err(e) => fail!(
                                    "{t:?}: the refund applied before the fault is not queryable: {e}"
                                ),
                            }
                        }
                    }
                }
            }
            Transition::Query(by) => {
                let predicted = model.query(by);
                let query = match *by {
                    QueryBy::RefundId(n) => RefundQuery::by_refund_id(sut.ids.refund_id(n)),
                    QueryBy::OutRefundNo(n) => {
                        RefundQuery::by_out_refund_no(sut.ids.out_refund_no(n))
                    }
                    QueryBy::TransactionId(o) => {
                        RefundQuery::by_transaction_id(sut.ids.transaction_id(o))
                    }
                    QueryBy::OutTradeNo(o) => RefundQuery::by_out_trade_no(sut.ids.out_trade_no(o)),
                };
                let result = env.block_on(sut.client(false).refund_query(&query));
                match predicted {
                    QueryOutcome::NotExist => assert_eq!(
                        code_of(&result).as_deref(),
                        Some("REFUNDNOTEXIST"),
                        "{t:?}: server answered {result:?}"
                    ),
                    QueryOutcome::Found(indexes, total) => {
                        let Ok(page) = &result else {
                            fail!("{t:?}: model finds {indexes:?}, server answered {result:?}");
                        };
                        assert_eq!(
                            page.total_refund_count.map(|n| n as usize),
                            total,
                            "{t:?}: total_refund_count"
                        );
                        let got: Vec<(String, u64, String)> = page
                            .refunds
                            .iter()
                            .map(|r| {
                                (
                                    r.out_refund_no.clone(),
                                    r.refund_fee,
                                    r.refund_status.as_str().to_owned(),
                                )
                            })
                            .collect();
                        let want: Vec<(String, u64, String)> = indexes
                            .iter()
                            .filter_map(|i| model.refunds.get(*i))
                            .map(|r| {
                                (
                                    sut.ids.out_refund_no(r.number),
                                    r.fee,
                                    r.status.wire().to_owned(),
                                )
                            })
                            .collect();
                        assert_eq!(
                            got, want,
                            "{t:?}: refunds (out_refund_no, refund_fee, status)"
                        );
                        for r in &page.refunds {
                            assert_eq!(
                                r.refund_success_time.is_some(),
                                r.refund_status == SdkStatus::Success,
                                "{t:?}: refund_success_time only when SUCCESS"
                            );
                        }
                    }
                }
            }
            Transition::OrderQuery(o) => {
                let predicted = model.trade_state(*o);
                let id = OrderId::OutTradeNo(sut.ids.out_trade_no(*o));
                let result = env.block_on(sut.client(false).order_query(&id));
                match predicted {
                    None => assert_eq!(
                        code_of(&result).as_deref(),
                        Some("ORDERNOTEXIST"),
                        "{t:?}: {result:?}"
                    ),
                    Some(state) => {
                        let got = result.as_ref().map(|r| r.trade_state);
                        assert_eq!(
                            got.as_ref().map(|s| s.as_str()).ok(),
                            Some(state),
                            "{t:?}: trade_state, server answered {result:?}"
                        );
                    }
                }
            }
            Transition::Advance { secs } => {
                model.now_ms += secs * 1000;
                model.settle();
                if let Err(e) = env.block_on(env.admin.advance_ms(secs * 1000)) {
                    fail!("{t:?}: {e}");
                }
            }
            Transition::Force { number, status } => {
                let expected_ok = model.force(*number, *status);
                let path = format!(
                    "/admin/wechat/refunds/{}/status",
                    sut.ids.refund_id(*number)
                );
                let answer = env.block_on(env.admin.call(
                    reqwest::Method::POST,
                    &path,
                    Some(json!({ "status": status.wire() })),
                ));
                let status_code = answer.as_ref().map(|(s, _)| *s).unwrap_or(0);
                assert_eq!(
                    status_code,
                    if expected_ok { 200 } else { 409 },
                    "{t:?}: admin answered {answer:?}"
                );
            }
            Transition::Fault(f) => {
                model.fault = Some(*f);
                let fault = admin::Fault::err_code("wechat.refund", f.code)
                    .count(1)
                    .after_apply(f.after_apply);
                if let Err(e) = env.block_on(env.admin.inject_fault(&fault)) {
                    fail!("{t:?}: {e}");
                }
            }
            Transition::Stranger => {
                let _ = cited(deviations::WX_MCHID_NOT_EXIST_UNSIGNED);
                let query = RefundQuery::by_out_refund_no(sut.ids.out_refund_no(0));
                let result = env.block_on(env.wechat.stranger.refund_query(&query));
                assert!(
                    matches!(
                        &result,
                        Err(wechat::Error::Business {
                            code: ErrCode::MchidNotExist,
                            ..
                        })
                    ),
                    "{t:?}: expected MCHID_NOT_EXIST, got {result:?}"
                );
            }
        }
        assert_eq!(
            &model, after,
            "executor and reference state machine disagree on {t:?}"
        );
        sut.before = model;
        sut
    }

    fn check_invariants(sut: &Sut, model: &Model) {
        let env = sut.env.clone();
        let prefix = sut.ids.prefix.clone();
        match env.block_on(invariants(&env, &prefix, model, sut.journal_seq.get())) {
            Ok(seq) => sut.journal_seq.set(seq),
            Err(message) => fail!("invariant broken: {message}"),
        }
    }
}

/// The invariants, read back through the admin API after every step:
/// - Σ refunds (not closed) of each order ≤ its total_fee;
/// - an out_refund_no appears once (never debited twice), and the server holds exactly the
///   refunds the model accepted, with the model's status;
/// - the balance plus the refunded (not closed) money equals the starting balance;
/// - every answer to this merchant since the case began is signed and verifies with the
///   request's sign type, except `MCHID_NOT_EXIST` (deviation `wx-mchid-not-exist-unsigned`).
pub(crate) async fn invariants(
    env: &Env,
    prefix: &str,
    model: &Model,
    since: u64,
) -> Result<u64, String> {
    let mch = &env.wechat.mch_id;
    let list = env
        .admin
        .wechat_refunds(&format!("mch_id={mch}"))
        .await
        .map_err(|e| e.to_string())?;
    let ours: Vec<&Value> = list
        .iter()
        .filter(|r| {
            r.get("out_refund_no")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    let mut per_order: HashMap<String, u64> = HashMap::new();
    let mut numbers = std::collections::HashSet::new();
    let mut live = 0u64;
    for r in &ours {
        let no = r
            .get("out_refund_no")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !numbers.insert(no.to_owned()) {
            return Err(format!("out_refund_no {no} holds two refunds"));
        }
        let status = r.get("status").and_then(Value::as_str).unwrap_or_default();
        let fee = r
            .get("refund_fee")
            .and_then(Value::as_u64)
            .unwrap_or_default();
        if status != "REFUNDCLOSE" {
            let order = r
                .get("out_trade_no")
                .and_then(Value::as_str)
                .unwrap_or_default();
            *per_order.entry(order.to_owned()).or_default() += fee;
            live += fee;
        }
        let number = no
            .strip_prefix(prefix)
            .and_then(|s| s.strip_prefix('r'))
            .and_then(|s| s.parse::<usize>().ok());
        let modelled = number.and_then(|n| model.refunds.iter().find(|m| m.number == n));
        match modelled {
            Some(m) if m.status.wire() == status && m.fee == fee => {}
            other => {
                return Err(format!(
                    "server holds refund {no} ({fee} fen, {status}); the model has {other:?}"
                ));
            }
        }
    }
    if ours.len() != model.refunds.len() {
        return Err(format!(
            "server holds {} refunds of this case, the model {}",
            ours.len(),
            model.refunds.len()
        ));
    }
    for (i, order) in model.orders.iter().enumerate() {
        let no = format!("{prefix}o{i}");
        let refunded = per_order.get(&no).copied().unwrap_or(0);
        if refunded > order.total {
            return Err(format!(
                "order {no}: refunds total {refunded} fen, more than its {} fen",
                order.total
            ));
        }
    }
    let balance = env
        .admin
        .merchant(mch)
        .await
        .map_err(|e| e.to_string())?
        .and_then(|m| m.get("refundable_balance").and_then(Value::as_u64))
        .ok_or("merchant not listed")?;
    if balance + live != model.initial_balance {
        return Err(format!(
            "balance {balance} + refunded {live} ≠ starting balance {}",
            model.initial_balance
        ));
    }
    if balance != model.balance {
        return Err(format!(
            "balance {balance}, the model has {}",
            model.balance
        ));
    }
    check_journal(env, since).await
}

async fn check_journal(env: &Env, since: u64) -> Result<u64, String> {
    let entries = env.admin.journal(50).await.map_err(|e| e.to_string())?;
    let mut last = since;
    for e in entries {
        let seq = e.get("seq").and_then(Value::as_u64).unwrap_or(0);
        last = last.max(seq);
        let merchant = e
            .get("merchant")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let path = e.get("path").and_then(Value::as_str).unwrap_or_default();
        // API v3 answers are JSON, signed in headers the journal does not keep: the mixed
        // machine's executor verifies each through the v3 client, which refuses an answer
        // that does not verify.
        if seq <= since || path.contains("gateway.do") || path.starts_with("/v3/") {
            continue;
        }
        let stranger = merchant == env.wechat.stranger_mch_id;
        if merchant != env.wechat.mch_id && !stranger {
            continue;
        }
        let body = e
            .get("response")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let params =
            xml::decode(body.as_bytes()).map_err(|x| format!("#{seq}: answer not XML: {x}"))?;
        if params.get("return_code") != Some("SUCCESS") {
            continue; // protocol failures are unsigned on the real platform too (§1.3)
        }
        if stranger {
            let _ = cited(deviations::WX_MCHID_NOT_EXIST_UNSIGNED);
            if params.get("err_code") != Some("MCHID_NOT_EXIST") || params.get("sign").is_some() {
                return Err(format!("#{seq}: unknown merchant answered {body}"));
            }
            continue;
        }
        let request: Vec<(String, String)> = e
            .get("request")
            .and_then(|r| serde_json::from_value(r.clone()).ok())
            .unwrap_or_default();
        let mut req = Params::new();
        for (k, v) in &request {
            req.insert_text(k.clone(), v.clone());
        }
        let sign_type = sign::request_sign_type(&req).map_err(|x| format!("#{seq}: {x}"))?;
        if params.get("sign").is_none() {
            return Err(format!(
                "#{seq}: return_code=SUCCESS answer without sign: {body}"
            ));
        }
        if !sign::verify(&params, &env.wechat.api_key, sign_type) {
            return Err(format!(
                "#{seq}: answer does not verify with {sign_type:?}: {body}"
            ));
        }
    }
    Ok(last)
}
