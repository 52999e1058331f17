//! Admin routes that await the delivery engine: the stepping clock advance and the
//! notification endpoints (list, show, resend, queue a WeChat payment notification, flush).

use std::time::Duration;

use hyper::{Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Notification, Platform, Status};
use crate::http::{self, Body};
use crate::ledger::wechat::OrderRef;
use crate::state::AppState;

/// The endpoints, for `GET /admin`.
pub const INDEX: &[&str] = &[
    "GET /admin/notifications?platform=&kind=&merchant=&out_trade_no=&trade_id=&refund_id=&refund_no=&status=",
    "GET /admin/notifications/{id}",
    "POST /admin/notifications/{id}/resend",
    "POST /admin/notifications/flush (deliver what is due now)",
    "POST /admin/notifications/wechat/payment {mch_id, out_trade_no|transaction_id, notify_url, sign_type?}",
];

/// Answers the request if it is one of these routes; `None` hands it to the synchronous
/// admin router.
pub async fn handle(
    state: &AppState,
    method: &Method,
    segments: &[&str],
    query: &str,
    body: &[u8],
) -> Option<Response<Body>> {
    let result = match (method, segments) {
        (&Method::POST, ["admin", "clock", "advance"]) => advance(state, body).await,
        (&Method::GET, ["admin", "notifications"]) => Ok(list(state, query)),
        (&Method::POST, ["admin", "notifications", "flush"]) => {
            super::drive(state).await;
            Ok((StatusCode::OK, json!({ "flushed": true })))
        }
        (&Method::POST, ["admin", "notifications", "wechat", "payment"]) => {
            wechat_payment(state, body).await
        }
        (&Method::GET, ["admin", "notifications", id]) => match find(state, id) {
            Ok(n) => Ok((StatusCode::OK, json!(n))),
            Err(e) => Err(e),
        },
        (&Method::POST, ["admin", "notifications", id, "resend"]) => resend(state, id).await,
        _ => return None,
    };
    Some(match result {
        Ok((status, value)) => http::json(status, &value),
        Err((status, message)) => http::json(status, &json!({ "error": message })),
    })
}

type Answer = Result<(StatusCode, Value), (StatusCode, String)>;

fn bad_request(message: impl Into<String>) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, message.into())
}

async fn advance(state: &AppState, body: &[u8]) -> Answer {
    #[derive(Deserialize)]
    struct Advance {
        #[serde(default)]
        seconds: u64,
        #[serde(default)]
        millis: u64,
    }
    let advance: Advance =
        serde_json::from_slice(body).map_err(|e| bad_request(format!("invalid JSON body: {e}")))?;
    let by = Duration::from_secs(advance.seconds) + Duration::from_millis(advance.millis);
    let done = super::advance(state, by).await;
    Ok((
        StatusCode::OK,
        json!({
            "now_ms": done.now.0,
            "beijing": done.now.beijing_datetime(),
            "frozen": state.clock.is_frozen(),
            "settled_refunds": done.settled_refunds,
        }),
    ))
}

fn list(state: &AppState, query: &str) -> (StatusCode, Value) {
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let wanted = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let as_text = |v: Value| v.as_str().map(str::to_owned).unwrap_or_default();
    let matches = |n: &Notification| {
        let checks: [(&str, String); 8] = [
            ("platform", as_text(json!(n.platform))),
            ("kind", as_text(json!(n.kind))),
            ("status", as_text(json!(n.status))),
            ("merchant", n.merchant.clone()),
            ("out_trade_no", n.out_trade_no.clone()),
            ("trade_id", n.trade_id.clone()),
            ("refund_id", n.refund_id.clone().unwrap_or_default()),
            ("refund_no", n.refund_no.clone().unwrap_or_default()),
        ];
        checks
            .iter()
            .all(|(name, value)| wanted(name).is_none_or(|w| w == value))
    };
    (StatusCode::OK, json!(state.outbox().list(matches)))
}

fn find(state: &AppState, id: &str) -> Result<Notification, (StatusCode, String)> {
    id.parse::<u64>()
        .ok()
        .and_then(|id| state.outbox().get(id))
        .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no notification {id}")))
}

async fn resend(state: &AppState, id: &str) -> Answer {
    let n = find(state, id)?;
    if n.status == Status::NoUrl {
        return Err((
            StatusCode::CONFLICT,
            format!("notification {id} has no notify_url"),
        ));
    }
    let after = super::resend(state, n.id)
        .await
        .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no notification {id}")))?;
    Ok((StatusCode::OK, json!(after)))
}

async fn wechat_payment(state: &AppState, body: &[u8]) -> Answer {
    #[derive(Deserialize)]
    struct Request {
        mch_id: String,
        out_trade_no: Option<String>,
        transaction_id: Option<String>,
        notify_url: String,
        #[serde(default)]
        sign_type: Option<String>,
        /// The `/sandboxnew/` ledger's order.
        #[serde(default)]
        sandbox: bool,
    }
    let request: Request =
        serde_json::from_slice(body).map_err(|e| bad_request(format!("invalid JSON body: {e}")))?;
    let order = match (request.transaction_id, request.out_trade_no) {
        (Some(id), _) => OrderRef::TransactionId(id),
        (None, Some(no)) => OrderRef::OutTradeNo(no),
        (None, None) => return Err(bad_request("give out_trade_no or transaction_id")),
    };
    let sign_type = match request.sign_type.as_deref() {
        None => paysandbox_protocol::wechat::SignType::Md5,
        Some(s) => paysandbox_protocol::wechat::SignType::from_wire(s)
            .ok_or_else(|| bad_request("sign_type is MD5 or HMAC-SHA256"))?,
    };
    let id = super::wechat_payment(
        state,
        &request.mch_id,
        &order,
        &request.notify_url,
        sign_type,
        request.sandbox,
    )
    .map_err(|e| {
        let status = match e {
            super::PaymentNotifyError::UnknownMerchant(_)
            | super::PaymentNotifyError::UnknownOrder => StatusCode::NOT_FOUND,
            super::PaymentNotifyError::NotPaid(_) => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        (status, e.to_string())
    })?;
    super::drive(state).await;
    let n = state
        .outbox()
        .get(id)
        .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no notification {id}")))?;
    debug_assert_eq!(n.platform, Platform::Wechat);
    Ok((StatusCode::CREATED, json!(n)))
}
