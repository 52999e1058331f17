//! Small parsing helpers shared by the CA, the store and the public lookups.

use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{OID_X509_COMMON_NAME, OID_X509_ORGANIZATIONAL_UNIT};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use crate::CertError;

/// PEM label of an X.509 certificate.
pub(crate) const CERTIFICATE: &str = "CERTIFICATE";
/// PEM label of an unencrypted PKCS#8 private key.
pub(crate) const PRIVATE_KEY: &str = "PRIVATE KEY";

/// Decodes the first PEM block of `text`, which must carry `label`.
pub(crate) fn pem_block(text: &str, label: &'static str) -> Result<Vec<u8>, CertError> {
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(text.as_bytes()).map_err(|e| CertError::Pem {
            label,
            reason: e.to_string(),
        })?;
    if pem.label != label {
        return Err(CertError::Pem {
            label,
            reason: format!("found a \"{}\" block", pem.label),
        });
    }
    Ok(pem.contents)
}

/// Parses a DER certificate, requiring that nothing follows it.
pub(crate) fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, CertError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(CertError::InvalidCertificate(
            "trailing bytes after the certificate".to_owned(),
        )),
        Err(e) => Err(CertError::InvalidCertificate(e.to_string())),
    }
}

/// First common name of a distinguished name, if it is a readable string.
pub(crate) fn common_name(name: &X509Name<'_>) -> Option<String> {
    first_attr(name, &OID_X509_COMMON_NAME)
}

/// First organizational unit of a distinguished name (the company, in merchant certificates).
pub(crate) fn organizational_unit(name: &X509Name<'_>) -> Option<String> {
    first_attr(name, &OID_X509_ORGANIZATIONAL_UNIT)
}

fn first_attr(name: &X509Name<'_>, oid: &x509_parser::der_parser::Oid<'_>) -> Option<String> {
    name.iter_by_oid(oid)
        .next()
        .and_then(|attr| attr.as_str().ok())
        .map(str::to_owned)
}

/// Whether the PKCS#8 `key_der` is the private half of the certificate's public key.
pub(crate) fn key_matches_cert(key_der: &[u8], cert: &X509Certificate<'_>) -> bool {
    use rcgen::PublicKeyData as _;
    // rcgen (ring) reads RSA and ECDSA PKCS#8 keys and re-encodes their SPKI canonically,
    // which is how both rcgen and the rsa crate encode the certificates' SPKI.
    rcgen::KeyPair::try_from(key_der)
        .is_ok_and(|key| key.subject_public_key_info() == cert.public_key().raw)
}

/// Whether `cert` was issued and signed by `ca`.
pub(crate) fn is_signed_by(cert: &X509Certificate<'_>, ca: &X509Certificate<'_>) -> bool {
    // Verifiers match the issuer name byte for byte before they check the signature.
    cert.issuer().as_raw() == ca.subject().as_raw()
        && cert.verify_signature(Some(ca.public_key())).is_ok()
}

/// Whether `cert` is still valid `margin` from now; used to renew certificates before they lapse.
pub(crate) fn valid_for_at_least(cert: &X509Certificate<'_>, margin: time::Duration) -> bool {
    let now = time::OffsetDateTime::now_utc();
    let validity = cert.validity();
    validity.not_before.to_datetime() <= now && now + margin < validity.not_after.to_datetime()
}
