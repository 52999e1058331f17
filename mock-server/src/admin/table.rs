//! The admin route table: every endpoint, once. It dispatches requests and is what
//! `GET /admin` lists; `docs/admin.md` is checked against it.

use std::sync::LazyLock;

use hyper::Method;

use serde::Serialize;

use super::failure::Failure;
use super::route::{InputDoc, Reply, Route};
use super::shape::variant_names;
use super::{alipay, bulk, events, general, notifications, scenario, wechat};
use crate::faults::Endpoint;
use crate::ledger::wechat::SeedOrder;
use crate::state::AppState;

/// Every admin endpoint, in the order `GET /admin` and docs/admin.md list them.
pub fn table() -> &'static [Route] {
    static TABLE: LazyLock<Vec<Route>> = LazyLock::new(routes);
    &TABLE
}

fn routes() -> Vec<Route> {
    use Method as M;
    vec![
        // Sandbox-wide.
        Route::sync(
            M::GET,
            "/admin",
            "this list: every endpoint with its query and body fields, and the fault endpoint names",
            index,
        ),
        Route::sync(
            M::GET,
            "/admin/health",
            "readiness: the sandbox answers, and where it listens",
            scenario::health,
        ),
        Route::awaiting(
            M::GET,
            "/admin/scenario",
            "the current state as a scenario file (TOML, or JSON) that serve --scenario loads",
            scenario::export,
        ),
        Route::sync(M::GET, "/admin/clock", "the sandbox clock", general::clock),
        Route::awaiting(
            M::POST,
            "/admin/clock/advance",
            "moves the clock forward, settling refunds and delivering notifications at their own times on the way",
            general::advance,
        ),
        Route::sync(
            M::POST,
            "/admin/clock/set",
            "sets the clock to a time (and freezes or thaws it); refunds and notifications due by then wait for the next drive",
            general::set_clock,
        ),
        Route::sync(
            M::POST,
            "/admin/reset",
            "back to the start state (the start scenario again) and the clock as serve started it",
            general::reset,
        ),
        Route::sync(
            M::GET,
            "/admin/faults",
            "faults still queued, per endpoint",
            general::faults,
        ),
        Route::sync(
            M::POST,
            "/admin/faults",
            "replaces the next answers of an endpoint with an error, an HTTP status or a delay",
            general::inject_fault,
        ),
        Route::sync(
            M::DELETE,
            "/admin/faults",
            "drops every queued fault",
            general::clear_faults,
        ),
        Route::sync(
            M::GET,
            "/admin/journal",
            "the newest requests and their answers, oldest first",
            general::journal,
        ),
        Route::sync(
            M::DELETE,
            "/admin/journal",
            "empties the journal",
            general::clear_journal,
        ),
        Route::sync(
            M::GET,
            "/admin/events",
            "live events as server-sent events: each journal entry, each change of state",
            events::events,
        ),
        // WeChat.
        Route::sync(
            M::POST,
            "/admin/wechat/merchants",
            "creates a merchant and its API certificate files",
            wechat::create_merchant,
        ),
        Route::sync(
            M::GET,
            "/admin/wechat/merchants",
            "every merchant",
            wechat::merchants,
        ),
        Route::sync(
            M::PATCH,
            "/admin/wechat/merchants/{mch_id}",
            "sets a merchant's refundable balance or IP allow-list",
            wechat::update_merchant,
        ),
        Route::sync(
            M::GET,
            "/admin/wechat/merchants/{mch_id}/v3",
            "a merchant's API v3 settings and the files a v3 client needs (made on first use)",
            wechat::merchant_v3,
        ),
        Route::sync(
            M::POST,
            "/admin/wechat/merchants/{mch_id}/v3",
            "sets a merchant's API v3 platform identity (certificate, public_key, switch_over) or APIv3 key",
            wechat::set_merchant_v3,
        ),
        Route::awaiting(
            M::POST,
            "/admin/wechat/merchants/{mch_id}/v3/probe",
            "sends a v3 signature probe (WECHATPAY/SIGNTEST/) to the merchant's handler now; accepting it fails the check",
            notifications::probe,
        ),
        Route::sync(
            M::GET,
            "/admin/wechat/v3/probes",
            "the signature probes sent, oldest first, each a passed or failed check",
            notifications::probes,
        ),
        Route::sync(
            M::POST,
            "/admin/wechat/orders",
            "seeds an order in any state and age",
            wechat::seed_order,
        ),
        Route::streamed::<SeedOrder, _>(
            M::POST,
            "/admin/wechat/orders/bulk",
            "seeds orders from NDJSON, one order a line, streamed",
            bulk::seed_orders,
        ),
        Route::sync(
            M::GET,
            "/admin/wechat/orders",
            "orders, oldest first",
            wechat::orders,
        ),
        Route::sync(
            M::POST,
            "/admin/wechat/orders/{out_trade_no}/pay",
            "the buyer pays a NOTPAY order; its payment notification is sent",
            wechat::pay_order,
        ),
        Route::sync(
            M::GET,
            "/admin/wechat/refunds",
            "refunds, oldest first (due ones settled first)",
            wechat::refunds,
        ),
        Route::sync(
            M::POST,
            "/admin/wechat/refunds/{refund_id}/status",
            "forces a PROCESSING refund's outcome",
            wechat::force_status,
        ),
        Route::sync(
            M::GET,
            "/admin/wechat/sandbox/keys",
            "the sandbox keys getsignkey issued",
            wechat::sandbox_keys,
        ),
        // Notifications.
        Route::sync(
            M::GET,
            "/admin/notifications",
            "notifications with their attempts, oldest first",
            notifications::list,
        ),
        Route::sync(
            M::GET,
            "/admin/notifications/{id}",
            "one notification",
            notifications::show,
        ),
        Route::awaiting(
            M::POST,
            "/admin/notifications/{id}/resend",
            "one extra attempt now, outside the schedule",
            notifications::resend,
        ),
        Route::awaiting(
            M::POST,
            "/admin/notifications/flush",
            "delivers what is due now",
            notifications::flush,
        ),
        Route::awaiting(
            M::POST,
            "/admin/notifications/wechat/payment",
            "sends the payment notification of any paid WeChat order",
            notifications::wechat_payment,
        ),
        // Alipay.
        Route::sync(
            M::POST,
            "/admin/alipay/apps",
            "creates an app and its two key pairs",
            alipay::create_app,
        ),
        Route::sync(M::GET, "/admin/alipay/apps", "every app", alipay::apps),
        Route::sync(
            M::PATCH,
            "/admin/alipay/apps/{app_id}",
            "sets an app's seller balance",
            alipay::update_app,
        ),
        Route::sync(
            M::POST,
            "/admin/alipay/trades",
            "seeds a trade in any state and age",
            alipay::seed_trade,
        ),
        Route::sync(
            M::GET,
            "/admin/alipay/trades",
            "trades, oldest first",
            alipay::trades,
        ),
        Route::sync(
            M::POST,
            "/admin/alipay/trades/{trade}/scan",
            "the buyer scans a precreated trade's QR code",
            alipay::scan,
        ),
        Route::sync(
            M::POST,
            "/admin/alipay/trades/{trade}/pay",
            "the buyer pays a WAIT_BUYER_PAY trade",
            alipay::pay,
        ),
        Route::sync(
            M::POST,
            "/admin/alipay/trades/{trade}/freeze",
            "freezes or thaws a trade",
            alipay::freeze,
        ),
        Route::sync(
            M::POST,
            "/admin/alipay/trades/{trade}/finish",
            "ends a trade's refund period (TRADE_FINISHED)",
            alipay::finish,
        ),
        Route::sync(
            M::GET,
            "/admin/alipay/refunds",
            "refunds, oldest first",
            alipay::refunds,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_routes_of_one_method_can_fit_one_path() {
        let table = table();
        for (i, a) in table.iter().enumerate() {
            for b in table.iter().skip(i + 1) {
                assert!(
                    a.method() != b.method() || !a.overlaps(b),
                    "{} {} and {} {} fit the same paths",
                    a.method(),
                    a.path(),
                    b.method(),
                    b.path()
                );
            }
        }
    }

    #[test]
    fn every_path_parameter_is_read_by_its_handler_under_its_name() {
        for route in table() {
            assert_eq!(
                route.path_params(),
                route.input().path,
                "{} {}: the pattern's parameters and the handler's Path type differ",
                route.method(),
                route.path()
            );
        }
    }

    #[test]
    fn views_of_different_types_have_different_short_names() {
        let mut seen = std::collections::HashMap::new();
        for route in table() {
            let full = seen.entry(route.view()).or_insert(route.view_type());
            assert_eq!(
                *full,
                route.view_type(),
                "two views are called {}",
                route.view()
            );
        }
    }

    #[test]
    fn every_route_says_what_it_does_and_answers() {
        for route in table() {
            assert!(route.path().starts_with("/admin"), "{}", route.path());
            assert!(!route.summary().is_empty(), "{}", route.path());
            assert!(
                !route.view().contains("::") && !route.view().is_empty(),
                "{} {}",
                route.path(),
                route.view()
            );
        }
    }
}

/// `GET /admin`: every endpoint of the table, and the names faults can be injected into.
#[derive(Debug, Clone, Serialize)]
pub struct IndexView {
    /// The endpoints, in table order.
    pub endpoints: Vec<EndpointView>,
    /// Every `endpoint` a fault can name (`POST /admin/faults`).
    pub fault_endpoints: Vec<&'static str>,
}

/// One endpoint of the table.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointView {
    /// `GET`, `POST`...
    pub method: String,
    /// The path pattern: `{name}` segments are parameters.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Query parameters and body fields.
    #[serde(flatten)]
    pub input: InputDoc,
    /// The answer's type, as docs/admin.md describes it.
    pub view: String,
}

pub(super) fn index(_state: &AppState, (): ()) -> Result<Reply<IndexView>, Failure> {
    let endpoints = table()
        .iter()
        .map(|route| EndpointView {
            method: route.method().to_string(),
            path: route.path(),
            summary: route.summary(),
            input: route.input().clone(),
            view: route.view().to_owned(),
        })
        .collect();
    Ok(Reply::ok(IndexView {
        endpoints,
        fault_endpoints: fault_endpoints().to_vec(),
    }))
}

/// Every fault endpoint name, as the wire spells it.
pub fn fault_endpoints() -> &'static [&'static str] {
    variant_names::<Endpoint>()
}
