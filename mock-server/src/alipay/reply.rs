//! The one place where every Alipay outcome gets its wire form (spec §3.1–§3.4, §10.7):
//!
//! | outcome | node | code / sub_code | signed |
//! |---|---|---|---|
//! | `method` missing or not one of the six served | `error_response` | 40001 `isv.missing-method` / 40002 `isv.invalid-method` | no (UNCONFIRMED: no node can be named; deviation: `ali-method-unsigned`) |
//! | query or body not decodable, or a key twice with two values | method node if the method is readable, else `error_response` | 40002 `isv.invalid-charset` (not UTF-8) / `isv.invalid-parameter` | like the rows below |
//! | another common parameter missing or invalid | method node | 40001 `isv.missing-*` / 40002 `isv.invalid-*` | yes when app_id names a known app, else no (deviation: `ali-common-parameter-error-signed`) |
//! | unknown `app_id` | method node | 40002 `isv.invalid-app-id` `无效的AppID参数` | no: no key to pick |
//! | bad signature | method node | 40002 `isv.invalid-signature`, sub_msg echoes the canonical string | yes |
//! | unknown `app_auth_token` | method node | 20001 `aop.invalid-app-auth-token` | yes |
//! | injected `err_code` | method node | the sub_code's own code (`ACQ.*` 40004, `isp.*` 20000) | yes |
//! | biz_content unusable | method node | 40004 `ACQ.INVALID_PARAMETER` (precreate above the limit: `ACQ.TOTAL_FEE_EXCEED`) | yes |
//! | ledger refusal | method node, with the API's echo fields | 40004 `ACQ.*` ([`refund_error`], ...) | yes |
//! | bill URL refused ([`super::bill`]) | method node | 40004 `isv.invalid_arguments` / `isp.bill_not_exist` | yes |
//! | success | method node | 10000 `Success` | yes |
//! | injected `http_status` | — | bare status, empty body | — |
//!
//! "Signed" means: the node's exact bytes signed with the app's platform (alipay) private key,
//! with the hash of the request's `sign_type` (RSA2 when it is missing or invalid), `sign` right
//! after the node. Every answer is HTTP 200 except injected statuses and a method other than
//! GET/POST (nginx 405). Content-Type `text/html;charset=utf-8` (UNCONFIRMED; deviation:
//! `ali-content-type`). Each answer the mock chose where the spec is UNCONFIRMED names its
//! DEVIATIONS.md row with a `deviation:` comment.

use std::sync::Arc;

use bytes::Bytes;
use hyper::StatusCode;
use paysandbox_protocol::alipay::envelope::{ERROR_RESPONSE_KEY, encode_envelope};
use paysandbox_protocol::alipay::{Method, ResponseStatus, SignType, SubCode, node_json};
use serde::Serialize;

use crate::http;
use crate::ledger::alipay::{CloseError, PrecreateError, RefundError};
use crate::state::AlipayKeys;

/// Response Content-Type (UNCONFIRMED what the real gateway sends; no client reads it;
/// deviation: `ali-content-type`).
pub const CONTENT_TYPE: &str = "text/html;charset=utf-8";

/// Who signs a response: the app's platform key, with the request's sign type.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The app's keys.
    pub keys: Arc<AlipayKeys>,
    /// The hash to sign with.
    pub sign_type: SignType,
}

/// An authenticated caller: the app, its method, and how to sign for it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The app id.
    pub app_id: String,
    /// The method called.
    pub method: Method,
    /// Signs the answer.
    pub signer: Signer,
}

/// Which node a response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKey {
    /// `<method>_response`.
    Method(Method),
    /// `error_response`, when no method can be named.
    Error,
}

/// What the gateway answers, before rendering.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A JSON envelope.
    Node {
        /// Its node key.
        key: NodeKey,
        /// The node, serialised compactly: the exact bytes that are signed.
        json: String,
        /// Who signs it; `None` for an unsigned answer.
        signer: Option<Signer>,
        /// The journal's summary: `SUCCESS`, or the sub_code and why.
        outcome: String,
        /// The rule that refused, for the journal (not on the wire).
        rule: Option<String>,
    },
    /// A bare HTTP status with an empty body (an injected gateway failure).
    Status(StatusCode),
    /// An nginx page with this status (a method other than GET or POST).
    Nginx(StatusCode),
}

/// The node of a failure that has nothing but code, msg, sub_code and sub_msg.
fn status_json(sub_code: &SubCode, sub_msg: &str) -> String {
    json_or_unknown(&ResponseStatus::error_with_msg(
        sub_code.clone(),
        sub_msg.to_owned(),
    ))
}

/// Serialises a node; serde_json cannot fail on these plain structs, but if it ever did the
/// answer is the "outcome unknown" error rather than a panic.
fn json_or_unknown<T: Serialize>(node: &T) -> String {
    node_json(node).unwrap_or_else(|_| {
        r#"{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}"#
            .to_owned()
    })
}

impl Reply {
    /// A gateway-level error (40001, 40002, 20001...) with just the status fields. Under the
    /// method's node when there is a method, else `error_response`; signed only under a method
    /// node and with a signer.
    pub fn gateway(
        method: Option<Method>,
        signer: Option<Signer>,
        sub_code: SubCode,
        sub_msg: impl Into<String>,
    ) -> Reply {
        let sub_msg = sub_msg.into();
        let key = method.map_or(NodeKey::Error, NodeKey::Method);
        Reply::Node {
            key,
            json: status_json(&sub_code, &sub_msg),
            signer: signer.filter(|_| key != NodeKey::Error),
            outcome: sub_code.as_str().to_owned(),
            rule: None,
        }
    }

    /// A gateway error with the sub_code's default message.
    pub fn gateway_default(
        method: Option<Method>,
        signer: Option<Signer>,
        sub_code: SubCode,
    ) -> Reply {
        let msg = sub_msg(&sub_code, method);
        Reply::gateway(method, signer, sub_code, msg)
    }

    /// A signed failure of an authenticated caller with only the status fields.
    pub fn failure(caller: &Caller, sub_code: SubCode, sub_msg: impl Into<String>) -> Reply {
        Reply::gateway(
            Some(caller.method),
            Some(caller.signer.clone()),
            sub_code,
            sub_msg,
        )
    }

    /// A signed node of an authenticated caller: a success or a failure with the API's own
    /// fields. `outcome` is the journal's summary.
    pub fn node<T: Serialize>(caller: &Caller, node: &T, outcome: impl Into<String>) -> Reply {
        Reply::Node {
            key: NodeKey::Method(caller.method),
            json: json_or_unknown(node),
            signer: Some(caller.signer.clone()),
            outcome: outcome.into(),
            rule: None,
        }
    }

    /// Names the rule that refused, for the journal (the wire is unchanged).
    pub fn by(mut self, why: impl Into<String>) -> Reply {
        if let Reply::Node { rule, .. } = &mut self {
            *rule = Some(why.into());
        }
        self
    }

    /// The rule that refused, if one was named.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Reply::Node { rule, .. } => rule.as_deref(),
            Reply::Status(_) | Reply::Nginx(_) => None,
        }
    }

    /// Whether the answer is a success (of the API, not of the HTTP exchange).
    pub fn is_success(&self) -> bool {
        matches!(self, Reply::Node { outcome, .. } if outcome == "SUCCESS")
    }

    /// Adds why to the journal's summary (the wire is unchanged).
    pub fn noting(mut self, why: &str) -> Reply {
        if let Reply::Node { outcome, .. } = &mut self {
            outcome.push_str(" (");
            outcome.push_str(why);
            outcome.push(')');
        }
        self
    }

    /// The summary the journal records.
    pub fn outcome(&self) -> String {
        match self {
            Reply::Node { outcome, .. } => outcome.clone(),
            Reply::Status(status) | Reply::Nginx(status) => format!("HTTP {}", status.as_u16()),
        }
    }

    /// Renders the reply as status, content type and body.
    pub fn render(self) -> (StatusCode, &'static str, Bytes) {
        match self {
            Reply::Node {
                key, json, signer, ..
            } => {
                let key = match key {
                    NodeKey::Method(method) => method.response_key(),
                    NodeKey::Error => ERROR_RESPONSE_KEY.to_owned(),
                };
                let signing = signer
                    .as_ref()
                    .map(|s| (&s.keys.alipay_private, s.sign_type));
                match encode_envelope(&key, &json, None, signing) {
                    Ok(body) => (StatusCode::OK, CONTENT_TYPE, Bytes::from(body)),
                    Err(error) => {
                        tracing::error!(%error, "could not encode an Alipay response");
                        (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "text/plain",
                            Bytes::new(),
                        )
                    }
                }
            }
            Reply::Status(status) => (status, "text/plain", Bytes::new()),
            Reply::Nginx(status) => (
                status,
                "text/html",
                Bytes::from(http::nginx_page(status, None)),
            ),
        }
    }
}

/// The sub_msg of a sub_code on this API: its API-specific or default text, else (for a code
/// unknown to the table, e.g. an injected one) the code itself.
pub fn sub_msg(sub_code: &SubCode, method: Option<Method>) -> String {
    let text = match method {
        Some(method) => sub_code.sub_msg_for(method),
        None => sub_code.default_sub_msg(),
    };
    if text.is_empty() {
        sub_code.as_str().to_owned()
    } else {
        text.to_owned()
    }
}

/// A business sub_code with its text: `(sub_code, sub_msg, note for the journal)`.
pub type Refusal = (SubCode, String, Option<String>);

fn refusal(sub_code: SubCode, note: Option<String>) -> Refusal {
    let msg = sub_code.default_sub_msg().to_owned();
    (sub_code, msg, note)
}

/// The sub_code of each refund refusal (spec §4.4, §4.5). UNCONFIRMED choices name their
/// DEVIATIONS.md rows.
pub fn refund_error(error: &RefundError) -> Refusal {
    let note = Some(error.to_string());
    match error {
        RefundError::TradeNotExist => refusal(SubCode::AcqTradeNotExist, None),
        RefundError::DiscordantRepeat { .. } => refusal(SubCode::AcqDiscordantRepeatRequest, note),
        RefundError::TradeNotPaid => refusal(SubCode::AcqTradeStatusError, note),
        RefundError::TradeClosed => refusal(SubCode::AcqTradeHasClose, None),
        RefundError::TradeFinished => refusal(SubCode::AcqTradeHasFinished, None),
        RefundError::Frozen => refusal(SubCode::AcqReasonTradeBeenFreezen, None),
        RefundError::AmountAboveTotal { .. } | RefundError::PartialWithoutRequestNo => {
            refusal(SubCode::AcqRefundAmtNotEqualTotal, note)
        }
        RefundError::ExceedsRefundable { .. } => refusal(SubCode::AcqReasonTradeRefundFeeErr, note),
        // UNCONFIRMED (spec §4.5 rule 9): the outcome-unknown code, whose documented handling
        // (retry with the same out_request_no and amount) succeeds once 3 s have passed.
        // deviation: ali-refund-spacing
        RefundError::TooSoon => refusal(
            SubCode::AcqSystemError,
            Some("refunds of one trade must be 3 s apart".to_owned()),
        ),
        RefundError::SellerBalanceNotEnough { .. } => {
            refusal(SubCode::AcqSellerBalanceNotEnough, note)
        }
    }
}

/// The sub_code of each close refusal (spec §6.3; deviation: `ali-close-errors`).
pub fn close_error(error: &CloseError) -> Refusal {
    match error {
        CloseError::TradeNotExist => refusal(SubCode::AcqTradeNotExist, None),
        CloseError::NotWaiting(_) => refusal(SubCode::AcqTradeStatusError, Some(error.to_string())),
    }
}

/// The sub_code of each precreate refusal. The spec names only ACQ.TOTAL_FEE_EXCEED; these
/// are the precreate page's codes for a reused out_trade_no (deviation:
/// `ali-precreate-reused-out-trade-no`).
pub fn precreate_error(error: &PrecreateError) -> Refusal {
    let note = Some(error.to_string());
    match error {
        PrecreateError::TradeHasSuccess => (
            SubCode::Other("ACQ.TRADE_HAS_SUCCESS".to_owned()),
            "交易已被支付".to_owned(),
            note,
        ),
        PrecreateError::TradeHasClose => refusal(SubCode::AcqTradeHasClose, note),
        PrecreateError::ContextInconsistent => (
            SubCode::Other("ACQ.CONTEXT_INCONSISTENT".to_owned()),
            "交易信息被篡改".to_owned(),
            note,
        ),
    }
}
