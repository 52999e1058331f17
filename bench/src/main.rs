//! `paysandbox-bench`: drives a running WeChat endpoint (the mock, or a static responder such
//! as nginx) over mutual TLS and prints requests/s and p50/p99 latency per scenario.
//!
//! Scenarios:
//! - `refund`: every request a new signed refund (`out_refund_no` unique) of 1 fen on one of
//!   the seeded orders `<prefix>00000000`.., round robin, over keep-alive connections;
//! - `query`: refund queries by `out_refund_no` of refunds an earlier `refund` run made
//!   (`--query-tag`, `--query-count`), one record each, over keep-alive connections;
//! - `mix`: 80 % query, 20 % refund;
//! - `handshake`: a refund query on a new TCP + TLS connection per request, session
//!   resumption off (full handshakes);
//! - `alipay-query`: `alipay.trade.query` on Alipay's `/gateway.do` over plain HTTP keep-alive
//!   connections (the listener `--target` names), round robin over `--alipay-trades`. The
//!   requests are RSA2-signed once before the timed run with `--alipay-app-key`; every answer
//!   costs the gateway one verification and one RSA-2048 signature, so this measures the
//!   signer against the machine's `openssl speed rsa2048` ceiling.
//! - `v3-refund`: WeChat Pay API v3 `POST /v3/refund/domestic/refunds` over plain HTTP
//!   keep-alive, every request a new refund of 1 fen (`<run-tag>-<n>`) on the seeded orders,
//!   round robin; `v3-query`: `GET /v3/refund/domestic/refunds/<query-tag>-<n>` of the refunds
//!   an earlier `v3-refund` run made. `--v3-requests` requests are signed with the merchant's
//!   API key (`--v3-key`, `--v3-serial`) before the timed run; each answer costs the mock one
//!   RSA-2048 verification and one signature.
//!
//! Bounded in time and count, loopback only; it stops by itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::{Params, xml};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Load benchmark for a WeChat refund endpoint over mutual TLS.
#[derive(Parser, Debug, Clone)]
struct Args {
    /// Target, e.g. 127.0.0.1:8443 (loopback only).
    #[arg(long)]
    target: SocketAddr,
    /// CA certificate that issued the server's certificate (WeChat scenarios).
    #[arg(long)]
    ca: Option<std::path::PathBuf>,
    /// Client certificate, PEM (WeChat scenarios).
    #[arg(long)]
    cert: Option<std::path::PathBuf>,
    /// Client key, PEM (WeChat scenarios).
    #[arg(long)]
    key: Option<std::path::PathBuf>,
    /// The Alipay app's private key, PKCS#1 or PKCS#8 PEM (`alipay-query`).
    #[arg(long)]
    alipay_app_key: Option<std::path::PathBuf>,
    /// The Alipay app id (`alipay-query`).
    #[arg(long, default_value = "2021000000000001")]
    alipay_app_id: String,
    /// Paid trades to query, comma-separated `out_trade_no`s (`alipay-query`).
    #[arg(long, default_value = "demo-trade-0001,demo-trade-0002")]
    alipay_trades: String,
    /// Scenario: refund, query, mix, handshake or alipay-query.
    #[arg(long)]
    scenario: String,
    /// Concurrent connections (keep-alive) or concurrent handshaking clients.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long to run.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Stop after this many requests in total, whatever the time.
    #[arg(long, default_value_t = 2_000_000)]
    max_requests: u64,
    /// How many seeded orders to spread refunds and queries over.
    #[arg(long, default_value_t = 1000)]
    orders: u64,
    /// Seeded orders are `<prefix>` followed by 8 digits.
    #[arg(long, default_value = "bench-")]
    order_prefix: String,
    /// Amount of each seeded order in fen (refunds state it as total_fee).
    #[arg(long, default_value_t = 1_000_000)]
    order_total: u64,
    /// Tag for this run's refund numbers, so repeated runs never collide.
    #[arg(long, default_value = "r")]
    run_tag: String,
    /// Refund numbers that queries ask for are `<query-tag>-<n>` for n below `--query-count`
    /// (the refunds an earlier `refund` run with that `--run-tag` made).
    #[arg(long, default_value = "r")]
    query_tag: String,
    /// How many refunds the earlier run made.
    #[arg(long, default_value_t = 1)]
    query_count: u64,
    /// The merchant's API certificate key, PEM (`v3-refund`, `v3-query`).
    #[arg(long)]
    v3_key: Option<std::path::PathBuf>,
    /// The API certificate's serial (`serial_no` in `Authorization`).
    #[arg(long, default_value = "")]
    v3_serial: String,
    /// How many v3 requests to sign before the timed run (sent round robin; refunds beyond
    /// them repeat earlier ones).
    #[arg(long, default_value_t = 20_000)]
    v3_requests: u64,
    /// Label printed in the result line.
    #[arg(long, default_value = "mock")]
    label: String,
}

const APPID: &str = "wx2421b1c4370ec43b";
const MCH_ID: &str = "1900000109";
const KEY: &str = "paysandboxdemokey000000000000000";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Refund,
    Query,
}

struct Shared {
    args: Args,
    /// `None` for `alipay-query` (plain HTTP).
    tls: Option<TlsConnector>,
    /// `alipay-query`: the signed form bodies, sent round robin.
    alipay_bodies: Vec<Bytes>,
    /// `v3-refund`, `v3-query`: the signed requests, sent round robin.
    v3_requests: Vec<V3Request>,
    started: Instant,
    deadline: Instant,
    issued: AtomicU64,
    errors: AtomicU64,
    sequence: AtomicU64,
}

impl Shared {
    /// Claims the next request slot, or `None` when time or count is up.
    fn claim(&self) -> Option<u64> {
        if Instant::now() >= self.deadline {
            return None;
        }
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        (n < self.args.max_requests).then_some(n)
    }

    fn body(&self, kind: Kind, n: u64) -> Bytes {
        let order = format!(
            "{}{:08}",
            self.args.order_prefix,
            n % self.args.orders.max(1)
        );
        let mut params = Params::new();
        params.insert_text("appid", APPID);
        params.insert_text("mch_id", MCH_ID);
        params.insert_text("nonce_str", format!("n{n}"));
        if kind == Kind::Refund {
            let seq = self.sequence.fetch_add(1, Ordering::Relaxed);
            params.insert_text("out_trade_no", order);
            params.insert_text("out_refund_no", format!("{}-{seq}", self.args.run_tag));
            params.insert_int("total_fee", self.args.order_total);
            params.insert_int("refund_fee", 1);
        } else {
            let refund = n % self.args.query_count.max(1);
            params.insert_text("out_refund_no", format!("{}-{refund}", self.args.query_tag));
        }
        sign::sign_in_place(&mut params, KEY, SignType::Md5);
        Bytes::from(xml::encode(&params))
    }

    fn kind_for(&self, n: u64) -> Kind {
        match self.args.scenario.as_str() {
            "refund" => Kind::Refund,
            "mix" if n.is_multiple_of(5) => Kind::Refund,
            _ => Kind::Query,
        }
    }
}

fn path(kind: Kind) -> &'static str {
    match kind {
        Kind::Refund => "/secapi/pay/refund",
        Kind::Query => "/pay/refundquery",
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(shared: &Shared) -> Result<Sender, String> {
    let tcp = TcpStream::connect(shared.args.target)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let Some(connector) = &shared.tls else {
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| format!("http: {e}"))?;
        tokio::spawn(connection);
        return Ok(sender);
    };
    let name = ServerName::from(shared.args.target.ip());
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("http: {e}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends one request; `true` only for a 200 carrying `result_code` SUCCESS (an accepted
/// refund, a found refund), so business errors count as errors.
async fn send(sender: &mut Sender, shared: &Shared, kind: Kind, n: u64) -> Result<bool, String> {
    let request = Request::post(path(kind))
        .header("host", "localhost")
        .body(Full::new(shared.body(kind, n)))
        .map_err(|e| e.to_string())?;
    exchange(
        sender,
        request,
        b"<result_code><![CDATA[SUCCESS]]></result_code>",
    )
    .await
}

/// Sends `request` and reads the whole answer: `true` for a 2xx whose body contains
/// `success`.
async fn exchange(
    sender: &mut Sender,
    request: Request<Full<Bytes>>,
    success: &[u8],
) -> Result<bool, String> {
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let ok_status = response.status().is_success();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(ok_status && body.windows(success.len()).any(|w| w == success))
}

/// Sends one pre-signed `alipay.trade.query`; `true` only for a 200 whose node says
/// `"code":"10000"` (the gateway signs every answer, success or not).
async fn send_alipay(sender: &mut Sender, shared: &Shared, n: u64) -> Result<bool, String> {
    let count = u64::try_from(shared.alipay_bodies.len())
        .unwrap_or(1)
        .max(1);
    let index = usize::try_from(n % count).unwrap_or(0);
    let body = shared
        .alipay_bodies
        .get(index)
        .cloned()
        .ok_or("no signed Alipay request")?;
    let request = Request::post("/gateway.do")
        .header("host", "localhost")
        .header(
            "content-type",
            "application/x-www-form-urlencoded;charset=utf-8",
        )
        .body(Full::new(body))
        .map_err(|e| e.to_string())?;
    exchange(sender, request, b"\"code\":\"10000\"").await
}

/// One pre-signed v3 request.
struct V3Request {
    get: bool,
    path: String,
    authorization: String,
    body: Bytes,
}

/// Signs the v3 requests of the run before it starts, on two threads.
fn v3_requests(args: &Args) -> Result<Vec<V3Request>, String> {
    use paysandbox_protocol::rsa::PrivateKey;
    use paysandbox_protocol::wechat::v3::auth::sign_request;
    let path = args
        .v3_key
        .as_ref()
        .ok_or("--v3-key is required for v3 scenarios")?;
    let pem = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let key = PrivateKey::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
    let query = args.scenario == "v3-query";
    let count = if query {
        args.query_count.clamp(1, args.v3_requests.max(1))
    } else {
        args.v3_requests.max(1)
    };
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let timestamp = i64::try_from(timestamp).map_err(|e| e.to_string())?;
    let sign_one = |n: u64| -> Result<V3Request, String> {
        let (get, path, body) = if query {
            let no = format!("{}-{n}", args.query_tag);
            (
                true,
                format!("/v3/refund/domestic/refunds/{no}"),
                String::new(),
            )
        } else {
            let order = format!("{}{:08}", args.order_prefix, n % args.orders.max(1));
            let body = format!(
                "{{\"out_trade_no\":\"{order}\",\"out_refund_no\":\"{}-{n}\",\"amount\":{{\"refund\":1,\"total\":{},\"currency\":\"CNY\"}}}}",
                args.run_tag, args.order_total
            );
            (false, "/v3/refund/domestic/refunds".to_owned(), body)
        };
        let method = if get { "GET" } else { "POST" };
        let nonce = format!("{n:032X}");
        let authorization = sign_request(
            &key,
            MCH_ID,
            &args.v3_serial,
            method,
            &path,
            timestamp,
            &nonce,
            body.as_bytes(),
        )
        .map_err(|e| e.to_string())?
        .to_header_value();
        Ok(V3Request {
            get,
            path,
            authorization,
            body: Bytes::from(body),
        })
    };
    let half = count / 2;
    std::thread::scope(|scope| {
        let first = scope.spawn(|| (0..half).map(sign_one).collect::<Result<Vec<_>, _>>());
        let second = (half..count).map(sign_one).collect::<Result<Vec<_>, _>>();
        let mut all = first
            .join()
            .map_err(|_| "a signing thread failed".to_owned())??;
        all.extend(second?);
        Ok(all)
    })
}

/// Sends one pre-signed v3 request; `true` only for a 2xx carrying a refund.
async fn send_v3(sender: &mut Sender, shared: &Shared, n: u64) -> Result<bool, String> {
    let count = u64::try_from(shared.v3_requests.len()).unwrap_or(1).max(1);
    let index = usize::try_from(n % count).unwrap_or(0);
    let signed = shared
        .v3_requests
        .get(index)
        .ok_or("no signed v3 request")?;
    let builder = if signed.get {
        Request::get(signed.path.as_str())
    } else {
        Request::post(signed.path.as_str()).header("content-type", "application/json")
    };
    let request = builder
        .header("host", "localhost")
        .header("accept", "application/json")
        .header("authorization", signed.authorization.as_str())
        .body(Full::new(signed.body.clone()))
        .map_err(|e| e.to_string())?;
    exchange(sender, request, b"\"refund_id\"").await
}

async fn keep_alive_worker(shared: Arc<Shared>) -> Vec<u32> {
    let mut latencies = Vec::new();
    let mut sender = match connect(&shared).await {
        Ok(sender) => sender,
        Err(e) => {
            eprintln!("{e}");
            shared.errors.fetch_add(1, Ordering::Relaxed);
            return latencies;
        }
    };
    while let Some(n) = shared.claim() {
        let kind = shared.kind_for(n);
        let start = Instant::now();
        let outcome = if shared.args.scenario == "alipay-query" {
            send_alipay(&mut sender, &shared, n).await
        } else if shared.args.scenario.starts_with("v3-") {
            send_v3(&mut sender, &shared, n).await
        } else {
            send(&mut sender, &shared, kind, n).await
        };
        match outcome {
            Ok(true) => {}
            Ok(false) => {
                shared.errors.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                shared.errors.fetch_add(1, Ordering::Relaxed);
                match connect(&shared).await {
                    Ok(fresh) => sender = fresh,
                    Err(_) => break,
                }
            }
        }
        latencies.push(micros(start.elapsed()));
    }
    latencies
}

async fn handshake_worker(shared: Arc<Shared>) -> Vec<u32> {
    let mut latencies = Vec::new();
    while let Some(n) = shared.claim() {
        let start = Instant::now();
        let outcome = match connect(&shared).await {
            Ok(mut sender) => send(&mut sender, &shared, Kind::Query, n).await,
            Err(e) => Err(e),
        };
        if !matches!(outcome, Ok(true)) {
            shared.errors.fetch_add(1, Ordering::Relaxed);
        }
        latencies.push(micros(start.elapsed()));
    }
    latencies
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

fn tls_connector(args: &Args) -> Result<TlsConnector, String> {
    let read = |p: &Option<std::path::PathBuf>, what: &str| match p {
        Some(p) => std::fs::read(p).map_err(|e| format!("{}: {e}", p.display())),
        None => Err(format!("--{what} is required for the WeChat scenarios")),
    };
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(&read(&args.ca, "ca")?) {
        roots
            .add(ca.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let chain = CertificateDer::pem_slice_iter(&read(&args.cert, "cert")?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_slice(&read(&args.key, "key")?).map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| e.to_string())?;
    // Full handshakes only: no tickets, no session cache.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Signs one `alipay.trade.query` form body per trade, before the timed run.
fn alipay_requests(args: &Args) -> Result<Vec<Bytes>, String> {
    use paysandbox_protocol::alipay::{self, SignType as AlipaySignType};
    let path = args
        .alipay_app_key
        .as_ref()
        .ok_or("--alipay-app-key is required for alipay-query")?;
    let pem = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let key = alipay::parse_private_key(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
    let timestamp = beijing_timestamp(std::time::SystemTime::now());
    args.alipay_trades
        .split(',')
        .filter(|t| !t.is_empty())
        .map(|trade| {
            let mut params: Vec<(String, String)> = [
                ("app_id", args.alipay_app_id.as_str()),
                ("method", "alipay.trade.query"),
                ("format", "JSON"),
                ("charset", "utf-8"),
                ("sign_type", "RSA2"),
                ("timestamp", timestamp.as_str()),
                ("version", "1.0"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            params.push((
                "biz_content".to_owned(),
                format!("{{\"out_trade_no\":\"{trade}\"}}"),
            ));
            let sign = alipay::sign_request(&params, &key, AlipaySignType::Rsa2)
                .map_err(|e| e.to_string())?;
            params.push(("sign".to_owned(), sign));
            Ok(Bytes::from(alipay::encode_urlencoded(&params)))
        })
        .collect()
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8), the gateway's `timestamp` format.
fn beijing_timestamp(now: std::time::SystemTime) -> String {
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .saturating_add(8 * 3600);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let date = i64::try_from(days)
        .ok()
        .and_then(paysandbox_protocol::wechat::bill::BillDate::from_days_since_epoch)
        .map(|d| d.dashed())
        .unwrap_or_default();
    format!(
        "{date} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(rank).copied().unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    if !args.target.ip().is_loopback() {
        return Err("the benchmark only targets loopback addresses".into());
    }
    if !matches!(
        args.scenario.as_str(),
        "refund" | "query" | "mix" | "handshake" | "alipay-query" | "v3-refund" | "v3-query"
    ) {
        return Err(format!("unknown scenario {}", args.scenario));
    }
    let alipay = args.scenario == "alipay-query";
    let v3 = args.scenario.starts_with("v3-");
    let (tls, alipay_bodies, v3_requests) = if alipay {
        (None, alipay_requests(&args)?, Vec::new())
    } else if v3 {
        (None, Vec::new(), v3_requests(&args)?)
    } else {
        (Some(tls_connector(&args)?), Vec::new(), Vec::new())
    };
    let started = Instant::now();
    let shared = Arc::new(Shared {
        tls,
        alipay_bodies,
        v3_requests,
        deadline: started + Duration::from_secs_f64(args.seconds),
        started,
        issued: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        sequence: AtomicU64::new(0),
        args: args.clone(),
    });
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let shared = shared.clone();
        tasks.push(if args.scenario == "handshake" {
            tokio::spawn(handshake_worker(shared))
        } else {
            tokio::spawn(keep_alive_worker(shared))
        });
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())?);
    }
    let elapsed = shared.started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let done = latencies.len();
    let errors = shared.errors.load(Ordering::Relaxed);
    println!(
        "{label:<8} {scenario:<10} conns={conns:<4} requests={done:<8} errors={errors:<6} rps={rps:>9.0} p50_us={p50:<7} p99_us={p99}",
        label = args.label,
        scenario = args.scenario,
        conns = args.connections,
        rps = done as f64 / elapsed,
        p50 = percentile(&latencies, 0.50),
        p99 = percentile(&latencies, 0.99),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::beijing_timestamp;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn beijing_timestamps_cross_midnight_and_leap_days() {
        let at = |secs| beijing_timestamp(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01 08:00:00");
        // 2026-12-04 17:26:18 UTC is already the 5th in Beijing.
        assert_eq!(at(1_796_405_178), "2026-12-05 01:26:18");
        // 2024-02-28 16:00:00 UTC: midnight of the leap day in Beijing.
        assert_eq!(at(1_709_136_000), "2024-02-29 00:00:00");
    }
}
