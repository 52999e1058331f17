//! [`Error`]: everything a WeChat Pay API v3 call can fail with.

use std::time::Duration;

use paysandbox_protocol::wechat::v3::decode::DecodeError;
use paysandbox_protocol::wechat::v3::error::{ErrorCode, ErrorDetail};
use paysandbox_protocol::wechat::v3::response::VerifyError;

use crate::error::{ConfigError, TransportError};
use crate::retry::{RetryAdvice, Retryable};

/// How long to wait after `FREQUENCY_LIMITED` or `RATELIMIT_EXCEEDED` before sending the same
/// request again: the refund query's documented advice ("retry after 1 minute", spec §1.2),
/// the same minute as v2's [`crate::wechat::RATE_LIMIT_WAIT`].
pub const RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// A failed v3 call.
///
/// As with the v2 client, each variant says where it failed: before sending
/// ([`Error::InvalidRequest`], [`Error::Config`], [`Error::Crypto`]), on the way
/// ([`Error::Transport`]), at the platform ([`Error::Api`], [`Error::Http`]), or in an answer
/// that cannot be trusted or read ([`Error::Signature`], [`Error::Decode`]).
///
/// - [`Error::is_retryable`]: may the same request (same `out_refund_no`, same amounts) be
///   sent again?
/// - [`Error::is_outcome_unknown`]: may the refund have been made although the call failed?
///   Then re-send the same request or query it; never make a new refund number for it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No HTTP response: see [`TransportError::maybe_delivered`]. Retryable when it is a
    /// timeout.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// The platform's error answer: an HTTP status and `{"code","message","detail"}` (spec
    /// §1.7). Error answers are not signed (the platform leaves some 4xx unsigned, and every
    /// official client verifies 2xx only). Retryability follows the code
    /// ([`ErrorCode::is_retryable`]).
    #[error("WeChat Pay v3 error {status} {code}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// `code` (unknown codes kept as [`ErrorCode::Other`]).
        code: ErrorCode,
        /// `message`, the platform's text (often Chinese).
        message: String,
        /// `detail`, when sent: the refused field and its location, or for SIGN_ERROR the
        /// message the server signed over (`sign_information`), which shows where the
        /// client's differs.
        detail: Option<Box<ErrorDetail>>,
    },
    /// A status the call does not expect, with a body that is not the platform's error shape
    /// (a gateway's HTML page, a 202 "accepted, retry with the same parameters").
    #[error("HTTP {status}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The start of the body (at most 512 bytes, lossily decoded), for diagnostics.
        body: String,
    },
    /// A 2xx answer that is not verifiably the platform's: unsigned, mis-signed, stale, signed
    /// by a key the client does not trust, or a `WECHATPAY/SIGNTEST/` probe. Its content is
    /// never returned; for a refund the outcome is unknown.
    #[error("response signature: {0}")]
    Signature(#[from] VerifyError),
    /// A verified answer that is not the JSON the call expects, or that does not answer the
    /// request sent (another `out_refund_no`). For a refund the outcome is unknown.
    #[error("cannot decode the response: {reason}")]
    Decode {
        /// What was wrong.
        reason: String,
    },
    /// The request breaks a field rule and was not sent. The rules are the ones the
    /// platform (and the sandbox) check, from the same field tables, so a request refused
    /// here would have been a 400 PARAM_ERROR there.
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] DecodeError),
    /// Signing or encrypting failed (the key cannot sign, a field too long for one OAEP
    /// block, no platform key to encrypt for); nothing was sent.
    #[error("crypto: {0}")]
    Crypto(String),
    /// The client is misconfigured (keys, certificates, base URL); nothing was sent.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// A downloaded bill whose SHA-1 is not the `hash_value` the signed bill answer gave:
    /// damaged on the way, or changed since (ask for a new address). The download itself is
    /// not signed, so this hash is what vouches for it.
    #[error("bill hash mismatch: expected {expected}, got {actual}")]
    BillHash {
        /// `hash_value` of the bill answer.
        expected: String,
        /// SHA-1 of what was downloaded (uncompressed).
        actual: String,
    },
    /// [`Client::wait_for_refund`](super::Client::wait_for_refund) reached its deadline
    /// while the refund was still `PROCESSING` (or could not be queried).
    #[error("refund not final after {waited:?} (last status: {last_status:?})")]
    Timeout {
        /// How long it waited, on the client's clock.
        waited: Duration,
        /// The last `status` seen, if any query succeeded.
        last_status: Option<String>,
    },
}

impl Error {
    pub(crate) fn decode(reason: impl Into<String>) -> Self {
        Self::Decode {
            reason: reason.into(),
        }
    }

    /// The platform's error code, if this is an [`Error::Api`].
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, if the platform answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the platform allows sending the same request again (same `out_refund_no`,
    /// same amounts), possibly after a wait ([`Retryable::retry_advice`] says how long): the
    /// retryable codes (`SYSTEM_ERROR`, `BANK_ERROR`, `SERVICE_UNAVAILABLE`,
    /// `FREQUENCY_LIMITED`, `RATELIMIT_EXCEEDED`), HTTP 202 and transport timeouts.
    ///
    /// Other failures whose outcome is unknown (a dropped connection, a bad signature) are not
    /// retried automatically, but re-sending the same request is safe: the refund number
    /// makes it idempotent.
    pub fn is_retryable(&self) -> bool {
        self.retry_advice().is_retryable()
    }

    /// Whether the request may have taken effect although it failed: a request that may
    /// have been delivered without an answer, a 5xx or 202, or an answer that cannot be
    /// trusted or read.
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            Self::Transport(t) => t.maybe_delivered(),
            Self::Api { status, .. } | Self::Http { status, .. } => {
                *status >= 500 || *status == 202
            }
            Self::Signature(_) | Self::Decode { .. } => true,
            Self::InvalidRequest(_)
            | Self::Crypto(_)
            | Self::Config(_)
            | Self::Timeout { .. }
            | Self::BillHash { .. } => false,
        }
    }
}

impl Retryable for Error {
    fn retry_advice(&self) -> RetryAdvice {
        match self {
            Self::Transport(t) if t.is_timeout() => RetryAdvice::Backoff,
            Self::Http { status: 202, .. } => RetryAdvice::Backoff,
            Self::Api { code, .. } if code.is_retryable() => match code {
                ErrorCode::FrequencyLimited | ErrorCode::RatelimitExceeded => {
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

    fn api(code: ErrorCode) -> Error {
        Error::Api {
            status: code.http_status(),
            message: code.default_message().to_owned(),
            code,
            detail: None,
        }
    }

    #[test]
    fn retry_advice_follows_the_code_table() {
        for code in ErrorCode::KNOWN {
            assert_eq!(
                api(code.clone()).is_retryable(),
                code.is_retryable(),
                "{code}"
            );
        }
        assert_eq!(
            api(ErrorCode::SystemError).retry_advice(),
            RetryAdvice::Backoff
        );
        assert_eq!(
            api(ErrorCode::FrequencyLimited).retry_advice(),
            RetryAdvice::After(RATE_LIMIT_WAIT)
        );
        assert_eq!(
            api(ErrorCode::Other("REQUEST_BLOCKED".into())).retry_advice(),
            RetryAdvice::Never
        );
        assert!(!api(ErrorCode::NotEnough).is_retryable());
        assert!(!Error::Signature(VerifyError::Mismatch).is_retryable());
        let accepted = Error::Http {
            status: 202,
            body: String::new(),
        };
        assert!(accepted.is_retryable() && accepted.is_outcome_unknown());
    }

    #[test]
    fn outcome_unknown() {
        assert!(api(ErrorCode::SystemError).is_outcome_unknown());
        assert!(api(ErrorCode::ServiceUnavailable).is_outcome_unknown());
        assert!(!api(ErrorCode::NotEnough).is_outcome_unknown());
        assert!(!api(ErrorCode::SignError).is_outcome_unknown());
        assert!(!api(ErrorCode::FrequencyLimited).is_outcome_unknown());
        assert!(Error::Signature(VerifyError::SignatureProbe).is_outcome_unknown());
        assert!(Error::decode("x").is_outcome_unknown());
        assert!(!Error::InvalidRequest(DecodeError::Empty).is_outcome_unknown());
        assert_eq!(api(ErrorCode::NotEnough).status(), Some(403));
        assert_eq!(
            api(ErrorCode::NotEnough).code(),
            Some(&ErrorCode::NotEnough)
        );
    }
}
