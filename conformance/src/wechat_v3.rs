//! WeChat Pay v2 and API v3 on one ledger: a state machine that mixes both protocols' calls on
//! the same orders and refunds, predicted by the one reference model of [`crate::wechat`].
//!
//! # What is checked
//! Each transition picks a protocol: a refund through v2 (`/secapi/pay/refund`) or v3
//! (`POST /v3/refund/domestic/refunds`), a refund query through v2 (any selector) or v3 (by
//! `out_refund_no`), an order query through v2 or v3 (by `out_trade_no` or `transaction_id`),
//! and a fault queued on v2's or v3's refund endpoint. The model is protocol-blind; the
//! executor translates its prediction into each protocol's words and asserts the answer
//! exactly:
//! - statuses: v3's `ABNORMAL` is v2's `CHANGE`, `CLOSED` is `REFUNDCLOSE` ([`v3_status`]);
//! - refusals: each v2 code the model predicts maps to one v3 code and HTTP status
//!   ([`v3_refund_code`]): `ORDERNOTEXIST` → 404 `RESOURCE_NOT_EXISTS`, `NOTENOUGH` → 403
//!   `NOT_ENOUGH`, `FREQUENCY_LIMITED` → 429, the broken business rules → 400
//!   `INVALID_REQUEST`; an unknown refund is 404 `RESOURCE_NOT_EXISTS`, an unknown order 404
//!   `ORDER_NOT_EXIST`;
//! - amounts, ids (`refund_id`, `transaction_id`, `out_trade_no`) and states, whichever
//!   protocol made the refund;
//! - [`Transition::Compare`] asks both protocols about one refund and asserts that they agree
//!   field by field (success times too, Beijing time in both spellings), besides the model.
//!
//! v3 answers are read through the SDK's v3 client, which verifies every 2xx answer's
//! `Wechatpay-Signature` with the platform identity the admin API names and refuses one that
//! does not verify: a signature failure is a failed case. After every step the invariants of
//! [`crate::wechat`] run (Σ refunds ≤ paid, one debit per refund number, the server holds
//! exactly the model's refunds, balance conserved, v2 answers signed).
//!
//! Pacing and timing are the v2 machine's: the clock moves [`PACE_MS`] before every refund
//! of either protocol, which keeps the shared request limits out of reach.

use std::fmt;
use std::sync::Arc;

use paysandbox_sdk::wechat::v3;
use paysandbox_sdk::wechat::{self, OrderId, RefundQuery, RefundRequest};
use paysandbox_testkit::admin::{self, AdminError};
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};
use serde_json::json;

use crate::deviations::{self, cited};
use crate::env::Env;
use crate::fail;
use crate::wechat::{
    CaseIds, Fault, Model, Order, OrderPick, PACE_MS, QueryBy, QueryOutcome, RefundArgs,
    RefundOutcome, START_BALANCE, Status, begin_wechat_case, code_of, invariants, order_pick,
};

/// The protocol a transition speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// XML, MD5 / HMAC-SHA256 signed.
    V2,
    /// API v3: JSON, RSA-signed.
    V3,
}

/// A refund status as v3 spells it.
pub fn v3_status(status: Status) -> &'static str {
    match status {
        Status::Processing => "PROCESSING",
        Status::Success => "SUCCESS",
        Status::RefundClose => "CLOSED",
        Status::Change => "ABNORMAL",
    }
}

/// The v3 code and HTTP status that answer a refund the model refuses with v2 code `v2`
/// (spec `wechat-v3.md` §1.7's refund table; which rule gives which code is the mock's
/// documented choice). A v3 fault's code is already v3's. Anything else maps to itself with
/// status 0, which no answer has: an unmapped prediction fails the case.
pub fn v3_refund_code(v2: &'static str) -> (&'static str, u16) {
    let _ = cited(deviations::WX3_REFUND_CODES);
    match v2 {
        "ORDERNOTEXIST" | "INVALID_TRANSACTIONID" => ("RESOURCE_NOT_EXISTS", 404),
        "REFUND_FEE_MISMATCH" | "TRADE_STATE_ERROR" | "INVALID_REQUEST" => ("INVALID_REQUEST", 400),
        "FREQUENCY_LIMITED" => ("FREQUENCY_LIMITED", 429),
        "NOTENOUGH" => ("NOT_ENOUGH", 403),
        "SYSTEM_ERROR" => ("SYSTEM_ERROR", 500),
        other => (other, 0),
    }
}

/// The model: one ledger, and a queued fault per protocol's refund endpoint (the server keeps
/// one queue per endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// The protocol-blind ledger model.
    pub ledger: Model,
    /// Queued on `wechat.refund`.
    pub v2_fault: Option<Fault>,
    /// Queued on `wechat.v3.refund`.
    pub v3_fault: Option<Fault>,
}

impl State {
    /// A refund request through `via`: the ledger model, with that protocol's queued fault.
    pub fn refund(&mut self, args: &RefundArgs, via: Protocol) -> RefundOutcome {
        if args.number == self.ledger.numbers {
            self.ledger.numbers += 1;
        }
        self.ledger.fault = match via {
            Protocol::V2 => self.v2_fault.take(),
            Protocol::V3 => self.v3_fault.take(),
        };
        self.ledger.refund(args)
    }
}

/// One step of a mixed case.
#[derive(Clone, PartialEq, Eq)]
pub enum Transition {
    /// Seed an order (paid or NOTPAY).
    Seed {
        /// total_fee.
        total: u64,
        /// Paid.
        paid: bool,
    },
    /// A refund request through either protocol.
    Refund(RefundArgs, Protocol),
    /// A v2 refund query.
    QueryV2(QueryBy),
    /// A v3 refund query by out_refund_no slot.
    QueryV3(usize),
    /// An order query through either protocol.
    OrderQuery {
        /// The order.
        order: OrderPick,
        /// By transaction_id (else out_trade_no).
        by_transaction_id: bool,
        /// The protocol.
        via: Protocol,
    },
    /// Both protocols about one refund (an out_refund_no slot): they must agree.
    Compare(usize),
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
    /// Queue a fault for the next refund of one protocol.
    Fault(Fault, Protocol),
}

fn tag(via: Protocol) -> &'static str {
    match via {
        Protocol::V2 => "v2",
        Protocol::V3 => "v3",
    }
}

impl fmt::Debug for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transition::Seed { total, paid } => write!(
                f,
                "seed order total_fee={total}{}",
                if *paid { "" } else { " NOTPAY" }
            ),
            Transition::Refund(a, via) => write!(f, "{} {a:?}", tag(*via)),
            Transition::QueryV2(by) => write!(f, "v2 refund query by {by:?}"),
            Transition::QueryV3(n) => write!(f, "v3 refund query refund#{n}"),
            Transition::OrderQuery {
                order,
                by_transaction_id,
                via,
            } => write!(
                f,
                "{} order query {order:?} by {}",
                tag(*via),
                if *by_transaction_id {
                    "transaction_id"
                } else {
                    "out_trade_no"
                }
            ),
            Transition::Compare(n) => write!(f, "compare refund#{n} through v2 and v3"),
            Transition::Advance { secs } => write!(f, "advance clock {secs}s"),
            Transition::Force { number, status } => {
                write!(f, "force refund#{number} to {}", status.wire())
            }
            Transition::Fault(x, via) => write!(
                f,
                "inject {}{} into the next {} refund",
                x.code,
                if x.after_apply { " after_apply" } else { "" },
                tag(*via)
            ),
        }
    }
}

/// The reference state machine.
#[derive(Debug, Clone, Copy)]
pub struct Reference;

impl ReferenceStateMachine for Reference {
    type State = State;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<State> {
        let (settle, spacing) = crate::wechat::rules();
        Just(State {
            ledger: Model::new(settle, spacing, START_BALANCE),
            v2_fault: None,
            v3_fault: None,
        })
        .boxed()
    }

    fn transitions(state: &State) -> BoxedStrategy<Transition> {
        let seed = (
            prop_oneof![Just(100u64), Just(999), 1u64..=10_000],
            prop::bool::weighted(0.9),
        )
            .prop_map(|(total, paid)| Transition::Seed { total, paid });
        let model = &state.ledger;
        if model.orders.is_empty() {
            return seed.boxed();
        }
        let numbers = model.numbers;
        let max_total = model.orders.iter().map(|o| o.total).max().unwrap_or(1);
        let via = prop_oneof![Just(Protocol::V2), Just(Protocol::V3)];
        let refund = (
            order_pick(model),
            prop::bool::weighted(0.3),
            0..=numbers,
            prop_oneof![1u64..=max_total, Just(max_total), Just(1)],
            prop::bool::weighted(0.1),
            any::<bool>(),
            via.clone(),
        )
            .prop_map(
                |(order, by_transaction_id, number, fee, wrong_total, hmac, via)| {
                    Transition::Refund(
                        RefundArgs {
                            order,
                            by_transaction_id,
                            number,
                            fee,
                            wrong_total,
                            // v3 has one signature scheme.
                            hmac: hmac && via == Protocol::V2,
                        },
                        via,
                    )
                },
            );
        let query_v2 = prop_oneof![
            (0..=numbers).prop_map(QueryBy::RefundId),
            (0..=numbers).prop_map(QueryBy::OutRefundNo),
            order_pick(model).prop_map(QueryBy::TransactionId),
            order_pick(model).prop_map(QueryBy::OutTradeNo),
        ]
        .prop_map(Transition::QueryV2);
        let order_query = (order_pick(model), prop::bool::weighted(0.4), via.clone()).prop_map(
            |(order, by_transaction_id, via)| Transition::OrderQuery {
                order,
                by_transaction_id,
                via,
            },
        );
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
        let fault = prop_oneof![
            (
                prop_oneof![Just("SYSTEMERROR"), Just("BIZERR_NEED_RETRY")],
                any::<bool>()
            )
                .prop_map(|(code, after_apply)| Transition::Fault(
                    Fault { code, after_apply },
                    Protocol::V2
                )),
            any::<bool>().prop_map(|after_apply| Transition::Fault(
                Fault {
                    code: "SYSTEM_ERROR",
                    after_apply
                },
                Protocol::V3
            )),
        ];
        prop_oneof![
            2 => seed,
            8 => refund,
            2 => query_v2,
            3 => (0..=numbers).prop_map(Transition::QueryV3),
            2 => order_query,
            2 => (0..numbers.max(1)).prop_map(Transition::Compare),
            3 => advance,
            1 => force,
            1 => fault,
        ]
        .boxed()
    }

    fn preconditions(state: &State, t: &Transition) -> bool {
        let model = &state.ledger;
        let order_ok = |o: &OrderPick| match o {
            OrderPick::Seeded(i) => *i < model.orders.len(),
            OrderPick::Unknown => true,
        };
        // A transaction_id exists for paid orders only (unknown orders get a made-up one).
        let has_id = |o: &OrderPick| {
            order_ok(o)
                && o.index()
                    .is_none_or(|i| model.orders.get(i).is_some_and(|o| o.paid))
        };
        match t {
            Transition::Seed { .. } | Transition::Advance { .. } => true,
            Transition::Refund(a, _) => {
                // refund above total is refused by both SDKs before sending.
                let stated_total = a
                    .order
                    .index()
                    .and_then(|i| model.orders.get(i))
                    .map_or(u64::MAX, |o| o.total + u64::from(a.wrong_total));
                (!a.by_transaction_id || has_id(&a.order))
                    && order_ok(&a.order)
                    && a.number <= model.numbers
                    && a.fee >= 1
                    && a.fee <= stated_total
            }
            Transition::QueryV2(by) => match by {
                QueryBy::RefundId(n) | QueryBy::OutRefundNo(n) => *n <= model.numbers,
                QueryBy::TransactionId(o) => has_id(o),
                QueryBy::OutTradeNo(o) => order_ok(o),
            },
            Transition::QueryV3(n) => *n <= model.numbers,
            Transition::OrderQuery {
                order,
                by_transaction_id,
                ..
            } => {
                if *by_transaction_id {
                    has_id(order)
                } else {
                    order_ok(order)
                }
            }
            Transition::Compare(n) | Transition::Force { number: n, .. } => {
                model.refund_by_number(*n).is_some()
            }
            Transition::Fault(_, Protocol::V2) => state.v2_fault.is_none(),
            Transition::Fault(_, Protocol::V3) => state.v3_fault.is_none(),
        }
    }

    fn apply(mut state: State, t: &Transition) -> State {
        match t {
            Transition::Seed { total, paid } => state.ledger.orders.push(Order {
                total: *total,
                paid: *paid,
                refunds: Vec::new(),
            }),
            Transition::Refund(a, via) => {
                state.refund(a, *via);
            }
            Transition::QueryV2(by) => {
                state.ledger.query(by);
            }
            Transition::QueryV3(n) | Transition::Compare(n) => {
                state.ledger.query(&QueryBy::OutRefundNo(*n));
            }
            Transition::OrderQuery { order, .. } => {
                state.ledger.trade_state(*order);
            }
            Transition::Advance { secs } => {
                state.ledger.now_ms += secs * 1000;
                state.ledger.settle();
            }
            Transition::Force { number, status } => {
                state.ledger.force(*number, *status);
            }
            Transition::Fault(f, Protocol::V2) => state.v2_fault = Some(*f),
            Transition::Fault(f, Protocol::V3) => state.v3_fault = Some(*f),
        }
        state
    }
}

/// The system under test: the server through both SDK clients, plus the ids it handed out.
pub struct Sut {
    env: Arc<Env>,
    ids: CaseIds,
    before: State,
    journal_seq: std::cell::Cell<u64>,
}

impl fmt::Debug for Sut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wechat_v3::Sut({})", self.ids.prefix)
    }
}

impl Sut {
    fn v2(&self, hmac: bool) -> &wechat::Client {
        if hmac {
            &self.env.wechat.hmac
        } else {
            &self.env.wechat.md5
        }
    }

    fn v3(&self) -> &v3::Client {
        &self.env.wechat.v3
    }

    fn order_id(&self, order: OrderPick, by_transaction_id: bool) -> OrderId {
        if by_transaction_id {
            OrderId::TransactionId(self.ids.transaction_id(order))
        } else {
            OrderId::OutTradeNo(self.ids.out_trade_no(order))
        }
    }

    /// Learns the refund_id of a refund the ledger made although its answer was a fault.
    fn learn_refund_id(&mut self, t: &Transition, model: &Model, number: usize) {
        if self.ids.refund_ids.contains_key(&number) || model.refund_by_number(number).is_none() {
            return;
        }
        let out_refund_no = self.ids.out_refund_no(number);
        match self
            .env
            .block_on(self.env.wechat.v3.refund_query(&out_refund_no))
        {
            Ok(refund) => {
                self.ids.refund_ids.insert(number, refund.refund_id);
            }
            Err(e) => fail!("{t:?}: the refund applied before the fault is not queryable: {e}"),
        }
    }
}

/// `(code, HTTP status)` of a v3 error answer.
fn v3_error<T: fmt::Debug>(result: &Result<T, v3::Error>) -> Option<(String, u16)> {
    match result {
        Err(v3::Error::Api { status, code, .. }) => Some((code.as_str().to_owned(), *status)),
        _ => None,
    }
}

/// v2's `yyyyMMddHHmmss` or `yyyy-MM-dd HH:mm:ss` and v3's RFC 3339 (Beijing time) as digits
/// only, without the offset: equal when both name the same second.
fn time_digits(text: &str) -> String {
    let local = text.get(..19).unwrap_or(text);
    local.chars().filter(char::is_ascii_digit).collect()
}

/// The [`StateMachineTest`] binding.
#[derive(Debug, Clone, Copy)]
pub struct Machine;

impl StateMachineTest for Machine {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(ref_state: &State) -> Sut {
        let env = crate::current_env();
        let prefix = env.next_case_prefix();
        let seq = begin_wechat_case(&env, ref_state.ledger.balance);
        Sut {
            env,
            ids: CaseIds::new(prefix),
            before: ref_state.clone(),
            journal_seq: std::cell::Cell::new(seq),
        }
    }

    fn apply(mut sut: Sut, after: &State, t: Transition) -> Sut {
        let env = sut.env.clone();
        let mut state = sut.before.clone();
        match &t {
            Transition::Seed { total, paid } => {
                sut.ids.seed_order(&env, *total, *paid);
                state = <Reference as ReferenceStateMachine>::apply(state, &t);
            }
            Transition::Refund(a, via) => {
                let predicted = state.refund(a, *via);
                let total_fee = a
                    .order
                    .index()
                    .and_then(|i| sut.before.ledger.orders.get(i))
                    .map_or(a.fee, |o| o.total + u64::from(a.wrong_total));
                match via {
                    Protocol::V2 => refund_v2(&mut sut, &state.ledger, &t, a, total_fee, predicted),
                    Protocol::V3 => refund_v3(&mut sut, &state.ledger, &t, a, total_fee, predicted),
                }
            }
            Transition::QueryV2(by) => {
                let predicted = state.ledger.query(by);
                query_v2(&sut, &state.ledger, &t, *by, predicted);
            }
            Transition::QueryV3(n) => {
                let predicted = state.ledger.query(&QueryBy::OutRefundNo(*n));
                query_v3(&sut, &state.ledger, &t, *n, predicted);
            }
            Transition::OrderQuery {
                order,
                by_transaction_id,
                via,
            } => {
                let predicted = state.ledger.trade_state(*order);
                let id = sut.order_id(*order, *by_transaction_id);
                let got = match via {
                    Protocol::V2 => {
                        let result = env.block_on(sut.v2(false).order_query(&id));
                        match (&predicted, &result) {
                            (None, _) => {
                                assert_eq!(
                                    code_of(&result).as_deref(),
                                    Some("ORDERNOTEXIST"),
                                    "{t:?}: {result:?}"
                                );
                                None
                            }
                            (Some(_), Ok(r)) => Some(r.trade_state.as_str().to_owned()),
                            (Some(state), Err(e)) => {
                                fail!("{t:?}: model says {state}, server answered {e}")
                            }
                        }
                    }
                    Protocol::V3 => {
                        let result = env.block_on(sut.v3().order_query(&id));
                        match (&predicted, &result) {
                            (None, _) => {
                                assert_eq!(
                                    v3_error(&result),
                                    Some(("ORDER_NOT_EXIST".to_owned(), 404)),
                                    "{t:?}: {result:?}"
                                );
                                None
                            }
                            (Some(_), Ok(r)) => {
                                let total = order.index().and_then(|i| state.ledger.orders.get(i));
                                assert_eq!(
                                    r.amount.as_ref().and_then(|a| a.total),
                                    total.map(|o| o.total),
                                    "{t:?}: amount.total"
                                );
                                assert_eq!(r.out_trade_no, sut.ids.out_trade_no(*order), "{t:?}");
                                if total.is_some_and(|o| o.paid) {
                                    assert_eq!(
                                        r.transaction_id.as_deref(),
                                        Some(sut.ids.transaction_id(*order).as_str()),
                                        "{t:?}: transaction_id"
                                    );
                                }
                                Some(r.trade_state.clone())
                            }
                            (Some(state), Err(e)) => {
                                fail!("{t:?}: model says {state}, server answered {e}")
                            }
                        }
                    }
                };
                assert_eq!(
                    got.as_deref(),
                    predicted,
                    "{t:?}: trade_state (v2 and v3 spell it alike)"
                );
            }
            Transition::Compare(n) => {
                state.ledger.query(&QueryBy::OutRefundNo(*n));
                compare(&sut, &state.ledger, &t, *n);
            }
            Transition::Advance { secs } => {
                state = <Reference as ReferenceStateMachine>::apply(state, &t);
                if let Err(e) = env.block_on(env.admin.advance_ms(secs * 1000)) {
                    fail!("{t:?}: {e}");
                }
            }
            Transition::Force { number, status } => {
                let expected_ok = state.ledger.force(*number, *status);
                let path = format!(
                    "/admin/wechat/refunds/{}/status",
                    sut.ids.refund_id(*number)
                );
                let answer = env.block_on(env.admin.call(
                    reqwest::Method::POST,
                    &path,
                    Some(json!({ "status": status.wire() })),
                ));
                let code = answer.as_ref().map(|(s, _)| *s).unwrap_or(0);
                assert_eq!(
                    code,
                    if expected_ok { 200 } else { 409 },
                    "{t:?}: admin answered {answer:?}"
                );
            }
            Transition::Fault(f, via) => {
                state = <Reference as ReferenceStateMachine>::apply(state, &t);
                let endpoint = match via {
                    Protocol::V2 => "wechat.refund",
                    Protocol::V3 => "wechat.v3.refund",
                };
                let fault = admin::Fault::err_code(endpoint, f.code)
                    .count(1)
                    .after_apply(f.after_apply);
                if let Err(e) = env.block_on(env.admin.inject_fault(&fault)) {
                    fail!("{t:?}: {e}");
                }
            }
        }
        assert_eq!(
            &state, after,
            "executor and reference state machine disagree on {t:?}"
        );
        sut.before = state;
        sut
    }

    fn check_invariants(sut: &Sut, state: &State) {
        let env = sut.env.clone();
        match env.block_on(invariants(
            &env,
            &sut.ids.prefix,
            &state.ledger,
            sut.journal_seq.get(),
        )) {
            Ok(seq) => sut.journal_seq.set(seq),
            Err(message) => fail!("invariant broken: {message}"),
        }
    }
}

fn refund_v2(
    sut: &mut Sut,
    model: &Model,
    t: &Transition,
    a: &RefundArgs,
    total_fee: u64,
    predicted: RefundOutcome,
) {
    let env = sut.env.clone();
    let request = RefundRequest::builder()
        .order(sut.order_id(a.order, a.by_transaction_id))
        .out_refund_no(sut.ids.out_refund_no(a.number))
        .total_fee(total_fee)
        .refund_fee(a.fee)
        .build()
        .unwrap_or_else(|e| fail!("{t:?}: refused by the SDK's own checks: {e}"));
    let result = env.block_on(async {
        env.admin.advance_ms(PACE_MS).await?;
        Ok::<_, AdminError>(sut.v2(a.hmac).refund(&request).await)
    });
    let result = result.unwrap_or_else(|e| fail!("{t:?}: clock: {e}"));
    match predicted {
        RefundOutcome::Accepted { refund, repeated } => {
            let Ok(response) = &result else {
                fail!(
                    "{t:?}: model accepts (refund {refund}, repeated={repeated}), server answered {result:?}"
                );
            };
            let m = model.refunds.get(refund);
            assert_eq!(
                Some(response.refund_fee),
                m.map(|r| r.fee),
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
            sut.ids.keep_refund_id(t, a.number, &response.refund_id);
        }
        RefundOutcome::Refused(code) => {
            assert_eq!(
                code_of(&result).as_deref(),
                Some(code),
                "{t:?}: model refuses with {code}, server answered {result:?}"
            );
            sut.learn_refund_id(t, model, a.number);
        }
    }
}

fn refund_v3(
    sut: &mut Sut,
    model: &Model,
    t: &Transition,
    a: &RefundArgs,
    total_fee: u64,
    predicted: RefundOutcome,
) {
    let env = sut.env.clone();
    let builder = v3::RefundRequest::builder();
    let builder = if a.by_transaction_id {
        builder.transaction_id(sut.ids.transaction_id(a.order))
    } else {
        builder.out_trade_no(sut.ids.out_trade_no(a.order))
    };
    let request = builder
        .out_refund_no(sut.ids.out_refund_no(a.number))
        .refund(a.fee)
        .total(total_fee)
        .build()
        .unwrap_or_else(|e| fail!("{t:?}: refused by the SDK's own checks: {e}"));
    let result = env.block_on(async {
        env.admin.advance_ms(PACE_MS).await?;
        Ok::<_, AdminError>(sut.v3().refund(&request).await)
    });
    let result = result.unwrap_or_else(|e| fail!("{t:?}: clock: {e}"));
    match predicted {
        RefundOutcome::Accepted { refund, repeated } => {
            let Ok(response) = &result else {
                fail!(
                    "{t:?}: model accepts (refund {refund}, repeated={repeated}), server answered {result:?}"
                );
            };
            let Some(m) = model.refunds.get(refund) else {
                fail!("{t:?}: model lost refund {refund}");
            };
            assert_eq!(
                (response.amount.refund, response.amount.total),
                (m.fee, m.total_fee),
                "{t:?}: amount.refund, amount.total"
            );
            assert_eq!(response.status, v3_status(m.status), "{t:?}: status");
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
            assert_eq!(
                response.transaction_id,
                sut.ids.transaction_id(a.order),
                "{t:?}: transaction_id"
            );
            sut.ids.keep_refund_id(t, a.number, &response.refund_id);
        }
        RefundOutcome::Refused(code) => {
            let (want, status) = v3_refund_code(code);
            assert_eq!(
                v3_error(&result),
                Some((want.to_owned(), status)),
                "{t:?}: model refuses with {code} (v3 {status} {want}), server answered {result:?}"
            );
            sut.learn_refund_id(t, model, a.number);
        }
    }
}

fn query_v2(sut: &Sut, model: &Model, t: &Transition, by: QueryBy, predicted: QueryOutcome) {
    let query = match by {
        QueryBy::RefundId(n) => RefundQuery::by_refund_id(sut.ids.refund_id(n)),
        QueryBy::OutRefundNo(n) => RefundQuery::by_out_refund_no(sut.ids.out_refund_no(n)),
        QueryBy::TransactionId(o) => RefundQuery::by_transaction_id(sut.ids.transaction_id(o)),
        QueryBy::OutTradeNo(o) => RefundQuery::by_out_trade_no(sut.ids.out_trade_no(o)),
    };
    let result = sut.env.block_on(sut.v2(false).refund_query(&query));
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
            let got: Vec<(String, u64, &str)> = page
                .refunds
                .iter()
                .map(|r| {
                    (
                        r.out_refund_no.clone(),
                        r.refund_fee,
                        r.refund_status.as_str(),
                    )
                })
                .collect();
            let want: Vec<(String, u64, &str)> = indexes
                .iter()
                .filter_map(|i| model.refunds.get(*i))
                .map(|r| (sut.ids.out_refund_no(r.number), r.fee, r.status.wire()))
                .collect();
            assert_eq!(
                got, want,
                "{t:?}: refunds (out_refund_no, refund_fee, status)"
            );
        }
    }
}

fn query_v3(sut: &Sut, model: &Model, t: &Transition, number: usize, predicted: QueryOutcome) {
    let result = sut
        .env
        .block_on(sut.v3().refund_query(&sut.ids.out_refund_no(number)));
    match predicted {
        QueryOutcome::NotExist => assert_eq!(
            v3_error(&result),
            Some(("RESOURCE_NOT_EXISTS".to_owned(), 404)),
            "{t:?}: server answered {result:?}"
        ),
        QueryOutcome::Found(indexes, _) => {
            let Ok(refund) = &result else {
                fail!("{t:?}: model finds {indexes:?}, server answered {result:?}");
            };
            let Some(m) = indexes.first().and_then(|i| model.refunds.get(*i)) else {
                fail!("{t:?}: model lost refund {indexes:?}");
            };
            let order = OrderPick::Seeded(m.order);
            assert_eq!(
                (
                    refund.out_refund_no.as_str(),
                    refund.amount.refund,
                    refund.amount.total,
                    refund.status.as_str()
                ),
                (
                    sut.ids.out_refund_no(m.number).as_str(),
                    m.fee,
                    m.total_fee,
                    v3_status(m.status)
                ),
                "{t:?}: (out_refund_no, amount.refund, amount.total, status)"
            );
            assert_eq!(
                refund.refund_id,
                sut.ids.refund_id(number),
                "{t:?}: refund_id"
            );
            assert_eq!(refund.out_trade_no, sut.ids.out_trade_no(order), "{t:?}");
            assert_eq!(
                refund.transaction_id,
                sut.ids.transaction_id(order),
                "{t:?}: transaction_id"
            );
            assert_eq!(
                refund.success_time.is_some(),
                m.status == Status::Success,
                "{t:?}: success_time only when SUCCESS"
            );
        }
    }
}

/// Both protocols about one refund: each field v2 and v3 share must agree.
fn compare(sut: &Sut, model: &Model, t: &Transition, number: usize) {
    let out_refund_no = sut.ids.out_refund_no(number);
    let env = &sut.env;
    let v2 = env.block_on(
        sut.v2(false)
            .refund_query(&RefundQuery::by_out_refund_no(out_refund_no.clone())),
    );
    let v3 = env.block_on(sut.v3().refund_query(&out_refund_no));
    let (Ok(page), Ok(refund)) = (&v2, &v3) else {
        fail!("{t:?}: v2 answered {v2:?}, v3 answered {v3:?}");
    };
    let Some(record) = page.refunds.first() else {
        fail!("{t:?}: v2 lists no refund: {page:?}");
    };
    let v2_status = [
        Status::Processing,
        Status::Success,
        Status::RefundClose,
        Status::Change,
    ]
    .into_iter()
    .find(|s| s.wire() == record.refund_status.as_str());
    let v2_side = (
        record.refund_id.as_str(),
        page.transaction_id.as_str(),
        page.out_trade_no.as_str(),
        page.total_fee,
        record.refund_fee,
        v2_status.map(v3_status),
        record.refund_success_time.as_deref().map(time_digits),
    );
    let v3_side = (
        refund.refund_id.as_str(),
        refund.transaction_id.as_str(),
        refund.out_trade_no.as_str(),
        refund.amount.total,
        refund.amount.refund,
        Some(refund.status.as_str()),
        refund.success_time.as_deref().map(time_digits),
    );
    assert_eq!(
        v2_side, v3_side,
        "{t:?}: v2 and v3 disagree (refund_id, transaction_id, out_trade_no, total, refund, status, success time)"
    );
    if let Some(account) = &record.refund_recv_accout {
        assert_eq!(
            account, &refund.user_received_account,
            "{t:?}: receiving account"
        );
    }
    let m = model
        .refund_by_number(number)
        .and_then(|i| model.refunds.get(i));
    assert_eq!(
        Some(refund.status.as_str()),
        m.map(|m| v3_status(m.status)),
        "{t:?}: status against the model"
    );
}
