//! Request/response signatures (spec §1.1): MD5 or HMAC-SHA256 over the sorted `k=v` string.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::params::Params;

/// The signature algorithm, carried by the `sign_type` field (spec §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignType {
    /// `MD5`: the documented default when `sign_type` is absent.
    #[default]
    Md5,
    /// `HMAC-SHA256`, keyed with the API key.
    HmacSha256,
}

impl SignType {
    /// Parses the exact wire value (`MD5` / `HMAC-SHA256`); case and spelling matter: the real
    /// server refused `HMAC_SHA256` (§1.2).
    pub fn from_wire(s: &str) -> Option<Self> {
        match s {
            "MD5" => Some(Self::Md5),
            "HMAC-SHA256" => Some(Self::HmacSha256),
            _ => None,
        }
    }

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::HmacSha256 => "HMAC-SHA256",
        }
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `sign_type` value that is neither `MD5` nor `HMAC-SHA256`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sign_type {0:?}: expected MD5 or HMAC-SHA256")]
pub struct InvalidSignType(pub String);

/// The sign type a request asks for: absent or empty `sign_type` means MD5 (doc default).
pub fn request_sign_type(params: &Params) -> Result<SignType, InvalidSignType> {
    match params.non_empty("sign_type") {
        None => Ok(SignType::Md5),
        Some(s) => SignType::from_wire(s).ok_or_else(|| InvalidSignType(s.to_owned())),
    }
}

/// `stringSignTemp` of §1.1: every parameter except `sign`, empty values dropped, sorted by
/// name bytewise, joined as `k=v&...` with raw values, then `&key=KEY`.
///
/// Contains the key: for debugging only, never log it in production.
pub fn string_to_sign(params: &Params, key: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, v)| *k != "sign" && !v.is_empty())
        .collect();
    // Params names are unique, so an unstable sort is deterministic.
    pairs.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut s = String::with_capacity(
        pairs
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum::<usize>()
            + key.len()
            + 5,
    );
    for (k, v) in pairs {
        s.push_str(k);
        s.push('=');
        s.push_str(v);
        s.push('&');
    }
    s.push_str("key=");
    s.push_str(key);
    s
}

/// The signature of `params` with `key`: 32 (MD5) or 64 (HMAC-SHA256) uppercase hex chars.
///
/// `sign_type`, when present in `params`, is signed like any other field; `sign_type` (the
/// argument) only chooses the algorithm.
pub fn sign(params: &Params, key: &str, sign_type: SignType) -> String {
    let msg = string_to_sign(params, key);
    match sign_type {
        SignType::Md5 => hex::encode_upper(Md5::digest(msg.as_bytes())),
        SignType::HmacSha256 => {
            // HMAC accepts keys of any length, so this never fails; were it to, an empty
            // signature is returned, which `verify` never accepts.
            let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()) else {
                return String::new();
            };
            mac.update(msg.as_bytes());
            hex::encode_upper(mac.finalize().into_bytes())
        }
    }
}

/// Signs `params` in place: sets `sign` (as text) to [`sign`]'s result.
pub fn sign_in_place(params: &mut Params, key: &str, sign_type: SignType) {
    let s = sign(params, key, sign_type);
    params.insert_text("sign", s);
}

/// True when `params` carries a `sign` equal to the one computed with `key` and `sign_type`.
///
/// Constant-time comparison; case-sensitive, as every verifying client is (§1.4) — whether the
/// real server accepts lowercase hex is UNCONFIRMED, we do not. A missing or empty `sign` is
/// never valid.
pub fn verify(params: &Params, key: &str, sign_type: SignType) -> bool {
    let Some(given) = params.non_empty("sign") else {
        return false;
    };
    let expected = sign(params, key, sign_type);
    !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn official() -> Params {
        [
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("device_info", "1000"),
            ("body", "test"),
            ("nonce_str", "ibuaiVcKdpRxkhJA"),
        ]
        .into_iter()
        .collect()
    }
    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    #[test]
    fn official_example() {
        let p = official();
        assert_eq!(
            string_to_sign(&p, KEY),
            "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d"
        );
        assert_eq!(
            sign(&p, KEY, SignType::Md5),
            "9A0A8659F005D6984697E2CA0A9CF3B7"
        );
        assert_eq!(
            sign(&p, KEY, SignType::HmacSha256),
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
    }

    #[test]
    fn verify_rejects_missing_empty_lowercase_and_wrong_type() {
        let mut p = official();
        assert!(!verify(&p, KEY, SignType::Md5));
        p.insert_text("sign", "");
        assert!(!verify(&p, KEY, SignType::Md5));
        p.insert_text("sign", "9a0a8659f005d6984697e2ca0a9cf3b7");
        assert!(!verify(&p, KEY, SignType::Md5));
        sign_in_place(&mut p, KEY, SignType::Md5);
        assert!(verify(&p, KEY, SignType::Md5));
        assert!(!verify(&p, KEY, SignType::HmacSha256));
        assert!(!verify(&p, "other", SignType::Md5));
    }

    #[test]
    fn sign_type_parsing() {
        let mut p = Params::new();
        assert_eq!(request_sign_type(&p), Ok(SignType::Md5));
        p.insert_text("sign_type", "");
        assert_eq!(request_sign_type(&p), Ok(SignType::Md5));
        p.insert_text("sign_type", "HMAC-SHA256");
        assert_eq!(request_sign_type(&p), Ok(SignType::HmacSha256));
        p.insert_text("sign_type", "HMAC_SHA256");
        assert_eq!(
            request_sign_type(&p),
            Err(InvalidSignType("HMAC_SHA256".into()))
        );
        assert_eq!(SignType::from_wire("md5"), None);
        assert_eq!(SignType::default().as_str(), "MD5");
    }
}
