//! The test kit, and what the v3 tests share.

pub use paysandbox_testkit::prelude::*;
pub use serde_json::{Value, json};

/// The refund create path.
pub const REFUNDS: &str = "/v3/refund/domestic/refunds";

/// A refund request body by out_trade_no.
pub fn refund_body(out_trade_no: &str, out_refund_no: &str, total: u64, refund: u64) -> Value {
    json!({
        "out_trade_no": out_trade_no,
        "out_refund_no": out_refund_no,
        "reason": "test",
        "amount": { "refund": refund, "total": total, "currency": "CNY" },
    })
}

/// A JSAPI prepay body of the demo merchant.
pub fn jsapi_body(out_trade_no: &str, total: u64) -> Value {
    json!({
        "appid": APPID,
        "mchid": MCH,
        "description": "v3 test",
        "out_trade_no": out_trade_no,
        "notify_url": "https://example.com/notify",
        "amount": { "total": total, "currency": "CNY" },
        "payer": { "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" },
    })
}
