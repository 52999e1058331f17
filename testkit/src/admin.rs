//! The admin API client, the only one in the workspace.
//!
//! Every call is fallible ([`AdminError`]): the conformance runner talks to servers it did not
//! start and reports one that is down or answers nonsense instead of panicking. Tests use the
//! panicking shortcuts on [`Sandbox`](crate::Sandbox), which call these.
//!
//! Answers stay [`serde_json::Value`]: tests assert on the exact JSON the admin API
//! answers, field by field, and a typed view here would hide a renamed or missing field.

use std::time::Duration;

use paysandbox_sdk::tls::{self, TrustRoots};
use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

/// Failures talking to the admin API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The HTTP client could not be built.
    #[error("admin client: {0}")]
    Client(String),
    /// No answer: refused, reset, timed out.
    #[error("{path}: {message}")]
    Transport {
        /// The admin path called.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// An answer that is not JSON.
    #[error("{path}: the answer is not JSON ({message}): {body}")]
    NotJson {
        /// The admin path called.
        path: String,
        /// The parser's complaint.
        message: String,
        /// The answer as received.
        body: String,
    },
    /// A status other than 2xx where success was expected.
    #[error("{path}: HTTP {status} {body}")]
    Status {
        /// The admin path called.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The JSON answer (`{"error": ...}`).
        body: Value,
    },
    /// A 2xx answer without the shape the call expects.
    #[error("{path}: unexpected answer {body}")]
    Shape {
        /// The admin path called.
        path: String,
        /// The JSON answer.
        body: Value,
    },
}

/// The admin API of one sandbox, over plain HTTP (or HTTPS trusting the public roots).
#[derive(Debug, Clone)]
pub struct Admin {
    base: String,
    http: reqwest::Client,
}

/// What `POST /admin/faults` queues: the next `count` calls of `endpoint` answer an error
/// code, an HTTP status, or late.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    err_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after_apply: Option<bool>,
}

impl Fault {
    fn on(endpoint: &str) -> Fault {
        Fault {
            endpoint: endpoint.to_owned(),
            count: None,
            err_code: None,
            http_status: None,
            delay_ms: None,
            after_apply: None,
        }
    }

    /// Answer this error code (`SYSTEMERROR`, `ACQ.SYSTEM_ERROR`, ...). `endpoint` is a fault
    /// endpoint name: `wechat.refund`, `alipay.trade.refund`, ...
    pub fn err_code(endpoint: &str, err_code: &str) -> Fault {
        Fault {
            err_code: Some(err_code.to_owned()),
            ..Fault::on(endpoint)
        }
    }

    /// Answer this HTTP status with an empty body.
    pub fn http_status(endpoint: &str, status: u16) -> Fault {
        Fault {
            http_status: Some(status),
            ..Fault::on(endpoint)
        }
    }

    /// Answer normally, `delay_ms` late.
    pub fn delay_ms(endpoint: &str, delay_ms: u64) -> Fault {
        Fault {
            delay_ms: Some(delay_ms),
            ..Fault::on(endpoint)
        }
    }

    /// For the next `count` calls (the server's default is one).
    #[must_use]
    pub fn count(mut self, count: usize) -> Fault {
        self.count = Some(count);
        self
    }

    /// Whether the ledger applies the request before the fault answers (sent only when set).
    #[must_use]
    pub fn after_apply(mut self, after_apply: bool) -> Fault {
        self.after_apply = Some(after_apply);
        self
    }
}

/// A trade's amount as `POST /admin/alipay/trades` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeTotal<'a> {
    /// `total_amount`, a yuan string as the gateway receives amounts (`"88.88"`).
    Yuan(&'a str),
    /// `total_fen`, integer fen.
    Fen(u64),
}

impl<'a> From<&'a str> for TradeTotal<'a> {
    fn from(yuan: &'a str) -> Self {
        TradeTotal::Yuan(yuan)
    }
}

impl From<u64> for TradeTotal<'_> {
    fn from(fen: u64) -> Self {
        TradeTotal::Fen(fen)
    }
}

/// What the simulated buyer or seller does to an Alipay trade
/// (`POST /admin/alipay/trades/{trade}/{action}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeAction {
    /// The buyer scans a precreated QR code (`WAIT_BUYER_PAY`).
    Scan,
    /// The buyer pays (`TRADE_SUCCESS`).
    Pay,
    /// Freezes or unfreezes the trade's funds.
    Freeze,
    /// The trade ends its refund period (`TRADE_FINISHED`).
    Finish,
}

impl TradeAction {
    fn path_segment(self) -> &'static str {
        match self {
            TradeAction::Scan => "scan",
            TradeAction::Pay => "pay",
            TradeAction::Freeze => "freeze",
            TradeAction::Finish => "finish",
        }
    }
}

/// `base` with every field of `extra` (an object; anything else adds nothing) set on it.
pub fn merged(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

/// A request parameter of a journal entry (`request` is a list of `[name, value]` pairs).
pub fn sent<'a>(entry: &'a Value, name: &str) -> Option<&'a str> {
    entry
        .get("request")?
        .as_array()?
        .iter()
        .find(|pair| pair.get(0).and_then(Value::as_str) == Some(name))
        .and_then(|pair| pair.get(1))
        .and_then(Value::as_str)
}

/// The outcome of each journal entry without its note: `"ACQ.SYSTEM_ERROR (injected
/// fault)"` gives `"ACQ.SYSTEM_ERROR"`.
pub fn outcomes(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| {
            let outcome = entry
                .get("outcome")
                .and_then(Value::as_str)
                .unwrap_or_default();
            outcome
                .split_once(" (")
                .map_or(outcome, |(code, _)| code)
                .to_owned()
        })
        .collect()
}

/// When each delivery attempt of a notification (as the admin API lists it) was made, in
/// sandbox milliseconds.
pub fn attempt_times(notification: &Value) -> Vec<i64> {
    notification
        .get("attempts")
        .and_then(Value::as_array)
        .map(|attempts| {
            attempts
                .iter()
                .filter_map(|a| a.get("at").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default()
}

impl Admin {
    /// A client for the admin API at `base` (e.g. `http://127.0.0.1:8444`, without `/admin`).
    ///
    /// # Errors
    /// The HTTP client could not be built.
    pub fn new(base: &str) -> Result<Admin, AdminError> {
        // reqwest is built without a TLS provider of its own: give it one explicitly.
        let tls = tls::client_config(&TrustRoots::public(), None)
            .map_err(|e| AdminError::Client(e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| AdminError::Client(e.to_string()))?;
        Ok(Admin {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// The base URL, without `/admin`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends one request with an optional JSON body; the status and the JSON answer, whatever
    /// the status.
    ///
    /// # Errors
    /// No answer, or an answer that is not JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), AdminError> {
        let transport = |e: reqwest::Error| AdminError::Transport {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(transport)?;
        let value = serde_json::from_str(&text).map_err(|e| AdminError::NotJson {
            path: path.to_owned(),
            message: e.to_string(),
            body: text.clone(),
        })?;
        Ok((status, value))
    }

    /// A request that must succeed (2xx); its JSON answer.
    ///
    /// # Errors
    /// As [`Admin::call`], or a status other than 2xx.
    pub async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, AdminError> {
        let (status, value) = self.call(method, path, body).await?;
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(AdminError::Status {
                path: path.to_owned(),
                status,
                body: value,
            })
        }
    }

    /// `GET path`, which must succeed.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn get(&self, path: &str) -> Result<Value, AdminError> {
        self.ok(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body, which must succeed.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn post(&self, path: &str, body: Value) -> Result<Value, AdminError> {
        self.ok(Method::POST, path, Some(body)).await
    }

    /// `PATCH path` with a JSON body, which must succeed.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn patch(&self, path: &str, body: Value) -> Result<Value, AdminError> {
        self.ok(Method::PATCH, path, Some(body)).await
    }

    /// `DELETE path`, which must succeed.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn delete(&self, path: &str) -> Result<Value, AdminError> {
        self.ok(Method::DELETE, path, None).await
    }

    /// A listing (an answer that must be a JSON array).
    async fn list(&self, path: &str) -> Result<Vec<Value>, AdminError> {
        match self.get(path).await? {
            Value::Array(items) => Ok(items),
            body => Err(AdminError::Shape {
                path: path.to_owned(),
                body,
            }),
        }
    }

    /// Every entry of a paged listing (`limit`/`offset`: the server answers pages of the
    /// newest), oldest first, page after page until a short one. Entries added meanwhile
    /// shift the pages: read a sandbox nothing else is changing.
    async fn list_all(&self, path: &str, query: &str) -> Result<Vec<Value>, AdminError> {
        /// The largest page the admin API answers.
        const PAGE: usize = 10_000;
        let mut pages = Vec::new();
        let mut offset = 0_usize;
        loop {
            let paging = format!("limit={PAGE}&offset={offset}");
            let query = if query.is_empty() {
                paging
            } else {
                format!("{query}&{paging}")
            };
            let page = self.list(&with_query(path, &query)).await?;
            let short = page.len() < PAGE;
            offset = offset.saturating_add(page.len());
            pages.push(page);
            if short {
                return Ok(pages.into_iter().rev().flatten().collect());
            }
        }
    }

    // --- clock, reset, faults, journal ------------------------------------------------------

    /// Moves the sandbox clock forward by whole seconds (`{"seconds": n}`); settles what
    /// falls due and delivers due notifications at their times before answering.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn advance_secs(&self, seconds: u64) -> Result<Value, AdminError> {
        self.post("/admin/clock/advance", json!({ "seconds": seconds }))
            .await
    }

    /// Moves the sandbox clock forward by milliseconds (`{"millis": n}`).
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn advance_ms(&self, millis: u64) -> Result<(), AdminError> {
        self.post("/admin/clock/advance", json!({ "millis": millis }))
            .await
            .map(drop)
    }

    /// Forgets everything and seeds the demo data again (when the server has it).
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn reset(&self) -> Result<Value, AdminError> {
        self.post("/admin/reset", json!({})).await
    }

    /// Queues a fault; answers the queue.
    ///
    /// # Errors
    /// As [`Admin::ok`] (400 for a fault the server refuses).
    pub async fn inject_fault(&self, fault: &Fault) -> Result<Value, AdminError> {
        self.post("/admin/faults", json!(fault)).await
    }

    /// Drops every queued fault.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn clear_faults(&self) -> Result<(), AdminError> {
        self.delete("/admin/faults").await.map(drop)
    }

    /// The last `limit` journal entries, oldest first.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn journal(&self, limit: usize) -> Result<Vec<Value>, AdminError> {
        self.list(&format!("/admin/journal?limit={limit}")).await
    }

    // --- WeChat ------------------------------------------------------------------------------

    /// Creates a WeChat merchant (`mch_id` plus `extra`: `appids`, `api_key`,
    /// `refundable_balance`, ...); the answer names its certificate files under `cert`.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn create_merchant(&self, mch_id: &str, extra: Value) -> Result<Value, AdminError> {
        let body = merged(json!({ "mch_id": mch_id }), extra);
        self.post("/admin/wechat/merchants", body).await
    }

    /// Changes a merchant (`refundable_balance`, `ip_allowlist`).
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn update_merchant(&self, mch_id: &str, patch: Value) -> Result<Value, AdminError> {
        self.patch(&format!("/admin/wechat/merchants/{mch_id}"), patch)
            .await
    }

    /// The merchant as `GET /admin/wechat/merchants` lists it; `None` when not listed.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn merchant(&self, mch_id: &str) -> Result<Option<Value>, AdminError> {
        let merchants = self.list("/admin/wechat/merchants").await?;
        Ok(find_by(merchants, "mch_id", mch_id))
    }

    /// Seeds an order (paid unless `extra` says otherwise: `state`, `paid_seconds_ago`,
    /// `sandbox`, ...).
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn seed_order(
        &self,
        mch_id: &str,
        out_trade_no: &str,
        total_fee: u64,
        extra: Value,
    ) -> Result<Value, AdminError> {
        let body =
            json!({ "mch_id": mch_id, "out_trade_no": out_trade_no, "total_fee": total_fee });
        self.post("/admin/wechat/orders", merged(body, extra)).await
    }

    /// The simulated buyer pays an unpaid order (`query`: `mch_id=...&sandbox=1`, may be
    /// empty; `body`: `openid`, `bank_type`, `coupons`, ...). A payment notification goes out
    /// before the answer when the order has a notify_url.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn pay_order(
        &self,
        out_trade_no: &str,
        query: &str,
        body: Value,
    ) -> Result<Value, AdminError> {
        self.post(
            &with_query(&format!("/admin/wechat/orders/{out_trade_no}/pay"), query),
            body,
        )
        .await
    }

    /// The WeChat refunds the ledger holds (`query`: `mch_id=...&sandbox=1`, may be empty).
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn wechat_refunds(&self, query: &str) -> Result<Vec<Value>, AdminError> {
        self.list_all("/admin/wechat/refunds", query).await
    }

    /// Forces a PROCESSING refund's outcome (`SUCCESS`, `CHANGE`, `REFUNDCLOSE`).
    ///
    /// # Errors
    /// As [`Admin::ok`] (409 when the refund is already final).
    pub async fn force_refund_status(
        &self,
        refund_id: &str,
        status: &str,
    ) -> Result<Value, AdminError> {
        self.post(
            &format!("/admin/wechat/refunds/{refund_id}/status"),
            json!({ "status": status }),
        )
        .await
    }

    // --- Alipay ------------------------------------------------------------------------------

    /// Creates an Alipay app (`app_id` plus `extra`: `seller_balance`, `app_auth_tokens`,
    /// ...); the answer names its key files under `keys`.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn create_app(&self, app_id: &str, extra: Value) -> Result<Value, AdminError> {
        let body = merged(json!({ "app_id": app_id }), extra);
        self.post("/admin/alipay/apps", body).await
    }

    /// Changes an app (`seller_balance`).
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn update_app(&self, app_id: &str, patch: Value) -> Result<Value, AdminError> {
        self.patch(&format!("/admin/alipay/apps/{app_id}"), patch)
            .await
    }

    /// The app as `GET /admin/alipay/apps` lists it; `None` when not listed.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn app(&self, app_id: &str) -> Result<Option<Value>, AdminError> {
        let apps = self.list("/admin/alipay/apps").await?;
        Ok(find_by(apps, "app_id", app_id))
    }

    /// Seeds a trade (paid unless `extra` says otherwise: `status`, `paid_seconds_ago`,
    /// `subject`, ...).
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn seed_trade(
        &self,
        app_id: &str,
        out_trade_no: &str,
        total: TradeTotal<'_>,
        extra: Value,
    ) -> Result<Value, AdminError> {
        let mut body = json!({ "app_id": app_id, "out_trade_no": out_trade_no });
        if let Some(fields) = body.as_object_mut() {
            match total {
                TradeTotal::Yuan(yuan) => fields.insert("total_amount".into(), json!(yuan)),
                TradeTotal::Fen(fen) => fields.insert("total_fen".into(), json!(fen)),
            };
        }
        self.post("/admin/alipay/trades", merged(body, extra)).await
    }

    /// The buyer or seller acts on a trade (its trade_no or out_trade_no; `query`:
    /// `app_id=...`, may be empty).
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn trade_action(
        &self,
        trade: &str,
        action: TradeAction,
        query: &str,
        body: Value,
    ) -> Result<Value, AdminError> {
        let path = format!("/admin/alipay/trades/{trade}/{}", action.path_segment());
        self.post(&with_query(&path, query), body).await
    }

    /// An app's trades as the ledger has them.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn alipay_trades(&self, app_id: &str) -> Result<Vec<Value>, AdminError> {
        self.list_all("/admin/alipay/trades", &format!("app_id={app_id}"))
            .await
    }

    /// An app's refunds as the ledger has them.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn alipay_refunds(&self, app_id: &str) -> Result<Vec<Value>, AdminError> {
        self.list_all("/admin/alipay/refunds", &format!("app_id={app_id}"))
            .await
    }

    // --- notifications -----------------------------------------------------------------------

    /// Notifications matching `query` (`platform=&kind=&refund_no=...`, may be empty).
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn notifications(&self, query: &str) -> Result<Vec<Value>, AdminError> {
        self.list_all("/admin/notifications", query).await
    }

    /// Delivers every notification due now and answers when done.
    ///
    /// # Errors
    /// As [`Admin::ok`].
    pub async fn flush_notifications(&self) -> Result<(), AdminError> {
        self.post("/admin/notifications/flush", json!({}))
            .await
            .map(drop)
    }
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

fn find_by(list: Vec<Value>, field: &str, id: &str) -> Option<Value> {
    list.into_iter()
        .find(|item| item.get(field).and_then(Value::as_str) == Some(id))
}
