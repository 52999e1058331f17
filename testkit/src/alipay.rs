//! Alipay against a test sandbox: the demo app's keys, signed gateway requests placed as each
//! client family places them, answers verified with the platform key, and SDK clients for
//! the demo app.
// A request the gateway does not answer, or an answer that does not verify where a test
// expects it to, is a failed test.
#![allow(clippy::panic)]

use std::sync::OnceLock;
use std::time::Duration;

use paysandbox_certs::AlipayAppFiles;
use paysandbox_mock_server::demo;
use paysandbox_protocol::alipay::{self as protocol, SignType};
use paysandbox_sdk::alipay::{Client, ClientBuilder};
use serde_json::Value;

use crate::admin::TradeTotal;
use crate::https::{self, ClientCert};
use crate::proxy;
use crate::sandbox::{Sandbox, cert_store, data_dir, expect};

/// The demo app's app_id.
pub const ALIPAY_APP: &str = demo::ALIPAY_APP_ID;

/// The demo app's key files (in the shared data directory): `app_private_key.pem` (PKCS#1),
/// `_pkcs8.pem`, `.txt` (bare base64), `alipay_public_key.pem`, ...
pub fn alipay_files() -> &'static AlipayAppFiles {
    static FILES: OnceLock<AlipayAppFiles> = OnceLock::new();
    FILES.get_or_init(|| {
        cert_store(data_dir())
            .alipay_app(ALIPAY_APP)
            .unwrap_or_else(|e| panic!("demo app keys: {e}"))
    })
}

/// The demo app's private key, read from its PKCS#1 PEM file as a client would.
pub fn app_private_key() -> &'static paysandbox_protocol::rsa::PrivateKey {
    static KEY: OnceLock<paysandbox_protocol::rsa::PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let pem = read(&alipay_files().app_private_key_path);
        protocol::parse_private_key(&pem).unwrap_or_else(|e| panic!("app private key: {e}"))
    })
}

/// The platform public key clients verify answers with, read from its PEM file.
pub fn alipay_public_key() -> paysandbox_protocol::rsa::PublicKey {
    let pem = read(&alipay_files().alipay_public_key_path);
    protocol::parse_public_key(&pem).unwrap_or_else(|e| panic!("platform public key: {e}"))
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Owned pairs from string literals.
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The common parameters and biz_content of a demo-app request, unsigned, as py-official
/// sends them (format=json, charset=utf-8, RSA2, the sandbox's frozen time).
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
    params.retain(|(k, _)| k != "sign");
    let sign_type = params
        .iter()
        .find(|(k, _)| k == "sign_type")
        .and_then(|(_, v)| SignType::from_wire(v))
        .unwrap_or(SignType::Rsa2);
    let sign =
        protocol::sign_request(params, key, sign_type).unwrap_or_else(|e| panic!("signing: {e}"));
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

/// The common parameters, which [`Placement::Split`] puts in the query.
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

const FORM: &str = "application/x-www-form-urlencoded;charset=utf-8";

/// Verifies an answer's RSA2 signature over the node's exact bytes with the platform public
/// key and returns the node.
pub fn verified(body: &str, method: &str) -> Value {
    verified_as(body, method, SignType::Rsa2)
}

/// [`verified`] with another sign type.
pub fn verified_as(body: &str, method: &str, sign_type: SignType) -> Value {
    protocol::verify_response(body, method, &alipay_public_key(), sign_type)
        .unwrap_or_else(|e| panic!("{e}: {body}"))
}

impl Sandbox {
    /// The gateway on the HTTPS listener.
    pub fn gateway(&self) -> String {
        format!("{}/gateway.do", self.running.api_url)
    }

    /// Sends `params` to `<base>/gateway.do` placed as `placement` says; the status,
    /// Content-Type and body. `base` is the HTTPS or the plain-HTTP URL.
    pub async fn alipay_raw(
        &self,
        base: &str,
        placement: Placement,
        params: &[(String, String)],
    ) -> (u16, String, String) {
        let client = if base.starts_with("https") {
            self.https_client(ClientCert::None)
        } else {
            https::http_client()
        };
        let url = format!("{base}/gateway.do");
        let request = match placement {
            Placement::Get => client.get(format!("{url}?{}", protocol::encode_urlencoded(params))),
            Placement::Split => {
                let (query, body): (Vec<_>, Vec<_>) = params
                    .iter()
                    .cloned()
                    .partition(|(k, _)| COMMON.contains(&k.as_str()));
                client
                    .post(format!("{url}?{}", protocol::encode_urlencoded(&query)))
                    .header("content-type", FORM)
                    .body(protocol::encode_urlencoded(&body))
            }
            Placement::Body => client
                .post(&url)
                .header("content-type", FORM)
                .body(protocol::encode_urlencoded(params)),
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        https::read_answer(response, &url).await
    }

    /// A signed demo-app call over HTTPS, placed as py-official does; the answer must be HTTP
    /// 200, its signature is checked with the platform public key, and its node returned.
    pub async fn alipay(&self, method: &str, biz: Value) -> Value {
        let params = alipay_signed(method, &biz);
        let (status, _, body) = self
            .alipay_raw(&self.running.api_url, Placement::Split, &params)
            .await;
        assert_eq!(status, 200, "{body}");
        verified(&body, method)
    }

    /// Seeds a trade of the demo app (a yuan string goes as `total_amount`, a number as
    /// `total_fen`), paid unless `extra` says otherwise.
    pub async fn seed_trade<'a>(
        &self,
        out_trade_no: &str,
        total: impl Into<TradeTotal<'a>>,
        extra: Value,
    ) -> Value {
        let admin = self.admin_client();
        expect(
            admin
                .seed_trade(ALIPAY_APP, out_trade_no, total.into(), extra)
                .await,
        )
    }

    /// The demo app's refunds, as the ledger has them.
    pub async fn alipay_refunds(&self) -> Vec<Value> {
        expect(self.admin_client().alipay_refunds(ALIPAY_APP).await)
    }

    /// The demo app's trade `out_trade_no`, as the ledger has it.
    pub async fn alipay_trade(&self, out_trade_no: &str) -> Value {
        let trades = expect(self.admin_client().alipay_trades(ALIPAY_APP).await);
        trades
            .into_iter()
            .find(|t| t["out_trade_no"] == out_trade_no)
            .unwrap_or_else(|| panic!("no trade {out_trade_no}"))
    }

    /// Gateway requests of one method (of the last 1000 journal entries), oldest first.
    pub async fn gateway_journal(&self, method: &str) -> Vec<Value> {
        let mut entries = self.journal_of("/gateway.do").await;
        entries.retain(|e| crate::admin::sent(e, "method") == Some(method));
        entries
    }

    /// An SDK client builder for the demo app against this sandbox over HTTPS (its CA only),
    /// keys from the PKCS#1 PEM and SPKI PEM files, a 5 s timeout.
    pub fn alipay_builder(&self) -> ClientBuilder {
        Client::builder(ALIPAY_APP)
            .gateway_url(self.gateway())
            .public_roots(false)
            .extra_root_ca_file(&self.running.ca_path)
            .app_private_key_file(&alipay_files().app_private_key_path)
            .alipay_public_key_file(&alipay_files().alipay_public_key_path)
            .timeout(Duration::from_secs(5))
    }

    /// [`Sandbox::alipay_builder`], built.
    pub fn alipay_client(&self) -> Client {
        self.alipay_builder()
            .build()
            .unwrap_or_else(|e| panic!("Alipay client: {e}"))
    }

    /// A plain-HTTP proxy in front of the plain-HTTP gateway that passes each answer through
    /// `tamper`; its gateway URL.
    pub async fn alipay_tamper_proxy(
        &self,
        tamper: impl Fn(String) -> String + Send + Sync + 'static,
    ) -> String {
        let base = proxy::start(
            https::http_client(),
            &self.running.http_url,
            "text/html;charset=utf-8",
            tamper,
        )
        .await;
        format!("{base}/gateway.do")
    }
}
