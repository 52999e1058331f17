//! `POST /pay/unifiedorder` (§6.1): a NOTPAY order and its prepay_id.

use paysandbox_protocol::wechat::codes::ErrCode;
use paysandbox_protocol::wechat::messages::unified_order_reasons::{
    OPENID_REQUIRED, PRODUCT_ID_REQUIRED,
};
use paysandbox_protocol::wechat::{
    FieldError, FieldErrorKind, Params, ResultHeader, TradeType, UnifiedOrderRequest,
    UnifiedOrderResponse,
};

use super::reply::{BusinessError, Reply, Signer};
use crate::clock::Timestamp;
use crate::ids::IdGenerator;
use crate::ledger::wechat::{UnifiedOrderCommand, UnifiedOrderError, WechatLedger};

/// Shortest time from now to `time_expire` accepted (2023 doc: at least one minute).
const MIN_EXPIRY: std::time::Duration = std::time::Duration::from_secs(60);

/// The `err_code_des` of a `time_expire` too close or in the past (UNCONFIRMED: the text
/// developers quote for this case, with INVALID_REQUEST; deviation: `wx-time-expire-short`).
pub const TIME_EXPIRE_TOO_SHORT: &str = "time_expire时间过短，刷卡至少1分钟，其他5分钟";

/// Validates the order fields and creates (or repeats) the order.
pub fn handle(
    params: &Params,
    signer: &Signer,
    ledger: &mut WechatLedger,
    ids: &mut IdGenerator,
    now: Timestamp,
) -> Reply {
    let request = match UnifiedOrderRequest::from_params(params) {
        Ok(request) => request,
        Err(error) => return conditional_field(signer, &error),
    };
    let order = request.order;
    // deviation: wx-fee-type
    if order.fee_type.as_deref().is_some_and(|f| f != "CNY") {
        return Reply::error(
            signer,
            BusinessError::with(ErrCode::ParamError, "fee_type参数格式错误"),
        );
    }
    let time_expire = match order.time_expire.as_deref() {
        None => None,
        Some(text) => match Timestamp::from_beijing_compact(text) {
            Some(at) if at >= now.plus(MIN_EXPIRY) => Some(at),
            Some(_) => {
                return Reply::error(
                    signer,
                    BusinessError::with(ErrCode::InvalidRequest, TIME_EXPIRE_TOO_SHORT),
                );
            }
            None => {
                return Reply::error(
                    signer,
                    BusinessError::with(ErrCode::ParamError, "time_expire参数格式错误"),
                );
            }
        },
    };
    let trade_type = order.trade_type.unwrap_or(TradeType::Jsapi);
    let command = UnifiedOrderCommand {
        mch_id: signer.mch_id.clone(),
        appid: signer.appid.clone(),
        out_trade_no: order.out_trade_no,
        total_fee: order.total_fee,
        fee_type: order.fee_type.unwrap_or_else(|| "CNY".to_owned()),
        body: order.body,
        attach: order.attach,
        trade_type: trade_type.as_str().to_owned(),
        openid: order.openid,
        product_id: order.product_id,
        notify_url: order.notify_url,
        spbill_create_ip: order.spbill_create_ip,
        device_info: order.device_info,
        time_start: order.time_start,
        time_expire,
        sign_type: signer.sign_type.as_str().to_owned(),
    };
    match ledger.unified_order(command, now, ids) {
        Ok(order) => {
            let prepay = order.prepay.as_deref();
            let response = UnifiedOrderResponse {
                header: ResultHeader::success(&signer.appid, &signer.mch_id, &signer.nonce),
                device_info: prepay.and_then(|p| p.device_info.clone()),
                trade_type,
                prepay_id: prepay.map(|p| p.prepay_id.clone()).unwrap_or_default(),
                code_url: prepay.and_then(|p| p.code_url.clone()),
                mweb_url: prepay.and_then(|p| p.mweb_url.clone()),
            };
            Reply::Success {
                signer: signer.clone(),
                fields: response.to_params(),
            }
        }
        Err(error) => Reply::error(signer, BusinessError::new(error_code(error))),
    }
}

/// The codes of a reused out_trade_no (deviations: `wx-unifiedorder-repeat`,
/// `wx-orderpaid-texts`).
fn error_code(error: UnifiedOrderError) -> ErrCode {
    match error {
        UnifiedOrderError::OrderPaid => ErrCode::OrderPaid,
        UnifiedOrderError::OrderClosed => ErrCode::OrderClosed,
        UnifiedOrderError::OutTradeNoUsed => ErrCode::OutTradeNoUsed,
    }
}

/// `openid` for JSAPI and `product_id` for NATIVE are required only for their trade type:
/// PARAM_ERROR with the field description of the doc (UNCONFIRMED as the answer's text;
/// deviation: `wx-unifiedorder-required-by-type`); every other field error as for the other
/// endpoints.
fn conditional_field(signer: &Signer, error: &FieldError) -> Reply {
    let des = match error.kind {
        FieldErrorKind::Invalid(OPENID_REQUIRED) => {
            "trade_type=JSAPI时（即JSAPI支付），此参数必传，此参数为微信用户在商户对应appid下的唯一标识"
        }
        FieldErrorKind::Invalid(PRODUCT_ID_REQUIRED) => {
            "trade_type=NATIVE时，此参数必传。此参数为二维码中包含的商品ID，商户自行定义"
        }
        _ => return super::field_error(signer, error),
    };
    Reply::error(signer, BusinessError::with(ErrCode::ParamError, des))
}
