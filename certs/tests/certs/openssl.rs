//! Interop with the `openssl` command line, when it is installed (skipped with a note otherwise).
//!
//! Runs with `OPENSSL_CONF=/dev/null` so that no configuration can load the legacy provider: the
//! p12 must open with OpenSSL 3's default provider alone, as Node >= 17, Ruby and PHP use it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
    PrivateKeyChain,
};
use paysandbox_certs::{CertStore, IssuedCert};

use crate::common::TempDir;

const MCH_ID: &str = "1900000109";

fn openssl_or_skip(test: &str) -> Option<PathBuf> {
    let found = crate::common::openssl();
    if found.is_none() {
        println!("note: `openssl` not on PATH, skipping {test}");
    }
    found
}

fn run(openssl: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(openssl);
    command.args(args);
    if Path::new("/dev/null").exists() {
        command.env("OPENSSL_CONF", "/dev/null");
    }
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn merchant_p12_opens_with_the_default_provider() {
    let Some(openssl) = openssl_or_skip("merchant_p12_opens_with_the_default_provider") else {
        return;
    };
    let tmp = TempDir::new("openssl-p12");
    let store = CertStore::load_or_create(tmp.path(), &["localhost"]).unwrap();
    let merchant = store.merchant(MCH_ID, "Example Co").unwrap();
    let p12 = merchant.p12_path.to_str().unwrap();

    let pass = format!("pass:{MCH_ID}");
    let info = run(
        &openssl,
        &["pkcs12", "-info", "-noout", "-passin", &pass, "-in", p12],
    );
    let out = text(&info);
    assert!(info.status.success(), "openssl pkcs12 -info failed:\n{out}");
    assert!(out.contains("MAC: sha1"), "{out}");
    assert_eq!(
        out.matches("pbeWithSHA1And3-KeyTripleDES-CBC").count(),
        2,
        "{out}"
    );

    let wrong = run(
        &openssl,
        &[
            "pkcs12",
            "-info",
            "-noout",
            "-passin",
            "pass:nope",
            "-in",
            p12,
        ],
    );
    assert!(
        !wrong.status.success(),
        "wrong password accepted:\n{}",
        text(&wrong)
    );

    // The key and certificate come out intact.
    let dump = run(
        &openssl,
        &["pkcs12", "-nodes", "-passin", &pass, "-in", p12],
    );
    let out = text(&dump);
    assert!(dump.status.success(), "{out}");
    assert!(out.contains(merchant.cert.cert_pem.trim()), "{out}");

    rc2_control(&openssl, &tmp, &merchant.cert);
}

/// Shows the check above means something: the same bundle with RC2 must be refused here.
fn rc2_control(openssl: &Path, tmp: &TempDir, cert: &IssuedCert) {
    let mut store = KeyStore::new();
    let chain = PrivateKeyChain::new(
        b"1".as_slice(),
        PrivateKey::from_der(&cert.key_der).unwrap(),
        [Certificate::from_der(&cert.cert_der).unwrap()],
    );
    store.add_entry("rc2", KeyStoreEntry::PrivateKeyChain(chain));
    let rc2 = store
        .writer(MCH_ID)
        // Despite its name this variant writes pbeWithSHAAnd40BitRC2-CBC.
        .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd40BitRc4Cbc)
        .mac_algorithm(MacAlgorithm::HmacSha1)
        .write()
        .unwrap();
    let path = tmp.path().join("rc2.p12");
    std::fs::write(&path, rc2).unwrap();
    let pass = format!("pass:{MCH_ID}");
    let result = run(
        openssl,
        &[
            "pkcs12",
            "-info",
            "-noout",
            "-passin",
            &pass,
            "-in",
            path.to_str().unwrap(),
        ],
    );
    let out = text(&result);
    assert!(
        out.contains("MAC: sha1"),
        "control bundle is malformed:\n{out}"
    );
    if result.status.success() {
        println!(
            "note: this openssl also reads RC2 (LibreSSL, OpenSSL 1.x or legacy provider), so the \
             default-provider check above proves less here"
        );
    } else {
        println!("RC2 control refused as expected:\n{out}");
    }
}

#[test]
fn openssl_verifies_both_chains() {
    let Some(openssl) = openssl_or_skip("openssl_verifies_both_chains") else {
        return;
    };
    let tmp = TempDir::new("openssl-verify");
    let store = CertStore::load_or_create(tmp.path(), &["localhost", "127.0.0.1"]).unwrap();
    let merchant = store.merchant(MCH_ID, "Example Co").unwrap();
    let ca = store.ca_path();
    let ca = ca.to_str().unwrap();

    let server = store.server_cert_path();
    let checks = [
        ("sslserver", server.to_str().unwrap()),
        ("sslclient", merchant.cert_path.to_str().unwrap()),
    ];
    for (purpose, cert) in checks {
        let out = run(
            &openssl,
            &["verify", "-CAfile", ca, "-purpose", purpose, cert],
        );
        assert!(out.status.success(), "{purpose}: {}", text(&out));
    }
    // Purposes are enforced: the merchant cert is not a server cert.
    let cert = merchant.cert_path.to_str().unwrap();
    let out = run(
        &openssl,
        &["verify", "-CAfile", ca, "-purpose", "sslserver", cert],
    );
    assert!(!out.status.success(), "{}", text(&out));
}
