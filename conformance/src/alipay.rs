//! Alipay (`gateway.do`): the reference model of one app's trades and refunds and the state
//! machine that runs it against a server through the SDK.
//!
//! # The model
//! Written from spec `alipay.md` §4 (`alipay.trade.refund`, idempotency §4.5), §5 (refund
//! query) and §6 (trade states, trade query), plus the mock's documented choices where the
//! spec is UNCONFIRMED (cited by `DEVIATIONS.md` id). Refund checks, in order:
//! 1. trade unknown → `ACQ.TRADE_NOT_EXIST`;
//! 2. the request number (out_request_no, else the trade's out_trade_no) refunded before:
//!    same amount → success, `fund_change` N, nothing moved (also on a trade closed since);
//!    other amount → `ACQ.DISCORDANT_REPEAT_REQUEST`;
//! 3. WAIT_BUYER_PAY → `ACQ.TRADE_STATUS_ERROR`; TRADE_CLOSED → `ACQ.TRADE_HAS_CLOSE`;
//! 4. amount above the total, or partial without out_request_no →
//!    `ACQ.REFUND_AMT_NOT_EQUAL_TOTAL`;
//! 5. cumulative above the total → `ACQ.REASON_TRADE_REFUND_FEE_ERR`;
//! 6. within the spacing of the trade's previous refund → `ACQ.SYSTEM_ERROR`;
//! 7. the seller balance short → `ACQ.SELLER_BALANCE_NOT_ENOUGH`;
//! 8. done at once: `fund_change` Y, `refund_fee` the cumulative total; the refund reaching
//!    the total closes the trade.
//!
//! Timing as in [`crate::wechat`]: [`crate::wechat::PACE_MS`] before every refund request.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use paysandbox_protocol::alipay::{SignType, envelope, parse_public_key};
use paysandbox_sdk::alipay::{
    self, RefundQuery, RefundRequest, RefundStatus, TradeId, TradeStatus,
};
use paysandbox_testkit::admin::{AdminError, Fault, TradeTotal};
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};
use serde_json::{Value, json};

use crate::deviations::{self, cited};
use crate::env::{Env, begin_case};
use crate::fail;
use crate::wechat::PACE_MS;

/// A trade in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    /// total_amount, fen.
    pub total: u64,
    /// TRADE_SUCCESS (else WAIT_BUYER_PAY).
    pub paid: bool,
    /// Closed by a full refund.
    pub closed: bool,
    /// Refunded so far.
    pub refunded: u64,
    /// Model time of its last refund.
    pub last_refund_ms: Option<u64>,
}

/// A refund in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// Its trade.
    pub trade: usize,
    /// out_request_no slot (`None`: none sent, numbered by out_trade_no).
    pub number: Option<usize>,
    /// refund_amount.
    pub amount: u64,
}

/// The reference model of one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// Spacing, ms.
    pub spacing_ms: u64,
    /// Model time.
    pub now_ms: u64,
    /// Seller balance at the start.
    pub initial_balance: u64,
    /// Seller balance.
    pub balance: u64,
    /// Seeded trades.
    pub trades: Vec<Trade>,
    /// Refunds made.
    pub refunds: Vec<Refund>,
    /// out_request_no slots handed out.
    pub numbers: usize,
    /// Queued fault for the next refund: (sub_code, after_apply).
    pub fault: Option<(&'static str, bool)>,
}

/// What the model predicts for a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Success: fund_change, cumulative refund_fee.
    Done {
        /// Money moved.
        fund_change: bool,
        /// The trade's cumulative refund.
        refund_fee: u64,
    },
    /// Refused with this sub_code.
    Refused(&'static str),
}

fn pick(id: &'static str, answer: &'static str) -> &'static str {
    let _ = cited(id);
    answer
}

impl Model {
    fn new(spacing_ms: u64, balance: u64) -> Model {
        Model {
            spacing_ms,
            now_ms: 0,
            initial_balance: balance,
            balance,
            trades: Vec::new(),
            refunds: Vec::new(),
            numbers: 0,
            fault: None,
        }
    }

    /// Applies a refund request.
    pub fn refund(&mut self, a: &RefundArgs) -> RefundOutcome {
        self.now_ms += PACE_MS;
        let fault = self.fault.take();
        if let Some((code, false)) = fault {
            return RefundOutcome::Refused(code);
        }
        let outcome = self.ledger_refund(a);
        match fault {
            Some((code, _)) => RefundOutcome::Refused(code),
            None => outcome,
        }
    }

    fn ledger_refund(&mut self, a: &RefundArgs) -> RefundOutcome {
        use RefundOutcome::Refused;
        let Some(ti) = a.trade.filter(|i| *i < self.trades.len()) else {
            return Refused("ACQ.TRADE_NOT_EXIST");
        };
        let Some(trade) = self.trades.get(ti).cloned() else {
            return Refused("ACQ.TRADE_NOT_EXIST");
        };
        if a.number.is_none() {
            let _ = cited(deviations::ALI_REFUND_WITHOUT_OUT_REQUEST_NO);
        }
        if let Some(earlier) = self
            .refunds
            .iter()
            .find(|r| r.trade == ti && r.number == a.number)
        {
            if earlier.amount != a.amount {
                return Refused("ACQ.DISCORDANT_REPEAT_REQUEST");
            }
            if trade.closed {
                let _ = cited(deviations::ALI_REPLAY_AFTER_CLOSE);
            }
            return RefundOutcome::Done {
                fund_change: false,
                refund_fee: trade.refunded,
            };
        }
        if !trade.paid {
            return Refused("ACQ.TRADE_STATUS_ERROR");
        }
        if trade.closed {
            return Refused("ACQ.TRADE_HAS_CLOSE");
        }
        if a.amount > trade.total || (a.number.is_none() && a.amount != trade.total) {
            return Refused("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
        }
        if a.amount > trade.total - trade.refunded {
            return Refused("ACQ.REASON_TRADE_REFUND_FEE_ERR");
        }
        if trade
            .last_refund_ms
            .is_some_and(|at| self.now_ms - at < self.spacing_ms)
        {
            return Refused(pick(deviations::ALI_REFUND_SPACING, "ACQ.SYSTEM_ERROR"));
        }
        if self.balance < a.amount {
            return Refused(pick(
                deviations::ALI_SELLER_BALANCE,
                "ACQ.SELLER_BALANCE_NOT_ENOUGH",
            ));
        }
        self.balance -= a.amount;
        let now = self.now_ms;
        let Some(t) = self.trades.get_mut(ti) else {
            return Refused("ACQ.TRADE_NOT_EXIST");
        };
        t.refunded += a.amount;
        t.last_refund_ms = Some(now);
        if t.refunded == t.total {
            t.closed = true;
        }
        let refund_fee = t.refunded;
        self.refunds.push(Refund {
            trade: ti,
            number: a.number,
            amount: a.amount,
        });
        RefundOutcome::Done {
            fund_change: true,
            refund_fee,
        }
    }
}

/// A refund request.
#[derive(Clone, PartialEq, Eq)]
pub struct RefundArgs {
    /// The trade (`None`: one never seeded).
    pub trade: Option<usize>,
    /// Name it by trade_no (else out_trade_no).
    pub by_trade_no: bool,
    /// out_request_no slot (`None`: omitted).
    pub number: Option<usize>,
    /// refund_amount, fen.
    pub amount: u64,
}

/// One step of an Alipay case.
#[derive(Clone, PartialEq, Eq)]
pub enum Transition {
    /// Seed a trade.
    Seed {
        /// total_amount, fen.
        total: u64,
        /// TRADE_SUCCESS (else WAIT_BUYER_PAY).
        paid: bool,
    },
    /// `alipay.trade.refund`.
    Refund(RefundArgs),
    /// `alipay.trade.fastpay.refund.query` by out_trade_no and an out_request_no slot
    /// (`None`: the out_trade_no itself).
    Query {
        /// The trade.
        trade: Option<usize>,
        /// The slot.
        number: Option<usize>,
    },
    /// `alipay.trade.query`.
    TradeQuery(Option<usize>),
    /// Advance the sandbox clock.
    Advance {
        /// Seconds.
        secs: u64,
    },
    /// Queue a fault for the next refund.
    Fault {
        /// sub_code.
        code: &'static str,
        /// After the ledger applied the request.
        after_apply: bool,
    },
}

fn trade_name(t: Option<usize>) -> String {
    t.map_or_else(|| "unknown-trade".to_owned(), |i| format!("trade#{i}"))
}

fn number_name(n: Option<usize>) -> String {
    n.map_or_else(
        || "no out_request_no".to_owned(),
        |i| format!("request#{i}"),
    )
}

impl fmt::Debug for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transition::Seed { total, paid } => write!(
                f,
                "seed trade total={total} fen{}",
                if *paid { "" } else { " WAIT_BUYER_PAY" }
            ),
            Transition::Refund(a) => write!(
                f,
                "refund {} by {}, {}, amount={} fen",
                trade_name(a.trade),
                if a.by_trade_no {
                    "trade_no"
                } else {
                    "out_trade_no"
                },
                number_name(a.number),
                a.amount
            ),
            Transition::Query { trade, number } => write!(
                f,
                "refund query {} {}",
                trade_name(*trade),
                number_name(*number)
            ),
            Transition::TradeQuery(t) => write!(f, "trade query {}", trade_name(*t)),
            Transition::Advance { secs } => write!(f, "advance clock {secs}s"),
            Transition::Fault { code, after_apply } => write!(
                f,
                "inject {code}{} into the next refund",
                if *after_apply { " after_apply" } else { "" }
            ),
        }
    }
}

/// Seller balance every case starts with.
pub const START_BALANCE: u64 = 20_000;

thread_local! {
    static SPACING: Cell<u64> = const { Cell::new(3_000) };
}

/// Sets the spacing the model uses on this thread.
pub fn set_rules(env: &Env) {
    SPACING.with(|s| s.set(env.rules.alipay_spacing_secs * 1000));
}

/// The reference state machine.
#[derive(Debug, Clone, Copy)]
pub struct Reference;

fn trade_pick(state: &Model) -> BoxedStrategy<Option<usize>> {
    let n = state.trades.len();
    if n == 0 {
        return Just(None).boxed();
    }
    prop_oneof![9 => (0..n).prop_map(Some), 1 => Just(None)].boxed()
}

fn number_pick(state: &Model) -> BoxedStrategy<Option<usize>> {
    prop_oneof![9 => (0..=state.numbers).prop_map(Some), 1 => Just(None)].boxed()
}

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model::new(SPACING.with(Cell::get), START_BALANCE)).boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Transition> {
        let seed = (
            prop_oneof![Just(100u64), 1u64..=10_000],
            prop::bool::weighted(0.9),
        )
            .prop_map(|(total, paid)| Transition::Seed { total, paid });
        if state.trades.is_empty() {
            return seed.boxed();
        }
        let max_total = state.trades.iter().map(|t| t.total).max().unwrap_or(1);
        let refund = (
            trade_pick(state),
            prop::bool::weighted(0.3),
            number_pick(state),
            prop_oneof![1u64..=max_total, Just(max_total), Just(1)],
        )
            .prop_map(|(trade, by_trade_no, number, amount)| {
                Transition::Refund(RefundArgs {
                    trade,
                    by_trade_no,
                    number,
                    amount,
                })
            });
        let query = (trade_pick(state), number_pick(state))
            .prop_map(|(trade, number)| Transition::Query { trade, number });
        let advance = prop_oneof![Just(2u64), Just(8), Just(62)]
            .prop_map(|secs| Transition::Advance { secs });
        let fault = (
            prop_oneof![Just("ACQ.SYSTEM_ERROR"), Just("isp.unknow-error")],
            any::<bool>(),
        )
            .prop_map(|(code, after_apply)| Transition::Fault { code, after_apply });
        prop_oneof![
            2 => seed,
            8 => refund,
            3 => query,
            2 => trade_pick(state).prop_map(Transition::TradeQuery),
            3 => advance,
            1 => fault,
        ]
        .boxed()
    }

    fn preconditions(state: &Model, t: &Transition) -> bool {
        let trade_ok = |t: &Option<usize>| t.is_none_or(|i| i < state.trades.len());
        let number_ok = |n: &Option<usize>| n.is_none_or(|i| i <= state.numbers);
        match t {
            Transition::Seed { .. } | Transition::Advance { .. } => true,
            Transition::Refund(a) => {
                trade_ok(&a.trade)
                    && number_ok(&a.number)
                    && a.amount >= 1
                    && (a.trade.is_some() || !a.by_trade_no)
            }
            Transition::Query { trade, number } => trade_ok(trade) && number_ok(number),
            Transition::TradeQuery(trade) => trade_ok(trade),
            Transition::Fault { .. } => state.fault.is_none(),
        }
    }

    fn apply(mut state: Model, t: &Transition) -> Model {
        match t {
            Transition::Seed { total, paid } => state.trades.push(Trade {
                total: *total,
                paid: *paid,
                closed: false,
                refunded: 0,
                last_refund_ms: None,
            }),
            Transition::Refund(a) => {
                if a.number == Some(state.numbers) {
                    state.numbers += 1;
                }
                state.refund(a);
            }
            Transition::Query { .. } | Transition::TradeQuery(_) => {}
            Transition::Advance { secs } => state.now_ms += secs * 1000,
            Transition::Fault { code, after_apply } => state.fault = Some((code, *after_apply)),
        }
        state
    }
}

/// The system under test.
pub struct Sut {
    env: Arc<Env>,
    prefix: String,
    trade_nos: Vec<String>,
    before: Model,
    journal_seq: Cell<u64>,
}

impl fmt::Debug for Sut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "alipay::Sut({})", self.prefix)
    }
}

impl Sut {
    fn out_trade_no(&self, t: Option<usize>) -> String {
        t.map_or_else(
            || format!("{}nope", self.prefix),
            |i| format!("{}t{i}", self.prefix),
        )
    }

    fn out_request_no(&self, trade: Option<usize>, n: Option<usize>) -> String {
        n.map_or_else(
            || self.out_trade_no(trade),
            |i| format!("{}q{i}", self.prefix),
        )
    }

    fn trade_id(&self, t: Option<usize>, by_trade_no: bool) -> TradeId {
        match t.and_then(|i| self.trade_nos.get(i)) {
            Some(no) if by_trade_no => TradeId::TradeNo(no.clone()),
            _ => TradeId::OutTradeNo(self.out_trade_no(t)),
        }
    }
}

fn sub_code_of<T: fmt::Debug>(result: &Result<T, alipay::Error>) -> Option<String> {
    match result {
        Err(alipay::Error::Gateway { sub_code, .. }) => Some(sub_code.as_str().to_owned()),
        _ => None,
    }
}

/// The [`StateMachineTest`] binding for Alipay.
#[derive(Debug, Clone, Copy)]
pub struct Machine;

impl StateMachineTest for Machine {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(ref_state: &Model) -> Sut {
        let env = crate::current_env();
        let prefix = env.next_case_prefix();
        let admin = env.admin.clone();
        let app = env.alipay.app_id.clone();
        let balance = ref_state.balance;
        let seq = env.block_on(async move {
            admin
                .update_app(&app, json!({ "seller_balance": balance }))
                .await?;
            begin_case(&admin).await
        });
        let seq = seq.unwrap_or_else(|e| fail!("case setup failed: {e}"));
        Sut {
            env,
            prefix,
            trade_nos: Vec::new(),
            before: ref_state.clone(),
            journal_seq: Cell::new(seq),
        }
    }

    fn apply(mut sut: Sut, after: &Model, t: Transition) -> Sut {
        let env = sut.env.clone();
        let client = &env.alipay.client;
        let mut model = sut.before.clone();
        match &t {
            Transition::Seed { total, paid } => {
                let extra = json!({
                    "status": if *paid { "TRADE_SUCCESS" } else { "WAIT_BUYER_PAY" },
                    "paid_seconds_ago": 60,
                });
                let out_trade_no = sut.out_trade_no(Some(sut.trade_nos.len()));
                let trade = env
                    .block_on(env.admin.seed_trade(
                        &env.alipay.app_id,
                        &out_trade_no,
                        TradeTotal::Fen(*total),
                        extra,
                    ))
                    .unwrap_or_else(|e| fail!("{t:?}: {e}"));
                let no = trade
                    .get("trade_no")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                sut.trade_nos.push(no.to_owned());
                model = <Reference as ReferenceStateMachine>::apply(model, &t);
            }
            Transition::Refund(a) => {
                if a.number == Some(model.numbers) {
                    model.numbers += 1;
                }
                let predicted = model.refund(a);
                let mut builder = RefundRequest::builder()
                    .trade(sut.trade_id(a.trade, a.by_trade_no))
                    .refund_amount(a.amount);
                builder = match a.number {
                    Some(_) => builder.out_request_no(sut.out_request_no(a.trade, a.number)),
                    None => builder.omit_out_request_no(),
                };
                let request = builder
                    .build()
                    .unwrap_or_else(|e| fail!("{t:?}: refused by the SDK's own checks: {e}"));
                let result = env
                    .block_on(async {
                        env.admin.advance_ms(PACE_MS).await?;
                        Ok::<_, AdminError>(client.trade_refund(&request).await)
                    })
                    .unwrap_or_else(|e| fail!("{t:?}: clock: {e}"));
                match predicted {
                    RefundOutcome::Done {
                        fund_change,
                        refund_fee,
                    } => {
                        let response = result.as_ref().unwrap_or_else(|e| {
                            fail!("{t:?}: model refunds, server answered {e:?}")
                        });
                        assert_eq!(
                            response.fund_change,
                            Some(fund_change),
                            "{t:?}: fund_change"
                        );
                        assert_eq!(
                            response.refund_fee.map(|f| f.0),
                            Some(refund_fee),
                            "{t:?}: refund_fee (cumulative)"
                        );
                    }
                    RefundOutcome::Refused(code) => assert_eq!(
                        sub_code_of(&result).as_deref(),
                        Some(code),
                        "{t:?}: model refuses with {code}, server answered {result:?}"
                    ),
                }
            }
            Transition::Query { trade, number } => {
                let query = RefundQuery::new(
                    TradeId::OutTradeNo(sut.out_trade_no(*trade)),
                    sut.out_request_no(*trade, *number),
                );
                let result = env.block_on(client.refund_query(&query));
                let exists = trade.is_some_and(|i| i < model.trades.len());
                let refund = model
                    .refunds
                    .iter()
                    .find(|r| Some(r.trade) == *trade && r.number == *number);
                match (exists, refund) {
                    (false, _) => assert_eq!(
                        sub_code_of(&result).as_deref(),
                        Some("ACQ.TRADE_NOT_EXIST"),
                        "{t:?}: {result:?}"
                    ),
                    (true, None) => {
                        let _ = cited(deviations::ALI_QUERY_NEVER_REFUNDED);
                        let r = result.as_ref().unwrap_or_else(|e| fail!("{t:?}: {e:?}"));
                        assert!(
                            r.refund_status.is_none() && r.refund_amount.is_none(),
                            "{t:?}: a refund never made must read as not made: {r:?}"
                        );
                    }
                    (true, Some(m)) => {
                        let _ = cited(deviations::ALI_QUERY_REFUND_STATUS);
                        let r = result.as_ref().unwrap_or_else(|e| fail!("{t:?}: {e:?}"));
                        assert_eq!(r.refund_status, Some(RefundStatus::RefundSuccess), "{t:?}");
                        assert_eq!(
                            r.refund_amount.map(|f| f.0),
                            Some(m.amount),
                            "{t:?}: refund_amount"
                        );
                    }
                }
            }
            Transition::TradeQuery(trade) => {
                let result = env
                    .block_on(client.trade_query(&TradeId::OutTradeNo(sut.out_trade_no(*trade))));
                match trade.and_then(|i| model.trades.get(i)) {
                    None => assert_eq!(
                        sub_code_of(&result).as_deref(),
                        Some("ACQ.TRADE_NOT_EXIST"),
                        "{t:?}: {result:?}"
                    ),
                    Some(m) => {
                        let r = result.as_ref().unwrap_or_else(|e| fail!("{t:?}: {e:?}"));
                        let want = if !m.paid {
                            TradeStatus::WaitBuyerPay
                        } else if m.closed {
                            TradeStatus::TradeClosed
                        } else {
                            TradeStatus::TradeSuccess
                        };
                        assert_eq!(r.trade_status, Some(want), "{t:?}: trade_status");
                        assert_eq!(
                            r.total_amount.map(|f| f.0),
                            Some(m.total),
                            "{t:?}: total_amount"
                        );
                    }
                }
            }
            Transition::Advance { secs } => {
                model.now_ms += secs * 1000;
                env.block_on(env.admin.advance_ms(secs * 1000))
                    .unwrap_or_else(|e| fail!("{t:?}: {e}"));
            }
            Transition::Fault { code, after_apply } => {
                model.fault = Some((code, *after_apply));
                let fault = Fault::err_code("alipay.trade.refund", code)
                    .count(1)
                    .after_apply(*after_apply);
                env.block_on(env.admin.inject_fault(&fault))
                    .unwrap_or_else(|e| fail!("{t:?}: {e}"));
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
        match env.block_on(invariants(&env, &sut.prefix, model, sut.journal_seq.get())) {
            Ok(seq) => sut.journal_seq.set(seq),
            Err(message) => fail!("invariant broken: {message}"),
        }
    }
}

/// The invariants after every step: Σ refunds of a trade ≤ its total; one refund per
/// (trade, out_request_no); the server holds exactly the model's refunds; seller balance +
/// refunded = the starting balance; every answer since the last check is signed and verifies
/// with the app's Alipay public key and the request's sign_type. Returns the journal position
/// checked up to.
async fn invariants(env: &Env, prefix: &str, model: &Model, since: u64) -> Result<u64, String> {
    let app = &env.alipay.app_id;
    let refunds = env
        .admin
        .alipay_refunds(app)
        .await
        .map_err(|e| e.to_string())?;
    let ours: Vec<&Value> = refunds
        .iter()
        .filter(|r| {
            r.get("out_trade_no")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    let mut keys = HashSet::new();
    let mut per_trade: HashMap<String, u64> = HashMap::new();
    let mut total = 0;
    for r in &ours {
        let trade = r
            .get("out_trade_no")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let no = r
            .get("out_request_no")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let amount = r
            .get("refund_amount")
            .and_then(Value::as_u64)
            .unwrap_or_default();
        if !keys.insert((trade.to_owned(), no.to_owned())) {
            return Err(format!("{trade}/{no} refunded twice"));
        }
        *per_trade.entry(trade.to_owned()).or_default() += amount;
        total += amount;
    }
    if ours.len() != model.refunds.len() {
        return Err(format!(
            "server holds {} refunds of this case, the model {}",
            ours.len(),
            model.refunds.len()
        ));
    }
    for (i, trade) in model.trades.iter().enumerate() {
        let no = format!("{prefix}t{i}");
        let refunded = per_trade.get(&no).copied().unwrap_or(0);
        if refunded > trade.total {
            return Err(format!(
                "trade {no}: refunds total {refunded} fen, more than its {} fen",
                trade.total
            ));
        }
        if refunded != trade.refunded {
            return Err(format!(
                "trade {no}: server refunded {refunded} fen, the model {}",
                trade.refunded
            ));
        }
    }
    let balance = env
        .admin
        .app(app)
        .await
        .map_err(|e| e.to_string())?
        .and_then(|a| a.get("seller_balance").and_then(Value::as_u64))
        .ok_or("app not listed")?;
    if balance + total != model.initial_balance || balance != model.balance {
        return Err(format!(
            "seller balance {balance} + refunded {total}; the model: {} from {}",
            model.balance, model.initial_balance
        ));
    }
    let key = parse_public_key(&env.alipay.alipay_public_key).map_err(|e| e.to_string())?;
    let tail = env.admin.journal(50).await.map_err(|e| e.to_string())?;
    let mut last = since;
    for e in &tail {
        let seq = e.get("seq").and_then(Value::as_u64).unwrap_or(0);
        last = last.max(seq);
        if seq <= since || e.get("merchant").and_then(Value::as_str) != Some(app) {
            continue;
        }
        let request: Vec<(String, String)> = e
            .get("request")
            .and_then(|r| serde_json::from_value(r.clone()).ok())
            .unwrap_or_default();
        let param = |k: &str| {
            request
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        let method = param("method").unwrap_or_default();
        let sign_type = param("sign_type")
            .and_then(SignType::from_wire)
            .unwrap_or(SignType::Rsa2);
        let body = e
            .get("response")
            .and_then(Value::as_str)
            .unwrap_or_default();
        envelope::verify_response(body, method, &key, sign_type)
            .map_err(|x| format!("#{seq}: answer to {method} does not verify ({x}): {body}"))?;
    }
    Ok(last)
}
