//! The request signature (spec §1.8): the signed message and the `Authorization` header.
//!
//! The message is five lines, each ending in `\n`: the HTTP method, the URL (path plus
//! `?query`, exactly as sent, no host), the Unix timestamp, the nonce and the body bytes (an
//! empty body still gets its `\n`). It is signed with SHA256withRSA by the merchant's API
//! certificate key and sent as
//!
//! ```text
//! Authorization: WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="…",timestamp="…",serial_no="…",signature="…"
//! ```
//!
//! The pairs may come in any order. [`Authorization::parse`] also takes what real clients send
//! besides the canonical form (spaces after commas or around `=`, unquoted values), and names
//! each defect precisely ([`AuthorizationError`]): the sandbox answers every one with a 401
//! SIGN_ERROR whose `detail` says which part was wrong.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::SIGNATURE_SCHEME;
use crate::rsa::{Hash, PrivateKey, PublicKey, RsaError};

/// How far a request's `timestamp` may be from the server's wall clock, either way, before the
/// sandbox refuses it. The domestic platform's window is not published; the Hong Kong
/// documentation says 300 s (spec §1.8), and that is what the sandbox applies.
pub const REQUEST_TIMESTAMP_WINDOW_SECS: i64 = 300;

/// The message a request signature covers: `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`.
///
/// `url` is the path and query exactly as they appear on the request line (percent-encoding
/// untouched); `body` the exact bytes sent (empty for GET).
#[must_use]
pub fn request_message(
    method: &str,
    url: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        method.len() + url.len() + timestamp.len() + nonce.len() + body.len() + 5,
    );
    for part in [
        method.as_bytes(),
        url.as_bytes(),
        timestamp.as_bytes(),
        nonce.as_bytes(),
        body,
    ] {
        out.extend_from_slice(part);
        out.push(b'\n');
    }
    out
}

/// The parameters of an `Authorization: WECHATPAY2-SHA256-RSA2048 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The merchant id the request is made as.
    pub mchid: String,
    /// The request's nonce (32 characters from the official SDKs; any non-empty value here).
    pub nonce_str: String,
    /// The Unix timestamp in seconds, as sent (digits only).
    pub timestamp: String,
    /// The serial number of the merchant API certificate whose key signed (hex).
    pub serial_no: String,
    /// The base64 signature.
    pub signature: String,
}

/// The five parameter names of the header.
const PARAMETERS: [&str; 5] = ["mchid", "nonce_str", "timestamp", "serial_no", "signature"];

impl Authorization {
    /// The header value, in the official SDKs' order:
    /// `WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…"`.
    #[must_use]
    pub fn to_header_value(&self) -> String {
        format!(
            "{SIGNATURE_SCHEME} mchid=\"{}\",nonce_str=\"{}\",timestamp=\"{}\",serial_no=\"{}\",signature=\"{}\"",
            self.mchid, self.nonce_str, self.timestamp, self.serial_no, self.signature
        )
    }

    /// Parses a header value.
    ///
    /// Accepted besides the canonical form: any order; whitespace after the scheme, around
    /// commas and around `=`; values quoted with `"` or bare (a bare value runs to the next
    /// comma). Refused, each with its own [`AuthorizationError`]: another scheme, a pair without
    /// `=`, an unterminated quote, text after a closing quote, a parameter given twice, a
    /// parameter not among the five, a missing or empty one, and a timestamp that is not
    /// digits.
    ///
    /// # Errors
    /// [`AuthorizationError`].
    pub fn parse(value: &str) -> Result<Self, AuthorizationError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(AuthorizationError::Empty);
        }
        let (scheme, params) = match value.find(char::is_whitespace) {
            Some(at) => (
                value.get(..at).unwrap_or_default(),
                value.get(at..).unwrap_or_default(),
            ),
            None => (value, ""),
        };
        if scheme != SIGNATURE_SCHEME {
            return Err(AuthorizationError::UnknownScheme(truncate(scheme, 64)));
        }
        let mut found: [Option<String>; 5] = Default::default();
        for (key, value) in pairs(params)? {
            let unknown = || AuthorizationError::UnknownParameter(truncate(key, 64));
            let (index, name) = PARAMETERS
                .iter()
                .enumerate()
                .find(|(_, name)| **name == key)
                .ok_or_else(unknown)?;
            let slot = found.get_mut(index).ok_or_else(unknown)?;
            if slot.is_some() {
                return Err(AuthorizationError::DuplicateParameter(name));
            }
            *slot = Some(value.to_owned());
        }
        let [mchid, nonce_str, timestamp, serial_no, signature] = found;
        let take = |v: Option<String>, name: &'static str| match v {
            None => Err(AuthorizationError::MissingParameter(name)),
            Some(v) if v.is_empty() => Err(AuthorizationError::EmptyParameter(name)),
            Some(v) => Ok(v),
        };
        let auth = Authorization {
            mchid: take(mchid, "mchid")?,
            nonce_str: take(nonce_str, "nonce_str")?,
            timestamp: take(timestamp, "timestamp")?,
            serial_no: take(serial_no, "serial_no")?,
            signature: take(signature, "signature")?,
        };
        if !auth.timestamp.bytes().all(|b| b.is_ascii_digit()) || auth.timestamp.len() > 18 {
            return Err(AuthorizationError::TimestampNotANumber(truncate(
                &auth.timestamp,
                32,
            )));
        }
        Ok(auth)
    }

    /// The timestamp as seconds (parse already checked it is at most 18 digits).
    #[must_use]
    pub fn timestamp_secs(&self) -> i64 {
        self.timestamp.parse().unwrap_or(i64::MAX)
    }

    /// The message this header's signature must cover for the given request.
    #[must_use]
    pub fn message(&self, method: &str, url: &str, body: &[u8]) -> Vec<u8> {
        request_message(method, url, &self.timestamp, &self.nonce_str, body)
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

/// Splits `k=v, k="v"` into pairs. Bare values run to the next comma and are trimmed.
fn pairs(text: &str) -> Result<Vec<(&str, &str)>, AuthorizationError> {
    let mut out = Vec::with_capacity(5);
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let segment_end = rest.find(',').unwrap_or(rest.len());
        let eq = rest
            .find('=')
            .filter(|eq| *eq < segment_end)
            .ok_or_else(|| {
                AuthorizationError::MalformedPair(truncate(
                    rest.get(..segment_end).unwrap_or_default().trim(),
                    64,
                ))
            })?;
        let key = rest.get(..eq).unwrap_or_default().trim();
        if key.is_empty() || key.contains('"') {
            return Err(AuthorizationError::MalformedPair(truncate(key, 64)));
        }
        let after = rest.get(eq + 1..).unwrap_or_default().trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let close = quoted
                .find('"')
                .ok_or_else(|| AuthorizationError::UnterminatedQuote(truncate(key, 64)))?;
            (
                quoted.get(..close).unwrap_or_default(),
                quoted.get(close + 1..).unwrap_or_default(),
            )
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (
                after.get(..end).unwrap_or_default().trim_end(),
                after.get(end..).unwrap_or_default(),
            )
        };
        out.push((key, value));
        let tail = tail.trim_start();
        rest = match tail.strip_prefix(',') {
            Some(next) => next.trim_start(),
            None if tail.is_empty() => tail,
            None => return Err(AuthorizationError::TextAfterValue(truncate(key, 64))),
        };
    }
    Ok(out)
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// Why an `Authorization` header was refused. Every variant is a 401 SIGN_ERROR at the
/// platform; [`field`](Self::field) and [`issue`](Self::issue) fill its `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// No `Authorization` header at all.
    #[error("the Authorization header is missing")]
    Missing,
    /// The header is empty or only whitespace.
    #[error("the Authorization header is empty")]
    Empty,
    /// The scheme is not `WECHATPAY2-SHA256-RSA2048` (case-sensitive).
    #[error("unsupported authorization scheme {0:?}, expected WECHATPAY2-SHA256-RSA2048")]
    UnknownScheme(String),
    /// A pair without `=`, or an empty or quoted key.
    #[error("malformed Authorization parameter {0:?}: expected key=\"value\"")]
    MalformedPair(String),
    /// A value opened with `"` and never closed.
    #[error("the value of {0} has no closing quote")]
    UnterminatedQuote(String),
    /// Something other than a comma after a quoted value.
    #[error("unexpected text after the value of {0}")]
    TextAfterValue(String),
    /// One of the five parameters appears twice.
    #[error("{0} is given more than once")]
    DuplicateParameter(&'static str),
    /// A parameter other than mchid, nonce_str, timestamp, serial_no and signature.
    #[error("unknown Authorization parameter {0:?}")]
    UnknownParameter(String),
    /// One of the five parameters is absent.
    #[error("{0} is missing from the Authorization header")]
    MissingParameter(&'static str),
    /// One of the five parameters is empty.
    #[error("{0} is empty")]
    EmptyParameter(&'static str),
    /// `timestamp` is not a run of at most 18 digits.
    #[error("timestamp {0:?} is not a Unix time in seconds")]
    TimestampNotANumber(String),
}

impl AuthorizationError {
    /// The `detail.field` of the SIGN_ERROR answer: the parameter at fault, or `authorization`
    /// for the header as a whole.
    #[must_use]
    pub fn field(&self) -> &str {
        match self {
            Self::DuplicateParameter(name)
            | Self::MissingParameter(name)
            | Self::EmptyParameter(name) => name,
            Self::UnterminatedQuote(name) | Self::TextAfterValue(name) => name,
            Self::TimestampNotANumber(_) => "timestamp",
            Self::Missing
            | Self::Empty
            | Self::UnknownScheme(_)
            | Self::MalformedPair(_)
            | Self::UnknownParameter(_) => "authorization",
        }
    }

    /// The `detail.issue` text: this error's message.
    #[must_use]
    pub fn issue(&self) -> String {
        self.to_string()
    }
}

/// Why a well-formed request signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestSignatureError {
    /// `signature` is not standard padded base64.
    #[error("signature is not valid base64")]
    InvalidBase64,
    /// The signature does not verify over the message the server built (the platform's
    /// observed issue text is "sign not match").
    #[error("sign not match")]
    Mismatch,
}

/// Signs a request as a client: the `Authorization` to send.
///
/// # Errors
/// [`RsaError::Signing`].
#[allow(clippy::too_many_arguments)] // the signed message has five parts, the header two more
pub fn sign_request(
    key: &PrivateKey,
    mchid: &str,
    serial_no: &str,
    method: &str,
    url: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Result<Authorization, RsaError> {
    let timestamp = timestamp.to_string();
    let message = request_message(method, url, &timestamp, nonce, body);
    Ok(Authorization {
        mchid: mchid.to_owned(),
        nonce_str: nonce.to_owned(),
        timestamp,
        serial_no: serial_no.to_owned(),
        signature: key.sign_base64(Hash::Sha256, &message)?,
    })
}

/// Verifies a request's signature as the server: over `method`, `url` (path and query as
/// received), the header's timestamp and nonce, and the exact body, with the merchant API
/// certificate's public key. Which key (`serial_no`, `mchid`) and the timestamp window are the
/// caller's checks.
///
/// # Errors
/// [`RequestSignatureError`].
pub fn verify_request(
    auth: &Authorization,
    key: &PublicKey,
    method: &str,
    url: &str,
    body: &[u8],
) -> Result<(), RequestSignatureError> {
    let signature = STANDARD
        .decode(&auth.signature)
        .map_err(|_| RequestSignatureError::InvalidBase64)?;
    key.verify(Hash::Sha256, &auth.message(method, url, body), &signature)
        .map_err(|_| RequestSignatureError::Mismatch)
}

/// A timestamp outside the allowed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("timestamp {timestamp} is {} s away from the server's clock ({now}); at most {window} s allowed", timestamp.abs_diff(*now))]
pub struct TimestampOutOfWindow {
    /// The timestamp received.
    pub timestamp: i64,
    /// The checker's wall clock (Unix seconds).
    pub now: i64,
    /// The allowed distance.
    pub window: i64,
}

/// Checks `|now − timestamp| ≤ window` (seconds). Signature timestamps are compared with real
/// wall time, never the sandbox's virtual clock (spec §1.8, "Time and the sandbox clock").
///
/// # Errors
/// [`TimestampOutOfWindow`].
pub fn check_timestamp(timestamp: i64, now: i64, window: i64) -> Result<(), TimestampOutOfWindow> {
    if timestamp.abs_diff(now) > window.unsigned_abs() {
        Err(TimestampOutOfWindow {
            timestamp,
            now,
            window,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANONICAL: &str = "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\",nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\",timestamp=\"1554208460\",serial_no=\"1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C\",signature=\"uOVRnA4qG/MNnYzdQxJanN+zU+lTgIcnU9BxGw5dKjK+VdEUz2FeIoC+D5sB/LN+nGzX3hfZg6r5wT1pl2ZobmIc6p0ldN7J6yDgUzbX8Uk3sD4a4eZVPTBvqNDoUqcYMlZ9uuDdCvNv4TM3c1WzsXUrExwVkI1XO5jCNbgDJ25nkT/c1gIFvqoogl7MdSFGc4W4xZsqCItnqbypR3RuGIlR9h9vlRsy7zJR9PBI83X8alLDIfR1ukt1P7tMnmogZ0cuDY8cZsd8ZlCgLadmvej58SLsIkVxFJ8XyUgx9FmutKSYTmYtWBZ0+tNvfGmbXU7cob8H/4nLBiCwIUFluw==\"";

    fn parsed() -> Authorization {
        Authorization::parse(CANONICAL).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn message_has_five_newline_terminated_lines() {
        assert_eq!(
            request_message("GET", "/v3/certificates", "1554208460", "593BEC0C", b""),
            b"GET\n/v3/certificates\n1554208460\n593BEC0C\n\n"
        );
        assert_eq!(
            request_message("POST", "/v3/refund/domestic/refunds?x=%20", "1", "n", b"{}"),
            b"POST\n/v3/refund/domestic/refunds?x=%20\n1\nn\n{}\n"
        );
    }

    #[test]
    fn canonical_header_round_trips() {
        let auth = parsed();
        assert_eq!(auth.mchid, "1900000109");
        assert_eq!(auth.nonce_str, "593BEC0C930BF1AFEB40B4A08C8FB242");
        assert_eq!(auth.timestamp, "1554208460");
        assert_eq!(auth.timestamp_secs(), 1_554_208_460);
        assert_eq!(auth.serial_no, "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C");
        assert!(auth.signature.ends_with("IUFluw=="));
        let again = Authorization::parse(&auth.to_header_value());
        assert_eq!(again, Ok(auth.clone()));
        assert!(auth.to_header_value().starts_with(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\",nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\",timestamp=\"1554208460\",serial_no="
        ));
    }

    #[test]
    fn tolerates_what_real_clients_send() {
        let reference = parsed();
        let variants = [
            // Another order, spaces after commas (several community clients).
            format!(
                "WECHATPAY2-SHA256-RSA2048 signature=\"{}\", serial_no=\"{}\", timestamp=\"{}\", nonce_str=\"{}\", mchid=\"{}\"",
                reference.signature,
                reference.serial_no,
                reference.timestamp,
                reference.nonce_str,
                reference.mchid
            ),
            // Bare values, spaces around '=', several spaces after the scheme, trailing space.
            format!(
                "WECHATPAY2-SHA256-RSA2048   mchid = {} ,nonce_str={},timestamp={},serial_no={},signature={} ",
                reference.mchid,
                reference.nonce_str,
                reference.timestamp,
                reference.serial_no,
                reference.signature
            ),
        ];
        for v in variants {
            assert_eq!(Authorization::parse(&v), Ok(reference.clone()), "{v}");
        }
    }

    #[test]
    fn each_defect_has_its_own_error_and_field() {
        let cases: Vec<(String, AuthorizationError, &str)> = vec![
            ("  ".into(), AuthorizationError::Empty, "authorization"),
            (
                CANONICAL.replace("WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SHA256-RSA"),
                AuthorizationError::UnknownScheme("WECHATPAY2-SHA256-RSA".into()),
                "authorization",
            ),
            (
                CANONICAL.replace("WECHATPAY2", "wechatpay2"),
                AuthorizationError::UnknownScheme("wechatpay2-SHA256-RSA2048".into()),
                "authorization",
            ),
            (
                CANONICAL.replace("mchid=\"1900000109\",", "mchid,"),
                AuthorizationError::MalformedPair("mchid".into()),
                "authorization",
            ),
            (
                "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109".into(),
                AuthorizationError::UnterminatedQuote("mchid".into()),
                "mchid",
            ),
            (
                CANONICAL.replace("mchid=\"1900000109\"", "mchid=\"1900000109\"x"),
                AuthorizationError::TextAfterValue("mchid".into()),
                "mchid",
            ),
            (
                format!("{CANONICAL},mchid=\"1\""),
                AuthorizationError::DuplicateParameter("mchid"),
                "mchid",
            ),
            (
                format!("{CANONICAL},brand_id=\"1\""),
                AuthorizationError::UnknownParameter("brand_id".into()),
                "authorization",
            ),
            (
                CANONICAL.replace(
                    "serial_no=\"1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C\",",
                    "",
                ),
                AuthorizationError::MissingParameter("serial_no"),
                "serial_no",
            ),
            (
                CANONICAL.replace(
                    "nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\"",
                    "nonce_str=\"\"",
                ),
                AuthorizationError::EmptyParameter("nonce_str"),
                "nonce_str",
            ),
            (
                CANONICAL.replace("timestamp=\"1554208460\"", "timestamp=\"1554208460.5\""),
                AuthorizationError::TimestampNotANumber("1554208460.5".into()),
                "timestamp",
            ),
            (
                CANONICAL.replace("timestamp=\"1554208460\"", "timestamp=\"-1\""),
                AuthorizationError::TimestampNotANumber("-1".into()),
                "timestamp",
            ),
        ];
        for (header, error, field) in cases {
            let got = Authorization::parse(&header);
            assert_eq!(got.as_ref().err(), Some(&error), "{header}");
            assert_eq!(error.field(), field, "{header}");
        }
        assert_eq!(AuthorizationError::Missing.field(), "authorization");
        assert_eq!(
            AuthorizationError::MissingParameter("serial_no").issue(),
            "serial_no is missing from the Authorization header"
        );
    }

    #[test]
    fn timestamp_window_is_symmetric_and_inclusive() {
        let now = 1_700_000_000;
        assert_eq!(check_timestamp(now - 300, now, 300), Ok(()));
        assert_eq!(check_timestamp(now + 300, now, 300), Ok(()));
        let stale = check_timestamp(now - 301, now, 300);
        assert_eq!(
            stale,
            Err(TimestampOutOfWindow {
                timestamp: now - 301,
                now,
                window: 300
            })
        );
        assert_eq!(
            stale.map_err(|e| e.to_string()),
            Err(
                "timestamp 1699999699 is 301 s away from the server's clock (1700000000); at most 300 s allowed"
                    .to_owned()
            )
        );
        assert!(check_timestamp(now + 301, now, 300).is_err());
        assert!(check_timestamp(i64::MAX, i64::MIN, 300).is_err());
    }
}
