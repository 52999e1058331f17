//! Typed requests and responses of every endpoint (refund §3, refund query §4, order query
//! §6.2, unified order and close order §6, getsignkey §8), converted to and from
//! [`Params`](super::Params).
//!
//! Requests: `from_params` checks presence and formats with [`super::fields`] (what the server
//! answers `PARAM_ERROR` to); `validate` runs the same checks on a built value (what the SDK
//! refuses to send). Unknown and legacy fields (`op_user_id`, `device_info`, `detail`,
//! `sub_appid`...) are ignored. Neither `sign` nor its check is handled here.
//!
//! Responses: `to_params` emits what the real platform emits (integers bare, strings as text);
//! `from_params` is lenient on what the platform has been seen to omit, strict on types.
//! Indexed families (`refund_fee_$n`, `coupon_refund_id_$n_$m`) go through one helper,
//! [`wire_name`], which expands a documented pattern with indices.
//!
//! One module per endpoint (`refund`, `refund_query`, `order_query`, `payment` for unified
//! order, close order and getsignkey) over two shared ones (`common`: field readers and
//! writers, common fields, the protocol-failure and result headers; `coupons`).

mod common;
mod coupons;
mod order_query;
mod payment;
mod refund;
mod refund_query;

pub(super) use common::{At, Put};
pub use common::{
    Envelope, MAX_INDEXED_COUNT, OrderId, ResultHeader, ReturnFail, return_fail, wire_name,
};
pub use coupons::{CouponRefund, OrderCoupon};
pub(super) use coupons::{ORDER_COUPONS, get_coupons, put_coupons};
pub use order_query::{OrderQueryRequest, OrderQueryResponse, PaymentInfo};
pub use payment::{
    CloseOrderRequest, CloseOrderResponse, GetSignKeyRequest, GetSignKeyResponse, UnifiedOrder,
    UnifiedOrderRequest, UnifiedOrderResponse, compact_time, spbill_create_ip,
};
pub use refund::{RefundRequest, RefundResponse};
pub use refund_query::{
    RefundQueryRequest, RefundQueryResponse, RefundQuerySelector, RefundRecord,
};

/// Reasons of the conditional-presence [`FieldError`](super::FieldError)s of
/// [`UnifiedOrder::validate`].
pub mod unified_order_reasons {
    pub use super::payment::{OPENID_REQUIRED, PRODUCT_ID_REQUIRED};
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::codes::{ErrCode, return_msg};
    use crate::wechat::fields::FieldError;
    use crate::wechat::params::Params;

    #[test]
    fn wire_names() {
        assert_eq!(wire_name("appid", &[]), "appid");
        assert_eq!(wire_name("refund_fee_$n", &[3]), "refund_fee_3");
        assert_eq!(
            wire_name("coupon_refund_id_$n_$m", &[1, 0]),
            "coupon_refund_id_1_0"
        );
    }

    #[test]
    fn business_error_one_liner() {
        let p = ResultHeader::fail("wx1", "100", "nonce", ErrCode::NotEnough).to_params();
        assert_eq!(p.get("return_code"), Some("SUCCESS"));
        assert_eq!(p.get("return_msg"), Some("OK"));
        assert_eq!(p.get("result_code"), Some("FAIL"));
        assert_eq!(p.get("err_code"), Some("NOTENOUGH"));
        assert_eq!(
            p.get("err_code_des"),
            Some("基本账户余额不足,请充值后重新发起")
        );
        let h = ResultHeader::from_params(&p);
        assert_eq!(h.as_ref().map(ResultHeader::is_success), Ok(false));
        assert_eq!(
            RefundResponse::from_params(&p).err(),
            Some(FieldError::invalid("result_code", "expected SUCCESS"))
        );
    }

    #[test]
    fn return_fail_round_trip_and_sandbox_retmsg() {
        let p = return_fail(return_msg::SIGN_ERROR);
        assert_eq!(
            Envelope::from_params(&p),
            Ok(Envelope::ReturnFail(ReturnFail {
                return_msg: return_msg::SIGN_ERROR.into()
            }))
        );
        let sandbox: Params = [("return_code", "FAIL"), ("retmsg", "x"), ("retcode", "1")]
            .into_iter()
            .collect();
        assert_eq!(
            ReturnFail::from_params(&sandbox).map(|f| f.return_msg),
            Ok("x".into())
        );
        assert!(Envelope::from_params(&Params::new()).is_err());
    }
}
