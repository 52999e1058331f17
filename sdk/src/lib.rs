//! An async client for the refund APIs of WeChat Pay (v2 and v3) and Alipay, for
//! production use against the real platforms and for tests against
//! [paysandbox](https://example.invalid/paysandbox): switching is one URL and one CA.
//!
//! # Layout
//! - [`wechat`]: the WeChat Pay v2 client: [`wechat::Client`] and its builder, typed
//!   requests with validating builders, typed responses, one [`wechat::Error`] enum; and
//!   [`wechat::v3`], the API v3 client (JSON, RSA-signed requests, every 2xx answer verified
//!   against the platform certificates or the WeChat Pay public key).
//! - [`alipay`]: the Alipay (`gateway.do`, RSA2/RSA) client: [`alipay::Client`] and its
//!   builder, refund, refund query, trade query, close and precreate, one
//!   [`alipay::Error`] enum.
//! - [`reconcile`]: the daily comparison of the merchant's records with a downloaded bill
//!   (missing, extra, mismatched entries); platform-neutral.
//! - [`retry`]: [`retry::RetryPolicy`] (opt-in, bounded, jittered exponential backoff) and the
//!   [`retry::Retryable`] advice every error gives; platform-neutral.
//! - [`clock`]: the injectable [`clock::Clock`] that retries and polling wait on, so tests
//!   never sleep; [`clock::TokioClock`] by default.
//! - [`tls`]: the merchant certificate ([`tls::Identity`], from PEM or PKCS#12) and the
//!   trusted roots ([`tls::TrustRoots`]: Mozilla's, plus a private CA such as the mock's).
//! - [`error`]: the parts of errors shared by platforms: [`error::TransportError`] (did the
//!   request maybe reach the server?) and [`error::ConfigError`].
//!
//! # Guarantees
//! - Requests are checked before they are sent; amounts are `u64` fen.
//! - Every signed response is verified with the request's sign type; a wrong or missing
//!   signature is an error, never a result.
//! - Retries re-send the same request (same refund number, same amounts), so a refund is
//!   made at most once however often it is retried.
//!
//! # Example: a refund against the in-process mock
//! The same code runs against the real platform: drop `base_url` and `extra_root_ca_file`,
//! and use your merchant's files.
//!
//! ```
//! use std::time::Duration;
//! use paysandbox_sdk::retry::RetryPolicy;
//! use paysandbox_sdk::wechat::{Client, RefundRequest, RefundStatus, SignType, WaitOptions};
//! # use paysandbox_mock_server::{demo, server::RunningSandbox, state::SandboxConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let mut config = SandboxConfig::new(dir.path());
//! # config.wechat_rules.settle_delay = Duration::from_millis(300);
//! // A sandbox on a loopback port, with the demo merchant and its certificates.
//! let sandbox = RunningSandbox::start(config).await?;
//! let merchant = dir.path().join("merchants").join(demo::MCH_ID);
//!
//! let client = Client::builder(demo::MCH_ID, demo::APPID, demo::API_KEY)
//!     .sign_type(SignType::HmacSha256)
//!     .base_url(&sandbox.api_url) // default: https://api.mch.weixin.qq.com
//!     .extra_root_ca_file(&sandbox.ca_path) // trust the mock's CA
//!     .merchant_p12_file(merchant.join("apiclient_cert.p12")) // password: the mch_id
//!     .timeout(Duration::from_secs(5))
//!     .retry(RetryPolicy::new(3))
//!     .build()?;
//!
//! let request = RefundRequest::builder()
//!     .out_trade_no("demo-order-0001")
//!     .out_refund_no("doc-example-refund-1")
//!     .total_fee(1000)
//!     .refund_fee(250)
//!     .build()?;
//! let accepted = client.refund(&request).await?;
//! assert_eq!(accepted.refund_fee, 250);
//!
//! let settled = client
//!     .wait_for_refund(
//!         request.out_refund_no(),
//!         WaitOptions::new(Duration::from_secs(30)).with_poll_interval(Duration::from_millis(100)),
//!     )
//!     .await?;
//! assert_eq!(settled.refund_status, RefundStatus::Success);
//! assert_eq!(settled.refund_id, accepted.refund_id);
//! # Ok(()) }
//! ```
//!
//! Errors carry what to do next:
//!
//! ```no_run
//! # async fn f(client: paysandbox_sdk::wechat::Client, request: paysandbox_sdk::wechat::RefundRequest) {
//! use paysandbox_sdk::wechat::{ErrCode, Error};
//!
//! match client.refund(&request).await {
//!     Ok(accepted) => println!("accepted as {}", accepted.refund_id),
//!     Err(Error::Business { code: ErrCode::NotEnough, .. }) => println!("top up the balance"),
//!     Err(e) if e.is_outcome_unknown() => println!("may have been made: retry the same request ({e})"),
//!     Err(e) => println!("refused: {e}"),
//! }
//! # }
//! ```
//!
//! # Alipay
//! The same shape: a builder for the app (app id, app private key in any form the clients
//! use, the Alipay public key, gateway URL), typed requests checked before sending, typed
//! answers whose signature over the node's exact bytes is always verified, and one
//! [`alipay::Error`] whose [`alipay::Error::Gateway`] carries both `code` and `sub_code`.
//! The refund's `out_request_no` is its idempotency key: retries reuse it with the same
//! amount, and the gateway refunds once.
//!
//! ```
//! use paysandbox_sdk::alipay::{Client, Error, Fen, RefundRequest, SubCode, TradeId, TradeStatus};
//! # use paysandbox_mock_server::{demo, server::RunningSandbox, state::SandboxConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! // A sandbox on loopback ports, with the demo app, its keys and its trades.
//! let sandbox = RunningSandbox::start(SandboxConfig::new(dir.path())).await?;
//! let keys = dir.path().join("alipay").join(demo::ALIPAY_APP_ID);
//!
//! let client = Client::builder(demo::ALIPAY_APP_ID)
//!     .app_private_key_file(keys.join("app_private_key.pem")) // PKCS#1, PKCS#8 or bare base64
//!     .alipay_public_key_file(keys.join("alipay_public_key.pem"))
//!     .gateway_url(format!("{}/gateway.do", sandbox.api_url)) // default: openapi.alipay.com
//!     .extra_root_ca_file(&sandbox.ca_path) // trust the mock's CA
//!     .build()?;
//!
//! let refund = RefundRequest::builder()
//!     .out_trade_no("demo-trade-0001")
//!     .out_request_no("doc-example-1")
//!     .refund_amount(10_000) // fen: the whole 100.00
//!     .build()?;
//! let done = client.trade_refund(&refund).await?;
//! assert_eq!(done.fund_change, Some(true)); // money moved now
//! assert_eq!(done.refund_fee, Some(Fen(10_000))); // refunded so far, in all
//!
//! let trade = client.trade_query(&TradeId::out_trade_no("demo-trade-0001")).await?;
//! assert_eq!(trade.trade_status, Some(TradeStatus::TradeClosed)); // fully refunded
//!
//! match client.trade_refund(&RefundRequest::builder()
//!     .out_trade_no("demo-trade-0001").out_request_no("doc-example-2").refund_amount(1).build()?).await
//! {
//!     Err(Error::Gateway { sub_code: SubCode::AcqTradeHasClose, .. }) => {}
//!     other => panic!("{other:?}"),
//! }
//! # Ok(()) }
//! ```

pub mod alipay;
pub mod clock;
pub mod error;
pub mod reconcile;
pub mod retry;
pub mod tls;
mod transport;
pub mod wechat;
