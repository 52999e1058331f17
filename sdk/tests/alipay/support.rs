//! A sandbox per test on loopback with a frozen clock, SDK clients for the demo Alipay app,
//! the admin API, a [`Clock`] that advances the sandbox's clock instead of sleeping, and a
//! tampering proxy.
#![allow(dead_code, missing_docs)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use paysandbox_certs::{AlipayAppFiles, CertStore};
use paysandbox_mock_server::clock::Timestamp;
use paysandbox_mock_server::demo;
use paysandbox_mock_server::server::RunningSandbox;
use paysandbox_mock_server::state::{ClockMode, SandboxConfig};
use paysandbox_sdk::alipay::{Client, ClientBuilder, RefundRequest};
use paysandbox_sdk::clock::{Clock, Sleep};
use paysandbox_sdk::tls::{self, TrustRoots};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const APP: &str = demo::ALIPAY_APP_ID;
/// 2023-11-14 22:13:20 UTC (2023-11-15 06:13:20 in Beijing): the frozen start of every
/// test sandbox.
pub const T0: Timestamp = Timestamp(1_700_000_000_000);

fn store(dir: &std::path::Path) -> CertStore {
    CertStore::load_or_create(dir, &["localhost", "127.0.0.1", "::1"]).unwrap()
}

/// Certificates and the demo app's keys are generated once per test binary and shared (RSA
/// keygen is the slow part; sandboxes started in parallel must not race to create them).
pub fn data_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path()).alipay_app(APP).unwrap();
        dir
    });
    dir.path().to_path_buf()
}

/// The demo app's key files: `app_private_key.pem` (PKCS#1), `_pkcs8.pem`, `.txt` (bare
/// base64 PKCS#1), `_pkcs8.txt`, `alipay_public_key.pem`, `.txt`.
pub fn files() -> &'static AlipayAppFiles {
    static FILES: OnceLock<AlipayAppFiles> = OnceLock::new();
    FILES.get_or_init(|| store(&data_dir()).alipay_app(APP).unwrap())
}

pub struct Sandbox {
    pub running: RunningSandbox,
    admin: reqwest::Client,
}

pub async fn start() -> Sandbox {
    start_with(|_| {}).await
}

/// A sandbox configured further by `configure` (clock frozen at T0 first).
pub async fn start_with(configure: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    let mut config = SandboxConfig::new(data_dir());
    config.clock = ClockMode::FrozenAt(T0);
    configure(&mut config);
    let running = RunningSandbox::start(config).await.unwrap();
    // reqwest is built without a provider of its own: give the admin client a configuration
    // explicitly (the SDK does the same for its clients).
    let tls = tls::client_config(&TrustRoots::public(), None).unwrap();
    let admin = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    Sandbox { running, admin }
}

impl Sandbox {
    /// The gateway on the HTTPS listener.
    pub fn gateway(&self) -> String {
        format!("{}/gateway.do", self.running.api_url)
    }

    /// A builder for the demo app against this sandbox over HTTPS (its CA only), keys from
    /// the PKCS#1 PEM and SPKI PEM files.
    pub fn builder(&self) -> ClientBuilder {
        Client::builder(APP)
            .gateway_url(self.gateway())
            .public_roots(false)
            .extra_root_ca_file(&self.running.ca_path)
            .app_private_key_file(&files().app_private_key_path)
            .alipay_public_key_file(&files().alipay_public_key_path)
            .timeout(Duration::from_secs(5))
    }

    pub fn client(&self) -> Client {
        self.builder().build().unwrap()
    }

    /// A clock that advances this sandbox instead of sleeping; its wall time is the
    /// sandbox's.
    pub fn clock(&self) -> Arc<SandboxClock> {
        Arc::new(SandboxClock {
            admin_url: self.running.admin_url.clone(),
            http: self.admin.clone(),
            base: Instant::now(),
            advanced: Mutex::new(Duration::ZERO),
            sleeps: Mutex::new(Vec::new()),
        })
    }

    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .admin
            .request(method, format!("{}{}", self.running.admin_url, path));
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap())
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> Value {
        let (status, value) = self.admin(reqwest::Method::POST, path, Some(body)).await;
        assert!((200..300).contains(&status), "{path}: {status} {value}");
        value
    }

    pub async fn admin_patch(&self, path: &str, body: Value) -> Value {
        let (status, value) = self.admin(reqwest::Method::PATCH, path, Some(body)).await;
        assert!((200..300).contains(&status), "{path}: {status} {value}");
        value
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        let (status, value) = self.admin(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {value}");
        value
    }

    /// Moves the sandbox clock (e.g. past the 3 s between refunds of a trade).
    pub async fn advance(&self, seconds: u64) {
        self.admin_post("/admin/clock/advance", json!({ "seconds": seconds }))
            .await;
    }

    /// Queues a fault on a method (`alipay.trade.refund`, ...).
    pub async fn fault(&self, method: &str, fault: Value) {
        let mut body = json!({ "endpoint": method });
        if let (Some(body), Some(fault)) = (body.as_object_mut(), fault.as_object()) {
            body.extend(fault.clone());
        }
        self.admin_post("/admin/faults", body).await;
    }

    /// Seeds a trade of the demo app; `extra` fields are merged in.
    pub async fn seed_trade(&self, out_trade_no: &str, total_fen: u64, extra: Value) -> Value {
        let mut body =
            json!({ "app_id": APP, "out_trade_no": out_trade_no, "total_fen": total_fen });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        self.admin_post("/admin/alipay/trades", body).await
    }

    /// The demo app's refunds, as the sandbox's ledger has them.
    pub async fn refunds(&self) -> Vec<Value> {
        let v = self
            .admin_get(&format!("/admin/alipay/refunds?app_id={APP}"))
            .await;
        v.as_array().unwrap().clone()
    }

    /// The demo app's trade `out_trade_no`, as the ledger has it.
    pub async fn trade(&self, out_trade_no: &str) -> Value {
        let v = self
            .admin_get(&format!("/admin/alipay/trades?app_id={APP}"))
            .await;
        v.as_array()
            .unwrap()
            .iter()
            .find(|t| t["out_trade_no"] == out_trade_no)
            .cloned()
            .unwrap()
    }

    /// Gateway requests of one method, oldest first.
    pub async fn journal(&self, method: &str) -> Vec<Value> {
        let v = self.admin_get("/admin/journal?limit=1000").await;
        v.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["path"] == "/gateway.do" && sent(e, "method") == Some(method))
            .cloned()
            .collect()
    }
}

/// A request parameter of a journal entry.
pub fn sent<'a>(entry: &'a Value, name: &str) -> Option<&'a str> {
    entry["request"]
        .as_array()?
        .iter()
        .find(|pair| pair[0] == name)
        .and_then(|pair| pair[1].as_str())
}

/// The outcome of each journal entry.
pub fn outcomes(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            let o = e["outcome"].as_str().unwrap();
            // "ACQ.SYSTEM_ERROR (injected fault)" → "ACQ.SYSTEM_ERROR"
            o.split(" (").next().unwrap().to_owned()
        })
        .collect()
}

/// A refund of a trade by out_trade_no with a request number.
pub fn refund(out_trade_no: &str, out_request_no: &str, fen: u64) -> RefundRequest {
    RefundRequest::builder()
        .out_trade_no(out_trade_no)
        .out_request_no(out_request_no)
        .refund_amount(fen)
        .build()
        .unwrap()
}

/// Time that passes only when someone sleeps: each `sleep` advances the sandbox's clock
/// through the admin API and returns at once. Its wall time is the sandbox's frozen time
/// plus what it advanced.
#[derive(Debug)]
pub struct SandboxClock {
    admin_url: String,
    http: reqwest::Client,
    base: Instant,
    advanced: Mutex<Duration>,
    sleeps: Mutex<Vec<Duration>>,
}

impl SandboxClock {
    /// Every sleep so far.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Clock for SandboxClock {
    fn now(&self) -> Instant {
        self.base + *self.advanced.lock().unwrap()
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        Box::pin(async move {
            let millis = u64::try_from(duration.as_millis()).unwrap();
            let response = self
                .http
                .post(format!("{}/admin/clock/advance", self.admin_url))
                .body(json!({ "millis": millis }).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            *self.advanced.lock().unwrap() += Duration::from_millis(millis);
            self.sleeps.lock().unwrap().push(duration);
        })
    }

    fn wall_time(&self) -> SystemTime {
        UNIX_EPOCH
            + Duration::from_millis(u64::try_from(T0.0).unwrap())
            + *self.advanced.lock().unwrap()
    }
}

/// A plain-HTTP proxy in front of the sandbox's plain-HTTP gateway which passes each
/// response body through `tamper` first: a man in the middle, for signature tests. Returns
/// its gateway URL.
pub async fn tamper_proxy(
    sandbox: &Sandbox,
    tamper: impl Fn(String) -> String + Send + Sync + 'static,
) -> String {
    let upstream = sandbox.admin.clone();
    let target = format!("{}/gateway.do", sandbox.running.http_url);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/gateway.do", listener.local_addr().unwrap());
    let tamper = Arc::new(tamper);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let upstream = upstream.clone();
            let target = target.clone();
            let tamper = tamper.clone();
            tokio::spawn(async move {
                // One request per connection: read the head, then Content-Length bytes.
                let mut buf = Vec::new();
                let head_end = loop {
                    let mut chunk = [0u8; 4096];
                    let n = stream.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "client closed early");
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    let mut chunk = [0u8; 4096];
                    let n = stream.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "client closed early");
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = buf[head_end..head_end + length].to_vec();
                let response = upstream
                    .post(&target)
                    .header(
                        "content-type",
                        "application/x-www-form-urlencoded;charset=utf-8",
                    )
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body = tamper(response.text().await.unwrap());
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(reply.as_bytes()).await.unwrap();
                stream.shutdown().await.ok();
            });
        }
    });
    url
}
