//! `/admin/alipay/...`: apps with their keys, trades in any state and age, balances, and the
//! buyer's side (scan, pay) plus freeze and finish.

use hyper::{Method, StatusCode};
use paysandbox_protocol::money::{format_yuan, parse_yuan};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminResult, Failure, bad_request, parse, query_param, set};
use crate::ledger::alipay::{AdminError, App, NewApp, SeedTrade, Trade, TradeStatus};
use crate::state::{AlipayKeys, AppState};

impl From<AdminError> for Failure {
    fn from(error: AdminError) -> Self {
        let status = match error {
            AdminError::UnknownApp(_) | AdminError::UnknownTrade(_) => StatusCode::NOT_FOUND,
            AdminError::Duplicate(_) | AdminError::Ambiguous(_) | AdminError::Conflict(_) => {
                StatusCode::CONFLICT
            }
            _ => StatusCode::BAD_REQUEST,
        };
        Failure(status, error.to_string())
    }
}

/// The endpoints, for `GET /admin`.
pub(super) const INDEX: &[&str] = &[
    "GET|POST /admin/alipay/apps {app_id, name, seller_balance (fen), app_auth_tokens}",
    "PATCH /admin/alipay/apps/{app_id} {seller_balance}",
    "GET|POST /admin/alipay/trades?app_id= {app_id, total_amount (yuan string) | total_fen, out_trade_no, trade_no, status, paid_seconds_ago, frozen, subject, buyer_logon_id, buyer_user_id}",
    "GET /admin/alipay/refunds?app_id=",
    "POST /admin/alipay/trades/{trade_no|out_trade_no}/scan|pay|freeze|finish?app_id= {buyer_logon_id, buyer_user_id | frozen}",
];

/// Routes `/admin/alipay/<rest>`.
pub(super) fn route(
    state: &AppState,
    method: &Method,
    rest: &[&str],
    query: &str,
    body: &[u8],
) -> AdminResult {
    let app_id = query_param(query, "app_id");
    match (method, rest) {
        (&Method::POST, ["apps"]) => create_app(state, body),
        (&Method::GET, ["apps"]) => {
            let apps: Vec<App> = state.world().alipay.apps().into_iter().cloned().collect();
            let mut out = Vec::with_capacity(apps.len());
            for app in &apps {
                out.push(app_json(state, app)?);
            }
            Ok((StatusCode::OK, json!(out)))
        }
        (&Method::PATCH, ["apps", id]) => update_app(state, id, body),
        (&Method::POST, ["trades"]) => seed_trade(state, body),
        (&Method::GET, ["trades"]) => {
            let now = state.clock.now();
            let world = state.world();
            let trades: Vec<Value> = world
                .alipay
                .trades(app_id.as_deref())
                .map(|t| trade_json(t, world.alipay.trade_status(t, now)))
                .collect();
            Ok((StatusCode::OK, json!(trades)))
        }
        (&Method::GET, ["refunds"]) => {
            let world = state.world();
            let refunds: Vec<Value> = world
                .alipay
                .refunds(app_id.as_deref())
                .map(|r| {
                    let mut value = json!(r);
                    set(
                        &mut value,
                        "refund_yuan",
                        json!(format_yuan(r.refund_amount)),
                    );
                    value
                })
                .collect();
            Ok((StatusCode::OK, json!(refunds)))
        }
        (&Method::POST, ["trades", id, action]) => {
            trade_action(state, app_id.as_deref(), id, action, body)
        }
        _ => Err(Failure(
            StatusCode::NOT_FOUND,
            "no such admin endpoint; GET /admin lists them".into(),
        )),
    }
}

fn keys_json(keys: &AlipayKeys) -> Value {
    let f = &keys.files;
    json!({
        "app_private_key_path": f.app_private_key_path,
        "app_private_key_pkcs8_path": f.app_private_key_pkcs8_path,
        "app_private_key_base64_path": f.app_private_key_base64_path,
        "app_private_key_pkcs8_base64_path": f.app_private_key_pkcs8_base64_path,
        "app_public_key_path": f.app_public_key_path,
        "app_public_key_base64_path": f.app_public_key_base64_path,
        "alipay_public_key_path": f.alipay_public_key_path,
        "alipay_public_key_base64_path": f.alipay_public_key_base64_path,
        "app_public_key": f.app.public_base64,
        "alipay_public_key": f.alipay.public_base64,
    })
}

fn app_json(state: &AppState, app: &App) -> Result<Value, Failure> {
    let keys = state
        .alipay_keys(&app.app_id)
        .map_err(|e| Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let mut value = json!(app);
    set(
        &mut value,
        "seller_balance_yuan",
        json!(format_yuan(app.seller_balance)),
    );
    set(&mut value, "keys", keys_json(&keys));
    Ok(value)
}

fn create_app(state: &AppState, body: &[u8]) -> AdminResult {
    let new: NewApp = parse(body)?;
    if state.world().alipay.app(&new.app_id).is_some() {
        return Err(AdminError::Duplicate(format!("app {}", new.app_id)).into());
    }
    // Key files first, outside the world lock: the first time they take two RSA keygens.
    if let Err(error) = state.alipay_keys(&new.app_id) {
        let invalid = matches!(
            &error,
            crate::state::StartError::Certs(paysandbox_certs::CertError::InvalidAppId(_))
        );
        return Err(if invalid {
            bad_request("app_id must be 1 to 32 of [0-9A-Za-z_-]")
        } else {
            Failure(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
        });
    }
    let app = state.world().alipay.create_app(new)?;
    Ok((StatusCode::CREATED, app_json(state, &app)?))
}

fn update_app(state: &AppState, app_id: &str, body: &[u8]) -> AdminResult {
    #[derive(Deserialize)]
    struct Update {
        seller_balance: Option<u64>,
    }
    let update: Update = parse(body)?;
    let app = {
        let mut world = state.world();
        if let Some(balance) = update.seller_balance {
            world.alipay.set_balance(app_id, balance)?;
        }
        world
            .alipay
            .app(app_id)
            .cloned()
            .ok_or_else(|| AdminError::UnknownApp(app_id.to_owned()))?
    };
    Ok((StatusCode::OK, app_json(state, &app)?))
}

fn seed_trade(state: &AppState, body: &[u8]) -> AdminResult {
    #[derive(Deserialize)]
    struct Seed {
        app_id: String,
        /// Yuan, as a string: `"88.88"`.
        total_amount: Option<Value>,
        /// Fen.
        total_fen: Option<u64>,
        out_trade_no: Option<String>,
        trade_no: Option<String>,
        #[serde(default)]
        status: TradeStatus,
        paid_seconds_ago: Option<u64>,
        #[serde(default)]
        frozen: bool,
        subject: Option<String>,
        body: Option<String>,
        store_id: Option<String>,
        buyer_logon_id: Option<String>,
        buyer_user_id: Option<String>,
        notify_url: Option<String>,
    }
    let seed: Seed = parse(body)?;
    let total = match (&seed.total_amount, seed.total_fen) {
        (Some(Value::String(yuan)), None) => {
            parse_yuan(yuan).map_err(|e| bad_request(format!("total_amount {yuan:?}: {e}")))?
        }
        (Some(_), None) => {
            return Err(bad_request(
                "total_amount is a yuan string such as \"88.88\"; give fen as total_fen",
            ));
        }
        (None, Some(fen)) => fen,
        _ => {
            return Err(bad_request(
                "give exactly one of total_amount and total_fen",
            ));
        }
    };
    let now = state.clock.now();
    let mut world = state.world();
    let world = &mut *world;
    let trade = world.alipay.seed_trade(
        SeedTrade {
            app_id: seed.app_id,
            out_trade_no: seed.out_trade_no,
            trade_no: seed.trade_no,
            total_amount: total,
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
    Ok((StatusCode::CREATED, trade_json(&trade, status)))
}

fn trade_action(
    state: &AppState,
    app_id: Option<&str>,
    id: &str,
    action: &str,
    body: &[u8],
) -> AdminResult {
    #[derive(Deserialize, Default)]
    struct Buyer {
        buyer_logon_id: Option<String>,
        buyer_user_id: Option<String>,
    }
    #[derive(Deserialize)]
    struct Freeze {
        #[serde(default = "yes")]
        frozen: bool,
    }
    fn yes() -> bool {
        true
    }
    let optional = |body: &[u8]| body.iter().all(u8::is_ascii_whitespace);
    let now = state.clock.now();
    let mut world = state.world();
    let trade = match action {
        "scan" => world.alipay.scan(app_id, id)?,
        "pay" => {
            let buyer: Buyer = if optional(body) {
                Buyer::default()
            } else {
                parse(body)?
            };
            world
                .alipay
                .pay(app_id, id, buyer.buyer_logon_id, buyer.buyer_user_id, now)?
        }
        "freeze" => {
            let frozen = if optional(body) {
                true
            } else {
                parse::<Freeze>(body)?.frozen
            };
            world.alipay.set_frozen(app_id, id, frozen)?
        }
        "finish" => world.alipay.finish(app_id, id)?,
        _ => {
            return Err(Failure(
                StatusCode::NOT_FOUND,
                "trade actions are scan, pay, freeze and finish".into(),
            ));
        }
    };
    let status = world.alipay.trade_status(&trade, now);
    Ok((StatusCode::OK, trade_json(&trade, status)))
}

fn trade_json(trade: &Trade, status: TradeStatus) -> Value {
    let mut value = json!(trade);
    set(&mut value, "trade_status", json!(status.as_str()));
    set(
        &mut value,
        "total_yuan",
        json!(format_yuan(trade.total_amount)),
    );
    set(
        &mut value,
        "refunded_yuan",
        json!(format_yuan(trade.refunded)),
    );
    set(&mut value, "refund_count", json!(trade.refund_count()));
    value
}
