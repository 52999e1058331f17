//! [`Client`] and [`ClientBuilder`]: the merchant's signing key, the platform keys it trusts,
//! transport, retries, and the one signed exchange every call goes through.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use paysandbox_protocol::rsa::{Hash, PrivateKey, PublicKey, parse_pem};
use paysandbox_protocol::wechat::v3::aead::ApiV3Key;
use paysandbox_protocol::wechat::v3::auth::sign_request;
use paysandbox_protocol::wechat::v3::decode::lenient;
use paysandbox_protocol::wechat::v3::error::{ErrorBody, ErrorCode};
use paysandbox_protocol::wechat::v3::identity::{self, SerialKind};
use paysandbox_protocol::wechat::v3::response::{
    HEADER_SERIAL, MAX_CLOCK_SKEW_SECS, ReceivedHeaders, Verifier,
};
use rand::distr::{Alphanumeric, SampleString};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap};

use super::error::Error;
use crate::clock::{Clock, TokioClock};
use crate::error::{ConfigError, TransportError};
use crate::retry::{self, RetryPolicy};
use crate::transport::TransportOptions;

/// The real API v3 host (the same as v2's).
pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";
/// Default time allowed for one attempt, from sending to the end of the response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed to connect (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer body read; v3 answers are small JSON documents (a refund, an order, a
/// handful of certificates).
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// Characters of the request nonce (what the official SDKs send).
const NONCE_LEN: usize = 32;
/// How much of an unexpected body an [`Error::Http`] keeps.
const HTTP_BODY_SNIPPET: usize = 512;

/// The platform keys a client trusts: platform certificates by serial, the WeChat Pay public
/// key by its `PUB_KEY_ID_…`, or both during a switch-over. Each answer's
/// `Wechatpay-Serial` picks the key that must verify it.
#[derive(Debug, Clone, Default)]
struct Trust {
    /// `(serial, key)`, in the order added; serials compare case-insensitively.
    keys: Vec<(String, PublicKey)>,
    verifier: Verifier,
    /// The serial requests name in `Wechatpay-Serial` and encrypt sensitive fields for, if
    /// chosen explicitly.
    chosen: Option<String>,
}

impl Trust {
    fn new(max_skew: i64) -> Self {
        Self {
            keys: Vec::new(),
            verifier: Verifier::new().with_max_skew(max_skew),
            chosen: None,
        }
    }

    fn insert(&mut self, serial: &str, key: PublicKey) {
        self.keys.retain(|(s, _)| !identity::same_serial(s, serial));
        self.keys.push((serial.to_owned(), key.clone()));
        self.verifier.insert(serial, key);
    }

    /// The key requests name: the chosen one, else the WeChat Pay public key (the platform's
    /// current identity), else the certificate added last.
    fn preferred(&self) -> Option<&(String, PublicKey)> {
        if let Some(chosen) = &self.chosen {
            return self
                .keys
                .iter()
                .find(|(s, _)| identity::same_serial(s, chosen));
        }
        self.keys
            .iter()
            .find(|(s, _)| identity::classify(s) == Some(SerialKind::PublicKeyId))
            .or_else(|| self.keys.last())
    }
}

/// An async WeChat Pay API v3 client for one merchant.
///
/// Cheap to clone (an `Arc` inside). Every request is signed with the merchant's API
/// certificate key (`Authorization: WECHATPAY2-SHA256-RSA2048 …`); every 2xx answer is
/// verified against the platform keys the client trusts before its body is read.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    mchid: String,
    serial_no: String,
    key: PrivateKey,
    apiv3_key: Option<ApiV3Key>,
    trust: RwLock<Trust>,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    /// Download the platform certificates when an answer names one not trusted yet.
    auto_refresh: bool,
    /// When the certificates were last downloaded for that reason.
    last_refresh: Mutex<Option<Instant>>,
}

/// Where the platform certificates are downloaded: answers from there are checked by
/// [`Client::download_certificates`] itself, never by a download.
const CERTIFICATES_PREFIX: &str = "/v3/certificates";

/// The least time between two downloads of the platform certificates that an unknown serial
/// asks for: a serial nobody issued (a forged or stray answer) costs one download a minute,
/// not one per answer.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Client")
            .field("base_url", &i.base_url)
            .field("mchid", &i.mchid)
            .field("serial_no", &i.serial_no)
            .field("key", &"<redacted>")
            .field("apiv3_key", &i.apiv3_key.as_ref().map(|_| "<redacted>"))
            .field("platform_serials", &self.platform_serials())
            .field("retry", &i.retry)
            .finish_non_exhaustive()
    }
}

/// One answer as received: status, headers, body (at most [`MAX_ANSWER_BYTES`], or the
/// limit of [`Client::execute_limited`]).
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Received {
    pub(crate) fn signature_headers(&self) -> ReceivedHeaders<'_> {
        ReceivedHeaders::from_lookup(|name| self.headers.get(name).and_then(|v| v.to_str().ok()))
    }

    /// A header's value, if present and text.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The platform's error for a non-2xx answer: its JSON error body, or the raw start of
    /// whatever else it sent.
    pub(crate) fn into_error(self) -> Error {
        match lenient::<ErrorBody>(&self.body) {
            Ok(body) => Error::Api {
                status: self.status,
                code: ErrorCode::from_wire(&body.code),
                message: body.message,
                detail: body.detail.map(Box::new),
            },
            Err(_) => self.into_http_error(),
        }
    }

    pub(crate) fn into_http_error(self) -> Error {
        let end = self.body.len().min(HTTP_BODY_SNIPPET);
        Error::Http {
            status: self.status,
            body: String::from_utf8_lossy(self.body.get(..end).unwrap_or_default()).into_owned(),
        }
    }
}

/// The current Unix time in seconds from the machine's wall clock.
///
/// Signature timestamps are never taken from the injected [`Clock`]: the platform (and the
/// sandbox, whatever its virtual clock says) compares them with real time, and so does the
/// client with the platform's.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A fresh 32-character nonce of letters and digits.
pub(crate) fn new_nonce() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), NONCE_LEN)
}

impl Client {
    /// Starts a client for merchant `mchid` (商户号).
    pub fn builder(mchid: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(mchid.into())
    }

    /// The merchant id.
    pub fn mchid(&self) -> &str {
        &self.inner.mchid
    }

    /// The serial of the merchant API certificate requests are signed as.
    pub fn serial_no(&self) -> &str {
        &self.inner.serial_no
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The serials (certificate serials and `PUB_KEY_ID_…`) of the platform keys trusted, in
    /// the order they were added.
    pub fn platform_serials(&self) -> Vec<String> {
        self.trust().keys.iter().map(|(s, _)| s.clone()).collect()
    }

    /// The serial requests name in `Wechatpay-Serial` (and sensitive fields are encrypted
    /// for): [`ClientBuilder::wechatpay_serial`] if set, else the WeChat Pay public key's id,
    /// else the platform certificate added last; `None` while no key is trusted.
    pub fn wechatpay_serial(&self) -> Option<String> {
        self.trust().preferred().map(|(s, _)| s.clone())
    }

    /// Trusts one more platform key from now on (a certificate from
    /// [`Client::download_certificates`], or a new public key).
    pub fn trust_platform_key(&self, serial: &str, key: PublicKey) {
        self.inner
            .trust
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(serial, key);
    }

    fn trust(&self) -> std::sync::RwLockReadGuard<'_, Trust> {
        self.inner
            .trust
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.inner.clock
    }

    pub(crate) fn apiv3_key(&self) -> Result<&ApiV3Key, Error> {
        self.inner.apiv3_key.as_ref().ok_or_else(|| {
            Error::Config(ConfigError::Credential {
                field: "apiv3_key",
                reason: "this call decrypts with the APIv3 key and none was configured",
            })
        })
    }

    /// The key (and its serial) sensitive fields are encrypted for.
    pub(crate) fn encryption_key(&self) -> Result<(String, PublicKey), Error> {
        self.trust().preferred().cloned().ok_or_else(|| {
            Error::Crypto("no platform certificate or WeChat Pay public key to encrypt for".into())
        })
    }

    /// Signs `message` with the merchant key: base64 SHA256withRSA, as the front-end payment
    /// parameters need (`paySign`, `sign`).
    pub(crate) fn sign_base64(&self, message: &[u8]) -> Result<String, Error> {
        self.inner
            .key
            .sign_base64(Hash::Sha256, message)
            .map_err(|e| Error::Crypto(e.to_string()))
    }

    /// Verifies a 2xx answer with the trusted keys; the serial that verified it.
    pub(crate) fn verify(&self, received: &Received) -> Result<(), Error> {
        self.trust()
            .verifier
            .verify(&received.signature_headers(), &received.body, unix_now())
            .map(|_| ())
            .map_err(Error::Signature)
    }

    /// The trusted verifier with `extra` keys added, for this one answer.
    pub(crate) fn verifier_with(&self, extra: &[(String, PublicKey)]) -> Verifier {
        let mut verifier = self.trust().verifier.clone();
        for (serial, key) in extra {
            verifier.insert(serial, key.clone());
        }
        verifier
    }

    /// Sends a request (`path_and_query` under the base URL, `body` JSON or none) under the
    /// retry policy, and opens each answer with `open`. `body` is fixed before the first
    /// attempt, so every retry sends the very same bytes; only the nonce, timestamp and
    /// signature are new.
    pub(crate) async fn execute<T>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        open: impl Fn(Received) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.execute_limited(method, path_and_query, body, MAX_ANSWER_BYTES, open)
            .await
    }

    /// [`Client::execute`] reading at most `limit` bytes of each answer (a bill is larger
    /// than any JSON answer).
    pub(crate) async fn execute_limited<T>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        limit: usize,
        open: impl Fn(Received) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let inner = &*self.inner;
        let url =
            reqwest::Url::parse(&format!("{}{path_and_query}", inner.base_url)).map_err(|e| {
                Error::Config(ConfigError::BaseUrl {
                    url: inner.base_url.clone(),
                    reason: format!("with {path_and_query}: {e}"),
                })
            })?;
        let body = body.unwrap_or_default();
        retry::run(&inner.retry, &*inner.clock, |attempt| {
            let method = method.clone();
            let url = url.clone();
            let body = &body;
            let open = &open;
            async move {
                let received = self.send_once(method, url, body, attempt, limit).await?;
                if (200..300).contains(&received.status)
                    && !path_and_query.starts_with(CERTIFICATES_PREFIX)
                    && let Some(serial) = received.header(HEADER_SERIAL)
                {
                    self.learn_serial(&serial).await;
                }
                let result = open(received);
                if let Err(error) = &result {
                    tracing::debug!(attempt, %error, "WeChat Pay v3 call failed");
                }
                result
            }
        })
        .await
    }

    /// Makes sure `serial` (an answer's or a notification's `Wechatpay-Serial`) is trusted if
    /// it can be: with [`ClientBuilder::auto_refresh_certificates`] on and `serial` a platform
    /// certificate the client does not know, downloads the certificates (checked as
    /// [`Client::download_certificates`] does) and trusts them, at most once per
    /// [`MIN_REFRESH_INTERVAL`]. True when `serial` is trusted afterwards. A failed download is
    /// logged; the answer or notification then fails verification with the unknown serial.
    ///
    /// Call it before opening a notification (the notification methods are synchronous).
    pub async fn learn_serial(&self, serial: &str) -> bool {
        if self.trusts(serial) {
            return true;
        }
        if !self.inner.auto_refresh || identity::classify(serial) != Some(SerialKind::Certificate) {
            return false;
        }
        {
            let now = self.inner.clock.now();
            let mut last = self
                .inner
                .last_refresh
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| now.saturating_duration_since(at) < MIN_REFRESH_INTERVAL) {
                return false;
            }
            *last = Some(now);
        }
        // Boxed: the download is itself a call, whose answer comes back through `execute`.
        match Box::pin(self.refresh_platform_certificates()).await {
            Ok(downloaded) => {
                tracing::info!(
                    serial,
                    downloaded = downloaded.len(),
                    "WeChat Pay platform certificates downloaded for an unknown serial"
                );
            }
            Err(error) => {
                tracing::warn!(serial, %error, "WeChat Pay platform certificates not downloaded");
            }
        }
        self.trusts(serial)
    }

    /// Whether a platform key with `serial` is trusted.
    fn trusts(&self, serial: &str) -> bool {
        self.trust()
            .keys
            .iter()
            .any(|(s, _)| identity::same_serial(s, serial))
    }

    /// [`Client::execute`] for calls whose success is `expected` (200 with a JSON body, or
    /// 204): verifies a 2xx answer, returns the body of the expected status, turns any other
    /// status into an error.
    pub(crate) async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        expected: u16,
    ) -> Result<Vec<u8>, Error> {
        self.execute(method, path_and_query, body, |received| {
            self.open(received, expected)
        })
        .await
    }

    /// Opens one answer: a 2xx must verify before anything else is looked at.
    pub(crate) fn open(&self, received: Received, expected: u16) -> Result<Vec<u8>, Error> {
        if !(200..300).contains(&received.status) {
            return Err(received.into_error());
        }
        self.verify(&received)?;
        if received.status != expected {
            return Err(received.into_http_error());
        }
        Ok(received.body)
    }

    async fn send_once(
        &self,
        method: Method,
        url: reqwest::Url,
        body: &[u8],
        attempt: u32,
        limit: usize,
    ) -> Result<Received, Error> {
        let inner = &*self.inner;
        // What the request line carries, as sent: the signature covers exactly this.
        let signed_url = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let authorization = sign_request(
            &inner.key,
            &inner.mchid,
            &inner.serial_no,
            method.as_str(),
            &signed_url,
            unix_now(),
            &new_nonce(),
            body,
        )
        .map_err(|e| Error::Crypto(e.to_string()))?;
        tracing::debug!(%method, %url, attempt, "WeChat Pay v3 request");
        let mut request = inner
            .http
            .request(method, url)
            .header(AUTHORIZATION, authorization.to_header_value())
            .header(ACCEPT, "application/json");
        if let Some(serial) = self.wechatpay_serial() {
            request = request.header(HEADER_SERIAL, serial);
        }
        if !body.is_empty() {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let mut response = request.send().await.map_err(TransportError::from_reqwest)?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let mut answer = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(TransportError::from_reqwest)?
        {
            if answer.len().saturating_add(chunk.len()) > limit {
                return Err(Error::decode(format!("response larger than {limit} bytes")));
            }
            answer.extend_from_slice(&chunk);
        }
        Ok(Received {
            status,
            headers,
            body: answer,
        })
    }
}

/// Where a builder finds a key or certificate: text given, or a file read at build time.
#[derive(Debug)]
enum Source {
    Text(String),
    File(PathBuf),
}

impl Source {
    fn read(&self) -> Result<String, ConfigError> {
        match self {
            Source::Text(text) => Ok(text.clone()),
            Source::File(path) => read_text(path),
        }
    }
}

fn read_text(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Configures a [`Client`]; nothing is read or checked until [`ClientBuilder::build`].
#[must_use]
pub struct ClientBuilder {
    mchid: String,
    key: Option<Source>,
    serial_no: Option<String>,
    merchant_certificate: Option<Source>,
    apiv3_key: Option<String>,
    certificates: Vec<Source>,
    certificate_dirs: Vec<PathBuf>,
    public_key: Option<(String, Source)>,
    chosen_serial: Option<String>,
    auto_refresh: bool,
    max_skew: i64,
    base_url: String,
    transport: TransportOptions,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("mchid", &self.mchid)
            .field("serial_no", &self.serial_no)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    fn new(mchid: String) -> Self {
        Self {
            mchid,
            key: None,
            serial_no: None,
            merchant_certificate: None,
            apiv3_key: None,
            certificates: Vec::new(),
            certificate_dirs: Vec::new(),
            public_key: None,
            chosen_serial: None,
            auto_refresh: false,
            max_skew: MAX_CLOCK_SKEW_SECS,
            base_url: DEFAULT_BASE_URL.to_owned(),
            transport: TransportOptions::new(DEFAULT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT),
            retry: RetryPolicy::none(),
            clock: Arc::new(TokioClock),
        }
    }

    /// The merchant API certificate's private key (`apiclient_key.pem`, PKCS#8 or PKCS#1
    /// PEM), which signs every request.
    pub fn merchant_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key = Some(Source::File(path.into()));
        self
    }

    /// The merchant private key as PEM text.
    pub fn merchant_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.key = Some(Source::Text(pem.into()));
        self
    }

    /// The merchant API certificate's serial (the `serial_no` of `Authorization`), as the
    /// merchant platform shows it. Alternatively [`ClientBuilder::merchant_certificate_file`]
    /// reads it from the certificate.
    pub fn serial_no(mut self, serial_no: impl Into<String>) -> Self {
        self.serial_no = Some(serial_no.into());
        self
    }

    /// Reads the `serial_no` from the merchant API certificate (`apiclient_cert.pem`), and
    /// checks at build time that the private key belongs to it.
    pub fn merchant_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.merchant_certificate = Some(Source::File(path.into()));
        self
    }

    /// The merchant API certificate as PEM text (see
    /// [`ClientBuilder::merchant_certificate_file`]).
    pub fn merchant_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.merchant_certificate = Some(Source::Text(pem.into()));
        self
    }

    /// The APIv3 key (32 characters, set on the merchant platform): it decrypts
    /// `/v3/certificates` (and notifications).
    pub fn apiv3_key(mut self, key: impl Into<String>) -> Self {
        self.apiv3_key = Some(key.into());
        self
    }

    /// Trusts a platform certificate (PEM file; its serial is read from it). May be given
    /// several times: every certificate added is trusted.
    pub fn platform_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.certificates.push(Source::File(path.into()));
        self
    }

    /// Trusts a platform certificate given as PEM text.
    pub fn platform_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.certificates.push(Source::Text(pem.into()));
        self
    }

    /// Trusts every platform certificate in a folder (its `*.pem` files, e.g. paysandbox's
    /// `merchants/<mchid>/wechatpay_certs/`, or a wechatpayv3 `cert_dir`).
    pub fn platform_certificates_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.certificate_dirs.push(dir.into());
        self
    }

    /// Trusts the WeChat Pay public key (2024 on): its id `PUB_KEY_ID_…` and the PEM file
    /// (`pub_key.pem`, SubjectPublicKeyInfo). With certificates also trusted, this is the
    /// switch-over: answers signed by either are accepted.
    pub fn wechatpay_public_key_file(
        mut self,
        id: impl Into<String>,
        path: impl Into<PathBuf>,
    ) -> Self {
        self.public_key = Some((id.into(), Source::File(path.into())));
        self
    }

    /// The WeChat Pay public key as PEM text (see
    /// [`ClientBuilder::wechatpay_public_key_file`]).
    pub fn wechatpay_public_key_pem(
        mut self,
        id: impl Into<String>,
        pem: impl Into<String>,
    ) -> Self {
        self.public_key = Some((id.into(), Source::Text(pem.into())));
        self
    }

    /// Downloads the platform certificates (`GET /v3/certificates`) whenever an answer is
    /// signed by a certificate the client does not trust yet, as the official SDKs' automatic
    /// certificate downloaders do: a client can start with no platform certificate at all, or
    /// outlive a rotation. Needs the APIv3 key. Off by default: every trusted key is then the
    /// one configured. See [`Client::learn_serial`].
    pub fn auto_refresh_certificates(mut self, on: bool) -> Self {
        self.auto_refresh = on;
        self
    }

    /// Which trusted key requests name in `Wechatpay-Serial` and sensitive fields are
    /// encrypted for. By default the public key when trusted, else the certificate added
    /// last. During a switch-over the platform signs its answers with the key this names.
    pub fn wechatpay_serial(mut self, serial: impl Into<String>) -> Self {
        self.chosen_serial = Some(serial.into());
        self
    }

    /// How far an answer's `Wechatpay-Timestamp` may be from this machine's clock
    /// (default [`MAX_CLOCK_SKEW_SECS`], five minutes, as the official clients).
    pub fn max_clock_skew(mut self, skew: Duration) -> Self {
        self.max_skew = i64::try_from(skew.as_secs()).unwrap_or(i64::MAX);
        self
    }

    /// Where to send requests, [`DEFAULT_BASE_URL`] by default; e.g. `https://127.0.0.1:8443`
    /// or `http://127.0.0.1:8080` for `paysandbox serve`. A path prefix is kept, and is part
    /// of what is signed.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Time allowed for one attempt ([`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport.timeout = timeout;
        self
    }

    /// Time allowed to connect, TLS handshake included ([`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.transport.connect_timeout = timeout;
        self
    }

    /// Also trusts the CA certificate(s) in this PEM file for TLS, e.g. paysandbox's `ca.pem`.
    pub fn extra_root_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.transport.add_ca_file(path.into());
        self
    }

    /// Also trusts the CA certificate(s) in this PEM text for TLS.
    pub fn extra_root_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.transport.add_ca_pem(pem.into());
        self
    }

    /// Whether to trust the public web roots for TLS (default `true`).
    pub fn public_roots(mut self, trust: bool) -> Self {
        self.transport.public_roots = trust;
        self
    }

    /// Retries of retryable failures ([`RetryPolicy::none`] by default).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The clock retries wait on ([`TokioClock`] by default). Signature timestamps always
    /// come from the machine's wall clock, which the platform compares them with.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reads the keys and certificates, checks the credentials and base URL, builds the
    /// client.
    pub fn build(self) -> Result<Client, Error> {
        if self.mchid.is_empty()
            || self.mchid.len() > 32
            || !self.mchid.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(credential("mchid", "must be 1 to 32 letters or digits"));
        }
        let base_url = crate::wechat::client::normalise_base_url(&self.base_url)?;
        let key_pem = self
            .key
            .as_ref()
            .ok_or_else(|| credential("merchant key", "no merchant private key was configured"))?
            .read()?;
        let key = PrivateKey::from_pem(&key_pem).map_err(|e| ConfigError::Key {
            key: "merchant private key",
            reason: e.to_string(),
        })?;
        let serial_no = match (&self.serial_no, &self.merchant_certificate) {
            (_, Some(cert)) => {
                let der = certificate_der(&cert.read()?, "merchant certificate")?;
                let from_cert =
                    PublicKey::from_certificate_der(&der).map_err(|e| ConfigError::Key {
                        key: "merchant certificate",
                        reason: e.to_string(),
                    })?;
                if from_cert != key.to_public_key() {
                    return Err(ConfigError::Key {
                        key: "merchant private key",
                        reason: "does not belong to the merchant certificate".into(),
                    }
                    .into());
                }
                let serial = certificate_serial(&der, "merchant certificate")?;
                if let Some(given) = &self.serial_no
                    && !identity::same_serial(given, &serial)
                {
                    return Err(credential(
                        "serial_no",
                        "differs from the merchant certificate's serial",
                    ));
                }
                serial
            }
            (Some(serial), None) => serial.clone(),
            (None, None) => {
                return Err(credential(
                    "serial_no",
                    "give serial_no or the merchant certificate",
                ));
            }
        };
        if identity::classify(&serial_no) != Some(SerialKind::Certificate) {
            return Err(credential("serial_no", "must be 1 to 40 hex digits"));
        }
        let apiv3_key = self
            .apiv3_key
            .as_deref()
            .map(ApiV3Key::new)
            .transpose()
            .map_err(|_| credential("apiv3_key", "must be exactly 32 bytes"))?;

        let mut trust = Trust::new(self.max_skew);
        for source in &self.certificates {
            let (serial, key) = platform_certificate(&source.read()?)?;
            trust.insert(&serial, key);
        }
        for dir in &self.certificate_dirs {
            for (serial, key) in certificates_in(dir)? {
                trust.insert(&serial, key);
            }
        }
        if let Some((id, source)) = &self.public_key {
            if identity::classify(id) != Some(SerialKind::PublicKeyId) {
                return Err(credential(
                    "wechatpay public key id",
                    "must be PUB_KEY_ID_ and 34 digits",
                ));
            }
            let key = PublicKey::from_pem(&source.read()?).map_err(|e| ConfigError::Key {
                key: "WeChat Pay public key",
                reason: e.to_string(),
            })?;
            trust.insert(id, key);
        }
        if self.auto_refresh && apiv3_key.is_none() {
            return Err(credential(
                "apiv3_key",
                "auto_refresh_certificates needs the APIv3 key (the certificates come encrypted with it)",
            ));
        }
        if let Some(chosen) = self.chosen_serial {
            if !trust
                .keys
                .iter()
                .any(|(s, _)| identity::same_serial(s, &chosen))
            {
                return Err(credential(
                    "wechatpay_serial",
                    "names no trusted platform certificate or public key",
                ));
            }
            trust.chosen = Some(chosen);
        }
        let http = self.transport.http_client(None)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                mchid: self.mchid,
                serial_no,
                key,
                apiv3_key,
                trust: RwLock::new(trust),
                retry: self.retry,
                clock: self.clock,
                auto_refresh: self.auto_refresh,
                last_refresh: Mutex::new(None),
            }),
        })
    }
}

fn credential(field: &'static str, reason: &'static str) -> Error {
    Error::Config(ConfigError::Credential { field, reason })
}

/// The DER of the first `CERTIFICATE` block of `pem`.
fn certificate_der(pem: &str, what: &'static str) -> Result<Vec<u8>, ConfigError> {
    match parse_pem(pem) {
        Ok(Some(block)) if block.label == "CERTIFICATE" => Ok(block.der),
        Ok(_) => Err(ConfigError::Pem(format!("{what}: no CERTIFICATE block"))),
        Err(e) => Err(ConfigError::Pem(format!("{what}: {e}"))),
    }
}

fn certificate_serial(der: &[u8], what: &'static str) -> Result<String, ConfigError> {
    identity::certificate_serial_hex(der).map_err(|e| ConfigError::Pem(format!("{what}: {e}")))
}

/// A platform certificate's serial and key, from its PEM.
pub(crate) fn platform_certificate(pem: &str) -> Result<(String, PublicKey), ConfigError> {
    let der = certificate_der(pem, "platform certificate")?;
    let serial = certificate_serial(&der, "platform certificate")?;
    let key = PublicKey::from_certificate_der(&der).map_err(|e| ConfigError::Key {
        key: "platform certificate",
        reason: e.to_string(),
    })?;
    Ok((serial, key))
}

/// Every certificate among the `*.pem` files of `dir`, in name order; other PEM files (keys)
/// are skipped.
fn certificates_in(dir: &Path) -> Result<Vec<(String, PublicKey)>, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.extension().is_some_and(|e| e == "pem") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut found = Vec::new();
    for path in paths {
        let text = read_text(&path)?;
        if matches!(parse_pem(&text), Ok(Some(block)) if block.label == "CERTIFICATE") {
            found.push(platform_certificate(&text)?);
        }
    }
    Ok(found)
}
