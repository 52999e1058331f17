//! [`Client`] and [`ClientBuilder`]: credentials, TLS, timeouts, retries, and the one
//! request/response exchange every call goes through.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use paysandbox_protocol::wechat::{FieldError, FieldErrorKind, Params, SignType, fields, xml};
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
}

impl Endpoint {
    pub(crate) fn path(self) -> &'static str {
        match self {
            Endpoint::Refund => "/secapi/pay/refund",
            Endpoint::RefundQuery => "/pay/refundquery",
            Endpoint::OrderQuery => "/pay/orderquery",
        }
    }

    fn needs_certificate(self) -> bool {
        self == Endpoint::Refund
    }
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

    /// Signs and encodes one request body (for tests and debugging).
    pub(crate) fn encode(&self, params: Params) -> String {
        wire::encode_request(params, &self.inner.api_key, self.inner.sign_type)
    }

    /// Sends a request built by `build` (given a fresh nonce for each attempt; it must build
    /// the same request every time), applying the retry policy, and returns the verified
    /// `result_code=SUCCESS` parameters.
    pub(crate) async fn call<F>(&self, endpoint: Endpoint, build: F) -> Result<Params, Error>
    where
        F: Fn(String) -> Result<Params, FieldError>,
    {
        if endpoint.needs_certificate() && !self.inner.has_identity {
            return Err(ConfigError::NoClientCertificate.into());
        }
        let inner = &*self.inner;
        retry::run(&inner.retry, &*inner.clock, |attempt| {
            let params = build(Self::new_nonce());
            async move { self.attempt(endpoint, params?, attempt).await }
        })
        .await
    }

    async fn attempt(
        &self,
        endpoint: Endpoint,
        params: Params,
        attempt: u32,
    ) -> Result<Params, Error> {
        let inner = &*self.inner;
        let body = self.encode(params);
        let url = format!("{}{}", inner.base_url, endpoint.path());
        tracing::debug!(%url, attempt, "WeChat Pay request");
        let response = inner
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .body(body)
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
        let result = wire::open_response(
            &body,
            &wire::Expected {
                key: &inner.api_key,
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

/// Reads a response body, refusing more than [`xml::MAX_BODY_BYTES`].
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(TransportError::from_reqwest)?
    {
        if body.len() + chunk.len() > xml::MAX_BODY_BYTES {
            return Err(Error::decode(format!(
                "response larger than {} bytes",
                xml::MAX_BODY_BYTES
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("mch_id", &self.mch_id)
            .field("appid", &self.appid)
            .field("api_key", &"<redacted>")
            .field("sign_type", &self.sign_type)
            .field("base_url", &self.base_url)
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
        }
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
                sign_type: self.sign_type,
                has_identity: identity.is_some(),
                retry: self.retry,
                clock: self.clock,
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

fn normalise_base_url(url: &str) -> Result<String, ConfigError> {
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
