//! `POST /pay/unifiedorder` and `/pay/closeorder` (spec §6.1, §6.3):
//! [`UnifiedOrderRequest`], its builder, [`Client::unified_order`] and
//! [`Client::close_order`].

use paysandbox_protocol::wechat::{
    self as proto, CloseOrderResponse, FieldError, TradeType, UnifiedOrder, UnifiedOrderResponse,
    fields,
};

use super::client::{Client, Endpoint};
use super::error::Error;

/// An order to create: what is sold, for how much, how the payer pays, and where the payment
/// notification goes.
///
/// Built with [`UnifiedOrderRequest::builder`], which checks every field. The merchant's
/// order number (`out_trade_no`) is the idempotency key: sending the same order again while
/// it is unpaid returns a prepay_id again; the same number with other parameters is
/// `OUT_TRADE_NO_USED`.
///
/// ```
/// use paysandbox_sdk::wechat::{TradeType, UnifiedOrderRequest};
///
/// let order = UnifiedOrderRequest::builder()
///     .out_trade_no("order-20240101-0001")
///     .body("coffee beans 1kg")
///     .total_fee(8800) // fen
///     .spbill_create_ip("203.0.113.7")
///     .notify_url("https://shop.example/wechat/notify")
///     .trade_type(TradeType::Native)
///     .product_id("beans-1kg")
///     .build()?;
/// assert_eq!(order.out_trade_no(), "order-20240101-0001");
///
/// // JSAPI needs the payer's openid.
/// assert!(UnifiedOrderRequest::builder().out_trade_no("order-2").body("x").total_fee(1)
///     .spbill_create_ip("::1").notify_url("https://shop.example/n")
///     .trade_type(TradeType::Jsapi).build().is_err());
/// # Ok::<(), paysandbox_sdk::wechat::FieldError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnifiedOrderRequest {
    order: UnifiedOrder,
}

impl UnifiedOrderRequest {
    /// Starts an order.
    pub fn builder() -> UnifiedOrderRequestBuilder {
        UnifiedOrderRequestBuilder::default()
    }

    /// The merchant's order number.
    pub fn out_trade_no(&self) -> &str {
        &self.order.out_trade_no
    }

    /// The amount, fen.
    pub fn total_fee(&self) -> u64 {
        self.order.total_fee
    }

    /// The trade type.
    pub fn trade_type(&self) -> Option<TradeType> {
        self.order.trade_type
    }

    /// Every field, as the protocol types it.
    pub fn order(&self) -> &UnifiedOrder {
        &self.order
    }
}

/// Builds a [`UnifiedOrderRequest`]. Required: `out_trade_no`, `body`, `total_fee`,
/// `spbill_create_ip`, `notify_url`, `trade_type`; `openid` for JSAPI, `product_id` for
/// NATIVE. Empty strings count as not set.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct UnifiedOrderRequestBuilder {
    order: UnifiedOrder,
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl UnifiedOrderRequestBuilder {
    /// The merchant's order number: 6 to 32 of `0-9 a-z A-Z _ - | *`.
    pub fn out_trade_no(mut self, no: impl Into<String>) -> Self {
        self.order.out_trade_no = no.into();
        self
    }

    /// Goods description, at most 128 characters.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.order.body = body.into();
        self
    }

    /// Amount in fen, > 0.
    pub fn total_fee(mut self, fen: u64) -> Self {
        self.order.total_fee = fen;
        self
    }

    /// The payer's IP address (IPv4 or IPv6).
    pub fn spbill_create_ip(mut self, ip: impl Into<String>) -> Self {
        self.order.spbill_create_ip = ip.into();
        self
    }

    /// Where WeChat sends the payment notification (no query string).
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.order.notify_url = url.into();
        self
    }

    /// JSAPI, NATIVE, APP or MWEB.
    pub fn trade_type(mut self, trade_type: TradeType) -> Self {
        self.order.trade_type = Some(trade_type);
        self
    }

    /// The payer's openid under this appid (required for JSAPI).
    pub fn openid(mut self, openid: impl Into<String>) -> Self {
        self.order.openid = non_empty(openid.into());
        self
    }

    /// The product id in the QR code (required for NATIVE).
    pub fn product_id(mut self, id: impl Into<String>) -> Self {
        self.order.product_id = non_empty(id.into());
        self
    }

    /// Merchant data echoed in queries and notifications, at most 127 characters.
    pub fn attach(mut self, attach: impl Into<String>) -> Self {
        self.order.attach = non_empty(attach.into());
        self
    }

    /// Goods detail (JSON text).
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.order.detail = non_empty(detail.into());
        self
    }

    /// Terminal id (`WEB` for web pages).
    pub fn device_info(mut self, device_info: impl Into<String>) -> Self {
        self.order.device_info = non_empty(device_info.into());
        self
    }

    /// Currency (`CNY`, the default).
    pub fn fee_type(mut self, fee_type: impl Into<String>) -> Self {
        self.order.fee_type = non_empty(fee_type.into());
        self
    }

    /// Order start, `yyyyMMddHHmmss` Beijing time.
    pub fn time_start(mut self, at: impl Into<String>) -> Self {
        self.order.time_start = non_empty(at.into());
        self
    }

    /// After this (`yyyyMMddHHmmss` Beijing time, at least a minute ahead) the order can no
    /// longer be paid.
    pub fn time_expire(mut self, at: impl Into<String>) -> Self {
        self.order.time_expire = non_empty(at.into());
        self
    }

    /// Coupon tag.
    pub fn goods_tag(mut self, tag: impl Into<String>) -> Self {
        self.order.goods_tag = non_empty(tag.into());
        self
    }

    /// Refuse credit cards (`limit_pay=no_credit`).
    pub fn no_credit(mut self) -> Self {
        self.order.limit_pay = Some("no_credit".to_owned());
        self
    }

    /// Scene information (JSON text; H5 payments).
    pub fn scene_info(mut self, scene: impl Into<String>) -> Self {
        self.order.scene_info = non_empty(scene.into());
        self
    }

    /// Checks every field (§6.1) and builds the request.
    pub fn build(self) -> Result<UnifiedOrderRequest, FieldError> {
        self.order.validate()?;
        Ok(UnifiedOrderRequest { order: self.order })
    }
}

impl Client {
    /// Creates an order (`/pay/unifiedorder`): a `prepay_id` for the payer's client (valid two
    /// hours), plus `code_url` for NATIVE and `mweb_url` for MWEB. Sending the same order
    /// again returns a prepay_id again; a paid or closed number is `ORDERPAID` /
    /// `ORDERCLOSED` ([`Error::Business`]).
    pub async fn unified_order(
        &self,
        request: &UnifiedOrderRequest,
    ) -> Result<UnifiedOrderResponse, Error> {
        request.order.validate()?;
        let params = self
            .call(Endpoint::UnifiedOrder, |nonce_str| {
                let wire = proto::UnifiedOrderRequest {
                    appid: self.appid().to_owned(),
                    mch_id: self.mch_id().to_owned(),
                    nonce_str,
                    sign_type: self.sign_type_field(),
                    order: request.order.clone(),
                };
                wire.validate()?;
                Ok(wire.to_params())
            })
            .await?;
        let response = UnifiedOrderResponse::from_params(&params)
            .map_err(|e| Error::decode(format!("unified order response: {e}")))?;
        if Some(response.trade_type) != request.order.trade_type {
            return Err(Error::decode("the response is for another trade_type"));
        }
        Ok(response)
    }

    /// Closes an unpaid order (`/pay/closeorder`) so it can no longer be paid. A paid order
    /// is `ORDERPAID`, a closed one `ORDERCLOSED`, an unknown one `ORDERNOTEXIST`
    /// ([`Error::Business`]).
    pub async fn close_order(&self, out_trade_no: &str) -> Result<CloseOrderResponse, Error> {
        fields::out_trade_no(out_trade_no)?;
        let params = self
            .call(Endpoint::CloseOrder, |nonce_str| {
                let wire = proto::CloseOrderRequest {
                    appid: self.appid().to_owned(),
                    mch_id: self.mch_id().to_owned(),
                    nonce_str,
                    sign_type: self.sign_type_field(),
                    out_trade_no: out_trade_no.to_owned(),
                };
                wire.validate()?;
                Ok(wire.to_params())
            })
            .await?;
        CloseOrderResponse::from_params(&params)
            .map_err(|e| Error::decode(format!("close order response: {e}")))
    }
}
