//! Shared by the integration tests: a sandbox on loopback with a frozen clock, HTTPS clients
//! with or without merchant certificates, signed WeChat requests, signed Alipay requests
//! placed as each client family places them, and the admin API.
#![allow(
    dead_code,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use paysandbox_certs::CertStore;
use paysandbox_mock_server::clock::Timestamp;
use paysandbox_mock_server::demo;
use paysandbox_mock_server::server::RunningSandbox;
use paysandbox_mock_server::state::{ClockMode, SandboxConfig};
use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::{Params, xml};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

pub const MCH: &str = demo::MCH_ID;
pub const APPID: &str = demo::APPID;
pub const KEY: &str = demo::API_KEY;
/// 2023-11-14 22:13:20 UTC: the frozen start of every test sandbox.
pub const T0: Timestamp = Timestamp(1_700_000_000_000);

/// Certificates are generated once per test binary and shared (RSA keygen is the slow part).
fn data_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store =
            CertStore::load_or_create(dir.path(), &["localhost", "127.0.0.1", "::1"]).unwrap();
        store.merchant(demo::MCH_ID, demo::COMPANY).unwrap();
        // Generated once here: sandboxes started in parallel must not race to create them.
        store.alipay_app(demo::ALIPAY_APP_ID).unwrap();
        dir
    });
    dir.path().to_path_buf()
}

pub struct Sandbox {
    pub running: RunningSandbox,
    admin: reqwest::Client,
}

/// Which client certificate a request presents.
pub enum Identity {
    None,
    /// The sandbox-issued certificate of this merchant.
    Merchant(&'static str),
    /// Any PEM pair.
    Pem(String, String),
}

pub async fn start() -> Sandbox {
    start_with(|_| {}).await
}

pub async fn start_with(configure: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    // reqwest is built without a default provider; plain-HTTP clients still need one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = SandboxConfig::new(data_dir());
    config.clock = ClockMode::FrozenAt(T0);
    configure(&mut config);
    let running = RunningSandbox::start(config).await.unwrap();
    Sandbox {
        running,
        admin: reqwest::Client::new(),
    }
}

fn tls_config(ca_pem: &str, identity: Identity) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(ca.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let pair = match identity {
        Identity::None => None,
        Identity::Merchant(mch_id) => {
            let dir = data_dir().join("merchants").join(mch_id);
            Some((
                std::fs::read_to_string(dir.join("apiclient_cert.pem")).unwrap(),
                std::fs::read_to_string(dir.join("apiclient_key.pem")).unwrap(),
            ))
        }
        Identity::Pem(cert, key) => Some((cert, key)),
    };
    match pair {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
    }
}

impl Sandbox {
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(&self.running.ca_path).unwrap()
    }

    /// An HTTPS client trusting the sandbox CA and presenting `identity`.
    pub fn client(&self, identity: Identity) -> reqwest::Client {
        reqwest::Client::builder()
            .use_preconfigured_tls(tls_config(&self.ca_pem(), identity))
            .build()
            .unwrap()
    }

    /// POSTs raw bytes to an API path; returns status and body.
    pub async fn post_raw(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: impl Into<Vec<u8>>,
    ) -> (u16, String) {
        let response = client
            .post(format!("{}{}", self.running.api_url, path))
            .body(body.into())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Signs `params` with the demo key (MD5 unless `sign_type` is set) and POSTs them with
    /// the demo merchant's certificate; decodes the XML answer.
    pub async fn call(&self, path: &str, params: Params) -> Params {
        let client = self.client(Identity::Merchant(MCH));
        self.call_with(&client, path, params, KEY).await
    }

    pub async fn call_with(
        &self,
        client: &reqwest::Client,
        path: &str,
        params: Params,
        key: &str,
    ) -> Params {
        let params = signed(params, key);
        let (status, body) = self.post_raw(client, path, xml::encode(&params)).await;
        assert_eq!(status, 200, "{body}");
        xml::decode(body.as_bytes()).unwrap()
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

    pub async fn advance(&self, seconds: u64) {
        self.admin_post(
            "/admin/clock/advance",
            serde_json::json!({ "seconds": seconds }),
        )
        .await;
    }

    /// Seeds a paid order of the demo merchant.
    pub async fn seed_order(&self, out_trade_no: &str, total_fee: u64) -> Value {
        self.admin_post(
            "/admin/wechat/orders",
            serde_json::json!({ "mch_id": MCH, "out_trade_no": out_trade_no, "total_fee": total_fee }),
        )
        .await
    }
}

/// Signs with the request's own `sign_type` (MD5 when absent).
pub fn signed(mut params: Params, key: &str) -> Params {
    let sign_type = sign::request_sign_type(&params).unwrap_or(SignType::Md5);
    sign::sign_in_place(&mut params, key, sign_type);
    params
}

/// The common fields of a demo-merchant request.
pub fn base() -> Params {
    let mut params = Params::new();
    params.insert_text("appid", APPID);
    params.insert_text("mch_id", MCH);
    params.insert_text("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS");
    params
}

/// A refund request by out_trade_no.
pub fn refund_params(
    out_trade_no: &str,
    out_refund_no: &str,
    total_fee: u64,
    refund_fee: u64,
) -> Params {
    let mut params = base();
    params.insert_text("out_trade_no", out_trade_no);
    params.insert_text("out_refund_no", out_refund_no);
    params.insert_int("total_fee", total_fee);
    params.insert_int("refund_fee", refund_fee);
    params
}

/// Asserts a signed business error with this code and message.
pub fn assert_business_error(response: &Params, err_code: &str, err_code_des: &str) {
    assert_eq!(response.get("return_code"), Some("SUCCESS"), "{response:?}");
    assert_eq!(response.get("result_code"), Some("FAIL"), "{response:?}");
    assert_eq!(response.get("err_code"), Some(err_code), "{response:?}");
    assert_eq!(
        response.get("err_code_des"),
        Some(err_code_des),
        "{response:?}"
    );
    assert_signed(response, SignType::Md5);
}

/// Asserts an unsigned return_code=FAIL with this message.
pub fn assert_protocol_fail(response: &Params, return_msg: &str) {
    assert_eq!(response.get("return_code"), Some("FAIL"), "{response:?}");
    assert_eq!(response.get("return_msg"), Some(return_msg), "{response:?}");
    assert_eq!(response.get("sign"), None, "protocol failures are unsigned");
    assert_eq!(response.get("result_code"), None);
}

/// Asserts the response carries a valid signature of this type with the demo key.
pub fn assert_signed(response: &Params, sign_type: SignType) {
    assert!(response.get("sign").is_some(), "unsigned: {response:?}");
    assert!(
        sign::verify(response, KEY, sign_type),
        "bad signature: {response:?}"
    );
    assert_eq!(response.get("appid"), Some(APPID));
    assert_eq!(response.get("mch_id"), Some(MCH));
    assert_eq!(response.get("nonce_str").map(str::len), Some(16));
}

// ---------------------------------------------------------------------------------------------
// Alipay
// ---------------------------------------------------------------------------------------------

pub const ALIPAY_APP: &str = demo::ALIPAY_APP_ID;

/// The demo app's files (the same directory every test sandbox of this binary uses).
pub fn alipay_files() -> paysandbox_certs::AlipayAppFiles {
    CertStore::load_or_create(&data_dir(), &["localhost", "127.0.0.1", "::1"])
        .unwrap()
        .alipay_app(ALIPAY_APP)
        .unwrap()
}

/// The demo app's private key, read from its PKCS#1 PEM file as a client would.
pub fn app_private_key() -> &'static paysandbox_protocol::rsa::PrivateKey {
    static KEY: OnceLock<paysandbox_protocol::rsa::PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let pem = std::fs::read_to_string(alipay_files().app_private_key_path).unwrap();
        paysandbox_protocol::alipay::parse_private_key(&pem).unwrap()
    })
}

/// The platform public key clients verify answers with, read from its PEM file.
pub fn alipay_public_key() -> paysandbox_protocol::rsa::PublicKey {
    let pem = std::fs::read_to_string(alipay_files().alipay_public_key_path).unwrap();
    paysandbox_protocol::alipay::parse_public_key(&pem).unwrap()
}

pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The common parameters and biz_content of a demo-app request, unsigned, as py-official
/// sends them (format=json, charset=utf-8, RSA2).
pub fn alipay_unsigned(method: &str, biz: &Value) -> Vec<(String, String)> {
    pairs(&[
        ("app_id", ALIPAY_APP),
        ("method", method),
        ("format", "json"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("timestamp", "2023-11-15 06:13:20"),
        ("version", "1.0"),
        ("biz_content", &biz.to_string()),
    ])
}

/// Replaces any `sign` with a signature of the rest by `key`, with the params' own sign_type.
pub fn alipay_sign_with(
    params: &mut Vec<(String, String)>,
    key: &paysandbox_protocol::rsa::PrivateKey,
) {
    use paysandbox_protocol::alipay::{SignType, sign_request};
    params.retain(|(k, _)| k != "sign");
    let sign_type = params
        .iter()
        .find(|(k, _)| k == "sign_type")
        .and_then(|(_, v)| SignType::from_wire(v))
        .unwrap_or(SignType::Rsa2);
    let sign = sign_request(params, key, sign_type).unwrap();
    params.push(("sign".to_owned(), sign));
}

/// A signed demo-app request.
pub fn alipay_signed(method: &str, biz: &Value) -> Vec<(String, String)> {
    let mut params = alipay_unsigned(method, biz);
    alipay_sign_with(&mut params, app_private_key());
    params
}

/// Where a client puts the parameters (spec §1.3).
#[derive(Clone, Copy, Debug)]
pub enum Placement {
    /// fzlee: GET, everything in the query string.
    Get,
    /// py-official / java / node: POST, common parameters in the query, biz_content (and
    /// anything else) in the form body.
    Split,
    /// smartwalle / gopay: POST, everything in the form body.
    Body,
}

const COMMON: &[&str] = &[
    "app_id",
    "method",
    "format",
    "charset",
    "sign_type",
    "sign",
    "timestamp",
    "version",
    "notify_url",
    "return_url",
    "app_auth_token",
    "auth_token",
];

impl Sandbox {
    /// Sends `params` to `<base>/gateway.do` placed as `placement` says; returns status,
    /// Content-Type and body. `base` is the HTTPS or the plain-HTTP URL.
    pub async fn alipay_raw(
        &self,
        base: &str,
        placement: Placement,
        params: &[(String, String)],
    ) -> (u16, String, String) {
        use paysandbox_protocol::alipay::encode_urlencoded;
        let client = if base.starts_with("https") {
            self.client(Identity::None)
        } else {
            reqwest::Client::new()
        };
        let url = format!("{base}/gateway.do");
        let request = match placement {
            Placement::Get => client.get(format!("{url}?{}", encode_urlencoded(params))),
            Placement::Split => {
                let (query, body): (Vec<_>, Vec<_>) = params
                    .iter()
                    .cloned()
                    .partition(|(k, _)| COMMON.contains(&k.as_str()));
                client
                    .post(format!("{url}?{}", encode_urlencoded(&query)))
                    .header(
                        "content-type",
                        "application/x-www-form-urlencoded;charset=utf-8",
                    )
                    .body(encode_urlencoded(&body))
            }
            Placement::Body => client
                .post(url)
                .header(
                    "content-type",
                    "application/x-www-form-urlencoded;charset=utf-8",
                )
                .body(encode_urlencoded(params)),
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, content_type, response.text().await.unwrap())
    }

    /// A signed demo-app call over HTTPS, placed as py-official does; the answer's signature is
    /// checked with the platform public key and its node returned.
    pub async fn alipay(&self, method: &str, biz: Value) -> Value {
        let params = alipay_signed(method, &biz);
        let (status, _, body) = self
            .alipay_raw(&self.running.api_url, Placement::Split, &params)
            .await;
        assert_eq!(status, 200, "{body}");
        verified(&body, method)
    }

    /// Seeds a trade of the demo app (`total` a yuan string).
    pub async fn seed_trade(&self, out_trade_no: &str, total: &str, extra: Value) -> Value {
        let mut body = serde_json::json!({
            "app_id": ALIPAY_APP, "out_trade_no": out_trade_no, "total_amount": total
        });
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        self.admin_post("/admin/alipay/trades", body).await
    }
}

/// Verifies an answer's signature (RSA2) over the node's exact bytes with the platform public
/// key and returns the node.
pub fn verified(body: &str, method: &str) -> Value {
    verified_as(body, method, paysandbox_protocol::alipay::SignType::Rsa2)
}

pub fn verified_as(
    body: &str,
    method: &str,
    sign_type: paysandbox_protocol::alipay::SignType,
) -> Value {
    paysandbox_protocol::alipay::verify_response(body, method, &alipay_public_key(), sign_type)
        .unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Asserts a signed business failure (40004) with this sub_code and sub_msg.
pub fn assert_acq(node: &Value, sub_code: &str, sub_msg: &str) {
    assert_eq!(node["code"], "40004", "{node}");
    assert_eq!(node["msg"], "Business Failed", "{node}");
    assert_eq!(node["sub_code"], sub_code, "{node}");
    assert_eq!(node["sub_msg"], sub_msg, "{node}");
}

/// The whole response body as JSON (for unsigned answers and key order checks).
pub fn json_body(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}
