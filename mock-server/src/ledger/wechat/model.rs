//! What the WeChat ledger holds: its rules, merchants, orders (with their coupons and what a
//! unified order recorded), refunds and the ids that name them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ratelimit::SlidingWindow;

/// Tunable rules. The defaults are the real platform's.
#[derive(Debug, Clone)]
pub struct WechatRules {
    /// How long a refund stays PROCESSING before it settles (real: minutes to days).
    pub settle_delay: Duration,
    /// Orders paid longer ago than this cannot be refunded (TRADE_OVERDUE): one year.
    pub refund_window: Duration,
    /// Minimum time between two refunds of one order (2023 doc: one minute).
    pub refund_spacing: Duration,
    /// At most this many refunds per order (doc: 50 partial refunds).
    pub max_refunds_per_order: usize,
    /// Orders older than this are subject to [`WechatRules::old_order_refunds_per_minute`].
    pub old_order_age: Duration,
    /// Refund requests per merchant per minute on orders older than a month (doc: 5000).
    pub old_order_refunds_per_minute: usize,
    /// A deliberately broken rule for the conformance suite's own test: when set, a refund
    /// larger than what is left of the order is accepted (Σ refunds > paid). Never set it
    /// outside that test.
    #[doc(hidden)]
    pub unchecked_over_refund_for_tests: bool,
    /// A deliberately broken answer for the conformance suite's own test: when set, the v3
    /// refund query reports a PROCESSING refund as SUCCESS while v2 still says PROCESSING (a
    /// v3-only divergence the mixed v2/v3 suite must catch). Never set it outside that test.
    #[doc(hidden)]
    pub v3_query_divergence_for_tests: bool,
}

impl Default for WechatRules {
    fn default() -> Self {
        WechatRules {
            // deviation: wx-settlement-time
            settle_delay: Duration::from_secs(10),
            // deviation: wx-refund-window
            refund_window: Duration::from_secs(365 * 86_400),
            refund_spacing: Duration::from_secs(60),
            max_refunds_per_order: 50,
            // deviation: wx-old-order-month
            old_order_age: Duration::from_secs(30 * 86_400),
            old_order_refunds_per_minute: 5000,
            unchecked_over_refund_for_tests: false,
            v3_query_divergence_for_tests: false,
        }
    }
}

/// A merchant account (商户号) with its API key and bound appids.
#[derive(Debug, Clone, Serialize)]
pub struct Merchant {
    /// The merchant id, also the CN of its API certificate.
    pub mch_id: String,
    /// Appids bound to the merchant; requests with another appid get APPID_NOT_EXIST.
    pub appids: Vec<String>,
    /// The 32-character API key that signs requests and responses.
    pub api_key: String,
    /// Company name, the OU of the API certificate.
    pub company: String,
    /// Refundable balance in fen; a refund whose settlement amount exceeds it gets NOTENOUGH.
    pub refundable_balance: u64,
    /// When set, only these source addresses may call the API (NOAUTH otherwise).
    pub ip_allowlist: Option<Vec<IpAddr>>,
    /// Default refund notification URL (the merchant platform setting).
    pub notify_url: Option<String>,
    /// The APIv3 key (32 characters) that encrypts `/v3/certificates` and v3 notifications;
    /// `None` until the merchant sets one, as on the real merchant platform.
    pub api_v3_key: Option<String>,
    /// Which platform identity signs the merchant's API v3 answers.
    pub v3_identity: V3Identity,
    /// When the admin API switched the merchant to [`V3Identity::SwitchOver`]: notifications
    /// count the switch-over's days from it (unset: its first day).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v3_switch_started: Option<Timestamp>,
    /// The mch_id shared by every order of the merchant.
    #[serde(skip)]
    pub(super) shared_id: Arc<str>,
    #[serde(skip)]
    pub(super) orders_by_out_trade_no: HashMap<Box<str>, usize>,
    #[serde(skip)]
    pub(super) refunds_by_out_refund_no: HashMap<String, usize>,
    #[serde(skip)]
    pub(super) old_order_refunds: Option<SlidingWindow>,
}

/// A merchant's API v3 platform identity (spec §1.8): platform certificates, the 2024 WeChat
/// Pay public key, or the switch-over between them, when answers follow the request's
/// `Wechatpay-Serial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum V3Identity {
    /// Platform certificates only (merchants from before 2024); `/v3/certificates` serves them.
    Certificate,
    /// The WeChat Pay public key only (`PUB_KEY_ID_…`), as every merchant registered since
    /// 2024 has it: the default (deviation: `wx3-default-identity`).
    #[default]
    PublicKey,
    /// Both valid: answers follow the request's `Wechatpay-Serial`.
    #[serde(alias = "switch-over")]
    SwitchOver,
}

impl V3Identity {
    /// The wire name (`certificate`, `public_key`, `switch_over`).
    pub fn as_str(self) -> &'static str {
        match self {
            V3Identity::Certificate => "certificate",
            V3Identity::PublicKey => "public_key",
            V3Identity::SwitchOver => "switch_over",
        }
    }

    /// The protocol's mode on the switch-over's first day (answers do not depend on the day).
    pub fn mode(self) -> paysandbox_protocol::wechat::v3::identity::IdentityMode {
        self.mode_on(0)
    }

    /// The protocol's mode with `days_elapsed` whole days into a switch-over (notifications'
    /// public-key share rises with them).
    pub fn mode_on(
        self,
        days_elapsed: u32,
    ) -> paysandbox_protocol::wechat::v3::identity::IdentityMode {
        use paysandbox_protocol::wechat::v3::identity::IdentityMode;
        match self {
            V3Identity::Certificate => IdentityMode::Certificates,
            V3Identity::PublicKey => IdentityMode::PublicKey,
            V3Identity::SwitchOver => IdentityMode::SwitchOver { days_elapsed },
        }
    }
}

/// Payment state of an order as stored (REFUND is derived from its refunds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentState {
    /// Paid.
    #[default]
    Success,
    /// Not paid yet.
    Notpay,
    /// Closed before payment.
    Closed,
    /// Reversed (micropay).
    Revoked,
    /// Waiting for the payer's password (micropay).
    Userpaying,
    /// Payment failed.
    Payerror,
}

impl PaymentState {
    /// The `trade_state` wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Success => "SUCCESS",
            PaymentState::Notpay => "NOTPAY",
            PaymentState::Closed => "CLOSED",
            PaymentState::Revoked => "REVOKED",
            PaymentState::Userpaying => "USERPAYING",
            PaymentState::Payerror => "PAYERROR",
        }
    }
}

/// Coupon kind (§3.2): CASH is a recharge coupon, NO_CASH a non-recharge one funded by the
/// merchant, which is why it is excluded from settlement amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CouponKind {
    /// 充值券.
    Cash,
    /// 免充值券.
    NoCash,
}

impl CouponKind {
    /// The `coupon_type` wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            CouponKind::Cash => "CASH",
            CouponKind::NoCash => "NO_CASH",
        }
    }
}

/// A coupon used to pay an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    /// Coupon id.
    pub id: String,
    /// Recharge or non-recharge.
    pub kind: CouponKind,
    /// Amount in fen.
    pub fee: u64,
}

/// Final status a refund can be forced or seeded to settle at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    /// Accepted, not settled yet.
    Processing,
    /// Money returned.
    Success,
    /// Closed: the money stays with the merchant and becomes refundable again.
    Refundclose,
    /// Refund target abnormal (card cancelled or frozen); handled manually.
    Change,
}

impl RefundStatus {
    /// The `refund_status_$n` wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Processing => "PROCESSING",
            RefundStatus::Success => "SUCCESS",
            RefundStatus::Refundclose => "REFUNDCLOSE",
            RefundStatus::Change => "CHANGE",
        }
    }

    /// Whether the money of a refund in this state counts as refunded.
    pub(super) fn holds_money(self) -> bool {
        self != RefundStatus::Refundclose
    }
}

/// The source of refund funds (§3.1 `refund_account`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RefundAccount {
    /// Unsettled funds (the default).
    #[default]
    #[serde(rename = "REFUND_SOURCE_UNSETTLED_FUNDS")]
    UnsettledFunds,
    /// Available balance.
    #[serde(rename = "REFUND_SOURCE_RECHARGE_FUNDS")]
    RechargeFunds,
}

impl RefundAccount {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundAccount::UnsettledFunds => "REFUND_SOURCE_UNSETTLED_FUNDS",
            RefundAccount::RechargeFunds => "REFUND_SOURCE_RECHARGE_FUNDS",
        }
    }

    /// Parses the wire string.
    pub fn from_wire(s: &str) -> Option<RefundAccount> {
        match s {
            "REFUND_SOURCE_UNSETTLED_FUNDS" => Some(RefundAccount::UnsettledFunds),
            "REFUND_SOURCE_RECHARGE_FUNDS" => Some(RefundAccount::RechargeFunds),
            _ => None,
        }
    }
}

/// What describes an order beyond its ids and amounts. Orders seeded alike share one
/// interned copy, which keeps a million seeded orders within a few hundred bytes each.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct OrderDetails {
    /// Appid the order was paid through.
    pub appid: String,
    /// Currency (CNY).
    pub fee_type: String,
    /// Trade type (JSAPI, NATIVE, APP, MWEB, MICROPAY).
    pub trade_type: String,
    /// Payer openid.
    pub openid: String,
    /// Paying bank (e.g. CFT for balance, CMC, CCB_DEBIT).
    pub bank_type: String,
    /// Description of the goods.
    pub body: String,
    /// Merchant data echoed back.
    pub attach: String,
    /// Where the money goes back: `支付用户零钱` or a card such as `招商银行信用卡0403`.
    pub refund_recv_account: String,
}

/// A merchant order.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    /// Owning merchant.
    pub mch_id: Arc<str>,
    /// WeChat order id.
    pub transaction_id: Box<str>,
    /// Merchant order id.
    pub out_trade_no: Box<str>,
    /// Order amount in fen.
    pub total_fee: u64,
    /// Coupons used in the payment.
    pub coupons: Vec<Coupon>,
    /// Stored payment state.
    pub payment_state: PaymentState,
    /// Seeded: the payer's account is cancelled (USER_ACCOUNT_ABNORMAL).
    pub payer_account_abnormal: bool,
    /// Seeded: the order is still being processed (ORDER_NOT_READY).
    pub not_ready: bool,
    /// Seeded: refunds of this order settle to this status instead of SUCCESS.
    pub refund_outcome: Option<RefundStatus>,
    /// When it was paid.
    pub paid_at: Option<Timestamp>,
    /// Appid, payer, bank and the like (shared between orders seeded alike).
    #[serde(flatten)]
    pub details: Arc<OrderDetails>,
    /// What `/pay/unifiedorder` recorded, for orders made through it (boxed: seeded orders,
    /// the vast majority, carry none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepay: Option<Box<Prepay>>,
}

/// The sign type of orders prepaid through API v3 (v3's signature scheme): their payment
/// notification is v3's `TRANSACTION.SUCCESS`.
pub const V3_SIGN_TYPE: &str = "WECHATPAY2-SHA256-RSA2048";

/// How long a `prepay_id` can be paid with (§6.1: two hours).
pub const PREPAY_VALIDITY: Duration = Duration::from_secs(2 * 3600);

/// What a unified order stored beside the order: the payment request's own fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prepay {
    /// The current `prepay_id` (a repeat after [`PREPAY_VALIDITY`] issues a new one).
    pub prepay_id: String,
    /// When the current `prepay_id` was issued.
    pub prepay_issued_at: Timestamp,
    /// When the order was first created.
    pub created_at: Timestamp,
    /// Where the payment notification goes.
    pub notify_url: String,
    /// The payer's IP as the merchant stated it.
    pub spbill_create_ip: String,
    /// `device_info`, echoed in answers.
    pub device_info: Option<String>,
    /// `product_id` (NATIVE).
    pub product_id: Option<String>,
    /// `time_start` as sent.
    pub time_start: Option<String>,
    /// `time_expire`: the order cannot be paid after it.
    pub time_expire: Option<Timestamp>,
    /// `code_url` (NATIVE).
    pub code_url: Option<String>,
    /// `mweb_url` (MWEB).
    pub mweb_url: Option<String>,
    /// The unified order's sign type (`MD5`, `HMAC-SHA256`): the payment notification's;
    /// [`V3_SIGN_TYPE`] for an order prepaid through API v3, notified with v3's JSON.
    pub sign_type: String,
    /// When `/pay/closeorder` closed it.
    pub closed_at: Option<Timestamp>,
}

/// The openid of payers the sandbox invents.
pub const DEFAULT_OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

/// The refunds of one order, kept beside it (most seeded orders never get any).
#[derive(Debug, Default)]
pub(super) struct OrderRefunds {
    /// Indexes of its refunds in creation order.
    pub(super) refunds: Vec<usize>,
    /// Fen refunded or being refunded: closed refunds excluded.
    pub(super) refunded: u64,
    /// When the last refund was accepted (for the spacing rule).
    pub(super) last_refund_at: Option<Timestamp>,
}

impl Order {
    /// Amount paid in cash (total minus coupons).
    pub fn cash_fee(&self) -> u64 {
        self.total_fee.saturating_sub(self.coupon_fee())
    }

    /// Sum of the coupons.
    pub fn coupon_fee(&self) -> u64 {
        self.coupons.iter().map(|c| c.fee).sum()
    }

    /// `total_fee` minus non-recharge coupons: what the merchant actually received.
    pub fn settlement_total_fee(&self) -> u64 {
        self.total_fee.saturating_sub(self.no_cash_coupon_fee())
    }

    fn no_cash_coupon_fee(&self) -> u64 {
        self.coupons
            .iter()
            .filter(|c| c.kind == CouponKind::NoCash)
            .map(|c| c.fee)
            .sum()
    }

    /// Whether it was paid.
    pub fn is_paid(&self) -> bool {
        self.payment_state == PaymentState::Success
    }
}

/// The part of a refund taken from one coupon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouponRefund {
    /// Coupon id.
    pub coupon_id: String,
    /// Coupon kind.
    pub kind: CouponKind,
    /// Fen refunded to that coupon.
    pub fee: u64,
}

/// An accepted refund.
#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    /// WeChat refund id.
    pub refund_id: String,
    /// Merchant refund number: the idempotency key.
    pub out_refund_no: String,
    /// Refund amount in fen.
    pub refund_fee: u64,
    /// The order total the request stated (always the order's total: checked).
    pub total_fee: u64,
    /// Refund minus the non-recharge coupon part: what leaves the merchant's balance.
    pub settlement_refund_fee: u64,
    /// Refund minus every coupon part: what goes back in cash.
    pub cash_refund_fee: u64,
    /// Per-coupon parts.
    pub coupon_refunds: Vec<CouponRefund>,
    /// Current status.
    pub status: RefundStatus,
    /// Source of funds.
    pub refund_account: RefundAccount,
    /// Receiving account text.
    pub refund_recv_account: String,
    /// Refund channel (`ORIGINAL`).
    pub refund_channel: String,
    /// `API` for refunds made through the API.
    pub request_source: String,
    /// Notification URL given with the request.
    pub notify_url: Option<String>,
    /// Reason shown to the payer.
    pub refund_desc: Option<String>,
    /// Made through API v3 (its notification is v3's).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub api_v3: bool,
    /// When it was accepted.
    pub requested_at: Timestamp,
    /// When it settles if nothing forces another outcome.
    pub settles_at: Timestamp,
    /// When it reached SUCCESS.
    pub success_at: Option<Timestamp>,
    /// Index of its order.
    #[serde(skip)]
    pub(super) order: usize,
}

/// Which order a request names; `transaction_id` wins when both are given (§3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    /// By WeChat order id.
    TransactionId(String),
    /// By merchant order id.
    OutTradeNo(String),
}
