//! `POST /pay/refundquery` (spec §4): one page ([`Client::refund_query`]), every refund of
//! an order across its pages ([`Client::refunds`], a [`RefundStream`]), and waiting for a
//! refund to settle ([`Client::wait_for_refund`]).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use paysandbox_protocol::wechat::{
    self as proto, FieldError, OrderId, Params, RefundQueryResponse, RefundQuerySelector,
    RefundRecord, RefundStatus, fields,
};

use super::client::{Client, Endpoint};
use super::error::Error;

/// Which refunds to query: one refund (by `refund_id` or `out_refund_no`) or the refunds of
/// an order (by `transaction_id` or `out_trade_no`, ten per page from `offset`).
///
/// ```
/// use paysandbox_sdk::wechat::RefundQuery;
///
/// let one = RefundQuery::by_out_refund_no("refund-0001-a");
/// let third_page = RefundQuery::by_out_trade_no("demo-order-0001").with_offset(20);
/// assert!(!one.is_paged() && third_page.is_paged());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefundQuery {
    selector: RefundQuerySelector,
    offset: Option<u32>,
}

impl RefundQuery {
    /// One refund, by WeChat's refund id.
    pub fn by_refund_id(id: impl Into<String>) -> Self {
        Self::new(RefundQuerySelector::RefundId(id.into()))
    }

    /// One refund, by the merchant's refund number.
    pub fn by_out_refund_no(no: impl Into<String>) -> Self {
        Self::new(RefundQuerySelector::OutRefundNo(no.into()))
    }

    /// The refunds of an order, by WeChat's order id.
    pub fn by_transaction_id(id: impl Into<String>) -> Self {
        Self::new(RefundQuerySelector::TransactionId(id.into()))
    }

    /// The refunds of an order, by the merchant's order number.
    pub fn by_out_trade_no(no: impl Into<String>) -> Self {
        Self::new(RefundQuerySelector::OutTradeNo(no.into()))
    }

    /// Any selector.
    pub fn new(selector: RefundQuerySelector) -> Self {
        Self {
            selector,
            offset: None,
        }
    }

    /// Starts at record `offset` of the order's refunds (0-based; paged queries only).
    #[must_use]
    pub fn with_offset(mut self, offset: u32) -> Self {
        self.offset = Some(offset);
        self
    }

    /// The selector.
    pub fn selector(&self) -> &RefundQuerySelector {
        &self.selector
    }

    /// The offset, if set.
    pub fn offset(&self) -> Option<u32> {
        self.offset
    }

    /// Whether this asks for an order's refunds (paged) rather than one refund.
    pub fn is_paged(&self) -> bool {
        matches!(
            self.selector,
            RefundQuerySelector::TransactionId(_) | RefundQuerySelector::OutTradeNo(_)
        )
    }

    /// Checks the id's format.
    pub fn validate(&self) -> Result<(), FieldError> {
        match &self.selector {
            RefundQuerySelector::RefundId(id) => fields::refund_id(id),
            RefundQuerySelector::OutRefundNo(no) => fields::out_refund_no(no),
            RefundQuerySelector::TransactionId(id) => fields::transaction_id(id),
            RefundQuerySelector::OutTradeNo(no) => fields::out_trade_no(no),
        }
    }

    fn wire_params(&self, client: &Client, nonce_str: String) -> Result<Params, FieldError> {
        let mut wire = proto::RefundQueryRequest {
            appid: client.appid().to_owned(),
            mch_id: client.mch_id().to_owned(),
            nonce_str,
            sign_type: client.sign_type_field(),
            refund_id: None,
            out_refund_no: None,
            transaction_id: None,
            out_trade_no: None,
            offset: self.offset,
        };
        match &self.selector {
            RefundQuerySelector::RefundId(id) => wire.refund_id = Some(id.clone()),
            RefundQuerySelector::OutRefundNo(no) => wire.out_refund_no = Some(no.clone()),
            RefundQuerySelector::TransactionId(id) => wire.transaction_id = Some(id.clone()),
            RefundQuerySelector::OutTradeNo(no) => wire.out_trade_no = Some(no.clone()),
        }
        wire.validate()?;
        Ok(wire.to_params())
    }
}

impl From<OrderId> for RefundQuery {
    fn from(order: OrderId) -> Self {
        match order {
            OrderId::TransactionId(id) => Self::by_transaction_id(id),
            OrderId::OutTradeNo(no) => Self::by_out_trade_no(no),
        }
    }
}

/// How [`Client::wait_for_refund`] polls: until a deadline, at intervals that start at
/// `poll_interval` and double up to `max_poll_interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    timeout: Duration,
    poll_interval: Duration,
    max_poll_interval: Duration,
}

impl Default for WaitOptions {
    /// 30 minutes (balance refunds land within about 20, spec §3.4), polling from 5 s to
    /// 60 s.
    fn default() -> Self {
        Self::new(Duration::from_secs(30 * 60))
    }
}

impl WaitOptions {
    /// Waits at most `timeout`, polling from 5 s to 60 s.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            poll_interval: Duration::from_secs(5),
            max_poll_interval: Duration::from_secs(60),
        }
    }

    /// The first interval between two queries.
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The longest interval between two queries.
    #[must_use]
    pub fn with_max_poll_interval(mut self, interval: Duration) -> Self {
        self.max_poll_interval = interval;
        self
    }

    /// The deadline, from the start of the wait.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The first interval between two queries.
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// The longest interval between two queries.
    pub fn max_poll_interval(&self) -> Duration {
        self.max_poll_interval
    }
}

impl Client {
    /// Queries refunds: one refund, or one page (up to ten) of an order's refunds with
    /// `total_refund_count`. The `$n` / `$n_$m` fields come as
    /// [`RefundQueryResponse::refunds`] and each record's `coupons`.
    pub async fn refund_query(&self, query: &RefundQuery) -> Result<RefundQueryResponse, Error> {
        query.validate()?;
        let params = self
            .call(Endpoint::RefundQuery, |nonce| {
                query.wire_params(self, nonce)
            })
            .await?;
        RefundQueryResponse::from_params(&params)
            .map_err(|e| Error::decode(format!("refund query response: {e}")))
    }

    /// Every refund the query selects, walking the `offset` pages of an order's refunds (ten
    /// per page) from the query's offset on. A query by refund yields that one refund.
    ///
    /// The stream is lazy: a page is fetched when the previous one is consumed. It ends after
    /// the first error.
    pub fn refunds(&self, query: RefundQuery) -> RefundStream {
        RefundStream {
            client: self.clone(),
            query,
            buffered: VecDeque::new(),
            pending: None,
            done: false,
            pages: 0,
        }
    }

    /// Every refund the query selects, all pages collected ([`Client::refunds`]).
    pub async fn all_refunds(&self, query: RefundQuery) -> Result<Vec<RefundRecord>, Error> {
        self.refunds(query).try_collect().await
    }

    /// Polls the refund `out_refund_no` until it leaves `PROCESSING` (to `SUCCESS`,
    /// `REFUNDCLOSE` or `CHANGE`, all returned as `Ok`: check
    /// [`RefundRecord::refund_status`]) or the deadline passes ([`Error::Timeout`]).
    ///
    /// Time is read and waited through the client's [`Clock`](crate::clock::Clock). Failed
    /// queries with a retryable error are polled through; other errors end the wait.
    pub async fn wait_for_refund(
        &self,
        out_refund_no: &str,
        options: WaitOptions,
    ) -> Result<RefundRecord, Error> {
        let query = RefundQuery::by_out_refund_no(out_refund_no);
        query.validate()?;
        let clock = self.clock();
        let start = clock.now();
        let mut interval = options.poll_interval.max(Duration::from_millis(1));
        let mut last_status = None;
        loop {
            match self.refund_query(&query).await {
                Ok(page) => {
                    let record = page
                        .refunds
                        .into_iter()
                        .find(|r| r.out_refund_no == out_refund_no)
                        .ok_or_else(|| {
                            Error::decode(format!("the response does not list {out_refund_no:?}"))
                        })?;
                    if record.refund_status != RefundStatus::Processing {
                        return Ok(record);
                    }
                    last_status = Some(record.refund_status);
                }
                Err(error) if error.is_retryable() => {
                    tracing::debug!(%error, "refund query failed; polling on");
                }
                Err(error) => return Err(error),
            }
            let waited = clock.now().saturating_duration_since(start);
            let Some(left) = options.timeout.checked_sub(waited).filter(|l| !l.is_zero()) else {
                return Err(Error::Timeout {
                    waited,
                    last_status,
                });
            };
            clock.sleep(interval.min(left)).await;
            interval = interval
                .saturating_mul(2)
                .min(options.max_poll_interval.max(interval));
        }
    }
}

type PageFuture = Pin<Box<dyn Future<Output = Result<RefundQueryResponse, Error>> + Send>>;

/// The refunds selected by a [`RefundQuery`], fetched page by page: a
/// [`Stream`](futures_core::Stream) of `Result<RefundRecord, Error>`, also usable without
/// any stream utilities through [`RefundStream::next`].
///
/// ```no_run
/// # async fn f(client: paysandbox_sdk::wechat::Client) -> Result<(), paysandbox_sdk::wechat::Error> {
/// use paysandbox_sdk::wechat::RefundQuery;
///
/// let mut refunds = client.refunds(RefundQuery::by_out_trade_no("demo-order-0002"));
/// while let Some(refund) = refunds.next().await {
///     let refund = refund?;
///     println!("{} {} fen {}", refund.out_refund_no, refund.refund_fee, refund.refund_status);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a stream does nothing unless polled"]
pub struct RefundStream {
    client: Client,
    query: RefundQuery,
    buffered: VecDeque<RefundRecord>,
    pending: Option<PageFuture>,
    done: bool,
    pages: u32,
}

impl std::fmt::Debug for RefundStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefundStream")
            .field("query", &self.query)
            .field("buffered", &self.buffered.len())
            .field("done", &self.done)
            .field("pages", &self.pages)
            .finish_non_exhaustive()
    }
}

impl RefundStream {
    /// The next refund, `None` at the end.
    pub async fn next(&mut self) -> Option<Result<RefundRecord, Error>> {
        std::future::poll_fn(|cx| self.poll_record(cx)).await
    }

    /// Collects every remaining refund, or the first error.
    pub async fn try_collect(mut self) -> Result<Vec<RefundRecord>, Error> {
        let mut all = Vec::new();
        while let Some(record) = self.next().await {
            all.push(record?);
        }
        Ok(all)
    }

    /// Pages fetched so far.
    pub fn pages_fetched(&self) -> u32 {
        self.pages
    }

    fn poll_record(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<RefundRecord, Error>>> {
        loop {
            if let Some(record) = self.buffered.pop_front() {
                return Poll::Ready(Some(Ok(record)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            let pending = self.pending.get_or_insert_with(|| {
                let client = self.client.clone();
                let query = self.query.clone();
                Box::pin(async move { client.refund_query(&query).await })
            });
            let result = match pending.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(result) => result,
            };
            self.pending = None;
            self.pages += 1;
            match result.and_then(|page| self.absorb(page)) {
                Ok(()) => {}
                Err(error) => {
                    self.done = true;
                    self.buffered.clear();
                    return Poll::Ready(Some(Err(error)));
                }
            }
        }
    }

    /// Queues a page's records and moves the offset on, or ends the stream.
    fn absorb(&mut self, page: RefundQueryResponse) -> Result<(), Error> {
        let got = page.refunds.len();
        let offset = self.query.offset.unwrap_or(0);
        self.buffered.extend(page.refunds);
        let total = match (self.query.is_paged(), page.total_refund_count) {
            (true, Some(total)) => total,
            // One refund, or a server that does not page: this was everything.
            _ => {
                self.done = true;
                return Ok(());
            }
        };
        let next = u32::try_from(got)
            .ok()
            .and_then(|got| offset.checked_add(got))
            .ok_or_else(|| Error::decode("refund_count overflows the offset"))?;
        if next >= total {
            self.done = true;
        } else if got == 0 {
            return Err(Error::decode(format!(
                "an empty page at offset {offset} of {total} refunds"
            )));
        } else {
            self.query.offset = Some(next);
        }
        Ok(())
    }
}

impl Stream for RefundStream {
    type Item = Result<RefundRecord, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_record(cx)
    }
}
