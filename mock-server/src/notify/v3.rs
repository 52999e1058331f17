//! API v3 notifications (spec §1.4): the JSON envelope whose `resource` is the refund or
//! transaction AES-256-GCM-encrypted with the merchant's APIv3 key, and the signature headers
//! each attempt carries.
//!
//! The body is built once per event (the same `id` and ciphertext on every attempt); the
//! headers are made anew for each attempt, with the wall-clock timestamp clients compare with
//! theirs (±5 min) and, during a switch-over, a signer drawn from the sandbox RNG.

use paysandbox_protocol::beijing;
use paysandbox_protocol::rsa::PrivateKey;
use paysandbox_protocol::wechat::v3::aead::{ApiV3Key, EncryptedResource};
use paysandbox_protocol::wechat::v3::identity::{Signer, public_key_share_percent};
use paysandbox_protocol::wechat::v3::messages::notification::{
    EVENT_TYPES, ORIGINAL_TYPE_REFUND, ORIGINAL_TYPE_TRANSACTION, RESOURCE_TYPE,
    RefundNotification, RefundNotificationAmount,
};
use paysandbox_protocol::wechat::v3::messages::transaction::{
    Payer, TransactionAmount, TransactionPromotion,
};
use paysandbox_protocol::wechat::v3::messages::{CNY, Notification, TradeState, Transaction};
use paysandbox_protocol::wechat::v3::response::{self, SignedHeaders};

use crate::clock::{self, Timestamp};
use crate::ids::IdGenerator;
use crate::ledger::wechat::{
    CouponKind, FinishedRefund, Merchant, Order, OrderRef, RefundStatus, V3Identity, WechatLedger,
};
use crate::outbox::{Draft, JSON, Kind, Platform};
use crate::state::AppState;

use super::build::PaymentNotifyError;

/// `associated_data` of refund resources: empty, as in the published examples (spec §1.4).
const REFUND_ASSOCIATED_DATA: &str = "";
/// `associated_data` of transaction resources, as in the published examples.
const TRANSACTION_ASSOCIATED_DATA: &str = "transaction";
/// Milliseconds in a day, to count a switch-over's days.
const DAY_MS: i64 = 86_400_000;

/// The v3 event type of a final refund status (`None` while PROCESSING).
fn refund_event(status: RefundStatus) -> Option<&'static str> {
    match status {
        RefundStatus::Success => Some("REFUND.SUCCESS"),
        RefundStatus::Change => Some("REFUND.ABNORMAL"),
        RefundStatus::Refundclose => Some("REFUND.CLOSED"),
        RefundStatus::Processing => None,
    }
}

/// The envelope of `plaintext` as `event_type`, encrypted with `key`.
fn envelope(
    ids: &mut IdGenerator,
    key: &ApiV3Key,
    event_type: &str,
    original_type: &str,
    associated_data: &str,
    at: Timestamp,
    plaintext: &[u8],
) -> Option<(String, String)> {
    let summary = EVENT_TYPES
        .iter()
        .find(|(event, _)| *event == event_type)
        .map_or("", |(_, summary)| *summary);
    let nonce: String = ids.nonce().chars().take(12).collect();
    let resource =
        EncryptedResource::seal(key, Some(original_type), &nonce, associated_data, plaintext)
            .ok()?;
    let id = ids.wechat_event_id(at);
    let notification = Notification {
        id: id.clone(),
        create_time: beijing::rfc3339(at.0),
        resource_type: RESOURCE_TYPE.to_owned(),
        event_type: event_type.to_owned(),
        summary: summary.to_owned(),
        resource,
    };
    Some((id, serde_json::to_string(&notification).ok()?))
}

/// The merchant's APIv3 key, when it has a valid one: without it the platform sends no v3
/// notification (spec §1.4).
fn api_v3_key(merchant: &Merchant) -> Option<ApiV3Key> {
    ApiV3Key::new(merchant.api_v3_key.as_deref()?).ok()
}

/// `REFUND.SUCCESS`, `REFUND.ABNORMAL` or `REFUND.CLOSED` for a refund made through API v3.
/// The URL is the refund's `notify_url`, else the merchant's default; without a URL or an
/// APIv3 key nothing is sent (`no_url`; deviation: `wx3-notify-no-key`).
pub(super) fn refund(
    ledger: &WechatLedger,
    ids: &mut IdGenerator,
    finished: &FinishedRefund,
) -> Option<Draft> {
    let FinishedRefund { refund, order, at } = finished;
    let merchant = ledger.merchant(&order.mch_id)?;
    let event_type = refund_event(refund.status)?;
    let url = refund
        .notify_url
        .clone()
        .or_else(|| merchant.notify_url.clone())
        .filter(|u| !u.is_empty());
    let key = api_v3_key(merchant);
    let (url, notify_id, body) = match (url, key) {
        (Some(url), Some(key)) => {
            let plain = RefundNotification {
                mchid: order.mch_id.to_string(),
                transaction_id: order.transaction_id.to_string(),
                out_trade_no: order.out_trade_no.to_string(),
                refund_id: refund.refund_id.clone(),
                out_refund_no: refund.out_refund_no.clone(),
                refund_status: v3_refund_status(refund.status).to_owned(),
                success_time: refund
                    .success_at
                    .filter(|_| refund.status == RefundStatus::Success)
                    .map(|t| beijing::rfc3339(t.0)),
                user_received_account: refund.refund_recv_account.clone(),
                amount: RefundNotificationAmount {
                    total: order.total_fee,
                    refund: refund.refund_fee,
                    payer_total: order.cash_fee(),
                    payer_refund: refund.cash_refund_fee,
                },
            };
            let plain = serde_json::to_vec(&plain).ok()?;
            let (id, body) = envelope(
                ids,
                &key,
                event_type,
                ORIGINAL_TYPE_REFUND,
                REFUND_ASSOCIATED_DATA,
                *at,
                &plain,
            )?;
            (Some(url), Some(id), body)
        }
        _ => (None, None, String::new()),
    };
    Some(Draft {
        platform: Platform::WechatV3,
        kind: Kind::Refund,
        event: event_type.to_owned(),
        merchant: order.mch_id.to_string(),
        out_trade_no: order.out_trade_no.to_string(),
        trade_id: order.transaction_id.to_string(),
        refund_id: Some(refund.refund_id.clone()),
        refund_no: Some(refund.out_refund_no.clone()),
        notify_id,
        url,
        at: *at,
        content_type: JSON,
        body,
    })
}

fn v3_refund_status(status: RefundStatus) -> &'static str {
    match status {
        RefundStatus::Success => "SUCCESS",
        RefundStatus::Change => "ABNORMAL",
        RefundStatus::Refundclose => "CLOSED",
        RefundStatus::Processing => "PROCESSING",
    }
}

/// An order as v3 describes it (order queries and `TRANSACTION.SUCCESS`), given its
/// `trade_state` as the ledger derives it.
pub(crate) fn transaction(order: &Order, trade_state: &str) -> Transaction {
    let trade_state = TradeState::from_wire(trade_state).unwrap_or(TradeState::Success);
    let paid = order.paid_at;
    Transaction {
        appid: order.details.appid.clone(),
        mchid: order.mch_id.to_string(),
        out_trade_no: order.out_trade_no.to_string(),
        transaction_id: paid.map(|_| order.transaction_id.to_string()),
        trade_type: paid.map(|_| order.details.trade_type.clone()),
        trade_state: trade_state.as_str().to_owned(),
        trade_state_desc: trade_state.description().to_owned(),
        bank_type: paid.map(|_| order.details.bank_type.clone()),
        attach: (!order.details.attach.is_empty()).then(|| order.details.attach.clone()),
        success_time: paid.map(|at| beijing::rfc3339(at.0)),
        payer: paid.map(|_| Payer {
            openid: order.details.openid.clone(),
        }),
        amount: Some(TransactionAmount {
            total: Some(order.total_fee),
            payer_total: paid.map(|_| order.cash_fee()),
            currency: Some(CNY.to_owned()),
            payer_currency: Some(CNY.to_owned()),
        }),
        scene_info: None,
        promotion_detail: order
            .coupons
            .iter()
            .map(|c| TransactionPromotion {
                coupon_id: c.id.clone(),
                name: None,
                scope: Some("GLOBAL".to_owned()),
                kind: Some(
                    match c.kind {
                        CouponKind::Cash => "CASH",
                        CouponKind::NoCash => "NOCASH",
                    }
                    .to_owned(),
                ),
                amount: c.fee,
                stock_id: None,
                wechatpay_contribute: None,
                merchant_contribute: None,
                other_contribute: None,
                currency: Some(CNY.to_owned()),
            })
            .collect(),
    }
}

/// `TRANSACTION.SUCCESS` for a paid order prepaid through API v3, to its prepay `notify_url`.
pub(super) fn payment(
    ledger: &mut WechatLedger,
    ids: &mut IdGenerator,
    mch_id: &str,
    by: &OrderRef,
    notify_url: &str,
    now: Timestamp,
) -> Result<Draft, PaymentNotifyError> {
    if notify_url.is_empty() {
        return Err(PaymentNotifyError::NoUrl);
    }
    let key = ledger
        .merchant(mch_id)
        .ok_or_else(|| PaymentNotifyError::UnknownMerchant(mch_id.to_owned()))
        .map(api_v3_key)?;
    let order = ledger
        .query_order(mch_id, by, now)
        .ok_or(PaymentNotifyError::UnknownOrder)?;
    if !order.is_paid() {
        return Err(PaymentNotifyError::NotPaid(order.payment_state.as_str()));
    }
    // The payment itself, whatever refunds followed: TRANSACTION.SUCCESS reports SUCCESS.
    let plain = transaction(&order, "SUCCESS");
    let at = order.paid_at.unwrap_or(now);
    let sealed = match (&key, serde_json::to_vec(&plain)) {
        (Some(key), Ok(plain)) => envelope(
            ids,
            key,
            "TRANSACTION.SUCCESS",
            ORIGINAL_TYPE_TRANSACTION,
            TRANSACTION_ASSOCIATED_DATA,
            at,
            &plain,
        ),
        _ => None,
    };
    let (url, notify_id, body) = match sealed {
        Some((id, body)) => (Some(notify_url.to_owned()), Some(id), body),
        // deviation: wx3-notify-no-key
        None => (None, None, String::new()),
    };
    Ok(Draft {
        platform: Platform::WechatV3,
        kind: Kind::Payment,
        event: "TRANSACTION.SUCCESS".to_owned(),
        merchant: mch_id.to_owned(),
        out_trade_no: order.out_trade_no.to_string(),
        trade_id: order.transaction_id.to_string(),
        refund_id: None,
        refund_no: None,
        notify_id,
        url,
        at: now,
        content_type: JSON,
        body,
    })
}

/// A probe's body: a well-formed `TRANSACTION.SUCCESS` envelope (encrypted with the APIv3 key
/// when the merchant has one) whose resource names no real order: only the signature headers
/// tell it apart, as on the platform (deviation: `wx3-sign-probe`).
pub(super) fn probe_body(merchant: &Merchant, ids: &mut IdGenerator, now: Timestamp) -> String {
    let plain = serde_json::json!({ "mchid": merchant.mch_id, "trade_state": "SUCCESS" });
    // Without an APIv3 key the platform sends nothing real; a probe still needs a body.
    let key = api_v3_key(merchant).or_else(|| ApiV3Key::from_bytes(&[0; 32]).ok());
    key.and_then(|key| {
        envelope(
            ids,
            &key,
            "TRANSACTION.SUCCESS",
            ORIGINAL_TYPE_TRANSACTION,
            TRANSACTION_ASSOCIATED_DATA,
            now,
            plain.to_string().as_bytes(),
        )
    })
    .map(|(_, body)| body)
    .unwrap_or_default()
}

/// Whole days since the merchant's switch-over began (0 on its first day, or when unknown).
fn switch_days(merchant: &Merchant, now: Timestamp) -> u32 {
    merchant
        .v3_switch_started
        .map(|started| now.0.saturating_sub(started.0).max(0) / DAY_MS)
        .map_or(0, |days| u32::try_from(days).unwrap_or(u32::MAX))
}

/// The share of notifications a merchant's platform identity signs with the public key now
/// (percent): 0 in certificate mode, 100 in public-key mode, the day's share during a
/// switch-over.
pub fn public_key_share(identity: V3Identity, days: u32) -> u32 {
    match identity {
        V3Identity::Certificate => 0,
        V3Identity::PublicKey => 100,
        V3Identity::SwitchOver => public_key_share_percent(days),
    }
}

/// Fresh signature headers for `body` on behalf of merchant `mch_id`'s platform identity, or
/// with a `WECHATPAY/SIGNTEST/` signature when `probe`. Errors name what is missing.
pub(crate) fn headers(
    state: &AppState,
    mch_id: &str,
    body: &[u8],
    probe: bool,
) -> Result<SignedHeaders, String> {
    let now = state.clock.now();
    let (identity, days, company, roll, nonce, request_id, filler) = {
        let mut world = state.world();
        let merchant = world
            .wechat
            .merchant(mch_id)
            .or_else(|| world.wechat_sandbox.merchant(mch_id))
            .ok_or_else(|| format!("merchant {mch_id} is gone"))?;
        let identity = merchant.v3_identity;
        let days = switch_days(merchant, now);
        let company = merchant.company.clone();
        let ids = &mut world.ids;
        let roll = ids.percent_roll();
        let nonce = ids.nonce();
        let request_id = format!("{}{}", ids.nonce(), ids.nonce()).to_uppercase();
        let filler = if probe {
            format!(
                "{}{}{}{}",
                ids.nonce(),
                ids.nonce(),
                ids.nonce(),
                ids.nonce()
            )
        } else {
            String::new()
        };
        (identity, days, company, roll, nonce, request_id, filler)
    };
    let keys = state
        .wechat_v3_keys(mch_id, &company)
        .map_err(|e| format!("v3 keys: {e}"))?;
    // deviation: wx3-notify-switch-share
    let signer = identity.mode_on(days).notification_signer(roll);
    let (serial, key): (&String, &PrivateKey) = match signer {
        Signer::Certificate => (&keys.certificate.0, &keys.certificate.1),
        Signer::PublicKey => (&keys.public_key.0, &keys.public_key.1),
    };
    // deviation: wx3-notify-resign (fresh wall-clock headers on every attempt)
    let wall = clock::system_millis() / 1000;
    if probe {
        return Ok(response::probe_headers(
            serial,
            wall,
            &nonce,
            &request_id,
            &filler,
        ));
    }
    response::sign_response(key, serial, wall, &nonce, &request_id, body)
        .map_err(|e| format!("signing: {e}"))
}
