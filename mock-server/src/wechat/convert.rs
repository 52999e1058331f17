//! Ledger values in their wire types.

use paysandbox_protocol::wechat::{
    CouponRefund, CouponType, RefundAccount, RefundRecord, RefundStatus,
};

use crate::ledger::wechat as ledger;

/// A ledger refund status on the wire.
pub fn refund_status(status: ledger::RefundStatus) -> RefundStatus {
    match status {
        ledger::RefundStatus::Processing => RefundStatus::Processing,
        ledger::RefundStatus::Success => RefundStatus::Success,
        ledger::RefundStatus::Refundclose => RefundStatus::RefundClose,
        ledger::RefundStatus::Change => RefundStatus::Change,
    }
}

/// A ledger refund account on the wire.
pub fn refund_account(account: ledger::RefundAccount) -> RefundAccount {
    match account {
        ledger::RefundAccount::UnsettledFunds => RefundAccount::UnsettledFunds,
        ledger::RefundAccount::RechargeFunds => RefundAccount::RechargeFunds,
    }
}

/// A wire refund account in the ledger.
pub fn ledger_refund_account(account: RefundAccount) -> ledger::RefundAccount {
    match account {
        RefundAccount::UnsettledFunds => ledger::RefundAccount::UnsettledFunds,
        RefundAccount::RechargeFunds => ledger::RefundAccount::RechargeFunds,
    }
}

/// A ledger coupon kind on the wire.
pub fn coupon_type(kind: ledger::CouponKind) -> CouponType {
    match kind {
        ledger::CouponKind::Cash => CouponType::Cash,
        ledger::CouponKind::NoCash => CouponType::NoCash,
    }
}

/// The coupon parts of a refund.
pub fn coupon_refunds(refund: &ledger::Refund) -> Vec<CouponRefund> {
    refund
        .coupon_refunds
        .iter()
        .map(|c| CouponRefund {
            coupon_type: Some(coupon_type(c.kind)),
            coupon_refund_id: c.coupon_id.clone(),
            coupon_refund_fee: c.fee,
        })
        .collect()
}

/// A refund as a refund-query record (§4.2).
pub fn refund_record(refund: &ledger::Refund) -> RefundRecord {
    RefundRecord {
        out_refund_no: refund.out_refund_no.clone(),
        refund_id: refund.refund_id.clone(),
        refund_channel: Some(paysandbox_protocol::wechat::RefundChannel::Original),
        refund_fee: refund.refund_fee,
        settlement_refund_fee: Some(refund.settlement_refund_fee),
        coupon_refund_fee: refund.coupon_refunds.iter().map(|c| c.fee).sum(),
        coupons: coupon_refunds(refund),
        refund_status: refund_status(refund.status),
        refund_account: Some(refund_account(refund.refund_account)),
        refund_recv_accout: Some(refund.refund_recv_account.clone()),
        refund_success_time: refund.success_at.map(|t| t.beijing_datetime()),
    }
}
