//! The WeChat Pay v2 ledger: merchants, orders, refunds and the rules of spec/wechat-v2.md
//! (§3.4 refunds, §3.5 the refund state machine, §4 and §6.2 queries, §6 the payment side).
//!
//! One [`WechatLedger`] per ledger (production, and the `/sandboxnew/` sandbox's own). Its
//! operations are split by what they serve, each file one `impl WechatLedger` block:
//! - `model`: what it holds (rules, merchants, orders, coupons, refunds, statuses);
//! - `store`: the ledger and its indexes, and the lookups every operation shares;
//! - `refund`: [`WechatLedger::refund`], whose body is the one written order of the refund
//!   rules; the coupon/cash split; settlement and the finished refunds the notifier takes;
//! - `query`: refund query, order query, `trade_state`;
//! - `payment`: unified order, close order, the simulated buyer's payment;
//! - `seed`: orders in any state and age;
//! - `record`: the ledger as records (scenario files) and back, exactly;
//! - `admin`: merchants, balances, allow-lists, forced refund outcomes;
//! - `limits`: the refund endpoint's per-merchant request limits ([`RefundLimits`]);
//! - `sandbox`: the sandbox keys getsignkey issues (with their expiry) and the sandbox
//!   ledger's mirrored merchants.

mod admin;
mod limits;
mod model;
mod payment;
mod query;
mod record;
mod refund;
mod sandbox;
mod seed;
mod store;

pub use admin::{AdminError, NewMerchant};
pub use limits::{
    Caller, ERROR_BLOCK, ERROR_QPS, LimitError, MAX_CALLERS, REFUND_QPS, RefundLimits,
};
pub use model::{
    Coupon, CouponKind, CouponRefund, DEFAULT_OPENID, Merchant, Order, OrderDetails, OrderRef,
    PREPAY_VALIDITY, PaymentState, Prepay, Refund, RefundAccount, RefundStatus, V3_SIGN_TYPE,
    V3Identity, WechatRules,
};
pub use payment::{BuyerPayment, CloseOrderError, UnifiedOrderCommand, UnifiedOrderError};
pub use query::{REFUND_PAGE_SIZE, RefundPage, RefundQueryError, RefundSelector};
pub use record::{
    CouponPartRecord, CouponRecord, EventRecord, MerchantRecord, OrderRecord, PrepayRecord,
    RefundRecord, WechatChanges, WechatRecords,
};
pub use refund::{FinishedRefund, RedirectError, RefundAccepted, RefundCommand, RefundError};
pub use sandbox::{KEY_LIFETIME, SandboxKey, SandboxKeyRecord, SandboxKeys};
pub use seed::{SeedCoupon, SeedOrder};
pub use store::WechatLedger;

#[cfg(test)]
mod tests;
