//! Refunds over v3 (spec §1.1–§1.5): create, query by `out_refund_no`, and the abnormal
//! refund, all on the v2 ledger: one refund is the same record whichever protocol made or
//! reads it, and its status reads ABNORMAL where v2 says CHANGE, CLOSED where v2 says
//! REFUNDCLOSE.

use paysandbox_protocol::beijing;
use paysandbox_protocol::wechat::v3::decode::{self, DecodeError};
use paysandbox_protocol::wechat::v3::error::{ErrorBody, ErrorCode, ErrorDetail, Location};
use paysandbox_protocol::wechat::v3::messages::refund::{
    ABNORMAL_REFUND_REQUEST, Promotion, REFUND_REQUEST,
};
use paysandbox_protocol::wechat::v3::messages::{
    AbnormalRefundRequest, CNY, ID32, OUT_REFUND_NO, Refund, RefundAmount, RefundRequest,
    RefundStatus,
};
use paysandbox_protocol::wechat::v3::oaep;

use super::reply::{self, V3Reply};
use super::{Call, decode_segment};
use crate::clock::Timestamp;
use crate::ids::IdGenerator;
use crate::ledger::wechat::{
    self as ledger, CouponKind, Order, OrderRef, RefundAccount, RefundCommand, RefundSelector,
    WechatLedger,
};

/// `POST /v3/refund/domestic/refunds`.
pub(super) fn create(
    call: &Call<'_>,
    ledger: &mut WechatLedger,
    ids: &mut IdGenerator,
    now: Timestamp,
) -> V3Reply {
    let request = match decode::strict::<RefundRequest>(call.body, REFUND_REQUEST)
        .and_then(|r| r.validate().map(|()| r))
    {
        Ok(request) => request,
        Err(error) => return V3Reply::body(error.to_error_body(Location::Body)),
    };
    // transaction_id wins when both are given, as in v2.
    let order = match (request.transaction_id, request.out_trade_no) {
        (Some(id), _) => OrderRef::TransactionId(id),
        (None, Some(no)) => OrderRef::OutTradeNo(no),
        // validate() refused this already.
        (None, None) => return V3Reply::code(&ErrorCode::ParamError),
    };
    let command = RefundCommand {
        mch_id: call.merchant.mch_id.clone(),
        order,
        out_refund_no: request.out_refund_no,
        total_fee: request.amount.total,
        refund_fee: request.amount.refund,
        // AVAILABLE is v2's REFUND_SOURCE_RECHARGE_FUNDS (可用余额), UNSETTLED its default.
        refund_account: request.funds_account.as_deref().map(|a| match a {
            "AVAILABLE" => RefundAccount::RechargeFunds,
            _ => RefundAccount::UnsettledFunds,
        }),
        notify_url: request.notify_url,
        refund_desc: request.reason,
        api_v3: true,
    };
    match ledger.refund(command, now, ids) {
        Ok(accepted) => V3Reply::json(&refund_object(&accepted.refund, &accepted.order)),
        Err(error) => reply::refund_error(&error),
    }
}

/// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
pub(super) fn query(
    call: &Call<'_>,
    segment: &str,
    ledger: &mut WechatLedger,
    now: Timestamp,
) -> V3Reply {
    let out_refund_no = match path_parameter(segment, "out_refund_no", "商户退款单号") {
        Ok(no) => no,
        Err(reply) => return reply,
    };
    // The conformance suite's planted bug (off unless its own test sets it).
    let diverge = ledger.rules().v3_query_divergence_for_tests;
    match ledger.query_refunds(
        &call.merchant.mch_id,
        &RefundSelector::OutRefundNo(out_refund_no),
        0,
        now,
    ) {
        Ok(page) => match page.refunds.first() {
            Some(refund) => {
                let mut object = refund_object(refund, &page.order);
                if diverge && refund.status == ledger::RefundStatus::Processing {
                    object.status = RefundStatus::Success.as_str().to_owned();
                }
                V3Reply::json(&object)
            }
            None => reply::refund_query_error(&ledger::RefundQueryError::RefundNotExist),
        },
        Err(error) => reply::refund_query_error(&error),
    }
}

/// `POST /v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund` (spec §1.5): an
/// ABNORMAL refund sent to the user's bank card (`bank_account` and `real_name` RSA-OAEP
/// encrypted with the platform identity the request's `Wechatpay-Serial` names) or to the
/// merchant's.
pub(super) fn abnormal(
    call: &Call<'_>,
    segment: &str,
    ledger: &mut WechatLedger,
    now: Timestamp,
) -> V3Reply {
    let refund_id = match decode_segment(segment) {
        Some(id)
            if decode::check_parameter("refund_id", "微信支付退款单号", Some(&id), &ID32)
                .is_ok() =>
        {
            id
        }
        _ => {
            return V3Reply::body(
                DecodeError::Rule {
                    pointer: "/refund_id".into(),
                    label: "微信支付退款单号",
                    value: serde_json::Value::String(segment.to_owned()),
                    violation: decode::Violation::Pattern("^[0-9A-Za-z_]{1,32}$"),
                }
                .to_error_body(Location::UriTemplate),
            );
        }
    };
    let request = match decode::strict::<AbnormalRefundRequest>(call.body, ABNORMAL_REFUND_REQUEST)
        .and_then(|r| r.validate().map(|()| r))
    {
        Ok(request) => request,
        Err(error) => return V3Reply::body(error.to_error_body(Location::Body)),
    };
    let account = if request.kind == "USER_BANK_CARD" {
        match user_bank_card(call, &request) {
            Ok(account) => account,
            Err(reply) => return reply,
        }
    } else {
        "商户银行卡".to_owned()
    };
    match ledger.redirect_abnormal(
        &call.merchant.mch_id,
        &refund_id,
        &request.out_refund_no,
        account,
        now,
    ) {
        Ok((refund, order)) => V3Reply::json(&refund_object(&refund, &order)),
        Err(error) => reply::redirect_error(&error),
    }
}

/// The user's card as the refund's `user_received_account`: the bank and the card's last four
/// digits, after decrypting the sensitive fields with the key `Wechatpay-Serial` names.
fn user_bank_card(call: &Call<'_>, request: &AbnormalRefundRequest) -> Result<String, V3Reply> {
    // deviation: wx3-abnormal-refund
    let Some(key) = call
        .request_serial
        .and_then(|serial| call.keys.decryption_key(serial))
    else {
        return Err(V3Reply::body(
            ErrorBody::new(
                &ErrorCode::ParamError,
                "Wechatpay-Serial须为加密敏感信息所用的平台证书序列号或微信支付公钥ID",
            )
            .with_detail(ErrorDetail {
                field: Some("Wechatpay-Serial".to_owned()),
                location: Some(Location::Header.as_str().to_owned()),
                ..ErrorDetail::default()
            }),
        ));
    };
    let mut plain = Vec::new();
    for (value, pointer, label) in [
        (&request.bank_account, "/bank_account", "收款银行卡号"),
        (&request.real_name, "/real_name", "收款用户姓名"),
    ] {
        let text = value.as_deref().unwrap_or_default();
        match oaep::decrypt_field(key, text) {
            Ok(decrypted) => plain.push(decrypted),
            Err(error) => {
                return Err(V3Reply::body(
                    DecodeError::Rule {
                        pointer: pointer.to_owned(),
                        label,
                        value: serde_json::Value::Null,
                        violation: decode::Violation::Business(format!("解密失败: {error}")),
                    }
                    .to_error_body(Location::Body),
                ));
            }
        }
    }
    let card = plain.first().map(String::as_str).unwrap_or_default();
    let last4: String = card
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Ok(format!(
        "{}{last4}",
        request.bank_type.as_deref().unwrap_or_default()
    ))
}

/// A path parameter, percent-decoded and checked against the `out_refund_no` rule (PARAM_ERROR
/// at `uri_template` otherwise).
fn path_parameter(
    segment: &str,
    name: &'static str,
    label: &'static str,
) -> Result<String, V3Reply> {
    let decoded = decode_segment(segment);
    match decode::check_parameter(name, label, decoded.as_deref(), &OUT_REFUND_NO) {
        Ok(()) => decoded.ok_or_else(|| V3Reply::code(&ErrorCode::ParamError)),
        Err(DecodeError::Missing { pointer, label }) => Err(V3Reply::body(
            DecodeError::Rule {
                pointer,
                label,
                value: serde_json::Value::String(segment.to_owned()),
                violation: decode::Violation::Pattern("percent-encoded UTF-8"),
            }
            .to_error_body(Location::UriTemplate),
        )),
        Err(error) => Err(V3Reply::body(error.to_error_body(Location::UriTemplate))),
    }
}

/// A refund status as v3 spells it.
pub(super) fn status(status: ledger::RefundStatus) -> RefundStatus {
    match status {
        ledger::RefundStatus::Processing => RefundStatus::Processing,
        ledger::RefundStatus::Success => RefundStatus::Success,
        ledger::RefundStatus::Refundclose => RefundStatus::Closed,
        ledger::RefundStatus::Change => RefundStatus::Abnormal,
    }
}

/// The refund object of create, query and the abnormal refund: the ledger's refund in v3's
/// words. The user's share (`payer_refund`) is v2's cash_refund_fee, coupons are promotions.
pub(super) fn refund_object(refund: &ledger::Refund, order: &Order) -> Refund {
    let discount_refund: u64 = refund.coupon_refunds.iter().map(|c| c.fee).sum();
    Refund {
        refund_id: refund.refund_id.clone(),
        out_refund_no: refund.out_refund_no.clone(),
        transaction_id: order.transaction_id.to_string(),
        out_trade_no: order.out_trade_no.to_string(),
        channel: refund.refund_channel.clone(),
        user_received_account: refund.refund_recv_account.clone(),
        success_time: refund
            .success_at
            .filter(|_| refund.status == ledger::RefundStatus::Success)
            .map(|at| beijing::rfc3339(at.0)),
        create_time: beijing::rfc3339(refund.requested_at.0),
        status: status(refund.status).as_str().to_owned(),
        funds_account: Some(
            match refund.refund_account {
                RefundAccount::RechargeFunds => "AVAILABLE",
                RefundAccount::UnsettledFunds => "UNSETTLED",
            }
            .to_owned(),
        ),
        amount: RefundAmount {
            total: order.total_fee,
            refund: refund.refund_fee,
            from: Vec::new(),
            payer_total: order.cash_fee(),
            payer_refund: refund.cash_refund_fee,
            settlement_refund: refund.settlement_refund_fee,
            settlement_total: order.settlement_total_fee(),
            discount_refund,
            currency: CNY.to_owned(),
            refund_fee: None,
        },
        promotion_detail: refund
            .coupon_refunds
            .iter()
            .map(|c| Promotion {
                promotion_id: c.coupon_id.clone(),
                scope: "GLOBAL".to_owned(),
                kind: match c.kind {
                    CouponKind::Cash => "COUPON",
                    CouponKind::NoCash => "DISCOUNT",
                }
                .to_owned(),
                amount: order
                    .coupons
                    .iter()
                    .find(|o| o.id == c.coupon_id)
                    .map_or(c.fee, |o| o.fee),
                refund_amount: c.fee,
                goods_detail: Vec::new(),
            })
            .collect(),
    }
}
