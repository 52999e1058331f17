//! The files every in-process sandbox of a test process shares: one data directory with the
//! demo merchant's certificate (and its API v3 platform identities) and the demo app's keys,
//! made once.
// A harness failure (the files cannot be made) is a failed test: these panic with the reason.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use paysandbox_certs::CertStore;
use paysandbox_mock_server::demo;

/// The host names the test server certificate is issued for.
const SERVER_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// The certificate store of `dir`, created on first use.
///
/// # Panics
/// The store cannot be read or written.
pub fn cert_store(dir: &Path) -> CertStore {
    CertStore::load_or_create(dir, SERVER_HOSTS)
        .unwrap_or_else(|e| panic!("certificates in {}: {e}", dir.display()))
}

/// The data directory every sandbox of this process shares, with the demo merchant's
/// certificate and the demo app's keys already made. It lives until the process exits.
///
/// # Panics
/// The directory or the files cannot be made.
pub fn data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let store = cert_store(dir.path());
        store
            .wechat_v3(demo::MCH_ID, demo::COMPANY)
            .unwrap_or_else(|e| panic!("demo merchant certificate and v3 identities: {e}"));
        store
            .alipay_app(demo::ALIPAY_APP_ID)
            .unwrap_or_else(|e| panic!("demo app keys: {e}"));
        dir
    })
    .path()
}

/// Where a merchant's certificate files are (`apiclient_cert.pem`, `apiclient_key.pem`, ...).
pub fn merchant_dir(mch_id: &str) -> PathBuf {
    data_dir().join("merchants").join(mch_id)
}
