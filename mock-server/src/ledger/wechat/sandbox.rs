//! The WeChat sandbox's side of the domain (`/sandboxnew/`, spec §8): the sandbox keys that
//! getsignkey issues, each valid [`KEY_LIFETIME`] on the injected clock, and the sandbox's own
//! ledger, which takes the production merchants on first use.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::model::Merchant;
use super::store::WechatLedger;
use crate::clock::{Timestamp, When};
use crate::ids::IdGenerator;
use crate::record::RecordError;

/// How long a sandbox key is valid (§8.1: "about 3 days"; deviation:
/// `wx-sandbox-key-lifetime`).
pub const KEY_LIFETIME: Duration = Duration::from_secs(3 * 86_400);

/// One merchant's sandbox key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxKey {
    /// The merchant.
    pub mch_id: String,
    /// `sandbox_signkey`.
    pub key: String,
    /// When getsignkey issued it.
    pub issued_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// The sandbox keys of every merchant that asked for one.
#[derive(Debug, Default)]
pub struct SandboxKeys {
    keys: HashMap<String, SandboxKey>,
}

impl SandboxKeys {
    /// The merchant's key, if it has one that is still valid at `now`.
    pub fn current(&self, mch_id: &str, now: Timestamp) -> Option<&str> {
        self.keys
            .get(mch_id)
            .filter(|k| now < k.expires_at)
            .map(|k| k.key.as_str())
    }

    /// The merchant's valid key, or a new one if it has none (or it expired).
    pub fn issue(&mut self, mch_id: &str, now: Timestamp, ids: &mut IdGenerator) -> SandboxKey {
        if let Some(key) = self.keys.get(mch_id).filter(|k| now < k.expires_at) {
            return key.clone();
        }
        let key = SandboxKey {
            mch_id: mch_id.to_owned(),
            key: ids.wechat_sandbox_signkey(),
            issued_at: now,
            expires_at: now.plus(KEY_LIFETIME),
        };
        self.keys.insert(mch_id.to_owned(), key.clone());
        key
    }

    /// Every key issued, valid or not, sorted by merchant.
    pub fn list(&self) -> Vec<SandboxKey> {
        let mut keys: Vec<SandboxKey> = self.keys.values().cloned().collect();
        keys.sort_by(|a, b| a.mch_id.cmp(&b.mch_id));
        keys
    }

    /// Every key as a record, sorted by merchant.
    pub fn records(&self) -> Vec<SandboxKeyRecord> {
        self.list()
            .into_iter()
            .map(|k| SandboxKeyRecord {
                mch_id: k.mch_id,
                key: k.key,
                issued_at: When::At(k.issued_at),
            })
            .collect()
    }

    /// The keys `records` list (each valid [`KEY_LIFETIME`] from its issue), relative times
    /// counted from `now`; `known` says whether a merchant exists.
    ///
    /// # Errors
    /// An unknown merchant, or one listed twice.
    pub fn restore(
        records: &[SandboxKeyRecord],
        now: Timestamp,
        known: impl Fn(&str) -> bool,
    ) -> Result<SandboxKeys, RecordError> {
        let mut keys = SandboxKeys::default();
        for (i, record) in records.iter().enumerate() {
            let path = format!("[{i}] (mch_id {})", record.mch_id);
            if !known(&record.mch_id) {
                return Err(RecordError::at(
                    path,
                    "unknown merchant (list it under wechat.merchants)",
                ));
            }
            if record.key.is_empty() {
                return Err(RecordError::at(path, "key must not be empty"));
            }
            let issued_at = record.issued_at.resolve(now);
            let key = SandboxKey {
                mch_id: record.mch_id.clone(),
                key: record.key.clone(),
                issued_at,
                expires_at: issued_at.plus(KEY_LIFETIME),
            };
            if keys.keys.insert(record.mch_id.clone(), key).is_some() {
                return Err(RecordError::at(path, "the merchant has two keys"));
            }
        }
        Ok(keys)
    }
}

/// A sandbox key as a scenario file writes it (it expires [`KEY_LIFETIME`] after its issue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxKeyRecord {
    /// The merchant (of the production ledger).
    pub mch_id: String,
    /// `sandbox_signkey`.
    pub key: String,
    /// When getsignkey issued it.
    pub issued_at: When,
}

impl WechatLedger {
    /// A copy of `merchant` (id, key, appids, settings; no orders or refunds) unless one with
    /// its id exists: the sandbox ledger mirrors production merchants on first use (deviation:
    /// `wx-sandbox-merchants`).
    pub fn mirror_merchant(&mut self, merchant: &Merchant) {
        if self.merchants.contains_key(&merchant.mch_id) {
            return;
        }
        let copy = Merchant {
            shared_id: Arc::from(merchant.mch_id.as_str()),
            orders_by_out_trade_no: HashMap::new(),
            refunds_by_out_refund_no: HashMap::new(),
            old_order_refunds: None,
            ..merchant.clone()
        };
        self.merchants.insert(copy.mch_id.clone(), copy);
    }

    /// The ledger a call acts on: `sandbox_ledger` for `/sandboxnew/` calls (`sandbox`),
    /// after mirroring the merchant `mch_id` from `production` into it (see
    /// [`WechatLedger::mirror_merchant`]), else `production`.
    pub fn select<'a>(
        production: &'a mut WechatLedger,
        sandbox_ledger: &'a mut WechatLedger,
        sandbox: bool,
        mch_id: &str,
    ) -> &'a mut WechatLedger {
        if !sandbox {
            return production;
        }
        if let Some(merchant) = production.merchant(mch_id) {
            sandbox_ledger.mirror_merchant(merchant);
        }
        sandbox_ledger
    }
}
