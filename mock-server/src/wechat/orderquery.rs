//! `POST /pay/orderquery` (§6.2).

use paysandbox_protocol::wechat::codes::ErrCode;
use paysandbox_protocol::wechat::{
    OrderCoupon, OrderId, OrderQueryRequest, OrderQueryResponse, Params, PaymentInfo, ResultHeader,
    TradeState,
};

use super::convert;
use super::reply::{BusinessError, Reply, Signer};
use crate::clock::Timestamp;
use crate::ledger::wechat::{OrderRef, WechatLedger};

/// Answers the state of one order.
pub fn handle(
    params: &Params,
    signer: &Signer,
    ledger: &mut WechatLedger,
    now: Timestamp,
) -> Reply {
    let request = match OrderQueryRequest::from_params(params) {
        Ok(request) => request,
        Err(error) => return super::field_error(signer, &error),
    };
    let by = match request.order_id() {
        Ok(OrderId::TransactionId(id)) => OrderRef::TransactionId(id),
        Ok(OrderId::OutTradeNo(no)) => OrderRef::OutTradeNo(no),
        Err(error) => return super::field_error(signer, &error),
    };
    let Some(order) = ledger.query_order(&signer.mch_id, &by, now) else {
        return Reply::error(signer, BusinessError::new(ErrCode::OrderNotExist));
    };
    let trade_state =
        TradeState::from_wire(ledger.trade_state(&order)).unwrap_or(TradeState::Success);
    let payment = order.paid_at.map(|paid_at| PaymentInfo {
        transaction_id: order.transaction_id.to_string(),
        device_info: order.prepay.as_ref().and_then(|p| p.device_info.clone()),
        openid: order.details.openid.clone(),
        is_subscribe: Some("N".to_owned()),
        trade_type: order.details.trade_type.clone(),
        bank_type: order.details.bank_type.clone(),
        total_fee: order.total_fee,
        settlement_total_fee: Some(order.settlement_total_fee()),
        fee_type: Some(order.details.fee_type.clone()),
        cash_fee: order.cash_fee(),
        cash_fee_type: Some(order.details.fee_type.clone()),
        coupon_fee: (!order.coupons.is_empty()).then(|| order.coupon_fee()),
        coupons: order
            .coupons
            .iter()
            .map(|c| OrderCoupon {
                coupon_type: Some(convert::coupon_type(c.kind)),
                coupon_id: c.id.clone(),
                coupon_fee: c.fee,
            })
            .collect(),
        time_end: paid_at.beijing_compact(),
    });
    let response = OrderQueryResponse {
        header: ResultHeader::success(&signer.appid, &signer.mch_id, &signer.nonce),
        trade_state,
        trade_state_desc: trade_state.description().to_owned(),
        out_trade_no: order.out_trade_no.to_string(),
        attach: (!order.details.attach.is_empty()).then(|| order.details.attach.clone()),
        payment,
    };
    Reply::Success {
        signer: signer.clone(),
        fields: response.to_params(),
    }
}
