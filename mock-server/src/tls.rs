//! The HTTPS side: a rustls acceptor that asks every client for a certificate and lets the
//! routes decide, like nginx's `ssl_verify_client optional` in front of WeChat Pay.
//!
//! The handshake accepts any client certificate whose key signs the handshake; whether the
//! certificate chains to the sandbox CA is decided afterwards and handed to the routes as a
//! [`PeerCert`]. That is what lets `/secapi/` answer the real HTTP 400 pages ("No required SSL
//! certificate was sent", "The SSL certificate error") instead of failing the handshake, and
//! lets every other path ignore the certificate.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};

/// What the client presented during the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerCert {
    /// No certificate (or a plain-HTTP connection).
    None,
    /// A certificate issued by the sandbox CA; `mch_id` is its subject CN.
    Trusted {
        /// Subject CN: the merchant the certificate was issued to.
        mch_id: Option<String>,
    },
    /// A certificate that does not chain to the sandbox CA, or is expired.
    Untrusted,
}

/// Errors building the TLS configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// A PEM file could not be parsed.
    #[error("bad PEM in {what}: {detail}")]
    Pem {
        /// Which input.
        what: &'static str,
        /// Parser message.
        detail: String,
    },
    /// rustls refused the configuration.
    #[error(transparent)]
    Rustls(#[from] rustls::Error),
    /// The client verifier could not be built.
    #[error("client verifier: {0}")]
    Verifier(String),
}

/// The rustls provider used everywhere in the server (ring: builds with a C compiler only).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts any client certificate in the handshake but keeps the real verifier to classify
/// it afterwards and to check handshake signatures (proof of possession of the key).
#[derive(Debug)]
struct OptionalClientCert {
    inner: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for OptionalClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Classifies client certificates after the handshake.
#[derive(Debug, Clone)]
pub struct PeerClassifier {
    verifier: Arc<dyn ClientCertVerifier>,
}

impl PeerClassifier {
    /// Classifies the certificate chain a client presented.
    pub fn classify(&self, chain: Option<&[CertificateDer<'static>]>) -> PeerCert {
        let Some((end_entity, intermediates)) = chain.and_then(|c| c.split_first()) else {
            return PeerCert::None;
        };
        match self
            .verifier
            .verify_client_cert(end_entity, intermediates, UnixTime::now())
        {
            Ok(_) => PeerCert::Trusted {
                mch_id: paysandbox_certs::mch_id_from_cert_der(end_entity.as_ref()),
            },
            Err(_) => PeerCert::Untrusted,
        }
    }
}

/// Builds the server configuration from PEM text: the server chain and key, and the CA that
/// issues merchant certificates. HTTP/1.1 only, like the real API.
pub fn server_config(
    server_cert_pem: &str,
    server_key_pem: &str,
    client_ca_pem: &str,
) -> Result<(Arc<ServerConfig>, PeerClassifier), TlsSetupError> {
    use rustls::pki_types::pem::PemObject;

    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(server_cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| TlsSetupError::Pem {
                what: "server certificate",
                detail: e.to_string(),
            })?;
    let key = PrivateKeyDer::from_pem_slice(server_key_pem.as_bytes()).map_err(|e| {
        TlsSetupError::Pem {
            what: "server key",
            detail: e.to_string(),
        }
    })?;
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(client_ca_pem.as_bytes()) {
        let ca = ca.map_err(|e| TlsSetupError::Pem {
            what: "client CA",
            detail: e.to_string(),
        })?;
        roots.add(ca)?;
    }
    let provider = provider();
    let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| TlsSetupError::Verifier(e.to_string()))?;
    let classifier = PeerClassifier {
        verifier: inner.clone(),
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(OptionalClientCert { inner }))
        .with_single_cert(chain, key)?;
    // deviation: wx-http2 (no HTTP/2, like the real API)
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), classifier))
}
