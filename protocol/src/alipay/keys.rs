//! RSA key text in every form Alipay clients are configured with (spec §2.3): PKCS#1 and
//! PKCS#8 PEM, and the headerless base64 that Alipay's key tool and the Java/Python SDKs use.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};

/// Why key text could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Only whitespace.
    #[error("key text is empty")]
    Empty,
    /// A `-----BEGIN` line without a matching `-----END` line, or text around the block.
    #[error("malformed PEM: {0}")]
    MalformedPem(&'static str),
    /// A PEM label this function does not take (e.g. `CERTIFICATE`, or a public key given
    /// where a private key is expected).
    #[error("unsupported PEM label {0:?}")]
    UnsupportedLabel(String),
    /// `ENCRYPTED PRIVATE KEY`: no client in spec §2.3 uses a passphrase.
    #[error("encrypted private keys are not supported")]
    Encrypted,
    /// The body is not base64.
    #[error("key body is not valid base64")]
    Base64,
    /// Valid base64, but not an RSA key in any accepted DER structure.
    #[error("not an RSA key in an accepted encoding")]
    NotRsaKey,
}

/// A PEM block: its label and decoded DER body.
struct Pem {
    label: String,
    der: Vec<u8>,
}

/// Reads one PEM block leniently: CRLF or LF, any line length, the body possibly on one line.
/// Returns `Ok(None)` when the text has no `-----BEGIN` at all (headerless base64).
fn parse_pem(text: &str) -> Result<Option<Pem>, KeyError> {
    let Some(begin) = text.find("-----BEGIN ") else {
        return Ok(None);
    };
    if !text.get(..begin).unwrap_or_default().trim().is_empty() {
        return Err(KeyError::MalformedPem("text before BEGIN line"));
    }
    let after_begin = text.get(begin + "-----BEGIN ".len()..).unwrap_or_default();
    let label_end = after_begin
        .find("-----")
        .ok_or(KeyError::MalformedPem("unterminated BEGIN line"))?;
    let label = after_begin.get(..label_end).unwrap_or_default().to_owned();
    let rest = after_begin
        .get(label_end + "-----".len()..)
        .unwrap_or_default();
    let end_marker = format!("-----END {label}-----");
    let end = rest
        .find(&end_marker)
        .ok_or(KeyError::MalformedPem("missing matching END line"))?;
    if !rest
        .get(end + end_marker.len()..)
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        return Err(KeyError::MalformedPem("text after END line"));
    }
    let body = rest.get(..end).unwrap_or_default();
    if body.contains(':') {
        // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) mean an OpenSSL-encrypted legacy key.
        return Err(KeyError::Encrypted);
    }
    Ok(Some(Pem {
        label,
        der: decode_base64_body(body)?,
    }))
}

/// Decodes base64 ignoring all ASCII whitespace: keys get pasted with CRLF, spaces or
/// 64-column wrapping.
fn decode_base64_body(body: &str) -> Result<Vec<u8>, KeyError> {
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(KeyError::Empty);
    }
    STANDARD.decode(compact).map_err(|_| KeyError::Base64)
}

fn private_from_der(der: &[u8], pkcs8_first: bool) -> Result<RsaPrivateKey, KeyError> {
    let pkcs8 = || RsaPrivateKey::from_pkcs8_der(der).ok();
    let pkcs1 = || RsaPrivateKey::from_pkcs1_der(der).ok();
    let key = if pkcs8_first {
        pkcs8().or_else(pkcs1)
    } else {
        pkcs1().or_else(pkcs8)
    };
    key.ok_or(KeyError::NotRsaKey)
}

fn public_from_der(der: &[u8], spki_first: bool) -> Result<RsaPublicKey, KeyError> {
    let spki = || RsaPublicKey::from_public_key_der(der).ok();
    let pkcs1 = || RsaPublicKey::from_pkcs1_der(der).ok();
    let key = if spki_first {
        spki().or_else(pkcs1)
    } else {
        pkcs1().or_else(spki)
    };
    key.ok_or(KeyError::NotRsaKey)
}

/// Loads an app (or, in the mock, Alipay's) private key from any of: PKCS#1 PEM
/// (`BEGIN RSA PRIVATE KEY`), PKCS#8 PEM (`BEGIN PRIVATE KEY`), or bare base64 of either DER,
/// with or without line breaks.
///
/// The label only decides which structure is tried first: a PKCS#8 body under an
/// `RSA PRIVATE KEY` label (node's `formatKey` re-wraps keys that way) still loads.
///
/// # Errors
/// [`KeyError`] describing the first problem found.
pub fn parse_private_key(text: &str) -> Result<RsaPrivateKey, KeyError> {
    if text.trim().is_empty() {
        return Err(KeyError::Empty);
    }
    match parse_pem(text)? {
        Some(pem) => match pem.label.as_str() {
            "RSA PRIVATE KEY" => private_from_der(&pem.der, false),
            "PRIVATE KEY" => private_from_der(&pem.der, true),
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
            other => Err(KeyError::UnsupportedLabel(other.to_owned())),
        },
        // Java wants PKCS#8, py-official PKCS#1: try the more common PKCS#8 first.
        None => private_from_der(&decode_base64_body(text)?, true),
    }
}

/// Loads a public key from SPKI PEM (`BEGIN PUBLIC KEY`), PKCS#1 PEM (`BEGIN RSA PUBLIC KEY`),
/// or bare base64 of either DER (Alipay's console shows the SPKI body without headers).
///
/// # Errors
/// [`KeyError`] describing the first problem found.
pub fn parse_public_key(text: &str) -> Result<RsaPublicKey, KeyError> {
    if text.trim().is_empty() {
        return Err(KeyError::Empty);
    }
    match parse_pem(text)? {
        Some(pem) => match pem.label.as_str() {
            "PUBLIC KEY" => public_from_der(&pem.der, true),
            "RSA PUBLIC KEY" => public_from_der(&pem.der, false),
            other => Err(KeyError::UnsupportedLabel(other.to_owned())),
        },
        None => public_from_der(&decode_base64_body(text)?, true),
    }
}
