//! The development CA and the certificates it issues.

use std::fmt;
use std::net::IpAddr;

use rcgen::string::Ia5String;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType, SerialNumber,
};
use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use time::{Duration, OffsetDateTime};

use crate::x509::{self, CERTIFICATE, PRIVATE_KEY};
use crate::{CertError, rsa_keys};

/// Organization (O) of every real WeChat Pay merchant API certificate.
pub const MERCHANT_ORGANIZATION: &str = "微信商户系统";

/// Common name of real WeChat Pay platform certificates, whose whole subject is
/// `CN=Tenpay.com sign, O=Tenpay.com, OU=Tenpay.com CA Center, C=CN, L=ShenZhen` (read from the
/// certificate in wechatpay-java's `/v3/certificates` test vector).
pub const PLATFORM_COMMON_NAME: &str = "Tenpay.com sign";

const CA_VALIDITY_DAYS: i64 = 3652;
const MERCHANT_VALIDITY_DAYS: i64 = 5 * 365 + 1;
/// Platform certificates last five years (spec wechat-v3.md §1.8).
const PLATFORM_VALIDITY_DAYS: i64 = 5 * 365 + 1;
/// 825 days is the longest TLS server validity Apple platforms accept from a private CA.
const SERVER_VALIDITY_DAYS: i64 = 825;
const MERCHANT_KEY_BITS: usize = 2048;

/// A certificate authority: its self-signed certificate and private key, able to issue
/// server and merchant certificates.
///
/// It keeps only encoded bytes, so it is cheap to clone and can be shared between threads;
/// the signing key is re-read for each certificate it issues.
#[derive(Clone)]
pub struct CertificateAuthority {
    cert_pem: String,
    cert_der: Vec<u8>,
    key_pem: String,
    key_der: Vec<u8>,
}

/// A certificate issued by a [`CertificateAuthority`], with its private key.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCert {
    /// The certificate, PEM (`CERTIFICATE`).
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM (`PRIVATE KEY`).
    pub key_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("cert_pem", &self.cert_pem)
            .field("key", &"[elided]")
            .finish()
    }
}

impl fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCert")
            .field("cert_pem", &self.cert_pem)
            .field("key", &"[elided]")
            .finish()
    }
}

impl CertificateAuthority {
    /// Creates a new self-signed CA: ECDSA P-256, 10 years, `CA:TRUE` (path length 0: it only
    /// issues end-entity certificates), key usage keyCertSign and cRLSign.
    pub fn generate(common_name: &str) -> Result<Self, CertError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = base_params(CA_VALIDITY_DAYS);
        params.distinguished_name = name(&[(DnType::CommonName, common_name)]);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem: key.serialize_pem(),
            key_der: key.serialize_der(),
        })
    }

    /// Reloads a CA saved earlier from its certificate PEM and PKCS#8 private key PEM.
    ///
    /// Certificates issued afterwards name the CA exactly as its certificate does and carry its
    /// subject key identifier, so they chain to that same certificate. Fails if the certificate is
    /// not a CA or the key is not its key. The PEM text is kept as given.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, CertError> {
        let cert_der = x509::pem_block(cert_pem, CERTIFICATE)?;
        let key_der = x509::pem_block(key_pem, PRIVATE_KEY)?;
        let cert = x509::parse_cert(&cert_der)?;
        if !cert.is_ca() {
            return Err(CertError::NotCa);
        }
        if !x509::key_matches_cert(&key_der, &cert) {
            return Err(CertError::KeyMismatch);
        }
        Ok(Self {
            cert_pem: cert_pem.to_owned(),
            cert_der,
            key_pem: key_pem.to_owned(),
            key_der,
        })
    }

    /// The CA certificate, PEM: what clients must trust.
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// The CA private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> String {
        self.key_pem.clone()
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> Vec<u8> {
        self.cert_der.clone()
    }

    /// Whether `cert_der` is a certificate this CA issued (issuer name and signature both match).
    pub fn has_issued(&self, cert_der: &[u8]) -> bool {
        match (x509::parse_cert(cert_der), x509::parse_cert(&self.cert_der)) {
            (Ok(cert), Ok(ca)) => x509::is_signed_by(&cert, &ca),
            _ => false,
        }
    }

    /// Issues a TLS server certificate with an ECDSA P-256 key.
    ///
    /// Every host becomes a subject alternative name: an IP address SAN if it parses as one
    /// (`[::1]` brackets are accepted), a DNS name SAN otherwise. The subject CN is the first
    /// host. Extended key usage serverAuth; valid for 825 days.
    pub fn issue_server(&self, hosts: &[&str]) -> Result<IssuedCert, CertError> {
        let first = hosts.first().ok_or(CertError::NoHosts)?;
        let mut params = base_params(SERVER_VALIDITY_DAYS);
        params.distinguished_name = name(&[(DnType::CommonName, first)]);
        params.subject_alt_names = hosts
            .iter()
            .map(|host| san(host))
            .collect::<Result<_, _>>()?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];

        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let cert = params.signed_by(&key, &self.issuer()?)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem: key.serialize_pem(),
            key_der: key.serialize_der(),
        })
    }

    /// Issues a WeChat Pay style merchant API (client) certificate.
    ///
    /// Like the real ones: RSA-2048 key, subject `CN=<mch_id>, O=微信商户系统, OU=<company>`
    /// (OU left out when `company` is empty), 5 years, random 20-byte serial. Extended key usage
    /// clientAuth. `mch_id` must be 1..=32 characters of `[0-9A-Za-z_-]`.
    pub fn issue_merchant(&self, mch_id: &str, company: &str) -> Result<IssuedCert, CertError> {
        validate_mch_id(mch_id)?;
        let mut params = base_params(MERCHANT_VALIDITY_DAYS);
        let mut subject = vec![
            (DnType::CommonName, mch_id),
            (DnType::OrganizationName, MERCHANT_ORGANIZATION),
        ];
        if !company.is_empty() {
            // DirectoryString has SIZE (1..MAX): an empty OU would be malformed.
            subject.push((DnType::OrganizationalUnitName, company));
        }
        params.distinguished_name = name(&subject);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue_rsa(params)
    }

    /// Issues a WeChat Pay API v3 platform certificate: what the platform signs answers and
    /// notifications with and what `/v3/certificates` serves, encrypted.
    ///
    /// Like the real ones: RSA-2048, the subject of [`PLATFORM_COMMON_NAME`], five years, random 20-byte
    /// serial, key usages digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment
    /// and keyAgreement, no extended key usage. Issued by this CA, not Tenpay's root.
    pub fn issue_platform(&self) -> Result<IssuedCert, CertError> {
        let mut params = base_params(PLATFORM_VALIDITY_DAYS);
        params.distinguished_name = name(&[
            (DnType::CommonName, PLATFORM_COMMON_NAME),
            (DnType::OrganizationName, "Tenpay.com"),
            (DnType::OrganizationalUnitName, "Tenpay.com CA Center"),
            (DnType::CountryName, "CN"),
            (DnType::LocalityName, "ShenZhen"),
        ]);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::DataEncipherment,
            KeyUsagePurpose::KeyAgreement,
        ];
        self.issue_rsa(params)
    }

    /// Signs `params` over a fresh RSA-2048 key (rcgen cannot generate RSA keys itself).
    fn issue_rsa(&self, params: CertificateParams) -> Result<IssuedCert, CertError> {
        let key = rsa_keys::new_private_key(MERCHANT_KEY_BITS)?;
        let key_der = key.to_pkcs8_der()?;
        let key_pem = key.to_pkcs8_pem(LineEnding::LF)?;
        let spki_der = key.to_public_key().to_public_key_der()?;
        let public_key = rcgen::SubjectPublicKeyInfo::from_der(spki_der.as_bytes())?;
        let cert = params.signed_by(&public_key, &self.issuer()?)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem: key_pem.to_string(),
            key_der: key_der.as_bytes().to_vec(),
        })
    }

    fn issuer(&self) -> Result<Issuer<'static, KeyPair>, CertError> {
        let key = KeyPair::try_from(self.key_der.as_slice())?;
        // Taking name, key identifier and key usages from the certificate itself (rather than
        // from fresh params) is what makes a reloaded CA issue certificates that chain to it.
        Ok(Issuer::from_ca_cert_der(
            &self.cert_der.as_slice().into(),
            key,
        )?)
    }
}

impl IssuedCert {
    /// Rebuilds an issued certificate from PEM files, checking that the key is the cert's key.
    pub(crate) fn from_pem(cert_pem: String, key_pem: String) -> Result<Self, CertError> {
        let cert_der = x509::pem_block(&cert_pem, CERTIFICATE)?;
        let key_der = x509::pem_block(&key_pem, PRIVATE_KEY)?;
        if !x509::key_matches_cert(&key_der, &x509::parse_cert(&cert_der)?) {
            return Err(CertError::KeyMismatch);
        }
        Ok(Self {
            cert_pem,
            key_pem,
            cert_der,
            key_der,
        })
    }
}

/// The CN of the certificate's subject: for a merchant API certificate, its mch_id.
///
/// `None` if `der` is not a certificate or has no readable CN. The mock server compares this with
/// the request's `mch_id` to answer like the real gateway when the two differ.
pub fn mch_id_from_cert_der(der: &[u8]) -> Option<String> {
    x509::parse_cert(der)
        .ok()
        .and_then(|cert| x509::common_name(cert.subject()))
}

/// Checks that a mch_id is 1..=32 characters of `[0-9A-Za-z_-]`; it becomes a directory name.
pub(crate) fn validate_mch_id(mch_id: &str) -> Result<(), CertError> {
    let ok = (1..=32).contains(&mch_id.len())
        && mch_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(CertError::InvalidMchId(mch_id.to_owned()))
    }
}

fn base_params(validity_days: i64) -> CertificateParams {
    // Backdated a day so that hosts, containers and VMs with skewed clocks accept it at once.
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(validity_days);
    params.serial_number = Some(random_serial());
    // rcgen leaves the authority key identifier out by default; path builders use it.
    params.use_authority_key_identifier_extension = true;
    params
}

fn name(attrs: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (ty, value) in attrs {
        dn.push(ty.clone(), *value);
    }
    dn
}

/// A random positive 20-byte serial (the longest RFC 5280 allows), like the 40-hex-digit
/// serials of real merchant certificates.
fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 20] = rand::random();
    // Clear the sign bit and set the next one so the DER INTEGER is always exactly 20 bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

/// The IP address a host names, if it is one; `[::1]` URL-style brackets are accepted.
pub(crate) fn host_ip(host: &str) -> Option<IpAddr> {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()
}

fn san(host: &str) -> Result<SanType, CertError> {
    if let Some(ip) = host_ip(host) {
        return Ok(SanType::IpAddress(ip));
    }
    if host.is_empty() {
        return Err(CertError::NoHosts);
    }
    Ok(SanType::DnsName(Ia5String::try_from(host)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mch_id_rules() {
        for ok in ["1900000109", "a", "A-b_9", &"9".repeat(32)] {
            assert!(validate_mch_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../x", "a/b", "a b", ".", "..", "中文", &"9".repeat(33)] {
            assert!(
                matches!(validate_mch_id(bad), Err(CertError::InvalidMchId(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn serials_are_twenty_positive_bytes() {
        let serial = random_serial().to_bytes();
        assert_eq!(serial.len(), 20);
        assert_eq!(serial[0] & 0xc0, 0x40);
    }

    #[test]
    fn san_kinds() {
        assert_eq!(
            san("::1").unwrap(),
            SanType::IpAddress("::1".parse().unwrap())
        );
        assert_eq!(
            san("[::1]").unwrap(),
            SanType::IpAddress("::1".parse().unwrap())
        );
        assert_eq!(
            san("localhost").unwrap(),
            SanType::DnsName(Ia5String::try_from("localhost").unwrap())
        );
        assert!(san("").is_err());
        assert!(san("bücher.example").is_err());
    }
}
