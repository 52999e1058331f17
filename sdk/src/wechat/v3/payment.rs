//! Payments refunds depend on (spec §1.6): prepay for JSAPI, Native, App and H5 with the
//! parameters the front end needs to open the payment, order queries, close.

use paysandbox_protocol::wechat::OrderId;
use paysandbox_protocol::wechat::v3::decode::{DecodeError, check, check_parameter, lenient};
use paysandbox_protocol::wechat::v3::messages::transaction::{
    CodeUrlResponse, H5UrlResponse, PrepayIdResponse, Transaction, prepay_fields,
};
use paysandbox_protocol::wechat::v3::messages::{ID32, OUT_TRADE_NO, TradeType};
use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use super::client::{Client, new_nonce, unix_now};
use super::error::Error;

/// A prepay order: the members every prepay endpoint shares. The merchant id is the
/// client's; which further members are required depends on the endpoint (JSAPI: the payer's
/// openid; H5: the payer's IP and the H5 scene), and is checked when the call is made.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct PrepayRequest {
    members: Map<String, Value>,
    amount: Map<String, Value>,
    scene: Map<String, Value>,
}

impl PrepayRequest {
    /// An order of `total` fen for `description`, payable to `appid`, numbered
    /// `out_trade_no`, notifying `notify_url` when paid.
    pub fn new(
        appid: impl Into<String>,
        description: impl Into<String>,
        out_trade_no: impl Into<String>,
        notify_url: impl Into<String>,
        total: u64,
    ) -> Self {
        let mut request = Self::default();
        for (name, value) in [
            ("appid", appid.into()),
            ("description", description.into()),
            ("out_trade_no", out_trade_no.into()),
            ("notify_url", notify_url.into()),
        ] {
            request.members.insert(name.into(), Value::String(value));
        }
        request.amount.insert("total".into(), Value::from(total));
        request
    }

    fn set(mut self, name: &str, value: impl Into<String>) -> Self {
        self.members
            .insert(name.to_owned(), Value::String(value.into()));
        self
    }

    /// JSAPI (required there): the payer's openid under `appid`.
    pub fn payer_openid(mut self, openid: impl Into<String>) -> Self {
        let mut payer = Map::new();
        payer.insert("openid".into(), Value::String(openid.into()));
        self.members.insert("payer".into(), Value::Object(payer));
        self
    }

    /// The payer's IP (required for H5).
    pub fn payer_client_ip(mut self, ip: impl Into<String>) -> Self {
        self.scene
            .insert("payer_client_ip".into(), Value::String(ip.into()));
        self
    }

    /// H5 (required there): the page's scene type (`Wap`, `iOS`, `Android`).
    pub fn h5_scene(mut self, scene_type: impl Into<String>) -> Self {
        let mut h5 = Map::new();
        h5.insert("type".into(), Value::String(scene_type.into()));
        self.scene.insert("h5_info".into(), Value::Object(h5));
        self
    }

    /// When the order stops being payable (RFC 3339, `+08:00`).
    pub fn time_expire(self, time: impl Into<String>) -> Self {
        self.set("time_expire", time)
    }

    /// Echoed in queries and notifications (at most 128 bytes).
    pub fn attach(self, attach: impl Into<String>) -> Self {
        self.set("attach", attach)
    }

    /// The coupon tag.
    pub fn goods_tag(self, tag: impl Into<String>) -> Self {
        self.set("goods_tag", tag)
    }

    /// The merchant's order id.
    pub fn out_trade_no(&self) -> &str {
        self.members
            .get("out_trade_no")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    fn appid(&self) -> &str {
        self.members
            .get("appid")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The body for `trade_type`'s endpoint, checked against its field table.
    fn body(&self, mchid: &str, trade_type: TradeType) -> Result<Vec<u8>, Error> {
        let mut members = self.members.clone();
        members.insert("mchid".into(), Value::String(mchid.to_owned()));
        members.insert("amount".into(), Value::Object(self.amount.clone()));
        if !self.scene.is_empty() {
            members.insert("scene_info".into(), Value::Object(self.scene.clone()));
        }
        let value = Value::Object(members);
        check(&value, prepay_fields(trade_type))?;
        serde_json::to_vec(&value).map_err(|e| Error::decode(e.to_string()))
    }
}

/// What a JSAPI page or Mini Program passes to `WeixinJSBridge.invoke('getBrandWCPayRequest')`
/// / `wx.requestPayment`: serialised with the member names the front end expects.
///
/// `paySign` is SHA256withRSA by the merchant key over
/// `appId\ntimeStamp\nnonceStr\npackage\n`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsapiPayment {
    /// The app id.
    #[serde(rename = "appId")]
    pub app_id: String,
    /// Unix seconds, as a string.
    #[serde(rename = "timeStamp")]
    pub time_stamp: String,
    /// A fresh 32-character nonce.
    #[serde(rename = "nonceStr")]
    pub nonce_str: String,
    /// `prepay_id=…`.
    pub package: String,
    /// `RSA`.
    #[serde(rename = "signType")]
    pub sign_type: String,
    /// The signature.
    #[serde(rename = "paySign")]
    pub pay_sign: String,
}

/// What an app passes to the WeChat SDK's `PayReq`, with its member names.
///
/// `sign` is SHA256withRSA by the merchant key over `appid\ntimestamp\nnoncestr\nprepayid\n`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppPayment {
    /// The app id.
    pub appid: String,
    /// The merchant id.
    pub partnerid: String,
    /// The prepay id.
    pub prepayid: String,
    /// `Sign=WXPay`.
    pub package: String,
    /// A fresh 32-character nonce.
    pub noncestr: String,
    /// Unix seconds, as a string.
    pub timestamp: String,
    /// The signature.
    pub sign: String,
}

/// A JSAPI prepay's answer and the front end's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsapiPrepay {
    /// Valid for two hours.
    pub prepay_id: String,
    /// For `wx.requestPayment` / `getBrandWCPayRequest`.
    pub payment: JsapiPayment,
}

/// An App prepay's answer and the app's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPrepay {
    /// Valid for two hours.
    pub prepay_id: String,
    /// For the WeChat SDK's `PayReq`.
    pub payment: AppPayment,
}

/// The path of an order's query or close, by id.
fn order_path(order: &OrderId) -> Result<String, Error> {
    Ok(match order {
        OrderId::OutTradeNo(no) => {
            check_parameter("out_trade_no", "商户订单号", Some(no), &OUT_TRADE_NO)?;
            format!("/v3/pay/transactions/out-trade-no/{no}")
        }
        OrderId::TransactionId(id) => {
            check_parameter("transaction_id", "微信支付订单号", Some(id), &ID32)?;
            format!("/v3/pay/transactions/id/{id}")
        }
    })
}

impl Client {
    async fn prepay(
        &self,
        trade_type: TradeType,
        request: &PrepayRequest,
    ) -> Result<Vec<u8>, Error> {
        let body = request.body(self.mchid(), trade_type)?;
        let path = format!("/v3/pay/transactions/{}", trade_type.prepay_path());
        self.call(Method::POST, &path, Some(body), 200).await
    }

    /// JSAPI / Mini Program prepay (`payer_openid` required): the prepay id and the signed
    /// parameters the page passes to WeChat.
    ///
    /// # Errors
    /// [`Error`]; `OUT_TRADE_NO_USED` when the number belongs to another order.
    pub async fn prepay_jsapi(&self, request: &PrepayRequest) -> Result<JsapiPrepay, Error> {
        let answer = self.prepay(TradeType::Jsapi, request).await?;
        let PrepayIdResponse { prepay_id } =
            lenient(&answer).map_err(|e| Error::decode(e.to_string()))?;
        let payment = self.jsapi_payment(request.appid(), &prepay_id)?;
        Ok(JsapiPrepay { prepay_id, payment })
    }

    /// App prepay: the prepay id and the signed parameters for the app.
    ///
    /// # Errors
    /// [`Error`].
    pub async fn prepay_app(&self, request: &PrepayRequest) -> Result<AppPrepay, Error> {
        let answer = self.prepay(TradeType::App, request).await?;
        let PrepayIdResponse { prepay_id } =
            lenient(&answer).map_err(|e| Error::decode(e.to_string()))?;
        let payment = self.app_payment(request.appid(), &prepay_id)?;
        Ok(AppPrepay { prepay_id, payment })
    }

    /// Native prepay: the `code_url` to show as a QR code.
    ///
    /// # Errors
    /// [`Error`].
    pub async fn prepay_native(&self, request: &PrepayRequest) -> Result<String, Error> {
        let answer = self.prepay(TradeType::Native, request).await?;
        let CodeUrlResponse { code_url } =
            lenient(&answer).map_err(|e| Error::decode(e.to_string()))?;
        Ok(code_url)
    }

    /// H5 prepay (`payer_client_ip` and `h5_scene` required): the `h5_url` to open.
    ///
    /// # Errors
    /// [`Error`].
    pub async fn prepay_h5(&self, request: &PrepayRequest) -> Result<String, Error> {
        let answer = self.prepay(TradeType::Mweb, request).await?;
        let H5UrlResponse { h5_url } =
            lenient(&answer).map_err(|e| Error::decode(e.to_string()))?;
        Ok(h5_url)
    }

    /// The JSAPI front-end parameters for an existing `prepay_id` (signed now, with a fresh
    /// nonce).
    ///
    /// # Errors
    /// [`Error::Crypto`] if the key cannot sign.
    pub fn jsapi_payment(&self, appid: &str, prepay_id: &str) -> Result<JsapiPayment, Error> {
        let time_stamp = unix_now().to_string();
        let nonce_str = new_nonce();
        let package = format!("prepay_id={prepay_id}");
        let message = format!("{appid}\n{time_stamp}\n{nonce_str}\n{package}\n");
        Ok(JsapiPayment {
            app_id: appid.to_owned(),
            pay_sign: self.sign_base64(message.as_bytes())?,
            time_stamp,
            nonce_str,
            package,
            sign_type: "RSA".to_owned(),
        })
    }

    /// The App parameters for an existing `prepay_id` (signed now, with a fresh nonce).
    ///
    /// # Errors
    /// [`Error::Crypto`] if the key cannot sign.
    pub fn app_payment(&self, appid: &str, prepay_id: &str) -> Result<AppPayment, Error> {
        let timestamp = unix_now().to_string();
        let noncestr = new_nonce();
        let message = format!("{appid}\n{timestamp}\n{noncestr}\n{prepay_id}\n");
        Ok(AppPayment {
            appid: appid.to_owned(),
            partnerid: self.mchid().to_owned(),
            prepayid: prepay_id.to_owned(),
            package: "Sign=WXPay".to_owned(),
            sign: self.sign_base64(message.as_bytes())?,
            noncestr,
            timestamp,
        })
    }

    /// Queries an order by the merchant's or WeChat Pay's id (`?mchid=` is the client's).
    ///
    /// # Errors
    /// [`Error`]; an unknown order is `ORDER_NOT_EXIST` (404).
    pub async fn order_query(&self, order: &OrderId) -> Result<Transaction, Error> {
        let path = format!("{}?mchid={}", order_path(order)?, self.mchid());
        let answer = self.call(Method::GET, &path, None, 200).await?;
        let transaction: Transaction =
            lenient(&answer).map_err(|e| Error::decode(e.to_string()))?;
        let matches = match order {
            OrderId::OutTradeNo(no) => transaction.out_trade_no == *no,
            OrderId::TransactionId(id) => transaction.transaction_id.as_deref() == Some(id),
        };
        if !matches {
            return Err(Error::decode(format!(
                "the answer is about order {:?}, not {order:?}",
                transaction.out_trade_no
            )));
        }
        Ok(transaction)
    }

    /// Closes an unpaid order (`204 No Content`, signed over an empty body).
    ///
    /// # Errors
    /// [`Error`].
    pub async fn close_order(&self, out_trade_no: &str) -> Result<(), Error> {
        let path = format!(
            "{}/close",
            order_path(&OrderId::OutTradeNo(out_trade_no.to_owned()))?
        );
        let body = serde_json::to_vec(&serde_json::json!({ "mchid": self.mchid() }))
            .map_err(|e| Error::decode(e.to_string()))?;
        self.call(Method::POST, &path, Some(body), 204).await?;
        Ok(())
    }
}

/// Checks a prepay request against `trade_type`'s table without sending it.
///
/// # Errors
/// [`DecodeError`] naming the field.
pub fn check_prepay(
    request: &PrepayRequest,
    mchid: &str,
    trade_type: TradeType,
) -> Result<(), DecodeError> {
    match request.body(mchid, trade_type) {
        Ok(_) => Ok(()),
        Err(Error::InvalidRequest(e)) => Err(e),
        Err(e) => Err(DecodeError::Malformed(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_endpoint_checks_its_own_required_members() {
        let base = || PrepayRequest::new("wx2421b1c4370ec43b", "Tea", "o-1", "https://m/n", 100);
        assert!(check_prepay(&base(), "1900000109", TradeType::Native).is_ok());
        assert!(check_prepay(&base(), "1900000109", TradeType::App).is_ok());
        assert!(matches!(
            check_prepay(&base(), "1900000109", TradeType::Jsapi),
            Err(DecodeError::Missing { pointer, .. }) if pointer == "/payer"
        ));
        assert!(check_prepay(&base().payer_openid("oUp"), "1900000109", TradeType::Jsapi).is_ok());
        assert!(matches!(
            check_prepay(&base().payer_client_ip("1.2.3.4"), "1900000109", TradeType::Mweb),
            Err(DecodeError::Missing { pointer, .. }) if pointer == "/scene_info/h5_info"
        ));
        assert!(
            check_prepay(
                &base().payer_client_ip("1.2.3.4").h5_scene("Wap"),
                "1900000109",
                TradeType::Mweb
            )
            .is_ok()
        );
        assert!(matches!(
            check_prepay(
                &PrepayRequest::new("wx1", "Tea", "o-1", "https://m/n", 0),
                "1900000109",
                TradeType::Native
            ),
            Err(DecodeError::Rule { pointer, .. }) if pointer == "/amount/total"
        ));
    }
}
