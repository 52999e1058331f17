//! `paysandbox`: start the sandbox, or generate a certificate set.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use paysandbox_certs::CertStore;
use paysandbox_mock_server::demo;
use paysandbox_mock_server::server::{Listeners, run};
use paysandbox_mock_server::state::{AppState, SandboxConfig};
use tokio::net::TcpListener;

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
    /// Start the sandbox with a demo merchant and paid demo orders.
    Serve(ServeArgs),
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
    /// Seed of the RNG behind ids and nonces (same seed, same ids).
    #[arg(long, default_value_t = 20_141_111)]
    seed: u64,
    /// Seconds a refund stays PROCESSING before it settles.
    #[arg(long, default_value_t = 10)]
    settle_delay_secs: u64,
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
            Ok(runtime) => runtime.block_on(serve(args)),
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
    let mut config = SandboxConfig::new(&args.data_dir);
    config.seed = args.seed;
    config.rate_limits = !args.no_rate_limits;
    config.demo_data = !args.no_demo;
    config.wechat_rules.settle_delay = Duration::from_secs(args.settle_delay_secs);
    if args.no_refund_spacing {
        config.wechat_rules.refund_spacing = Duration::ZERO;
        config.alipay_rules.refund_spacing = Duration::ZERO;
    }
    config.wechat_rules.max_refunds_per_order = args.max_refunds_per_order;
    config.alipay_rules.refund_period =
        Duration::from_secs(args.alipay_refund_period_days.saturating_mul(86_400));
    let state = Arc::new(AppState::new(config).map_err(|e| e.to_string())?);
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
    print_banner(&state, &args);
    run(listeners, state, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await
    .map_err(|e| e.to_string())
}

fn print_banner(state: &AppState, args: &ServeArgs) {
    let api = format!("https://{}", args.api_addr);
    let ca = state.certs.ca_path();
    println!("paysandbox is running");
    println!("  WeChat Pay API (mutual TLS): {api}   e.g. {api}/secapi/pay/refund");
    println!("  plain HTTP API:              http://{}", args.http_addr);
    println!(
        "  Alipay gateway:              {api}/gateway.do   and   http://{}/gateway.do",
        args.http_addr
    );
    println!(
        "  admin API (JSON):            http://{}/admin",
        args.admin_addr
    );
    println!("  CA to trust:                 {}", ca.display());
    if !state.config.demo_data {
        return;
    }
    let files = state.certs.merchant(demo::MCH_ID, demo::COMPANY);
    println!("demo WeChat merchant");
    println!("  mch_id  {}", demo::MCH_ID);
    println!("  appid   {}", demo::APPID);
    println!("  API key {}", demo::API_KEY);
    if let Ok(files) = files {
        println!("  cert    {}", files.cert_path.display());
        println!("  key     {}", files.key_path.display());
        println!(
            "  p12     {} (password {})",
            files.p12_path.display(),
            files.p12_password
        );
    }
    println!("demo orders (out_trade_no, total_fee in fen)");
    for order in demo::ORDERS {
        println!(
            "  {}  {:>5}  {}",
            order.out_trade_no, order.total_fee, order.purpose
        );
    }
    for order in demo::UNPAID_ORDERS {
        println!(
            "  {}  {:>5}  unpaid {} order: POST /admin/wechat/orders/{}/pay, or /pay/closeorder",
            order.out_trade_no, order.total_fee, order.trade_type, order.out_trade_no
        );
    }
    print_alipay_banner(state);
}

fn print_alipay_banner(state: &AppState) {
    println!(
        "demo Alipay app (sign requests with the app private key, verify answers with the alipay public key)"
    );
    println!("  app_id  {}", demo::ALIPAY_APP_ID);
    match state.alipay_keys(demo::ALIPAY_APP_ID) {
        Ok(keys) => {
            let f = &keys.files;
            let rows = [
                ("app private key, PKCS#1 PEM", &f.app_private_key_path),
                ("app private key, PKCS#8 PEM", &f.app_private_key_pkcs8_path),
                (
                    "app private key, base64 PKCS#1 (official Python)",
                    &f.app_private_key_base64_path,
                ),
                (
                    "app private key, base64 PKCS#8 (Java)",
                    &f.app_private_key_pkcs8_base64_path,
                ),
                ("app public key", &f.app_public_key_path),
                ("alipay public key, PEM", &f.alipay_public_key_path),
                (
                    "alipay public key, base64",
                    &f.alipay_public_key_base64_path,
                ),
            ];
            for (what, path) in rows {
                println!("  {what:<50} {}", path.display());
            }
        }
        Err(error) => println!("  keys unavailable: {error}"),
    }
    println!("demo Alipay trades (out_trade_no, total_amount in yuan)");
    for trade in demo::TRADES {
        println!(
            "  {}  {:>6}  {}",
            trade.out_trade_no,
            paysandbox_protocol::money::format_yuan(trade.total_amount),
            trade.purpose
        );
    }
}
