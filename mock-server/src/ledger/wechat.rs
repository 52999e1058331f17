//! The WeChat Pay v2 ledger: merchants, paid orders, refunds and the refund rules of
//! spec/wechat-v2.md §3.4, with the refund state machine of §3.5.
//!
//! The order in which [`WechatLedger::refund`] checks its rules decides which error a caller
//! sees when several apply; it is written out once, in that method.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::IdGenerator;
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
}

impl Default for WechatRules {
    fn default() -> Self {
        WechatRules {
            settle_delay: Duration::from_secs(10),
            refund_window: Duration::from_secs(365 * 86_400),
            refund_spacing: Duration::from_secs(60),
            max_refunds_per_order: 50,
            old_order_age: Duration::from_secs(30 * 86_400),
            old_order_refunds_per_minute: 5000,
            unchecked_over_refund_for_tests: false,
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
    /// The mch_id shared by every order of the merchant.
    #[serde(skip)]
    shared_id: Arc<str>,
    #[serde(skip)]
    orders_by_out_trade_no: HashMap<Box<str>, usize>,
    #[serde(skip)]
    refunds_by_out_refund_no: HashMap<String, usize>,
    #[serde(skip)]
    old_order_refunds: Option<SlidingWindow>,
}

/// What the admin API gives to create a merchant.
#[derive(Debug, Clone, Deserialize)]
pub struct NewMerchant {
    /// Merchant id.
    pub mch_id: String,
    /// Bound appids (at least one).
    pub appids: Vec<String>,
    /// API key (32 characters, like the real ones; some clients refuse other lengths).
    pub api_key: String,
    /// Company name.
    #[serde(default = "default_company")]
    pub company: String,
    /// Refundable balance in fen.
    #[serde(default = "default_balance")]
    pub refundable_balance: u64,
    /// Optional IP allow-list.
    #[serde(default)]
    pub ip_allowlist: Option<Vec<IpAddr>>,
    /// Optional default refund notification URL.
    #[serde(default)]
    pub notify_url: Option<String>,
}

fn default_company() -> String {
    "paysandbox demo".to_owned()
}

/// One million yuan: enough that NOTENOUGH happens only when a test asks for it.
fn default_balance() -> u64 {
    100_000_000
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
    fn holds_money(self) -> bool {
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
    /// The unified order's sign type (`MD5`, `HMAC-SHA256`): the payment notification's.
    pub sign_type: String,
    /// When `/pay/closeorder` closed it.
    pub closed_at: Option<Timestamp>,
}

/// A unified order that passed authentication and field validation.
#[derive(Debug, Clone)]
pub struct UnifiedOrderCommand {
    /// Merchant.
    pub mch_id: String,
    /// Appid of the request.
    pub appid: String,
    /// Merchant order number.
    pub out_trade_no: String,
    /// Amount in fen.
    pub total_fee: u64,
    /// Currency.
    pub fee_type: String,
    /// Goods description.
    pub body: String,
    /// Merchant data.
    pub attach: Option<String>,
    /// JSAPI, NATIVE, APP or MWEB.
    pub trade_type: String,
    /// Payer (JSAPI).
    pub openid: Option<String>,
    /// Product (NATIVE).
    pub product_id: Option<String>,
    /// Notification URL.
    pub notify_url: String,
    /// Payer IP.
    pub spbill_create_ip: String,
    /// Terminal.
    pub device_info: Option<String>,
    /// `time_start` as sent.
    pub time_start: Option<String>,
    /// `time_expire`, parsed.
    pub time_expire: Option<Timestamp>,
    /// The request's sign type.
    pub sign_type: String,
}

/// Why a unified order was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnifiedOrderError {
    /// The out_trade_no names a paid order (ORDERPAID).
    #[error("order already paid")]
    OrderPaid,
    /// The out_trade_no names a closed order (ORDERCLOSED).
    #[error("order closed")]
    OrderClosed,
    /// The out_trade_no names an unpaid order made with other parameters (OUT_TRADE_NO_USED).
    #[error("out_trade_no used with other parameters")]
    OutTradeNoUsed,
}

/// Why a close order was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseOrderError {
    /// No such order for this merchant (ORDERNOTEXIST).
    #[error("order not found")]
    OrderNotExist,
    /// Paid (ORDERPAID).
    #[error("order already paid")]
    OrderPaid,
    /// Already closed (ORDERCLOSED).
    #[error("order already closed")]
    OrderClosed,
}

/// What the simulated buyer pays with (admin API).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BuyerPayment {
    /// The payer; defaults to the order's openid, else the demo payer.
    pub openid: Option<String>,
    /// Paying bank; default CFT (balance).
    pub bank_type: Option<String>,
    /// Coupons used (ids generated when absent).
    pub coupons: Vec<SeedCoupon>,
}

/// The openid of payers the sandbox invents.
pub const DEFAULT_OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

/// The refunds of one order, kept beside it (most seeded orders never get any).
#[derive(Debug, Default)]
struct OrderRefunds {
    /// Indexes of its refunds in creation order.
    refunds: Vec<usize>,
    /// Fen refunded or being refunded: closed refunds excluded.
    refunded: u64,
    /// When the last refund was accepted (for the spacing rule).
    last_refund_at: Option<Timestamp>,
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
    /// When it was accepted.
    pub requested_at: Timestamp,
    /// When it settles if nothing forces another outcome.
    pub settles_at: Timestamp,
    /// When it reached SUCCESS.
    pub success_at: Option<Timestamp>,
    /// Index of its order.
    #[serde(skip)]
    order: usize,
}

/// Which order a request names; `transaction_id` wins when both are given (§3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    /// By WeChat order id.
    TransactionId(String),
    /// By merchant order id.
    OutTradeNo(String),
}

/// A refund request that passed authentication and field validation.
#[derive(Debug, Clone)]
pub struct RefundCommand {
    /// Merchant making the request.
    pub mch_id: String,
    /// The order.
    pub order: OrderRef,
    /// Merchant refund number.
    pub out_refund_no: String,
    /// Order total as stated by the merchant.
    pub total_fee: u64,
    /// Amount to refund.
    pub refund_fee: u64,
    /// Source of funds, if given.
    pub refund_account: Option<RefundAccount>,
    /// Notification URL, if given.
    pub notify_url: Option<String>,
    /// Reason, if given.
    pub refund_desc: Option<String>,
}

/// Why a refund was refused. The WeChat route maps each to its err_code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefundError {
    /// No order with that transaction_id for this merchant (INVALID_TRANSACTIONID).
    #[error("transaction_id not found")]
    UnknownTransactionId,
    /// No order with that out_trade_no, or it is not paid (ORDERNOTEXIST).
    #[error("order not found or not paid")]
    OrderNotExist,
    /// The out_refund_no already belongs to a refund of another order (INVALID_REQUEST).
    #[error("out_refund_no belongs to another order")]
    OutRefundNoOfAnotherOrder,
    /// Same out_refund_no with other amounts (REFUND_FEE_MISMATCH).
    #[error("amounts differ from the earlier request with this out_refund_no")]
    AmountsDifferFromEarlierRequest,
    /// The payer's account is cancelled (USER_ACCOUNT_ABNORMAL).
    #[error("payer account abnormal")]
    PayerAccountAbnormal,
    /// The order is still being processed (ORDER_NOT_READY).
    #[error("order not ready")]
    OrderNotReady,
    /// Paid more than a year ago (TRADE_OVERDUE).
    #[error("order older than the refund window")]
    Overdue,
    /// total_fee is not the order amount (INVALID_REQUEST).
    #[error("total_fee {stated} is not the order amount {actual}")]
    TotalFeeMismatch {
        /// What the request said.
        stated: u64,
        /// The order's amount.
        actual: u64,
    },
    /// Nothing left to refund (TRADE_STATE_ERROR).
    #[error("order fully refunded")]
    FullyRefunded,
    /// The 51st refund of an order (INVALID_REQUEST).
    #[error("too many refunds for this order")]
    TooManyRefunds,
    /// The refund would exceed what is left (INVALID_REQUEST).
    #[error("refund exceeds the refundable amount {refundable}")]
    ExceedsRefundable {
        /// Fen still refundable.
        refundable: u64,
    },
    /// Less than a minute since the previous refund of this order (FREQUENCY_LIMITED).
    #[error("previous refund of this order was too recent")]
    TooSoonAfterPreviousRefund,
    /// Refunds of month-old orders above 5000/min (FREQUENCY_LIMITED).
    #[error("refund rate limit for old orders")]
    OldOrderRateLimited,
    /// The merchant's refundable balance is short (NOTENOUGH).
    #[error("refundable balance {balance} is short of {needed}")]
    NotEnoughBalance {
        /// Fen available.
        balance: u64,
        /// Fen needed.
        needed: u64,
    },
}

/// A successful refund answer: the refund and its order.
#[derive(Debug, Clone)]
pub struct RefundAccepted {
    /// The refund (new, or the earlier one for a repeated out_refund_no).
    pub refund: Refund,
    /// Its order.
    pub order: Order,
    /// True when this repeated an earlier identical request (nothing was debited).
    pub repeated: bool,
}

/// What a refund query selects, in priority order refund_id > out_refund_no >
/// transaction_id > out_trade_no (§4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundSelector {
    /// One refund by WeChat refund id.
    RefundId(String),
    /// One refund by merchant refund number.
    OutRefundNo(String),
    /// The refunds of an order by WeChat order id.
    TransactionId(String),
    /// The refunds of an order by merchant order id.
    OutTradeNo(String),
}

/// Why a refund query found nothing to return.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefundQueryError {
    /// Unknown id, unpaid order, or an order never refunded (REFUNDNOTEXIST).
    #[error("refund does not exist")]
    RefundNotExist,
    /// `offset` beyond `total_refund_count` (PARAM_ERROR).
    #[error("offset {offset} exceeds total_refund_count {total}")]
    OffsetOutOfRange {
        /// Requested offset.
        offset: usize,
        /// Number of refunds of the order.
        total: usize,
    },
}

/// A page of a refund query.
#[derive(Debug, Clone)]
pub struct RefundPage {
    /// The order the refunds belong to.
    pub order: Order,
    /// Refunds of the order in total, when queried by order.
    pub total_refund_count: Option<usize>,
    /// The refunds in this page (at most [`REFUND_PAGE_SIZE`]).
    pub refunds: Vec<Refund>,
}

/// Refunds per refund-query page (§4.1).
pub const REFUND_PAGE_SIZE: usize = 10;

/// An order to seed through the admin API.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct SeedOrder {
    /// Owning merchant.
    pub mch_id: String,
    /// Appid; defaults to the merchant's first.
    pub appid: Option<String>,
    /// Merchant order id; generated when absent.
    pub out_trade_no: Option<String>,
    /// WeChat order id; generated when absent.
    pub transaction_id: Option<String>,
    /// Amount in fen.
    pub total_fee: u64,
    /// Coupons (ids generated when empty).
    pub coupons: Vec<SeedCoupon>,
    /// Payment state (default SUCCESS).
    pub state: PaymentState,
    /// Paid this many seconds before now (default 60).
    pub paid_seconds_ago: Option<u64>,
    /// Trade type (default JSAPI).
    pub trade_type: Option<String>,
    /// Bank type (default CFT: balance).
    pub bank_type: Option<String>,
    /// Goods description.
    pub body: Option<String>,
    /// Merchant data.
    pub attach: Option<String>,
    /// Receiving account text for refunds.
    pub refund_recv_account: Option<String>,
    /// Payer account cancelled.
    pub payer_account_abnormal: bool,
    /// Order still processing.
    pub not_ready: bool,
    /// Refunds settle to this status instead of SUCCESS.
    pub refund_outcome: Option<RefundStatus>,
}

/// A coupon in a seeded order.
#[derive(Debug, Clone, Deserialize)]
pub struct SeedCoupon {
    /// Coupon id (generated when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// Kind.
    pub kind: CouponKind,
    /// Amount in fen.
    pub fee: u64,
}

/// Why seeding or an admin change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// Unknown merchant.
    #[error("unknown merchant {0}")]
    UnknownMerchant(String),
    /// Unknown refund.
    #[error("unknown refund {0}")]
    UnknownRefund(String),
    /// Something already exists with that id.
    #[error("{0} already exists")]
    Duplicate(String),
    /// The value is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The refund already has a final status.
    #[error("refund {0} is already final")]
    RefundFinal(String),
    /// No such order.
    #[error("unknown order {0}")]
    UnknownOrder(String),
    /// The order's state does not allow it.
    #[error("{0}")]
    Conflict(String),
}

/// The WeChat side of the sandbox.
#[derive(Debug)]
pub struct WechatLedger {
    rules: WechatRules,
    merchants: HashMap<String, Merchant>,
    orders: Vec<Order>,
    orders_by_transaction_id: HashMap<Box<str>, usize>,
    /// Interned order details (see [`OrderDetails`]).
    details: HashSet<Arc<OrderDetails>>,
    /// Refund bookkeeping of the orders that have refunds, by order index.
    order_refunds: HashMap<usize, OrderRefunds>,
    refunds: Vec<Refund>,
    refunds_by_refund_id: HashMap<String, usize>,
    /// PROCESSING refunds by settlement time, so settling is a range scan.
    pending: BTreeSet<(Timestamp, usize)>,
    /// Refunds that reached a final status (index, when), not yet taken by the notification
    /// engine ([`WechatLedger::take_finished`]).
    finished: Vec<(usize, Timestamp)>,
}

/// A refund that reached SUCCESS, CHANGE or REFUNDCLOSE (spec §5.1: each is notified).
#[derive(Debug, Clone)]
pub struct FinishedRefund {
    /// The refund after the change.
    pub refund: Refund,
    /// Its order.
    pub order: Order,
    /// When it changed.
    pub at: Timestamp,
}

impl WechatLedger {
    /// An empty ledger with these rules.
    pub fn new(rules: WechatRules) -> WechatLedger {
        WechatLedger {
            rules,
            merchants: HashMap::new(),
            orders: Vec::new(),
            orders_by_transaction_id: HashMap::new(),
            details: HashSet::new(),
            order_refunds: HashMap::new(),
            refunds: Vec::new(),
            refunds_by_refund_id: HashMap::new(),
            pending: BTreeSet::new(),
            finished: Vec::new(),
        }
    }

    /// Takes the refunds that reached a final status since the last call, oldest first.
    pub fn take_finished(&mut self) -> Vec<FinishedRefund> {
        std::mem::take(&mut self.finished)
            .into_iter()
            .filter_map(|(index, at)| {
                let refund = self.refunds.get(index)?.clone();
                let order = self.orders.get(refund.order)?.clone();
                Some(FinishedRefund { refund, order, at })
            })
            .collect()
    }

    /// When the next PROCESSING refund settles, if any.
    pub fn next_settlement(&self) -> Option<Timestamp> {
        self.pending.first().map(|(at, _)| *at)
    }

    /// The rules in force.
    pub fn rules(&self) -> &WechatRules {
        &self.rules
    }

    /// A merchant by id.
    pub fn merchant(&self, mch_id: &str) -> Option<&Merchant> {
        self.merchants.get(mch_id)
    }

    /// Every merchant.
    pub fn merchants(&self) -> impl Iterator<Item = &Merchant> {
        self.merchants.values()
    }

    /// Creates a merchant.
    pub fn create_merchant(&mut self, new: NewMerchant) -> Result<Merchant, AdminError> {
        if self.merchants.contains_key(&new.mch_id) {
            return Err(AdminError::Duplicate(format!("merchant {}", new.mch_id)));
        }
        if new.mch_id.is_empty() || new.mch_id.len() > 32 {
            return Err(AdminError::Invalid(
                "mch_id must be 1 to 32 characters".into(),
            ));
        }
        if new.appids.is_empty() {
            return Err(AdminError::Invalid(
                "a merchant needs at least one appid".into(),
            ));
        }
        if new.api_key.is_empty() {
            return Err(AdminError::Invalid("api_key must not be empty".into()));
        }
        let merchant = Merchant {
            shared_id: Arc::from(new.mch_id.as_str()),
            mch_id: new.mch_id,
            appids: new.appids,
            api_key: new.api_key,
            company: new.company,
            refundable_balance: new.refundable_balance,
            ip_allowlist: new.ip_allowlist,
            notify_url: new.notify_url,
            orders_by_out_trade_no: HashMap::new(),
            refunds_by_out_refund_no: HashMap::new(),
            old_order_refunds: None,
        };
        self.merchants
            .insert(merchant.mch_id.clone(), merchant.clone());
        Ok(merchant)
    }

    /// Sets a merchant's refundable balance (fen).
    pub fn set_balance(&mut self, mch_id: &str, balance: u64) -> Result<(), AdminError> {
        self.merchant_mut(mch_id)?.refundable_balance = balance;
        Ok(())
    }

    /// Sets or clears a merchant's IP allow-list.
    pub fn set_ip_allowlist(
        &mut self,
        mch_id: &str,
        allowlist: Option<Vec<IpAddr>>,
    ) -> Result<(), AdminError> {
        self.merchant_mut(mch_id)?.ip_allowlist = allowlist;
        Ok(())
    }

    fn merchant_mut(&mut self, mch_id: &str) -> Result<&mut Merchant, AdminError> {
        self.merchants
            .get_mut(mch_id)
            .ok_or_else(|| AdminError::UnknownMerchant(mch_id.to_owned()))
    }

    /// Seeds an order (any state, any age) and returns it.
    pub fn seed_order(
        &mut self,
        seed: SeedOrder,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<Order, AdminError> {
        let index = self.seed_order_indexed(seed, now, ids)?;
        self.orders
            .get(index)
            .cloned()
            .ok_or_else(|| AdminError::Invalid("order vanished".into()))
    }

    /// [`WechatLedger::seed_order`] without the copy of the new order: for bulk seeding.
    pub fn seed_order_indexed(
        &mut self,
        seed: SeedOrder,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<usize, AdminError> {
        let merchant = self
            .merchants
            .get(&seed.mch_id)
            .ok_or_else(|| AdminError::UnknownMerchant(seed.mch_id.clone()))?;
        if seed.total_fee == 0 {
            return Err(AdminError::Invalid(
                "total_fee must be at least 1 fen".into(),
            ));
        }
        let appid = match seed.appid {
            Some(appid) if merchant.appids.contains(&appid) => appid,
            Some(appid) => {
                return Err(AdminError::Invalid(format!(
                    "appid {appid} is not bound to merchant {}",
                    seed.mch_id
                )));
            }
            None => merchant.appids.first().cloned().unwrap_or_default(),
        };
        let mch_id = merchant.shared_id.clone();
        let paid_at = now.minus(Duration::from_secs(seed.paid_seconds_ago.unwrap_or(60)));
        let out_trade_no = match seed.out_trade_no {
            Some(no) => no,
            None => ids.out_trade_no(paid_at),
        };
        if merchant
            .orders_by_out_trade_no
            .contains_key(out_trade_no.as_str())
        {
            return Err(AdminError::Duplicate(format!(
                "out_trade_no {out_trade_no}"
            )));
        }
        let transaction_id = match seed.transaction_id {
            Some(id) => id,
            None => new_transaction_id(&self.orders_by_transaction_id, ids, paid_at),
        };
        if self
            .orders_by_transaction_id
            .contains_key(transaction_id.as_str())
        {
            return Err(AdminError::Duplicate(format!(
                "transaction_id {transaction_id}"
            )));
        }
        let coupons = paid_coupons(seed.coupons, seed.total_fee, ids)?;
        let details = self.intern(OrderDetails {
            appid,
            fee_type: "CNY".to_owned(),
            trade_type: seed.trade_type.unwrap_or_else(|| "JSAPI".to_owned()),
            openid: DEFAULT_OPENID.to_owned(),
            bank_type: seed.bank_type.unwrap_or_else(|| "CFT".to_owned()),
            body: seed
                .body
                .unwrap_or_else(|| "paysandbox demo goods".to_owned()),
            attach: seed.attach.unwrap_or_default(),
            refund_recv_account: seed
                .refund_recv_account
                .unwrap_or_else(|| "支付用户零钱".to_owned()),
        });
        let transaction_id: Box<str> = transaction_id.into();
        let out_trade_no: Box<str> = out_trade_no.into();
        let index = self.orders.len();
        self.orders_by_transaction_id
            .insert(transaction_id.clone(), index);
        if let Some(merchant) = self.merchants.get_mut(&seed.mch_id) {
            merchant
                .orders_by_out_trade_no
                .insert(out_trade_no.clone(), index);
        }
        self.orders.push(Order {
            mch_id,
            transaction_id,
            out_trade_no,
            total_fee: seed.total_fee,
            coupons,
            payment_state: seed.state,
            payer_account_abnormal: seed.payer_account_abnormal,
            not_ready: seed.not_ready,
            refund_outcome: seed.refund_outcome,
            paid_at: (seed.state == PaymentState::Success).then_some(paid_at),
            details,
            prepay: None,
        });
        Ok(index)
    }

    /// One shared copy of each distinct [`OrderDetails`].
    fn intern(&mut self, details: OrderDetails) -> Arc<OrderDetails> {
        if let Some(shared) = self.details.get(&details) {
            return shared.clone();
        }
        let shared = Arc::new(details);
        self.details.insert(shared.clone());
        shared
    }

    fn find_order(&self, mch_id: &str, by: &OrderRef) -> Option<usize> {
        let index = match by {
            OrderRef::TransactionId(id) => *self.orders_by_transaction_id.get(id.as_str())?,
            OrderRef::OutTradeNo(no) => *self
                .merchants
                .get(mch_id)?
                .orders_by_out_trade_no
                .get(no.as_str())?,
        };
        // Another merchant's order does not exist for this one.
        (*self.orders.get(index)?.mch_id == *mch_id).then_some(index)
    }

    /// Applies a refund request. Checks, in this order (the first that fails answers):
    /// 1. the order exists for this merchant (INVALID_TRANSACTIONID by transaction_id,
    ///    ORDERNOTEXIST by out_trade_no) and is paid (ORDERNOTEXIST);
    /// 2. an earlier refund with the same out_refund_no: same order and amounts -> the same
    ///    refund again, nothing debited; other amounts -> REFUND_FEE_MISMATCH; another order
    ///    -> INVALID_REQUEST;
    /// 3. seeded payer/order conditions (USER_ACCOUNT_ABNORMAL, ORDER_NOT_READY);
    /// 4. the one-year refund window (TRADE_OVERDUE);
    /// 5. total_fee equals the order amount;
    /// 6. fully refunded (TRADE_STATE_ERROR), the refund-count cap, the refundable amount;
    /// 7. spacing since the previous refund of the order, the old-order rate limit;
    /// 8. the merchant's refundable balance (NOTENOUGH).
    pub fn refund(
        &mut self,
        cmd: RefundCommand,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<RefundAccepted, RefundError> {
        self.settle_due(now);
        let order_index = match self.find_order(&cmd.mch_id, &cmd.order) {
            Some(index) => index,
            None => {
                return Err(match cmd.order {
                    OrderRef::TransactionId(_) => RefundError::UnknownTransactionId,
                    OrderRef::OutTradeNo(_) => RefundError::OrderNotExist,
                });
            }
        };
        let order = self.order_at(order_index)?;
        if !order.is_paid() {
            return Err(RefundError::OrderNotExist);
        }

        let earlier = self
            .merchants
            .get(&cmd.mch_id)
            .and_then(|m| m.refunds_by_out_refund_no.get(&cmd.out_refund_no))
            .copied();
        if let Some(refund_index) = earlier {
            let refund = self
                .refunds
                .get(refund_index)
                .ok_or(RefundError::OrderNotExist)?;
            if refund.order != order_index {
                return Err(RefundError::OutRefundNoOfAnotherOrder);
            }
            if refund.refund_fee != cmd.refund_fee || refund.total_fee != cmd.total_fee {
                return Err(RefundError::AmountsDifferFromEarlierRequest);
            }
            return Ok(RefundAccepted {
                refund: refund.clone(),
                order: order.clone(),
                repeated: true,
            });
        }

        if order.payer_account_abnormal {
            return Err(RefundError::PayerAccountAbnormal);
        }
        if order.not_ready {
            return Err(RefundError::OrderNotReady);
        }
        let paid_at = order.paid_at.unwrap_or(now);
        if now.since(paid_at) > self.rules.refund_window {
            return Err(RefundError::Overdue);
        }
        if cmd.total_fee != order.total_fee {
            return Err(RefundError::TotalFeeMismatch {
                stated: cmd.total_fee,
                actual: order.total_fee,
            });
        }
        let book = self.order_refunds.get(&order_index);
        let refunded = book.map_or(0, |b| b.refunded);
        let refundable = order.total_fee.saturating_sub(refunded);
        if refundable == 0 {
            return Err(RefundError::FullyRefunded);
        }
        if book.map_or(0, |b| b.refunds.len()) >= self.rules.max_refunds_per_order {
            return Err(RefundError::TooManyRefunds);
        }
        if cmd.refund_fee > refundable && !self.rules.unchecked_over_refund_for_tests {
            return Err(RefundError::ExceedsRefundable { refundable });
        }
        if book
            .and_then(|b| b.last_refund_at)
            .is_some_and(|last| now.since(last) < self.rules.refund_spacing)
        {
            return Err(RefundError::TooSoonAfterPreviousRefund);
        }
        let is_old = now.since(paid_at) > self.rules.old_order_age;

        let coupon_refunds = self.split_coupons(order_index, cmd.refund_fee, refundable);
        let no_cash_part: u64 = coupon_refunds
            .iter()
            .filter(|c| c.kind == CouponKind::NoCash)
            .map(|c| c.fee)
            .sum();
        let coupon_part: u64 = coupon_refunds.iter().map(|c| c.fee).sum();
        let settlement_refund_fee = cmd.refund_fee.saturating_sub(no_cash_part);

        let per_minute = self.rules.old_order_refunds_per_minute;
        let merchant = self
            .merchants
            .get_mut(&cmd.mch_id)
            .ok_or(RefundError::OrderNotExist)?;
        if is_old {
            let window = merchant
                .old_order_refunds
                .get_or_insert_with(|| SlidingWindow::new(Duration::from_secs(60), per_minute));
            if !window.try_record(now) {
                return Err(RefundError::OldOrderRateLimited);
            }
        }
        if merchant.refundable_balance < settlement_refund_fee {
            return Err(RefundError::NotEnoughBalance {
                balance: merchant.refundable_balance,
                needed: settlement_refund_fee,
            });
        }
        merchant.refundable_balance -= settlement_refund_fee;

        let refund_id = loop {
            let id = ids.wechat_refund_id(now);
            if !self.refunds_by_refund_id.contains_key(&id) {
                break id;
            }
        };
        let settles_at = now.plus(self.rules.settle_delay);
        let order = self
            .orders
            .get(order_index)
            .ok_or(RefundError::OrderNotExist)?;
        let refund = Refund {
            refund_id: refund_id.clone(),
            out_refund_no: cmd.out_refund_no.clone(),
            refund_fee: cmd.refund_fee,
            total_fee: cmd.total_fee,
            settlement_refund_fee,
            cash_refund_fee: cmd.refund_fee.saturating_sub(coupon_part),
            coupon_refunds,
            status: RefundStatus::Processing,
            refund_account: cmd.refund_account.unwrap_or_default(),
            refund_recv_account: order.details.refund_recv_account.clone(),
            refund_channel: "ORIGINAL".to_owned(),
            request_source: "API".to_owned(),
            notify_url: cmd.notify_url,
            refund_desc: cmd.refund_desc,
            requested_at: now,
            settles_at,
            success_at: None,
            order: order_index,
        };
        let refund_index = self.refunds.len();
        let order = order.clone();
        let book = self.order_refunds.entry(order_index).or_default();
        book.refunds.push(refund_index);
        book.refunded = book.refunded.saturating_add(cmd.refund_fee);
        book.last_refund_at = Some(now);
        self.refunds.push(refund.clone());
        self.refunds_by_refund_id.insert(refund_id, refund_index);
        self.pending.insert((settles_at, refund_index));
        merchant_index_refund(
            &mut self.merchants,
            &cmd.mch_id,
            cmd.out_refund_no,
            refund_index,
        );
        Ok(RefundAccepted {
            refund,
            order,
            repeated: false,
        })
    }

    fn order_at(&self, index: usize) -> Result<&Order, RefundError> {
        self.orders.get(index).ok_or(RefundError::OrderNotExist)
    }

    fn refunds_of(&self, order_index: usize) -> impl Iterator<Item = &Refund> {
        self.order_refunds
            .get(&order_index)
            .map(|b| b.refunds.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|i| self.refunds.get(*i))
    }

    /// Number of refunds ever accepted for an order (closed ones included).
    pub fn refund_count(&self, order: &Order) -> usize {
        self.order_index(order)
            .and_then(|i| self.order_refunds.get(&i))
            .map_or(0, |b| b.refunds.len())
    }

    fn order_index(&self, order: &Order) -> Option<usize> {
        self.orders_by_transaction_id
            .get(&order.transaction_id)
            .copied()
    }

    /// Splits a refund between the order's coupons and cash in proportion to how the order
    /// was paid; the refund that empties the order takes whatever each coupon has left, so
    /// rounding never strands a fen.
    fn split_coupons(
        &self,
        order_index: usize,
        refund_fee: u64,
        refundable: u64,
    ) -> Vec<CouponRefund> {
        let Some(order) = self.orders.get(order_index) else {
            return Vec::new();
        };
        if order.coupons.is_empty() {
            return Vec::new();
        }
        let mut coupon_left: Vec<u64> = order.coupons.iter().map(|c| c.fee).collect();
        let mut cash_left = order.cash_fee();
        for refund in self
            .refunds_of(order_index)
            .filter(|r| r.status.holds_money())
        {
            for part in &refund.coupon_refunds {
                if let Some(pos) = order.coupons.iter().position(|c| c.id == part.coupon_id)
                    && let Some(left) = coupon_left.get_mut(pos)
                {
                    *left = left.saturating_sub(part.fee);
                }
            }
            cash_left = cash_left.saturating_sub(refund.cash_refund_fee);
        }
        let shares: Vec<u64> = if refund_fee == refundable {
            coupon_left
        } else {
            // Proportional share, at least what cash cannot cover, never more than is left.
            let proportional: Vec<u64> = order
                .coupons
                .iter()
                .zip(&coupon_left)
                .map(|(c, left)| {
                    let share = u128::from(c.fee) * u128::from(refund_fee)
                        / u128::from(order.total_fee.max(1));
                    u64::try_from(share).unwrap_or(u64::MAX).min(*left)
                })
                .collect();
            let mut needed = refund_fee
                .saturating_sub(cash_left)
                .saturating_sub(proportional.iter().sum());
            proportional
                .iter()
                .zip(&coupon_left)
                .map(|(share, left)| {
                    let extra = needed.min(left.saturating_sub(*share));
                    needed -= extra;
                    share + extra
                })
                .collect()
        };
        order
            .coupons
            .iter()
            .zip(shares)
            .filter(|(_, fee)| *fee > 0)
            .map(|(c, fee)| CouponRefund {
                coupon_id: c.id.clone(),
                kind: c.kind,
                fee,
            })
            .collect()
    }

    /// Settles every PROCESSING refund whose time has come; returns the refund ids that
    /// changed status.
    pub fn settle_due(&mut self, now: Timestamp) -> Vec<String> {
        let mut settled = Vec::new();
        while let Some(&(at, index)) = self.pending.first() {
            if at > now {
                break;
            }
            self.pending.pop_first();
            let outcome = self
                .refunds
                .get(index)
                .and_then(|r| self.orders.get(r.order))
                .and_then(|o| o.refund_outcome)
                .unwrap_or(RefundStatus::Success);
            if let Some(id) = self.finish_refund(index, outcome, at) {
                settled.push(id);
            }
        }
        settled
    }

    /// Moves a PROCESSING refund to a final status at `at`; a closed refund gives its money
    /// back to the merchant's balance and becomes refundable again.
    fn finish_refund(
        &mut self,
        index: usize,
        status: RefundStatus,
        at: Timestamp,
    ) -> Option<String> {
        let refund = self.refunds.get_mut(index)?;
        if refund.status != RefundStatus::Processing || status == RefundStatus::Processing {
            return None;
        }
        refund.status = status;
        if status == RefundStatus::Success {
            refund.success_at = Some(at);
        }
        self.finished.push((index, at));
        let refund_id = refund.refund_id.clone();
        let give_back = refund.settlement_refund_fee;
        if status == RefundStatus::Refundclose {
            let refund_fee = refund.refund_fee;
            let order_index = refund.order;
            if let Some(book) = self.order_refunds.get_mut(&order_index) {
                book.refunded = book.refunded.saturating_sub(refund_fee);
            }
            let mch_id = self.orders.get(order_index)?.mch_id.clone();
            if let Some(merchant) = self.merchants.get_mut(&*mch_id) {
                merchant.refundable_balance = merchant.refundable_balance.saturating_add(give_back);
            }
        }
        Some(refund_id)
    }

    /// Forces a PROCESSING refund to a final status now (admin API).
    pub fn force_refund_status(
        &mut self,
        refund_id: &str,
        status: RefundStatus,
        now: Timestamp,
    ) -> Result<Refund, AdminError> {
        self.settle_due(now);
        let index = *self
            .refunds_by_refund_id
            .get(refund_id)
            .ok_or_else(|| AdminError::UnknownRefund(refund_id.to_owned()))?;
        if status == RefundStatus::Processing {
            return Err(AdminError::Invalid(
                "a refund can only be forced to a final status".into(),
            ));
        }
        let settles_at = self
            .refunds
            .get(index)
            .map(|r| r.settles_at)
            .ok_or_else(|| AdminError::UnknownRefund(refund_id.to_owned()))?;
        if self.finish_refund(index, status, now).is_none() {
            return Err(AdminError::RefundFinal(refund_id.to_owned()));
        }
        self.pending.remove(&(settles_at, index));
        self.refunds
            .get(index)
            .cloned()
            .ok_or_else(|| AdminError::UnknownRefund(refund_id.to_owned()))
    }

    /// Answers a refund query (§4): one refund by refund number, or a page of up to ten
    /// refunds of an order starting at `offset`.
    pub fn query_refunds(
        &mut self,
        mch_id: &str,
        selector: &RefundSelector,
        offset: usize,
        now: Timestamp,
    ) -> Result<RefundPage, RefundQueryError> {
        self.settle_due(now);
        let single = match selector {
            RefundSelector::RefundId(id) => Some(
                self.refunds_by_refund_id
                    .get(id)
                    .copied()
                    .ok_or(RefundQueryError::RefundNotExist)?,
            ),
            RefundSelector::OutRefundNo(no) => Some(
                self.merchants
                    .get(mch_id)
                    .and_then(|m| m.refunds_by_out_refund_no.get(no))
                    .copied()
                    .ok_or(RefundQueryError::RefundNotExist)?,
            ),
            RefundSelector::TransactionId(_) | RefundSelector::OutTradeNo(_) => None,
        };
        if let Some(index) = single {
            let refund = self
                .refunds
                .get(index)
                .ok_or(RefundQueryError::RefundNotExist)?;
            let order = self
                .orders
                .get(refund.order)
                .filter(|o| *o.mch_id == *mch_id)
                .ok_or(RefundQueryError::RefundNotExist)?;
            return Ok(RefundPage {
                order: order.clone(),
                total_refund_count: None,
                refunds: vec![refund.clone()],
            });
        }
        let by = match selector {
            RefundSelector::TransactionId(id) => OrderRef::TransactionId(id.clone()),
            RefundSelector::OutTradeNo(no) => OrderRef::OutTradeNo(no.clone()),
            RefundSelector::RefundId(_) | RefundSelector::OutRefundNo(_) => {
                return Err(RefundQueryError::RefundNotExist);
            }
        };
        let order_index = self
            .find_order(mch_id, &by)
            .ok_or(RefundQueryError::RefundNotExist)?;
        let order = self
            .orders
            .get(order_index)
            .ok_or(RefundQueryError::RefundNotExist)?;
        let indexes = self
            .order_refunds
            .get(&order_index)
            .map(|b| b.refunds.as_slice())
            .unwrap_or_default();
        let total = indexes.len();
        if total == 0 {
            return Err(RefundQueryError::RefundNotExist);
        }
        if offset > total {
            return Err(RefundQueryError::OffsetOutOfRange { offset, total });
        }
        let refunds = indexes
            .iter()
            .skip(offset)
            .take(REFUND_PAGE_SIZE)
            .filter_map(|i| self.refunds.get(*i).cloned())
            .collect();
        Ok(RefundPage {
            order: order.clone(),
            total_refund_count: Some(total),
            refunds,
        })
    }

    /// Looks an order up for `/pay/orderquery`; `None` is ORDERNOTEXIST.
    pub fn query_order(&mut self, mch_id: &str, by: &OrderRef, now: Timestamp) -> Option<Order> {
        self.settle_due(now);
        let index = self.find_order(mch_id, by)?;
        self.orders.get(index).cloned()
    }

    /// `trade_state` of an order: REFUND once it has a refund that was not closed.
    pub fn trade_state(&self, order: &Order) -> &'static str {
        let has_live_refund = self
            .order_index(order)
            .and_then(|i| self.order_refunds.get(&i))
            .is_some_and(|b| b.refunded > 0);
        if order.is_paid() && has_live_refund {
            "REFUND"
        } else {
            order.payment_state.as_str()
        }
    }

    /// Orders, optionally of one merchant, in creation order.
    pub fn orders(&self, mch_id: Option<&str>) -> impl Iterator<Item = &Order> {
        self.orders
            .iter()
            .filter(move |o| mch_id.is_none_or(|m| *o.mch_id == *m))
    }

    /// Refunds, optionally of one merchant, in creation order.
    pub fn refunds(&self, mch_id: Option<&str>) -> impl Iterator<Item = (&Refund, &Order)> {
        self.refunds.iter().filter_map(move |r| {
            let order = self.orders.get(r.order)?;
            mch_id
                .is_none_or(|m| *order.mch_id == *m)
                .then_some((r, order))
        })
    }

    /// The order a refund belongs to.
    pub fn order_of(&self, refund: &Refund) -> Option<&Order> {
        self.orders.get(refund.order)
    }
}

impl WechatLedger {
    /// A copy of `merchant` (id, key, appids, settings; no orders or refunds) unless one with
    /// its id exists: the sandbox ledger mirrors production merchants on first use.
    pub fn mirror_merchant(&mut self, merchant: &Merchant) {
        if self.merchants.contains_key(&merchant.mch_id) {
            return;
        }
        let copy = Merchant {
            shared_id: Arc::from(merchant.mch_id.as_str()),
            orders_by_out_trade_no: HashMap::new(),
            refunds_by_out_refund_no: HashMap::new(),
            old_order_refunds: None,
            ..merchant.clone()
        };
        self.merchants.insert(copy.mch_id.clone(), copy);
    }

    /// The ledger a call acts on: `sandbox_ledger` for `/sandboxnew/` calls (`sandbox`),
    /// after mirroring the merchant `mch_id` from `production` into it (see
    /// [`WechatLedger::mirror_merchant`]), else `production`.
    pub fn select<'a>(
        production: &'a mut WechatLedger,
        sandbox_ledger: &'a mut WechatLedger,
        sandbox: bool,
        mch_id: &str,
    ) -> &'a mut WechatLedger {
        if !sandbox {
            return production;
        }
        if let Some(merchant) = production.merchant(mch_id) {
            sandbox_ledger.mirror_merchant(merchant);
        }
        sandbox_ledger
    }

    /// `/pay/unifiedorder` (§6.1). An out_trade_no already used: paid -> ORDERPAID, closed
    /// -> ORDERCLOSED; unpaid with the same appid, body, attach, amount, currency, trade
    /// type, openid and product_id -> the same order again, with the same prepay_id while it
    /// is valid (two hours) and a new one after; anything else -> OUT_TRADE_NO_USED.
    /// notify_url, spbill_create_ip and the times are not compared (they legitimately vary
    /// between attempts). A new order is NOTPAY, without a transaction_id until paid.
    pub fn unified_order(
        &mut self,
        cmd: UnifiedOrderCommand,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<Order, UnifiedOrderError> {
        let existing = self
            .merchants
            .get(&cmd.mch_id)
            .and_then(|m| m.orders_by_out_trade_no.get(cmd.out_trade_no.as_str()))
            .copied();
        if let Some(index) = existing {
            let order = self
                .orders
                .get(index)
                .ok_or(UnifiedOrderError::OutTradeNoUsed)?;
            match order.payment_state {
                PaymentState::Success => return Err(UnifiedOrderError::OrderPaid),
                PaymentState::Closed | PaymentState::Revoked => {
                    return Err(UnifiedOrderError::OrderClosed);
                }
                PaymentState::Notpay | PaymentState::Userpaying | PaymentState::Payerror => {}
            }
            let d = &order.details;
            let same = order.total_fee == cmd.total_fee
                && d.appid == cmd.appid
                && d.body == cmd.body
                && d.attach == cmd.attach.clone().unwrap_or_default()
                && d.fee_type == cmd.fee_type
                && d.trade_type == cmd.trade_type
                && cmd.openid.as_ref().is_none_or(|o| *o == d.openid)
                && order.prepay.as_ref().and_then(|p| p.product_id.as_ref())
                    == cmd.product_id.as_ref();
            if !same {
                return Err(UnifiedOrderError::OutTradeNoUsed);
            }
            let fresh = order
                .prepay
                .as_ref()
                .is_some_and(|p| now.since(p.prepay_issued_at) < PREPAY_VALIDITY);
            if !fresh {
                let prepay = new_prepay(&cmd, now, ids, order.prepay.as_deref());
                if let Some(order) = self.orders.get_mut(index) {
                    order.prepay = Some(Box::new(prepay));
                }
            }
            return self
                .orders
                .get(index)
                .cloned()
                .ok_or(UnifiedOrderError::OutTradeNoUsed);
        }
        let Some(merchant) = self.merchants.get(&cmd.mch_id) else {
            return Err(UnifiedOrderError::OutTradeNoUsed);
        };
        let mch_id = merchant.shared_id.clone();
        let prepay = new_prepay(&cmd, now, ids, None);
        let details = self.intern(OrderDetails {
            appid: cmd.appid,
            fee_type: cmd.fee_type,
            trade_type: cmd.trade_type,
            openid: cmd.openid.unwrap_or_default(),
            bank_type: String::new(),
            body: cmd.body,
            attach: cmd.attach.unwrap_or_default(),
            refund_recv_account: "支付用户零钱".to_owned(),
        });
        let out_trade_no: Box<str> = cmd.out_trade_no.into();
        let index = self.orders.len();
        if let Some(merchant) = self.merchants.get_mut(&cmd.mch_id) {
            merchant
                .orders_by_out_trade_no
                .insert(out_trade_no.clone(), index);
        }
        let order = Order {
            mch_id,
            // Assigned when paid; an unpaid order cannot be found by transaction_id.
            transaction_id: Box::from(""),
            out_trade_no,
            total_fee: cmd.total_fee,
            coupons: Vec::new(),
            payment_state: PaymentState::Notpay,
            payer_account_abnormal: false,
            not_ready: false,
            refund_outcome: None,
            paid_at: None,
            details,
            prepay: Some(Box::new(prepay)),
        };
        self.orders.push(order.clone());
        Ok(order)
    }

    /// `/pay/closeorder` (§6.3): an unpaid order becomes CLOSED; paid -> ORDERPAID, closed ->
    /// ORDERCLOSED. The older "at least 5 minutes after creation" rule is not applied.
    pub fn close_order(
        &mut self,
        mch_id: &str,
        out_trade_no: &str,
        now: Timestamp,
    ) -> Result<Order, CloseOrderError> {
        let index = self
            .find_order(mch_id, &OrderRef::OutTradeNo(out_trade_no.to_owned()))
            .ok_or(CloseOrderError::OrderNotExist)?;
        let order = self
            .orders
            .get_mut(index)
            .ok_or(CloseOrderError::OrderNotExist)?;
        match order.payment_state {
            PaymentState::Success => return Err(CloseOrderError::OrderPaid),
            PaymentState::Closed | PaymentState::Revoked => {
                return Err(CloseOrderError::OrderClosed);
            }
            PaymentState::Notpay | PaymentState::Userpaying | PaymentState::Payerror => {}
        }
        order.payment_state = PaymentState::Closed;
        if let Some(prepay) = order.prepay.as_mut() {
            prepay.closed_at = Some(now);
        }
        Ok(order.clone())
    }

    /// The index of the order `out_trade_no` of `mch_id`, or of the only merchant that has
    /// one when `mch_id` is not given.
    fn admin_order_index(
        &self,
        mch_id: Option<&str>,
        out_trade_no: &str,
    ) -> Result<usize, AdminError> {
        let unknown = || AdminError::UnknownOrder(out_trade_no.to_owned());
        if let Some(mch_id) = mch_id {
            let merchant = self
                .merchants
                .get(mch_id)
                .ok_or_else(|| AdminError::UnknownMerchant(mch_id.to_owned()))?;
            return merchant
                .orders_by_out_trade_no
                .get(out_trade_no)
                .copied()
                .ok_or_else(unknown);
        }
        let mut found = self
            .merchants
            .values()
            .filter_map(|m| m.orders_by_out_trade_no.get(out_trade_no).copied());
        match (found.next(), found.next()) {
            (Some(index), None) => Ok(index),
            (None, _) => Err(unknown()),
            (Some(_), Some(_)) => Err(AdminError::Conflict(format!(
                "several merchants have an order {out_trade_no}: give mch_id"
            ))),
        }
    }

    /// The simulated buyer pays an unpaid order (admin API): NOTPAY -> SUCCESS with a new
    /// transaction_id, `time_end` = now, the payer and bank given (or defaults), and the
    /// settlement amount credited to the merchant's refundable balance. Refused for paid or
    /// closed orders, after `time_expire`, and when the prepay_id is older than two hours
    /// (the buyer's client could no longer pay with it; unified-order again first).
    pub fn pay_order(
        &mut self,
        mch_id: Option<&str>,
        out_trade_no: &str,
        payment: BuyerPayment,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<Order, AdminError> {
        self.settle_due(now);
        let index = self.admin_order_index(mch_id, out_trade_no)?;
        let order = self
            .orders
            .get(index)
            .ok_or_else(|| AdminError::UnknownOrder(out_trade_no.to_owned()))?;
        if !matches!(
            order.payment_state,
            PaymentState::Notpay | PaymentState::Userpaying | PaymentState::Payerror
        ) {
            return Err(AdminError::Conflict(format!(
                "order {out_trade_no} is {}, not NOTPAY",
                order.payment_state.as_str()
            )));
        }
        if let Some(prepay) = &order.prepay {
            if let Some(expire) = prepay.time_expire
                && now >= expire
            {
                return Err(AdminError::Conflict(format!(
                    "order {out_trade_no} expired at {} (time_expire)",
                    expire.beijing_datetime()
                )));
            }
            if now.since(prepay.prepay_issued_at) >= PREPAY_VALIDITY {
                return Err(AdminError::Conflict(format!(
                    "prepay_id {} is older than two hours: call /pay/unifiedorder again with the same parameters",
                    prepay.prepay_id
                )));
            }
        }
        let coupons = paid_coupons(payment.coupons, order.total_fee, ids)?;
        let openid = payment
            .openid
            .or_else(|| Some(order.details.openid.clone()).filter(|o| !o.is_empty()))
            .unwrap_or_else(|| DEFAULT_OPENID.to_owned());
        let details = OrderDetails {
            openid,
            bank_type: payment.bank_type.unwrap_or_else(|| "CFT".to_owned()),
            ..(*order.details).clone()
        };
        let transaction_id: Box<str> = if order.transaction_id.is_empty() {
            new_transaction_id(&self.orders_by_transaction_id, ids, now).into()
        } else {
            order.transaction_id.clone()
        };
        let details = self.intern(details);
        self.orders_by_transaction_id
            .insert(transaction_id.clone(), index);
        let order = self
            .orders
            .get_mut(index)
            .ok_or_else(|| AdminError::UnknownOrder(out_trade_no.to_owned()))?;
        order.transaction_id = transaction_id;
        order.coupons = coupons;
        order.payment_state = PaymentState::Success;
        order.paid_at = Some(now);
        order.details = details;
        let order = order.clone();
        if let Some(merchant) = self.merchants.get_mut(&*order.mch_id) {
            merchant.refundable_balance = merchant
                .refundable_balance
                .saturating_add(order.settlement_total_fee());
        }
        Ok(order)
    }
}

/// A new prepay_id (and code_url / mweb_url for NATIVE / MWEB) for a unified order, keeping
/// what an earlier one recorded about the order's creation.
fn new_prepay(
    cmd: &UnifiedOrderCommand,
    now: Timestamp,
    ids: &mut IdGenerator,
    earlier: Option<&Prepay>,
) -> Prepay {
    let prepay_id = ids.wechat_prepay_id(now);
    let code_url = (cmd.trade_type == "NATIVE").then(|| ids.wechat_code_url());
    let mweb_url = (cmd.trade_type == "MWEB").then(|| ids.wechat_mweb_url(&prepay_id));
    match earlier {
        Some(earlier) => Prepay {
            prepay_id,
            prepay_issued_at: now,
            code_url,
            mweb_url,
            ..earlier.clone()
        },
        None => Prepay {
            prepay_id,
            prepay_issued_at: now,
            created_at: now,
            notify_url: cmd.notify_url.clone(),
            spbill_create_ip: cmd.spbill_create_ip.clone(),
            device_info: cmd.device_info.clone(),
            product_id: cmd.product_id.clone(),
            time_start: cmd.time_start.clone(),
            time_expire: cmd.time_expire,
            code_url,
            mweb_url,
            sign_type: cmd.sign_type.clone(),
            closed_at: None,
        },
    }
}

fn merchant_index_refund(
    merchants: &mut HashMap<String, Merchant>,
    mch_id: &str,
    out_refund_no: String,
    refund_index: usize,
) {
    if let Some(merchant) = merchants.get_mut(mch_id) {
        merchant
            .refunds_by_out_refund_no
            .insert(out_refund_no, refund_index);
    }
}

/// A transaction_id for an order paid at `at` that no order holds yet.
fn new_transaction_id(
    taken: &HashMap<Box<str>, usize>,
    ids: &mut IdGenerator,
    at: Timestamp,
) -> String {
    loop {
        let id = ids.wechat_transaction_id(at);
        if !taken.contains_key(id.as_str()) {
            break id;
        }
    }
}

/// The coupons of a seeded or admin-paid order, with generated ids where none was given;
/// refused when they add up to more than the order's `total_fee`.
fn paid_coupons(
    coupons: Vec<SeedCoupon>,
    total_fee: u64,
    ids: &mut IdGenerator,
) -> Result<Vec<Coupon>, AdminError> {
    let coupons: Vec<Coupon> = coupons
        .into_iter()
        .map(|c| Coupon {
            id: c.id.unwrap_or_else(|| ids.coupon_id()),
            kind: c.kind,
            fee: c.fee,
        })
        .collect();
    if coupons.iter().map(|c| c.fee).sum::<u64>() > total_fee {
        return Err(AdminError::Invalid("coupons exceed total_fee".into()));
    }
    Ok(coupons)
}

#[cfg(test)]
mod tests;
