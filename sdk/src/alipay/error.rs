//! [`Error`]: everything an Alipay call can fail with, and [`FieldError`] for requests that
//! are refused before they are sent.

use std::fmt;

use paysandbox_protocol::alipay::{GatewayCode, ResponseStatus, SignType, SubCode};

use crate::error::{ConfigError, TransportError};
use crate::retry::{RetryAdvice, Retryable};

/// A failed Alipay call.
///
/// Each variant says where the failure happened: before sending ([`Error::InvalidRequest`],
/// [`Error::Config`]), on the way ([`Error::Transport`], [`Error::Http`]), at the gateway or
/// in the business layer ([`Error::Gateway`]), or in an answer that cannot be trusted or read
/// ([`Error::Signature`], [`Error::Decode`]).
///
/// # Gateway and business errors share one variant
/// Every answer whose `code` is not `10000` is [`Error::Gateway`], carrying both levels:
/// `code` says which layer refused and `sub_code` says why.
///
/// | `code` | layer | examples |
/// |---|---|---|
/// | `40004` | business: the API ran and refused ([`Error::is_business`]) | `ACQ.TRADE_NOT_EXIST`, `ACQ.SYSTEM_ERROR` |
/// | `20000` | the service failed: outcome unknown | `isp.unknow-error` |
/// | `20001`, `40001`-`40003`, `40005`, `40006` | the gateway's own checks, before the API ran | `isv.invalid-signature`, `isv.invalid-app-id` |
///
/// One variant rather than two because a sub_code determines its code (`ACQ.*` is always
/// 40004, `isv.missing-*` 40001, ...): matching on the sub_code alone is enough and cannot
/// pick the wrong variant.
///
/// ```no_run
/// # async fn f(client: paysandbox_sdk::alipay::Client, request: paysandbox_sdk::alipay::RefundRequest) {
/// use paysandbox_sdk::alipay::{Error, SubCode};
///
/// match client.trade_refund(&request).await {
///     Ok(refund) => println!("refunded, {:?} in all", refund.refund_fee),
///     Err(Error::Gateway { sub_code: SubCode::AcqTradeHasClose, .. }) => println!("already closed"),
///     Err(e) if e.is_outcome_unknown() => println!("may have been made: send it again ({e})"),
///     Err(e) => println!("refused: {e}"),
/// }
/// # }
/// ```
///
/// Two questions matter after a failed refund:
/// - [`Error::is_retryable`]: does the platform allow sending the same request again?
/// - [`Error::is_outcome_unknown`]: may the refund have been made anyway? If so, send the
///   same request again (same `out_request_no`, same amount) or query it until you know;
///   never refund the same intent under a new `out_request_no`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No HTTP response: see [`TransportError::maybe_delivered`]. Retryable when it is a
    /// timeout.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// An HTTP status other than 200. The gateway answers every outcome, errors included,
    /// with 200; other statuses come from something in front of it (a proxy, a load
    /// balancer). 5xx may have been processed ([`Error::is_outcome_unknown`]).
    #[error("HTTP {status}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The start of the body (at most 512 bytes, lossily decoded), for diagnostics.
        body: String,
    },
    /// The gateway answered a `code` other than `10000` (see the table above). Unknown codes
    /// and sub_codes are kept verbatim ([`GatewayCode::Other`], [`SubCode::Other`]); an
    /// answer without a sub_code has `SubCode::Other("")`.
    #[error("Alipay {code} {msg}: {sub_code} {sub_msg}")]
    Gateway {
        /// `code`: `40004` for business failures, else a gateway-level code.
        code: GatewayCode,
        /// `msg`, the code's English text (`Business Failed`, `Invalid Arguments`, ...).
        msg: String,
        /// `sub_code`, e.g. `ACQ.TRADE_NOT_EXIST`, `isv.invalid-signature`.
        sub_code: SubCode,
        /// `sub_msg`, the platform's (Chinese) explanation. For `isv.invalid-signature` it
        /// shows the string the gateway verified, to compare with what was signed.
        sub_msg: String,
    },
    /// An answer that must be signed had no valid signature. Its content cannot be trusted:
    /// it may have been altered, or the configured Alipay public key is wrong. For a refund
    /// the outcome is unknown.
    #[error("response signature: {0}")]
    Signature(#[from] SignatureError),
    /// An answer that is not a well-formed gateway response, lacks required fields, or does
    /// not answer the request that was sent. For a refund the outcome is unknown.
    #[error("cannot decode the response: {reason}")]
    Decode {
        /// What was wrong.
        reason: String,
    },
    /// The request breaks a field rule and was not sent.
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] FieldError),
    /// The client is misconfigured (keys, gateway URL, CA); nothing was sent.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The bill download URL query answered `isp.bill_not_exist` (账单不存在): nothing happened
    /// in that period, or the bill is not generated yet (daily bills exist from 10:00 the next
    /// day, monthly ones from the 4th). For reconciliation an empty day, not a failure.
    #[error("no bill for that date (isp.bill_not_exist)")]
    NoBill,
    /// A bill download URL was used after it expired (30 s after it was issued; the download
    /// answers 下载超时，请重新下载). Ask for a new URL; [`Error::is_retryable`].
    #[error("the bill download link expired (下载超时，请重新下载)")]
    BillLinkExpired,
}

/// Why an answer's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `sign` (or an empty one). The gateway signs every answer for a known app; the only
    /// unsigned answers accepted are those it has no key for: `isv.invalid-app-id` /
    /// `isv.missing-app-id` under the method's node, and `isv.missing-method` /
    /// `isv.invalid-method` under `error_response`. An unsigned success is never accepted.
    #[error("the response is not signed")]
    Missing,
    /// `sign` is not standard base64.
    #[error("the response sign is not base64")]
    Malformed,
    /// `sign` does not verify over the node's exact bytes with the Alipay public key and
    /// this sign type (the request's, which the gateway signs its answer with).
    #[error("the response sign does not verify ({0})")]
    Mismatch(SignType),
}

/// A request field that breaks a rule; the request was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {kind}")]
pub struct FieldError {
    /// The field (its wire name).
    pub field: &'static str,
    /// What is wrong.
    pub kind: FieldErrorKind,
}

/// What is wrong with a request field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldErrorKind {
    /// Required, not given (or given empty).
    Missing,
    /// Given, but breaks this rule.
    Invalid(&'static str),
}

impl fmt::Display for FieldErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldErrorKind::Missing => f.write_str("missing"),
            FieldErrorKind::Invalid(reason) => f.write_str(reason),
        }
    }
}

impl FieldError {
    /// A required field that is absent.
    pub fn missing(field: &'static str) -> Self {
        Self {
            field,
            kind: FieldErrorKind::Missing,
        }
    }

    /// A field that breaks `reason`.
    pub fn invalid(field: &'static str, reason: &'static str) -> Self {
        Self {
            field,
            kind: FieldErrorKind::Invalid(reason),
        }
    }
}

impl Error {
    pub(crate) fn decode(reason: impl Into<String>) -> Self {
        Self::Decode {
            reason: reason.into(),
        }
    }

    /// The error a non-10000 answer stands for.
    pub(crate) fn gateway(status: ResponseStatus) -> Self {
        Self::Gateway {
            code: status.code,
            msg: status.msg,
            sub_code: status.sub_code.unwrap_or(SubCode::Other(String::new())),
            sub_msg: status.sub_msg.unwrap_or_default(),
        }
    }

    /// The `sub_code`, if the gateway answered with one.
    pub fn sub_code(&self) -> Option<&SubCode> {
        match self {
            Self::Gateway { sub_code, .. } => Some(sub_code),
            _ => None,
        }
    }

    /// The top-level `code`, if the gateway answered.
    pub fn gateway_code(&self) -> Option<&GatewayCode> {
        match self {
            Self::Gateway { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether this is a business failure (`code` 40004, an `ACQ.*` sub_code): the API ran
    /// and refused. Gateway-level refusals (signature, app id, parameters) are not.
    pub fn is_business(&self) -> bool {
        matches!(
            self,
            Self::Gateway {
                code: GatewayCode::BusinessFailed,
                ..
            }
        )
    }

    /// Whether the platform allows sending the same request again (same `out_request_no`,
    /// same amount) and it may then succeed: the sub_codes of [`SubCode::is_retryable`]
    /// (`ACQ.SYSTEM_ERROR`, `isp.unknow-error`, `aop.unknow-error`, and
    /// `ACQ.SELLER_BALANCE_NOT_ENOUGH` once the balance is topped up) and transport timeouts.
    ///
    /// A [`RetryPolicy`](crate::retry::RetryPolicy) retries automatically only what a short
    /// wait can fix ([`Retryable::retry_advice`]): the outcome-unknown sub_codes and
    /// timeouts, not a missing balance.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(t) => t.is_timeout(),
            Self::Gateway { sub_code, .. } => sub_code.is_retryable(),
            Self::BillLinkExpired => true,
            _ => false,
        }
    }

    /// Whether the request may have taken effect although it failed: the gateway may have
    /// made the refund. Then send the same request again or query it
    /// ([`Client::refund_query`](super::Client::refund_query)); never issue a new
    /// `out_request_no` for the same intent.
    ///
    /// True for `ACQ.SYSTEM_ERROR`, any `20000` answer, a transport failure after the
    /// request may have been written, an HTTP 5xx, and any answer that could not be trusted
    /// or read.
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            Self::Transport(t) => t.maybe_delivered(),
            Self::Http { status, .. } => *status >= 500,
            Self::Signature(_) | Self::Decode { .. } => true,
            Self::Gateway { code, sub_code, .. } => {
                sub_code.outcome_unknown() || *code == GatewayCode::ServiceUnavailable
            }
            Self::InvalidRequest(_) | Self::Config(_) | Self::NoBill | Self::BillLinkExpired => {
                false
            }
        }
    }
}

impl Retryable for Error {
    /// [`RetryAdvice::Backoff`] for timeouts and the outcome-unknown answers
    /// (`ACQ.SYSTEM_ERROR`, any `20000`); [`RetryAdvice::Never`] otherwise.
    fn retry_advice(&self) -> RetryAdvice {
        match self {
            Self::Transport(t) if t.is_timeout() => RetryAdvice::Backoff,
            Self::Gateway { code, sub_code, .. }
                if sub_code.outcome_unknown() || *code == GatewayCode::ServiceUnavailable =>
            {
                RetryAdvice::Backoff
            }
            _ => RetryAdvice::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway(sub_code: SubCode) -> Error {
        Error::gateway(ResponseStatus::error(sub_code))
    }

    #[test]
    fn codes_and_sub_codes_travel_together() {
        let e = gateway(SubCode::AcqTradeNotExist);
        assert!(e.is_business());
        assert_eq!(e.gateway_code(), Some(&GatewayCode::BusinessFailed));
        assert_eq!(e.sub_code(), Some(&SubCode::AcqTradeNotExist));
        assert_eq!(
            e.to_string(),
            "Alipay 40004 Business Failed: ACQ.TRADE_NOT_EXIST 交易不存在"
        );
        let e = gateway(SubCode::IsvInvalidSignature);
        assert!(!e.is_business());
        assert_eq!(e.gateway_code(), Some(&GatewayCode::InvalidArguments));
        let bare = Error::gateway(ResponseStatus {
            code: GatewayCode::ServiceUnavailable,
            msg: "Service Currently Unavailable".into(),
            sub_code: None,
            sub_msg: None,
        });
        assert_eq!(bare.sub_code(), Some(&SubCode::Other(String::new())));
        assert!(bare.is_outcome_unknown());
        assert_eq!(bare.retry_advice(), RetryAdvice::Backoff);
    }

    #[test]
    fn retryability_follows_the_sub_code() {
        for sub_code in SubCode::ALL {
            let e = gateway(sub_code.clone());
            assert_eq!(e.is_retryable(), sub_code.is_retryable(), "{sub_code}");
            assert_eq!(
                e.retry_advice().is_retryable(),
                sub_code.outcome_unknown(),
                "{sub_code}"
            );
            // Whatever the platform's advice, a failure whose outcome is unknown is safe to
            // retry unchanged; one that is automatically retried has an unknown outcome.
            if e.retry_advice().is_retryable() {
                assert!(e.is_outcome_unknown(), "{sub_code}");
            }
        }
        let balance = gateway(SubCode::AcqSellerBalanceNotEnough);
        assert!(balance.is_retryable() && !balance.is_outcome_unknown());
        assert_eq!(balance.retry_advice(), RetryAdvice::Never);
        let system = gateway(SubCode::AcqSystemError);
        assert!(system.is_retryable() && system.is_outcome_unknown());
        assert_eq!(system.retry_advice(), RetryAdvice::Backoff);
    }

    #[test]
    fn outcome_unknown() {
        assert!(!gateway(SubCode::AcqTradeHasClose).is_outcome_unknown());
        assert!(!gateway(SubCode::IsvInvalidAppId).is_outcome_unknown());
        assert!(gateway(SubCode::IspUnknowError).is_outcome_unknown());
        assert!(Error::Signature(SignatureError::Missing).is_outcome_unknown());
        assert!(!Error::Signature(SignatureError::Missing).is_retryable());
        assert!(Error::decode("x").is_outcome_unknown());
        assert!(
            Error::Http {
                status: 502,
                body: String::new()
            }
            .is_outcome_unknown()
        );
        assert!(
            !Error::Http {
                status: 404,
                body: String::new()
            }
            .is_outcome_unknown()
        );
        let invalid = Error::from(FieldError::missing("out_request_no"));
        assert!(!invalid.is_outcome_unknown() && !invalid.is_retryable());
        assert_eq!(
            invalid.to_string(),
            "invalid request: out_request_no: missing"
        );
    }
}
