use super::*;

const APP: &str = "2021000000000001";
const OTHER_APP: &str = "2021000000000002";
const SECOND: Duration = Duration::from_secs(1);
const DAY: Duration = Duration::from_secs(86_400);

fn t0() -> Timestamp {
    Timestamp(1_700_000_000_000)
}

fn ledger() -> (AlipayLedger, IdGenerator) {
    let mut ledger = AlipayLedger::new(AlipayRules::default());
    for app_id in [APP, OTHER_APP] {
        ledger
            .create_app(NewApp {
                app_id: app_id.into(),
                name: default_app_name(),
                seller_balance: 1_000_000,
                app_auth_tokens: Vec::new(),
            })
            .unwrap();
    }
    (ledger, IdGenerator::seeded(1))
}

fn seed_with(
    ledger: &mut AlipayLedger,
    ids: &mut IdGenerator,
    no: &str,
    total: u64,
    f: impl FnOnce(SeedTrade) -> SeedTrade,
) -> Trade {
    let seed = SeedTrade {
        app_id: APP.into(),
        out_trade_no: Some(no.into()),
        total_amount: total,
        ..SeedTrade::default()
    };
    ledger.seed_trade(f(seed), t0(), ids).unwrap()
}

fn seed(ledger: &mut AlipayLedger, ids: &mut IdGenerator, no: &str, total: u64) -> Trade {
    seed_with(ledger, ids, no, total, |s| s)
}

fn cmd(no: &str, request: Option<&str>, amount: u64) -> RefundCommand {
    RefundCommand {
        app_id: APP.into(),
        trade: TradeRef::OutTradeNo(no.into()),
        refund_amount: amount,
        out_request_no: request.map(str::to_owned),
        refund_reason: None,
    }
}

fn balance(ledger: &AlipayLedger) -> u64 {
    ledger.app(APP).unwrap().seller_balance
}

#[test]
fn partial_refund_debits_the_balance_and_keeps_trade_success() {
    let (mut l, mut ids) = ledger();
    let trade = seed(&mut l, &mut ids, "T1", 10_000);
    assert_eq!(trade.trade_no.len(), 28);
    let ok = l.refund(cmd("T1", Some("R1"), 3_000), t0()).unwrap();
    assert!(ok.fund_change);
    assert_eq!(ok.refund.out_request_no, "R1");
    assert!(ok.refund.out_request_no_given);
    assert_eq!(ok.refund.refunded_at, t0());
    assert_eq!(ok.trade.refunded, 3_000);
    assert_eq!(l.trade_status(&ok.trade, t0()), TradeStatus::TradeSuccess);
    assert_eq!(balance(&l), 1_000_000 - 3_000);
}

#[test]
fn same_request_no_and_amount_replays_without_moving_money() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "T1", 10_000);
    let first = l.refund(cmd("T1", Some("R1"), 3_000), t0()).unwrap();
    // Within the 3 s spacing, and later: a replay is never refused for spacing.
    let again = l.refund(cmd("T1", Some("R1"), 3_000), t0()).unwrap();
    assert!(!again.fund_change);
    assert_eq!(again.refund.refunded_at, first.refund.refunded_at);
    assert_eq!(again.trade.refunded, 3_000);
    assert_eq!(balance(&l), 1_000_000 - 3_000);
    assert_eq!(l.refunds(Some(APP)).count(), 1);
}

#[test]
fn same_request_no_with_another_amount_is_discordant() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "T1", 10_000);
    l.refund(cmd("T1", Some("R1"), 3_000), t0()).unwrap();
    assert_eq!(
        l.refund(cmd("T1", Some("R1"), 3_001), t0().plus(10 * SECOND))
            .unwrap_err(),
        RefundError::DiscordantRepeat { earlier: 3_000 }
    );
}

#[test]
fn the_same_request_no_on_another_trade_is_a_new_refund() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "T1", 10_000);
    seed(&mut l, &mut ids, "T2", 10_000);
    l.refund(cmd("T1", Some("R1"), 3_000), t0()).unwrap();
    let other = l.refund(cmd("T2", Some("R1"), 5_000), t0()).unwrap();
    assert!(other.fund_change);
    assert_eq!(other.trade.out_trade_no, "T2");
}

#[test]
fn without_request_no_only_a_full_refund_is_allowed_and_it_defaults_to_out_trade_no() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "T1", 10_000);
    assert_eq!(
        l.refund(cmd("T1", None, 9_999), t0()).unwrap_err(),
        RefundError::PartialWithoutRequestNo
    );
    let full = l.refund(cmd("T1", None, 10_000), t0()).unwrap();
    assert_eq!(full.refund.out_request_no, "T1");
    assert!(!full.refund.out_request_no_given);
    assert_eq!(full.trade.status, TradeStatus::TradeClosed);
    assert_eq!(full.trade.closed_at, Some(t0()));
    // Replaying it, with or without the defaulted number, answers the same refund.
    let replay = l.refund(cmd("T1", None, 10_000), t0().plus(DAY)).unwrap();
    assert!(!replay.fund_change);
    let explicit = l
        .refund(cmd("T1", Some("T1"), 10_000), t0().plus(DAY))
        .unwrap();
    assert!(!explicit.fund_change);
    let lookup = l
        .query_refund(APP, &TradeRef::OutTradeNo("T1".into()), "T1")
        .unwrap();
    assert_eq!(lookup.refund.unwrap().refund_amount, 10_000);
}

#[test]
fn amount_above_total_then_cumulative_overflow() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "T1", 10_000);
    assert_eq!(
        l.refund(cmd("T1", Some("R1"), 10_001), t0()).unwrap_err(),
        RefundError::AmountAboveTotal { total: 10_000 }
    );
    l.refund(cmd("T1", Some("R1"), 6_000), t0()).unwrap();
    assert_eq!(
        l.refund(cmd("T1", Some("R2"), 4_001), t0().plus(5 * SECOND))
            .unwrap_err(),
        RefundError::ExceedsRefundable { refundable: 4_000 }
    );
    let last = l
        .refund(cmd("T1", Some("R2"), 4_000), t0().plus(5 * SECOND))
        .unwrap();
    assert_eq!(last.trade.refunded, 10_000);
    assert_eq!(last.trade.status, TradeStatus::TradeClosed);
    // A new number on the now closed trade; an old one still replays.
    assert_eq!(
        l.refund(cmd("T1", Some("R3"), 1), t0().plus(10 * SECOND))
            .unwrap_err(),
        RefundError::TradeClosed
    );
    assert!(
        !l.refund(cmd("T1", Some("R1"), 6_000), t0().plus(10 * SECOND))
            .unwrap()
            .fund_change
    );
}

#[test]
fn refunds_of_one_trade_are_three_seconds_apart() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "T1", 10_000);
    seed(&mut l, &mut ids, "T2", 10_000);
    l.refund(cmd("T1", Some("R1"), 100), t0()).unwrap();
    let almost = t0().plus(Duration::from_millis(2_999));
    assert_eq!(
        l.refund(cmd("T1", Some("R2"), 100), almost).unwrap_err(),
        RefundError::TooSoon
    );
    // Another trade is not affected; the refused one left nothing behind.
    l.refund(cmd("T2", Some("R2"), 100), almost).unwrap();
    let ok = l
        .refund(cmd("T1", Some("R2"), 100), t0().plus(3 * SECOND))
        .unwrap();
    assert!(ok.fund_change);
    assert_eq!(ok.trade.refunded, 200);
}

#[test]
fn unknown_other_apps_and_unscanned_trades_do_not_exist() {
    let (mut l, mut ids) = ledger();
    let trade = seed(&mut l, &mut ids, "T1", 10_000);
    assert_eq!(
        l.refund(cmd("nope", Some("R1"), 1), t0()).unwrap_err(),
        RefundError::TradeNotExist
    );
    let mut foreign = cmd("T1", Some("R1"), 1);
    foreign.app_id = OTHER_APP.into();
    assert_eq!(
        l.refund(foreign.clone(), t0()).unwrap_err(),
        RefundError::TradeNotExist
    );
    foreign.trade = TradeRef::TradeNo(trade.trade_no.clone());
    assert_eq!(
        l.refund(foreign, t0()).unwrap_err(),
        RefundError::TradeNotExist
    );
    let by_trade_no = RefundCommand {
        trade: TradeRef::TradeNo(trade.trade_no),
        ..cmd("", Some("R1"), 1)
    };
    assert!(l.refund(by_trade_no, t0()).unwrap().fund_change);

    let pre = l
        .precreate(
            PrecreateCommand {
                app_id: APP.into(),
                out_trade_no: "Q1".into(),
                total_amount: 500,
                subject: "s".into(),
                body: None,
                store_id: None,
                notify_url: None,
            },
            t0(),
            &mut ids,
        )
        .unwrap();
    assert!(!pre.visible);
    assert_eq!(
        l.refund(cmd("Q1", None, 500), t0()).unwrap_err(),
        RefundError::TradeNotExist
    );
    assert!(l.trade(APP, &TradeRef::OutTradeNo("Q1".into())).is_none());
    assert_eq!(
        l.close(APP, &TradeRef::OutTradeNo("Q1".into()), t0())
            .unwrap_err(),
        CloseError::TradeNotExist
    );
    l.scan(None, "Q1").unwrap();
    assert_eq!(
        l.refund(cmd("Q1", None, 500), t0()).unwrap_err(),
        RefundError::TradeNotPaid
    );
}

#[test]
fn state_checks_in_order_then_frozen() {
    let (mut l, mut ids) = ledger();
    seed_with(&mut l, &mut ids, "WAIT", 100, |s| SeedTrade {
        status: TradeStatus::WaitBuyerPay,
        ..s
    });
    seed_with(&mut l, &mut ids, "CLOSED", 100, |s| SeedTrade {
        status: TradeStatus::TradeClosed,
        ..s
    });
    seed_with(&mut l, &mut ids, "FINISHED", 100, |s| SeedTrade {
        status: TradeStatus::TradeFinished,
        frozen: true,
        ..s
    });
    seed_with(&mut l, &mut ids, "FROZEN", 100, |s| SeedTrade {
        frozen: true,
        ..s
    });
    let err = |l: &mut AlipayLedger, no: &str| l.refund(cmd(no, Some("R"), 100), t0()).unwrap_err();
    assert_eq!(err(&mut l, "WAIT"), RefundError::TradeNotPaid);
    assert_eq!(err(&mut l, "CLOSED"), RefundError::TradeClosed);
    assert_eq!(err(&mut l, "FINISHED"), RefundError::TradeFinished);
    assert_eq!(err(&mut l, "FROZEN"), RefundError::Frozen);
    l.set_frozen(Some(APP), "FROZEN", false).unwrap();
    assert!(l.refund(cmd("FROZEN", Some("R"), 100), t0()).is_ok());
}

#[test]
fn the_refund_period_makes_a_paid_trade_finished() {
    let (mut l, mut ids) = ledger();
    let old = seed_with(&mut l, &mut ids, "OLD", 100, |s| SeedTrade {
        paid_seconds_ago: Some(366 * 86_400),
        ..s
    });
    let young = seed_with(&mut l, &mut ids, "YOUNG", 100, |s| SeedTrade {
        paid_seconds_ago: Some(364 * 86_400),
        ..s
    });
    assert_eq!(l.trade_status(&old, t0()), TradeStatus::TradeFinished);
    assert_eq!(l.trade_status(&young, t0()), TradeStatus::TradeSuccess);
    assert_eq!(
        l.refund(cmd("OLD", Some("R"), 100), t0()).unwrap_err(),
        RefundError::TradeFinished
    );
    // The clock moves on: two days later YOUNG is past the period too.
    assert_eq!(
        l.refund(cmd("YOUNG", Some("R"), 100), t0().plus(2 * DAY))
            .unwrap_err(),
        RefundError::TradeFinished
    );
    assert!(l.refund(cmd("YOUNG", Some("R"), 100), t0()).is_ok());
}

#[test]
fn seller_balance_is_checked_last_and_a_failed_number_can_be_retried() {
    let (mut l, mut ids) = ledger();
    seed(&mut l, &mut ids, "T1", 10_000);
    l.set_balance(APP, 500).unwrap();
    assert_eq!(
        l.refund(cmd("T1", Some("R1"), 600), t0()).unwrap_err(),
        RefundError::SellerBalanceNotEnough {
            balance: 500,
            needed: 600
        }
    );
    // A bigger problem wins over the balance.
    assert_eq!(
        l.refund(cmd("T1", Some("R1"), 10_001), t0()).unwrap_err(),
        RefundError::AmountAboveTotal { total: 10_000 }
    );
    l.set_balance(APP, 600).unwrap();
    let ok = l.refund(cmd("T1", Some("R1"), 600), t0()).unwrap();
    assert!(ok.fund_change);
    assert_eq!(balance(&l), 0);
}

#[test]
fn precreate_pay_close_and_their_conflicts() {
    let (mut l, mut ids) = ledger();
    let pre = |no: &str, amount: u64, subject: &str| PrecreateCommand {
        app_id: APP.into(),
        out_trade_no: no.into(),
        total_amount: amount,
        subject: subject.into(),
        body: None,
        store_id: None,
        notify_url: None,
    };
    let first = l
        .precreate(pre("Q1", 8_888, "iPhone"), t0(), &mut ids)
        .unwrap();
    let code = first.qr_code.clone().unwrap();
    assert!(code.starts_with("https://qr.alipay.com/bax0"));
    assert_eq!(first.status, TradeStatus::WaitBuyerPay);
    // Same request again: the same trade and code.
    let again = l
        .precreate(pre("Q1", 8_888, "iPhone"), t0(), &mut ids)
        .unwrap();
    assert_eq!(again.qr_code.as_deref(), Some(code.as_str()));
    assert_eq!(again.trade_no, first.trade_no);
    assert_eq!(
        l.precreate(pre("Q1", 8_889, "iPhone"), t0(), &mut ids)
            .unwrap_err(),
        PrecreateError::ContextInconsistent
    );

    let before = balance(&l);
    let paid = l
        .pay(Some(APP), "Q1", None, None, t0().plus(SECOND))
        .unwrap();
    assert_eq!(paid.status, TradeStatus::TradeSuccess);
    assert_eq!(paid.paid_at, Some(t0().plus(SECOND)));
    assert_eq!(paid.buyer_user_id.as_deref(), Some(DEFAULT_BUYER_USER_ID));
    assert_eq!(balance(&l), before + 8_888);
    assert!(matches!(
        l.pay(Some(APP), "Q1", None, None, t0()),
        Err(AdminError::Conflict(_))
    ));
    assert_eq!(
        l.precreate(pre("Q1", 8_888, "iPhone"), t0(), &mut ids)
            .unwrap_err(),
        PrecreateError::TradeHasSuccess
    );
    let by = TradeRef::OutTradeNo("Q1".into());
    assert_eq!(
        l.close(APP, &by, t0()).unwrap_err(),
        CloseError::NotWaiting("TRADE_SUCCESS")
    );

    // A scanned but unpaid trade closes; closing again, refunding or precreating it fails.
    l.precreate(pre("Q2", 100, "s"), t0(), &mut ids).unwrap();
    l.scan(Some(APP), "Q2").unwrap();
    let by = TradeRef::OutTradeNo("Q2".into());
    let closed = l.close(APP, &by, t0()).unwrap();
    assert_eq!(closed.status, TradeStatus::TradeClosed);
    assert_eq!(
        l.close(APP, &by, t0()).unwrap_err(),
        CloseError::NotWaiting("TRADE_CLOSED")
    );
    assert_eq!(
        l.precreate(pre("Q2", 100, "s"), t0(), &mut ids)
            .unwrap_err(),
        PrecreateError::TradeHasClose
    );
    assert!(matches!(
        l.pay(None, "Q2", None, None, t0()),
        Err(AdminError::Conflict(_))
    ));
}

#[test]
fn refund_query_finds_by_request_number_on_an_existing_trade() {
    let (mut l, mut ids) = ledger();
    let trade = seed(&mut l, &mut ids, "T1", 10_000);
    l.refund(cmd("T1", Some("R1"), 100), t0()).unwrap();
    let by_no = TradeRef::TradeNo(trade.trade_no.clone());
    let found = l.query_refund(APP, &by_no, "R1").unwrap();
    assert_eq!(found.refund.unwrap().refund_amount, 100);
    assert_eq!(found.trade.refunded, 100);
    let missing = l.query_refund(APP, &by_no, "R2").unwrap();
    assert!(missing.refund.is_none());
    assert!(l.query_refund(OTHER_APP, &by_no, "R1").is_none());
    assert!(
        l.query_refund(APP, &TradeRef::OutTradeNo("T9".into()), "R1")
            .is_none()
    );
}

#[test]
fn admin_lookups_by_either_id_and_ambiguity() {
    let (mut l, mut ids) = ledger();
    let a = seed(&mut l, &mut ids, "SAME", 100);
    l.seed_trade(
        SeedTrade {
            app_id: OTHER_APP.into(),
            out_trade_no: Some("SAME".into()),
            total_amount: 100,
            ..SeedTrade::default()
        },
        t0(),
        &mut ids,
    )
    .unwrap();
    assert!(matches!(
        l.finish(None, "SAME"),
        Err(AdminError::Ambiguous(_))
    ));
    assert_eq!(
        l.finish(Some(APP), "SAME").unwrap().status,
        TradeStatus::TradeFinished
    );
    assert!(l.set_frozen(None, &a.trade_no, true).unwrap().frozen);
    assert!(matches!(
        l.finish(None, "nope"),
        Err(AdminError::UnknownTrade(_))
    ));
    assert!(matches!(
        l.seed_trade(
            SeedTrade {
                app_id: APP.into(),
                out_trade_no: Some("SAME".into()),
                total_amount: 1,
                ..SeedTrade::default()
            },
            t0(),
            &mut ids
        ),
        Err(AdminError::Duplicate(_))
    ));
    assert!(matches!(
        l.seed_trade(
            SeedTrade {
                app_id: "nope".into(),
                total_amount: 1,
                ..SeedTrade::default()
            },
            t0(),
            &mut ids
        ),
        Err(AdminError::UnknownApp(_))
    ));
    assert!(matches!(
        l.create_app(NewApp {
            app_id: APP.into(),
            name: String::new(),
            seller_balance: 0,
            app_auth_tokens: Vec::new()
        }),
        Err(AdminError::Duplicate(_))
    ));
}
