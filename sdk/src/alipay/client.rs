//! [`Client`] and [`ClientBuilder`]: app id, keys, gateway URL, TLS, timeouts, retries, and
//! the one request/response exchange every call goes through.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use paysandbox_protocol::alipay::{
    Method, NodeKind, ResponseStatus, SignType, SubCode, encode_urlencoded, parse_envelope,
    parse_private_key, parse_public_key, sign_request, verify_bytes,
};
use paysandbox_protocol::beijing;

use super::error::{Error, SignatureError};
use crate::clock::{Clock, TokioClock};
use crate::error::{ConfigError, TransportError};
use crate::retry::{self, RetryAdvice, RetryPolicy, Retryable};
use crate::transport::TransportOptions;
use paysandbox_protocol::rsa;

/// The real gateway (every API goes through it; `method` picks the API).
pub const DEFAULT_GATEWAY_URL: &str = "https://openapi.alipay.com/gateway.do";
/// Default time allowed for one attempt, from sending to the end of the response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed to connect (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Refunds of one trade must be at least this far apart (spec §4.1); a refund sooner is
/// answered `ACQ.SYSTEM_ERROR`. The client's own retries of a refund after
/// `ACQ.SYSTEM_ERROR` therefore wait at least this long ([`RetryAdvice::After`]), and happen
/// only when the [`RetryPolicy`]'s `max_delay` allows it.
pub const REFUND_SPACING: Duration = Duration::from_secs(3);

/// Largest response body read; gateway answers are a few hundred bytes.
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// How much of a non-200 body an [`Error::Http`] keeps.
const HTTP_BODY_SNIPPET: usize = 512;

/// An async Alipay (open platform, `gateway.do`) client for one app.
///
/// Cheap to clone (an `Arc` inside); share one per app. Build it with [`Client::builder`].
/// Every call signs its request with the app private key, verifies the answer's signature
/// with the Alipay public key over the node's exact bytes, and returns the typed node or an
/// [`Error`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    gateway_url: String,
    app_id: String,
    app_private_key: rsa::PrivateKey,
    alipay_public_key: rsa::PublicKey,
    sign_type: SignType,
    app_auth_token: Option<String>,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Client")
            .field("gateway_url", &i.gateway_url)
            .field("app_id", &i.app_id)
            .field("app_private_key", &"<redacted>")
            .field("sign_type", &i.sign_type)
            .field(
                "app_auth_token",
                &i.app_auth_token.as_ref().map(|_| "<set>"),
            )
            .field("retry", &i.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a client for the app `app_id` (the 16-digit APPID of the open platform).
    /// The app private key and the Alipay public key are required.
    pub fn builder(app_id: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(app_id.into())
    }

    /// The app id.
    pub fn app_id(&self) -> &str {
        &self.inner.app_id
    }

    /// The sign type of requests (and so of answers).
    pub fn sign_type(&self) -> SignType {
        self.inner.sign_type
    }

    /// The gateway URL.
    pub fn gateway_url(&self) -> &str {
        &self.inner.gateway_url
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The signed parameters of one request: the common parameters (`charset=utf-8`,
    /// `format=JSON`, `version=1.0`, `timestamp` in Beijing time), `biz_content`, `sign`.
    /// Alipay's public key (notification verification).
    pub(crate) fn alipay_public_key(&self) -> &rsa::PublicKey {
        &self.inner.alipay_public_key
    }

    /// The HTTP client (its roots, timeouts and proxies), for requests outside the gateway:
    /// bill downloads.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn signed_params(
        &self,
        method: Method,
        biz_content: &str,
        timestamp: String,
    ) -> Result<Vec<(String, String)>, Error> {
        let inner = &*self.inner;
        let mut params: Vec<(String, String)> = vec![
            ("app_id".into(), inner.app_id.clone()),
            ("method".into(), method.as_str().into()),
            ("format".into(), "JSON".into()),
            ("charset".into(), "utf-8".into()),
            ("sign_type".into(), inner.sign_type.as_str().into()),
            ("timestamp".into(), timestamp),
            ("version".into(), "1.0".into()),
        ];
        if let Some(token) = &inner.app_auth_token {
            params.push(("app_auth_token".into(), token.clone()));
        }
        params.push(("biz_content".into(), biz_content.to_owned()));
        let sign = sign_request(&params, &inner.app_private_key, inner.sign_type).map_err(|e| {
            ConfigError::Key {
                key: "app private key",
                reason: format!("cannot sign: {e}"),
            }
        })?;
        params.push(("sign".into(), sign));
        Ok(params)
    }

    /// Sends `method` with this `biz_content` (the same text on every attempt: same
    /// out_request_no, same amount), applying the retry policy. Each attempt gets a fresh
    /// timestamp and signature. Returns the verified `code=10000` node's exact text.
    pub(crate) async fn call(&self, method: Method, biz_content: &str) -> Result<String, Error> {
        let inner = &*self.inner;
        retry::run(&inner.retry, &*inner.clock, |attempt| async move {
            self.attempt(method, biz_content, attempt)
                .await
                .map_err(|error| Failed { error, method })
        })
        .await
        .map_err(|failed| failed.error)
    }

    async fn attempt(
        &self,
        method: Method,
        biz_content: &str,
        attempt: u32,
    ) -> Result<String, Error> {
        let inner = &*self.inner;
        let timestamp = beijing_timestamp(inner.clock.wall_time());
        let params = self.signed_params(method, biz_content, timestamp)?;
        tracing::debug!(url = %inner.gateway_url, %method, attempt, "Alipay request");
        let response = inner
            .http
            .post(&inner.gateway_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(encode_urlencoded(&params))
            .send()
            .await
            .map_err(TransportError::from_reqwest)?;
        let status = response.status().as_u16();
        let body = read_body(response).await?;
        if status != 200 {
            let end = body.len().min(HTTP_BODY_SNIPPET);
            let snippet = body.get(..end).unwrap_or_default();
            return Err(Error::Http {
                status,
                body: String::from_utf8_lossy(snippet).into_owned(),
            });
        }
        let body = String::from_utf8(body)
            .map_err(|_| Error::decode("the response is not UTF-8 (charset=utf-8 was sent)"))?;
        let result = open_response(&body, method, &inner.alipay_public_key, inner.sign_type);
        if let Err(error) = &result {
            tracing::debug!(%method, attempt, %error, "Alipay call failed");
        }
        result
    }
}

/// A failed attempt and the method it called: a refund's `ACQ.SYSTEM_ERROR` waits out
/// [`REFUND_SPACING`] before it is retried, other retryable failures back off as their
/// [`Error`] advises.
#[derive(Debug)]
struct Failed {
    error: Error,
    method: Method,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl Retryable for Failed {
    fn retry_advice(&self) -> RetryAdvice {
        match self.error.retry_advice() {
            RetryAdvice::Backoff
                if self.method == Method::TradeRefund
                    && self.error.sub_code() == Some(&SubCode::AcqSystemError) =>
            {
                RetryAdvice::After(REFUND_SPACING)
            }
            advice => advice,
        }
    }
}

/// Reads a response body, refusing more than [`MAX_RESPONSE_BYTES`].
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(TransportError::from_reqwest)?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(Error::decode(format!(
                "response larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Unsigned answers the gateway gives because it has no key to sign with: an unknown app
/// (under the method's node), or no method node to put the answer under (`error_response`).
/// Mirrors `mock-server/src/alipay/reply.rs` and spec §3.4.
fn may_be_unsigned(kind: NodeKind, sub_code: Option<&SubCode>) -> bool {
    match kind {
        NodeKind::Method => matches!(
            sub_code,
            Some(SubCode::IsvInvalidAppId | SubCode::IsvMissingAppId)
        ),
        NodeKind::Error => matches!(
            sub_code,
            Some(SubCode::IsvMissingMethod | SubCode::IsvInvalidMethod)
        ),
    }
}

/// Takes a gateway answer apart and checks it: the node under `<method>_response` (or
/// `error_response`), its signature over the node's exact bytes, then its `code`. Returns the
/// node's text for a verified `10000`; every other answer is an error.
pub(crate) fn open_response(
    body: &str,
    method: Method,
    key: &rsa::PublicKey,
    sign_type: SignType,
) -> Result<String, Error> {
    let envelope = parse_envelope(body, method.as_str())
        .map_err(|e| Error::decode(format!("{method}: {e}")))?;
    let status = |node: &str| {
        serde_json::from_str::<ResponseStatus>(node)
            .map_err(|e| Error::decode(format!("{method}: no code/msg in the node: {e}")))
    };
    let Some(sign) = &envelope.sign else {
        return Err(match status(envelope.node) {
            Ok(status)
                if !status.code.is_success()
                    && may_be_unsigned(envelope.kind, status.sub_code.as_ref()) =>
            {
                Error::gateway(status)
            }
            _ => SignatureError::Missing.into(),
        });
    };
    verify_bytes(envelope.node.as_bytes(), sign, key, sign_type).map_err(|e| {
        use paysandbox_protocol::alipay::SignatureError as Wire;
        match e {
            Wire::InvalidBase64 => SignatureError::Malformed,
            Wire::MissingSignature => SignatureError::Missing,
            _ => SignatureError::Mismatch(sign_type),
        }
    })?;
    let status = status(envelope.node)?;
    if !status.code.is_success() {
        return Err(Error::gateway(status));
    }
    if envelope.kind == NodeKind::Error {
        return Err(Error::decode(format!(
            "{method}: error_response with code 10000"
        )));
    }
    Ok(envelope.node.to_owned())
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8), as the `timestamp` parameter and the Java
/// SDK write it. Times before 1970 are written as 1970-01-01 08:00:00.
pub(crate) fn beijing_timestamp(time: SystemTime) -> String {
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    beijing::datetime(millis)
}

enum KeySource {
    Text(String),
    File(PathBuf),
}

impl KeySource {
    fn text(&self, key: &'static str) -> Result<String, ConfigError> {
        match self {
            KeySource::Text(text) => Ok(text.clone()),
            KeySource::File(path) => {
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })
            }
        }
        .and_then(|text| {
            if text.trim().is_empty() {
                Err(ConfigError::Key {
                    key,
                    reason: "empty".into(),
                })
            } else {
                Ok(text)
            }
        })
    }
}

/// Configures a [`Client`]; nothing is read or checked until [`ClientBuilder::build`].
#[must_use]
pub struct ClientBuilder {
    app_id: String,
    app_private_key: Option<KeySource>,
    alipay_public_key: Option<KeySource>,
    gateway_url: String,
    sign_type: SignType,
    app_auth_token: Option<String>,
    transport: TransportOptions,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("app_id", &self.app_id)
            .field("app_private_key", &"<redacted>")
            .field("gateway_url", &self.gateway_url)
            .field("sign_type", &self.sign_type)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    fn new(app_id: String) -> Self {
        Self {
            app_id,
            app_private_key: None,
            alipay_public_key: None,
            gateway_url: DEFAULT_GATEWAY_URL.to_owned(),
            sign_type: SignType::Rsa2,
            app_auth_token: None,
            transport: TransportOptions::new(DEFAULT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT),
            retry: RetryPolicy::none(),
            clock: Arc::new(TokioClock),
        }
    }

    /// The app private key (应用私钥) requests are signed with, as text in any form the
    /// clients use: PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), PKCS#8 PEM (`BEGIN PRIVATE KEY`),
    /// or the bare base64 body of either (what Alipay's key tool and the Java and Python SDKs
    /// take).
    pub fn app_private_key(mut self, text: impl Into<String>) -> Self {
        self.app_private_key = Some(KeySource::Text(text.into()));
        self
    }

    /// The app private key from a file, in any form [`ClientBuilder::app_private_key`]
    /// takes.
    pub fn app_private_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.app_private_key = Some(KeySource::File(path.into()));
        self
    }

    /// The Alipay public key (支付宝公钥, not the app's own public key) answers are
    /// verified with: SPKI PEM (`BEGIN PUBLIC KEY`), PKCS#1 PEM, or the bare base64 the
    /// console shows.
    pub fn alipay_public_key(mut self, text: impl Into<String>) -> Self {
        self.alipay_public_key = Some(KeySource::Text(text.into()));
        self
    }

    /// The Alipay public key from a file, in any form [`ClientBuilder::alipay_public_key`]
    /// takes.
    pub fn alipay_public_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.alipay_public_key = Some(KeySource::File(path.into()));
        self
    }

    /// Where to send requests, [`DEFAULT_GATEWAY_URL`] by default. Point it at a mock, e.g.
    /// `https://127.0.0.1:8443/gateway.do` (with [`ClientBuilder::extra_root_ca_file`]) or
    /// `http://127.0.0.1:8080/gateway.do` for `paysandbox serve`.
    pub fn gateway_url(mut self, url: impl Into<String>) -> Self {
        self.gateway_url = url.into();
        self
    }

    /// The signature algorithm: [`SignType::Rsa2`] (SHA256withRSA, the default and the
    /// platform's recommendation) or [`SignType::Rsa`] (SHA1withRSA, legacy apps). Answers
    /// are verified with the same one.
    pub fn sign_type(mut self, sign_type: SignType) -> Self {
        self.sign_type = sign_type;
        self
    }

    /// Acts for a merchant who authorised this (ISV) app: sends `app_auth_token` with every
    /// request.
    pub fn app_auth_token(mut self, token: impl Into<String>) -> Self {
        self.app_auth_token = Some(token.into()).filter(|t| !t.is_empty());
        self
    }

    /// Time allowed for one attempt, from sending to the end of the response
    /// ([`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport.timeout = timeout;
        self
    }

    /// Time allowed to connect, TLS handshake included ([`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.transport.connect_timeout = timeout;
        self
    }

    /// Also trusts the CA certificate(s) in this PEM file, e.g. paysandbox's `ca.pem`.
    pub fn extra_root_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.transport.add_ca_file(path.into());
        self
    }

    /// Also trusts the CA certificate(s) in this PEM text.
    pub fn extra_root_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.transport.add_ca_pem(pem.into());
        self
    }

    /// Whether to trust the public web roots (default `true`). Turn off to trust only the
    /// extra CAs.
    pub fn public_roots(mut self, trust: bool) -> Self {
        self.transport.public_roots = trust;
        self
    }

    /// Retries of retryable failures ([`RetryPolicy::none`] by default).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The clock used to wait between retries and to write `timestamp`
    /// ([`TokioClock`] by default).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Loads the keys, checks the app id and gateway URL, and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let app_id_ok = !self.app_id.is_empty()
            && self.app_id.len() <= 32
            && self.app_id.bytes().all(|b| b.is_ascii_graphic());
        if !app_id_ok {
            return Err(ConfigError::Credential {
                field: "app_id",
                reason: "must be 1 to 32 printable ASCII characters",
            }
            .into());
        }
        if let Some(token) = &self.app_auth_token
            && (token.chars().count() > 40 || !token.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(ConfigError::Credential {
                field: "app_auth_token",
                reason: "must be at most 40 printable ASCII characters",
            }
            .into());
        }
        let gateway_url = check_gateway_url(&self.gateway_url)?;

        const APP_KEY: &str = "app private key";
        const ALIPAY_KEY: &str = "Alipay public key";
        let missing = |field| ConfigError::Credential {
            field,
            reason: "must be set",
        };
        let app_text = self
            .app_private_key
            .as_ref()
            .ok_or_else(|| missing("app_private_key"))?
            .text(APP_KEY)?;
        let alipay_text = self
            .alipay_public_key
            .as_ref()
            .ok_or_else(|| missing("alipay_public_key"))?
            .text(ALIPAY_KEY)?;
        let app_private_key = parse_private_key(&app_text).map_err(|e| ConfigError::Key {
            key: APP_KEY,
            reason: e.to_string(),
        })?;
        let alipay_public_key = parse_public_key(&alipay_text).map_err(|e| ConfigError::Key {
            key: ALIPAY_KEY,
            reason: e.to_string(),
        })?;
        // The most common misconfiguration (spec §9): the app's own public key given where
        // Alipay's belongs. Every answer would then fail verification; say why up front.
        if app_private_key.to_public_key() == alipay_public_key {
            return Err(ConfigError::Key {
                key: ALIPAY_KEY,
                reason: "this is the app's own public key; use the Alipay public key \
                         (支付宝公钥) of the app's key settings"
                    .into(),
            }
            .into());
        }

        let http = self.transport.http_client(None)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                gateway_url,
                app_id: self.app_id,
                app_private_key,
                alipay_public_key,
                sign_type: self.sign_type,
                app_auth_token: self.app_auth_token,
                retry: self.retry,
                clock: self.clock,
            }),
        })
    }
}

/// An absolute `https://` (or `http://`) URL with a host, no query and no fragment: the client
/// sends every parameter in the form body.
fn check_gateway_url(url: &str) -> Result<String, ConfigError> {
    let refuse = |reason: &str| ConfigError::BaseUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| refuse(&e.to_string()))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(refuse("the scheme must be https (or http)"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(refuse("no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(refuse(
            "no query or fragment allowed (every parameter goes in the form body)",
        ));
    }
    Ok(parsed.into())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use paysandbox_certs::{RsaKeyPair, generate_rsa_keypair};
    use paysandbox_protocol::alipay::{
        Timestamp, TradeRefundResponse, canonical_string, encode_envelope, encode_response,
        encode_unsigned_response, node_json, verify_request,
    };

    use super::*;

    /// Two small key pairs (app, platform), generated once per test binary (1024 bits: fast,
    /// and enough for SHA-256 PKCS#1 v1.5).
    struct Keys {
        app: RsaKeyPair,
        platform: RsaKeyPair,
        app_private: rsa::PrivateKey,
        platform_private: rsa::PrivateKey,
    }

    fn keys() -> &'static Keys {
        static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
        KEYS.get_or_init(|| {
            let app = generate_rsa_keypair(1024).unwrap();
            let platform = generate_rsa_keypair(1024).unwrap();
            Keys {
                app_private: parse_private_key(&app.private_pkcs8_pem).unwrap(),
                platform_private: parse_private_key(&platform.private_pkcs8_pem).unwrap(),
                app,
                platform,
            }
        })
    }

    fn client(sign_type: SignType) -> Client {
        Client::builder("2021000000000001")
            .app_private_key(&keys().app.private_pkcs8_pem)
            .alipay_public_key(&keys().platform.public_pem)
            .sign_type(sign_type)
            .build()
            .unwrap()
    }

    #[test]
    fn timestamps_are_beijing_time() {
        let at = |secs: u64| beijing_timestamp(UNIX_EPOCH + Duration::from_secs(secs));
        // The sandbox tests' frozen start, 2023-11-14 22:13:20 UTC.
        assert_eq!(at(1_700_000_000), "2023-11-15 06:13:20");
        assert_eq!(at(0), "1970-01-01 08:00:00");
        assert_eq!(
            beijing_timestamp(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01 08:00:00"
        );
        // Round trips through the protocol's parser over leap days and year ends.
        for secs in [
            951_782_399u64, // 2000-02-29 07:59:59 Beijing is 2000-02-28 23:59:59 UTC
            951_868_800,
            1_709_164_800,
            1_735_660_799,
            4_102_444_800,
            253_402_300_799 - 8 * 3600,
        ] {
            let text = at(secs);
            let parsed = Timestamp::parse(&text).unwrap();
            assert_eq!(parsed.to_string(), text);
            assert_eq!(parsed.to_unix_seconds(28_800), i64::try_from(secs).unwrap());
        }
    }

    #[test]
    fn requests_carry_the_common_parameters_and_verify() {
        for sign_type in [SignType::Rsa2, SignType::Rsa] {
            let c = client(sign_type);
            let biz = r#"{"out_trade_no":"T1","refund_amount":"1.00","out_request_no":"R1"}"#;
            let params = c
                .signed_params(Method::TradeRefund, biz, "2023-11-15 06:13:20".into())
                .unwrap();
            let without_sign: Vec<_> = params.iter().filter(|(k, _)| k != "sign").collect();
            assert_eq!(
                canonical_string(&params),
                format!(
                    "app_id=2021000000000001&biz_content={biz}&charset=utf-8&format=JSON\
                     &method=alipay.trade.refund&sign_type={sign_type}\
                     &timestamp=2023-11-15 06:13:20&version=1.0"
                )
            );
            assert_eq!(without_sign.len(), 8);
            verify_request(&params, &keys().app_private.to_public_key(), sign_type).unwrap();
            // The form body, decoded, is exactly these parameters.
            let body = encode_urlencoded(&params);
            assert_eq!(
                paysandbox_protocol::alipay::parse_urlencoded(body.as_bytes()).unwrap(),
                params
            );
        }
    }

    #[test]
    fn answers_are_verified_over_the_exact_node() {
        let platform = &keys().platform_private;
        let public = platform.to_public_key();
        let node = TradeRefundResponse {
            out_trade_no: Some("T1".into()),
            fund_change: Some(true),
            ..TradeRefundResponse::default()
        };
        let json = node_json(&node).unwrap();
        let method = Method::TradeRefund;
        for sign_type in [SignType::Rsa2, SignType::Rsa] {
            let body = encode_response(method.as_str(), &json, platform, sign_type).unwrap();
            assert_eq!(
                open_response(&body, method, &public, sign_type).unwrap(),
                json
            );
            let other = match sign_type {
                SignType::Rsa2 => SignType::Rsa,
                SignType::Rsa => SignType::Rsa2,
            };
            assert!(matches!(
                open_response(&body, method, &public, other),
                Err(Error::Signature(SignatureError::Mismatch(t))) if t == other
            ));
            // One byte changed inside the node.
            let tampered = body.replace("\"T1\"", "\"T2\"");
            assert!(matches!(
                open_response(&tampered, method, &public, sign_type),
                Err(Error::Signature(SignatureError::Mismatch(_)))
            ));
            // Another key's signature.
            let forged =
                encode_response(method.as_str(), &json, &keys().app_private, sign_type).unwrap();
            assert!(matches!(
                open_response(&forged, method, &public, sign_type),
                Err(Error::Signature(SignatureError::Mismatch(_)))
            ));
        }
        // Unsigned success: never.
        let unsigned = encode_unsigned_response(method.as_str(), &json).unwrap();
        assert!(matches!(
            open_response(&unsigned, method, &public, SignType::Rsa2),
            Err(Error::Signature(SignatureError::Missing))
        ));
        // Not base64.
        let bad = format!(r#"{{"alipay_trade_refund_response":{json},"sign":"%%%"}}"#);
        assert!(matches!(
            open_response(&bad, method, &public, SignType::Rsa2),
            Err(Error::Signature(SignatureError::Malformed))
        ));
        // Another API's node, or nothing usable.
        let query = encode_response("alipay.trade.query", &json, platform, SignType::Rsa2).unwrap();
        for body in [query.as_str(), "", "<html>", "[1]", r#"{"sign":"x"}"#] {
            assert!(
                matches!(
                    open_response(body, method, &public, SignType::Rsa2),
                    Err(Error::Decode { .. })
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn only_keyless_answers_may_be_unsigned() {
        let platform = &keys().platform_private;
        let public = platform.to_public_key();
        let method = Method::TradeRefund;
        let status = |sub_code: SubCode| node_json(&ResponseStatus::error(sub_code)).unwrap();
        let open = |body: &str| open_response(body, method, &public, SignType::Rsa2);

        for sub_code in [SubCode::IsvInvalidAppId, SubCode::IsvMissingAppId] {
            let body =
                encode_unsigned_response(method.as_str(), &status(sub_code.clone())).unwrap();
            assert!(
                matches!(open(&body), Err(Error::Gateway { sub_code: s, .. }) if s == sub_code)
            );
        }
        for sub_code in [SubCode::IsvMissingMethod, SubCode::IsvInvalidMethod] {
            let body =
                encode_envelope("error_response", &status(sub_code.clone()), None, None).unwrap();
            assert!(
                matches!(open(&body), Err(Error::Gateway { sub_code: s, .. }) if s == sub_code)
            );
        }
        // Everything else must be signed, business failures included.
        for sub_code in [
            SubCode::AcqTradeNotExist,
            SubCode::IsvInvalidSignature,
            SubCode::AcqSystemError,
        ] {
            let body = encode_unsigned_response(method.as_str(), &status(sub_code)).unwrap();
            assert!(matches!(
                open(&body),
                Err(Error::Signature(SignatureError::Missing))
            ));
        }
        let body = encode_envelope(
            "error_response",
            &status(SubCode::AcqTradeNotExist),
            None,
            None,
        )
        .unwrap();
        assert!(matches!(
            open(&body),
            Err(Error::Signature(SignatureError::Missing))
        ));
        // A signed failure is the gateway's error.
        let body = encode_response(
            method.as_str(),
            &status(SubCode::AcqTradeHasClose),
            platform,
            SignType::Rsa2,
        )
        .unwrap();
        assert!(matches!(
            open(&body),
            Err(Error::Gateway {
                sub_code: SubCode::AcqTradeHasClose,
                ..
            })
        ));
    }

    #[test]
    fn configuration_is_checked() {
        let Keys { app, platform, .. } = keys();
        let config = |b: ClientBuilder| match b.build() {
            Err(Error::Config(e)) => e,
            other => panic!("{other:?}"),
        };
        let good = || {
            Client::builder("2021000000000001")
                .app_private_key(&app.private_pkcs8_pem)
                .alipay_public_key(&platform.public_pem)
        };
        let built = good().build().unwrap();
        assert_eq!(built.gateway_url(), DEFAULT_GATEWAY_URL);
        assert_eq!(built.sign_type(), SignType::Rsa2);
        let debug = format!("{built:?}");
        assert!(!debug.contains("PRIVATE"), "{debug}");

        assert!(matches!(
            config(Client::builder("2021000000000001").alipay_public_key(&platform.public_pem)),
            ConfigError::Credential {
                field: "app_private_key",
                ..
            }
        ));
        assert!(matches!(
            config(Client::builder("2021000000000001").app_private_key(&app.private_pkcs8_pem)),
            ConfigError::Credential {
                field: "alipay_public_key",
                ..
            }
        ));
        for app_id in ["", "2021 0001", &"1".repeat(33)] {
            let mut b = good();
            b.app_id = app_id.to_owned();
            assert!(matches!(
                config(b),
                ConfigError::Credential {
                    field: "app_id",
                    ..
                }
            ));
        }
        assert!(matches!(
            config(good().app_private_key("not a key")),
            ConfigError::Key {
                key: "app private key",
                ..
            }
        ));
        // A public key where the private key belongs.
        assert!(matches!(
            config(good().app_private_key(&app.public_pem)),
            ConfigError::Key { .. }
        ));
        // The app's own public key where Alipay's belongs.
        assert!(matches!(
            config(good().alipay_public_key(&app.public_pem)),
            ConfigError::Key {
                key: "Alipay public key",
                ..
            }
        ));
        assert!(matches!(
            config(good().app_private_key_file("/nonexistent/key.pem")),
            ConfigError::Read { .. }
        ));
        for url in [
            "openapi.alipay.com/gateway.do",
            "ftp://host/gateway.do",
            "https://host/gateway.do?charset=utf-8",
        ] {
            assert!(
                matches!(config(good().gateway_url(url)), ConfigError::BaseUrl { .. }),
                "{url}"
            );
        }
        assert!(matches!(
            config(good().app_auth_token("x".repeat(41))),
            ConfigError::Credential {
                field: "app_auth_token",
                ..
            }
        ));
        assert_eq!(
            good()
                .gateway_url("http://127.0.0.1:8080/gateway.do")
                .build()
                .unwrap()
                .gateway_url(),
            "http://127.0.0.1:8080/gateway.do"
        );
    }
}
