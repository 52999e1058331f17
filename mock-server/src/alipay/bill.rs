//! `alipay.data.dataservice.bill.downloadurl.query` (spec §8) and the download its URL points
//! at, `GET /downloadBillFile.resource` on both API listeners.
//!
//! Rules of the query, in order (each UNCONFIRMED choice names its DEVIATIONS.md row):
//! - biz_content unusable, `bill_type` other than `trade`, `bill_date` neither `yyyy-MM-dd`
//!   nor `yyyy-MM` → 40004 `isv.invalid_arguments` (deviations: `ali-bill-biz-content`,
//!   `ali-bill-sub-code-casing`); `signcustomer` (the account bill) is not modelled and is
//!   refused the same way (deviation: `ali-bill-signcustomer`);
//! - a day that is today or later (Beijing), a month that is the current one or later, or a
//!   bill more than [`HISTORY_MONTHS`] calendar months back → `isv.invalid_arguments`
//!   (deviation: `ali-bill-invalid-dates`);
//! - yesterday's bill before [`READY_HOUR`]:00, or last month's before the 4th at
//!   [`READY_HOUR`]:00 → `isp.bill_not_exist` (it is not generated yet: "T+1, after 10:00";
//!   deviation: `ali-bill-ready-time`);
//! - no payment and no refund of the app in the period → `isp.bill_not_exist`;
//! - otherwise 10000 with `bill_download_url` =
//!   `<scheme>://<Host of the request>/downloadBillFile.resource?bizType=trade&userId=<pid>0156&fileType=csv.zip&bizDates=<yyyyMMdd>&downloadFileName=<pid>0156_<yyyyMMdd>.csv.zip&fileId=…&timestamp=<ms>&token=…`,
//!   valid for [`LINK_LIFETIME`](crate::ledger::alipay::LINK_LIFETIME) on the injected clock
//!   (the links are domain state: [`BillLinks`]).
//!
//! The zip is built when the URL is issued (a snapshot of the ledger; deviation:
//! `ali-bill-snapshot`): payments (业务类型 交易) of trades paid in the period, refunds (退款,
//! negative amounts, 退款批次号/请求号 = out_request_no) made in it, by their 完成时间. 服务费
//! is [`SERVICE_FEE_BASIS_POINTS`] of the amount, rounded half up to the fen: taken on
//! payments (negative), given back on refunds (deviation: `ali-bill-columns`).
//!
//! The download answers the zip (`application/octet-stream`, `Content-Disposition: attachment`)
//! while the token is valid; an expired or unknown token gets HTTP 200 with an HTML page saying
//! [`EXPIRED_TEXT`] (UNCONFIRMED: the spec gives the text only; deviation:
//! `ali-bill-expired-link`).

use std::collections::HashMap;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use paysandbox_protocol::alipay::bill::{
    BIZ_REFUND, BIZ_TRADE, BillDate, BillType, TradeBill, TradeBillRow, file_names, write_zip,
};
use paysandbox_protocol::alipay::{
    BillDownloadUrlQueryRequest, BillDownloadUrlQueryResponse, BizRequest, ResponseStatus, SubCode,
    parse_urlencoded,
};
use paysandbox_protocol::beijing;

use super::reply::{self, Caller, Reply};
use crate::clock::Timestamp;
use crate::http::{self, Body, ConnInfo};
use crate::ids::IdGenerator;
use crate::journal::{JournalEntry, Signature};
use crate::ledger::alipay::{AlipayLedger, BillLinks, Refund, Trade};
use crate::state::AppState;

/// The download's path (the real host is `dwbillcenter.alipay.com`).
pub const DOWNLOAD_PATH: &str = "/downloadBillFile.resource";
/// Beijing hour from which yesterday's bill exists ("T+1, recommended after 10:00").
pub const READY_HOUR: i64 = 10;
/// Day of the month from which last month's bill exists ("around the 4th").
pub const MONTHLY_READY_DAY: u8 = 4;
/// How many calendar months back bills are kept ("about 30 months").
pub const HISTORY_MONTHS: i64 = 30;
/// The service fee rate in basis points (0.60%, the common rate).
pub const SERVICE_FEE_BASIS_POINTS: u64 = 60;
/// What an expired or unknown download link answers.
pub const EXPIRED_TEXT: &str = "下载超时，请重新下载";

const HOUR_MS: i64 = 3_600_000;

/// The seller's Alipay user id (pid, `2088` and 12 digits) of an app. The sandbox has no
/// separate seller accounts: it is `2088` followed by the app id's last 12 digits (a numeric
/// app id of at least 12 digits), else by 12 digits of a hash of the app id (deviation:
/// `ali-bill-pid`).
pub fn seller_pid(app_id: &str) -> String {
    let digits = app_id.len() >= 12 && app_id.bytes().all(|b| b.is_ascii_digit());
    match app_id.get(app_id.len().saturating_sub(12)..) {
        Some(tail) if digits => format!("2088{tail}"),
        _ => {
            // FNV-1a: stable across runs and platforms.
            let hash = app_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            format!("2088{:012}", hash % 1_000_000_000_000)
        }
    }
}

/// The service fee on `fen`, rounded half up to the fen.
pub fn service_fee(fen: u64) -> i64 {
    let fee = (fen.saturating_mul(SERVICE_FEE_BASIS_POINTS) + 5_000) / 10_000;
    i64::try_from(fee).unwrap_or(i64::MAX)
}

/// A period of Beijing time: `[start, end)`.
#[derive(Debug, Clone, Copy)]
struct Period {
    start: Timestamp,
    end: Timestamp,
}

impl Period {
    fn contains(self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

/// Year and month as one month count (`year * 12 + month - 1`).
fn month_index(year: u16, month: u8) -> i64 {
    i64::from(year) * 12 + i64::from(month) - 1
}

/// The first Beijing day (days since the epoch) of a month, and of the month after it.
fn month_days(year: u16, month: u8) -> Option<(i64, i64)> {
    let first = beijing::date(i32::from(year), month, 1).filter(|d| d.year() >= 1970)?;
    let next = beijing::add_months(first, 1)?;
    Some((
        beijing::days_since_epoch(first),
        beijing::days_since_epoch(next),
    ))
}

/// Why a bill cannot be had.
enum Refusal {
    /// `isv.invalid_arguments`, and why (for the journal).
    Invalid(&'static str),
    /// `isp.bill_not_exist`, and why.
    NotExist(&'static str),
}

/// The period a bill date covers, if its bill exists at `now`.
fn period(date: BillDate, now: Timestamp) -> Result<Period, Refusal> {
    let (today, ms_into_today) = now.beijing_day();
    let today_date = paysandbox_protocol::wechat::bill::BillDate::from_days_since_epoch(today)
        .ok_or(Refusal::Invalid("the clock is outside the calendar"))?;
    let this_month = month_index(today_date.year, today_date.month);
    let (first_day, end_day, month) = match date {
        BillDate::Day { year, month, day } => {
            let first = paysandbox_protocol::wechat::bill::BillDate::new(year, month, day)
                .ok_or(Refusal::Invalid("not a calendar date"))?
                .days_since_epoch();
            (first, first + 1, month_index(year, month))
        }
        BillDate::Month { year, month } => {
            let (first, end) = month_days(year, month).ok_or(Refusal::Invalid("not a month"))?;
            (first, end, month_index(year, month))
        }
    };
    if end_day > today {
        return Err(Refusal::Invalid("the period is not over"));
    }
    if month < this_month - HISTORY_MONTHS {
        return Err(Refusal::Invalid("older than the bills kept"));
    }
    // The bill is generated on the day after the period ends (the 4th for a month), at 10:00.
    let ready_day = match date {
        BillDate::Day { .. } => end_day,
        BillDate::Month { .. } => end_day + i64::from(MONTHLY_READY_DAY) - 1,
    };
    if today < ready_day || (today == ready_day && ms_into_today < READY_HOUR * HOUR_MS) {
        return Err(Refusal::NotExist("not generated yet"));
    }
    Ok(Period {
        start: Timestamp::beijing_day_start(first_day),
        end: Timestamp::beijing_day_start(end_day),
    })
}

fn payment_row(trade: &Trade, paid_at: Timestamp) -> TradeBillRow {
    let total = i64::try_from(trade.total_amount).unwrap_or(i64::MAX);
    TradeBillRow {
        trade_no: trade.trade_no.clone(),
        out_trade_no: trade.out_trade_no.clone(),
        biz_type: BIZ_TRADE.to_owned(),
        subject: trade.subject.clone(),
        created_at: trade.created_at.beijing_datetime(),
        finished_at: paid_at.beijing_datetime(),
        store_id: trade.store_id.clone().unwrap_or_default(),
        buyer_account: trade.buyer_logon_id.clone().unwrap_or_default(),
        total_amount: total,
        receipt_amount: total,
        service_fee: -service_fee(trade.total_amount),
        ..TradeBillRow::default()
    }
}

fn refund_row(refund: &Refund, trade: &Trade) -> TradeBillRow {
    let amount = i64::try_from(refund.refund_amount).unwrap_or(i64::MAX);
    TradeBillRow {
        trade_no: refund.trade_no.clone(),
        out_trade_no: refund.out_trade_no.clone(),
        biz_type: BIZ_REFUND.to_owned(),
        subject: trade.subject.clone(),
        created_at: trade.created_at.beijing_datetime(),
        finished_at: refund.refunded_at.beijing_datetime(),
        store_id: trade.store_id.clone().unwrap_or_default(),
        buyer_account: trade.buyer_logon_id.clone().unwrap_or_default(),
        total_amount: -amount,
        receipt_amount: -amount,
        refund_request_no: refund.out_request_no.clone(),
        service_fee: service_fee(refund.refund_amount),
        remark: refund.refund_reason.clone().unwrap_or_default(),
        ..TradeBillRow::default()
    }
}

/// The trade bill's rows of one app and period, by 完成时间 (payments of one instant before
/// its refunds).
fn rows(ledger: &AlipayLedger, app_id: &str, period: Period) -> Vec<TradeBillRow> {
    let mut rows: Vec<(Timestamp, TradeBillRow)> = Vec::new();
    for trade in ledger.trades(Some(app_id)) {
        if let Some(paid_at) = trade.paid_at.filter(|t| period.contains(*t)) {
            rows.push((paid_at, payment_row(trade, paid_at)));
        }
    }
    let by_trade_no: HashMap<&str, &Trade> = ledger
        .trades(Some(app_id))
        .map(|t| (t.trade_no.as_str(), t))
        .collect();
    for refund in ledger.refunds(Some(app_id)) {
        if period.contains(refund.refunded_at)
            && let Some(trade) = by_trade_no.get(refund.trade_no.as_str())
        {
            rows.push((refund.refunded_at, refund_row(refund, trade)));
        }
    }
    rows.sort_by_key(|(at, _)| *at);
    rows.into_iter().map(|(_, row)| row).collect()
}

/// Answers the download URL query of an authenticated app. `origin` is
/// `<scheme>://<host[:port]>` of the request, where the URL points.
pub fn handle(
    caller: &Caller,
    biz: Option<&str>,
    ledger: &AlipayLedger,
    links: &mut BillLinks,
    ids: &mut IdGenerator,
    now: Timestamp,
    origin: &str,
) -> Reply {
    let invalid = |why: &str| {
        let sub_code = SubCode::IsvInvalidArguments;
        let msg = reply::sub_msg(&sub_code, Some(caller.method));
        Reply::failure(caller, sub_code, msg).noting(why)
    };
    let request = match BillDownloadUrlQueryRequest::parse_opt(biz) {
        Ok(request) => request,
        Err(error) => return invalid(&error.to_string()),
    };
    let Some(bill_type) = BillType::from_wire(&request.bill_type) else {
        return invalid("unknown bill_type");
    };
    let Some(date) = BillDate::parse(&request.bill_date) else {
        return invalid("bill_date is neither yyyy-MM-dd nor yyyy-MM");
    };
    if bill_type == BillType::Signcustomer {
        return invalid("signcustomer (the account bill) is not modelled");
    }
    let period = match period(date, now) {
        Ok(period) => period,
        Err(Refusal::Invalid(why)) => return invalid(why),
        Err(Refusal::NotExist(why)) => {
            let sub_code = SubCode::IspBillNotExist;
            let msg = reply::sub_msg(&sub_code, Some(caller.method));
            return Reply::failure(caller, sub_code, msg).noting(why);
        }
    };
    let rows = rows(ledger, &caller.app_id, period);
    if rows.is_empty() {
        let sub_code = SubCode::IspBillNotExist;
        let msg = reply::sub_msg(&sub_code, Some(caller.method));
        return Reply::failure(caller, sub_code, msg).noting("no business in the period");
    }
    let pid = seller_pid(&caller.app_id);
    let account = format!("{pid}0156");
    let bill = TradeBill {
        account: account.clone(),
        start: beijing::chinese_datetime(period.start.0),
        end: beijing::chinese_datetime(period.end.0),
        rows,
        exported_at: beijing::chinese_datetime(now.0),
    };
    let biz_dates = date.compact();
    let zip = match write_zip(&pid, &biz_dates, &bill) {
        Ok(zip) => zip,
        Err(error) => {
            tracing::error!(%error, "could not zip an Alipay bill");
            let sub_code = SubCode::IspUnknowError;
            let msg = reply::sub_msg(&sub_code, Some(caller.method));
            return Reply::failure(caller, sub_code, msg);
        }
    };
    let (file_name, _, _) = file_names(&pid, &biz_dates);
    let token = format!("{}{}", ids.nonce(), ids.nonce());
    let file_id = ids.nonce();
    let url = format!(
        "{origin}{DOWNLOAD_PATH}?bizType={}&userId={account}&fileType=csv.zip&bizDates={biz_dates}&downloadFileName={file_name}&fileId={file_id}&timestamp={}&token={token}",
        bill_type.biz_type(),
        now.0,
    );
    links.issue(
        token,
        caller.app_id.clone(),
        file_name,
        Bytes::from(zip),
        now,
    );
    let node = BillDownloadUrlQueryResponse {
        status: ResponseStatus::success(),
        bill_download_url: Some(url),
        bill_file_code: None,
    };
    Reply::node(caller, &node, "SUCCESS")
}

/// `GET /downloadBillFile.resource`: the zip of a valid token, else the expiry page.
pub fn download(request: &Request<Incoming>, state: &AppState, info: &ConnInfo) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").as_bytes().to_vec();
    let params = parse_urlencoded(&query).unwrap_or_default();
    let now = state.clock.now();
    let found = if method == hyper::Method::GET {
        params
            .iter()
            .find(|(k, _)| k == "token")
            .and_then(|(_, token)| state.world().alipay_bills.get(token, now).cloned())
    } else {
        None
    };
    let (response, status, outcome, app_id, note) = match (&method, found) {
        (m, _) if *m != hyper::Method::GET => {
            let status = StatusCode::METHOD_NOT_ALLOWED;
            let page = http::nginx_page(status, None);
            let response = http::respond(status, "text/html", page.clone());
            (
                response,
                status,
                "HTTP 405".to_owned(),
                None,
                Bytes::from(page),
            )
        }
        (_, Some(link)) => {
            let note = Bytes::from(format!("<{} bytes: {}>", link.zip.len(), link.file_name));
            let mut response = http::respond(StatusCode::OK, "application/octet-stream", link.zip);
            if let Ok(value) =
                HeaderValue::from_str(&format!("attachment; filename=\"{}\"", link.file_name))
            {
                response.headers_mut().insert(CONTENT_DISPOSITION, value);
            }
            (
                response,
                StatusCode::OK,
                "SUCCESS".to_owned(),
                Some(link.app_id),
                note,
            )
        }
        (_, None) => {
            let page = format!(
                "<html><head><meta charset=\"utf-8\"><title>{EXPIRED_TEXT}</title></head><body>{EXPIRED_TEXT}</body></html>"
            );
            let mut response = http::respond(StatusCode::OK, "text/html", page.clone());
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html;charset=utf-8"),
            );
            (
                response,
                StatusCode::OK,
                "link expired or unknown".to_owned(),
                None,
                Bytes::from(page),
            )
        }
    };
    state.record(JournalEntry {
        seq: 0,
        at: now,
        method: method.to_string(),
        path,
        peer: info.peer.to_string(),
        merchant: app_id,
        request: params,
        request_truncated: false,
        request_bytes: 0,
        status: status.as_u16(),
        outcome: outcome.clone(),
        response: note,
        response_truncated: false,
        response_bytes: 0,
        // The download link is the credential: nothing is signed.
        signature: Signature::NotApplicable,
        rule: (outcome != "SUCCESS").then(|| "BillLinks: the link and its 30 s".to_owned()),
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    #[test]
    fn pids_are_2088_and_12_digits() {
        assert_eq!(seller_pid("2021000000000001"), "2088000000000001");
        let other = seller_pid("sandbox-app");
        assert_eq!(other.len(), 16);
        assert!(other.starts_with("2088"));
        assert!(other.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(other, seller_pid("sandbox-app"));
        assert_ne!(other, seller_pid("sandbox-app2"));
    }

    #[test]
    fn fees_round_half_up() {
        assert_eq!(service_fee(10_000), 60);
        assert_eq!(service_fee(250), 2); // 1.5 fen
        assert_eq!(service_fee(249), 1);
        assert_eq!(service_fee(0), 0);
    }

    #[test]
    fn periods_follow_t_plus_one_at_ten() {
        // 2023-11-15 06:13:20 Beijing.
        let t0 = Timestamp(1_700_000_000_000);
        let day = |d| BillDate::day(2023, 11, d).unwrap();
        assert!(matches!(period(day(15), t0), Err(Refusal::Invalid(_))));
        assert!(matches!(period(day(16), t0), Err(Refusal::Invalid(_))));
        assert!(matches!(period(day(14), t0), Err(Refusal::NotExist(_))));
        let p = period(day(13), t0).ok().unwrap();
        assert_eq!(p.start.beijing_datetime(), "2023-11-13 00:00:00");
        assert_eq!(p.end.beijing_datetime(), "2023-11-14 00:00:00");
        // 10:00 on the 15th: the 14th is ready.
        let ten = Timestamp(t0.0 + (3 * 3600 + 46 * 60 + 40) * 1000);
        assert_eq!(ten.beijing_datetime(), "2023-11-15 10:00:00");
        assert!(period(day(14), ten).is_ok());
        assert!(matches!(
            period(day(14), Timestamp(ten.0 - 1)),
            Err(Refusal::NotExist(_))
        ));
        // Months: the current one is refused, October exists from 4 November 10:00, 30
        // months back is the limit.
        let month = |y, m| BillDate::month(y, m).unwrap();
        assert!(matches!(
            period(month(2023, 11), t0),
            Err(Refusal::Invalid(_))
        ));
        let oct = period(month(2023, 10), t0).ok().unwrap();
        assert_eq!(oct.start.beijing_datetime(), "2023-10-01 00:00:00");
        assert_eq!(oct.end.beijing_datetime(), "2023-11-01 00:00:00");
        assert!(period(month(2021, 5), t0).is_ok());
        assert!(matches!(
            period(month(2021, 4), t0),
            Err(Refusal::Invalid(_))
        ));
        assert!(period(day(1).min(BillDate::day(2021, 5, 1).unwrap()), t0).is_ok());
        assert!(matches!(
            period(BillDate::day(2021, 4, 30).unwrap(), t0),
            Err(Refusal::Invalid(_))
        ));
        let nov3 = Timestamp(t0.0 - 12 * DAY_MS + 4 * HOUR_MS);
        assert_eq!(nov3.beijing_datetime(), "2023-11-03 10:13:20");
        assert!(matches!(
            period(month(2023, 10), nov3),
            Err(Refusal::NotExist(_))
        ));
        assert!(period(month(2023, 10), Timestamp(nov3.0 + DAY_MS)).is_ok());
    }

    #[test]
    fn header_dates_are_chinese() {
        assert_eq!(
            beijing::chinese_datetime(1_700_000_000_000),
            "2023年11月15日 06:13:20"
        );
    }
}
