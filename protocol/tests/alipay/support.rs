//! Shared fixtures for the Alipay tests: the known-answer vectors in
//! the `alipay` section of `tests/data/known_answers.json` and the two throwaway keys they were made with.

use paysandbox_protocol::alipay::{SignType, parse_private_key, parse_public_key};
use paysandbox_protocol::rsa::{PrivateKey, PublicKey};
use serde::Deserialize;
use std::sync::OnceLock;

#[derive(Debug, Deserialize)]
pub struct Vectors {
    pub keys: Keys,
    pub request_vectors: Vec<RequestVector>,
    pub response_vectors: Vec<ResponseVector>,
}

#[derive(Debug, Deserialize)]
pub struct Keys {
    pub app: KeyForms,
    pub alipay: KeyForms,
}

#[derive(Debug, Deserialize)]
pub struct KeyForms {
    pub pkcs1_pem: String,
    pub pkcs8_pem: String,
    pub spki_pem: String,
    pub pkcs1_public_pem: String,
}

#[derive(Debug, Deserialize)]
pub struct RequestVector {
    pub name: String,
    /// Where the vector came from; shown by `Debug` when an assertion on it fails.
    #[allow(dead_code)]
    pub source: String,
    #[serde(default)]
    pub query: Vec<(String, String)>,
    #[serde(default)]
    pub body: Vec<(String, String)>,
    pub query_raw: Option<String>,
    pub body_raw: Option<String>,
    pub sign_type: String,
    pub canonical: String,
    pub signatures: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct ResponseVector {
    pub name: String,
    /// Where the vector came from; shown by `Debug` when an assertion on it fails.
    #[allow(dead_code)]
    pub source: String,
    pub method: String,
    pub node: String,
    pub sign_type: String,
    pub sign: String,
    pub body: String,
}

pub fn vectors() -> &'static Vectors {
    static V: OnceLock<Vectors> = OnceLock::new();
    V.get_or_init(|| {
        let all: serde_json::Value =
            serde_json::from_str(include_str!("../data/known_answers.json")).expect("JSON");
        serde_json::from_value(all["alipay"].clone()).expect("vectors parse")
    })
}

pub fn sign_type(s: &str) -> SignType {
    SignType::from_wire(s).expect("vector sign_type")
}

pub fn app_private() -> &'static PrivateKey {
    static K: OnceLock<PrivateKey> = OnceLock::new();
    K.get_or_init(|| parse_private_key(&vectors().keys.app.pkcs1_pem).unwrap())
}

pub fn app_public() -> PublicKey {
    parse_public_key(&vectors().keys.app.spki_pem).unwrap()
}

pub fn alipay_private() -> &'static PrivateKey {
    static K: OnceLock<PrivateKey> = OnceLock::new();
    K.get_or_init(|| parse_private_key(&vectors().keys.alipay.pkcs8_pem).unwrap())
}

pub fn alipay_public() -> PublicKey {
    parse_public_key(&vectors().keys.alipay.spki_pem).unwrap()
}

/// Owned pairs from string literals.
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The body of a PEM block with headers and line breaks removed: headerless base64.
pub fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat()
}
