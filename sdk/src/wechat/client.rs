//! [`Client`] and [`ClientBuilder`]: credentials, TLS, timeouts, retries, and the one
//! request/response exchange every call goes through.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paysandbox_protocol::wechat::codes::return_msg;
use paysandbox_protocol::wechat::{
    FieldError, FieldErrorKind, GetSignKeyRequest, GetSignKeyResponse, Params, SignType, fields,
    xml,
};
use rand::distr::{Alphanumeric, SampleString};

use super::error::Error;
use super::wire;
use crate::clock::{Clock, TokioClock};
use crate::error::{ConfigError, TransportError};
use crate::retry::{self, RetryPolicy};
use crate::tls::Identity;
use crate::transport::TransportOptions;

/// The real WeChat Pay v2 host.
pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";
/// Default time allowed for one attempt, from sending to the end of the response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed to connect (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a sandbox client uses a `sandbox_signkey` before fetching it again. The sandbox
/// keeps a key about three days; a day stays well inside that, and a call refused with the
/// sandbox's signature error fetches a new key at once anyway.
pub const SANDBOX_KEY_TTL: Duration = Duration::from_secs(86_400);

/// The sandbox's path prefix (§8.1).
const SANDBOX_PREFIX: &str = "/sandboxnew";

/// Length of the `nonce_str` the client generates (the field's maximum).
const NONCE_LEN: usize = 32;
/// How much of a non-200 body an [`Error::Http`] keeps.
const HTTP_BODY_SNIPPET: usize = 512;

/// The endpoints this client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Refund,
    RefundQuery,
    OrderQuery,
    UnifiedOrder,
    CloseOrder,
}

impl Endpoint {
    /// The path in production, or under `/sandboxnew` in the sandbox, where refunds go to
    /// `/sandboxnew/pay/refund` (the path the real sandbox serves, without a certificate).
    pub(crate) fn path(self, sandbox: bool) -> &'static str {
        match (self, sandbox) {
            (Endpoint::Refund, false) => "/secapi/pay/refund",
            (Endpoint::Refund, true) => "/sandboxnew/pay/refund",
            (Endpoint::RefundQuery, false) => "/pay/refundquery",
            (Endpoint::RefundQuery, true) => "/sandboxnew/pay/refundquery",
            (Endpoint::OrderQuery, false) => "/pay/orderquery",
            (Endpoint::OrderQuery, true) => "/sandboxnew/pay/orderquery",
            (Endpoint::UnifiedOrder, false) => "/pay/unifiedorder",
            (Endpoint::UnifiedOrder, true) => "/sandboxnew/pay/unifiedorder",
            (Endpoint::CloseOrder, false) => "/pay/closeorder",
            (Endpoint::CloseOrder, true) => "/sandboxnew/pay/closeorder",
        }
    }

    fn needs_certificate(self, sandbox: bool) -> bool {
        self == Endpoint::Refund && !sandbox
    }
}

/// A fetched `sandbox_signkey` and when it was fetched (on the client's clock).
#[derive(Debug, Clone)]
struct SandboxKey {
    key: String,
    fetched_at: Instant,
}

/// An async WeChat Pay v2 client for one merchant and app.
///
/// Cheap to clone (an `Arc` inside); share one per merchant. Build it with
/// [`Client::builder`]. Every call signs its request with the API key, verifies the
/// response's signature with the same sign type, and returns a typed response or an
/// [`Error`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    mch_id: String,
    appid: String,
    api_key: String,
    sign_type: SignType,
    has_identity: bool,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    /// `Some` in sandbox mode: the cached sandbox key, if fetched.
    sandbox: Option<Mutex<Option<SandboxKey>>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Client")
            .field("base_url", &i.base_url)
            .field("mch_id", &i.mch_id)
            .field("appid", &i.appid)
            .field("api_key", &"<redacted>")
            .field("sign_type", &i.sign_type)
            .field("client_certificate", &i.has_identity)
            .field("sandbox", &i.sandbox.is_some())
            .field("retry", &i.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a client for merchant `mch_id` (商户号), app `appid`, signing with `api_key`
    /// (the 32-character API密钥 of the merchant platform).
    pub fn builder(
        mch_id: impl Into<String>,
        appid: impl Into<String>,
        api_key: impl Into<String>,
    ) -> ClientBuilder {
        ClientBuilder::new(mch_id.into(), appid.into(), api_key.into())
    }

    /// The merchant id.
    pub fn mch_id(&self) -> &str {
        &self.inner.mch_id
    }

    /// The app id.
    pub fn appid(&self) -> &str {
        &self.inner.appid
    }

    /// The sign type of requests (and so of responses).
    pub fn sign_type(&self) -> SignType {
        self.inner.sign_type
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Whether calls go to the sandbox (`/sandboxnew/`, sandbox key, MD5).
    pub fn is_sandbox(&self) -> bool {
        self.inner.sandbox.is_some()
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The API key (notification decryption and verification).
    pub(crate) fn api_key(&self) -> &str {
        &self.inner.api_key
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.inner.clock
    }

    /// `sign_type` as requests carry it (see [`wire::sign_type_field`]).
    pub(crate) fn sign_type_field(&self) -> Option<SignType> {
        wire::sign_type_field(self.inner.sign_type)
    }

    /// A fresh `nonce_str`: 32 random letters and digits.
    pub(crate) fn new_nonce() -> String {
        Alphanumeric.sample_string(&mut rand::rng(), NONCE_LEN)
    }

    /// Signs and encodes one request body with the API key (for tests).
    #[cfg(test)]
    pub(crate) fn encode(&self, params: Params) -> String {
        wire::encode_request(params, &self.inner.api_key, self.inner.sign_type)
    }

    /// The key requests are signed (and answers verified) with: the API key, or in the
    /// sandbox the cached sandbox key, fetched when missing, older than
    /// [`SANDBOX_KEY_TTL`], or `refresh` is set.
    async fn signing_key(&self, refresh: bool) -> Result<String, Error> {
        let inner = &*self.inner;
        let Some(cache) = &inner.sandbox else {
            return Ok(inner.api_key.clone());
        };
        let now = inner.clock.now();
        if !refresh {
            let cached = cache.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some(k) = cached.filter(|k| now.duration_since(k.fetched_at) < SANDBOX_KEY_TTL) {
                return Ok(k.key);
            }
        }
        // Fetched outside the lock; two callers racing both fetch and get the same key.
        let key = self.fetch_sandbox_key().await?;
        *cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(SandboxKey {
            key: key.clone(),
            fetched_at: now,
        });
        Ok(key)
    }

    /// `POST /sandboxnew/pay/getsignkey`, signed with MD5 and the real API key (§8.1).
    async fn fetch_sandbox_key(&self) -> Result<String, Error> {
        let inner = &*self.inner;
        let request = GetSignKeyRequest {
            mch_id: inner.mch_id.clone(),
            nonce_str: Self::new_nonce(),
        };
        request.validate()?;
        let body = wire::encode_request(request.to_params(), &inner.api_key, SignType::Md5);
        let url = format!("{}{SANDBOX_PREFIX}/pay/getsignkey", inner.base_url);
        tracing::debug!(%url, "WeChat Pay sandbox key");
        let body = self.post_xml_ok(&url, body).await?;
        let params = xml::decode(&body).map_err(|e| Error::decode(format!("XML: {e}")))?;
        if params.get("return_code") != Some("SUCCESS") {
            return Err(wire::protocol_error(&params));
        }
        let answer = GetSignKeyResponse::from_params(&params)
            .map_err(|e| Error::decode(format!("getsignkey response: {e}")))?;
        Ok(answer.sandbox_signkey)
    }

    /// Sends a request built by `build` (given a fresh nonce for each attempt; it must build
    /// the same request every time), applying the retry policy, and returns the verified
    /// `result_code=SUCCESS` parameters.
    pub(crate) async fn call<F>(&self, endpoint: Endpoint, build: F) -> Result<Params, Error>
    where
        F: Fn(String) -> Result<Params, FieldError>,
    {
        let sandbox = self.is_sandbox();
        if endpoint.needs_certificate(sandbox) && !self.inner.has_identity {
            return Err(ConfigError::NoClientCertificate.into());
        }
        let key = self.signing_key(false).await?;
        match self.call_with_key(endpoint, &build, &key).await {
            // The sandbox dropped our key (expired, or the sandbox was reset): fetch a new
            // one and try once more.
            Err(Error::Protocol { return_msg })
                if sandbox && return_msg == return_msg::SANDBOX_SIGN_ERROR =>
            {
                let key = self.signing_key(true).await?;
                self.call_with_key(endpoint, &build, &key).await
            }
            other => other,
        }
    }

    async fn call_with_key<F>(
        &self,
        endpoint: Endpoint,
        build: &F,
        key: &str,
    ) -> Result<Params, Error>
    where
        F: Fn(String) -> Result<Params, FieldError>,
    {
        let inner = &*self.inner;
        retry::run(&inner.retry, &*inner.clock, |attempt| {
            let params = build(Self::new_nonce());
            async move { self.attempt(endpoint, params?, attempt, key).await }
        })
        .await
    }

    async fn attempt(
        &self,
        endpoint: Endpoint,
        params: Params,
        attempt: u32,
        key: &str,
    ) -> Result<Params, Error> {
        let inner = &*self.inner;
        let body = wire::encode_request(params, key, inner.sign_type);
        let url = format!("{}{}", inner.base_url, endpoint.path(self.is_sandbox()));
        tracing::debug!(%url, attempt, "WeChat Pay request");
        let body = self.post_xml_ok(&url, body).await?;
        let result = wire::open_response(
            &body,
            &wire::Expected {
                key,
                sign_type: inner.sign_type,
                mch_id: &inner.mch_id,
                appid: &inner.appid,
            },
        );
        if let Err(error) = &result {
            tracing::debug!(%url, attempt, %error, "WeChat Pay call failed");
        }
        result
    }
}

/// An [`Error::Http`] keeping the start of the body.
fn http_error(status: u16, body: &[u8]) -> Error {
    let end = body.len().min(HTTP_BODY_SNIPPET);
    let snippet = body.get(..end).unwrap_or_default();
    Error::Http {
        status,
        body: String::from_utf8_lossy(snippet).into_owned(),
    }
}

impl Client {
    /// POSTs `params` (signed here, with the sandbox key in sandbox mode) to `path` (under
    /// `/sandboxnew` in sandbox mode) once and returns the HTTP status and the raw body,
    /// refusing bodies above `limit` bytes: for downloadbill, whose success is not XML.
    pub(crate) async fn post_raw(
        &self,
        path: &str,
        params: Params,
        limit: usize,
    ) -> Result<(u16, Vec<u8>), Error> {
        let inner = &*self.inner;
        let key = self.signing_key(false).await?;
        let prefix = if self.is_sandbox() {
            SANDBOX_PREFIX
        } else {
            ""
        };
        let url = format!("{}{prefix}{path}", inner.base_url);
        tracing::debug!(%url, "WeChat Pay request");
        self.post_xml(
            &url,
            wire::encode_request(params, &key, inner.sign_type),
            limit,
        )
        .await
    }

    /// POSTs an XML `body` to `url` once: the HTTP status and the raw answer, refusing
    /// answers above `limit` bytes.
    async fn post_xml(
        &self,
        url: &str,
        body: String,
        limit: usize,
    ) -> Result<(u16, Vec<u8>), Error> {
        let mut response = self
            .inner
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .map_err(TransportError::from_reqwest)?;
        let status = response.status().as_u16();
        let mut answer = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(TransportError::from_reqwest)?
        {
            if answer.len() + chunk.len() > limit {
                return Err(Error::decode(format!("response larger than {limit} bytes")));
            }
            answer.extend_from_slice(&chunk);
        }
        Ok((status, answer))
    }

    /// [`Client::post_xml`] for XML answers (at most [`xml::MAX_BODY_BYTES`]): the body of a
    /// 200, any other status as [`Error::Http`].
    async fn post_xml_ok(&self, url: &str, body: String) -> Result<Vec<u8>, Error> {
        let (status, answer) = self.post_xml(url, body, xml::MAX_BODY_BYTES).await?;
        if status != 200 {
            return Err(http_error(status, &answer));
        }
        Ok(answer)
    }
}

enum IdentitySource {
    Ready(Identity),
    PemFiles(PathBuf, PathBuf),
    P12File(PathBuf, Option<String>),
}

/// Configures a [`Client`]; nothing is read or checked until [`ClientBuilder::build`].
#[must_use]
pub struct ClientBuilder {
    mch_id: String,
    appid: String,
    api_key: String,
    sign_type: SignType,
    base_url: String,
    transport: TransportOptions,
    identity: Option<IdentitySource>,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    sandbox: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("mch_id", &self.mch_id)
            .field("appid", &self.appid)
            .field("api_key", &"<redacted>")
            .field("sign_type", &self.sign_type)
            .field("base_url", &self.base_url)
            .field("sandbox", &self.sandbox)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    fn new(mch_id: String, appid: String, api_key: String) -> Self {
        Self {
            mch_id,
            appid,
            api_key,
            sign_type: SignType::Md5,
            base_url: DEFAULT_BASE_URL.to_owned(),
            transport: TransportOptions::new(DEFAULT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT),
            identity: None,
            retry: RetryPolicy::none(),
            clock: Arc::new(TokioClock),
            sandbox: false,
        }
    }

    /// Sandbox mode ("仿真测试系统", §8): every path goes under `/sandboxnew` (refunds to
    /// `/sandboxnew/pay/refund`, which needs no certificate), requests are signed with the
    /// `sandbox_signkey` that the client fetches from `/sandboxnew/pay/getsignkey` with the
    /// API key, caches for [`SANDBOX_KEY_TTL`] and fetches again once when the sandbox
    /// refuses it, and the sign type is MD5 whatever [`ClientBuilder::sign_type`] says (the
    /// sandbox verifies nothing else).
    pub fn sandbox(mut self) -> Self {
        self.sandbox = true;
        self
    }

    /// The signature algorithm: [`SignType::Md5`] (the default, as the platform's) or
    /// [`SignType::HmacSha256`]. Responses are verified with the same one.
    pub fn sign_type(mut self, sign_type: SignType) -> Self {
        self.sign_type = sign_type;
        self
    }

    /// Where to send requests, [`DEFAULT_BASE_URL`] by default. Point it at a mock, e.g.
    /// `https://127.0.0.1:8443` for `paysandbox serve`. A path prefix is kept
    /// (`https://host/sandboxnew`).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
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

    /// The merchant API certificate from `apiclient_cert.pem` and `apiclient_key.pem`.
    /// Required for refunds (mutual TLS on `/secapi/`).
    pub fn merchant_pem_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.identity = Some(IdentitySource::PemFiles(cert.into(), key.into()));
        self
    }

    /// The merchant API certificate from `apiclient_cert.p12`, whose password is the
    /// merchant id (as WeChat issues it).
    pub fn merchant_p12_file(mut self, p12: impl Into<PathBuf>) -> Self {
        self.identity = Some(IdentitySource::P12File(p12.into(), None));
        self
    }

    /// The merchant API certificate from a `.p12` file with an explicit password.
    pub fn merchant_p12_file_with_password(
        mut self,
        p12: impl Into<PathBuf>,
        password: impl Into<String>,
    ) -> Self {
        self.identity = Some(IdentitySource::P12File(p12.into(), Some(password.into())));
        self
    }

    /// The merchant API certificate, already loaded.
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = Some(IdentitySource::Ready(identity));
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

    /// The clock used to wait between retries and polls ([`TokioClock`] by default).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reads the certificates, checks the credentials and base URL, and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        credential("mch_id", fields::mch_id(&self.mch_id))?;
        credential("appid", fields::appid(&self.appid))?;
        if self.api_key.chars().count() != 32 || !self.api_key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ConfigError::Credential {
                field: "api_key",
                reason: "must be 32 printable ASCII characters",
            }
            .into());
        }
        let base_url = normalise_base_url(&self.base_url)?;

        let identity = match self.identity {
            None => None,
            Some(IdentitySource::Ready(identity)) => Some(identity),
            Some(IdentitySource::PemFiles(cert, key)) => Some(Identity::from_pem_files(cert, key)?),
            Some(IdentitySource::P12File(path, password)) => {
                let password = password.as_deref().unwrap_or(&self.mch_id);
                Some(Identity::from_pkcs12_file(path, password)?)
            }
        };
        let http = self.transport.http_client(identity.as_ref())?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                mch_id: self.mch_id,
                appid: self.appid,
                api_key: self.api_key,
                sign_type: if self.sandbox {
                    SignType::Md5
                } else {
                    self.sign_type
                },
                has_identity: identity.is_some(),
                retry: self.retry,
                clock: self.clock,
                sandbox: self.sandbox.then(|| Mutex::new(None)),
            }),
        })
    }
}

fn credential(field: &'static str, check: Result<(), FieldError>) -> Result<(), ConfigError> {
    check.map_err(|e| ConfigError::Credential {
        field,
        reason: match e.kind {
            FieldErrorKind::Missing => "must not be empty",
            FieldErrorKind::Invalid(reason) => reason,
        },
    })
}

pub(crate) fn normalise_base_url(url: &str) -> Result<String, ConfigError> {
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
        return Err(refuse("no query or fragment allowed"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            normalise_base_url("https://api.mch.weixin.qq.com").unwrap(),
            "https://api.mch.weixin.qq.com"
        );
        assert_eq!(
            normalise_base_url("https://127.0.0.1:8443/").unwrap(),
            "https://127.0.0.1:8443"
        );
        assert_eq!(
            normalise_base_url("https://host/sandboxnew/").unwrap(),
            "https://host/sandboxnew"
        );
        for bad in [
            "api.mch.weixin.qq.com",
            "ftp://host",
            "https://host/?a=1",
            "",
        ] {
            assert!(normalise_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_are_checked_and_the_key_never_printed() {
        let key = "192006250b4c09247ec02edce69f6a2d";
        let client = Client::builder("10000100", "wx2421b1c4370ec43b", key)
            .build()
            .unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains(key), "{debug}");
        assert_eq!(client.base_url(), DEFAULT_BASE_URL);
        assert_eq!(client.sign_type(), SignType::Md5);
        for (mch, appid, key) in [
            ("", "wx1", key),
            ("1", "", key),
            ("1", "wx1", "short"),
            ("1", "wx1", "192006250b4c09247ec02edce69f6a2 "),
        ] {
            assert!(
                matches!(
                    Client::builder(mch, appid, key).build(),
                    Err(Error::Config(ConfigError::Credential { .. }))
                ),
                "{mch} {appid} {key}"
            );
        }
    }

    #[test]
    fn nonces_are_32_alphanumerics_and_differ() {
        let a = Client::new_nonce();
        let b = Client::new_nonce();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
