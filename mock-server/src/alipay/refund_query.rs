//! `alipay.trade.fastpay.refund.query` (spec §5).

use paysandbox_protocol::alipay::{
    BizContentError, BizRequest, FastpayRefundQueryRequest, FastpayRefundQueryResponse, FundBill,
    RefundStatus, ResponseStatus, SubCode,
};
use paysandbox_protocol::money::Fen;

use super::reply::{self, Caller, Reply};
use crate::ledger::alipay::AlipayLedger;

/// Answers one refund of a trade by its request number.
///
/// * trade unknown → ACQ.TRADE_NOT_EXIST `查询退款的交易不存在`;
/// * refund found → its data with `refund_status` REFUND_SUCCESS (synchronous refunds succeed
///   when accepted; deviation: `ali-query-refund-status`); `gmt_refund_pay` and
///   `refund_detail_item_list`/`send_back_fee` only when `query_options` asks for them;
/// * no refund with that number → `10000 Success` with nothing else: the old rule reads any
///   refund data (even trade_no) as "refunded", the new one needs `refund_status`, and both
///   then say "not refunded, retry with the same out_request_no" (spec §5.3, UNCONFIRMED;
///   deviation: `ali-query-never-refunded`).
pub fn handle(caller: &Caller, biz: Option<&str>, ledger: &AlipayLedger) -> Reply {
    let request = match FastpayRefundQueryRequest::parse_opt(biz) {
        Ok(request) => request,
        Err(error) => return super::biz_error(caller, &error),
    };
    let Some(trade) = request.trade_ref() else {
        let error = BizContentError::MissingOneOf(&["out_trade_no", "trade_no"]);
        return super::biz_error(caller, &error);
    };
    let by = super::ledger_ref(trade);
    let Some(lookup) = ledger.query_refund(&caller.app_id, &by, &request.out_request_no) else {
        let sub_code = SubCode::AcqTradeNotExist;
        let msg = reply::sub_msg(&sub_code, Some(caller.method));
        return Reply::failure(caller, sub_code, msg);
    };
    let Some(refund) = lookup.refund else {
        return Reply::node(
            caller,
            &FastpayRefundQueryResponse::default(),
            "SUCCESS (no such refund)",
        );
    };
    let wants = |option: &str| request.query_options.iter().any(|o| o == option);
    let detail = wants("refund_detail_item_list");
    let amount = Fen(refund.refund_amount);
    let node = FastpayRefundQueryResponse {
        status: ResponseStatus::success(),
        gmt_refund_pay: wants("gmt_refund_pay").then(|| refund.refunded_at.beijing_datetime()),
        out_request_no: Some(refund.out_request_no.clone()),
        out_trade_no: Some(lookup.trade.out_trade_no.clone()),
        refund_amount: Some(amount),
        refund_detail_item_list: detail.then(|| {
            vec![FundBill {
                amount,
                fund_channel: "ALIPAYACCOUNT".to_owned(),
                fund_type: None,
                real_amount: Some(amount),
            }]
        }),
        refund_reason: refund.refund_reason.clone(),
        refund_status: Some(RefundStatus::RefundSuccess),
        send_back_fee: detail.then_some(amount),
        total_amount: Some(Fen(lookup.trade.total_amount)),
        trade_no: Some(lookup.trade.trade_no.clone()),
        ..FastpayRefundQueryResponse::default()
    };
    Reply::node(caller, &node, "SUCCESS")
}
