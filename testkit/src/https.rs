//! HTTP clients for tests: HTTPS trusting the sandbox CA alone, presenting a merchant
//! certificate, any PEM pair or nothing; and plain HTTP.
//!
//! The TLS configuration is the SDK's ([`paysandbox_sdk::tls::client_config`]: rustls with
//! the `ring` provider passed explicitly), so nothing here installs a process-wide provider
//! that could hide a client which forgot its own.
// A CA or certificate that does not load is a broken test.
#![allow(clippy::panic)]

use paysandbox_sdk::tls::{self, Identity, TrustRoots};

use crate::files::merchant_dir;

/// Which client certificate an HTTPS client presents.
#[derive(Debug, Clone)]
pub enum ClientCert {
    /// None: the server sees a peer without a certificate.
    None,
    /// The certificate the sandbox issued to this merchant (`apiclient_cert.pem`).
    Merchant(&'static str),
    /// Any PEM pair: the certificate chain and its private key.
    Pem(String, String),
}

/// An HTTPS client trusting only `ca_pem` and presenting `cert`.
///
/// # Panics
/// The CA or the certificate does not parse, or the merchant has no files: a broken test.
pub fn https_client(ca_pem: &str, cert: ClientCert) -> reqwest::Client {
    let mut roots = TrustRoots::public().without_public_roots();
    roots
        .add_pem(ca_pem.as_bytes())
        .unwrap_or_else(|e| panic!("sandbox CA: {e}"));
    let identity = match cert {
        ClientCert::None => None,
        ClientCert::Merchant(mch_id) => {
            let dir = merchant_dir(mch_id);
            let identity = Identity::from_pem_files(
                dir.join("apiclient_cert.pem"),
                dir.join("apiclient_key.pem"),
            );
            Some(identity.unwrap_or_else(|e| panic!("merchant {mch_id}: {e}")))
        }
        ClientCert::Pem(cert, key) => Some(
            Identity::from_pem(cert.as_bytes(), key.as_bytes())
                .unwrap_or_else(|e| panic!("PEM pair: {e}")),
        ),
    };
    client(&roots, identity.as_ref())
}

/// A client for plain HTTP (and HTTPS to hosts with public certificates).
pub fn http_client() -> reqwest::Client {
    client(&TrustRoots::public(), None)
}

/// An answer's status, `Content-Type` (empty when absent) and body; `url` names the request
/// in the panic if the body cannot be read.
///
/// # Panics
/// The body cannot be read: a broken test.
pub async fn read_answer(response: reqwest::Response, url: &str) -> (u16, String, String) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let body = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    (status, content_type, body)
}

/// A reqwest client with this TLS configuration.
///
/// # Panics
/// rustls refuses the configuration: a broken test.
pub fn client(roots: &TrustRoots, identity: Option<&Identity>) -> reqwest::Client {
    let config = tls::client_config(roots, identity).unwrap_or_else(|e| panic!("TLS: {e}"));
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .unwrap_or_else(|e| panic!("HTTP client: {e}"))
}
