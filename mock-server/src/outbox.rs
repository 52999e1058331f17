//! The notification outbox: every notification the platforms owe a merchant (WeChat refund
//! results §5, WeChat payment results §6.4, Alipay `trade_status_sync` §7), its delivery
//! history, and the real retry schedules that say when the next attempt is due.
//!
//! Data and rules only, on the injected clock: the delivery engine ([`crate::notify`]) builds
//! the bodies, pushes them here, POSTs what [`Outbox::due`] names and hands each result back
//! to `Outbox::record`, which applies the schedule.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::{Timestamp, When};
use crate::record::{Changed, RecordError, is_false};

/// WeChat's retry intervals after each failed attempt (spec §5.5 / §6.4): 15 attempts after
/// the first, 16 in all over 24 h 4 min.
pub const WECHAT_RETRY_SECS: [u64; 15] = [
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10_800, 10_800, 10_800, 21_600, 21_600,
];
/// WeChat's API v3 retry intervals (spec §1.4): the v2 list again, after a failure or a 5 s
/// timeout.
pub const WECHAT_V3_RETRY_SECS: [u64; 15] = WECHAT_RETRY_SECS;
/// Alipay's retry intervals (spec §7.4: 4m, 10m, 10m, 1h, 2h, 6h, 15h): 8 attempts in all.
pub const ALIPAY_RETRY_SECS: [u64; 7] = [240, 600, 600, 3600, 7200, 21_600, 54_000];
/// Finished notifications (delivered, given up, or without URL) kept for the admin API; the
/// oldest (lowest id) are forgotten first, so a load test cannot grow the outbox without bound
/// (deviation: `notify-kept`).
pub const KEEP_FINISHED: usize = 10_000;

/// Signature probes kept for the admin API; the oldest are forgotten first.
pub const KEEP_PROBES: usize = 1_000;

/// The `Content-Type` of WeChat notifications.
pub const XML: &str = "text/xml";
/// The `Content-Type` of WeChat API v3 notifications.
pub const JSON: &str = "application/json";
/// The `Content-Type` of Alipay notifications.
pub const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Which platform sends a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// WeChat Pay v2.
    Wechat,
    /// WeChat Pay API v3 (JSON, AES-GCM resource, signed headers).
    WechatV3,
    /// Alipay.
    Alipay,
}

impl Platform {
    /// The intervals between its attempts.
    pub fn retry_schedule(self) -> &'static [u64] {
        match self {
            Platform::Wechat => &WECHAT_RETRY_SECS,
            Platform::WechatV3 => &WECHAT_V3_RETRY_SECS,
            Platform::Alipay => &ALIPAY_RETRY_SECS,
        }
    }
}

/// What a notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// WeChat refund result (v2: encrypted `req_info`; v3: `REFUND.*`).
    Refund,
    /// WeChat payment result (v2: signed XML; v3: `TRANSACTION.SUCCESS`).
    Payment,
    /// Alipay `trade_status_sync` (payment, refund or close).
    Trade,
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// v3: the `Wechatpay-Serial` that signed this attempt (each attempt is signed anew, so
    /// during a switch-over attempts may differ).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

/// What one POST produced, as the engine saw it (the fields of an [`Attempt`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttemptOutcome {
    pub(crate) http_status: Option<u16>,
    pub(crate) error: Option<String>,
    pub(crate) excerpt: String,
    pub(crate) success: bool,
    pub(crate) serial: Option<String>,
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
    /// a payment, the Alipay trade_status, or the v3 `event_type` (`REFUND.SUCCESS`...).
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
    /// Alipay notify_id, or the v3 envelope's `id` (`EV-…`): the same on every attempt.
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
}

impl Notification {
    /// Scheduled attempts made so far: a scheduled attempt happens only while pending, and
    /// each one that fails moves the schedule on (a success ends it).
    fn scheduled_attempts(&self) -> usize {
        self.attempts
            .iter()
            .filter(|a| !a.manual && !a.success)
            .count()
    }
}

/// What a new notification is made of: the engine builds it from an event, once, so every
/// attempt sends the same bytes (deviation: `wx-notify-retry-body`). The fields are those of
/// [`Notification`]; `at` becomes its `created_at` and the first attempt's due time.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub(crate) platform: Platform,
    pub(crate) kind: Kind,
    pub(crate) event: String,
    pub(crate) merchant: String,
    pub(crate) out_trade_no: String,
    pub(crate) trade_id: String,
    pub(crate) refund_id: Option<String>,
    pub(crate) refund_no: Option<String>,
    pub(crate) notify_id: Option<String>,
    pub(crate) url: Option<String>,
    pub(crate) at: Timestamp,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
}

/// What the engine POSTs for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Post {
    pub(crate) platform: Platform,
    pub(crate) merchant: String,
    pub(crate) url: String,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
}

/// One v3 signature probe (spec §1.4): a notification whose `Wechatpay-Signature` starts with
/// `WECHATPAY/SIGNTEST/`, which a correct handler refuses with a non-2xx answer.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// Sequential id (from 1).
    pub id: u64,
    /// The merchant probed.
    pub merchant: String,
    /// The URL posted to.
    pub url: String,
    /// The notification whose attempt it went just before (`serve --v3-probe-percent`);
    /// `None` for a probe requested through the admin API.
    pub notification: Option<u64>,
    /// Sandbox time of the probe.
    pub at: Timestamp,
    /// The `Wechatpay-Serial` it carried.
    pub serial: Option<String>,
    /// The HTTP status, when an answer came.
    pub http_status: Option<u16>,
    /// The transport error, when none came.
    pub error: Option<String>,
    /// The start of the answer's body.
    pub response_excerpt: String,
    /// The handler answered 2xx: it would accept a forged notification.
    pub accepted: bool,
    /// `failed` when accepted, else `passed` (a refusal, or no answer at all, is what a
    /// handler that checks signatures gives).
    pub check: &'static str,
}

/// The notifications, by id, and which of them are finished.
#[derive(Debug, Default)]
pub struct Outbox {
    next_id: u64,
    items: BTreeMap<u64, Notification>,
    finished: BTreeSet<u64>,
    /// Signature probes, oldest first, at most [`KEEP_PROBES`] (not persisted).
    probes: std::collections::VecDeque<Probe>,
    last_probe_id: u64,
    /// Notifications with an attempt out on the network: claimed by the engine and not yet
    /// recorded. They are not due again until then, so no attempt is duplicated or overtaken.
    in_flight: BTreeSet<u64>,
    /// Notifications added, altered or dropped since the persisted store took them.
    changed: Changed<u64>,
}

impl Outbox {
    /// Adds a notification; its first attempt is due at the draft's time. Returns its id.
    pub(crate) fn push(&mut self, draft: Draft) -> u64 {
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
            },
        );
        self.changed.mark(id);
        if status != Status::Pending {
            self.finish(id);
        }
        id
    }

    fn finish(&mut self, id: u64) {
        self.finished.insert(id);
        while self.finished.len() > KEEP_FINISHED {
            if let Some(old) = self.finished.pop_first() {
                self.items.remove(&old);
                self.changed.mark(old);
            }
        }
    }

    /// Pending notifications not in flight whose attempt is due at `now`, earliest first
    /// (ties: lowest id).
    fn due_ids(&self, now: Timestamp) -> Vec<u64> {
        let mut due: Vec<(Timestamp, u64)> = self
            .items
            .values()
            .filter(|n| n.status == Status::Pending && !self.in_flight.contains(&n.id))
            .filter_map(|n| n.next_attempt_at.map(|at| (at, n.id)))
            .filter(|(at, _)| *at <= now)
            .collect();
        due.sort_unstable();
        due.into_iter().map(|(_, id)| id).collect()
    }

    /// The earliest due pending notification at `now` that is not in flight (ties: lowest id).
    pub fn due(&self, now: Timestamp) -> Option<u64> {
        self.due_ids(now).first().copied()
    }

    /// When the next pending attempt not in flight is due, if any.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.items
            .values()
            .filter(|n| n.status == Status::Pending && !self.in_flight.contains(&n.id))
            .filter_map(|n| n.next_attempt_at)
            .min()
    }

    /// How many notifications have an attempt in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Claims notification `id` for one attempt: marks it in flight and says what to POST.
    /// `None` if it is unknown, has no URL, or already has an attempt in flight.
    pub(crate) fn claim(&mut self, id: u64) -> Option<Post> {
        if self.in_flight.contains(&id) {
            return None;
        }
        let n = self.items.get(&id)?;
        let post = Post {
            platform: n.platform,
            merchant: n.merchant.clone(),
            url: n.url.clone()?,
            content_type: n.content_type,
            body: n.body.clone(),
        };
        self.in_flight.insert(id);
        Some(post)
    }

    /// Claims (see [`Outbox::claim`]) at most `limit` of the attempts due at `now`, earliest
    /// first.
    pub(crate) fn claim_due(&mut self, now: Timestamp, limit: usize) -> Vec<(u64, Post)> {
        let mut claimed = Vec::new();
        for id in self.due_ids(now).into_iter().take(limit) {
            if let Some(post) = self.claim(id) {
                claimed.push((id, post));
            }
        }
        claimed
    }

    /// Gives a claimed attempt back unsent: it is due again as before.
    pub(crate) fn release(&mut self, id: u64) {
        self.in_flight.remove(&id);
    }

    /// Records an attempt at `at` and what follows from it: a success delivers; a failed
    /// scheduled attempt schedules the next one from `at` on the platform's schedule, or gives
    /// up after the last; a failed manual attempt (resend) leaves the schedule as it was.
    pub(crate) fn record(
        &mut self,
        id: u64,
        at: Timestamp,
        url: String,
        manual: bool,
        outcome: AttemptOutcome,
    ) {
        self.in_flight.remove(&id);
        let Some(n) = self.items.get_mut(&id) else {
            return;
        };
        self.changed.mark(id);
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
            serial: outcome.serial,
        });
        let was = n.status;
        let mut finished = false;
        if outcome.success {
            n.status = Status::Delivered;
            n.next_attempt_at = None;
            // Failed ones are already among the finished.
            finished = was == Status::Pending;
        } else if !manual && was == Status::Pending {
            // The attempt just recorded is among them.
            let made = n.scheduled_attempts();
            match n.platform.retry_schedule().get(made.saturating_sub(1)) {
                Some(&secs) => n.next_attempt_at = Some(at.plus(Duration::from_secs(secs))),
                None => {
                    n.status = Status::Failed;
                    n.next_attempt_at = None;
                    finished = true;
                }
            }
        }
        if finished {
            self.finish(id);
        }
    }

    /// The notifications `filter` admits, oldest first, borrowed (a caller that pages through
    /// them clones only its page).
    pub fn matching<'a>(
        &'a self,
        filter: impl Fn(&Notification) -> bool + 'a,
    ) -> impl DoubleEndedIterator<Item = &'a Notification> + 'a {
        self.items.values().filter(move |n| filter(n))
    }

    /// One notification.
    pub fn get(&self, id: u64) -> Option<Notification> {
        self.items.get(&id).cloned()
    }

    /// Records a probe's outcome; returns it with its id.
    pub(crate) fn record_probe(
        &mut self,
        merchant: String,
        url: String,
        notification: Option<u64>,
        at: Timestamp,
        outcome: AttemptOutcome,
    ) -> Probe {
        self.last_probe_id += 1;
        let accepted = outcome.http_status.is_some_and(|s| (200..300).contains(&s));
        let probe = Probe {
            id: self.last_probe_id,
            merchant,
            url,
            notification,
            at,
            serial: outcome.serial,
            http_status: outcome.http_status,
            error: outcome.error,
            response_excerpt: outcome.excerpt,
            accepted,
            check: if accepted { "failed" } else { "passed" },
        };
        self.probes.push_back(probe.clone());
        while self.probes.len() > KEEP_PROBES {
            self.probes.pop_front();
        }
        probe
    }

    /// The probes kept, oldest first, that pass `filter`.
    pub fn probes(&self, filter: impl Fn(&Probe) -> bool) -> Vec<Probe> {
        self.probes.iter().filter(|p| filter(p)).cloned().collect()
    }

    /// Forgets every notification (admin reset). Ids keep counting.
    pub fn clear(&mut self) {
        self.probes.clear();
        for id in self.items.keys() {
            self.changed.mark(*id);
        }
        self.items.clear();
        self.finished.clear();
        // An attempt still out finds its notification gone and records nothing.
        self.in_flight.clear();
    }

    /// Gives new notifications ids after `last_id` if that is further than they would go:
    /// ids keep counting across a reset.
    pub fn count_from(&mut self, last_id: u64) {
        self.next_id = self.next_id.max(last_id);
    }

    /// The last id given to a notification (0 before the first).
    pub fn last_id(&self) -> u64 {
        self.next_id
    }

    /// Starts noting which notifications change, for the persisted store, which has written
    /// the outbox as it is now.
    pub fn track_changes(&mut self) {
        self.changed.track();
    }

    /// The notifications added, altered or dropped (`None`) since the last call (while
    /// tracked), by id.
    pub fn take_changes(&mut self) -> Vec<(u64, Option<NotificationRecord>)> {
        self.changed
            .take()
            .into_iter()
            .map(|id| (id, self.items.get(&id).map(NotificationRecord::of)))
            .collect()
    }

    /// Every notification as a record, oldest first.
    pub fn records(&self) -> Vec<NotificationRecord> {
        self.items.values().map(NotificationRecord::of).collect()
    }

    /// An outbox holding `records`, relative times counted from `now`; ids go on after
    /// `last_id` (default: the highest id listed). Attempt numbers, Beijing times and where
    /// each schedule stands follow from the attempts.
    ///
    /// # Errors
    /// The first record that does not hold together.
    pub fn restore(
        last_id: Option<u64>,
        records: &[NotificationRecord],
        now: Timestamp,
    ) -> Result<Outbox, RecordError> {
        let mut outbox = Outbox::default();
        for (i, record) in records.iter().enumerate() {
            let notification = record
                .restore(now)
                .map_err(|message| RecordError::at(format!("[{i}] (id {})", record.id), message))?;
            let id = notification.id;
            let finished = notification.status != Status::Pending;
            if outbox.items.insert(id, notification).is_some() {
                return Err(RecordError::at(
                    format!("[{i}] (id {id})"),
                    "two notifications have this id",
                ));
            }
            if finished {
                outbox.finished.insert(id);
            }
        }
        let highest = outbox.items.keys().next_back().copied().unwrap_or(0);
        outbox.next_id = match last_id {
            Some(last) if last < highest => {
                return Err(RecordError::at(
                    "",
                    format!("last_notification_id {last} is below notification {highest}"),
                ));
            }
            Some(last) => last,
            None => highest,
        };
        Ok(outbox)
    }
}

/// A notification as a scenario file writes it: [`Notification`]'s fields, times as
/// [`When`], without what follows from the rest (attempt numbers, Beijing times).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationRecord {
    /// Its id (from 1).
    pub id: u64,
    /// `wechat` or `alipay`.
    pub platform: Platform,
    /// `refund`, `payment` or `trade`.
    pub kind: Kind,
    /// The reported state.
    pub event: String,
    /// mch_id or app_id.
    pub merchant: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// transaction_id or trade_no.
    pub trade_id: String,
    /// WeChat refund_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// WeChat out_refund_no or Alipay out_biz_no.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_no: Option<String>,
    /// Alipay notify_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_id: Option<String>,
    /// Where it goes; left out when there was none (`no_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When the event happened.
    pub created_at: When,
    /// `pending`, `delivered`, `failed` or `no_url`.
    pub status: Status,
    /// When the next scheduled attempt is due (`pending` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<When>,
    /// The request's `Content-Type`: `text/xml` (WeChat) or the form type (Alipay).
    pub content_type: String,
    /// The exact body POSTed.
    pub body: String,
    /// Every attempt so far, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<AttemptRecord>,
}

/// One delivery attempt of a [`NotificationRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttemptRecord {
    /// When.
    pub at: When,
    /// The URL posted to.
    pub url: String,
    /// Sent by a resend rather than the schedule.
    #[serde(default, skip_serializing_if = "is_false")]
    pub manual: bool,
    /// The HTTP status, when an answer came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The transport error, when none came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The start of the answer's body.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub response_excerpt: String,
    /// Whether it counted as acknowledged.
    #[serde(default, skip_serializing_if = "is_false")]
    pub success: bool,
    /// v3: the `Wechatpay-Serial` that signed the attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

impl NotificationRecord {
    fn of(n: &Notification) -> NotificationRecord {
        NotificationRecord {
            id: n.id,
            platform: n.platform,
            kind: n.kind,
            event: n.event.clone(),
            merchant: n.merchant.clone(),
            out_trade_no: n.out_trade_no.clone(),
            trade_id: n.trade_id.clone(),
            refund_id: n.refund_id.clone(),
            refund_no: n.refund_no.clone(),
            notify_id: n.notify_id.clone(),
            url: n.url.clone(),
            created_at: When::At(n.created_at),
            status: n.status,
            next_attempt_at: n.next_attempt_at.map(When::At),
            content_type: n.content_type.to_owned(),
            body: n.body.clone(),
            attempts: n
                .attempts
                .iter()
                .map(|a| AttemptRecord {
                    at: When::At(a.at),
                    url: a.url.clone(),
                    manual: a.manual,
                    http_status: a.http_status,
                    error: a.error.clone(),
                    response_excerpt: a.response_excerpt.clone(),
                    success: a.success,
                    serial: a.serial.clone(),
                })
                .collect(),
        }
    }

    fn restore(&self, now: Timestamp) -> Result<Notification, String> {
        if self.id == 0 {
            return Err("ids start at 1".into());
        }
        let content_type = [XML, FORM, JSON]
            .into_iter()
            .find(|known| *known == self.content_type)
            .ok_or_else(|| format!("content_type must be {XML:?}, {JSON:?} or {FORM:?}"))?;
        match (self.status, &self.url, self.next_attempt_at) {
            (Status::NoUrl, Some(_), _) => return Err("a no_url notification has no url".into()),
            (Status::NoUrl, None, _) => {}
            (_, None, _) => return Err("only a no_url notification goes without url".into()),
            (Status::Pending, Some(_), None) => {
                return Err("a pending notification has a next_attempt_at".into());
            }
            (Status::Pending, Some(_), Some(_)) => {}
            (_, Some(_), Some(_)) => {
                return Err("only a pending notification has a next_attempt_at".into());
            }
            (_, Some(_), None) => {}
        }
        let attempts: Vec<Attempt> = self
            .attempts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let at = a.at.resolve(now);
                Attempt {
                    number: i + 1,
                    at,
                    at_beijing: at.beijing_datetime(),
                    url: a.url.clone(),
                    manual: a.manual,
                    http_status: a.http_status,
                    error: a.error.clone(),
                    response_excerpt: a.response_excerpt.clone(),
                    success: a.success,
                    serial: a.serial.clone(),
                }
            })
            .collect();
        let notification = Notification {
            id: self.id,
            platform: self.platform,
            kind: self.kind,
            event: self.event.clone(),
            merchant: self.merchant.clone(),
            out_trade_no: self.out_trade_no.clone(),
            trade_id: self.trade_id.clone(),
            refund_id: self.refund_id.clone(),
            refund_no: self.refund_no.clone(),
            notify_id: self.notify_id.clone(),
            url: self.url.clone(),
            created_at: self.created_at.resolve(now),
            status: self.status,
            next_attempt_at: self.next_attempt_at.map(|w| w.resolve(now)),
            content_type,
            body: self.body.clone(),
            attempts,
        };
        if notification.scheduled_attempts() > self.platform.retry_schedule().len() + 1 {
            return Err(format!(
                "more failed scheduled attempts than {:?}'s schedule has",
                self.platform
            ));
        }
        Ok(notification)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(platform: Platform, url: Option<&str>, at: Timestamp) -> Draft {
        Draft {
            platform,
            kind: Kind::Trade,
            event: "TRADE_SUCCESS".to_owned(),
            merchant: "app".to_owned(),
            out_trade_no: "o1".to_owned(),
            trade_id: "t1".to_owned(),
            refund_id: None,
            refund_no: None,
            notify_id: None,
            url: url.map(str::to_owned),
            at,
            content_type: "text/plain",
            body: "body".to_owned(),
        }
    }

    fn failed() -> AttemptOutcome {
        AttemptOutcome {
            http_status: Some(500),
            error: None,
            excerpt: String::new(),
            success: false,
            serial: None,
        }
    }

    #[test]
    fn failed_attempts_follow_the_schedule_then_give_up() {
        let t0 = Timestamp(1_700_000_000_000);
        let mut outbox = Outbox::default();
        let id = outbox.push(draft(Platform::Alipay, Some("http://r"), t0));
        assert_eq!(outbox.due(t0), Some(id));
        let mut at = t0;
        for secs in ALIPAY_RETRY_SECS {
            outbox.record(id, at, "http://r".to_owned(), false, failed());
            at = at.plus(Duration::from_secs(secs));
            assert_eq!(outbox.next_due(), Some(at));
            assert_eq!(outbox.due(at.minus(Duration::from_millis(1))), None);
        }
        outbox.record(id, at, "http://r".to_owned(), false, failed());
        let n = outbox.get(id).unwrap();
        assert_eq!(n.status, Status::Failed);
        assert_eq!(n.attempts.len(), ALIPAY_RETRY_SECS.len() + 1);
        assert_eq!(outbox.next_due(), None);
    }

    #[test]
    fn a_failed_resend_keeps_the_schedule_and_a_good_one_delivers() {
        let t0 = Timestamp(1_700_000_000_000);
        let mut outbox = Outbox::default();
        let id = outbox.push(draft(Platform::Wechat, Some("http://r"), t0));
        outbox.record(id, t0, "http://r".to_owned(), false, failed());
        let next = t0.plus(Duration::from_secs(WECHAT_RETRY_SECS[0]));
        outbox.record(id, t0, "http://r".to_owned(), true, failed());
        assert_eq!(outbox.next_due(), Some(next));
        let ok = AttemptOutcome {
            http_status: Some(200),
            success: true,
            ..failed()
        };
        outbox.record(id, t0, "http://r".to_owned(), true, ok);
        let n = outbox.get(id).unwrap();
        assert_eq!((n.status, n.next_attempt_at), (Status::Delivered, None));
        assert_eq!(
            n.attempts.iter().map(|a| a.manual).collect::<Vec<_>>(),
            [false, true, true]
        );
    }

    #[test]
    fn without_url_nothing_is_due_and_finished_ones_are_bounded() {
        let t0 = Timestamp(1_700_000_000_000);
        let mut outbox = Outbox::default();
        let first = outbox.push(draft(Platform::Wechat, None, t0));
        assert_eq!(outbox.get(first).map(|n| n.status), Some(Status::NoUrl));
        assert_eq!((outbox.due(t0), outbox.claim(first)), (None, None));
        for _ in 0..KEEP_FINISHED {
            outbox.push(draft(Platform::Wechat, None, t0));
        }
        assert!(outbox.get(first).is_none());
        assert_eq!(outbox.matching(|_| true).count(), KEEP_FINISHED);
    }

    #[test]
    fn an_attempt_in_flight_is_not_due_again_until_recorded() {
        let t0 = Timestamp(1_700_000_000_000);
        let mut outbox = Outbox::default();
        let a = outbox.push(draft(Platform::Wechat, Some("http://a"), t0));
        let b = outbox.push(draft(Platform::Wechat, Some("http://b"), t0));
        let claimed: Vec<u64> = outbox
            .claim_due(t0, 1)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(claimed, [a]);
        assert_eq!((outbox.in_flight(), outbox.due(t0)), (1, Some(b)));
        assert_eq!(outbox.claim(a), None);
        let rest: Vec<u64> = outbox
            .claim_due(t0, 32)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(rest, [b]);
        assert_eq!((outbox.due(t0), outbox.next_due()), (None, None));
        outbox.record(a, t0, "http://a".to_owned(), false, failed());
        outbox.release(b);
        assert_eq!(outbox.in_flight(), 0);
        assert_eq!(outbox.due(t0), Some(b));
        let retry = t0.plus(Duration::from_secs(WECHAT_RETRY_SECS[0]));
        assert_eq!(outbox.get(a).and_then(|n| n.next_attempt_at), Some(retry));
    }
}
