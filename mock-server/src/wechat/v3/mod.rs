//! WeChat Pay API v3 routes (JSON, RSA-signed requests and answers; spec `wechat-v3.md`), at
//! the real paths on both API listeners, over the same ledger as v2:
//!
//! - `POST /v3/refund/domestic/refunds`, `GET /v3/refund/domestic/refunds/{out_refund_no}`,
//!   `POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund` ([`refund`]);
//! - `POST /v3/pay/transactions/{jsapi,native,app,h5}`,
//!   `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=`,
//!   `GET /v3/pay/transactions/id/{transaction_id}?mchid=`,
//!   `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` ([`transactions`]);
//! - `GET /v3/certificates` ([`certificates`]);
//! - `GET /v3/bill/tradebill`, `GET /v3/bill/fundflowbill` and the download address they
//!   give, `GET /v3/billdownload/file?token=` ([`bill`]).
//!
//! Every request goes through the same checks, in this order (the first failure answers):
//!
//! 1. the path and method name an endpoint (else nginx's 404 page, as for any unknown path;
//!    deviation: `wx3-unknown-path`);
//! 2. an injected transport fault (delay, bare HTTP status);
//! 3. the body fits the size limit (PARAM_ERROR);
//! 4. `Authorization` is a well-formed `WECHATPAY2-SHA256-RSA2048` header (401 SIGN_ERROR,
//!    `detail` naming the part at fault);
//! 5. its `mchid` is a merchant (404 MCH_NOT_EXISTS; deviation: `wx3-unknown-mchid`);
//! 6. its `serial_no` names the merchant's API certificate, the signature verifies over
//!    `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n` exactly as received, and the timestamp
//!    is within 300 s of the server's wall clock, never the sandbox clock (401 SIGN_ERROR with
//!    the truncated copy of the message the server built; deviation: `wx3-request-timestamp-window`);
//! 7. the merchant's IP allow-list (403 NO_AUTH);
//! 8. refund create only: the merchant's refund request limits, shared with v2 (429
//!    FREQUENCY_LIMITED); every failed answer to a refund create is counted against them;
//! 9. an injected business fault (any v3 code), before or after the ledger acts;
//! 10. the endpoint's parameters: path, query and strict JSON body (400 PARAM_ERROR with
//!     `detail.field`/`location`; unknown members, `null`, wrong types and bad JSON included),
//!     `mchid` and `appid` against the signer (INVALID_REQUEST, APPID_MCHID_NOT_MATCH);
//! 11. the ledger, whose errors become v3 codes in [`reply`].
//!
//! 2xx answers are signed by the merchant's platform identity: its newest platform certificate,
//! or its WeChat Pay public key, or during the switch-over whichever the request's
//! `Wechatpay-Serial` names; a downloaded bill file is not signed (its hash is in the signed
//! answer that gave its address). Signature timestamps are wall time; business times in
//! bodies follow the sandbox clock.

mod bill;
mod certificates;
mod refund;
pub mod reply;
mod transactions;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use paysandbox_protocol::rsa::PrivateKey;
use paysandbox_protocol::wechat::TradeType;
use paysandbox_protocol::wechat::v3::auth::{self, Authorization, AuthorizationError};
use paysandbox_protocol::wechat::v3::error::{ErrorBody, ErrorCode, SignInformation};
use paysandbox_protocol::wechat::v3::identity::{Signer as IdentitySigner, same_serial};
use paysandbox_protocol::wechat::v3::response::{self, HEADER_REQUEST_ID};

use crate::clock::{self, Timestamp};
use crate::faults::{self, Fault};
use crate::http::{self, Body, ConnInfo};
use crate::ids::IdGenerator;
use crate::journal::{JournalEntry, Signature};
use crate::ledger::wechat::{Caller, LimitError};
use crate::ledger::wechat::{V3Identity, WechatLedger};
use crate::state::{AppState, WechatV3Keys};
use reply::V3Reply;

/// The prefix of every v3 path.
pub const PREFIX: &str = "/v3/";

/// A v3 endpoint served by the sandbox, with its path parameter as received (still
/// percent-encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /v3/refund/domestic/refunds`.
    RefundCreate,
    /// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
    RefundQuery(String),
    /// `POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund`.
    AbnormalRefund(String),
    /// `POST /v3/pay/transactions/{jsapi,native,app,h5}`.
    Prepay(TradeType),
    /// `GET /v3/pay/transactions/out-trade-no/{out_trade_no}`.
    QueryByOutTradeNo(String),
    /// `GET /v3/pay/transactions/id/{transaction_id}`.
    QueryById(String),
    /// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`.
    Close(String),
    /// `GET /v3/certificates`.
    Certificates,
    /// `GET /v3/bill/tradebill`.
    TradeBill,
    /// `GET /v3/bill/fundflowbill`.
    FundFlowBill,
    /// `GET /v3/billdownload/file`.
    BillDownload,
}

const REFUNDS: &str = "/v3/refund/domestic/refunds";
const TRANSACTIONS: &str = "/v3/pay/transactions/";

/// One path segment: non-empty, no `/`.
fn segment(text: &str) -> Option<String> {
    (!text.is_empty() && !text.contains('/')).then(|| text.to_owned())
}

impl Route {
    /// The endpoint `method` and `path` name, if any.
    pub fn parse(method: &Method, path: &str) -> Option<Route> {
        let get = method == Method::GET;
        let post = method == Method::POST;
        let exact = match path {
            "/v3/certificates" => Some(Route::Certificates),
            "/v3/bill/tradebill" => Some(Route::TradeBill),
            "/v3/bill/fundflowbill" => Some(Route::FundFlowBill),
            "/v3/billdownload/file" => Some(Route::BillDownload),
            _ => None,
        };
        if let Some(route) = exact {
            return get.then_some(route);
        }
        if let Some(rest) = path.strip_prefix(REFUNDS) {
            if rest.is_empty() {
                return post.then_some(Route::RefundCreate);
            }
            let rest = rest.strip_prefix('/')?;
            if let Some(id) = rest.strip_suffix("/apply-abnormal-refund") {
                return if post {
                    segment(id).map(Route::AbnormalRefund)
                } else {
                    None
                };
            }
            return if get {
                segment(rest).map(Route::RefundQuery)
            } else {
                None
            };
        }
        let rest = path.strip_prefix(TRANSACTIONS)?;
        if let Some(no) = rest.strip_prefix("out-trade-no/") {
            if let Some(no) = no.strip_suffix("/close") {
                return if post {
                    segment(no).map(Route::Close)
                } else {
                    None
                };
            }
            return if get {
                segment(no).map(Route::QueryByOutTradeNo)
            } else {
                None
            };
        }
        if let Some(id) = rest.strip_prefix("id/") {
            return if get {
                segment(id).map(Route::QueryById)
            } else {
                None
            };
        }
        if post {
            return TradeType::from_prepay_path(rest).map(Route::Prepay);
        }
        None
    }

    /// The fault queue of the endpoint (`wechat.v3.<endpoint>`).
    fn fault_key(&self) -> faults::Endpoint {
        match self {
            Route::RefundCreate => faults::Endpoint::WechatV3Refund,
            Route::RefundQuery(_) => faults::Endpoint::WechatV3RefundQuery,
            Route::AbnormalRefund(_) => faults::Endpoint::WechatV3AbnormalRefund,
            Route::Prepay(_) => faults::Endpoint::WechatV3Prepay,
            Route::QueryByOutTradeNo(_) | Route::QueryById(_) => {
                faults::Endpoint::WechatV3OrderQuery
            }
            Route::Close(_) => faults::Endpoint::WechatV3Close,
            Route::Certificates => faults::Endpoint::WechatV3Certificates,
            Route::TradeBill | Route::FundFlowBill | Route::BillDownload => {
                faults::Endpoint::WechatV3Bill
            }
        }
    }
}

/// A merchant as the v3 checks need it, copied out of the ledger so the signature check runs
/// without its lock.
#[derive(Debug, Clone)]
pub(crate) struct MerchantView {
    pub(crate) mch_id: String,
    pub(crate) company: String,
    pub(crate) appids: Vec<String>,
    pub(crate) api_v3_key: Option<String>,
    pub(crate) identity: V3Identity,
    pub(crate) ip_allowlist: Option<Vec<IpAddr>>,
}

/// An authenticated call, as the endpoints see it.
pub(crate) struct Call<'a> {
    /// The signer.
    pub(crate) merchant: &'a MerchantView,
    /// Its keys.
    pub(crate) keys: &'a WechatV3Keys,
    /// The exact body.
    pub(crate) body: &'a [u8],
    /// The query parameters, decoded.
    pub(crate) query: &'a [(String, String)],
    /// The request's `Wechatpay-Serial`, if any.
    pub(crate) request_serial: Option<&'a str>,
    /// The caller's address.
    pub(crate) peer: IpAddr,
    /// `scheme://host[:port]` the request was sent to (from its `Host` header), for the
    /// addresses an answer gives.
    pub(crate) origin: String,
}

impl Call<'_> {
    /// The first value of a query parameter.
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What was learnt of a request on its way through, for signing, the journal and the limits.
#[derive(Default)]
struct Exchange {
    request_id: String,
    nonce: String,
    merchant: Option<String>,
    /// The merchant whose API certificate verified the signature.
    authenticated: Option<String>,
    /// Who signs a 2xx answer: the serial (or public-key id) and its key.
    signer: Option<(String, PrivateKey)>,
    /// The signature's verdict, once checked.
    signature: Signature,
    /// The check that refused, for the journal.
    rule: Option<&'static str>,
    /// The answer is the erroneous-request block's own, which does not count again.
    blocked: bool,
}

impl Exchange {
    /// Notes the refusing check and passes the reply on.
    fn refused(&mut self, rule: &'static str, reply: V3Reply) -> V3Reply {
        self.rule = Some(rule);
        reply
    }
}

// The journal's names of the checks (the module docs' numbering); a check whose answer the
// mock chose is named by its DEVIATIONS.md id instead.
const CHECK_BODY: &str = "wechat v3 check 3: body size";
const CHECK_AUTHORIZATION: &str = "wechat v3 check 4: Authorization header";
const CHECK_SIGNATURE: &str = "wechat v3 check 6: signature";
const CHECK_IP: &str = "wechat v3 check 7: IP allow-list";
const CHECK_LIMITS: &str = "wechat v3 check 8: refund request limits";
const INJECTED_FAULT: &str = "injected fault";
const CHECK_ENDPOINT: &str = "wechat v3 check 10: the endpoint's parameters and ledger";

/// Answers one v3 request.
pub async fn handle(
    request: Request<Incoming>,
    state: &AppState,
    info: &ConnInfo,
) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let url = request
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    let mut exchange = Exchange::default();
    {
        let mut world = state.world();
        // 32 characters, like the platform's ids.
        exchange.request_id = format!("{}{}", world.ids.nonce(), world.ids.nonce()).to_uppercase();
        exchange.nonce = world.ids.nonce();
    }
    // deviation: wx3-unknown-path
    let Some(route) = Route::parse(&method, &path) else {
        return http::nginx_error(StatusCode::NOT_FOUND, None);
    };
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let authorization = header("authorization");
    let request_serial = header(response::HEADER_SERIAL);
    let origin = http::origin(&request, info.surface == http::Surface::ApiTls);
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .take(MAX_QUERY_PAIRS)
                .collect()
        })
        .unwrap_or_default();

    let fault = state.faults().take(route.fault_key());
    if let Some(delay) = fault.as_ref().and_then(|f| f.delay_ms) {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let body = match http::read_body(request.into_body()).await {
        Ok(body) => body,
        Err(http::BodyError::TooLarge) => {
            let reply = V3Reply::error(&ErrorCode::ParamError, "请求体过大");
            let reply = exchange.refused(CHECK_BODY, reply);
            return finish(
                state, info, &route, &method, &path, &query, b"", exchange, reply,
            );
        }
        Err(http::BodyError::Io) => {
            let reply = V3Reply::Status(StatusCode::BAD_REQUEST);
            return finish(
                state, info, &route, &method, &path, &query, b"", exchange, reply,
            );
        }
    };
    let (before, after) = Fault::split(fault);
    if let Some(status) = before.as_ref().and_then(Fault::status) {
        let reply = exchange.refused(INJECTED_FAULT, V3Reply::Status(status));
        return finish(
            state, info, &route, &method, &path, &query, &body, exchange, reply,
        );
    }
    let request = Incoming3 {
        route: &route,
        method: &method,
        url: &url,
        body: &body,
        query: &query,
        authorization: authorization.as_deref(),
        request_serial: request_serial.as_deref(),
        origin: &origin,
    };
    let reply = process(&request, (before, after), state, info, &mut exchange);
    finish(
        state, info, &route, &method, &path, &query, &body, exchange, reply,
    )
}

/// Most query parameters read (real requests have one or two).
const MAX_QUERY_PAIRS: usize = 32;

/// The parts of a request the checks read.
struct Incoming3<'a> {
    route: &'a Route,
    method: &'a Method,
    url: &'a str,
    body: &'a [u8],
    query: &'a [(String, String)],
    authorization: Option<&'a str>,
    request_serial: Option<&'a str>,
    origin: &'a str,
}

/// Steps 4 to 11 of the module docs.
fn process(
    request: &Incoming3<'_>,
    (before, after): (Option<Fault>, Option<Fault>),
    state: &AppState,
    info: &ConnInfo,
    exchange: &mut Exchange,
) -> V3Reply {
    let auth = match request
        .authorization
        .ok_or(AuthorizationError::Missing)
        .and_then(Authorization::parse)
    {
        Ok(auth) => auth,
        Err(error) => {
            exchange.signature = if request.authorization.is_none() {
                Signature::Missing
            } else {
                Signature::Bad
            };
            let reply = V3Reply::body(ErrorBody::sign_error(error.field(), &error.issue(), None));
            return exchange.refused(CHECK_AUTHORIZATION, reply);
        }
    };
    let merchant = {
        let world = state.world();
        world.wechat.merchant(&auth.mchid).map(|m| MerchantView {
            mch_id: m.mch_id.clone(),
            company: m.company.clone(),
            appids: m.appids.clone(),
            api_v3_key: m.api_v3_key.clone(),
            identity: m.v3_identity,
            ip_allowlist: m.ip_allowlist.clone(),
        })
    };
    let Some(merchant) = merchant else {
        // deviation: wx3-unknown-mchid
        return exchange.refused("wx3-unknown-mchid", V3Reply::code(&ErrorCode::MchNotExists));
    };
    exchange.merchant = Some(merchant.mch_id.clone());
    let keys = match state.wechat_v3_keys(&merchant.mch_id, &merchant.company) {
        Ok(keys) => keys,
        Err(error) => {
            tracing::error!("v3 keys of {}: {error}", merchant.mch_id);
            return V3Reply::code(&ErrorCode::SystemError);
        }
    };
    if let Err(reply) = authenticate(request, &auth, &keys) {
        exchange.signature = Signature::Bad;
        return exchange.refused(CHECK_SIGNATURE, *reply);
    }
    exchange.signature = Signature::Ok;
    exchange.authenticated = Some(merchant.mch_id.clone());
    exchange.signer = Some(answer_signer(
        merchant.identity,
        request.request_serial,
        &keys,
    ));
    if let Some(allowed) = &merchant.ip_allowlist
        && !allowed.contains(&info.peer.ip())
    {
        let reply = V3Reply::error(&ErrorCode::NoAuth, "请求IP不在商户IP白名单内");
        return exchange.refused(CHECK_IP, reply);
    }
    let now = state.clock.now();
    // deviation: wx-sandbox-rate-limits (v3 has no sandbox: the limits always apply)
    if *request.route == Route::RefundCreate && state.config.rate_limits {
        let admitted = state.refund_limits().admit(&merchant.mch_id, now);
        if let Err(limited) = admitted {
            exchange.blocked = matches!(limited, LimitError::Blocked { .. });
            return exchange.refused(CHECK_LIMITS, reply::limit_error(limited));
        }
    }
    if let Some(code) = before.and_then(|f| f.err_code) {
        return exchange.refused(INJECTED_FAULT, V3Reply::code(&ErrorCode::from_wire(&code)));
    }
    let call = Call {
        merchant: &merchant,
        keys: &keys,
        body: request.body,
        query: request.query,
        request_serial: request.request_serial,
        peer: info.peer.ip(),
        origin: request.origin.to_owned(),
    };
    let reply = {
        let mut world = state.world();
        let (ledger, ids) = world.wechat_ledger(false, &merchant.mch_id);
        dispatch(request.route, &call, ledger, ids, now)
    };
    match after {
        Some(f) => match (f.status(), f.err_code) {
            (Some(status), _) => exchange.refused(INJECTED_FAULT, V3Reply::Status(status)),
            (None, Some(code)) => {
                exchange.refused(INJECTED_FAULT, V3Reply::code(&ErrorCode::from_wire(&code)))
            }
            (None, None) => reply,
        },
        None => reply,
    }
}

fn dispatch(
    route: &Route,
    call: &Call<'_>,
    ledger: &mut WechatLedger,
    ids: &mut IdGenerator,
    now: Timestamp,
) -> V3Reply {
    match route {
        Route::RefundCreate => refund::create(call, ledger, ids, now),
        Route::RefundQuery(no) => refund::query(call, no, ledger, now),
        Route::AbnormalRefund(id) => refund::abnormal(call, id, ledger, now),
        Route::Prepay(trade_type) => transactions::prepay(call, *trade_type, ledger, ids, now),
        Route::QueryByOutTradeNo(no) => transactions::query(call, no, false, ledger, now),
        Route::QueryById(id) => transactions::query(call, id, true, ledger, now),
        Route::Close(no) => transactions::close(call, no, ledger, now),
        Route::Certificates => certificates::list(call, ids),
        Route::TradeBill => bill::trade(call, ledger, now),
        Route::FundFlowBill => bill::fund_flow(call, ledger, now),
        Route::BillDownload => bill::download(call, ledger, now),
    }
}

/// Step 6: the serial names the API certificate, the signature verifies, the timestamp is
/// recent.
fn authenticate(
    request: &Incoming3<'_>,
    auth: &Authorization,
    keys: &WechatV3Keys,
) -> Result<(), Box<V3Reply>> {
    let method = request.method.as_str();
    let message = auth.message(method, request.url, request.body);
    let information = || Some(SignInformation::new(method, request.url, &message));
    if !same_serial(&auth.serial_no, &keys.files.merchant_serial_no) {
        // deviation: wx3-sign-error-details
        return Err(Box::new(V3Reply::body(ErrorBody::sign_error(
            "serial_no",
            "证书序列号与商户API证书不匹配",
            information(),
        ))));
    }
    if let Err(error) = auth::verify_request(
        auth,
        &keys.merchant_public,
        method,
        request.url,
        request.body,
    ) {
        return Err(Box::new(V3Reply::body(ErrorBody::sign_error(
            "signature",
            &error.to_string(),
            information(),
        ))));
    }
    let wall = clock::system_millis() / 1000;
    // deviation: wx3-request-timestamp-window
    if let Err(error) = auth::check_timestamp(
        auth.timestamp_secs(),
        wall,
        auth::REQUEST_TIMESTAMP_WINDOW_SECS,
    ) {
        return Err(Box::new(V3Reply::body(ErrorBody::sign_error(
            "timestamp",
            &error.to_string(),
            information(),
        ))));
    }
    Ok(())
}

/// Who signs a 2xx answer: the identity mode's choice for the request's `Wechatpay-Serial`.
fn answer_signer(
    identity: V3Identity,
    request_serial: Option<&str>,
    keys: &Arc<WechatV3Keys>,
) -> (String, PrivateKey) {
    match identity.mode().response_signer(request_serial) {
        IdentitySigner::Certificate => keys.certificate.clone(),
        IdentitySigner::PublicKey => keys.public_key.clone(),
    }
}

/// Counts a failed refund create against the limits, renders and signs the reply, and records
/// the exchange in the journal.
#[allow(clippy::too_many_arguments)] // the journal entry's parts
fn finish(
    state: &AppState,
    info: &ConnInfo,
    route: &Route,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    body: &[u8],
    exchange: Exchange,
    reply: V3Reply,
) -> Response<Body> {
    let now = state.clock.now();
    // Every failed refund create counts against the merchant that signed it, else the
    // caller's address (as v2's); not the block's own answer, nor an injected bare status
    // that never reached the API.
    if !reply.is_success()
        && !exchange.blocked
        && !matches!(reply, V3Reply::Status(_))
        && *route == Route::RefundCreate
        && state.config.rate_limits
    {
        let who = match &exchange.authenticated {
            Some(mch_id) => Caller::Merchant(mch_id.clone()),
            None => Caller::Address(info.peer.ip()),
        };
        state.refund_limits().record_error_of(who, now);
    }
    let rule = (!reply.is_success()).then(|| exchange.rule.unwrap_or(CHECK_ENDPOINT).to_owned());
    let status = reply.status();
    let outcome = reply.outcome();
    let signer = exchange.signer.filter(|_| reply.is_signed());
    let (content_type, answer): (&'static str, Vec<u8>) = match reply {
        V3Reply::Json(body) => ("application/json; charset=utf-8", body),
        V3Reply::Error(error) => (
            "application/json; charset=utf-8",
            error.to_json().into_bytes(),
        ),
        // A signed 204 keeps the JSON content type: WxJava reads the Content-Type of every
        // 2xx answer and fails on a 204 without one (deviation: wx3-204-content-type).
        V3Reply::NoContent => ("application/json; charset=utf-8", Vec::new()),
        V3Reply::Status(_) => ("text/plain", Vec::new()),
        V3Reply::File { body, gzip: true } => ("application/x-gzip", body),
        V3Reply::File { body, gzip: false } => ("text/plain; charset=utf-8", body),
    };
    let answer = bytes::Bytes::from(answer);
    let mut headers = vec![(HEADER_REQUEST_ID, exchange.request_id.clone())];
    if let Some((serial, key)) = signer {
        let wall = clock::system_millis() / 1000;
        match response::sign_response(
            &key,
            &serial,
            wall,
            &exchange.nonce,
            &exchange.request_id,
            &answer,
        ) {
            Ok(signed) => {
                headers = signed
                    .pairs()
                    .iter()
                    .map(|(name, value)| (*name, (*value).to_owned()))
                    .collect();
            }
            Err(error) => tracing::error!("signing a v3 answer: {error}"),
        }
    }
    state.record(JournalEntry {
        seq: 0,
        at: now,
        method: method.to_string(),
        path: path.to_owned(),
        peer: info.peer.to_string(),
        merchant: exchange.merchant,
        request: journal_pairs(query, body),
        request_truncated: false,
        request_bytes: 0,
        status: status.as_u16(),
        outcome,
        response: answer.clone(),
        response_truncated: false,
        response_bytes: 0,
        signature: exchange.signature,
        rule,
    });
    let mut response = http::respond(status, content_type, answer);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Bytes of a body the journal keeps when it is not a JSON object.
const JOURNAL_RAW_BODY: usize = 1024;

/// The request as the journal lists it: the query pairs, then the body's top-level members
/// (strings verbatim, other values as JSON), or the body's text when it is not an object.
fn journal_pairs(query: &[(String, String)], body: &[u8]) -> Vec<(String, String)> {
    let mut pairs = query.to_vec();
    if body.is_empty() {
        return pairs;
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => {
            pairs.extend(map.into_iter().map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            }));
        }
        _ => {
            let cut = body.get(..JOURNAL_RAW_BODY).unwrap_or(body);
            pairs.push(("body".to_owned(), String::from_utf8_lossy(cut).into_owned()));
        }
    }
    pairs
}

/// Decodes a percent-encoded path segment; `None` for a broken escape or non-UTF-8 bytes.
pub(crate) fn decode_segment(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_method_and_path() {
        let post = Method::POST;
        let get = Method::GET;
        assert_eq!(Route::parse(&post, REFUNDS), Some(Route::RefundCreate));
        assert_eq!(Route::parse(&get, REFUNDS), None);
        assert_eq!(
            Route::parse(&get, "/v3/refund/domestic/refunds/R1"),
            Some(Route::RefundQuery("R1".into()))
        );
        assert_eq!(
            Route::parse(
                &post,
                "/v3/refund/domestic/refunds/50000/apply-abnormal-refund"
            ),
            Some(Route::AbnormalRefund("50000".into()))
        );
        assert_eq!(
            Route::parse(&post, "/v3/pay/transactions/h5"),
            Some(Route::Prepay(TradeType::Mweb))
        );
        assert_eq!(Route::parse(&post, "/v3/pay/transactions/codepay"), None);
        assert_eq!(
            Route::parse(&get, "/v3/pay/transactions/out-trade-no/o1"),
            Some(Route::QueryByOutTradeNo("o1".into()))
        );
        assert_eq!(
            Route::parse(&get, "/v3/pay/transactions/id/42"),
            Some(Route::QueryById("42".into()))
        );
        assert_eq!(
            Route::parse(&post, "/v3/pay/transactions/out-trade-no/o1/close"),
            Some(Route::Close("o1".into()))
        );
        assert_eq!(
            Route::parse(&get, "/v3/certificates"),
            Some(Route::Certificates)
        );
        assert_eq!(
            Route::parse(&get, "/v3/pay/transactions/out-trade-no/"),
            None
        );
        assert_eq!(Route::parse(&get, "/v3/refund/domestic/refunds/a/b"), None);
    }

    #[test]
    fn segments_decode_percent_escapes() {
        assert_eq!(decode_segment("R%7C1%40x").as_deref(), Some("R|1@x"));
        assert_eq!(decode_segment("plain").as_deref(), Some("plain"));
        assert_eq!(decode_segment("bad%2"), None);
        assert_eq!(decode_segment("bad%zz"), None);
        assert_eq!(decode_segment("%ff"), None);
    }
}
