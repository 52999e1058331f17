//! An in-process sandbox on loopback with a frozen clock, and panicking shortcuts to its admin
//! API for tests.
//!
//! Every sandbox of a test process shares one data directory, made once: the CA, the server
//! certificate, the demo merchant's certificate and the demo Alipay app's keys (RSA key
//! generation is the slow part, and sandboxes started in parallel must not race to write
//! them). Each sandbox has its own listeners, ledgers and clock.
// A harness failure (the sandbox does not start, the admin API refuses a setup call) is a
// failed test: these panic with the reason.
#![allow(clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use paysandbox_mock_server::clock::Timestamp;
use paysandbox_mock_server::server::RunningSandbox;
use paysandbox_mock_server::state::{ClockMode, SandboxConfig};
use reqwest::Method;
use serde_json::Value;

use crate::admin::{Admin, AdminError, Fault};
use crate::clock::SandboxClock;
pub use crate::files::{cert_store, data_dir, merchant_dir};
use crate::https::{self, ClientCert};

/// 2023-11-14 22:13:20 UTC (2023-11-15 06:13:20 in Beijing): the frozen start of every test
/// sandbox.
pub const T0: Timestamp = Timestamp(1_700_000_000_000);

/// A configuration with the clock frozen at [`T0`] and everything else as `paysandbox serve`
/// has it (demo data, real rules, rate limits).
pub fn frozen_config(data_dir: &Path) -> SandboxConfig {
    let mut config = SandboxConfig::new(data_dir);
    config.clock = ClockMode::FrozenAt(T0);
    config
}

/// A sandbox running in this process, and a client for its admin API.
#[derive(Debug)]
pub struct Sandbox {
    /// The listeners' URLs, the CA file and the shared state.
    pub running: RunningSandbox,
    admin: Admin,
}

/// A sandbox as [`frozen_config`] makes it, on the shared [`data_dir`].
pub async fn start() -> Sandbox {
    start_with(|_| {}).await
}

/// A sandbox configured further by `configure` (clock frozen at [`T0`] first).
///
/// # Panics
/// The sandbox does not start.
pub async fn start_with(configure: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    let mut config = frozen_config(data_dir());
    configure(&mut config);
    let running = RunningSandbox::start(config)
        .await
        .unwrap_or_else(|e| panic!("sandbox start: {e}"));
    let admin = Admin::new(&running.admin_url).unwrap_or_else(|e| panic!("{e}"));
    Sandbox { running, admin }
}

/// The value, or a panic with the admin API's complaint.
pub(crate) fn expect<T>(result: Result<T, AdminError>) -> T {
    result.unwrap_or_else(|e| panic!("admin API: {e}"))
}

impl Sandbox {
    /// The admin client, for calls without a shortcut here.
    pub fn admin_client(&self) -> &Admin {
        &self.admin
    }

    /// The sandbox CA's certificate (PEM).
    ///
    /// # Panics
    /// The CA file cannot be read.
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(&self.running.ca_path)
            .unwrap_or_else(|e| panic!("{}: {e}", self.running.ca_path.display()))
    }

    /// An HTTPS client trusting the sandbox CA alone and presenting `cert`.
    pub fn https_client(&self, cert: ClientCert) -> reqwest::Client {
        https::https_client(&self.ca_pem(), cert)
    }

    /// A clock that advances this sandbox instead of sleeping (for SDK clients).
    pub fn clock(&self) -> Arc<SandboxClock> {
        Arc::new(SandboxClock::new(self.admin.clone(), T0))
    }

    /// Any admin request: the status and the JSON answer, whatever the status.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        expect(self.admin.call(method, path, body).await)
    }

    /// `GET path`, which must succeed.
    pub async fn admin_get(&self, path: &str) -> Value {
        expect(self.admin.get(path).await)
    }

    /// `POST path`, which must succeed.
    pub async fn admin_post(&self, path: &str, body: Value) -> Value {
        expect(self.admin.post(path, body).await)
    }

    /// `PATCH path`, which must succeed.
    pub async fn admin_patch(&self, path: &str, body: Value) -> Value {
        expect(self.admin.patch(path, body).await)
    }

    /// Moves the sandbox clock forward (settling refunds, lifting limits, delivering
    /// notifications that fall due).
    pub async fn advance(&self, seconds: u64) -> Value {
        expect(self.admin.advance_secs(seconds).await)
    }

    /// Forgets everything and seeds the demo data again.
    pub async fn reset(&self) {
        expect(self.admin.reset().await);
    }

    /// Queues a fault.
    pub async fn fault(&self, fault: Fault) {
        expect(self.admin.inject_fault(&fault).await);
    }

    /// Journal entries for an API path (of the last 1000), oldest first.
    pub async fn journal_of(&self, path: &str) -> Vec<Value> {
        let mut entries = expect(self.admin.journal(1000).await);
        entries.retain(|e| e["path"] == path);
        entries
    }

    /// Notifications matching `query` (`refund_no=...&platform=...`, may be empty).
    pub async fn notifications(&self, query: &str) -> Vec<Value> {
        expect(self.admin.notifications(query).await)
    }

    /// Delivers the notifications due now.
    pub async fn flush_notifications(&self) {
        expect(self.admin.flush_notifications().await);
    }

    /// `GET /admin/scenario?format=…` (`toml` or `json`): the state as a scenario file's
    /// text, which must come with a 200 and the format's content type.
    pub async fn export_scenario(&self, format: &str) -> String {
        let url = format!("{}/admin/scenario?format={format}", self.running.admin_url);
        let response = https::http_client()
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let (status, content_type, text) = https::read_answer(response, &url).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(content_type, format!("application/{format}"));
        text
    }
}
