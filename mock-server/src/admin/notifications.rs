//! `/admin/notifications/...`: the outbox (list, show), one more attempt now (resend),
//! delivering what is due (flush), and a WeChat payment notification for any paid order; and
//! the v3 signature probes (send one, list them). The resend, flush, payment and probe
//! endpoints await the delivery engine.

use paysandbox_protocol::wechat::SignType;
use serde::{Deserialize, Serialize};

use super::failure::Failure;
use super::input;
use super::route::{Json, OptionalJson, Path, Query, Reply, ReplyFuture};
use super::wechat::MerchantPath;
use crate::ledger::wechat::OrderRef;
use crate::notify::{Notification, Probe, Status};
use crate::state::AppState;

/// `GET /admin/notifications`: every given parameter must equal the notification's field.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NotificationFilter {
    /// `wechat` or `alipay`.
    pub platform: Option<String>,
    /// `refund`, `payment` or `trade`.
    pub kind: Option<String>,
    /// `pending`, `delivered`, `failed` or `no_url`.
    pub status: Option<String>,
    /// mch_id or app_id.
    pub merchant: Option<String>,
    /// The merchant's order number.
    pub out_trade_no: Option<String>,
    /// transaction_id or trade_no.
    pub trade_id: Option<String>,
    /// WeChat refund_id.
    pub refund_id: Option<String>,
    /// WeChat out_refund_no or Alipay out_biz_no.
    pub refund_no: Option<String>,
    /// How many of the newest that match (default 1,000, at most 10,000).
    pub limit: Option<String>,
    /// How many of the newest that match to skip first.
    pub offset: Option<String>,
}

/// How a field appears in JSON, to compare with a query parameter.
fn wire_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        _ => String::new(),
    }
}

impl NotificationFilter {
    fn admits(&self, n: &Notification) -> bool {
        let checks: [(&Option<String>, String); 8] = [
            (&self.platform, wire_text(&n.platform)),
            (&self.kind, wire_text(&n.kind)),
            (&self.status, wire_text(&n.status)),
            (&self.merchant, n.merchant.clone()),
            (&self.out_trade_no, n.out_trade_no.clone()),
            (&self.trade_id, n.trade_id.clone()),
            (&self.refund_id, n.refund_id.clone().unwrap_or_default()),
            (&self.refund_no, n.refund_no.clone().unwrap_or_default()),
        ];
        checks
            .iter()
            .all(|(wanted, value)| wanted.as_ref().is_none_or(|w| w == value))
    }
}

pub(super) fn list(
    state: &AppState,
    Query(filter): Query<NotificationFilter>,
) -> Result<Reply<Vec<Notification>>, Failure> {
    let page = input::Page::parse(filter.limit.as_deref(), filter.offset.as_deref())?;
    let outbox = state.outbox();
    let notifications = page
        .of(outbox.matching(|n| filter.admits(n)))
        .into_iter()
        .cloned()
        .collect();
    Ok(Reply::ok(notifications))
}

/// `/admin/notifications/{id}/...`.
#[derive(Debug, Clone, Deserialize)]
pub struct NotificationPath {
    /// The notification's id (a number; anything else is unknown).
    pub id: String,
}

fn find(state: &AppState, id: &str) -> Result<Notification, Failure> {
    id.parse::<u64>()
        .ok()
        .and_then(|n| state.outbox().get(n))
        .ok_or_else(|| Failure::not_found(format!("no notification {id}")))
}

pub(super) fn show(
    state: &AppState,
    Path(path): Path<NotificationPath>,
) -> Result<Reply<Notification>, Failure> {
    Ok(Reply::ok(find(state, &path.id)?))
}

pub(super) fn resend(
    state: &AppState,
    Path(path): Path<NotificationPath>,
) -> ReplyFuture<'_, Notification> {
    Box::pin(async move {
        let id = path.id;
        let notification = find(state, &id)?;
        if notification.status == Status::NoUrl {
            return Err(Failure::conflict(format!(
                "notification {id} has no notify_url"
            )));
        }
        let after = crate::notify::resend(state, notification.id)
            .await
            .ok_or_else(|| Failure::not_found(format!("no notification {id}")))?;
        Ok(Reply::ok(after))
    })
}

/// `{"flushed": true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FlushedView {
    /// Always true.
    pub flushed: bool,
}

pub(super) fn flush(state: &AppState, (): ()) -> ReplyFuture<'_, FlushedView> {
    Box::pin(async move {
        crate::notify::drive(state).await;
        Ok(Reply::ok(FlushedView { flushed: true }))
    })
}

/// `POST /admin/notifications/wechat/payment`: the payment notification of a paid order.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentNotification {
    /// The merchant.
    pub mch_id: String,
    /// The order by merchant number...
    pub out_trade_no: Option<String>,
    /// ...or by WeChat id (wins when both are given).
    pub transaction_id: Option<String>,
    /// Where to POST it.
    pub notify_url: String,
    /// `MD5` (default) or `HMAC-SHA256`.
    #[serde(default)]
    pub sign_type: Option<String>,
    /// The `/sandboxnew/` ledger's order.
    #[serde(default)]
    pub sandbox: bool,
}

pub(super) fn wechat_payment(
    state: &AppState,
    Json(request): Json<PaymentNotification>,
) -> ReplyFuture<'_, Notification> {
    Box::pin(async move {
        let order = match (request.transaction_id, request.out_trade_no) {
            (Some(id), _) => OrderRef::TransactionId(id),
            (None, Some(no)) => OrderRef::OutTradeNo(no),
            (None, None) => {
                return Err(Failure::bad_request("give out_trade_no or transaction_id"));
            }
        };
        let sign_type = match request.sign_type.as_deref() {
            None => SignType::Md5,
            Some(s) => SignType::from_wire(s)
                .ok_or_else(|| Failure::bad_request("sign_type is MD5 or HMAC-SHA256"))?,
        };
        let id = crate::notify::wechat_payment(
            state,
            &request.mch_id,
            &order,
            &request.notify_url,
            sign_type,
            request.sandbox,
        )?;
        crate::notify::deliver_now(state, id).await;
        let notification = state
            .outbox()
            .get(id)
            .ok_or_else(|| Failure::not_found(format!("no notification {id}")))?;
        Ok(Reply::created(notification))
    })
}

/// `POST /admin/wechat/merchants/{mch_id}/v3/probe`: where the probe goes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeRequest {
    /// The handler's URL (default: the merchant's `notify_url`).
    #[serde(default)]
    pub url: Option<String>,
}

/// Sends one signature probe now and answers how the handler took it.
pub(super) fn probe(
    state: &AppState,
    (Path(path), OptionalJson(request)): (Path<MerchantPath>, OptionalJson<ProbeRequest>),
) -> ReplyFuture<'_, Probe> {
    Box::pin(async move {
        let probe = crate::notify::probe(state, &path.mch_id, request.url).await?;
        Ok(Reply::ok(probe))
    })
}

/// `GET /admin/wechat/v3/probes`: every given parameter must equal the probe's field.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProbeFilter {
    /// The merchant probed.
    pub merchant: Option<String>,
    /// `failed` (the handler accepted the probe) or `passed`.
    pub check: Option<String>,
}

pub(super) fn probes(
    state: &AppState,
    Query(filter): Query<ProbeFilter>,
) -> Result<Reply<Vec<Probe>>, Failure> {
    Ok(Reply::ok(state.outbox().probes(|p| {
        filter.merchant.as_ref().is_none_or(|m| *m == p.merchant)
            && filter.check.as_ref().is_none_or(|c| c == p.check)
    })))
}
