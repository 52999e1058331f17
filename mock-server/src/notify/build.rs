//! Notification bodies from ledger state: one function per kind, each returning a [`Draft`].

use paysandbox_protocol::alipay::TradeStatus as WireTradeStatus;
use paysandbox_protocol::alipay::notify::{NotifyFundBill, TradeNotification, sign_notification};
use paysandbox_protocol::alipay::{SignType as AlipaySignType, encode_urlencoded};
use paysandbox_protocol::wechat::notify::{
    PaymentNotification, RefundNotification, RefundNotifyInfo,
};
use paysandbox_protocol::wechat::{
    CouponType, OrderCoupon, RefundAccount, RefundStatus as WireRefundStatus, ResultCode, SignType,
};

use crate::clock::Timestamp;
use crate::ids::IdGenerator;
use crate::ledger::alipay::{TradeEvent, TradeEventKind, TradeStatus};
use crate::ledger::wechat::{CouponKind, FinishedRefund, OrderRef, WechatLedger};
use crate::outbox::{Draft, Kind, Platform};
use crate::state::AppState;

use crate::outbox::{FORM, XML};

/// Why a WeChat payment notification could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentNotifyError {
    /// No such merchant.
    #[error("unknown merchant {0}")]
    UnknownMerchant(String),
    /// No such order for the merchant.
    #[error("unknown order")]
    UnknownOrder,
    /// The order is not paid (only paid orders are notified).
    #[error("order is {0}, not paid")]
    NotPaid(&'static str),
    /// The notify URL is empty.
    #[error("notify_url is empty")]
    NoUrl,
}

/// The refund result notification of a refund that reached a final status (§5). The URL is
/// the refund's `notify_url`, else the merchant's default; `None` only if the order or
/// merchant vanished (a reset between the event and its collection).
pub(super) fn wechat_refund(
    ledger: &WechatLedger,
    ids: &mut IdGenerator,
    finished: &FinishedRefund,
) -> Option<Draft> {
    let FinishedRefund { refund, order, at } = finished;
    let merchant = ledger.merchant(&order.mch_id)?;
    let status = WireRefundStatus::from_wire(refund.status.as_str())?;
    let info = RefundNotifyInfo {
        out_refund_no: refund.out_refund_no.clone(),
        out_trade_no: order.out_trade_no.to_string(),
        refund_account: RefundAccount::from_wire(refund.refund_account.as_str()),
        refund_fee: refund.refund_fee,
        refund_id: refund.refund_id.clone(),
        refund_recv_accout: Some(refund.refund_recv_account.clone()),
        refund_request_source: Some(refund.request_source.clone()),
        refund_status: status,
        settlement_refund_fee: Some(refund.settlement_refund_fee),
        settlement_total_fee: Some(order.settlement_total_fee()),
        success_time: refund.success_at.map(Timestamp::beijing_datetime),
        total_fee: order.total_fee,
        transaction_id: order.transaction_id.to_string(),
    };
    let url = refund
        .notify_url
        .clone()
        .or_else(|| merchant.notify_url.clone())
        .filter(|u| !u.is_empty());
    // Nothing is sent without a URL: skip the encryption (and the RNG draw), which keeps
    // refund load tests, whose refunds have no URL, as fast as before.
    let body = match url {
        Some(_) => RefundNotification::seal(
            &info,
            order.details.appid.as_str(),
            &*order.mch_id,
            ids.nonce(),
            &merchant.api_key,
        )
        .to_xml(),
        None => String::new(),
    };
    Some(Draft {
        platform: Platform::Wechat,
        kind: Kind::Refund,
        event: status.as_str().to_owned(),
        merchant: order.mch_id.to_string(),
        out_trade_no: order.out_trade_no.to_string(),
        trade_id: order.transaction_id.to_string(),
        refund_id: Some(refund.refund_id.clone()),
        refund_no: Some(refund.out_refund_no.clone()),
        notify_id: None,
        url,
        at: *at,
        content_type: XML,
        body,
    })
}

/// The payment result notification of a paid order (§6.4), signed with the merchant's key.
pub(super) fn wechat_payment(
    ledger: &mut WechatLedger,
    ids: &mut IdGenerator,
    mch_id: &str,
    by: &OrderRef,
    notify_url: &str,
    sign_type: SignType,
    now: Timestamp,
) -> Result<Draft, PaymentNotifyError> {
    if notify_url.is_empty() {
        return Err(PaymentNotifyError::NoUrl);
    }
    let api_key = ledger
        .merchant(mch_id)
        .map(|m| m.api_key.clone())
        .ok_or_else(|| PaymentNotifyError::UnknownMerchant(mch_id.to_owned()))?;
    let order = ledger
        .query_order(mch_id, by, now)
        .ok_or(PaymentNotifyError::UnknownOrder)?;
    if !order.is_paid() {
        return Err(PaymentNotifyError::NotPaid(order.payment_state.as_str()));
    }
    let d = &order.details;
    let has_coupons = !order.coupons.is_empty();
    let message = PaymentNotification {
        appid: d.appid.clone(),
        mch_id: mch_id.to_owned(),
        device_info: None,
        nonce_str: ids.nonce(),
        sign_type: (sign_type != SignType::Md5).then_some(sign_type),
        result_code: ResultCode::Success,
        err_code: None,
        err_code_des: None,
        openid: d.openid.clone(),
        // deviation: wx-notify-is-subscribe
        is_subscribe: Some("N".to_owned()),
        trade_type: d.trade_type.clone(),
        bank_type: d.bank_type.clone(),
        total_fee: order.total_fee,
        settlement_total_fee: has_coupons.then(|| order.settlement_total_fee()),
        fee_type: Some(d.fee_type.clone()),
        cash_fee: order.cash_fee(),
        cash_fee_type: None,
        coupon_fee: has_coupons.then(|| order.coupon_fee()),
        coupons: order
            .coupons
            .iter()
            .map(|c| OrderCoupon {
                coupon_type: Some(match c.kind {
                    CouponKind::Cash => CouponType::Cash,
                    CouponKind::NoCash => CouponType::NoCash,
                }),
                coupon_id: c.id.clone(),
                coupon_fee: c.fee,
            })
            .collect(),
        transaction_id: order.transaction_id.to_string(),
        out_trade_no: order.out_trade_no.to_string(),
        attach: Some(d.attach.clone()).filter(|a| !a.is_empty()),
        time_end: order.paid_at.unwrap_or(now).beijing_compact(),
    };
    Ok(Draft {
        platform: Platform::Wechat,
        kind: Kind::Payment,
        event: "SUCCESS".to_owned(),
        merchant: mch_id.to_owned(),
        out_trade_no: order.out_trade_no.to_string(),
        trade_id: order.transaction_id.to_string(),
        refund_id: None,
        refund_no: None,
        notify_id: None,
        url: Some(notify_url.to_owned()),
        at: now,
        content_type: XML,
        body: message.to_signed_xml(&api_key),
    })
}

/// The `trade_status_sync` notification of an Alipay trade event (§7.2), signed with the
/// app's Alipay (platform) private key, RSA2. `None` without a notify URL or keys.
pub(super) fn alipay_trade(
    state: &AppState,
    event: &TradeEvent,
    notify_id: String,
) -> Option<Draft> {
    let trade = &event.trade;
    let url = trade.notify_url.clone().filter(|u| !u.is_empty())?;
    let keys = state.alipay_keys(&trade.app_id).ok()?;
    let paid = trade.paid_at.is_some();
    let closed = trade.status == TradeStatus::TradeClosed;
    let full_refund = event.kind == TradeEventKind::Refunded && closed;
    // A full refund's capture carries no receipt_amount or fund_bill_list (§7.2).
    let money = paid && !full_refund;
    // deviation: ali-notify-close (closing an unpaid trade notifies TRADE_CLOSED)
    let status = if closed {
        WireTradeStatus::TradeClosed
    } else {
        WireTradeStatus::TradeSuccess
    };
    let refund = event.refund.as_ref();
    let message = TradeNotification {
        // deviation: ali-notify-notify-time (the event's time, signed once)
        notify_time: event.at.beijing_datetime(),
        notify_type: "trade_status_sync".to_owned(),
        notify_id: notify_id.clone(),
        app_id: trade.app_id.clone(),
        charset: "utf-8".to_owned(),
        version: "1.0".to_owned(),
        trade_no: trade.trade_no.clone(),
        out_trade_no: trade.out_trade_no.clone(),
        out_biz_no: refund.map(|r| r.out_request_no.clone()),
        buyer_id: trade.buyer_user_id.clone(),
        buyer_logon_id: trade.buyer_logon_id.clone(),
        // deviation: ali-notify-omitted-fields
        seller_id: None,
        seller_email: None,
        trade_status: status.clone(),
        total_amount: trade.total_amount,
        receipt_amount: money.then_some(trade.total_amount),
        invoice_amount: money.then_some(trade.total_amount),
        buyer_pay_amount: money.then_some(trade.total_amount),
        point_amount: money.then_some(0),
        refund_fee: refund.map(|_| trade.refunded),
        send_back_fee: None,
        subject: Some(trade.subject.clone()),
        body: trade.body.clone(),
        gmt_create: Some(trade.created_at.beijing_datetime()),
        gmt_payment: trade.paid_at.map(Timestamp::beijing_datetime),
        gmt_refund: refund.map(|r| r.refunded_at.beijing_datetime_millis()),
        gmt_close: if closed {
            trade.closed_at.map(Timestamp::beijing_datetime)
        } else {
            None
        },
        fund_bill_list: if money {
            vec![NotifyFundBill {
                fund_channel: "ALIPAYACCOUNT".to_owned(),
                amount: trade.total_amount,
            }]
        } else {
            Vec::new()
        },
        passback_params: None,
    };
    let mut params = message.to_params();
    // deviation: ali-notify-sign-type
    sign_notification(&mut params, &keys.alipay_private, AlipaySignType::Rsa2).ok()?;
    Some(Draft {
        platform: Platform::Alipay,
        kind: Kind::Trade,
        event: status.as_str().to_owned(),
        merchant: trade.app_id.clone(),
        out_trade_no: trade.out_trade_no.clone(),
        trade_id: trade.trade_no.clone(),
        refund_id: None,
        refund_no: refund.map(|r| r.out_request_no.clone()),
        notify_id: Some(notify_id),
        url: Some(url),
        at: event.at,
        content_type: FORM,
        body: encode_urlencoded(&params),
    })
}
