//! The payment calls refunds depend on, over v3 (spec §1.6): prepay (JSAPI, Native, App, H5),
//! the two order queries and close. They act on the v2 ledger: an order prepaid here is the
//! order `/pay/orderquery` reads, and the buyer pays it through the admin API as any other.

use paysandbox_protocol::beijing;
use paysandbox_protocol::wechat::v3::decode::{self, DecodeError, Violation};
use paysandbox_protocol::wechat::v3::error::{ErrorCode, Location};
use paysandbox_protocol::wechat::v3::messages::transaction::{
    CLOSE_REQUEST, CodeUrlResponse, H5UrlResponse, MCHID, PrepayIdResponse, prepay_fields,
};
use paysandbox_protocol::wechat::v3::messages::{
    CNY, CloseRequest, ID32, OUT_TRADE_NO, PrepayRequest, TradeType,
};

use super::reply::{self, V3Reply};
use super::{Call, decode_segment};
use crate::clock::Timestamp;
use crate::ids::IdGenerator;
use crate::ledger::wechat::{OrderRef, UnifiedOrderCommand, WechatLedger};

/// The merchant named in a body or query is the one that signed (deviation:
/// `wx3-mchid-mismatch`).
fn same_merchant(call: &Call<'_>, mchid: &str) -> Result<(), V3Reply> {
    if mchid == call.merchant.mch_id {
        Ok(())
    } else {
        Err(V3Reply::error(
            &ErrorCode::InvalidRequest,
            "请求的商户号与签名的商户号不一致",
        ))
    }
}

/// `POST /v3/pay/transactions/{jsapi,native,app,h5}`.
pub(super) fn prepay(
    call: &Call<'_>,
    trade_type: TradeType,
    ledger: &mut WechatLedger,
    ids: &mut IdGenerator,
    now: Timestamp,
) -> V3Reply {
    let request: PrepayRequest = match decode::strict(call.body, prepay_fields(trade_type)) {
        Ok(request) => request,
        Err(error) => return V3Reply::body(error.to_error_body(Location::Body)),
    };
    if let Err(reply) = same_merchant(call, &request.mchid) {
        return reply;
    }
    if !call.merchant.appids.contains(&request.appid) {
        return V3Reply::code(&ErrorCode::AppidMchidNotMatch);
    }
    let time_expire = match request.time_expire.as_deref() {
        None => None,
        Some(text) => match beijing::parse_rfc3339(text) {
            Some(ms) => Some(Timestamp(ms)),
            None => {
                return V3Reply::body(
                    DecodeError::Rule {
                        pointer: "/time_expire".into(),
                        label: "交易结束时间",
                        value: serde_json::Value::String(text.to_owned()),
                        violation: Violation::Pattern("yyyy-MM-DDTHH:mm:ss+TIMEZONE"),
                    }
                    .to_error_body(Location::Body),
                );
            }
        },
    };
    let scene = request.scene_info.as_ref();
    let command = UnifiedOrderCommand {
        mch_id: call.merchant.mch_id.clone(),
        appid: request.appid,
        out_trade_no: request.out_trade_no,
        total_fee: request.amount.total,
        fee_type: CNY.to_owned(),
        body: request.description,
        attach: request.attach,
        trade_type: trade_type.as_str().to_owned(),
        openid: request.payer.map(|p| p.openid),
        product_id: None,
        notify_url: request.notify_url,
        spbill_create_ip: scene
            .map_or_else(|| call.peer.to_string(), |s| s.payer_client_ip.clone()),
        device_info: scene.and_then(|s| s.device_id.clone()),
        time_start: None,
        time_expire,
        // Marks the order as v3's: its payment notification is TRANSACTION.SUCCESS.
        sign_type: crate::ledger::wechat::V3_SIGN_TYPE.to_owned(),
    };
    let order = match ledger.unified_order(command, now, ids) {
        Ok(order) => order,
        Err(error) => return reply::prepay_error(error),
    };
    let prepay = order.prepay.as_deref();
    match trade_type {
        TradeType::Native => V3Reply::json(&CodeUrlResponse {
            code_url: prepay.and_then(|p| p.code_url.clone()).unwrap_or_default(),
        }),
        TradeType::Mweb => V3Reply::json(&H5UrlResponse {
            h5_url: prepay.and_then(|p| p.mweb_url.clone()).unwrap_or_default(),
        }),
        TradeType::Jsapi | TradeType::App => V3Reply::json(&PrepayIdResponse {
            prepay_id: prepay.map(|p| p.prepay_id.clone()).unwrap_or_default(),
        }),
    }
}

/// A path parameter, percent-decoded and checked against `kind` (PARAM_ERROR at
/// `uri_template` otherwise).
fn path_parameter(
    segment: &str,
    name: &'static str,
    label: &'static str,
    kind: &decode::Kind,
) -> Result<String, V3Reply> {
    let Some(decoded) = decode_segment(segment) else {
        return Err(V3Reply::body(
            DecodeError::Rule {
                pointer: format!("/{name}"),
                label,
                value: serde_json::Value::String(segment.to_owned()),
                violation: Violation::Pattern("percent-encoded UTF-8"),
            }
            .to_error_body(Location::UriTemplate),
        ));
    };
    decode::check_parameter(name, label, Some(&decoded), kind)
        .map_err(|e| V3Reply::body(e.to_error_body(Location::UriTemplate)))?;
    Ok(decoded)
}

/// `GET /v3/pay/transactions/out-trade-no/{…}?mchid=` and `…/id/{…}?mchid=`.
pub(super) fn query(
    call: &Call<'_>,
    segment: &str,
    by_id: bool,
    ledger: &mut WechatLedger,
    now: Timestamp,
) -> V3Reply {
    let mchid = call.query("mchid");
    if let Err(error) = decode::check_parameter("mchid", "直连商户号", mchid, &MCHID) {
        return V3Reply::body(error.to_error_body(Location::Query));
    }
    if let Err(reply) = same_merchant(call, mchid.unwrap_or_default()) {
        return reply;
    }
    let by = if by_id {
        match path_parameter(segment, "transaction_id", "微信支付订单号", &ID32) {
            Ok(id) => OrderRef::TransactionId(id),
            Err(reply) => return reply,
        }
    } else {
        match path_parameter(segment, "out_trade_no", "商户订单号", &OUT_TRADE_NO) {
            Ok(no) => OrderRef::OutTradeNo(no),
            Err(reply) => return reply,
        }
    };
    let Some(order) = ledger.query_order(&call.merchant.mch_id, &by, now) else {
        return reply::order_not_exist();
    };
    let transaction = crate::notify::v3::transaction(&order, ledger.trade_state(&order));
    V3Reply::json(&transaction)
}

/// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`: 204.
pub(super) fn close(
    call: &Call<'_>,
    segment: &str,
    ledger: &mut WechatLedger,
    now: Timestamp,
) -> V3Reply {
    let request: CloseRequest = match decode::strict(call.body, CLOSE_REQUEST) {
        Ok(request) => request,
        Err(error) => return V3Reply::body(error.to_error_body(Location::Body)),
    };
    if let Err(reply) = same_merchant(call, &request.mchid) {
        return reply;
    }
    let out_trade_no = match path_parameter(segment, "out_trade_no", "商户订单号", &OUT_TRADE_NO)
    {
        Ok(no) => no,
        Err(reply) => return reply,
    };
    match ledger.close_order(&call.merchant.mch_id, &out_trade_no, now) {
        Ok(_) => V3Reply::NoContent,
        Err(error) => reply::close_error(error),
    }
}
