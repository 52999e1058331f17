//! WeChat Pay v2 routes: `/secapi/pay/refund`, `/pay/refundquery`, `/pay/orderquery`,
//! `/pay/unifiedorder`, `/pay/closeorder`, `/pay/downloadbill`, and all of them again under
//! `/sandboxnew/` with `/sandboxnew/pay/getsignkey` ([`sandbox`]: its own ledger, its own
//! key, MD5 only).
//!
//! Every request goes through the same checks, in this order (the first failure answers):
//!
//! 1. `/secapi/` only: a client certificate was sent (else HTTP 400 "No required SSL
//!    certificate was sent") and chains to the sandbox CA (else HTTP 400 "The SSL
//!    certificate error"), as nginx in front of the real API does;
//! 2. an injected transport fault (delay, bare HTTP status);
//! 3. POST, non-empty body, UTF-8, well-formed flat `<xml>` (return_code=FAIL);
//! 4. `appid`, `mch_id`, `nonce_str`, `sign` present (FAIL `缺少参数`), `sign_type` valid;
//! 5. the merchant exists (MCHID_NOT_EXIST, unsigned), the signature verifies with its key
//!    and the request's sign type (FAIL `签名错误`; in the sandbox: with its valid sandbox
//!    key and MD5, else FAIL `沙箱验证签名失败…`), the appid is bound to it
//!    (APPID_NOT_EXIST);
//! 6. `/secapi/` only: the certificate's CN is this mch_id (CERT_ERROR);
//! 7. the merchant's IP allow-list (NOAUTH);
//! 8. production refund only: the merchant's request limits admit it
//!    ([`RefundLimits::admit`](crate::ledger::wechat::RefundLimits::admit): not blocked for erroneous requests, INVALID_REQ_TOO_MUCH;
//!    under 150 requests/s, FREQUENCY_LIMITED); every failed answer to a production refund
//!    that reached the API is then counted against its caller
//!    ([`RefundLimits::record_error_of`](crate::ledger::wechat::RefundLimits::record_error_of)):
//!    the merchant whose key signed it, else the merchant whose certificate carried it, else
//!    the address it came from; a production refund that fails authentication from a caller
//!    so blocked is answered INVALID_REQ_TOO_MUCH, unsigned, instead (deviation:
//!    `wx-erroneous-requests-caller`);
//! 9. an injected business fault (SYSTEMERROR, BIZERR_NEED_RETRY, ...), before or after the
//!    ledger applied the request;
//! 10. the endpoint's own fields (PARAM_ERROR, or FAIL for a missing one), then the ledger.
//!
//! downloadbill answers every failure in its own XML shape (`return_code=FAIL`, `return_msg`,
//! `error_code`, never signed): [`bill_failure`] reshapes the common checks' answers in one
//! place, [`downloadbill`] has its own rules.

mod closeorder;
mod convert;
pub mod downloadbill;
mod orderquery;
mod refund;
mod refundquery;
pub mod reply;
pub mod sandbox;
mod unifiedorder;
pub mod v3;

use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use paysandbox_protocol::wechat::Params;
use paysandbox_protocol::wechat::codes::ErrCode;
use paysandbox_protocol::wechat::fields::{FieldError, FieldErrorKind};
use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::xml::{self, XmlError};

use crate::faults::{self, Fault};
use crate::http::{self, Body, ConnInfo, Surface};
use crate::journal::{JournalEntry, Signature};
use crate::ledger::wechat::Caller;
use crate::state::AppState;
use crate::tls::PeerCert;
use paysandbox_protocol::wechat::codes::return_msg as msg;
use reply::{BusinessError, Reply, Signer, nginx};

/// A WeChat endpoint served by the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /secapi/pay/refund` (client certificate required).
    Refund,
    /// `POST /pay/refundquery`.
    RefundQuery,
    /// `POST /pay/orderquery`.
    OrderQuery,
    /// `POST /pay/unifiedorder`.
    UnifiedOrder,
    /// `POST /pay/closeorder`.
    CloseOrder,
    /// `POST /pay/downloadbill`.
    DownloadBill,
    /// `POST /sandboxnew/pay/getsignkey` (sandbox only).
    GetSignKey,
}

impl Endpoint {
    /// The endpoint served at `path`, if any.
    pub fn from_path(path: &str) -> Option<Endpoint> {
        match path {
            "/secapi/pay/refund" => Some(Endpoint::Refund),
            "/pay/refundquery" => Some(Endpoint::RefundQuery),
            "/pay/orderquery" => Some(Endpoint::OrderQuery),
            "/pay/unifiedorder" => Some(Endpoint::UnifiedOrder),
            "/pay/closeorder" => Some(Endpoint::CloseOrder),
            "/pay/downloadbill" => Some(Endpoint::DownloadBill),
            _ => None,
        }
    }

    fn needs_certificate(self) -> bool {
        self == Endpoint::Refund
    }

    /// Production and sandbox share the fault queues; getsignkey has none.
    fn fault_key(self) -> Option<faults::Endpoint> {
        match self {
            Endpoint::Refund => Some(faults::Endpoint::WechatRefund),
            Endpoint::RefundQuery => Some(faults::Endpoint::WechatRefundQuery),
            Endpoint::OrderQuery => Some(faults::Endpoint::WechatOrderQuery),
            Endpoint::UnifiedOrder => Some(faults::Endpoint::WechatUnifiedOrder),
            Endpoint::CloseOrder => Some(faults::Endpoint::WechatCloseOrder),
            Endpoint::DownloadBill => Some(faults::Endpoint::WechatDownloadBill),
            Endpoint::GetSignKey => None,
        }
    }
}

/// Where a WeChat path leads: the endpoint, production or sandbox, and whether nginx asks
/// for a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Under `/sandboxnew/`: sandbox ledger and sandbox key.
    pub sandbox: bool,
    /// A `/secapi/` path: client certificate required.
    pub certificate: bool,
}

impl Route {
    /// The route of `path`, if it is a WeChat one. The sandbox serves refunds at both
    /// `/sandboxnew/pay/refund` (no certificate) and `/sandboxnew/secapi/pay/refund`.
    pub fn from_path(path: &str) -> Option<Route> {
        let Some(rest) = path.strip_prefix(sandbox::PREFIX) else {
            let endpoint = Endpoint::from_path(path)?;
            return Some(Route {
                endpoint,
                sandbox: false,
                certificate: endpoint.needs_certificate(),
            });
        };
        let endpoint = match rest {
            // deviation: wx-sandbox-secapi-refund (and /secapi/ below keeps its certificate)
            "/pay/refund" => Endpoint::Refund,
            "/pay/getsignkey" => Endpoint::GetSignKey,
            other => Endpoint::from_path(other)?,
        };
        Some(Route {
            endpoint,
            sandbox: true,
            certificate: rest.starts_with("/secapi/"),
        })
    }
}

/// Answers one WeChat request.
pub async fn handle(
    route: Route,
    request: Request<Incoming>,
    state: &AppState,
    info: &ConnInfo,
) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut exchange = Exchange::default();

    if route.certificate {
        let refused = match (&info.cert, info.surface) {
            (PeerCert::Trusted { .. }, Surface::ApiTls) => None,
            (PeerCert::Untrusted, _) => Some(nginx::BAD_CERT),
            _ => Some(nginx::NO_CERT),
        };
        if let Some(detail) = refused {
            exchange.rule = Some(CHECK_CERTIFICATE.to_owned());
            let reply = Reply::Nginx(StatusCode::BAD_REQUEST, Some(detail));
            return finish(state, info, &method, &path, exchange, reply);
        }
    }

    let fault = route
        .endpoint
        .fault_key()
        .and_then(|key| state.faults().take(key));
    if let Some(delay) = fault.as_ref().and_then(|f| f.delay_ms) {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let body = match http::read_body(request.into_body()).await {
        Ok(body) => body,
        Err(http::BodyError::TooLarge) => {
            exchange.rule = Some(CHECK_BODY.to_owned());
            let reply = Reply::ProtocolFail(msg::XML_FORMAT_ERROR.into());
            return finish(state, info, &method, &path, exchange, reply);
        }
        Err(http::BodyError::Io) => {
            exchange.rule = Some(CHECK_BODY.to_owned());
            return finish(
                state,
                info,
                &method,
                &path,
                exchange,
                Reply::Status(StatusCode::BAD_REQUEST),
            );
        }
    };
    if let Some(status) = fault
        .as_ref()
        .filter(|f| !f.after_apply)
        .and_then(|f| f.http_status)
        .and_then(|s| StatusCode::from_u16(s).ok())
    {
        exchange.rule = Some(INJECTED_FAULT.to_owned());
        return finish(state, info, &method, &path, exchange, Reply::Status(status));
    }

    let reply = process(route, &method, &body, fault, state, info, &mut exchange);
    let reply = if route.endpoint == Endpoint::DownloadBill {
        bill_failure(reply)
    } else {
        reply
    };
    finish(state, info, &method, &path, exchange, reply)
}

/// What was learnt of a request on its way through, for the journal and the rate limits.
#[derive(Debug, Default)]
struct Exchange {
    params: Option<Params>,
    merchant: Option<String>,
    /// The merchant whose key verified the signature.
    authenticated: Option<String>,
    nonce: String,
    /// The signature's verdict, once checked.
    signature: Signature,
    /// The check that refused, when it was one of the common checks.
    rule: Option<String>,
}

/// Who a refund's errors count against: the merchant that signed it, else the known merchant
/// whose certificate carried it, else the address (never the `mch_id` it merely names).
fn caller(state: &AppState, info: &ConnInfo, authenticated: Option<&str>) -> Caller {
    if let Some(mch_id) = authenticated {
        return Caller::Merchant(mch_id.to_owned());
    }
    if let PeerCert::Trusted {
        mch_id: Some(cert_mch_id),
    } = &info.cert
        && state.world().wechat.merchant(cert_mch_id).is_some()
    {
        return Caller::Merchant(cert_mch_id.clone());
    }
    Caller::Address(info.peer.ip())
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
const CHECK_CERTIFICATE: &str = "wechat check 1: client certificate";
const INJECTED_FAULT: &str = "injected fault";
const CHECK_BODY: &str = "wechat check 3: body";
const CHECK_XML: &str = "wechat check 3: XML";
const CHECK_SIGNATURE: &str = "wechat check 5: signature";
const CHECK_APPID: &str = "wechat check 5: appid bound to the merchant";
const CHECK_IP: &str = "wechat check 7: IP allow-list";
/// A refusal by an endpoint's own rules that names no finer rule.
const CHECK_ENDPOINT: &str = "wechat check 10: the endpoint's fields and ledger";

fn process(
    route: Route,
    method: &Method,
    body: &[u8],
    fault: Option<Fault>,
    state: &AppState,
    info: &ConnInfo,
    exchange: &mut Exchange,
) -> Reply {
    // deviation: wx-non-post-empty-body
    if method != Method::POST {
        let reply = Reply::ProtocolFail(msg::REQUIRE_POST_METHOD.into());
        return exchange.refused("wx-non-post-empty-body", reply);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return exchange.refused(CHECK_BODY, Reply::ProtocolFail(msg::POST_DATA_EMPTY.into()));
    }
    let params = match xml::decode(body) {
        Ok(params) => params,
        // deviation: wx-body-not-utf8
        Err(XmlError::NotUtf8) => {
            let reply = Reply::ProtocolFail(msg::NOT_UTF8.into());
            return exchange.refused("wx-body-not-utf8", reply);
        }
        Err(XmlError::Empty) => {
            let reply = Reply::ProtocolFail(msg::POST_DATA_EMPTY.into());
            return exchange.refused(CHECK_BODY, reply);
        }
        Err(_) => {
            let reply = Reply::ProtocolFail(msg::XML_FORMAT_ERROR.into());
            return exchange.refused(CHECK_XML, reply);
        }
    };
    exchange.merchant = params.non_empty("mch_id").map(str::to_owned);
    exchange.params = Some(params.clone());

    let now = state.clock.now();
    let endpoint = route.endpoint;
    if endpoint == Endpoint::GetSignKey {
        exchange.nonce = state.world().ids.nonce();
        return sandbox::getsignkey(&params, state, now);
    }
    // The ledger lock covers the merchant lookup and, later, the ledger operation only: the
    // signature check and everything else run outside it.
    let merchant = {
        let mut world = state.world();
        exchange.nonce = world.ids.nonce();
        params
            .non_empty("mch_id")
            .and_then(|mch_id| world.wechat.merchant(mch_id))
            .map(|m| MerchantView {
                key: if route.sandbox {
                    world
                        .sandbox_keys
                        .current(&m.mch_id, now)
                        .map(str::to_owned)
                } else {
                    Some(m.api_key.clone())
                },
                appids: m.appids.clone(),
                ip_allowlist: m.ip_allowlist.clone(),
            })
    };
    let signer = match authenticate(route, &params, merchant, info, exchange) {
        Ok(signer) => signer,
        Err(reply) => {
            let limited = endpoint == Endpoint::Refund
                && !route.sandbox
                && state.config.rate_limits
                && reply.is_error();
            if limited {
                let who = caller(state, info, None);
                // deviation: wx-erroneous-requests-caller
                if state.refund_limits().blocked(&who, now).is_some() {
                    return Reply::Business {
                        signer: None,
                        appid: params.non_empty("appid").unwrap_or_default().to_owned(),
                        mch_id: params.non_empty("mch_id").unwrap_or_default().to_owned(),
                        error: BusinessError::new(ErrCode::InvalidReqTooMuch),
                    };
                }
            }
            return *reply;
        }
    };
    exchange.authenticated = Some(signer.mch_id.clone());
    // deviation: wx-sandbox-rate-limits
    if endpoint == Endpoint::Refund && !route.sandbox && state.config.rate_limits {
        let admitted = state.refund_limits().admit(&signer.mch_id, now);
        if let Err(limited) = admitted {
            let rule = match limited {
                crate::ledger::wechat::LimitError::Blocked { .. } => "wx-erroneous-requests",
                crate::ledger::wechat::LimitError::TooFrequent => "wx-refund-rate-150",
            };
            return Reply::error(&signer, reply::limit_error(limited).by(rule));
        }
    }
    // Faults marked after_apply let the ledger act first: the refund happened, the client
    // still sees the error (or the bare HTTP status) and must retry with the same number.
    let (before, after) = match fault {
        Some(f) if f.after_apply => (None, Some(f)),
        other => (other, None),
    };
    if let Some(code) = before.and_then(|f| f.err_code) {
        let error = BusinessError::new(ErrCode::from_wire(&code)).by(INJECTED_FAULT);
        return Reply::error(&signer, error);
    }
    let mut world = state.world();
    let (ledger, ids) = world.wechat_ledger(route.sandbox, &signer.mch_id);
    let reply = match endpoint {
        Endpoint::Refund => refund::handle(&params, &signer, ledger, ids, now),
        Endpoint::RefundQuery => refundquery::handle(&params, &signer, ledger, now),
        Endpoint::OrderQuery => orderquery::handle(&params, &signer, ledger, now),
        Endpoint::UnifiedOrder => unifiedorder::handle(&params, &signer, ledger, ids, now),
        Endpoint::CloseOrder => closeorder::handle(&params, &signer, ledger, now),
        Endpoint::DownloadBill => downloadbill::handle(&params, &signer.mch_id, ledger, now),
        // Answered before authentication, above.
        Endpoint::GetSignKey => Reply::Status(StatusCode::NOT_FOUND),
    };
    drop(world);
    match after {
        Some(Fault {
            http_status: Some(status),
            ..
        }) => exchange.refused(
            INJECTED_FAULT,
            Reply::Status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY)),
        ),
        Some(Fault {
            err_code: Some(code),
            ..
        }) => Reply::error(
            &signer,
            BusinessError::new(ErrCode::from_wire(&code)).by(INJECTED_FAULT),
        ),
        _ => reply,
    }
}

/// What authentication needs of a merchant, copied out of the ledger so the signature check
/// runs without holding its lock.
struct MerchantView {
    /// The API key; in the sandbox the merchant's valid sandbox key, if it has one.
    key: Option<String>,
    appids: Vec<String>,
    ip_allowlist: Option<Vec<std::net::IpAddr>>,
}

/// Steps 4 to 7 of the module docs: who is calling, and may they.
fn authenticate(
    route: Route,
    params: &Params,
    merchant: Option<MerchantView>,
    info: &ConnInfo,
    exchange: &mut Exchange,
) -> Result<Signer, Box<Reply>> {
    if params.non_empty("sign").is_none() {
        exchange.signature = Signature::Missing;
    }
    let (Some(appid), Some(mch_id), Some(_), Some(_)) = (
        params.non_empty("appid"),
        params.non_empty("mch_id"),
        params.non_empty("nonce_str"),
        params.non_empty("sign"),
    ) else {
        // deviation: wx-missing-field
        let reply = Reply::ProtocolFail(msg::LACK_PARAMS.into());
        return Err(Box::new(exchange.refused("wx-missing-field", reply)));
    };
    let Ok(sign_type) = sign::request_sign_type(params) else {
        // deviation: wx-invalid-sign-type
        let reply = Reply::ProtocolFail(msg::INVALID_SIGN_TYPE.into());
        return Err(Box::new(exchange.refused("wx-invalid-sign-type", reply)));
    };
    let Some(merchant) = merchant else {
        // deviation: wx-mchid-not-exist-unsigned
        return Err(Box::new(Reply::Business {
            signer: None,
            appid: appid.to_owned(),
            mch_id: mch_id.to_owned(),
            error: BusinessError::new(ErrCode::MchidNotExist).by("wx-mchid-not-exist-unsigned"),
        }));
    };
    let sign_error = || {
        Box::new(Reply::ProtocolFail(if route.sandbox {
            msg::SANDBOX_SIGN_ERROR.into()
        } else {
            msg::SIGN_ERROR.into()
        }))
    };
    // The sandbox verifies MD5 only, with a sandbox key that is still valid.
    let Some(key) = merchant.key else {
        exchange.signature = Signature::Bad;
        exchange.rule = Some(CHECK_SIGNATURE.to_owned());
        return Err(sign_error());
    };
    if (route.sandbox && sign_type != SignType::Md5) || !sign::verify(params, &key, sign_type) {
        exchange.signature = Signature::Bad;
        exchange.rule = Some(CHECK_SIGNATURE.to_owned());
        return Err(sign_error());
    }
    exchange.signature = Signature::Ok;
    let signer = Signer {
        appid: appid.to_owned(),
        mch_id: mch_id.to_owned(),
        key,
        sign_type,
        nonce: exchange.nonce.clone(),
    };
    if !merchant.appids.iter().any(|a| a == appid) {
        return Err(Box::new(Reply::error(
            &signer,
            BusinessError::new(ErrCode::AppidNotExist).by(CHECK_APPID),
        )));
    }
    if route.certificate {
        let cert_mch_id = match &info.cert {
            PeerCert::Trusted { mch_id } => mch_id.as_deref(),
            _ => None,
        };
        if cert_mch_id != Some(mch_id) {
            // deviation: wx-cert-of-another-merchant
            return Err(Box::new(Reply::error(
                &signer,
                BusinessError::with(ErrCode::CertError, "商户号与API证书不匹配")
                    .by("wx-cert-of-another-merchant"),
            )));
        }
    }
    if let Some(allowed) = &merchant.ip_allowlist
        && !allowed.contains(&info.peer.ip())
    {
        return Err(Box::new(Reply::error(
            &signer,
            BusinessError::with(ErrCode::NoAuth, "请求IP不在商户IP白名单内").by(CHECK_IP),
        )));
    }
    Ok(signer)
}

/// downloadbill's failures in its own shape (§7.4, §1.2): a wrong signature is the observed
/// `sign error` / 20001, an invalid sign_type the observed `data format error` / 20001, a
/// missing common field `missing parameter`; a business error (unknown merchant, appid not
/// bound, IP not allowed, an injected SYSTEMERROR) becomes its err_code as `return_msg`
/// (UNCONFIRMED; deviation: `wx-bill-business-errors`). XML and HTTP-level failures keep
/// their shape.
pub fn bill_failure(reply: Reply) -> Reply {
    use paysandbox_protocol::wechat::bill::{BillError, bill_msg};
    match reply {
        Reply::ProtocolFail(m) if m == msg::SIGN_ERROR => {
            Reply::BillFail(BillError::new(bill_msg::SIGN_ERROR, Some("20001")))
        }
        Reply::ProtocolFail(m) if m == msg::INVALID_SIGN_TYPE => {
            Reply::BillFail(BillError::new(bill_msg::DATA_FORMAT_ERROR, Some("20001")))
        }
        Reply::ProtocolFail(m) if m == msg::LACK_PARAMS => {
            Reply::BillFail(BillError::new(bill_msg::MISSING_PARAMETER, None))
        }
        Reply::Business { error, .. } => Reply::BillFail(BillError::new(error.code.as_str(), None)),
        other => other,
    }
}

/// A missing field is a protocol failure, a malformed one PARAM_ERROR (§2.3, §3.3;
/// deviations: `wx-missing-field`, `wx-malformed-field`).
fn field_error(signer: &Signer, error: &FieldError) -> Reply {
    match error.kind {
        // A missing field has no BusinessError to carry its rule; the journal's fallback
        // names the endpoint's checks.
        FieldErrorKind::Missing => Reply::ProtocolFail(msg::LACK_PARAMS.into()),
        FieldErrorKind::Invalid(_) => {
            let des = if error.field == "transaction_id" {
                "微信订单号非法".to_owned()
            } else {
                format!("{}参数格式错误", error.field)
            };
            let error = BusinessError::with(ErrCode::ParamError, des).by("wx-malformed-field");
            Reply::error(signer, error)
        }
    }
}

fn finish(
    state: &AppState,
    info: &ConnInfo,
    method: &Method,
    path: &str,
    exchange: Exchange,
    reply: Reply,
) -> Response<Body> {
    let now = state.clock.now();
    let outcome = reply.outcome();
    // deviation: wx-erroneous-requests (every failure but the block's own answer counts)
    let counts_as_error = reply.is_error()
        && !matches!(&reply, Reply::Business { error, .. } if error.code == ErrCode::InvalidReqTooMuch);
    // Only answers of the API count: nginx's certificate pages and injected transport
    // faults never reached it.
    let reached_api = !matches!(&reply, Reply::Nginx(..) | Reply::Status(_));
    if counts_as_error
        && reached_api
        && state.config.rate_limits
        && Endpoint::from_path(path) == Some(Endpoint::Refund)
    {
        let who = caller(state, info, exchange.authenticated.as_deref());
        state.refund_limits().record_error_of(who, now);
    }
    let rule = match &reply {
        _ if !reply.is_error() => None,
        Reply::Business {
            error: BusinessError {
                rule: Some(rule), ..
            },
            ..
        } => Some(rule.clone()),
        Reply::ProtocolFail(m) if exchange.rule.is_none() && m == msg::LACK_PARAMS => {
            Some("wx-missing-field".to_owned())
        }
        _ => Some(exchange.rule.unwrap_or_else(|| CHECK_ENDPOINT.to_owned())),
    };
    let (status, content_type, body) = reply.render(&exchange.nonce);
    state.record(JournalEntry {
        seq: 0,
        at: now,
        method: method.to_string(),
        path: path.to_owned(),
        peer: info.peer.to_string(),
        merchant: exchange.merchant,
        request: exchange
            .params
            .map(|p| {
                p.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
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
