//! The CA and the certificates it issues.

use paysandbox_certs::{
    CertError, CertificateAuthority, MERCHANT_ORGANIZATION, mch_id_from_cert_der,
};
use rsa::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
use x509_parser::oid_registry::{
    OID_KEY_TYPE_EC_PUBLIC_KEY, OID_X509_COMMON_NAME, OID_X509_ORGANIZATION_NAME,
    OID_X509_ORGANIZATIONAL_UNIT,
};
use x509_parser::public_key::PublicKey;

use crate::common::{assert_chains_to, parse, sans};

const HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

fn attrs(
    name: &x509_parser::x509::X509Name<'_>,
    oid: &x509_parser::der_parser::Oid<'_>,
) -> Vec<String> {
    name.iter_by_oid(oid)
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

fn validity_days(der: &[u8]) -> i64 {
    let cert = parse(der);
    let v = cert.validity();
    (v.not_after.to_datetime() - v.not_before.to_datetime()).whole_days()
}

#[test]
fn ca_is_self_signed_p256_ca_for_ten_years() {
    let ca = CertificateAuthority::generate("Test CA").unwrap();
    let der = ca.cert_der();
    let cert = parse(&der);
    assert_eq!(attrs(cert.subject(), &OID_X509_COMMON_NAME), ["Test CA"]);
    assert!(cert.is_ca());
    assert!(cert.key_usage().unwrap().unwrap().value.key_cert_sign());
    assert_eq!(
        cert.public_key().algorithm.algorithm,
        OID_KEY_TYPE_EC_PUBLIC_KEY
    );
    assert!(matches!(cert.public_key().parsed().unwrap(), PublicKey::EC(p) if p.key_size() == 256));
    // Self-signed: it chains to itself.
    assert_chains_to(&der, &der);
    // 10 years plus the one-day backdating.
    assert!(
        (3652..=3654).contains(&validity_days(&der)),
        "{}",
        validity_days(&der)
    );
    assert!(ca.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(ca.key_pem().starts_with("-----BEGIN PRIVATE KEY-----"));
}

#[test]
fn server_cert_chains_to_ca_with_exactly_the_given_sans() {
    let ca = CertificateAuthority::generate("Test CA").unwrap();
    let server = ca.issue_server(&HOSTS).unwrap();
    assert_chains_to(&server.cert_der, &ca.cert_der());
    assert!(ca.has_issued(&server.cert_der));
    assert_eq!(
        sans(&server.cert_der),
        ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]
    );

    let cert = parse(&server.cert_der);
    assert_eq!(attrs(cert.subject(), &OID_X509_COMMON_NAME), ["localhost"]);
    assert!(!cert.is_ca());
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && !eku.client_auth);
    assert!(matches!(cert.public_key().parsed().unwrap(), PublicKey::EC(p) if p.key_size() == 256));
    assert!(server.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(server.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
}

#[test]
fn server_cert_accepts_bracketed_ipv6_and_rejects_no_hosts() {
    let ca = CertificateAuthority::generate("Test CA").unwrap();
    let server = ca.issue_server(&["[::1]", "mock.test"]).unwrap();
    assert_eq!(sans(&server.cert_der), ["IP:::1", "DNS:mock.test"]);
    assert!(matches!(ca.issue_server(&[]), Err(CertError::NoHosts)));
}

#[test]
fn other_ca_did_not_issue() {
    let ca = CertificateAuthority::generate("Test CA").unwrap();
    let other = CertificateAuthority::generate("Test CA").unwrap();
    let server = other.issue_server(&HOSTS).unwrap();
    // Same name, different key: only the signature tells them apart.
    assert!(!ca.has_issued(&server.cert_der));
    assert!(other.has_issued(&server.cert_der));
    assert!(!ca.has_issued(b"not a certificate"));
}

#[test]
fn merchant_cert_looks_like_wechat_pay() {
    let ca = CertificateAuthority::generate("Test CA").unwrap();
    let merchant = ca.issue_merchant("1900000109", "示例科技有限公司").unwrap();
    assert_chains_to(&merchant.cert_der, &ca.cert_der());

    let cert = parse(&merchant.cert_der);
    let subject = cert.subject();
    assert_eq!(attrs(subject, &OID_X509_COMMON_NAME), ["1900000109"]);
    assert_eq!(
        attrs(subject, &OID_X509_ORGANIZATION_NAME),
        [MERCHANT_ORGANIZATION]
    );
    assert_eq!(MERCHANT_ORGANIZATION, "微信商户系统");
    assert_eq!(
        attrs(subject, &OID_X509_ORGANIZATIONAL_UNIT),
        ["示例科技有限公司"]
    );
    assert_eq!(
        mch_id_from_cert_der(&merchant.cert_der).as_deref(),
        Some("1900000109")
    );

    match cert.public_key().parsed().unwrap() {
        PublicKey::RSA(rsa) => assert_eq!(rsa.key_size(), 2048),
        other => panic!("expected an RSA key, got {other:?}"),
    }
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.client_auth && !eku.server_auth);
    assert!(!cert.is_ca());
    // 5 years plus the one-day backdating.
    assert!((1826..=1828).contains(&validity_days(&merchant.cert_der)));
    assert_eq!(cert.raw_serial().len(), 20);

    // The PKCS#8 key is the certificate's key.
    assert!(merchant.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let key = rsa::PrivateKey::from_pkcs8_der(&merchant.key_der).unwrap();
    assert_eq!(
        key,
        rsa::PrivateKey::from_pkcs8_pem(&merchant.key_pem).unwrap()
    );
    let spki = key.to_public_key().to_public_key_der().unwrap();
    assert_eq!(spki.as_bytes(), cert.public_key().raw);
}

#[test]
fn merchant_serials_differ_and_empty_company_means_no_ou() {
    let ca = CertificateAuthority::generate("Test CA").unwrap();
    let a = ca.issue_merchant("1900000109", "").unwrap();
    let b = ca.issue_merchant("1900000109", "").unwrap();
    assert_ne!(
        parse(&a.cert_der).raw_serial(),
        parse(&b.cert_der).raw_serial()
    );
    assert!(attrs(parse(&a.cert_der).subject(), &OID_X509_ORGANIZATIONAL_UNIT).is_empty());
}

#[test]
fn merchant_rejects_bad_mch_id() {
    let ca = CertificateAuthority::generate("Test CA").unwrap();
    for bad in ["", "../etc", "19000001 09", &"1".repeat(33)] {
        assert!(
            matches!(ca.issue_merchant(bad, "x"), Err(CertError::InvalidMchId(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn reloaded_ca_issues_certs_that_verify_against_the_original() {
    let original = CertificateAuthority::generate("Test CA").unwrap();
    let reloaded =
        CertificateAuthority::from_pem(&original.cert_pem(), &original.key_pem()).unwrap();
    assert_eq!(reloaded.cert_der(), original.cert_der());
    assert_eq!(reloaded.cert_pem(), original.cert_pem());
    assert_eq!(reloaded.key_pem(), original.key_pem());

    let server = reloaded.issue_server(&HOSTS).unwrap();
    assert_chains_to(&server.cert_der, &original.cert_der());
    let merchant = reloaded.issue_merchant("1900000109", "Example Co").unwrap();
    assert_chains_to(&merchant.cert_der, &original.cert_der());
}

#[test]
fn from_pem_rejects_wrong_inputs() {
    let ca = CertificateAuthority::generate("Test CA").unwrap();
    let other = CertificateAuthority::generate("Test CA").unwrap();
    let server = ca.issue_server(&HOSTS).unwrap();

    assert!(matches!(
        CertificateAuthority::from_pem(&ca.cert_pem(), &other.key_pem()),
        Err(CertError::KeyMismatch)
    ));
    assert!(matches!(
        CertificateAuthority::from_pem(&server.cert_pem, &server.key_pem),
        Err(CertError::NotCa)
    ));
    assert!(matches!(
        CertificateAuthority::from_pem(&ca.key_pem(), &ca.key_pem()),
        Err(CertError::Pem {
            label: "CERTIFICATE",
            ..
        })
    ));
    assert!(matches!(
        CertificateAuthority::from_pem("garbage", &ca.key_pem()),
        Err(CertError::Pem { .. })
    ));
}

#[test]
fn mch_id_from_garbage_is_none() {
    assert_eq!(mch_id_from_cert_der(b""), None);
    assert_eq!(mch_id_from_cert_der(b"\x30\x03\x02\x01\x01"), None);
}
