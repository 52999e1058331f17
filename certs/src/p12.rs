//! PKCS#12 bundles that every client of the WeChat Pay v2 API can open.

use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
    PrivateKeyChain,
};
use sha1::{Digest as _, Sha1};

use crate::{CertError, IssuedCert};

/// Iteration count for both the bag encryption and the MAC key: OpenSSL's default.
const ITERATIONS: u32 = 2048;

/// Packs a certificate and its private key (and optionally the CA certificate) into PKCS#12.
///
/// Both the certificate bag and the shrouded key bag are encrypted with
/// pbeWithSHAAnd3-KeyTripleDES-CBC and the MAC is HMAC-SHA-1, as
/// `openssl pkcs12 -export -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1` makes them:
/// Go's x/crypto/pkcs12 reads nothing newer, and OpenSSL 3's default provider (hence Node >= 17
/// and Ruby) reads nothing that uses RC2. `friendly_name` labels the key (the keystore alias Java
/// shows). The key's localKeyID is the SHA-1 of the certificate, as OpenSSL does it.
pub fn pkcs12(
    cert: &IssuedCert,
    ca_cert_der: Option<&[u8]>,
    password: &str,
    friendly_name: &str,
) -> Result<Vec<u8>, CertError> {
    let mut chain = vec![Certificate::from_der(&cert.cert_der)?];
    if let Some(ca) = ca_cert_der {
        chain.push(Certificate::from_der(ca)?);
    }
    let local_key_id = Sha1::digest(&cert.cert_der).to_vec();
    let key = PrivateKey::from_der(&cert.key_der)?;

    let mut store = KeyStore::new();
    store.add_entry(
        friendly_name,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, chain)),
    );
    Ok(store
        .writer(password)
        // The library applies this one algorithm to the certificate safe and the key bag alike.
        .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
        .encryption_iterations(ITERATIONS)
        .mac_algorithm(MacAlgorithm::HmacSha1)
        .mac_iterations(ITERATIONS)
        .write()?)
}
