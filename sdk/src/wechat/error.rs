//! [`Error`]: everything a WeChat Pay call can fail with.

use std::time::Duration;

use paysandbox_protocol::wechat::{ErrCode, FieldError, RefundStatus, SignType};

use crate::error::{ConfigError, TransportError};
use crate::retry::{RetryAdvice, Retryable};

/// How long WeChat asks merchants to wait after `INVALID_REQ_TOO_MUCH` ("retry after 1
/// minute", spec §3.3), and the window of the per-minute `FREQUENCY_LIMITED` limits.
pub const RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// A failed WeChat Pay call.
///
/// Each variant says where the failure happened: before sending ([`Error::InvalidRequest`],
/// [`Error::Config`]), on the way ([`Error::Transport`], [`Error::Http`]), at the protocol
/// layer ([`Error::Protocol`]), in the business layer ([`Error::Business`]), or in a response
/// that cannot be trusted or read ([`Error::Signature`], [`Error::Decode`]).
///
/// Two questions matter after a failed refund:
/// - [`Error::is_retryable`]: does the platform allow sending the same request again?
/// - [`Error::is_outcome_unknown`]: may the refund have been made anyway? If so, never give
///   up on (or reuse for something else) that `out_refund_no`: send the same request again,
///   or query it, until you know.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No HTTP response: see [`TransportError::maybe_delivered`]. Retryable when it is a
    /// timeout.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// An HTTP status other than 200. The platform answers every protocol and business
    /// outcome with 200; other statuses come from the gateway in front of it (nginx answers
    /// 400 with an HTML page when the client certificate is missing or untrusted, spec §9).
    #[error("HTTP {status}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The start of the body (at most 512 bytes, lossily decoded), for diagnostics.
        body: String,
    },
    /// `return_code=FAIL`: refused at the protocol layer (bad signature, missing or malformed
    /// parameter, `invalid refund_fee`...), nothing was done. The message is the platform's,
    /// often Chinese, e.g. `签名错误,请检查后再试`. Not retryable.
    #[error("WeChat Pay refused the request (return_code=FAIL): {return_msg}")]
    Protocol {
        /// `return_msg`.
        return_msg: String,
    },
    /// `result_code=FAIL`: a business error. `code` is the `err_code` (unknown codes are kept
    /// as [`ErrCode::Other`]); retryability follows the platform's advice per code
    /// ([`ErrCode::is_retryable`]).
    #[error("WeChat Pay business error {code}: {description}")]
    Business {
        /// `err_code`.
        code: ErrCode,
        /// `err_code_des`, the platform's message (empty if it sent none).
        description: String,
    },
    /// A response that should be signed had no valid signature (wrong, or missing). Its
    /// content cannot be trusted: it may have been altered, or the API key is wrong. For a
    /// refund the outcome is unknown.
    #[error("response signature: {0}")]
    Signature(#[from] SignatureError),
    /// A response that is not a well-formed WeChat message or lacks required fields, or that
    /// does not answer the request that was sent. For a refund the outcome is unknown.
    #[error("cannot decode the response: {reason}")]
    Decode {
        /// What was wrong.
        reason: String,
    },
    /// The request breaks a field rule and was not sent.
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] FieldError),
    /// The client is misconfigured (certificates, keys, base URL); nothing was sent.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// downloadbill: "No Bill Exist" (`error_code` 20002), the day had no successful
    /// transaction. For reconciliation this is an empty day, not a failure.
    #[error("no bill for that day (No Bill Exist)")]
    NoBill,
    /// downloadbill refused the request in its own error shape (`return_msg`, `error_code`):
    /// `Bill Creating` (ask again after 10:00), `invalid bill_type`, `data format error`,
    /// `sign error`, `SYSTEMERROR` (retryable).
    #[error("downloadbill refused: {0}")]
    BillRefused(paysandbox_protocol::wechat::bill::BillError),
    /// [`Client::wait_for_refund`](super::Client::wait_for_refund) reached its deadline
    /// while the refund was still `PROCESSING` (or could not be queried).
    #[error("refund not final after {waited:?} (last status: {last_status:?})")]
    Timeout {
        /// How long it waited, on the client's clock.
        waited: Duration,
        /// The last status seen, if any query succeeded.
        last_status: Option<RefundStatus>,
    },
}

/// Why a response's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// `return_code=SUCCESS` but no `sign`. The only unsigned `return_code=SUCCESS` answer
    /// accepted is the `MCHID_NOT_EXIST` business error (the platform has no key to sign
    /// with for an unknown merchant).
    #[error("the response is not signed")]
    Missing,
    /// `sign` does not match the response computed with the API key and this sign type (the
    /// request's, which the platform uses for its answer, spec §1.3).
    #[error("the response sign does not verify ({0})")]
    Mismatch(SignType),
}

impl Error {
    pub(crate) fn decode(reason: impl Into<String>) -> Self {
        Self::Decode {
            reason: reason.into(),
        }
    }

    /// The business `err_code`, if this is a business error.
    pub fn err_code(&self) -> Option<&ErrCode> {
        match self {
            Self::Business { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the platform allows sending the same request again (same `out_refund_no`,
    /// same amounts), possibly after a wait ([`Retryable::retry_advice`] says how long):
    /// the retryable `err_code`s (`SYSTEMERROR`, `BIZERR_NEED_RETRY`, `ORDER_NOT_READY`,
    /// `FREQUENCY_LIMITED`, `INVALID_REQ_TOO_MUCH`) and transport timeouts.
    ///
    /// Other failures whose outcome is unknown (a dropped connection, an HTTP 5xx, a bad
    /// signature) are not retried automatically, but re-sending the same request is safe:
    /// the refund number makes it idempotent.
    pub fn is_retryable(&self) -> bool {
        self.retry_advice().is_retryable()
    }

    /// Whether the request may have taken effect although it failed: the platform may have
    /// made the refund. Then re-send the same request or query it; never issue a new refund
    /// number for the same intent.
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            Self::Transport(t) => t.maybe_delivered(),
            Self::Http { status, .. } => *status >= 500,
            Self::Signature(_) | Self::Decode { .. } => true,
            Self::Business { code, .. } => *code == ErrCode::SystemError,
            Self::Protocol { .. }
            | Self::NoBill
            | Self::BillRefused(_)
            | Self::InvalidRequest(_)
            | Self::Config(_)
            | Self::Timeout { .. } => false,
        }
    }
}

impl Retryable for Error {
    fn retry_advice(&self) -> RetryAdvice {
        match self {
            Self::Transport(t) if t.is_timeout() => RetryAdvice::Backoff,
            Self::BillRefused(e) if e.return_msg == "SYSTEMERROR" => RetryAdvice::Backoff,
            Self::Business { code, .. } if code.is_retryable() => match code {
                ErrCode::InvalidReqTooMuch | ErrCode::FrequencyLimited => {
                    RetryAdvice::After(RATE_LIMIT_WAIT)
                }
                _ => RetryAdvice::Backoff,
            },
            _ => RetryAdvice::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn business(code: ErrCode) -> Error {
        Error::Business {
            description: code.description().to_owned(),
            code,
        }
    }

    #[test]
    fn retry_advice_per_code() {
        for code in ErrCode::KNOWN {
            let e = business(code.clone());
            assert_eq!(e.is_retryable(), code.is_retryable(), "{code}");
        }
        assert_eq!(
            business(ErrCode::SystemError).retry_advice(),
            RetryAdvice::Backoff
        );
        assert_eq!(
            business(ErrCode::BizerrNeedRetry).retry_advice(),
            RetryAdvice::Backoff
        );
        assert_eq!(
            business(ErrCode::InvalidReqTooMuch).retry_advice(),
            RetryAdvice::After(RATE_LIMIT_WAIT)
        );
        assert_eq!(
            business(ErrCode::Other("NEW_CODE".into())).retry_advice(),
            RetryAdvice::Never
        );
        assert!(!business(ErrCode::NotEnough).is_retryable());
        assert!(
            !Error::Protocol {
                return_msg: "x".into()
            }
            .is_retryable()
        );
        assert!(!Error::Signature(SignatureError::Missing).is_retryable());
    }

    #[test]
    fn outcome_unknown() {
        assert!(business(ErrCode::SystemError).is_outcome_unknown());
        assert!(!business(ErrCode::NotEnough).is_outcome_unknown());
        assert!(Error::Signature(SignatureError::Missing).is_outcome_unknown());
        assert!(
            Error::Http {
                status: 503,
                body: String::new()
            }
            .is_outcome_unknown()
        );
        assert!(
            !Error::Http {
                status: 400,
                body: String::new()
            }
            .is_outcome_unknown()
        );
        assert!(
            !Error::Protocol {
                return_msg: "x".into()
            }
            .is_outcome_unknown()
        );
    }
}
