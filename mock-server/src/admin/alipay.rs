//! `/admin/alipay/...`: apps with their keys, trades in any state and age, balances, and the
//! buyer's side (scan, pay) plus freeze and finish.

use std::path::PathBuf;

use paysandbox_protocol::money::{format_yuan, parse_yuan};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::failure::Failure;
use super::input;
use super::route::{Json, OptionalJson, Path, Query, Reply};
use crate::ledger::alipay::{AdminError, App, NewApp, Refund, SeedTrade, Trade, TradeStatus};
use crate::state::AppState;

/// `?app_id=`: only this app's (listings), or the app whose trade is meant (actions).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AppQuery {
    /// The app.
    pub app_id: Option<String>,
}

/// `?app_id=&limit=&offset=` of the trade and refund lists.
#[derive(Debug, Clone, Deserialize)]
pub struct AppListQuery {
    /// Only this app's.
    pub app_id: Option<String>,
    /// How many of the newest (default 1,000, at most 10,000).
    pub limit: Option<String>,
    /// How many of the newest to skip first.
    pub offset: Option<String>,
}

/// An app as the admin API shows it: the app, its balance in yuan and its key files.
#[derive(Debug, Clone, Serialize)]
pub struct AppView {
    /// The app.
    #[serde(flatten)]
    pub app: App,
    /// `seller_balance` in yuan (`"1000000.00"`).
    pub seller_balance_yuan: String,
    /// The key files and public keys clients need.
    pub keys: KeysView,
}

/// An app's key files (both pairs, in every encoding clients read) and its public keys.
#[derive(Debug, Clone, Serialize)]
pub struct KeysView {
    /// PKCS#1 PEM.
    pub app_private_key_path: PathBuf,
    /// PKCS#8 PEM.
    pub app_private_key_pkcs8_path: PathBuf,
    /// Bare base64 of the PKCS#1 DER.
    pub app_private_key_base64_path: PathBuf,
    /// Bare base64 of the PKCS#8 DER.
    pub app_private_key_pkcs8_base64_path: PathBuf,
    /// SPKI PEM.
    pub app_public_key_path: PathBuf,
    /// Bare base64 SPKI.
    pub app_public_key_base64_path: PathBuf,
    /// The gateway's public key, SPKI PEM: clients verify answers with it.
    pub alipay_public_key_path: PathBuf,
    /// The same, bare base64.
    pub alipay_public_key_base64_path: PathBuf,
    /// The app public key, bare base64.
    pub app_public_key: String,
    /// The gateway's public key, bare base64.
    pub alipay_public_key: String,
}

impl AppView {
    /// The view of `app`, reading (or, the first time, generating) its keys: call it outside
    /// the world lock.
    fn of(state: &AppState, app: App) -> Result<AppView, Failure> {
        let keys = state.alipay_keys(&app.app_id)?;
        let files = &keys.files;
        Ok(AppView {
            seller_balance_yuan: format_yuan(app.seller_balance),
            keys: KeysView {
                app_private_key_path: files.app_private_key_path.clone(),
                app_private_key_pkcs8_path: files.app_private_key_pkcs8_path.clone(),
                app_private_key_base64_path: files.app_private_key_base64_path.clone(),
                app_private_key_pkcs8_base64_path: files.app_private_key_pkcs8_base64_path.clone(),
                app_public_key_path: files.app_public_key_path.clone(),
                app_public_key_base64_path: files.app_public_key_base64_path.clone(),
                alipay_public_key_path: files.alipay_public_key_path.clone(),
                alipay_public_key_base64_path: files.alipay_public_key_base64_path.clone(),
                app_public_key: files.app.public_base64.clone(),
                alipay_public_key: files.alipay.public_base64.clone(),
            },
            app,
        })
    }
}

pub(super) fn create_app(
    state: &AppState,
    Json(new): Json<NewApp>,
) -> Result<Reply<AppView>, Failure> {
    input::text("name", &new.name, 128)?;
    input::balance("seller_balance", new.seller_balance)?;
    for token in &new.app_auth_tokens {
        input::text("app_auth_tokens", token, 64)?;
    }
    if state.world().alipay.app(&new.app_id).is_some() {
        return Err(AdminError::Duplicate(format!("app {}", new.app_id)).into());
    }
    // Key files first, outside the world lock: the first time they take two RSA keygens.
    state.alipay_keys(&new.app_id)?;
    let app = state.world().alipay.create_app(new)?;
    Ok(Reply::created(AppView::of(state, app)?))
}

pub(super) fn apps(state: &AppState, (): ()) -> Result<Reply<Vec<AppView>>, Failure> {
    let apps: Vec<App> = state.world().alipay.apps().into_iter().cloned().collect();
    let views = apps
        .into_iter()
        .map(|app| AppView::of(state, app))
        .collect::<Result<_, _>>()?;
    Ok(Reply::ok(views))
}

/// `/admin/alipay/apps/{app_id}`.
#[derive(Debug, Clone, Deserialize)]
pub struct AppPath {
    /// The app.
    pub app_id: String,
}

/// `PATCH /admin/alipay/apps/{app_id}`: what changes; absent fields stay.
#[derive(Debug, Clone, Deserialize)]
pub struct AppUpdate {
    /// Fen refunds can draw on (ACQ.SELLER_BALANCE_NOT_ENOUGH beyond it).
    pub seller_balance: Option<u64>,
}

pub(super) fn update_app(
    state: &AppState,
    (Path(path), Json(update)): (Path<AppPath>, Json<AppUpdate>),
) -> Result<Reply<AppView>, Failure> {
    if let Some(balance) = update.seller_balance {
        input::balance("seller_balance", balance)?;
    }
    let app = {
        let mut world = state.world();
        if let Some(balance) = update.seller_balance {
            world.alipay.set_balance(&path.app_id, balance)?;
        }
        world
            .alipay
            .app(&path.app_id)
            .cloned()
            .ok_or(AdminError::UnknownApp(path.app_id))?
    };
    Ok(Reply::ok(AppView::of(state, app)?))
}

/// A trade as the admin API shows it: the stored trade and what derives from it.
#[derive(Debug, Clone, Serialize)]
pub struct TradeView {
    /// The trade.
    #[serde(flatten)]
    pub trade: Trade,
    /// The state a client sees (TRADE_FINISHED once the refund period is over).
    pub trade_status: &'static str,
    /// `total_amount` in yuan.
    pub total_yuan: String,
    /// `refunded` in yuan.
    pub refunded_yuan: String,
    /// Refunds made.
    pub refund_count: usize,
}

impl TradeView {
    fn of(trade: Trade, status: TradeStatus) -> TradeView {
        TradeView {
            trade_status: status.as_str(),
            total_yuan: format_yuan(trade.total_amount),
            refunded_yuan: format_yuan(trade.refunded),
            refund_count: trade.refund_count(),
            trade,
        }
    }
}

/// `POST /admin/alipay/trades`: a trade in any state and age. The amount is given once,
/// in yuan or in fen.
#[derive(Debug, Clone, Deserialize)]
pub struct TradeSeed {
    /// The app.
    pub app_id: String,
    /// Yuan, as a string: `"88.88"`.
    pub total_amount: Option<Value>,
    /// Fen.
    pub total_fen: Option<u64>,
    /// Merchant order number (generated when absent).
    pub out_trade_no: Option<String>,
    /// Alipay trade number (generated when absent).
    pub trade_no: Option<String>,
    /// Stored state (default TRADE_SUCCESS).
    #[serde(default)]
    pub status: TradeStatus,
    /// Paid this many seconds before now.
    pub paid_seconds_ago: Option<u64>,
    /// Frozen (refunds refused).
    #[serde(default)]
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
    /// Where trade notifications go.
    pub notify_url: Option<String>,
}

impl TradeSeed {
    /// The amount in fen: `total_amount` (a yuan string) or `total_fen`, exactly one.
    fn total_fen(&self) -> Result<u64, Failure> {
        match (&self.total_amount, self.total_fen) {
            (Some(Value::String(yuan)), None) => parse_yuan(yuan)
                .map_err(|e| Failure::bad_request(format!("total_amount {yuan:?}: {e}"))),
            (Some(_), None) => Err(Failure::bad_request(
                "total_amount is a yuan string such as \"88.88\"; give fen as total_fen",
            )),
            (None, Some(fen)) => Ok(fen),
            _ => Err(Failure::bad_request(
                "give exactly one of total_amount and total_fen",
            )),
        }
    }
}

pub(super) fn seed_trade(
    state: &AppState,
    Json(seed): Json<TradeSeed>,
) -> Result<Reply<TradeView>, Failure> {
    let total_amount = seed.total_fen()?;
    let now = state.clock.now();
    // Alipay's lengths: subject string(256), body string(128), store_id string(32),
    // buyer_logon_id string(100), buyer_user_id string(28).
    input::alipay_seed(
        now,
        seed.out_trade_no.as_deref(),
        seed.trade_no.as_deref(),
        total_amount,
        seed.paid_seconds_ago,
        [
            ("subject", seed.subject.as_deref(), 256),
            ("body", seed.body.as_deref(), 128),
            ("store_id", seed.store_id.as_deref(), 32),
            ("buyer_logon_id", seed.buyer_logon_id.as_deref(), 100),
            ("buyer_user_id", seed.buyer_user_id.as_deref(), 28),
        ],
        seed.notify_url.as_deref(),
    )?;
    let mut world = state.world();
    let world = &mut *world;
    let trade = world.alipay.seed_trade(
        SeedTrade {
            app_id: seed.app_id,
            out_trade_no: seed.out_trade_no,
            trade_no: seed.trade_no,
            total_amount,
            status: seed.status,
            paid_seconds_ago: seed.paid_seconds_ago,
            frozen: seed.frozen,
            subject: seed.subject,
            body: seed.body,
            store_id: seed.store_id,
            buyer_logon_id: seed.buyer_logon_id,
            buyer_user_id: seed.buyer_user_id,
            notify_url: seed.notify_url,
        },
        now,
        &mut world.ids,
    )?;
    let status = world.alipay.trade_status(&trade, now);
    Ok(Reply::created(TradeView::of(trade, status)))
}

pub(super) fn trades(
    state: &AppState,
    Query(query): Query<AppListQuery>,
) -> Result<Reply<Vec<TradeView>>, Failure> {
    let page = input::Page::parse(query.limit.as_deref(), query.offset.as_deref())?;
    let now = state.clock.now();
    let world = state.world();
    let trades = page
        .of(world.alipay.trades(query.app_id.as_deref()))
        .into_iter()
        .map(|trade| TradeView::of(trade.clone(), world.alipay.trade_status(trade, now)))
        .collect();
    Ok(Reply::ok(trades))
}

/// A refund as the admin API shows it: the refund and its amount in yuan.
#[derive(Debug, Clone, Serialize)]
pub struct AlipayRefundView {
    /// The refund.
    #[serde(flatten)]
    pub refund: Refund,
    /// `refund_amount` in yuan.
    pub refund_yuan: String,
}

pub(super) fn refunds(
    state: &AppState,
    Query(query): Query<AppListQuery>,
) -> Result<Reply<Vec<AlipayRefundView>>, Failure> {
    let page = input::Page::parse(query.limit.as_deref(), query.offset.as_deref())?;
    let world = state.world();
    let refunds = page
        .of(world.alipay.refunds(query.app_id.as_deref()))
        .into_iter()
        .map(|refund| AlipayRefundView {
            refund_yuan: format_yuan(refund.refund_amount),
            refund: refund.clone(),
        })
        .collect();
    Ok(Reply::ok(refunds))
}

/// `/admin/alipay/trades/{trade}/...`: the trade's `trade_no` or `out_trade_no`.
#[derive(Debug, Clone, Deserialize)]
pub struct TradePath {
    /// trade_no or out_trade_no.
    pub trade: String,
}

/// `POST /admin/alipay/trades/{trade}/pay`: who pays (the sandbox buyer when absent).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Buyer {
    /// Masked buyer login.
    pub buyer_logon_id: Option<String>,
    /// Buyer user id.
    pub buyer_user_id: Option<String>,
}

/// `POST /admin/alipay/trades/{trade}/freeze`.
#[derive(Debug, Clone, Deserialize)]
pub struct Freeze {
    /// Frozen (default) or thawed.
    #[serde(default = "yes")]
    pub frozen: bool,
}

impl Default for Freeze {
    fn default() -> Self {
        Freeze { frozen: true }
    }
}

fn yes() -> bool {
    true
}

/// Which trade a trade action means.
type TradeAction = (Path<TradePath>, Query<AppQuery>);

/// Runs `action` on the trade under the world lock and shows the trade after it.
fn act(
    state: &AppState,
    (Path(path), Query(query)): TradeAction,
    action: impl FnOnce(
        &mut crate::ledger::alipay::AlipayLedger,
        Option<&str>,
        &str,
    ) -> Result<Trade, AdminError>,
) -> Result<Reply<TradeView>, Failure> {
    let now = state.clock.now();
    let mut world = state.world();
    let trade = action(&mut world.alipay, query.app_id.as_deref(), &path.trade)?;
    let status = world.alipay.trade_status(&trade, now);
    Ok(Reply::ok(TradeView::of(trade, status)))
}

pub(super) fn scan(state: &AppState, which: TradeAction) -> Result<Reply<TradeView>, Failure> {
    act(state, which, |alipay, app_id, trade| {
        alipay.scan(app_id, trade)
    })
}

pub(super) fn pay(
    state: &AppState,
    (path, query, OptionalJson(buyer)): (Path<TradePath>, Query<AppQuery>, OptionalJson<Buyer>),
) -> Result<Reply<TradeView>, Failure> {
    input::text(
        "buyer_logon_id",
        buyer.buyer_logon_id.as_deref().unwrap_or_default(),
        100,
    )?;
    input::text(
        "buyer_user_id",
        buyer.buyer_user_id.as_deref().unwrap_or_default(),
        28,
    )?;
    let now = state.clock.now();
    act(state, (path, query), |alipay, app_id, trade| {
        alipay.pay(
            app_id,
            trade,
            buyer.buyer_logon_id,
            buyer.buyer_user_id,
            now,
        )
    })
}

pub(super) fn freeze(
    state: &AppState,
    (path, query, OptionalJson(freeze)): (Path<TradePath>, Query<AppQuery>, OptionalJson<Freeze>),
) -> Result<Reply<TradeView>, Failure> {
    act(state, (path, query), |alipay, app_id, trade| {
        alipay.set_frozen(app_id, trade, freeze.frozen)
    })
}

pub(super) fn finish(state: &AppState, which: TradeAction) -> Result<Reply<TradeView>, Failure> {
    act(state, which, |alipay, app_id, trade| {
        alipay.finish(app_id, trade)
    })
}
