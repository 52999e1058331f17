//! RSA key text in every form Alipay clients are configured with (spec §2.3): PKCS#1 and
//! PKCS#8 PEM, and the headerless base64 that Alipay's key tool and the Java/Python SDKs use.
//!
//! The keys are [`crate::rsa`]'s: this module only adds the headerless form.

use crate::rsa::{
    PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey, decode_base64_body, parse_pem,
};

pub use crate::rsa::KeyError;

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
        Some(pem) => RsaPrivateKey::from_pem_block(&pem),
        // Java wants PKCS#8, py-official PKCS#1: try the more common PKCS#8 first.
        None => RsaPrivateKey::from_der(&decode_base64_body(text)?, true),
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
        Some(pem) if pem.label == "CERTIFICATE" => Err(KeyError::UnsupportedLabel(pem.label)),
        Some(pem) => RsaPublicKey::from_pem_block(&pem),
        None => RsaPublicKey::from_der(&decode_base64_body(text)?, true),
    }
}
