//! Error parts shared by every platform client: transport failures and configuration
//! problems. Each platform module has its own error enum built from these
//! ([`crate::wechat::Error`], [`crate::alipay::Error`]).

use std::path::PathBuf;

/// A request that got no HTTP response: the connection could not be made, or it failed or
/// timed out before a complete response arrived.
///
/// The key question for a payment is whether the platform may have received the request:
/// [`TransportError::maybe_delivered`]. When it may have, the refund may have been made, and
/// the only safe next step is to send the same request again (same refund number, same
/// amounts) or to query it, never to make a new refund.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", self.summary())]
pub struct TransportError {
    #[source]
    source: reqwest::Error,
    maybe_delivered: bool,
    timed_out: bool,
}

impl TransportError {
    /// Classifies a reqwest error.
    ///
    /// Connection failures (TCP connect, TLS handshake, connect timeout) happen before any
    /// byte of the request is written: not delivered. Everything later (the request was
    /// being written, or its answer awaited or read) may have been delivered.
    pub fn from_reqwest(source: reqwest::Error) -> Self {
        let maybe_delivered = !(source.is_connect() || source.is_builder());
        let timed_out = source.is_timeout();
        Self {
            source,
            maybe_delivered,
            timed_out,
        }
    }

    /// Whether the platform may have received the request (and acted on it).
    pub fn maybe_delivered(&self) -> bool {
        self.maybe_delivered
    }

    /// Whether a timeout ended it (connect timeout or the per-request timeout).
    pub fn is_timeout(&self) -> bool {
        self.timed_out
    }

    /// Whether the connection could not be made at all (nothing was sent).
    pub fn is_connect(&self) -> bool {
        !self.maybe_delivered
    }

    /// The underlying reqwest error.
    pub fn reqwest_error(&self) -> &reqwest::Error {
        &self.source
    }

    fn summary(&self) -> &'static str {
        match (self.timed_out, self.maybe_delivered) {
            (true, true) => {
                "timed out waiting for the response (the request may have been received)"
            }
            (true, false) => "timed out connecting (nothing was sent)",
            (false, true) => {
                "connection failed during the exchange (the request may have been received)"
            }
            (false, false) => "could not connect (nothing was sent)",
        }
    }
}

/// A client that cannot be built or used as configured: unreadable certificates or keys, a
/// bad base URL, a missing merchant certificate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A PEM certificate or key could not be used.
    #[error("PEM: {0}")]
    Pem(String),
    /// A PKCS#12 (`.p12`) file could not be opened (wrong password, unsupported algorithm,
    /// no key and certificate inside).
    #[error("PKCS#12: {0}")]
    Pkcs12(String),
    /// rustls refused the TLS settings (for example a key that does not match its
    /// certificate).
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// The base URL is not an absolute `https://` (or `http://`) URL.
    #[error("invalid base URL {url:?}: {reason}")]
    BaseUrl {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A credential (merchant id, app id, API key) is malformed.
    #[error("invalid {field}: {reason}")]
    Credential {
        /// Which one.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// An RSA key (Alipay's app private key or platform public key) could not be loaded, or
    /// the keys do not fit together.
    #[error("{key}: {reason}")]
    Key {
        /// Which key.
        key: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The endpoint needs the merchant API certificate and the client has none.
    #[error("this call needs the merchant API certificate (apiclient_cert); none was configured")]
    NoClientCertificate,
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}
