//! Receiving WeChat Pay notifications (spec §5, §6.4): parse, check they are for this merchant,
//! decrypt (refund results) or verify (payment results), and answer.
//!
//! ```no_run
//! # fn handle(client: &paysandbox_sdk::wechat::Client, body: &[u8]) -> String {
//! use paysandbox_sdk::wechat::notify;
//! match client.refund_notification(body) {
//!     Ok(info) => {
//!         // info.refund_status, info.refund_fee (fen), info.out_refund_no ...; de-duplicate:
//!         // the same notification may arrive more than once.
//!         notify::success_reply()
//!     }
//!     Err(error) => notify::fail_reply(&error.to_string()),
//! }
//! # }
//! ```
//!
//! Answer with [`success_reply`] only once the result is stored: anything else (or no answer)
//! makes the platform retry, 16 times over 24 h.

pub use paysandbox_protocol::wechat::notify::{
    NotifyError, NotifyReply, PaymentNotification, RefundNotification, RefundNotifyInfo,
};

use super::Client;

fn check(field: &'static str, found: &str, expected: &str) -> Result<(), NotifyError> {
    if found == expected {
        Ok(())
    } else {
        Err(NotifyError::Mismatch {
            field,
            found: found.to_owned(),
            expected: expected.to_owned(),
        })
    }
}

/// Parses a refund result notification: `return_code` must be `SUCCESS`, `appid` and `mch_id`
/// the merchant's; then `req_info` is decrypted with the API key and read.
///
/// # Errors
/// [`NotifyError`]: malformed XML, `return_code=FAIL`, someone else's notification, or a
/// `req_info` that does not decrypt with this key.
pub fn parse_refund_notification(
    body: &[u8],
    appid: &str,
    mch_id: &str,
    api_key: &str,
) -> Result<RefundNotifyInfo, NotifyError> {
    let outer = RefundNotification::from_xml(body)?;
    check("appid", &outer.appid, appid)?;
    check("mch_id", &outer.mch_id, mch_id)?;
    outer.open(api_key)
}

/// Parses a payment result notification: the signature is verified with the notification's
/// own `sign_type` (MD5 when absent) and the API key, then `appid` and `mch_id` are checked.
/// Check `total_fee` against your order before trusting it (the platform's advice).
///
/// # Errors
/// [`NotifyError`]: malformed XML, bad signature, someone else's notification.
pub fn parse_payment_notification(
    body: &[u8],
    appid: &str,
    mch_id: &str,
    api_key: &str,
) -> Result<PaymentNotification, NotifyError> {
    let payment = PaymentNotification::verify_xml(body, api_key)?;
    check("appid", &payment.appid, appid)?;
    check("mch_id", &payment.mch_id, mch_id)?;
    Ok(payment)
}

/// The body that acknowledges a notification: `SUCCESS` / `OK`.
pub fn success_reply() -> String {
    NotifyReply::Success.to_xml()
}

/// The body that refuses a notification (the platform retries later).
pub fn fail_reply(reason: &str) -> String {
    NotifyReply::Fail(reason.to_owned()).to_xml()
}

impl Client {
    /// [`parse_refund_notification`] with this client's appid, mch_id and API key.
    ///
    /// # Errors
    /// See [`parse_refund_notification`].
    pub fn refund_notification(&self, body: &[u8]) -> Result<RefundNotifyInfo, NotifyError> {
        parse_refund_notification(body, self.appid(), self.mch_id(), self.api_key())
    }

    /// [`parse_payment_notification`] with this client's appid, mch_id and API key.
    ///
    /// # Errors
    /// See [`parse_payment_notification`].
    pub fn payment_notification(&self, body: &[u8]) -> Result<PaymentNotification, NotifyError> {
        parse_payment_notification(body, self.appid(), self.mch_id(), self.api_key())
    }
}
