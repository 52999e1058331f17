//! `--persist`: a sandbox with every kind of entity, its store copied while it runs (what a
//! kill -9 would leave on disk, since every answer waited for its commit), and a second
//! sandbox started on the copy: the same state, the same admin views, the clock where it
//! stood, and ids that go on without repeating.

use std::path::{Path, PathBuf};

use paysandbox_mock_server::scenario::{Format, Scenario};
use paysandbox_mock_server::store::RESERVE;
use paysandbox_testkit::sandbox::{Sandbox, start_with};
use serde_json::json;

use crate::round_trip::{busy, refund, views};

async fn persisted(store: &Path) -> Sandbox {
    let store = store.to_owned();
    start_with(move |config| config.persist = Some(store)).await
}

fn copy(from: &Path, dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(from, &to).unwrap();
    to
}

fn scenario(text: &str) -> Scenario {
    Scenario::parse(text, Format::Json, "export.json").unwrap()
}

#[tokio::test]
async fn a_restart_on_the_store_brings_back_the_whole_state_and_ids_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("state.redb");
    let first = busy(persisted(&store).await).await;
    // Clear the faults (a change like any other) so that refunds go through on both sides.
    first.admin_client().clear_faults().await.unwrap();
    let before = first.export_scenario("json").await;
    let before_views = views(&first).await;

    let second = persisted(&copy(&store, dir.path(), "copy.redb")).await;
    let after = second.export_scenario("json").await;
    let (mut a, mut b) = (scenario(&before), scenario(&after));
    // Every record is the same; only the id generator stands further on: at the position
    // the store had reserved, past every id the first one drew.
    let (ids_a, ids_b) = (a.ids.unwrap(), b.ids.unwrap());
    assert_eq!(ids_b.seed, ids_a.seed);
    assert_eq!(ids_b.last_notification_id, ids_a.last_notification_id);
    assert!(
        ids_b.position > ids_a.position && ids_b.position <= ids_a.position + RESERVE,
        "{ids_a:?} -> {ids_b:?}"
    );
    a.ids = None;
    b.ids = None;
    assert_eq!(a, b);
    assert!(!a.wechat.refunds.is_empty() && !a.notifications.is_empty());
    for ((path, a), (_, b)) in before_views.iter().zip(&views(&second).await) {
        assert_eq!(a, b, "{path} differs after the restart");
    }

    // The next refund on each side gets a new id, and the restarted one's is none the
    // first ever gave.
    let given: Vec<String> = a
        .wechat
        .refunds
        .iter()
        .filter_map(|r| r.refund_id.clone())
        .collect();
    let one = refund(&first, "demo-order-0002", "p-next", 8800, 100).await;
    let two = refund(&second, "demo-order-0002", "p-next", 8800, 100).await;
    let (one, two) = (one.get("refund_id").unwrap(), two.get("refund_id").unwrap());
    assert_ne!(one, two);
    assert!(!given.iter().any(|id| id == two), "{two} was given before");

    // A change after the restart is kept too: a third start on a copy of the second's
    // store has the refund and the clock moved by the admin API.
    second.advance(30).await;
    let clock = second.admin_get("/admin/clock").await;
    second
        .admin_client()
        .create_merchant(
            "1900000300",
            json!({"appids": ["wx00000000000000b1"], "api_key": "persistkey000000000000000000000x"}),
        )
        .await
        .unwrap();
    let third = persisted(&copy(
        second.running.state.store().unwrap().path(),
        dir.path(),
        "copy2.redb",
    ))
    .await;
    assert_eq!(third.admin_get("/admin/clock").await, clock);
    assert!(
        third
            .admin_client()
            .merchant("1900000300")
            .await
            .unwrap()
            .is_some()
    );
    let refunds = third.admin_get("/admin/wechat/refunds").await;
    assert!(
        refunds
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["refund_id"] == *two),
        "{refunds}"
    );
}
