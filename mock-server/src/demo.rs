//! The demo data `paysandbox serve` starts with, so a client can refund something in its
//! first minute: a scenario file, `scenarios/demo.toml`, built into the binary ([`SCENARIO`]).
//! Each order and trade in it is set up for one case (its `note` says which); the README and
//! docs/running.md list them. The ids below are the file's, named for the tests and the
//! documentation that use them.

use crate::scenario::{Format, Scenario, ScenarioError};

/// The demo scenario, as written in `mock-server/scenarios/demo.toml`.
pub const SCENARIO: &str = include_str!("../scenarios/demo.toml");

/// What the demo scenario is called in errors and at start.
pub const SCENARIO_NAME: &str = "scenarios/demo.toml (built in)";

/// Demo merchant id (the mch_id of the official examples).
pub const MCH_ID: &str = "1900000109";
/// Demo appid (of the official examples).
pub const APPID: &str = "wx2421b1c4370ec43b";
/// Demo API key: 32 characters, as real keys and some clients require.
pub const API_KEY: &str = "paysandboxdemokey000000000000000";
/// Demo APIv3 key (32 characters): encrypts `/v3/certificates` for the demo merchant.
pub const API_V3_KEY: &str = "paysandboxdemoapiv3key0000000000";
/// Demo company name (OU of the certificate).
pub const COMPANY: &str = "paysandbox demo merchant";
/// Demo Alipay app id (the spec's example, 16 digits like real ones).
pub const ALIPAY_APP_ID: &str = "2021000000000001";
/// Demo Alipay app name.
pub const ALIPAY_APP_NAME: &str = "paysandbox demo app";

/// The demo scenario, read.
///
/// # Errors
/// Only if the built-in file were broken (a test reads it).
pub fn scenario() -> Result<Scenario, ScenarioError> {
    Scenario::parse(SCENARIO, Format::Toml, SCENARIO_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::ledger::alipay::{AlipayRules, TradeRef, TradeStatus};
    use crate::ledger::wechat::{OrderRef, PaymentState, WechatRules};

    #[test]
    fn the_demo_file_holds_the_named_merchant_app_orders_and_trades() {
        let scenario = scenario().unwrap();
        let now = Timestamp(1_700_000_000_000);
        let loaded = scenario
            .load(&WechatRules::default(), &AlipayRules::default(), 1, now)
            .unwrap();
        assert_eq!(loaded.now, now);
        let mut world = loaded.world;
        let merchant = world.wechat.merchant(MCH_ID).unwrap();
        assert_eq!(
            (
                merchant.appids.as_slice(),
                merchant.api_key.as_str(),
                merchant.company.as_str()
            ),
            ([APPID.to_owned()].as_slice(), API_KEY, COMPANY)
        );
        let orders: Vec<_> = world.wechat.orders(Some(MCH_ID)).cloned().collect();
        assert_eq!(orders.len(), 10);
        let overdue = world
            .wechat
            .query_order(MCH_ID, &OrderRef::OutTradeNo("demo-order-0005".into()), now)
            .unwrap();
        assert_eq!(overdue.paid_at, Some(Timestamp(now.0 - 400 * 86_400_000)));
        let native = orders
            .iter()
            .find(|o| &*o.out_trade_no == "demo-order-0010")
            .unwrap();
        assert_eq!(native.payment_state, PaymentState::Notpay);
        assert!(native.prepay.as_ref().unwrap().code_url.is_some());
        assert_eq!(
            world.alipay.app(ALIPAY_APP_ID).unwrap().name,
            ALIPAY_APP_NAME
        );
        assert_eq!(world.alipay.trades(Some(ALIPAY_APP_ID)).count(), 7);
        let finished = world
            .alipay
            .trade(
                ALIPAY_APP_ID,
                &TradeRef::OutTradeNo("demo-trade-0006".into()),
            )
            .unwrap();
        assert_eq!(
            world.alipay.trade_status(finished, now),
            TradeStatus::TradeFinished
        );
        for order in &scenario.wechat.orders {
            assert!(order.note.is_some(), "{} has no note", order.out_trade_no);
        }
    }
}
