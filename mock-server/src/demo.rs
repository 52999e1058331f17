//! The demo merchant and orders that `paysandbox serve` starts with, so a client can refund
//! something in its first minute. Each order exercises one situation; the README lists them.
//! The same for Alipay: a demo app (keys in the data directory) and its demo trades.

use crate::clock::Timestamp;
use crate::ledger::alipay::{self, NewApp, SeedTrade, TradeStatus};
use crate::ledger::wechat::{
    AdminError, CouponKind, DEFAULT_OPENID, NewMerchant, PaymentState, RefundStatus, SeedCoupon,
    SeedOrder, UnifiedOrderCommand,
};
use crate::world::World;

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
    for order in UNPAID_ORDERS {
        world
            .wechat
            .unified_order(unpaid_order(order), now, &mut world.ids)
            .map_err(|e| AdminError::Invalid(format!("{}: {e}", order.out_trade_no)))?;
    }
    Ok(())
}

/// One demo order made through `/pay/unifiedorder` and left unpaid: pay it through the admin
/// API (`POST /admin/wechat/orders/{out_trade_no}/pay`) or close it with `/pay/closeorder`.
pub struct UnpaidDemoOrder {
    /// Merchant order number.
    pub out_trade_no: &'static str,
    /// Amount in fen.
    pub total_fee: u64,
    /// `JSAPI` or `NATIVE`.
    pub trade_type: &'static str,
}

/// The unpaid demo orders (their prepay_ids are valid two hours from start).
pub const UNPAID_ORDERS: &[UnpaidDemoOrder] = &[
    UnpaidDemoOrder {
        out_trade_no: "demo-order-0009",
        total_fee: 2500,
        trade_type: "JSAPI",
    },
    UnpaidDemoOrder {
        out_trade_no: "demo-order-0010",
        total_fee: 101,
        trade_type: "NATIVE",
    },
];

fn unpaid_order(order: &UnpaidDemoOrder) -> UnifiedOrderCommand {
    let native = order.trade_type == "NATIVE";
    UnifiedOrderCommand {
        mch_id: MCH_ID.into(),
        appid: APPID.into(),
        out_trade_no: order.out_trade_no.into(),
        total_fee: order.total_fee,
        fee_type: "CNY".into(),
        body: "paysandbox demo goods".into(),
        attach: None,
        trade_type: order.trade_type.into(),
        openid: (!native).then(|| DEFAULT_OPENID.into()),
        product_id: native.then(|| "demo-product-1".into()),
        notify_url: "http://127.0.0.1:9/paysandbox-demo/notify".into(),
        spbill_create_ip: "127.0.0.1".into(),
        device_info: None,
        time_start: None,
        time_expire: None,
        sign_type: "MD5".into(),
    }
}

/// Demo Alipay app id (the spec's example, 16 digits like real ones).
pub const ALIPAY_APP_ID: &str = "2021000000000001";
/// Demo Alipay app name.
pub const ALIPAY_APP_NAME: &str = "paysandbox demo app";

/// One demo Alipay trade: out_trade_no, amount in fen, and what makes it interesting.
pub struct DemoTrade {
    /// Merchant order number.
    pub out_trade_no: &'static str,
    /// Total in fen.
    pub total_amount: u64,
    /// What it is for.
    pub purpose: &'static str,
    seed: fn(SeedTrade) -> SeedTrade,
}

/// The demo Alipay trades, in the order they are seeded.
pub const TRADES: &[DemoTrade] = &[
    DemoTrade {
        out_trade_no: "demo-trade-0001",
        total_amount: 10_000,
        purpose: "paid a minute ago: full refund (no out_request_no needed) or parts",
        seed: |s| s,
    },
    DemoTrade {
        out_trade_no: "demo-trade-0002",
        total_amount: 8_888,
        purpose: "paid a minute ago: partial refunds, each with its out_request_no",
        seed: |s| s,
    },
    DemoTrade {
        out_trade_no: "demo-trade-0003",
        total_amount: 1_000,
        purpose: "frozen: ACQ.REASON_TRADE_BEEN_FREEZEN",
        seed: |s| SeedTrade { frozen: true, ..s },
    },
    DemoTrade {
        out_trade_no: "demo-trade-0004",
        total_amount: 1_000,
        purpose: "TRADE_FINISHED: ACQ.TRADE_HAS_FINISHED",
        seed: |s| SeedTrade {
            status: TradeStatus::TradeFinished,
            paid_seconds_ago: Some(30 * DAY),
            ..s
        },
    },
    DemoTrade {
        out_trade_no: "demo-trade-0005",
        total_amount: 1_000,
        purpose: "WAIT_BUYER_PAY: ACQ.TRADE_STATUS_ERROR; close it, or pay it via the admin API",
        seed: |s| SeedTrade {
            status: TradeStatus::WaitBuyerPay,
            ..s
        },
    },
    DemoTrade {
        out_trade_no: "demo-trade-0006",
        total_amount: 1_000,
        purpose: "paid 400 days ago, past the refund period: TRADE_FINISHED",
        seed: |s| SeedTrade {
            paid_seconds_ago: Some(400 * DAY),
            ..s
        },
    },
    DemoTrade {
        out_trade_no: "demo-trade-0007",
        total_amount: 1_000,
        purpose: "closed unpaid (TRADE_CLOSED): ACQ.TRADE_HAS_CLOSE",
        seed: |s| SeedTrade {
            status: TradeStatus::TradeClosed,
            ..s
        },
    },
];

/// Seeds the demo Alipay app and trades into `world` (its keys are the state's business).
pub fn seed_alipay(world: &mut World, now: Timestamp) -> Result<(), alipay::AdminError> {
    world.alipay.create_app(NewApp {
        app_id: ALIPAY_APP_ID.into(),
        name: ALIPAY_APP_NAME.into(),
        seller_balance: 100_000_000,
        app_auth_tokens: Vec::new(),
    })?;
    for trade in TRADES {
        let base = SeedTrade {
            app_id: ALIPAY_APP_ID.into(),
            out_trade_no: Some(trade.out_trade_no.into()),
            total_amount: trade.total_amount,
            subject: Some("paysandbox demo goods".into()),
            ..SeedTrade::default()
        };
        world
            .alipay
            .seed_trade((trade.seed)(base), now, &mut world.ids)?;
    }
    Ok(())
}
