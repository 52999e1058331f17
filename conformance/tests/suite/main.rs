//! The whole suite in-process: one sandbox (frozen clock, the real rules), a small fixed case
//! count (`PROPTEST_CASES` for more); and `broken_ledger`, the suite catching a planted bug.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod broken_ledger;
mod broken_v3_query;

use std::sync::{Arc, Mutex, OnceLock};

use paysandbox_conformance::env::Env;
use paysandbox_conformance::suite::{self, Options};
use paysandbox_conformance::{alipay, concurrency, deviations, vectors, wechat, wechat_v3, wire};

/// The state machines share one sandbox and its clock: one runs at a time.
static SHARED: Mutex<()> = Mutex::new(());

fn env() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(Env::in_process(|_| {}).unwrap()))
        .clone()
}

fn options() -> Options {
    Options::from_env(24)
}

fn report(result: Result<u32, suite::Counterexample>) {
    if let Err(c) = result {
        panic!("{c}");
    }
}

#[test]
fn deviations_file_lists_every_cited_id() {
    let file = deviations::Deviations::embedded().unwrap();
    file.check_cited().unwrap();
    assert!(file.len() >= 50, "rows lost: {}", file.len());
    // Ids are kebab-case and unique, so a citation names exactly one row.
    let mut ids: Vec<&str> = file.iter().map(|d| d.id.as_str()).collect();
    assert!(
        ids.iter().all(|id| id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')),
        "{ids:?}"
    );
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "duplicate ids");
    let row = file.cite(deviations::WX_MCHID_NOT_EXIST_UNSIGNED).unwrap();
    assert!(row.mock.contains("unsigned"), "{row:?}");
}

#[test]
fn a_cited_id_missing_from_the_file_fails() {
    let text = deviations::EMBEDDED.replace("`wx-mchid-not-exist-unsigned`", "`wx-renamed`");
    let file = deviations::Deviations::parse(&text).unwrap();
    assert_eq!(
        file.check_cited(),
        Err(deviations::DeviationError::Missing(
            "wx-mchid-not-exist-unsigned".into()
        ))
    );
    let no_id = deviations::EMBEDDED.replace("| `wx-http2` |", "| |");
    assert!(matches!(
        deviations::Deviations::parse(&no_id),
        Err(deviations::DeviationError::RowWithoutId { .. })
    ));
}

#[test]
fn every_known_answer_vector() {
    let report = vectors::check_all(vectors::KNOWN_ANSWERS).unwrap();
    assert!(report.wechat >= 7, "{report:?}");
    assert_eq!((report.alipay_requests, report.alipay_responses), (4, 4));
    assert_eq!(report.wechat_refund_notify, 3);
    assert_eq!(report.wechat_v3, 8);
    assert!(report.skipped_sections.is_empty(), "{report:?}");
    // An API v3 request signature that no longer matches its message is caught.
    let mut broken: serde_json::Value = serde_json::from_str(vectors::KNOWN_ANSWERS).unwrap();
    broken["wechat_v3"]["request_signatures"][0]["url"] = "/v3/certificates".into();
    assert!(vectors::check_all(&broken.to_string()).is_err());
    // So is a response signature over another body, and a `/v3/certificates` answer
    // decrypted with another APIv3 key.
    let mut broken: serde_json::Value = serde_json::from_str(vectors::KNOWN_ANSWERS).unwrap();
    broken["wechat_v3"]["response_signatures"][0]["body"] = "{}".into();
    assert!(vectors::check_all(&broken.to_string()).is_err());
    let mut broken: serde_json::Value = serde_json::from_str(vectors::KNOWN_ANSWERS).unwrap();
    broken["wechat_v3"]["certificates_decryption"][0]["api_v3_key"] =
        "wrongkeywrongkeywrongkeywrongkey".into();
    assert!(vectors::check_all(&broken.to_string()).is_err());
    // Each of the three required v3 kinds must hold a vector.
    for kind in vectors::WECHAT_V3_REQUIRED {
        let mut emptied: serde_json::Value = serde_json::from_str(vectors::KNOWN_ANSWERS).unwrap();
        emptied["wechat_v3"][kind] = serde_json::json!([]);
        let err = vectors::check_all(&emptied.to_string()).unwrap_err();
        assert!(err.contains(kind), "{err}");
    }
    let mut broken: serde_json::Value = serde_json::from_str(vectors::KNOWN_ANSWERS).unwrap();
    broken["wechat"]["vectors"][0]["md5"] = "00000000000000000000000000000000".into();
    assert!(vectors::check_all(&broken.to_string()).is_err());
    // A refund notification field that the decrypted document does not carry is caught.
    let mut broken: serde_json::Value = serde_json::from_str(vectors::KNOWN_ANSWERS).unwrap();
    broken["wechat_refund_notify"]["vectors"][1]["fields"]["refund_fee"] = "7".into();
    let err = vectors::check_all(&broken.to_string()).unwrap_err();
    assert!(err.contains("refund_fee"), "{err}");
    // So is a req_info that no longer decrypts to its plaintext.
    let mut broken: serde_json::Value = serde_json::from_str(vectors::KNOWN_ANSWERS).unwrap();
    broken["wechat_refund_notify"]["vectors"][0]["api_key"] =
        "wrongkeywrongkeywrongkeywrongkey".into();
    assert!(vectors::check_all(&broken.to_string()).is_err());
    let mut grown: serde_json::Value = serde_json::from_str(vectors::KNOWN_ANSWERS).unwrap();
    grown["future_section"] = serde_json::json!({ "vectors": [] });
    assert_eq!(
        vectors::check_all(&grown.to_string())
            .unwrap()
            .skipped_sections,
        vec!["future_section".to_owned()]
    );
}

#[test]
fn wire_properties() {
    wire::run(&options()).map_err(|c| c.to_string()).unwrap();
}

#[test]
fn wechat_state_machine() {
    let _one_at_a_time = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    report(suite::run_machine::<wechat::Machine>(env(), &options()));
}

#[test]
fn wechat_v2_v3_mixed_state_machine() {
    let _one_at_a_time = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    report(suite::run_machine::<wechat_v3::Machine>(env(), &options()));
}

#[test]
fn alipay_state_machine() {
    let _one_at_a_time = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    report(suite::run_machine::<alipay::Machine>(env(), &options()));
}

#[test]
fn concurrent_refunds_never_over_refund() {
    // Its own sandbox: without spacing and rate limits many refunds of one order can race.
    let env = Arc::new(
        Env::in_process(|c| {
            c.wechat_rules.refund_spacing = std::time::Duration::ZERO;
            c.rate_limits = false;
        })
        .unwrap(),
    );
    concurrency::run(&env, &options())
        .map_err(|c| c.to_string())
        .unwrap();
}
