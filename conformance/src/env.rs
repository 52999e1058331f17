//! The target under test and the credentials the suite makes for itself.
//!
//! An [`Env`] is either an in-process sandbox ([`Env::in_process`], frozen clock) or any
//! running server ([`Env::remote`]) reached through its WeChat URL, Alipay gateway URL and admin
//! API. Either way the suite creates its own WeChat merchant and Alipay app through the admin
//! API (unique ids per run), builds SDK clients from the certificate and key files the admin
//! API names (so the runner must share a filesystem with the server), and never touches the
//! demo data. Each state-machine case uses fresh order numbers under a per-case prefix and
//! sets the balances it starts from, so cases do not see each other.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use paysandbox_mock_server::clock::Timestamp;
use paysandbox_mock_server::server::RunningSandbox;
use paysandbox_mock_server::state::SandboxConfig;
use paysandbox_sdk::wechat::v3;
use paysandbox_sdk::{alipay, wechat};
pub use paysandbox_testkit::admin::{Admin, AdminError};
use paysandbox_testkit::sandbox::{T0, frozen_config};
use serde_json::{Value, json};

/// Where the endpoints are.
#[derive(Debug, Clone)]
pub struct Urls {
    /// WeChat API base URL (HTTPS, mutual TLS on `/secapi/`), e.g. `https://localhost:8443`.
    pub wechat: String,
    /// Alipay gateway URL, e.g. `http://127.0.0.1:8080/gateway.do`.
    pub alipay: String,
    /// Admin API base URL, e.g. `http://127.0.0.1:8444` (without `/admin`).
    pub admin: String,
    /// CA to trust for HTTPS; `None`: the one the admin API names for the new merchant.
    pub ca: Option<PathBuf>,
}

/// The server's timing rules the models must know (they match `paysandbox serve` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// WeChat PROCESSING → SUCCESS delay (`--settle-delay-secs`, default 10).
    pub settle_secs: u64,
    /// WeChat minimum time between refunds of an order (60; 0 with `--no-refund-spacing`).
    pub wechat_spacing_secs: u64,
    /// Alipay minimum time between refunds of a trade (3; 0 with `--no-refund-spacing`).
    pub alipay_spacing_secs: u64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            settle_secs: 10,
            wechat_spacing_secs: 60,
            alipay_spacing_secs: 3,
        }
    }
}

/// Failures setting up or talking to the admin API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    /// The admin API failed.
    #[error("admin API: {0}")]
    Admin(#[from] AdminError),
    /// The admin API's answer lacks what the setup needs.
    #[error("admin API answer: {0}")]
    Answer(String),
    /// An SDK client could not be built.
    #[error("SDK client: {0}")]
    Client(String),
    /// The in-process sandbox did not start, or the runtime did not.
    #[error("start: {0}")]
    Start(String),
}

/// Readies the sandbox for a new state-machine case once its starting balance is set: drops
/// any queued fault and returns the journal position the case's invariants check from.
///
/// # Errors
/// The admin API failed.
pub async fn begin_case(admin: &Admin) -> Result<u64, AdminError> {
    admin.clear_faults().await?;
    let tail = admin.journal(1).await?;
    Ok(tail
        .first()
        .and_then(|e| e.get("seq"))
        .and_then(Value::as_u64)
        .unwrap_or(0))
}

/// The suite's WeChat merchant.
#[derive(Debug)]
pub struct WechatSetup {
    /// mch_id.
    pub mch_id: String,
    /// appid.
    pub appid: String,
    /// API key.
    pub api_key: String,
    /// Signs with MD5 (no `sign_type` field).
    pub md5: wechat::Client,
    /// Signs with HMAC-SHA256.
    pub hmac: wechat::Client,
    /// Same appid and key, a mch_id the server does not know.
    pub stranger: wechat::Client,
    /// The stranger's mch_id.
    pub stranger_mch_id: String,
    /// The same merchant over API v3: signs with its API certificate's key and verifies every
    /// 2xx answer with the platform identities the admin API names (certificates and public
    /// key both trusted, so any identity mode the server is in verifies). No retries: the
    /// models predict each single answer.
    pub v3: v3::Client,
    /// The merchant's APIv3 key.
    pub api_v3_key: String,
    /// Certificate and key files (for extra clients, e.g. the concurrency property).
    pub cert: (PathBuf, PathBuf),
    /// The CA the clients trust.
    pub ca: PathBuf,
}

/// The suite's Alipay app.
#[derive(Debug)]
pub struct AlipaySetup {
    /// app_id.
    pub app_id: String,
    /// An RSA2 client.
    pub client: alipay::Client,
    /// The Alipay (platform) public key, bare base64, to verify raw answers.
    pub alipay_public_key: String,
}

/// Everything a run needs: the runtime, the target, the credentials.
#[derive(Debug)]
pub struct Env {
    runtime: tokio::runtime::Runtime,
    /// The admin API.
    pub admin: Admin,
    /// Where the endpoints are.
    pub urls: Urls,
    /// The server's timing rules.
    pub rules: Rules,
    /// True when the sandbox clock only moves when advanced (in-process): timing predictions
    /// are then exact. Against a live clock the models keep every prediction at least a
    /// second away from a time boundary.
    pub frozen_clock: bool,
    /// The WeChat merchant.
    pub wechat: WechatSetup,
    /// The Alipay app.
    pub alipay: AlipaySetup,
    /// Unique per run: prefixes every order and refund number.
    pub run_id: String,
    cases: AtomicU64,
    sandbox: Option<RunningSandbox>,
    _dir: Option<tempfile::TempDir>,
}

/// The frozen start of the in-process sandbox: 2023-11-14 22:13:20 UTC (the test kit's).
pub const IN_PROCESS_T0: Timestamp = T0;

impl Env {
    /// Starts a sandbox in this process (frozen clock, real rules unless `configure` changes
    /// them; the models are told [`Rules`] from the configuration) and sets up credentials.
    ///
    /// # Errors
    /// The sandbox or the setup failed.
    pub fn in_process(configure: impl FnOnce(&mut SandboxConfig)) -> Result<Env, EnvError> {
        let runtime = runtime()?;
        let dir = tempfile::tempdir().map_err(|e| EnvError::Start(e.to_string()))?;
        let mut config = frozen_config(dir.path());
        config.demo_data = false;
        configure(&mut config);
        let rules = Rules {
            settle_secs: config.wechat_rules.settle_delay.as_secs(),
            wechat_spacing_secs: config.wechat_rules.refund_spacing.as_secs(),
            alipay_spacing_secs: config.alipay_rules.refund_spacing.as_secs(),
        };
        let sandbox = runtime
            .block_on(RunningSandbox::start(config))
            .map_err(|e| EnvError::Start(e.to_string()))?;
        let urls = Urls {
            wechat: sandbox.api_url.clone(),
            alipay: format!("{}/gateway.do", sandbox.api_url),
            admin: sandbox.admin_url.clone(),
            ca: Some(sandbox.ca_path.clone()),
        };
        let mut env = Env::connect(runtime, urls, rules, true)?;
        env.sandbox = Some(sandbox);
        env._dir = Some(dir);
        Ok(env)
    }

    /// Connects to a running server (its clock follows the system time).
    ///
    /// # Errors
    /// The admin API refused the setup.
    pub fn remote(urls: Urls, rules: Rules) -> Result<Env, EnvError> {
        let runtime = runtime()?;
        Env::connect(runtime, urls, rules, false)
    }

    fn connect(
        runtime: tokio::runtime::Runtime,
        urls: Urls,
        rules: Rules,
        frozen_clock: bool,
    ) -> Result<Env, EnvError> {
        let admin = Admin::new(&urls.admin)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let run = format!("{:010}", nanos % 10_000_000_000);
        let (wechat, alipay) = runtime.block_on(setup(&admin, &urls, &run))?;
        Ok(Env {
            runtime,
            admin,
            urls,
            rules,
            frozen_clock,
            wechat,
            alipay,
            run_id: run,
            cases: AtomicU64::new(0),
            sandbox: None,
            _dir: None,
        })
    }

    /// Runs a future to completion on the suite's runtime (the SUT side of the state
    /// machines is synchronous).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// A fresh prefix for one case's order and refund numbers, e.g. `c0123456789x17`.
    pub fn next_case_prefix(&self) -> String {
        let n = self.cases.fetch_add(1, Ordering::Relaxed);
        format!("c{}x{n}", self.run_id)
    }

    /// The in-process sandbox, if this is one.
    pub fn sandbox(&self) -> Option<&RunningSandbox> {
        self.sandbox.as_ref()
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, EnvError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| EnvError::Start(e.to_string()))
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Result<&'a str, EnvError> {
    let mut at = value;
    for key in path {
        at = at
            .get(key)
            .ok_or_else(|| EnvError::Answer(format!("answer lacks {}: {value}", path.join("."))))?;
    }
    at.as_str()
        .ok_or_else(|| EnvError::Answer(format!("{} is not text: {value}", path.join("."))))
}

/// The v3 client of `mch_id`, from the files `GET /admin/wechat/merchants/{mch_id}/v3` names
/// (the server makes them on that first use).
async fn v3_client(
    admin: &Admin,
    urls: &Urls,
    mch_id: &str,
    api_v3_key: &str,
    ca: &std::path::Path,
) -> Result<v3::Client, EnvError> {
    let view = admin
        .get(&format!("/admin/wechat/merchants/{mch_id}/v3"))
        .await?;
    let mut builder = v3::Client::builder(mch_id)
        .base_url(&urls.wechat)
        .public_roots(false)
        .extra_root_ca_file(ca)
        .merchant_key_file(str_at(&view, &["private_key_path"])?)
        .serial_no(str_at(&view, &["merchant_serial_no"])?)
        .apiv3_key(api_v3_key)
        .wechatpay_public_key_file(
            str_at(&view, &["public_key_id"])?,
            str_at(&view, &["public_key_path"])?,
        )
        .timeout(Duration::from_secs(20));
    let certificates = view
        .get("platform_certificates")
        .and_then(Value::as_array)
        .ok_or_else(|| EnvError::Answer(format!("no platform_certificates: {view}")))?;
    for certificate in certificates {
        builder = builder.platform_certificate_file(str_at(certificate, &["path"])?);
    }
    builder.build().map_err(|e| EnvError::Client(e.to_string()))
}

async fn setup(
    admin: &Admin,
    urls: &Urls,
    run: &str,
) -> Result<(WechatSetup, AlipaySetup), EnvError> {
    let mch_id = format!("19{run}");
    let appid = format!("wxc0{run}ffff");
    let api_key = format!("conformancekey{run:0>18}");
    // 32 characters, as the APIv3 key must be.
    let api_v3_key = format!("conformancev3key{run:0>16}");
    let merchant = admin
        .create_merchant(
            &mch_id,
            json!({ "appids": [appid], "api_key": api_key, "api_v3_key": api_v3_key }),
        )
        .await?;
    let cert = PathBuf::from(str_at(&merchant, &["cert", "cert_path"])?);
    let key = PathBuf::from(str_at(&merchant, &["cert", "key_path"])?);
    let ca = match &urls.ca {
        Some(ca) => ca.clone(),
        None => PathBuf::from(str_at(&merchant, &["cert", "ca_path"])?),
    };
    let builder = |mch: &str, sign_type: wechat::SignType| {
        wechat::Client::builder(mch, appid.as_str(), api_key.as_str())
            .base_url(&urls.wechat)
            .public_roots(false)
            .extra_root_ca_file(&ca)
            .merchant_pem_files(&cert, &key)
            .sign_type(sign_type)
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| EnvError::Client(e.to_string()))
    };
    let stranger_mch_id = format!("18{run}");
    let v3 = v3_client(admin, urls, &mch_id, &api_v3_key, &ca).await?;
    let wechat = WechatSetup {
        md5: builder(&mch_id, wechat::SignType::Md5)?,
        hmac: builder(&mch_id, wechat::SignType::HmacSha256)?,
        stranger: builder(&stranger_mch_id, wechat::SignType::Md5)?,
        stranger_mch_id,
        v3,
        api_v3_key,
        mch_id,
        appid,
        api_key,
        cert: (cert, key),
        ca: ca.clone(),
    };

    let app_id = format!("2021{run:0>12}");
    let app = admin.create_app(&app_id, json!({})).await?;
    let private_key = PathBuf::from(str_at(&app, &["keys", "app_private_key_path"])?);
    let alipay_public_key = str_at(&app, &["keys", "alipay_public_key"])?.to_owned();
    let client = alipay::Client::builder(app_id.as_str())
        .gateway_url(&urls.alipay)
        .public_roots(false)
        .extra_root_ca_file(&ca)
        .app_private_key_file(private_key)
        .alipay_public_key(alipay_public_key.as_str())
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| EnvError::Client(e.to_string()))?;
    let alipay = AlipaySetup {
        app_id,
        client,
        alipay_public_key,
    };
    Ok((wechat, alipay))
}
