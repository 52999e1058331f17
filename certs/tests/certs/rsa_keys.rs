//! RSA key pairs for Alipay fixtures.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paysandbox_certs::generate_rsa_keypair;
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use rsa::sha2::Sha256;
use rsa::traits::PublicKeyParts as _;

#[test]
fn every_encoding_is_the_same_2048_bit_key_and_signs() {
    let pair = generate_rsa_keypair(2048).unwrap();

    let from_pkcs1 = rsa::PrivateKey::from_pkcs1_pem(&pair.private_pkcs1_pem).unwrap();
    let from_pkcs8 = rsa::PrivateKey::from_pkcs8_pem(&pair.private_pkcs8_pem).unwrap();
    let pkcs8_der = STANDARD.decode(&pair.private_base64).unwrap();
    let from_base64 = rsa::PrivateKey::from_pkcs8_der(&pkcs8_der).unwrap();
    let pkcs1_der = STANDARD.decode(&pair.private_pkcs1_base64).unwrap();
    let from_pkcs1_base64 = rsa::PrivateKey::from_pkcs1_der(&pkcs1_der).unwrap();
    assert_eq!(from_pkcs1, from_pkcs8);
    assert_eq!(from_pkcs1, from_base64);
    assert_eq!(from_pkcs1, from_pkcs1_base64);
    assert_eq!(
        from_pkcs1.to_pkcs1_der().unwrap().as_bytes(),
        pkcs1_der.as_slice()
    );

    let public = rsa::PublicKey::from_public_key_pem(&pair.public_pem).unwrap();
    let spki_der = STANDARD.decode(&pair.public_base64).unwrap();
    assert_eq!(
        public,
        rsa::PublicKey::from_public_key_der(&spki_der).unwrap()
    );
    assert_eq!(&public, from_pkcs1.as_public_key());
    assert_eq!(public.n().bit_width(), 2048);
    let e = public.e().to_be_bytes();
    let e: Vec<u8> = e.iter().copied().skip_while(|b| *b == 0).collect();
    assert_eq!(e, [0x01, 0x00, 0x01], "public exponent 65537");

    // Alipay RSA2: RSASSA-PKCS1-v1_5 with SHA-256.
    let message = "app_id=2021000000000001&charset=utf-8&method=alipay.trade.refund";
    let signature = from_pkcs8
        .pkcs1v15_sign::<Sha256>(message.as_bytes())
        .unwrap();
    public
        .pkcs1v15_verify::<Sha256>(message.as_bytes(), &signature)
        .unwrap();
    assert!(
        public
            .pkcs1v15_verify::<Sha256>(b"tampered", &signature)
            .is_err()
    );
}

#[test]
fn pem_labels_and_one_line_base64() {
    let pair = generate_rsa_keypair(2048).unwrap();
    assert!(
        pair.private_pkcs1_pem
            .starts_with("-----BEGIN RSA PRIVATE KEY-----\n")
    );
    assert!(
        pair.private_pkcs8_pem
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    assert!(pair.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    for b64 in [
        &pair.private_base64,
        &pair.private_pkcs1_base64,
        &pair.public_base64,
    ] {
        assert!(!b64.contains(['\n', '\r', ' ', '-']), "{b64}");
    }
    // Fresh keys each time.
    assert_ne!(
        generate_rsa_keypair(2048).unwrap().public_base64,
        pair.public_base64
    );
}
