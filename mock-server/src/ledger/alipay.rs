//! The Alipay ledger: apps, trades, refunds and the rules of spec/alipay.md §4–§6.
//!
//! Amounts are integer fen (the gateway converts yuan strings at the edge). The order in which
//! [`AlipayLedger::refund`] checks its rules decides which error a caller sees when several
//! apply; it is written out once, in that method. Trade states follow §6.1:
//!
//! ```text
//! (precreate, not scanned: invisible) → WAIT_BUYER_PAY → TRADE_SUCCESS → TRADE_FINISHED
//!                                            │                 │  (refund period over, or admin)
//!                                            └→ TRADE_CLOSED ←─┘  (close / full refund)
//! ```
//!
//! TRADE_FINISHED is also *derived*: a TRADE_SUCCESS trade paid longer ago than
//! [`AlipayRules::refund_period`] reads as TRADE_FINISHED ([`AlipayLedger::trade_status`]).

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::IdGenerator;
use crate::record::Changed;

mod bill_links;
mod record;

pub use bill_links::{BillLink, BillLinks, LINK_LIFETIME};
pub use record::{
    AlipayChanges, AlipayRecords, AlipayRefundRecord, AppRecord, TradeEventRecord, TradeRecord,
};

/// Tunable rules. The defaults are the choices listed in DEVIATIONS.md.
#[derive(Debug, Clone)]
pub struct AlipayRules {
    /// Trades paid longer ago than this are TRADE_FINISHED and refuse refunds
    /// (ACQ.TRADE_HAS_FINISHED). Set by contract; UNCONFIRMED default (spec §4.6): 365 days
    /// (deviation: `ali-refund-period`).
    pub refund_period: Duration,
    /// Minimum time between two refunds of one trade (spec §4.1: 3 s).
    pub refund_spacing: Duration,
}

impl Default for AlipayRules {
    fn default() -> Self {
        AlipayRules {
            refund_period: Duration::from_secs(365 * 86_400),
            refund_spacing: Duration::from_secs(3),
        }
    }
}

/// Buyer login shown (masked) on trades paid without a named buyer: sandbox buyers look like
/// `xxx@sandbox.com` (spec §9; deviation: `ali-default-buyer`).
pub const DEFAULT_BUYER_LOGON_ID: &str = "csq***@sandbox.com";
/// Buyer user id (2088 and 12 digits) of trades paid without a named buyer.
pub const DEFAULT_BUYER_USER_ID: &str = "2088102177846880";

/// An Alipay app (应用) and its merchant's balance.
#[derive(Debug, Clone, Serialize)]
pub struct App {
    /// The app id (`2021…`, 16 digits for real apps).
    pub app_id: String,
    /// Display name.
    pub name: String,
    /// The seller's available balance in fen; a refund larger than it gets
    /// ACQ.SELLER_BALANCE_NOT_ENOUGH. Payments add to it, refunds take from it (deviation:
    /// `ali-seller-balance`).
    pub seller_balance: u64,
    /// `app_auth_token` values accepted for this app (ISV calls acting for it); any other
    /// token is refused with `20001 aop.invalid-app-auth-token`.
    pub app_auth_tokens: Vec<String>,
    #[serde(skip)]
    trades_by_out_trade_no: HashMap<String, usize>,
}

/// What the admin API gives to create an app.
#[derive(Debug, Clone, Deserialize)]
pub struct NewApp {
    /// App id: 1 to 32 of `[0-9A-Za-z_-]` (it names the key directory).
    pub app_id: String,
    /// Display name.
    #[serde(default = "default_app_name")]
    pub name: String,
    /// Seller balance in fen.
    #[serde(default = "default_balance")]
    pub seller_balance: u64,
    /// Accepted `app_auth_token` values.
    #[serde(default)]
    pub app_auth_tokens: Vec<String>,
}

fn default_app_name() -> String {
    "paysandbox demo app".to_owned()
}

/// One million yuan: enough that SELLER_BALANCE_NOT_ENOUGH happens only when asked for.
fn default_balance() -> u64 {
    100_000_000
}

/// Stored trade state (spec §6.1). [`AlipayLedger::trade_status`] gives the state a client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeStatus {
    /// Created, waiting for payment.
    WaitBuyerPay,
    /// Paid and refundable (also after partial refunds).
    #[default]
    TradeSuccess,
    /// Closed unpaid, or fully refunded. Terminal.
    TradeClosed,
    /// Paid and no longer refundable. Terminal.
    TradeFinished,
}

impl TradeStatus {
    /// The `trade_status` wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            TradeStatus::WaitBuyerPay => "WAIT_BUYER_PAY",
            TradeStatus::TradeSuccess => "TRADE_SUCCESS",
            TradeStatus::TradeClosed => "TRADE_CLOSED",
            TradeStatus::TradeFinished => "TRADE_FINISHED",
        }
    }
}

/// A trade.
#[derive(Debug, Clone, Serialize)]
pub struct Trade {
    /// Owning app.
    pub app_id: String,
    /// Alipay trade number (28 digits).
    pub trade_no: String,
    /// Merchant order number, unique per app.
    pub out_trade_no: String,
    /// Total in fen.
    pub total_amount: u64,
    /// Order title.
    pub subject: String,
    /// Order description.
    pub body: Option<String>,
    /// Store id.
    pub store_id: Option<String>,
    /// Stored state (see [`AlipayLedger::trade_status`] for the derived TRADE_FINISHED).
    pub status: TradeStatus,
    /// False for a precreated trade whose QR code was never scanned: it does not exist yet for
    /// query, refund and close (spec §6.5).
    pub visible: bool,
    /// The QR code of a precreated trade.
    pub qr_code: Option<String>,
    /// Frozen (ACQ.REASON_TRADE_BEEN_FREEZEN on refund).
    pub frozen: bool,
    /// Masked buyer login, once a buyer is known.
    pub buyer_logon_id: Option<String>,
    /// Buyer user id, once a buyer is known.
    pub buyer_user_id: Option<String>,
    /// Cumulative refunded amount in fen.
    pub refunded: u64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was paid.
    pub paid_at: Option<Timestamp>,
    /// When it was closed (unpaid close or full refund).
    pub closed_at: Option<Timestamp>,
    /// Where asynchronous notifications go (the `notify_url` of precreate, or seeded).
    pub notify_url: Option<String>,
    #[serde(skip)]
    refunds: Vec<usize>,
    #[serde(skip)]
    last_refund_at: Option<Timestamp>,
}

impl Trade {
    /// Whether the buyer paid (its money is or was with the seller).
    pub fn is_paid(&self) -> bool {
        self.paid_at.is_some()
    }

    /// Number of refunds made.
    pub fn refund_count(&self) -> usize {
        self.refunds.len()
    }
}

/// A refund. Synchronous refunds succeed when accepted: there is no PROCESSING state.
#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    /// Owning app.
    pub app_id: String,
    /// The trade's Alipay number.
    pub trade_no: String,
    /// The trade's merchant number.
    pub out_trade_no: String,
    /// The refund's request number: the idempotency key within the trade. The trade's
    /// out_trade_no when the request had none (spec §4.5).
    pub out_request_no: String,
    /// Whether the request carried out_request_no (false: defaulted to out_trade_no).
    pub out_request_no_given: bool,
    /// Amount in fen.
    pub refund_amount: u64,
    /// Reason, if given.
    pub refund_reason: Option<String>,
    /// When the money moved (`gmt_refund_pay`).
    pub refunded_at: Timestamp,
}

/// How a request names its trade. `trade_no` wins when both are given (spec §4.2): the route
/// passes only the winner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeRef {
    /// Alipay's trade number.
    TradeNo(String),
    /// The merchant's order number.
    OutTradeNo(String),
}

/// A refund request that passed authentication and biz_content parsing.
#[derive(Debug, Clone)]
pub struct RefundCommand {
    /// Calling app.
    pub app_id: String,
    /// The trade.
    pub trade: TradeRef,
    /// Amount in fen (≥ 1, checked by the parser).
    pub refund_amount: u64,
    /// The request number, if given.
    pub out_request_no: Option<String>,
    /// Reason, if given.
    pub refund_reason: Option<String>,
}

/// Why a refund was refused. The gateway maps each to its ACQ sub_code (alipay/reply.rs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefundError {
    /// No such (visible) trade of this app (ACQ.TRADE_NOT_EXIST).
    #[error("trade does not exist")]
    TradeNotExist,
    /// Same out_request_no as an earlier refund, another amount (ACQ.DISCORDANT_REPEAT_REQUEST).
    #[error("out_request_no already refunded {earlier} fen")]
    DiscordantRepeat {
        /// The earlier refund's amount.
        earlier: u64,
    },
    /// WAIT_BUYER_PAY (ACQ.TRADE_STATUS_ERROR).
    #[error("trade is not paid")]
    TradeNotPaid,
    /// TRADE_CLOSED (ACQ.TRADE_HAS_CLOSE).
    #[error("trade is closed")]
    TradeClosed,
    /// TRADE_FINISHED, by the admin API or the refund period (ACQ.TRADE_HAS_FINISHED).
    #[error("trade is finished")]
    TradeFinished,
    /// Frozen (ACQ.REASON_TRADE_BEEN_FREEZEN).
    #[error("trade is frozen")]
    Frozen,
    /// The amount is above the trade total (ACQ.REFUND_AMT_NOT_EQUAL_TOTAL).
    #[error("refund amount above the trade total {total}")]
    AmountAboveTotal {
        /// The trade total.
        total: u64,
    },
    /// No out_request_no and not a full refund (ACQ.REFUND_AMT_NOT_EQUAL_TOTAL).
    #[error("a partial refund needs out_request_no")]
    PartialWithoutRequestNo,
    /// Cumulative refunds would exceed the total (ACQ.REASON_TRADE_REFUND_FEE_ERR).
    #[error("refund exceeds the refundable {refundable} fen")]
    ExceedsRefundable {
        /// Fen still refundable.
        refundable: u64,
    },
    /// Less than the spacing since the previous refund of the trade (ACQ.SYSTEM_ERROR).
    #[error("previous refund of this trade was too recent")]
    TooSoon,
    /// The seller's balance is short (ACQ.SELLER_BALANCE_NOT_ENOUGH).
    #[error("seller balance {balance} is short of {needed}")]
    SellerBalanceNotEnough {
        /// Fen available.
        balance: u64,
        /// Fen needed.
        needed: u64,
    },
}

/// An accepted (or replayed) refund.
#[derive(Debug, Clone)]
pub struct RefundOutcome {
    /// The refund: new, or the earlier one with the same request number.
    pub refund: Refund,
    /// The trade after it.
    pub trade: Trade,
    /// True when money moved now (`fund_change: "Y"`); false for an idempotent replay.
    pub fund_change: bool,
}

/// What a refund query found on an existing trade.
#[derive(Debug, Clone)]
pub struct RefundLookup {
    /// The trade.
    pub trade: Trade,
    /// The refund with that request number, if there is one.
    pub refund: Option<Refund>,
}

/// A precreate request that passed parsing.
#[derive(Debug, Clone)]
pub struct PrecreateCommand {
    /// Calling app.
    pub app_id: String,
    /// Merchant order number.
    pub out_trade_no: String,
    /// Total in fen.
    pub total_amount: u64,
    /// Title.
    pub subject: String,
    /// Description.
    pub body: Option<String>,
    /// Store id.
    pub store_id: Option<String>,
    /// The request's `notify_url` common parameter.
    pub notify_url: Option<String>,
}

/// Why a precreate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrecreateError {
    /// The out_trade_no names a paid trade (ACQ.TRADE_HAS_SUCCESS).
    #[error("trade already paid")]
    TradeHasSuccess,
    /// The out_trade_no names a closed trade (ACQ.TRADE_HAS_CLOSE).
    #[error("trade closed")]
    TradeHasClose,
    /// The out_trade_no names an unpaid trade with another amount or subject
    /// (ACQ.CONTEXT_INCONSISTENT).
    #[error("trade exists with other details")]
    ContextInconsistent,
}

/// Why a close was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseError {
    /// No such (visible) trade (ACQ.TRADE_NOT_EXIST).
    #[error("trade does not exist")]
    TradeNotExist,
    /// Not WAIT_BUYER_PAY (ACQ.TRADE_STATUS_ERROR).
    #[error("trade is {0}, not WAIT_BUYER_PAY")]
    NotWaiting(&'static str),
}

/// A trade to seed through the admin API.
#[derive(Debug, Clone, Default)]
pub struct SeedTrade {
    /// Owning app.
    pub app_id: String,
    /// Merchant order number; generated when absent.
    pub out_trade_no: Option<String>,
    /// Alipay trade number; generated when absent.
    pub trade_no: Option<String>,
    /// Total in fen.
    pub total_amount: u64,
    /// State (default TRADE_SUCCESS).
    pub status: TradeStatus,
    /// Paid (or created, if unpaid) this many seconds before now (default 60).
    pub paid_seconds_ago: Option<u64>,
    /// Frozen.
    pub frozen: bool,
    /// Title.
    pub subject: Option<String>,
    /// Description.
    pub body: Option<String>,
    /// Store id.
    pub store_id: Option<String>,
    /// Masked buyer login.
    pub buyer_logon_id: Option<String>,
    /// Buyer user id.
    pub buyer_user_id: Option<String>,
    /// Where notifications go.
    pub notify_url: Option<String>,
}

/// What happened to a trade, for the notification engine (spec §7: TRADE_SUCCESS and
/// TRADE_CLOSED notify by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TradeEventKind {
    /// The buyer paid (→ TRADE_SUCCESS).
    Paid,
    /// Money was refunded (TRADE_SUCCESS after a partial refund, TRADE_CLOSED after a full one).
    Refunded,
    /// An unpaid trade was closed (→ TRADE_CLOSED).
    Closed,
}

/// A trade event with the trade as it was right after it.
#[derive(Debug, Clone)]
pub struct TradeEvent {
    /// What happened.
    pub kind: TradeEventKind,
    /// The trade right after the event.
    pub trade: Trade,
    /// The refund, for [`TradeEventKind::Refunded`].
    pub refund: Option<Refund>,
    /// When.
    pub at: Timestamp,
}

/// Why an admin operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// Unknown app.
    #[error("unknown app {0}")]
    UnknownApp(String),
    /// Unknown trade.
    #[error("unknown trade {0}")]
    UnknownTrade(String),
    /// Something already exists with that id.
    #[error("{0} already exists")]
    Duplicate(String),
    /// The id names trades of several apps.
    #[error("{0} names trades of several apps: add ?app_id=")]
    Ambiguous(String),
    /// The trade is in the wrong state for this operation.
    #[error("{0}")]
    Conflict(String),
    /// The value is not acceptable.
    #[error("{0}")]
    Invalid(String),
}

/// The Alipay side of the sandbox.
#[derive(Debug)]
pub struct AlipayLedger {
    rules: AlipayRules,
    apps: HashMap<String, App>,
    trades: Vec<Trade>,
    trades_by_trade_no: HashMap<String, usize>,
    refunds: Vec<Refund>,
    /// (trade index, out_request_no) → refund index: the idempotency key of §4.5.
    refunds_by_key: HashMap<(usize, String), usize>,
    /// Events not yet taken by the notification engine ([`AlipayLedger::take_events`]).
    events: Vec<TradeEvent>,
    /// Trades added or altered since the persisted store took them, by index.
    changed_trades: Changed<usize>,
    /// Refunds added since the persisted store took them, by index.
    changed_refunds: Changed<usize>,
}

impl AlipayLedger {
    /// An empty ledger with these rules.
    pub fn new(rules: AlipayRules) -> AlipayLedger {
        AlipayLedger {
            rules,
            apps: HashMap::new(),
            trades: Vec::new(),
            trades_by_trade_no: HashMap::new(),
            refunds: Vec::new(),
            refunds_by_key: HashMap::new(),
            events: Vec::new(),
            changed_trades: Changed::default(),
            changed_refunds: Changed::default(),
        }
    }

    /// Takes the trade events recorded since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<TradeEvent> {
        std::mem::take(&mut self.events)
    }

    fn record(
        &mut self,
        kind: TradeEventKind,
        trade: &Trade,
        refund: Option<&Refund>,
        at: Timestamp,
    ) {
        // Only trades that can be notified are worth remembering (keeps load tests lean).
        if trade.notify_url.is_some() {
            self.events.push(TradeEvent {
                kind,
                trade: trade.clone(),
                refund: refund.cloned(),
                at,
            });
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &AlipayRules {
        &self.rules
    }

    /// An app by id.
    pub fn app(&self, app_id: &str) -> Option<&App> {
        self.apps.get(app_id)
    }

    /// Every app, sorted by id.
    pub fn apps(&self) -> Vec<&App> {
        let mut apps: Vec<&App> = self.apps.values().collect();
        apps.sort_by(|a, b| a.app_id.cmp(&b.app_id));
        apps
    }

    /// Creates an app (its keys are the caller's business: they live on disk).
    pub fn create_app(&mut self, new: NewApp) -> Result<App, AdminError> {
        if self.apps.contains_key(&new.app_id) {
            return Err(AdminError::Duplicate(format!("app {}", new.app_id)));
        }
        let ok = (1..=32).contains(&new.app_id.len())
            && new
                .app_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err(AdminError::Invalid(
                "app_id must be 1 to 32 of [0-9A-Za-z_-]".into(),
            ));
        }
        if new
            .app_auth_tokens
            .iter()
            .any(|t| t.is_empty() || t.len() > 40)
        {
            return Err(AdminError::Invalid(
                "app_auth_tokens must be 1 to 40 characters".into(),
            ));
        }
        let app = App {
            app_id: new.app_id,
            name: new.name,
            seller_balance: new.seller_balance,
            app_auth_tokens: new.app_auth_tokens,
            trades_by_out_trade_no: HashMap::new(),
        };
        self.apps.insert(app.app_id.clone(), app.clone());
        Ok(app)
    }

    /// Sets an app's seller balance (fen).
    pub fn set_balance(&mut self, app_id: &str, balance: u64) -> Result<(), AdminError> {
        self.apps
            .get_mut(app_id)
            .ok_or_else(|| AdminError::UnknownApp(app_id.to_owned()))?
            .seller_balance = balance;
        Ok(())
    }

    /// The state a client sees: TRADE_SUCCESS reads as TRADE_FINISHED once the refund period
    /// since payment is over (spec §4.6).
    pub fn trade_status(&self, trade: &Trade, now: Timestamp) -> TradeStatus {
        match (trade.status, trade.paid_at) {
            (TradeStatus::TradeSuccess, Some(paid))
                if now.since(paid) > self.rules.refund_period =>
            {
                TradeStatus::TradeFinished
            }
            (status, _) => status,
        }
    }

    fn new_trade_no(&self, at: Timestamp, ids: &mut IdGenerator) -> String {
        loop {
            let no = ids.alipay_trade_no(at);
            if !self.trades_by_trade_no.contains_key(&no) {
                break no;
            }
        }
    }

    fn insert_trade(&mut self, trade: Trade) -> usize {
        let index = self.trades.len();
        self.trades_by_trade_no
            .insert(trade.trade_no.clone(), index);
        if let Some(app) = self.apps.get_mut(&trade.app_id) {
            app.trades_by_out_trade_no
                .insert(trade.out_trade_no.clone(), index);
        }
        self.trades.push(trade);
        self.changed_trades.mark(index);
        index
    }

    /// Seeds a trade in any state and age and returns it.
    pub fn seed_trade(
        &mut self,
        seed: SeedTrade,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<Trade, AdminError> {
        let app = self
            .apps
            .get(&seed.app_id)
            .ok_or_else(|| AdminError::UnknownApp(seed.app_id.clone()))?;
        if seed.total_amount == 0 {
            return Err(AdminError::Invalid(
                "total_amount must be at least 0.01".into(),
            ));
        }
        let at = seed
            .paid_seconds_ago
            .map_or(now.minus(record::DEFAULT_AGO), |ago| {
                now.minus(Duration::from_secs(ago))
            });
        let out_trade_no = match seed.out_trade_no {
            Some(no) if no.is_empty() || no.chars().count() > 64 => {
                return Err(AdminError::Invalid(
                    "out_trade_no must be 1 to 64 characters".into(),
                ));
            }
            Some(no) => no,
            None => ids.out_trade_no(at),
        };
        if app.trades_by_out_trade_no.contains_key(&out_trade_no) {
            return Err(AdminError::Duplicate(format!(
                "out_trade_no {out_trade_no}"
            )));
        }
        let trade_no = match seed.trade_no {
            Some(no) if self.trades_by_trade_no.contains_key(&no) => {
                return Err(AdminError::Duplicate(format!("trade_no {no}")));
            }
            Some(no) if no.is_empty() || no.len() > 64 => {
                return Err(AdminError::Invalid(
                    "trade_no must be 1 to 64 characters".into(),
                ));
            }
            Some(no) => no,
            None => self.new_trade_no(at, ids),
        };
        // Only TRADE_SUCCESS and TRADE_FINISHED were paid; a seeded TRADE_CLOSED is an unpaid
        // trade that was closed (a fully refunded one comes from refunding).
        let paid = matches!(
            seed.status,
            TradeStatus::TradeSuccess | TradeStatus::TradeFinished
        );
        let has_buyer = seed.status != TradeStatus::TradeClosed || seed.buyer_user_id.is_some();
        let trade = Trade {
            app_id: seed.app_id,
            trade_no,
            out_trade_no,
            total_amount: seed.total_amount,
            subject: seed
                .subject
                .unwrap_or_else(|| record::DEFAULT_SUBJECT.to_owned()),
            body: seed.body,
            store_id: seed.store_id,
            status: seed.status,
            visible: true,
            qr_code: None,
            frozen: seed.frozen,
            buyer_logon_id: has_buyer.then(|| {
                seed.buyer_logon_id
                    .unwrap_or_else(|| DEFAULT_BUYER_LOGON_ID.to_owned())
            }),
            buyer_user_id: has_buyer.then(|| {
                seed.buyer_user_id
                    .unwrap_or_else(|| DEFAULT_BUYER_USER_ID.to_owned())
            }),
            refunded: 0,
            created_at: at,
            paid_at: paid.then_some(at),
            closed_at: (seed.status == TradeStatus::TradeClosed).then_some(at),
            notify_url: seed.notify_url,
            refunds: Vec::new(),
            last_refund_at: None,
        };
        let index = self.insert_trade(trade);
        self.trades
            .get(index)
            .cloned()
            .ok_or_else(|| AdminError::Invalid("trade vanished".into()))
    }

    /// A trade of `app_id` as a client names it; `None` when it does not exist for the
    /// client (unknown, another app's, or a precreated trade whose QR was never scanned;
    /// deviation: `ali-precreate-invisible`).
    fn find(&self, app_id: &str, by: &TradeRef) -> Option<usize> {
        let index = match by {
            TradeRef::TradeNo(no) => *self.trades_by_trade_no.get(no)?,
            TradeRef::OutTradeNo(no) => *self.apps.get(app_id)?.trades_by_out_trade_no.get(no)?,
        };
        let trade = self.trades.get(index)?;
        (trade.app_id == app_id && trade.visible).then_some(index)
    }

    /// A trade as a client sees it (see [`AlipayLedger::trade_status`] for its state).
    pub fn trade(&self, app_id: &str, by: &TradeRef) -> Option<&Trade> {
        self.find(app_id, by).and_then(|i| self.trades.get(i))
    }

    /// Applies a refund (`alipay.trade.refund`). Checks, in this order (the first that fails
    /// answers):
    /// 1. the trade exists for this app (ACQ.TRADE_NOT_EXIST);
    /// 2. an earlier refund with the same request number (out_request_no, or the trade's
    ///    out_trade_no when absent; deviation: `ali-refund-without-out-request-no`): same
    ///    amount → that refund again with `fund_change` N, nothing moved, whatever the trade's
    ///    state now (deviation: `ali-replay-after-close`); other amount →
    ///    ACQ.DISCORDANT_REPEAT_REQUEST;
    /// 3. the trade's state: WAIT_BUYER_PAY → ACQ.TRADE_STATUS_ERROR, TRADE_CLOSED →
    ///    ACQ.TRADE_HAS_CLOSE, TRADE_FINISHED (or paid longer ago than the refund period) →
    ///    ACQ.TRADE_HAS_FINISHED; then frozen → ACQ.REASON_TRADE_BEEN_FREEZEN;
    /// 4. amount above the trade total, or a partial refund without out_request_no →
    ///    ACQ.REFUND_AMT_NOT_EQUAL_TOTAL;
    /// 5. cumulative refunds above the total → ACQ.REASON_TRADE_REFUND_FEE_ERR;
    /// 6. less than 3 s since the trade's previous refund → ACQ.SYSTEM_ERROR;
    /// 7. the seller's balance → ACQ.SELLER_BALANCE_NOT_ENOUGH.
    ///
    /// An accepted refund succeeds at once: the balance is debited, the trade's cumulative
    /// refund grows, and a refund that reaches the total closes the trade (TRADE_CLOSED).
    /// A refused one leaves nothing behind, so a retry with the same request number is
    /// executed afresh (§4.5 rule 6).
    pub fn refund(
        &mut self,
        cmd: RefundCommand,
        now: Timestamp,
    ) -> Result<RefundOutcome, RefundError> {
        let index = self
            .find(&cmd.app_id, &cmd.trade)
            .ok_or(RefundError::TradeNotExist)?;
        let trade = self.trades.get(index).ok_or(RefundError::TradeNotExist)?;
        let request_no = cmd
            .out_request_no
            .clone()
            .unwrap_or_else(|| trade.out_trade_no.clone());

        if let Some(&earlier) = self.refunds_by_key.get(&(index, request_no.clone())) {
            let refund = self
                .refunds
                .get(earlier)
                .ok_or(RefundError::TradeNotExist)?;
            if refund.refund_amount != cmd.refund_amount {
                return Err(RefundError::DiscordantRepeat {
                    earlier: refund.refund_amount,
                });
            }
            return Ok(RefundOutcome {
                refund: refund.clone(),
                trade: trade.clone(),
                fund_change: false,
            });
        }

        match self.trade_status(trade, now) {
            TradeStatus::WaitBuyerPay => return Err(RefundError::TradeNotPaid),
            TradeStatus::TradeClosed => return Err(RefundError::TradeClosed),
            TradeStatus::TradeFinished => return Err(RefundError::TradeFinished),
            TradeStatus::TradeSuccess => {}
        }
        if trade.frozen {
            return Err(RefundError::Frozen);
        }
        if cmd.refund_amount > trade.total_amount {
            return Err(RefundError::AmountAboveTotal {
                total: trade.total_amount,
            });
        }
        if cmd.out_request_no.is_none() && cmd.refund_amount != trade.total_amount {
            return Err(RefundError::PartialWithoutRequestNo);
        }
        let refundable = trade.total_amount.saturating_sub(trade.refunded);
        if cmd.refund_amount > refundable {
            return Err(RefundError::ExceedsRefundable { refundable });
        }
        if trade
            .last_refund_at
            .is_some_and(|last| now.since(last) < self.rules.refund_spacing)
        {
            return Err(RefundError::TooSoon);
        }
        let app = self
            .apps
            .get_mut(&cmd.app_id)
            .ok_or(RefundError::TradeNotExist)?;
        if app.seller_balance < cmd.refund_amount {
            return Err(RefundError::SellerBalanceNotEnough {
                balance: app.seller_balance,
                needed: cmd.refund_amount,
            });
        }
        app.seller_balance -= cmd.refund_amount;

        let refund_index = self.refunds.len();
        self.changed_trades.mark(index);
        self.changed_refunds.mark(refund_index);
        let trade = self
            .trades
            .get_mut(index)
            .ok_or(RefundError::TradeNotExist)?;
        trade.refunded += cmd.refund_amount;
        trade.last_refund_at = Some(now);
        trade.refunds.push(refund_index);
        if trade.refunded == trade.total_amount {
            trade.status = TradeStatus::TradeClosed;
            trade.closed_at = Some(now);
        }
        let refund = Refund {
            app_id: cmd.app_id,
            trade_no: trade.trade_no.clone(),
            out_trade_no: trade.out_trade_no.clone(),
            out_request_no: request_no.clone(),
            out_request_no_given: cmd.out_request_no.is_some(),
            refund_amount: cmd.refund_amount,
            refund_reason: cmd.refund_reason,
            refunded_at: now,
        };
        let trade = trade.clone();
        self.refunds.push(refund.clone());
        self.refunds_by_key
            .insert((index, request_no), refund_index);
        self.record(TradeEventKind::Refunded, &trade, Some(&refund), now);
        Ok(RefundOutcome {
            refund,
            trade,
            fund_change: true,
        })
    }

    /// `alipay.trade.fastpay.refund.query`: the trade, and its refund with this request number
    /// if there is one. `None` when the trade does not exist for this app.
    pub fn query_refund(
        &self,
        app_id: &str,
        by: &TradeRef,
        out_request_no: &str,
    ) -> Option<RefundLookup> {
        let index = self.find(app_id, by)?;
        let trade = self.trades.get(index)?.clone();
        let refund = self
            .refunds_by_key
            .get(&(index, out_request_no.to_owned()))
            .and_then(|i| self.refunds.get(*i))
            .cloned();
        Some(RefundLookup { trade, refund })
    }

    /// `alipay.trade.close`: WAIT_BUYER_PAY → TRADE_CLOSED.
    pub fn close(
        &mut self,
        app_id: &str,
        by: &TradeRef,
        now: Timestamp,
    ) -> Result<Trade, CloseError> {
        let index = self.find(app_id, by).ok_or(CloseError::TradeNotExist)?;
        let trade = self.trades.get(index).ok_or(CloseError::TradeNotExist)?;
        let status = self.trade_status(trade, now);
        if status != TradeStatus::WaitBuyerPay {
            return Err(CloseError::NotWaiting(status.as_str()));
        }
        self.changed_trades.mark(index);
        let trade = self
            .trades
            .get_mut(index)
            .ok_or(CloseError::TradeNotExist)?;
        trade.status = TradeStatus::TradeClosed;
        trade.closed_at = Some(now);
        let trade = trade.clone();
        self.record(TradeEventKind::Closed, &trade, None, now);
        Ok(trade)
    }

    /// `alipay.trade.precreate`: a new WAIT_BUYER_PAY trade with a QR code, invisible until
    /// scanned or paid (admin API). The same out_trade_no with the same amount and subject
    /// while still unpaid answers the same trade and QR code again (deviation:
    /// `ali-precreate-reused-out-trade-no`).
    pub fn precreate(
        &mut self,
        cmd: PrecreateCommand,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<Trade, PrecreateError> {
        let existing = self
            .apps
            .get(&cmd.app_id)
            .and_then(|a| a.trades_by_out_trade_no.get(&cmd.out_trade_no))
            .copied();
        if let Some(index) = existing {
            let Some(trade) = self.trades.get(index) else {
                return Err(PrecreateError::ContextInconsistent);
            };
            match self.trade_status(trade, now) {
                TradeStatus::TradeSuccess | TradeStatus::TradeFinished => {
                    return Err(PrecreateError::TradeHasSuccess);
                }
                TradeStatus::TradeClosed => return Err(PrecreateError::TradeHasClose),
                TradeStatus::WaitBuyerPay => {}
            }
            if trade.total_amount != cmd.total_amount || trade.subject != cmd.subject {
                return Err(PrecreateError::ContextInconsistent);
            }
            let needs_code = trade.qr_code.is_none();
            let code = needs_code.then(|| ids.alipay_qr_code());
            self.changed_trades.mark(index);
            let trade = self
                .trades
                .get_mut(index)
                .ok_or(PrecreateError::ContextInconsistent)?;
            if let Some(code) = code {
                trade.qr_code = Some(code);
            }
            return Ok(trade.clone());
        }
        let trade_no = self.new_trade_no(now, ids);
        let trade = Trade {
            app_id: cmd.app_id,
            trade_no,
            out_trade_no: cmd.out_trade_no,
            total_amount: cmd.total_amount,
            subject: cmd.subject,
            body: cmd.body,
            store_id: cmd.store_id,
            status: TradeStatus::WaitBuyerPay,
            visible: false,
            qr_code: Some(ids.alipay_qr_code()),
            frozen: false,
            buyer_logon_id: None,
            buyer_user_id: None,
            refunded: 0,
            created_at: now,
            paid_at: None,
            closed_at: None,
            notify_url: cmd.notify_url,
            refunds: Vec::new(),
            last_refund_at: None,
        };
        let index = self.insert_trade(trade);
        self.trades
            .get(index)
            .cloned()
            .ok_or(PrecreateError::ContextInconsistent)
    }

    /// Finds a trade for the admin API by trade_no or out_trade_no (any visibility),
    /// optionally within one app.
    fn admin_find(&self, app_id: Option<&str>, id: &str) -> Result<usize, AdminError> {
        if let Some(&index) = self.trades_by_trade_no.get(id)
            && self
                .trades
                .get(index)
                .is_some_and(|t| app_id.is_none_or(|a| t.app_id == a))
        {
            return Ok(index);
        }
        let mut found = self.apps.values().filter_map(|app| {
            app_id
                .is_none_or(|a| app.app_id == a)
                .then(|| app.trades_by_out_trade_no.get(id).copied())
                .flatten()
        });
        match (found.next(), found.next()) {
            (Some(index), None) => Ok(index),
            (Some(_), Some(_)) => Err(AdminError::Ambiguous(id.to_owned())),
            (None, _) => Err(AdminError::UnknownTrade(id.to_owned())),
        }
    }

    fn admin_trade_mut(
        &mut self,
        app_id: Option<&str>,
        id: &str,
    ) -> Result<&mut Trade, AdminError> {
        let index = self.admin_find(app_id, id)?;
        self.changed_trades.mark(index);
        self.trades
            .get_mut(index)
            .ok_or_else(|| AdminError::UnknownTrade(id.to_owned()))
    }

    /// The buyer scans a precreated trade's QR code: it now exists (still WAIT_BUYER_PAY).
    pub fn scan(&mut self, app_id: Option<&str>, id: &str) -> Result<Trade, AdminError> {
        let trade = self.admin_trade_mut(app_id, id)?;
        if trade.status != TradeStatus::WaitBuyerPay {
            return Err(AdminError::Conflict(format!(
                "trade is {}, not WAIT_BUYER_PAY",
                trade.status.as_str()
            )));
        }
        trade.visible = true;
        trade
            .buyer_logon_id
            .get_or_insert_with(|| DEFAULT_BUYER_LOGON_ID.to_owned());
        trade
            .buyer_user_id
            .get_or_insert_with(|| DEFAULT_BUYER_USER_ID.to_owned());
        Ok(trade.clone())
    }

    /// The buyer pays a WAIT_BUYER_PAY trade (scanning it first if needed): TRADE_SUCCESS,
    /// and the total goes to the seller's balance.
    pub fn pay(
        &mut self,
        app_id: Option<&str>,
        id: &str,
        buyer_logon_id: Option<String>,
        buyer_user_id: Option<String>,
        now: Timestamp,
    ) -> Result<Trade, AdminError> {
        let trade = self.admin_trade_mut(app_id, id)?;
        if trade.status != TradeStatus::WaitBuyerPay {
            return Err(AdminError::Conflict(format!(
                "trade is {}, not WAIT_BUYER_PAY",
                trade.status.as_str()
            )));
        }
        trade.status = TradeStatus::TradeSuccess;
        trade.visible = true;
        trade.paid_at = Some(now);
        if let Some(login) = buyer_logon_id {
            trade.buyer_logon_id = Some(login);
        }
        if let Some(user) = buyer_user_id {
            trade.buyer_user_id = Some(user);
        }
        trade
            .buyer_logon_id
            .get_or_insert_with(|| DEFAULT_BUYER_LOGON_ID.to_owned());
        trade
            .buyer_user_id
            .get_or_insert_with(|| DEFAULT_BUYER_USER_ID.to_owned());
        let trade = trade.clone();
        if let Some(app) = self.apps.get_mut(&trade.app_id) {
            app.seller_balance = app.seller_balance.saturating_add(trade.total_amount);
        }
        self.record(TradeEventKind::Paid, &trade, None, now);
        Ok(trade)
    }

    /// Freezes or unfreezes a trade.
    pub fn set_frozen(
        &mut self,
        app_id: Option<&str>,
        id: &str,
        frozen: bool,
    ) -> Result<Trade, AdminError> {
        let trade = self.admin_trade_mut(app_id, id)?;
        trade.frozen = frozen;
        Ok(trade.clone())
    }

    /// Ends a paid trade's refund period now: TRADE_SUCCESS → TRADE_FINISHED.
    pub fn finish(&mut self, app_id: Option<&str>, id: &str) -> Result<Trade, AdminError> {
        let trade = self.admin_trade_mut(app_id, id)?;
        if !matches!(
            trade.status,
            TradeStatus::TradeSuccess | TradeStatus::TradeFinished
        ) {
            return Err(AdminError::Conflict(format!(
                "trade is {}, not TRADE_SUCCESS",
                trade.status.as_str()
            )));
        }
        trade.status = TradeStatus::TradeFinished;
        Ok(trade.clone())
    }

    /// Trades, optionally of one app, in creation order.
    pub fn trades(&self, app_id: Option<&str>) -> impl DoubleEndedIterator<Item = &Trade> {
        self.trades
            .iter()
            .filter(move |t| app_id.is_none_or(|a| t.app_id == a))
    }

    /// Refunds, optionally of one app, in creation order.
    pub fn refunds(&self, app_id: Option<&str>) -> impl DoubleEndedIterator<Item = &Refund> {
        self.refunds
            .iter()
            .filter(move |r| app_id.is_none_or(|a| r.app_id == a))
    }

    /// The refunds of a trade, in creation order.
    pub fn refunds_of(&self, trade: &Trade) -> Vec<&Refund> {
        trade
            .refunds
            .iter()
            .filter_map(|i| self.refunds.get(*i))
            .collect()
    }
}

#[cfg(test)]
mod tests;
