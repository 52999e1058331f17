//! The Alipay ledger as data: apps, trades, refunds, and the trade events the notifier has
//! not taken yet, as the records a scenario file writes (and a persisted store
//! can reuse). [`AlipayLedger::records`] writes them; [`AlipayLedger::restore`] puts them back
//! exactly, not through the rules, after checking that they hold together: ids unique,
//! refunds within the total and after the payment, the state matching the money. What a
//! record leaves out takes the admin API's seeding default; ids left out are drawn.
//!
//! Not kept: the indexes, a trade's refunded total and the time of its last refund (both
//! follow from its refunds), the bill download links (30 s each).

use serde::{Deserialize, Serialize};

use super::{
    AlipayLedger, AlipayRules, DEFAULT_BUYER_LOGON_ID, DEFAULT_BUYER_USER_ID, NewApp, Refund,
    Trade, TradeEvent, TradeEventKind, TradeStatus, default_app_name, default_balance,
};
use crate::clock::{Timestamp, When};
use crate::ids::IdGenerator;
use crate::record::{RecordError, is_false, is_true, yes};

/// The subject of trades that name none.
pub(super) const DEFAULT_SUBJECT: &str = "paysandbox demo goods";
/// How long before now a trade without times was paid (or created).
pub(super) const DEFAULT_AGO: std::time::Duration = std::time::Duration::from_secs(60);

/// The Alipay ledger: apps, trades, refunds (each naming its trade, in the ledger's order),
/// unnotified events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlipayRecords {
    /// Apps, by app_id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<AppRecord>,
    /// Trades, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trades: Vec<TradeRecord>,
    /// Refunds, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<AlipayRefundRecord>,
    /// Trade events the notifier has not taken yet, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<TradeEventRecord>,
}

impl AlipayRecords {
    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
            && self.trades.is_empty()
            && self.refunds.is_empty()
            && self.events.is_empty()
    }
}

/// The trades and refunds of the ledger that changed since the persisted store last took
/// them ([`AlipayLedger::take_changes`]), under their indexes.
#[derive(Debug, Clone, Default)]
pub struct AlipayChanges {
    /// Trades by index.
    pub trades: Vec<(usize, TradeRecord)>,
    /// Refunds by index.
    pub refunds: Vec<(usize, AlipayRefundRecord)>,
}

/// An app: the fields of `POST /admin/alipay/apps`, with the same defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppRecord {
    /// App id (1 to 32 of `[0-9A-Za-z_-]`: it names the key directory).
    pub app_id: String,
    /// Display name.
    #[serde(default = "default_app_name")]
    pub name: String,
    /// The seller's balance in fen, as it is.
    #[serde(default = "default_balance")]
    pub seller_balance: u64,
    /// Accepted `app_auth_token` values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_auth_tokens: Vec<String>,
}

/// A trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradeRecord {
    /// The app.
    pub app_id: String,
    /// The merchant's order number, unique per app.
    pub out_trade_no: String,
    /// Alipay's trade number (drawn when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    /// Total in fen.
    pub total_amount: u64,
    /// State as stored (default `TRADE_SUCCESS`).
    #[serde(default)]
    pub status: TradeStatus,
    /// Title (default `paysandbox demo goods`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Store id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// False for a precreated trade whose QR code was never scanned (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub visible: bool,
    /// A precreated trade's QR code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
    /// Frozen.
    #[serde(default, skip_serializing_if = "is_false")]
    pub frozen: bool,
    /// Masked buyer login (default the sandbox buyer for a paid trade).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_logon_id: Option<String>,
    /// Buyer user id (default the sandbox buyer for a paid trade).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_user_id: Option<String>,
    /// When it was created (default `paid_at`, else a minute before now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<When>,
    /// When it was paid (default a minute before now for `TRADE_SUCCESS` and
    /// `TRADE_FINISHED`; a fully refunded `TRADE_CLOSED` trade names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<When>,
    /// When it was closed (`TRADE_CLOSED` only; default its last refund, else `created_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<When>,
    /// Where its notifications go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// What the trade is for: shown by `paysandbox serve` at start, not kept in the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A refund already made (Alipay refunds succeed when accepted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlipayRefundRecord {
    /// The app of its trade.
    pub app_id: String,
    /// Its trade.
    pub out_trade_no: String,
    /// The request number; left out, the refund was made without one and it is the trade's
    /// out_trade_no.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_request_no: Option<String>,
    /// Fen.
    pub refund_amount: u64,
    /// Reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
    /// When the money moved (default now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_at: Option<When>,
}

/// A trade event the notifier has not taken yet, with the trade as it was right after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradeEventRecord {
    /// `paid`, `refunded` or `closed`.
    pub kind: TradeEventKind,
    /// When.
    pub at: When,
    /// The trade right after the event.
    pub trade: TradeRecord,
    /// The trade's refunded total right after the event, in fen.
    #[serde(default)]
    pub refunded: u64,
    /// The refund, for `refunded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<AlipayRefundRecord>,
}

/// `trades[3] (out_trade_no demo-trade-0004)`.
fn entry(list: &str, index: usize, id_name: &str, id: &str) -> String {
    format!("{list}[{index}] ({id_name} {id})")
}

impl AlipayLedger {
    /// The ledger as records: apps by app_id, trades oldest first with their refunds, the
    /// events not yet notified. [`AlipayLedger::restore`] reads them back into the same
    /// ledger.
    pub fn records(&self) -> AlipayRecords {
        AlipayRecords {
            apps: self.app_records(),
            trades: self.trades.iter().map(trade_record).collect(),
            refunds: self.refunds.iter().map(refund_record).collect(),
            events: self.event_records(),
        }
    }

    /// Starts noting which trades and refunds change, for the persisted store, which has
    /// written the ledger as it is now.
    pub fn track_changes(&mut self) {
        self.changed_trades.track();
        self.changed_refunds.track();
    }

    /// The trades and refunds added or altered since the last call (while tracked), as
    /// records under their indexes in the ledger's lists.
    pub fn take_changes(&mut self) -> AlipayChanges {
        let trades = self
            .changed_trades
            .take()
            .into_iter()
            .filter_map(|i| Some((i, trade_record(self.trades.get(i)?))))
            .collect();
        let refunds = self
            .changed_refunds
            .take()
            .into_iter()
            .filter_map(|i| Some((i, refund_record(self.refunds.get(i)?))))
            .collect();
        AlipayChanges { trades, refunds }
    }

    /// The apps as records, by app_id.
    pub fn app_records(&self) -> Vec<AppRecord> {
        self.apps()
            .into_iter()
            .map(|app| AppRecord {
                app_id: app.app_id.clone(),
                name: app.name.clone(),
                seller_balance: app.seller_balance,
                app_auth_tokens: app.app_auth_tokens.clone(),
            })
            .collect()
    }

    /// The trade events not taken yet, as records.
    pub fn event_records(&self) -> Vec<TradeEventRecord> {
        self.events
            .iter()
            .map(|event| TradeEventRecord {
                kind: event.kind,
                at: When::At(event.at),
                trade: trade_record(&event.trade),
                refunded: event.trade.refunded,
                refund: event.refund.as_ref().map(refund_record),
            })
            .collect()
    }

    /// A ledger with these rules holding `records`, relative times counted from `now`, ids
    /// left out drawn from `ids`.
    ///
    /// # Errors
    /// The first record that does not hold together, its path naming the entity.
    pub fn restore(
        rules: AlipayRules,
        records: &AlipayRecords,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<AlipayLedger, RecordError> {
        let mut ledger = AlipayLedger::new(rules);
        for (i, record) in records.apps.iter().enumerate() {
            ledger
                .create_app(NewApp {
                    app_id: record.app_id.clone(),
                    name: record.name.clone(),
                    seller_balance: record.seller_balance,
                    app_auth_tokens: record.app_auth_tokens.clone(),
                })
                .map_err(|e| {
                    RecordError::at(entry("apps", i, "app_id", &record.app_id), e.to_string())
                })?;
        }
        for (i, record) in records.trades.iter().enumerate() {
            let path = entry("trades", i, "out_trade_no", &record.out_trade_no);
            let trade = restore_trade(record, now, ids, |no| {
                ledger.trades_by_trade_no.contains_key(no)
            })
            .map_err(|message| RecordError::at(&path, message))?;
            if record.trade_no.is_some() && ledger.trades_by_trade_no.contains_key(&trade.trade_no)
            {
                return Err(RecordError::at(
                    &path,
                    format!("trade_no {} is used by an earlier trade", trade.trade_no),
                ));
            }
            let Some(app) = ledger.apps.get(&record.app_id) else {
                return Err(RecordError::at(
                    &path,
                    format!("unknown app {} (list it under apps)", record.app_id),
                ));
            };
            if app
                .trades_by_out_trade_no
                .contains_key(&record.out_trade_no)
            {
                return Err(RecordError::at(
                    &path,
                    format!(
                        "app {} has two trades {}",
                        record.app_id, record.out_trade_no
                    ),
                ));
            }
            ledger.insert_trade(trade);
        }
        for (i, record) in records.refunds.iter().enumerate() {
            let no = record
                .out_request_no
                .as_deref()
                .unwrap_or(&record.out_trade_no);
            ledger.restore_refund(record, now).map_err(|message| {
                RecordError::at(entry("refunds", i, "out_request_no", no), message)
            })?;
        }
        for (i, record) in records.trades.iter().enumerate() {
            let path = entry("trades", i, "out_trade_no", &record.out_trade_no);
            let trade = ledger
                .trades
                .get_mut(i)
                .ok_or_else(|| RecordError::at(&path, "the trade is missing"))?;
            // A closed trade's time defaults to its last refund's (a full refund closed it).
            if trade.status == TradeStatus::TradeClosed && trade.closed_at.is_none() {
                trade.closed_at = Some(trade.last_refund_at.unwrap_or(trade.created_at));
            }
            check_money(trade).map_err(|message| RecordError::at(path, message))?;
        }
        for (i, record) in records.events.iter().enumerate() {
            let event = restore_event(record, now, ids).map_err(|message| {
                RecordError::at(
                    entry("events", i, "out_trade_no", &record.trade.out_trade_no),
                    message,
                )
            })?;
            ledger.events.push(event);
        }
        Ok(ledger)
    }

    fn restore_refund(
        &mut self,
        record: &AlipayRefundRecord,
        now: Timestamp,
    ) -> Result<(), String> {
        let index = self
            .apps
            .get(&record.app_id)
            .and_then(|app| app.trades_by_out_trade_no.get(&record.out_trade_no))
            .copied()
            .ok_or_else(|| {
                format!(
                    "app {} has no trade {} (list it under trades)",
                    record.app_id, record.out_trade_no
                )
            })?;
        let refunded_at = record.refunded_at.map_or(now, |w| w.resolve(now));
        let trade = self.trades.get(index).ok_or("the trade is missing")?;
        let paid_at = trade
            .paid_at
            .ok_or("only a paid trade (one with paid_at) has refunds")?;
        if record.refund_amount == 0 {
            return Err("refund_amount must be at least 1 fen".into());
        }
        if refunded_at < paid_at {
            return Err(format!(
                "refunded_at {} is before the trade was paid ({})",
                refunded_at.beijing_datetime(),
                paid_at.beijing_datetime()
            ));
        }
        let refunded = trade
            .refunded
            .checked_add(record.refund_amount)
            .filter(|sum| *sum <= trade.total_amount)
            .ok_or_else(|| {
                format!(
                    "the refunds of trade {} add up to more than its total_amount {}",
                    trade.out_trade_no, trade.total_amount
                )
            })?;
        let request_no = match &record.out_request_no {
            Some(no) if no.is_empty() => {
                return Err("out_request_no must not be empty (leave it out)".into());
            }
            Some(no) => no.clone(),
            None => trade.out_trade_no.clone(),
        };
        if self
            .refunds_by_key
            .contains_key(&(index, request_no.clone()))
        {
            return Err(format!(
                "trade {} has two refunds {request_no}",
                trade.out_trade_no
            ));
        }
        let refund = Refund {
            app_id: trade.app_id.clone(),
            trade_no: trade.trade_no.clone(),
            out_trade_no: trade.out_trade_no.clone(),
            out_request_no: request_no.clone(),
            out_request_no_given: record.out_request_no.is_some(),
            refund_amount: record.refund_amount,
            refund_reason: record.refund_reason.clone(),
            refunded_at,
        };
        let refund_index = self.refunds.len();
        if let Some(trade) = self.trades.get_mut(index) {
            trade.refunded = refunded;
            trade.refunds.push(refund_index);
            trade.last_refund_at = trade.last_refund_at.max(Some(refunded_at));
        }
        self.refunds.push(refund);
        self.refunds_by_key
            .insert((index, request_no), refund_index);
        Ok(())
    }
}

/// A trade as a record, without its refunds.
fn trade_record(trade: &Trade) -> TradeRecord {
    TradeRecord {
        app_id: trade.app_id.clone(),
        out_trade_no: trade.out_trade_no.clone(),
        trade_no: Some(trade.trade_no.clone()),
        total_amount: trade.total_amount,
        status: trade.status,
        subject: Some(trade.subject.clone()).filter(|s| s != DEFAULT_SUBJECT),
        body: trade.body.clone(),
        store_id: trade.store_id.clone(),
        visible: trade.visible,
        qr_code: trade.qr_code.clone(),
        frozen: trade.frozen,
        buyer_logon_id: trade.buyer_logon_id.clone(),
        buyer_user_id: trade.buyer_user_id.clone(),
        created_at: Some(When::At(trade.created_at)),
        paid_at: trade.paid_at.map(When::At),
        closed_at: trade.closed_at.map(When::At),
        notify_url: trade.notify_url.clone(),
        note: None,
    }
}

fn refund_record(refund: &Refund) -> AlipayRefundRecord {
    AlipayRefundRecord {
        app_id: refund.app_id.clone(),
        out_trade_no: refund.out_trade_no.clone(),
        out_request_no: refund
            .out_request_no_given
            .then(|| refund.out_request_no.clone()),
        refund_amount: refund.refund_amount,
        refund_reason: refund.refund_reason.clone(),
        refunded_at: Some(When::At(refund.refunded_at)),
    }
}

/// A trade from its record (without its refunds), with what is left out defaulted or drawn;
/// `taken` says whether a drawn trade_no is in use.
fn restore_trade(
    record: &TradeRecord,
    now: Timestamp,
    ids: &mut IdGenerator,
    taken: impl Fn(&str) -> bool,
) -> Result<Trade, String> {
    if record.out_trade_no.is_empty() || record.out_trade_no.chars().count() > 64 {
        return Err("out_trade_no must be 1 to 64 characters".into());
    }
    if record.total_amount == 0 {
        return Err("total_amount must be at least 1 fen".into());
    }
    let waiting = record.status == TradeStatus::WaitBuyerPay;
    if !record.visible && !waiting {
        return Err("only a WAIT_BUYER_PAY trade can be invisible (visible = false)".into());
    }
    let paid_at = match (record.status, record.paid_at) {
        (TradeStatus::TradeSuccess | TradeStatus::TradeFinished, at) => {
            Some(at.map_or(now.minus(DEFAULT_AGO), |w| w.resolve(now)))
        }
        (TradeStatus::TradeClosed, at) => at.map(|w| w.resolve(now)),
        (TradeStatus::WaitBuyerPay, None) => None,
        (TradeStatus::WaitBuyerPay, Some(_)) => {
            return Err("a WAIT_BUYER_PAY trade has no paid_at".into());
        }
    };
    let created_at = record
        .created_at
        .map(|w| w.resolve(now))
        .or(paid_at)
        .unwrap_or_else(|| now.minus(DEFAULT_AGO));
    if paid_at.is_some_and(|paid| paid < created_at) {
        return Err("paid_at is before created_at".into());
    }
    let closed = record.status == TradeStatus::TradeClosed;
    // A closed trade left without closed_at gets its time once its refunds are known.
    let closed_at = match (closed, record.closed_at) {
        (true, at) => at.map(|w| w.resolve(now)),
        (false, None) => None,
        (false, Some(_)) => {
            return Err(format!(
                "closed_at is only for TRADE_CLOSED trades, this one is {}",
                record.status.as_str()
            ));
        }
    };
    let trade_no = match &record.trade_no {
        Some(no) if no.is_empty() || no.len() > 64 => {
            return Err("trade_no must be 1 to 64 characters".into());
        }
        Some(no) => no.clone(),
        None => loop {
            let no = ids.alipay_trade_no(created_at);
            if !taken(&no) {
                break no;
            }
        },
    };
    // A paid trade always has a buyer.
    let buyer = |given: &Option<String>, default: &str| {
        given
            .clone()
            .or_else(|| paid_at.map(|_| default.to_owned()))
    };
    Ok(Trade {
        app_id: record.app_id.clone(),
        trade_no,
        out_trade_no: record.out_trade_no.clone(),
        total_amount: record.total_amount,
        subject: record
            .subject
            .clone()
            .unwrap_or_else(|| DEFAULT_SUBJECT.to_owned()),
        body: record.body.clone(),
        store_id: record.store_id.clone(),
        status: record.status,
        visible: record.visible,
        qr_code: record.qr_code.clone(),
        frozen: record.frozen,
        buyer_logon_id: buyer(&record.buyer_logon_id, DEFAULT_BUYER_LOGON_ID),
        buyer_user_id: buyer(&record.buyer_user_id, DEFAULT_BUYER_USER_ID),
        refunded: 0,
        created_at,
        paid_at,
        closed_at,
        notify_url: record.notify_url.clone(),
        refunds: Vec::new(),
        last_refund_at: None,
    })
}

/// A trade's state against its money: refunds that reach the total close it, and a closed
/// trade that was paid was closed by refunding it all.
fn check_money(trade: &Trade) -> Result<(), String> {
    let full = trade.refunded == trade.total_amount;
    let closed = trade.status == TradeStatus::TradeClosed;
    if full && !closed {
        return Err(format!(
            "its refunds add up to its total_amount, so it is TRADE_CLOSED, not {}",
            trade.status.as_str()
        ));
    }
    if closed && trade.is_paid() && !full {
        return Err(
            "a paid trade is TRADE_CLOSED only once refunded in full (or leave out paid_at: closed unpaid)"
                .into(),
        );
    }
    Ok(())
}

fn restore_event(
    record: &TradeEventRecord,
    now: Timestamp,
    ids: &mut IdGenerator,
) -> Result<TradeEvent, String> {
    let mut trade = restore_trade(&record.trade, now, ids, |_| false)?;
    if record.trade.status == TradeStatus::TradeClosed && trade.closed_at.is_none() {
        trade.closed_at = Some(trade.created_at);
    }
    if let Some(refund) = &record.refund
        && (refund.app_id != trade.app_id || refund.out_trade_no != trade.out_trade_no)
    {
        return Err("the event's refund is of another trade".into());
    }
    if record.refunded > trade.total_amount {
        return Err("refunded is more than the trade's total_amount".into());
    }
    trade.refunded = record.refunded;
    let refund = record.refund.as_ref().map(|r| Refund {
        app_id: trade.app_id.clone(),
        trade_no: trade.trade_no.clone(),
        out_trade_no: trade.out_trade_no.clone(),
        out_request_no: r
            .out_request_no
            .clone()
            .unwrap_or_else(|| trade.out_trade_no.clone()),
        out_request_no_given: r.out_request_no.is_some(),
        refund_amount: r.refund_amount,
        refund_reason: r.refund_reason.clone(),
        refunded_at: r.refunded_at.map_or(now, |w| w.resolve(now)),
    });
    Ok(TradeEvent {
        kind: record.kind,
        trade,
        refund,
        at: record.at.resolve(now),
    })
}
