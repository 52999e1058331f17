//! The WeChat sandbox ("仿真测试系统", §8): every endpoint again under `/sandboxnew/`, with
//! its own ledger (orders made there are invisible on production paths and the other way
//! round), signed with a sandbox key from `/sandboxnew/pay/getsignkey`, MD5 only.
//!
//! Choices (the real sandbox is loosely documented):
//! - the key is 32 lower-case hex digits and lives three days on the injected clock;
//!   getsignkey answers the same key while it lives and a new one after, and a call signed
//!   with an expired key fails like one signed with any wrong key;
//! - `/sandboxnew/pay/refund` needs no client certificate (the path that works on the real
//!   sandbox); `/sandboxnew/secapi/pay/refund` (the path wechatpy and node-tenpay use)
//!   behaves like production `/secapi/`: certificate required;
//! - the sandbox has no rate limits, and its merchants are the production ones (copied into
//!   its ledger on first use, with their own balance).

use std::collections::HashMap;
use std::time::Duration;

use paysandbox_protocol::wechat::codes::return_msg as msg;
use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::{FieldErrorKind, GetSignKeyRequest, GetSignKeyResponse, Params};
use serde::Serialize;

use super::reply::Reply;
use crate::clock::Timestamp;
use crate::ids::IdGenerator;
use crate::state::AppState;

/// The path prefix of every sandbox endpoint.
pub const PREFIX: &str = "/sandboxnew";

/// How long a sandbox key is valid (§8.1: "about 3 days").
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
}

/// `POST /sandboxnew/pay/getsignkey`: `mch_id`, `nonce_str`, `sign` (MD5 with the real API
/// key) -> `sandbox_signkey`, unsigned. Missing fields -> `缺少参数`; anything else wrong (an
/// unknown merchant, another sign type, a signature that does not verify) -> the observed
/// `获取沙箱密钥失败,确认交易密钥是否正确`.
pub fn getsignkey(params: &Params, state: &AppState, now: Timestamp) -> Reply {
    let fail = || Reply::ProtocolFail(msg::GETSIGNKEY_FAIL.into());
    if params.non_empty("sign").is_none() {
        return Reply::ProtocolFail(msg::LACK_PARAMS.into());
    }
    let request = match GetSignKeyRequest::from_params(params) {
        Ok(request) => request,
        Err(error) if error.kind == FieldErrorKind::Missing => {
            return Reply::ProtocolFail(msg::LACK_PARAMS.into());
        }
        Err(_) => return fail(),
    };
    if sign::request_sign_type(params) != Ok(SignType::Md5) {
        return fail();
    }
    let api_key = {
        let world = state.world();
        world
            .wechat
            .merchant(&request.mch_id)
            .map(|m| m.api_key.clone())
    };
    let Some(api_key) = api_key else {
        return fail();
    };
    if !sign::verify(params, &api_key, SignType::Md5) {
        return fail();
    }
    let mut world = state.world();
    let world = &mut *world;
    let key = world
        .sandbox_keys
        .issue(&request.mch_id, now, &mut world.ids);
    Reply::Plain(
        GetSignKeyResponse {
            mch_id: key.mch_id,
            sandbox_signkey: key.key,
        }
        .to_params(),
    )
}
