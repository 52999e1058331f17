//! Reconciliation: the daily job that compares the merchant's own records with the
//! platform's bill. Platform-neutral: both sides are brought to [`Record`]s
//! ([`wechat_records`], [`wechat_v3_records`], [`alipay_records`], or the merchant's own, e.g.
//! [`Record::v3_payment`] and [`Record::v3_refund`] from API v3 answers), then [`reconcile`]
//! reports what the bill has that the merchant lacks ([`Report::missing`]), what the merchant
//! has that the bill lacks ([`Report::extra`]) and entries whose amount or status differ
//! ([`Report::mismatched`]).
//!
//! ```
//! use paysandbox_sdk::reconcile::{reconcile, Kind, Record};
//!
//! let ours = vec![Record::payment("order-1", 1000, "SUCCESS")];
//! let bill = vec![
//!     Record::payment("order-1", 1000, "SUCCESS"),
//!     Record::refund("order-1", "refund-1", 250, "SUCCESS"),
//! ];
//! let report = reconcile(&ours, &bill);
//! assert_eq!(report.missing, [Record::refund("order-1", "refund-1", 250, "SUCCESS")]);
//! assert!(report.extra.is_empty() && report.mismatched.is_empty());
//! assert_eq!(report.missing[0].kind, Kind::Refund);
//! ```

use std::collections::BTreeMap;

use paysandbox_protocol::alipay::bill::TradeBillRow;
use paysandbox_protocol::wechat::bill::BillRow;
use paysandbox_protocol::wechat::v3::messages::{Refund, Transaction};

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A payment of an order.
    Payment,
    /// A refund of an order.
    Refund,
}

/// One payment or refund, as the merchant or the bill knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Payment or refund.
    pub kind: Kind,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// The merchant's refund number (WeChat `out_refund_no`, Alipay `out_request_no`); empty
    /// for payments.
    pub refund_no: String,
    /// Amount in fen: the order total, or the refund amount asked for.
    pub amount: u64,
    /// Status: `SUCCESS` for paid orders; the refund's status (`SUCCESS`, `PROCESSING`,
    /// `CHANGE`, `REFUNDCLOSE`) for refunds.
    pub status: String,
}

impl Record {
    /// A payment record.
    pub fn payment(out_trade_no: &str, amount: u64, status: &str) -> Record {
        Record {
            kind: Kind::Payment,
            out_trade_no: out_trade_no.to_owned(),
            refund_no: String::new(),
            amount,
            status: status.to_owned(),
        }
    }

    /// A refund record.
    pub fn refund(out_trade_no: &str, refund_no: &str, amount: u64, status: &str) -> Record {
        Record {
            kind: Kind::Refund,
            out_trade_no: out_trade_no.to_owned(),
            refund_no: refund_no.to_owned(),
            amount,
            status: status.to_owned(),
        }
    }

    /// The record of an API v3 order answer (a query, a `TRANSACTION.SUCCESS` notification)
    /// if it was paid: its `amount.total` and `SUCCESS`. An order since refunded
    /// (`trade_state` `REFUND`) was still paid; its refunds are records of their own.
    pub fn v3_payment(transaction: &Transaction) -> Option<Record> {
        let paid = matches!(transaction.trade_state.as_str(), "SUCCESS" | "REFUND");
        let total = transaction.amount.as_ref().and_then(|a| a.total)?;
        paid.then(|| Record::payment(&transaction.out_trade_no, total, "SUCCESS"))
    }

    /// The record of an API v3 refund answer (create, query, `REFUND.*` notification):
    /// `amount.refund` and v3's `status` (`SUCCESS`, `PROCESSING`, `ABNORMAL`, `CLOSED`).
    pub fn v3_refund(refund: &Refund) -> Record {
        Record::refund(
            &refund.out_trade_no,
            &refund.out_refund_no,
            refund.amount.refund,
            &refund.status,
        )
    }

    fn key(&self) -> (Kind, &str, &str) {
        (self.kind, &self.out_trade_no, &self.refund_no)
    }
}

/// An entry both sides have, with a different amount or status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The merchant's record.
    pub ours: Record,
    /// The bill's.
    pub bill: Record,
}

impl Mismatch {
    /// Whether the amounts differ.
    pub fn amount_differs(&self) -> bool {
        self.ours.amount != self.bill.amount
    }

    /// Whether the statuses differ.
    pub fn status_differs(&self) -> bool {
        self.ours.status != self.bill.status
    }
}

/// What reconciliation found; every list is sorted by kind, order number, refund number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// In the bill, not in the merchant's records (money moved that the merchant does not
    /// know about).
    pub missing: Vec<Record>,
    /// In the merchant's records, not in the bill (the merchant believes in money that did
    /// not move that day).
    pub extra: Vec<Record>,
    /// On both sides, with another amount or status.
    pub mismatched: Vec<Mismatch>,
    /// How many entries agreed.
    pub matched: usize,
}

impl Report {
    /// Whether the two sides agree entirely.
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.mismatched.is_empty()
    }
}

/// Compares the merchant's records with the bill's. A key (kind, order number, refund
/// number) seen twice on one side counts once, the last one winning.
pub fn reconcile(ours: &[Record], bill: &[Record]) -> Report {
    let ours: BTreeMap<_, &Record> = ours.iter().map(|r| (r.key(), r)).collect();
    let bill: BTreeMap<_, &Record> = bill.iter().map(|r| (r.key(), r)).collect();
    let mut report = Report::default();
    for (key, theirs) in &bill {
        match ours.get(key) {
            None => report.missing.push((*theirs).clone()),
            Some(mine) if mine.amount != theirs.amount || mine.status != theirs.status => {
                report.mismatched.push(Mismatch {
                    ours: (*mine).clone(),
                    bill: (*theirs).clone(),
                });
            }
            Some(_) => report.matched += 1,
        }
    }
    report.extra = ours
        .iter()
        .filter(|(key, _)| !bill.contains_key(*key))
        .map(|(_, r)| (*r).clone())
        .collect();
    report
}

/// The records of a WeChat bill: payments by `out_trade_no` with 订单金额 and `SUCCESS`,
/// refunds by `out_refund_no` with 申请退款金额 and 退款状态.
pub fn wechat_records(rows: &[BillRow]) -> Vec<Record> {
    rows.iter()
        .map(|row| {
            if row.is_refund() {
                Record::refund(
                    &row.out_trade_no,
                    &row.out_refund_no,
                    row.refund_fee,
                    &row.refund_status,
                )
            } else {
                Record::payment(&row.out_trade_no, row.total_fee, &row.trade_state)
            }
        })
        .collect()
}

/// The records of a WeChat trade bill downloaded over API v3 (the same file as v2's), in
/// v3's words: as [`wechat_records`], with the bill's refund statuses named as v3 names them
/// (`CHANGE` is `ABNORMAL`, `REFUNDCLOSE` is `CLOSED`), so they compare with records kept
/// from v3 answers ([`Record::v3_refund`]).
pub fn wechat_v3_records(rows: &[BillRow]) -> Vec<Record> {
    let mut records = wechat_records(rows);
    for record in &mut records {
        if record.kind == Kind::Refund {
            let v3 = match record.status.as_str() {
                "CHANGE" => "ABNORMAL",
                "REFUNDCLOSE" => "CLOSED",
                other => other,
            };
            record.status = v3.to_owned();
        }
    }
    records
}

/// The records of an Alipay trade bill: payments (交易) by 商户订单号 with 订单金额, refunds
/// (退款) by 退款批次号/请求号 with the refunded amount (positive); an Alipay bill lists only
/// money that moved, so every status is `SUCCESS`.
pub fn alipay_records(rows: &[TradeBillRow]) -> Vec<Record> {
    rows.iter()
        .map(|row| {
            let amount = row.total_amount.unsigned_abs();
            if row.is_refund() {
                Record::refund(&row.out_trade_no, &row.refund_request_no, amount, "SUCCESS")
            } else {
                Record::payment(&row.out_trade_no, amount, "SUCCESS")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_missing_extra_and_mismatched_in_key_order() {
        let ours = vec![
            Record::payment("b", 200, "SUCCESS"),
            Record::payment("a", 100, "SUCCESS"),
            Record::refund("a", "r1", 50, "SUCCESS"),
            Record::payment("z", 1, "SUCCESS"),
        ];
        let bill = vec![
            Record::payment("a", 100, "SUCCESS"),
            Record::payment("b", 250, "SUCCESS"),
            Record::refund("a", "r1", 50, "PROCESSING"),
            Record::payment("c", 300, "SUCCESS"),
        ];
        let report = reconcile(&ours, &bill);
        assert_eq!(report.missing, [Record::payment("c", 300, "SUCCESS")]);
        assert_eq!(report.extra, [Record::payment("z", 1, "SUCCESS")]);
        assert_eq!(report.mismatched.len(), 2);
        assert!(report.mismatched[0].amount_differs());
        assert!(!report.mismatched[0].status_differs());
        assert_eq!(report.mismatched[0].ours.out_trade_no, "b");
        assert!(report.mismatched[1].status_differs());
        assert_eq!(report.matched, 1);
        assert!(!report.is_clean());
        assert!(reconcile(&bill, &bill).is_clean());
    }

    #[test]
    fn refunds_of_different_orders_with_one_number_are_distinct() {
        let ours = vec![Record::refund("a", "1", 10, "SUCCESS")];
        let bill = vec![
            Record::refund("a", "1", 10, "SUCCESS"),
            Record::refund("b", "1", 10, "SUCCESS"),
        ];
        let report = reconcile(&ours, &bill);
        assert_eq!(report.missing, [Record::refund("b", "1", 10, "SUCCESS")]);
        assert_eq!(report.matched, 1);
    }

    #[test]
    fn v3_records_speak_v3_refund_statuses() {
        use paysandbox_protocol::wechat::bill::Fee;
        let row = |refund_status: &str| BillRow {
            out_trade_no: "o".into(),
            out_refund_no: "r".into(),
            refund_id: "50000000000000000000000000000001".into(),
            trade_state: "REFUND".into(),
            refund_fee: 250,
            refund_status: refund_status.into(),
            fee: Fee(-2000),
            ..BillRow::default()
        };
        for (v2, v3) in [
            ("SUCCESS", "SUCCESS"),
            ("PROCESSING", "PROCESSING"),
            ("CHANGE", "ABNORMAL"),
            ("REFUNDCLOSE", "CLOSED"),
        ] {
            assert_eq!(
                wechat_v3_records(&[row(v2)]),
                [Record::refund("o", "r", 250, v3)]
            );
            assert_eq!(
                wechat_records(&[row(v2)]),
                [Record::refund("o", "r", 250, v2)]
            );
        }
    }

    #[test]
    fn v3_answers_become_records() {
        let transaction: Transaction = serde_json::from_value(serde_json::json!({
            "appid": "wx", "mchid": "1", "out_trade_no": "o", "trade_state": "REFUND",
            "trade_state_desc": "", "amount": {"total": 1000}
        }))
        .unwrap();
        assert_eq!(
            Record::v3_payment(&transaction),
            Some(Record::payment("o", 1000, "SUCCESS"))
        );
        let unpaid = Transaction {
            trade_state: "NOTPAY".into(),
            ..transaction
        };
        assert_eq!(Record::v3_payment(&unpaid), None);
    }
}
