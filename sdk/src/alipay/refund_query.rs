//! `alipay.trade.fastpay.refund.query` (spec §5): [`RefundQuery`] and
//! [`Client::refund_query`].

use paysandbox_protocol::alipay::{
    BizRequest, FastpayRefundQueryRequest, FastpayRefundQueryResponse, RefundStatus,
};

use super::client::Client;
use super::error::{Error, FieldError};
use super::fields;
use super::trade::{TradeId, biz, shape};

/// One refund of a trade, by its request number.
///
/// ```
/// use paysandbox_sdk::alipay::{RefundQuery, TradeId};
///
/// let query = RefundQuery::new(TradeId::out_trade_no("demo-trade-0002"), "refund-0002-a")
///     .with_query_option("gmt_refund_pay");
/// assert!(query.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefundQuery {
    trade: TradeId,
    out_request_no: String,
    query_options: Vec<String>,
}

impl RefundQuery {
    /// The refund `out_request_no` of `trade`. For a refund sent without a request number,
    /// pass the trade's `out_trade_no`.
    pub fn new(trade: TradeId, out_request_no: impl Into<String>) -> Self {
        Self {
            trade,
            out_request_no: out_request_no.into(),
            query_options: Vec::new(),
        }
    }

    /// Asks for extra data: `gmt_refund_pay` (when the refund was made),
    /// `refund_detail_item_list` (fund channels).
    #[must_use]
    pub fn with_query_option(mut self, option: impl Into<String>) -> Self {
        self.query_options.push(option.into());
        self
    }

    /// The trade.
    pub fn trade(&self) -> &TradeId {
        &self.trade
    }

    /// The refund's request number.
    pub fn out_request_no(&self) -> &str {
        &self.out_request_no
    }

    /// Checks the trade id and the request number's format.
    pub fn validate(&self) -> Result<(), FieldError> {
        self.trade.validate()?;
        fields::id("out_request_no", &self.out_request_no, 64)?;
        for option in &self.query_options {
            fields::id("query_options", option, 64)?;
        }
        Ok(())
    }
}

impl Client {
    /// Looks up one refund (`alipay.trade.fastpay.refund.query`).
    ///
    /// `code=10000` only means the query ran. The refund was made if and only if
    /// `refund_status` is `REFUND_SUCCESS` ([`refund_made`]); an answer without it (and
    /// without refund data) means no refund with that number exists, and sending the same
    /// refund request again (same `out_request_no`, same amount) is the way to make it. A
    /// trade that does not exist is `ACQ.TRADE_NOT_EXIST`.
    pub async fn refund_query(
        &self,
        query: &RefundQuery,
    ) -> Result<FastpayRefundQueryResponse, Error> {
        query.validate()?;
        let (trade_no, out_trade_no) = query.trade.fields();
        let request = FastpayRefundQueryRequest {
            out_trade_no,
            trade_no,
            out_request_no: query.out_request_no.clone(),
            query_options: query.query_options.clone(),
        };
        let method = FastpayRefundQueryRequest::METHOD;
        let json = self.call(method, &biz(&request)?).await?;
        let response: FastpayRefundQueryResponse =
            serde_json::from_str(&json).map_err(shape(method))?;
        query
            .trade
            .check_answer(response.trade_no.as_ref(), response.out_trade_no.as_ref())?;
        if let Some(no) = &response.out_request_no
            && *no != query.out_request_no
        {
            return Err(Error::decode(format!(
                "the response is about refund {no:?}, not {:?}",
                query.out_request_no
            )));
        }
        Ok(response)
    }
}

/// Whether a refund query's answer says the refund was made: `refund_status` is
/// `REFUND_SUCCESS` (spec §5.3's current rule).
pub fn refund_made(response: &FastpayRefundQueryResponse) -> bool {
    response.refund_status == Some(RefundStatus::RefundSuccess)
}
