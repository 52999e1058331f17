//! `POST /pay/closeorder` (§6.3): an unpaid order becomes CLOSED.

use paysandbox_protocol::wechat::codes::ErrCode;
use paysandbox_protocol::wechat::{CloseOrderRequest, CloseOrderResponse, Params, ResultHeader};

use super::reply::{BusinessError, Reply, Signer};
use crate::clock::Timestamp;
use crate::ledger::wechat::{CloseOrderError, WechatLedger};

/// Closes one order.
pub fn handle(
    params: &Params,
    signer: &Signer,
    ledger: &mut WechatLedger,
    now: Timestamp,
) -> Reply {
    let request = match CloseOrderRequest::from_params(params) {
        Ok(request) => request,
        Err(error) => return super::field_error(signer, &error),
    };
    match ledger.close_order(&signer.mch_id, &request.out_trade_no, now) {
        Ok(_) => Reply::Success {
            signer: signer.clone(),
            fields: CloseOrderResponse {
                header: ResultHeader::success(&signer.appid, &signer.mch_id, &signer.nonce),
                result_msg: Some("OK".to_owned()),
            }
            .to_params(),
        },
        Err(error) => {
            let code = match error {
                CloseOrderError::OrderNotExist => ErrCode::OrderNotExist,
                CloseOrderError::OrderPaid => ErrCode::OrderPaid,
                CloseOrderError::OrderClosed => ErrCode::OrderClosed,
            };
            Reply::error(signer, BusinessError::new(code))
        }
    }
}
