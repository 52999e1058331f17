//! The notification delivery engine: what the platforms POST to the merchant's `notify_url`
//! (WeChat refund results §5, WeChat payment results §6.4, Alipay `trade_status_sync` §7),
//! with the real retry schedules on the injected clock. The notifications themselves and
//! their schedules are domain data, in [`crate::outbox`]; this module fills and drains it.
//!
//! # How it works
//! - **Events.** The ledgers record what happened and the engine takes it: a WeChat refund
//!   reaching SUCCESS, CHANGE or REFUNDCLOSE
//!   ([`WechatLedger::take_finished`](crate::ledger::wechat::WechatLedger::take_finished)), an
//!   Alipay trade paid, refunded or closed
//!   ([`AlipayLedger::take_events`](crate::ledger::alipay::AlipayLedger::take_events)). WeChat
//!   payment notifications are queued explicitly with [`wechat_payment`]. Each event becomes
//!   one [`Notification`] whose body is built once (`build.rs`: same bytes, same `notify_id`, on
//!   every attempt) and whose first attempt is due at the event's (virtual) time.
//! - **Attempts.** Each POST is claimed in the outbox first (marked in flight: not due again
//!   until its outcome is recorded, so attempts of one notification never overlap or repeat),
//!   takes one of [`MAX_IN_FLIGHT`] delivery slots, and is recorded at the virtual time it was
//!   claimed at. No lock and no turn is held while an attempt waits on the network.
//! - **Driving.** [`drive`] (`POST /admin/notifications/flush`) settles due WeChat refunds,
//!   takes the events, and POSTs every attempt due at the clock's current time together,
//!   waiting for the outcomes. Drives take turns ([`Delivery::turn`]), and one waits for the
//!   attempts the background task has in flight before it starts.
//! - **Determinism.** [`advance`] (behind `POST /admin/clock/advance`) moves the clock in
//!   steps: to the next due attempt or refund settlement, delivers what is due there, and
//!   repeats until the target time, so every attempt happens (and is recorded) at its exact
//!   virtual time, and retries are scheduled from it, before the admin call returns; the
//!   attempts due at one time go out together. Every other admin POST only [`kick`]s: it
//!   queues the events and wakes the background task, waiting for no delivery.
//! - **Background.** [`run`] wakes every 100 ms (and at once when a route pulled the wake
//!   signal, [`Delivery::wake`], after a request that may have produced an event), collects,
//!   and starts each due attempt as its own task as far as slots are free, holding the turn
//!   only to claim them; that delivers in system-clock mode when attempts fall due, and picks
//!   up refunds that settled lazily inside an API call.
//! - **Success** is only the exact expected reply: WeChat HTTP 200 with an XML body whose
//!   `return_code` is `SUCCESS`; Alipay HTTP 200 with body `success` once trimmed. Each request
//!   times out after [`REQUEST_TIMEOUT`] (real time).
//!
//! - **Probes** (API v3 only): a POST signed `WECHATPAY/SIGNTEST/` that a handler must refuse,
//!   recorded in the outbox's probe list, never in a notification: on admin request
//!   ([`probe`], its POST made after the turn so it delays no drive) or, at
//!   `serve --v3-probe-percent`, inside an attempt just before its real POST.
//!
//! A receiver must not call `advance`, `flush` or `resend` while it handles a notification:
//! they wait for the attempt it is answering (or its timeout).

mod build;
pub(crate) mod v3;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::ids::IdGenerator;
use crate::ledger::alipay::TradeEvent;
use crate::ledger::wechat::{OrderRef, WechatLedger};
use crate::outbox::{AttemptOutcome, Draft, Post};
use crate::state::{AppState, Delivery};

pub use crate::state::MAX_IN_FLIGHT;

pub use crate::outbox::{
    ALIPAY_RETRY_SECS, Attempt, KEEP_FINISHED, KEEP_PROBES, Kind, Notification, Platform, Probe,
    Status, WECHAT_RETRY_SECS, WECHAT_V3_RETRY_SECS,
};
pub use build::PaymentNotifyError;
pub use v3::public_key_share;

/// Real-time limit of one delivery attempt (connect, send, answer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of a receiver's answer is kept in an attempt record.
pub const EXCERPT_BYTES: usize = 512;
/// How often the background task drives.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The shortest real time between two background drives: bounds the task's cost under load
/// while keeping deliveries prompt (admin calls drive synchronously and are not throttled).
pub const MIN_DRIVE_GAP: Duration = Duration::from_millis(10);

/// What [`advance`] did.
#[derive(Debug, Clone)]
pub struct Advanced {
    /// The new sandbox time.
    pub now: Timestamp,
    /// WeChat refunds that reached a final status on the way, in order.
    pub settled_refunds: Vec<String>,
}

/// Queues the payment notification of a paid WeChat order — the function the simulated
/// buyer payment calls. The body is the signed §6.4 XML (MD5, or HMAC-SHA256 with
/// `sign_type` carried when `sign_type` says so), built from the order as the ledger has it;
/// the first attempt is due now; the background task delivers it, or [`deliver_now`] at once. `sandbox` picks the `/sandboxnew/` ledger.
///
/// # Errors
/// [`PaymentNotifyError`] when the merchant or order is unknown or the order is not paid.
pub fn wechat_payment(
    state: &AppState,
    mch_id: &str,
    order: &OrderRef,
    notify_url: &str,
    sign_type: paysandbox_protocol::wechat::SignType,
    sandbox: bool,
) -> Result<u64, PaymentNotifyError> {
    let now = state.clock.now();
    queue_payment(state, sandbox, |ledger, ids| {
        build::wechat_payment(ledger, ids, mch_id, order, notify_url, sign_type, now)
    })
}

/// Queues `TRANSACTION.SUCCESS` for a paid order prepaid through API v3 (spec §1.4): the
/// order as v3 describes it, encrypted with the merchant's APIv3 key (without one nothing is
/// sent: `no_url`). The first attempt is due now.
///
/// # Errors
/// [`PaymentNotifyError`] when the merchant or order is unknown or the order is not paid.
pub fn wechat_v3_payment(
    state: &AppState,
    mch_id: &str,
    order: &OrderRef,
    notify_url: &str,
    sandbox: bool,
) -> Result<u64, PaymentNotifyError> {
    let now = state.clock.now();
    queue_payment(state, sandbox, |ledger, ids| {
        v3::payment(ledger, ids, mch_id, order, notify_url, now)
    })
}

/// Builds a payment notification from the production or `/sandboxnew/` ledger under the
/// world lock, queues it (first attempt due now) and wakes the engine.
fn queue_payment(
    state: &AppState,
    sandbox: bool,
    build: impl FnOnce(&mut WechatLedger, &mut IdGenerator) -> Result<Draft, PaymentNotifyError>,
) -> Result<u64, PaymentNotifyError> {
    let draft = {
        let mut world = state.world();
        let world = &mut *world;
        let ledger = if sandbox {
            &mut world.wechat_sandbox
        } else {
            &mut world.wechat
        };
        build(ledger, &mut world.ids)?
    };
    let id = state.outbox().push(draft);
    state.delivery.wake();
    Ok(id)
}

/// Why a probe was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// No such merchant.
    #[error("unknown merchant {0}")]
    UnknownMerchant(String),
    /// No URL given and the merchant has no default notify URL.
    #[error("no url given and merchant {0} has no notify_url")]
    NoUrl(String),
}

/// Sends one signature probe now to `url` (else the merchant's default notify URL): a v3
/// notification signed `WECHATPAY/SIGNTEST/…` that no key verifies, and records whether the
/// handler accepted it (a 2xx answer: a failed check).
///
/// # Errors
/// [`ProbeError`].
pub async fn probe(
    state: &AppState,
    mch_id: &str,
    url: Option<String>,
) -> Result<Probe, ProbeError> {
    let now = state.clock.now();
    // The body and headers are drawn in the turn, so a probe's draws from the sandbox RNG
    // never interleave with a drive's; the POST is made after it, like an attempt's, so a
    // handler that never answers holds up no advance, flush or delivery (issue 12). It takes
    // no delivery slot either: drives wait for the slots to empty, and a probe is no attempt
    // of theirs. Probes are one per admin request, which the admin listener's connection cap
    // bounds.
    let (post, headers) = {
        let _turn = state.delivery.turn().await;
        let (url, body) = {
            let mut world = state.world();
            let world = &mut *world;
            let merchant = world
                .wechat
                .merchant(mch_id)
                .ok_or_else(|| ProbeError::UnknownMerchant(mch_id.to_owned()))?;
            let url = url
                .filter(|u| !u.is_empty())
                .or_else(|| merchant.notify_url.clone().filter(|u| !u.is_empty()))
                .ok_or_else(|| ProbeError::NoUrl(mch_id.to_owned()))?;
            (url, v3::probe_body(merchant, &mut world.ids, now))
        };
        let headers = v3::headers(state, mch_id, body.as_bytes(), true);
        let post = Post {
            platform: Platform::WechatV3,
            merchant: mch_id.to_owned(),
            url,
            content_type: crate::outbox::JSON,
            body,
        };
        (post, headers)
    };
    let url = post.url.clone();
    let outcome = signed_send(state, post, headers).await;
    let probe = state
        .outbox()
        .record_probe(mch_id.to_owned(), url, None, now, outcome);
    state.events.changed(format!("probe {}", probe.id));
    Ok(probe)
}

/// Takes the ledgers' new events (settling due WeChat refunds first) into the outbox; returns
/// the ids of the WeChat refunds that reached a final status.
fn collect(state: &AppState) -> Vec<String> {
    let now = state.clock.now();
    let mut settled = Vec::new();
    let (wechat, alipay) = {
        let mut world = state.world();
        let world = &mut *world;
        // Production and the `/sandboxnew/` ledger both notify (the sandbox with the
        // merchant's real API key, as its mirrored merchant carries it; deviation:
        // wx-notify-sandbox).
        let mut wechat: Vec<Draft> = Vec::new();
        for ledger in [&mut world.wechat, &mut world.wechat_sandbox] {
            ledger.settle_due(now);
            let finished = ledger.take_finished();
            settled.extend(finished.iter().map(|f| f.refund.refund_id.clone()));
            // A refund made through API v3 is notified in v3's JSON, one made through v2 in
            // v2's XML, whatever else the merchant uses (deviation: wx3-notify-by-api).
            wechat.extend(finished.iter().filter_map(|f| {
                if f.refund.api_v3 {
                    v3::refund(ledger, &mut world.ids, f)
                } else {
                    build::wechat_refund(ledger, &mut world.ids, f)
                }
            }));
        }
        let events = world.alipay.take_events();
        let alipay: Vec<(TradeEvent, String)> = events
            .into_iter()
            .map(|e| {
                let id =
                    format!("{}{}", e.at.beijing_compact(), world.ids.nonce()).to_ascii_lowercase();
                (e, id)
            })
            .collect();
        (wechat, alipay)
    };
    // Alipay bodies are signed outside the world lock (keys may be read from disk).
    let alipay: Vec<Draft> = alipay
        .into_iter()
        .filter_map(|(event, notify_id)| build::alipay_trade(state, &event, notify_id))
        .collect();
    if !settled.is_empty() {
        state.events.changed("refunds settled");
    }
    if wechat.is_empty() && alipay.is_empty() {
        return settled;
    }
    let mut outbox = state.outbox();
    let mut drafts: Vec<Draft> = wechat.into_iter().chain(alipay).collect();
    drafts.sort_by_key(|d| d.at);
    for draft in drafts {
        outbox.push(draft);
    }
    settled
}

/// What an admin POST does after its handler: takes the ledgers' new events into the outbox
/// (so the answer and the notification list agree) and wakes the background task to deliver
/// them. It waits for no network attempt (issue 12: a slow receiver must not hold the admin
/// API).
pub fn kick(state: &AppState) {
    collect(state);
    state.delivery.wake();
}

/// Settles, collects, and delivers every attempt due at the current sandbox time, concurrently
/// (at most [`MAX_IN_FLIGHT`] at once), after the attempts already in flight; returns once all
/// of them are recorded (`POST /admin/notifications/flush`).
pub async fn drive(state: &AppState) {
    let _turn = state.delivery.turn().await;
    state.delivery.idle().await;
    collect(state);
    deliver_due(state).await;
}

/// Advances the sandbox clock by `by` in steps, delivering every attempt at its own virtual
/// time (see the module docs); returns the new time.
pub async fn advance(state: &AppState, by: Duration) -> Advanced {
    let _turn = state.delivery.turn().await;
    // Background attempts still out must have their retries scheduled before the clock moves.
    state.delivery.idle().await;
    let target = state.clock.now().plus(by);
    let mut settled = Vec::new();
    loop {
        settled.extend(collect(state));
        deliver_due(state).await;
        let now = state.clock.now();
        let next_attempt = state.outbox().next_due();
        let next_settlement = {
            let world = state.world();
            [
                world.wechat.next_settlement(),
                world.wechat_sandbox.next_settlement(),
            ]
            .into_iter()
            .flatten()
            .min()
        };
        let next = [next_attempt, next_settlement].into_iter().flatten().min();
        match next {
            Some(at) if at > now && at <= target => {
                state.clock.advance(at.since(now));
            }
            _ => break,
        }
    }
    let now = state.clock.now();
    if now < target {
        state.clock.advance(target.since(now));
    }
    settled.extend(collect(state));
    deliver_due(state).await;
    Advanced {
        now: state.clock.now(),
        settled_refunds: settled,
    }
}

/// Sends a notification once more, now, outside the schedule (admin test endpoint), after
/// the attempts already in flight. A success marks it delivered; a failure leaves the schedule
/// as it was. `None` if unknown or without URL.
pub async fn resend(state: &AppState, id: u64) -> Option<Notification> {
    let _turn = state.delivery.turn().await;
    state.delivery.idle().await;
    let claimed = state.outbox().claim(id);
    if let Some(post) = claimed {
        let at = state.clock.now();
        make(state, id, at, post, true).await;
    }
    state.outbox().get(id)
}

/// Makes the first attempt of notification `id` (just queued) and waits for its outcome,
/// unless the background task already has it in flight. For
/// `POST /admin/notifications/wechat/payment`, whose answer shows that attempt.
pub async fn deliver_now(state: &AppState, id: u64) {
    let claimed = state.outbox().claim(id);
    if let Some(post) = claimed {
        let at = state.clock.now();
        make(state, id, at, post, false).await;
    }
}

/// Delivers what is due at the current time, batch by batch: each batch goes out at once
/// (bounded by the slots) and is recorded before the next is taken. The caller holds the turn.
async fn deliver_due(state: &AppState) {
    loop {
        let now = state.clock.now();
        let batch = state.outbox().claim_due(now, usize::MAX);
        if batch.is_empty() {
            return;
        }
        let made = futures_util::future::join_all(
            batch
                .into_iter()
                .map(|(id, post)| make(state, id, now, post, false)),
        )
        .await;
        // An attempt that could not be made (persist failed) is due again: stop rather than
        // spin; the next drive tries again.
        if made.contains(&false) {
            return;
        }
    }
}

/// Claims what is due now, as far as slots are free, and starts each attempt as its own
/// task; the task records the outcome and wakes the engine. Nothing here waits on the network.
fn dispatch(state: &Arc<AppState>, tasks: &mut tokio::task::JoinSet<()>) {
    let now = state.clock.now();
    let free = state.delivery.free_slots();
    let claimed = state.outbox().claim_due(now, free);
    for (id, post) in claimed {
        let state = Arc::clone(state);
        tasks.spawn(async move {
            make(&state, id, now, post, false).await;
            state.delivery.wake();
        });
    }
}

/// One POST of claimed notification `id` as of sandbox time `at` (a v3 one preceded, at the
/// configured rate, by a probe of it), in a delivery slot, recorded. False when it could not be made (it is released, due as before).
async fn make(state: &AppState, id: u64, at: Timestamp, post: Post, manual: bool) -> bool {
    let _slot = state.delivery.slot().await;
    // With --persist, what a notification tells a merchant is on disk before it is sent.
    if let Err(e) = state.persist().await {
        tracing::error!("{e}; notification {id} not sent");
        state.outbox().release(id);
        return false;
    }
    let url = post.url.clone();
    let outcome = if post.platform == Platform::WechatV3 {
        if !manual {
            scheduled_probe(state, id, at, &post).await;
        }
        let headers = v3::headers(state, &post.merchant, post.body.as_bytes(), false);
        signed_send(state, post, headers).await
    } else {
        send(&state.delivery, post, Vec::new()).await
    };
    tracing::debug!(id, %url, success = outcome.success, "notification attempt");
    state.outbox().record(id, at, url, manual, outcome);
    state.events.changed(format!("notification {id} attempt"));
    true
}

/// POSTs a v3 `post` with its signature `headers` (or records why there are none); the
/// outcome names the serial that signed it.
async fn signed_send(
    state: &AppState,
    post: Post,
    headers: Result<paysandbox_protocol::wechat::v3::response::SignedHeaders, String>,
) -> AttemptOutcome {
    match headers {
        Ok(headers) => {
            let serial = headers.serial.clone();
            let pairs = headers
                .pairs()
                .iter()
                .map(|(k, v)| (*k, (*v).to_owned()))
                .collect();
            AttemptOutcome {
                serial: Some(serial),
                ..send(&state.delivery, post, pairs).await
            }
        }
        Err(error) => failure(error),
    }
}

/// With `serve --v3-probe-percent`, at that rate, a signature probe of the attempt's own body
/// to its URL just before it, recorded with the probes: the platform sends probes now and
/// then and the real notification after (spec §1.4; deviation: `wx3-sign-probe`). The draw
/// is from the sandbox RNG, so a fixed `--seed` repeats it; at 0 nothing is drawn.
async fn scheduled_probe(state: &AppState, id: u64, at: Timestamp, post: &Post) {
    let percent = state.config.v3_probe_percent;
    if percent == 0 || state.world().ids.percent_roll() >= percent {
        return;
    }
    let headers = v3::headers(state, &post.merchant, post.body.as_bytes(), true);
    let outcome = signed_send(state, post.clone(), headers).await;
    let probe = state.outbox().record_probe(
        post.merchant.clone(),
        post.url.clone(),
        Some(id),
        at,
        outcome,
    );
    state.events.changed(format!("probe {}", probe.id));
}

/// POSTs `post` with `headers` besides its `Content-Type`, and judges the answer.
pub(crate) async fn send(
    delivery: &Delivery,
    post: Post,
    headers: Vec<(&'static str, String)>,
) -> AttemptOutcome {
    let client = match delivery.client(build_client) {
        Ok(client) => client,
        Err(error) => return failure(error),
    };
    let mut request = client
        .post(&post.url)
        .header("Content-Type", post.content_type);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = match request.body(post.body).send().await {
        Ok(response) => response,
        Err(error) => return failure(describe(&error)),
    };
    let status = response.status().as_u16();
    let mut reply = Vec::new();
    let mut response = response;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                reply.extend_from_slice(&chunk);
                if reply.len() > 64 * 1024 {
                    break;
                }
            }
            Ok(None) => break,
            Err(error) => {
                return AttemptOutcome {
                    http_status: Some(status),
                    error: Some(describe(&error)),
                    excerpt: excerpt(&reply),
                    success: false,
                    serial: None,
                };
            }
        }
    }
    // deviations: wx-notify-success, ali-notify-non-200
    let acknowledged = match post.platform {
        Platform::Wechat => {
            status == 200
                && paysandbox_protocol::wechat::notify::NotifyReply::from_xml(&reply)
                    .is_ok_and(|r| r.is_success())
        }
        // v3: 200 or 204, whatever the body (spec §1.4).
        Platform::WechatV3 => status == 200 || status == 204,
        Platform::Alipay => {
            status == 200 && paysandbox_protocol::alipay::notify::is_success_reply(&reply)
        }
    };
    AttemptOutcome {
        http_status: Some(status),
        error: None,
        excerpt: excerpt(&reply),
        success: acknowledged,
        serial: None,
    }
}

/// An attempt that got no answer.
fn failure(error: String) -> AttemptOutcome {
    AttemptOutcome {
        http_status: None,
        error: Some(error),
        excerpt: String::new(),
        success: false,
        serial: None,
    }
}

fn excerpt(body: &[u8]) -> String {
    let cut = body.get(..EXCERPT_BYTES).unwrap_or(body);
    String::from_utf8_lossy(cut).into_owned()
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("timeout after {} s", REQUEST_TIMEOUT.as_secs())
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(inner) = source {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            source = inner.source();
        }
        text
    }
}

/// rustls with ring and Mozilla's roots (notify URLs may be public HTTPS hosts), no
/// redirects (the platforms do not follow them), a real-time timeout per attempt.
fn build_client() -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Mozilla/4.0")
        .build()
        .map_err(|e| e.to_string())
}

/// The background task: every [`POLL_INTERVAL`], or when woken, but at most once per
/// [`MIN_DRIVE_GAP`], settles, collects and starts the attempts due (each its own task, at
/// most [`MAX_IN_FLIGHT`] on the network). It takes the turn only to claim, never while an
/// attempt waits on the network. Runs until aborted (the server does so on shutdown; the
/// attempts in flight go with it).
pub async fn run(state: Arc<AppState>) {
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(POLL_INTERVAL) => {}
            () = state.delivery.woken() => {}
        }
        while tasks.try_join_next().is_some() {}
        {
            let _turn = state.delivery.turn().await;
            collect(&state);
            dispatch(&state, &mut tasks);
        }
        // With --persist, what the drive changed (settled refunds, attempts) is committed
        // even if no request follows.
        if let Err(e) = state.persist().await {
            tracing::error!("{e}");
        }
        // Every API request wakes the task; under load that would be one drive (and one
        // world lock) per request. Wakes during the gap collapse into one permit.
        tokio::time::sleep(MIN_DRIVE_GAP).await;
    }
}
