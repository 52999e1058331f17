//! API v3 files: platform certificates, the WeChat Pay public key and the merchant serial.

use std::fs;

use crate::common::{TempDir, assert_chains_to, parse, snapshot};
use paysandbox_certs::{CertStore, PLATFORM_COMMON_NAME};
use paysandbox_protocol::rsa::{Hash, PrivateKey, PublicKey};
use paysandbox_protocol::wechat::v3::identity::{SerialKind, classify};
use x509_parser::extensions::ParsedExtension;

const HOSTS: [&str; 1] = ["localhost"];
const MCH_ID: &str = "1900000109";
const COMPANY: &str = "示例科技有限公司";

#[test]
fn writes_the_documented_layout_and_reuses_it() {
    let tmp = TempDir::new("v3-layout");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let v3 = store.wechat_v3(MCH_ID, COMPANY).unwrap();
    let mdir = tmp.path().join("merchants").join(MCH_ID);

    assert_eq!(v3.platform_certificates.len(), 1);
    let platform = v3.newest_platform_certificate().unwrap();
    let serial = &platform.serial_no;
    let names: Vec<String> = snapshot(&mdir).into_keys().collect();
    assert_eq!(
        names,
        [
            "apiclient_cert.p12".to_owned(),
            "apiclient_cert.pem".to_owned(),
            "apiclient_key.pem".to_owned(),
            "platform_private/pub_key.key.pem".to_owned(),
            format!("platform_private/wechatpay_{serial}.key.pem"),
            "pub_key.pem".to_owned(),
            "pub_key_id.txt".to_owned(),
            format!("wechatpay_certs/wechatpay_{serial}.pem"),
        ]
    );
    assert_eq!(v3.certificates_dir, mdir.join("wechatpay_certs"));
    assert_eq!(
        platform.cert_path,
        mdir.join(format!("wechatpay_certs/wechatpay_{serial}.pem"))
    );
    assert_eq!(
        fs::read_to_string(&platform.cert_path).unwrap(),
        platform.cert.cert_pem
    );
    assert_eq!(v3.public_key.public_key_path, mdir.join("pub_key.pem"));
    assert_eq!(
        fs::read_to_string(&v3.public_key.id_path).unwrap(),
        format!("{}\n", v3.public_key.id)
    );
    assert_eq!(
        fs::read_to_string(&v3.public_key.public_key_path).unwrap(),
        v3.public_key.keys.public_pem
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for private in [&platform.key_path, &v3.public_key.private_key_path] {
            let mode = fs::metadata(private).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", private.display());
        }
    }

    // A second store on the same directory rewrites nothing and returns the same identity.
    let before = snapshot(tmp.path());
    let again = CertStore::load_or_create(tmp.path(), &HOSTS)
        .unwrap()
        .wechat_v3(MCH_ID, COMPANY)
        .unwrap();
    assert_eq!(snapshot(tmp.path()), before);
    assert_eq!(again.public_key.id, v3.public_key.id);
    assert_eq!(again.merchant_serial_no, v3.merchant_serial_no);
    assert_eq!(again.platform_certificates[0].serial_no, *serial);
}

#[test]
fn serials_and_ids_have_the_clients_shapes() {
    let tmp = TempDir::new("v3-serials");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let v3 = store.wechat_v3(MCH_ID, COMPANY).unwrap();

    // The merchant serial is the API certificate's serial in upper-case hex (40 digits: the
    // serials are 20 bytes with the top bits 01).
    let merchant = parse(&v3.merchant.cert.cert_der);
    let hex: String = merchant
        .raw_serial()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(v3.merchant_serial_no, hex);
    assert_eq!(v3.merchant_serial_no.len(), 40);
    assert_eq!(
        classify(&v3.merchant_serial_no),
        Some(SerialKind::Certificate)
    );

    let platform = v3.newest_platform_certificate().unwrap();
    assert_eq!(platform.serial_no.len(), 40);
    assert_ne!(platform.serial_no, v3.merchant_serial_no);

    let id = &v3.public_key.id;
    assert_eq!(classify(id), Some(SerialKind::PublicKeyId));
    assert!(id.starts_with("PUB_KEY_ID_011900000109"), "{id}");
}

#[test]
fn platform_certificates_look_like_the_real_ones() {
    let tmp = TempDir::new("v3-platform");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let v3 = store.wechat_v3(MCH_ID, COMPANY).unwrap();
    let platform = v3.newest_platform_certificate().unwrap();
    assert_chains_to(&platform.cert.cert_der, &store.ca.cert_der());

    let cert = parse(&platform.cert.cert_der);
    assert_eq!(
        cert.subject().to_string(),
        format!(
            "CN={PLATFORM_COMMON_NAME}, O=Tenpay.com, OU=Tenpay.com CA Center, C=CN, L=ShenZhen"
        )
    );
    let validity = cert.validity();
    let days = (validity.not_after.timestamp() - validity.not_before.timestamp()) / 86_400;
    assert_eq!(days, 5 * 365 + 2, "five years, backdated a day");
    let usage = cert
        .iter_extensions()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::KeyUsage(ku) => Some(*ku),
            _ => None,
        })
        .unwrap();
    assert!(usage.digital_signature() && usage.non_repudiation() && usage.key_encipherment());
    assert!(usage.data_encipherment() && usage.key_agreement() && !usage.key_cert_sign());
    assert!(!cert.is_ca());

    // The files load as the v3 clients load them: the certificate's key verifies what the
    // stored private key signs, and the same for the WeChat Pay public key.
    for (private_pem, public_pem) in [
        (&platform.cert.key_pem, &platform.cert.cert_pem),
        (
            &v3.public_key.keys.private_pkcs8_pem,
            &v3.public_key.keys.public_pem,
        ),
    ] {
        let private = PrivateKey::from_pem(private_pem).unwrap();
        let public = PublicKey::from_pem(public_pem).unwrap();
        assert_eq!(public.bits(), 2048);
        let sig = private
            .sign(Hash::Sha256, b"1700000000\nnonce\n{}\n")
            .unwrap();
        assert_eq!(
            public.verify(Hash::Sha256, b"1700000000\nnonce\n{}\n", &sig),
            Ok(())
        );
    }
    assert!(
        v3.public_key
            .keys
            .public_pem
            .starts_with("-----BEGIN PUBLIC KEY-----\n")
    );
}

#[test]
fn rotation_adds_a_newer_certificate_and_keeps_the_old_one() {
    let tmp = TempDir::new("v3-rotate");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let first = store.wechat_v3(MCH_ID, COMPANY).unwrap();
    let rotated = store.rotate_platform_certificate(MCH_ID, COMPANY).unwrap();
    assert_eq!(rotated.platform_certificates.len(), 2);
    assert_eq!(
        rotated.platform_certificates[0].serial_no,
        first.platform_certificates[0].serial_no
    );
    assert_ne!(
        rotated.newest_platform_certificate().unwrap().serial_no,
        first.platform_certificates[0].serial_no
    );
    assert_eq!(rotated.public_key.id, first.public_key.id);
    assert_eq!(fs::read_dir(&rotated.certificates_dir).unwrap().count(), 2);
}

#[test]
fn damaged_files_are_repaired_or_replaced() {
    let tmp = TempDir::new("v3-repair");
    let store = CertStore::load_or_create(tmp.path(), &HOSTS).unwrap();
    let first = store.wechat_v3(MCH_ID, COMPANY).unwrap();

    // A deleted pub_key.pem comes back from the private key, same id.
    fs::remove_file(&first.public_key.public_key_path).unwrap();
    let repaired = store.wechat_v3(MCH_ID, COMPANY).unwrap();
    assert_eq!(repaired.public_key.id, first.public_key.id);
    assert_eq!(
        fs::read_to_string(&repaired.public_key.public_key_path).unwrap(),
        first.public_key.keys.public_pem
    );

    // A garbled id means a new key pair and id.
    fs::write(&first.public_key.id_path, "PUB_KEY_ID_12\n").unwrap();
    let replaced = store.wechat_v3(MCH_ID, COMPANY).unwrap();
    assert_ne!(replaced.public_key.id, first.public_key.id);
    assert_ne!(
        replaced.public_key.keys.public_pem,
        first.public_key.keys.public_pem
    );

    // A platform certificate whose key is gone is replaced by a new one; the orphan stays on
    // disk but is not offered.
    fs::remove_file(&first.platform_certificates[0].key_path).unwrap();
    let reissued = store.wechat_v3(MCH_ID, COMPANY).unwrap();
    assert_eq!(reissued.platform_certificates.len(), 1);
    assert_ne!(
        reissued.platform_certificates[0].serial_no,
        first.platform_certificates[0].serial_no
    );
}
