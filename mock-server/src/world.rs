//! The mutable world of a sandbox: every ledger, what the platforms keep beside their ledgers
//! (the WeChat sandbox keys, the Alipay bill download links), and the id generator that names
//! things in them. The domain's state in one value, behind one mutex in
//! [`crate::state::AppState`], so that one operation sees and changes it atomically.

use crate::ids::IdGenerator;
use crate::ledger::alipay::{AlipayLedger, AlipayRules, BillLinks};
use crate::ledger::wechat::{SandboxKeys, WechatLedger, WechatRules};

/// Ledgers, the state beside them, and the RNG that names things in them.
#[derive(Debug)]
pub struct World {
    /// The WeChat ledger.
    pub wechat: WechatLedger,
    /// The WeChat sandbox's own ledger (`/sandboxnew/`), merchants mirrored from `wechat`.
    pub wechat_sandbox: WechatLedger,
    /// The sandbox keys issued by `/sandboxnew/pay/getsignkey`.
    pub sandbox_keys: SandboxKeys,
    /// The Alipay ledger.
    pub alipay: AlipayLedger,
    /// Alipay bill download links issued by the gateway (30 s each).
    pub alipay_bills: BillLinks,
    /// Ids and nonces.
    pub ids: IdGenerator,
}

impl World {
    /// An empty world with these rules, its ids drawn from `seed`.
    pub fn new(wechat_rules: &WechatRules, alipay_rules: &AlipayRules, seed: u64) -> World {
        World {
            wechat: WechatLedger::new(wechat_rules.clone()),
            wechat_sandbox: WechatLedger::new(wechat_rules.clone()),
            sandbox_keys: SandboxKeys::default(),
            alipay: AlipayLedger::new(alipay_rules.clone()),
            alipay_bills: BillLinks::default(),
            ids: IdGenerator::seeded(seed),
        }
    }

    /// The WeChat ledger a call acts on (the sandbox's for `/sandboxnew/` calls, with the
    /// merchant mirrored into it first: [`WechatLedger::select`]) and the id generator.
    pub fn wechat_ledger(
        &mut self,
        sandbox: bool,
        mch_id: &str,
    ) -> (&mut WechatLedger, &mut IdGenerator) {
        let ledger =
            WechatLedger::select(&mut self.wechat, &mut self.wechat_sandbox, sandbox, mch_id);
        (ledger, &mut self.ids)
    }
}
