//! `alipay.trade.precreate` (spec §6.5): a QR-code trade, WAIT_BUYER_PAY, that exists for
//! query, refund and close only once the buyer scans or pays it (admin API; deviation:
//! `ali-precreate-invisible`). `timeout_express` and `qr_code_timeout_express` are accepted,
//! not enforced (deviation: `ali-precreate-timeouts`).

use paysandbox_protocol::alipay::{
    BizContentError, BizRequest, FieldProblem, ResponseStatus, SubCode, TradePrecreateRequest,
    TradePrecreateResponse,
};
use paysandbox_protocol::money::AmountError;

use super::reply::{self, Caller, Reply, precreate_error};
use crate::clock::Timestamp;
use crate::ids::IdGenerator;
use crate::journal::ledger_rule;
use crate::ledger::alipay::{AlipayLedger, PrecreateCommand};

/// Creates the trade (or answers the same one again) with its QR code.
pub fn handle(
    caller: &Caller,
    biz: Option<&str>,
    notify_url: Option<&str>,
    ledger: &mut AlipayLedger,
    ids: &mut IdGenerator,
    now: Timestamp,
) -> Reply {
    let request = match TradePrecreateRequest::parse_opt(biz) {
        Ok(request) => request,
        // An amount above the 100000000 yuan limit has precreate's own code (fzlee docstring).
        // deviation: ali-amount-invalid
        Err(
            error @ BizContentError::InvalidField {
                field: "total_amount",
                problem: FieldProblem::Amount(AmountError::AboveMaximum),
            },
        ) => {
            let sub_code = SubCode::AcqTotalFeeExceed;
            let msg = reply::sub_msg(&sub_code, Some(caller.method));
            return Reply::failure(caller, sub_code, msg).noting(&error.to_string());
        }
        Err(error) => return super::biz_error(caller, &error),
    };
    let command = PrecreateCommand {
        app_id: caller.app_id.clone(),
        out_trade_no: request.out_trade_no,
        total_amount: request.total_amount.0,
        subject: request.subject,
        body: request.body,
        store_id: request.store_id,
        notify_url: notify_url.filter(|u| !u.is_empty()).map(str::to_owned),
    };
    match ledger.precreate(command, now, ids) {
        Ok(trade) => {
            let node = TradePrecreateResponse {
                status: ResponseStatus::success(),
                out_trade_no: Some(trade.out_trade_no),
                qr_code: trade.qr_code,
            };
            Reply::node(caller, &node, "SUCCESS")
        }
        Err(error) => {
            let (sub_code, sub_msg, note) = precreate_error(&error);
            let reply = Reply::failure(caller, sub_code, sub_msg)
                .by(ledger_rule("AlipayLedger::precreate", &error));
            match note {
                Some(note) => reply.noting(&note),
                None => reply,
            }
        }
    }
}
