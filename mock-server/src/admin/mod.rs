//! The admin API: JSON over plain HTTP on its own loopback listener. It seeds merchants and
//! orders (WeChat), apps and trades (Alipay, in [`alipay`]), sets balances and allow-lists,
//! advances the clock, injects faults, forces refund outcomes, plays the buyer (scan, pay),
//! lists state, reads the request journal and resets. Not part of any platform.
//!
//! Errors are `{"error": "..."}` with 400 (bad input), 404 (unknown thing) or 409 (conflict).

mod alipay;
mod bulk;

use std::net::IpAddr;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use paysandbox_protocol::wechat::SignType;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::faults::{Endpoint, Fault};
use crate::http::{self, Body};
use crate::ledger::wechat::{
    AdminError, BuyerPayment, NewMerchant, Order, OrderRef, Refund, RefundStatus, SeedOrder,
    WechatLedger,
};
use crate::state::{AppState, World};

/// An admin failure with its HTTP status.
struct Failure(StatusCode, String);

impl From<AdminError> for Failure {
    fn from(error: AdminError) -> Self {
        let status = match error {
            AdminError::UnknownMerchant(_)
            | AdminError::UnknownRefund(_)
            | AdminError::UnknownOrder(_) => StatusCode::NOT_FOUND,
            AdminError::Duplicate(_) | AdminError::RefundFinal(_) | AdminError::Conflict(_) => {
                StatusCode::CONFLICT
            }
            _ => StatusCode::BAD_REQUEST,
        };
        Failure(status, error.to_string())
    }
}

fn bad_request(message: impl Into<String>) -> Failure {
    Failure(StatusCode::BAD_REQUEST, message.into())
}

type AdminResult = Result<(StatusCode, Value), Failure>;

/// Handles one admin request.
pub async fn handle(request: Request<Incoming>, state: &AppState) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    if method == Method::POST && path.trim_end_matches('/') == "/admin/wechat/orders/bulk" {
        let (status, value) = bulk::seed_orders(request.into_body(), state).await;
        return http::json(status, &value);
    }
    let body = match http::read_body(request.into_body()).await {
        Ok(body) => body,
        Err(error) => return failure(Failure(StatusCode::PAYLOAD_TOO_LARGE, error.to_string())),
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let Some(response) =
        crate::notify::admin::handle(state, &method, &segments, &query, &body).await
    {
        return response;
    }
    let result = route(state, &method, &segments, &query, &body);
    if method != Method::GET {
        // Whatever this changed (a forced refund status, a buyer payment...) is notified
        // before the answer, so tests see the attempt as soon as the call returns.
        crate::notify::drive(state).await;
    }
    match result {
        Ok((status, value)) => http::json(status, &value),
        Err(error) => failure(error),
    }
}

fn failure(Failure(status, message): Failure) -> Response<Body> {
    http::json(status, &json!({ "error": message }))
}

fn route(
    state: &AppState,
    method: &Method,
    segments: &[&str],
    query: &str,
    body: &[u8],
) -> AdminResult {
    match (method, segments) {
        (&Method::GET, ["admin"]) => Ok((StatusCode::OK, index())),
        (&Method::GET, ["admin", "clock"]) => Ok((StatusCode::OK, clock(state))),
        (&Method::POST, ["admin", "reset"]) => {
            state
                .reset()
                .map_err(|e| Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            Ok((StatusCode::OK, json!({ "reset": true })))
        }
        (&Method::GET, ["admin", "faults"]) => {
            Ok((StatusCode::OK, json!(state.faults().pending())))
        }
        (&Method::POST, ["admin", "faults"]) => inject_fault(state, body),
        (&Method::DELETE, ["admin", "faults"]) => {
            state.faults().clear();
            Ok((StatusCode::OK, json!({ "cleared": true })))
        }
        (&Method::GET, ["admin", "journal"]) => {
            let limit = query_param(query, "limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(100);
            Ok((StatusCode::OK, json!(state.journal().tail(limit))))
        }
        (&Method::DELETE, ["admin", "journal"]) => {
            state.journal().clear();
            Ok((StatusCode::OK, json!({ "cleared": true })))
        }
        (_, ["admin", "alipay", rest @ ..]) => alipay::route(state, method, rest, query, body),
        (&Method::POST, ["admin", "wechat", "merchants"]) => create_merchant(state, body),
        (&Method::GET, ["admin", "wechat", "merchants"]) => {
            let world = state.world();
            let merchants: Vec<Value> = world.wechat.merchants().map(|m| json!(m)).collect();
            Ok((StatusCode::OK, json!(merchants)))
        }
        (&Method::PATCH, ["admin", "wechat", "merchants", mch_id]) => {
            update_merchant(state, mch_id, body)
        }
        (&Method::POST, ["admin", "wechat", "orders"]) => seed_order(state, query, body),
        (&Method::POST, ["admin", "wechat", "orders", out_trade_no, "pay"]) => {
            pay_order(state, out_trade_no, query, body)
        }
        (&Method::GET, ["admin", "wechat", "sandbox", "keys"]) => {
            Ok((StatusCode::OK, json!(state.world().sandbox_keys.list())))
        }
        (&Method::GET, ["admin", "wechat", "orders"]) => {
            let mch_id = query_param(query, "mch_id");
            let world = state.world();
            let ledger = wechat_ledger(&world, sandbox_flag(query, body));
            let orders: Vec<Value> = ledger
                .orders(mch_id.as_deref())
                .map(|o| order_json(o, ledger))
                .collect();
            Ok((StatusCode::OK, json!(orders)))
        }
        (&Method::GET, ["admin", "wechat", "refunds"]) => {
            let mch_id = query_param(query, "mch_id");
            let now = state.clock.now();
            let mut world = state.world();
            let sandbox = sandbox_flag(query, body);
            let ledger = wechat_ledger_mut(&mut world, sandbox);
            ledger.settle_due(now);
            let refunds: Vec<Value> = ledger
                .refunds(mch_id.as_deref())
                .map(|(r, o)| refund_json(r, o))
                .collect();
            Ok((StatusCode::OK, json!(refunds)))
        }
        (&Method::POST, ["admin", "wechat", "refunds", refund_id, "status"]) => {
            force_status(state, refund_id, body)
        }
        _ => Err(Failure(
            StatusCode::NOT_FOUND,
            "no such admin endpoint; GET /admin lists them".into(),
        )),
    }
}

fn index() -> Value {
    let mut endpoints = json!([
        "GET /admin/clock",
        "POST /admin/clock/advance {seconds, millis} (delivers due notifications at their times)",
        "POST /admin/reset",
        "GET|POST|DELETE /admin/faults {endpoint, count, err_code|http_status|delay_ms, after_apply}",
        "GET|DELETE /admin/journal?limit=N",
        "GET|POST /admin/wechat/merchants",
        "PATCH /admin/wechat/merchants/{mch_id} {refundable_balance, ip_allowlist}",
        "GET|POST /admin/wechat/orders?mch_id=&sandbox=1 (sandbox: the /sandboxnew/ ledger; or \"sandbox\": true in the body)",
        "POST /admin/wechat/orders/{out_trade_no}/pay?mch_id=&sandbox=1 {mch_id, openid, bank_type, coupons, sandbox} (the buyer pays a NOTPAY order)",
        "GET /admin/wechat/sandbox/keys",
        "POST /admin/wechat/orders/bulk (NDJSON: one order object a line)",
        "GET /admin/wechat/refunds?mch_id=&sandbox=1",
        "POST /admin/wechat/refunds/{refund_id}/status {status}"
    ]);
    if let Some(list) = endpoints.as_array_mut() {
        list.extend(alipay::INDEX.iter().map(|e| json!(e)));
        list.extend(crate::notify::admin::INDEX.iter().map(|e| json!(e)));
    }
    json!({ "endpoints": endpoints })
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("invalid JSON body: {e}")))
}

fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn clock(state: &AppState) -> Value {
    let now = state.clock.now();
    json!({
        "now_ms": now.0,
        "beijing": now.beijing_datetime(),
        "frozen": state.clock.is_frozen(),
    })
}

fn inject_fault(state: &AppState, body: &[u8]) -> AdminResult {
    #[derive(Deserialize)]
    struct Injection {
        endpoint: Endpoint,
        #[serde(default = "one")]
        count: usize,
        #[serde(flatten)]
        fault: Fault,
    }
    fn one() -> usize {
        1
    }
    let injection: Injection = parse(body)?;
    let fault = injection.fault;
    if fault.err_code.is_none() && fault.http_status.is_none() && fault.delay_ms.is_none() {
        return Err(bad_request(
            "a fault needs err_code, http_status or delay_ms",
        ));
    }
    if let Some(status) = fault.http_status
        && StatusCode::from_u16(status).is_err()
    {
        return Err(bad_request(format!("invalid http_status {status}")));
    }
    if injection.endpoint.is_alipay()
        && let Some(code) = &fault.err_code
        && matches!(
            paysandbox_protocol::alipay::SubCode::from_wire(code).gateway_code(),
            paysandbox_protocol::alipay::GatewayCode::Other(_)
        )
    {
        return Err(bad_request(format!(
            "{code} is not an Alipay sub_code (ACQ.*, isv.*, isp.*, aop.*)"
        )));
    }
    if injection.count == 0 || injection.count > 10_000 {
        return Err(bad_request("count must be 1 to 10000"));
    }
    state
        .faults()
        .push(injection.endpoint, fault, injection.count);
    Ok((StatusCode::CREATED, json!(state.faults().pending())))
}

fn create_merchant(state: &AppState, body: &[u8]) -> AdminResult {
    let new: NewMerchant = parse(body)?;
    if !new
        .mch_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(bad_request(
            "mch_id may only hold letters, digits, '_' and '-'",
        ));
    }
    let merchant = state.world().wechat.create_merchant(new)?;
    let files = state
        .merchant_files(&merchant.mch_id, &merchant.company)
        .map_err(|e| Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let mut value = json!(merchant);
    set(
        &mut value,
        "cert",
        json!({
            "cert_path": files.cert_path,
            "key_path": files.key_path,
            "p12_path": files.p12_path,
            "p12_password": files.p12_password,
            "ca_path": state.certs.ca_path(),
        }),
    );
    Ok((StatusCode::CREATED, value))
}

fn update_merchant(state: &AppState, mch_id: &str, body: &[u8]) -> AdminResult {
    #[derive(Deserialize)]
    struct Update {
        refundable_balance: Option<u64>,
        /// Present and null clears the allow-list; absent leaves it.
        #[serde(default, deserialize_with = "present")]
        ip_allowlist: Option<Option<Vec<IpAddr>>>,
    }
    fn present<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<Vec<IpAddr>>>, D::Error> {
        Option::<Vec<IpAddr>>::deserialize(d).map(Some)
    }
    let update: Update = parse(body)?;
    let mut world = state.world();
    if let Some(balance) = update.refundable_balance {
        world.wechat.set_balance(mch_id, balance)?;
    }
    if let Some(allowlist) = update.ip_allowlist {
        world.wechat.set_ip_allowlist(mch_id, allowlist)?;
    }
    let merchant = world
        .wechat
        .merchant(mch_id)
        .ok_or_else(|| AdminError::UnknownMerchant(mch_id.to_owned()))?;
    Ok((StatusCode::OK, json!(merchant)))
}

fn seed_order(state: &AppState, query: &str, body: &[u8]) -> AdminResult {
    let seed: SeedOrder = parse(body)?;
    let sandbox = sandbox_flag(query, body);
    let now = state.clock.now();
    let mut world = state.world();
    let World {
        wechat,
        wechat_sandbox,
        ids,
        ..
    } = &mut *world;
    let ledger = WechatLedger::select(wechat, wechat_sandbox, sandbox, &seed.mch_id);
    let order = ledger.seed_order(seed, now, ids)?;
    Ok((StatusCode::CREATED, order_json(&order, ledger)))
}

/// The simulated buyer pays an order made by `/pay/unifiedorder` (or seeded NOTPAY).
fn pay_order(state: &AppState, out_trade_no: &str, query: &str, body: &[u8]) -> AdminResult {
    #[derive(Deserialize, Default)]
    struct Pay {
        mch_id: Option<String>,
        #[serde(flatten)]
        payment: BuyerPayment,
    }
    let pay: Pay = if body.iter().all(u8::is_ascii_whitespace) {
        Pay::default()
    } else {
        parse(body)?
    };
    let mch_id = pay.mch_id.or_else(|| query_param(query, "mch_id"));
    let sandbox = sandbox_flag(query, body);
    let now = state.clock.now();
    let mut world = state.world();
    let World {
        wechat,
        wechat_sandbox,
        ids,
        ..
    } = &mut *world;
    let ledger = if sandbox { wechat_sandbox } else { wechat };
    let order = ledger.pay_order(mch_id.as_deref(), out_trade_no, pay.payment, now, ids)?;
    let mut value = order_json(&order, ledger);
    drop(world);
    // The payment notification goes to unifiedorder's notify_url, signed with its sign type;
    // the admin handler delivers it (first attempt) before this call answers.
    if let Some(prepay) = order.prepay.as_deref().filter(|p| !p.notify_url.is_empty()) {
        let sign_type = SignType::from_wire(&prepay.sign_type).unwrap_or(SignType::Md5);
        let id = crate::notify::wechat_payment(
            state,
            &order.mch_id,
            &OrderRef::OutTradeNo(order.out_trade_no.to_string()),
            &prepay.notify_url,
            sign_type,
            sandbox,
        )
        .map_err(|e| Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        set(&mut value, "notification_id", json!(id));
    }
    Ok((StatusCode::OK, value))
}

/// `?sandbox=1` (or `true`), or `"sandbox": true` in a JSON body: the `/sandboxnew/` ledger.
fn sandbox_flag(query: &str, body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Flag {
        #[serde(default)]
        sandbox: bool,
    }
    query_param(query, "sandbox").is_some_and(|v| v == "1" || v == "true")
        || serde_json::from_slice::<Flag>(body).is_ok_and(|f| f.sandbox)
}

fn wechat_ledger(world: &World, sandbox: bool) -> &WechatLedger {
    if sandbox {
        &world.wechat_sandbox
    } else {
        &world.wechat
    }
}

fn wechat_ledger_mut(world: &mut World, sandbox: bool) -> &mut WechatLedger {
    if sandbox {
        &mut world.wechat_sandbox
    } else {
        &mut world.wechat
    }
}

fn force_status(state: &AppState, refund_id: &str, body: &[u8]) -> AdminResult {
    #[derive(Deserialize)]
    struct Force {
        status: RefundStatus,
    }
    let force: Force = parse(body)?;
    let now = state.clock.now();
    let mut world = state.world();
    let refund = world
        .wechat
        .force_refund_status(refund_id, force.status, now)?;
    let order = world
        .wechat
        .order_of(&refund)
        .ok_or_else(|| AdminError::UnknownRefund(refund_id.to_owned()))?;
    Ok((StatusCode::OK, refund_json(&refund, order)))
}

fn order_json(order: &Order, ledger: &WechatLedger) -> Value {
    let mut value = json!(order);
    set(&mut value, "trade_state", json!(ledger.trade_state(order)));
    let refund_count = ledger.refund_count(order);
    set(&mut value, "cash_fee", json!(order.cash_fee()));
    set(&mut value, "refund_count", json!(refund_count));
    value
}

fn refund_json(refund: &Refund, order: &Order) -> Value {
    let mut value = json!(refund);
    set(&mut value, "transaction_id", json!(order.transaction_id));
    set(&mut value, "out_trade_no", json!(order.out_trade_no));
    set(&mut value, "mch_id", json!(order.mch_id));
    value
}

/// Adds a field to a JSON object (a no-op on anything else, which never happens here).
fn set(value: &mut Value, key: &str, field: Value) {
    if let Some(object) = value.as_object_mut() {
        object.insert(key.to_owned(), field);
    }
}
