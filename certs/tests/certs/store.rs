//! The on-disk certificate set.

use std::fs;
use std::path::Path;

use paysandbox_certs::{CertError, CertStore, DEFAULT_CA_NAME, mch_id_from_cert_der};

use crate::common::{TempDir, assert_chains_to, parse, sans, snapshot};

const HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
const MCH_ID: &str = "1900000109";
const COMPANY: &str = "示例科技有限公司";

#[test]
fn writes_the_documented_layout() {
    let tmp = TempDir::new("layout");
    let dir = tmp.path().join("certs"); // created on demand
    let store = CertStore::load_or_create(&dir, &HOSTS).unwrap();
    let merchant = store.merchant(MCH_ID, COMPANY).unwrap();

    let files: Vec<String> = snapshot(&dir).into_keys().collect();
    assert_eq!(
        files,
        [
            "ca.key.pem",
            "ca.pem",
            "merchants/1900000109/apiclient_cert.p12",
            "merchants/1900000109/apiclient_cert.pem",
            "merchants/1900000109/apiclient_key.pem",
            "server.key.pem",
            "server.pem",
        ]
    );
    assert_eq!(store.dir, dir);
    assert_eq!(store.ca_path(), dir.join("ca.pem"));
    assert_eq!(store.server_cert_path(), dir.join("server.pem"));
    assert_eq!(store.server_key_path(), dir.join("server.key.pem"));
    let mdir = dir.join("merchants").join(MCH_ID);
    assert_eq!(merchant.mch_id, MCH_ID);
    assert_eq!(merchant.cert_path, mdir.join("apiclient_cert.pem"));
    assert_eq!(merchant.key_path, mdir.join("apiclient_key.pem"));
    assert_eq!(merchant.p12_path, mdir.join("apiclient_cert.p12"));
    assert_eq!(merchant.p12_password, MCH_ID);

    // The files hold what the structs say.
    assert_eq!(
        fs::read_to_string(store.ca_path()).unwrap(),
        store.ca.cert_pem()
    );
    assert_eq!(
        fs::read_to_string(dir.join("ca.key.pem")).unwrap(),
        store.ca.key_pem()
    );
    assert_eq!(
        fs::read_to_string(store.server_cert_path()).unwrap(),
        store.server.cert_pem
    );
    assert_eq!(
        fs::read_to_string(store.server_key_path()).unwrap(),
        store.server.key_pem
    );
    assert_eq!(
        fs::read_to_string(&merchant.cert_path).unwrap(),
        merchant.cert.cert_pem
    );
    assert_eq!(
        fs::read_to_string(&merchant.key_path).unwrap(),
        merchant.cert.key_pem
    );

    let ca = parse(&store.ca.cert_der()).subject().to_string();
    assert_eq!(ca, format!("CN={DEFAULT_CA_NAME}"));
    assert_chains_to(&store.server.cert_der, &store.ca.cert_der());
    assert_eq!(
        sans(&store.server.cert_der),
        ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]
    );
    assert_chains_to(&merchant.cert.cert_der, &store.ca.cert_der());
    assert_eq!(
        mch_id_from_cert_der(&merchant.cert.cert_der).as_deref(),
        Some(MCH_ID)
    );
}

#[cfg(unix)]
#[test]
fn private_keys_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = TempDir::new("modes");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let merchant = store.merchant(MCH_ID, COMPANY).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for private in [
        tmp.path().join("ca.key.pem"),
        store.server_key_path(),
        merchant.key_path.clone(),
        merchant.p12_path.clone(),
    ] {
        assert_eq!(mode(&private), 0o600, "{}", private.display());
    }
    // Certificates are public; only check that the group/other bits are not forced off.
    assert_eq!(mode(&store.ca_path()) & 0o600, 0o600);
}

#[test]
fn second_load_reuses_every_file() {
    let tmp = TempDir::new("reuse");
    let first = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let first_merchant = first.merchant(MCH_ID, COMPANY).unwrap();
    let before = snapshot(tmp.path());

    let second = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let second_merchant = second.merchant(MCH_ID, COMPANY).unwrap();

    assert_eq!(second.ca.cert_pem(), first.ca.cert_pem());
    assert_eq!(second.ca.key_pem(), first.ca.key_pem());
    assert_eq!(second.server, first.server);
    assert_eq!(second_merchant.cert, first_merchant.cert);
    // Not a byte rewritten, the p12 included.
    assert_eq!(snapshot(tmp.path()), before);
    // And asking for the merchant again on the same store is just as stable.
    assert_eq!(
        second.merchant(MCH_ID, COMPANY).unwrap().cert,
        first_merchant.cert
    );
}

#[test]
fn a_new_ca_reissues_server_and_merchant_files() {
    let tmp = TempDir::new("new-ca");
    let first = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let first_merchant = first.merchant(MCH_ID, COMPANY).unwrap();
    fs::remove_file(tmp.path().join("ca.key.pem")).unwrap();

    let second = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    assert_ne!(second.ca.cert_der(), first.ca.cert_der());
    assert_ne!(second.server, first.server);
    assert_chains_to(&second.server.cert_der, &second.ca.cert_der());

    // Rewritten on disk by load_or_create itself, keeping mch_id and company.
    let on_disk = fs::read_to_string(&first_merchant.cert_path).unwrap();
    assert_ne!(on_disk, first_merchant.cert.cert_pem);
    let merchant = second.merchant(MCH_ID, COMPANY).unwrap();
    assert_eq!(merchant.cert.cert_pem, on_disk);
    assert_chains_to(&merchant.cert.cert_der, &second.ca.cert_der());
    let subject = parse(&merchant.cert.cert_der).subject().to_string();
    assert_eq!(
        subject,
        format!("CN={MCH_ID}, O=微信商户系统, OU={COMPANY}")
    );
}

#[test]
fn server_cert_is_reissued_for_new_hosts_and_foreign_issuers() {
    let tmp = TempDir::new("hosts");
    let first = CertStore::load_or_create(tmp.path(), &["localhost"]).unwrap();
    let wider = CertStore::load_or_create(tmp.path(), &["localhost", "10.1.2.3"]).unwrap();
    assert_eq!(wider.ca.cert_der(), first.ca.cert_der());
    assert_ne!(wider.server, first.server);
    assert_eq!(
        sans(&wider.server.cert_der),
        ["DNS:localhost", "IP:10.1.2.3"]
    );
    // A subset of the hosts is already covered: reused.
    let narrower = CertStore::load_or_create(tmp.path(), &["10.1.2.3"]).unwrap();
    assert_eq!(narrower.server, wider.server);

    // A server certificate from another CA is replaced.
    let other = TempDir::new("hosts-other");
    let foreign = CertStore::load_or_create(other.path(), &["localhost"]).unwrap();
    fs::copy(foreign.server_cert_path(), first.server_cert_path()).unwrap();
    fs::copy(foreign.server_key_path(), first.server_key_path()).unwrap();
    let fixed = CertStore::load_or_create(tmp.path(), &["localhost"]).unwrap();
    assert_ne!(fixed.server, foreign.server);
    assert_chains_to(&fixed.server.cert_der, &first.ca.cert_der());
}

#[test]
fn merchant_files_are_repaired_or_reissued_when_stale() {
    let tmp = TempDir::new("merchant");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let original = store.merchant(MCH_ID, COMPANY).unwrap();

    // Lost or corrupted p12: rewritten from the same certificate.
    fs::remove_file(&original.p12_path).unwrap();
    assert_eq!(store.merchant(MCH_ID, COMPANY).unwrap().cert, original.cert);
    assert!(original.p12_path.is_file());
    fs::write(&original.p12_path, b"junk").unwrap();
    assert_eq!(store.merchant(MCH_ID, COMPANY).unwrap().cert, original.cert);
    let p12 = fs::read(&original.p12_path).unwrap();
    let opened =
        p12_keystore::KeyStore::from_pkcs12(&p12, MCH_ID, p12_keystore::Pkcs12ImportPolicy::Strict)
            .unwrap();
    let (_, chain) = opened.private_key_chain().unwrap();
    assert_eq!(chain.certs()[0].as_der(), original.cert.cert_der.as_slice());

    // A different company: a new certificate.
    let renamed = store.merchant(MCH_ID, "Other Co").unwrap();
    assert_ne!(renamed.cert, original.cert);
    assert!(
        parse(&renamed.cert.cert_der)
            .subject()
            .to_string()
            .ends_with("OU=Other Co")
    );

    // A key that does not belong to the certificate: a new certificate.
    let other = store.merchant("1900000110", COMPANY).unwrap();
    fs::copy(&other.key_path, &renamed.key_path).unwrap();
    let reissued = store.merchant(MCH_ID, "Other Co").unwrap();
    assert_ne!(reissued.cert, renamed.cert);
    assert_ne!(reissued.cert.key_der, other.cert.key_der);
}

#[test]
fn bad_mch_id_is_rejected_before_touching_the_disk() {
    let tmp = TempDir::new("bad-id");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    for bad in ["../escape", "a/b", "", "."] {
        assert!(
            matches!(
                store.merchant(bad, COMPANY),
                Err(CertError::InvalidMchId(_))
            ),
            "{bad:?}"
        );
    }
    assert!(!tmp.path().join("merchants").exists());
    assert!(!tmp.path().join("escape").exists());
}

#[test]
fn unreadable_ca_is_an_error_not_replaced() {
    let tmp = TempDir::new("bad-ca");
    CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    fs::write(tmp.path().join("ca.pem"), "not a certificate").unwrap();
    assert!(CertStore::load_or_create(tmp.path(), &HOSTS).is_err());
    assert_eq!(
        fs::read_to_string(tmp.path().join("ca.pem")).unwrap(),
        "not a certificate"
    );
}
