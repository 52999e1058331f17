//! `POST /pay/refundquery` (§4).

use paysandbox_protocol::wechat::{
    Params, RefundQueryRequest, RefundQueryResponse, RefundQuerySelector, ResultHeader,
};

use super::convert;
use super::reply::{Reply, Signer, refund_query_error};
use crate::clock::Timestamp;
use crate::journal::ledger_rule;
use crate::ledger::wechat::{RefundSelector, WechatLedger};

/// Answers one refund, or a page of an order's refunds.
pub fn handle(
    params: &Params,
    signer: &Signer,
    ledger: &mut WechatLedger,
    now: Timestamp,
) -> Reply {
    let request = match RefundQueryRequest::from_params(params) {
        Ok(request) => request,
        Err(error) => return super::field_error(signer, &error),
    };
    let selector = match request.selector() {
        Ok(RefundQuerySelector::RefundId(id)) => RefundSelector::RefundId(id),
        Ok(RefundQuerySelector::OutRefundNo(no)) => RefundSelector::OutRefundNo(no),
        Ok(RefundQuerySelector::TransactionId(id)) => RefundSelector::TransactionId(id),
        Ok(RefundQuerySelector::OutTradeNo(no)) => RefundSelector::OutTradeNo(no),
        Err(error) => return super::field_error(signer, &error),
    };
    let offset = request.offset.map_or(0, |o| o as usize);
    let page = match ledger.query_refunds(&signer.mch_id, &selector, offset, now) {
        Ok(page) => page,
        Err(error) => {
            let rule = ledger_rule("WechatLedger::query_refunds", &error);
            return Reply::error(signer, refund_query_error(&error).by(rule));
        }
    };
    let order = &page.order;
    let response = RefundQueryResponse {
        header: ResultHeader::success(&signer.appid, &signer.mch_id, &signer.nonce),
        transaction_id: order.transaction_id.to_string(),
        out_trade_no: order.out_trade_no.to_string(),
        total_fee: order.total_fee,
        settlement_total_fee: Some(order.settlement_total_fee()),
        fee_type: Some(order.details.fee_type.clone()),
        cash_fee: order.cash_fee(),
        total_refund_count: page.total_refund_count.and_then(|c| u32::try_from(c).ok()),
        refund_fee: page.refund_fee_total,
        coupon_refund_fee: page.coupon_refund_fee_total,
        refunds: page.refunds.iter().map(convert::refund_record).collect(),
    };
    Reply::Success {
        signer: signer.clone(),
        fields: response.to_params(),
    }
}
