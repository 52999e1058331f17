//! Alipay app key files in the store: layout, forms, modes, reuse and repair.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paysandbox_certs::{AlipayAppFiles, CertError, CertStore};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use rsa::sha2::Sha256;

use crate::common::TempDir;

const HOSTS: [&str; 1] = ["localhost"];
const APP_ID: &str = "2021000000000001";

fn alipay_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir.join("alipay").join(APP_ID))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&path).unwrap())
        })
        .collect()
}

/// Signs with `private` (RSA2) and verifies with `public`: the two halves belong together.
fn assert_pair(private: &rsa::PrivateKey, public: &rsa::PublicKey) {
    let message = b"app_id=2021000000000001&method=alipay.trade.refund";
    let sig = private.pkcs1v15_sign::<Sha256>(message).unwrap();
    public.pkcs1v15_verify::<Sha256>(message, &sig).unwrap();
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

fn check_forms(files: &AlipayAppFiles) {
    let app = rsa::PrivateKey::from_pkcs1_pem(&read(&files.app_private_key_path)).unwrap();
    let app8 = rsa::PrivateKey::from_pkcs8_pem(&read(&files.app_private_key_pkcs8_path)).unwrap();
    let app_b64 = rsa::PrivateKey::from_pkcs1_der(
        &STANDARD
            .decode(read(&files.app_private_key_base64_path))
            .unwrap(),
    )
    .unwrap();
    let app8_b64 = rsa::PrivateKey::from_pkcs8_der(
        &STANDARD
            .decode(read(&files.app_private_key_pkcs8_base64_path))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(app, app8);
    assert_eq!(app, app_b64);
    assert_eq!(app, app8_b64);
    let app_public =
        rsa::PublicKey::from_public_key_pem(&read(&files.app_public_key_path)).unwrap();
    let app_public_b64 = rsa::PublicKey::from_public_key_der(
        &STANDARD
            .decode(read(&files.app_public_key_base64_path))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(app_public, app_public_b64);
    assert_pair(&app, &app_public);

    let alipay = rsa::PrivateKey::from_pkcs8_pem(&read(&files.alipay_private_key_path)).unwrap();
    let alipay_public =
        rsa::PublicKey::from_public_key_pem(&read(&files.alipay_public_key_path)).unwrap();
    let alipay_public_b64 = rsa::PublicKey::from_public_key_der(
        &STANDARD
            .decode(read(&files.alipay_public_key_base64_path))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(alipay_public, alipay_public_b64);
    assert_pair(&alipay, &alipay_public);
    // Two different pairs: the app's own public key must not verify Alipay's responses.
    assert_ne!(app_public, alipay_public);

    // The structs hold what the files hold.
    assert_eq!(
        read(&files.app_private_key_path),
        files.app.private_pkcs1_pem
    );
    assert_eq!(read(&files.alipay_public_key_path), files.alipay.public_pem);
    assert_eq!(
        read(&files.alipay_private_key_path),
        files.alipay.private_pkcs8_pem
    );
}

#[test]
fn writes_every_key_form_under_alipay_app_id() {
    let tmp = TempDir::new("alipay-layout");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let files = store.alipay_app(APP_ID).unwrap();
    assert_eq!(files.app_id, APP_ID);
    let names: Vec<String> = alipay_files(tmp.path()).into_keys().collect();
    assert_eq!(
        names,
        [
            "alipay_private_key.pem",
            "alipay_public_key.pem",
            "alipay_public_key.txt",
            "app_private_key.pem",
            "app_private_key.txt",
            "app_private_key_pkcs8.pem",
            "app_private_key_pkcs8.txt",
            "app_public_key.pem",
            "app_public_key.txt",
        ]
    );
    let dir = tmp.path().join("alipay").join(APP_ID);
    assert_eq!(files.app_private_key_path, dir.join("app_private_key.pem"));
    assert_eq!(
        files.alipay_public_key_path,
        dir.join("alipay_public_key.pem")
    );
    assert!(read(&files.app_private_key_path).starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    assert!(read(&files.app_private_key_pkcs8_path).starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(read(&files.alipay_public_key_path).starts_with("-----BEGIN PUBLIC KEY-----\n"));
    for bare in [
        &files.app_private_key_base64_path,
        &files.app_private_key_pkcs8_base64_path,
        &files.app_public_key_base64_path,
        &files.alipay_public_key_base64_path,
    ] {
        let text = read(bare);
        assert!(!text.contains(['\n', '\r', ' ', '-']), "{}", bare.display());
    }
    check_forms(&files);
}

#[cfg(unix)]
#[test]
fn private_key_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = TempDir::new("alipay-modes");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let files = store.alipay_app(APP_ID).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for private in [
        &files.app_private_key_path,
        &files.app_private_key_pkcs8_path,
        &files.app_private_key_base64_path,
        &files.app_private_key_pkcs8_base64_path,
        &files.alipay_private_key_path,
    ] {
        assert_eq!(mode(private), 0o600, "{}", private.display());
    }
    for public in [&files.app_public_key_path, &files.alipay_public_key_path] {
        assert_eq!(mode(public) & 0o600, 0o600);
    }
}

#[test]
fn second_call_and_second_load_reuse_every_byte() {
    let tmp = TempDir::new("alipay-reuse");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let first = store.alipay_app(APP_ID).unwrap();
    let before = alipay_files(tmp.path());
    let again = store.alipay_app(APP_ID).unwrap();
    let reloaded = CertStore::load_or_create(tmp.path(), &HOSTS)
        .unwrap()
        .alipay_app(APP_ID)
        .unwrap();
    assert_eq!(again.app, first.app);
    assert_eq!(again.alipay, first.alipay);
    assert_eq!(reloaded.app, first.app);
    assert_eq!(reloaded.alipay, first.alipay);
    assert_eq!(alipay_files(tmp.path()), before);
    // Another app gets its own keys.
    let other = store.alipay_app("2021000000000002").unwrap();
    assert_ne!(other.app, first.app);
    assert_ne!(other.alipay, first.alipay);
}

#[test]
fn lost_or_damaged_derived_files_are_repaired_with_the_same_keys() {
    let tmp = TempDir::new("alipay-repair");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let first = store.alipay_app(APP_ID).unwrap();
    let before = alipay_files(tmp.path());
    fs::remove_file(&first.alipay_public_key_path).unwrap();
    fs::write(&first.app_public_key_base64_path, "junk").unwrap();
    fs::remove_file(&first.app_private_key_pkcs8_path).unwrap();
    let repaired = store.alipay_app(APP_ID).unwrap();
    assert_eq!(repaired.app, first.app);
    assert_eq!(repaired.alipay, first.alipay);
    assert_eq!(alipay_files(tmp.path()), before);
    check_forms(&repaired);
}

#[test]
fn a_lost_source_key_means_a_new_pair_for_that_side_only() {
    let tmp = TempDir::new("alipay-new");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let first = store.alipay_app(APP_ID).unwrap();
    fs::write(&first.app_private_key_path, "not a key").unwrap();
    let second = store.alipay_app(APP_ID).unwrap();
    assert_ne!(second.app, first.app);
    assert_eq!(second.alipay, first.alipay);
    check_forms(&second);

    fs::remove_file(&second.alipay_private_key_path).unwrap();
    let third = store.alipay_app(APP_ID).unwrap();
    assert_eq!(third.app, second.app);
    assert_ne!(third.alipay, second.alipay);
    check_forms(&third);
}

#[test]
fn bad_app_id_is_rejected_before_touching_the_disk() {
    let tmp = TempDir::new("alipay-bad-id");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    for bad in ["../escape", "a/b", "", ".", "x".repeat(33).as_str()] {
        assert!(
            matches!(store.alipay_app(bad), Err(CertError::InvalidAppId(_))),
            "{bad:?}"
        );
    }
    assert!(!tmp.path().join("alipay").exists());
}
