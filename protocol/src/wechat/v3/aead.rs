//! `AEAD_AES_256_GCM` resources (spec §1.4, §1.8): notification payloads and the platform
//! certificates of `/v3/certificates`.
//!
//! Key: the merchant's 32-byte APIv3 key, its characters' bytes as they are. Nonce: the
//! `nonce` string's bytes (12). AAD: the `associated_data` string (`""` for refunds,
//! `"transaction"` style for payments, `"certificate"` for certificates). `ciphertext`:
//! base64 of the ciphertext followed by the 16-byte tag.
//!
//! Implemented with RustCrypto's `aes-gcm` (pure Rust, constant-time AES-NI/CLMUL when the CPU
//! has them, the same family as the `aes` crate the v2 notifications use, already in the
//! dependency tree). Nothing here is on a hot path; the tests check its output against ring's
//! AES-GCM and the vectors against Python's `cryptography`.

use std::fmt;

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// The `algorithm` value of every encrypted resource.
pub const ALGORITHM: &str = "AEAD_AES_256_GCM";
/// Bytes of the APIv3 key.
pub const KEY_LEN: usize = 32;
/// Bytes of the nonce string.
pub const NONCE_LEN: usize = 12;
/// Bytes of the GCM tag appended to the ciphertext.
pub const TAG_LEN: usize = 16;

/// A merchant's APIv3 key: exactly 32 bytes (the platform makes merchants set 32 characters).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiV3Key([u8; KEY_LEN]);

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key([elided])")
    }
}

impl ApiV3Key {
    /// The key from its text.
    ///
    /// # Errors
    /// [`AeadError::KeyLength`] unless the text is exactly 32 bytes.
    pub fn new(text: &str) -> Result<Self, AeadError> {
        Self::from_bytes(text.as_bytes())
    }

    /// The key from raw bytes.
    ///
    /// # Errors
    /// [`AeadError::KeyLength`] unless exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AeadError> {
        <[u8; KEY_LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| AeadError::KeyLength(bytes.len()))
    }

    /// The raw key bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn cipher(&self) -> Result<Aes256Gcm, AeadError> {
        Aes256Gcm::new_from_slice(&self.0).map_err(|_| AeadError::KeyLength(KEY_LEN))
    }
}

/// Why a resource could not be encrypted or decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AeadError {
    /// The APIv3 key is not 32 bytes.
    #[error("the APIv3 key must be 32 bytes, got {0}")]
    KeyLength(usize),
    /// `algorithm` is not `AEAD_AES_256_GCM`.
    #[error("unsupported algorithm {0:?}, expected AEAD_AES_256_GCM")]
    UnsupportedAlgorithm(String),
    /// The nonce is not 12 bytes.
    #[error("the nonce must be 12 bytes, got {0}")]
    NonceLength(usize),
    /// `ciphertext` is not standard padded base64.
    #[error("ciphertext is not valid base64")]
    InvalidBase64,
    /// The decoded ciphertext is shorter than the tag.
    #[error("ciphertext of {0} bytes is shorter than the 16-byte tag")]
    TooShort(usize),
    /// The tag does not verify: wrong key, nonce, associated data, or tampered bytes.
    #[error(
        "authentication failed (wrong APIv3 key, nonce or associated_data, or tampered ciphertext)"
    )]
    Authentication,
    /// Encryption failed (a plaintext beyond GCM's limit).
    #[error("encryption failed")]
    Encryption,
    /// The plaintext is not UTF-8 (every v3 resource is JSON or PEM text).
    #[error("plaintext is not UTF-8")]
    NotUtf8,
}

fn nonce(text: &str) -> Result<&Nonce<aes_gcm::aes::cipher::consts::U12>, AeadError> {
    let bytes = text.as_bytes();
    <&Nonce<_>>::try_from(bytes).map_err(|_| AeadError::NonceLength(bytes.len()))
}

/// Encrypts `plaintext`; returns base64(ciphertext ‖ tag).
///
/// # Errors
/// [`AeadError::NonceLength`], [`AeadError::Encryption`].
pub fn encrypt(
    key: &ApiV3Key,
    nonce_text: &str,
    associated_data: &str,
    plaintext: &[u8],
) -> Result<String, AeadError> {
    let sealed = key
        .cipher()?
        .encrypt(
            nonce(nonce_text)?,
            Payload {
                msg: plaintext,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| AeadError::Encryption)?;
    Ok(STANDARD.encode(sealed))
}

/// Decrypts base64(ciphertext ‖ tag).
///
/// # Errors
/// [`AeadError`]: the nonce, base64, length or tag.
pub fn decrypt(
    key: &ApiV3Key,
    nonce_text: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Result<Vec<u8>, AeadError> {
    let nonce = nonce(nonce_text)?;
    let sealed = STANDARD
        .decode(ciphertext_b64)
        .map_err(|_| AeadError::InvalidBase64)?;
    if sealed.len() < TAG_LEN {
        return Err(AeadError::TooShort(sealed.len()));
    }
    key.cipher()?
        .decrypt(
            nonce,
            Payload {
                msg: &sealed,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| AeadError::Authentication)
}

/// An encrypted resource: a notification's `resource`, a certificate's
/// `encrypt_certificate`. Members in the order of the platform's notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedResource {
    /// What the plaintext is (`refund`, `transaction`); absent on certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_type: Option<String>,
    /// Always [`ALGORITHM`].
    pub algorithm: String,
    /// base64(ciphertext ‖ tag).
    pub ciphertext: String,
    /// Additional authenticated data (may be empty).
    #[serde(default)]
    pub associated_data: String,
    /// The 12-character nonce.
    pub nonce: String,
}

impl EncryptedResource {
    /// Encrypts `plaintext` into a resource.
    ///
    /// # Errors
    /// As [`encrypt`].
    pub fn seal(
        key: &ApiV3Key,
        original_type: Option<&str>,
        nonce: &str,
        associated_data: &str,
        plaintext: &[u8],
    ) -> Result<Self, AeadError> {
        Ok(Self {
            algorithm: ALGORITHM.to_owned(),
            ciphertext: encrypt(key, nonce, associated_data, plaintext)?,
            associated_data: associated_data.to_owned(),
            original_type: original_type.map(str::to_owned),
            nonce: nonce.to_owned(),
        })
    }

    /// Decrypts the resource's bytes.
    ///
    /// # Errors
    /// [`AeadError::UnsupportedAlgorithm`] or as [`decrypt`].
    pub fn open(&self, key: &ApiV3Key) -> Result<Vec<u8>, AeadError> {
        if self.algorithm != ALGORITHM {
            return Err(AeadError::UnsupportedAlgorithm(
                self.algorithm.chars().take(64).collect(),
            ));
        }
        decrypt(key, &self.nonce, &self.associated_data, &self.ciphertext)
    }

    /// Decrypts the resource's text (JSON for notifications, PEM for certificates).
    ///
    /// # Errors
    /// As [`open`](Self::open), or [`AeadError::NotUtf8`].
    pub fn open_text(&self, key: &ApiV3Key) -> Result<String, AeadError> {
        String::from_utf8(self.open(key)?).map_err(|_| AeadError::NotUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiV3Key {
        ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn published_vector_from_the_official_java_sdk() {
        // wechatpay-java core AeadAesCipherTest: "message", nonce "uluk4a9R25RW",
        // associated data "associatedData", key TestConfig.API_V3_KEY.
        assert_eq!(
            encrypt(&key(), "uluk4a9R25RW", "associatedData", b"message"),
            Ok("ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=".to_owned())
        );
        assert_eq!(
            decrypt(
                &key(),
                "uluk4a9R25RW",
                "associatedData",
                "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI="
            ),
            Ok(b"message".to_vec())
        );
    }

    #[test]
    fn agrees_with_ring() {
        use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce as RingNonce, UnboundKey};
        let plaintext = "{\"refund_status\":\"SUCCESS\",\"amount\":{\"refund\":1}}".as_bytes();
        let ring_key = UnboundKey::new(&AES_256_GCM, key().as_bytes())
            .map(LessSafeKey::new)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let mut in_out = plaintext.to_vec();
        let nonce = RingNonce::try_assume_unique_for_key(b"0123456789ab")
            .unwrap_or_else(|e| unreachable!("{e}"));
        ring_key
            .seal_in_place_append_tag(nonce, Aad::from(b"refund"), &mut in_out)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            encrypt(&key(), "0123456789ab", "refund", plaintext),
            Ok(STANDARD.encode(&in_out))
        );
    }

    #[test]
    fn resource_round_trip_and_every_failure() {
        let sealed = EncryptedResource::seal(&key(), Some("refund"), "0123456789ab", "", b"{}")
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(sealed.algorithm, "AEAD_AES_256_GCM");
        assert_eq!(sealed.open_text(&key()), Ok("{}".to_owned()));
        let json = serde_json::to_string(&sealed).unwrap_or_default();
        assert_eq!(
            json,
            format!(
                "{{\"original_type\":\"refund\",\"algorithm\":\"AEAD_AES_256_GCM\",\"ciphertext\":\"{}\",\"associated_data\":\"\",\"nonce\":\"0123456789ab\"}}",
                sealed.ciphertext
            )
        );

        let wrong_key = ApiV3Key::new("b7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb")
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(sealed.open(&wrong_key), Err(AeadError::Authentication));
        let other_aad = EncryptedResource {
            associated_data: "refund".into(),
            ..sealed.clone()
        };
        assert_eq!(other_aad.open(&key()), Err(AeadError::Authentication));
        let other_algorithm = EncryptedResource {
            algorithm: "AEAD_SM4_GCM".into(),
            ..sealed.clone()
        };
        assert_eq!(
            other_algorithm.open(&key()),
            Err(AeadError::UnsupportedAlgorithm("AEAD_SM4_GCM".into()))
        );
        assert_eq!(
            decrypt(&key(), "short", "", &sealed.ciphertext),
            Err(AeadError::NonceLength(5))
        );
        assert_eq!(
            decrypt(&key(), "0123456789ab", "", "not base64!"),
            Err(AeadError::InvalidBase64)
        );
        assert_eq!(
            decrypt(&key(), "0123456789ab", "", "AAAA"),
            Err(AeadError::TooShort(3))
        );
        assert_eq!(
            ApiV3Key::new("testAPIv3Key0000"),
            Err(AeadError::KeyLength(16))
        );
        let not_utf8 = EncryptedResource::seal(&key(), None, "0123456789ab", "", &[0xff])
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(not_utf8.open_text(&key()), Err(AeadError::NotUtf8));
        assert_eq!(format!("{:?}", key()), "ApiV3Key([elided])");
    }
}
