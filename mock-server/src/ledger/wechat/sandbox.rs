//! The `/sandboxnew/` side of the domain: its own ledger takes the production merchants on
//! first use.

use std::collections::HashMap;
use std::sync::Arc;

use super::model::Merchant;
use super::store::WechatLedger;

impl WechatLedger {
    /// A copy of `merchant` (id, key, appids, settings; no orders or refunds) unless one with
    /// its id exists: the sandbox ledger mirrors production merchants on first use.
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
