//! Notifications (spec §1.4, §1.6) and `GET /v3/certificates` (spec §1.8).

use serde::{Deserialize, Serialize};

use super::RefundStatus;
use crate::wechat::v3::aead::{AeadError, ApiV3Key, EncryptedResource};

/// `resource_type` of every notification.
pub const RESOURCE_TYPE: &str = "encrypt-resource";
/// `resource.original_type` of refund notifications.
pub const ORIGINAL_TYPE_REFUND: &str = "refund";
/// `resource.original_type` of payment notifications.
pub const ORIGINAL_TYPE_TRANSACTION: &str = "transaction";
/// `associated_data` of `/v3/certificates` entries.
pub const CERTIFICATE_ASSOCIATED_DATA: &str = "certificate";

/// The notification event types the sandbox sends, with their `summary`.
pub const EVENT_TYPES: &[(&str, &str)] = &[
    ("REFUND.SUCCESS", "退款成功"),
    ("REFUND.ABNORMAL", "退款异常"),
    ("REFUND.CLOSED", "退款关闭"),
    ("TRANSACTION.SUCCESS", "支付成功"),
];

/// The notification envelope POSTed to `notify_url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// `EV-…`-style id of the event (the same for every retry).
    pub id: String,
    /// When the event was created (RFC 3339).
    pub create_time: String,
    /// `encrypt-resource`.
    pub resource_type: String,
    /// `REFUND.SUCCESS`, `TRANSACTION.SUCCESS`, …
    pub event_type: String,
    /// A short text, e.g. `退款成功`.
    pub summary: String,
    /// The encrypted payload.
    pub resource: EncryptedResource,
}

impl Notification {
    /// Decrypts the payload's JSON text.
    ///
    /// # Errors
    /// [`AeadError`].
    pub fn plaintext(&self, key: &ApiV3Key) -> Result<String, AeadError> {
        self.resource.open_text(key)
    }
}

/// The plaintext of REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNotification {
    /// The merchant.
    pub mchid: String,
    /// WeChat Pay's order id.
    pub transaction_id: String,
    /// The merchant's order id.
    pub out_trade_no: String,
    /// WeChat Pay's refund id.
    pub refund_id: String,
    /// The merchant's refund number.
    pub out_refund_no: String,
    /// [`RefundStatus`] (`SUCCESS`, `ABNORMAL`, `CLOSED`).
    pub refund_status: String,
    /// When it succeeded (SUCCESS only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// Where the money went.
    pub user_received_account: String,
    /// The amounts.
    pub amount: RefundNotificationAmount,
}

impl RefundNotification {
    /// The status, if a known one.
    #[must_use]
    pub fn status(&self) -> Option<RefundStatus> {
        RefundStatus::from_wire(&self.refund_status)
    }
}

/// A refund notification's `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNotificationAmount {
    /// The order total.
    pub total: u64,
    /// The refund.
    pub refund: u64,
    /// What the user paid.
    pub payer_total: u64,
    /// What the user gets back.
    pub payer_refund: u64,
}

/// `GET /v3/certificates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificatesResponse {
    /// The platform certificates, newest last.
    pub data: Vec<PlatformCertificate>,
}

/// One platform certificate, encrypted with the APIv3 key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformCertificate {
    /// Its serial (upper-case hex).
    pub serial_no: String,
    /// Valid from (RFC 3339).
    pub effective_time: String,
    /// Valid until (RFC 3339).
    pub expire_time: String,
    /// The PEM, AEAD-encrypted with `associated_data` `certificate`.
    pub encrypt_certificate: EncryptedResource,
}

impl PlatformCertificate {
    /// Decrypts the certificate's PEM.
    ///
    /// # Errors
    /// [`AeadError`].
    pub fn certificate_pem(&self, key: &ApiV3Key) -> Result<String, AeadError> {
        self.encrypt_certificate.open_text(key)
    }
}
