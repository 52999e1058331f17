//! Asynchronous notifications (`notify_url`, spec §7): the form Alipay POSTs after a payment,
//! a refund or a close, its signature, and the merchant's `success` reply.
//!
//! Signature content ("V1", java `rsaCheckV1`, §7.3): every parameter except `sign` **and
//! `sign_type`**, empty values dropped, sorted by key, `k=v` joined by `&` with the decoded
//! values. Signed with Alipay's (platform) private key, hash by `sign_type`. Notifications
//! built here never carry an empty value, because Go and Node clients would sign `k=` where
//! Java drops it.

use crate::rsa::{PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};

use super::form::{Params, first_value};
use super::messages::TradeStatus;
use super::sign::{SignType, SignatureError, canonical_string, sign_bytes, verify_bytes};
use crate::money::{format_yuan, parse_yuan_unbounded as parse_yuan};

/// The body a merchant must answer with (§7.4): anything else, after trimming whitespace, is
/// a failure and is retried.
pub const SUCCESS_REPLY: &str = "success";

/// True when a reply body acknowledges the notification: `success` once surrounding
/// whitespace is trimmed (Alipay's own Java demo answers with `println`).
pub fn is_success_reply(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok_and(|s| s.trim() == SUCCESS_REPLY)
}

/// The V1 string to sign of a notification: `sign` and `sign_type` dropped, empty values
/// dropped, sorted, `k=v&...` with the values as given (already decoded).
pub fn sign_content(params: &[(String, String)]) -> String {
    let kept: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "sign_type")
        .cloned()
        .collect();
    canonical_string(&kept)
}

/// Signs a notification: sets `sign_type` and appends `sign` (replacing any earlier ones).
///
/// # Errors
/// [`SignatureError::Signing`] if the private-key operation fails.
pub fn sign_notification(
    params: &mut Params,
    key: &RsaPrivateKey,
    sign_type: SignType,
) -> Result<(), SignatureError> {
    params.retain(|(k, _)| k != "sign" && k != "sign_type");
    let sign = sign_bytes(sign_content(params).as_bytes(), key, sign_type)?;
    params.push(("sign_type".into(), sign_type.as_str().into()));
    params.push(("sign".into(), sign));
    Ok(())
}

/// Why a notification could not be verified or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The body is not a well-formed form.
    #[error("notification body: {0}")]
    Form(#[from] super::form::FormError),
    /// `sign_type` is absent or neither `RSA2` nor `RSA`.
    #[error("notification sign_type missing or unknown")]
    SignType,
    /// The signature is missing, malformed or does not match.
    #[error("notification signature: {0}")]
    Signature(#[from] SignatureError),
    /// A required field is absent or empty.
    #[error("notification field {0} is missing")]
    Missing(&'static str),
    /// A field is malformed (an amount that is not yuan with at most two decimals, bad JSON).
    #[error("notification field {0} is invalid")]
    Invalid(&'static str),
    /// `app_id` is not the expected one.
    #[error("app_id is {found:?}, expected {expected:?}")]
    AppIdMismatch {
        /// What the notification says.
        found: String,
        /// What the receiver expected.
        expected: String,
    },
}

/// Verifies a notification's `sign` with Alipay's public key and the notification's own
/// `sign_type`; returns that sign type.
///
/// # Errors
/// [`NotifyError::SignType`] or [`NotifyError::Signature`].
pub fn verify_notification(
    params: &[(String, String)],
    key: &RsaPublicKey,
) -> Result<SignType, NotifyError> {
    let sign_type = first_value(params, "sign_type")
        .and_then(SignType::from_wire)
        .ok_or(NotifyError::SignType)?;
    let sign = first_value(params, "sign").ok_or(SignatureError::MissingSignature)?;
    verify_bytes(sign_content(params).as_bytes(), sign, key, sign_type)?;
    Ok(sign_type)
}

/// One entry of `fund_bill_list` (a JSON string with camelCase keys in notifications).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyFundBill {
    /// `fundChannel`, e.g. `ALIPAYACCOUNT`.
    pub fund_channel: String,
    /// `amount`, fen.
    pub amount: u64,
}

/// A `trade_status_sync` notification (§7.2): a payment, a refund (`out_biz_no`,
/// cumulative `refund_fee`, `gmt_refund`) or a close. Amounts are fen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeNotification {
    /// `notify_time`: `yyyy-MM-dd HH:mm:ss`.
    pub notify_time: String,
    /// `notify_type`: `trade_status_sync`.
    pub notify_type: String,
    /// `notify_id`: the same across retries of one notification.
    pub notify_id: String,
    /// `app_id`.
    pub app_id: String,
    /// `charset` (`utf-8`).
    pub charset: String,
    /// `version` (`1.0`).
    pub version: String,
    /// `trade_no`.
    pub trade_no: String,
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// `out_biz_no`: the refund's `out_request_no`, on refund notifications.
    pub out_biz_no: Option<String>,
    /// `buyer_id`.
    pub buyer_id: Option<String>,
    /// `buyer_logon_id` (masked).
    pub buyer_logon_id: Option<String>,
    /// `seller_id`.
    pub seller_id: Option<String>,
    /// `seller_email`.
    pub seller_email: Option<String>,
    /// `trade_status`.
    pub trade_status: TradeStatus,
    /// `total_amount`, fen.
    pub total_amount: u64,
    /// `receipt_amount`, fen.
    pub receipt_amount: Option<u64>,
    /// `invoice_amount`, fen.
    pub invoice_amount: Option<u64>,
    /// `buyer_pay_amount`, fen.
    pub buyer_pay_amount: Option<u64>,
    /// `point_amount`, fen.
    pub point_amount: Option<u64>,
    /// `refund_fee`, fen: the **cumulative** refunded total (§7.2).
    pub refund_fee: Option<u64>,
    /// `send_back_fee`, fen.
    pub send_back_fee: Option<u64>,
    /// `subject`.
    pub subject: Option<String>,
    /// `body`.
    pub body: Option<String>,
    /// `gmt_create`: `yyyy-MM-dd HH:mm:ss`.
    pub gmt_create: Option<String>,
    /// `gmt_payment`.
    pub gmt_payment: Option<String>,
    /// `gmt_refund`: `yyyy-MM-dd HH:mm:ss.S` (milliseconds, e.g. `2020-03-27 18:19:15.143`).
    pub gmt_refund: Option<String>,
    /// `gmt_close`.
    pub gmt_close: Option<String>,
    /// `fund_bill_list` (sent as a JSON string).
    pub fund_bill_list: Vec<NotifyFundBill>,
    /// `passback_params`, echoed from the payment request.
    pub passback_params: Option<String>,
}

impl TradeNotification {
    /// The form fields, unsigned, empty values left out (see the module docs).
    pub fn to_params(&self) -> Params {
        let mut p: Params = Vec::with_capacity(32);
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                p.push((k.to_owned(), v));
            }
        };
        let yuan = |v: Option<u64>| v.map(format_yuan);
        put("notify_time", Some(self.notify_time.clone()));
        put("notify_type", Some(self.notify_type.clone()));
        put("notify_id", Some(self.notify_id.clone()));
        put("app_id", Some(self.app_id.clone()));
        put("auth_app_id", Some(self.app_id.clone()));
        put("charset", Some(self.charset.clone()));
        put("version", Some(self.version.clone()));
        put("trade_no", Some(self.trade_no.clone()));
        put("out_trade_no", Some(self.out_trade_no.clone()));
        put("out_biz_no", self.out_biz_no.clone());
        put("buyer_id", self.buyer_id.clone());
        put("buyer_logon_id", self.buyer_logon_id.clone());
        put("seller_id", self.seller_id.clone());
        put("seller_email", self.seller_email.clone());
        put("trade_status", Some(self.trade_status.as_str().to_owned()));
        put("total_amount", Some(format_yuan(self.total_amount)));
        put("receipt_amount", yuan(self.receipt_amount));
        put("invoice_amount", yuan(self.invoice_amount));
        put("buyer_pay_amount", yuan(self.buyer_pay_amount));
        put("point_amount", yuan(self.point_amount));
        put("refund_fee", yuan(self.refund_fee));
        put("send_back_fee", yuan(self.send_back_fee));
        put("subject", self.subject.clone());
        put("body", self.body.clone());
        put("gmt_create", self.gmt_create.clone());
        put("gmt_payment", self.gmt_payment.clone());
        put("gmt_refund", self.gmt_refund.clone());
        put("gmt_close", self.gmt_close.clone());
        if !self.fund_bill_list.is_empty() {
            let list: Vec<serde_json::Value> = self
                .fund_bill_list
                .iter()
                .map(|b| {
                    serde_json::json!({
                        "amount": format_yuan(b.amount),
                        "fundChannel": b.fund_channel,
                    })
                })
                .collect();
            put("fund_bill_list", serde_json::to_string(&list).ok());
        }
        put("passback_params", self.passback_params.clone());
        p
    }

    /// Reads the fields of a (verified) notification; unknown fields are ignored.
    ///
    /// # Errors
    /// [`NotifyError::Missing`] or [`NotifyError::Invalid`].
    pub fn from_params(params: &[(String, String)]) -> Result<Self, NotifyError> {
        let get = |k: &str| first_value(params, k).filter(|v| !v.is_empty());
        let text = |k: &'static str| get(k).map(str::to_owned).ok_or(NotifyError::Missing(k));
        let opt = |k: &str| get(k).map(str::to_owned);
        let fen = |k: &'static str| {
            get(k)
                .map(|v| parse_yuan(v).map_err(|_| NotifyError::Invalid(k)))
                .transpose()
        };
        let fund_bill_list = match get("fund_bill_list") {
            None => Vec::new(),
            Some(json) => {
                let list: Vec<serde_json::Value> = serde_json::from_str(json)
                    .map_err(|_| NotifyError::Invalid("fund_bill_list"))?;
                list.iter()
                    .map(|item| {
                        let channel = item
                            .get("fundChannel")
                            .and_then(serde_json::Value::as_str)
                            .ok_or(NotifyError::Invalid("fund_bill_list"))?;
                        let amount = item
                            .get("amount")
                            .and_then(serde_json::Value::as_str)
                            .and_then(|a| parse_yuan(a).ok())
                            .ok_or(NotifyError::Invalid("fund_bill_list"))?;
                        Ok(NotifyFundBill {
                            fund_channel: channel.to_owned(),
                            amount,
                        })
                    })
                    .collect::<Result<Vec<_>, NotifyError>>()?
            }
        };
        Ok(Self {
            notify_time: text("notify_time")?,
            notify_type: text("notify_type")?,
            notify_id: text("notify_id")?,
            app_id: text("app_id")?,
            charset: opt("charset").unwrap_or_default(),
            version: opt("version").unwrap_or_default(),
            trade_no: text("trade_no")?,
            out_trade_no: text("out_trade_no")?,
            out_biz_no: opt("out_biz_no"),
            buyer_id: opt("buyer_id"),
            buyer_logon_id: opt("buyer_logon_id"),
            seller_id: opt("seller_id"),
            seller_email: opt("seller_email"),
            trade_status: TradeStatus::from_wire(&text("trade_status")?),
            total_amount: fen("total_amount")?.ok_or(NotifyError::Missing("total_amount"))?,
            receipt_amount: fen("receipt_amount")?,
            invoice_amount: fen("invoice_amount")?,
            buyer_pay_amount: fen("buyer_pay_amount")?,
            point_amount: fen("point_amount")?,
            refund_fee: fen("refund_fee")?,
            send_back_fee: fen("send_back_fee")?,
            subject: opt("subject"),
            body: opt("body"),
            gmt_create: opt("gmt_create"),
            gmt_payment: opt("gmt_payment"),
            gmt_refund: opt("gmt_refund"),
            gmt_close: opt("gmt_close"),
            fund_bill_list,
            passback_params: opt("passback_params"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Params {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn v1_content_drops_sign_sign_type_and_empty_values() {
        let p = pairs(&[
            ("sign", "xx"),
            ("trade_status", "TRADE_SUCCESS"),
            ("sign_type", "RSA2"),
            ("app_id", "2021"),
            ("body", ""),
            ("subject", "a b&c"),
        ]);
        assert_eq!(
            sign_content(&p),
            "app_id=2021&subject=a b&c&trade_status=TRADE_SUCCESS"
        );
    }

    #[test]
    fn success_reply_is_trimmed_and_exact() {
        assert!(is_success_reply(b"success"));
        assert!(is_success_reply(b"success\r\n"));
        assert!(!is_success_reply(b"SUCCESS"));
        assert!(!is_success_reply(b"\"success\""));
        assert!(!is_success_reply(b"<html>success</html>"));
        assert!(!is_success_reply(b"\xff"));
    }
}
