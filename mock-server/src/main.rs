//! `paysandbox`: start the sandbox, or generate a certificate set.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use paysandbox_certs::CertStore;
use paysandbox_mock_server::demo;
use paysandbox_mock_server::http::ConnLimits;
use paysandbox_mock_server::journal::JournalLimits;
use paysandbox_mock_server::scenario::{Format, Scenario};
use paysandbox_mock_server::server::{Listeners, run};
use paysandbox_mock_server::startup::{StartInfo, write_atomically};
use paysandbox_mock_server::state::{AppState, Listening, SandboxConfig};
use tokio::net::TcpListener;

/// The store's file in the data directory when `--persist` names none.
const STORE_FILE: &str = "state.redb";

// The request path allocates many small strings (one per XML field); glibc malloc spent a
// fifth of the server CPU on them under load (perf), mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A faithful, stateful mock of the WeChat Pay v2 and Alipay refund APIs.
#[derive(Parser)]
#[command(name = "paysandbox", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the sandbox: with the demo merchant, app, orders and trades, or a scenario file.
    Serve(Box<ServeArgs>),
    /// Generate a CA, server certificate and a merchant certificate set into a directory.
    Certs(CertsArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// HTTPS listener for the merchant APIs.
    #[arg(long, default_value = "127.0.0.1:8443", env = "PAYSANDBOX_API_ADDR")]
    api_addr: SocketAddr,
    /// Plain-HTTP listener for the merchant APIs (for clients that cannot change scheme).
    #[arg(long, default_value = "127.0.0.1:8080", env = "PAYSANDBOX_HTTP_ADDR")]
    http_addr: SocketAddr,
    /// Plain-HTTP listener for the JSON admin API.
    #[arg(long, default_value = "127.0.0.1:8444", env = "PAYSANDBOX_ADMIN_ADDR")]
    admin_addr: SocketAddr,
    /// Where certificates are generated on first run and reused afterwards.
    #[arg(long, default_value = "paysandbox-data", env = "PAYSANDBOX_DATA_DIR")]
    data_dir: PathBuf,
    /// Seed of the RNG behind ids and nonces (same seed, same ids). Left out, a fresh one
    /// from the system's entropy: ids never repeat across restarts unless asked to.
    #[arg(long)]
    seed: Option<u64>,
    /// Bytes of each request and response body the journal keeps (the rest is cut; the
    /// entry says so and keeps the length).
    #[arg(long, default_value_t = 4096)]
    journal_body_bytes: usize,
    /// MiB the journal's entries may take in all; the oldest are dropped first.
    #[arg(long, default_value_t = 64)]
    journal_budget_mib: usize,
    /// Seconds a client may take to finish the TLS handshake.
    #[arg(long, default_value_t = 10)]
    handshake_timeout_secs: u64,
    /// Seconds a connection may wait for a request head to arrive whole: an idle keep-alive
    /// connection, or a head sent a byte at a time, is closed after it.
    #[arg(long, default_value_t = 60)]
    idle_timeout_secs: u64,
    /// Connections served at once on the API listeners (and, separately, on the admin
    /// listener); past it new ones are refused at once.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// Seconds a refund stays PROCESSING before it settles.
    #[arg(long, default_value_t = 10)]
    settle_delay_secs: u64,
    /// Percent of API v3 notification attempts preceded by a signature probe
    /// (WECHATPAY/SIGNTEST/) of the same body to the same URL, the real one sent right after;
    /// a handler must refuse the probe (GET /admin/wechat/v3/probes lists those accepted).
    /// 0: probes only through the admin API.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    v3_probe_percent: u32,
    /// Turn off the per-merchant rate limits (150 qps, 6 erroneous/s): for load tests.
    #[arg(long)]
    no_rate_limits: bool,
    /// Turn off the spacing between refunds of one order or trade (WeChat one minute,
    /// Alipay 3 s).
    #[arg(long)]
    no_refund_spacing: bool,
    /// Refunds allowed per WeChat order (the platform allows 50; raise it for load tests
    /// that refund a few orders many times).
    #[arg(long, default_value_t = 50)]
    max_refunds_per_order: usize,
    /// Days after payment an Alipay trade stays refundable before it is TRADE_FINISHED
    /// (set by contract; 365 here, 90 is also common).
    #[arg(long, default_value_t = 365)]
    alipay_refund_period_days: u64,
    /// Start empty, without the demo merchant and orders.
    #[arg(long)]
    no_demo: bool,
    /// Start from this scenario file instead of the demo data (TOML; JSON for a `.json`
    /// name): merchants, apps, orders, trades, refunds, faults, the clock. See
    /// docs/scenarios.md. `POST /admin/reset` loads it again.
    #[arg(long, env = "PAYSANDBOX_SCENARIO")]
    scenario: Option<PathBuf>,
    /// Once every listener is bound, write the start-up information (the JSON of `--json`)
    /// to this file, atomically: wait for it instead of sleeping.
    #[arg(long, env = "PAYSANDBOX_READY_FILE")]
    ready_file: Option<PathBuf>,
    /// Keep the state on disk (merchants, apps, orders, trades, refunds, notifications, the
    /// clock, the ids): every change is durable before its answer is sent, and a start on the
    /// same store continues where the last one stopped, even after kill -9. The store is
    /// `<data dir>/state.redb` unless a path is given. See docs/running.md.
    #[arg(long, value_name = "PATH", num_args = 0..=1, env = "PAYSANDBOX_PERSIST")]
    persist: Option<Option<PathBuf>>,
    /// Print the start-up information (addresses, CA, merchants, apps, key paths) as one JSON
    /// object on one line of stdout, instead of the banner.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct CertsArgs {
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Merchant id (the certificate CN and the p12 password).
    #[arg(long)]
    mch_id: String,
    /// Company name (the certificate OU).
    #[arg(long, default_value = "paysandbox merchant")]
    company: String,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Certs(args) => certs(args),
        Command::Serve(args) => match tokio::runtime::Runtime::new() {
            Ok(runtime) => runtime.block_on(serve(*args)),
            Err(e) => Err(format!("cannot start the runtime: {e}")),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("paysandbox: {message}");
            ExitCode::FAILURE
        }
    }
}

fn certs(args: CertsArgs) -> Result<(), String> {
    let store = CertStore::load_or_create(&args.out, &["localhost", "127.0.0.1", "::1"])
        .map_err(|e| e.to_string())?;
    let files = store
        .merchant(&args.mch_id, &args.company)
        .map_err(|e| e.to_string())?;
    println!("CA certificate:        {}", store.ca_path().display());
    println!(
        "server certificate:    {}",
        store.server_cert_path().display()
    );
    println!(
        "server key:            {}",
        store.server_key_path().display()
    );
    println!("merchant certificate:  {}", files.cert_path.display());
    println!("merchant key:          {}", files.key_path.display());
    println!(
        "merchant PKCS#12:      {} (password {})",
        files.p12_path.display(),
        files.p12_password
    );
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    for addr in [args.api_addr, args.http_addr, args.admin_addr] {
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "listening beyond loopback: the sandbox has no authentication of its own");
        }
    }
    let scenario = match &args.scenario {
        Some(path) => Some(read_scenario(path)?),
        None => None,
    };
    let mut config = SandboxConfig::new(&args.data_dir);
    config.seed = args
        .seed
        .unwrap_or_else(paysandbox_mock_server::ids::entropy_seed);
    config.rate_limits = !args.no_rate_limits;
    config.v3_probe_percent = args.v3_probe_percent;
    config.connections = ConnLimits {
        handshake: Duration::from_secs(args.handshake_timeout_secs),
        idle: Duration::from_secs(args.idle_timeout_secs),
        max_connections: args.max_connections,
    };
    match paysandbox_mock_server::server::raise_open_file_limit() {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open-file limit"),
    }
    config.journal = JournalLimits {
        body_prefix: args.journal_body_bytes,
        budget: args.journal_budget_mib.saturating_mul(1 << 20),
    };
    config.demo_data = !args.no_demo;
    config.scenario = scenario.map(Arc::new);
    config.persist = args.persist.as_ref().map(|path| {
        path.clone()
            .unwrap_or_else(|| args.data_dir.join(STORE_FILE))
    });
    config.wechat_rules.settle_delay = Duration::from_secs(args.settle_delay_secs);
    if args.no_refund_spacing {
        config.wechat_rules.refund_spacing = Duration::ZERO;
        config.alipay_rules.refund_spacing = Duration::ZERO;
    }
    config.wechat_rules.max_refunds_per_order = args.max_refunds_per_order;
    config.alipay_rules.refund_period =
        Duration::from_secs(args.alipay_refund_period_days.saturating_mul(86_400));
    let scenario_name = match &args.scenario {
        Some(path) => path.display().to_string(),
        None if config.demo_data => demo::SCENARIO_NAME.to_owned(),
        None => "none (--no-demo)".to_owned(),
    };
    let state = Arc::new(AppState::new(config).map_err(|e| match &args.scenario {
        Some(path) => format!("{}: {e}", path.display()),
        None => e.to_string(),
    })?);
    let bind = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))
    };
    let listeners = Listeners {
        api: bind(args.api_addr).await?,
        admin: bind(args.admin_addr).await?,
        http: Some(bind(args.http_addr).await?),
    };
    let address = |listener: &TcpListener| {
        listener
            .local_addr()
            .map_err(|e| format!("cannot read a bound address: {e}"))
    };
    let listening = Listening {
        api: address(&listeners.api)?,
        http: listeners.http.as_ref().map(address).transpose()?,
        admin: address(&listeners.admin)?,
    };
    let info = StartInfo::of(&state, listening, &scenario_name);
    if args.json {
        println!("{}", info.to_json());
    } else {
        let start = state.start_scenario().ok().flatten();
        print_banner(&info, start.as_deref());
    }
    if let Some(path) = &args.ready_file {
        write_atomically(path, &info.to_json())
            .map_err(|e| format!("cannot write the ready file {}: {e}", path.display()))?;
    }
    run(listeners, state, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await
    .map_err(|e| e.to_string())
}

/// The scenario in `path`; errors name the file, the line and the field.
fn read_scenario(path: &std::path::Path) -> Result<Scenario, String> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the scenario {origin}: {e}"))?;
    Scenario::parse(&text, Format::of_name(&origin), &origin).map_err(|e| e.to_string())
}

fn print_banner(info: &StartInfo, scenario: Option<&Scenario>) {
    let api = &info.api_url;
    println!("paysandbox is running (pid {})", info.pid);
    println!("  WeChat Pay API (mutual TLS): {api}   e.g. {api}/secapi/pay/refund");
    if let Some(http) = &info.http_url {
        println!("  plain HTTP API:              {http}");
    }
    println!("  Alipay gateway:              {}", info.alipay_gateway_url);
    println!("  admin API (JSON):            {}", info.admin_url);
    let dashboard = info.admin_url.trim_end_matches("/admin");
    println!("  dashboard (browser):         {dashboard}/");
    println!("  CA to trust:                 {}", info.ca_path.display());
    println!("  started from:                {}", info.scenario);
    println!(
        "  id seed:                     {} (serve --seed {} replays this run's ids)",
        info.seed, info.seed
    );
    for merchant in &info.merchants {
        println!("WeChat merchant");
        println!("  mch_id  {}", merchant.mch_id);
        println!("  appid   {}", merchant.appids.join(", "));
        println!("  API key {}", merchant.api_key);
        let paths = [
            ("cert", &merchant.cert_path),
            ("key", &merchant.key_path),
            ("p12", &merchant.p12_path),
        ];
        for (what, path) in paths {
            if let Some(path) = path {
                println!("  {what:<7} {}", path.display());
            }
        }
        if let Some(password) = &merchant.p12_password {
            println!("          (p12 password {password})");
        }
        if let Some(v3) = &merchant.v3 {
            println!(
                "  API v3 (docs/wechat-v3.md), answers signed in {} mode",
                v3.identity
            );
            if let Some(key) = &v3.api_v3_key {
                println!("    APIv3 key           {key}");
            }
            println!("    serial_no           {}", v3.serial_no);
            println!("    private key         {}", v3.private_key_path.display());
            println!(
                "    platform cert       {} ({})",
                v3.platform_certificate_path.display(),
                v3.platform_certificate_serial
            );
            println!(
                "    WeChat Pay pub key  {} ({})",
                v3.public_key_path.display(),
                v3.public_key_id
            );
        }
    }
    if let Some(scenario) = scenario
        && !scenario.wechat.orders.is_empty()
    {
        println!("orders (out_trade_no, total_fee in fen)");
        for order in &scenario.wechat.orders {
            let note = order.note.as_deref().unwrap_or(order.state.as_str());
            println!("  {}  {:>5}  {note}", order.out_trade_no, order.total_fee);
        }
    }
    for app in &info.apps {
        println!(
            "Alipay app (sign requests with the app private key, verify answers with the alipay public key)"
        );
        println!("  app_id  {}", app.app_id);
        let rows = [
            ("app private key, PKCS#1 PEM", &app.app_private_key_path),
            (
                "app private key, PKCS#8 PEM",
                &app.app_private_key_pkcs8_path,
            ),
            (
                "app private key, base64 PKCS#1 (official Python)",
                &app.app_private_key_base64_path,
            ),
            (
                "app private key, base64 PKCS#8 (Java)",
                &app.app_private_key_pkcs8_base64_path,
            ),
            ("app public key", &app.app_public_key_path),
            ("alipay public key, PEM", &app.alipay_public_key_path),
            (
                "alipay public key, base64",
                &app.alipay_public_key_base64_path,
            ),
        ];
        for (what, path) in rows {
            match path {
                Some(path) => println!("  {what:<50} {}", path.display()),
                None => println!("  {what:<50} unavailable"),
            }
        }
    }
    if let Some(scenario) = scenario
        && !scenario.alipay.trades.is_empty()
    {
        println!("trades (out_trade_no, total_amount in yuan)");
        for trade in &scenario.alipay.trades {
            let note = trade.note.as_deref().unwrap_or(trade.status.as_str());
            println!(
                "  {}  {:>6}  {note}",
                trade.out_trade_no,
                paysandbox_protocol::money::format_yuan(trade.total_amount)
            );
        }
    }
}
