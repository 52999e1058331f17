//! `alipay.trade.refund` (spec §4).

use paysandbox_protocol::alipay::{
    BizContentError, BizRequest, FundBill, ResponseStatus, TradeRefundRequest, TradeRefundResponse,
};
use paysandbox_protocol::money::Fen;

use super::reply::{Caller, Reply, refund_error};
use crate::clock::Timestamp;
use crate::journal::ledger_rule;
use crate::ledger::alipay::{AlipayLedger, RefundCommand, RefundOutcome};

/// Parses the biz_content and applies the refund to the ledger.
pub fn handle(
    caller: &Caller,
    biz: Option<&str>,
    ledger: &mut AlipayLedger,
    now: Timestamp,
) -> Reply {
    let request = match TradeRefundRequest::parse_opt(biz) {
        Ok(request) => request,
        Err(error) => return super::biz_error(caller, &error),
    };
    let Some(trade) = request.trade_ref() else {
        let error = BizContentError::MissingOneOf(&["out_trade_no", "trade_no"]);
        return super::biz_error(caller, &error);
    };
    let by = super::ledger_ref(trade);
    let detail = request
        .query_options
        .iter()
        .any(|o| o == "refund_detail_item_list");
    let command = RefundCommand {
        app_id: caller.app_id.clone(),
        trade: by.clone(),
        refund_amount: request.refund_amount.0,
        out_request_no: request.out_request_no.clone(),
        refund_reason: request.refund_reason.clone(),
    };
    match ledger.refund(command, now) {
        Ok(outcome) => Reply::node(caller, &success(&outcome, detail), "SUCCESS"),
        Err(error) => {
            // Failure nodes still carry out_trade_no, refund_fee and send_back_fee (the real
            // capture in spec §4.3); refund_fee is what the trade had refunded so far.
            // deviation: ali-refund-failure-node
            let trade = ledger.trade(&caller.app_id, &by);
            let (sub_code, sub_msg, note) = refund_error(&error);
            let outcome = sub_code.as_str().to_owned();
            let node = TradeRefundResponse {
                status: ResponseStatus::error_with_msg(sub_code, sub_msg),
                out_trade_no: request
                    .out_trade_no
                    .clone()
                    .or_else(|| trade.map(|t| t.out_trade_no.clone())),
                trade_no: request.trade_no.clone(),
                refund_fee: Some(Fen(trade.map_or(0, |t| t.refunded))),
                send_back_fee: Some(Fen::ZERO),
                ..TradeRefundResponse::default()
            };
            let reply =
                Reply::node(caller, &node, outcome).by(ledger_rule("AlipayLedger::refund", &error));
            match note {
                Some(note) => reply.noting(&note),
                None => reply,
            }
        }
    }
}

/// The success node. `refund_fee` is the trade's cumulative refund; `fund_change` says whether
/// this call moved money. `send_back_fee` is `0.00` as in every real capture, unless
/// `query_options` asks for `refund_detail_item_list`, which the current doc ties it to
/// (deviation: `ali-send-back-fee`).
fn success(outcome: &RefundOutcome, detail: bool) -> TradeRefundResponse {
    let RefundOutcome {
        refund,
        trade,
        fund_change,
    } = outcome;
    let amount = Fen(refund.refund_amount);
    TradeRefundResponse {
        status: ResponseStatus::success(),
        buyer_logon_id: trade.buyer_logon_id.clone(),
        buyer_user_id: trade.buyer_user_id.clone(),
        fund_change: Some(*fund_change),
        gmt_refund_pay: Some(refund.refunded_at.beijing_datetime()),
        out_trade_no: Some(trade.out_trade_no.clone()),
        refund_detail_item_list: detail.then(|| {
            vec![FundBill {
                amount,
                fund_channel: "ALIPAYACCOUNT".to_owned(),
                fund_type: None,
                real_amount: Some(amount),
            }]
        }),
        refund_fee: Some(Fen(trade.refunded)),
        send_back_fee: Some(if detail { amount } else { Fen::ZERO }),
        trade_no: Some(trade.trade_no.clone()),
        ..TradeRefundResponse::default()
    }
}
