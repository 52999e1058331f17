//! The test kit, and the assertions the Alipay tests share.

pub use paysandbox_testkit::prelude::*;
use serde_json::Value;

/// Asserts a signed business failure (40004) with this sub_code and sub_msg.
pub fn assert_acq(node: &Value, sub_code: &str, sub_msg: &str) {
    assert_eq!(node["code"], "40004", "{node}");
    assert_eq!(node["msg"], "Business Failed", "{node}");
    assert_eq!(node["sub_code"], sub_code, "{node}");
    assert_eq!(node["sub_msg"], sub_msg, "{node}");
}

/// The whole response body as JSON (for unsigned answers and key order checks).
pub fn json_body(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}
