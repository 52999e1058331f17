//! The persisted store of `serve --persist`: the state kept on disk as the same records a
//! scenario holds ([`crate::scenario`]), one row per entity, so that a restart (or a crash)
//! loads it back with [`Scenario::load`].
//!
//! # Rows
//! One [redb](https://www.redb.org) table per section, keyed by a `u64`, each value the JSON
//! of a record (fixed-width keys in small per-section trees: the earlier single table keyed by
//! `(section, key)` spent much of each commit building and comparing variable-width keys):
//!
//! - entities that are many and change one at a time, under their position in the state:
//!   `wechat.orders`, `wechat.refunds` (and the same for `wechat_sandbox`), `alipay.trades`,
//!   `alipay.refunds` by index in the ledger's lists; `notifications` by id;
//! - small sections written whole, under key 0, whenever they differ from what was last
//!   written: the merchants, apps, sandbox keys, faults, the events not yet notified, the
//!   clock (its offset, or its frozen time), where the id generator stands, the format.
//!
//! The ledgers and the outbox note which of their entities changed ([`crate::record::Changed`],
//! only while a store tracks them); [`Store::collect`] takes those under the state's locks
//! and turns them into one [`Batch`].
//!
//! # Durable before the answer
//! [`Store::sync`] is group commit: a request that may have changed something calls it
//! before its answer is sent, and it returns once a commit that began after the call is on
//! disk (redb's immediate durability: the commit is fsynced). One caller at a time commits,
//! for everyone who asked up to the moment it collected; those who asked while it was
//! writing are served by the next commit. Nothing queues but the waiting requests
//! themselves (one per connection) and the sets of changed keys (at most one per entity).
//!
//! # Ids
//! The id generator is persisted ahead of use: the store keeps a position
//! [`RESERVE`] words past where the generator stands and moves it on well before the
//! generator gets there. A restart continues from the reserved position, so no id or nonce
//! given before a crash is drawn again, whether or not its commit made it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use redb::{Database, ReadableTable, TableDefinition, TableHandle};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::SavedClock;
use crate::faults::Faults;
use crate::outbox::Outbox;
use crate::scenario::{IdsRecord, Scenario};
use crate::world::World;

/// A section's table: key to a record's JSON.
fn table(section: &'static str) -> TableDefinition<'static, u64, &'static [u8]> {
    TableDefinition::new(section)
}

/// The single table of the first layout ([`FORMAT`] `paysandbox-store-1`), refused by name.
const FIRST_LAYOUT: &str = "state";

/// Words of the id generator's stream reserved ahead of its position (a WeChat id draws a
/// few dozen; a reservation lasts for some hundred thousand ids).
pub const RESERVE: u64 = 1 << 24;
/// The reservation is moved on once the generator is this close to it.
const RESERVE_LOW: u64 = RESERVE / 2;

/// The version of the rows' layout, kept in `meta`.
const FORMAT: &str = "paysandbox-store-2";

mod section {
    pub const META: &str = "meta";
    pub const CLOCK: &str = "clock";
    pub const IDS: &str = "ids";
    pub const FAULTS: &str = "faults";
    pub const SANDBOX_KEYS: &str = "wechat_sandbox_keys";
    pub const NOTIFICATIONS: &str = "notifications";
    pub const ALIPAY_APPS: &str = "alipay.apps";
    pub const ALIPAY_TRADES: &str = "alipay.trades";
    pub const ALIPAY_REFUNDS: &str = "alipay.refunds";
    pub const ALIPAY_EVENTS: &str = "alipay.events";

    /// Every section, in the order a store is read.
    pub const ALL: [&str; 18] = [
        META,
        CLOCK,
        IDS,
        FAULTS,
        SANDBOX_KEYS,
        NOTIFICATIONS,
        ALIPAY_APPS,
        ALIPAY_TRADES,
        ALIPAY_REFUNDS,
        ALIPAY_EVENTS,
        WECHAT.merchants,
        WECHAT.orders,
        WECHAT.refunds,
        WECHAT.events,
        WECHAT_SANDBOX.merchants,
        WECHAT_SANDBOX.orders,
        WECHAT_SANDBOX.refunds,
        WECHAT_SANDBOX.events,
    ];

    /// The sections of one WeChat ledger.
    pub struct Wechat {
        pub merchants: &'static str,
        pub orders: &'static str,
        pub refunds: &'static str,
        pub events: &'static str,
    }

    pub const WECHAT: Wechat = Wechat {
        merchants: "wechat.merchants",
        orders: "wechat.orders",
        refunds: "wechat.refunds",
        events: "wechat.events",
    };

    pub const WECHAT_SANDBOX: Wechat = Wechat {
        merchants: "wechat_sandbox.merchants",
        orders: "wechat_sandbox.orders",
        refunds: "wechat_sandbox.refunds",
        events: "wechat_sandbox.events",
    };
}

/// The store could not be opened, read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("persisted store {path}: {message}")]
pub struct StoreError {
    /// The store's file.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// One row to write (`Some`) or delete (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Its section.
    pub section: &'static str,
    /// Its key within the section (0 for a small section).
    pub key: u64,
    /// The record's JSON, or `None` to delete it.
    pub value: Option<Vec<u8>>,
}

/// What one commit writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Delete every row first (the whole state is being written).
    pub replace_all: bool,
    /// Rows to write or delete, in order.
    pub rows: Vec<Row>,
}

impl Batch {
    /// Whether it writes nothing.
    pub fn is_empty(&self) -> bool {
        !self.replace_all && self.rows.is_empty()
    }
}

/// What a store held when it was opened: the state as a scenario, and the clock.
#[derive(Debug, Clone)]
pub struct Saved {
    /// Every record, to load with [`Scenario::load`].
    pub scenario: Scenario,
    /// The clock's setting, if one was saved.
    pub clock: Option<SavedClock>,
}

#[derive(Debug, Default)]
struct Tickets {
    /// Calls to [`Store::sync`] so far.
    requested: u64,
    /// Every call up to this one is covered by a commit on disk.
    committed: u64,
}

/// The persisted store (see the module docs).
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    db: Arc<Database>,
    /// Write everything at the next commit: the state was replaced (start, reset, a scenario
    /// loaded) or a commit failed.
    replace: AtomicBool,
    /// The small sections as last written, to write only those that differ.
    written: Mutex<HashMap<&'static str, Vec<u8>>>,
    /// The id generator's position persisted as reserved.
    reserved: Mutex<u64>,
    tickets: Mutex<Tickets>,
    /// One committer at a time; the others wait their turn and usually find their change
    /// already committed.
    turn: tokio::sync::Mutex<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain values: a panic elsewhere cannot leave them half-changed.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    // Records are plain data (strings, numbers, lists): serializing them cannot fail, and an
    // empty row would be refused at load rather than load wrong.
    serde_json::to_vec(value).unwrap_or_default()
}

impl Store {
    /// Opens the store at `path` (creating it and its directory if missing) and reads what it
    /// holds: `None` for a new store.
    ///
    /// # Errors
    /// The file cannot be opened (another process holds it, it is not a store) or a row
    /// cannot be read.
    pub fn open(path: &Path) -> Result<(Store, Option<Saved>), StoreError> {
        let error = |message: String| StoreError {
            path: path.display().to_string(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| error(e.to_string()))?;
        }
        let db = Database::create(path).map_err(|e| error(e.to_string()))?;
        let store = Store {
            path: path.to_owned(),
            db: Arc::new(db),
            replace: AtomicBool::new(true),
            written: Mutex::default(),
            reserved: Mutex::new(0),
            tickets: Mutex::default(),
            turn: tokio::sync::Mutex::new(()),
        };
        let saved = store.read().map_err(error)?;
        Ok((store, saved))
    }

    /// Where the store is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Option<Saved>, String> {
        let txn = self.db.begin_read().map_err(|e| e.to_string())?;
        for handle in txn.list_tables().map_err(|e| e.to_string())? {
            let name = handle.name();
            if name == FIRST_LAYOUT {
                return Err(format!(
                    "written as paysandbox-store-1 (an earlier layout), this build reads {FORMAT}: \
                     move the file away (or delete it) to start a new store"
                ));
            }
            if !section::ALL.contains(&name) {
                return Err(format!("unknown table {name:?}: not a store of this build"));
            }
        }
        let mut scenario = Scenario::default();
        let mut clock = None;
        let mut format = None;
        for name in section::ALL {
            let table = match txn.open_table(table(name)) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => continue,
                Err(e) => return Err(e.to_string()),
            };
            for row in table.iter().map_err(|e| e.to_string())? {
                let (key, value) = row.map_err(|e| e.to_string())?;
                let index = key.value();
                let bytes = value.value();
                let at = || format!("row ({name}, {index})");
                fn decode<T: DeserializeOwned>(bytes: &[u8], at: String) -> Result<T, String> {
                    serde_json::from_slice(bytes).map_err(|e| format!("{at}: {e}"))
                }
                let wechat = |name: &str| {
                    if name.starts_with("wechat_sandbox.") {
                        Some((&section::WECHAT_SANDBOX, true))
                    } else if name.starts_with("wechat.") {
                        Some((&section::WECHAT, false))
                    } else {
                        None
                    }
                };
                match name {
                    section::META => format = Some(decode::<String>(bytes, at())?),
                    section::CLOCK => clock = Some(decode(bytes, at())?),
                    section::IDS => scenario.ids = Some(decode(bytes, at())?),
                    section::FAULTS => scenario.faults = decode(bytes, at())?,
                    section::SANDBOX_KEYS => scenario.wechat_sandbox_keys = decode(bytes, at())?,
                    section::NOTIFICATIONS => scenario.notifications.push(decode(bytes, at())?),
                    section::ALIPAY_APPS => scenario.alipay.apps = decode(bytes, at())?,
                    section::ALIPAY_TRADES => scenario.alipay.trades.push(decode(bytes, at())?),
                    section::ALIPAY_REFUNDS => scenario.alipay.refunds.push(decode(bytes, at())?),
                    section::ALIPAY_EVENTS => scenario.alipay.events = decode(bytes, at())?,
                    _ => {
                        let Some((names, sandbox)) = wechat(name) else {
                            return Err(format!("{}: unknown section", at()));
                        };
                        let records = if sandbox {
                            &mut scenario.wechat_sandbox
                        } else {
                            &mut scenario.wechat
                        };
                        if name == names.merchants {
                            records.merchants = decode(bytes, at())?;
                        } else if name == names.orders {
                            records.orders.push(decode(bytes, at())?);
                        } else if name == names.refunds {
                            records.refunds.push(decode(bytes, at())?);
                        } else if name == names.events {
                            records.events = decode(bytes, at())?;
                        } else {
                            return Err(format!("{}: unknown section", at()));
                        }
                    }
                }
            }
        }
        match format.as_deref() {
            None => Ok(None),
            Some(FORMAT) => Ok(Some(Saved { scenario, clock })),
            Some(other) => Err(format!("written as {other}, this build reads {FORMAT}")),
        }
    }

    /// Marks the whole state for writing at the next commit: call it, under the world's
    /// lock, whenever the state is replaced rather than changed (a scenario loaded, a reset).
    pub fn replace_all(&self) {
        self.replace.store(true, Ordering::SeqCst);
    }

    /// Goes on from the state the store held at [`Store::open`], now loaded into `world` and
    /// `outbox`: its rows stay as they are, and from now on only changes are written (rather
    /// than everything again, which a large store would make the first answer wait for).
    pub fn resume(&self, world: &mut World, outbox: &mut Outbox) {
        self.replace.store(false, Ordering::SeqCst);
        world.wechat.track_changes();
        world.wechat_sandbox.track_changes();
        world.alipay.track_changes();
        outbox.track_changes();
    }

    /// What the next commit writes: everything that changed since the last one (or, after
    /// [`Store::replace_all`], everything), taken from the state under its locks. Starts the
    /// ledgers and the outbox tracking their changes.
    pub fn collect(
        &self,
        world: &mut World,
        outbox: &mut Outbox,
        faults: &Faults,
        clock: SavedClock,
    ) -> Batch {
        let replace_all = self.replace.swap(false, Ordering::SeqCst);
        let mut rows = Vec::new();
        let mut written = lock(&self.written);
        if replace_all {
            written.clear();
            // The changes noted so far are in the records written now.
            world.wechat.take_changes();
            world.wechat_sandbox.take_changes();
            world.alipay.take_changes();
            outbox.take_changes();
            world.wechat.track_changes();
            world.wechat_sandbox.track_changes();
            world.alipay.track_changes();
            outbox.track_changes();
            rows.push(Row {
                section: section::META,
                key: 0,
                value: Some(json(&FORMAT)),
            });
            let full = Scenario::of(world, outbox, faults, Default::default(), false);
            for (names, records) in [
                (&section::WECHAT, &full.wechat),
                (&section::WECHAT_SANDBOX, &full.wechat_sandbox),
            ] {
                for (i, order) in records.orders.iter().enumerate() {
                    rows.push(entity(names.orders, i, order));
                }
                for (i, refund) in records.refunds.iter().enumerate() {
                    rows.push(entity(names.refunds, i, refund));
                }
            }
            for (i, trade) in full.alipay.trades.iter().enumerate() {
                rows.push(entity(section::ALIPAY_TRADES, i, trade));
            }
            for (i, refund) in full.alipay.refunds.iter().enumerate() {
                rows.push(entity(section::ALIPAY_REFUNDS, i, refund));
            }
            for notification in &full.notifications {
                rows.push(Row {
                    section: section::NOTIFICATIONS,
                    key: notification.id,
                    value: Some(json(notification)),
                });
            }
        } else {
            for (names, ledger) in [
                (&section::WECHAT, &mut world.wechat),
                (&section::WECHAT_SANDBOX, &mut world.wechat_sandbox),
            ] {
                let changes = ledger.take_changes();
                for (i, order) in &changes.orders {
                    rows.push(entity(names.orders, *i, order));
                }
                for (i, refund) in &changes.refunds {
                    rows.push(entity(names.refunds, *i, refund));
                }
            }
            let changes = world.alipay.take_changes();
            for (i, trade) in &changes.trades {
                rows.push(entity(section::ALIPAY_TRADES, *i, trade));
            }
            for (i, refund) in &changes.refunds {
                rows.push(entity(section::ALIPAY_REFUNDS, *i, refund));
            }
            for (id, notification) in outbox.take_changes() {
                rows.push(Row {
                    section: section::NOTIFICATIONS,
                    key: id,
                    value: notification.as_ref().map(json),
                });
            }
        }
        // The id generator: reserve ahead of where it stands.
        let position = world.ids.position();
        let reserved = {
            let mut reserved = lock(&self.reserved);
            if replace_all || reserved.saturating_sub(position) < RESERVE_LOW {
                *reserved = position.saturating_add(RESERVE);
            }
            *reserved
        };
        let ids = IdsRecord {
            seed: world.ids.seed(),
            position: reserved,
            last_notification_id: Some(outbox.last_id()),
        };
        let small = [
            (section::CLOCK, json(&clock)),
            (section::IDS, json(&ids)),
            (section::FAULTS, json(&faults.records())),
            (section::SANDBOX_KEYS, json(&world.sandbox_keys.records())),
            (
                section::WECHAT.merchants,
                json(&world.wechat.merchant_records()),
            ),
            (section::WECHAT.events, json(&world.wechat.event_records())),
            (
                section::WECHAT_SANDBOX.merchants,
                json(&world.wechat_sandbox.merchant_records()),
            ),
            (
                section::WECHAT_SANDBOX.events,
                json(&world.wechat_sandbox.event_records()),
            ),
            (section::ALIPAY_APPS, json(&world.alipay.app_records())),
            (section::ALIPAY_EVENTS, json(&world.alipay.event_records())),
        ];
        for (name, bytes) in small {
            if written.get(name) != Some(&bytes) {
                rows.push(Row {
                    section: name,
                    key: 0,
                    value: Some(bytes.clone()),
                });
                written.insert(name, bytes);
            }
        }
        Batch { replace_all, rows }
    }

    /// Returns once every change made before the call is on disk: the caller's own, and
    /// those its answer may show. `collect` takes the changes under the state's locks
    /// ([`Store::collect`]); it runs in whichever caller commits for the group.
    ///
    /// # Errors
    /// The commit failed; the next one writes the whole state again.
    pub async fn sync(&self, collect: impl FnOnce() -> Batch) -> Result<(), StoreError> {
        let ticket = {
            let mut tickets = lock(&self.tickets);
            tickets.requested = tickets.requested.saturating_add(1);
            tickets.requested
        };
        let _turn = self.turn.lock().await;
        let target = {
            let tickets = lock(&self.tickets);
            if tickets.committed >= ticket {
                return Ok(());
            }
            tickets.requested
        };
        let batch = collect();
        if !batch.is_empty() {
            let db = self.db.clone();
            let written = tokio::task::spawn_blocking(move || write(&db, &batch))
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            if let Err(message) = written {
                // What this batch held is no longer noted as changed: write it all again.
                self.replace_all();
                lock(&self.written).clear();
                return Err(StoreError {
                    path: self.path.display().to_string(),
                    message,
                });
            }
        }
        let mut tickets = lock(&self.tickets);
        tickets.committed = tickets.committed.max(target);
        Ok(())
    }
}

fn entity<T: Serialize>(section: &'static str, index: usize, record: &T) -> Row {
    Row {
        section,
        key: u64::try_from(index).unwrap_or(u64::MAX),
        value: Some(json(record)),
    }
}

/// Writes one batch in one transaction and commits it durably (fsync).
fn write(db: &Database, batch: &Batch) -> Result<(), String> {
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    if batch.replace_all {
        let tables: Vec<_> = txn.list_tables().map_err(|e| e.to_string())?.collect();
        for handle in tables {
            txn.delete_table(handle).map_err(|e| e.to_string())?;
        }
    }
    // Grouped by section (a stable sort: rows of one key keep their order), each table
    // opened once.
    let mut rows: Vec<&Row> = batch.rows.iter().collect();
    rows.sort_by_key(|row| row.section);
    for group in rows.chunk_by(|a, b| a.section == b.section) {
        let Some(first) = group.first() else { continue };
        let mut table = txn
            .open_table(table(first.section))
            .map_err(|e| e.to_string())?;
        for row in group {
            match &row.value {
                Some(value) => {
                    table
                        .insert(row.key, value.as_slice())
                        .map_err(|e| e.to_string())?;
                }
                None => {
                    table.remove(row.key).map_err(|e| e.to_string())?;
                }
            }
        }
    }
    txn.commit().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::ledger::alipay::AlipayRules;
    use crate::ledger::wechat::{NewMerchant, SeedOrder, WechatRules};

    fn sections(batch: &Batch) -> Vec<(&str, u64)> {
        batch.rows.iter().map(|r| (r.section, r.key)).collect()
    }

    #[test]
    fn a_store_of_the_first_layout_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            let old: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new(FIRST_LAYOUT);
            txn.open_table(old)
                .unwrap()
                .insert(("meta", 0), b"\"paysandbox-store-1\"".as_slice())
                .unwrap();
            txn.commit().unwrap();
        }
        let error = Store::open(&path).unwrap_err();
        assert!(
            error.message.starts_with(
                "written as paysandbox-store-1 (an earlier layout), this build reads paysandbox-store-2"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_commit_writes_what_changed_and_nothing_when_nothing_did() {
        let dir = tempfile::tempdir().unwrap();
        let (store, saved) = Store::open(&dir.path().join("s.redb")).unwrap();
        assert!(saved.is_none());
        let mut world = World::new(&WechatRules::default(), &AlipayRules::default(), 7);
        let mut outbox = Outbox::default();
        let faults = Faults::default();
        let clock = SavedClock::System { offset_ms: 0 };
        let now = Timestamp(1_700_000_000_000);

        let first = store.collect(&mut world, &mut outbox, &faults, clock);
        assert!(first.replace_all);
        write(&store.db, &first).unwrap();
        // A read-only request finds nothing to write: no transaction, no fsync.
        assert!(
            store
                .collect(&mut world, &mut outbox, &faults, clock)
                .is_empty()
        );

        let merchant: NewMerchant = serde_json::from_value(serde_json::json!({
            "mch_id": "1900000001", "appids": ["wx0000000000000001"],
            "api_key": "k0000000000000000000000000000000"}))
        .unwrap();
        world.wechat.create_merchant(merchant).unwrap();
        for no in ["o-1", "o-2"] {
            let seed = SeedOrder {
                mch_id: "1900000001".into(),
                out_trade_no: Some(no.into()),
                total_fee: 100,
                ..SeedOrder::default()
            };
            world.wechat.seed_order(seed, now, &mut world.ids).unwrap();
        }
        let batch = store.collect(&mut world, &mut outbox, &faults, clock);
        assert!(!batch.replace_all);
        assert_eq!(
            sections(&batch),
            vec![
                ("wechat.orders", 0),
                ("wechat.orders", 1),
                ("wechat.merchants", 0)
            ]
        );
        write(&store.db, &batch).unwrap();
        assert!(
            store
                .collect(&mut world, &mut outbox, &faults, clock)
                .is_empty()
        );

        // What is on disk reads back as the same records.
        let saved = store.read().unwrap().unwrap();
        assert_eq!(saved.scenario.wechat.orders, world.wechat.records().orders);
        assert_eq!(
            saved.scenario.wechat.merchants,
            world.wechat.merchant_records()
        );
        assert_eq!(saved.clock, Some(clock));
        let ids = saved.scenario.ids.unwrap();
        assert!(ids.position >= world.ids.position() + RESERVE_LOW);
    }
}
