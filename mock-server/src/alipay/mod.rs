//! The Alipay gateway: `GET` and `POST` `/gateway.do` on the HTTPS listener (no client
//! certificate needed) and on the plain-HTTP listener. The `method` parameter picks the API:
//! `alipay.trade.refund`, `alipay.trade.fastpay.refund.query`, `alipay.trade.query`,
//! `alipay.trade.close`, `alipay.trade.precreate`, `alipay.data.dataservice.bill.downloadurl.query`
//! (whose URL points at [`bill::DOWNLOAD_PATH`] on the same listener).
//!
//! Every request goes through the same checks, in this order (the first failure answers; the
//! wire form of each answer is in [`reply`]):
//!
//! 1. HTTP method GET or POST (else nginx 405);
//! 2. decode the query string and, for a POST with a form (or no) Content-Type, the body; merge
//!    them (spec §1.3): a key sent twice with one value counts once, with two values it is
//!    40002 `isv.invalid-parameter`; bytes that are not UTF-8 are 40002 `isv.invalid-charset`,
//!    a broken `%` escape 40002 `isv.invalid-parameter`;
//! 3. an injected transport fault of the method named (delay, bare HTTP status);
//! 4. the common parameters ([`CommonParams::parse`]: method, app_id, charset, sign_type, sign,
//!    timestamp, version, format, encrypt_type): 40001 `isv.missing-*` / 40002 `isv.invalid-*`;
//! 5. the app exists: 40002 `isv.invalid-app-id`, unsigned;
//! 6. the signature verifies with the app's public key and the request's sign_type over the
//!    canonical string of every received parameter: 40002 `isv.invalid-signature` whose sub_msg
//!    echoes that string (spec §2.2), signed;
//! 7. `app_auth_token`, if sent, is one the app accepts: 20001 `aop.invalid-app-auth-token`;
//! 8. an injected business fault (`err_code`), answered before the ledger, or after it applied
//!    the request (`after_apply`: the refund happened, the client saw ACQ.SYSTEM_ERROR and
//!    must retry with the same out_request_no);
//! 9. method dispatch: the biz_content (40004 `ACQ.INVALID_PARAMETER`), then the ledger's rules
//!    ([`crate::ledger::alipay`], e.g. [`crate::ledger::alipay::AlipayLedger::refund`]).

pub mod bill;
mod close;
mod precreate;
mod refund;
mod refund_query;
pub mod reply;
mod trade_query;

use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{Request, Response, StatusCode};
use paysandbox_protocol::alipay::form::first_value;
use paysandbox_protocol::alipay::{
    BizContentError, CommonParams, FormError, Method, SignType, SubCode, TradeRef,
    canonical_string, invalid_signature_sub_msg, merge_params, parse_urlencoded, verify_request,
};

use crate::faults::{self, Fault};
use crate::http::{self, Body, ConnInfo, Surface};
use crate::journal::{JournalEntry, Signature};
use crate::ledger::alipay::TradeRef as LedgerTradeRef;
use crate::state::AppState;
use crate::world::World;
use reply::{Caller, Reply, Signer};

/// The gateway's path.
pub const PATH: &str = "/gateway.do";

/// The fault-injection key of a method.
fn fault_key(method: Method) -> faults::Endpoint {
    match method {
        Method::TradeRefund => faults::Endpoint::AlipayTradeRefund,
        Method::TradeFastpayRefundQuery => faults::Endpoint::AlipayTradeFastpayRefundQuery,
        Method::TradeQuery => faults::Endpoint::AlipayTradeQuery,
        Method::TradeClose => faults::Endpoint::AlipayTradeClose,
        Method::DataBillDownloadUrlQuery => faults::Endpoint::AlipayBillDownloadUrlQuery,
        // `Method` is non_exhaustive; precreate and anything added later share a key.
        _ => faults::Endpoint::AlipayTradePrecreate,
    }
}

/// What was learnt of a request on its way through, for the journal.
#[derive(Debug, Default)]
struct Exchange {
    params: Vec<(String, String)>,
    app_id: Option<String>,
    /// The signature's verdict, once checked.
    signature: Signature,
    /// The check that refused, when it was one of the common checks.
    rule: Option<String>,
}

impl Exchange {
    /// Notes the refusing rule and passes the reply on.
    fn refused(&mut self, rule: &str, reply: Reply) -> Reply {
        self.rule = Some(rule.to_owned());
        reply
    }
}

// The journal's names of the common checks (the module docs' numbering); a check whose
// answer the mock chose is named by its DEVIATIONS.md id instead.
const CHECK_BODY: &str = "alipay check 2: body";
const CHECK_DECODE: &str = "alipay check 2: decode and merge";
const INJECTED_FAULT: &str = "injected fault";
const CHECK_COMMON: &str = "alipay check 4: common parameters";
const CHECK_APP: &str = "alipay check 5: app exists";
const CHECK_SIGNATURE: &str = "alipay check 6: signature";
/// A refusal by a method's own rules that names no finer rule.
const CHECK_METHOD: &str = "alipay check 9: the method's biz_content and ledger";

/// Answers one `/gateway.do` request.
pub async fn handle(
    request: Request<Incoming>,
    state: &AppState,
    info: &ConnInfo,
) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut exchange = Exchange::default();
    if method != hyper::Method::GET && method != hyper::Method::POST {
        // deviation: ali-http-method
        let reply = exchange.refused(
            "ali-http-method",
            Reply::Nginx(StatusCode::METHOD_NOT_ALLOWED),
        );
        return finish(state, info, &method, &path, exchange, reply);
    }
    let query = request.uri().query().unwrap_or("").as_bytes().to_vec();
    let origin = http::origin(&request, info.surface == Surface::ApiTls);
    let form_body = method == hyper::Method::POST
        && request.headers().get(CONTENT_TYPE).is_none_or(|v| {
            v.to_str()
                .is_ok_and(|t| t.to_ascii_lowercase().contains("x-www-form-urlencoded"))
        });
    let body = match http::read_body(request.into_body()).await {
        Ok(body) => body,
        Err(_) => {
            let reply = exchange.refused(CHECK_BODY, Reply::Status(StatusCode::PAYLOAD_TOO_LARGE));
            return finish(state, info, &method, &path, exchange, reply);
        }
    };

    // Step 2: decode and merge.
    let params = match decode(state, &query, form_body.then_some(&body[..])) {
        Ok(params) => params,
        Err(reply) => {
            let reply = exchange.refused(CHECK_DECODE, *reply);
            return finish(state, info, &method, &path, exchange, reply);
        }
    };
    exchange.app_id = first_value(&params, "app_id")
        .filter(|a| !a.is_empty())
        .map(str::to_owned);
    exchange.params = params.clone();

    // Step 3: transport faults of the method named.
    let named = first_value(&params, "method").and_then(Method::from_wire);
    let fault = named.and_then(|m| state.faults().take(fault_key(m)));
    if let Some(delay) = fault.as_ref().and_then(|f| f.delay_ms) {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Some(status) = fault
        .as_ref()
        .filter(|f| !f.after_apply)
        .and_then(|f| f.http_status)
        .and_then(|s| StatusCode::from_u16(s).ok())
    {
        let reply = exchange.refused(INJECTED_FAULT, Reply::Status(status));
        return finish(state, info, &method, &path, exchange, reply);
    }

    let reply = process(&params, fault, state, &origin, &mut exchange);
    finish(state, info, &method, &path, exchange, reply)
}

/// Step 2: query and body decoded and merged; a failure is answered with whatever of the
/// parameters could be read (to name the method node and, for a known app, sign it).
fn decode(
    state: &AppState,
    query: &[u8],
    body: Option<&[u8]>,
) -> Result<Vec<(String, String)>, Box<Reply>> {
    // deviation: ali-undecodable-parameters
    let refuse = |readable: &[(String, String)], error: &FormError| {
        let sub_code = match error {
            FormError::InvalidUtf8 { .. } => SubCode::IsvInvalidCharset,
            FormError::BadPercentEscape { .. } => SubCode::IsvInvalidParameter,
        };
        Box::new(pre_auth_error(state, readable, sub_code))
    };
    let query = parse_urlencoded(query).map_err(|e| refuse(&[], &e))?;
    let body = match body {
        Some(body) => parse_urlencoded(body).map_err(|e| refuse(&query, &e))?,
        None => Vec::new(),
    };
    // deviation: ali-duplicate-key
    merge_params(&query, &body).map_err(|_| {
        let readable: Vec<(String, String)> = query.iter().chain(&body).cloned().collect();
        Box::new(pre_auth_error(
            state,
            &readable,
            SubCode::IsvInvalidParameter,
        ))
    })
}

/// A gateway error found before the signature was checked: under the method's node if one is
/// named, signed if the app_id names a known app (spec §10.7 item 5), with the request's
/// sign_type or RSA2 (deviations: `ali-common-parameter-error-signed`, `ali-method-unsigned`).
fn pre_auth_error(state: &AppState, params: &[(String, String)], sub_code: SubCode) -> Reply {
    let method = first_value(params, "method").and_then(Method::from_wire);
    let sign_type = first_value(params, "sign_type")
        .and_then(SignType::from_wire)
        .unwrap_or(SignType::Rsa2);
    let signer = first_value(params, "app_id")
        .filter(|app_id| state.world().alipay.app(app_id).is_some())
        .and_then(|app_id| state.alipay_keys(app_id).ok())
        .map(|keys| Signer { keys, sign_type });
    Reply::gateway_default(method, signer, sub_code)
}

/// Steps 4 to 9. `origin` (`<scheme>://<host>` of the request) is where bill download URLs
/// point.
fn process(
    params: &[(String, String)],
    fault: Option<Fault>,
    state: &AppState,
    origin: &str,
    exchange: &mut Exchange,
) -> Reply {
    if first_value(params, "sign").is_none_or(str::is_empty) {
        exchange.signature = Signature::Missing;
    }
    // The timestamp's format is checked, not its distance from now (deviation:
    // ali-timestamp-not-checked).
    let common = match CommonParams::parse(params) {
        Ok(common) => common,
        Err(error) => {
            let reply = pre_auth_error(state, params, error.sub_code);
            return exchange.refused(CHECK_COMMON, reply);
        }
    };
    let method = common.method;
    let known = state.world().alipay.app(&common.app_id).cloned();
    let Some(app) = known else {
        let reply = Reply::gateway_default(Some(method), None, SubCode::IsvInvalidAppId);
        return exchange.refused(CHECK_APP, reply);
    };
    let keys = match state.alipay_keys(&app.app_id) {
        Ok(keys) => keys,
        Err(error) => {
            tracing::error!(%error, "Alipay keys unavailable");
            exchange.rule = Some("alipay check 6: the app's keys".to_owned());
            return Reply::gateway_default(Some(method), None, SubCode::IspUnknowError);
        }
    };
    let caller = Caller {
        app_id: app.app_id.clone(),
        method,
        signer: Signer {
            keys,
            sign_type: common.sign_type,
        },
    };
    if verify_request(params, &caller.signer.keys.app_public, common.sign_type).is_err() {
        let echo = invalid_signature_sub_msg(&canonical_string(params));
        exchange.signature = Signature::Bad;
        let reply = Reply::failure(&caller, SubCode::IsvInvalidSignature, echo);
        return exchange.refused(CHECK_SIGNATURE, reply);
    }
    exchange.signature = Signature::Ok;
    // deviation: ali-app-auth-token
    if let Some(token) = &common.app_auth_token
        && !app.app_auth_tokens.contains(token)
    {
        let sub_code = SubCode::AopInvalidAppAuthToken;
        let msg = reply::sub_msg(&sub_code, Some(method));
        return exchange.refused("ali-app-auth-token", Reply::failure(&caller, sub_code, msg));
    }

    let (after_apply, injected) = match fault {
        Some(fault) => (fault.after_apply, injected_reply(&caller, &fault)),
        None => (false, None),
    };
    if !after_apply && let Some(injected) = injected {
        return exchange.refused(INJECTED_FAULT, injected.noting("injected fault"));
    }
    let now = state.clock.now();
    let biz = common.biz_content.as_deref();
    let reply = {
        let mut world = state.world();
        let World {
            alipay,
            alipay_bills,
            ids,
            ..
        } = &mut *world;
        match method {
            Method::TradeRefund => refund::handle(&caller, biz, alipay, now),
            Method::TradeFastpayRefundQuery => refund_query::handle(&caller, biz, alipay),
            Method::TradeQuery => trade_query::handle(&caller, biz, alipay, now),
            Method::TradeClose => close::handle(&caller, biz, alipay, now),
            Method::TradePrecreate => {
                let notify_url = common.notify_url.as_deref();
                precreate::handle(&caller, biz, notify_url, alipay, ids, now)
            }
            Method::DataBillDownloadUrlQuery => {
                bill::handle(&caller, biz, alipay, alipay_bills, ids, now, origin)
            }
            // deviation: ali-unserved-method
            _ => Reply::gateway_default(Some(method), None, SubCode::IsvInvalidMethod)
                .by("ali-unserved-method"),
        }
    };
    match injected {
        Some(injected) => exchange.refused(
            INJECTED_FAULT,
            injected.noting("injected fault after apply"),
        ),
        None => reply,
    }
}

/// The answer an injected fault replaces the real one with: a bare HTTP status (only reached
/// with `after_apply`: before it, step 3 already answered), or the `err_code` sub_code with its
/// own code and text, signed.
fn injected_reply(caller: &Caller, fault: &Fault) -> Option<Reply> {
    if let Some(status) = fault.http_status.and_then(|s| StatusCode::from_u16(s).ok()) {
        return Some(Reply::Status(status));
    }
    let sub_code = SubCode::from_wire(fault.err_code.as_deref()?);
    let msg = reply::sub_msg(&sub_code, Some(caller.method));
    Some(Reply::failure(caller, sub_code, msg))
}

/// A biz_content the API cannot use: 40004 ACQ.INVALID_PARAMETER (spec §4.2, §11;
/// deviations: `ali-biz-content-invalid`, `ali-amount-invalid`).
fn biz_error(caller: &Caller, error: &BizContentError) -> Reply {
    Reply::failure(caller, error.sub_code(), error.sub_msg())
        .noting(&error.to_string())
        .by("ali-biz-content-invalid")
}

/// The ledger's view of the trade a request names (`trade_no` wins, spec §4.2; deviation:
/// `ali-trade-no-wins`).
fn ledger_ref(trade: TradeRef<'_>) -> LedgerTradeRef {
    match trade {
        TradeRef::TradeNo(no) => LedgerTradeRef::TradeNo(no.to_owned()),
        TradeRef::OutTradeNo(no) => LedgerTradeRef::OutTradeNo(no.to_owned()),
    }
}

fn finish(
    state: &AppState,
    info: &ConnInfo,
    method: &hyper::Method,
    path: &str,
    exchange: Exchange,
    reply: Reply,
) -> Response<Body> {
    let outcome = reply.outcome();
    let rule = if reply.is_success() {
        None
    } else {
        // A reply's own rule is the finer one; an injected fault replaces whatever the
        // ledger said.
        match (exchange.rule, reply.rule()) {
            (Some(check), _) if check == INJECTED_FAULT => Some(check),
            (_, Some(rule)) => Some(rule.to_owned()),
            (check, None) => Some(check.unwrap_or_else(|| CHECK_METHOD.to_owned())),
        }
    };
    let (status, content_type, body) = reply.render();
    state.record(JournalEntry {
        seq: 0,
        at: state.clock.now(),
        method: method.to_string(),
        path: path.to_owned(),
        peer: info.peer.to_string(),
        merchant: exchange.app_id,
        request: exchange.params,
        request_truncated: false,
        request_bytes: 0,
        status: status.as_u16(),
        outcome,
        response: body.clone(),
        response_truncated: false,
        response_bytes: 0,
        signature: exchange.signature,
        rule,
    });
    http::respond(status, content_type, body)
}
