//! `/admin/wechat/...`: merchants with their certificates, orders in any state and age (in
//! the production ledger or the `/sandboxnew/` one), the buyer's payment, refunds and their
//! forced outcomes, and the sandbox keys.

use std::net::IpAddr;
use std::path::PathBuf;

use paysandbox_protocol::wechat::SignType;
use serde::{Deserialize, Serialize};

use super::failure::Failure;
use super::input;
use super::route::{Json, Lenient, OptionalJson, Path, Query, Reply};
use crate::ledger::wechat::SandboxKey;
use crate::ledger::wechat::{
    AdminError, BuyerPayment, Merchant, NewMerchant, Order, OrderRef, Refund, RefundStatus,
    SeedCoupon, SeedOrder, V3_SIGN_TYPE, V3Identity, WechatLedger,
};
use crate::state::{AppState, World};

/// `?sandbox=1` (or `true`): the `/sandboxnew/` ledger.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LedgerQuery {
    /// `1` or `true` picks the sandbox ledger.
    pub sandbox: Option<String>,
}

/// `?mch_id=&sandbox=1`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MerchantQuery {
    /// Only this merchant's (listings), or the merchant of the order (payment).
    pub mch_id: Option<String>,
    /// `1` or `true` picks the sandbox ledger.
    pub sandbox: Option<String>,
}

/// `?mch_id=&sandbox=1&limit=&offset=` of the order and refund lists.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    /// Only this merchant's.
    pub mch_id: Option<String>,
    /// `1` or `true` picks the sandbox ledger.
    pub sandbox: Option<String>,
    /// How many of the newest (default 1,000, at most 10,000).
    pub limit: Option<String>,
    /// How many of the newest to skip first.
    pub offset: Option<String>,
}

/// `"sandbox": true` beside an endpoint's own body fields: the `/sandboxnew/` ledger.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct LedgerBody {
    /// Picks the sandbox ledger.
    pub sandbox: bool,
}

/// Whether the call picks the `/sandboxnew/` ledger: in the query or the body.
fn sandbox(query: Option<&str>, body: LedgerBody) -> bool {
    query.is_some_and(|v| v == "1" || v == "true") || body.sandbox
}

fn ledger(world: &World, sandbox: bool) -> &WechatLedger {
    if sandbox {
        &world.wechat_sandbox
    } else {
        &world.wechat
    }
}

fn ledger_mut(world: &mut World, sandbox: bool) -> &mut WechatLedger {
    if sandbox {
        &mut world.wechat_sandbox
    } else {
        &mut world.wechat
    }
}

/// A new merchant with the files its clients need.
#[derive(Debug, Clone, Serialize)]
pub struct NewMerchantView {
    /// The merchant.
    #[serde(flatten)]
    pub merchant: Merchant,
    /// Its API certificate files.
    pub cert: CertView,
}

/// A merchant's API certificate files, and the CA that signed the server's certificate.
#[derive(Debug, Clone, Serialize)]
pub struct CertView {
    /// `apiclient_cert.pem`.
    pub cert_path: PathBuf,
    /// `apiclient_key.pem` (PKCS#8).
    pub key_path: PathBuf,
    /// `apiclient_cert.p12`.
    pub p12_path: PathBuf,
    /// The p12's password (the mch_id, as for real downloads).
    pub p12_password: String,
    /// The sandbox CA.
    pub ca_path: PathBuf,
}

pub(super) fn create_merchant(
    state: &AppState,
    Json(new): Json<NewMerchant>,
) -> Result<Reply<NewMerchantView>, Failure> {
    input::wechat_merchant(&new)?;
    let merchant = state.world().wechat.create_merchant(new)?;
    let files = state.merchant_files(&merchant.mch_id, &merchant.company)?;
    Ok(Reply::created(NewMerchantView {
        cert: CertView {
            cert_path: files.cert_path,
            key_path: files.key_path,
            p12_path: files.p12_path,
            p12_password: files.p12_password,
            ca_path: state.certs.ca_path(),
        },
        merchant,
    }))
}

pub(super) fn merchants(state: &AppState, (): ()) -> Result<Reply<Vec<Merchant>>, Failure> {
    Ok(Reply::ok(
        state.world().wechat.merchants().cloned().collect(),
    ))
}

/// `/admin/wechat/merchants/{mch_id}`.
#[derive(Debug, Clone, Deserialize)]
pub struct MerchantPath {
    /// The merchant.
    pub mch_id: String,
}

/// `PATCH /admin/wechat/merchants/{mch_id}`: what changes; absent fields stay.
#[derive(Debug, Clone, Deserialize)]
pub struct MerchantUpdate {
    /// Fen refunds can draw on (NOTENOUGH beyond it).
    pub refundable_balance: Option<u64>,
    /// Addresses allowed to call the API; `null` clears the list (NOAUTH outside it).
    #[serde(default, deserialize_with = "present")]
    pub ip_allowlist: Option<Option<Vec<IpAddr>>>,
}

/// A field given as `null` is `Some(None)`; a field left out is `None` (by `default`).
fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<Vec<IpAddr>>>, D::Error> {
    Option::<Vec<IpAddr>>::deserialize(d).map(Some)
}

pub(super) fn update_merchant(
    state: &AppState,
    (Path(path), Json(update)): (Path<MerchantPath>, Json<MerchantUpdate>),
) -> Result<Reply<Merchant>, Failure> {
    let mch_id = path.mch_id;
    if let Some(balance) = update.refundable_balance {
        input::balance("refundable_balance", balance)?;
    }
    let mut world = state.world();
    if let Some(balance) = update.refundable_balance {
        world.wechat.set_balance(&mch_id, balance)?;
    }
    if let Some(allowlist) = update.ip_allowlist {
        world.wechat.set_ip_allowlist(&mch_id, allowlist)?;
    }
    let merchant = world
        .wechat
        .merchant(&mch_id)
        .cloned()
        .ok_or(AdminError::UnknownMerchant(mch_id))?;
    Ok(Reply::ok(merchant))
}

/// `POST /admin/wechat/merchants/{mch_id}/v3`: what changes; absent fields stay.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V3Update {
    /// `certificate`, `public_key` or `switch_over`.
    pub identity: Option<V3Identity>,
    /// A new APIv3 key (32 ASCII characters).
    pub api_v3_key: Option<String>,
}

/// A merchant's API v3 settings and what a v3 client needs to reach it.
#[derive(Debug, Clone, Serialize)]
pub struct V3View {
    /// The merchant.
    pub mchid: String,
    /// `certificate`, `public_key` or `switch_over`.
    pub identity: V3Identity,
    /// The APIv3 key, if set.
    pub api_v3_key: Option<String>,
    /// The API certificate's serial: `serial_no` in `Authorization`.
    pub merchant_serial_no: String,
    /// `apiclient_key.pem`: signs requests.
    pub private_key_path: PathBuf,
    /// The platform certificates (PEM files, oldest first) and their serials.
    pub platform_certificates: Vec<PlatformCertificateView>,
    /// The folder holding only the platform certificates (a wechatpayv3 `cert_dir`).
    pub certificates_dir: PathBuf,
    /// The WeChat Pay public key's id (`PUB_KEY_ID_…`).
    pub public_key_id: String,
    /// `pub_key.pem`.
    pub public_key_path: PathBuf,
}

/// One platform certificate file.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformCertificateView {
    /// Its serial (`Wechatpay-Serial` of the answers it signs).
    pub serial_no: String,
    /// `wechatpay_<serial>.pem`.
    pub path: PathBuf,
}

/// A merchant's v3 view; makes its v3 files on first use (outside the world lock).
pub fn v3_view(state: &AppState, mch_id: &str) -> Result<V3View, Failure> {
    let merchant = state
        .world()
        .wechat
        .merchant(mch_id)
        .cloned()
        .ok_or_else(|| AdminError::UnknownMerchant(mch_id.to_owned()))?;
    let keys = state.wechat_v3_keys(&merchant.mch_id, &merchant.company)?;
    let files = &keys.files;
    Ok(V3View {
        mchid: merchant.mch_id,
        identity: merchant.v3_identity,
        api_v3_key: merchant.api_v3_key,
        merchant_serial_no: files.merchant_serial_no.clone(),
        private_key_path: files.merchant.key_path.clone(),
        platform_certificates: files
            .platform_certificates
            .iter()
            .map(|c| PlatformCertificateView {
                serial_no: c.serial_no.clone(),
                path: c.cert_path.clone(),
            })
            .collect(),
        certificates_dir: files.certificates_dir.clone(),
        public_key_id: files.public_key.id.clone(),
        public_key_path: files.public_key.public_key_path.clone(),
    })
}

pub(super) fn merchant_v3(
    state: &AppState,
    Path(path): Path<MerchantPath>,
) -> Result<Reply<V3View>, Failure> {
    Ok(Reply::ok(v3_view(state, &path.mch_id)?))
}

pub(super) fn set_merchant_v3(
    state: &AppState,
    (Path(path), Json(update)): (Path<MerchantPath>, Json<V3Update>),
) -> Result<Reply<V3View>, Failure> {
    let now = state.clock.now();
    state
        .world()
        .wechat
        .set_v3(&path.mch_id, update.identity, update.api_v3_key, now)?;
    Ok(Reply::ok(v3_view(state, &path.mch_id)?))
}

/// An order as the admin API shows it: the stored order and what derives from it.
#[derive(Debug, Clone, Serialize)]
pub struct OrderView {
    /// The order.
    #[serde(flatten)]
    pub order: Order,
    /// `trade_state` as order query answers it (`REFUND` once refunded).
    pub trade_state: &'static str,
    /// Paid in cash: total minus coupons.
    pub cash_fee: u64,
    /// Refunds made.
    pub refund_count: usize,
}

impl OrderView {
    fn of(order: Order, ledger: &WechatLedger) -> OrderView {
        OrderView {
            trade_state: ledger.trade_state(&order),
            cash_fee: order.cash_fee(),
            refund_count: ledger.refund_count(&order),
            order,
        }
    }
}

pub(super) fn seed_order(
    state: &AppState,
    (Query(query), Json(seed), Lenient(body)): (
        Query<LedgerQuery>,
        Json<SeedOrder>,
        Lenient<LedgerBody>,
    ),
) -> Result<Reply<OrderView>, Failure> {
    let sandbox = sandbox(query.sandbox.as_deref(), body);
    let now = state.clock.now();
    input::wechat_seed(&seed, now)?;
    let mut world = state.world();
    let World {
        wechat,
        wechat_sandbox,
        ids,
        ..
    } = &mut *world;
    let ledger = WechatLedger::select(wechat, wechat_sandbox, sandbox, &seed.mch_id);
    let order = ledger.seed_order(seed, now, ids)?;
    Ok(Reply::created(OrderView::of(order, ledger)))
}

pub(super) fn orders(
    state: &AppState,
    (Query(query), Lenient(body)): (Query<ListQuery>, Lenient<LedgerBody>),
) -> Result<Reply<Vec<OrderView>>, Failure> {
    let page = input::Page::parse(query.limit.as_deref(), query.offset.as_deref())?;
    let world = state.world();
    let ledger = ledger(&world, sandbox(query.sandbox.as_deref(), body));
    let orders = page
        .of(ledger.orders(query.mch_id.as_deref()))
        .into_iter()
        .map(|order| OrderView::of(order.clone(), ledger))
        .collect();
    Ok(Reply::ok(orders))
}

/// `/admin/wechat/orders/{out_trade_no}/...`.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderPath {
    /// The merchant's order number.
    pub out_trade_no: String,
}

/// `POST /admin/wechat/orders/{out_trade_no}/pay`: who pays, and with what.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BuyerPay {
    /// The order's merchant, when several have the out_trade_no (or `?mch_id=`).
    pub mch_id: Option<String>,
    /// The payer; defaults to the order's openid, else the demo payer.
    pub openid: Option<String>,
    /// Paying bank; default CFT (balance).
    pub bank_type: Option<String>,
    /// Coupons used (ids generated when absent).
    pub coupons: Vec<SeedCoupon>,
}

/// A paid order, and the payment notification queued for it.
#[derive(Debug, Clone, Serialize)]
pub struct PaidOrderView {
    /// The order, now paid.
    #[serde(flatten)]
    pub order: OrderView,
    /// The payment notification, when the unified order named a `notify_url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_id: Option<u64>,
}

/// The simulated buyer pays an order made by `/pay/unifiedorder` (or seeded NOTPAY).
pub(super) fn pay_order(
    state: &AppState,
    (Path(path), Query(query), OptionalJson(pay), Lenient(body)): (
        Path<OrderPath>,
        Query<MerchantQuery>,
        OptionalJson<BuyerPay>,
        Lenient<LedgerBody>,
    ),
) -> Result<Reply<PaidOrderView>, Failure> {
    input::wechat_buyer(
        pay.openid.as_deref(),
        pay.bank_type.as_deref(),
        &pay.coupons,
    )?;
    let mch_id = pay.mch_id.or(query.mch_id);
    let sandbox = sandbox(query.sandbox.as_deref(), body);
    let payment = BuyerPayment {
        openid: pay.openid,
        bank_type: pay.bank_type,
        coupons: pay.coupons,
    };
    let now = state.clock.now();
    let (order, view) = {
        let mut world = state.world();
        let World {
            wechat,
            wechat_sandbox,
            ids,
            ..
        } = &mut *world;
        let ledger = if sandbox { wechat_sandbox } else { wechat };
        let order = ledger.pay_order(mch_id.as_deref(), &path.out_trade_no, payment, now, ids)?;
        let view = OrderView::of(order.clone(), ledger);
        (order, view)
    };
    // The payment notification goes to unifiedorder's notify_url, signed with its sign type;
    // the admin handler delivers it (first attempt) before this call answers.
    let notification_id = match order.prepay.as_deref().filter(|p| !p.notify_url.is_empty()) {
        // An order prepaid through API v3 gets v3's TRANSACTION.SUCCESS.
        Some(prepay) if prepay.sign_type == V3_SIGN_TYPE => Some(crate::notify::wechat_v3_payment(
            state,
            &order.mch_id,
            &OrderRef::OutTradeNo(order.out_trade_no.to_string()),
            &prepay.notify_url,
            sandbox,
        )?),
        Some(prepay) => Some(crate::notify::wechat_payment(
            state,
            &order.mch_id,
            &OrderRef::OutTradeNo(order.out_trade_no.to_string()),
            &prepay.notify_url,
            SignType::from_wire(&prepay.sign_type).unwrap_or(SignType::Md5),
            sandbox,
        )?),
        None => None,
    };
    Ok(Reply::ok(PaidOrderView {
        order: view,
        notification_id,
    }))
}

pub(super) fn sandbox_keys(state: &AppState, (): ()) -> Result<Reply<Vec<SandboxKey>>, Failure> {
    Ok(Reply::ok(state.world().sandbox_keys.list()))
}

/// A refund as the admin API shows it: the refund and its order's ids.
#[derive(Debug, Clone, Serialize)]
pub struct WechatRefundView {
    /// The refund.
    #[serde(flatten)]
    pub refund: Refund,
    /// Its order's WeChat id.
    pub transaction_id: String,
    /// Its order's merchant number.
    pub out_trade_no: String,
    /// Its merchant.
    pub mch_id: String,
}

impl WechatRefundView {
    fn of(refund: Refund, order: &Order) -> WechatRefundView {
        WechatRefundView {
            refund,
            transaction_id: order.transaction_id.to_string(),
            out_trade_no: order.out_trade_no.to_string(),
            mch_id: order.mch_id.to_string(),
        }
    }
}

pub(super) fn refunds(
    state: &AppState,
    (Query(query), Lenient(body)): (Query<ListQuery>, Lenient<LedgerBody>),
) -> Result<Reply<Vec<WechatRefundView>>, Failure> {
    let page = input::Page::parse(query.limit.as_deref(), query.offset.as_deref())?;
    let now = state.clock.now();
    let mut world = state.world();
    let ledger = ledger_mut(&mut world, sandbox(query.sandbox.as_deref(), body));
    // Settlement is lazy: what is due shows as settled.
    ledger.settle_due(now);
    let refunds = page
        .of(ledger.refunds(query.mch_id.as_deref()))
        .into_iter()
        .map(|(refund, order)| WechatRefundView::of(refund.clone(), order))
        .collect();
    Ok(Reply::ok(refunds))
}

/// `/admin/wechat/refunds/{refund_id}/...`.
#[derive(Debug, Clone, Deserialize)]
pub struct RefundPath {
    /// WeChat's refund id.
    pub refund_id: String,
}

/// `POST /admin/wechat/refunds/{refund_id}/status`.
#[derive(Debug, Clone, Deserialize)]
pub struct ForceStatus {
    /// The outcome: SUCCESS, CHANGE or REFUNDCLOSE.
    pub status: RefundStatus,
}

pub(super) fn force_status(
    state: &AppState,
    (Path(path), Json(force)): (Path<RefundPath>, Json<ForceStatus>),
) -> Result<Reply<WechatRefundView>, Failure> {
    let now = state.clock.now();
    let mut world = state.world();
    let refund = world
        .wechat
        .force_refund_status(&path.refund_id, force.status, now)?;
    let order = world
        .wechat
        .order_of(&refund)
        .ok_or(AdminError::UnknownRefund(path.refund_id))?;
    Ok(Reply::ok(WechatRefundView::of(refund, order)))
}
