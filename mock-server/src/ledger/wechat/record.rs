//! The ledger as data: merchants, orders, refunds, and the finished refunds the notifier has
//! not taken yet, as the records a scenario file writes (and a persisted store
//! can reuse). [`WechatLedger::records`] writes them; [`WechatLedger::restore`] puts them back
//! exactly as they were, not through the rules (a refund of a year-old order that a rule
//! would now refuse loads as it was), after checking that they hold together: ids unique,
//! amounts adding up, times in order. What a record leaves out takes a default, the same as
//! the admin API's seeding where there is one; ids left out are drawn from the generator.
//!
//! Not kept: the indexes (rebuilt), the old-order refund rate window (a rate limit, not
//! state), the derived amounts of a refund (its order's `total_fee`, the settlement and cash
//! parts, which follow from its coupon parts).

use std::collections::HashSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::admin::{NewMerchant, default_balance, default_company};
use super::model::{
    Coupon, CouponKind, CouponRefund, DEFAULT_OPENID, Merchant, Order, OrderDetails, PaymentState,
    Prepay, Refund, RefundAccount, RefundStatus, V3Identity, WechatRules,
};
use super::seed::{
    DEFAULT_BANK_TYPE, DEFAULT_BODY, DEFAULT_FEE_TYPE, DEFAULT_PAID_AGO, DEFAULT_RECV_ACCOUNT,
    DEFAULT_TRADE_TYPE, SeedCoupon, new_transaction_id, paid_coupons,
};
use super::store::WechatLedger;
use crate::clock::{Timestamp, When};
use crate::ids::IdGenerator;
use crate::record::{RecordError, is_false};

/// The refund channel of every refund the sandbox makes.
const ORIGINAL: &str = "ORIGINAL";
/// The request source of refunds made through the API.
const API: &str = "API";
/// The sign type of a unified order that names none.
const MD5: &str = "MD5";

/// One ledger: its merchants, its orders, its refunds (each naming its order, in the ledger's
/// order: a list per order could not say how refunds of different orders made at the same
/// instant were ordered), and the refunds that reached a final status whose notification is
/// not queued yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatRecords {
    /// Merchants, by mch_id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merchants: Vec<MerchantRecord>,
    /// Orders, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<OrderRecord>,
    /// Refunds, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<RefundRecord>,
    /// Refunds that reached a final status the notifier has not taken yet, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventRecord>,
}

impl WechatRecords {
    /// Whether it holds nothing (a section a file can leave out).
    pub fn is_empty(&self) -> bool {
        self.merchants.is_empty()
            && self.orders.is_empty()
            && self.refunds.is_empty()
            && self.events.is_empty()
    }
}

/// The orders and refunds of a ledger that changed since the persisted store last took them
/// ([`WechatLedger::take_changes`]), under their indexes.
#[derive(Debug, Clone, Default)]
pub struct WechatChanges {
    /// Orders by index.
    pub orders: Vec<(usize, OrderRecord)>,
    /// Refunds by index.
    pub refunds: Vec<(usize, RefundRecord)>,
}

/// A merchant: the fields of `POST /admin/wechat/merchants`, with the same defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantRecord {
    /// The merchant id (letters, digits, `_`, `-`: it names the certificate directory).
    pub mch_id: String,
    /// Bound appids (at least one).
    pub appids: Vec<String>,
    /// The API key.
    pub api_key: String,
    /// Company name, the certificate's OU.
    #[serde(default = "default_company")]
    pub company: String,
    /// Refundable balance in fen, as it is (not recomputed from the refunds).
    #[serde(default = "default_balance")]
    pub refundable_balance: u64,
    /// Only these addresses may call the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_allowlist: Option<Vec<IpAddr>>,
    /// Default refund notification URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// The APIv3 key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_v3_key: Option<String>,
    /// The API v3 platform identity (`certificate`, `public_key`, `switch_over`).
    #[serde(default)]
    pub v3_identity: V3Identity,
}

/// A coupon an order was paid with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponRecord {
    /// Coupon id (drawn when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `CASH` or `NO_CASH`.
    pub kind: CouponKind,
    /// Fen.
    pub fee: u64,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRecord {
    /// The merchant.
    pub mch_id: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// WeChat's order id: drawn when left out of a paid order; an unpaid order made by
    /// unifiedorder has none until paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Fen.
    pub total_fee: u64,
    /// Payment state as stored (default `SUCCESS`; `REFUND` is derived from refunds).
    #[serde(default)]
    pub state: PaymentState,
    /// When it was paid (`SUCCESS` only; default a minute before now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<When>,
    /// Coupons paid with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coupons: Vec<CouponRecord>,
    /// The payer's account is cancelled (USER_ACCOUNT_ABNORMAL).
    #[serde(default, skip_serializing_if = "is_false")]
    pub payer_account_abnormal: bool,
    /// Still being processed (ORDER_NOT_READY).
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_ready: bool,
    /// Refunds settle to this status instead of SUCCESS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_outcome: Option<RefundStatus>,
    /// Appid (default the merchant's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// Currency (default `CNY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_type: Option<String>,
    /// Trade type (default `JSAPI`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_type: Option<String>,
    /// Payer (default the demo payer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    /// Paying bank (default `CFT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    /// Goods description (default `paysandbox demo goods`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Merchant data (default empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// Where refunds go back to (default `支付用户零钱`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_recv_account: Option<String>,
    /// What `/pay/unifiedorder` recorded, for orders made through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepay: Option<PrepayRecord>,
    /// What the order is for: shown by `paysandbox serve` at start, not kept in the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What `/pay/unifiedorder` recorded beside an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepayRecord {
    /// The current `prepay_id` (drawn when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepay_id: Option<String>,
    /// When it was issued (default `created_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepay_issued_at: Option<When>,
    /// When the order was created (default now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<When>,
    /// Where the payment notification goes.
    pub notify_url: String,
    /// The payer's IP as the merchant stated it.
    pub spbill_create_ip: String,
    /// `device_info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_info: Option<String>,
    /// `product_id` (NATIVE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// `time_start` as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_start: Option<String>,
    /// The order cannot be paid after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<When>,
    /// `code_url` (NATIVE; drawn when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_url: Option<String>,
    /// `mweb_url` (MWEB; drawn when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mweb_url: Option<String>,
    /// `MD5` (default), `HMAC-SHA256`, or `WECHATPAY2-SHA256-RSA2048` for an order prepaid
    /// through API v3: the payment notification's.
    #[serde(default = "md5")]
    pub sign_type: String,
    /// When `/pay/closeorder` closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<When>,
}

fn md5() -> String {
    MD5.to_owned()
}

/// The part of a refund taken from one coupon of its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponPartRecord {
    /// One of the order's coupon ids.
    pub coupon_id: String,
    /// Fen.
    pub fee: u64,
}

/// A refund already made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRecord {
    /// The merchant of its order.
    pub mch_id: String,
    /// Its order.
    pub out_trade_no: String,
    /// WeChat's refund id (drawn when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// The merchant's refund number, unique per merchant.
    pub out_refund_no: String,
    /// Fen.
    pub refund_fee: u64,
    /// Its parts taken from coupons; left out, the refund is split between the coupons and
    /// cash as the ledger splits a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_refunds: Option<Vec<CouponPartRecord>>,
    /// `PROCESSING` (default), `SUCCESS`, `CHANGE` or `REFUNDCLOSE`.
    #[serde(default = "processing")]
    pub status: RefundStatus,
    /// Source of funds (default unsettled funds).
    #[serde(default, skip_serializing_if = "is_unsettled")]
    pub refund_account: RefundAccount,
    /// Receiving account (default the order's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_recv_account: Option<String>,
    /// Refund channel (default `ORIGINAL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_channel: Option<String>,
    /// Request source (default `API`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_source: Option<String>,
    /// Notification URL given with the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// Reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_desc: Option<String>,
    /// Made through API v3: notified with v3's JSON (default false: v2's XML).
    #[serde(default, skip_serializing_if = "is_false")]
    pub api_v3: bool,
    /// When it was accepted (default now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<When>,
    /// When it settles, or settled (default the settlement delay after `requested_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settles_at: Option<When>,
    /// When it reached SUCCESS (`SUCCESS` only; default `settles_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_at: Option<When>,
}

fn processing() -> RefundStatus {
    RefundStatus::Processing
}

fn is_unsettled(account: &RefundAccount) -> bool {
    *account == RefundAccount::UnsettledFunds
}

/// A refund that reached a final status whose notification is not queued yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRecord {
    /// The refund.
    pub refund_id: String,
    /// When it reached its status.
    pub at: When,
}

/// `orders[3] (out_trade_no demo-order-0004)`: an entry of a list, named by its id.
fn entry(list: &str, index: usize, id_name: &str, id: &str) -> String {
    format!("{list}[{index}] ({id_name} {id})")
}

/// `Some(value)` unless it is the default a record leaves out.
fn unless_default(value: &str, default: &str) -> Option<String> {
    (value != default).then(|| value.to_owned())
}

impl WechatLedger {
    /// The ledger as records: merchants by mch_id, orders oldest first with their refunds,
    /// the finished refunds not yet notified. [`WechatLedger::restore`] reads them back into
    /// the same ledger.
    pub fn records(&self) -> WechatRecords {
        let orders = self
            .orders
            .iter()
            .map(|order| self.order_record(order))
            .collect();
        let refunds = self
            .refunds
            .iter()
            .filter_map(|refund| Some(refund_record(refund, self.orders.get(refund.order)?)))
            .collect();
        WechatRecords {
            merchants: self.merchant_records(),
            orders,
            refunds,
            events: self.event_records(),
        }
    }

    /// Starts noting which orders and refunds change, for the persisted store, which has
    /// written the ledger as it is now.
    pub fn track_changes(&mut self) {
        self.changed_orders.track();
        self.changed_refunds.track();
    }

    /// The orders and refunds added or altered since the last call (while tracked), as
    /// records under their indexes in the ledger's lists (the position a scenario lists them
    /// at).
    pub fn take_changes(&mut self) -> WechatChanges {
        let orders = self
            .changed_orders
            .take()
            .into_iter()
            .filter_map(|i| Some((i, self.order_record(self.orders.get(i)?))))
            .collect();
        let refunds = self
            .changed_refunds
            .take()
            .into_iter()
            .filter_map(|i| {
                let refund = self.refunds.get(i)?;
                Some((i, refund_record(refund, self.orders.get(refund.order)?)))
            })
            .collect();
        WechatChanges { orders, refunds }
    }

    /// The merchants as records, by mch_id.
    pub fn merchant_records(&self) -> Vec<MerchantRecord> {
        let mut merchants: Vec<&Merchant> = self.merchants.values().collect();
        merchants.sort_by(|a, b| a.mch_id.cmp(&b.mch_id));
        merchants
            .into_iter()
            .map(|m| MerchantRecord {
                mch_id: m.mch_id.clone(),
                appids: m.appids.clone(),
                api_key: m.api_key.clone(),
                company: m.company.clone(),
                refundable_balance: m.refundable_balance,
                ip_allowlist: m.ip_allowlist.clone(),
                notify_url: m.notify_url.clone(),
                api_v3_key: m.api_v3_key.clone(),
                v3_identity: m.v3_identity,
            })
            .collect()
    }

    /// The refunds that reached a final status and are not notified yet, as records.
    pub fn event_records(&self) -> Vec<EventRecord> {
        self.finished
            .iter()
            .filter_map(|(index, at)| {
                Some(EventRecord {
                    refund_id: self.refunds.get(*index)?.refund_id.clone(),
                    at: When::At(*at),
                })
            })
            .collect()
    }

    fn order_record(&self, order: &Order) -> OrderRecord {
        let d = &order.details;
        let first_appid = self
            .merchants
            .get(&*order.mch_id)
            .and_then(|m| m.appids.first())
            .map_or("", String::as_str);
        OrderRecord {
            mch_id: order.mch_id.to_string(),
            out_trade_no: order.out_trade_no.to_string(),
            transaction_id: Some(order.transaction_id.to_string()).filter(|id| !id.is_empty()),
            total_fee: order.total_fee,
            state: order.payment_state,
            paid_at: order.paid_at.map(When::At),
            coupons: order
                .coupons
                .iter()
                .map(|c| CouponRecord {
                    id: Some(c.id.clone()),
                    kind: c.kind,
                    fee: c.fee,
                })
                .collect(),
            payer_account_abnormal: order.payer_account_abnormal,
            not_ready: order.not_ready,
            refund_outcome: order.refund_outcome,
            appid: unless_default(&d.appid, first_appid),
            fee_type: unless_default(&d.fee_type, DEFAULT_FEE_TYPE),
            trade_type: unless_default(&d.trade_type, DEFAULT_TRADE_TYPE),
            openid: unless_default(&d.openid, DEFAULT_OPENID),
            bank_type: unless_default(&d.bank_type, DEFAULT_BANK_TYPE),
            body: unless_default(&d.body, DEFAULT_BODY),
            attach: unless_default(&d.attach, ""),
            refund_recv_account: unless_default(&d.refund_recv_account, DEFAULT_RECV_ACCOUNT),
            prepay: order.prepay.as_deref().map(|p| PrepayRecord {
                prepay_id: Some(p.prepay_id.clone()),
                prepay_issued_at: Some(When::At(p.prepay_issued_at)),
                created_at: Some(When::At(p.created_at)),
                notify_url: p.notify_url.clone(),
                spbill_create_ip: p.spbill_create_ip.clone(),
                device_info: p.device_info.clone(),
                product_id: p.product_id.clone(),
                time_start: p.time_start.clone(),
                time_expire: p.time_expire.map(When::At),
                code_url: p.code_url.clone(),
                mweb_url: p.mweb_url.clone(),
                sign_type: p.sign_type.clone(),
                closed_at: p.closed_at.map(When::At),
            }),
            note: None,
        }
    }

    /// A ledger with these rules holding `records`, relative times counted from `now`, ids
    /// left out drawn from `ids`.
    ///
    /// # Errors
    /// The first record that does not hold together, its path naming the entity.
    pub fn restore(
        rules: WechatRules,
        records: &WechatRecords,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<WechatLedger, RecordError> {
        let mut ledger = WechatLedger::new(rules);
        for (i, record) in records.merchants.iter().enumerate() {
            ledger.restore_merchant(record).map_err(|message| {
                RecordError::at(entry("merchants", i, "mch_id", &record.mch_id), message)
            })?;
        }
        for (i, record) in records.orders.iter().enumerate() {
            ledger.restore_order(record, now, ids).map_err(|message| {
                RecordError::at(
                    entry("orders", i, "out_trade_no", &record.out_trade_no),
                    message,
                )
            })?;
        }
        for (i, record) in records.refunds.iter().enumerate() {
            ledger.restore_refund(record, now, ids).map_err(|message| {
                RecordError::at(
                    entry("refunds", i, "out_refund_no", &record.out_refund_no),
                    message,
                )
            })?;
        }
        for (i, event) in records.events.iter().enumerate() {
            let refund = ledger
                .refunds_by_refund_id
                .get(&event.refund_id)
                .copied()
                .filter(|r| {
                    ledger
                        .refunds
                        .get(*r)
                        .is_some_and(|r| r.status != RefundStatus::Processing)
                });
            let Some(refund) = refund else {
                return Err(RecordError::at(
                    entry("events", i, "refund_id", &event.refund_id),
                    "no refund with this refund_id has reached a final status",
                ));
            };
            ledger.finished.push((refund, event.at.resolve(now)));
        }
        Ok(ledger)
    }

    fn restore_merchant(&mut self, record: &MerchantRecord) -> Result<(), String> {
        self.create_merchant(NewMerchant {
            mch_id: record.mch_id.clone(),
            appids: record.appids.clone(),
            api_key: record.api_key.clone(),
            company: record.company.clone(),
            refundable_balance: record.refundable_balance,
            ip_allowlist: record.ip_allowlist.clone(),
            notify_url: record.notify_url.clone(),
            api_v3_key: record.api_v3_key.clone(),
            v3_identity: record.v3_identity,
        })
        .map(drop)
        .map_err(|e| e.to_string())
    }

    fn restore_order(
        &mut self,
        record: &OrderRecord,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<usize, String> {
        let merchant = self.merchants.get(&record.mch_id).ok_or_else(|| {
            format!(
                "unknown merchant {} (list it under merchants)",
                record.mch_id
            )
        })?;
        if record.out_trade_no.is_empty() {
            return Err("out_trade_no must not be empty".into());
        }
        if merchant
            .orders_by_out_trade_no
            .contains_key(record.out_trade_no.as_str())
        {
            return Err(format!(
                "merchant {} has two orders {}",
                record.mch_id, record.out_trade_no
            ));
        }
        if record.total_fee == 0 {
            return Err("total_fee must be at least 1 fen".into());
        }
        let appid = match &record.appid {
            Some(appid) if merchant.appids.contains(appid) => appid.clone(),
            Some(appid) => {
                return Err(format!(
                    "appid {appid} is not bound to merchant {}",
                    record.mch_id
                ));
            }
            None => merchant.appids.first().cloned().unwrap_or_default(),
        };
        let mch_id = merchant.shared_id.clone();
        let paid = record.state == PaymentState::Success;
        let paid_at = match (paid, record.paid_at) {
            (true, at) => Some(at.map_or(now.minus(DEFAULT_PAID_AGO), |w| w.resolve(now))),
            (false, None) => None,
            (false, Some(_)) => {
                return Err(format!(
                    "paid_at is only for SUCCESS orders, this one is {}",
                    record.state.as_str()
                ));
            }
        };
        let transaction_id = match &record.transaction_id {
            Some(id) if id.is_empty() => {
                return Err("transaction_id must not be empty (leave it out)".into());
            }
            Some(id) if self.orders_by_transaction_id.contains_key(id.as_str()) => {
                return Err(format!("transaction_id {id} is used by an earlier order"));
            }
            Some(id) => id.clone(),
            None => match paid_at {
                Some(at) => new_transaction_id(&self.orders_by_transaction_id, ids, at),
                // An unpaid order made by unifiedorder: its id comes with the payment.
                None => String::new(),
            },
        };
        let mut coupon_ids = HashSet::new();
        if let Some(twice) = record
            .coupons
            .iter()
            .filter_map(|c| c.id.as_deref())
            .find(|id| !coupon_ids.insert(*id))
        {
            return Err(format!("coupon {twice} is listed twice"));
        }
        let coupons = paid_coupons(
            record
                .coupons
                .iter()
                .map(|c| SeedCoupon {
                    id: c.id.clone(),
                    kind: c.kind,
                    fee: c.fee,
                })
                .collect(),
            record.total_fee,
            ids,
        )
        .map_err(|e| e.to_string())?;
        let trade_type = record
            .trade_type
            .clone()
            .unwrap_or_else(|| DEFAULT_TRADE_TYPE.to_owned());
        let prepay = match &record.prepay {
            Some(p) => Some(Box::new(restore_prepay(p, &trade_type, now, ids)?)),
            None => None,
        };
        let details = self.intern(OrderDetails {
            appid,
            fee_type: or_default(&record.fee_type, DEFAULT_FEE_TYPE),
            trade_type,
            openid: or_default(&record.openid, DEFAULT_OPENID),
            bank_type: or_default(&record.bank_type, DEFAULT_BANK_TYPE),
            body: or_default(&record.body, DEFAULT_BODY),
            attach: or_default(&record.attach, ""),
            refund_recv_account: or_default(&record.refund_recv_account, DEFAULT_RECV_ACCOUNT),
        });
        Ok(self.insert_order(Order {
            mch_id,
            transaction_id: transaction_id.into(),
            out_trade_no: record.out_trade_no.as_str().into(),
            total_fee: record.total_fee,
            coupons,
            payment_state: record.state,
            payer_account_abnormal: record.payer_account_abnormal,
            not_ready: record.not_ready,
            refund_outcome: record.refund_outcome,
            paid_at,
            details,
            prepay,
        }))
    }

    fn restore_refund(
        &mut self,
        record: &RefundRecord,
        now: Timestamp,
        ids: &mut IdGenerator,
    ) -> Result<(), String> {
        let order_index = self
            .merchants
            .get(&record.mch_id)
            .and_then(|m| m.orders_by_out_trade_no.get(record.out_trade_no.as_str()))
            .copied()
            .ok_or_else(|| {
                format!(
                    "merchant {} has no order {} (list it under orders)",
                    record.mch_id, record.out_trade_no
                )
            })?;
        let requested_at = record.requested_at.map_or(now, |w| w.resolve(now));
        let order = self.orders.get(order_index).ok_or("the order is missing")?;
        let paid_at = match order.paid_at {
            Some(at) if order.is_paid() => at,
            _ => return Err("only a paid (SUCCESS) order has refunds".into()),
        };
        if record.refund_fee == 0 {
            return Err("refund_fee must be at least 1 fen".into());
        }
        if record.out_refund_no.is_empty() {
            return Err("out_refund_no must not be empty".into());
        }
        let mch_id = order.mch_id.clone();
        if self.merchants.get(&*mch_id).is_some_and(|m| {
            m.refunds_by_out_refund_no
                .contains_key(&record.out_refund_no)
        }) {
            return Err(format!(
                "merchant {mch_id} has two refunds {}",
                record.out_refund_no
            ));
        }
        if requested_at < paid_at {
            return Err(format!(
                "requested_at {} is before the order was paid ({})",
                requested_at.beijing_datetime(),
                paid_at.beijing_datetime()
            ));
        }
        let settles_at = record
            .settles_at
            .map_or(requested_at.plus(self.rules.settle_delay), |w| {
                w.resolve(now)
            });
        if settles_at < requested_at {
            return Err("settles_at is before requested_at".into());
        }
        let success_at = match (record.status, record.success_at) {
            (RefundStatus::Success, at) => Some(at.map_or(settles_at, |w| w.resolve(now))),
            (_, None) => None,
            (status, Some(_)) => {
                return Err(format!(
                    "success_at is only for SUCCESS refunds, this one is {}",
                    status.as_str()
                ));
            }
        };
        let book_refunded = self
            .order_refunds
            .get(&order_index)
            .map_or(0, |b| b.refunded);
        let holds_money = record.status.holds_money();
        let refunded = book_refunded
            .checked_add(record.refund_fee)
            .filter(|sum| !holds_money || *sum <= order.total_fee)
            .ok_or_else(|| {
                format!(
                    "the refunds of order {} add up to more than its total_fee {}",
                    order.out_trade_no, order.total_fee
                )
            })?;
        let coupon_refunds = match &record.coupon_refunds {
            Some(parts) => self.coupon_parts(order_index, parts, record.refund_fee, holds_money)?,
            None => self.split_coupons(
                order_index,
                record.refund_fee,
                order.total_fee.saturating_sub(book_refunded),
            ),
        };
        let coupon_part: u64 = coupon_refunds.iter().map(|c| c.fee).sum();
        let no_cash_part: u64 = coupon_refunds
            .iter()
            .filter(|c| c.kind == CouponKind::NoCash)
            .map(|c| c.fee)
            .sum();
        let refund_id = match &record.refund_id {
            Some(id) if id.is_empty() => {
                return Err("refund_id must not be empty (leave it out)".into());
            }
            Some(id) if self.refunds_by_refund_id.contains_key(id) => {
                return Err(format!("refund_id {id} is used by an earlier refund"));
            }
            Some(id) => id.clone(),
            None => loop {
                let id = ids.wechat_refund_id(requested_at);
                if !self.refunds_by_refund_id.contains_key(&id) {
                    break id;
                }
            },
        };
        let order = self.orders.get(order_index).ok_or("the order is missing")?;
        let refund = Refund {
            refund_id: refund_id.clone(),
            out_refund_no: record.out_refund_no.clone(),
            refund_fee: record.refund_fee,
            total_fee: order.total_fee,
            settlement_refund_fee: record.refund_fee.saturating_sub(no_cash_part),
            cash_refund_fee: record.refund_fee.saturating_sub(coupon_part),
            coupon_refunds,
            status: record.status,
            refund_account: record.refund_account,
            refund_recv_account: record
                .refund_recv_account
                .clone()
                .unwrap_or_else(|| order.details.refund_recv_account.clone()),
            refund_channel: or_default(&record.refund_channel, ORIGINAL),
            request_source: or_default(&record.request_source, API),
            notify_url: record.notify_url.clone(),
            refund_desc: record.refund_desc.clone(),
            api_v3: record.api_v3,
            requested_at,
            settles_at,
            success_at,
            order: order_index,
        };
        let refund_index = self.refunds.len();
        let book = self.order_refunds.entry(order_index).or_default();
        book.refunds.push(refund_index);
        if holds_money {
            book.refunded = refunded;
        }
        book.last_refund_at = book.last_refund_at.max(Some(requested_at));
        if refund.status == RefundStatus::Processing {
            self.pending.insert((settles_at, refund_index));
        }
        if let Some(merchant) = self.merchants.get_mut(&*mch_id) {
            merchant
                .refunds_by_out_refund_no
                .insert(record.out_refund_no.clone(), refund_index);
        }
        self.refunds_by_refund_id.insert(refund_id, refund_index);
        self.refunds.push(refund);
        Ok(())
    }

    /// A refund's coupon parts as listed, checked against the order's coupons and what the
    /// order's earlier refunds (those that hold money) took from them.
    fn coupon_parts(
        &self,
        order_index: usize,
        parts: &[CouponPartRecord],
        refund_fee: u64,
        holds_money: bool,
    ) -> Result<Vec<CouponRefund>, String> {
        let order = self.orders.get(order_index).ok_or("the order is missing")?;
        let mut refunds = Vec::with_capacity(parts.len());
        let mut total: u64 = 0;
        for part in parts {
            let coupon: &Coupon = order
                .coupons
                .iter()
                .find(|c| c.id == part.coupon_id)
                .ok_or_else(|| format!("coupon {} is not one of the order's", part.coupon_id))?;
            if refunds
                .iter()
                .any(|r: &CouponRefund| r.coupon_id == part.coupon_id)
            {
                return Err(format!("coupon {} has two parts", part.coupon_id));
            }
            let taken: u64 = self
                .refunds_of(order_index)
                .filter(|r| r.status.holds_money())
                .flat_map(|r| &r.coupon_refunds)
                .filter(|p| p.coupon_id == part.coupon_id)
                .map(|p| p.fee)
                .sum();
            if holds_money && taken.saturating_add(part.fee) > coupon.fee {
                return Err(format!(
                    "the refunds take more than the {} fen of coupon {}",
                    coupon.fee, coupon.id
                ));
            }
            total = total.saturating_add(part.fee);
            refunds.push(CouponRefund {
                coupon_id: part.coupon_id.clone(),
                kind: coupon.kind,
                fee: part.fee,
            });
        }
        if total > refund_fee {
            return Err(format!(
                "the coupon parts ({total} fen) are more than refund_fee {refund_fee}"
            ));
        }
        let cash_taken: u64 = self
            .refunds_of(order_index)
            .filter(|r| r.status.holds_money())
            .map(|r| r.cash_refund_fee)
            .sum();
        if holds_money
            && cash_taken.saturating_add(refund_fee.saturating_sub(total)) > order.cash_fee()
        {
            return Err(format!(
                "the refunds take more than the {} fen paid in cash",
                order.cash_fee()
            ));
        }
        Ok(refunds)
    }
}

/// A refund as a record.
fn refund_record(refund: &Refund, order: &Order) -> RefundRecord {
    RefundRecord {
        mch_id: order.mch_id.to_string(),
        out_trade_no: order.out_trade_no.to_string(),
        refund_id: Some(refund.refund_id.clone()),
        out_refund_no: refund.out_refund_no.clone(),
        refund_fee: refund.refund_fee,
        // An order with coupons always says how each refund was split: left out, it would be
        // split afresh, which need not give the same parts.
        coupon_refunds: (!order.coupons.is_empty()).then(|| {
            refund
                .coupon_refunds
                .iter()
                .map(|part| CouponPartRecord {
                    coupon_id: part.coupon_id.clone(),
                    fee: part.fee,
                })
                .collect()
        }),
        status: refund.status,
        refund_account: refund.refund_account,
        refund_recv_account: unless_default(
            &refund.refund_recv_account,
            &order.details.refund_recv_account,
        ),
        refund_channel: unless_default(&refund.refund_channel, ORIGINAL),
        request_source: unless_default(&refund.request_source, API),
        notify_url: refund.notify_url.clone(),
        refund_desc: refund.refund_desc.clone(),
        api_v3: refund.api_v3,
        requested_at: Some(When::At(refund.requested_at)),
        settles_at: Some(When::At(refund.settles_at)),
        success_at: refund.success_at.map(When::At),
    }
}

fn or_default(value: &Option<String>, default: &str) -> String {
    value.clone().unwrap_or_else(|| default.to_owned())
}

/// The prepay record of a unified order, with what is left out drawn or defaulted as
/// `/pay/unifiedorder` would have made it.
fn restore_prepay(
    record: &PrepayRecord,
    trade_type: &str,
    now: Timestamp,
    ids: &mut IdGenerator,
) -> Result<Prepay, String> {
    let created_at = record.created_at.map_or(now, |w| w.resolve(now));
    let prepay_issued_at = record
        .prepay_issued_at
        .map_or(created_at, |w| w.resolve(now));
    if prepay_issued_at < created_at {
        return Err("prepay.prepay_issued_at is before prepay.created_at".into());
    }
    let prepay_id = match &record.prepay_id {
        Some(id) => id.clone(),
        None => ids.wechat_prepay_id(prepay_issued_at),
    };
    let code_url = match &record.code_url {
        Some(url) => Some(url.clone()),
        None => (trade_type == "NATIVE").then(|| ids.wechat_code_url()),
    };
    let mweb_url = match &record.mweb_url {
        Some(url) => Some(url.clone()),
        None => (trade_type == "MWEB").then(|| ids.wechat_mweb_url(&prepay_id)),
    };
    Ok(Prepay {
        prepay_id,
        prepay_issued_at,
        created_at,
        notify_url: record.notify_url.clone(),
        spbill_create_ip: record.spbill_create_ip.clone(),
        device_info: record.device_info.clone(),
        product_id: record.product_id.clone(),
        time_start: record.time_start.clone(),
        time_expire: record.time_expire.map(|w| w.resolve(now)),
        code_url,
        mweb_url,
        sign_type: record.sign_type.clone(),
        closed_at: record.closed_at.map(|w| w.resolve(now)),
    })
}
