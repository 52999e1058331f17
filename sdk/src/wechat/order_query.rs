//! `POST /pay/orderquery` (spec §6.2): [`Client::order_query`].

use paysandbox_protocol::wechat::{self as proto, FieldError, OrderId, OrderQueryResponse, fields};

use super::client::{Client, Endpoint};
use super::error::Error;

fn validate(order: &OrderId) -> Result<(), FieldError> {
    match order {
        OrderId::TransactionId(id) => fields::transaction_id(id),
        OrderId::OutTradeNo(no) => fields::out_trade_no(no),
    }
}

impl Client {
    /// The state of an order: `trade_state`, and the payment details (amounts, coupons as a
    /// `Vec`, payer) once it was paid. An order that was never paid successfully is
    /// `ORDERNOTEXIST` ([`Error::Business`]).
    pub async fn order_query(&self, order: &OrderId) -> Result<OrderQueryResponse, Error> {
        validate(order)?;
        let params = self
            .call(Endpoint::OrderQuery, |nonce_str| {
                let (transaction_id, out_trade_no) = match order {
                    OrderId::TransactionId(id) => (Some(id.clone()), None),
                    OrderId::OutTradeNo(no) => (None, Some(no.clone())),
                };
                let wire = proto::OrderQueryRequest {
                    appid: self.appid().to_owned(),
                    mch_id: self.mch_id().to_owned(),
                    nonce_str,
                    sign_type: self.sign_type_field(),
                    transaction_id,
                    out_trade_no,
                };
                wire.validate()?;
                Ok(wire.to_params())
            })
            .await?;
        let response = OrderQueryResponse::from_params(&params)
            .map_err(|e| Error::decode(format!("order query response: {e}")))?;
        let matches = match order {
            OrderId::OutTradeNo(no) => response.out_trade_no == *no,
            OrderId::TransactionId(id) => response
                .payment
                .as_ref()
                .is_none_or(|p| p.transaction_id == *id),
        };
        if !matches {
            return Err(Error::decode("the response is about another order"));
        }
        Ok(response)
    }
}
