//! `alipay.trade.precreate` (spec §6.5): [`PrecreateRequest`] and [`Client::precreate`], a
//! face-to-face QR code payment, enough to make trades to refund.

use paysandbox_protocol::alipay::{BizRequest, TradePrecreateRequest, TradePrecreateResponse};
use paysandbox_protocol::money::Fen;

use super::client::Client;
use super::error::{Error, FieldError};
use super::fields;
use super::trade::{biz, shape};

/// A QR code order to create.
///
/// ```
/// use paysandbox_sdk::alipay::PrecreateRequest;
///
/// let order = PrecreateRequest::builder()
///     .out_trade_no("order-42")
///     .total_amount(8888) // fen: "88.88"
///     .subject("a book")
///     .timeout_express("90m")
///     .build()?;
/// assert_eq!(order.total_amount(), 8888);
/// # Ok::<(), paysandbox_sdk::alipay::FieldError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrecreateRequest {
    wire: TradePrecreateRequest,
}

impl PrecreateRequest {
    /// Starts a precreate request.
    pub fn builder() -> PrecreateRequestBuilder {
        PrecreateRequestBuilder::default()
    }

    /// The merchant's order number.
    pub fn out_trade_no(&self) -> &str {
        &self.wire.out_trade_no
    }

    /// The order total, fen.
    pub fn total_amount(&self) -> u64 {
        self.wire.total_amount.0
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), FieldError> {
        let w = &self.wire;
        fields::id("out_trade_no", &w.out_trade_no, 64)?;
        fields::amount("total_amount", w.total_amount.0)?;
        fields::required_text("subject", &w.subject, 256)?;
        fields::opt(w.body.as_ref(), |v| fields::text("body", v, 128))?;
        fields::opt(w.product_code.as_ref(), |v| {
            fields::id("product_code", v, 64)
        })?;
        fields::opt(w.store_id.as_ref(), |v| fields::id("store_id", v, 32))?;
        fields::opt(w.operator_id.as_ref(), |v| fields::id("operator_id", v, 28))?;
        fields::opt(w.terminal_id.as_ref(), |v| fields::id("terminal_id", v, 32))?;
        fields::opt(w.timeout_express.as_ref(), |v| {
            fields::timeout_express("timeout_express", v)
        })?;
        fields::opt(w.qr_code_timeout_express.as_ref(), |v| {
            fields::timeout_express("qr_code_timeout_express", v)
        })
    }
}

/// Builds a [`PrecreateRequest`]. Required: `out_trade_no`, `total_amount`, `subject`.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct PrecreateRequestBuilder {
    out_trade_no: Option<String>,
    total_amount: Option<u64>,
    subject: Option<String>,
    body: Option<String>,
    product_code: Option<String>,
    store_id: Option<String>,
    operator_id: Option<String>,
    terminal_id: Option<String>,
    timeout_express: Option<String>,
    qr_code_timeout_express: Option<String>,
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl PrecreateRequestBuilder {
    /// The merchant's order number (1 to 64 printable ASCII characters).
    pub fn out_trade_no(mut self, no: impl Into<String>) -> Self {
        self.out_trade_no = Some(no.into());
        self
    }

    /// The order total in fen, sent as yuan: 0.01 to 100000000.00.
    pub fn total_amount(mut self, fen: u64) -> Self {
        self.total_amount = Some(fen);
        self
    }

    /// The order title (at most 256 characters).
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The order description (at most 128 characters).
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = non_empty(body.into());
        self
    }

    /// The product, e.g. `FACE_TO_FACE_PAYMENT`.
    pub fn product_code(mut self, code: impl Into<String>) -> Self {
        self.product_code = non_empty(code.into());
        self
    }

    /// The merchant's store (at most 32 characters).
    pub fn store_id(mut self, id: impl Into<String>) -> Self {
        self.store_id = non_empty(id.into());
        self
    }

    /// The merchant's operator (at most 28 characters).
    pub fn operator_id(mut self, id: impl Into<String>) -> Self {
        self.operator_id = non_empty(id.into());
        self
    }

    /// The merchant's terminal (at most 32 characters).
    pub fn terminal_id(mut self, id: impl Into<String>) -> Self {
        self.terminal_id = non_empty(id.into());
        self
    }

    /// How long the buyer may take to pay, e.g. `90m`, `2h`, `1d`, `1c` (end of day).
    pub fn timeout_express(mut self, timeout: impl Into<String>) -> Self {
        self.timeout_express = non_empty(timeout.into());
        self
    }

    /// How long the QR code stays valid, same form as [`Self::timeout_express`].
    pub fn qr_code_timeout_express(mut self, timeout: impl Into<String>) -> Self {
        self.qr_code_timeout_express = non_empty(timeout.into());
        self
    }

    /// Checks every field and builds the request.
    pub fn build(self) -> Result<PrecreateRequest, FieldError> {
        let request = PrecreateRequest {
            wire: TradePrecreateRequest {
                out_trade_no: self
                    .out_trade_no
                    .ok_or(FieldError::missing("out_trade_no"))?,
                total_amount: Fen(self
                    .total_amount
                    .ok_or(FieldError::missing("total_amount"))?),
                subject: self.subject.ok_or(FieldError::missing("subject"))?,
                body: self.body,
                product_code: self.product_code,
                store_id: self.store_id,
                operator_id: self.operator_id,
                terminal_id: self.terminal_id,
                timeout_express: self.timeout_express,
                qr_code_timeout_express: self.qr_code_timeout_express,
            },
        };
        request.validate()?;
        Ok(request)
    }
}

impl Client {
    /// Creates a QR code order (`alipay.trade.precreate`) and returns its `qr_code`. The
    /// trade exists for query, refund and close only once the buyer scans the code.
    /// Repeating the same order (same number, amount and subject) returns the same code.
    pub async fn precreate(
        &self,
        request: &PrecreateRequest,
    ) -> Result<TradePrecreateResponse, Error> {
        request.validate()?;
        let method = TradePrecreateRequest::METHOD;
        let json = self.call(method, &biz(&request.wire)?).await?;
        let response: TradePrecreateResponse =
            serde_json::from_str(&json).map_err(shape(method))?;
        if response
            .out_trade_no
            .as_ref()
            .is_some_and(|no| *no != request.wire.out_trade_no)
        {
            return Err(Error::decode("the response is about another order"));
        }
        if response.qr_code.as_deref().is_none_or(str::is_empty) {
            return Err(Error::decode("precreate answered without a qr_code"));
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_checks_fields() {
        let b = || {
            PrecreateRequest::builder()
                .out_trade_no("o-1")
                .total_amount(8888)
                .subject("书")
        };
        let r = b().build().unwrap();
        assert_eq!(
            r.wire.to_biz_content().unwrap(),
            r#"{"out_trade_no":"o-1","total_amount":"88.88","subject":"书"}"#
        );
        let field = |b: PrecreateRequestBuilder| b.build().unwrap_err().field;
        assert_eq!(field(b().subject("")), "subject");
        assert_eq!(field(b().total_amount(0)), "total_amount");
        assert_eq!(field(b().out_trade_no("")), "out_trade_no");
        assert_eq!(field(b().timeout_express("soon")), "timeout_express");
        assert_eq!(field(b().body("b".repeat(129))), "body");
        assert_eq!(
            field(PrecreateRequest::builder().out_trade_no("o").subject("s")),
            "total_amount"
        );
    }
}
