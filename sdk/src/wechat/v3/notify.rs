//! Receiving API v3 notifications (spec §1.4, §1.6): verify the `Wechatpay-*` headers with the
//! trusted platform keys (a `WECHATPAY/SIGNTEST/` probe is refused, as the platform expects),
//! decrypt the resource with the APIv3 key, check it is for this merchant.
//!
//! ```no_run
//! # fn handle(client: &paysandbox_sdk::wechat::v3::Client, headers: &reqwest::header::HeaderMap, body: &[u8]) -> (u16, String) {
//! use paysandbox_sdk::wechat::v3::notify;
//! match client.refund_notification(&notify::headers(headers), body) {
//!     Ok((_envelope, refund)) => {
//!         // refund.refund_status, refund.amount.refund (fen) ...; de-duplicate: the same
//!         // notification may arrive more than once.
//!         (204, String::new())
//!     }
//!     Err(error) => (500, notify::fail_body(&error.to_string())),
//! }
//! # }
//! ```
//!
//! Answer 200 or 204 only once the result is stored; anything else makes the platform send
//! it again, 15 times over about a day.

use paysandbox_protocol::wechat::v3::decode::lenient;
use paysandbox_protocol::wechat::v3::messages::notification::{
    ORIGINAL_TYPE_REFUND, ORIGINAL_TYPE_TRANSACTION, RESOURCE_TYPE,
};
use paysandbox_protocol::wechat::v3::messages::{Notification, RefundNotification, Transaction};
use paysandbox_protocol::wechat::v3::response::ReceivedHeaders;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use super::client::{Client, unix_now};
use super::error::Error;

/// The signature headers of a notification, read from an `http` header map (what hyper,
/// axum and reqwest use).
pub fn headers(map: &HeaderMap) -> ReceivedHeaders<'_> {
    ReceivedHeaders::from_lookup(|name| map.get(name).and_then(|v| v.to_str().ok()))
}

/// The body of a failure answer: `{"code":"FAIL","message":…}` (send it with a 4xx or 5xx).
pub fn fail_body(message: &str) -> String {
    serde_json::json!({ "code": "FAIL", "message": message }).to_string()
}

impl Client {
    /// Verifies and decrypts a refund notification (REFUND.SUCCESS, REFUND.ABNORMAL,
    /// REFUND.CLOSED): the envelope and the refund.
    ///
    /// # Errors
    /// [`Error::Signature`] (a probe included), [`Error::Decode`] for a body that is not a
    /// refund notification for this merchant or does not decrypt, [`Error::Config`] without
    /// an APIv3 key.
    pub fn refund_notification(
        &self,
        headers: &ReceivedHeaders<'_>,
        body: &[u8],
    ) -> Result<(Notification, RefundNotification), Error> {
        let (envelope, refund): (_, RefundNotification) =
            self.open_notification(headers, body, ORIGINAL_TYPE_REFUND, "REFUND.")?;
        self.check_mchid(&refund.mchid)?;
        Ok((envelope, refund))
    }

    /// Verifies and decrypts a payment notification (TRANSACTION.SUCCESS): the envelope and
    /// the order.
    ///
    /// # Errors
    /// As [`Client::refund_notification`].
    pub fn payment_notification(
        &self,
        headers: &ReceivedHeaders<'_>,
        body: &[u8],
    ) -> Result<(Notification, Transaction), Error> {
        let (envelope, transaction): (_, Transaction) =
            self.open_notification(headers, body, ORIGINAL_TYPE_TRANSACTION, "TRANSACTION.")?;
        self.check_mchid(&transaction.mchid)?;
        Ok((envelope, transaction))
    }

    fn check_mchid(&self, mchid: &str) -> Result<(), Error> {
        if mchid == self.mchid() {
            Ok(())
        } else {
            Err(Error::decode(format!(
                "the notification is for merchant {mchid:?}, not {:?}",
                self.mchid()
            )))
        }
    }

    fn open_notification<T: DeserializeOwned>(
        &self,
        headers: &ReceivedHeaders<'_>,
        body: &[u8],
        original_type: &str,
        event_prefix: &str,
    ) -> Result<(Notification, T), Error> {
        self.verifier_with(&[])
            .verify(headers, body, unix_now())
            .map_err(Error::Signature)?;
        let envelope: Notification = lenient(body).map_err(|e| Error::decode(e.to_string()))?;
        if envelope.resource_type != RESOURCE_TYPE
            || !envelope.event_type.starts_with(event_prefix)
            || envelope.resource.original_type.as_deref() != Some(original_type)
        {
            return Err(Error::decode(format!(
                "a {} notification of {:?}, not a {original_type} one",
                envelope.event_type, envelope.resource.original_type
            )));
        }
        let plaintext = envelope
            .plaintext(self.apiv3_key()?)
            .map_err(|e| Error::decode(format!("resource: {e}")))?;
        let resource = lenient(plaintext.as_bytes()).map_err(|e| Error::decode(e.to_string()))?;
        Ok((envelope, resource))
    }
}
