//! The test kit, and the assertions the WeChat tests share.

use paysandbox_protocol::wechat::Params;
use paysandbox_protocol::wechat::sign::{self, SignType};
pub use paysandbox_testkit::prelude::*;

/// Asserts a signed business error with this code and message.
pub fn assert_business_error(response: &Params, err_code: &str, err_code_des: &str) {
    assert_eq!(response.get("return_code"), Some("SUCCESS"), "{response:?}");
    assert_eq!(response.get("result_code"), Some("FAIL"), "{response:?}");
    assert_eq!(response.get("err_code"), Some(err_code), "{response:?}");
    assert_eq!(
        response.get("err_code_des"),
        Some(err_code_des),
        "{response:?}"
    );
    assert_signed(response, SignType::Md5);
}

/// Asserts an unsigned return_code=FAIL with this message.
pub fn assert_protocol_fail(response: &Params, return_msg: &str) {
    assert_eq!(response.get("return_code"), Some("FAIL"), "{response:?}");
    assert_eq!(response.get("return_msg"), Some(return_msg), "{response:?}");
    assert_eq!(response.get("sign"), None, "protocol failures are unsigned");
    assert_eq!(response.get("result_code"), None);
}

/// Asserts the response carries a valid signature of this type with the demo key.
pub fn assert_signed(response: &Params, sign_type: SignType) {
    assert!(response.get("sign").is_some(), "unsigned: {response:?}");
    assert!(
        sign::verify(response, KEY, sign_type),
        "bad signature: {response:?}"
    );
    assert_eq!(response.get("appid"), Some(APPID));
    assert_eq!(response.get("mch_id"), Some(MCH));
    assert_eq!(response.get("nonce_str").map(str::len), Some(16));
}
