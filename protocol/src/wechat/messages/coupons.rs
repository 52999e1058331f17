//! Coupons: the same (type, id, fee) triple under three naming schemes (refund response,
//! refund query record, order query and payment notification).

use super::common::{At, Put, Result};
use crate::wechat::codes::CouponType;

/// The patterns of one coupon family.
pub(in crate::wechat) struct CouponNames {
    count: &'static str,
    kind: &'static str,
    id: &'static str,
    fee: &'static str,
}

/// Refund response (§3.2): `coupon_refund_count`, `coupon_type_$n`...
pub(super) const REFUND_COUPONS: CouponNames = CouponNames {
    count: "coupon_refund_count",
    kind: "coupon_type_$n",
    id: "coupon_refund_id_$n",
    fee: "coupon_refund_fee_$n",
};
/// Refund query record `$n` (§4.2): `coupon_refund_count_$n`, `coupon_type_$n_$m`...
pub(super) const RECORD_COUPONS: CouponNames = CouponNames {
    count: "coupon_refund_count_$n",
    kind: "coupon_type_$n_$m",
    id: "coupon_refund_id_$n_$m",
    fee: "coupon_refund_fee_$n_$m",
};
/// Order query (§6.2) and payment notification (§6.4): `coupon_count`, `coupon_type_$n`,
/// `coupon_id_$n`, `coupon_fee_$n`.
pub(in crate::wechat) const ORDER_COUPONS: CouponNames = CouponNames {
    count: "coupon_count",
    kind: "coupon_type_$n",
    id: "coupon_id_$n",
    fee: "coupon_fee_$n",
};

/// A coupon type seen through its (type, id, fee) triple.
pub(in crate::wechat) trait CouponTriple: Sized {
    fn parts(&self) -> (Option<CouponType>, &str, u64);
    fn from_parts(kind: Option<CouponType>, id: String, fee: u64) -> Self;
}

/// Writes the counter (always, even 0: real responses carry zero counters) and each coupon.
pub(in crate::wechat) fn put_coupons<C: CouponTriple>(
    put: &mut Put<'_>,
    names: &CouponNames,
    coupons: &[C],
) {
    put.int(names.count, coupons.len());
    let mut path = put.path.to_vec();
    path.push(0);
    for (m, c) in coupons.iter().enumerate() {
        if let Some(last) = path.last_mut() {
            *last = m;
        }
        let (kind, id, fee) = c.parts();
        let mut at = put.at(&path);
        at.opt_text(names.kind, kind.map(CouponType::as_str));
        at.text(names.id, id);
        at.int(names.fee, fee);
    }
}

/// Reads coupons driven by the counter; stops at the first missing required field with an
/// error rather than trusting the counter for allocation.
pub(in crate::wechat) fn get_coupons<C: CouponTriple>(
    at: At<'_>,
    names: &CouponNames,
) -> Result<Vec<C>> {
    let count = at.count(names.count)?;
    let mut path = at.path.to_vec();
    path.push(0);
    let mut out = Vec::new();
    for m in 0..count {
        if let Some(last) = path.last_mut() {
            *last = m;
        }
        let c = At {
            params: at.params,
            path: &path,
        };
        out.push(C::from_parts(
            c.opt_enum(names.kind, CouponType::from_wire)?,
            c.text(names.id)?,
            c.uint(names.fee)?,
        ));
    }
    Ok(out)
}

/// One coupon refunded (§3.2 `coupon_*_$n`, §4.2 `coupon_*_$n_$m`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponRefund {
    /// `coupon_type_*`: `CASH` / `NO_CASH`; optional on the wire.
    pub coupon_type: Option<CouponType>,
    /// `coupon_refund_id_*`.
    pub coupon_refund_id: String,
    /// `coupon_refund_fee_*`, fen.
    pub coupon_refund_fee: u64,
}

impl CouponTriple for CouponRefund {
    fn parts(&self) -> (Option<CouponType>, &str, u64) {
        (
            self.coupon_type,
            &self.coupon_refund_id,
            self.coupon_refund_fee,
        )
    }
    fn from_parts(coupon_type: Option<CouponType>, id: String, fee: u64) -> Self {
        Self {
            coupon_type,
            coupon_refund_id: id,
            coupon_refund_fee: fee,
        }
    }
}

/// One coupon used to pay an order (§6.2 `coupon_*_$n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCoupon {
    /// `coupon_type_$n`: `CASH` / `NO_CASH`; optional on the wire.
    pub coupon_type: Option<CouponType>,
    /// `coupon_id_$n`.
    pub coupon_id: String,
    /// `coupon_fee_$n`, fen.
    pub coupon_fee: u64,
}

impl CouponTriple for OrderCoupon {
    fn parts(&self) -> (Option<CouponType>, &str, u64) {
        (self.coupon_type, &self.coupon_id, self.coupon_fee)
    }
    fn from_parts(coupon_type: Option<CouponType>, id: String, fee: u64) -> Self {
        Self {
            coupon_type,
            coupon_id: id,
            coupon_fee: fee,
        }
    }
}
