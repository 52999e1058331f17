//! The HTTP transport settings both clients share (timeouts, trusted roots) and the one place
//! that turns them, with an optional merchant identity, into a `reqwest::Client`.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::ConfigError;
use crate::tls::{self, Identity, TrustRoots};

/// A CA to trust besides (or instead of) the public roots, read at build time.
#[derive(Debug)]
enum CaSource {
    Pem(Vec<u8>),
    File(PathBuf),
}

/// What a client builder collects about the transport; nothing is read until
/// [`TransportOptions::http_client`].
#[derive(Debug)]
pub(crate) struct TransportOptions {
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) public_roots: bool,
    extra_cas: Vec<CaSource>,
}

impl TransportOptions {
    /// Public roots, no extra CA, these timeouts.
    pub(crate) fn new(timeout: Duration, connect_timeout: Duration) -> Self {
        TransportOptions {
            timeout,
            connect_timeout,
            public_roots: true,
            extra_cas: Vec::new(),
        }
    }

    /// Also trust the CA certificate(s) in this PEM file.
    pub(crate) fn add_ca_file(&mut self, path: PathBuf) {
        self.extra_cas.push(CaSource::File(path));
    }

    /// Also trust the CA certificate(s) in this PEM text.
    pub(crate) fn add_ca_pem(&mut self, pem: Vec<u8>) {
        self.extra_cas.push(CaSource::Pem(pem));
    }

    /// Reads the extra CAs and builds the HTTP client: rustls with ring, no redirects (a
    /// payment API never redirects; following one would resend a signed request elsewhere).
    pub(crate) fn http_client(
        &self,
        identity: Option<&Identity>,
    ) -> Result<reqwest::Client, ConfigError> {
        let mut roots = TrustRoots::public();
        if !self.public_roots {
            roots = roots.without_public_roots();
        }
        for ca in &self.extra_cas {
            match ca {
                CaSource::Pem(pem) => roots.add_pem(pem)?,
                CaSource::File(path) => roots.add_pem_file(path)?,
            }
        }
        let tls = tls::client_config(&roots, identity)?;
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("paysandbox-sdk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ConfigError::HttpClient)
    }
}
