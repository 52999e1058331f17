//! Development certificates and keys for paysandbox.
//!
//! What it makes:
//!
//! * a private CA ([`CertificateAuthority`], ECDSA P-256, 10 years) that clients are told to
//!   trust;
//! * TLS server certificates for the mock ([`CertificateAuthority::issue_server`]), with a DNS or
//!   IP address SAN per host;
//! * WeChat Pay v2 merchant API (client) certificates ([`CertificateAuthority::issue_merchant`])
//!   shaped like the real `apiclient_cert`: RSA-2048, `CN=<mch_id>, O=微信商户系统,
//!   OU=<company>`, 5 years, clientAuth. The mock reads the mch_id back with
//!   [`mch_id_from_cert_der`];
//! * the same merchant certificate as PKCS#12 ([`pkcs12`]), password = mch_id;
//! * RSA key pairs for Alipay app and platform keys ([`generate_rsa_keypair`]), in every encoding
//!   the Alipay SDKs accept;
//! * WeChat Pay API v3 platform identities ([`CertStore::wechat_v3`]): platform certificates
//!   ([`CertificateAuthority::issue_platform`]) and the WeChat Pay public key with its
//!   `PUB_KEY_ID_…`, plus the merchant certificate's serial for `serial_no`.
//!
//! [`CertStore`] keeps a set on disk, created on first use and reused afterwards:
//!
//! ```text
//! <dir>/ca.pem                                CA certificate (trust this)
//! <dir>/ca.key.pem                            CA private key, PKCS#8       (0600)
//! <dir>/server.pem                            mock server certificate
//! <dir>/server.key.pem                        its private key, PKCS#8      (0600)
//! <dir>/merchants/<mch_id>/apiclient_cert.pem merchant certificate
//! <dir>/merchants/<mch_id>/apiclient_key.pem  its RSA key, PKCS#8          (0600)
//! <dir>/merchants/<mch_id>/apiclient_cert.p12 both, PKCS#12, password = mch_id (0600)
//! <dir>/alipay/<app_id>/app_private_key.pem         app key, PKCS#1 PEM          (0600)
//! <dir>/alipay/<app_id>/app_private_key_pkcs8.pem   app key, PKCS#8 PEM          (0600)
//! <dir>/alipay/<app_id>/app_private_key.txt         app key, bare base64 PKCS#1  (0600)
//! <dir>/alipay/<app_id>/app_private_key_pkcs8.txt   app key, bare base64 PKCS#8  (0600)
//! <dir>/alipay/<app_id>/app_public_key.pem, .txt    app public key, SPKI PEM / bare base64
//! <dir>/alipay/<app_id>/alipay_public_key.pem, .txt platform public key (clients verify with it)
//! <dir>/alipay/<app_id>/alipay_private_key.pem      platform key, PKCS#8 PEM     (0600)
//! <dir>/merchants/<mch_id>/wechatpay_certs/wechatpay_<SERIAL>.pem   API v3 platform certificate(s)
//! <dir>/merchants/<mch_id>/pub_key.pem, pub_key_id.txt              WeChat Pay public key and id
//! <dir>/merchants/<mch_id>/platform_private/*.key.pem               their private keys (0600)
//! ```
//!
//! See [`WechatV3Files`] ([`CertStore::wechat_v3`]) for the API v3 files.
//!
//! See [`AlipayAppFiles`] for which client takes which form.
//!
//! Why the p12 uses pbeWithSHAAnd3-KeyTripleDES-CBC for both bags and a SHA-1 MAC: real merchant
//! p12 files use legacy PBE algorithms and the SDKs are built around that. Go's
//! `golang.org/x/crypto/pkcs12` (used by gopay) only decrypts 3DES and RC2 PBEs and only checks
//! SHA-1 MACs, while RC2 is unavailable in OpenSSL 3's default provider, so Node >= 17, Ruby and
//! anything else on OpenSSL 3 without the legacy provider fail on RC2 with "unsupported". 3DES with a SHA-1 MAC is the
//! combination all of them, plus Java and Python `cryptography`, can read.

mod ca;
mod error;
mod p12;
mod rsa_keys;
mod store;
mod wechat_v3;
mod x509;

pub use ca::{
    CertificateAuthority, IssuedCert, MERCHANT_ORGANIZATION, PLATFORM_COMMON_NAME,
    mch_id_from_cert_der,
};
pub use error::CertError;
pub use p12::pkcs12;
pub use rsa_keys::{RsaKeyPair, generate_rsa_keypair};
pub use store::{
    ALIPAY_KEY_BITS, AlipayAppFiles, CertStore, DEFAULT_CA_NAME, MERCHANT_P12_FRIENDLY_NAME,
    MerchantFiles,
};
pub use wechat_v3::{PlatformCertificate, WechatPayPublicKey, WechatV3Files};
