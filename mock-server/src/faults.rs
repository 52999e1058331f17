//! Fault injection: the next N answers of an endpoint replaced by an error, so clients can
//! test their retry paths (SYSTEMERROR, BIZERR_NEED_RETRY, ACQ.SYSTEM_ERROR, HTTP 5xx,
//! slow answers).

use std::collections::{HashMap, VecDeque};

use hyper::StatusCode;
use paysandbox_protocol::alipay::{GatewayCode, SubCode};
use serde::{Deserialize, Serialize};

use crate::record::{RecordError, is_false};

/// An endpoint whose answers can be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Endpoint {
    /// `/secapi/pay/refund`.
    #[serde(rename = "wechat.refund")]
    WechatRefund,
    /// `/pay/refundquery`.
    #[serde(rename = "wechat.refundquery")]
    WechatRefundQuery,
    /// `/pay/orderquery`.
    #[serde(rename = "wechat.orderquery")]
    WechatOrderQuery,
    /// `/pay/unifiedorder` (and its sandbox path).
    #[serde(rename = "wechat.unifiedorder")]
    WechatUnifiedOrder,
    /// `/pay/closeorder` (and its sandbox path).
    #[serde(rename = "wechat.closeorder")]
    WechatCloseOrder,
    /// `/pay/downloadbill` (an `err_code` becomes its `return_msg`).
    #[serde(rename = "wechat.downloadbill")]
    WechatDownloadBill,
    /// `POST /v3/refund/domestic/refunds` (an `err_code` is a v3 code: `SYSTEM_ERROR`).
    #[serde(rename = "wechat.v3.refund")]
    WechatV3Refund,
    /// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
    #[serde(rename = "wechat.v3.refund_query")]
    WechatV3RefundQuery,
    /// `POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund`.
    #[serde(rename = "wechat.v3.abnormal_refund")]
    WechatV3AbnormalRefund,
    /// `POST /v3/pay/transactions/{jsapi,native,app,h5}`.
    #[serde(rename = "wechat.v3.prepay")]
    WechatV3Prepay,
    /// `GET /v3/pay/transactions/out-trade-no/{…}` and `…/id/{…}`.
    #[serde(rename = "wechat.v3.order_query")]
    WechatV3OrderQuery,
    /// `POST /v3/pay/transactions/out-trade-no/{…}/close`.
    #[serde(rename = "wechat.v3.close")]
    WechatV3Close,
    /// `GET /v3/certificates`.
    #[serde(rename = "wechat.v3.certificates")]
    WechatV3Certificates,
    /// `GET /v3/bill/tradebill`, `/v3/bill/fundflowbill` and `/v3/billdownload/file`.
    #[serde(rename = "wechat.v3.bill")]
    WechatV3Bill,
    /// `gateway.do` `alipay.trade.refund`.
    #[serde(rename = "alipay.trade.refund")]
    AlipayTradeRefund,
    /// `gateway.do` `alipay.trade.fastpay.refund.query`.
    #[serde(rename = "alipay.trade.fastpay.refund.query")]
    AlipayTradeFastpayRefundQuery,
    /// `gateway.do` `alipay.trade.query`.
    #[serde(rename = "alipay.trade.query")]
    AlipayTradeQuery,
    /// `gateway.do` `alipay.trade.close`.
    #[serde(rename = "alipay.trade.close")]
    AlipayTradeClose,
    /// `gateway.do` `alipay.trade.precreate`.
    #[serde(rename = "alipay.trade.precreate")]
    AlipayTradePrecreate,
    /// `gateway.do` `alipay.data.dataservice.bill.downloadurl.query`.
    #[serde(rename = "alipay.data.dataservice.bill.downloadurl.query")]
    AlipayBillDownloadUrlQuery,
}

impl Endpoint {
    /// An Alipay method, whose `err_code` is a sub_code (`ACQ.SYSTEM_ERROR`, `isp.unknow-error`).
    pub fn is_alipay(self) -> bool {
        matches!(
            self,
            Endpoint::AlipayTradeRefund
                | Endpoint::AlipayTradeFastpayRefundQuery
                | Endpoint::AlipayTradeQuery
                | Endpoint::AlipayTradeClose
                | Endpoint::AlipayTradePrecreate
                | Endpoint::AlipayBillDownloadUrlQuery
        )
    }
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Answer with this business error code, signed like a real one: a WeChat err_code
    /// (`SYSTEMERROR`) or an Alipay sub_code (`ACQ.SYSTEM_ERROR`; its prefix gives the code).
    #[serde(default)]
    pub err_code: Option<String>,
    /// Answer with this HTTP status and an empty body instead (a gateway failure).
    #[serde(default)]
    pub http_status: Option<u16>,
    /// Hold the answer this many milliseconds of wall time first (client timeouts).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Apply the request to the ledger first, then answer with the fault: the dangerous case
    /// where the refund happened but the client saw an error and must retry with the same
    /// out_refund_no (Alipay: out_request_no).
    #[serde(default)]
    pub after_apply: bool,
}

impl Fault {
    /// Splits a taken fault by when it strikes: `(before, after)` the ledger acts. A fault
    /// marked `after_apply` lets the request reach the ledger first (the refund happened, the
    /// client still sees the error and must retry with the same number).
    pub fn split(fault: Option<Fault>) -> (Option<Fault>, Option<Fault>) {
        match fault {
            Some(f) if f.after_apply => (None, Some(f)),
            other => (other, None),
        }
    }

    /// The bare HTTP status this fault answers with, if it has a valid one.
    pub fn status(&self) -> Option<StatusCode> {
        self.http_status.and_then(|s| StatusCode::from_u16(s).ok())
    }
}

/// Most copies of one fault a call may queue.
pub const MAX_FAULT_COUNT: usize = 10_000;

/// Whether `count` copies of `fault` may be queued for `endpoint`: it replaces the answer
/// somehow, its HTTP status is one, an Alipay error code is a sub_code, and the count is 1 to
/// [`MAX_FAULT_COUNT`]. The message says what is wrong.
pub fn check(endpoint: Endpoint, fault: &Fault, count: usize) -> Result<(), String> {
    if fault.err_code.is_none() && fault.http_status.is_none() && fault.delay_ms.is_none() {
        return Err("a fault needs err_code, http_status or delay_ms".into());
    }
    // A real front end answers a final status: 1xx would be an interim answer or a switch of
    // protocols, not a failure the client can see.
    if let Some(status) = fault.http_status
        && (!(200..=599).contains(&status) || StatusCode::from_u16(status).is_err())
    {
        return Err(format!("http_status {status}: must be 200 to 599"));
    }
    if endpoint.is_alipay()
        && let Some(code) = &fault.err_code
        && matches!(
            SubCode::from_wire(code).gateway_code(),
            GatewayCode::Other(_)
        )
    {
        return Err(format!(
            "{code} is not an Alipay sub_code (ACQ.*, isv.*, isp.*, aop.*)"
        ));
    }
    if count == 0 || count > MAX_FAULT_COUNT {
        return Err("count must be 1 to 10000".into());
    }
    Ok(())
}

/// Faults queued for one endpoint, as a scenario file writes them: `count` copies of one
/// fault in a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRecord {
    /// The endpoint whose answers are replaced.
    pub endpoint: Endpoint,
    /// How many answers in a row (default 1).
    #[serde(default = "one")]
    pub count: usize,
    /// A business error: WeChat err_code, Alipay sub_code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_code: Option<String>,
    /// An HTTP status with an empty body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Wall-clock milliseconds before the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Apply the request first, then answer with the fault.
    #[serde(default, skip_serializing_if = "is_false")]
    pub after_apply: bool,
}

fn one() -> usize {
    1
}

/// Queued faults per endpoint.
#[derive(Debug, Default)]
pub struct Faults {
    queued: HashMap<Endpoint, VecDeque<Fault>>,
}

impl Faults {
    /// Queues `count` copies of `fault` for `endpoint`.
    pub fn push(&mut self, endpoint: Endpoint, fault: Fault, count: usize) {
        let queue = self.queued.entry(endpoint).or_default();
        queue.extend(std::iter::repeat_n(fault, count));
    }

    /// Takes the next fault for `endpoint`, if any.
    pub fn take(&mut self, endpoint: Endpoint) -> Option<Fault> {
        self.queued.get_mut(&endpoint)?.pop_front()
    }

    /// Faults still queued, per endpoint.
    pub fn pending(&self) -> HashMap<Endpoint, usize> {
        self.queued
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(e, q)| (*e, q.len()))
            .collect()
    }

    /// Drops every queued fault.
    pub fn clear(&mut self) {
        self.queued.clear();
    }

    /// The queues as records: by endpoint name, each queue in order, runs of the same fault
    /// written once with their count.
    pub fn records(&self) -> Vec<FaultRecord> {
        let mut endpoints: Vec<(&Endpoint, &VecDeque<Fault>)> = self.queued.iter().collect();
        endpoints.sort_by_key(|(endpoint, _)| endpoint_name(**endpoint));
        let mut records: Vec<FaultRecord> = Vec::new();
        for (endpoint, queue) in endpoints {
            for fault in queue {
                if let Some(last) = records.last_mut()
                    && last.endpoint == *endpoint
                    && fault_of(last) == *fault
                {
                    last.count = last.count.saturating_add(1);
                    continue;
                }
                records.push(FaultRecord {
                    endpoint: *endpoint,
                    count: 1,
                    err_code: fault.err_code.clone(),
                    http_status: fault.http_status,
                    delay_ms: fault.delay_ms,
                    after_apply: fault.after_apply,
                });
            }
        }
        records
    }

    /// The queues `records` make, each checked as `POST /admin/faults` checks one (a run
    /// longer than that endpoint's count may be split over several records).
    ///
    /// # Errors
    /// The first record that could not be queued.
    pub fn restore(records: &[FaultRecord]) -> Result<Faults, RecordError> {
        let mut faults = Faults::default();
        for (i, record) in records.iter().enumerate() {
            let fault = fault_of(record);
            check(record.endpoint, &fault, record.count).map_err(|message| {
                RecordError::at(
                    format!("[{i}] (endpoint {})", endpoint_name(record.endpoint)),
                    message,
                )
            })?;
            faults.push(record.endpoint, fault, record.count);
        }
        Ok(faults)
    }
}

fn fault_of(record: &FaultRecord) -> Fault {
    Fault {
        err_code: record.err_code.clone(),
        http_status: record.http_status,
        delay_ms: record.delay_ms,
        after_apply: record.after_apply,
    }
}

/// The wire name of an endpoint (`wechat.refund`).
fn endpoint_name(endpoint: Endpoint) -> String {
    serde_json::to_value(endpoint)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
