//! `POST /secapi/pay/refund` (spec §3): [`RefundRequest`], its builder, and
//! [`Client::refund`].

use paysandbox_protocol::wechat::{
    self as proto, FieldError, OrderId, Params, RefundAccount, RefundResponse, fields,
};

use super::client::{Client, Endpoint};
use super::error::Error;

/// A refund to apply for: which order, the merchant's refund number, and the amounts.
///
/// Built with [`RefundRequest::builder`], which checks every field's format. The refund
/// number (`out_refund_no`) is the idempotency key: the platform refunds at most once per
/// number, so a retry must reuse it with the same amounts, and a new refund needs a new
/// number.
///
/// ```
/// use paysandbox_sdk::wechat::RefundRequest;
///
/// let refund = RefundRequest::builder()
///     .out_trade_no("demo-order-0001")
///     .out_refund_no("refund-0001-a")
///     .total_fee(1000) // the order's amount, fen
///     .refund_fee(300) // this refund, fen
///     .refund_desc("damaged item")
///     .build()?;
/// assert_eq!(refund.refund_fee(), 300);
///
/// // Formats are checked before anything is sent.
/// assert!(RefundRequest::builder().out_trade_no("no spaces!").out_refund_no("r1")
///     .total_fee(1).refund_fee(1).build().is_err());
/// # Ok::<(), paysandbox_sdk::wechat::FieldError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    transaction_id: Option<String>,
    out_trade_no: Option<String>,
    out_refund_no: String,
    total_fee: u64,
    refund_fee: u64,
    refund_fee_type: Option<String>,
    refund_desc: Option<String>,
    refund_account: Option<RefundAccount>,
    notify_url: Option<String>,
}

impl RefundRequest {
    /// Starts a refund request.
    pub fn builder() -> RefundRequestBuilder {
        RefundRequestBuilder::default()
    }

    /// The order, `transaction_id` first when both ids were given (the platform's priority).
    pub fn order(&self) -> OrderId {
        match (&self.transaction_id, &self.out_trade_no) {
            (Some(id), _) => OrderId::TransactionId(id.clone()),
            (None, Some(no)) => OrderId::OutTradeNo(no.clone()),
            // `build` requires one of them.
            (None, None) => OrderId::OutTradeNo(String::new()),
        }
    }

    /// `transaction_id`, if given.
    pub fn transaction_id(&self) -> Option<&str> {
        self.transaction_id.as_deref()
    }

    /// `out_trade_no`, if given.
    pub fn out_trade_no(&self) -> Option<&str> {
        self.out_trade_no.as_deref()
    }

    /// The merchant's refund number.
    pub fn out_refund_no(&self) -> &str {
        &self.out_refund_no
    }

    /// The order's total, fen.
    pub fn total_fee(&self) -> u64 {
        self.total_fee
    }

    /// This refund's amount, fen.
    pub fn refund_fee(&self) -> u64 {
        self.refund_fee
    }

    /// `refund_fee_type`, if given (CNY by default on the platform).
    pub fn refund_fee_type(&self) -> Option<&str> {
        self.refund_fee_type.as_deref()
    }

    /// `refund_desc`, if given.
    pub fn refund_desc(&self) -> Option<&str> {
        self.refund_desc.as_deref()
    }

    /// `refund_account`, if given.
    pub fn refund_account(&self) -> Option<RefundAccount> {
        self.refund_account
    }

    /// `notify_url`, if given.
    pub fn notify_url(&self) -> Option<&str> {
        self.notify_url.as_deref()
    }

    /// Checks every field's format rule (§3.1), and `0 < refund_fee <= total_fee`.
    pub fn validate(&self) -> Result<(), FieldError> {
        let opt = |v: &Option<String>, check: fn(&str) -> Result<(), FieldError>| match v {
            Some(v) => check(v),
            None => Ok(()),
        };
        if self.transaction_id.is_none() && self.out_trade_no.is_none() {
            return Err(FieldError::missing("out_trade_no"));
        }
        opt(&self.transaction_id, fields::transaction_id)?;
        opt(&self.out_trade_no, fields::out_trade_no)?;
        fields::out_refund_no(&self.out_refund_no)?;
        positive("total_fee", self.total_fee)?;
        positive("refund_fee", self.refund_fee)?;
        if self.refund_fee > self.total_fee {
            return Err(FieldError::invalid(
                "refund_fee",
                "must not exceed total_fee",
            ));
        }
        opt(&self.refund_fee_type, fields::refund_fee_type)?;
        opt(&self.refund_desc, fields::refund_desc)?;
        opt(&self.notify_url, fields::notify_url)
    }

    /// The wire request for `client` with this nonce (unsigned).
    pub(crate) fn to_wire(&self, client: &Client, nonce_str: String) -> proto::RefundRequest {
        proto::RefundRequest {
            appid: client.appid().to_owned(),
            mch_id: client.mch_id().to_owned(),
            nonce_str,
            sign_type: client.sign_type_field(),
            transaction_id: self.transaction_id.clone(),
            out_trade_no: self.out_trade_no.clone(),
            out_refund_no: self.out_refund_no.clone(),
            total_fee: self.total_fee,
            refund_fee: self.refund_fee,
            refund_fee_type: self.refund_fee_type.clone(),
            refund_desc: self.refund_desc.clone(),
            refund_account: self.refund_account,
            notify_url: self.notify_url.clone(),
        }
    }

    pub(crate) fn wire_params(
        &self,
        client: &Client,
        nonce_str: String,
    ) -> Result<Params, FieldError> {
        let wire = self.to_wire(client, nonce_str);
        wire.validate()?;
        Ok(wire.to_params())
    }
}

fn positive(field: &'static str, n: u64) -> Result<(), FieldError> {
    if n == 0 {
        Err(FieldError::invalid(field, "must be greater than 0"))
    } else if i64::try_from(n).is_err() {
        Err(FieldError::invalid(field, "too large"))
    } else {
        Ok(())
    }
}

/// Builds a [`RefundRequest`]. Required: an order id (`out_trade_no` or `transaction_id`),
/// `out_refund_no`, `total_fee`, `refund_fee`.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RefundRequestBuilder {
    transaction_id: Option<String>,
    out_trade_no: Option<String>,
    out_refund_no: Option<String>,
    total_fee: Option<u64>,
    refund_fee: Option<u64>,
    refund_fee_type: Option<String>,
    refund_desc: Option<String>,
    refund_account: Option<RefundAccount>,
    notify_url: Option<String>,
}

/// An empty string is the same as not set (the platform treats empty fields as absent).
fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl RefundRequestBuilder {
    /// The order by WeChat's id (28 digits). Wins over `out_trade_no` if both are given.
    pub fn transaction_id(mut self, id: impl Into<String>) -> Self {
        self.transaction_id = non_empty(id.into());
        self
    }

    /// The order by the merchant's number: 6 to 32 of `0-9 a-z A-Z _ - | *`.
    pub fn out_trade_no(mut self, no: impl Into<String>) -> Self {
        self.out_trade_no = non_empty(no.into());
        self
    }

    /// The order, by either id.
    pub fn order(self, order: OrderId) -> Self {
        match order {
            OrderId::TransactionId(id) => self.transaction_id(id),
            OrderId::OutTradeNo(no) => self.out_trade_no(no),
        }
    }

    /// The merchant's refund number, the idempotency key: 1 to 64 of
    /// `0-9 a-z A-Z _ - | * @`.
    pub fn out_refund_no(mut self, no: impl Into<String>) -> Self {
        self.out_refund_no = Some(no.into());
        self
    }

    /// The order's total amount in fen (the original amount, also on later partial
    /// refunds).
    pub fn total_fee(mut self, fen: u64) -> Self {
        self.total_fee = Some(fen);
        self
    }

    /// This refund's amount in fen: more than 0, at most `total_fee`.
    pub fn refund_fee(mut self, fen: u64) -> Self {
        self.refund_fee = Some(fen);
        self
    }

    /// The refund currency (ISO 4217); must be the payment's. The platform's default is CNY.
    pub fn refund_fee_type(mut self, currency: impl Into<String>) -> Self {
        self.refund_fee_type = non_empty(currency.into());
        self
    }

    /// A reason shown to the payer (at most 80 characters).
    pub fn refund_desc(mut self, desc: impl Into<String>) -> Self {
        self.refund_desc = non_empty(desc.into());
        self
    }

    /// Which funds pay the refund (old fund-flow merchants only).
    pub fn refund_account(mut self, account: RefundAccount) -> Self {
        self.refund_account = Some(account);
        self
    }

    /// Where the platform posts the refund result (overrides the merchant platform's
    /// setting; no query string).
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = non_empty(url.into());
        self
    }

    /// Checks every field and builds the request.
    pub fn build(self) -> Result<RefundRequest, FieldError> {
        let request = RefundRequest {
            transaction_id: self.transaction_id,
            out_trade_no: self.out_trade_no,
            out_refund_no: self
                .out_refund_no
                .ok_or(FieldError::missing("out_refund_no"))?,
            total_fee: self.total_fee.ok_or(FieldError::missing("total_fee"))?,
            refund_fee: self.refund_fee.ok_or(FieldError::missing("refund_fee"))?,
            refund_fee_type: self.refund_fee_type,
            refund_desc: self.refund_desc,
            refund_account: self.refund_account,
            notify_url: self.notify_url,
        };
        request.validate()?;
        Ok(request)
    }
}

impl Client {
    /// Applies for a refund (`/secapi/pay/refund`, mutual TLS: the client needs the
    /// merchant certificate).
    ///
    /// Success means the platform **accepted** the refund; it is usually `PROCESSING` then.
    /// Follow it with [`Client::wait_for_refund`] or [`Client::refund_query`].
    ///
    /// With a [`RetryPolicy`](crate::retry::RetryPolicy), retryable failures are retried
    /// with the same request (same `out_refund_no` and amounts, fresh nonce): the platform
    /// refunds once. If it fails with [`Error::is_outcome_unknown`], call it again with the
    /// same request, or query the refund number, before concluding anything.
    pub async fn refund(&self, request: &RefundRequest) -> Result<RefundResponse, Error> {
        request.validate()?;
        let params = self
            .call(Endpoint::Refund, |nonce| request.wire_params(self, nonce))
            .await?;
        let response = RefundResponse::from_params(&params)
            .map_err(|e| Error::decode(format!("refund response: {e}")))?;
        if response.out_refund_no != request.out_refund_no
            || response.refund_fee != request.refund_fee
        {
            return Err(Error::decode(format!(
                "the response is for refund {:?} of {} fen, not {:?} of {} fen",
                response.out_refund_no,
                response.refund_fee,
                request.out_refund_no,
                request.refund_fee
            )));
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use paysandbox_protocol::wechat::{FieldErrorKind, SignType, sign, xml};

    use super::*;

    fn builder() -> RefundRequestBuilder {
        RefundRequest::builder()
            .out_trade_no("1415757673")
            .out_refund_no("1415701182")
            .total_fee(1)
            .refund_fee(1)
    }

    #[test]
    fn builder_requires_and_checks_fields() {
        assert!(builder().build().is_ok());
        let field = |b: RefundRequestBuilder| b.build().unwrap_err().field;
        assert_eq!(
            field(
                RefundRequest::builder()
                    .out_refund_no("r")
                    .total_fee(1)
                    .refund_fee(1)
            ),
            "out_trade_no"
        );
        // Orders made under the older rules (short, with `@`) stay refundable.
        assert!(builder().out_trade_no("12345").build().is_ok());
        assert!(builder().out_trade_no("a@bcdefg").build().is_ok());
        assert_eq!(field(builder().out_trade_no("a bcdefg")), "out_trade_no");
        assert_eq!(
            field(builder().out_trade_no("x".repeat(33))),
            "out_trade_no"
        );
        assert_eq!(field(builder().transaction_id("42x")), "transaction_id");
        assert_eq!(field(builder().out_refund_no("")), "out_refund_no");
        assert_eq!(field(builder().out_refund_no("a.b")), "out_refund_no");
        assert_eq!(
            field(builder().out_refund_no("9".repeat(65))),
            "out_refund_no"
        );
        assert!(builder().out_refund_no("r@1|*-_").build().is_ok());
        assert_eq!(field(builder().total_fee(0)), "total_fee");
        assert_eq!(field(builder().refund_fee(0)), "refund_fee");
        assert_eq!(field(builder().total_fee(10).refund_fee(11)), "refund_fee");
        assert_eq!(field(builder().refund_fee_type("cny")), "refund_fee_type");
        assert_eq!(field(builder().refund_desc("退".repeat(81))), "refund_desc");
        assert_eq!(
            field(builder().notify_url("https://e.com/n?a=1")),
            "notify_url"
        );
        let missing = RefundRequest::builder().out_trade_no("1415757673").build();
        assert_eq!(missing.unwrap_err(), FieldError::missing("out_refund_no"));
        assert_eq!(
            builder().total_fee(0).build().unwrap_err().kind,
            FieldErrorKind::Invalid("must be greater than 0")
        );
    }

    #[test]
    fn transaction_id_wins() {
        let r = builder()
            .transaction_id("4006252001201705123297353072")
            .build()
            .unwrap();
        assert_eq!(
            r.order(),
            OrderId::TransactionId("4006252001201705123297353072".into())
        );
        assert_eq!(r.out_trade_no(), Some("1415757673"));
    }

    /// The spec's §1.5 refund vectors (fields of the official 9_4 example, key of the 4_3
    /// example), also in `protocol/tests/data/known_answers.json`: what the SDK sends is
    /// exactly the signed request of the vector.
    #[test]
    fn refund_request_matches_the_known_answer_vectors() {
        const KEY: &str = "192006250b4c09247ec02edce69f6a2d";
        const NONCE: &str = "6cefdb308e1e2e8aabd48cf79e546a02";
        let request = builder()
            .transaction_id("4006252001201705123297353072")
            .build()
            .unwrap();
        for (sign_type, expected_sign) in [
            (SignType::Md5, "69082EA5CFC65C1CFB55F3EC1FDCFFE5"),
            (
                SignType::HmacSha256,
                "12F113D1388804A3482ECE011D9CC4E6D068B61E47984455103AA969C25C65C3",
            ),
        ] {
            let client = Client::builder("10000100", "wx2421b1c4370ec43b", KEY)
                .sign_type(sign_type)
                .build()
                .unwrap();
            let params = request.wire_params(&client, NONCE.into()).unwrap();
            let mut expected: Params = [
                ("appid", "wx2421b1c4370ec43b"),
                ("mch_id", "10000100"),
                ("nonce_str", NONCE),
                ("out_refund_no", "1415701182"),
                ("out_trade_no", "1415757673"),
                ("refund_fee", "1"),
                ("total_fee", "1"),
                ("transaction_id", "4006252001201705123297353072"),
            ]
            .into_iter()
            .collect();
            if sign_type == SignType::HmacSha256 {
                expected.insert_text("sign_type", "HMAC-SHA256");
            }
            assert!(params.same_fields(&expected), "{sign_type}: {params:?}");
            // ... which are the fields of the shared vectors file.
            let shared = super::super::vectors::find(match sign_type {
                SignType::Md5 => "refund_9_4_md5",
                SignType::HmacSha256 => "refund_9_4_hmac_with_sign_type",
            });
            assert!(params.same_fields(&shared.params), "{sign_type}");
            assert_eq!(shared.key, KEY);
            assert_eq!(shared.expected, [(sign_type, expected_sign.to_owned())]);

            let body = client.encode(params);
            let sent = xml::decode(body.as_bytes()).unwrap();
            assert_eq!(sent.get("sign"), Some(expected_sign), "{sign_type}");
            assert!(sign::verify(&sent, KEY, sign_type));
            // Amounts go bare, strings in CDATA, like the platform's own examples.
            assert!(body.contains("<total_fee>1</total_fee>"), "{body}");
            assert!(
                body.contains("<out_refund_no><![CDATA[1415701182]]></out_refund_no>"),
                "{body}"
            );
        }
    }
}
