//! `GET /v3/certificates` (spec §1.8): the platform certificates, AEAD-encrypted with the
//! APIv3 key, downloaded, decrypted, checked and optionally trusted.

use paysandbox_protocol::rsa::PublicKey;
use paysandbox_protocol::wechat::v3::decode::lenient;
use paysandbox_protocol::wechat::v3::identity;
use paysandbox_protocol::wechat::v3::messages::CertificatesResponse;
use paysandbox_protocol::wechat::v3::response::VerifyError;
use reqwest::Method;

use super::client::{Client, Received, platform_certificate, unix_now};
use super::error::Error;

/// The path, RSA certificates only (what the official downloaders ask for).
const CERTIFICATES_PATH: &str = "/v3/certificates?algorithm_type=RSA";

/// One platform certificate, decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadedCertificate {
    /// Its serial (upper-case hex), checked against the certificate itself.
    pub serial_no: String,
    /// Valid from (RFC 3339).
    pub effective_time: String,
    /// Valid until (RFC 3339).
    pub expire_time: String,
    /// The certificate, PEM.
    pub pem: String,
    /// Its public key.
    pub public_key: PublicKey,
}

impl Client {
    /// Downloads and decrypts the platform certificates (needs the APIv3 key).
    ///
    /// The answer must verify like every other. A client that does not know the signing
    /// certificate yet (the first download) accepts a signature by one of the certificates
    /// in the answer itself: they decrypted with the merchant's APIv3 key, a secret only the
    /// platform shares, which is how the official downloaders start too. Nothing is trusted
    /// for later calls unless [`Client::refresh_platform_certificates`] is used.
    ///
    /// # Errors
    /// [`Error`]; a merchant in public-key mode has no certificates (the platform answers an
    /// error).
    pub async fn download_certificates(&self) -> Result<Vec<DownloadedCertificate>, Error> {
        let key = self.apiv3_key()?.clone();
        self.execute(Method::GET, CERTIFICATES_PATH, None, move |received| {
            if !(200..300).contains(&received.status) {
                return Err(received.into_error());
            }
            match self.verify(&received) {
                Ok(()) => {}
                Err(Error::Signature(VerifyError::UnknownSerial(_))) => {
                    let downloaded = decrypt_all(&received, &key)?;
                    self.verify_bootstrap(&received, &downloaded)?;
                }
                Err(e) => return Err(e),
            }
            if received.status != 200 {
                return Err(received.into_http_error());
            }
            decrypt_all(&received, &key)
        })
        .await
    }

    /// Downloads the platform certificates ([`Client::download_certificates`]) and trusts
    /// every one of them from now on; returns them.
    ///
    /// # Errors
    /// As [`Client::download_certificates`].
    pub async fn refresh_platform_certificates(&self) -> Result<Vec<DownloadedCertificate>, Error> {
        let downloaded = self.download_certificates().await?;
        for certificate in &downloaded {
            self.trust_platform_key(&certificate.serial_no, certificate.public_key.clone());
        }
        Ok(downloaded)
    }

    fn verify_bootstrap(
        &self,
        received: &Received,
        downloaded: &[DownloadedCertificate],
    ) -> Result<(), Error> {
        let extra: Vec<_> = downloaded
            .iter()
            .map(|c| (c.serial_no.clone(), c.public_key.clone()))
            .collect();
        self.verifier_with(&extra)
            .verify(&received.signature_headers(), &received.body, unix_now())
            .map(|_| ())
            .map_err(Error::Signature)
    }
}

fn decrypt_all(
    received: &Received,
    key: &paysandbox_protocol::wechat::v3::aead::ApiV3Key,
) -> Result<Vec<DownloadedCertificate>, Error> {
    let answer: CertificatesResponse =
        lenient(&received.body).map_err(|e| Error::decode(e.to_string()))?;
    answer
        .data
        .into_iter()
        .map(|entry| {
            let pem = entry
                .certificate_pem(key)
                .map_err(|e| Error::decode(format!("certificate {}: {e}", entry.serial_no)))?;
            let (serial, public_key) = platform_certificate(&pem)
                .map_err(|e| Error::decode(format!("certificate {}: {e}", entry.serial_no)))?;
            if !identity::same_serial(&serial, &entry.serial_no) {
                return Err(Error::decode(format!(
                    "certificate listed as {} has serial {serial}",
                    entry.serial_no
                )));
            }
            Ok(DownloadedCertificate {
                serial_no: serial,
                effective_time: entry.effective_time,
                expire_time: entry.expire_time,
                pem,
                public_key,
            })
        })
        .collect()
}
