//! PKCS#12 output: readable back, and built from the legacy algorithms every client supports.

use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
use paysandbox_certs::{CertificateAuthority, pkcs12};
use x509_parser::asn1_rs::{Any, FromDer, Tag};

const MCH_ID: &str = "1900000109";
const PBE_SHA1_3DES: &str = "1.2.840.113549.1.12.1.3";
const PBE_SHA1_RC2_40: &str = "1.2.840.113549.1.12.1.6";
const SHA1: &str = "1.3.14.3.2.26";
const DATA: &str = "1.2.840.113549.1.7.1";
const ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";

#[test]
fn opens_with_the_right_password_only() {
    let ca = CertificateAuthority::generate("Test CA").unwrap();
    let merchant = ca.issue_merchant(MCH_ID, "Example Co").unwrap();
    let p12 = pkcs12(&merchant, None, MCH_ID, "Tenpay Certificate").unwrap();

    let store = KeyStore::from_pkcs12(&p12, MCH_ID, Pkcs12ImportPolicy::Strict).unwrap();
    assert_eq!(store.entries_len(), 1);
    let (alias, chain) = store.private_key_chain().unwrap();
    assert_eq!(alias, "Tenpay Certificate");
    assert_eq!(chain.key().as_der(), merchant.key_der.as_slice());
    let certs: Vec<&[u8]> = chain.certs().iter().map(|c| c.as_der()).collect();
    assert_eq!(certs, [merchant.cert_der.as_slice()]);

    assert!(KeyStore::from_pkcs12(&p12, "1900000108", Pkcs12ImportPolicy::Strict).is_err());
    assert!(KeyStore::from_pkcs12(&p12, "", Pkcs12ImportPolicy::Strict).is_err());
}

#[test]
fn can_carry_the_ca_certificate() {
    let ca = CertificateAuthority::generate("Test CA").unwrap();
    let server = ca.issue_server(&["localhost"]).unwrap();
    let p12 = pkcs12(&server, Some(&ca.cert_der()), "pw", "server").unwrap();
    let store = KeyStore::from_pkcs12(&p12, "pw", Pkcs12ImportPolicy::Strict).unwrap();
    let (_, chain) = store.private_key_chain().unwrap();
    let certs: Vec<Vec<u8>> = chain.certs().iter().map(|c| c.as_der().to_vec()).collect();
    assert_eq!(certs, [server.cert_der.clone(), ca.cert_der()]);
    assert_eq!(chain.key().as_der(), server.key_der.as_slice());
}

/// Encryption algorithms of a PFX, read from its ASN.1 structure (PKCS#12 v1.1, RFC 7292).
#[derive(Debug, Default)]
struct PfxAlgorithms {
    /// Algorithm of each encryptedData ContentInfo (the certificate safe).
    encrypted_safes: Vec<String>,
    /// Algorithm of each pkcs8ShroudedKeyBag.
    shrouded_keys: Vec<String>,
    mac_digest: String,
    mac_iterations: i32,
}

fn tlvs(mut data: &[u8]) -> Vec<Any<'_>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (rest, any) = Any::from_der(data).unwrap();
        out.push(any);
        data = rest;
    }
    out
}

/// Children of a SEQUENCE, SET or explicitly tagged value.
fn inner<'a>(any: &Any<'a>) -> Vec<Any<'a>> {
    assert!(
        any.header.is_constructed(),
        "{:?} is not constructed",
        any.tag()
    );
    tlvs(any.data)
}

fn oid(any: &Any<'_>) -> String {
    any.clone().oid().unwrap().to_id_string()
}

/// The single value inside an explicit `[0]`.
fn explicit0<'a>(any: &Any<'a>) -> Any<'a> {
    assert_eq!(any.tag(), Tag(0));
    let mut values = inner(any);
    assert_eq!(values.len(), 1);
    values.remove(0)
}

fn pfx_algorithms(pfx: &[u8]) -> PfxAlgorithms {
    let mut found = PfxAlgorithms::default();
    let (rest, pfx) = Any::from_der(pfx).unwrap();
    assert!(rest.is_empty());
    let pfx = inner(&pfx);
    assert_eq!(pfx.len(), 3, "version, authSafe, macData");

    let auth_safe = inner(&pfx[1]);
    assert_eq!(oid(&auth_safe[0]), DATA);
    let auth_safe_octets = explicit0(&auth_safe[1]);
    assert_eq!(auth_safe_octets.tag(), Tag::OctetString);
    let [safes] = tlvs(auth_safe_octets.data).try_into().unwrap();
    for content_info in inner(&safes) {
        let content_info = inner(&content_info);
        match oid(&content_info[0]).as_str() {
            ENCRYPTED_DATA => {
                let encrypted_data = inner(&explicit0(&content_info[1]));
                let encrypted_content_info = inner(&encrypted_data[1]);
                let algorithm = inner(&encrypted_content_info[1]);
                found.encrypted_safes.push(oid(&algorithm[0]));
            }
            DATA => {
                let octets = explicit0(&content_info[1]);
                let [bags] = tlvs(octets.data).try_into().unwrap();
                for bag in inner(&bags) {
                    let bag = inner(&bag);
                    assert_eq!(oid(&bag[0]), SHROUDED_KEY_BAG, "unencrypted key bag");
                    let encrypted_key_info = inner(&explicit0(&bag[1]));
                    let algorithm = inner(&encrypted_key_info[0]);
                    found.shrouded_keys.push(oid(&algorithm[0]));
                }
            }
            other => panic!("unexpected ContentInfo type {other}"),
        }
    }

    let mac_data = inner(&pfx[2]);
    let digest_info = inner(&mac_data[0]);
    found.mac_digest = oid(&inner(&digest_info[0])[0]);
    found.mac_iterations = mac_data[2].clone().i32().unwrap();
    found
}

#[test]
fn both_bags_use_pbe_sha1_3des_and_the_mac_is_sha1() {
    let ca = CertificateAuthority::generate("Test CA").unwrap();
    let merchant = ca.issue_merchant(MCH_ID, "Example Co").unwrap();
    for ca_der in [None, Some(ca.cert_der())] {
        let p12 = pkcs12(&merchant, ca_der.as_deref(), MCH_ID, "Tenpay Certificate").unwrap();
        let algorithms = pfx_algorithms(&p12);
        assert_eq!(
            algorithms.encrypted_safes,
            [PBE_SHA1_3DES],
            "certificate safe"
        );
        assert_eq!(algorithms.shrouded_keys, [PBE_SHA1_3DES], "key bag");
        assert_eq!(algorithms.mac_digest, SHA1);
        assert_eq!(algorithms.mac_iterations, 2048);
        assert!(!format!("{algorithms:?}").contains(PBE_SHA1_RC2_40));
    }
}
