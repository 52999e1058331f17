//! The notification outbox and its delivery engine: what the platforms POST to the merchant's
//! `notify_url` (WeChat refund results §5, WeChat payment results §6.4, Alipay
//! `trade_status_sync` §7), with the real retry schedules on the injected clock.
//!
//! # How it works
//! - **Events.** The ledgers record what happened and the engine takes it: a WeChat refund
//!   reaching SUCCESS, CHANGE or REFUNDCLOSE ([`WechatLedger::take_finished`]), an Alipay
//!   trade paid, refunded or closed ([`AlipayLedger::take_events`]). WeChat payment
//!   notifications are queued explicitly with [`Notifier::wechat_payment`]. Each event becomes
//!   one [`Notification`] whose body is built once (same bytes, same `notify_id`, on every
//!   attempt) and whose first attempt is due at the event's (virtual) time.
//! - **Driving.** [`Notifier::drive`] settles due WeChat refunds, takes the events, and POSTs
//!   every attempt that is due at the clock's current time, earliest first. One async mutex
//!   serialises drives, so attempts are never duplicated or reordered.
//! - **Determinism.** [`Notifier::advance`] (behind `POST /admin/clock/advance`) moves the
//!   clock in steps: to the next due attempt or refund settlement, delivers what is due there,
//!   and repeats until the target time, so every attempt happens (and is recorded) at its
//!   exact virtual time, and retries are scheduled from it, before the admin call returns.
//!   Every other admin POST also drives before it answers.
//! - **Background.** [`run`] drives every 100 ms (and at once when an API request may have
//!   produced an event), which delivers in system-clock mode when attempts fall due, and picks
//!   up refunds that settled lazily inside an API call.
//! - **Success** is only the exact expected reply: WeChat HTTP 200 with an XML body whose
//!   `return_code` is `SUCCESS`; Alipay HTTP 200 with body `success` once trimmed. Each request
//!   times out after [`REQUEST_TIMEOUT`] (real time).
//!
//! A receiver must not call the admin API while it handles a notification: the drive that is
//! delivering holds the engine until the receiver answers (or the request times out).

mod build;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde::Serialize;

use crate::clock::Timestamp;
use crate::state::AppState;

pub use build::PaymentNotifyError;

/// WeChat's retry intervals after each failed attempt (spec §5.5 / §6.4): 15 attempts after
/// the first, 16 in all over 24 h 4 min.
pub const WECHAT_RETRY_SECS: [u64; 15] = [
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10_800, 10_800, 10_800, 21_600, 21_600,
];
/// Alipay's retry intervals (spec §7.4: 4m, 10m, 10m, 1h, 2h, 6h, 15h): 8 attempts in all.
pub const ALIPAY_RETRY_SECS: [u64; 7] = [240, 600, 600, 3600, 7200, 21_600, 54_000];
/// Real-time limit of one delivery attempt (connect, send, answer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of a receiver's answer is kept in an attempt record.
pub const EXCERPT_BYTES: usize = 512;
/// Finished notifications (delivered, given up, or without URL) kept for the admin API; the
/// oldest are forgotten first, so a load test cannot grow the outbox without bound.
pub const KEEP_FINISHED: usize = 10_000;
/// How often the background task drives.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The shortest real time between two background drives: bounds the task's cost under load
/// while keeping deliveries prompt (admin calls drive synchronously and are not throttled).
pub const MIN_DRIVE_GAP: Duration = Duration::from_millis(10);

/// Which platform sends a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// WeChat Pay v2.
    Wechat,
    /// Alipay.
    Alipay,
}

/// What a notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// WeChat refund result (encrypted `req_info`).
    Refund,
    /// WeChat payment result (signed).
    Payment,
    /// Alipay `trade_status_sync` (payment, refund or close).
    Trade,
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Attempts remain; `next_attempt_at` says when.
    Pending,
    /// The receiver acknowledged it.
    Delivered,
    /// Every scheduled attempt failed.
    Failed,
    /// Neither the refund/order nor the merchant has a notify URL: nothing is sent.
    NoUrl,
}

/// One delivery attempt.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// 1-based, in order.
    pub number: usize,
    /// Sandbox time of the attempt.
    pub at: Timestamp,
    /// The same, `yyyy-MM-dd HH:mm:ss` Beijing time.
    pub at_beijing: String,
    /// The URL posted to.
    pub url: String,
    /// Sent by `POST /admin/notifications/{id}/resend` rather than the schedule.
    pub manual: bool,
    /// The HTTP status, when an answer came.
    pub http_status: Option<u16>,
    /// The transport error (connect, timeout...), when none came.
    pub error: Option<String>,
    /// The start of the answer's body (lossy UTF-8).
    pub response_excerpt: String,
    /// Whether it counted as acknowledged.
    pub success: bool,
}

/// A notification and its delivery history.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    /// Sequential id (from 1).
    pub id: u64,
    /// Sending platform.
    pub platform: Platform,
    /// What it reports.
    pub kind: Kind,
    /// The reported state: refund_status (`SUCCESS`, `CHANGE`, `REFUNDCLOSE`), `SUCCESS` for
    /// a payment, or the Alipay trade_status.
    pub event: String,
    /// mch_id or app_id.
    pub merchant: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// transaction_id or trade_no.
    pub trade_id: String,
    /// WeChat refund_id.
    pub refund_id: Option<String>,
    /// WeChat out_refund_no or Alipay out_biz_no.
    pub refund_no: Option<String>,
    /// Alipay notify_id (the same on every attempt).
    pub notify_id: Option<String>,
    /// Destination; `None` when there was none ([`Status::NoUrl`]).
    pub url: Option<String>,
    /// Sandbox time of the event.
    pub created_at: Timestamp,
    /// Where it stands.
    pub status: Status,
    /// When the next scheduled attempt is due.
    pub next_attempt_at: Option<Timestamp>,
    /// Request `Content-Type`.
    pub content_type: &'static str,
    /// The exact body POSTed.
    pub body: String,
    /// Every attempt so far.
    pub attempts: Vec<Attempt>,
    #[serde(skip)]
    scheduled_attempts: usize,
}

impl Notification {
    fn schedule(&self) -> &'static [u64] {
        match self.platform {
            Platform::Wechat => &WECHAT_RETRY_SECS,
            Platform::Alipay => &ALIPAY_RETRY_SECS,
        }
    }
}

/// What a new notification is made of (built in [`build`]).
#[derive(Debug, Clone)]
struct Draft {
    platform: Platform,
    kind: Kind,
    event: String,
    merchant: String,
    out_trade_no: String,
    trade_id: String,
    refund_id: Option<String>,
    refund_no: Option<String>,
    notify_id: Option<String>,
    url: Option<String>,
    at: Timestamp,
    content_type: &'static str,
    body: String,
}

#[derive(Debug, Default)]
struct Outbox {
    next_id: u64,
    items: BTreeMap<u64, Notification>,
    finished: VecDeque<u64>,
}

impl Outbox {
    fn push(&mut self, draft: Draft) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        let status = if draft.url.is_some() {
            Status::Pending
        } else {
            Status::NoUrl
        };
        self.items.insert(
            id,
            Notification {
                id,
                platform: draft.platform,
                kind: draft.kind,
                event: draft.event,
                merchant: draft.merchant,
                out_trade_no: draft.out_trade_no,
                trade_id: draft.trade_id,
                refund_id: draft.refund_id,
                refund_no: draft.refund_no,
                notify_id: draft.notify_id,
                url: draft.url,
                created_at: draft.at,
                status,
                next_attempt_at: (status == Status::Pending).then_some(draft.at),
                content_type: draft.content_type,
                body: draft.body,
                attempts: Vec::new(),
                scheduled_attempts: 0,
            },
        );
        if status != Status::Pending {
            self.finish(id);
        }
        id
    }

    fn finish(&mut self, id: u64) {
        self.finished.push_back(id);
        while self.finished.len() > KEEP_FINISHED {
            if let Some(old) = self.finished.pop_front() {
                self.items.remove(&old);
            }
        }
    }

    /// The earliest due pending notification at `now` (ties: lowest id).
    fn due(&self, now: Timestamp) -> Option<u64> {
        self.items
            .values()
            .filter(|n| n.status == Status::Pending)
            .filter_map(|n| n.next_attempt_at.map(|at| (at, n.id)))
            .filter(|(at, _)| *at <= now)
            .min()
            .map(|(_, id)| id)
    }

    fn next_due(&self) -> Option<Timestamp> {
        self.items
            .values()
            .filter(|n| n.status == Status::Pending)
            .filter_map(|n| n.next_attempt_at)
            .min()
    }
}

/// What [`Notifier::advance`] did.
#[derive(Debug, Clone)]
pub struct Advanced {
    /// The new sandbox time.
    pub now: Timestamp,
    /// WeChat refunds that reached a final status on the way, in order.
    pub settled_refunds: Vec<String>,
}

/// What one POST produced.
#[derive(Debug)]
struct Outcome {
    http_status: Option<u16>,
    error: Option<String>,
    excerpt: String,
    success: bool,
}

/// The outbox and the engine that delivers it (one per sandbox, in [`AppState`]).
#[derive(Debug, Default)]
pub struct Notifier {
    outbox: Mutex<Outbox>,
    driver: tokio::sync::Mutex<()>,
    wake: tokio::sync::Notify,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl Notifier {
    /// An empty outbox.
    pub fn new() -> Notifier {
        Notifier::default()
    }

    fn outbox(&self) -> MutexGuard<'_, Outbox> {
        // Plain data: a panic elsewhere cannot leave it half-updated in a harmful way.
        self.outbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets every notification (admin reset). Ids keep counting.
    pub fn clear(&self) {
        let mut outbox = self.outbox();
        outbox.items.clear();
        outbox.finished.clear();
    }

    /// Asks the background task to drive now (after an API request that may have produced
    /// an event).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Notifications, oldest first, that pass `filter`.
    pub fn list(&self, filter: impl Fn(&Notification) -> bool) -> Vec<Notification> {
        self.outbox()
            .items
            .values()
            .filter(|n| filter(n))
            .cloned()
            .collect()
    }

    /// One notification.
    pub fn get(&self, id: u64) -> Option<Notification> {
        self.outbox().items.get(&id).cloned()
    }

    /// Queues the payment notification of a paid WeChat order — the function the simulated
    /// buyer payment calls. The body is the signed §6.4 XML (MD5, or HMAC-SHA256 with
    /// `sign_type` carried when `sign_type` says so), built from the order as the ledger has
    /// it; the first attempt is due now. Call [`Notifier::drive`] (every admin POST does) to
    /// deliver it before answering. `sandbox` picks the `/sandboxnew/` ledger.
    ///
    /// # Errors
    /// [`PaymentNotifyError`] when the merchant or order is unknown or the order is not paid.
    pub fn wechat_payment(
        &self,
        state: &AppState,
        mch_id: &str,
        order: &crate::ledger::wechat::OrderRef,
        notify_url: &str,
        sign_type: paysandbox_protocol::wechat::SignType,
        sandbox: bool,
    ) -> Result<u64, PaymentNotifyError> {
        let now = state.clock.now();
        let draft = {
            let mut world = state.world();
            let world = &mut *world;
            let ledger = if sandbox {
                &mut world.wechat_sandbox
            } else {
                &mut world.wechat
            };
            build::wechat_payment(
                ledger,
                &mut world.ids,
                mch_id,
                order,
                notify_url,
                sign_type,
                now,
            )?
        };
        let id = self.outbox().push(draft);
        self.wake();
        Ok(id)
    }

    /// Takes the ledgers' new events (settling due WeChat refunds first) into the outbox;
    /// returns the ids of the WeChat refunds that reached a final status.
    fn collect(&self, state: &AppState) -> Vec<String> {
        let now = state.clock.now();
        let mut settled = Vec::new();
        let (wechat, alipay) = {
            let mut world = state.world();
            let world = &mut *world;
            // Production and the `/sandboxnew/` ledger both notify (the sandbox with the
            // merchant's real API key, as its mirrored merchant carries it).
            let mut wechat: Vec<Draft> = Vec::new();
            for ledger in [&mut world.wechat, &mut world.wechat_sandbox] {
                ledger.settle_due(now);
                let finished = ledger.take_finished();
                settled.extend(finished.iter().map(|f| f.refund.refund_id.clone()));
                wechat.extend(
                    finished
                        .iter()
                        .filter_map(|f| build::wechat_refund(ledger, &mut world.ids, f)),
                );
            }
            let events = world.alipay.take_events();
            let alipay: Vec<(crate::ledger::alipay::TradeEvent, String)> = events
                .into_iter()
                .map(|e| {
                    let id = format!("{}{}", e.at.beijing_compact(), world.ids.nonce())
                        .to_ascii_lowercase();
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
        if wechat.is_empty() && alipay.is_empty() {
            return settled;
        }
        let mut outbox = self.outbox();
        let mut drafts: Vec<Draft> = wechat.into_iter().chain(alipay).collect();
        drafts.sort_by_key(|d| d.at);
        for draft in drafts {
            outbox.push(draft);
        }
        settled
    }

    /// Settles, collects, and delivers every attempt due at the current sandbox time.
    pub async fn drive(&self, state: &AppState) {
        let _driving = self.driver.lock().await;
        self.collect(state);
        self.deliver_due(state).await;
    }

    /// Advances the sandbox clock by `by` in steps, delivering every attempt at its own
    /// virtual time (see the module docs); returns the new time.
    pub async fn advance(&self, state: &AppState, by: Duration) -> Advanced {
        let _driving = self.driver.lock().await;
        let target = state.clock.now().plus(by);
        let mut settled = Vec::new();
        loop {
            settled.extend(self.collect(state));
            self.deliver_due(state).await;
            let now = state.clock.now();
            let next_attempt = self.outbox().next_due();
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
        settled.extend(self.collect(state));
        self.deliver_due(state).await;
        Advanced {
            now: state.clock.now(),
            settled_refunds: settled,
        }
    }

    /// Sends a notification once more, now, outside the schedule (admin test endpoint). A
    /// success marks it delivered; a failure leaves the schedule as it was. `None` if unknown
    /// or without URL.
    pub async fn resend(&self, state: &AppState, id: u64) -> Option<Notification> {
        let _driving = self.driver.lock().await;
        self.attempt(state, id, true).await;
        self.get(id)
    }

    async fn deliver_due(&self, state: &AppState) {
        loop {
            let now = state.clock.now();
            let Some(id) = self.outbox().due(now) else {
                return;
            };
            if !self.attempt(state, id, false).await {
                return;
            }
        }
    }

    /// One POST of notification `id`, recorded. False when there was nothing to send.
    async fn attempt(&self, state: &AppState, id: u64, manual: bool) -> bool {
        let (platform, url, content_type, body) = {
            let outbox = self.outbox();
            let Some(n) = outbox.items.get(&id) else {
                return false;
            };
            let Some(url) = n.url.clone() else {
                return false;
            };
            (n.platform, url, n.content_type, n.body.clone())
        };
        let at = state.clock.now();
        let outcome = self.post(platform, &url, content_type, body).await;
        tracing::debug!(id, %url, success = outcome.success, "notification attempt");
        let mut outbox = self.outbox();
        let Some(n) = outbox.items.get_mut(&id) else {
            return true;
        };
        n.attempts.push(Attempt {
            number: n.attempts.len() + 1,
            at,
            at_beijing: at.beijing_datetime(),
            url,
            manual,
            http_status: outcome.http_status,
            error: outcome.error,
            response_excerpt: outcome.excerpt,
            success: outcome.success,
        });
        let was = n.status;
        let mut finished = false;
        if outcome.success {
            n.status = Status::Delivered;
            n.next_attempt_at = None;
            // Failed ones are already among the finished.
            finished = was == Status::Pending;
        } else if !manual && was == Status::Pending {
            n.scheduled_attempts += 1;
            match n.schedule().get(n.scheduled_attempts - 1) {
                Some(&secs) => n.next_attempt_at = Some(at.plus(Duration::from_secs(secs))),
                None => {
                    n.status = Status::Failed;
                    n.next_attempt_at = None;
                    finished = true;
                }
            }
        }
        if finished {
            outbox.finish(id);
        }
        true
    }

    fn http_client(&self) -> Result<&reqwest::Client, String> {
        self.client
            .get_or_init(build_client)
            .as_ref()
            .map_err(Clone::clone)
    }

    async fn post(
        &self,
        platform: Platform,
        url: &str,
        content_type: &'static str,
        body: String,
    ) -> Outcome {
        let client = match self.http_client() {
            Ok(client) => client,
            Err(error) => return Outcome::error(error),
        };
        let response = match client
            .post(url)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => return Outcome::error(describe(&error)),
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
                    return Outcome {
                        http_status: Some(status),
                        error: Some(describe(&error)),
                        excerpt: excerpt(&reply),
                        success: false,
                    };
                }
            }
        }
        let acknowledged = status == 200
            && match platform {
                Platform::Wechat => {
                    paysandbox_protocol::wechat::notify::NotifyReply::from_xml(&reply)
                        .is_ok_and(|r| r.is_success())
                }
                Platform::Alipay => paysandbox_protocol::alipay::notify::is_success_reply(&reply),
            };
        Outcome {
            http_status: Some(status),
            error: None,
            excerpt: excerpt(&reply),
            success: acknowledged,
        }
    }
}

impl Outcome {
    fn error(error: String) -> Outcome {
        Outcome {
            http_status: None,
            error: Some(error),
            excerpt: String::new(),
            success: false,
        }
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

/// The background task: drives every [`POLL_INTERVAL`], or when woken, but at most once per
/// [`MIN_DRIVE_GAP`]. Runs until the task is aborted (the server does so on shutdown).
pub async fn run(state: Arc<AppState>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(POLL_INTERVAL) => {}
            () = state.notifier.wake.notified() => {}
        }
        state.notifier.drive(&state).await;
        // Every API request wakes the task; under load that would be one drive (and one
        // world lock) per request. Wakes during the gap collapse into one permit.
        tokio::time::sleep(MIN_DRIVE_GAP).await;
    }
}
