//! What a running sandbox shares: configuration, the clock, certificates and TLS, and behind
//! their locks the world (every ledger, [`World`]), faults, the journal, the WeChat refund
//! rate limits and the notification outbox; and the handle of the delivery engine
//! ([`Delivery`]). Every lock here is a short synchronous critical section, never held across
//! an `.await`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use paysandbox_certs::{AlipayAppFiles, CertStore, MerchantFiles};
use paysandbox_protocol::alipay::{parse_private_key, parse_public_key};
use paysandbox_protocol::rsa;
use rustls::ServerConfig;

use crate::clock::{Clock, Timestamp};
use crate::demo;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::ledger::alipay::AlipayRules;
use crate::ledger::wechat::{RefundLimits, WechatRules};
use crate::outbox::Outbox;
use crate::tls::{self, PeerClassifier};
pub use crate::world::World;

/// How the sandbox clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMode {
    /// Follows the system time (plus whatever the admin API advanced it by).
    System,
    /// Stands still at this time until advanced: for tests.
    FrozenAt(Timestamp),
}

/// Everything that configures a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where certificates (and nothing else yet) are kept between runs.
    pub data_dir: PathBuf,
    /// Seed of the RNG behind ids and nonces.
    pub seed: u64,
    /// WeChat refund rules (settlement delay, windows, caps).
    pub wechat_rules: WechatRules,
    /// Alipay refund rules (refund period, spacing).
    pub alipay_rules: AlipayRules,
    /// Enforce the per-merchant request rate limits (off for load tests).
    pub rate_limits: bool,
    /// Clock mode.
    pub clock: ClockMode,
    /// Seed the demo merchant and orders at start and on reset.
    pub demo_data: bool,
    /// Host names and addresses the server certificate is valid for.
    pub server_hosts: Vec<String>,
}

impl SandboxConfig {
    /// Defaults for a given data directory: demo data, system clock, real rules.
    pub fn new(data_dir: impl Into<PathBuf>) -> SandboxConfig {
        SandboxConfig {
            data_dir: data_dir.into(),
            seed: 20_141_111,
            wechat_rules: WechatRules::default(),
            alipay_rules: AlipayRules::default(),
            rate_limits: true,
            clock: ClockMode::System,
            demo_data: true,
            server_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
        }
    }
}

/// Errors starting a sandbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Certificates could not be created or loaded.
    #[error("certificates: {0}")]
    Certs(#[from] paysandbox_certs::CertError),
    /// The TLS configuration was refused.
    #[error("tls: {0}")]
    Tls(#[from] tls::TlsSetupError),
    /// Binding or reading a socket failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The demo data could not be seeded.
    #[error("demo data: {0}")]
    Demo(String),
    /// An Alipay key file could not be read back.
    #[error("alipay keys: {0}")]
    AlipayKeys(String),
}

/// An Alipay app's keys as the gateway uses them: the app public key verifies requests, the
/// platform (alipay) private key signs responses. Loaded from the data directory; one platform
/// pair per app (deviation: `ali-platform-key`).
#[derive(Debug)]
pub struct AlipayKeys {
    /// The files, and every encoding of both pairs.
    pub files: AlipayAppFiles,
    /// Verifies the app's requests.
    pub app_public: rsa::PublicKey,
    /// Signs the gateway's responses.
    pub alipay_private: rsa::PrivateKey,
}

/// Shared state of a running sandbox.
#[derive(Debug)]
pub struct AppState {
    /// Configuration it was started with.
    pub config: SandboxConfig,
    /// The injected clock.
    pub clock: Clock,
    /// Certificates on disk.
    pub certs: CertStore,
    /// TLS server configuration.
    pub tls: Arc<ServerConfig>,
    /// Classifies client certificates after the handshake.
    pub peers: PeerClassifier,
    /// What the notification delivery engine ([`crate::notify`]) keeps between drives; the
    /// routes only pull its wake signal.
    pub delivery: Delivery,
    world: Mutex<World>,
    faults: Mutex<Faults>,
    journal: Mutex<Journal>,
    refund_limits: Mutex<RefundLimits>,
    outbox: Mutex<Outbox>,
    /// Alipay keys by app_id: a cache of files on disk, so it survives a reset.
    alipay_keys: Mutex<HashMap<String, Arc<AlipayKeys>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks would be a bug in a single operation; the
    // data stays usable and the sandbox keeps answering rather than failing every request.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AppState {
    /// Loads or creates certificates, builds TLS, and seeds the demo data if configured.
    pub fn new(config: SandboxConfig) -> Result<AppState, StartError> {
        let hosts: Vec<&str> = config.server_hosts.iter().map(String::as_str).collect();
        let certs = CertStore::load_or_create(&config.data_dir, &hosts)?;
        let (tls, peers) = tls::server_config(
            &certs.server.cert_pem,
            &certs.server.key_pem,
            &certs.ca.cert_pem(),
        )?;
        let clock = match config.clock {
            ClockMode::System => Clock::system(),
            ClockMode::FrozenAt(at) => Clock::frozen(at),
        };
        let state = AppState {
            world: Mutex::new(World::new(
                &config.wechat_rules,
                &config.alipay_rules,
                config.seed,
            )),
            config,
            clock,
            certs,
            tls,
            peers,
            delivery: Delivery::default(),
            faults: Mutex::default(),
            journal: Mutex::default(),
            refund_limits: Mutex::default(),
            outbox: Mutex::default(),
            alipay_keys: Mutex::default(),
        };
        if state.config.demo_data {
            state.seed_demo()?;
        }
        Ok(state)
    }

    fn seed_demo(&self) -> Result<(), StartError> {
        let now = self.clock.now();
        let mut world = self.world();
        demo::seed(&mut world, now).map_err(|e| StartError::Demo(e.to_string()))?;
        demo::seed_alipay(&mut world, now).map_err(|e| StartError::Demo(e.to_string()))?;
        drop(world);
        self.merchant_files(demo::MCH_ID, demo::COMPANY)?;
        self.alipay_keys(demo::ALIPAY_APP_ID)?;
        Ok(())
    }

    /// The ledgers (short critical sections only).
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    /// Injected faults.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    /// The request journal.
    pub fn journal(&self) -> MutexGuard<'_, Journal> {
        lock(&self.journal)
    }

    /// The notifications owed to merchants and their delivery history.
    pub fn outbox(&self) -> MutexGuard<'_, Outbox> {
        lock(&self.outbox)
    }

    /// The WeChat refund endpoint's per-merchant request limits.
    pub fn refund_limits(&self) -> MutexGuard<'_, RefundLimits> {
        lock(&self.refund_limits)
    }

    /// Issues (or reloads) a merchant's API certificate files.
    pub fn merchant_files(&self, mch_id: &str, company: &str) -> Result<MerchantFiles, StartError> {
        Ok(self.certs.merchant(mch_id, company)?)
    }

    /// The keys of an Alipay app: from the cache, else read (or generated, on first use) from
    /// `<data dir>/alipay/<app_id>/`. Generating is slow (two RSA-2048 keys): call it before
    /// taking the world lock, never under it.
    pub fn alipay_keys(&self, app_id: &str) -> Result<Arc<AlipayKeys>, StartError> {
        if let Some(keys) = lock(&self.alipay_keys).get(app_id) {
            return Ok(keys.clone());
        }
        let files = self.certs.alipay_app(app_id)?;
        let app_public = parse_public_key(&files.app.public_pem)
            .map_err(|e| StartError::AlipayKeys(format!("{app_id} app public key: {e}")))?;
        let alipay_private = parse_private_key(&files.alipay.private_pkcs8_pem)
            .map_err(|e| StartError::AlipayKeys(format!("{app_id} alipay private key: {e}")))?;
        let keys = Arc::new(AlipayKeys {
            files,
            app_public,
            alipay_private,
        });
        lock(&self.alipay_keys).insert(app_id.to_owned(), keys.clone());
        Ok(keys)
    }

    /// Back to the state at start: empty ledgers (plus demo data if configured), the RNG
    /// re-seeded, no faults, no journal, no notifications, no rate state. The clock keeps its
    /// time.
    pub fn reset(&self) -> Result<(), StartError> {
        *self.world() = World::new(
            &self.config.wechat_rules,
            &self.config.alipay_rules,
            self.config.seed,
        );
        self.faults().clear();
        self.journal().clear();
        self.outbox().clear();
        self.refund_limits().clear();
        if self.config.demo_data {
            self.seed_demo()?;
        }
        Ok(())
    }
}

/// What the notification delivery engine ([`crate::notify`]) keeps between drives, beside the
/// outbox it drains: the wake signal a route pulls after a request that may have produced an
/// event, the turn that lets one drive run at a time, and the engine's HTTP client.
#[derive(Debug, Default)]
pub struct Delivery {
    wake: tokio::sync::Notify,
    turn: tokio::sync::Mutex<()>,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl Delivery {
    /// Asks the engine to drive now (a request may have produced an event).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves once [`Delivery::wake`] was called (at once if it was since the last time).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Waits for the turn to drive: one drive at a time, so attempts are never duplicated or
    /// reordered. The turn lasts as long as the guard.
    pub async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.turn.lock().await
    }

    /// The engine's HTTP client, built with `build` on first use (a failure is kept and
    /// answered to every later call).
    pub fn client(
        &self,
        build: impl FnOnce() -> Result<reqwest::Client, String>,
    ) -> Result<&reqwest::Client, String> {
        self.client
            .get_or_init(build)
            .as_ref()
            .map_err(Clone::clone)
    }
}
