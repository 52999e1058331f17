//! The crash test of `--persist`: the real `paysandbox serve` refunding under concurrent load
//! on loopback, killed with SIGKILL at a random moment, started again on the same store, 20
//! times in a row. After every restart the ledger must hold every refund that was answered
//! SUCCESS, with the refund_id, order and amount of its answer, and no refund_id may ever be
//! given twice.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use paysandbox_protocol::wechat::{Params, xml};
use paysandbox_testkit::admin::Admin;
use paysandbox_testkit::https::{ClientCert, https_client};
use paysandbox_testkit::sandbox::data_dir;
use paysandbox_testkit::wechat::{KEY, MCH, refund_params, signed};
use serde_json::{Value, json};

const CYCLES: usize = 20;
/// Concurrent clients refunding.
const CLIENTS: usize = 12;
/// Orders refunded round robin, 1 fen at a time.
const ORDERS: usize = 6;
/// Generous for a debug build on a shared two-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A `paysandbox serve --persist` on loopback ports the OS chose.
struct Serve {
    child: Child,
    api_url: String,
    admin: Admin,
}

impl Serve {
    fn start(dir: &Path, store: &Path) -> Serve {
        let ready = dir.join("ready.json");
        let _ = std::fs::remove_file(&ready);
        let child = Command::new(env!("CARGO_BIN_EXE_paysandbox"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir())
            .arg("--persist")
            .arg(store)
            .arg("--ready-file")
            .arg(&ready)
            .args(["--api-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
            .args(["--admin-addr", "127.0.0.1:0", "--no-rate-limits"])
            .args([
                "--no-refund-spacing",
                "--max-refunds-per-order",
                "1000000000",
            ])
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let info: Value = loop {
            if let Ok(text) = std::fs::read_to_string(&ready)
                && let Ok(info) = serde_json::from_str(&text)
            {
                break info;
            }
            assert!(started.elapsed() < START_TIMEOUT, "serve did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        let admin_url = info["admin_url"].as_str().unwrap();
        Serve {
            child,
            api_url: info["api_url"].as_str().unwrap().to_owned(),
            admin: Admin::new(admin_url.trim_end_matches("/admin")).unwrap(),
        }
    }

    /// SIGKILL: no shutdown, no flush, the process is gone mid-whatever.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A refund answered SUCCESS: what its answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Acknowledged {
    refund_id: String,
    out_trade_no: String,
}

/// xorshift64*: random kill moments, reproducible from the seed printed on failure.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn order_no(i: usize) -> String {
    format!("crash-order-{i}")
}

const TOTAL_FEE: u64 = 1_000_000_000;

/// Refunds until the server goes away, recording every SUCCESS answer.
async fn refund_until_killed(
    client: reqwest::Client,
    url: String,
    tag: String,
    acknowledged: Arc<Mutex<HashMap<String, Acknowledged>>>,
) {
    for n in 0.. {
        let out_refund_no = format!("{tag}-{n}");
        let out_trade_no = order_no(n % ORDERS);
        let params = signed(
            refund_params(&out_trade_no, &out_refund_no, TOTAL_FEE, 1),
            KEY,
        );
        let Ok(response) = client.post(&url).body(xml::encode(&params)).send().await else {
            return;
        };
        let Ok(body) = response.text().await else {
            return;
        };
        let answer: Params = xml::decode(body.as_bytes()).unwrap();
        assert_eq!(answer.get("result_code"), Some("SUCCESS"), "{body}");
        let refund_id = answer.get("refund_id").unwrap().to_owned();
        acknowledged.lock().unwrap().insert(
            out_refund_no,
            Acknowledged {
                refund_id,
                out_trade_no,
            },
        );
    }
}

/// Every acknowledged refund is in the ledger as its answer said; no refund_id twice.
async fn check(serve: &Serve, acknowledged: &HashMap<String, Acknowledged>, cycle: usize) {
    let refunds = serve
        .admin
        .wechat_refunds(&format!("mch_id={MCH}"))
        .await
        .unwrap();
    let mut by_no = HashMap::new();
    let mut ids = HashMap::new();
    for refund in &refunds {
        let no = refund["out_refund_no"].as_str().unwrap();
        let id = refund["refund_id"].as_str().unwrap();
        if let Some(other) = ids.insert(id.to_owned(), no.to_owned()) {
            panic!("cycle {cycle}: refund_id {id} given to {other} and {no}");
        }
        by_no.insert(no.to_owned(), refund);
    }
    for (no, ack) in acknowledged {
        let Some(refund) = by_no.get(no) else {
            panic!("cycle {cycle}: acknowledged refund {no} ({ack:?}) lost");
        };
        assert_eq!(
            refund["refund_id"],
            ack.refund_id.as_str(),
            "cycle {cycle}: {no}"
        );
        assert_eq!(refund["out_trade_no"], ack.out_trade_no.as_str(), "{no}");
        assert_eq!(refund["refund_fee"], 1, "{no}");
    }
}

fn store_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("state.redb");
    (dir, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_refund_and_reuses_no_id() {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill moments from seed {seed}");
    let mut random = Random(seed);
    let (dir, store) = store_dir();
    let ca = std::fs::read_to_string(paysandbox_testkit::sandbox::cert_store(data_dir()).ca_path())
        .unwrap();
    let client = https_client(&ca, ClientCert::Merchant(MCH));

    let serve = Serve::start(dir.path(), &store);
    serve
        .admin
        .patch(
            &format!("/admin/wechat/merchants/{MCH}"),
            json!({"refundable_balance": 1_000_000_000_000_u64}),
        )
        .await
        .unwrap();
    for i in 0..ORDERS {
        serve
            .admin
            .seed_order(MCH, &order_no(i), TOTAL_FEE, json!({}))
            .await
            .unwrap();
    }

    let acknowledged = Arc::new(Mutex::new(HashMap::new()));
    // Every refund_id ever answered, with the out_refund_no it was answered for.
    let mut given: HashMap<String, String> = HashMap::new();
    let mut serve = Some(serve);
    for cycle in 0..CYCLES {
        let running = serve.take().unwrap();
        let url = format!("{}/secapi/pay/refund", running.api_url);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                tokio::spawn(refund_until_killed(
                    client.clone(),
                    url.clone(),
                    format!("c{cycle}-{c}"),
                    acknowledged.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50 + random.below(400))).await;
        running.kill();
        for task in clients {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("a client did not notice the kill")
                .unwrap();
        }
        let restarted = Serve::start(dir.path(), &store);
        let acknowledged = acknowledged.lock().unwrap().clone();
        for (no, ack) in &acknowledged {
            if let Some(other) = given.insert(ack.refund_id.clone(), no.clone())
                && other != *no
            {
                panic!("refund_id {} answered for {other} and {no}", ack.refund_id);
            }
        }
        check(&restarted, &acknowledged, cycle).await;
        serve = Some(restarted);
    }
    let acknowledged = acknowledged.lock().unwrap().len();
    eprintln!("{CYCLES} kills, {acknowledged} acknowledged refunds, none lost");
    assert!(acknowledged > CYCLES, "too little load to mean anything");
}
