//! Fault injection: the next N answers of an endpoint replaced by an error, so clients can
//! test their retry paths (SYSTEMERROR, BIZERR_NEED_RETRY, ACQ.SYSTEM_ERROR, HTTP 5xx,
//! slow answers).

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

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
}
