//! What a scenario that cannot be loaded is told: a file that is not TOML or JSON, a field
//! that is unknown, missing or of the wrong type (file, line, column, field), and a state
//! that does not hold together (the entity, by its id).

use paysandbox_mock_server::clock::Timestamp;
use paysandbox_mock_server::ledger::alipay::AlipayRules;
use paysandbox_mock_server::ledger::wechat::WechatRules;
use paysandbox_mock_server::scenario::{Format, Scenario, ScenarioError};

/// The head of a refund of merchant m1's order o1.
const REFUND: &str = "[[wechat.refunds]]\nmch_id = \"m1\"\nout_trade_no = \"o1\"\n";

const NOW: Timestamp = Timestamp(1_700_000_000_000);

const MERCHANT: &str = r#"
[[wechat.merchants]]
mch_id = "m1"
appids = ["wx1"]
api_key = "k1k1k1k1k1k1k1k1k1k1k1k1k1k1k1k1"
"#;

fn parse(text: &str, format: Format) -> Result<Scenario, ScenarioError> {
    Scenario::parse(text, format, "s.toml")
}

/// Parses and loads; the loading error as `serve` prints it.
fn load(text: &str) -> Result<Scenario, String> {
    let scenario = parse(text, Format::Toml).map_err(|e| e.to_string())?;
    scenario
        .load(&WechatRules::default(), &AlipayRules::default(), 1, NOW)
        .map_err(|e| ScenarioError::of_record("s.toml", e).to_string())?;
    Ok(scenario)
}

#[test]
fn a_field_that_is_unknown_missing_or_mistyped_is_named_with_its_line() {
    let typo = format!(
        "{MERCHANT}\n[[wechat.orders]]\nmch_id = \"m1\"\nout_trade_no = \"o1\"\ntotl_fee = 5\n"
    );
    let error = parse(&typo, Format::Toml).unwrap_err();
    assert_eq!(error.origin, "s.toml");
    assert_eq!(error.position, Some((10, 1)), "{error}");
    assert!(error.path.starts_with("wechat.orders[0]"), "{error}");
    assert!(
        error.message.contains("unknown field `totl_fee`"),
        "{error}"
    );

    let missing = format!("{MERCHANT}\n[[wechat.orders]]\nmch_id = \"m1\"\ntotal_fee = 5\n");
    let error = parse(&missing, Format::Toml).unwrap_err();
    assert_eq!(error.path, "wechat.orders[0]", "{error}");
    assert!(
        error.message.contains("missing field `out_trade_no`"),
        "{error}"
    );
    assert_eq!(error.position.map(|(line, _)| line), Some(7), "{error}");

    let mistyped = format!(
        "{MERCHANT}\n[[wechat.orders]]\nmch_id = \"m1\"\nout_trade_no = \"o1\"\ntotal_fee = 88.8\n"
    );
    let error = parse(&mistyped, Format::Toml).unwrap_err();
    assert_eq!(error.path, "wechat.orders[0].total_fee");
    assert_eq!(error.position, Some((10, 13)));
    assert!(
        error.message.contains("invalid type: floating point"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("s.toml:10:13: wechat.orders[0].total_fee: invalid type"),
        "{error}"
    );

    let bad_time = format!(
        "{MERCHANT}\n[[wechat.orders]]\nmch_id = \"m1\"\nout_trade_no = \"o1\"\ntotal_fee = 1\npaid_at = \"yesterday\"\n"
    );
    let error = parse(&bad_time, Format::Toml).unwrap_err();
    assert_eq!(error.path, "wechat.orders[0].paid_at");
    assert_eq!(error.position, Some((11, 11)));
    assert!(error.message.contains("expected a time"), "{error}");
}

#[test]
fn text_that_is_not_toml_or_json_is_refused_where_it_breaks() {
    let error = parse("[wechat\nmerchants = 1\n", Format::Toml).unwrap_err();
    assert_eq!(error.position.map(|(line, _)| line), Some(1), "{error}");
    assert_eq!(error.path, "");

    let json = "{\n  \"wechat\": {\n    \"orders\": [{\"mch_id\": \"m1\", \"out_trade_no\": 7, \"total_fee\": 1}]\n  }\n}";
    let error = Scenario::parse(json, Format::Json, "s.json").unwrap_err();
    assert_eq!(error.path, "wechat.orders[0].out_trade_no");
    assert_eq!(error.position.map(|(line, _)| line), Some(3));
    assert_eq!(
        error.message,
        "invalid type: integer `7`, expected a string"
    );
    let error = Scenario::parse("{} {}", Format::Json, "s.json").unwrap_err();
    assert_eq!(error.message, "trailing characters after the scenario");
}

#[test]
fn a_state_that_does_not_hold_together_names_the_entity() {
    let over_refunded = format!(
        "{MERCHANT}\n[[wechat.orders]]\nmch_id = \"m1\"\nout_trade_no = \"o1\"\ntotal_fee = 100\n\
         {REFUND}out_refund_no = \"r1\"\nrefund_fee = 60\nstatus = \"SUCCESS\"\n\
         {REFUND}out_refund_no = \"r2\"\nrefund_fee = 60\nstatus = \"SUCCESS\"\n"
    );
    assert_eq!(
        load(&over_refunded).unwrap_err(),
        "s.toml: wechat.refunds[1] (out_refund_no r2): \
         the refunds of order o1 add up to more than its total_fee 100"
    );
    // A closed refund holds no money: the same amounts load.
    let with_a_closed_one = over_refunded.replacen("\"SUCCESS\"", "\"REFUNDCLOSE\"", 1);
    load(&with_a_closed_one).unwrap();

    let cases = [
        (
            format!("{MERCHANT}{MERCHANT}"),
            "s.toml: wechat.merchants[1] (mch_id m1): merchant m1 already exists",
        ),
        (
            "[[wechat.orders]]\nmch_id = \"nobody\"\nout_trade_no = \"o1\"\ntotal_fee = 1\n".to_owned(),
            "s.toml: wechat.orders[0] (out_trade_no o1): unknown merchant nobody (list it under merchants)",
        ),
        (
            format!(
                "{MERCHANT}\n[[wechat.orders]]\nmch_id = \"m1\"\nout_trade_no = \"o1\"\ntotal_fee = 1\n\
                 [[wechat.orders]]\nmch_id = \"m1\"\nout_trade_no = \"o1\"\ntotal_fee = 2\n"
            ),
            "s.toml: wechat.orders[1] (out_trade_no o1): merchant m1 has two orders o1",
        ),
        (
            format!(
                "{MERCHANT}\n[[wechat.orders]]\nmch_id = \"m1\"\nout_trade_no = \"o1\"\ntotal_fee = 10\n\
                 paid_at = \"2024-05-01 12:00:00\"\n\
                 {REFUND}out_refund_no = \"r1\"\nrefund_fee = 1\nrequested_at = \"2024-04-30 12:00:00\"\n"
            ),
            "s.toml: wechat.refunds[0] (out_refund_no r1): \
             requested_at 2024-04-30 12:00:00 is before the order was paid (2024-05-01 12:00:00)",
        ),
        (
            format!(
                "{MERCHANT}\n[[wechat.orders]]\nmch_id = \"m1\"\nout_trade_no = \"o1\"\ntotal_fee = 10\n\
                 state = \"NOTPAY\"\n{REFUND}out_refund_no = \"r1\"\nrefund_fee = 1\n"
            ),
            "s.toml: wechat.refunds[0] (out_refund_no r1): \
             only a paid (SUCCESS) order has refunds",
        ),
        (
            format!("{MERCHANT}\n[[wechat.orders]]\nmch_id = \"m1\"\nout_trade_no = \"o1\"\ntotal_fee = 10\n\
                     coupons = [{{ id = \"c1\", kind = \"CASH\", fee = 4 }}]\n\
                     {REFUND}out_refund_no = \"r1\"\nrefund_fee = 5\ncoupon_refunds = [{{ coupon_id = \"c1\", fee = 5 }}]\n"),
            "s.toml: wechat.refunds[0] (out_refund_no r1): \
             the refunds take more than the 4 fen of coupon c1",
        ),
        (
            "[[wechat.merchants]]\nmch_id = \"../etc\"\nappids = [\"wx1\"]\napi_key = \"k\"\n".to_owned(),
            "s.toml: wechat.merchants[0] (mch_id ../etc): mch_id may only hold letters, digits, '_' and '-'",
        ),
        (
            "[[alipay.apps]]\napp_id = \"a1\"\n[[alipay.trades]]\napp_id = \"a1\"\nout_trade_no = \"t1\"\n\
             total_amount = 100\n[[alipay.refunds]]\napp_id = \"a1\"\nout_trade_no = \"t1\"\n\
             out_request_no = \"q1\"\nrefund_amount = 100\n".to_owned(),
            "s.toml: alipay.trades[0] (out_trade_no t1): \
             its refunds add up to its total_amount, so it is TRADE_CLOSED, not TRADE_SUCCESS",
        ),
        (
            "[[alipay.apps]]\napp_id = \"a1\"\n[[alipay.trades]]\napp_id = \"a1\"\nout_trade_no = \"t1\"\n\
             total_amount = 100\nstatus = \"WAIT_BUYER_PAY\"\n[[alipay.refunds]]\napp_id = \"a1\"\n\
             out_trade_no = \"t1\"\nout_request_no = \"q1\"\nrefund_amount = 1\n".to_owned(),
            "s.toml: alipay.refunds[0] (out_request_no q1): \
             only a paid trade (one with paid_at) has refunds",
        ),
        (
            format!("{MERCHANT}{REFUND}out_refund_no = \"r1\"\nrefund_fee = 1\n"),
            "s.toml: wechat.refunds[0] (out_refund_no r1): merchant m1 has no order o1 (list it under orders)",
        ),
        (
            "[[faults]]\nendpoint = \"wechat.refund\"\n".to_owned(),
            "s.toml: faults[0] (endpoint wechat.refund): a fault needs err_code, http_status or delay_ms",
        ),
        (
            "[[notifications]]\nid = 1\nplatform = \"wechat\"\nkind = \"refund\"\nevent = \"SUCCESS\"\n\
             merchant = \"m1\"\nout_trade_no = \"o1\"\ntrade_id = \"t1\"\ncreated_at = \"now\"\n\
             status = \"pending\"\ncontent_type = \"text/xml\"\nbody = \"<xml/>\"\n".to_owned(),
            "s.toml: notifications[0] (id 1): only a no_url notification goes without url",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(load(&text).unwrap_err(), expected, "{text}");
    }
}

#[test]
fn what_a_record_leaves_out_is_defaulted_and_relative_times_count_from_the_clock() {
    let text = format!(
        "[clock]\nnow = \"2024-05-01 12:00:00\"\nfrozen = true\n{MERCHANT}\n\
         [[wechat.orders]]\nmch_id = \"m1\"\nout_trade_no = \"o1\"\ntotal_fee = 1000\npaid_at = \"now - 1d\"\n\
         coupons = [{{ kind = \"NO_CASH\", fee = 200 }}]\n\
         {REFUND}out_refund_no = \"r1\"\nrefund_fee = 500\nstatus = \"SUCCESS\"\nrequested_at = \"now - 1h\"\n"
    );
    let scenario = parse(&text, Format::Toml).unwrap();
    let loaded = scenario
        .load(&WechatRules::default(), &AlipayRules::default(), 1, NOW)
        .unwrap();
    let clock_now = Timestamp(1_714_536_000_000); // 2024-05-01 12:00:00 Beijing
    assert_eq!(loaded.now, clock_now);
    let (refund, order) = loaded.world.wechat.refunds(None).next().unwrap();
    assert_eq!(order.paid_at, Some(Timestamp(clock_now.0 - 86_400_000)));
    assert_eq!(order.transaction_id.len(), 28);
    assert_eq!(order.coupons[0].id.len(), 20);
    assert_eq!(refund.refund_id.len(), 29);
    assert_eq!(refund.requested_at, Timestamp(clock_now.0 - 3_600_000));
    // Settled the default delay later, and split as the ledger splits: 100 of the coupon.
    assert_eq!(refund.settles_at, Timestamp(clock_now.0 - 3_590_000));
    assert_eq!(refund.success_at, Some(refund.settles_at));
    assert_eq!(refund.coupon_refunds[0].fee, 100);
    assert_eq!(refund.settlement_refund_fee, 400);
    assert_eq!(refund.cash_refund_fee, 400);
    assert_eq!(refund.total_fee, 1000);
}

#[test]
fn the_complete_example_of_docs_scenarios_md_loads_with_every_section() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/scenarios.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc.find("## A complete example").unwrap();
    let block = &doc[start..];
    let block = &block[block.find("```toml\n").unwrap() + "```toml\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    let scenario = parse(block, Format::Toml).unwrap();
    let loaded = scenario
        .load(&WechatRules::default(), &AlipayRules::default(), 1, NOW)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(scenario.clock.is_some() && scenario.ids.is_some());
    assert!(!scenario.wechat.events.is_empty() && !scenario.wechat_sandbox.is_empty());
    assert!(!scenario.wechat_sandbox_keys.is_empty() && !scenario.faults.is_empty());
    assert!(!scenario.alipay.refunds.is_empty() && !scenario.notifications.is_empty());
    assert_eq!(loaded.outbox.last_id(), 2);
    let (refund, _) = loaded.world.wechat.refunds(None).next().unwrap();
    assert_eq!(refund.settlement_refund_fee, 400);
}
