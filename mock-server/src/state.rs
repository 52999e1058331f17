//! What a running sandbox shares: configuration, the clock, certificates and TLS, and behind
//! their locks the world (every ledger, [`World`]), faults, the journal, the WeChat refund
//! rate limits and the notification outbox; and the handle of the delivery engine
//! ([`Delivery`]). Every lock here is a short synchronous critical section, never held across
//! an `.await`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use paysandbox_certs::{AlipayAppFiles, CertStore, MerchantFiles, WechatV3Files};
use paysandbox_protocol::alipay::{parse_private_key, parse_public_key};
use paysandbox_protocol::rsa;
use rustls::ServerConfig;

use std::net::SocketAddr;

use crate::clock::{Clock, Timestamp};
use crate::demo;
use crate::events::{Event, Events};
use crate::faults::Faults;
use crate::journal::{Journal, JournalEntry, JournalLimits};
use crate::ledger::alipay::AlipayRules;
use crate::ledger::wechat::{RefundLimits, WechatRules};
use crate::outbox::Outbox;
use crate::record::RecordError;
use crate::scenario::{Scenario, ScenarioError};
use crate::store::{Store, StoreError};
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
    /// Start (and reset) with the demo scenario (`scenarios/demo.toml`), unless `scenario`
    /// names another.
    pub demo_data: bool,
    /// Start (and reset) with this scenario instead of the demo's.
    pub scenario: Option<Arc<Scenario>>,
    /// Host names and addresses the server certificate is valid for.
    pub server_hosts: Vec<String>,
    /// Connection timeouts and the connection cap.
    pub connections: crate::http::ConnLimits,
    /// How much the request journal keeps (a prefix of each body, a byte budget in all).
    pub journal: JournalLimits,
    /// Keep the state in this store file (`serve --persist`): every change is on disk before
    /// its answer is sent, and a start on the same file continues from it ([`crate::store`]).
    pub persist: Option<PathBuf>,
    /// Percent (0 to 100) of scheduled API v3 notification attempts sent first as a signature
    /// probe of the same body (`serve --v3-probe-percent`); 0: probes only on request.
    pub v3_probe_percent: u32,
}

impl SandboxConfig {
    /// Defaults for a given data directory: demo data, system clock, real rules.
    pub fn new(data_dir: impl Into<PathBuf>) -> SandboxConfig {
        SandboxConfig {
            data_dir: data_dir.into(),
            seed: 20_141_111,
            journal: JournalLimits::default(),
            connections: crate::http::ConnLimits::default(),
            wechat_rules: WechatRules::default(),
            alipay_rules: AlipayRules::default(),
            rate_limits: true,
            clock: ClockMode::System,
            demo_data: true,
            scenario: None,
            server_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            persist: None,
            v3_probe_percent: 0,
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
    /// The demo scenario could not be read.
    #[error("{0}")]
    Demo(#[from] ScenarioError),
    /// The scenario does not hold together.
    #[error("scenario: {0}")]
    Scenario(#[from] RecordError),
    /// The persisted store could not be opened or read.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// An Alipay key file could not be read back.
    #[error("alipay keys: {0}")]
    AlipayKeys(String),
    /// A WeChat API v3 key or certificate file could not be read back.
    #[error("wechat v3 keys: {0}")]
    V3Keys(String),
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

/// What a merchant's API v3 surface verifies and signs with, read from its files in the data
/// directory ([`CertStore::wechat_v3`]): the API certificate's public key for requests, and
/// the private halves of its platform identities for answers.
#[derive(Debug)]
pub struct WechatV3Keys {
    /// The files (paths a v3 client is pointed at).
    pub files: WechatV3Files,
    /// The merchant API certificate's key: verifies `Authorization`.
    pub merchant_public: rsa::PublicKey,
    /// The newest platform certificate's serial and key: signs in certificate mode.
    pub certificate: (String, rsa::PrivateKey),
    /// Every platform certificate, oldest first: serial, PEM, validity (Unix ms).
    pub certificates: Vec<PlatformCertificateInfo>,
    /// The WeChat Pay public key's id (`PUB_KEY_ID_…`) and private half: signs in public-key
    /// mode, and decrypts the OAEP fields sent with that id.
    pub public_key: (String, rsa::PrivateKey),
    /// The private keys of every platform certificate by serial (OAEP fields name theirs).
    pub certificate_keys: Vec<(String, rsa::PrivateKey)>,
}

/// A platform certificate as `/v3/certificates` lists it.
#[derive(Debug, Clone)]
pub struct PlatformCertificateInfo {
    /// Upper-case hex serial.
    pub serial_no: String,
    /// The certificate, PEM.
    pub pem: String,
    /// Valid from (Unix ms).
    pub not_before_ms: i64,
    /// Valid until (Unix ms).
    pub not_after_ms: i64,
}

impl WechatV3Keys {
    fn read(files: WechatV3Files) -> Result<WechatV3Keys, String> {
        let merchant_public = rsa::PublicKey::from_certificate_der(&files.merchant.cert.cert_der)
            .map_err(|e| format!("API certificate: {e}"))?;
        let mut certificates = Vec::new();
        let mut certificate_keys = Vec::new();
        for platform in &files.platform_certificates {
            let key = rsa::PrivateKey::from_pem(&platform.cert.key_pem)
                .map_err(|e| format!("platform certificate {}: {e}", platform.serial_no))?;
            let (_, parsed) = x509_parser::parse_x509_certificate(&platform.cert.cert_der)
                .map_err(|e| format!("platform certificate {}: {e}", platform.serial_no))?;
            let validity = parsed.validity();
            certificates.push(PlatformCertificateInfo {
                serial_no: platform.serial_no.clone(),
                pem: platform.cert.cert_pem.clone(),
                not_before_ms: validity.not_before.timestamp().saturating_mul(1000),
                not_after_ms: validity.not_after.timestamp().saturating_mul(1000),
            });
            certificate_keys.push((platform.serial_no.clone(), key));
        }
        let certificate = certificate_keys
            .last()
            .cloned()
            .ok_or_else(|| "no platform certificate".to_owned())?;
        let public_key = (
            files.public_key.id.clone(),
            rsa::PrivateKey::from_pem(&files.public_key.keys.private_pkcs8_pem)
                .map_err(|e| format!("WeChat Pay public key: {e}"))?,
        );
        Ok(WechatV3Keys {
            files,
            merchant_public,
            certificate,
            certificates,
            public_key,
            certificate_keys,
        })
    }

    /// The private key of the identity `serial` names (a platform certificate serial or the
    /// public key's id), for OAEP fields.
    pub fn decryption_key(&self, serial: &str) -> Option<&rsa::PrivateKey> {
        use paysandbox_protocol::wechat::v3::identity::same_serial;
        if same_serial(&self.public_key.0, serial) {
            return Some(&self.public_key.1);
        }
        self.certificate_keys
            .iter()
            .find(|(s, _)| same_serial(s, serial))
            .map(|(_, k)| k)
    }
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
    /// Live events: journal entries and state changes, for the dashboard.
    pub events: Events,
    world: Mutex<World>,
    faults: Mutex<Faults>,
    journal: Mutex<Journal>,
    refund_limits: Mutex<RefundLimits>,
    outbox: Mutex<Outbox>,
    /// Alipay keys by app_id: a cache of files on disk, so it survives a reset.
    alipay_keys: Mutex<HashMap<String, Arc<AlipayKeys>>>,
    /// WeChat API v3 keys by mch_id: a cache of files on disk, so it survives a reset.
    wechat_v3_keys: Mutex<HashMap<String, Arc<WechatV3Keys>>>,
    /// The listeners' addresses, once the server has them.
    listening: OnceLock<Listening>,
    /// The persisted store, with `--persist`.
    store: Option<Store>,
}

/// Where a running sandbox listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Listening {
    /// HTTPS: the merchant APIs.
    pub api: SocketAddr,
    /// Plain HTTP: the merchant APIs, if served.
    pub http: Option<SocketAddr>,
    /// Plain HTTP: the admin API.
    pub admin: SocketAddr,
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
        let journal_limits = config.journal;
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
        let (store, saved) = match &config.persist {
            Some(path) => {
                let (store, saved) = Store::open(path)?;
                (Some(store), saved)
            }
            None => (None, None),
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
            events: Events::default(),
            faults: Mutex::default(),
            journal: Mutex::new(Journal::new(journal_limits)),
            refund_limits: Mutex::default(),
            outbox: Mutex::default(),
            alipay_keys: Mutex::default(),
            wechat_v3_keys: Mutex::default(),
            listening: OnceLock::new(),
            store,
        };
        match saved {
            // A persisted state goes on where it stopped; its clock keeps its offset.
            Some(saved) => {
                state.load(&saved.scenario)?;
                if let Some(clock) = saved.clock {
                    state.clock.restore(clock);
                }
                if let Some(store) = &state.store {
                    store.resume(&mut state.world(), &mut state.outbox());
                }
            }
            None => {
                if let Some(scenario) = state.start_scenario()? {
                    state.load(&scenario)?;
                }
            }
        }
        Ok(state)
    }

    /// What the sandbox starts (and resets) with: the configured scenario, else the demo's
    /// unless demo data is off.
    ///
    /// # Errors
    /// Only if the built-in demo file were broken.
    pub fn start_scenario(&self) -> Result<Option<Arc<Scenario>>, StartError> {
        match &self.config.scenario {
            Some(scenario) => Ok(Some(scenario.clone())),
            None if self.config.demo_data => Ok(Some(Arc::new(demo::scenario()?))),
            None => Ok(None),
        }
    }

    /// Replaces the state with `scenario`'s: every ledger, the sandbox keys, the
    /// notifications, the faults, the id generators, and the clock if it sets one. The
    /// certificate files of its merchants and the keys of its apps are made (or reused) in
    /// the data directory. Nothing changes if the scenario does not hold together.
    ///
    /// # Errors
    /// [`StartError::Scenario`] naming the first record that does not hold together, or the
    /// files that could not be made.
    pub fn load(&self, scenario: &Scenario) -> Result<(), StartError> {
        let loaded = scenario.load(
            &self.config.wechat_rules,
            &self.config.alipay_rules,
            self.config.seed,
            self.clock.now(),
        )?;
        // Files outside the world lock (Alipay key generation is slow), and only once the
        // ids that name their directories have been checked.
        for merchant in loaded.world.wechat.merchants() {
            self.merchant_files(&merchant.mch_id, &merchant.company)?;
        }
        for app in loaded.world.alipay.apps() {
            self.alipay_keys(&app.app_id)?;
        }
        let mut world = self.world();
        let mut outbox = self.outbox();
        if let Some(store) = &self.store {
            store.replace_all();
        }
        *world = loaded.world;
        *outbox = loaded.outbox;
        *self.faults() = loaded.faults;
        drop(outbox);
        drop(world);
        if let Some(clock) = loaded.clock {
            if let Some(frozen) = clock.frozen {
                self.clock.set_frozen(frozen);
            }
            self.clock.set_now(loaded.now);
        }
        Ok(())
    }

    /// The state as a scenario (see [`Scenario::of`]): loading it gives the same state back.
    /// Taken under the world, outbox and faults locks at once, so it is one moment's state.
    pub fn scenario(&self) -> Scenario {
        let world = self.world();
        let outbox = self.outbox();
        let faults = self.faults();
        Scenario::of(
            &world,
            &outbox,
            &faults,
            self.clock.now(),
            self.clock.is_frozen(),
        )
    }

    /// With `--persist`, returns once every change made before the call is on disk (group
    /// commit, [`Store::sync`]): the router calls it before sending an answer, the delivery
    /// engine before it posts a notification. Without a store it returns at once.
    ///
    /// # Errors
    /// The commit failed (the answer must not claim what may be lost).
    pub async fn persist(&self) -> Result<(), StoreError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        store
            .sync(|| {
                let mut world = self.world();
                let mut outbox = self.outbox();
                let faults = self.faults();
                store.collect(&mut world, &mut outbox, &faults, self.clock.saved())
            })
            .await
    }

    /// The persisted store, with `--persist`.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// Records where the listeners are (the server does, once they are bound).
    pub fn set_listening(&self, listening: Listening) {
        // Only the first call counts: a sandbox is served once.
        let _ = self.listening.set(listening);
    }

    /// Where the listeners are, once the server serves.
    pub fn listening(&self) -> Option<Listening> {
        self.listening.get().copied()
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

    /// Journals an answered request and, if anyone watches, publishes it.
    pub fn record(&self, entry: JournalEntry) {
        let mut journal = self.journal();
        journal.record(entry);
        if self.events.watched()
            && let Some(entry) = journal.tail(1).pop()
        {
            drop(journal);
            self.events.publish(Event::Journal {
                entry: Box::new(entry),
            });
        }
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

    /// A merchant's API v3 keys: from the cache, else read (or made, on first use: two
    /// RSA-2048 keys) from `<data dir>/merchants/<mch_id>/`. Call it outside the world lock.
    ///
    /// # Errors
    /// The files cannot be made or read back.
    pub fn wechat_v3_keys(
        &self,
        mch_id: &str,
        company: &str,
    ) -> Result<Arc<WechatV3Keys>, StartError> {
        if let Some(keys) = lock(&self.wechat_v3_keys).get(mch_id) {
            return Ok(keys.clone());
        }
        let files = self.certs.wechat_v3(mch_id, company)?;
        let keys = Arc::new(
            WechatV3Keys::read(files).map_err(|e| StartError::V3Keys(format!("{mch_id}: {e}")))?,
        );
        lock(&self.wechat_v3_keys).insert(mch_id.to_owned(), keys.clone());
        Ok(keys)
    }

    /// Back to the state at start: the start scenario loaded again (the demo's, another, or
    /// none: empty ledgers, the RNG re-seeded, no faults or notifications), and no journal or
    /// rate state. The clock goes back to how `serve` started it (frozen at its start time, or
    /// the system time), then to the scenario's if it sets one, so a reset always gives a
    /// known clock; notification ids keep counting.
    pub fn reset(&self) -> Result<(), StartError> {
        let last_notification_id = self.outbox().last_id();
        match self.config.clock {
            ClockMode::System => {
                self.clock.set_frozen(false);
                self.clock.set_now(Timestamp(crate::clock::system_millis()));
            }
            ClockMode::FrozenAt(at) => {
                self.clock.set_frozen(true);
                self.clock.set_now(at);
            }
        }
        match self.start_scenario()? {
            Some(scenario) => self.load(&scenario)?,
            None => self.load(&Scenario::default())?,
        }
        self.outbox().count_from(last_notification_id);
        self.journal().clear();
        self.refund_limits().clear();
        Ok(())
    }
}

/// What the notification delivery engine ([`crate::notify`]) keeps between drives, beside the
/// outbox it drains: the wake signal a route pulls after a request that may have produced an
/// event, the turn that lets one drive run at a time, and the engine's HTTP client.
#[derive(Debug)]
pub struct Delivery {
    wake: tokio::sync::Notify,
    turn: tokio::sync::Mutex<()>,
    /// One permit per attempt on the network: bounds the attempts in flight at once.
    slots: tokio::sync::Semaphore,
    client: OnceLock<Result<reqwest::Client, String>>,
}

/// The most notification attempts on the network at once.
pub const MAX_IN_FLIGHT: usize = 32;

impl Default for Delivery {
    fn default() -> Delivery {
        Delivery {
            wake: tokio::sync::Notify::new(),
            turn: tokio::sync::Mutex::new(()),
            slots: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
            client: OnceLock::new(),
        }
    }
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

    /// Waits for a free delivery slot; the attempt is on the network while the permit lives.
    pub async fn slot(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        // The semaphore is never closed, so this is always Some.
        self.slots.acquire().await.ok()
    }

    /// Slots free right now.
    pub fn free_slots(&self) -> usize {
        self.slots.available_permits()
    }

    /// Waits until no attempt is on the network (callers hold the turn, so no new one starts
    /// meanwhile except their own).
    pub async fn idle(&self) {
        let all = u32::try_from(MAX_IN_FLIGHT).unwrap_or(u32::MAX);
        drop(self.slots.acquire_many(all).await);
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
