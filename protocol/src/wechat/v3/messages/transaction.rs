//! Payments refunds depend on (spec §1.6): prepay (JSAPI, Native, App, H5), order queries and
//! close.

use serde::{Deserialize, Serialize};

use super::{CURRENCY, ID32, OUT_TRADE_NO, TradeState, TradeType};
use crate::wechat::v3::decode::{AMOUNT, Field, Kind, text};

/// `POST /v3/pay/transactions/{jsapi,native,app,h5}`: one body type; which members are
/// required depends on the endpoint ([`prepay_fields`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepayRequest {
    /// The Official Account / Mini Program / app id bound to the merchant.
    pub appid: String,
    /// The merchant.
    pub mchid: String,
    /// What is sold (at most 127 bytes).
    pub description: String,
    /// The merchant's order id.
    pub out_trade_no: String,
    /// When the order stops being payable (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<String>,
    /// Echoed in queries and notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// Where TRANSACTION.SUCCESS is sent.
    pub notify_url: String,
    /// Coupon tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_tag: Option<String>,
    /// Electronic invoice entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_fapiao: Option<bool>,
    /// The amount.
    pub amount: PrepayAmount,
    /// JSAPI: who pays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    /// Goods details for coupons; kept as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// The scene (H5: required, with `h5_info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_info: Option<SceneInfo>,
    /// Settlement options; kept as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_info: Option<serde_json::Value>,
}

/// A prepay request's `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepayAmount {
    /// Fen.
    pub total: u64,
    /// `CNY` (the default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// `payer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    /// The user's openid under `appid`.
    pub openid: String,
}

/// `scene_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SceneInfo {
    /// The user's IP address.
    pub payer_client_ip: String,
    /// The merchant's device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The store; kept as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_info: Option<serde_json::Value>,
    /// H5: the page's scene.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h5_info: Option<serde_json::Value>,
}

const PREPAY_AMOUNT: &[Field] = &[
    Field::required("total", "总金额", AMOUNT),
    Field::optional("currency", "货币类型", CURRENCY),
];
const PAYER: &[Field] = &[Field::required("openid", "用户标识", text(128))];
const PRICE: Kind = Kind::Integer {
    min: 0,
    max: 9_007_199_254_740_991,
};
const QUANTITY: Kind = Kind::Integer {
    min: 1,
    max: 1_000_000_000,
};
const GOODS: &[Field] = &[
    Field::required("merchant_goods_id", "商户侧商品编码", text(32)),
    Field::optional("wechatpay_goods_id", "微信支付商品编码", text(32)),
    Field::optional("goods_name", "商品名称", text(256)),
    Field::required("quantity", "商品数量", QUANTITY),
    Field::required("unit_price", "商品单价", PRICE),
];
const GOODS_ITEM: Kind = Kind::Object(GOODS);
const DETAIL: &[Field] = &[
    Field::optional("cost_price", "订单原价", PRICE),
    Field::optional("invoice_id", "商品小票ID", text(32)),
    Field::optional(
        "goods_detail",
        "单品列表",
        Kind::Array {
            item: &GOODS_ITEM,
            max_items: 6000,
        },
    ),
];
const STORE_INFO: &[Field] = &[
    Field::required("id", "门店编号", text(32)),
    Field::optional("name", "门店名称", text(256)),
    Field::optional("area_code", "地区编码", text(32)),
    Field::optional("address", "详细地址", text(512)),
];
const H5_INFO: &[Field] = &[
    Field::required("type", "场景类型", text(32)),
    Field::optional("app_name", "应用名称", text(64)),
    Field::optional("app_url", "网站URL", text(128)),
    Field::optional("bundle_id", "iOS平台BundleID", text(128)),
    Field::optional("package_name", "Android平台PackageName", text(128)),
];
const SCENE_INFO: &[Field] = &[
    Field::required("payer_client_ip", "用户终端IP", text(45)),
    Field::optional("device_id", "商户端设备号", text(32)),
    Field::optional("store_info", "商户门店信息", Kind::Object(STORE_INFO)),
    Field::optional("h5_info", "H5场景信息", Kind::Object(H5_INFO)),
];
const SCENE_INFO_H5: &[Field] = &[
    Field::required("payer_client_ip", "用户终端IP", text(45)),
    Field::optional("device_id", "商户端设备号", text(32)),
    Field::optional("store_info", "商户门店信息", Kind::Object(STORE_INFO)),
    Field::required("h5_info", "H5场景信息", Kind::Object(H5_INFO)),
];
const SETTLE_INFO: &[Field] = &[Field::optional(
    "profit_sharing",
    "是否指定分账",
    Kind::Boolean,
)];

/// Declares the prepay table of one endpoint: the common members plus `$appid_label`,
/// `payer` and `scene_info` as that endpoint wants them.
macro_rules! prepay_table {
    ($name:ident, $appid_label:literal, $payer:expr, $scene:expr) => {
        const $name: &[Field] = &[
            Field::required("appid", $appid_label, ID32),
            Field::required("mchid", "直连商户号", ID32),
            Field::required("description", "商品描述", text(127)),
            Field::required("out_trade_no", "商户订单号", OUT_TRADE_NO),
            Field::optional("time_expire", "交易结束时间", text(64)),
            Field::optional("attach", "附加数据", text(128)),
            Field::required("notify_url", "通知地址", text(256)),
            Field::optional("goods_tag", "订单优惠标记", text(32)),
            Field::optional("support_fapiao", "电子发票入口开放标识", Kind::Boolean),
            Field::required("amount", "订单金额", Kind::Object(PREPAY_AMOUNT)),
            $payer,
            Field::optional("detail", "优惠功能", Kind::Object(DETAIL)),
            $scene,
            Field::optional("settle_info", "结算信息", Kind::Object(SETTLE_INFO)),
        ];
    };
}

prepay_table!(
    JSAPI,
    "公众号ID",
    Field::required("payer", "支付者", Kind::Object(PAYER)),
    Field::optional("scene_info", "场景信息", Kind::Object(SCENE_INFO))
);
prepay_table!(
    NATIVE_OR_APP,
    "应用ID",
    Field::optional("payer", "支付者", Kind::Object(PAYER)),
    Field::optional("scene_info", "场景信息", Kind::Object(SCENE_INFO))
);
prepay_table!(
    H5,
    "应用ID",
    Field::optional("payer", "支付者", Kind::Object(PAYER)),
    Field::required("scene_info", "场景信息", Kind::Object(SCENE_INFO_H5))
);

/// The field table of a prepay endpoint: JSAPI requires `payer`, H5 requires `scene_info`
/// with `h5_info`; Native and App require neither.
#[must_use]
pub fn prepay_fields(trade_type: TradeType) -> &'static [Field] {
    match trade_type {
        TradeType::Jsapi => JSAPI,
        TradeType::Native | TradeType::App => NATIVE_OR_APP,
        TradeType::Mweb => H5,
    }
}

/// The answer of `…/jsapi` and `…/app`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepayIdResponse {
    /// Valid for two hours.
    pub prepay_id: String,
}

/// The answer of `…/native`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeUrlResponse {
    /// The `weixin://wxpay/bizpayurl?pr=…` link to show as a QR code.
    pub code_url: String,
}

/// The answer of `…/h5`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct H5UrlResponse {
    /// The page that opens WeChat to pay.
    pub h5_url: String,
}

/// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`; answered 204.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseRequest {
    /// The merchant.
    pub mchid: String,
}

/// The field table of [`CloseRequest`].
pub const CLOSE_REQUEST: &[Field] = &[Field::required("mchid", "直连商户号", ID32)];

/// The query parameter of both order queries (`?mchid=`), as a field kind.
pub const MCHID: Kind = ID32;

/// An order: the answer of both queries and the plaintext of TRANSACTION.SUCCESS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// The app id.
    pub appid: String,
    /// The merchant.
    pub mchid: String,
    /// The merchant's order id.
    pub out_trade_no: String,
    /// WeChat Pay's order id (absent before payment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// [`TradeType`] (absent before payment; also `MICROPAY`, `FACEPAY` for other channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_type: Option<String>,
    /// [`TradeState`].
    pub trade_state: String,
    /// Its description, e.g. `支付成功`.
    pub trade_state_desc: String,
    /// The payer's bank, e.g. `OTHERS`, `CMC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    /// Echoed from the prepay request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// When it was paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// Who paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    /// The amounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<TransactionAmount>,
    /// The device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_info: Option<serde_json::Value>,
    /// Coupons used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotion_detail: Vec<TransactionPromotion>,
}

impl Transaction {
    /// The state, if a known one.
    #[must_use]
    pub fn state(&self) -> Option<TradeState> {
        TradeState::from_wire(&self.trade_state)
    }
}

/// An order's `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionAmount {
    /// The order total, fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// What the user paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<u64>,
    /// `CNY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The user's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_currency: Option<String>,
}

/// One coupon of an order (`promotion_detail[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionPromotion {
    /// The coupon id.
    pub coupon_id: String,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `GLOBAL` or `SINGLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `CASH` or `NOCASH`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Its value, fen.
    pub amount: u64,
    /// The stock it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock_id: Option<String>,
    /// WeChat Pay's contribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechatpay_contribute: Option<u64>,
    /// The merchant's contribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_contribute: Option<u64>,
    /// Others' contribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_contribute: Option<u64>,
    /// `CNY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}
