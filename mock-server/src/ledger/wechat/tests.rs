use std::time::Duration;

use super::admin::default_company;
use super::*;
use crate::clock::Timestamp;
use crate::ids::IdGenerator;

const MCH: &str = "1900000109";
const DAY: Duration = Duration::from_secs(86_400);
const MINUTE: Duration = Duration::from_secs(60);

fn t0() -> Timestamp {
    Timestamp(1_700_000_000_000)
}

fn ledger_with(rules: WechatRules) -> (WechatLedger, IdGenerator) {
    let mut ledger = WechatLedger::new(rules);
    ledger
        .create_merchant(NewMerchant {
            mch_id: MCH.into(),
            appids: vec!["wx2421b1c4370ec43b".into()],
            api_key: "192006250b4c09247ec02edce69f6a2d".into(),
            company: default_company(),
            refundable_balance: 1_000_000,
            ip_allowlist: None,
            notify_url: None,
            api_v3_key: None,
            v3_identity: Default::default(),
        })
        .unwrap();
    (ledger, IdGenerator::seeded(1))
}

fn ledger() -> (WechatLedger, IdGenerator) {
    ledger_with(WechatRules::default())
}

fn seed(ledger: &mut WechatLedger, ids: &mut IdGenerator, no: &str, total: u64) -> Order {
    ledger
        .seed_order(
            SeedOrder {
                mch_id: MCH.into(),
                out_trade_no: Some(no.into()),
                total_fee: total,
                ..SeedOrder::default()
            },
            t0(),
            ids,
        )
        .unwrap()
}

fn cmd(no: &str, out_refund_no: &str, total: u64, refund: u64) -> RefundCommand {
    RefundCommand {
        mch_id: MCH.into(),
        order: OrderRef::OutTradeNo(no.into()),
        out_refund_no: out_refund_no.into(),
        total_fee: total,
        refund_fee: refund,
        refund_account: None,
        notify_url: None,
        refund_desc: None,
        api_v3: false,
    }
}

fn balance(ledger: &WechatLedger) -> u64 {
    ledger.merchant(MCH).unwrap().refundable_balance
}

#[test]
fn accepted_refund_is_processing_debits_the_balance_and_marks_the_order() {
    let (mut l, mut ids) = ledger();
    let order = seed(&mut l, &mut ids, "order0001", 1000);
    assert_eq!(l.trade_state(&order), "SUCCESS");
    let ok = l
        .refund(cmd("order0001", "r1", 1000, 300), t0(), &mut ids)
        .unwrap();
    assert!(!ok.repeated);
    assert_eq!(ok.refund.status, RefundStatus::Processing);
    assert_eq!(ok.refund.refund_fee, 300);
    assert_eq!(ok.refund.settlement_refund_fee, 300);
    assert_eq!(ok.refund.refund_id.len(), 29);
    assert_eq!(balance(&l), 1_000_000 - 300);
    assert_eq!(l.trade_state(&ok.order), "REFUND");
}

#[test]
fn same_out_refund_no_and_amounts_is_idempotent() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "order0001", 1000);
    let first = l
        .refund(cmd("order0001", "r1", 1000, 300), t0(), &mut ids)
        .unwrap();
    // Even after the spacing window would refuse a new refund, the repeat answers the same.
    let again = l
        .refund(cmd("order0001", "r1", 1000, 300), t0(), &mut ids)
        .unwrap();
    assert!(again.repeated);
    assert_eq!(again.refund.refund_id, first.refund.refund_id);
    assert_eq!(balance(&l), 1_000_000 - 300);
    assert_eq!(l.refunds(Some(MCH)).count(), 1);
}

#[test]
fn same_out_refund_no_with_other_amounts_is_a_mismatch() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "order0001", 1000);
    l.refund(cmd("order0001", "r1", 1000, 300), t0(), &mut ids)
        .unwrap();
    assert_eq!(
        l.refund(cmd("order0001", "r1", 1000, 301), t0(), &mut ids)
            .unwrap_err(),
        RefundError::AmountsDifferFromEarlierRequest
    );
}

#[test]
fn out_refund_no_of_another_order_is_refused() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "order0001", 1000);
    seed(&mut l, &mut ids, "order0002", 1000);
    l.refund(cmd("order0001", "r1", 1000, 300), t0(), &mut ids)
        .unwrap();
    assert_eq!(
        l.refund(cmd("order0002", "r1", 1000, 300), t0(), &mut ids)
            .unwrap_err(),
        RefundError::OutRefundNoOfAnotherOrder
    );
}

#[test]
fn unknown_and_unpaid_orders_do_not_exist() {
    let (mut l, mut ids) = ledger();
    l.seed_order(
        SeedOrder {
            mch_id: MCH.into(),
            out_trade_no: Some("unpaid01".into()),
            total_fee: 100,
            state: PaymentState::Notpay,
            ..SeedOrder::default()
        },
        t0(),
        &mut ids,
    )
    .unwrap();
    assert_eq!(
        l.refund(cmd("nosuch01", "r1", 100, 1), t0(), &mut ids)
            .unwrap_err(),
        RefundError::OrderNotExist
    );
    assert_eq!(
        l.refund(cmd("unpaid01", "r1", 100, 1), t0(), &mut ids)
            .unwrap_err(),
        RefundError::OrderNotExist
    );
    let mut by_id = cmd("x", "r1", 100, 1);
    by_id.order = OrderRef::TransactionId("4200000000000000000000000000".into());
    assert_eq!(
        l.refund(by_id, t0(), &mut ids).unwrap_err(),
        RefundError::UnknownTransactionId
    );
}

#[test]
fn another_merchants_order_does_not_exist() {
    let (mut l, mut ids) = ledger();
    let order = seed(&mut l, &mut ids, "order0001", 1000);
    l.create_merchant(NewMerchant {
        mch_id: "1900000110".into(),
        appids: vec!["wxother".into()],
        api_key: "k".repeat(32),
        company: default_company(),
        refundable_balance: 10,
        ip_allowlist: None,
        notify_url: None,
        api_v3_key: None,
        v3_identity: Default::default(),
    })
    .unwrap();
    let mut other = cmd("order0001", "r1", 1000, 1);
    other.mch_id = "1900000110".into();
    assert_eq!(
        l.refund(other.clone(), t0(), &mut ids).unwrap_err(),
        RefundError::OrderNotExist
    );
    other.order = OrderRef::TransactionId(order.transaction_id.to_string());
    assert_eq!(
        l.refund(other, t0(), &mut ids).unwrap_err(),
        RefundError::UnknownTransactionId
    );
}

#[test]
fn seeded_payer_conditions_refuse_the_refund() {
    let (mut l, mut ids) = ledger();
    for (no, abnormal, not_ready) in [("abnormal1", true, false), ("notready1", false, true)] {
        l.seed_order(
            SeedOrder {
                mch_id: MCH.into(),
                out_trade_no: Some(no.into()),
                total_fee: 100,
                payer_account_abnormal: abnormal,
                not_ready,
                ..SeedOrder::default()
            },
            t0(),
            &mut ids,
        )
        .unwrap();
    }
    assert_eq!(
        l.refund(cmd("abnormal1", "r1", 100, 1), t0(), &mut ids)
            .unwrap_err(),
        RefundError::PayerAccountAbnormal
    );
    assert_eq!(
        l.refund(cmd("notready1", "r2", 100, 1), t0(), &mut ids)
            .unwrap_err(),
        RefundError::OrderNotReady
    );
}

#[test]
fn orders_older_than_a_year_are_overdue() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "order0001", 1000);
    // Seeded 60 s before t0; one year after payment is still inside the window.
    let edge = t0().plus(365 * DAY).minus(Duration::from_secs(60));
    assert!(
        l.refund(cmd("order0001", "r1", 1000, 1), edge, &mut ids)
            .is_ok()
    );
    let late = edge.plus(Duration::from_secs(61));
    assert_eq!(
        l.refund(cmd("order0001", "r2", 1000, 1), late, &mut ids)
            .unwrap_err(),
        RefundError::Overdue
    );
}

#[test]
fn total_fee_must_be_the_order_amount() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "order0001", 1000);
    assert_eq!(
        l.refund(cmd("order0001", "r1", 999, 1), t0(), &mut ids)
            .unwrap_err(),
        RefundError::TotalFeeMismatch {
            stated: 999,
            actual: 1000
        }
    );
}

#[test]
fn cumulative_refunds_never_exceed_the_payment() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "order0001", 1000);
    l.refund(cmd("order0001", "r1", 1000, 600), t0(), &mut ids)
        .unwrap();
    let later = t0().plus(MINUTE);
    assert_eq!(
        l.refund(cmd("order0001", "r2", 1000, 401), later, &mut ids)
            .unwrap_err(),
        RefundError::ExceedsRefundable { refundable: 400 }
    );
    l.refund(cmd("order0001", "r3", 1000, 400), later, &mut ids)
        .unwrap();
    assert_eq!(
        l.refund(
            cmd("order0001", "r4", 1000, 1),
            later.plus(MINUTE),
            &mut ids
        )
        .unwrap_err(),
        RefundError::FullyRefunded
    );
}

#[test]
fn refunds_of_one_order_must_be_a_minute_apart() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "order0001", 1000);
    l.refund(cmd("order0001", "r1", 1000, 1), t0(), &mut ids)
        .unwrap();
    let almost = t0().plus(Duration::from_secs(59));
    assert_eq!(
        l.refund(cmd("order0001", "r2", 1000, 1), almost, &mut ids)
            .unwrap_err(),
        RefundError::TooSoonAfterPreviousRefund
    );
    assert!(
        l.refund(cmd("order0001", "r2", 1000, 1), t0().plus(MINUTE), &mut ids)
            .is_ok()
    );
}

#[test]
fn the_fifty_first_refund_is_refused() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "order0001", 1000);
    let mut now = t0();
    for i in 0..50 {
        l.refund(cmd("order0001", &format!("r{i}"), 1000, 1), now, &mut ids)
            .unwrap();
        now = now.plus(MINUTE);
    }
    assert_eq!(
        l.refund(cmd("order0001", "r50", 1000, 1), now, &mut ids)
            .unwrap_err(),
        RefundError::TooManyRefunds
    );
}

#[test]
fn short_balance_is_notenough_and_debits_nothing() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "order0001", 1000);
    l.set_balance(MCH, 299).unwrap();
    assert_eq!(
        l.refund(cmd("order0001", "r1", 1000, 300), t0(), &mut ids)
            .unwrap_err(),
        RefundError::NotEnoughBalance {
            balance: 299,
            needed: 300
        }
    );
    assert_eq!(balance(&l), 299);
    // A refused refund does not count towards the one-minute spacing.
    assert!(
        l.refund(cmd("order0001", "r1", 1000, 299), t0(), &mut ids)
            .is_ok()
    );
}

#[test]
fn old_orders_are_rate_limited_per_merchant() {
    let rules = WechatRules {
        old_order_refunds_per_minute: 2,
        ..WechatRules::default()
    };
    let (mut l, mut ids) = ledger_with(rules);
    for no in ["old00001", "old00002", "old00003"] {
        l.seed_order(
            SeedOrder {
                mch_id: MCH.into(),
                out_trade_no: Some(no.into()),
                total_fee: 100,
                paid_seconds_ago: Some(40 * 86_400),
                ..SeedOrder::default()
            },
            t0(),
            &mut ids,
        )
        .unwrap();
    }
    l.refund(cmd("old00001", "r1", 100, 1), t0(), &mut ids)
        .unwrap();
    l.refund(cmd("old00002", "r2", 100, 1), t0(), &mut ids)
        .unwrap();
    assert_eq!(
        l.refund(cmd("old00003", "r3", 100, 1), t0(), &mut ids)
            .unwrap_err(),
        RefundError::OldOrderRateLimited
    );
    assert!(
        l.refund(cmd("old00003", "r3", 100, 1), t0().plus(MINUTE), &mut ids)
            .is_ok()
    );
}

#[test]
fn refunds_settle_after_the_delay_or_to_the_seeded_outcome() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "order0001", 1000);
    l.seed_order(
        SeedOrder {
            mch_id: MCH.into(),
            out_trade_no: Some("change01".into()),
            total_fee: 100,
            refund_outcome: Some(RefundStatus::Change),
            ..SeedOrder::default()
        },
        t0(),
        &mut ids,
    )
    .unwrap();
    let a = l
        .refund(cmd("order0001", "r1", 1000, 5), t0(), &mut ids)
        .unwrap();
    l.refund(cmd("change01", "r2", 100, 5), t0(), &mut ids)
        .unwrap();
    let delay = l.rules().settle_delay;
    let before = t0().plus(delay).minus(Duration::from_millis(1));
    let page = l
        .query_refunds(MCH, &RefundSelector::OutRefundNo("r1".into()), 0, before)
        .unwrap();
    assert_eq!(page.refunds[0].status, RefundStatus::Processing);
    let after = t0().plus(delay);
    let page = l
        .query_refunds(MCH, &RefundSelector::RefundId(a.refund.refund_id), 0, after)
        .unwrap();
    assert_eq!(page.refunds[0].status, RefundStatus::Success);
    assert_eq!(page.refunds[0].success_at, Some(after));
    let page = l
        .query_refunds(MCH, &RefundSelector::OutRefundNo("r2".into()), 0, after)
        .unwrap();
    assert_eq!(page.refunds[0].status, RefundStatus::Change);
    assert_eq!(page.refunds[0].success_at, None);
}

#[test]
fn a_closed_refund_gives_its_amount_back() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "order0001", 1000);
    let r = l
        .refund(cmd("order0001", "r1", 1000, 1000), t0(), &mut ids)
        .unwrap();
    assert_eq!(balance(&l), 1_000_000 - 1000);
    let closed = l
        .force_refund_status(&r.refund.refund_id, RefundStatus::Refundclose, t0())
        .unwrap();
    assert_eq!(closed.status, RefundStatus::Refundclose);
    assert_eq!(balance(&l), 1_000_000);
    assert_eq!(
        l.force_refund_status(&r.refund.refund_id, RefundStatus::Success, t0())
            .unwrap_err(),
        AdminError::RefundFinal(r.refund.refund_id.clone())
    );
    // The whole amount is refundable again, and the closed refund does not settle later.
    assert!(
        l.refund(
            cmd("order0001", "r2", 1000, 1000),
            t0().plus(MINUTE),
            &mut ids
        )
        .is_ok()
    );
    l.settle_due(t0().plus(DAY));
    let page = l
        .query_refunds(
            MCH,
            &RefundSelector::OutRefundNo("r1".into()),
            0,
            t0().plus(DAY),
        )
        .unwrap();
    assert_eq!(page.refunds[0].status, RefundStatus::Refundclose);
}

#[test]
fn refund_query_pages_by_ten_and_refuses_an_offset_past_the_end() {
    let (mut l, mut ids) = ledger();
    let order = seed(&mut l, &mut ids, "order0001", 1000);
    let mut now = t0();
    for i in 0..25 {
        l.refund(
            cmd("order0001", &format!("r{i:02}"), 1000, 1),
            now,
            &mut ids,
        )
        .unwrap();
        now = now.plus(MINUTE);
    }
    let by_order = RefundSelector::TransactionId(order.transaction_id.to_string());
    let first = l.query_refunds(MCH, &by_order, 0, now).unwrap();
    assert_eq!(first.total_refund_count, Some(25));
    assert_eq!(first.refunds.len(), 10);
    assert_eq!(first.refunds[0].out_refund_no, "r00");
    let last = l
        .query_refunds(
            MCH,
            &RefundSelector::OutTradeNo("order0001".into()),
            20,
            now,
        )
        .unwrap();
    let nos: Vec<_> = last
        .refunds
        .iter()
        .map(|r| r.out_refund_no.as_str())
        .collect();
    assert_eq!(nos, ["r20", "r21", "r22", "r23", "r24"]);
    assert_eq!(
        l.query_refunds(MCH, &by_order, 26, now).unwrap_err(),
        RefundQueryError::OffsetOutOfRange {
            offset: 26,
            total: 25
        }
    );
}

#[test]
fn refund_query_of_an_order_never_refunded_is_refundnotexist() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "order0001", 1000);
    for selector in [
        RefundSelector::OutTradeNo("order0001".into()),
        RefundSelector::OutTradeNo("nosuch01".into()),
        RefundSelector::OutRefundNo("nosuch".into()),
        RefundSelector::RefundId("50300000000000000000000000000".into()),
    ] {
        assert_eq!(
            l.query_refunds(MCH, &selector, 0, t0()).unwrap_err(),
            RefundQueryError::RefundNotExist,
            "{selector:?}"
        );
    }
}

#[test]
fn coupons_are_refunded_in_proportion_and_fully_by_the_last_refund() {
    let (mut l, mut ids) = ledger();
    l.seed_order(
        SeedOrder {
            mch_id: MCH.into(),
            out_trade_no: Some("coupon01".into()),
            total_fee: 100,
            coupons: vec![
                SeedCoupon {
                    id: Some("c-nocash".into()),
                    kind: CouponKind::NoCash,
                    fee: 30,
                },
                SeedCoupon {
                    id: Some("c-cash".into()),
                    kind: CouponKind::Cash,
                    fee: 10,
                },
            ],
            ..SeedOrder::default()
        },
        t0(),
        &mut ids,
    )
    .unwrap();
    let first = l
        .refund(cmd("coupon01", "r1", 100, 50), t0(), &mut ids)
        .unwrap()
        .refund;
    assert_eq!(
        first.coupon_refunds,
        vec![
            CouponRefund {
                coupon_id: "c-nocash".into(),
                kind: CouponKind::NoCash,
                fee: 15
            },
            CouponRefund {
                coupon_id: "c-cash".into(),
                kind: CouponKind::Cash,
                fee: 5
            },
        ]
    );
    assert_eq!(first.settlement_refund_fee, 35);
    assert_eq!(first.cash_refund_fee, 30);
    let last = l
        .refund(cmd("coupon01", "r2", 100, 50), t0().plus(MINUTE), &mut ids)
        .unwrap()
        .refund;
    let parts: Vec<u64> = last.coupon_refunds.iter().map(|c| c.fee).collect();
    assert_eq!(parts, [15, 5]);
    assert_eq!(first.cash_refund_fee + last.cash_refund_fee, 60);
    assert_eq!(balance(&l), 1_000_000 - 70);
}

#[test]
fn cash_is_never_over_refunded_when_coupon_shares_round_down() {
    let (mut l, mut ids) = ledger();
    l.seed_order(
        SeedOrder {
            mch_id: MCH.into(),
            out_trade_no: Some("coupon02".into()),
            total_fee: 3,
            coupons: vec![SeedCoupon {
                id: None,
                kind: CouponKind::Cash,
                fee: 2,
            }],
            ..SeedOrder::default()
        },
        t0(),
        &mut ids,
    )
    .unwrap();
    let a = l
        .refund(cmd("coupon02", "r1", 3, 1), t0(), &mut ids)
        .unwrap()
        .refund;
    let b = l
        .refund(cmd("coupon02", "r2", 3, 1), t0().plus(MINUTE), &mut ids)
        .unwrap()
        .refund;
    assert_eq!(a.cash_refund_fee + b.cash_refund_fee, 1);
    assert_eq!(b.coupon_refunds.iter().map(|c| c.fee).sum::<u64>(), 1);
}
