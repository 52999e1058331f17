//! `paysandbox serve` as a pipeline starts it: listeners on port 0 report the ports they got,
//! `--json` prints the start-up information as one JSON object, `--ready-file` appears once
//! every listener is bound, `/admin/health` answers ready, and a broken scenario stops the
//! start with the file, line and field. Each test runs the real binary on loopback and stops
//! it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use paysandbox_mock_server::demo;
use paysandbox_testkit::https::http_client;
use paysandbox_testkit::sandbox::{data_dir, start};
use serde_json::Value;

/// Generous: a debug build on a shared two-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A running `paysandbox serve`, killed when dropped.
struct Serve {
    child: Child,
    stdout: mpsc::Receiver<String>,
}

/// Every listener on an OS-chosen loopback port.
const PORT_ZERO: [&str; 6] = [
    "--api-addr",
    "127.0.0.1:0",
    "--http-addr",
    "127.0.0.1:0",
    "--admin-addr",
    "127.0.0.1:0",
];

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_paysandbox"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir())
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        Serve {
            child,
            stdout: receiver,
        }
    }

    fn line(&self) -> String {
        self.stdout
            .recv_timeout(START_TIMEOUT)
            .unwrap_or_else(|e| panic!("no line from serve: {e}"))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn port(address: &Value) -> u16 {
    let address: std::net::SocketAddr = address.as_str().unwrap().parse().unwrap();
    assert!(address.ip().is_loopback(), "{address}");
    address.port()
}

async fn get(url: &str) -> (u16, Value) {
    let response = http_client().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap())
}

fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn port_zero_listeners_report_the_ports_they_got_as_one_json_line() {
    let mut args = PORT_ZERO.to_vec();
    args.extend(["--no-demo", "--json"]);
    let serve = Serve::start(&args);
    let info: Value = serde_json::from_str(&serve.line()).unwrap();
    let listening = &info["listening"];
    let (api, http, admin) = (
        port(&listening["api"]),
        port(&listening["http"]),
        port(&listening["admin"]),
    );
    assert!(api != 0 && http != 0 && admin != 0, "{info}");
    assert_eq!(info["api_url"], format!("https://127.0.0.1:{api}"));
    assert_eq!(info["http_url"], format!("http://127.0.0.1:{http}"));
    assert_eq!(
        info["alipay_gateway_url"],
        format!("http://127.0.0.1:{http}/gateway.do")
    );
    assert_eq!(info["admin_url"], format!("http://127.0.0.1:{admin}/admin"));
    assert_eq!(info["pid"], serve.child.id());
    assert_eq!(info["scenario"], "none (--no-demo)");
    assert_eq!(info["merchants"], Value::Array(Vec::new()));
    assert_eq!(info["apps"], Value::Array(Vec::new()));
    assert!(Path::new(info["ca_path"].as_str().unwrap()).is_file());
    // The ports are really served: the admin API answers on its own.
    let (status, index) = get(info["admin_url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(index["endpoints"].as_array().unwrap().len() > 30);
    // Nothing else on stdout: one object, for scripts.
    assert!(
        serve
            .stdout
            .recv_timeout(Duration::from_millis(300))
            .is_err()
    );
}

#[tokio::test]
async fn json_names_every_merchant_and_app_of_the_scenario_with_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "ci.toml",
        &format!(
            "[[wechat.merchants]]\nmch_id = \"{}\"\nappids = [\"{}\"]\napi_key = \"{}\"\ncompany = \"{}\"\n\
             [[wechat.orders]]\nmch_id = \"{}\"\nout_trade_no = \"ci-1\"\ntotal_fee = 42\n\
             [[alipay.apps]]\napp_id = \"{}\"\n",
            demo::MCH_ID,
            demo::APPID,
            demo::API_KEY,
            demo::COMPANY,
            demo::MCH_ID,
            demo::ALIPAY_APP_ID
        ),
    );
    let scenario_arg = scenario.to_str().unwrap();
    let mut args = PORT_ZERO.to_vec();
    args.extend(["--json", "--scenario", scenario_arg]);
    let serve = Serve::start(&args);
    let info: Value = serde_json::from_str(&serve.line()).unwrap();
    assert_eq!(info["scenario"], scenario_arg);
    let merchants = info["merchants"].as_array().unwrap();
    assert_eq!(merchants.len(), 1, "{info}");
    let merchant = &merchants[0];
    assert_eq!(merchant["mch_id"], demo::MCH_ID);
    assert_eq!(merchant["appids"], serde_json::json!([demo::APPID]));
    assert_eq!(merchant["api_key"], demo::API_KEY);
    assert_eq!(merchant["p12_password"], demo::MCH_ID);
    for file in ["cert_path", "key_path", "p12_path"] {
        assert!(
            Path::new(merchant[file].as_str().unwrap()).is_file(),
            "{file}"
        );
    }
    // What a v3 client needs: the scenario sets no v3 fields, so the defaults.
    let v3 = &merchant["v3"];
    assert_eq!(v3["identity"], "public_key", "{v3}");
    assert_eq!(v3["api_v3_key"], Value::Null);
    assert_eq!(v3["private_key_path"], merchant["key_path"]);
    assert!(
        v3["public_key_id"]
            .as_str()
            .unwrap()
            .starts_with("PUB_KEY_ID_")
    );
    assert_eq!(v3["serial_no"].as_str().unwrap().len(), 40, "{v3}");
    for file in ["platform_certificate_path", "public_key_path"] {
        assert!(Path::new(v3[file].as_str().unwrap()).is_file(), "{file}");
    }
    let apps = info["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["app_id"], demo::ALIPAY_APP_ID);
    for file in [
        "app_private_key_path",
        "app_private_key_pkcs8_path",
        "app_private_key_base64_path",
        "app_private_key_pkcs8_base64_path",
        "app_public_key_path",
        "alipay_public_key_path",
        "alipay_public_key_base64_path",
    ] {
        assert!(
            Path::new(apps[0][file].as_str().unwrap()).is_file(),
            "{file}"
        );
    }
    // The sandbox holds the scenario, not the demo data.
    let admin = info["admin_url"].as_str().unwrap();
    let (_, orders) = get(&format!("{admin}/wechat/orders")).await;
    let numbers: Vec<&str> = orders
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["out_trade_no"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["ci-1"]);
}

#[tokio::test]
async fn the_ready_file_appears_whole_once_every_listener_is_bound() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let mut args = PORT_ZERO.to_vec();
    args.extend(["--no-demo", "--ready-file", ready.to_str().unwrap()]);
    let serve = Serve::start(&args);
    let started = Instant::now();
    while !ready.exists() {
        assert!(started.elapsed() < START_TIMEOUT, "no ready file");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Written whole (renamed into place), and nothing else left beside it.
    let info: Value = serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
    // The banner (no --json) prints the bound addresses, not port 0.
    let admin_port = port(&info["listening"]["admin"]);
    assert_eq!(
        serve.line(),
        format!("paysandbox is running (pid {})", serve.child.id())
    );
    let banner: Vec<String> = (0..6).map(|_| serve.line()).collect();
    assert!(
        banner
            .iter()
            .any(|l| l.ends_with(&format!("http://127.0.0.1:{admin_port}/admin"))),
        "{banner:?}"
    );
    // Ready means ready: the admin API answers at once, and says where everything is.
    let (status, health) = get(&format!("{}/health", info["admin_url"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    assert_eq!(health["ready"], true);
    assert_eq!(health["listening"], info["listening"]);
}

#[tokio::test]
async fn health_answers_ready_with_the_bound_addresses() {
    let sandbox = start().await;
    let health = sandbox.admin_get("/admin/health").await;
    let admin_port = sandbox.running.admin_url.rsplit(':').next().unwrap();
    assert_eq!(health["ready"], true);
    assert_eq!(port(&health["listening"]["admin"]).to_string(), admin_port);
    let api_port = sandbox.running.api_url.rsplit(':').next().unwrap();
    assert_eq!(port(&health["listening"]["api"]).to_string(), api_port);
    let http_port = sandbox.running.http_url.rsplit(':').next().unwrap();
    assert_eq!(port(&health["listening"]["http"]).to_string(), http_port);
}

#[test]
fn a_broken_scenario_stops_serve_with_the_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "broken.toml",
        "# a comment\n[[wechat.merchants]]\nmch_id = \"m1\"\nappids = [\"wx1\"]\napi_key = 7\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_paysandbox"))
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir())
        .args(PORT_ZERO)
        .arg("--scenario")
        .arg(&scenario)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end(),
        format!(
            "paysandbox: {}:5:11: wechat.merchants[0].api_key: invalid type: integer `7`, expected a string",
            scenario.display()
        )
    );
    assert!(output.stdout.is_empty());
}

/// The transaction_id the sandbox generates for a seeded order.
async fn generated_id(info: &Value) -> String {
    let admin = info["admin_url"].as_str().unwrap();
    let response = http_client()
        .post(format!("{admin}/wechat/orders"))
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"mch_id": "{}", "total_fee": 100}}"#,
            demo::MCH_ID
        ))
        .send()
        .await
        .unwrap();
    let order: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    order["transaction_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn ids_differ_across_restarts_unless_a_seed_asks_for_replay() {
    let mut seen = Vec::new();
    for seed in [None, None, Some("7"), Some("7")] {
        let mut args = vec!["--json"];
        args.extend(PORT_ZERO);
        if let Some(seed) = seed {
            args.extend(["--seed", seed]);
        }
        let serve = Serve::start(&args);
        let info: Value = serde_json::from_str(&serve.line()).unwrap();
        seen.push((info["seed"].as_u64().unwrap(), generated_id(&info).await));
    }
    assert_ne!(seen[0].0, seen[1].0, "two starts drew the same seed");
    assert_ne!(seen[0].1, seen[1].1, "two starts handed out the same id");
    assert_eq!((seen[2].0, seen[3].0), (7, 7));
    assert_eq!(seen[2].1, seen[3].1, "--seed replays the ids");
}
