//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while generating, loading or packaging certificates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// rcgen refused to build or sign a certificate, or to load a key.
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),

    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The PKCS#12 writer (or reader) failed.
    #[error("PKCS#12 error: {0}")]
    Pkcs12(#[from] p12_keystore::error::Error),

    /// RSA key generation failed.
    #[error("RSA error: {0}")]
    Rsa(#[from] rsa::Error),

    /// Encoding or decoding an RSA key as PKCS#1 failed.
    #[error("PKCS#1 error: {0}")]
    Pkcs1(#[from] rsa::pkcs1::Error),

    /// Encoding or decoding a private key as PKCS#8 failed.
    #[error("PKCS#8 error: {0}")]
    Pkcs8(#[from] rsa::pkcs8::Error),

    /// Encoding or decoding a public key as SubjectPublicKeyInfo failed.
    #[error("SubjectPublicKeyInfo error: {0}")]
    Spki(#[from] rsa::pkcs8::spki::Error),

    /// Text that should hold a PEM block of the given label does not.
    #[error("expected a PEM \"{label}\" block: {reason}")]
    Pem {
        /// The PEM label that was expected, e.g. `CERTIFICATE`.
        label: &'static str,
        /// What was wrong with the input.
        reason: String,
    },

    /// Bytes that should be an X.509 certificate do not parse as one.
    #[error("invalid X.509 certificate: {0}")]
    InvalidCertificate(String),

    /// The certificate handed to [`CertificateAuthority::from_pem`](crate::CertificateAuthority::from_pem)
    /// is not a CA certificate (no `basicConstraints CA:TRUE`).
    #[error("certificate is not a CA certificate")]
    NotCa,

    /// The private key does not belong to the certificate it was paired with.
    #[error("private key does not match the certificate's public key")]
    KeyMismatch,

    /// A mch_id is not 1..=32 characters of `[0-9A-Za-z_-]`.
    #[error("invalid mch_id {0:?}: expected 1 to 32 characters of [0-9A-Za-z_-]")]
    InvalidMchId(String),

    /// An Alipay app_id is not 1..=32 characters of `[0-9A-Za-z_-]`.
    #[error("invalid app_id {0:?}: expected 1 to 32 characters of [0-9A-Za-z_-]")]
    InvalidAppId(String),

    /// A server certificate was requested for no host at all, or for an empty host name.
    #[error("a server certificate needs at least one host name or IP address, none empty")]
    NoHosts,
}

impl CertError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
