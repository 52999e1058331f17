//! What a merchant needs for WeChat Pay API v3, beside its API certificate.
//!
//! ```text
//! <dir>/merchants/<mch_id>/wechatpay_certs/wechatpay_<SERIAL>.pem  platform certificate(s): only
//!                                                                   certificates here, so the
//!                                                                   folder is a wechatpayv3
//!                                                                   `cert_dir` as it is
//! <dir>/merchants/<mch_id>/pub_key.pem           WeChat Pay public key, SPKI PEM (the download's name)
//! <dir>/merchants/<mch_id>/pub_key_id.txt        its id, PUB_KEY_ID_… (one line)
//! <dir>/merchants/<mch_id>/platform_private/wechatpay_<SERIAL>.key.pem  the sandbox's signing key
//!                                                                        of that certificate (0600)
//! <dir>/merchants/<mch_id>/platform_private/pub_key.key.pem             the public key's private
//!                                                                        half, PKCS#8 (0600)
//! ```
//!
//! The merchant's `serial_no` (for `Authorization`) is its API certificate's serial, read from
//! `apiclient_cert.pem`. Everything is created on first use and reused afterwards; a platform
//! certificate is replaced only when it no longer chains to the CA or is within 30 days of
//! expiry, the public key only when its files are unreadable.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use paysandbox_protocol::wechat::v3::identity::{self, SerialKind};
use rsa::pkcs8::DecodePrivateKey as _;

use crate::rsa_keys::{encode_keypair, generate_rsa_keypair};
use crate::store::{MERCHANTS, RENEW_MARGIN, load_issued, read_opt, write_file};
use crate::{CertError, CertStore, IssuedCert, MerchantFiles, RsaKeyPair, x509};

const CERTIFICATES_DIR: &str = "wechatpay_certs";
const PRIVATE_DIR: &str = "platform_private";
const PUB_KEY: &str = "pub_key.pem";
const PUB_KEY_ID: &str = "pub_key_id.txt";
const PUB_KEY_PRIVATE: &str = "pub_key.key.pem";
const PUBLIC_KEY_BITS: usize = 2048;

/// One platform certificate and its key.
#[derive(Clone, Debug)]
pub struct PlatformCertificate {
    /// Its serial: upper-case hex, what `Wechatpay-Serial` and `/v3/certificates` carry.
    pub serial_no: String,
    /// The certificate and its private key.
    pub cert: IssuedCert,
    /// `wechatpay_certs/wechatpay_<SERIAL>.pem`.
    pub cert_path: PathBuf,
    /// `platform_private/wechatpay_<SERIAL>.key.pem` (PKCS#8, 0600).
    pub key_path: PathBuf,
}

/// The WeChat Pay public key (2024 on) of a merchant.
#[derive(Clone, Debug)]
pub struct WechatPayPublicKey {
    /// `PUB_KEY_ID_` and 34 digits.
    pub id: String,
    /// The pair in every encoding (`public_pem` is what `pub_key.pem` holds).
    pub keys: RsaKeyPair,
    /// `pub_key.pem`.
    pub public_key_path: PathBuf,
    /// `pub_key_id.txt`.
    pub id_path: PathBuf,
    /// `platform_private/pub_key.key.pem`.
    pub private_key_path: PathBuf,
}

/// A merchant's API v3 material.
#[derive(Clone, Debug)]
pub struct WechatV3Files {
    /// The merchant's API certificate (v2's too).
    pub merchant: MerchantFiles,
    /// Its serial, upper-case hex: the `serial_no` of `Authorization`.
    pub merchant_serial_no: String,
    /// The platform certificates, oldest first (the last is the one the platform signs with).
    pub platform_certificates: Vec<PlatformCertificate>,
    /// `wechatpay_certs/`: the platform certificates and nothing else.
    pub certificates_dir: PathBuf,
    /// The WeChat Pay public key.
    pub public_key: WechatPayPublicKey,
}

impl WechatV3Files {
    /// The newest platform certificate.
    #[must_use]
    pub fn newest_platform_certificate(&self) -> Option<&PlatformCertificate> {
        self.platform_certificates.last()
    }
}

impl CertStore {
    /// The API v3 files of `mch_id`, from `merchants/<mch_id>/` or newly made (see the module
    /// documentation for the layout and the reuse rules). Asking twice rewrites nothing.
    pub fn wechat_v3(&self, mch_id: &str, company: &str) -> Result<WechatV3Files, CertError> {
        let merchant = self.merchant(mch_id, company)?;
        let merchant_serial_no = certificate_serial(&merchant.cert.cert_der)?;
        let dir = self.dir.join(MERCHANTS).join(mch_id);
        let certificates_dir = dir.join(CERTIFICATES_DIR);
        let private_dir = dir.join(PRIVATE_DIR);
        for d in [&certificates_dir, &private_dir] {
            fs::create_dir_all(d).map_err(|e| CertError::io(d, e))?;
        }
        let mut platform_certificates =
            self.usable_platform_certificates(&certificates_dir, &private_dir)?;
        if platform_certificates.is_empty() {
            platform_certificates
                .push(self.write_platform_certificate(&certificates_dir, &private_dir)?);
        }
        let public_key = load_or_create_public_key(&dir, &private_dir, mch_id)?;
        Ok(WechatV3Files {
            merchant,
            merchant_serial_no,
            platform_certificates,
            certificates_dir,
            public_key,
        })
    }

    /// Issues one more platform certificate for `mch_id` (a rotation): it becomes the newest,
    /// the older ones stay valid and listed.
    pub fn rotate_platform_certificate(
        &self,
        mch_id: &str,
        company: &str,
    ) -> Result<WechatV3Files, CertError> {
        let files = self.wechat_v3(mch_id, company)?;
        let dir = self.dir.join(MERCHANTS).join(mch_id);
        self.write_platform_certificate(&files.certificates_dir, &dir.join(PRIVATE_DIR))?;
        self.wechat_v3(mch_id, company)
    }

    fn write_platform_certificate(
        &self,
        certificates_dir: &Path,
        private_dir: &Path,
    ) -> Result<PlatformCertificate, CertError> {
        let cert = self.ca.issue_platform()?;
        let serial_no = certificate_serial(&cert.cert_der)?;
        let cert_path = certificates_dir.join(format!("wechatpay_{serial_no}.pem"));
        let key_path = private_dir.join(format!("wechatpay_{serial_no}.key.pem"));
        // Key first: a certificate without its key would be dropped on the next load.
        write_file(&key_path, cert.key_pem.as_bytes(), true)?;
        write_file(&cert_path, cert.cert_pem.as_bytes(), false)?;
        Ok(PlatformCertificate {
            serial_no,
            cert,
            cert_path,
            key_path,
        })
    }

    /// The stored platform certificates that chain to the CA, match their key and file name,
    /// and are not within 30 days of expiry, oldest first.
    fn usable_platform_certificates(
        &self,
        certificates_dir: &Path,
        private_dir: &Path,
    ) -> Result<Vec<PlatformCertificate>, CertError> {
        let entries = match fs::read_dir(certificates_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CertError::io(certificates_dir, e)),
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| CertError::io(certificates_dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(serial) = name
                .strip_prefix("wechatpay_")
                .and_then(|rest| rest.strip_suffix(".pem"))
            else {
                continue;
            };
            if identity::classify(serial) != Some(SerialKind::Certificate) {
                continue;
            }
            let key_path = private_dir.join(format!("wechatpay_{serial}.key.pem"));
            let Some(cert) = load_issued(&entry.path(), &key_path)? else {
                continue;
            };
            let Ok(parsed) = x509::parse_cert(&cert.cert_der) else {
                continue;
            };
            // Validity has whole seconds; the file time orders certificates issued within one.
            let issued = (
                parsed.validity().not_before.timestamp(),
                entry.metadata().and_then(|m| m.modified()).ok(),
            );
            let usable = self.ca.has_issued(&cert.cert_der)
                && x509::valid_for_at_least(&parsed, RENEW_MARGIN)
                && certificate_serial(&cert.cert_der).is_ok_and(|s| s == serial);
            if usable {
                found.push((
                    issued,
                    PlatformCertificate {
                        serial_no: serial.to_owned(),
                        cert,
                        cert_path: entry.path(),
                        key_path,
                    },
                ));
            }
        }
        found.sort_by(|a, b| (a.0, &a.1.serial_no).cmp(&(b.0, &b.1.serial_no)));
        Ok(found.into_iter().map(|(_, cert)| cert).collect())
    }
}

/// Upper-case hex serial of a DER certificate, as the v3 clients print it.
fn certificate_serial(der: &[u8]) -> Result<String, CertError> {
    identity::certificate_serial_hex(der).map_err(|e| CertError::InvalidCertificate(e.0))
}

fn load_or_create_public_key(
    dir: &Path,
    private_dir: &Path,
    mch_id: &str,
) -> Result<WechatPayPublicKey, CertError> {
    let public_key_path = dir.join(PUB_KEY);
    let id_path = dir.join(PUB_KEY_ID);
    let private_key_path = private_dir.join(PUB_KEY_PRIVATE);
    let stored_key =
        read_opt(&private_key_path)?.and_then(|pem| rsa::PrivateKey::from_pkcs8_pem(&pem).ok());
    let stored_id = read_opt(&id_path)?
        .map(|text| text.trim().to_owned())
        .filter(|id| identity::classify(id) == Some(SerialKind::PublicKeyId));
    let (keys, id) = match (stored_key, stored_id) {
        (Some(key), Some(id)) => (encode_keypair(&key)?, id),
        _ => (
            generate_rsa_keypair(PUBLIC_KEY_BITS)?,
            new_public_key_id(mch_id),
        ),
    };
    // Derived files first, the private key (the source) last.
    for (path, text, private) in [
        (&public_key_path, keys.public_pem.as_str(), false),
        (&id_path, &format!("{id}\n"), false),
        (&private_key_path, keys.private_pkcs8_pem.as_str(), true),
    ] {
        if read_opt(path)?.as_deref() != Some(text) {
            write_file(path, text.as_bytes(), private)?;
        }
    }
    Ok(WechatPayPublicKey {
        id,
        keys,
        public_key_path,
        id_path,
        private_key_path,
    })
}

/// A fresh id in the observed shape, dated today in Beijing, with a random sequence.
fn new_public_key_id(mch_id: &str) -> String {
    let today = (time::OffsetDateTime::now_utc() + time::Duration::hours(8)).date();
    let year = u16::try_from(today.year()).unwrap_or(2024);
    identity::public_key_id(
        mch_id,
        year,
        u8::from(today.month()),
        today.day(),
        rand::random::<u64>(),
    )
}
