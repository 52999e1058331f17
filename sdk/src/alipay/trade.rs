//! [`TradeId`], and the calls that take only a trade: `alipay.trade.query`
//! ([`Client::trade_query`]) and `alipay.trade.close` ([`Client::trade_close`]).

use paysandbox_protocol::alipay::{
    BizRequest, Method, TradeCloseRequest, TradeCloseResponse, TradeQueryRequest,
    TradeQueryResponse,
};

use super::client::Client;
use super::error::{Error, FieldError};
use super::fields;

/// How a request names its trade: the merchant's order number or Alipay's trade number.
///
/// ```
/// use paysandbox_sdk::alipay::TradeId;
///
/// let trade = TradeId::out_trade_no("demo-trade-0001");
/// assert!(trade.validate().is_ok());
/// assert!(TradeId::trade_no("").validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TradeId {
    /// `out_trade_no`: the merchant's order number (at most 64 characters).
    OutTradeNo(String),
    /// `trade_no`: Alipay's trade number (at most 64 characters).
    TradeNo(String),
}

impl TradeId {
    /// By the merchant's order number.
    pub fn out_trade_no(no: impl Into<String>) -> Self {
        Self::OutTradeNo(no.into())
    }

    /// By Alipay's trade number.
    pub fn trade_no(no: impl Into<String>) -> Self {
        Self::TradeNo(no.into())
    }

    /// Checks the number's format: 1 to 64 printable ASCII characters.
    pub fn validate(&self) -> Result<(), FieldError> {
        match self {
            Self::OutTradeNo(no) => fields::id("out_trade_no", no, 64),
            Self::TradeNo(no) => fields::id("trade_no", no, 64),
        }
    }

    /// `(trade_no, out_trade_no)` as the biz_content fields.
    pub(crate) fn fields(&self) -> (Option<String>, Option<String>) {
        match self {
            Self::OutTradeNo(no) => (None, Some(no.clone())),
            Self::TradeNo(no) => (Some(no.clone()), None),
        }
    }

    /// Refuses an answer about another trade: the id the request named must be the
    /// answer's, when the answer carries it. A signature proves who wrote an answer, not
    /// which request it answers.
    pub(crate) fn check_answer(
        &self,
        trade_no: Option<&String>,
        out_trade_no: Option<&String>,
    ) -> Result<(), Error> {
        let (name, sent, got) = match self {
            Self::OutTradeNo(no) => ("out_trade_no", no, out_trade_no),
            Self::TradeNo(no) => ("trade_no", no, trade_no),
        };
        match got {
            Some(got) if got != sent => Err(Error::decode(format!(
                "the response is about {name} {got:?}, not {sent:?}"
            ))),
            _ => Ok(()),
        }
    }
}

/// The error for a verified node that does not deserialise.
pub(crate) fn shape(method: Method) -> impl FnOnce(serde_json::Error) -> Error {
    move |e| Error::decode(format!("{method} response: {e}"))
}

/// Serialises a biz_content (cannot fail for these plain structs; reported, not panicked).
pub(crate) fn biz<T: BizRequest>(request: &T) -> Result<String, Error> {
    request
        .to_biz_content()
        .map_err(|e| Error::decode(format!("cannot serialise biz_content: {e}")))
}

impl Client {
    /// The state of a trade (`alipay.trade.query`): `trade_status`, amounts (`0.00` until
    /// paid), buyer, payment time. After a full refund the trade is `TRADE_CLOSED`. A trade
    /// that does not exist (or a precreated QR code nobody scanned) is
    /// `ACQ.TRADE_NOT_EXIST` ([`Error::Gateway`]).
    pub async fn trade_query(&self, trade: &TradeId) -> Result<TradeQueryResponse, Error> {
        trade.validate()?;
        let (trade_no, out_trade_no) = trade.fields();
        let request = TradeQueryRequest {
            out_trade_no,
            trade_no,
            query_options: Vec::new(),
        };
        let method = TradeQueryRequest::METHOD;
        let json = self.call(method, &biz(&request)?).await?;
        let response: TradeQueryResponse = serde_json::from_str(&json).map_err(shape(method))?;
        trade.check_answer(response.trade_no.as_ref(), response.out_trade_no.as_ref())?;
        Ok(response)
    }

    /// Closes an unpaid trade (`alipay.trade.close`: WAIT_BUYER_PAY → TRADE_CLOSED). A paid,
    /// closed or finished trade is `ACQ.TRADE_STATUS_ERROR`; an unknown one
    /// `ACQ.TRADE_NOT_EXIST`.
    pub async fn trade_close(&self, trade: &TradeId) -> Result<TradeCloseResponse, Error> {
        trade.validate()?;
        let (trade_no, out_trade_no) = trade.fields();
        let request = TradeCloseRequest {
            out_trade_no,
            trade_no,
            operator_id: None,
        };
        let method = TradeCloseRequest::METHOD;
        let json = self.call(method, &biz(&request)?).await?;
        let response: TradeCloseResponse = serde_json::from_str(&json).map_err(shape(method))?;
        trade.check_answer(response.trade_no.as_ref(), response.out_trade_no.as_ref())?;
        Ok(response)
    }
}
