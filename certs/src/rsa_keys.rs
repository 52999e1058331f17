//! RSA key pairs in every encoding the Alipay clients expect.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};

use crate::CertError;

/// One RSA key pair, encoded every way an Alipay client or tool might want it.
///
/// Alipay SDKs disagree on formats (PKCS#1 vs PKCS#8, with or without PEM headers), so fixtures
/// ship all of them. Base64 forms are standard alphabet with padding, on a single line.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaKeyPair {
    /// Private key, PKCS#1 PEM (`RSA PRIVATE KEY`).
    pub private_pkcs1_pem: String,
    /// Private key, PKCS#8 PEM (`PRIVATE KEY`).
    pub private_pkcs8_pem: String,
    /// Public key, SubjectPublicKeyInfo PEM (`PUBLIC KEY`).
    pub public_pem: String,
    /// Private key: bare base64 of the PKCS#8 DER, one line, as Alipay's key tool prints it
    /// (what the Java SDK takes).
    pub private_base64: String,
    /// Private key: bare base64 of the PKCS#1 DER, one line (what the official Python SDK takes:
    /// it wraps the text in `RSA PRIVATE KEY` headers itself).
    pub private_pkcs1_base64: String,
    /// Public key: bare base64 of the SubjectPublicKeyInfo DER, one line.
    pub public_base64: String,
}

impl fmt::Debug for RsaKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKeyPair")
            .field("public_pem", &self.public_pem)
            .field("private", &"[elided]")
            .finish()
    }
}

/// Generates an RSA key pair of `bits` bits (public exponent 65537). Alipay uses 2048.
pub fn generate_rsa_keypair(bits: usize) -> Result<RsaKeyPair, CertError> {
    encode_keypair(&new_private_key(bits)?)
}

/// Every encoding of an existing private key and its public key.
pub(crate) fn encode_keypair(key: &rsa::PrivateKey) -> Result<RsaKeyPair, CertError> {
    let public = key.to_public_key();
    let pkcs8_der = key.to_pkcs8_der()?;
    let pkcs1_der = key.to_pkcs1_der()?;
    let spki_der = public.to_public_key_der()?;
    Ok(RsaKeyPair {
        private_pkcs1_pem: key.to_pkcs1_pem(LineEnding::LF)?.to_string(),
        private_pkcs8_pem: key.to_pkcs8_pem(LineEnding::LF)?.to_string(),
        public_pem: public.to_public_key_pem(LineEnding::LF)?,
        private_base64: STANDARD.encode(pkcs8_der.as_bytes()),
        private_pkcs1_base64: STANDARD.encode(pkcs1_der.as_bytes()),
        public_base64: STANDARD.encode(spki_der.as_bytes()),
    })
}

/// A fresh RSA private key from the operating system's RNG.
pub(crate) fn new_private_key(bits: usize) -> Result<rsa::PrivateKey, CertError> {
    Ok(rsa::PrivateKey::new(&mut rand::rngs::SysRng, bits)?)
}
