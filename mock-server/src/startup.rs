//! What `paysandbox serve` tells the world once it listens: where (the bound addresses, so a
//! listener asked for port 0 reports the port it got), the CA to trust, and every merchant and
//! app with the files a client configures. Printed as a banner, or as one JSON object
//! (`--json`), and written to the ready file (`--ready-file`) that a pipeline waits for
//! instead of sleeping.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::state::{AppState, Listening};

/// The start-up information, as `--json` prints it and the ready file holds it.
#[derive(Debug, Clone, Serialize)]
pub struct StartInfo {
    /// The process id (to stop it).
    pub pid: u32,
    /// The bound addresses.
    pub listening: Listening,
    /// `https://ADDR`: the WeChat APIs and the Alipay gateway over TLS.
    pub api_url: String,
    /// `http://ADDR`: the same APIs over plain HTTP, if served.
    pub http_url: Option<String>,
    /// `http://ADDR/gateway.do` (plain HTTP, else HTTPS): the Alipay gateway.
    pub alipay_gateway_url: String,
    /// `http://ADDR/admin`: the admin API.
    pub admin_url: String,
    /// The CA to trust.
    pub ca_path: PathBuf,
    /// Where certificates and keys are kept.
    pub data_dir: PathBuf,
    /// What the sandbox started from (a file, the built-in demo, or nothing).
    pub scenario: String,
    /// The seed of the id generator: `serve --seed` with it replays this run's ids.
    pub seed: u64,
    /// Every WeChat merchant, by mch_id.
    pub merchants: Vec<MerchantInfo>,
    /// Every Alipay app, by app_id.
    pub apps: Vec<AppInfo>,
}

/// A WeChat merchant and its API certificate files.
#[derive(Debug, Clone, Serialize)]
pub struct MerchantInfo {
    /// mch_id.
    pub mch_id: String,
    /// Bound appids.
    pub appids: Vec<String>,
    /// The API key.
    pub api_key: String,
    /// `apiclient_cert.pem`.
    pub cert_path: Option<PathBuf>,
    /// `apiclient_key.pem`.
    pub key_path: Option<PathBuf>,
    /// `apiclient_cert.p12`.
    pub p12_path: Option<PathBuf>,
    /// The p12's password (the mch_id).
    pub p12_password: Option<String>,
    /// What a WeChat Pay API v3 client needs (`null` if the files cannot be made).
    pub v3: Option<V3Info>,
}

/// A merchant's API v3 settings and files: enough to configure wechatpay-go, -java, -php or
/// wechatpayv3 against the sandbox.
#[derive(Debug, Clone, Serialize)]
pub struct V3Info {
    /// `certificate`, `public_key` or `switch_over`: which identity signs answers.
    pub identity: &'static str,
    /// The APIv3 key (decrypts `/v3/certificates`), if set.
    pub api_v3_key: Option<String>,
    /// The API certificate's serial: `serial_no` in `Authorization`.
    pub serial_no: String,
    /// `apiclient_key.pem`: signs requests.
    pub private_key_path: PathBuf,
    /// The newest platform certificate's serial and file (certificate mode).
    pub platform_certificate_serial: String,
    /// Its PEM file.
    pub platform_certificate_path: PathBuf,
    /// The WeChat Pay public key's id (public-key mode).
    pub public_key_id: String,
    /// `pub_key.pem`.
    pub public_key_path: PathBuf,
}

/// An Alipay app and its key files.
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    /// app_id.
    pub app_id: String,
    /// App private key, PKCS#1 PEM (you sign with it).
    pub app_private_key_path: Option<PathBuf>,
    /// The same, PKCS#8 PEM.
    pub app_private_key_pkcs8_path: Option<PathBuf>,
    /// The same, bare base64 PKCS#1 (the official Python SDK).
    pub app_private_key_base64_path: Option<PathBuf>,
    /// The same, bare base64 PKCS#8 (Java).
    pub app_private_key_pkcs8_base64_path: Option<PathBuf>,
    /// App public key, PEM.
    pub app_public_key_path: Option<PathBuf>,
    /// Alipay public key, PEM (you verify answers with it).
    pub alipay_public_key_path: Option<PathBuf>,
    /// The same, bare base64.
    pub alipay_public_key_base64_path: Option<PathBuf>,
}

impl StartInfo {
    /// The information of `state` listening at `listening`; `scenario` names what it started
    /// from. A merchant's or app's files that cannot be read are `null`.
    pub fn of(state: &AppState, listening: Listening, scenario: &str) -> StartInfo {
        let (merchants, apps) = {
            let world = state.world();
            let mut merchants: Vec<_> = world
                .wechat
                .merchants()
                .map(|m| {
                    (
                        m.mch_id.clone(),
                        m.appids.clone(),
                        m.api_key.clone(),
                        m.company.clone(),
                        (m.v3_identity, m.api_v3_key.clone()),
                    )
                })
                .collect();
            merchants.sort_by(|a, b| a.0.cmp(&b.0));
            let apps: Vec<String> = world
                .alipay
                .apps()
                .iter()
                .map(|a| a.app_id.clone())
                .collect();
            (merchants, apps)
        };
        let merchants = merchants
            .into_iter()
            .map(
                |(mch_id, appids, api_key, company, (identity, api_v3_key))| {
                    let files = state.certs.merchant(&mch_id, &company).ok();
                    let v3 = state
                        .wechat_v3_keys(&mch_id, &company)
                        .ok()
                        .and_then(|keys| {
                            let newest = keys.files.newest_platform_certificate()?;
                            Some(V3Info {
                                identity: identity.as_str(),
                                api_v3_key,
                                serial_no: keys.files.merchant_serial_no.clone(),
                                private_key_path: keys.files.merchant.key_path.clone(),
                                platform_certificate_serial: newest.serial_no.clone(),
                                platform_certificate_path: newest.cert_path.clone(),
                                public_key_id: keys.files.public_key.id.clone(),
                                public_key_path: keys.files.public_key.public_key_path.clone(),
                            })
                        });
                    MerchantInfo {
                        v3,
                        cert_path: files.as_ref().map(|f| f.cert_path.clone()),
                        key_path: files.as_ref().map(|f| f.key_path.clone()),
                        p12_path: files.as_ref().map(|f| f.p12_path.clone()),
                        p12_password: files.map(|f| f.p12_password),
                        mch_id,
                        appids,
                        api_key,
                    }
                },
            )
            .collect();
        let apps = apps
            .into_iter()
            .map(|app_id| {
                let keys = state.alipay_keys(&app_id).ok();
                let path = |pick: fn(&paysandbox_certs::AlipayAppFiles) -> &PathBuf| {
                    keys.as_ref().map(|k| pick(&k.files).clone())
                };
                AppInfo {
                    app_private_key_path: path(|f| &f.app_private_key_path),
                    app_private_key_pkcs8_path: path(|f| &f.app_private_key_pkcs8_path),
                    app_private_key_base64_path: path(|f| &f.app_private_key_base64_path),
                    app_private_key_pkcs8_base64_path: path(|f| {
                        &f.app_private_key_pkcs8_base64_path
                    }),
                    app_public_key_path: path(|f| &f.app_public_key_path),
                    alipay_public_key_path: path(|f| &f.alipay_public_key_path),
                    alipay_public_key_base64_path: path(|f| &f.alipay_public_key_base64_path),
                    app_id,
                }
            })
            .collect();
        let api_url = format!("https://{}", listening.api);
        let http_url = listening.http.map(|addr| format!("http://{addr}"));
        StartInfo {
            pid: std::process::id(),
            alipay_gateway_url: format!("{}/gateway.do", http_url.as_deref().unwrap_or(&api_url)),
            api_url,
            http_url,
            admin_url: format!("http://{}/admin", listening.admin),
            listening,
            ca_path: state.certs.ca_path(),
            data_dir: state.config.data_dir.clone(),
            scenario: scenario.to_owned(),
            seed: state.config.seed,
            merchants,
            apps,
        }
    }

    /// One line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Writes `text` to `path` atomically: into a temporary file beside it, flushed to disk, then
/// renamed over it, so a reader that sees the file sees all of it.
///
/// # Errors
/// The file cannot be written or renamed.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}
