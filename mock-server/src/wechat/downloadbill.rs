//! `POST /pay/downloadbill` (§7): the merchant's bill of one Beijing day, from the ledger.
//!
//! Rules, in order (each UNCONFIRMED choice is listed in DEVIATIONS.md):
//! - `bill_date` missing → `missing parameter`; not a `yyyyMMdd` date, or `tar_type` other
//!   than GZIP → `data format error` / 20001; `bill_type` not one of the four →
//!   `invalid bill_type`;
//! - a date after today (Beijing) or more than three calendar months back →
//!   `data format error` / 20001; today, or yesterday before 09:00 → `Bill Creating`;
//! - rows: paid orders whose payment time falls on that day (SUCCESS, ALL) and refunds
//!   applied that day (REFUND, ALL; RECHARGE_REFUND: those that gave back a recharge coupon),
//!   sorted by their 交易时间; refund rows carry the refund's status when the bill is
//!   downloaded (the ledger settles due refunds first);
//! - no row for the type asked → `No Bill Exist` / 20002;
//! - 手续费 is [`RATE_BASIS_POINTS`] of the settlement amount, rounded half up to the fen
//!   (the WxJava sample: 6.00 at 0.60% → `0.04000`), negative on refund rows.
//!
//! The handler takes the ledger and the merchant, not a route: a second ledger (the
//! `/sandboxnew/` sandbox) can reuse it as is.

use paysandbox_protocol::beijing;
use paysandbox_protocol::wechat::Params;
use paysandbox_protocol::wechat::bill::{
    Bill, BillDate, BillError, BillRow, BillSummary, BillType, DownloadBillRequest, Fee, bill_msg,
    gzip, write_bill,
};

use super::reply::Reply;
use crate::clock::Timestamp;
use crate::ledger::wechat::{CouponKind, Order, Refund, WechatLedger};

/// The merchant's fee rate in basis points (0.60%, the common rate; deviation: `wx-bill-fee`).
pub const RATE_BASIS_POINTS: u64 = 60;
/// The rate as printed in 费率.
pub const RATE_TEXT: &str = "0.60%";
/// Beijing hour from which yesterday's bill exists.
pub const BILL_READY_HOUR: i64 = 9;

/// The fee on `fen` at the merchant's rate, rounded half up to the fen.
pub fn fee_fen(fen: u64) -> u64 {
    (fen.saturating_mul(RATE_BASIS_POINTS) + 5_000) / 10_000
}

/// The first day that is still downloadable on `today`: three calendar months back (the day
/// clamped to the month's length).
fn earliest(today: BillDate) -> Option<BillDate> {
    let today = beijing::date(i32::from(today.year), today.month, today.day)?;
    let first = beijing::add_months(today, -3)?;
    let year = u16::try_from(first.year()).ok()?;
    BillDate::new(year, u8::from(first.month()), first.day())
}

/// Answers a downloadbill request of an authenticated merchant.
pub fn handle(params: &Params, mch_id: &str, ledger: &mut WechatLedger, now: Timestamp) -> Reply {
    let (date, bill_type, gzipped) = match DownloadBillRequest::bill_fields(params) {
        Ok(fields) => fields,
        Err(error) => return Reply::BillFail(error.to_error()),
    };
    match bill_text(mch_id, ledger, now, date, bill_type) {
        Ok(text) => Reply::Bill {
            body: if gzipped {
                gzip(text.as_bytes()).into()
            } else {
                text.into_bytes().into()
            },
            gzip: gzipped,
        },
        Err(refusal) => Reply::BillFail(refusal.to_bill_error()),
    }
}

/// Why a bill cannot be had, whichever API asks (v2 and v3 word each their own way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// After today (Beijing) or more than three calendar months back.
    OutOfRange,
    /// Today, or yesterday before [`BILL_READY_HOUR`].
    Creating,
    /// No row of the type asked.
    NoBill,
}

impl Unavailable {
    /// v2's answer.
    pub fn to_bill_error(self) -> BillError {
        match self {
            // deviation: wx-bill-out-of-range
            Unavailable::OutOfRange => BillError::new(bill_msg::DATA_FORMAT_ERROR, Some("20001")),
            // deviation: wx-bill-creating
            Unavailable::Creating => BillError::new(bill_msg::BILL_CREATING, None),
            // deviation: wx-bill-empty-type
            Unavailable::NoBill => BillError::no_bill_exist(),
        }
    }
}

/// The bill of `mch_id` for `date` as downloaded now, uncompressed: the rules of the module
/// docs, shared by v2's downloadbill and v3's bill download (one ledger, one format).
///
/// # Errors
/// [`Unavailable`] when there is no bill to give.
pub fn bill_text(
    mch_id: &str,
    ledger: &mut WechatLedger,
    now: Timestamp,
    date: BillDate,
    bill_type: BillType,
) -> Result<String, Unavailable> {
    let rows = bill_rows(mch_id, ledger, now, date, bill_type)?;
    let bill = Bill {
        summary: BillSummary::of(&rows),
        rows,
    };
    Ok(write_bill(bill_type, &bill))
}

/// The rows of the bill [`bill_text`] writes, after the same availability rules (v3's
/// fund-flow bill is made from them).
///
/// # Errors
/// [`Unavailable`] when there is no bill to give.
pub fn bill_rows(
    mch_id: &str,
    ledger: &mut WechatLedger,
    now: Timestamp,
    date: BillDate,
    bill_type: BillType,
) -> Result<Vec<BillRow>, Unavailable> {
    let (today, ms_into_today) = now.beijing_day();
    let day = date.days_since_epoch();
    let too_old = BillDate::from_days_since_epoch(today)
        .and_then(earliest)
        .is_none_or(|first| date < first);
    if day > today || too_old {
        return Err(Unavailable::OutOfRange);
    }
    let ready_at = BILL_READY_HOUR * 3_600_000;
    if day == today || (day == today - 1 && ms_into_today < ready_at) {
        return Err(Unavailable::Creating);
    }
    // deviation: wx-bill-refund-status (the status when downloaded)
    ledger.settle_due(now);
    let rows = rows(ledger, mch_id, day, bill_type);
    if rows.is_empty() {
        return Err(Unavailable::NoBill);
    }
    Ok(rows)
}

/// The bill's rows for one merchant and day, sorted by 交易时间 (stable: payments of the same
/// second before refunds).
pub fn rows(ledger: &WechatLedger, mch_id: &str, day: i64, bill_type: BillType) -> Vec<BillRow> {
    let start = Timestamp::beijing_day_start(day);
    let end = Timestamp::beijing_day_start(day.saturating_add(1));
    let in_day = |t: Timestamp| start <= t && t < end;
    let mut rows: Vec<(Timestamp, BillRow)> = Vec::new();
    if matches!(bill_type, BillType::All | BillType::Success) {
        for order in ledger.orders(Some(mch_id)) {
            if let Some(paid_at) = order.paid_at.filter(|t| in_day(*t) && order.is_paid()) {
                rows.push((paid_at, payment_row(order, paid_at)));
            }
        }
    }
    if bill_type != BillType::Success {
        for (refund, order) in ledger.refunds(Some(mch_id)) {
            let recharge = recharge_coupon_refund(refund) > 0;
            // deviation: wx-bill-recharge-refund
            if in_day(refund.requested_at) && (bill_type != BillType::RechargeRefund || recharge) {
                rows.push((refund.requested_at, refund_row(refund, order)));
            }
        }
    }
    rows.sort_by_key(|(at, _)| *at);
    rows.into_iter().map(|(_, row)| row).collect()
}

fn recharge_coupon_refund(refund: &Refund) -> u64 {
    refund
        .coupon_refunds
        .iter()
        .filter(|c| c.kind == CouponKind::Cash)
        .map(|c| c.fee)
        .sum()
}

fn order_columns(order: &Order, trade_time: Timestamp) -> BillRow {
    let d = &order.details;
    BillRow {
        trade_time: trade_time.beijing_datetime(),
        appid: d.appid.clone(),
        mch_id: order.mch_id.to_string(),
        sub_mch_id: "0".to_owned(),
        device_info: String::new(),
        transaction_id: order.transaction_id.to_string(),
        out_trade_no: order.out_trade_no.to_string(),
        openid: d.openid.clone(),
        trade_type: d.trade_type.clone(),
        bank_type: d.bank_type.clone(),
        fee_type: d.fee_type.clone(),
        body: d.body.clone(),
        attach: d.attach.clone(),
        rate: RATE_TEXT.to_owned(),
        ..BillRow::default()
    }
}

fn payment_row(order: &Order, paid_at: Timestamp) -> BillRow {
    let settlement = order.settlement_total_fee();
    BillRow {
        trade_state: "SUCCESS".to_owned(),
        settlement_total_fee: settlement,
        coupon_fee: order.coupon_fee(),
        refund_id: "0".to_owned(),
        out_refund_no: "0".to_owned(),
        fee: Fee::from_fen(i64::try_from(fee_fen(settlement)).unwrap_or(i64::MAX)),
        total_fee: order.total_fee,
        ..order_columns(order, paid_at)
    }
}

/// A refund line: the order's amounts are zero (UNCONFIRMED whether real refund rows repeat
/// them; deviation: `wx-bill-refund-row-amounts`), the refund's in 退款金额 / 申请退款金额.
fn refund_row(refund: &Refund, order: &Order) -> BillRow {
    let settlement = refund.settlement_refund_fee;
    BillRow {
        trade_state: "REFUND".to_owned(),
        refund_apply_time: refund.requested_at.beijing_datetime(),
        refund_success_time: refund
            .success_at
            .map(Timestamp::beijing_datetime)
            .unwrap_or_default(),
        refund_id: refund.refund_id.clone(),
        out_refund_no: refund.out_refund_no.clone(),
        settlement_refund_fee: settlement,
        coupon_refund_fee: recharge_coupon_refund(refund),
        refund_type: refund.refund_channel.clone(),
        refund_status: refund.status.as_str().to_owned(),
        fee: Fee::from_fen(-i64::try_from(fee_fen(settlement)).unwrap_or(i64::MAX)),
        refund_fee: refund.refund_fee,
        ..order_columns(order, refund.requested_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_rounds_half_up_to_the_fen() {
        assert_eq!(fee_fen(600), 4); // 3.6 fen, the WxJava sample's 0.04000
        assert_eq!(fee_fen(250), 2); // 1.5 fen
        assert_eq!(fee_fen(249), 1);
        assert_eq!(fee_fen(0), 0);
    }

    #[test]
    fn beijing_days_start_at_16_utc() {
        // 2026-11-21 16:00:00 UTC is 2026-11-22 00:00:00 in Beijing.
        let start = Timestamp(1_795_276_800_000);
        assert_eq!(start.beijing_datetime(), "2026-11-22 00:00:00");
        let (day, ms) = start.beijing_day();
        assert_eq!(ms, 0);
        assert_eq!(Timestamp::beijing_day_start(day), start);
        assert_eq!(
            BillDate::from_days_since_epoch(day).unwrap().compact(),
            "20261122"
        );
        assert_eq!(Timestamp(start.0 - 1).beijing_day().0, day - 1);
    }

    #[test]
    fn three_months_back_clamps_the_day() {
        let d = |s| BillDate::parse(s).unwrap();
        assert_eq!(earliest(d("20261122")), Some(d("20260822")));
        assert_eq!(earliest(d("20260531")), Some(d("20260228")));
        assert_eq!(earliest(d("20260215")), Some(d("20251115")));
    }
}
