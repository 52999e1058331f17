//! TLS for the platform clients: the merchant's client certificate ([`Identity`]) and which
//! server certificates to trust ([`TrustRoots`]).
//!
//! Configurations are built with rustls and the `ring` provider passed explicitly, so nothing
//! depends on a process-wide default provider. The public roots are Mozilla's
//! (`webpki-roots`), which is what the real `api.mch.weixin.qq.com` and Alipay gateways
//! chain to; a mock such as paysandbox adds its own CA with [`TrustRoots::add_pem`].

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::ConfigError;

fn read(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// A client certificate chain and its private key: the merchant API certificate that
/// WeChat Pay's `/secapi/` endpoints require (mutual TLS).
///
/// WeChat delivers it as `apiclient_cert.pem` + `apiclient_key.pem`, and as
/// `apiclient_cert.p12` whose password is the merchant id.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("certificates", &self.chain.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// From PEM text: the certificate chain (leaf first) and the private key (PKCS#8,
    /// PKCS#1 or SEC1).
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, ConfigError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConfigError::Pem(format!("certificate: {e}")))?;
        if chain.is_empty() {
            return Err(ConfigError::Pem(
                "no CERTIFICATE block in the certificate file".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| ConfigError::Pem(format!("private key: {e}")))?;
        Ok(Self { chain, key })
    }

    /// From `apiclient_cert.pem` and `apiclient_key.pem`.
    pub fn from_pem_files(
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Self, ConfigError> {
        Self::from_pem(&read(cert_path.as_ref())?, &read(key_path.as_ref())?)
    }

    /// From PKCS#12 bytes. Legacy algorithms (3DES, RC2, SHA-1 MAC) are supported, as real
    /// merchant files use them.
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Self, ConfigError> {
        let store = KeyStore::from_pkcs12(der, password, Pkcs12ImportPolicy::Relaxed)
            .map_err(|e| ConfigError::Pkcs12(e.to_string()))?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| ConfigError::Pkcs12("no private key in the file".into()))?;
        let certs: Vec<CertificateDer<'static>> = chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect();
        if certs.is_empty() {
            return Err(ConfigError::Pkcs12(
                "no certificate for the private key".into(),
            ));
        }
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
        Ok(Self { chain: certs, key })
    }

    /// From an `apiclient_cert.p12` file.
    pub fn from_pkcs12_file(path: impl AsRef<Path>, password: &str) -> Result<Self, ConfigError> {
        Self::from_pkcs12(&read(path.as_ref())?, password)
    }

    /// The certificate chain, leaf first (DER).
    pub fn certificate_chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }
}

/// Which server certificates a client trusts.
///
/// [`TrustRoots::default`] trusts the public web roots only. Add a private CA (paysandbox's
/// `ca.pem`) with [`TrustRoots::add_pem`]; drop the public roots with
/// [`TrustRoots::without_public_roots`] to trust the private CA alone.
#[derive(Debug, Clone)]
pub struct TrustRoots {
    public: bool,
    extra: Vec<CertificateDer<'static>>,
}

impl Default for TrustRoots {
    fn default() -> Self {
        Self {
            public: true,
            extra: Vec::new(),
        }
    }
}

impl TrustRoots {
    /// The public web roots (Mozilla's list).
    pub fn public() -> Self {
        Self::default()
    }

    /// Stops trusting the public roots: only certificates added here are trusted.
    pub fn without_public_roots(mut self) -> Self {
        self.public = false;
        self
    }

    /// Also trusts every certificate in this PEM text.
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<(), ConfigError> {
        let before = self.extra.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            self.extra
                .push(cert.map_err(|e| ConfigError::Pem(format!("CA certificate: {e}")))?);
        }
        if self.extra.len() == before {
            return Err(ConfigError::Pem(
                "no CERTIFICATE block in the CA file".into(),
            ));
        }
        Ok(())
    }

    /// Also trusts every certificate in this PEM file.
    pub fn add_pem_file(&mut self, path: impl AsRef<Path>) -> Result<(), ConfigError> {
        self.add_pem(&read(path.as_ref())?)
    }

    /// Also trusts this DER certificate.
    pub fn add_der(&mut self, der: CertificateDer<'static>) {
        self.extra.push(der);
    }

    fn store(&self) -> Result<RootCertStore, ConfigError> {
        let mut store = RootCertStore::empty();
        if self.public {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for cert in &self.extra {
            store.add(cert.clone())?;
        }
        Ok(store)
    }
}

/// A rustls client configuration (TLS 1.2 and 1.3, `ring`) trusting `roots` and presenting
/// `identity` when the server asks for a client certificate.
pub fn client_config(
    roots: &TrustRoots,
    identity: Option<&Identity>,
) -> Result<rustls::ClientConfig, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots.store()?);
    Ok(match identity {
        None => builder.with_no_client_auth(),
        Some(id) => builder.with_client_auth_cert(id.chain.clone(), id.key.clone_key())?,
    })
}
