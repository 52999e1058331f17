//! The dashboard in a real browser: headless Chromium driven through chromedriver (Debian's
//! `chromium` and `chromium-driver`) with fantoccini, against an in-process sandbox, all on
//! 127.0.0.1. Ignored by default so `cargo test --workspace` needs no browser; `.ci/run` runs
//! them with `cargo test -p paysandbox-mock-server --test browser -- --ignored`.
//!
//! Each test starts its own chromedriver on a free loopback port and its own sandbox, and
//! every wait is bounded ([`WAIT`]).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod screenshots;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use paysandbox_protocol::wechat::xml;
use paysandbox_sdk::wechat::{ErrCode, RefundRequest};
use paysandbox_testkit::prelude::*;
use serde_json::{Value, json};

/// The longest any test waits for the page to show something.
const WAIT: Duration = Duration::from_secs(15);

/// A chromedriver process and one browser session on it; both end when dropped (the session
/// first, through [`Browser::quit`], which each test calls).
struct Browser {
    client: Option<Client>,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn chromedriver() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned())
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session.
    async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver could not start ({e}): apt-get install chromium chromium-driver"
                )
            });
        let mut browser = Browser {
            client: None,
            driver,
        };
        let mut capabilities = serde_json::Map::new();
        let mut chrome = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1400,1000",
                "--force-device-scale-factor=1",
                "--lang=en-US",
            ]
        });
        if let Ok(binary) = std::env::var("CHROMIUM") {
            chrome["binary"] = Value::String(binary);
        }
        capabilities.insert("goog:chromeOptions".to_owned(), chrome);
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let connected = ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await;
            match connected {
                Ok(client) => break client,
                // chromedriver takes a moment to listen.
                Err(_) if started.elapsed() < WAIT => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session at {url}: {e}"),
            }
        };
        browser.client = Some(client);
        browser
    }

    fn page(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    /// Opens a dashboard page and waits until it follows the event stream.
    async fn open(&self, sandbox: &Sandbox, path: &str) {
        self.page()
            .goto(&format!("{}{path}", sandbox.running.admin_url))
            .await
            .unwrap();
        self.until(
            "document.getElementById('live').dataset.state === 'live'",
            "the page to subscribe to /admin/events",
        )
        .await;
        // Marks this document: if the page reloaded, the mark is gone.
        self.page()
            .execute("window.notReloaded = true; return true;", vec![])
            .await
            .unwrap();
    }

    /// Waits until `condition` (a JavaScript expression) is true on the page.
    async fn until(&self, condition: &str, what: &str) {
        let script = format!("return !!({condition});");
        let started = Instant::now();
        loop {
            let value = self.page().execute(&script, vec![]).await.unwrap();
            if value == Value::Bool(true) {
                return;
            }
            assert!(
                started.elapsed() < WAIT,
                "waited {WAIT:?} for {what}; the page: {}",
                self.text("main").await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the first element `css` finds.
    async fn text(&self, css: &str) -> String {
        match self.page().find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap(),
            Err(e) => format!("<no {css}: {e}>"),
        }
    }

    async fn click(&self, css: &str) {
        self.page()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self.page().find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Asserts that the page updated itself rather than reloading.
    async fn assert_not_reloaded(&self) {
        let mark = self
            .page()
            .execute("return window.notReloaded === true;", vec![])
            .await
            .unwrap();
        assert_eq!(mark, Value::Bool(true), "the page reloaded");
    }

    async fn quit(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}

fn refund(out_trade_no: &str, out_refund_no: &str, total: u64, fee: u64) -> RefundRequest {
    RefundRequest::builder()
        .out_trade_no(out_trade_no)
        .out_refund_no(out_refund_no)
        .total_fee(total)
        .refund_fee(fee)
        .build()
        .unwrap()
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver; .ci/run runs it"]
async fn a_refund_made_with_the_sdk_appears_live() {
    let sandbox = start().await;
    let browser = Browser::start().await;
    browser.open(&sandbox, "/dashboard/refunds").await;

    let accepted = sandbox
        .wechat_client()
        .refund(&refund("demo-order-0001", "browser-live-1", 1000, 300))
        .await
        .unwrap();

    let row = "tr[data-out-refund-no='browser-live-1']";
    browser
        .until(
            &format!("document.querySelector(\"{row}\")"),
            "the refund's row",
        )
        .await;
    let text = browser.text(row).await;
    assert!(text.contains(&accepted.refund_id), "{text}");
    assert!(text.contains("3.00"), "{text}");
    assert!(text.contains("PROCESSING"), "{text}");
    browser.assert_not_reloaded().await;
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver; .ci/run runs it"]
async fn advancing_the_clock_from_the_page_settles_the_refund_and_lists_its_notification_attempts()
{
    let sandbox = start().await;
    // The merchant's handler fails once, then acknowledges.
    let ack = "<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>";
    let receiver = Receiver::start(&[(500, "busy"), (200, ack)]).await;
    let request = RefundRequest::builder()
        .out_trade_no("demo-order-0002")
        .out_refund_no("browser-settle-1")
        .total_fee(8800)
        .refund_fee(800)
        .notify_url(&receiver.url)
        .build()
        .unwrap();
    let accepted = sandbox.wechat_client().refund(&request).await.unwrap();

    let browser = Browser::start().await;
    browser.open(&sandbox, "/dashboard/refunds").await;
    let row = "tr[data-out-refund-no='browser-settle-1']";
    assert!(browser.text(row).await.contains("PROCESSING"));

    // Ten minutes: the refund settles after 10 s, the first attempt fails, the retry lands.
    browser.type_into("#advance-seconds", "600").await;
    browser.click("#advance").await;
    browser
        .until(
            &format!("(document.querySelector(\"{row}\")?.innerText || '').includes('delivered')"),
            "the refund settled and notified",
        )
        .await;
    let text = browser.text(row).await;
    assert!(text.contains("settled: SUCCESS"), "{text}");
    assert!(text.contains("2 attempts"), "{text}");
    assert!(text.contains("HTTP 500"), "{text}");
    assert!(text.contains("HTTP 200 ✓"), "{text}");
    browser.assert_not_reloaded().await;
    let flash = browser.text("#flash").await;
    assert!(
        flash.starts_with("POST /admin/clock/advance → 200") && flash.contains(&accepted.refund_id),
        "{flash}"
    );

    // The notifications page lists both attempts with the merchant's answers.
    browser.open(&sandbox, "/dashboard/notifications").await;
    let article = "article.notification[data-refund-id='".to_owned() + &accepted.refund_id + "']";
    let text = browser.text(&article).await;
    assert!(text.contains("delivered"), "{text}");
    let attempts = browser
        .page()
        .find_all(Locator::Css(&format!("{article} tr.attempt")))
        .await
        .unwrap();
    assert_eq!(attempts.len(), 2);
    assert!(attempts[0].text().await.unwrap().contains("busy"));
    assert!(attempts[1].text().await.unwrap().contains("SUCCESS"));
    assert_eq!(receiver.bodies().len(), 2);
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver; .ci/run runs it"]
async fn a_fault_injected_from_the_page_fails_the_next_sdk_call_with_its_code() {
    let sandbox = start().await;
    let browser = Browser::start().await;
    browser.open(&sandbox, "/").await;

    browser
        .page()
        .find(Locator::Css("#fault-endpoint"))
        .await
        .unwrap()
        .select_by_value("wechat.refund")
        .await
        .unwrap();
    // Not a code the SDK retries: the call fails at once with it.
    browser.type_into("#fault-code", "NOTENOUGH").await;
    browser.click("#inject-fault").await;
    browser
        .until(
            "document.querySelector('main').innerText.includes('wechat.refund × 1')",
            "the queued fault listed",
        )
        .await;
    let (_, queued) = sandbox
        .admin(reqwest::Method::GET, "/admin/faults", None)
        .await;
    assert_eq!(queued, json!({"wechat.refund": 1}));

    let error = sandbox
        .wechat_client()
        .refund(&refund("demo-order-0001", "browser-fault-1", 1000, 100))
        .await
        .unwrap_err();
    assert_eq!(error.err_code(), Some(&ErrCode::NotEnough), "{error}");
    browser
        .until("document.getElementById('no-faults')", "the fault used up")
        .await;

    // And cleared from the page.
    browser.click("#inject-fault").await;
    browser
        .until(
            "document.querySelector('main').innerText.includes('wechat.refund × 1')",
            "a second fault queued",
        )
        .await;
    browser.click("#clear-faults").await;
    browser
        .until("document.getElementById('no-faults')", "the faults cleared")
        .await;
    browser.assert_not_reloaded().await;
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs chromium and chromium-driver; .ci/run runs it"]
async fn a_journal_entry_opened_shows_its_signature_verdict_and_rule() {
    let sandbox = start().await;
    let browser = Browser::start().await;
    browser.open(&sandbox, "/dashboard/journal").await;

    sandbox
        .wechat_client()
        .refund(&refund("demo-order-0001", "browser-journal-1", 1000, 100))
        .await
        .unwrap();
    // The same request signed with another key.
    let client = sandbox.https_client(ClientCert::Merchant(MCH));
    let forged = signed(
        refund_params("demo-order-0001", "browser-journal-2", 1000, 100),
        "another-key-00000000000000000000",
    );
    sandbox
        .post_raw(&client, "/secapi/pay/refund", xml::encode(&forged))
        .await;

    browser
        .until(
            "document.querySelectorAll('details.entry').length === 2",
            "both requests in the journal",
        )
        .await;
    let newest = "details.entry:nth-of-type(1)";
    let oldest = "details.entry:nth-of-type(2)";
    // Closed, the verdict is only a badge; opened, the details show it and the rule.
    browser.click(&format!("{newest} summary")).await;
    browser
        .until(
            &format!("document.querySelector('{newest}').open"),
            "the entry opened",
        )
        .await;
    assert_eq!(
        browser.text(&format!("{newest} .signature-verdict")).await,
        "bad"
    );
    assert_eq!(
        browser.text(&format!("{newest} .rule")).await,
        "wechat check 5: signature"
    );
    assert!(
        browser
            .text(&format!("{newest} .response"))
            .await
            .contains("签名错误")
    );
    browser.click(&format!("{oldest} summary")).await;
    assert_eq!(
        browser.text(&format!("{oldest} .signature-verdict")).await,
        "ok"
    );
    assert_eq!(browser.text(&format!("{oldest} .rule")).await, "—");

    // A new entry arrives live and the opened ones stay open.
    sandbox
        .wechat_client()
        .refund(&refund("demo-order-0003", "browser-journal-3", 1000, 100))
        .await
        .ok();
    browser
        .until(
            "document.querySelectorAll('details.entry').length === 3",
            "the third request",
        )
        .await;
    browser
        .until(
            "document.querySelectorAll('details.entry[open]').length === 2",
            "the opened entries still open",
        )
        .await;
    browser.assert_not_reloaded().await;
    browser.quit().await;
}
