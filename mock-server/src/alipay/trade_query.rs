//! `alipay.trade.query` (spec §6.2).

use paysandbox_protocol::alipay::{
    BizContentError, BizRequest, FundBill, ResponseStatus, SubCode, TradeQueryRequest,
    TradeQueryResponse, TradeStatus,
};
use paysandbox_protocol::money::Fen;

use super::reply::{self, Caller, Reply};
use crate::clock::Timestamp;
use crate::ledger::alipay::{self as ledger, AlipayLedger, Trade};

/// Answers a trade's state and amounts.
///
/// Paid trades show the total as `buyer_pay_amount`, `invoice_amount` and `receipt_amount`,
/// unpaid ones `0.00` (the WAIT_BUYER_PAY capture); refunds do not change them (UNCONFIRMED
/// whether a full refund zeroes receipt_amount, spec §6.2; deviation:
/// `ali-receipt-amount-after-refund`). An unknown trade is
/// ACQ.TRADE_NOT_EXIST with the zero amounts and the echoed id of the real capture.
pub fn handle(caller: &Caller, biz: Option<&str>, trades: &AlipayLedger, now: Timestamp) -> Reply {
    let request = match TradeQueryRequest::parse_opt(biz) {
        Ok(request) => request,
        Err(error) => return super::biz_error(caller, &error),
    };
    let Some(trade) = request.trade_ref() else {
        let error = BizContentError::MissingOneOf(&["out_trade_no", "trade_no"]);
        return super::biz_error(caller, &error);
    };
    let by = super::ledger_ref(trade);
    let Some(trade) = trades.trade(&caller.app_id, &by) else {
        let sub_code = SubCode::AcqTradeNotExist;
        let msg = reply::sub_msg(&sub_code, Some(caller.method));
        let outcome = sub_code.as_str().to_owned();
        let node = TradeQueryResponse {
            status: ResponseStatus::error_with_msg(sub_code, msg),
            buyer_pay_amount: Some(Fen::ZERO),
            invoice_amount: Some(Fen::ZERO),
            out_trade_no: request.out_trade_no.clone(),
            point_amount: Some(Fen::ZERO),
            receipt_amount: Some(Fen::ZERO),
            trade_no: request.trade_no.clone(),
            ..TradeQueryResponse::default()
        };
        return Reply::node(caller, &node, outcome);
    };
    let status = trades.trade_status(trade, now);
    let fund_bills = request.query_options.iter().any(|o| o == "fund_bill_list");
    Reply::node(caller, &node(trade, status, fund_bills), "SUCCESS")
}

fn node(trade: &Trade, status: ledger::TradeStatus, fund_bills: bool) -> TradeQueryResponse {
    let paid = if trade.is_paid() {
        Fen(trade.total_amount)
    } else {
        Fen::ZERO
    };
    TradeQueryResponse {
        status: ResponseStatus::success(),
        buyer_logon_id: trade.buyer_logon_id.clone(),
        buyer_pay_amount: Some(paid),
        buyer_user_id: trade.buyer_user_id.clone(),
        fund_bill_list: (fund_bills && trade.is_paid()).then(|| {
            vec![FundBill {
                amount: paid,
                fund_channel: "ALIPAYACCOUNT".to_owned(),
                fund_type: None,
                real_amount: None,
            }]
        }),
        invoice_amount: Some(paid),
        out_trade_no: Some(trade.out_trade_no.clone()),
        point_amount: Some(Fen::ZERO),
        receipt_amount: Some(paid),
        send_pay_date: trade.paid_at.map(|t| t.beijing_datetime()),
        store_id: trade.store_id.clone(),
        total_amount: Some(Fen(trade.total_amount)),
        trade_no: Some(trade.trade_no.clone()),
        trade_status: Some(TradeStatus::from_wire(status.as_str())),
        ..TradeQueryResponse::default()
    }
}
