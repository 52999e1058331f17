//! Refunds a demo order through WeChat Pay API v3 on a running `paysandbox serve`, and queries
//! the refund until it settles.
//!
//! ```text
//! paysandbox serve                         # in one terminal (creates ./paysandbox-data)
//! cargo run -p paysandbox-sdk --example wechat_v3_refund
//! ```
//!
//! Environment (defaults match `paysandbox serve`'s demo merchant; `serve --json` prints the
//! same paths and keys):
//! - `PAYSANDBOX_API_URL`: the API, default `https://127.0.0.1:8443`;
//! - `PAYSANDBOX_DATA_DIR`: the data directory, default `paysandbox-data`: `ca.pem`, and in
//!   `merchants/1900000109/` the API certificate and key (`apiclient_cert.pem`,
//!   `apiclient_key.pem`, which sign requests), the platform certificates
//!   (`wechatpay_certs/`) and the WeChat Pay public key (`pub_key.pem`, `pub_key_id.txt`),
//!   which verify answers (without them, the example downloads the certificates from
//!   `/v3/certificates` first);
//! - `PAYSANDBOX_APIV3_KEY`: the merchant's APIv3 key, default the demo's;
//! - `PAYSANDBOX_ORDER`: the order to refund, default `demo-order-0003` (10.00 yuan).
//!
//! Against the real platform: drop `base_url` and `extra_root_ca_file`, use your merchant's
//! key, certificate and APIv3 key, and the platform certificates or public key the merchant
//! platform gives you.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use paysandbox_sdk::retry::RetryPolicy;
use paysandbox_sdk::wechat::v3::{Client, Error, OrderId, RefundRequest, RefundStatus};

/// The demo merchant every `paysandbox serve` starts with.
const MCHID: &str = "1900000109";
const DEMO_APIV3_KEY: &str = "paysandboxdemoapiv3key0000000000";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Trusts every platform identity the merchant folder holds: the certificates, the public key,
/// or both (the switch-over).
fn trust_platform(
    mut builder: paysandbox_sdk::wechat::v3::ClientBuilder,
    merchant: &Path,
) -> Result<paysandbox_sdk::wechat::v3::ClientBuilder, Box<dyn std::error::Error>> {
    let certificates = merchant.join("wechatpay_certs");
    if certificates.is_dir() {
        builder = builder.platform_certificates_dir(certificates);
    }
    let id_file = merchant.join("pub_key_id.txt");
    if id_file.is_file() {
        let id = std::fs::read_to_string(&id_file)?.trim().to_owned();
        builder = builder.wechatpay_public_key_file(id, merchant.join("pub_key.pem"));
    }
    Ok(builder)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let api_url = env_or("PAYSANDBOX_API_URL", "https://127.0.0.1:8443");
    let data_dir = PathBuf::from(env_or("PAYSANDBOX_DATA_DIR", "paysandbox-data"));
    let apiv3_key = env_or("PAYSANDBOX_APIV3_KEY", DEMO_APIV3_KEY);
    let out_trade_no = env_or("PAYSANDBOX_ORDER", "demo-order-0003");
    let merchant = data_dir.join("merchants").join(MCHID);

    let builder = Client::builder(MCHID)
        .base_url(&api_url)
        .extra_root_ca_file(data_dir.join("ca.pem"))
        .merchant_key_file(merchant.join("apiclient_key.pem"))
        // The serial_no of every request, read from the certificate.
        .merchant_certificate_file(merchant.join("apiclient_cert.pem"))
        .apiv3_key(apiv3_key)
        .timeout(Duration::from_secs(10))
        .retry(RetryPolicy::new(3));
    let client = trust_platform(builder, &merchant)?.build()?;
    if client.platform_serials().is_empty() {
        // No identity files yet (the sandbox makes them on a merchant's first v3 use): fetch
        // the platform certificates, which the APIv3 key decrypts and which verify their own
        // answer, and trust them.
        let downloaded = client.refresh_platform_certificates().await?;
        println!("downloaded {} platform certificate(s)", downloaded.len());
    }
    println!(
        "merchant {MCHID}, serial {}, trusting {:?}, naming {:?}",
        client.serial_no(),
        client.platform_serials(),
        client.wechatpay_serial()
    );

    let order = client
        .order_query(&OrderId::OutTradeNo(out_trade_no.clone()))
        .await?;
    let total = order
        .amount
        .as_ref()
        .and_then(|a| a.total)
        .ok_or("the order has no amount")?;
    println!("order {out_trade_no}: {} ({total} fen)", order.trade_state);

    // A new refund number per run: the number is the idempotency key, so re-running with the
    // same one would (safely) return the same refund.
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let request = RefundRequest::builder()
        .out_trade_no(&out_trade_no)
        .out_refund_no(format!("example-v3-{stamp}"))
        .refund(100.min(total))
        .total(total)
        .reason("paysandbox-sdk example")
        .build()?;
    let accepted = match client.refund(&request).await {
        Ok(refund) => refund,
        Err(e @ Error::Api { .. }) => {
            eprintln!("refused: {e}");
            eprintln!(
                "(refunds of one order must be a minute apart; an order refunds 50 times at most)"
            );
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    println!(
        "refund {} accepted as {}: {} ({} fen)",
        accepted.out_refund_no, accepted.refund_id, accepted.status, accepted.amount.refund
    );

    // Settlement takes the sandbox's settle delay (a few seconds by default).
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let refund = client.refund_query(request.out_refund_no()).await?;
        if refund.refund_status() != Some(RefundStatus::Processing) {
            println!(
                "refund {} is {} (to {}, at {})",
                refund.refund_id,
                refund.status,
                refund.user_received_account,
                refund.success_time.as_deref().unwrap_or("-")
            );
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err("the refund did not settle within two minutes".into());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
