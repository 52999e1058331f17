//! WeChat Pay v2 against a test sandbox: the demo merchant's credentials, signed XML requests
//! over mutual TLS as a client library sends them, and SDK clients for the demo merchant.
// A request the sandbox does not answer, or answers with something other than XML, is a failed
// test.
#![allow(clippy::panic)]

use std::time::Duration;

use paysandbox_mock_server::demo;
use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::{Params, xml};
use paysandbox_sdk::wechat::{Client, ClientBuilder};
use serde_json::Value;

use crate::https::ClientCert;
use crate::proxy;
use crate::sandbox::{Sandbox, expect, merchant_dir};

/// The demo merchant's mch_id.
pub const MCH: &str = demo::MCH_ID;
/// The demo merchant's appid.
pub const APPID: &str = demo::APPID;
/// The demo merchant's API key.
pub const KEY: &str = demo::API_KEY;

/// Signs with the request's own `sign_type` (MD5 when absent).
pub fn signed(mut params: Params, key: &str) -> Params {
    let sign_type = sign::request_sign_type(&params).unwrap_or(SignType::Md5);
    sign::sign_in_place(&mut params, key, sign_type);
    params
}

/// The common fields of a demo-merchant request, unsigned.
pub fn base() -> Params {
    let mut params = Params::new();
    params.insert_text("appid", APPID);
    params.insert_text("mch_id", MCH);
    params.insert_text("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS");
    params
}

/// A demo-merchant refund request by out_trade_no, unsigned.
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

impl Sandbox {
    /// POSTs raw bytes to an API path over HTTPS with `client`; the status and the body.
    pub async fn post_raw(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: impl Into<Vec<u8>>,
    ) -> (u16, String) {
        let url = format!("{}{path}", self.running.api_url);
        let response = client
            .post(&url)
            .body(body.into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        (status, text)
    }

    /// Signs `params` with the demo key (MD5 unless they carry a `sign_type`) and POSTs them
    /// with the demo merchant's certificate; the decoded XML answer, which must be HTTP 200.
    pub async fn call(&self, path: &str, params: Params) -> Params {
        let client = self.https_client(ClientCert::Merchant(MCH));
        self.call_with(&client, path, params, KEY).await
    }

    /// [`Sandbox::call`] with another client and key.
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
        xml::decode(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    /// Seeds an order of the demo merchant, paid unless `extra` says otherwise.
    pub async fn seed_order(&self, out_trade_no: &str, total_fee: u64, extra: Value) -> Value {
        let admin = self.admin_client();
        expect(admin.seed_order(MCH, out_trade_no, total_fee, extra).await)
    }

    /// The demo merchant's refunds, as the sandbox's ledger has them.
    pub async fn wechat_refunds(&self) -> Vec<Value> {
        let query = format!("mch_id={MCH}");
        expect(self.admin_client().wechat_refunds(&query).await)
    }

    /// An SDK client builder for the demo merchant against this sandbox: its URL, its CA
    /// only, the PEM certificate pair, a 5 s timeout.
    pub fn wechat_builder(&self) -> ClientBuilder {
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

    /// [`Sandbox::wechat_builder`], built.
    pub fn wechat_client(&self) -> Client {
        self.wechat_builder()
            .build()
            .unwrap_or_else(|e| panic!("WeChat client: {e}"))
    }

    /// A plain-HTTP proxy in front of the HTTPS API (forwarding with the demo merchant's
    /// certificate) that passes each answer through `tamper`; its base URL.
    pub async fn wechat_tamper_proxy(
        &self,
        tamper: impl Fn(String) -> String + Send + Sync + 'static,
    ) -> String {
        let upstream = self.https_client(ClientCert::Merchant(MCH));
        proxy::start(upstream, &self.running.api_url, "text/xml", tamper).await
    }
}
