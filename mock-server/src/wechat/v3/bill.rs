//! `GET /v3/bill/tradebill`, `GET /v3/bill/fundflowbill` and the download address they give,
//! `GET /v3/billdownload/file?token=` (an authenticated v3 call like the others).
//!
//! The trade bill is v2's downloadbill text, from the same code and ledger
//! ([`crate::wechat::downloadbill::bill_text`]): the same rows, format and availability
//! (today, or yesterday before 09:00 Beijing → `STATEMENT_CREATING`; a day without rows of the
//! type → `NO_STATEMENT_EXIST`; a future day or one more than three calendar months back →
//! `INVALID_REQUEST`, deviation: `wx3-bill-out-of-range`). The fund-flow bill of the basic
//! account lists that day's money movements (a payment's income and its fee, a refund's
//! expense and the fee given back); the operation and fees accounts of a sandbox merchant
//! never move, so they have no bill (deviation: `wx3-fundflow-bill`).
//!
//! `hash_value` is the SHA-1 of the uncompressed file, as the platform documents it ("gzip
//! needs to be decompressed"). The download is built again from the ledger, so a refund that
//! settles in between changes the file and the hash no longer matches: a client should ask
//! for a new address, as it must on the platform anyway.
//!
//! The token names the merchant, the bill (kind, date, type, gzip) and when it was issued; it
//! is valid for [`TOKEN_LIFETIME_MS`] of sandbox time. A token that does not parse or has
//! expired → 400 `INVALID_REQUEST`; another merchant's → 403 `NO_AUTH` (deviation:
//! `wx3-bill-download-token`). The file itself is answered unsigned (deviation:
//! `wx3-bill-download-unsigned`).

use paysandbox_protocol::wechat::bill::{BillDate, BillRow, BillType, LINE_END, gzip};
use paysandbox_protocol::wechat::codes::RefundStatus;
use paysandbox_protocol::wechat::v3::error::{ErrorCode, Location};
use paysandbox_protocol::wechat::v3::messages::bill::{DOWNLOAD_PATH, HASH_TYPE, sha1_hex};
use paysandbox_protocol::wechat::v3::messages::{BillResponse, FundFlowBillQuery, TradeBillQuery};

use super::Call;
use super::reply::V3Reply;
use crate::clock::Timestamp;
use crate::ledger::wechat::WechatLedger;
use crate::wechat::downloadbill::{self, Unavailable};

/// How long a download address stays valid, in sandbox milliseconds (the platform's 30 s).
pub const TOKEN_LIFETIME_MS: i64 = 30_000;

/// What a download token names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BillFile {
    /// The merchant that asked for the address.
    mch_id: String,
    /// Sandbox time the address was given.
    issued: Timestamp,
    /// The trade bill of this type, or the basic account's fund flow (`None`).
    trade: Option<BillType>,
    date: BillDate,
    gzip: bool,
}

impl BillFile {
    /// `1900000109.1700000000000.TRADE.20231115.ALL.GZIP`,
    /// `1900000109.1700000000000.FUNDFLOW.20231115.BASIC.RAW`.
    fn token(&self) -> String {
        let kind = match self.trade {
            Some(bill_type) => format!("TRADE.{}.{}", self.date.compact(), bill_type.as_str()),
            None => format!("FUNDFLOW.{}.BASIC", self.date.compact()),
        };
        let tar = if self.gzip { "GZIP" } else { "RAW" };
        format!("{}.{}.{kind}.{tar}", self.mch_id, self.issued.0)
    }

    fn from_token(token: &str) -> Option<BillFile> {
        let parts: Vec<&str> = token.split('.').collect();
        let [mch_id, issued, kind, date, which, tar] = parts.as_slice() else {
            return None;
        };
        if mch_id.is_empty() || !mch_id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let trade = match (*kind, *which) {
            ("TRADE", "ALL" | "SUCCESS" | "REFUND") => Some(BillType::from_wire(which)?),
            ("FUNDFLOW", "BASIC") => None,
            _ => return None,
        };
        let gzip = match *tar {
            "GZIP" => true,
            "RAW" => false,
            _ => return None,
        };
        Some(BillFile {
            mch_id: (*mch_id).to_owned(),
            issued: Timestamp(issued.parse().ok()?),
            trade,
            date: BillDate::parse(date)?,
            gzip,
        })
    }

    /// The uncompressed file as it would be downloaded now.
    fn text(&self, ledger: &mut WechatLedger, now: Timestamp) -> Result<String, Unavailable> {
        match self.trade {
            Some(bill_type) => {
                downloadbill::bill_text(&self.mch_id, ledger, now, self.date, bill_type)
            }
            None => {
                // The trade bill's rules decide availability; its rows become movements.
                let rows =
                    downloadbill::bill_rows(&self.mch_id, ledger, now, self.date, BillType::All)?;
                Ok(fund_flow_text(&rows))
            }
        }
    }
}

/// The v3 answer to a bill that cannot be had.
fn unavailable(why: Unavailable) -> V3Reply {
    match why {
        // deviation: wx3-bill-out-of-range
        Unavailable::OutOfRange => V3Reply::error(
            &ErrorCode::InvalidRequest,
            "bill_date超出可下载范围，仅支持下载三个月内的账单",
        ),
        // deviation: wx3-bill-codes
        Unavailable::Creating => V3Reply::code(&ErrorCode::StatementCreating),
        Unavailable::NoBill => V3Reply::code(&ErrorCode::NoStatementExist),
    }
}

/// Answers `{hash_type, hash_value, download_url}` for `file`.
fn address(call: &Call<'_>, file: &BillFile, ledger: &mut WechatLedger, now: Timestamp) -> V3Reply {
    match file.text(ledger, now) {
        Ok(text) => V3Reply::json(&BillResponse {
            hash_type: HASH_TYPE.to_owned(),
            hash_value: sha1_hex(text.as_bytes()),
            download_url: format!("{}{DOWNLOAD_PATH}?token={}", call.origin, file.token()),
        }),
        Err(why) => unavailable(why),
    }
}

/// The date of a query that passed the field checks, or the answer to a day that does not
/// exist (`2023-02-30`).
fn calendar_date(dashed: &str) -> Result<BillDate, V3Reply> {
    BillDate::parse_dashed(dashed)
        .ok_or_else(|| V3Reply::error(&ErrorCode::ParamError, "bill_date不是有效的日期"))
}

/// `GET /v3/bill/tradebill`.
pub(super) fn trade(call: &Call<'_>, ledger: &mut WechatLedger, now: Timestamp) -> V3Reply {
    let query = match TradeBillQuery::from_pairs(call.query) {
        Ok(query) => query,
        Err(error) => return V3Reply::body(error.to_error_body(Location::Query)),
    };
    let date = match calendar_date(&query.bill_date) {
        Ok(date) => date,
        Err(reply) => return reply,
    };
    // The field table admits ALL, SUCCESS and REFUND only.
    let Some(bill_type) = BillType::from_wire(&query.bill_type) else {
        return V3Reply::code(&ErrorCode::ParamError);
    };
    let file = BillFile {
        mch_id: call.merchant.mch_id.clone(),
        issued: now,
        trade: Some(bill_type),
        date,
        gzip: query.tar_type.is_some(),
    };
    address(call, &file, ledger, now)
}

/// `GET /v3/bill/fundflowbill`.
pub(super) fn fund_flow(call: &Call<'_>, ledger: &mut WechatLedger, now: Timestamp) -> V3Reply {
    let query = match FundFlowBillQuery::from_pairs(call.query) {
        Ok(query) => query,
        Err(error) => return V3Reply::body(error.to_error_body(Location::Query)),
    };
    let date = match calendar_date(&query.bill_date) {
        Ok(date) => date,
        Err(reply) => return reply,
    };
    let file = BillFile {
        mch_id: call.merchant.mch_id.clone(),
        issued: now,
        trade: None,
        date,
        gzip: query.tar_type.is_some(),
    };
    if query.account_type != "BASIC" {
        // deviation: wx3-fundflow-bill (the other accounts never move; the dates' rules hold)
        return match file.text(ledger, now) {
            Err(why @ (Unavailable::OutOfRange | Unavailable::Creating)) => unavailable(why),
            _ => V3Reply::code(&ErrorCode::NoStatementExist),
        };
    }
    address(call, &file, ledger, now)
}

/// `GET /v3/billdownload/file?token=`: the file itself, unsigned.
pub(super) fn download(call: &Call<'_>, ledger: &mut WechatLedger, now: Timestamp) -> V3Reply {
    // deviation: wx3-bill-download-token
    let refused = || {
        V3Reply::error(
            &ErrorCode::InvalidRequest,
            "下载地址无效或已过期，请重新申请账单",
        )
    };
    let Some(file) = call.query("token").and_then(BillFile::from_token) else {
        return refused();
    };
    if file.mch_id != call.merchant.mch_id {
        return V3Reply::error(&ErrorCode::NoAuth, "下载账单的商户与申请账单的商户不一致");
    }
    let age = now.0.checked_sub(file.issued.0);
    if !age.is_some_and(|age| (0..=TOKEN_LIFETIME_MS).contains(&age)) {
        return refused();
    }
    match file.text(ledger, now) {
        // deviation: wx3-bill-download-unsigned
        Ok(text) => V3Reply::File {
            body: if file.gzip {
                gzip(text.as_bytes())
            } else {
                text.into_bytes()
            },
            gzip: file.gzip,
        },
        Err(why) => unavailable(why),
    }
}

/// Running totals of the fund-flow file, in fen.
#[derive(Default)]
struct Totals {
    balance: i64,
    income: u64,
    income_count: u64,
    expense: u64,
    expense_count: u64,
}

/// One movement of the basic account.
struct Movement<'a> {
    row: &'a BillRow,
    /// 业务名称 and 业务类型.
    name: &'static str,
    kind: &'static str,
    fen: u64,
    income: bool,
    /// Suffix of the 资金流水单号 (one business number moves money more than once).
    suffix: &'static str,
}

/// The fund-flow file: a header line, one line per movement with a running balance from
/// zero (the sandbox keeps no account balance; deviation: `wx3-fundflow-bill`), then the
/// summary header and the summary. Values are backtick-prefixed like the trade bill's.
fn fund_flow_text(rows: &[BillRow]) -> String {
    const HEADER: &str = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号";
    const SUMMARY: &str = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额";
    let mut movements = Vec::new();
    for row in rows {
        // Fees are whole fen in thousandths of a fen ([`Fee`]); the sign says the direction.
        let fee = row.fee.0.unsigned_abs() / 1000;
        if row.is_refund() {
            // A closed refund gave nothing back.
            if row.refund_status == RefundStatus::RefundClose.as_str() {
                continue;
            }
            movements.push(Movement {
                row,
                name: "退款",
                kind: "退款",
                fen: row.settlement_refund_fee,
                income: false,
                suffix: "R",
            });
            movements.push(Movement {
                row,
                name: "手续费",
                kind: "退还交易手续费",
                fen: fee,
                income: true,
                suffix: "RF",
            });
        } else {
            movements.push(Movement {
                row,
                name: "交易",
                kind: "交易",
                fen: row.settlement_total_fee,
                income: true,
                suffix: "P",
            });
            movements.push(Movement {
                row,
                name: "手续费",
                kind: "扣除交易手续费",
                fen: fee,
                income: false,
                suffix: "F",
            });
        }
    }
    let mut totals = Totals::default();
    let mut lines = vec![HEADER.to_owned()];
    for m in movements.iter().filter(|m| m.fen > 0) {
        let signed = i64::try_from(m.fen).unwrap_or(i64::MAX);
        if m.income {
            totals.balance = totals.balance.saturating_add(signed);
            totals.income = totals.income.saturating_add(m.fen);
            totals.income_count = totals.income_count.saturating_add(1);
        } else {
            totals.balance = totals.balance.saturating_sub(signed);
            totals.expense = totals.expense.saturating_add(m.fen);
            totals.expense_count = totals.expense_count.saturating_add(1);
        }
        let (business_no, voucher) = if m.row.is_refund() {
            (&m.row.refund_id, &m.row.out_refund_no)
        } else {
            (&m.row.transaction_id, &m.row.out_trade_no)
        };
        let values = [
            m.row.trade_time.clone(),
            business_no.clone(),
            format!("{business_no}{}", m.suffix),
            m.name.to_owned(),
            m.kind.to_owned(),
            if m.income { "收入" } else { "支出" }.to_owned(),
            yuan(signed),
            yuan(totals.balance),
            "system".to_owned(),
            String::new(),
            voucher.clone(),
        ];
        lines.push(backticked(&values));
    }
    lines.push(SUMMARY.to_owned());
    lines.push(backticked(&[
        totals
            .income_count
            .saturating_add(totals.expense_count)
            .to_string(),
        totals.income_count.to_string(),
        yuan(i64::try_from(totals.income).unwrap_or(i64::MAX)),
        totals.expense_count.to_string(),
        yuan(i64::try_from(totals.expense).unwrap_or(i64::MAX)),
    ]));
    let mut text = lines.join(LINE_END);
    text.push_str(LINE_END);
    text
}

/// Values joined by commas, each prefixed with a backtick.
fn backticked(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Fen as yuan with two decimals, signed.
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let date = BillDate::parse("20261130").unwrap();
        for file in [
            BillFile {
                mch_id: "1900000109".into(),
                issued: Timestamp(1_700_000_000_000),
                trade: Some(BillType::Refund),
                date,
                gzip: true,
            },
            BillFile {
                mch_id: "1900000109".into(),
                issued: Timestamp(0),
                trade: None,
                date,
                gzip: false,
            },
        ] {
            assert_eq!(BillFile::from_token(&file.token()), Some(file));
        }
        for bad in [
            "1.0.TRADE.20261130.ALL.GZIP.x",
            "1.0.TRADE.20261130.RECHARGE_REFUND.RAW",
            "1.0.FUNDFLOW.20261130.FEES.RAW",
            "1.0.TRADE.20261131.ALL.RAW",
            "x.0.TRADE.20261130.ALL.RAW",
            ".0.TRADE.20261130.ALL.RAW",
            "1.soon.TRADE.20261130.ALL.RAW",
            "1.0.TRADE.20261130.ALL.ZIP",
            "",
        ] {
            assert_eq!(BillFile::from_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn yuan_has_two_decimals() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(1), "0.01");
        assert_eq!(yuan(-1234), "-12.34");
    }
}
