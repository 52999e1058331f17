//! What only the admin API does to the ledger: create merchants, set balances and allow-lists,
//! force a refund's final status; and the error those (and seeding) answer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Deserialize;

use super::model::{Merchant, Refund, RefundStatus, V3Identity};
use super::store::WechatLedger;
use crate::clock::Timestamp;

/// What the admin API gives to create a merchant.
#[derive(Debug, Clone, Deserialize)]
pub struct NewMerchant {
    /// Merchant id.
    pub mch_id: String,
    /// Bound appids (at least one).
    pub appids: Vec<String>,
    /// API key (32 characters, like the real ones; some clients refuse other lengths).
    pub api_key: String,
    /// Company name.
    #[serde(default = "default_company")]
    pub company: String,
    /// Refundable balance in fen.
    #[serde(default = "default_balance")]
    pub refundable_balance: u64,
    /// Optional IP allow-list.
    #[serde(default)]
    pub ip_allowlist: Option<Vec<IpAddr>>,
    /// Optional default refund notification URL.
    #[serde(default)]
    pub notify_url: Option<String>,
    /// Optional APIv3 key (32 characters).
    #[serde(default)]
    pub api_v3_key: Option<String>,
    /// The API v3 platform identity (default `public_key`).
    #[serde(default)]
    pub v3_identity: V3Identity,
}

/// Why seeding or an admin change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// Unknown merchant.
    #[error("unknown merchant {0}")]
    UnknownMerchant(String),
    /// Unknown refund.
    #[error("unknown refund {0}")]
    UnknownRefund(String),
    /// Something already exists with that id.
    #[error("{0} already exists")]
    Duplicate(String),
    /// The value is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The refund already has a final status.
    #[error("refund {0} is already final")]
    RefundFinal(String),
    /// No such order.
    #[error("unknown order {0}")]
    UnknownOrder(String),
    /// The order's state does not allow it.
    #[error("{0}")]
    Conflict(String),
}

impl WechatLedger {
    /// Creates a merchant.
    pub fn create_merchant(&mut self, new: NewMerchant) -> Result<Merchant, AdminError> {
        if self.merchants.contains_key(&new.mch_id) {
            return Err(AdminError::Duplicate(format!("merchant {}", new.mch_id)));
        }
        if new.mch_id.is_empty() || new.mch_id.len() > 32 {
            return Err(AdminError::Invalid(
                "mch_id must be 1 to 32 characters".into(),
            ));
        }
        // It names the merchant's certificate directory.
        if !new
            .mch_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(AdminError::Invalid(
                "mch_id may only hold letters, digits, '_' and '-'".into(),
            ));
        }
        if new.appids.is_empty() {
            return Err(AdminError::Invalid(
                "a merchant needs at least one appid".into(),
            ));
        }
        if new.api_key.is_empty() {
            return Err(AdminError::Invalid("api_key must not be empty".into()));
        }
        if let Some(key) = &new.api_v3_key {
            check_api_v3_key(key)?;
        }
        let merchant = Merchant {
            shared_id: Arc::from(new.mch_id.as_str()),
            mch_id: new.mch_id,
            appids: new.appids,
            api_key: new.api_key,
            company: new.company,
            refundable_balance: new.refundable_balance,
            ip_allowlist: new.ip_allowlist,
            notify_url: new.notify_url,
            api_v3_key: new.api_v3_key,
            v3_identity: new.v3_identity,
            v3_switch_started: None,
            orders_by_out_trade_no: HashMap::new(),
            refunds_by_out_refund_no: HashMap::new(),
            old_order_refunds: None,
        };
        self.merchants
            .insert(merchant.mch_id.clone(), merchant.clone());
        Ok(merchant)
    }

    /// Sets a merchant's refundable balance (fen).
    pub fn set_balance(&mut self, mch_id: &str, balance: u64) -> Result<(), AdminError> {
        self.merchant_mut(mch_id)?.refundable_balance = balance;
        Ok(())
    }

    /// Sets or clears a merchant's IP allow-list.
    pub fn set_ip_allowlist(
        &mut self,
        mch_id: &str,
        allowlist: Option<Vec<IpAddr>>,
    ) -> Result<(), AdminError> {
        self.merchant_mut(mch_id)?.ip_allowlist = allowlist;
        Ok(())
    }

    /// Sets a merchant's API v3 platform identity, and its APIv3 key when given. A switch to
    /// [`V3Identity::SwitchOver`] starts its days at `now`.
    pub fn set_v3(
        &mut self,
        mch_id: &str,
        identity: Option<V3Identity>,
        api_v3_key: Option<String>,
        now: crate::clock::Timestamp,
    ) -> Result<Merchant, AdminError> {
        if let Some(key) = &api_v3_key {
            check_api_v3_key(key)?;
        }
        let merchant = self.merchant_mut(mch_id)?;
        if let Some(identity) = identity {
            if identity == V3Identity::SwitchOver && merchant.v3_identity != identity {
                merchant.v3_switch_started = Some(now);
            }
            merchant.v3_identity = identity;
        }
        if api_v3_key.is_some() {
            merchant.api_v3_key = api_v3_key;
        }
        Ok(merchant.clone())
    }

    fn merchant_mut(&mut self, mch_id: &str) -> Result<&mut Merchant, AdminError> {
        self.merchants
            .get_mut(mch_id)
            .ok_or_else(|| AdminError::UnknownMerchant(mch_id.to_owned()))
    }

    /// Forces a PROCESSING refund to a final status now (admin API).
    pub fn force_refund_status(
        &mut self,
        refund_id: &str,
        status: RefundStatus,
        now: Timestamp,
    ) -> Result<Refund, AdminError> {
        self.settle_due(now);
        let index = *self
            .refunds_by_refund_id
            .get(refund_id)
            .ok_or_else(|| AdminError::UnknownRefund(refund_id.to_owned()))?;
        if status == RefundStatus::Processing {
            return Err(AdminError::Invalid(
                "a refund can only be forced to a final status".into(),
            ));
        }
        let settles_at = self
            .refunds
            .get(index)
            .map(|r| r.settles_at)
            .ok_or_else(|| AdminError::UnknownRefund(refund_id.to_owned()))?;
        if self.finish_refund(index, status, now).is_none() {
            return Err(AdminError::RefundFinal(refund_id.to_owned()));
        }
        self.pending.remove(&(settles_at, index));
        self.refunds
            .get(index)
            .cloned()
            .ok_or_else(|| AdminError::UnknownRefund(refund_id.to_owned()))
    }
}

/// An APIv3 key is 32 ASCII characters (it is the AES-256 key's bytes).
fn check_api_v3_key(key: &str) -> Result<(), AdminError> {
    if key.len() == 32 && key.is_ascii() {
        Ok(())
    } else {
        Err(AdminError::Invalid(
            "api_v3_key must be 32 ASCII characters".into(),
        ))
    }
}

pub(super) fn default_company() -> String {
    "paysandbox demo".to_owned()
}

/// One million yuan: enough that NOTENOUGH happens only when a test asks for it.
pub(super) fn default_balance() -> u64 {
    100_000_000
}
