//! The WeChat sandbox ("仿真测试系统", §8): every endpoint again under `/sandboxnew/`, with
//! its own ledger (orders made there are invisible on production paths and the other way
//! round), signed with a sandbox key from `/sandboxnew/pay/getsignkey`, MD5 only.
//!
//! Choices (the real sandbox is loosely documented), each with its DEVIATIONS.md row:
//! - the key is 32 lower-case hex digits and lives three days on the injected clock;
//!   getsignkey answers the same key while it lives and a new one after, and a call signed
//!   with an expired key fails like one signed with any wrong key (the keys are domain state:
//!   [`SandboxKeys`](crate::ledger::wechat::SandboxKeys); deviation: `wx-sandbox-key-lifetime`);
//! - `/sandboxnew/pay/refund` needs no client certificate (the path that works on the real
//!   sandbox); `/sandboxnew/secapi/pay/refund` (the path wechatpy and node-tenpay use)
//!   behaves like production `/secapi/`: certificate required (deviation:
//!   `wx-sandbox-secapi-refund`);
//! - the sandbox has no rate limits (deviation: `wx-sandbox-rate-limits`), and its merchants
//!   are the production ones, copied into its ledger on first use, with their own balance
//!   (deviation: `wx-sandbox-merchants`);
//! - its answers carry none of the real sandbox's extra fields (deviation:
//!   `wx-sandbox-quirks`).

use paysandbox_protocol::wechat::codes::return_msg as msg;
use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::{FieldErrorKind, GetSignKeyRequest, GetSignKeyResponse, Params};

use super::reply::Reply;
use crate::clock::Timestamp;
use crate::state::AppState;

/// The path prefix of every sandbox endpoint.
pub const PREFIX: &str = "/sandboxnew";

/// `POST /sandboxnew/pay/getsignkey`: `mch_id`, `nonce_str`, `sign` (MD5 with the real API
/// key) -> `sandbox_signkey`, unsigned. Missing fields -> `缺少参数`; anything else wrong (an
/// unknown merchant, another sign type, a signature that does not verify) -> the observed
/// `获取沙箱密钥失败,确认交易密钥是否正确` (deviations: `wx-getsignkey-failure`,
/// `wx-getsignkey-unsigned`).
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
