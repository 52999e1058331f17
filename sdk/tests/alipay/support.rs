//! The test kit, and the SDK requests the Alipay tests share.

use paysandbox_sdk::alipay::RefundRequest;
pub use paysandbox_testkit::prelude::*;

/// A refund of a trade by out_trade_no with a request number.
pub fn refund(out_trade_no: &str, out_request_no: &str, fen: u64) -> RefundRequest {
    RefundRequest::builder()
        .out_trade_no(out_trade_no)
        .out_request_no(out_request_no)
        .refund_amount(fen)
        .build()
        .unwrap()
}
