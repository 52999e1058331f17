//! `GET /v3/bill/tradebill`, `GET /v3/bill/fundflowbill` and the download address they give,
//! `GET /v3/billdownload/file?token=` (authenticated and signed like every v3 call).
//!
//! The trade bill is v2's downloadbill file, from the same code and ledger
//! ([`crate::wechat::downloadbill::bill_file`]): the same rows, availability and gzip. The
//! fund-flow bill of the basic account lists the same day's money movements (a payment's
//! income and its fee, a refund's expense); the operation and fees accounts of a sandbox
//! merchant never move, so they have no bill (deviation: `wx3-fundflow-bill`).
//!
//! The answer carries the file's SHA-1 computed from the ledger when asked; the download
//! builds the file again, so a refund that settles in between changes the file and its hash
//! no longer matches (as on the platform, whose file is fixed, a client should ask again).
//! The token names the bill (kind, date, type, gzip) and does not expire (the platform's
//! lasts 30 s; deviation: `wx3-bill-download-token`).

use paysandbox_protocol::wechat::bill::{BillDate, BillRow, BillType, gzip};
use paysandbox_protocol::wechat::v3::error::{ErrorCode, Location};
use paysandbox_protocol::wechat::v3::messages::bill::{DOWNLOAD_PATH, HASH_TYPE, sha1_hex};
use paysandbox_protocol::wechat::v3::messages::{BillResponse, FundFlowBillQuery, TradeBillQuery};

use super::Call;
use super::reply::V3Reply;
use crate::clock::Timestamp;
use crate::ledger::wechat::WechatLedger;
use crate::wechat::downloadbill::{self, Unavailable};

/// What a download token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BillFile {
    /// The trade bill of this type, or the basic account's fund flow (`None`).
    trade: Option<BillType>,
    date: BillDate,
    gzip: bool,
}

impl BillFile {
    /// `TRADE.20261130.ALL.GZIP`, `FUNDFLOW.20261130.BASIC.RAW`.
    fn token(self) -> String {
        let kind = match self.trade {
            Some(bill_type) => format!("TRADE.{}.{}", self.date.compact(), bill_type.as_str()),
            None => format!("FUNDFLOW.{}.BASIC", self.date.compact()),
        };
        format!("{kind}.{}", if self.gzip { "GZIP" } else { "RAW" })
    }

    fn from_token(token: &str) -> Option<BillFile> {
        let mut parts = token.split('.');
        let (kind, date, which, tar) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let trade = match (kind, which) {
            ("TRADE", "ALL" | "SUCCESS" | "REFUND") => Some(BillType::from_wire(which)?),
            ("FUNDFLOW", "BASIC") => None,
            _ => return None,
        };
        let gzip = match tar {
            "GZIP" => true,
            "RAW" => false,
            _ => return None,
        };
        Some(BillFile {
            trade,
            date: BillDate::parse(date)?,
            gzip,
        })
    }

    /// The file as it would be downloaded now.
    fn build(
        self,
        mch_id: &str,
        ledger: &mut WechatLedger,
        now: Timestamp,
    ) -> Result<Vec<u8>, Unavailable> {
        match self.trade {
            Some(bill_type) => {
                downloadbill::bill_file(mch_id, ledger, now, self.date, bill_type, self.gzip)
            }
            None => {
                // The trade bill's rules decide availability; its rows become fund movements.
                downloadbill::bill_file(mch_id, ledger, now, self.date, BillType::All, false)?;
                let rows = downloadbill::rows(
                    ledger,
                    mch_id,
                    self.date.days_since_epoch(),
                    BillType::All,
                );
                let text = fund_flow_text(&rows);
                Ok(if self.gzip {
                    gzip(text.as_bytes())
                } else {
                    text.into_bytes()
                })
            }
        }
    }
}

/// The v3 answer to a bill that cannot be had.
fn unavailable(why: Unavailable) -> V3Reply {
    match why {
        // deviation: wx3-bill-out-of-range
        Unavailable::OutOfRange => V3Reply::error(
            &ErrorCode::ParamError,
            "账单日期超出可下载范围,仅支持下载三个月内的账单",
        ),
        Unavailable::Creating => V3Reply::code(&ErrorCode::StatementCreating),
        Unavailable::NoBill => V3Reply::code(&ErrorCode::NoStatementExist),
    }
}

/// Answers `{hash_type, hash_value, download_url}` for `file`.
fn address(
    call: &Call<'_>,
    file: BillFile,
    ledger: &mut WechatLedger,
    now: Timestamp,
) -> V3Reply {
    match file.build(&call.merchant.mch_id, ledger, now) {
        Ok(bytes) => V3Reply::json(&BillResponse {
            hash_type: HASH_TYPE.to_owned(),
            hash_value: sha1_hex(&bytes),
            download_url: format!("{}{DOWNLOAD_PATH}?token={}", call.origin, file.token()),
        }),
        Err(why) => unavailable(why),
    }
}

/// `GET /v3/bill/tradebill`.
pub(super) fn trade(call: &Call<'_>, ledger: &mut WechatLedger, now: Timestamp) -> V3Reply {
    let query = match TradeBillQuery::from_pairs(call.query) {
        Ok(query) => query,
        Err(error) => return V3Reply::body(error.to_error_body(Location::Query)),
    };
    let (Some(date), Some(bill_type)) = (
        BillDate::parse_dashed(&query.bill_date),
        BillType::from_wire(&query.bill_type),
    ) else {
        return V3Reply::error(&ErrorCode::ParamError, "账单日期格式不正确");
    };
    let file = BillFile {
        trade: Some(bill_type),
        date,
        gzip: query.tar_type.is_some(),
    };
    address(call, file, ledger, now)
}

/// `GET /v3/bill/fundflowbill`.
pub(super) fn fund_flow(call: &Call<'_>, ledger: &mut WechatLedger, now: Timestamp) -> V3Reply {
    let query = match FundFlowBillQuery::from_pairs(call.query) {
        Ok(query) => query,
        Err(error) => return V3Reply::body(error.to_error_body(Location::Query)),
    };
    let Some(date) = BillDate::parse_dashed(&query.bill_date) else {
        return V3Reply::error(&ErrorCode::ParamError, "账单日期格式不正确");
    };
    let file = BillFile {
        trade: None,
        date,
        gzip: query.tar_type.is_some(),
    };
    if query.account_type != "BASIC" {
        // deviation: wx3-fundflow-bill
        return match file.build(&call.merchant.mch_id, ledger, now) {
            Err(why @ (Unavailable::OutOfRange | Unavailable::Creating)) => unavailable(why),
            _ => V3Reply::code(&ErrorCode::NoStatementExist),
        };
    }
    address(call, file, ledger, now)
}

/// `GET /v3/billdownload/file?token=`: the file itself.
pub(super) fn download(call: &Call<'_>, ledger: &mut WechatLedger, now: Timestamp) -> V3Reply {
    // deviation: wx3-bill-download-token
    let Some(file) = call.query("token").and_then(BillFile::from_token) else {
        return V3Reply::error(&ErrorCode::ParamError, "token无效或已过期");
    };
    match file.build(&call.merchant.mch_id, ledger, now) {
        Ok(bytes) => V3Reply::File {
            body: bytes,
            gzip: file.gzip,
        },
        Err(why) => unavailable(why),
    }
}

/// The fund-flow file: a header line, one line per movement with a running balance from
/// zero (the sandbox keeps no account balance; deviation: `wx3-fundflow-bill`), then the
/// summary. Values are backtick-prefixed like the trade bill's.
fn fund_flow_text(rows: &[BillRow]) -> String {
    const HEADER: &str = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号";
    const SUMMARY: &str = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额";
    let mut lines = vec![HEADER.to_owned()];
    let (mut balance, mut income, mut income_n, mut expense, mut expense_n) =
        (0_i64, 0_u64, 0_u64, 0_u64, 0_u64);
    let mut push = |row: &BillRow, name: &str, kind: &str, fen: u64, is_income: bool, no: &str| {
        let signed = i64::try_from(fen).unwrap_or(i64::MAX);
        if is_income {
            balance = balance.saturating_add(signed);
            income = income.saturating_add(fen);
            income_n = income_n.saturating_add(1);
        } else {
            balance = balance.saturating_sub(signed);
            expense = expense.saturating_add(fen);
            expense_n = expense_n.saturating_add(1);
        }
        let values = [
            row.trade_time.clone(),
            row.transaction_id.clone(),
            format!("{}{no}", row.transaction_id),
            name.to_owned(),
            kind.to_owned(),
            if is_income { "收入" } else { "支出" }.to_owned(),
            yuan(i64::try_from(fen).unwrap_or(i64::MAX)),
            yuan(balance),
            "system".to_owned(),
            String::new(),
            if row.is_refund() {
                row.out_refund_no.clone()
            } else {
                row.out_trade_no.clone()
            },
        ];
        lines.push(
            values
                .iter()
                .map(|v| format!("`{v}"))
                .collect::<Vec<_>>()
                .join(","),
        );
    };
    for row in rows {
        let fee = row.fee.0.unsigned_abs();
        if row.is_refund() {
            push(row, "退款", "退款", row.settlement_refund_fee, false, "R");
            push(row, "手续费", "扣除交易手续费", fee, true, "FR");
        } else {
            push(row, "交易", "交易", row.settlement_total_fee, true, "P");
            push(row, "手续费", "扣除交易手续费", fee, false, "F");
        }
    }
    lines.push(SUMMARY.to_owned());
    lines.push(format!(
        "`{},`{income_n},`{},`{expense_n},`{}",
        income_n.saturating_add(expense_n),
        yuan(i64::try_from(income).unwrap_or(i64::MAX)),
        yuan(i64::try_from(expense).unwrap_or(i64::MAX)),
    ));
    let mut text = lines.join(paysandbox_protocol::wechat::bill::LINE_END);
    text.push_str(paysandbox_protocol::wechat::bill::LINE_END);
    text
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
                trade: Some(BillType::Refund),
                date,
                gzip: true,
            },
            BillFile {
                trade: None,
                date,
                gzip: false,
            },
        ] {
            assert_eq!(BillFile::from_token(&file.token()), Some(file));
        }
        assert_eq!(BillFile::from_token("TRADE.20261130.ALL.GZIP.x"), None);
        assert_eq!(BillFile::from_token("TRADE.20261130.RECHARGE_REFUND.RAW"), None);
        assert_eq!(BillFile::from_token("FUNDFLOW.20261130.FEES.RAW"), None);
    }

    #[test]
    fn yuan_has_two_decimals() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(1), "0.01");
        assert_eq!(yuan(-1234), "-12.34");
    }
}
