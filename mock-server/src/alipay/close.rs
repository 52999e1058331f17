//! `alipay.trade.close` (spec §6.3).

use paysandbox_protocol::alipay::{
    BizContentError, BizRequest, ResponseStatus, TradeCloseRequest, TradeCloseResponse,
};

use super::reply::{Caller, Reply, close_error};
use crate::clock::Timestamp;
use crate::journal::ledger_rule;
use crate::ledger::alipay::AlipayLedger;

/// Closes an unpaid trade: WAIT_BUYER_PAY → TRADE_CLOSED.
pub fn handle(
    caller: &Caller,
    biz: Option<&str>,
    ledger: &mut AlipayLedger,
    now: Timestamp,
) -> Reply {
    let request = match TradeCloseRequest::parse_opt(biz) {
        Ok(request) => request,
        Err(error) => return super::biz_error(caller, &error),
    };
    let Some(trade) = request.trade_ref() else {
        let error = BizContentError::MissingOneOf(&["out_trade_no", "trade_no"]);
        return super::biz_error(caller, &error);
    };
    let by = super::ledger_ref(trade);
    match ledger.close(&caller.app_id, &by, now) {
        Ok(trade) => {
            let node = TradeCloseResponse {
                status: ResponseStatus::success(),
                out_trade_no: Some(trade.out_trade_no),
                trade_no: Some(trade.trade_no),
            };
            Reply::node(caller, &node, "SUCCESS")
        }
        Err(error) => {
            let (sub_code, sub_msg, note) = close_error(&error);
            let reply = Reply::failure(caller, sub_code, sub_msg)
                .by(ledger_rule("AlipayLedger::close", &error));
            match note {
                Some(note) => reply.noting(&note),
                None => reply,
            }
        }
    }
}
