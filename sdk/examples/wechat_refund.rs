//! Refunds a demo order on a running `paysandbox serve`, waits for the refund to settle, and
//! lists the order's refunds.
//!
//! ```text
//! paysandbox serve                         # in one terminal (creates ./paysandbox-data)
//! cargo run -p paysandbox-sdk --example wechat_refund
//! ```
//!
//! Environment (defaults match `paysandbox serve`'s):
//! - `PAYSANDBOX_API_URL`: the HTTPS API, default `https://127.0.0.1:8443`;
//! - `PAYSANDBOX_DATA_DIR`: the sandbox's data directory (for `ca.pem` and the demo
//!   merchant's `apiclient_cert.p12`), default `paysandbox-data`;
//! - `PAYSANDBOX_ORDER`: the order to refund, default `demo-order-0002` (88.00 yuan).
//!
//! Against the real platform the same program needs the real `mch_id`, `appid`, API key and
//! certificate, no `base_url` and no extra CA.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use paysandbox_sdk::retry::RetryPolicy;
use paysandbox_sdk::wechat::{Client, Error, OrderId, RefundQuery, RefundRequest, WaitOptions};

/// The demo merchant every `paysandbox serve` starts with.
const MCH_ID: &str = "1900000109";
const APPID: &str = "wx2421b1c4370ec43b";
const API_KEY: &str = "paysandboxdemokey000000000000000";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let api_url = env_or("PAYSANDBOX_API_URL", "https://127.0.0.1:8443");
    let data_dir = PathBuf::from(env_or("PAYSANDBOX_DATA_DIR", "paysandbox-data"));
    let out_trade_no = env_or("PAYSANDBOX_ORDER", "demo-order-0002");

    let client = Client::builder(MCH_ID, APPID, API_KEY)
        .base_url(&api_url)
        .extra_root_ca_file(data_dir.join("ca.pem"))
        // The p12's password is the mch_id, as WeChat issues it.
        .merchant_p12_file(
            data_dir
                .join("merchants")
                .join(MCH_ID)
                .join("apiclient_cert.p12"),
        )
        .timeout(Duration::from_secs(10))
        .retry(RetryPolicy::new(3))
        .build()?;

    let order = client
        .order_query(&OrderId::OutTradeNo(out_trade_no.clone()))
        .await?;
    let total_fee = order
        .payment
        .as_ref()
        .map(|p| p.total_fee)
        .ok_or("the order is not paid")?;
    println!(
        "order {out_trade_no}: {} ({total_fee} fen)",
        order.trade_state
    );

    // A new refund number per run: the number is the idempotency key, so re-running with the
    // same one would (safely) return the same refund.
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let request = RefundRequest::builder()
        .out_trade_no(&out_trade_no)
        .out_refund_no(format!("example-{stamp}"))
        .total_fee(total_fee)
        .refund_fee(100.min(total_fee))
        .refund_desc("paysandbox-sdk example")
        .build()?;
    let accepted = match client.refund(&request).await {
        Ok(accepted) => accepted,
        Err(e @ Error::Business { .. }) => {
            eprintln!("refused: {e}");
            eprintln!(
                "(refunds of one order must be a minute apart; an order refunds 50 times at most)"
            );
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    println!(
        "refund {} accepted as {} ({} fen)",
        accepted.out_refund_no, accepted.refund_id, accepted.refund_fee
    );

    let settled = client
        .wait_for_refund(
            request.out_refund_no(),
            WaitOptions::new(Duration::from_secs(120)).with_poll_interval(Duration::from_secs(2)),
        )
        .await?;
    println!(
        "refund {} is {} (to {})",
        settled.refund_id,
        settled.refund_status,
        settled.refund_recv_accout.as_deref().unwrap_or("?")
    );

    let mut refunds = client.refunds(RefundQuery::by_out_trade_no(&out_trade_no));
    println!("refunds of {out_trade_no}:");
    while let Some(refund) = refunds.next().await {
        let refund = refund?;
        println!(
            "  {:<24} {:>6} fen  {}",
            refund.out_refund_no, refund.refund_fee, refund.refund_status
        );
    }
    Ok(())
}
