//! Request canonical string and RSA2 / RSA signatures (spec §2).

use crate::rsa::{Hash, PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

/// The `sign_type` parameter: which hash goes under RSASSA-PKCS1-v1_5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignType {
    /// `RSA2`: SHA256withRSA, the recommended one.
    Rsa2,
    /// `RSA`: SHA1withRSA, legacy.
    Rsa,
}

impl SignType {
    /// The wire value, `"RSA2"` or `"RSA"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Rsa2 => "RSA2",
            SignType::Rsa => "RSA",
        }
    }

    /// The digest under RSASSA-PKCS1-v1_5.
    #[must_use]
    pub fn hash(self) -> Hash {
        match self {
            SignType::Rsa2 => Hash::Sha256,
            SignType::Rsa => Hash::Sha1,
        }
    }

    /// Parses the wire value. Exact upper case only: spec §1.2 says "Upper case", and every
    /// client sends it so; a lower-case value is more likely a bug worth surfacing.
    #[must_use]
    pub fn from_wire(s: &str) -> Option<SignType> {
        match s {
            "RSA2" => Some(SignType::Rsa2),
            "RSA" => Some(SignType::Rsa),
            _ => None,
        }
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `sign_type` string is neither `RSA2` nor `RSA`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sign_type {0:?}")]
pub struct UnknownSignType(pub String);

impl FromStr for SignType {
    type Err = UnknownSignType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SignType::from_wire(s).ok_or_else(|| UnknownSignType(s.to_owned()))
    }
}

/// Why a signature could not be made or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `sign` parameter, or an empty one.
    #[error("missing signature")]
    MissingSignature,
    /// The signature is not standard padded base64.
    #[error("signature is not valid base64")]
    InvalidBase64,
    /// Well-formed, but not a signature of this content by this key with this hash.
    #[error("signature does not match")]
    Mismatch,
    /// The private-key operation failed (e.g. a key too small for the digest).
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Builds the request's string to sign ("待签名字符串", spec §2.1) from the merged query and
/// body pairs, with values already URL-decoded.
///
/// Rules: drop `sign`; keep `sign_type`; a repeated key counts once and its **first**
/// occurrence wins (what a servlet's `getParameter` returns, and the order
/// [`super::form::merge_params`] keeps), so an empty first value drops the key even if a later
/// copy has a value; then drop pairs whose key or value is empty (java
/// `areNotEmpty`; the gateway ignores empty parameters, fzlee #126); sort by key in byte
/// order; join `key=value` with `&` using the raw values, no re-encoding.
///
/// The mock echoes this string (HTML-escaped) in the `isv.invalid-signature` sub_msg, see
/// [`super::codes::invalid_signature_sub_msg`].
#[must_use]
pub fn canonical_string(params: &[(String, String)]) -> String {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut kept: Vec<(&str, &str)> = Vec::with_capacity(params.len());
    for (k, v) in params {
        if k == "sign" || !seen.insert(k.as_str()) {
            continue;
        }
        if k.is_empty() || v.is_empty() {
            continue;
        }
        kept.push((k.as_str(), v.as_str()));
    }
    kept.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (i, (k, v)) in kept.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Signs `content` with RSASSA-PKCS1-v1_5 (SHA-256 for RSA2, SHA-1 for RSA) and returns
/// standard base64 without line breaks. `content` is the UTF-8 bytes of the text to sign: the
/// only charset this crate implements (spec §1.4 makes GBK optional).
///
/// # Errors
/// [`SignatureError::Signing`] if the private-key operation fails.
pub fn sign_bytes(
    content: &[u8],
    key: &RsaPrivateKey,
    sign_type: SignType,
) -> Result<String, SignatureError> {
    key.sign_base64(sign_type.hash(), content)
        .map_err(|e| SignatureError::Signing(e.to_string()))
}

/// Verifies a base64 signature over `content` (see [`sign_bytes`]).
///
/// # Errors
/// [`SignatureError::MissingSignature`] for an empty signature,
/// [`SignatureError::InvalidBase64`], or [`SignatureError::Mismatch`].
pub fn verify_bytes(
    content: &[u8],
    signature_b64: &str,
    key: &RsaPublicKey,
    sign_type: SignType,
) -> Result<(), SignatureError> {
    if signature_b64.is_empty() {
        return Err(SignatureError::MissingSignature);
    }
    // Strict standard alphabet with padding: a `+` that arrived as a space (sent unencoded in a
    // query string) must fail here, as it does at the real gateway (spec §1.3).
    let sig = STANDARD
        .decode(signature_b64)
        .map_err(|_| SignatureError::InvalidBase64)?;
    key.verify(sign_type.hash(), content, &sig)
        .map_err(|_| SignatureError::Mismatch)
}

/// Signs a request: the base64 value to send as `sign` for these parameters
/// (`sign_type` must already be among them, since it is signed).
///
/// # Errors
/// [`SignatureError::Signing`] if the private-key operation fails.
pub fn sign_request(
    params: &[(String, String)],
    key: &RsaPrivateKey,
    sign_type: SignType,
) -> Result<String, SignatureError> {
    sign_bytes(canonical_string(params).as_bytes(), key, sign_type)
}

/// Verifies a request's `sign` parameter (its first occurrence) against the canonical string
/// of the other parameters, with the app public key registered for `app_id`.
///
/// # Errors
/// [`SignatureError::MissingSignature`] if `sign` is absent or empty,
/// [`SignatureError::InvalidBase64`], or [`SignatureError::Mismatch`].
pub fn verify_request(
    params: &[(String, String)],
    key: &RsaPublicKey,
    sign_type: SignType,
) -> Result<(), SignatureError> {
    let sign = super::form::first_value(params, "sign").ok_or(SignatureError::MissingSignature)?;
    verify_bytes(canonical_string(params).as_bytes(), sign, key, sign_type)
}
