//! Refunds (spec §1.1–§1.3, §1.5): create, query, and the abnormal refund.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CURRENCY, ID32, OUT_REFUND_NO, OUT_TRADE_NO, RefundStatus};
use crate::wechat::v3::decode::{AMOUNT, DecodeError, Field, Kind, Violation, one_of, text};

/// `POST /v3/refund/domestic/refunds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// Partner mode only: the sub-merchant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    /// The order, by WeChat Pay's id (one of this and `out_trade_no`; this one wins if both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// The order, by the merchant's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// The merchant's refund number: the idempotency key.
    pub out_refund_no: String,
    /// Shown to the user (not for partial refunds of at most 1 yuan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Overrides the configured refund notification URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// `AVAILABLE` (old fund flow) or `UNSETTLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds_account: Option<String>,
    /// The amounts.
    pub amount: RefundAmountRequest,
    /// The goods refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_detail: Option<Vec<RefundGoods>>,
}

/// A refund request's `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmountRequest {
    /// Fen to refund.
    pub refund: u64,
    /// Which accounts pay it (profit-sharing orders); must sum to `refund`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Vec<FundsFrom>>,
    /// The order's total, fen.
    pub total: u64,
    /// `CNY`.
    pub currency: String,
}

/// One `amount.from[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundsFrom {
    /// `AVAILABLE` or `UNAVAILABLE`.
    pub account: String,
    /// Fen from that account.
    pub amount: u64,
}

/// One `goods_detail[]` entry of a refund request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundGoods {
    /// The merchant's goods code.
    pub merchant_goods_id: String,
    /// WeChat Pay's goods code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechatpay_goods_id: Option<String>,
    /// The goods' name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_name: Option<String>,
    /// Unit price, fen.
    pub unit_price: u64,
    /// Fen refunded for these goods.
    pub refund_amount: u64,
    /// Units returned.
    pub refund_quantity: u64,
}

const FUNDS_FROM: &[Field] = &[
    Field::required(
        "account",
        "出资账户类型",
        one_of(32, &["AVAILABLE", "UNAVAILABLE"]),
    ),
    Field::required("amount", "出资金额", AMOUNT),
];
const FUNDS_FROM_ITEM: Kind = Kind::Object(FUNDS_FROM);
const REFUND_AMOUNT_REQUEST: &[Field] = &[
    Field::required("refund", "退款金额", AMOUNT),
    Field::optional(
        "from",
        "退款出资账户及金额",
        Kind::Array {
            item: &FUNDS_FROM_ITEM,
            max_items: 2,
        },
    ),
    Field::required("total", "原订单金额", AMOUNT),
    Field::required("currency", "退款币种", CURRENCY),
];
const COUNT: Kind = Kind::Integer {
    min: 1,
    max: 1_000_000_000,
};
const PRICE: Kind = Kind::Integer {
    min: 0,
    max: 9_007_199_254_740_991,
};
const REFUND_GOODS: &[Field] = &[
    Field::required("merchant_goods_id", "商户侧商品编码", text(32)),
    Field::optional("wechatpay_goods_id", "微信支付商品编码", text(32)),
    Field::optional("goods_name", "商品名称", text(256)),
    Field::required("unit_price", "商品单价", PRICE),
    Field::required("refund_amount", "商品退款金额", PRICE),
    Field::required("refund_quantity", "商品退货数量", COUNT),
];
const REFUND_GOODS_ITEM: Kind = Kind::Object(REFUND_GOODS);

/// The field table of [`RefundRequest`].
pub const REFUND_REQUEST: &[Field] = &[
    Field::optional("sub_mchid", "子商户号", ID32),
    Field::optional("transaction_id", "微信支付订单号", ID32),
    Field::optional("out_trade_no", "商户订单号", OUT_TRADE_NO),
    Field::required("out_refund_no", "商户退款单号", OUT_REFUND_NO),
    Field::optional("reason", "退款原因", text(80)),
    Field::optional("notify_url", "退款结果回调url", text(256)),
    Field::optional(
        "funds_account",
        "退款资金来源",
        one_of(32, &["AVAILABLE", "UNSETTLED"]),
    ),
    Field::required("amount", "金额信息", Kind::Object(REFUND_AMOUNT_REQUEST)),
    Field::optional(
        "goods_detail",
        "退款商品",
        Kind::Array {
            item: &REFUND_GOODS_ITEM,
            max_items: 100,
        },
    ),
];

fn business(pointer: &str, label: &'static str, value: Value, issue: &str) -> DecodeError {
    DecodeError::Rule {
        pointer: pointer.to_owned(),
        label,
        value,
        violation: Violation::Business(issue.to_owned()),
    }
}

impl RefundRequest {
    /// The rules across fields, after [`crate::wechat::v3::decode::strict`]: one of
    /// `transaction_id` / `out_trade_no`; `refund ≤ total`; `from[]` without a repeated
    /// account and summing to `refund`.
    ///
    /// # Errors
    /// [`DecodeError::Missing`] or [`DecodeError::Rule`] naming the field.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.transaction_id.is_none() && self.out_trade_no.is_none() {
            return Err(DecodeError::Missing {
                pointer: "/out_trade_no".into(),
                label: "商户订单号",
            });
        }
        if self.amount.refund > self.amount.total {
            return Err(business(
                "/amount/refund",
                "退款金额",
                Value::from(self.amount.refund),
                "退款金额不能大于原订单金额",
            ));
        }
        if let Some(from) = &self.amount.from {
            let duplicate = from
                .iter()
                .enumerate()
                .any(|(i, f)| from.iter().skip(i + 1).any(|g| g.account == f.account));
            if duplicate {
                return Err(business(
                    "/amount/from",
                    "退款出资账户及金额",
                    Value::Null,
                    "出资账户类型不能重复",
                ));
            }
            let sum = from
                .iter()
                .try_fold(0u64, |acc, f| acc.checked_add(f.amount));
            if sum != Some(self.amount.refund) {
                return Err(business(
                    "/amount/from",
                    "退款出资账户及金额",
                    Value::Null,
                    "出资金额之和必须等于退款金额",
                ));
            }
        }
        Ok(())
    }
}

/// The refund object: the answer of create, query and the abnormal refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// WeChat Pay's refund id.
    pub refund_id: String,
    /// The merchant's refund number.
    pub out_refund_no: String,
    /// WeChat Pay's order id.
    pub transaction_id: String,
    /// The merchant's order id.
    pub out_trade_no: String,
    /// [`super::RefundChannel`].
    pub channel: String,
    /// Where the money went, e.g. `支付用户零钱` or `招商银行信用卡0403`.
    pub user_received_account: String,
    /// Only when `status` is SUCCESS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// When the refund was accepted.
    pub create_time: String,
    /// [`RefundStatus`].
    pub status: String,
    /// [`super::FundsAccount`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds_account: Option<String>,
    /// The amounts.
    pub amount: RefundAmount,
    /// Coupons refunded with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotion_detail: Vec<Promotion>,
}

impl Refund {
    /// The status, if a known one.
    #[must_use]
    pub fn refund_status(&self) -> Option<RefundStatus> {
        RefundStatus::from_wire(&self.status)
    }
}

/// The refund object's `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmount {
    /// The order's total.
    pub total: u64,
    /// The refund.
    pub refund: u64,
    /// Which accounts paid it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<FundsFrom>,
    /// What the user paid (total minus coupons).
    pub payer_total: u64,
    /// What the user gets back.
    pub payer_refund: u64,
    /// Refund minus non-settlement coupons.
    pub settlement_refund: u64,
    /// Total minus non-settlement coupons.
    pub settlement_total: u64,
    /// The coupons' share of the refund.
    pub discount_refund: u64,
    /// `CNY`.
    pub currency: String,
    /// Fees refunded (some merchants only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_fee: Option<u64>,
}

/// One `promotion_detail[]` entry of a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    /// The coupon's id.
    pub promotion_id: String,
    /// `GLOBAL` or `SINGLE`.
    pub scope: String,
    /// `COUPON` or `DISCOUNT`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The coupon's value.
    pub amount: u64,
    /// Its share of this refund.
    pub refund_amount: u64,
    /// Goods it applied to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goods_detail: Vec<RefundGoods>,
}

/// `POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund`.
///
/// `bank_account` and `real_name` arrive encrypted ([`crate::wechat::v3::oaep`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbnormalRefundRequest {
    /// Partner mode only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    /// The refund's merchant number.
    pub out_refund_no: String,
    /// `USER_BANK_CARD` or `MERCHANT_BANK_CARD`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The bank (USER_BANK_CARD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    /// The card number, encrypted (USER_BANK_CARD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account: Option<String>,
    /// The account holder's name, encrypted (USER_BANK_CARD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_name: Option<String>,
}

/// The abnormal refund's `type` values.
pub const ABNORMAL_REFUND_TYPES: &[&str] = &["USER_BANK_CARD", "MERCHANT_BANK_CARD"];

/// The field table of [`AbnormalRefundRequest`].
pub const ABNORMAL_REFUND_REQUEST: &[Field] = &[
    Field::optional("sub_mchid", "子商户号", ID32),
    Field::required("out_refund_no", "商户退款单号", OUT_REFUND_NO),
    Field::required(
        "type",
        "异常退款处理方式",
        one_of(32, ABNORMAL_REFUND_TYPES),
    ),
    Field::optional("bank_type", "开户银行", text(128)),
    Field::optional("bank_account", "收款银行卡号", text(1024)),
    Field::optional("real_name", "收款用户姓名", text(1024)),
];

impl AbnormalRefundRequest {
    /// `USER_BANK_CARD` needs `bank_type`, `bank_account` and `real_name`.
    ///
    /// # Errors
    /// [`DecodeError::Missing`] for the first absent one.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.kind == "USER_BANK_CARD" {
            for (value, name, label) in [
                (&self.bank_type, "/bank_type", "开户银行"),
                (&self.bank_account, "/bank_account", "收款银行卡号"),
                (&self.real_name, "/real_name", "收款用户姓名"),
            ] {
                if value.is_none() {
                    return Err(DecodeError::Missing {
                        pointer: name.to_owned(),
                        label,
                    });
                }
            }
        }
        Ok(())
    }
}
