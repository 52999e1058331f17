//! Key text in every form clients are configured with (spec §2.3): the openssl-made forms in
//! the vectors file, headerless base64, odd line breaks, and a freshly generated key.

use crate::support::{pem_body, vectors};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paysandbox_protocol::alipay::{
    KeyError, SignType, parse_private_key, parse_public_key, sign_bytes, verify_bytes,
};
use paysandbox_protocol::rsa::{PrivateKey, PublicKey};
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

/// The private key signs and the public key verifies: both loaded the same key pair.
fn assert_pair(private: &PrivateKey, public: &PublicKey) {
    let sig = sign_bytes(b"pair check", private, SignType::Rsa2).unwrap();
    verify_bytes(b"pair check", &sig, public, SignType::Rsa2).unwrap();
}

#[test]
fn every_private_form_loads_the_same_key() {
    for forms in [&vectors().keys.app, &vectors().keys.alipay] {
        let reference = parse_private_key(&forms.pkcs1_pem).unwrap();
        let texts = [
            forms.pkcs1_pem.clone(),
            forms.pkcs8_pem.clone(),
            pem_body(&forms.pkcs1_pem), // py-official: PKCS#1 body, no headers
            pem_body(&forms.pkcs8_pem), // java: PKCS#8 body, no headers
            forms.pkcs8_pem.replace('\n', "\r\n"), // pasted on Windows
            format!("\n  {}\n\n", forms.pkcs1_pem), // surrounding whitespace
            forms
                .pkcs8_pem
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("\n"),
            // Headerless base64 still wrapped at 64 columns, as copied from a PEM file.
            forms
                .pkcs8_pem
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<Vec<_>>()
                .join("\n"),
            // The whole PEM body on one line.
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
                pem_body(&forms.pkcs1_pem)
            ),
            // A PKCS#8 body under a PKCS#1 label (node's formatKey wraps keys that way).
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
                pem_body(&forms.pkcs8_pem)
            ),
        ];
        for text in &texts {
            let key = parse_private_key(text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
            assert_eq!(key, reference);
        }
    }
}

#[test]
fn every_public_form_loads_the_same_key() {
    for forms in [&vectors().keys.app, &vectors().keys.alipay] {
        let private = parse_private_key(&forms.pkcs8_pem).unwrap();
        let texts = [
            forms.spki_pem.clone(),
            forms.pkcs1_public_pem.clone(),
            pem_body(&forms.spki_pem), // what the Alipay console shows
            pem_body(&forms.pkcs1_public_pem),
            forms.spki_pem.replace('\n', "\r\n"),
        ];
        for text in &texts {
            let key = parse_public_key(text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
            assert_eq!(key, private.to_public_key());
            assert_pair(&private, &key);
        }
    }
}

#[test]
fn generated_key_round_trips_through_every_encoding() {
    // A fresh key, so the tests do not rest on the committed fixtures alone.
    let mut rng = rand::rng();
    let private = rsa::PrivateKey::new(&mut rng, 2048).unwrap();
    let public = private.to_public_key();
    let loaded = parse_private_key(&private.to_pkcs1_pem(LineEnding::LF).unwrap()).unwrap();

    let pkcs1_pem = private.to_pkcs1_pem(LineEnding::LF).unwrap();
    let pkcs8_pem = private.to_pkcs8_pem(LineEnding::CRLF).unwrap();
    let pkcs1_b64 = STANDARD.encode(private.to_pkcs1_der().unwrap().as_bytes());
    let pkcs8_b64 = STANDARD.encode(private.to_pkcs8_der().unwrap().as_bytes());
    for text in [
        pkcs1_pem.as_str(),
        pkcs8_pem.as_str(),
        &pkcs1_b64,
        &pkcs8_b64,
    ] {
        let key = parse_private_key(text).unwrap();
        assert_eq!(
            key.to_pkcs1_der(),
            private.to_pkcs1_der().unwrap().as_bytes()
        );
    }

    let spki_pem = public.to_public_key_pem(LineEnding::LF).unwrap();
    let pkcs1_pub_pem = public.to_pkcs1_pem(LineEnding::LF).unwrap();
    let spki_b64 = STANDARD.encode(public.to_public_key_der().unwrap().as_bytes());
    let pkcs1_pub_b64 = STANDARD.encode(public.to_pkcs1_der().unwrap().as_bytes());
    for text in [&spki_pem, &pkcs1_pub_pem, &spki_b64, &pkcs1_pub_b64] {
        let key = parse_public_key(text).unwrap();
        assert_eq!(
            key.to_spki_der(),
            public.to_public_key_der().unwrap().as_bytes()
        );
        assert_pair(&loaded, &key);
    }
}

#[test]
fn refuses_what_is_not_an_rsa_key_without_panicking() {
    let app = &vectors().keys.app;
    assert_eq!(parse_private_key(""), Err(KeyError::Empty));
    assert_eq!(parse_private_key(" \n\t"), Err(KeyError::Empty));
    assert_eq!(parse_public_key(""), Err(KeyError::Empty));
    assert_eq!(
        parse_private_key("not base64 at all!"),
        Err(KeyError::Base64)
    );
    assert_eq!(parse_private_key("AAAA"), Err(KeyError::NotRsaKey));
    // A public key where a private one belongs, and the reverse.
    assert_eq!(
        parse_private_key(&app.spki_pem),
        Err(KeyError::UnsupportedLabel("PUBLIC KEY".to_owned()))
    );
    assert_eq!(
        parse_private_key(&pem_body(&app.spki_pem)),
        Err(KeyError::NotRsaKey)
    );
    assert_eq!(
        parse_public_key(&app.pkcs1_pem),
        Err(KeyError::UnsupportedLabel("RSA PRIVATE KEY".to_owned()))
    );
    assert_eq!(
        parse_public_key("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        Err(KeyError::UnsupportedLabel("CERTIFICATE".to_owned()))
    );
    assert_eq!(
        parse_private_key(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----"
        ),
        Err(KeyError::Encrypted)
    );
    assert_eq!(
        parse_private_key(
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----"
        ),
        Err(KeyError::Encrypted)
    );
    // Truncated PEM, mismatched END, junk around the block.
    let truncated: String = app.pkcs8_pem.chars().take(200).collect();
    assert!(matches!(
        parse_private_key(&truncated),
        Err(KeyError::MalformedPem(_))
    ));
    let mismatched = app
        .pkcs8_pem
        .replace("END PRIVATE KEY", "END RSA PRIVATE KEY");
    assert!(matches!(
        parse_private_key(&mismatched),
        Err(KeyError::MalformedPem(_))
    ));
    assert!(matches!(
        parse_private_key(&format!("junk\n{}", app.pkcs8_pem)),
        Err(KeyError::MalformedPem(_))
    ));
    assert!(matches!(
        parse_private_key(&format!("{}junk", app.pkcs8_pem)),
        Err(KeyError::MalformedPem(_))
    ));
    // Damaged DER inside valid base64.
    let mut der = STANDARD.decode(pem_body(&app.pkcs8_pem)).unwrap();
    der.truncate(der.len() / 2);
    assert_eq!(
        parse_private_key(&STANDARD.encode(&der)),
        Err(KeyError::NotRsaKey)
    );
    assert!(matches!(
        parse_private_key("-----BEGIN "),
        Err(KeyError::MalformedPem(_))
    ));
}
