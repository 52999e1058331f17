//! RSA keys, signatures and OAEP: the one RSA implementation the sandbox uses.
//!
//! Every Alipay answer and every WeChat Pay API v3 answer carries an RSA-2048 signature, and
//! every request a verification, so this sits on the hot path of both surfaces. The private and
//! public operations run in aws-lc-rs (AWS-LC, the library behind rustls' default provider):
//! on the project's machine it signs about twice as fast as ring and seven times as fast as the
//! pure-Rust `rsa` crate, and verifies three times as fast as the latter (BENCHMARKS.md,
//! "Alipay signed answers and the RSA signer"). The `rsa` crate stays for what aws-lc-rs does
//! not do: parsing every key encoding clients hand us, SHA1withRSA *signing* (Alipay's legacy
//! `RSA` sign type; neither ring nor aws-lc-rs signs with SHA-1), and keys outside aws-lc-rs'
//! 2048..=8192-bit range.
//!
//! - [`PrivateKey`]: loads PKCS#1 / PKCS#8, PEM or DER; RSASSA-PKCS1-v1_5 with SHA-256 or
//!   SHA-1 ([`enum@Hash`]); RSA-OAEP (SHA-1) decryption.
//! - [`PublicKey`]: loads SubjectPublicKeyInfo / PKCS#1, PEM or DER, or the key of an X.509
//!   certificate; verification; RSA-OAEP (SHA-1) encryption.
//!
//! Both are cheap to clone (an `Arc`) and safe to share between threads. Signatures are
//! deterministic (PKCS#1 v1.5), so a signature is a pure function of key and message whichever
//! backend made it.

use std::fmt;
use std::sync::Arc;

use ::rsa::pkcs1::{
    DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _, EncodeRsaPrivateKey as _,
    EncodeRsaPublicKey as _,
};
use ::rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePublicKey as _};
use ::rsa::traits::PublicKeyParts as _;
use aws_lc_rs::signature as lc;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The digest under RSASSA-PKCS1-v1_5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hash {
    /// SHA256withRSA: Alipay `RSA2`, every WeChat Pay v3 signature.
    Sha256,
    /// SHA1withRSA: Alipay's legacy `RSA` sign type.
    Sha1,
}

/// Why key material could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Only whitespace.
    #[error("key text is empty")]
    Empty,
    /// A `-----BEGIN` line without a matching `-----END` line, or text around the block.
    #[error("malformed PEM: {0}")]
    MalformedPem(&'static str),
    /// A PEM label the function does not take (e.g. `CERTIFICATE` where a private key is
    /// expected).
    #[error("unsupported PEM label {0:?}")]
    UnsupportedLabel(String),
    /// `ENCRYPTED PRIVATE KEY` or an OpenSSL `Proc-Type: 4,ENCRYPTED` block: no client the
    /// sandbox serves uses a passphrase.
    #[error("encrypted private keys are not supported")]
    Encrypted,
    /// The body is not base64.
    #[error("key body is not valid base64")]
    Base64,
    /// Valid base64, but not an RSA key in any accepted DER structure.
    #[error("not an RSA key in an accepted encoding")]
    NotRsaKey,
    /// Not an X.509 certificate, or its key is not RSA.
    #[error("not an X.509 certificate with an RSA key: {0}")]
    Certificate(String),
}

/// Why a private-key operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RsaError {
    /// The signing operation failed (for instance a key too small for the digest).
    #[error("RSA signing failed: {0}")]
    Signing(String),
    /// The plaintext does not fit in one OAEP block of this key.
    #[error("plaintext of {len} bytes exceeds the {max}-byte OAEP limit of this key")]
    PlaintextTooLong {
        /// The plaintext's length.
        len: usize,
        /// The most this key can encrypt.
        max: usize,
    },
    /// Encryption failed inside the library.
    #[error("RSA encryption failed")]
    Encryption,
    /// The ciphertext is not base64, has the wrong length, or does not decrypt under this key
    /// (deliberately one case: telling them apart is a padding oracle).
    #[error("RSA decryption failed")]
    Decryption,
}

/// A verification failed: not a signature of this message by this key with this hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signature does not match")]
pub struct Mismatch;

/// The range of modulus sizes aws-lc-rs signs with.
const FAST_SIGNING_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;
/// The range of modulus sizes aws-lc-rs verifies with (its legacy 1024-bit parameters).
const FAST_VERIFYING_BITS: std::ops::RangeInclusive<usize> = 1024..=8192;

/// An RSA private key: signs (RSASSA-PKCS1-v1_5) and decrypts (RSA-OAEP with SHA-1).
#[derive(Clone)]
pub struct PrivateKey(Arc<PrivateInner>);

struct PrivateInner {
    /// aws-lc-rs' key for SHA-256 signatures; `None` outside 2048..=8192 bits.
    fast: Option<lc::RsaKeyPair>,
    /// The `rsa` crate's key: SHA-1 signatures, odd key sizes, re-encoding.
    soft: ::rsa::PrivateKey,
    /// PKCS#1 `RSAPrivateKey` DER, for OAEP decryption.
    pkcs1_der: Vec<u8>,
    public: PublicKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &self.bits())
            .field("key", &"[elided]")
            .finish()
    }
}

impl PartialEq for PrivateKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.pkcs1_der == other.0.pkcs1_der
    }
}

impl Eq for PrivateKey {}

impl PrivateKey {
    /// Loads a PKCS#8 `PrivateKeyInfo` DER.
    ///
    /// # Errors
    /// [`KeyError::NotRsaKey`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let soft = ::rsa::PrivateKey::from_pkcs8_der(der).map_err(|_| KeyError::NotRsaKey)?;
        Self::from_soft(soft)
    }

    /// Loads a PKCS#1 `RSAPrivateKey` DER.
    ///
    /// # Errors
    /// [`KeyError::NotRsaKey`].
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let soft = ::rsa::PrivateKey::from_pkcs1_der(der).map_err(|_| KeyError::NotRsaKey)?;
        Self::from_soft(soft)
    }

    /// Loads a DER key in either structure; `pkcs8_first` only orders the attempts.
    ///
    /// # Errors
    /// [`KeyError::NotRsaKey`].
    pub fn from_der(der: &[u8], pkcs8_first: bool) -> Result<Self, KeyError> {
        let (first, second): (ParseDer<Self>, ParseDer<Self>) = if pkcs8_first {
            (Self::from_pkcs8_der, Self::from_pkcs1_der)
        } else {
            (Self::from_pkcs1_der, Self::from_pkcs8_der)
        };
        first(der).or_else(|_| second(der))
    }

    /// Loads a PEM private key: PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`). The label
    /// only decides which structure is tried first, so a PKCS#8 body under an `RSA PRIVATE KEY`
    /// label (some tools re-wrap keys that way) still loads.
    ///
    /// # Errors
    /// [`KeyError`] describing the first problem found.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let pem = parse_pem(text)?.ok_or(KeyError::MalformedPem("no BEGIN line"))?;
        Self::from_pem_block(&pem)
    }

    /// Loads a parsed PEM block (see [`parse_pem`]).
    pub(crate) fn from_pem_block(pem: &Pem) -> Result<Self, KeyError> {
        match pem.label.as_str() {
            "RSA PRIVATE KEY" => Self::from_der(&pem.der, false),
            "PRIVATE KEY" => Self::from_der(&pem.der, true),
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
            other => Err(KeyError::UnsupportedLabel(other.to_owned())),
        }
    }

    fn from_soft(soft: ::rsa::PrivateKey) -> Result<Self, KeyError> {
        let pkcs1_der = soft
            .to_pkcs1_der()
            .map_err(|_| KeyError::NotRsaKey)?
            .as_bytes()
            .to_vec();
        let bits = soft.size() * 8;
        let fast = if FAST_SIGNING_BITS.contains(&bits) {
            lc::RsaKeyPair::from_der(&pkcs1_der).ok()
        } else {
            None
        };
        let public = PublicKey::from_soft(soft.to_public_key())?;
        Ok(Self(Arc::new(PrivateInner {
            fast,
            soft,
            pkcs1_der,
            public,
        })))
    }

    /// A fresh key of `bits` bits (public exponent 65537) from the operating system's RNG: for
    /// tests and fixtures; the sandbox's own keys come from the certs crate.
    ///
    /// # Errors
    /// [`KeyError::NotRsaKey`] if generation fails (a size the library refuses).
    pub fn generate(bits: usize) -> Result<Self, KeyError> {
        let soft = ::rsa::PrivateKey::new(&mut rand::rngs::SysRng, bits)
            .map_err(|_| KeyError::NotRsaKey)?;
        Self::from_soft(soft)
    }

    /// The public half.
    #[must_use]
    pub fn to_public_key(&self) -> PublicKey {
        self.0.public.clone()
    }

    /// The modulus size in bits (rounded up to whole bytes).
    #[must_use]
    pub fn bits(&self) -> usize {
        self.0.public.bits()
    }

    /// The key as PKCS#1 `RSAPrivateKey` DER.
    #[must_use]
    pub fn to_pkcs1_der(&self) -> &[u8] {
        &self.0.pkcs1_der
    }

    /// RSASSA-PKCS1-v1_5 signature of `message` with `hash`: the raw signature bytes, as long
    /// as the modulus.
    ///
    /// # Errors
    /// [`RsaError::Signing`] if the private operation fails.
    pub fn sign(&self, hash: Hash, message: &[u8]) -> Result<Vec<u8>, RsaError> {
        if let (Hash::Sha256, Some(fast)) = (hash, &self.0.fast) {
            let mut signature = vec![0; fast.public_modulus_len()];
            // aws-lc-rs ignores the RNG argument (AWS-LC blinds internally).
            let rng = aws_lc_rs::rand::SystemRandom::new();
            fast.sign(&lc::RSA_PKCS1_SHA256, &rng, message, &mut signature)
                .map_err(|e| RsaError::Signing(e.to_string()))?;
            return Ok(signature);
        }
        let signed = match hash {
            Hash::Sha256 => self.0.soft.pkcs1v15_sign::<sha2::Sha256>(message),
            Hash::Sha1 => self.0.soft.pkcs1v15_sign::<sha1::Sha1>(message),
        };
        signed.map_err(|e| RsaError::Signing(e.to_string()))
    }

    /// [`sign`](Self::sign), as standard padded base64 on one line: the form every signature
    /// travels in (Alipay `sign`, WeChat Pay `signature=` and `Wechatpay-Signature`).
    ///
    /// # Errors
    /// As [`sign`](Self::sign).
    pub fn sign_base64(&self, hash: Hash, message: &[u8]) -> Result<String, RsaError> {
        self.sign(hash, message).map(|sig| STANDARD.encode(sig))
    }

    /// Decrypts one RSA-OAEP block (SHA-1 for both the label hash and MGF1, empty label: what
    /// WeChat Pay uses for sensitive fields).
    ///
    /// # Errors
    /// [`RsaError::Decryption`], whatever the reason.
    pub fn oaep_sha1_decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, RsaError> {
        use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OaepPrivateDecryptingKey, PrivateDecryptingKey};
        let key = PrivateDecryptingKey::from_pkcs8(&self.pkcs8_der()?)
            .ok()
            .and_then(|key| OaepPrivateDecryptingKey::new(key).ok());
        let Some(key) = key else {
            // Outside aws-lc-rs' key sizes: the rsa crate does the same padding.
            return self
                .0
                .soft
                .oaep_decrypt::<sha1::Sha1>(ciphertext)
                .map_err(|_| RsaError::Decryption);
        };
        let mut out = vec![0; key.min_output_size()];
        let plaintext = key
            .decrypt(&OAEP_SHA1_MGF1SHA1, ciphertext, &mut out, None)
            .map_err(|_| RsaError::Decryption)?;
        Ok(plaintext.to_vec())
    }

    fn pkcs8_der(&self) -> Result<Vec<u8>, RsaError> {
        use ::rsa::pkcs8::EncodePrivateKey as _;
        self.0
            .soft
            .to_pkcs8_der()
            .map(|doc| doc.as_bytes().to_vec())
            .map_err(|_| RsaError::Decryption)
    }
}

type ParseDer<T> = fn(&[u8]) -> Result<T, KeyError>;

/// An RSA public key: verifies signatures and encrypts (RSA-OAEP with SHA-1).
#[derive(Clone)]
pub struct PublicKey(Arc<PublicInner>);

struct PublicInner {
    /// aws-lc-rs' parsed key for SHA-256 verification; `None` outside 1024..=8192 bits.
    sha256: Option<lc::ParsedPublicKey>,
    /// PKCS#1 `RSAPublicKey` DER (aws-lc-rs' input for the other algorithms).
    pkcs1_der: Vec<u8>,
    /// SubjectPublicKeyInfo DER: the form keys are exchanged in.
    spki_der: Vec<u8>,
    soft: ::rsa::PublicKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.pkcs1_der == other.0.pkcs1_der
    }
}

impl Eq for PublicKey {}

impl PublicKey {
    /// Loads a SubjectPublicKeyInfo DER (`PUBLIC KEY`).
    ///
    /// # Errors
    /// [`KeyError::NotRsaKey`].
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let soft = ::rsa::PublicKey::from_public_key_der(der).map_err(|_| KeyError::NotRsaKey)?;
        Self::from_soft(soft)
    }

    /// Loads a PKCS#1 `RSAPublicKey` DER (`RSA PUBLIC KEY`).
    ///
    /// # Errors
    /// [`KeyError::NotRsaKey`].
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let soft = ::rsa::PublicKey::from_pkcs1_der(der).map_err(|_| KeyError::NotRsaKey)?;
        Self::from_soft(soft)
    }

    /// Loads a DER key in either structure; `spki_first` only orders the attempts.
    ///
    /// # Errors
    /// [`KeyError::NotRsaKey`].
    pub fn from_der(der: &[u8], spki_first: bool) -> Result<Self, KeyError> {
        let (first, second): (ParseDer<Self>, ParseDer<Self>) = if spki_first {
            (Self::from_spki_der, Self::from_pkcs1_der)
        } else {
            (Self::from_pkcs1_der, Self::from_spki_der)
        };
        first(der).or_else(|_| second(der))
    }

    /// The RSA key of a DER X.509 certificate (a WeChat Pay platform certificate, a merchant
    /// API certificate).
    ///
    /// # Errors
    /// [`KeyError::Certificate`] if it is not a certificate, or its key is not RSA.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, KeyError> {
        use x509_parser::prelude::FromDer as _;
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)
            .map_err(|e| KeyError::Certificate(e.to_string()))?;
        Self::from_spki_der(cert.public_key().raw)
            .map_err(|_| KeyError::Certificate("the certificate's key is not RSA".to_owned()))
    }

    /// Loads a PEM public key: SubjectPublicKeyInfo (`PUBLIC KEY`, the form of WeChat Pay's
    /// `pub_key.pem` and Alipay's public keys), PKCS#1 (`RSA PUBLIC KEY`), or the key of a
    /// certificate (`CERTIFICATE`).
    ///
    /// # Errors
    /// [`KeyError`] describing the first problem found.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let pem = parse_pem(text)?.ok_or(KeyError::MalformedPem("no BEGIN line"))?;
        Self::from_pem_block(&pem)
    }

    /// Loads a parsed PEM block (see [`parse_pem`]).
    pub(crate) fn from_pem_block(pem: &Pem) -> Result<Self, KeyError> {
        match pem.label.as_str() {
            "PUBLIC KEY" => Self::from_der(&pem.der, true),
            "RSA PUBLIC KEY" => Self::from_der(&pem.der, false),
            "CERTIFICATE" => Self::from_certificate_der(&pem.der),
            other => Err(KeyError::UnsupportedLabel(other.to_owned())),
        }
    }

    fn from_soft(soft: ::rsa::PublicKey) -> Result<Self, KeyError> {
        let pkcs1_der = soft
            .to_pkcs1_der()
            .map_err(|_| KeyError::NotRsaKey)?
            .as_bytes()
            .to_vec();
        let spki_der = soft
            .to_public_key_der()
            .map_err(|_| KeyError::NotRsaKey)?
            .as_bytes()
            .to_vec();
        let bits = soft.size() * 8;
        let sha256 = if FAST_VERIFYING_BITS.contains(&bits) {
            lc::ParsedPublicKey::new(
                &lc::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                &pkcs1_der,
            )
            .ok()
        } else {
            None
        };
        Ok(Self(Arc::new(PublicInner {
            sha256,
            pkcs1_der,
            spki_der,
            soft,
        })))
    }

    /// The modulus size in bits (rounded up to whole bytes).
    #[must_use]
    pub fn bits(&self) -> usize {
        self.0.soft.size() * 8
    }

    /// The key as SubjectPublicKeyInfo DER.
    #[must_use]
    pub fn to_spki_der(&self) -> &[u8] {
        &self.0.spki_der
    }

    /// The key as SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`, 64-column lines, LF).
    #[must_use]
    pub fn to_spki_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.0.spki_der)
    }

    /// Verifies a raw RSASSA-PKCS1-v1_5 signature over `message`.
    ///
    /// # Errors
    /// [`Mismatch`].
    pub fn verify(&self, hash: Hash, message: &[u8], signature: &[u8]) -> Result<(), Mismatch> {
        let bits = self.bits();
        match hash {
            Hash::Sha256 => match &self.0.sha256 {
                Some(parsed) => parsed.verify_sig(message, signature).map_err(|_| Mismatch),
                None => self
                    .0
                    .soft
                    .pkcs1v15_verify::<sha2::Sha256>(message, signature)
                    .map_err(|_| Mismatch),
            },
            Hash::Sha1 if FAST_VERIFYING_BITS.contains(&bits) => lc::UnparsedPublicKey::new(
                &lc::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
                &self.0.pkcs1_der,
            )
            .verify(message, signature)
            .map_err(|_| Mismatch),
            Hash::Sha1 => self
                .0
                .soft
                .pkcs1v15_verify::<sha1::Sha1>(message, signature)
                .map_err(|_| Mismatch),
        }
    }

    /// The most bytes one RSA-OAEP (SHA-1) block of this key holds: modulus bytes − 42.
    #[must_use]
    pub fn oaep_sha1_max_plaintext(&self) -> usize {
        (self.bits() / 8).saturating_sub(2 * 20 + 2)
    }

    /// Encrypts one RSA-OAEP block (SHA-1 for the label hash and MGF1, empty label) with fresh
    /// randomness: what a client does to a sensitive field before sending it.
    ///
    /// # Errors
    /// [`RsaError::PlaintextTooLong`], or [`RsaError::Encryption`].
    pub fn oaep_sha1_encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, RsaError> {
        let max = self.oaep_sha1_max_plaintext();
        if plaintext.len() > max {
            return Err(RsaError::PlaintextTooLong {
                len: plaintext.len(),
                max,
            });
        }
        self.0
            .soft
            .oaep_encrypt::<sha1::Sha1>(plaintext)
            .map_err(|_| RsaError::Encryption)
    }
}

/// A PEM block: its label and decoded DER body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pem {
    /// The text between `-----BEGIN ` and `-----`, e.g. `PRIVATE KEY`.
    pub label: String,
    /// The decoded body.
    pub der: Vec<u8>,
}

/// Reads one PEM block leniently: CRLF or LF, any line length, the body possibly on one line.
/// Returns `Ok(None)` when the text has no `-----BEGIN` at all (headerless base64, which some
/// Alipay tools print).
///
/// # Errors
/// [`KeyError`] for text around the block, an unterminated or unmatched block, RFC 1421
/// encryption headers, or a body that is not base64.
pub fn parse_pem(text: &str) -> Result<Option<Pem>, KeyError> {
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
///
/// # Errors
/// [`KeyError::Empty`] or [`KeyError::Base64`].
pub fn decode_base64_body(body: &str) -> Result<Vec<u8>, KeyError> {
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(KeyError::Empty);
    }
    STANDARD.decode(compact).map_err(|_| KeyError::Base64)
}

/// PEM text of `der` under `label`: 64-column base64 lines, LF line ends, a final newline.
#[must_use]
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // Base64 is ASCII, so any byte offset is a char boundary.
    let mut rest = body.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::rsa::pkcs8::EncodePrivateKey as _;
    use std::sync::OnceLock;

    /// One generated key pair per size, shared by the tests (generation is slow).
    fn soft_key(bits: usize) -> ::rsa::PrivateKey {
        static K1024: OnceLock<::rsa::PrivateKey> = OnceLock::new();
        static K2048: OnceLock<::rsa::PrivateKey> = OnceLock::new();
        let cell = if bits == 1024 { &K1024 } else { &K2048 };
        cell.get_or_init(|| {
            ::rsa::PrivateKey::new(&mut rand::rngs::SysRng, bits).unwrap_or_else(|e| {
                unreachable!("key generation failed: {e}");
            })
        })
        .clone()
    }

    fn key(bits: usize) -> PrivateKey {
        let der = soft_key(bits).to_pkcs8_der().map(|d| d.as_bytes().to_vec());
        PrivateKey::from_pkcs8_der(&der.unwrap_or_default()).unwrap_or_else(|e| {
            unreachable!("{e}");
        })
    }

    #[test]
    fn fast_path_signatures_equal_the_rsa_crate_ones() {
        // PKCS#1 v1.5 is deterministic: aws-lc-rs and the rsa crate must give the same bytes.
        let k = key(2048);
        assert!(k.0.fast.is_some(), "2048-bit keys take the aws-lc-rs path");
        let message = b"{\"code\":\"10000\",\"msg\":\"Success\"}";
        let fast = k.sign(Hash::Sha256, message).unwrap_or_default();
        let soft = soft_key(2048)
            .pkcs1v15_sign::<sha2::Sha256>(message)
            .unwrap_or_default();
        assert_eq!(fast.len(), 256);
        assert_eq!(fast, soft);
        assert_eq!(
            k.to_public_key().verify(Hash::Sha256, message, &fast),
            Ok(())
        );
        assert_eq!(
            k.to_public_key().verify(Hash::Sha256, b"other", &fast),
            Err(Mismatch)
        );
        assert_eq!(
            k.to_public_key().verify(Hash::Sha1, message, &fast),
            Err(Mismatch)
        );
    }

    #[test]
    fn sha1_and_small_keys_use_the_rsa_crate() {
        let small = key(1024);
        assert!(small.0.fast.is_none());
        for k in [small, key(2048)] {
            for hash in [Hash::Sha1, Hash::Sha256] {
                let sig = k.sign(hash, b"a=1&b=2").unwrap_or_default();
                assert_eq!(sig.len(), k.bits() / 8);
                assert_eq!(k.to_public_key().verify(hash, b"a=1&b=2", &sig), Ok(()));
                let mut bad = sig.clone();
                if let Some(b) = bad.last_mut() {
                    *b ^= 1;
                }
                assert_eq!(
                    k.to_public_key().verify(hash, b"a=1&b=2", &bad),
                    Err(Mismatch)
                );
            }
        }
    }

    #[test]
    fn oaep_round_trip_and_limits() {
        let k = key(2048);
        let public = k.to_public_key();
        assert_eq!(public.oaep_sha1_max_plaintext(), 214);
        let ct = public
            .oaep_sha1_encrypt("张三".as_bytes())
            .unwrap_or_default();
        assert_eq!(ct.len(), 256);
        assert_eq!(k.oaep_sha1_decrypt(&ct), Ok("张三".as_bytes().to_vec()));
        // Randomised padding: the same plaintext never encrypts to the same block twice.
        assert_ne!(public.oaep_sha1_encrypt("张三".as_bytes()), Ok(ct.clone()));
        assert_eq!(
            public.oaep_sha1_encrypt(&[0; 215]),
            Err(RsaError::PlaintextTooLong { len: 215, max: 214 })
        );
        let mut tampered = ct;
        if let Some(b) = tampered.get_mut(10) {
            *b ^= 0x80;
        }
        assert_eq!(k.oaep_sha1_decrypt(&tampered), Err(RsaError::Decryption));
        assert_eq!(k.oaep_sha1_decrypt(b"short"), Err(RsaError::Decryption));
    }

    #[test]
    fn loads_every_encoding_to_the_same_key() {
        use ::rsa::pkcs1::EncodeRsaPrivateKey as _;
        let soft = soft_key(2048);
        let pkcs8 = soft.to_pkcs8_der().map(|d| d.as_bytes().to_vec());
        let pkcs1 = soft.to_pkcs1_der().map(|d| d.as_bytes().to_vec());
        let (pkcs8, pkcs1) = (pkcs8.unwrap_or_default(), pkcs1.unwrap_or_default());
        let reference = key(2048).to_public_key();
        for text in [
            pem_encode("PRIVATE KEY", &pkcs8),
            pem_encode("RSA PRIVATE KEY", &pkcs1),
            // A PKCS#8 body under a PKCS#1 label, CRLF line ends.
            pem_encode("RSA PRIVATE KEY", &pkcs8).replace('\n', "\r\n"),
        ] {
            let loaded = PrivateKey::from_pem(&text).map(|k| k.to_public_key());
            assert_eq!(loaded.as_ref().ok(), Some(&reference), "{text}");
        }
        let spki = reference.to_spki_der().to_vec();
        let public_pem = reference.to_spki_pem();
        assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(public_pem.lines().all(|l| l.len() <= 64));
        assert_eq!(
            PublicKey::from_pem(&public_pem).ok(),
            Some(reference.clone())
        );
        assert_eq!(PublicKey::from_der(&spki, false).ok(), Some(reference));
    }

    #[test]
    fn pem_defects_are_named() {
        assert_eq!(
            PrivateKey::from_pem("MIIB").err(),
            Some(KeyError::MalformedPem("no BEGIN line"))
        );
        assert_eq!(
            PrivateKey::from_pem("x\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .err(),
            Some(KeyError::MalformedPem("text before BEGIN line"))
        );
        assert_eq!(
            PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n").err(),
            Some(KeyError::MalformedPem("missing matching END line"))
        );
        assert_eq!(
            PrivateKey::from_pem(
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----"
            )
            .err(),
            Some(KeyError::Encrypted)
        );
        assert_eq!(
            PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----")
                .err(),
            Some(KeyError::Base64)
        );
        assert_eq!(
            PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .err(),
            Some(KeyError::NotRsaKey)
        );
        assert_eq!(
            PublicKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .err(),
            Some(KeyError::UnsupportedLabel("PRIVATE KEY".to_owned()))
        );
        assert!(matches!(
            PublicKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
            Err(KeyError::Certificate(_))
        ));
    }
}
