//! The whole state of a sandbox as data: a [`Scenario`]. `paysandbox serve --scenario FILE`
//! starts from one, `GET /admin/scenario` writes the current state as one, and the demo data
//! is one (`scenarios/demo.toml`). The reference, with a complete example, is
//! `docs/scenarios.md`.
//!
//! # What it holds
//! Every ledger ([`WechatRecords`] for WeChat and its `/sandboxnew/` ledger, [`AlipayRecords`])
//! with their orders, trades and refunds in any state and age, the sandbox keys, the
//! notification outbox with every attempt, the queued faults, the clock, and where the id
//! generators stand. Each part of the state reads and writes its own records (the ledgers in
//! their `record` modules, [`Outbox::restore`], [`Faults::restore`],
//! [`SandboxKeys::restore`]); this module puts them together.
//!
//! Not in it, because none of it is business state: the request journal, the rate-limit
//! windows, the Alipay bill links (30 s), certificates and keys (files in the data
//! directory, made for each merchant and app when a scenario is loaded).
//!
//! # Exact, and checked
//! [`Scenario::load`] puts every record back as it was, not through the business rules (a
//! refund a rule would refuse today loads as it was made), but checks that the state holds
//! together: ids unique, refunds within what was paid, times in order, states matching the
//! money. Errors name the entity (`wechat.orders[3] (out_trade_no demo-order-0004).refunds[0]
//! (out_refund_no r1): ...`). [`Scenario::of`] writes a state; loading what it wrote and
//! writing again gives the same scenario.
//!
//! Records may leave out what has a default (the admin API's seeding defaults), ids (drawn
//! from the generator) and times (`now`, or a minute before it for payments), and may write
//! times relative to the scenario's now (`"now - 40d"`, [`When`]). A written scenario leaves
//! out only what equals its default, so it reads back the same.
//!
//! # The persisted store
//! The records are the state's serialized form: [`crate::store`] keeps them per entity (an
//! order, a refund, a notification) and assembles a [`Scenario`] at start, which restores
//! the sandbox with [`Scenario::load`]. [`IdsRecord`] is where the generators stand (seed
//! and position, the last notification id); the store writes a position reserved ahead.

mod file;

use serde::{Deserialize, Serialize};

pub use file::{Format, ScenarioError};

use crate::clock::{Timestamp, When};
use crate::faults::{FaultRecord, Faults};
use crate::ids::IdGenerator;
use crate::ledger::alipay::{AlipayLedger, AlipayRecords, AlipayRules};
use crate::ledger::wechat::{
    SandboxKeyRecord, SandboxKeys, WechatLedger, WechatRecords, WechatRules,
};
use crate::outbox::{NotificationRecord, Outbox};
use crate::record::RecordError;
use crate::world::World;

/// A sandbox's state as data: what a scenario file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The clock at load; left out, the sandbox clock keeps its time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockRecord>,
    /// Where the id generators stand; left out, the sandbox's seed from its start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<IdsRecord>,
    /// The WeChat ledger.
    #[serde(default, skip_serializing_if = "WechatRecords::is_empty")]
    pub wechat: WechatRecords,
    /// The WeChat sandbox's own ledger (`/sandboxnew/`).
    #[serde(default, skip_serializing_if = "WechatRecords::is_empty")]
    pub wechat_sandbox: WechatRecords,
    /// The sandbox keys `/sandboxnew/pay/getsignkey` issued.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wechat_sandbox_keys: Vec<SandboxKeyRecord>,
    /// The Alipay ledger.
    #[serde(default, skip_serializing_if = "AlipayRecords::is_empty")]
    pub alipay: AlipayRecords,
    /// Faults queued, per endpoint in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultRecord>,
    /// Notifications with every attempt, by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<NotificationRecord>,
}

/// The sandbox clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockRecord {
    /// The time the clock is set to (relative: from the sandbox clock at load). Every
    /// relative time of the scenario counts from it.
    pub now: When,
    /// Stand still between advances (true), or follow the system clock (false); left out,
    /// the clock keeps its mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen: Option<bool>,
}

/// Where the generators of ids stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdsRecord {
    /// The seed of the RNG behind ids and nonces.
    pub seed: u64,
    /// How many words of its stream have been drawn (default 0: from the start).
    #[serde(default)]
    pub position: u64,
    /// The last notification id given (default the highest listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_notification_id: Option<u64>,
}

/// A scenario put into the values a sandbox holds.
#[derive(Debug)]
pub struct Loaded {
    /// Every ledger.
    pub world: World,
    /// The notifications.
    pub outbox: Outbox,
    /// The queued faults.
    pub faults: Faults,
    /// What the clock is to be set to, if the scenario says.
    pub clock: Option<ClockRecord>,
    /// The scenario's now, from which its relative times were counted.
    pub now: Timestamp,
}

impl Scenario {
    /// The state in these values, written as a scenario: `now` and `frozen` are the clock's.
    pub fn of(
        world: &World,
        outbox: &Outbox,
        faults: &Faults,
        now: Timestamp,
        frozen: bool,
    ) -> Scenario {
        Scenario {
            clock: Some(ClockRecord {
                now: When::At(now),
                frozen: Some(frozen),
            }),
            ids: Some(IdsRecord {
                seed: world.ids.seed(),
                position: world.ids.position(),
                last_notification_id: Some(outbox.last_id()),
            }),
            wechat: world.wechat.records(),
            wechat_sandbox: world.wechat_sandbox.records(),
            wechat_sandbox_keys: world.sandbox_keys.records(),
            alipay: world.alipay.records(),
            faults: faults.records(),
            notifications: outbox.records(),
        }
    }

    /// Puts the scenario into new values: ledgers with `wechat_rules` and `alipay_rules`, ids
    /// from the scenario's generator or else `seed`. `clock_now` is the sandbox clock's time;
    /// relative times count from the scenario's clock if it sets one, else from it.
    ///
    /// # Errors
    /// The first record that does not hold together, its path naming the entity.
    pub fn load(
        &self,
        wechat_rules: &WechatRules,
        alipay_rules: &AlipayRules,
        seed: u64,
        clock_now: Timestamp,
    ) -> Result<Loaded, RecordError> {
        let now = self.clock.map_or(clock_now, |c| c.now.resolve(clock_now));
        let mut ids = match self.ids {
            Some(record) => IdGenerator::at(record.seed, record.position),
            None => IdGenerator::seeded(seed),
        };
        let wechat = WechatLedger::restore(wechat_rules.clone(), &self.wechat, now, &mut ids)
            .map_err(|e| e.within("wechat"))?;
        let wechat_sandbox =
            WechatLedger::restore(wechat_rules.clone(), &self.wechat_sandbox, now, &mut ids)
                .map_err(|e| e.within("wechat_sandbox"))?;
        let sandbox_keys = SandboxKeys::restore(&self.wechat_sandbox_keys, now, |mch_id| {
            wechat.merchant(mch_id).is_some()
        })
        .map_err(|e| e.within("wechat_sandbox_keys"))?;
        let alipay = AlipayLedger::restore(alipay_rules.clone(), &self.alipay, now, &mut ids)
            .map_err(|e| e.within("alipay"))?;
        let faults = Faults::restore(&self.faults).map_err(|e| e.within("faults"))?;
        let last_notification_id = self.ids.and_then(|i| i.last_notification_id);
        let outbox = Outbox::restore(last_notification_id, &self.notifications, now)
            .map_err(|e| e.within("notifications"))?;
        Ok(Loaded {
            world: World {
                wechat,
                wechat_sandbox,
                sandbox_keys,
                alipay,
                alipay_bills: Default::default(),
                ids,
            },
            outbox,
            faults,
            clock: self.clock,
            now,
        })
    }
}
