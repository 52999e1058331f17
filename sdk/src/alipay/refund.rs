//! `alipay.trade.refund` (spec §4): [`RefundRequest`], its builder, and
//! [`Client::trade_refund`].

use paysandbox_protocol::alipay::{BizRequest, TradeRefundRequest, TradeRefundResponse};
use paysandbox_protocol::money::Fen;

use super::client::Client;
use super::error::{Error, FieldError};
use super::fields;
use super::trade::{TradeId, biz, shape};

/// A refund of (part of) a paid trade: which trade, how much, and the refund's request number.
///
/// Built with [`RefundRequest::builder`], which checks every field before anything is sent.
/// `out_request_no` is the idempotency key: Alipay refunds one number at most once, so a
/// retry must reuse it **with the same amount** (another amount is
/// `ACQ.DISCORDANT_REPEAT_REQUEST`), and every partial refund of a trade needs its own number.
///
/// ```
/// use paysandbox_sdk::alipay::RefundRequest;
///
/// let refund = RefundRequest::builder()
///     .out_trade_no("demo-trade-0002")
///     .out_request_no("refund-0002-a")
///     .refund_amount(150) // fen: sent as "1.50"
///     .refund_reason("damaged item")
///     .build()?;
/// assert_eq!(refund.refund_amount(), 150);
///
/// // Checked before sending: no amount, no refund.
/// assert!(RefundRequest::builder().out_trade_no("t").out_request_no("r").build().is_err());
/// # Ok::<(), paysandbox_sdk::alipay::FieldError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    trade: TradeId,
    refund_amount: u64,
    out_request_no: Option<String>,
    refund_reason: Option<String>,
    operator_id: Option<String>,
    store_id: Option<String>,
    terminal_id: Option<String>,
    query_options: Vec<String>,
}

impl RefundRequest {
    /// Starts a refund request.
    pub fn builder() -> RefundRequestBuilder {
        RefundRequestBuilder::default()
    }

    /// The trade to refund.
    pub fn trade(&self) -> &TradeId {
        &self.trade
    }

    /// This refund's amount, fen.
    pub fn refund_amount(&self) -> u64 {
        self.refund_amount
    }

    /// The refund's request number; `None` only for a full refund built with
    /// [`RefundRequestBuilder::omit_out_request_no`] (the gateway then uses the trade's
    /// `out_trade_no`).
    pub fn out_request_no(&self) -> Option<&str> {
        self.out_request_no.as_deref()
    }

    /// `refund_reason`, if given.
    pub fn refund_reason(&self) -> Option<&str> {
        self.refund_reason.as_deref()
    }

    /// Checks every field: a valid trade id, 0.01 to 100000000.00 yuan, the request number's
    /// format, the lengths of the optional texts.
    pub fn validate(&self) -> Result<(), FieldError> {
        self.trade.validate()?;
        fields::amount("refund_amount", self.refund_amount)?;
        fields::opt(self.out_request_no.as_ref(), |v| {
            fields::id("out_request_no", v, 64)
        })?;
        fields::opt(self.refund_reason.as_ref(), |v| {
            fields::text("refund_reason", v, 256)
        })?;
        fields::opt(self.operator_id.as_ref(), |v| {
            fields::id("operator_id", v, 30)
        })?;
        fields::opt(self.store_id.as_ref(), |v| fields::id("store_id", v, 32))?;
        fields::opt(self.terminal_id.as_ref(), |v| {
            fields::id("terminal_id", v, 32)
        })?;
        for option in &self.query_options {
            fields::id("query_options", option, 64)?;
        }
        Ok(())
    }

    /// The biz_content's fields, amounts as yuan strings.
    pub(crate) fn to_wire(&self) -> TradeRefundRequest {
        let (trade_no, out_trade_no) = self.trade.fields();
        TradeRefundRequest {
            out_trade_no,
            trade_no,
            refund_amount: Fen(self.refund_amount),
            refund_reason: self.refund_reason.clone(),
            out_request_no: self.out_request_no.clone(),
            refund_currency: None,
            operator_id: self.operator_id.clone(),
            store_id: self.store_id.clone(),
            terminal_id: self.terminal_id.clone(),
            query_options: self.query_options.clone(),
        }
    }
}

/// Builds a [`RefundRequest`]. Required: the trade (`out_trade_no` or `trade_no`),
/// `refund_amount`, and `out_request_no` (or an explicit [`Self::omit_out_request_no`]).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RefundRequestBuilder {
    trade: Option<TradeId>,
    refund_amount: Option<u64>,
    out_request_no: Option<String>,
    omit_out_request_no: bool,
    refund_reason: Option<String>,
    operator_id: Option<String>,
    store_id: Option<String>,
    terminal_id: Option<String>,
    query_options: Vec<String>,
}

/// An empty string is the same as not set (the gateway treats empty fields as absent).
fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl RefundRequestBuilder {
    /// The trade by the merchant's order number.
    pub fn out_trade_no(self, no: impl Into<String>) -> Self {
        self.trade(TradeId::OutTradeNo(no.into()))
    }

    /// The trade by Alipay's trade number.
    pub fn trade_no(self, no: impl Into<String>) -> Self {
        self.trade(TradeId::TradeNo(no.into()))
    }

    /// The trade, by either number (the last one set wins).
    pub fn trade(mut self, trade: TradeId) -> Self {
        self.trade = Some(trade);
        self
    }

    /// This refund's amount in fen, sent as yuan (`150` → `"1.50"`): at least 1, at most
    /// what is left to refund on the trade.
    pub fn refund_amount(mut self, fen: u64) -> Self {
        self.refund_amount = Some(fen);
        self
    }

    /// The refund's request number, the idempotency key within the trade: 1 to 64 printable
    /// ASCII characters. Reuse it (with the same amount) to retry; use a new one for each
    /// further partial refund.
    pub fn out_request_no(mut self, no: impl Into<String>) -> Self {
        self.out_request_no = Some(no.into());
        self
    }

    /// Sends no `out_request_no`. Only a **full** refund may do without one (the gateway
    /// then numbers it with the trade's `out_trade_no`, so a repeat is still idempotent); a
    /// partial refund without one is `ACQ.REFUND_AMT_NOT_EQUAL_TOTAL`. Without this call,
    /// [`Self::build`] requires `out_request_no`.
    pub fn omit_out_request_no(mut self) -> Self {
        self.omit_out_request_no = true;
        self
    }

    /// Why (shown in the bills; at most 256 characters).
    pub fn refund_reason(mut self, reason: impl Into<String>) -> Self {
        self.refund_reason = non_empty(reason.into());
        self
    }

    /// The merchant's operator (at most 30 characters).
    pub fn operator_id(mut self, id: impl Into<String>) -> Self {
        self.operator_id = non_empty(id.into());
        self
    }

    /// The merchant's store (at most 32 characters).
    pub fn store_id(mut self, id: impl Into<String>) -> Self {
        self.store_id = non_empty(id.into());
        self
    }

    /// The merchant's terminal (at most 32 characters).
    pub fn terminal_id(mut self, id: impl Into<String>) -> Self {
        self.terminal_id = non_empty(id.into());
        self
    }

    /// Asks for extra response data, e.g. `refund_detail_item_list` (the fund channels and
    /// `send_back_fee`).
    pub fn query_option(mut self, option: impl Into<String>) -> Self {
        self.query_options.push(option.into());
        self
    }

    /// Checks every field and builds the request.
    pub fn build(self) -> Result<RefundRequest, FieldError> {
        let out_request_no = match (self.out_request_no, self.omit_out_request_no) {
            (Some(_), true) => {
                return Err(FieldError::invalid(
                    "out_request_no",
                    "set, but omit_out_request_no was asked for",
                ));
            }
            (Some(no), false) => Some(no),
            (None, true) => None,
            (None, false) => return Err(FieldError::missing("out_request_no")),
        };
        let request = RefundRequest {
            trade: self.trade.ok_or(FieldError::missing("out_trade_no"))?,
            refund_amount: self
                .refund_amount
                .ok_or(FieldError::missing("refund_amount"))?,
            out_request_no,
            refund_reason: self.refund_reason,
            operator_id: self.operator_id,
            store_id: self.store_id,
            terminal_id: self.terminal_id,
            query_options: self.query_options,
        };
        request.validate()?;
        Ok(request)
    }
}

impl Client {
    /// Refunds (part of) a paid trade (`alipay.trade.refund`). The refund is synchronous:
    /// success means it is done.
    ///
    /// In the answer, `fund_change` is `Some(true)` when this call moved money and
    /// `Some(false)` when the `out_request_no` had already been refunded (an idempotent
    /// repeat: nothing moved, confirm with [`Client::refund_query`] if in doubt);
    /// `refund_fee` is the trade's **cumulative** refunded total, not this refund.
    ///
    /// With a [`RetryPolicy`](crate::retry::RetryPolicy), `ACQ.SYSTEM_ERROR`, `20000` answers
    /// and timeouts are retried with the same biz_content (same `out_request_no`, same
    /// amount; a fresh timestamp and signature): the gateway refunds once. Refunds of one
    /// trade must be [`REFUND_SPACING`](super::REFUND_SPACING) (3 s) apart and a refund
    /// sooner is answered `ACQ.SYSTEM_ERROR`, so that code is retried after 3 s (plus
    /// jitter), and only if the policy's `max_delay` allows that long; the other retryable
    /// failures back off as usual. If the call fails with [`Error::is_outcome_unknown`],
    /// send the same request again, or query it, before concluding anything.
    pub async fn trade_refund(
        &self,
        request: &RefundRequest,
    ) -> Result<TradeRefundResponse, Error> {
        request.validate()?;
        let wire = request.to_wire();
        let method = TradeRefundRequest::METHOD;
        let json = self.call(method, &biz(&wire)?).await?;
        let response: TradeRefundResponse = serde_json::from_str(&json).map_err(shape(method))?;
        request
            .trade
            .check_answer(response.trade_no.as_ref(), response.out_trade_no.as_ref())?;
        if let Some(Fen(total)) = response.refund_fee
            && total < request.refund_amount
        {
            return Err(Error::decode(format!(
                "refund_fee {} (the trade's refunded total) is below this refund's {}",
                Fen(total),
                Fen(request.refund_amount)
            )));
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alipay::FieldErrorKind;

    fn builder() -> RefundRequestBuilder {
        RefundRequest::builder()
            .out_trade_no("demo-trade-0002")
            .out_request_no("r-1")
            .refund_amount(150)
    }

    #[test]
    fn builder_requires_and_checks_fields() {
        let r = builder().build().unwrap();
        assert_eq!(r.trade(), &TradeId::out_trade_no("demo-trade-0002"));
        assert_eq!(r.out_request_no(), Some("r-1"));
        let field = |b: RefundRequestBuilder| b.build().unwrap_err().field;
        assert_eq!(
            field(
                RefundRequest::builder()
                    .out_request_no("r")
                    .refund_amount(1)
            ),
            "out_trade_no"
        );
        assert_eq!(
            field(
                RefundRequest::builder()
                    .out_trade_no("t")
                    .out_request_no("r")
            ),
            "refund_amount"
        );
        let missing = RefundRequest::builder()
            .out_trade_no("t")
            .refund_amount(1)
            .build()
            .unwrap_err();
        assert_eq!(missing, FieldError::missing("out_request_no"));
        assert_eq!(field(builder().omit_out_request_no()), "out_request_no");
        assert_eq!(field(builder().out_request_no("")), "out_request_no");
        assert_eq!(field(builder().out_request_no("a b")), "out_request_no");
        assert_eq!(
            field(builder().out_request_no("9".repeat(65))),
            "out_request_no"
        );
        assert_eq!(field(builder().trade_no("")), "trade_no");
        assert_eq!(
            field(builder().out_trade_no("x".repeat(65))),
            "out_trade_no"
        );
        assert_eq!(field(builder().refund_amount(0)), "refund_amount");
        assert_eq!(
            builder().refund_amount(0).build().unwrap_err().kind,
            FieldErrorKind::Invalid("must be at least 1 fen (0.01)")
        );
        assert_eq!(
            field(builder().refund_amount(10_000_000_001)),
            "refund_amount"
        );
        assert_eq!(
            field(builder().refund_reason("退".repeat(257))),
            "refund_reason"
        );
        assert_eq!(field(builder().operator_id("o".repeat(31))), "operator_id");
        assert_eq!(field(builder().query_option("a b")), "query_options");
        let full = RefundRequest::builder()
            .out_trade_no("t")
            .refund_amount(10_000)
            .omit_out_request_no()
            .build()
            .unwrap();
        assert_eq!(full.out_request_no(), None);
    }

    #[test]
    fn amounts_go_as_yuan_and_empty_options_stay_out() {
        let r = builder()
            .trade_no("2023111522001400000000000001")
            .refund_reason("")
            .build()
            .unwrap();
        assert_eq!(
            r.to_wire().to_biz_content().unwrap(),
            r#"{"trade_no":"2023111522001400000000000001","refund_amount":"1.50","out_request_no":"r-1"}"#
        );
        let r = builder()
            .refund_amount(10_000_000_000)
            .refund_reason("退款")
            .query_option("refund_detail_item_list")
            .build()
            .unwrap();
        assert_eq!(
            r.to_wire().to_biz_content().unwrap(),
            r#"{"out_trade_no":"demo-trade-0002","refund_amount":"100000000.00","refund_reason":"退款","out_request_no":"r-1","query_options":["refund_detail_item_list"]}"#
        );
    }
}
