//! Refunds part of a demo Alipay trade on a running `paysandbox serve`, then confirms it
//! with a refund query and shows the trade.
//!
//! ```text
//! paysandbox serve                         # in one terminal (creates ./paysandbox-data)
//! cargo run -p paysandbox-sdk --example alipay_refund
//! ```
//!
//! Environment (defaults match `paysandbox serve`'s):
//! - `PAYSANDBOX_ALIPAY_GATEWAY`: default `https://127.0.0.1:8443/gateway.do` (the plain
//!   `http://127.0.0.1:8080/gateway.do` works too);
//! - `PAYSANDBOX_DATA_DIR`: the sandbox's data directory (for `ca.pem` and the demo app's
//!   keys), default `paysandbox-data`;
//! - `PAYSANDBOX_TRADE`: the trade to refund, default `demo-trade-0002` (88.88 yuan);
//! - `PAYSANDBOX_SIGN_TYPE`: `RSA2` (default) or `RSA`.
//!
//! Against the real platform the same program needs the real app id and keys, no
//! `gateway_url` and no extra CA.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use paysandbox_sdk::alipay::{
    Client, Error, Fen, RefundQuery, RefundRequest, SignType, TradeId, refund_made,
};
use paysandbox_sdk::retry::RetryPolicy;

/// The demo app every `paysandbox serve` starts with.
const APP_ID: &str = "2021000000000001";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gateway = env_or(
        "PAYSANDBOX_ALIPAY_GATEWAY",
        "https://127.0.0.1:8443/gateway.do",
    );
    let data_dir = PathBuf::from(env_or("PAYSANDBOX_DATA_DIR", "paysandbox-data"));
    let out_trade_no = env_or("PAYSANDBOX_TRADE", "demo-trade-0002");
    let sign_type: SignType = env_or("PAYSANDBOX_SIGN_TYPE", "RSA2").parse()?;
    let keys = data_dir.join("alipay").join(APP_ID);

    let client = Client::builder(APP_ID)
        .gateway_url(&gateway)
        .extra_root_ca_file(data_dir.join("ca.pem"))
        // The app private key in any form: PKCS#1 PEM here; `app_private_key_pkcs8.pem` and
        // the bare base64 `.txt` files work as well.
        .app_private_key_file(keys.join("app_private_key.pem"))
        .alipay_public_key_file(keys.join("alipay_public_key.pem"))
        .sign_type(sign_type)
        .timeout(Duration::from_secs(10))
        // ACQ.SYSTEM_ERROR (also what a refund within 3 s of the trade's last one gets) and
        // timeouts are retried with the same out_request_no and amount; a refund's
        // ACQ.SYSTEM_ERROR after 3 s, which the default max_delay (5 s) allows.
        .retry(RetryPolicy::new(3))
        .build()?;

    let trade = TradeId::out_trade_no(&out_trade_no);
    let before = client.trade_query(&trade).await?;
    let total = before.total_amount.unwrap_or_default();
    println!(
        "trade {out_trade_no} ({}): {} of {total} yuan",
        before.trade_no.as_deref().unwrap_or("?"),
        before
            .trade_status
            .as_ref()
            .map_or("?", |status| status.as_str()),
    );

    // A new request number per run: the number is the idempotency key, so re-running with
    // the same one would (safely) find the refund already made (fund_change N).
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let request = RefundRequest::builder()
        .trade(trade.clone())
        .out_request_no(format!("example-{stamp}"))
        .refund_amount(100.min(total.0))
        .refund_reason("paysandbox-sdk example")
        .build()?;
    let out_request_no = request.out_request_no().unwrap_or_default().to_owned();
    let refund = match client.trade_refund(&request).await {
        Ok(refund) => refund,
        Err(e) if e.is_outcome_unknown() => {
            eprintln!(
                "outcome unknown ({e}): send the same request again, or query {out_request_no}"
            );
            return Err(e.into());
        }
        Err(e @ Error::Gateway { .. }) => {
            eprintln!("refused: {e}");
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    println!(
        "refund {out_request_no} of {} yuan: fund_change {}, {} yuan refunded in all",
        Fen(request.refund_amount()),
        match refund.fund_change {
            Some(true) => "Y (money moved now)",
            Some(false) => "N (already refunded before)",
            None => "absent",
        },
        refund.refund_fee.unwrap_or_default(),
    );

    let found = client
        .refund_query(
            &RefundQuery::new(trade.clone(), &out_request_no).with_query_option("gmt_refund_pay"),
        )
        .await?;
    println!(
        "refund query: {} ({} yuan at {})",
        if refund_made(&found) {
            "REFUND_SUCCESS"
        } else {
            "not refunded"
        },
        found.refund_amount.unwrap_or_default(),
        found.gmt_refund_pay.as_deref().unwrap_or("?"),
    );

    let after = client.trade_query(&trade).await?;
    println!(
        "trade {out_trade_no}: {}",
        after
            .trade_status
            .as_ref()
            .map_or("?", |status| status.as_str()),
    );
    Ok(())
}
