//! WeChat Pay API v3 against a test sandbox: a client that signs requests as the official SDKs
//! do (`Authorization: WECHATPAY2-SHA256-RSA2048 …` with the merchant's API certificate key)
//! and verifies every 2xx answer's `Wechatpay-*` headers with the merchant's platform identity
//! files, built on `protocol::wechat::v3`. Tests can also send what no SDK would (a broken
//! header, a stale timestamp, raw bytes) through [`V3Client::send`].
// A request the sandbox does not answer, or a 2xx answer that does not verify, is a failed test.
#![allow(clippy::panic)]

use std::path::Path;

use paysandbox_mock_server::clock::system_millis;
use paysandbox_mock_server::demo;
use paysandbox_protocol::rsa::{PrivateKey, PublicKey};
use paysandbox_protocol::wechat::v3::auth::sign_request;
use paysandbox_protocol::wechat::v3::response::{
    HEADER_REQUEST_ID, HEADER_SERIAL, ReceivedHeaders, Verifier,
};
use reqwest::Method;
use serde_json::Value;

use crate::https::ClientCert;
use crate::sandbox::{Sandbox, merchant_dir};

/// The demo merchant's APIv3 key.
pub const API_V3_KEY: &str = demo::API_V3_KEY;

/// A merchant's v3 identity files, as `serve` reports them.
#[derive(Debug, Clone)]
pub struct V3Files {
    /// The merchant API certificate's serial (`serial_no`).
    pub serial_no: String,
    /// The merchant API key.
    pub key: PrivateKey,
    /// Every platform certificate: serial and public key, oldest first.
    pub certificates: Vec<(String, PublicKey)>,
    /// The WeChat Pay public key's id and key.
    pub public_key: (String, PublicKey),
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl V3Files {
    /// Reads a merchant's files from the shared data directory (the sandbox makes them on the
    /// merchant's first v3 request, the kit for the demo merchant at once).
    pub fn of(mch_id: &str) -> V3Files {
        let dir = merchant_dir(mch_id);
        let cert_pem = read(&dir.join("apiclient_cert.pem"));
        let (_, der) = x509_der(&cert_pem);
        let serial_no = paysandbox_protocol::wechat::v3::identity::certificate_serial_hex(&der)
            .unwrap_or_else(|e| panic!("API certificate serial: {e}"));
        let key = PrivateKey::from_pem(&read(&dir.join("apiclient_key.pem")))
            .unwrap_or_else(|e| panic!("API key: {e}"));
        let mut certificates: Vec<(String, PublicKey, std::time::SystemTime)> = Vec::new();
        let certs_dir = dir.join("wechatpay_certs");
        for entry in std::fs::read_dir(&certs_dir)
            .unwrap_or_else(|e| panic!("{}: {e}", certs_dir.display()))
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(serial) = name
                .strip_prefix("wechatpay_")
                .and_then(|n| n.strip_suffix(".pem"))
            else {
                continue;
            };
            let key =
                PublicKey::from_pem(&read(&entry.path())).unwrap_or_else(|e| panic!("{name}: {e}"));
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            certificates.push((serial.to_owned(), key, modified));
        }
        certificates.sort_by_key(|(_, _, modified)| *modified);
        let public_key = (
            read(&dir.join("pub_key_id.txt")).trim().to_owned(),
            PublicKey::from_pem(&read(&dir.join("pub_key.pem")))
                .unwrap_or_else(|e| panic!("pub_key.pem: {e}")),
        );
        V3Files {
            serial_no,
            key,
            certificates: certificates.into_iter().map(|(s, k, _)| (s, k)).collect(),
            public_key,
        }
    }

    /// The serial of the newest platform certificate.
    pub fn certificate_serial(&self) -> &str {
        self.certificates
            .last()
            .map(|(s, _)| s.as_str())
            .unwrap_or_else(|| panic!("no platform certificate"))
    }
}

/// The DER of the first PEM block.
fn x509_der(pem: &str) -> (String, Vec<u8>) {
    let block = paysandbox_protocol::rsa::parse_pem(pem)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("not PEM"));
    (block.label, block.der)
}

/// One answer, as received.
#[derive(Debug, Clone)]
pub struct V3Answer {
    /// HTTP status.
    pub status: u16,
    /// Every header, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body's text.
    pub body: String,
    /// The body as JSON (`Null` when empty or not JSON).
    pub json: Value,
    /// The body's bytes (a gzip bill is not text).
    pub bytes: Vec<u8>,
    /// For a 2xx answer: the serial (or public-key id) whose key verified it.
    pub verified_by: Option<String>,
}

impl V3Answer {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts an error answer: `status`, `code`, a `Request-ID` and no signature.
    pub fn assert_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.json.get("code").and_then(Value::as_str),
            Some(code),
            "{}",
            self.body
        );
        assert!(
            self.json
                .get("message")
                .and_then(Value::as_str)
                .is_some_and(|m| !m.is_empty())
        );
        assert!(self.header(HEADER_REQUEST_ID).is_some(), "no Request-ID");
        assert_eq!(self.header("wechatpay-signature"), None);
        &self.json
    }
}

/// What to send besides the signed request.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// Replaces the `Authorization` header (`Some("")` sends none).
    pub authorization: Option<String>,
    /// Signs with this timestamp instead of now (Unix seconds).
    pub timestamp: Option<i64>,
    /// Signs a different body than the one sent.
    pub signed_body: Option<Vec<u8>>,
    /// Sends this `Wechatpay-Serial` (overrides the client's).
    pub wechatpay_serial: Option<String>,
    /// The answer is not signed even when 2xx (a bill download): asserts it carries no
    /// signature instead of verifying it.
    pub unsigned_answer: bool,
}

/// A v3 client of one merchant against one sandbox.
#[derive(Debug, Clone)]
pub struct V3Client {
    http: reqwest::Client,
    base: String,
    mchid: String,
    files: V3Files,
    verifier: Verifier,
    wechatpay_serial: Option<String>,
}

impl V3Client {
    /// Sends `Wechatpay-Serial: serial` with every request (a public-key-mode client sends its
    /// `PUB_KEY_ID_…`).
    pub fn with_wechatpay_serial(mut self, serial: &str) -> Self {
        self.wechatpay_serial = Some(serial.to_owned());
        self
    }

    /// The merchant's files.
    pub fn files(&self) -> &V3Files {
        &self.files
    }

    /// Signs and sends a request with a JSON body (or none); the answer, verified if 2xx.
    pub async fn call(&self, method: Method, url: &str, body: Option<&Value>) -> V3Answer {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        self.send(method, url, bytes, Extra::default()).await
    }

    /// `GET url`.
    pub async fn get(&self, url: &str) -> V3Answer {
        self.call(Method::GET, url, None).await
    }

    /// `GET url` of a download address, whose 2xx answer is the file, unsigned.
    pub async fn download(&self, url: &str) -> V3Answer {
        let extra = Extra {
            unsigned_answer: true,
            ..Extra::default()
        };
        self.send(Method::GET, url, Vec::new(), extra).await
    }

    /// `POST url` with a JSON body.
    pub async fn post(&self, url: &str, body: &Value) -> V3Answer {
        self.call(Method::POST, url, Some(body)).await
    }

    /// The `Authorization` value for a request.
    pub fn authorization(&self, method: &str, url: &str, timestamp: i64, body: &[u8]) -> String {
        let nonce = format!(
            "{:032X}",
            timestamp.unsigned_abs().wrapping_mul(0x9E37_79B9)
        );
        sign_request(
            &self.files.key,
            &self.mchid,
            &self.files.serial_no,
            method,
            url,
            timestamp,
            &nonce,
            body,
        )
        .unwrap_or_else(|e| panic!("signing: {e}"))
        .to_header_value()
    }

    /// Sends raw `body` signed as `extra` says; a 2xx answer must verify (or, with
    /// [`Extra::unsigned_answer`], carry no signature).
    pub async fn send(&self, method: Method, url: &str, body: Vec<u8>, extra: Extra) -> V3Answer {
        let now = system_millis() / 1000;
        let extra_unsigned = extra.unsigned_answer;
        let signed_body = extra.signed_body.as_deref().unwrap_or(&body);
        let authorization = extra.authorization.unwrap_or_else(|| {
            self.authorization(
                method.as_str(),
                url,
                extra.timestamp.unwrap_or(now),
                signed_body,
            )
        });
        let full = format!("{}{url}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &full)
            .header("accept", "application/json");
        if !authorization.is_empty() {
            request = request.header("authorization", authorization);
        }
        if let Some(serial) = extra
            .wechatpay_serial
            .or_else(|| self.wechatpay_serial.clone())
        {
            request = request.header(HEADER_SERIAL, serial);
        }
        if !body.is_empty() {
            request = request.header("content-type", "application/json");
        }
        let response = request
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {full}: {e}"));
        let status = response.status().as_u16();
        let headers = crate::loopback::header_pairs(response.headers());
        let bytes = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{method} {full}: {e}"));
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let mut answer = V3Answer {
            status,
            headers,
            body: text,
            json,
            bytes: bytes.to_vec(),
            verified_by: None,
        };
        if extra_unsigned {
            assert_eq!(answer.header("wechatpay-signature"), None, "{method} {url}");
        } else if (200..300).contains(&status) {
            let lookup = |name: &str| answer.header(name);
            let received = ReceivedHeaders::from_lookup(lookup);
            let serial = self
                .verifier
                .verify(&received, &bytes, now)
                .unwrap_or_else(|e| panic!("{method} {url}: answer does not verify: {e}"))
                .to_owned();
            answer.verified_by = Some(serial);
        }
        answer
    }
}

impl Sandbox {
    /// A v3 client of the demo merchant over HTTPS (no client certificate: v3 does not use
    /// one), trusting its platform certificates and its public key.
    pub fn v3_client(&self) -> V3Client {
        self.v3_client_for(demo::MCH_ID)
    }

    /// A v3 client of `mch_id` (whose files must exist: after its first v3 request, or
    /// [`Sandbox::v3_files`]).
    pub fn v3_client_for(&self, mch_id: &str) -> V3Client {
        let files = V3Files::of(mch_id);
        let mut verifier = Verifier::new();
        for (serial, key) in &files.certificates {
            verifier.insert(serial, key.clone());
        }
        verifier.insert(&files.public_key.0, files.public_key.1.clone());
        V3Client {
            http: self.https_client(ClientCert::None),
            base: self.running.api_url.clone(),
            mchid: mch_id.to_owned(),
            files,
            verifier,
            wechatpay_serial: None,
        }
    }

    /// Makes sure the sandbox has made `mch_id`'s v3 files (through an unsigned request the
    /// sandbox refuses after loading them).
    pub async fn v3_files(&self, mch_id: &str) -> V3Files {
        let client = self.https_client(ClientCert::None);
        let url = format!("{}/v3/certificates", self.running.api_url);
        let header = format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"{mch_id}\",nonce_str=\"n\",timestamp=\"1\",serial_no=\"00\",signature=\"AA==\""
        );
        client
            .get(&url)
            .header("authorization", header)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        V3Files::of(mch_id)
    }
}
