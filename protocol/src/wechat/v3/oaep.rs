//! Sensitive request fields (spec §1.5): the abnormal refund's `bank_account` and `real_name`
//! travel RSA-OAEP-encrypted with the platform identity's public key (a platform certificate or
//! the WeChat Pay public key, named by the request's `Wechatpay-Serial`), base64-encoded.
//!
//! The padding is OAEP with SHA-1 for the label hash and MGF1 and an empty label, as the
//! official SDKs do (`wechatpay-go` `utils.EncryptOAEPWithPublicKey`, `wechatpay-java`
//! `RSA/ECB/OAEPWithSHA-1AndMGF1Padding`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::rsa::{PrivateKey, PublicKey, RsaError};

/// Encrypts a field's text as a client: base64 of one OAEP block.
///
/// # Errors
/// [`RsaError::PlaintextTooLong`] past 214 bytes for a 2048-bit key, or
/// [`RsaError::Encryption`].
pub fn encrypt_field(key: &PublicKey, plaintext: &str) -> Result<String, RsaError> {
    key.oaep_sha1_encrypt(plaintext.as_bytes())
        .map(|block| STANDARD.encode(block))
}

/// Why an encrypted field could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldDecryptError {
    /// Not standard padded base64.
    #[error("the encrypted field is not valid base64")]
    InvalidBase64,
    /// Not an OAEP block for this key (wrong key, wrong padding, tampered).
    #[error("the encrypted field does not decrypt with the platform key")]
    Decryption,
    /// Decrypted, but not UTF-8 text.
    #[error("the decrypted field is not UTF-8")]
    NotUtf8,
}

/// Decrypts a field as the platform.
///
/// # Errors
/// [`FieldDecryptError`].
pub fn decrypt_field(key: &PrivateKey, ciphertext_b64: &str) -> Result<String, FieldDecryptError> {
    let block = STANDARD
        .decode(ciphertext_b64)
        .map_err(|_| FieldDecryptError::InvalidBase64)?;
    let plaintext = key
        .oaep_sha1_decrypt(&block)
        .map_err(|_| FieldDecryptError::Decryption)?;
    String::from_utf8(plaintext).map_err(|_| FieldDecryptError::NotUtf8)
}
