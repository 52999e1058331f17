//! The Alipay trade bill (spec §8): the detail CSV (业务明细) and summary CSV (业务明细(汇总)),
//! GBK-encoded, zipped together as `<pid>0156_<yyyyMMdd>.csv.zip`.
//!
//! Detail layout: `#` comment lines (title, account, date range, a start marker), the header
//! row, one row per payment (业务类型 `交易`) or refund (`退款`, negative amounts, 退款批次号/请求号
//! = out_request_no), an end marker, the `#交易合计` / `#退款合计` footer and `#导出时间`. Ids
//! carry a trailing `\t` so spreadsheets keep them as text; the parser trims it.
//!
//! File names in the zip are UTF-8 (the zip crate's default; real archives use GBK names
//! without the UTF-8 flag, UNCONFIRMED; deviation: `ali-bill-zip-names`), so [`read_zip`]
//! finds the detail file by its first line, not by its name.

use std::fmt;
use std::io::{Cursor, Read, Write};

use crate::money::{AmountError, format_yuan, parse_yuan_unbounded};

/// `bill_type` of the download URL query (spec §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BillType {
    /// `trade`: the acquiring business bill (业务明细), one row per payment or refund.
    Trade,
    /// `signcustomer`: the account bill (账务明细), every balance movement.
    Signcustomer,
}

impl BillType {
    /// The wire value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            BillType::Trade => "trade",
            BillType::Signcustomer => "signcustomer",
        }
    }

    /// From the wire value (exact, lower case).
    #[must_use]
    pub fn from_wire(s: &str) -> Option<BillType> {
        match s {
            "trade" => Some(BillType::Trade),
            "signcustomer" => Some(BillType::Signcustomer),
            _ => None,
        }
    }

    /// `bizType` of the download URL: `trade`, or `fnd` for the account bill.
    #[must_use]
    pub fn biz_type(self) -> &'static str {
        match self {
            BillType::Trade => "trade",
            BillType::Signcustomer => "fnd",
        }
    }
}

impl fmt::Display for BillType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `bill_date`: a daily bill (`yyyy-MM-dd`) or a monthly one (`yyyy-MM`), always a valid
/// calendar date (Beijing days; which ones exist is the gateway's business).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BillDate {
    /// One day.
    Day {
        /// Year.
        year: u16,
        /// Month, 1 to 12.
        month: u8,
        /// Day of the month.
        day: u8,
    },
    /// One calendar month.
    Month {
        /// Year.
        year: u16,
        /// Month, 1 to 12.
        month: u8,
    },
}

impl BillDate {
    /// A daily bill date, if it is a calendar date.
    #[must_use]
    pub fn day(year: u16, month: u8, day: u8) -> Option<BillDate> {
        crate::wechat::bill::BillDate::new(year, month, day).map(|_| BillDate::Day {
            year,
            month,
            day,
        })
    }

    /// A monthly bill date, if `month` is 1 to 12.
    #[must_use]
    pub fn month(year: u16, month: u8) -> Option<BillDate> {
        (1..=12)
            .contains(&month)
            .then_some(BillDate::Month { year, month })
    }

    /// Parses `yyyy-MM-dd` or `yyyy-MM` (digits, zero-padded, a real date).
    #[must_use]
    pub fn parse(s: &str) -> Option<BillDate> {
        if let Some(day) = crate::wechat::bill::BillDate::parse_dashed(s) {
            return Some(BillDate::Day {
                year: day.year,
                month: day.month,
                day: day.day,
            });
        }
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        BillDate::month(y.parse().ok()?, m.parse().ok()?)
    }

    /// Digits only, as in the download URL's `bizDates` and the file names: `yyyyMMdd` or
    /// `yyyyMM`.
    #[must_use]
    pub fn compact(self) -> String {
        match self {
            BillDate::Day { year, month, day } => format!("{year:04}{month:02}{day:02}"),
            BillDate::Month { year, month } => format!("{year:04}{month:02}"),
        }
    }
}

/// The wire form: `yyyy-MM-dd` or `yyyy-MM`.
impl fmt::Display for BillDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BillDate::Day { year, month, day } => write!(f, "{year:04}-{month:02}-{day:02}"),
            BillDate::Month { year, month } => write!(f, "{year:04}-{month:02}"),
        }
    }
}

/// 业务类型 of a payment row.
pub const BIZ_TRADE: &str = "交易";
/// 业务类型 of a refund row.
pub const BIZ_REFUND: &str = "退款";

/// The detail file's first line.
pub const DETAIL_TITLE: &str = "#支付宝业务明细查询";
/// The summary file's first line.
pub const SUMMARY_TITLE: &str = "#支付宝业务汇总查询";

/// The trade bill's columns, in order (spec §8).
pub const COLUMNS: [&str; 25] = [
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
];

/// Columns whose values are ids (written with a trailing tab).
const ID_COLUMNS: [usize; 2] = [0, 1];

/// One row of the detail CSV. Amounts are signed fen (negative on refund rows, except the
/// service fee which is negative on payments and given back on refunds).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TradeBillRow {
    /// 支付宝交易号.
    pub trade_no: String,
    /// 商户订单号.
    pub out_trade_no: String,
    /// 业务类型: [`BIZ_TRADE`] or [`BIZ_REFUND`].
    pub biz_type: String,
    /// 商品名称.
    pub subject: String,
    /// 创建时间 `yyyy-MM-dd HH:mm:ss`.
    pub created_at: String,
    /// 完成时间 `yyyy-MM-dd HH:mm:ss`.
    pub finished_at: String,
    /// 门店编号.
    pub store_id: String,
    /// 门店名称.
    pub store_name: String,
    /// 操作员.
    pub operator: String,
    /// 终端号.
    pub terminal: String,
    /// 对方账户 (the buyer's masked login).
    pub buyer_account: String,
    /// 订单金额（元）.
    pub total_amount: i64,
    /// 商家实收（元）.
    pub receipt_amount: i64,
    /// 支付宝红包（元）.
    pub red_packet: i64,
    /// 集分宝（元）.
    pub point: i64,
    /// 支付宝优惠（元）.
    pub alipay_discount: i64,
    /// 商家优惠（元）.
    pub merchant_discount: i64,
    /// 券核销金额（元）.
    pub coupon_amount: i64,
    /// 券名称.
    pub coupon_name: String,
    /// 商家红包消费金额（元）.
    pub merchant_red_packet: i64,
    /// 卡消费金额（元）.
    pub card_amount: i64,
    /// 退款批次号/请求号 (the refund's out_request_no; empty on payments).
    pub refund_request_no: String,
    /// 服务费（元）.
    pub service_fee: i64,
    /// 分润（元）.
    pub royalty: i64,
    /// 备注.
    pub remark: String,
}

impl TradeBillRow {
    /// Whether this is a refund row.
    #[must_use]
    pub fn is_refund(&self) -> bool {
        self.biz_type == BIZ_REFUND
    }

    fn cells(&self) -> [String; 25] {
        let y = |v: i64| signed_yuan(v);
        [
            self.trade_no.clone(),
            self.out_trade_no.clone(),
            self.biz_type.clone(),
            self.subject.clone(),
            self.created_at.clone(),
            self.finished_at.clone(),
            self.store_id.clone(),
            self.store_name.clone(),
            self.operator.clone(),
            self.terminal.clone(),
            self.buyer_account.clone(),
            y(self.total_amount),
            y(self.receipt_amount),
            y(self.red_packet),
            y(self.point),
            y(self.alipay_discount),
            y(self.merchant_discount),
            y(self.coupon_amount),
            self.coupon_name.clone(),
            y(self.merchant_red_packet),
            y(self.card_amount),
            self.refund_request_no.clone(),
            y(self.service_fee),
            y(self.royalty),
            self.remark.clone(),
        ]
    }

    fn set(&mut self, column: usize, value: &str) -> Result<(), AmountError> {
        let text = value.to_owned();
        match column {
            0 => self.trade_no = text,
            1 => self.out_trade_no = text,
            2 => self.biz_type = text,
            3 => self.subject = text,
            4 => self.created_at = text,
            5 => self.finished_at = text,
            6 => self.store_id = text,
            7 => self.store_name = text,
            8 => self.operator = text,
            9 => self.terminal = text,
            10 => self.buyer_account = text,
            11 => self.total_amount = parse_signed_yuan(value)?,
            12 => self.receipt_amount = parse_signed_yuan(value)?,
            13 => self.red_packet = parse_signed_yuan(value)?,
            14 => self.point = parse_signed_yuan(value)?,
            15 => self.alipay_discount = parse_signed_yuan(value)?,
            16 => self.merchant_discount = parse_signed_yuan(value)?,
            17 => self.coupon_amount = parse_signed_yuan(value)?,
            18 => self.coupon_name = text,
            19 => self.merchant_red_packet = parse_signed_yuan(value)?,
            20 => self.card_amount = parse_signed_yuan(value)?,
            21 => self.refund_request_no = text,
            22 => self.service_fee = parse_signed_yuan(value)?,
            23 => self.royalty = parse_signed_yuan(value)?,
            24 => self.remark = text,
            _ => {}
        }
        Ok(())
    }
}

/// The detail file: its header comments, rows and footer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TradeBill {
    /// The account in `#账号：[…]` (the seller's pid followed by `0156`).
    pub account: String,
    /// Start of the period, `yyyy年MM月dd日 HH:mm:ss`.
    pub start: String,
    /// End of the period, same format.
    pub end: String,
    /// The rows, in the file's order.
    pub rows: Vec<TradeBillRow>,
    /// Export time, `yyyy年MM月dd日 HH:mm:ss`.
    pub exported_at: String,
}

/// The `#交易合计` / `#退款合计` footer figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TradeBillTotals {
    /// Payment rows.
    pub trade_count: u64,
    /// Sum of their 商家实收, fen.
    pub trade_receipt: i64,
    /// Sum of their 商家优惠, fen.
    pub trade_merchant_discount: i64,
    /// Refund rows.
    pub refund_count: u64,
    /// Sum of their 商家实收 (negative), fen.
    pub refund_receipt: i64,
    /// Sum of their 商家优惠, fen.
    pub refund_merchant_discount: i64,
}

impl TradeBillTotals {
    /// The totals of these rows.
    #[must_use]
    pub fn of(rows: &[TradeBillRow]) -> TradeBillTotals {
        let mut t = TradeBillTotals::default();
        for row in rows {
            if row.is_refund() {
                t.refund_count += 1;
                t.refund_receipt += row.receipt_amount;
                t.refund_merchant_discount += row.merchant_discount;
            } else {
                t.trade_count += 1;
                t.trade_receipt += row.receipt_amount;
                t.trade_merchant_discount += row.merchant_discount;
            }
        }
        t
    }
}

/// Signed fen as yuan with two decimals: `-150` → `-1.50`.
#[must_use]
pub fn signed_yuan(fen: i64) -> String {
    let text = format_yuan(fen.unsigned_abs());
    if fen < 0 { format!("-{text}") } else { text }
}

/// Parses an optionally negative yuan amount (two decimals at most); empty is zero.
///
/// # Errors
/// Not such an amount.
pub fn parse_signed_yuan(s: &str) -> Result<i64, AmountError> {
    if s.is_empty() {
        return Ok(0);
    }
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let fen = i64::try_from(parse_yuan_unbounded(digits)?).map_err(|_| AmountError::Overflow)?;
    Ok(if negative { -fen } else { fen })
}

const START_MARKER: &str = "#-----------------------------------------业务明细列表----------------------------------------";
const END_MARKER: &str = "#-----------------------------------------业务明细列表结束------------------------------------";

fn clean(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if matches!(c, ',' | '\r' | '\n') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Writes the detail CSV as text (encode it with [`to_gbk`]). The footer is computed from
/// the rows.
#[must_use]
pub fn write_detail(bill: &TradeBill) -> String {
    let mut out = String::new();
    let mut line = |s: &str| {
        out.push_str(s);
        out.push_str("\r\n");
    };
    line(DETAIL_TITLE);
    line(&format!("#账号：[{}]", bill.account));
    line(&format!(
        "#起始日期：[{}]   终止日期：[{}]",
        bill.start, bill.end
    ));
    line(START_MARKER);
    line(&COLUMNS.join(","));
    for row in &bill.rows {
        let cells: Vec<String> = row
            .cells()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if ID_COLUMNS.contains(&i) {
                    format!("{}\t", clean(v))
                } else {
                    clean(v)
                }
            })
            .collect();
        line(&cells.join(","));
    }
    line(END_MARKER);
    let t = TradeBillTotals::of(&bill.rows);
    line(&format!(
        "#交易合计：{}笔，商家实收共{}元，商家优惠共{}元",
        t.trade_count,
        signed_yuan(t.trade_receipt),
        signed_yuan(t.trade_merchant_discount)
    ));
    line(&format!(
        "#退款合计：{}笔，商家实收共{}元，商家优惠共{}元",
        t.refund_count,
        signed_yuan(t.refund_receipt),
        signed_yuan(t.refund_merchant_discount)
    ));
    line(&format!("#导出时间：[{}]", bill.exported_at));
    out
}

/// The summary columns (UNCONFIRMED: the spec names the file, not its columns; deviation:
/// `ali-bill-summary-columns`).
pub const SUMMARY_COLUMNS: [&str; 10] = [
    "门店编号",
    "门店名称",
    "交易订单总笔数",
    "退款订单总笔数",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "服务费（元）",
    "实收净额（元）",
];

/// Writes the summary CSV: one 合计 line over every row.
#[must_use]
pub fn write_summary(bill: &TradeBill) -> String {
    let t = TradeBillTotals::of(&bill.rows);
    let sum = |f: fn(&TradeBillRow) -> i64| bill.rows.iter().map(f).sum::<i64>();
    let receipt = sum(|r| r.receipt_amount);
    let fee = sum(|r| r.service_fee);
    let values = [
        String::new(),
        "合计".to_owned(),
        t.trade_count.to_string(),
        t.refund_count.to_string(),
        signed_yuan(sum(|r| r.total_amount)),
        signed_yuan(receipt),
        signed_yuan(sum(|r| r.alipay_discount)),
        signed_yuan(sum(|r| r.merchant_discount)),
        signed_yuan(fee),
        signed_yuan(receipt + fee),
    ];
    let mut out = String::new();
    for line in [
        SUMMARY_TITLE.to_owned(),
        format!("#账号：[{}]", bill.account),
        format!("#起始日期：[{}]   终止日期：[{}]", bill.start, bill.end),
        SUMMARY_COLUMNS.join(","),
        values.join(","),
        format!("#导出时间：[{}]", bill.exported_at),
    ] {
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out
}

/// Why a bill could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TradeBillError {
    /// Not the detail file (wrong first line).
    #[error("not an Alipay trade bill detail file")]
    NotDetail,
    /// No header row.
    #[error("no header row")]
    NoHeader,
    /// A column the bill must have is absent.
    #[error("column {0} is missing")]
    MissingColumn(&'static str),
    /// A row's field count differs from the header's.
    #[error("line {line}: {found} fields, the header has {expected}")]
    FieldCount {
        /// 1-based line.
        line: usize,
        /// Header's field count.
        expected: usize,
        /// This row's.
        found: usize,
    },
    /// An amount is not one.
    #[error("line {line}, column {column}: {error}")]
    Amount {
        /// 1-based line.
        line: usize,
        /// Column name.
        column: String,
        /// What is wrong.
        error: AmountError,
    },
    /// The zip could not be read, or holds no detail file.
    #[error("zip: {0}")]
    Zip(String),
}

fn bracketed<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(prefix)?.strip_prefix('[')?;
    rest.split(']').next()
}

/// Parses the detail CSV (as text, already decoded from GBK).
///
/// # Errors
/// [`TradeBillError`].
pub fn parse_detail(text: &str) -> Result<TradeBill, TradeBillError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    if lines.next().map(|(_, l)| l.trim()) != Some(DETAIL_TITLE) {
        return Err(TradeBillError::NotDetail);
    }
    let mut bill = TradeBill::default();
    let mut header: Option<Vec<Option<usize>>> = None;
    for (index, line) in lines {
        let number = index + 1;
        if let Some(comment) = line.strip_prefix('#') {
            let comment = format!("#{comment}");
            if let Some(account) = bracketed(&comment, "#账号：") {
                account.clone_into(&mut bill.account);
            } else if let Some(start) = bracketed(&comment, "#起始日期：") {
                start.clone_into(&mut bill.start);
                if let Some((_, end)) = comment.split_once("终止日期：")
                    && let Some(end) = bracketed(end, "")
                {
                    end.clone_into(&mut bill.end);
                }
            } else if let Some(at) = bracketed(&comment, "#导出时间：") {
                at.clone_into(&mut bill.exported_at);
            }
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(|c| c.trim()).collect();
        let Some(columns) = &header else {
            let mapped: Vec<Option<usize>> = cells
                .iter()
                .map(|name| COLUMNS.iter().position(|c| c == name))
                .collect();
            for required in [0, 1, 2, 12] {
                if !mapped.contains(&Some(required)) {
                    return Err(TradeBillError::MissingColumn(
                        COLUMNS.get(required).copied().unwrap_or_default(),
                    ));
                }
            }
            header = Some(mapped);
            continue;
        };
        if cells.len() != columns.len() {
            return Err(TradeBillError::FieldCount {
                line: number,
                expected: columns.len(),
                found: cells.len(),
            });
        }
        let mut row = TradeBillRow::default();
        for (column, value) in columns.iter().zip(&cells) {
            if let Some(column) = *column {
                row.set(column, value)
                    .map_err(|error| TradeBillError::Amount {
                        line: number,
                        column: COLUMNS.get(column).copied().unwrap_or_default().to_owned(),
                        error,
                    })?;
            }
        }
        bill.rows.push(row);
    }
    if header.is_none() {
        return Err(TradeBillError::NoHeader);
    }
    Ok(bill)
}

/// Encodes text as GBK (the CSVs' encoding). Characters GBK lacks become numeric character
/// references, as encoding_rs does for legacy encodings.
#[must_use]
pub fn to_gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

/// Decodes GBK bytes (malformed sequences become U+FFFD).
#[must_use]
pub fn from_gbk(bytes: &[u8]) -> String {
    encoding_rs::GBK
        .decode_without_bom_handling(bytes)
        .0
        .into_owned()
}

/// The file names of a bill archive: (zip, detail, summary), for the seller `pid` and the
/// `yyyyMMdd` date.
#[must_use]
pub fn file_names(pid: &str, date: &str) -> (String, String, String) {
    (
        format!("{pid}0156_{date}.csv.zip"),
        format!("{pid}0156_{date}_业务明细.csv"),
        format!("{pid}0156_{date}_业务明细(汇总).csv"),
    )
}

/// Zips the detail and summary CSVs (GBK) under their names.
///
/// # Errors
/// Only the zip writer's own errors (it writes to memory).
pub fn write_zip(pid: &str, date: &str, bill: &TradeBill) -> Result<Vec<u8>, TradeBillError> {
    let (_, detail_name, summary_name) = file_names(pid, date);
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let zip_error = |e: &dyn fmt::Display| TradeBillError::Zip(e.to_string());
    for (name, text) in [
        (detail_name, write_detail(bill)),
        (summary_name, write_summary(bill)),
    ] {
        zip.start_file(name, options).map_err(|e| zip_error(&e))?;
        zip.write_all(&to_gbk(&text)).map_err(|e| zip_error(&e))?;
    }
    let cursor = zip.finish().map_err(|e| zip_error(&e))?;
    Ok(cursor.into_inner())
}

/// Every entry of a bill zip, as (name, raw bytes) in archive order: the CSVs are GBK (decode
/// them with [`from_gbk`]). Entries above `limit` bytes are refused.
///
/// # Errors
/// [`TradeBillError::Zip`] for an unreadable archive or an entry above the limit.
pub fn zip_entries(bytes: &[u8], limit: u64) -> Result<Vec<(String, Vec<u8>)>, TradeBillError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| TradeBillError::Zip(e.to_string()))?;
    let mut entries = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| TradeBillError::Zip(e.to_string()))?;
        let name = entry
            .name()
            .map_err(|e| TradeBillError::Zip(e.to_string()))?
            .into_owned();
        let mut raw = Vec::new();
        (&mut entry)
            .take(limit.saturating_add(1))
            .read_to_end(&mut raw)
            .map_err(|e| TradeBillError::Zip(e.to_string()))?;
        if raw.len() as u64 > limit {
            return Err(TradeBillError::Zip("entry too large".to_owned()));
        }
        entries.push((name, raw));
    }
    Ok(entries)
}

/// Reads the detail file out of a bill zip: the entry whose text starts with
/// [`DETAIL_TITLE`], whatever its name's encoding. Entries above `limit` bytes are refused.
///
/// # Errors
/// [`TradeBillError::Zip`] for an unreadable archive or no detail entry; parse errors.
pub fn read_zip(bytes: &[u8], limit: u64) -> Result<TradeBill, TradeBillError> {
    for (_, raw) in zip_entries(bytes, limit)? {
        let text = from_gbk(&raw);
        if text.trim_start().starts_with(DETAIL_TITLE) {
            return parse_detail(&text);
        }
    }
    Err(TradeBillError::Zip(
        "no detail file in the archive".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bill_dates_parse_days_and_months() {
        assert_eq!(
            BillDate::parse("2023-11-15"),
            Some(BillDate::Day {
                year: 2023,
                month: 11,
                day: 15
            })
        );
        assert_eq!(
            BillDate::parse("2024-02"),
            Some(BillDate::Month {
                year: 2024,
                month: 2
            })
        );
        for bad in [
            "2023-02-29",
            "2023-13",
            "2023-00",
            "20231115",
            "2023-1-15",
            "2023-11-15 ",
            "2023-11-",
            "２０２３-11",
            "+023-11",
            "",
        ] {
            assert_eq!(BillDate::parse(bad), None, "{bad}");
        }
        let day = BillDate::day(2024, 2, 29).unwrap();
        assert_eq!(day.to_string(), "2024-02-29");
        assert_eq!(day.compact(), "20240229");
        let month = BillDate::month(2023, 9).unwrap();
        assert_eq!(month.to_string(), "2023-09");
        assert_eq!(month.compact(), "202309");
        assert_eq!(BillDate::day(2023, 2, 29), None);
        assert_eq!(BillDate::month(2023, 13), None);
    }

    #[test]
    fn bill_types_round_trip() {
        for t in [BillType::Trade, BillType::Signcustomer] {
            assert_eq!(BillType::from_wire(t.as_str()), Some(t));
        }
        assert_eq!(BillType::from_wire("TRADE"), None);
        assert_eq!(BillType::Signcustomer.biz_type(), "fnd");
    }
}
