//! Receiving Alipay asynchronous notifications (spec §7): verify the form with Alipay's
//! public key (the "V1" content: `sign` and `sign_type` left out), read it with amounts in
//! fen, and answer [`SUCCESS_REPLY`].
//!
//! ```no_run
//! # fn handle(client: &paysandbox_sdk::alipay::Client, body: &[u8]) -> &'static str {
//! use paysandbox_sdk::alipay::notify;
//! match client.notification(body) {
//!     // Check out_trade_no and total_amount against your records, de-duplicate by notify_id.
//!     Ok(n) => notify::SUCCESS_REPLY,
//!     Err(_) => "fail",
//! }
//! # }
//! ```

pub use paysandbox_protocol::alipay::notify::{
    NotifyError, NotifyFundBill, SUCCESS_REPLY, TradeNotification, is_success_reply,
};

use paysandbox_protocol::alipay::notify::verify_notification;
use paysandbox_protocol::alipay::parse_urlencoded;
use paysandbox_protocol::rsa;

use super::Client;

/// Parses a notification's form body, verifies its signature with `alipay_public_key` and
/// its own `sign_type`, checks `app_id`, and reads the fields.
///
/// # Errors
/// [`NotifyError`]: a malformed form, a bad signature, another app's notification, or a
/// malformed field.
pub fn parse_notification(
    body: &[u8],
    app_id: &str,
    alipay_public_key: &rsa::PublicKey,
) -> Result<TradeNotification, NotifyError> {
    let params = parse_urlencoded(body)?;
    verify_notification(&params, alipay_public_key)?;
    let notification = TradeNotification::from_params(&params)?;
    if notification.app_id != app_id {
        return Err(NotifyError::AppIdMismatch {
            found: notification.app_id,
            expected: app_id.to_owned(),
        });
    }
    Ok(notification)
}

impl Client {
    /// [`parse_notification`] with this client's app_id and Alipay public key.
    ///
    /// # Errors
    /// See [`parse_notification`].
    pub fn notification(&self, body: &[u8]) -> Result<TradeNotification, NotifyError> {
        parse_notification(body, self.app_id(), self.alipay_public_key())
    }
}
