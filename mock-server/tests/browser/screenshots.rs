//! The screenshots in docs/ (shown in the README and docs/dashboard.md), taken of a sandbox
//! with a little of everything on it. Writes only when `PAYSANDBOX_SCREENSHOTS` names the
//! folder to write to, from the repository root `PAYSANDBOX_SCREENSHOTS=$PWD/docs cargo test
//! -p paysandbox-mock-server --test browser -- --ignored screenshots` (a relative path is taken
//! from `mock-server/`, where cargo runs the test), so CI's run of the browser tests leaves the
//! tree as it was.

use std::path::PathBuf;

use paysandbox_protocol::wechat::xml;
use paysandbox_sdk::wechat::RefundRequest;
use paysandbox_testkit::prelude::*;

use super::{Browser, refund};

#[tokio::test]
#[ignore = "needs chromium and chromium-driver; writes docs/ only with PAYSANDBOX_SCREENSHOTS"]
async fn screenshots_of_the_main_pages() {
    let Some(folder) = std::env::var_os("PAYSANDBOX_SCREENSHOTS").map(PathBuf::from) else {
        eprintln!("PAYSANDBOX_SCREENSHOTS is not set: no screenshots taken");
        return;
    };
    let sandbox = start().await;
    let ack = "<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>";
    let receiver = Receiver::start(&[(500, "busy"), (200, ack)]).await;
    let client = sandbox.wechat_client();
    let notified = RefundRequest::builder()
        .out_trade_no("demo-order-0002")
        .out_refund_no("shop-refund-0001")
        .total_fee(8800)
        .refund_fee(800)
        .notify_url(&receiver.url)
        .build()
        .unwrap();
    client.refund(&notified).await.unwrap();
    sandbox.advance(600).await;
    client
        .refund(&refund("demo-order-0001", "shop-refund-0002", 1000, 300))
        .await
        .unwrap();
    let https = sandbox.https_client(ClientCert::Merchant(MCH));
    let forged = signed(
        refund_params("demo-order-0001", "shop-refund-0003", 1000, 100),
        "another-key-00000000000000000000",
    );
    sandbox
        .post_raw(&https, "/secapi/pay/refund", xml::encode(&forged))
        .await;
    client
        .refund(&refund("no-such-order", "shop-refund-0004", 1000, 100))
        .await
        .ok();
    sandbox
        .alipay(
            "alipay.trade.refund",
            serde_json::json!({"out_trade_no": "demo-trade-0002", "refund_amount": "8.88", "out_request_no": "ali-0001"}),
        )
        .await;

    let browser = Browser::start().await;
    for (path, name, open) in [
        ("/", "sandbox", None),
        ("/dashboard/orders", "orders", None),
        ("/dashboard/refunds", "refunds", None),
        ("/dashboard/notifications", "notifications", None),
        (
            "/dashboard/journal",
            "journal",
            Some("details.entry:nth-of-type(3) summary"),
        ),
    ] {
        browser.open(&sandbox, path).await;
        if let Some(css) = open {
            browser.click(css).await;
        }
        let png = browser.page().screenshot().await.unwrap();
        let file = folder.join(format!("dashboard-{name}.png"));
        std::fs::write(&file, png).unwrap();
        eprintln!("wrote {}", file.display());
    }
    browser.quit().await;
}
