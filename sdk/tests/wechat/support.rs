//! A sandbox per test on loopback with a frozen clock, SDK clients for the demo merchant,
//! the admin API, a [`Clock`] that advances the sandbox's clock instead of sleeping, and a
//! tampering proxy.
#![allow(dead_code, missing_docs)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use paysandbox_certs::CertStore;
use paysandbox_mock_server::clock::Timestamp;
use paysandbox_mock_server::demo;
use paysandbox_mock_server::server::RunningSandbox;
use paysandbox_mock_server::state::{ClockMode, SandboxConfig};
use paysandbox_sdk::clock::{Clock, Sleep};
use paysandbox_sdk::tls::{self, Identity, TrustRoots};
use paysandbox_sdk::wechat::{Client, ClientBuilder, RefundRequest};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const MCH: &str = demo::MCH_ID;
pub const APPID: &str = demo::APPID;
pub const KEY: &str = demo::API_KEY;
/// 2023-11-14 22:13:20 UTC: the frozen start of every test sandbox.
pub const T0: Timestamp = Timestamp(1_700_000_000_000);

/// Certificates are generated once per test binary and shared (RSA keygen is the slow part).
pub fn data_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store =
            CertStore::load_or_create(dir.path(), &["localhost", "127.0.0.1", "::1"]).unwrap();
        store.merchant(demo::MCH_ID, demo::COMPANY).unwrap();
        dir
    });
    dir.path().to_path_buf()
}

pub fn merchant_dir(mch_id: &str) -> PathBuf {
    data_dir().join("merchants").join(mch_id)
}

pub struct Sandbox {
    pub running: RunningSandbox,
    admin: reqwest::Client,
}

pub async fn start() -> Sandbox {
    start_with(|_| {}).await
}

pub async fn start_with(configure: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    let mut config = SandboxConfig::new(data_dir());
    config.clock = ClockMode::FrozenAt(T0);
    configure(&mut config);
    let running = RunningSandbox::start(config).await.unwrap();
    // The admin API is plain HTTP; reqwest is built without a provider of its own, so give
    // it a configuration explicitly (the SDK does the same for its clients).
    let tls = tls::client_config(&TrustRoots::public(), None).unwrap();
    let admin = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    Sandbox { running, admin }
}

impl Sandbox {
    /// A builder for the demo merchant against this sandbox: its URL, its CA only, the PEM
    /// certificate pair.
    pub fn builder(&self) -> ClientBuilder {
        let dir = merchant_dir(MCH);
        Client::builder(MCH, APPID, KEY)
            .base_url(&self.running.api_url)
            .public_roots(false)
            .extra_root_ca_file(&self.running.ca_path)
            .merchant_pem_files(
                dir.join("apiclient_cert.pem"),
                dir.join("apiclient_key.pem"),
            )
            .timeout(Duration::from_secs(5))
    }

    pub fn client(&self) -> Client {
        self.builder().build().unwrap()
    }

    /// A clock that advances this sandbox instead of sleeping.
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

    pub async fn advance(&self, seconds: u64) {
        self.admin_post("/admin/clock/advance", json!({ "seconds": seconds }))
            .await;
    }

    /// Seeds a paid order of the demo merchant; `extra` fields are merged in.
    pub async fn seed_order(&self, out_trade_no: &str, total_fee: u64, extra: Value) -> Value {
        let mut body =
            json!({ "mch_id": MCH, "out_trade_no": out_trade_no, "total_fee": total_fee });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        self.admin_post("/admin/wechat/orders", body).await
    }

    /// Queues a fault on an endpoint (`wechat.refund`, `wechat.refundquery`,
    /// `wechat.orderquery`).
    pub async fn fault(&self, endpoint: &str, fault: Value) {
        let mut body = json!({ "endpoint": endpoint });
        if let (Some(body), Some(fault)) = (body.as_object_mut(), fault.as_object()) {
            body.extend(fault.clone());
        }
        self.admin_post("/admin/faults", body).await;
    }

    /// The demo merchant's refunds, as the sandbox's ledger has them.
    pub async fn refunds(&self) -> Vec<Value> {
        let v = self
            .admin_get(&format!("/admin/wechat/refunds?mch_id={MCH}"))
            .await;
        v.as_array().unwrap().clone()
    }

    /// Journal entries for an API path, oldest first.
    pub async fn journal(&self, path: &str) -> Vec<Value> {
        let v = self.admin_get("/admin/journal?limit=1000").await;
        v.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["path"] == path)
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

pub fn refund(
    out_trade_no: &str,
    out_refund_no: &str,
    total_fee: u64,
    refund_fee: u64,
) -> RefundRequest {
    RefundRequest::builder()
        .out_trade_no(out_trade_no)
        .out_refund_no(out_refund_no)
        .total_fee(total_fee)
        .refund_fee(refund_fee)
        .build()
        .unwrap()
}

/// Time that passes only when someone sleeps: each `sleep` advances the sandbox's clock
/// through the admin API (so refunds settle and rate limits lift) and returns at once.
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

    /// Virtual time elapsed.
    pub fn elapsed(&self) -> Duration {
        *self.advanced.lock().unwrap()
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
}

/// A plain-HTTP proxy in front of the sandbox's HTTPS API (forwarding with the demo
/// merchant's certificate), which passes each response body through `tamper` first: a
/// man in the middle, for signature tests. Returns its base URL.
pub async fn tamper_proxy(
    sandbox: &Sandbox,
    tamper: impl Fn(String) -> String + Send + Sync + 'static,
) -> String {
    let mut roots = TrustRoots::public().without_public_roots();
    roots.add_pem_file(&sandbox.running.ca_path).unwrap();
    let dir = merchant_dir(MCH);
    let identity = Identity::from_pem_files(
        dir.join("apiclient_cert.pem"),
        dir.join("apiclient_key.pem"),
    )
    .unwrap();
    let upstream = reqwest::Client::builder()
        .tls_backend_preconfigured(tls::client_config(&roots, Some(&identity)).unwrap())
        .build()
        .unwrap();
    let api = sandbox.running.api_url.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let tamper = Arc::new(tamper);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let upstream = upstream.clone();
            let api = api.clone();
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
                let path = head.split_whitespace().nth(1).unwrap().to_owned();
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
                    .post(format!("{api}{path}"))
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body = tamper(response.text().await.unwrap());
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(reply.as_bytes()).await.unwrap();
                stream.shutdown().await.ok();
            });
        }
    });
    url
}
