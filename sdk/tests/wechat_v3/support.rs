//! A scripted WeChat Pay v3 platform on loopback, for what only a misbehaving platform shows:
//! it checks each request's signature with the merchant's certificate key as the platform
//! would, records it, and answers from a script that says how each answer is signed (by the
//! platform certificate, the public key, not at all, wrongly, too late, by a stranger, or as a
//! probe).
//!
//! The keys are the certs crate's, made once per test binary in a temporary folder: the
//! merchant's API certificate and key, one platform certificate and the WeChat Pay public key.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use paysandbox_certs::CertStore;
use paysandbox_certs::WechatV3Files;
use paysandbox_protocol::rsa::{PrivateKey, PublicKey};
use paysandbox_protocol::wechat::v3::auth::{Authorization, verify_request};
use paysandbox_protocol::wechat::v3::identity::{IdentityMode, Signer};
use paysandbox_protocol::wechat::v3::response::{probe_headers, sign_response};
use paysandbox_sdk::clock::{Clock, Sleep};
use paysandbox_sdk::retry::RetryPolicy;
use paysandbox_sdk::wechat::v3::{Client, ClientBuilder};
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub const MCHID: &str = "1900000109";
pub const APIV3_KEY: &str = "paysandboxdemoapiv3key0000000000";

/// The keys of the fake platform and its merchant, made once.
pub struct Keys {
    pub files: WechatV3Files,
    pub merchant_public: PublicKey,
    pub certificate_key: PrivateKey,
    pub public_key_private: PrivateKey,
    /// A key nobody trusts.
    pub stranger: PrivateKey,
    _dir: tempfile::TempDir,
}

impl Keys {
    pub fn certificate_serial(&self) -> &str {
        &self.files.platform_certificates[0].serial_no
    }

    pub fn public_key_id(&self) -> &str {
        &self.files.public_key.id
    }

    pub fn certificate_path(&self) -> PathBuf {
        self.files.platform_certificates[0].cert_path.clone()
    }

    pub fn certificate_pem(&self) -> &str {
        &self.files.platform_certificates[0].cert.cert_pem
    }

    /// The private key and serial of `signer`.
    pub fn signer(&self, signer: Signer) -> (&PrivateKey, &str) {
        match signer {
            Signer::Certificate => (&self.certificate_key, self.certificate_serial()),
            Signer::PublicKey => (&self.public_key_private, self.public_key_id()),
        }
    }
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = CertStore::load_or_create(dir.path(), &["localhost"]).unwrap();
        let files = store.wechat_v3(MCHID, "Demo Company").unwrap();
        let certificate = &files.platform_certificates[0];
        Keys {
            merchant_public: PublicKey::from_pem(&files.merchant.cert.cert_pem).unwrap(),
            certificate_key: PrivateKey::from_pem(&certificate.cert.key_pem).unwrap(),
            public_key_private: PrivateKey::from_pem(&files.public_key.keys.private_pkcs8_pem)
                .unwrap(),
            stranger: PrivateKey::generate(2048).unwrap(),
            files,
            _dir: dir,
        }
    })
}

/// How an answer is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// By the key the merchant's identity mode picks for this request (the platform's way).
    Platform,
    /// By this key, whatever the request asked for.
    By(Signer),
    /// No `Wechatpay-*` headers at all.
    Unsigned,
    /// A correct signature over another body.
    OverOtherBody,
    /// Correct, but stamped ten minutes ago.
    Stale,
    /// By a key nobody trusts, under a serial nobody knows.
    Stranger,
    /// A `WECHATPAY/SIGNTEST/` probe.
    Probe,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub signing: Signing,
}

impl Answer {
    pub fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body: serde_json::to_vec(&body).unwrap(),
            signing: Signing::Platform,
        }
    }

    /// The platform's error answer for `code`, unsigned as error answers may be.
    pub fn error(status: u16, code: &str, message: &str) -> Answer {
        Answer {
            signing: Signing::Unsigned,
            ..Answer::json(status, json!({"code": code, "message": message}))
        }
    }

    pub fn no_content() -> Answer {
        Answer {
            status: 204,
            body: Vec::new(),
            signing: Signing::Platform,
        }
    }

    pub fn signed(mut self, signing: Signing) -> Answer {
        self.signing = signing;
        self
    }
}

/// A request as the fake platform saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query, as on the request line.
    pub url: String,
    pub body: Vec<u8>,
    pub authorization: Authorization,
    /// `Wechatpay-Serial`, if sent.
    pub wechatpay_serial: Option<String>,
    pub content_type: Option<String>,
    pub accept: Option<String>,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

struct State {
    mode: IdentityMode,
    script: Mutex<VecDeque<Answer>>,
    seen: Mutex<Vec<Seen>>,
    /// Refused requests: a bad signature is a failed test, reported here and answered 401.
    refused: Mutex<Vec<String>>,
}

/// The fake platform.
pub struct Platform {
    pub base_url: String,
    state: Arc<State>,
}

impl Platform {
    /// A platform whose merchant is in `mode`.
    pub async fn start(mode: IdentityMode) -> Platform {
        let state = Arc::new(State {
            mode,
            script: Mutex::new(VecDeque::new()),
            seen: Mutex::new(Vec::new()),
            refused: Mutex::new(Vec::new()),
        });
        let address = serve(state.clone()).await;
        Platform {
            base_url: format!("http://{address}"),
            state,
        }
    }

    /// Queues answers, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state.script.lock().unwrap().extend(answers);
    }

    /// The requests seen so far (every one signed correctly, or the test fails).
    pub fn seen(&self) -> Vec<Seen> {
        let refused = self.state.refused.lock().unwrap().clone();
        assert!(refused.is_empty(), "badly signed requests: {refused:?}");
        self.state.seen.lock().unwrap().clone()
    }

    /// A client builder for the merchant, pointed here, trusting nothing yet.
    pub fn builder(&self) -> ClientBuilder {
        let files = &keys().files;
        Client::builder(MCHID)
            .base_url(&self.base_url)
            .merchant_key_file(&files.merchant.key_path)
            .merchant_certificate_file(&files.merchant.cert_path)
            .apiv3_key(APIV3_KEY)
            .timeout(Duration::from_secs(10))
    }

    /// A client trusting the platform certificate.
    pub fn certificate_client(&self) -> Client {
        self.builder()
            .platform_certificate_file(keys().certificate_path())
            .build()
            .unwrap()
    }

    /// A client trusting the WeChat Pay public key.
    pub fn public_key_client(&self) -> Client {
        let files = &keys().files;
        self.builder()
            .wechatpay_public_key_file(&files.public_key.id, &files.public_key.public_key_path)
            .build()
            .unwrap()
    }
}

async fn serve(state: Arc<State>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(handle(&state, request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

fn header(request: &Request<hyper::body::Incoming>, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

pub fn unix_now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

async fn handle(state: &State, request: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().as_str().to_owned();
    let url = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let authorization = header(&request, "Authorization");
    let wechatpay_serial = header(&request, "Wechatpay-Serial");
    let content_type = header(&request, "Content-Type");
    let accept = header(&request, "Accept");
    let body = request
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();

    let keys = keys();
    let checked = authorization
        .as_deref()
        .ok_or_else(|| "no Authorization".to_owned())
        .and_then(|a| Authorization::parse(a).map_err(|e| e.to_string()))
        .and_then(|auth| {
            verify_request(&auth, &keys.merchant_public, &method, &url, &body)
                .map_err(|e| e.to_string())?;
            if auth.mchid != MCHID || auth.serial_no != keys.files.merchant_serial_no {
                return Err(format!("signed as {} / {}", auth.mchid, auth.serial_no));
            }
            if auth.timestamp_secs().abs_diff(unix_now()) > 300 {
                return Err(format!("stale request timestamp {}", auth.timestamp));
            }
            Ok(auth)
        });
    let authorization = match checked {
        Ok(auth) => auth,
        Err(why) => {
            state
                .refused
                .lock()
                .unwrap()
                .push(format!("{method} {url}: {why}"));
            return respond(
                Answer::error(401, "SIGN_ERROR", "错误的签名，验签失败"),
                None,
                state.mode,
            );
        }
    };
    state.seen.lock().unwrap().push(Seen {
        method,
        url,
        body,
        authorization,
        wechatpay_serial: wechatpay_serial.clone(),
        content_type,
        accept,
    });
    let answer = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| Answer::error(500, "SYSTEM_ERROR", "the script ran out"));
    respond(answer, wechatpay_serial.as_deref(), state.mode)
}

fn respond(
    answer: Answer,
    request_serial: Option<&str>,
    mode: IdentityMode,
) -> Response<Full<Bytes>> {
    let keys = keys();
    let mut now = unix_now();
    let nonce = "9F3D2C1B0A99887766554433221100FF";
    let (key, serial) = match answer.signing {
        Signing::Unsigned => {
            return build(answer.status, Vec::new(), answer.body);
        }
        Signing::Probe => {
            let headers = probe_headers(keys.certificate_serial(), now, nonce, "rid-probe", "QUJD");
            return build(
                answer.status,
                headers
                    .pairs()
                    .iter()
                    .map(|(k, v)| (*k, v.to_string()))
                    .collect(),
                answer.body,
            );
        }
        Signing::Platform => keys.signer(mode.response_signer(request_serial)),
        Signing::By(signer) => keys.signer(signer),
        Signing::Stranger => (&keys.stranger, "7E57AB1E0000000000000000000000000000000A"),
        Signing::OverOtherBody | Signing::Stale => {
            keys.signer(mode.response_signer(request_serial))
        }
    };
    if answer.signing == Signing::Stale {
        now -= 600;
    }
    let signed_body = if answer.signing == Signing::OverOtherBody {
        b"{\"status\":\"SUCCESS\"}".to_vec()
    } else {
        answer.body.clone()
    };
    let headers = sign_response(key, serial, now, nonce, "rid-1", &signed_body).unwrap();
    let pairs = headers
        .pairs()
        .iter()
        .map(|(k, v)| (*k, v.to_string()))
        .collect();
    build(answer.status, pairs, answer.body)
}

fn build(
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    if !body.is_empty() {
        response = response.header("Content-Type", "application/json");
    }
    response.body(Full::new(Bytes::from(body))).unwrap()
}

/// A refund object as the platform answers it.
pub fn refund_json(out_refund_no: &str, status: &str) -> Value {
    json!({
        "refund_id": "50000000382019052709732678859",
        "out_refund_no": out_refund_no,
        "transaction_id": "1217752501201407033233368018",
        "out_trade_no": "demo-order-0001",
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": "2023-11-15T06:13:20+08:00",
        "status": status,
        "funds_account": "AVAILABLE",
        "amount": {
            "total": 1000, "refund": 250, "payer_total": 1000, "payer_refund": 250,
            "settlement_refund": 250, "settlement_total": 1000, "discount_refund": 0,
            "currency": "CNY", "from": []
        },
        "a_member_added_later": {"ignored": true}
    })
}

/// An SDK clock whose sleeps return at once and are recorded.
#[derive(Debug)]
pub struct InstantClock {
    base: Instant,
    sleeps: Mutex<Vec<Duration>>,
}

impl InstantClock {
    pub fn new() -> Arc<InstantClock> {
        Arc::new(InstantClock {
            base: Instant::now(),
            sleeps: Mutex::new(Vec::new()),
        })
    }

    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Clock for InstantClock {
    fn now(&self) -> Instant {
        self.base + self.sleeps().iter().sum::<Duration>()
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        self.sleeps.lock().unwrap().push(duration);
        Box::pin(async {})
    }
}

/// A policy of `attempts`, with short backoff steps.
pub fn retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::new(attempts)
        .with_base_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(2))
}
