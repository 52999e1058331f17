//! The demo merchant and orders that `paysandbox serve` starts with, so a client can refund
//! something in its first minute. Each order exercises one situation; the README lists them.

use crate::clock::Timestamp;
use crate::ledger::wechat::{
    AdminError, CouponKind, NewMerchant, PaymentState, RefundStatus, SeedCoupon, SeedOrder,
};
use crate::state::World;

/// Demo merchant id (the mch_id of the official examples).
pub const MCH_ID: &str = "1900000109";
/// Demo appid (of the official examples).
pub const APPID: &str = "wx2421b1c4370ec43b";
/// Demo API key: 32 characters, as real keys and some clients require.
pub const API_KEY: &str = "paysandboxdemokey000000000000000";
/// Demo company name (OU of the certificate).
pub const COMPANY: &str = "paysandbox demo merchant";

const DAY: u64 = 86_400;

/// One demo order: out_trade_no, amount in fen, and what makes it interesting.
pub struct DemoOrder {
    /// Merchant order number.
    pub out_trade_no: &'static str,
    /// Amount in fen.
    pub total_fee: u64,
    /// What it is for.
    pub purpose: &'static str,
    seed: fn(SeedOrder) -> SeedOrder,
}

/// The demo orders, in the order they are seeded.
pub const ORDERS: &[DemoOrder] = &[
    DemoOrder {
        out_trade_no: "demo-order-0001",
        total_fee: 1000,
        purpose: "paid a minute ago: refund it in full or in parts",
        seed: |s| s,
    },
    DemoOrder {
        out_trade_no: "demo-order-0002",
        total_fee: 8800,
        purpose: "paid a minute ago: partial refunds",
        seed: |s| s,
    },
    DemoOrder {
        out_trade_no: "demo-order-0003",
        total_fee: 1000,
        purpose: "paid with a 2.00 non-recharge (NO_CASH) coupon",
        seed: |s| SeedOrder {
            coupons: vec![SeedCoupon {
                id: None,
                kind: CouponKind::NoCash,
                fee: 200,
            }],
            ..s
        },
    },
    DemoOrder {
        out_trade_no: "demo-order-0004",
        total_fee: 500,
        purpose: "paid 40 days ago (old-order refund rate limit applies)",
        seed: |s| SeedOrder {
            paid_seconds_ago: Some(40 * DAY),
            ..s
        },
    },
    DemoOrder {
        out_trade_no: "demo-order-0005",
        total_fee: 500,
        purpose: "paid 400 days ago: TRADE_OVERDUE",
        seed: |s| SeedOrder {
            paid_seconds_ago: Some(400 * DAY),
            ..s
        },
    },
    DemoOrder {
        out_trade_no: "demo-order-0006",
        total_fee: 500,
        purpose: "not paid: ORDERNOTEXIST",
        seed: |s| SeedOrder {
            state: PaymentState::Notpay,
            ..s
        },
    },
    DemoOrder {
        out_trade_no: "demo-order-0007",
        total_fee: 500,
        purpose: "payer account cancelled: USER_ACCOUNT_ABNORMAL",
        seed: |s| SeedOrder {
            payer_account_abnormal: true,
            ..s
        },
    },
    DemoOrder {
        out_trade_no: "demo-order-0008",
        total_fee: 500,
        purpose: "refunds settle to CHANGE (card cancelled)",
        seed: |s| SeedOrder {
            refund_outcome: Some(RefundStatus::Change),
            refund_recv_account: Some("招商银行信用卡0403".into()),
            bank_type: Some("CMB_CREDIT".into()),
            ..s
        },
    },
];

/// Seeds the demo merchant and orders into `world`.
pub fn seed(world: &mut World, now: Timestamp) -> Result<(), AdminError> {
    world.wechat.create_merchant(NewMerchant {
        mch_id: MCH_ID.into(),
        appids: vec![APPID.into()],
        api_key: API_KEY.into(),
        company: COMPANY.into(),
        refundable_balance: 100_000_000,
        ip_allowlist: None,
        notify_url: None,
    })?;
    for order in ORDERS {
        let base = SeedOrder {
            mch_id: MCH_ID.into(),
            out_trade_no: Some(order.out_trade_no.into()),
            total_fee: order.total_fee,
            ..SeedOrder::default()
        };
        world
            .wechat
            .seed_order((order.seed)(base), now, &mut world.ids)?;
    }
    Ok(())
}
