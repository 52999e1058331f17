//! The test kit, and the SDK requests the WeChat tests share.

use paysandbox_sdk::wechat::RefundRequest;
pub use paysandbox_testkit::prelude::*;

/// A refund of an order by out_trade_no.
pub fn refund(
    out_trade_no: &str,
    out_refund_no: &str,
    total_fee: u64,
    refund_fee: u64,
) -> RefundRequest {
    RefundRequest::builder()
        .out_trade_no(out_trade_no)
        .out_refund_no(out_refund_no)
        .total_fee(total_fee)
        .refund_fee(refund_fee)
        .build()
        .unwrap()
}
