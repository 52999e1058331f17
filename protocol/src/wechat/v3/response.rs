//! The signature of answers and notifications (spec §1.4, §1.8).
//!
//! The platform signs `TIMESTAMP\nNONCE\nBODY\n` (an empty body line for a 204) with its
//! identity's key (a platform certificate, or the WeChat Pay public key) and sends
//!
//! ```text
//! Wechatpay-Timestamp: 1554208460
//! Wechatpay-Nonce: c5ac7061fccab6bf3e254dcf98995b8c
//! Wechatpay-Signature: <base64>
//! Wechatpay-Serial: <certificate serial, or PUB_KEY_ID_…>
//! Wechatpay-Signature-Type: WECHATPAY2-SHA256-RSA2048
//! Request-ID: <id>
//! ```
//!
//! Clients verify 2xx answers and every notification: [`Verifier`] holds the keys a client
//! trusts (by serial or public-key id) and refuses a missing header, an unknown serial, a
//! timestamp more than five minutes off the caller's wall clock, a bad signature, and the
//! platform's `WECHATPAY/SIGNTEST/` probes.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::SIGNATURE_SCHEME;
use crate::rsa::{Hash, PrivateKey, PublicKey, RsaError};

/// `Wechatpay-Timestamp`: Unix seconds of the signature.
pub const HEADER_TIMESTAMP: &str = "Wechatpay-Timestamp";
/// `Wechatpay-Nonce`.
pub const HEADER_NONCE: &str = "Wechatpay-Nonce";
/// `Wechatpay-Signature`: base64 SHA256withRSA.
pub const HEADER_SIGNATURE: &str = "Wechatpay-Signature";
/// `Wechatpay-Serial`: the certificate serial or `PUB_KEY_ID_…` of the signing key.
pub const HEADER_SERIAL: &str = "Wechatpay-Serial";
/// `Wechatpay-Signature-Type`: always [`SIGNATURE_SCHEME`].
pub const HEADER_SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";
/// `Request-ID`: the platform's id of the exchange.
pub const HEADER_REQUEST_ID: &str = "Request-ID";

/// The prefix of the platform's signature probes: notifications whose signature must fail
/// (spec §1.4). A handler that accepts one would accept forged callbacks.
pub const SIGNTEST_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// The official clients' tolerance between `Wechatpay-Timestamp` and their wall clock.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// The message an answer or notification signature covers: `TIMESTAMP\nNONCE\nBODY\n`.
#[must_use]
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    for part in [timestamp.as_bytes(), nonce.as_bytes(), body] {
        out.extend_from_slice(part);
        out.push(b'\n');
    }
    out
}

/// The six headers of a signed answer or notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `Wechatpay-Timestamp`.
    pub timestamp: String,
    /// `Wechatpay-Nonce`.
    pub nonce: String,
    /// `Wechatpay-Signature`.
    pub signature: String,
    /// `Wechatpay-Serial`.
    pub serial: String,
    /// `Wechatpay-Signature-Type`.
    pub signature_type: String,
    /// `Request-ID`.
    pub request_id: String,
}

impl SignedHeaders {
    /// `(name, value)` pairs in the order the platform sends them.
    #[must_use]
    pub fn pairs(&self) -> [(&'static str, &str); 6] {
        [
            (HEADER_NONCE, &self.nonce),
            (HEADER_SERIAL, &self.serial),
            (HEADER_SIGNATURE, &self.signature),
            (HEADER_SIGNATURE_TYPE, &self.signature_type),
            (HEADER_TIMESTAMP, &self.timestamp),
            (HEADER_REQUEST_ID, &self.request_id),
        ]
    }

    /// The headers as a verifier receives them.
    #[must_use]
    pub fn as_received(&self) -> ReceivedHeaders<'_> {
        ReceivedHeaders {
            timestamp: Some(&self.timestamp),
            nonce: Some(&self.nonce),
            signature: Some(&self.signature),
            serial: Some(&self.serial),
            signature_type: Some(&self.signature_type),
        }
    }
}

/// Signs an answer or a notification as the platform.
///
/// `serial` names the key (a platform certificate serial or a `PUB_KEY_ID_…`); `timestamp` is
/// real wall time (Unix seconds), not the sandbox clock, since clients compare it with theirs.
///
/// # Errors
/// [`RsaError::Signing`].
pub fn sign_response(
    key: &PrivateKey,
    serial: &str,
    timestamp: i64,
    nonce: &str,
    request_id: &str,
    body: &[u8],
) -> Result<SignedHeaders, RsaError> {
    let timestamp = timestamp.to_string();
    let signature = key.sign_base64(Hash::Sha256, &response_message(&timestamp, nonce, body))?;
    Ok(SignedHeaders {
        timestamp,
        nonce: nonce.to_owned(),
        signature,
        serial: serial.to_owned(),
        signature_type: SIGNATURE_SCHEME.to_owned(),
        request_id: request_id.to_owned(),
    })
}

/// The headers of a signature probe: a well-formed notification whose `Wechatpay-Signature`
/// is `WECHATPAY/SIGNTEST/` followed by `filler` (any base64-looking text), so no key verifies
/// it. `serial` is the merchant's real platform serial, as the platform sends it.
#[must_use]
pub fn probe_headers(
    serial: &str,
    timestamp: i64,
    nonce: &str,
    request_id: &str,
    filler: &str,
) -> SignedHeaders {
    SignedHeaders {
        timestamp: timestamp.to_string(),
        nonce: nonce.to_owned(),
        signature: format!("{SIGNTEST_PREFIX}{filler}"),
        serial: serial.to_owned(),
        signature_type: SIGNATURE_SCHEME.to_owned(),
        request_id: request_id.to_owned(),
    }
}

/// The signature headers of an answer or notification as received; `None` for an absent one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceivedHeaders<'a> {
    /// `Wechatpay-Timestamp`.
    pub timestamp: Option<&'a str>,
    /// `Wechatpay-Nonce`.
    pub nonce: Option<&'a str>,
    /// `Wechatpay-Signature`.
    pub signature: Option<&'a str>,
    /// `Wechatpay-Serial`.
    pub serial: Option<&'a str>,
    /// `Wechatpay-Signature-Type` (answers may omit it; if present it must be the scheme).
    pub signature_type: Option<&'a str>,
}

impl<'a> ReceivedHeaders<'a> {
    /// Collects the headers through a case-insensitive lookup (e.g. over an `http::HeaderMap`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<&'a str>) -> Self {
        Self {
            timestamp: lookup(HEADER_TIMESTAMP),
            nonce: lookup(HEADER_NONCE),
            signature: lookup(HEADER_SIGNATURE),
            serial: lookup(HEADER_SERIAL),
            signature_type: lookup(HEADER_SIGNATURE_TYPE),
        }
    }
}

/// Why an answer or notification was not accepted as the platform's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required header is absent or empty.
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    /// A `WECHATPAY/SIGNTEST/` probe: it must be refused (answer non-2xx).
    #[error("signature probe (WECHATPAY/SIGNTEST/): refused as the platform expects")]
    SignatureProbe,
    /// `Wechatpay-Signature-Type` is present but not `WECHATPAY2-SHA256-RSA2048`.
    #[error("unsupported signature type {0:?}")]
    UnsupportedSignatureType(String),
    /// `Wechatpay-Timestamp` is not Unix seconds.
    #[error("Wechatpay-Timestamp {0:?} is not a Unix time in seconds")]
    InvalidTimestamp(String),
    /// `Wechatpay-Timestamp` is more than the allowed skew from the caller's clock.
    #[error("Wechatpay-Timestamp {timestamp} is {} s from the local clock {now}; at most {max_skew} s allowed", timestamp.abs_diff(*now))]
    StaleTimestamp {
        /// The header's time.
        timestamp: i64,
        /// The caller's wall clock.
        now: i64,
        /// The allowed skew.
        max_skew: i64,
    },
    /// `Wechatpay-Serial` names no key this verifier holds.
    #[error("no platform key with serial {0:?}")]
    UnknownSerial(String),
    /// `Wechatpay-Signature` is not base64.
    #[error("Wechatpay-Signature is not valid base64")]
    InvalidBase64,
    /// The signature does not verify.
    #[error("Wechatpay-Signature does not match the body")]
    Mismatch,
}

/// A client's view of the platform's identities: the public keys it trusts, by certificate
/// serial or WeChat Pay public-key id. During a switch-over it holds both, and each answer's
/// `Wechatpay-Serial` picks the key.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    keys: BTreeMap<String, PublicKey>,
    max_skew: i64,
}

impl Verifier {
    /// An empty verifier with the official clients' five-minute skew.
    #[must_use]
    pub fn new() -> Self {
        Self {
            keys: BTreeMap::new(),
            max_skew: MAX_CLOCK_SKEW_SECS,
        }
    }

    /// Adds (or replaces) the key for `serial` (a certificate serial, compared
    /// case-insensitively, or a `PUB_KEY_ID_…`).
    #[must_use]
    pub fn with_key(mut self, serial: &str, key: PublicKey) -> Self {
        self.insert(serial, key);
        self
    }

    /// Adds (or replaces) the key for `serial`.
    pub fn insert(&mut self, serial: &str, key: PublicKey) {
        self.keys.insert(serial.to_ascii_uppercase(), key);
    }

    /// Sets the allowed skew in seconds.
    #[must_use]
    pub fn with_max_skew(mut self, seconds: i64) -> Self {
        self.max_skew = seconds;
        self
    }

    /// Whether a key is held for `serial`.
    #[must_use]
    pub fn knows(&self, serial: &str) -> bool {
        self.keys.contains_key(&serial.to_ascii_uppercase())
    }

    /// Verifies an answer or notification against the caller's wall clock `now` (Unix
    /// seconds). Returns the serial that verified it.
    ///
    /// Checks, in order: the four signature headers present, not a probe, the signature type,
    /// the timestamp's form and skew, a known serial, base64, the signature itself.
    ///
    /// # Errors
    /// [`VerifyError`].
    pub fn verify<'h>(
        &self,
        headers: &ReceivedHeaders<'h>,
        body: &[u8],
        now: i64,
    ) -> Result<&'h str, VerifyError> {
        let required = |value: Option<&'h str>, name: &'static str| {
            value
                .filter(|v| !v.is_empty())
                .ok_or(VerifyError::MissingHeader(name))
        };
        let timestamp = required(headers.timestamp, HEADER_TIMESTAMP)?;
        let nonce = required(headers.nonce, HEADER_NONCE)?;
        let signature = required(headers.signature, HEADER_SIGNATURE)?;
        let serial = required(headers.serial, HEADER_SERIAL)?;
        if signature.starts_with(SIGNTEST_PREFIX) {
            return Err(VerifyError::SignatureProbe);
        }
        if let Some(kind) = headers.signature_type
            && kind != SIGNATURE_SCHEME
        {
            return Err(VerifyError::UnsupportedSignatureType(kind.to_owned()));
        }
        let seconds = parse_seconds(timestamp)
            .ok_or_else(|| VerifyError::InvalidTimestamp(timestamp.chars().take(32).collect()))?;
        if seconds.abs_diff(now) > self.max_skew.unsigned_abs() {
            return Err(VerifyError::StaleTimestamp {
                timestamp: seconds,
                now,
                max_skew: self.max_skew,
            });
        }
        let key = self
            .keys
            .get(&serial.to_ascii_uppercase())
            .ok_or_else(|| VerifyError::UnknownSerial(serial.chars().take(64).collect()))?;
        let raw = STANDARD
            .decode(signature)
            .map_err(|_| VerifyError::InvalidBase64)?;
        key.verify(
            Hash::Sha256,
            &response_message(timestamp, nonce, body),
            &raw,
        )
        .map_err(|_| VerifyError::Mismatch)?;
        Ok(serial)
    }
}

/// Unix seconds: 1 to 18 ASCII digits.
fn parse_seconds(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_has_three_lines_and_an_empty_body_line_for_204() {
        assert_eq!(
            response_message("1554208460", "c5ac7061", b"{\"a\":1}"),
            b"1554208460\nc5ac7061\n{\"a\":1}\n"
        );
        assert_eq!(response_message("1", "n", b""), b"1\nn\n\n");
    }

    #[test]
    fn probes_are_refused_before_anything_else() {
        let headers = probe_headers("5157F09EFDC096DE15EBE81A47057A72", 1, "n", "rid", "AAAA");
        assert_eq!(headers.signature, "WECHATPAY/SIGNTEST/AAAA");
        assert_eq!(headers.signature_type, "WECHATPAY2-SHA256-RSA2048");
        // Even an empty verifier and a far-off clock report the probe, not the serial or time.
        assert_eq!(
            Verifier::new().verify(&headers.as_received(), b"{}", 1_000_000),
            Err(VerifyError::SignatureProbe)
        );
    }

    #[test]
    fn missing_and_malformed_headers() {
        let full = ReceivedHeaders {
            timestamp: Some("1700000000"),
            nonce: Some("n"),
            signature: Some("AAAA"),
            serial: Some("PUB_KEY_ID_0119000001092025010100000000000001"),
            signature_type: None,
        };
        let verifier = Verifier::new();
        let now = 1_700_000_000;
        let cases = [
            (
                ReceivedHeaders {
                    timestamp: None,
                    ..full
                },
                VerifyError::MissingHeader("Wechatpay-Timestamp"),
            ),
            (
                ReceivedHeaders {
                    nonce: Some(""),
                    ..full
                },
                VerifyError::MissingHeader("Wechatpay-Nonce"),
            ),
            (
                ReceivedHeaders {
                    signature: None,
                    ..full
                },
                VerifyError::MissingHeader("Wechatpay-Signature"),
            ),
            (
                ReceivedHeaders {
                    serial: None,
                    ..full
                },
                VerifyError::MissingHeader("Wechatpay-Serial"),
            ),
            (
                ReceivedHeaders {
                    signature_type: Some("WECHATPAY2-SM2-WITH-SM3"),
                    ..full
                },
                VerifyError::UnsupportedSignatureType("WECHATPAY2-SM2-WITH-SM3".into()),
            ),
            (
                ReceivedHeaders {
                    timestamp: Some("17e8"),
                    ..full
                },
                VerifyError::InvalidTimestamp("17e8".into()),
            ),
            (
                ReceivedHeaders {
                    timestamp: Some("1699999699"),
                    ..full
                },
                VerifyError::StaleTimestamp {
                    timestamp: 1_699_999_699,
                    now,
                    max_skew: 300,
                },
            ),
            (
                full,
                VerifyError::UnknownSerial("PUB_KEY_ID_0119000001092025010100000000000001".into()),
            ),
        ];
        for (headers, error) in cases {
            assert_eq!(verifier.verify(&headers, b"", now), Err(error));
        }
    }

    #[test]
    fn lookup_reads_the_five_headers() {
        let pairs = [
            ("Wechatpay-Timestamp", "1"),
            ("Wechatpay-Nonce", "n"),
            ("Wechatpay-Signature", "s"),
            ("Wechatpay-Serial", "S"),
        ];
        let headers = ReceivedHeaders::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        });
        assert_eq!(
            headers,
            ReceivedHeaders {
                timestamp: Some("1"),
                nonce: Some("n"),
                signature: Some("s"),
                serial: Some("S"),
                signature_type: None,
            }
        );
    }
}
