//! `POST /secapi/pay/refund` (§3).

use paysandbox_protocol::wechat::codes::ErrCode;
use paysandbox_protocol::wechat::{OrderId, RefundRequest, RefundResponse, ResultHeader};

use super::convert;
use paysandbox_protocol::wechat::codes::return_msg as msg;

use super::reply::{BusinessError, Reply, Signer, refund_error};
use crate::clock::Timestamp;
use crate::ids::IdGenerator;
use crate::journal::ledger_rule;
use crate::ledger::wechat::{OrderRef, RefundAccepted, RefundCommand, WechatLedger};

/// Validates the refund fields and applies the refund to the ledger.
pub fn handle(
    params: &paysandbox_protocol::wechat::Params,
    signer: &Signer,
    ledger: &mut WechatLedger,
    ids: &mut IdGenerator,
    now: Timestamp,
) -> Reply {
    let request = match RefundRequest::from_params(params) {
        Ok(request) => request,
        Err(error) => return super::field_error(signer, &error),
    };
    // Observed as a protocol-level failure, not a business error (seed 003).
    if request.refund_fee > request.total_fee {
        return Reply::ProtocolFail(msg::INVALID_REFUND_FEE.into());
    }
    if request
        .refund_fee_type
        .as_deref()
        .is_some_and(|t| t != "CNY")
    {
        return Reply::error(
            signer,
            BusinessError::with(ErrCode::ParamError, "退款币种与支付币种不一致"),
        );
    }
    let order = match request.order_id() {
        Ok(OrderId::TransactionId(id)) => OrderRef::TransactionId(id),
        Ok(OrderId::OutTradeNo(no)) => OrderRef::OutTradeNo(no),
        Err(error) => return super::field_error(signer, &error),
    };
    let command = RefundCommand {
        mch_id: signer.mch_id.clone(),
        order,
        out_refund_no: request.out_refund_no,
        total_fee: request.total_fee,
        refund_fee: request.refund_fee,
        refund_account: request.refund_account.map(convert::ledger_refund_account),
        notify_url: request.notify_url,
        refund_desc: request.refund_desc,
        api_v3: false,
    };
    match ledger.refund(command, now, ids) {
        Ok(accepted) => Reply::Success {
            signer: signer.clone(),
            fields: response(&accepted, signer).to_params(),
        },
        Err(error) => Reply::error(
            signer,
            refund_error(&error).by(ledger_rule("WechatLedger::refund", &error)),
        ),
    }
}

/// The answer's fields; like the real one it does not echo `sign_type` (deviation:
/// `wx-refund-response-sign-type`).
fn response(accepted: &RefundAccepted, signer: &Signer) -> RefundResponse {
    let RefundAccepted { refund, order, .. } = accepted;
    RefundResponse {
        header: ResultHeader::success(&signer.appid, &signer.mch_id, &signer.nonce),
        transaction_id: order.transaction_id.to_string(),
        out_trade_no: order.out_trade_no.to_string(),
        out_refund_no: refund.out_refund_no.clone(),
        refund_id: refund.refund_id.clone(),
        // Real refund responses carry an empty refund_channel (§3.2).
        refund_channel: None,
        refund_fee: refund.refund_fee,
        settlement_refund_fee: Some(refund.settlement_refund_fee),
        total_fee: order.total_fee,
        settlement_total_fee: Some(order.settlement_total_fee()),
        fee_type: Some(order.details.fee_type.clone()),
        cash_fee: order.cash_fee(),
        cash_fee_type: Some(order.details.fee_type.clone()),
        cash_refund_fee: Some(refund.cash_refund_fee),
        coupon_refund_fee: refund.coupon_refunds.iter().map(|c| c.fee).sum(),
        coupons: convert::coupon_refunds(refund),
    }
}
