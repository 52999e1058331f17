//! Refunds (spec §1.1–§1.5): [`RefundRequest`] and [`Client::refund`],
//! [`Client::refund_query`], and [`AbnormalRefund`] with [`Client::abnormal_refund`].

use paysandbox_protocol::wechat::v3::decode::{DecodeError, check, check_parameter, lenient};
use paysandbox_protocol::wechat::v3::messages::refund::{
    ABNORMAL_REFUND_REQUEST, AbnormalRefundRequest, REFUND_REQUEST, Refund,
    RefundRequest as WireRefundRequest,
};
use paysandbox_protocol::wechat::v3::messages::{CNY, ID32, OUT_REFUND_NO, RefundStatus};
use paysandbox_protocol::wechat::v3::oaep;
use reqwest::Method;
use serde_json::{Map, Value};

use std::time::Duration;

use super::client::Client;
use super::error::Error;
use crate::wechat::WaitOptions;

/// `POST /v3/refund/domestic/refunds`.
pub(crate) const REFUNDS_PATH: &str = "/v3/refund/domestic/refunds";

/// A refund to request, checked against the platform's field rules when built.
///
/// The `out_refund_no` is the refund's idempotency key: sending the same request again (a
/// retry) refunds at most once; a second partial refund needs a new number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    wire: WireRefundRequest,
}

impl RefundRequest {
    /// Starts a request.
    pub fn builder() -> RefundRequestBuilder {
        RefundRequestBuilder::default()
    }

    /// The merchant's refund number.
    pub fn out_refund_no(&self) -> &str {
        &self.wire.out_refund_no
    }

    /// The body as sent.
    pub fn wire(&self) -> &WireRefundRequest {
        &self.wire
    }
}

/// Builds a [`RefundRequest`]. Required: the order (`out_trade_no` or `transaction_id`),
/// `out_refund_no`, `refund` and `total` (fen). The currency is CNY.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RefundRequestBuilder {
    members: Map<String, Value>,
    amount: Map<String, Value>,
}

impl RefundRequestBuilder {
    fn set(mut self, name: &str, value: impl Into<String>) -> Self {
        self.members
            .insert(name.to_owned(), Value::String(value.into()));
        self
    }

    /// The order by the merchant's id.
    pub fn out_trade_no(self, out_trade_no: impl Into<String>) -> Self {
        self.set("out_trade_no", out_trade_no)
    }

    /// The order by WeChat Pay's id (wins over `out_trade_no` if both are given).
    pub fn transaction_id(self, transaction_id: impl Into<String>) -> Self {
        self.set("transaction_id", transaction_id)
    }

    /// The merchant's refund number (1 to 64 of letters, digits and `_-|*@`).
    pub fn out_refund_no(self, out_refund_no: impl Into<String>) -> Self {
        self.set("out_refund_no", out_refund_no)
    }

    /// Fen to refund.
    pub fn refund(mut self, fen: u64) -> Self {
        self.amount.insert("refund".into(), Value::from(fen));
        self
    }

    /// The order's total, fen.
    pub fn total(mut self, fen: u64) -> Self {
        self.amount.insert("total".into(), Value::from(fen));
        self
    }

    /// The reason shown to the user (at most 80 bytes).
    pub fn reason(self, reason: impl Into<String>) -> Self {
        self.set("reason", reason)
    }

    /// Where the refund's notification goes, instead of the configured URL.
    pub fn notify_url(self, url: impl Into<String>) -> Self {
        self.set("notify_url", url)
    }

    /// `AVAILABLE` (old fund flow) or `UNSETTLED`.
    pub fn funds_account(self, account: impl Into<String>) -> Self {
        self.set("funds_account", account)
    }

    /// Checks every field and the rules across them (one order id; `refund ≤ total`).
    ///
    /// # Errors
    /// [`DecodeError`] naming the field, as the platform's PARAM_ERROR would.
    pub fn build(self) -> Result<RefundRequest, DecodeError> {
        let mut members = self.members;
        let mut amount = self.amount;
        amount.insert("currency".into(), Value::from(CNY));
        members.insert("amount".into(), Value::Object(amount));
        let value = Value::Object(members);
        check(&value, REFUND_REQUEST)?;
        let wire: WireRefundRequest =
            serde_json::from_value(value).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        wire.validate()?;
        Ok(RefundRequest { wire })
    }
}

/// Where an [`AbnormalRefund`] sends the money instead of the failed original route.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AbnormalRefundTarget {
    /// The user's bank card (`USER_BANK_CARD`): the card number and the holder's name travel
    /// RSA-OAEP-encrypted for the platform key.
    UserBankCard {
        /// The bank's code, e.g. `ICBC_DEBIT`.
        bank_type: String,
        /// The card number (plaintext here; encrypted before sending).
        bank_account: String,
        /// The account holder's name (plaintext here; encrypted before sending).
        real_name: String,
    },
    /// The merchant's bank card (`MERCHANT_BANK_CARD`): the merchant pays the user itself.
    MerchantBankCard,
}

/// `POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund`: redirects a refund
/// whose status is ABNORMAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbnormalRefund {
    /// The refund's merchant number.
    pub out_refund_no: String,
    /// Where the money goes.
    pub target: AbnormalRefundTarget,
}

impl Client {
    /// Requests a refund. The answer is the refund as accepted (usually `PROCESSING`); its
    /// result comes from [`Client::refund_query`] or the notification.
    ///
    /// # Errors
    /// [`Error`]; [`Error::is_outcome_unknown`] says whether it may have been made anyway.
    pub async fn refund(&self, request: &RefundRequest) -> Result<Refund, Error> {
        let body = serde_json::to_vec(&request.wire).map_err(|e| Error::decode(e.to_string()))?;
        let answer = self
            .call(Method::POST, REFUNDS_PATH, Some(body), 200)
            .await?;
        open_refund(&answer, &request.wire.out_refund_no)
    }

    /// Queries a refund by the merchant's refund number.
    ///
    /// # Errors
    /// [`Error`]; an unknown refund is `RESOURCE_NOT_EXISTS` (404).
    pub async fn refund_query(&self, out_refund_no: &str) -> Result<Refund, Error> {
        check_parameter(
            "out_refund_no",
            "商户退款单号",
            Some(out_refund_no),
            &OUT_REFUND_NO,
        )?;
        let path = format!("{REFUNDS_PATH}/{out_refund_no}");
        let answer = self.call(Method::GET, &path, None, 200).await?;
        open_refund(&answer, out_refund_no)
    }

    /// Redirects an ABNORMAL refund (`refund_id` is WeChat Pay's id of it) to a bank card.
    /// The card number and name are encrypted for the platform key the client names in
    /// `Wechatpay-Serial` ([`Client::wechatpay_serial`]).
    ///
    /// # Errors
    /// [`Error`]; [`Error::Crypto`] when no platform key is trusted.
    pub async fn abnormal_refund(
        &self,
        refund_id: &str,
        request: &AbnormalRefund,
    ) -> Result<Refund, Error> {
        check_parameter("refund_id", "微信支付退款单号", Some(refund_id), &ID32)?;
        let mut wire = AbnormalRefundRequest {
            sub_mchid: None,
            out_refund_no: request.out_refund_no.clone(),
            kind: String::new(),
            bank_type: None,
            bank_account: None,
            real_name: None,
        };
        match &request.target {
            AbnormalRefundTarget::UserBankCard {
                bank_type,
                bank_account,
                real_name,
            } => {
                let (_, key) = self.encryption_key()?;
                let encrypt = |text: &str| {
                    oaep::encrypt_field(&key, text).map_err(|e| Error::Crypto(e.to_string()))
                };
                wire.kind = "USER_BANK_CARD".into();
                wire.bank_type = Some(bank_type.clone());
                wire.bank_account = Some(encrypt(bank_account)?);
                wire.real_name = Some(encrypt(real_name)?);
            }
            AbnormalRefundTarget::MerchantBankCard => wire.kind = "MERCHANT_BANK_CARD".into(),
        }
        let value = serde_json::to_value(&wire).map_err(|e| Error::decode(e.to_string()))?;
        check(&value, ABNORMAL_REFUND_REQUEST)?;
        wire.validate()?;
        let body = serde_json::to_vec(&value).map_err(|e| Error::decode(e.to_string()))?;
        let path = format!("{REFUNDS_PATH}/{refund_id}/apply-abnormal-refund");
        let answer = self.call(Method::POST, &path, Some(body), 200).await?;
        open_refund(&answer, &request.out_refund_no)
    }
}

impl Client {
    /// Queries a refund until it is final (SUCCESS, CLOSED or ABNORMAL) or `options`' deadline
    /// passes, waiting on the client's clock between queries (from the first interval,
    /// doubling up to the longest). Retryable query failures are polled through; others end
    /// the wait.
    ///
    /// # Errors
    /// [`Error::Timeout`] at the deadline; the first non-retryable query error.
    pub async fn wait_for_refund(
        &self,
        out_refund_no: &str,
        options: WaitOptions,
    ) -> Result<Refund, Error> {
        check_parameter(
            "out_refund_no",
            "商户退款单号",
            Some(out_refund_no),
            &OUT_REFUND_NO,
        )?;
        let clock = self.clock();
        let start = clock.now();
        let mut interval = options.poll_interval().max(Duration::from_millis(1));
        let mut last_status = None;
        loop {
            match self.refund_query(out_refund_no).await {
                Ok(refund) if refund.refund_status() == Some(RefundStatus::Processing) => {
                    last_status = Some(refund.status);
                }
                Ok(refund) => return Ok(refund),
                Err(error) if error.is_retryable() => {
                    tracing::debug!(%error, "refund query failed; polling on");
                }
                Err(error) => return Err(error),
            }
            let waited = clock.now().saturating_duration_since(start);
            let Some(left) = options
                .timeout()
                .checked_sub(waited)
                .filter(|l| !l.is_zero())
            else {
                return Err(Error::Timeout {
                    waited,
                    last_status,
                });
            };
            clock.sleep(interval.min(left)).await;
            interval = interval
                .saturating_mul(2)
                .min(options.max_poll_interval().max(interval));
        }
    }
}

/// Decodes a refund answer and checks it is about the refund asked for.
fn open_refund(body: &[u8], out_refund_no: &str) -> Result<Refund, Error> {
    let refund: Refund = lenient(body).map_err(|e| Error::decode(e.to_string()))?;
    if refund.out_refund_no != out_refund_no {
        return Err(Error::decode(format!(
            "the answer is about refund {:?}, not {out_refund_no:?}",
            refund.out_refund_no
        )));
    }
    Ok(refund)
}

/// The body of a refund request in its wire form, for tests and logs.
#[cfg(test)]
fn body_of(request: &RefundRequest) -> Value {
    serde_json::to_value(request.wire()).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_the_documented_body() {
        let request = RefundRequest::builder()
            .out_trade_no("demo-order-0001")
            .out_refund_no("R-1|a*b@c")
            .refund(250)
            .total(1000)
            .reason("破损")
            .build()
            .unwrap();
        assert_eq!(
            body_of(&request),
            json!({
                "out_trade_no": "demo-order-0001",
                "out_refund_no": "R-1|a*b@c",
                "reason": "破损",
                "amount": {"refund": 250, "total": 1000, "currency": "CNY"},
            })
        );
    }

    #[test]
    fn refuses_what_the_platform_refuses() {
        let base = || {
            RefundRequest::builder()
                .out_trade_no("o1")
                .out_refund_no("r1")
                .refund(1)
                .total(1)
        };
        assert!(base().build().is_ok());
        assert!(matches!(
            RefundRequest::builder().out_refund_no("r1").refund(1).total(1).build(),
            Err(DecodeError::Missing { pointer, .. }) if pointer == "/out_trade_no"
        ));
        assert!(matches!(
            base().refund(2).build(),
            Err(DecodeError::Rule { pointer, .. }) if pointer == "/amount/refund"
        ));
        assert!(matches!(
            base().refund(0).build(),
            Err(DecodeError::Rule { pointer, .. }) if pointer == "/amount/refund"
        ));
        assert!(matches!(
            base().out_refund_no("退款").build(),
            Err(DecodeError::Rule { pointer, .. }) if pointer == "/out_refund_no"
        ));
        assert!(matches!(
            RefundRequest::builder().out_trade_no("o").out_refund_no("r").total(1).build(),
            Err(DecodeError::Missing { pointer, .. }) if pointer == "/amount/refund"
        ));
        assert!(matches!(
            base().reason("x".repeat(81)).build(),
            Err(DecodeError::Rule { pointer, .. }) if pointer == "/reason"
        ));
    }
}
