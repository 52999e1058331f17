//! The on-disk certificate set: created on first use, reused afterwards.

use std::fs;
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
use time::Duration;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::DecodePrivateKey as _;

use crate::ca::{host_ip, validate_mch_id};
use crate::rsa_keys::{encode_keypair, generate_rsa_keypair};
use crate::{CertError, CertificateAuthority, IssuedCert, RsaKeyPair, pkcs12, x509};

/// Common name of the CA that [`CertStore::load_or_create`] creates.
pub const DEFAULT_CA_NAME: &str = "paysandbox Dev CA";

/// Friendly name (keystore alias) of the key in the merchant `apiclient_cert.p12`.
///
/// Recalled from `keytool -list` output of real downloads ("tenpay certificate"); unconfirmed.
/// Clients pick the first key whatever its alias, so nothing depends on it.
pub const MERCHANT_P12_FRIENDLY_NAME: &str = "Tenpay Certificate";

const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key.pem";
const SERVER_CERT: &str = "server.pem";
const SERVER_KEY: &str = "server.key.pem";
pub(crate) const MERCHANTS: &str = "merchants";
const MERCHANT_CERT: &str = "apiclient_cert.pem";
const MERCHANT_KEY: &str = "apiclient_key.pem";
const MERCHANT_P12: &str = "apiclient_cert.p12";
const ALIPAY: &str = "alipay";
const APP_PRIVATE_KEY: &str = "app_private_key.pem";
const APP_PRIVATE_KEY_PKCS8: &str = "app_private_key_pkcs8.pem";
const APP_PRIVATE_KEY_BASE64: &str = "app_private_key.txt";
const APP_PRIVATE_KEY_PKCS8_BASE64: &str = "app_private_key_pkcs8.txt";
const APP_PUBLIC_KEY: &str = "app_public_key.pem";
const APP_PUBLIC_KEY_BASE64: &str = "app_public_key.txt";
const ALIPAY_PUBLIC_KEY: &str = "alipay_public_key.pem";
const ALIPAY_PUBLIC_KEY_BASE64: &str = "alipay_public_key.txt";
const ALIPAY_PRIVATE_KEY: &str = "alipay_private_key.pem";

/// Size of the Alipay app and platform keys (Alipay's key tool makes 2048-bit keys).
pub const ALIPAY_KEY_BITS: usize = 2048;

/// Stored certificates this close to expiry are replaced rather than reused.
pub(crate) const RENEW_MARGIN: Duration = Duration::days(30);

/// The certificate directory used by `paysandbox serve` and `paysandbox certs`.
///
/// See the [crate documentation](crate) for the layout.
#[derive(Clone, Debug)]
pub struct CertStore {
    /// The directory holding the files.
    pub dir: PathBuf,
    /// The CA (`ca.pem`, `ca.key.pem`).
    pub ca: CertificateAuthority,
    /// The TLS server certificate (`server.pem`, `server.key.pem`).
    pub server: IssuedCert,
}

/// A merchant's API certificate and where its files are.
#[derive(Clone, Debug)]
pub struct MerchantFiles {
    /// The merchant id: the certificate's CN, the p12 password and the directory name.
    pub mch_id: String,
    /// The certificate and its RSA key.
    pub cert: IssuedCert,
    /// `merchants/<mch_id>/apiclient_cert.pem`.
    pub cert_path: PathBuf,
    /// `merchants/<mch_id>/apiclient_key.pem` (PKCS#8).
    pub key_path: PathBuf,
    /// `merchants/<mch_id>/apiclient_cert.p12`.
    pub p12_path: PathBuf,
    /// Password of the p12: the mch_id, as for real downloads.
    pub p12_password: String,
}

/// The two RSA key pairs of one Alipay app and where their files are, in every form the
/// Alipay clients are configured with (spec §2.3).
///
/// The **app** pair is the merchant's: a client signs requests with the app private key and
/// the gateway verifies them with the app public key. The **alipay** (platform) pair is the
/// gateway's: it signs responses with the alipay private key and clients verify them with the
/// alipay public key. Private-key files are created with mode 0600.
#[derive(Clone, Debug)]
pub struct AlipayAppFiles {
    /// The app id: also the directory name, `alipay/<app_id>/`.
    pub app_id: String,
    /// The app key pair (the client's).
    pub app: RsaKeyPair,
    /// The platform key pair (the gateway's).
    pub alipay: RsaKeyPair,
    /// `app_private_key.pem`: PKCS#1 PEM (fzlee, smartwalle, gopay, node's default).
    pub app_private_key_path: PathBuf,
    /// `app_private_key_pkcs8.pem`: PKCS#8 PEM.
    pub app_private_key_pkcs8_path: PathBuf,
    /// `app_private_key.txt`: bare base64 of the PKCS#1 DER, one line (the official Python
    /// SDK's `app_private_key`).
    pub app_private_key_base64_path: PathBuf,
    /// `app_private_key_pkcs8.txt`: bare base64 of the PKCS#8 DER, one line (the Java SDK's
    /// `privateKey`).
    pub app_private_key_pkcs8_base64_path: PathBuf,
    /// `app_public_key.pem`: SPKI PEM (what would be uploaded to the Alipay console).
    pub app_public_key_path: PathBuf,
    /// `app_public_key.txt`: bare base64 SPKI.
    pub app_public_key_base64_path: PathBuf,
    /// `alipay_public_key.pem`: SPKI PEM; clients verify responses with it.
    pub alipay_public_key_path: PathBuf,
    /// `alipay_public_key.txt`: bare base64 SPKI (Java, official Python).
    pub alipay_public_key_base64_path: PathBuf,
    /// `alipay_private_key.pem`: PKCS#8 PEM; the gateway signs responses with it.
    pub alipay_private_key_path: PathBuf,
}

impl CertStore {
    /// Opens the certificate set in `dir`, creating the directory and whatever is missing.
    ///
    /// An existing CA (`ca.pem` and `ca.key.pem` both present) is always reused; if either file
    /// is missing a new CA named [`DEFAULT_CA_NAME`] replaces it, and then the server certificate
    /// and every merchant certificate already in `merchants/` are reissued (same mch_id and
    /// company), since they no longer chain to the CA clients are told to trust. A CA that is
    /// present but unreadable is an error: replacing it silently would break every trust store
    /// it was installed in.
    ///
    /// The server certificate is reused unless it is missing or unreadable, was not issued by the
    /// CA, expires within 30 days, or lacks a SAN for one of `server_hosts` (which must then not be
    /// empty). Concurrent first runs on the same directory are not coordinated.
    pub fn load_or_create(dir: &Path, server_hosts: &[&str]) -> Result<Self, CertError> {
        fs::create_dir_all(dir).map_err(|e| CertError::io(dir, e))?;
        let ca_cert_path = dir.join(CA_CERT);
        let ca_key_path = dir.join(CA_KEY);

        let (ca, ca_is_new) = match (read_opt(&ca_cert_path)?, read_opt(&ca_key_path)?) {
            (Some(cert), Some(key)) => (CertificateAuthority::from_pem(&cert, &key)?, false),
            _ => {
                let ca = CertificateAuthority::generate(DEFAULT_CA_NAME)?;
                write_file(&ca_key_path, ca.key_pem().as_bytes(), true)?;
                write_file(&ca_cert_path, ca.cert_pem().as_bytes(), false)?;
                (ca, true)
            }
        };

        let cert_path = dir.join(SERVER_CERT);
        let key_path = dir.join(SERVER_KEY);
        let reusable = if ca_is_new {
            None
        } else {
            load_issued(&cert_path, &key_path)?.filter(|server| {
                x509::parse_cert(&server.cert_der).is_ok_and(|cert| {
                    ca.has_issued(&server.cert_der)
                        && x509::valid_for_at_least(&cert, RENEW_MARGIN)
                        && covers_hosts(&cert, server_hosts)
                })
            })
        };
        let server = match reusable {
            Some(server) => server,
            None => {
                let server = ca.issue_server(server_hosts)?;
                write_file(&key_path, server.key_pem.as_bytes(), true)?;
                write_file(&cert_path, server.cert_pem.as_bytes(), false)?;
                server
            }
        };

        let store = Self {
            dir: dir.to_owned(),
            ca,
            server,
        };
        if ca_is_new {
            store.reissue_merchants()?;
        }
        Ok(store)
    }

    /// The merchant API certificate for `mch_id`, from `merchants/<mch_id>/` or newly issued.
    ///
    /// Stored files are reused if the certificate was issued by this CA for this mch_id and
    /// company, its key matches, and it is not within 30 days of expiry; a missing or stale
    /// `apiclient_cert.p12` is rewritten from them. Otherwise a new certificate is issued and
    /// `apiclient_cert.pem`, `apiclient_key.pem` and `apiclient_cert.p12` (password = mch_id,
    /// no CA certificate inside: Go's `pkcs12.Decode` wants exactly one certificate) are written.
    pub fn merchant(&self, mch_id: &str, company: &str) -> Result<MerchantFiles, CertError> {
        validate_mch_id(mch_id)?;
        let dir = self.dir.join(MERCHANTS).join(mch_id);
        let cert_path = dir.join(MERCHANT_CERT);
        let key_path = dir.join(MERCHANT_KEY);
        let p12_path = dir.join(MERCHANT_P12);

        let reusable = load_issued(&cert_path, &key_path)?.filter(|stored| {
            x509::parse_cert(&stored.cert_der).is_ok_and(|cert| {
                let company_now = x509::organizational_unit(cert.subject()).unwrap_or_default();
                x509::common_name(cert.subject()).as_deref() == Some(mch_id)
                    && company_now == company
                    && self.ca.has_issued(&stored.cert_der)
                    && x509::valid_for_at_least(&cert, RENEW_MARGIN)
            })
        });
        let cert = match reusable {
            Some(cert) => {
                if !p12_holds(&p12_path, mch_id, &cert)? {
                    write_file(&p12_path, &merchant_p12(&cert, mch_id)?, true)?;
                }
                cert
            }
            None => {
                let cert = self.ca.issue_merchant(mch_id, company)?;
                fs::create_dir_all(&dir).map_err(|e| CertError::io(&dir, e))?;
                write_file(&key_path, cert.key_pem.as_bytes(), true)?;
                write_file(&cert_path, cert.cert_pem.as_bytes(), false)?;
                write_file(&p12_path, &merchant_p12(&cert, mch_id)?, true)?;
                cert
            }
        };
        Ok(MerchantFiles {
            mch_id: mch_id.to_owned(),
            cert,
            cert_path,
            key_path,
            p12_path,
            p12_password: mch_id.to_owned(),
        })
    }

    /// The key pairs of the Alipay app `app_id`, from `alipay/<app_id>/` or newly generated.
    ///
    /// `app_private_key.pem` and `alipay_private_key.pem` are the sources: each readable one is
    /// reused and every other file of its pair is rewritten only if it is missing or differs from
    /// what the key gives (so a deleted or damaged public-key file is repaired with the same
    /// key). A missing or unreadable source means a new pair, and all its files are rewritten.
    /// Asking twice rewrites nothing.
    pub fn alipay_app(&self, app_id: &str) -> Result<AlipayAppFiles, CertError> {
        validate_app_id(app_id)?;
        let dir = self.dir.join(ALIPAY).join(app_id);
        fs::create_dir_all(&dir).map_err(|e| CertError::io(&dir, e))?;
        let path = |name: &str| dir.join(name);

        let app_source = path(APP_PRIVATE_KEY);
        let app = match read_opt(&app_source)?
            .and_then(|pem| rsa::PrivateKey::from_pkcs1_pem(&pem).ok())
        {
            Some(key) => encode_keypair(&key)?,
            None => generate_rsa_keypair(ALIPAY_KEY_BITS)?,
        };
        let alipay_source = path(ALIPAY_PRIVATE_KEY);
        let alipay = match read_opt(&alipay_source)?
            .and_then(|pem| rsa::PrivateKey::from_pkcs8_pem(&pem).ok())
        {
            Some(key) => encode_keypair(&key)?,
            None => generate_rsa_keypair(ALIPAY_KEY_BITS)?,
        };

        let files = AlipayAppFiles {
            app_id: app_id.to_owned(),
            app_private_key_path: app_source,
            app_private_key_pkcs8_path: path(APP_PRIVATE_KEY_PKCS8),
            app_private_key_base64_path: path(APP_PRIVATE_KEY_BASE64),
            app_private_key_pkcs8_base64_path: path(APP_PRIVATE_KEY_PKCS8_BASE64),
            app_public_key_path: path(APP_PUBLIC_KEY),
            app_public_key_base64_path: path(APP_PUBLIC_KEY_BASE64),
            alipay_public_key_path: path(ALIPAY_PUBLIC_KEY),
            alipay_public_key_base64_path: path(ALIPAY_PUBLIC_KEY_BASE64),
            alipay_private_key_path: alipay_source,
            app,
            alipay,
        };
        // Derived files first, sources last: a crash in between leaves a source that still
        // regenerates the rest, never a source without its public half on the next run.
        let contents: [(&Path, &str, bool); 9] = [
            (
                &files.app_private_key_pkcs8_path,
                &files.app.private_pkcs8_pem,
                true,
            ),
            (
                &files.app_private_key_base64_path,
                &files.app.private_pkcs1_base64,
                true,
            ),
            (
                &files.app_private_key_pkcs8_base64_path,
                &files.app.private_base64,
                true,
            ),
            (&files.app_public_key_path, &files.app.public_pem, false),
            (
                &files.app_public_key_base64_path,
                &files.app.public_base64,
                false,
            ),
            (
                &files.alipay_public_key_path,
                &files.alipay.public_pem,
                false,
            ),
            (
                &files.alipay_public_key_base64_path,
                &files.alipay.public_base64,
                false,
            ),
            (
                &files.app_private_key_path,
                &files.app.private_pkcs1_pem,
                true,
            ),
            (
                &files.alipay_private_key_path,
                &files.alipay.private_pkcs8_pem,
                true,
            ),
        ];
        for (file, text, private) in contents {
            if read_opt(file)?.as_deref() != Some(text) {
                write_file(file, text.as_bytes(), private)?;
            }
        }
        Ok(files)
    }

    /// `ca.pem`: the certificate clients must trust.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.join(CA_CERT)
    }

    /// `server.pem`.
    pub fn server_cert_path(&self) -> PathBuf {
        self.dir.join(SERVER_CERT)
    }

    /// `server.key.pem` (PKCS#8).
    pub fn server_key_path(&self) -> PathBuf {
        self.dir.join(SERVER_KEY)
    }

    /// Reissues every readable merchant certificate under `merchants/` for the current CA.
    /// Unreadable ones are left alone; [`merchant`](Self::merchant) replaces them when asked.
    fn reissue_merchants(&self) -> Result<(), CertError> {
        let root = self.dir.join(MERCHANTS);
        let entries = match fs::read_dir(&root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(CertError::io(&root, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| CertError::io(&root, e))?;
            let Some(mch_id) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if validate_mch_id(&mch_id).is_err() {
                continue;
            }
            let Some(pem) = read_opt(&entry.path().join(MERCHANT_CERT))? else {
                continue;
            };
            let Ok(der) = x509::pem_block(&pem, x509::CERTIFICATE) else {
                continue;
            };
            let Ok(cert) = x509::parse_cert(&der) else {
                continue;
            };
            let company = x509::organizational_unit(cert.subject()).unwrap_or_default();
            self.merchant(&mch_id, &company)?;
        }
        Ok(())
    }
}

/// An app_id names a directory: the same alphabet as a mch_id (real ones are 16 digits).
fn validate_app_id(app_id: &str) -> Result<(), CertError> {
    validate_mch_id(app_id).map_err(|_| CertError::InvalidAppId(app_id.to_owned()))
}

fn merchant_p12(cert: &IssuedCert, mch_id: &str) -> Result<Vec<u8>, CertError> {
    pkcs12(cert, None, mch_id, MERCHANT_P12_FRIENDLY_NAME)
}

/// Whether the p12 at `path` opens with `password` and holds exactly `cert` and its key.
fn p12_holds(path: &Path, password: &str, cert: &IssuedCert) -> Result<bool, CertError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(CertError::io(path, e)),
    };
    let Ok(store) = KeyStore::from_pkcs12(&bytes, password, Pkcs12ImportPolicy::Strict) else {
        return Ok(false);
    };
    Ok(store.private_key_chain().is_some_and(|(_, chain)| {
        chain.key().as_der() == cert.key_der.as_slice()
            && chain.certs().first().map(|c| c.as_der()) == Some(cert.cert_der.as_slice())
    }))
}

/// A certificate and key from two PEM files; `None` if either is missing or they are unusable
/// (these files are derived from the CA, so the caller just issues new ones).
pub(crate) fn load_issued(
    cert_path: &Path,
    key_path: &Path,
) -> Result<Option<IssuedCert>, CertError> {
    match (read_opt(cert_path)?, read_opt(key_path)?) {
        (Some(cert), Some(key)) => Ok(IssuedCert::from_pem(cert, key).ok()),
        _ => Ok(None),
    }
}

/// Whether the certificate has a SAN for every host.
fn covers_hosts(cert: &X509Certificate<'_>, hosts: &[&str]) -> bool {
    let names = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext.value.general_names.as_slice(),
        _ => &[],
    };
    hosts.iter().all(|host| match host_ip(host) {
        Some(ip) => {
            let octets = match ip {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            names
                .iter()
                .any(|n| matches!(n, GeneralName::IPAddress(b) if *b == octets.as_slice()))
        }
        None => names
            .iter()
            .any(|n| matches!(n, GeneralName::DNSName(d) if d.eq_ignore_ascii_case(host))),
    })
}

pub(crate) fn read_opt(path: &Path) -> Result<Option<String>, CertError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CertError::io(path, e)),
    }
}

/// Writes through a temporary file and a rename, so a reader (or a crash) never sees half a
/// file. `private` files are created with mode 0600 on unix: they hold private keys.
pub(crate) fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<(), CertError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(
        ".{file_name}.{}.{:016x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ));
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: the write error is what the caller needs to see.
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| CertError::io(path, e))
}
