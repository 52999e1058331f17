//! Wire enums: `err_code` values, refund and trade states, refund channels and accounts,
//! coupon types, and the fixed `return_msg` texts of protocol-level failures.

use std::fmt;

/// Defines a closed wire enum with `from_wire` (-> `Option`), `as_str`, `ALL` and `Display`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vmeta])* $variant, )+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Parses the exact wire string.
            pub fn from_wire(s: &str) -> Option<Self> {
                match s {
                    $($wire => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The wire string.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
// API v3 (`wechat::v3`) declares its enums with the same macro.
pub(crate) use wire_enum;

/// Defines [`ErrCode`] from one table so the wire string, description and retry policy of a
/// code can never drift apart.
macro_rules! err_codes {
    ( $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, $retry:literal, $des:literal; )+ ) => {
        /// A business `err_code` (spec §3.3, §4.3, §6), sent with `return_code=SUCCESS,
        /// result_code=FAIL`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrCode {
            $( $(#[$vmeta])* $variant, )+
            /// A code this crate does not know, kept verbatim. [`ErrCode::from_wire`] never
            /// produces `Other` for a known code.
            Other(String),
        }

        impl ErrCode {
            /// Every known code (not `Other`), in declaration order.
            pub const KNOWN: &'static [ErrCode] = &[$(ErrCode::$variant),+];

            /// Parses a wire string; unknown strings become [`ErrCode::Other`].
            pub fn from_wire(s: &str) -> Self {
                match s {
                    $($wire => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }

            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(s) => s,
                }
            }

            /// Whether the same request (same `out_refund_no` and amounts) may be sent again,
            /// possibly after waiting; see each variant's doc for the wait.
            pub fn is_retryable(&self) -> bool {
                match self {
                    $(Self::$variant => $retry,)+
                    Self::Other(_) => false,
                }
            }

            /// A default `err_code_des` (Chinese, as the platform writes it). Texts quoted from
            /// observed responses or the doc are marked so in the source; the others are ours.
            /// For [`ErrCode::Other`], the code itself.
            pub fn description(&self) -> &str {
                match self {
                    $(Self::$variant => $des,)+
                    Self::Other(s) => s,
                }
            }
        }
    };
}

err_codes! {
    /// System timeout or internal error. Retryable: the doc says to retry with the same
    /// `out_refund_no` and parameters.
    SystemError = "SYSTEMERROR", true, "系统超时,请使用相同参数再次调用API"; // ours
    /// Concurrent refund of the same order rejected. Retryable with the same `out_refund_no`
    /// (doc).
    BizerrNeedRetry = "BIZERR_NEED_RETRY", true, "并发情况下,业务被拒绝,商户重试即可解决"; // ours
    /// Order paid more than a year ago: no refund possible. Not retryable.
    TradeOverdue = "TRADE_OVERDUE", false, "订单已经超过退款期限"; // ours
    /// Generic business error whose message says why. Not retryable: the observed messages
    /// (`订单已全额退款`, `累计退款金额大于支付金额`) are final.
    Error = "ERROR", false, "业务错误"; // ours
    /// The payer's account was cancelled; refund offline. Not retryable.
    UserAccountAbnormal = "USER_ACCOUNT_ABNORMAL", false, "用户账户异常或已注销"; // ours
    /// Too many consecutive invalid requests: temporarily blocked. Retryable after waiting
    /// one minute (doc).
    InvalidReqTooMuch = "INVALID_REQ_TOO_MUCH", true, "无效请求过多,请1分钟后再试"; // ours
    /// Refundable balance insufficient. Not retryable until the merchant tops up.
    NotEnough = "NOTENOUGH", false, "基本账户余额不足,请充值后重新发起"; // observed
    /// `transaction_id` invalid or order not found. Not retryable.
    InvalidTransactionId = "INVALID_TRANSACTIONID", false, "无效transaction_id"; // ours
    /// A parameter breaks a format rule. Not retryable.
    ParamError = "PARAM_ERROR", false, "参数错误"; // ours (observed specific text: 微信订单号非法)
    /// `appid` missing or unknown. Not retryable.
    AppidNotExist = "APPID_NOT_EXIST", false, "APPID不存在"; // ours
    /// `mch_id` missing or unknown. Not retryable.
    MchidNotExist = "MCHID_NOT_EXIST", false, "MCHID不存在"; // ours
    /// No such (paid) order. Not retryable.
    OrderNotExist = "ORDERNOTEXIST", false, "此交易订单号不存在"; // doc (§6.2)
    /// Not a POST. In practice a `return_code=FAIL` (§2.3). Not retryable.
    RequirePostMethod = "REQUIRE_POST_METHOD", false, "请使用post方法"; // doc
    /// Bad signature. In practice a `return_code=FAIL` (§2.3). Not retryable.
    SignError = "SIGNERROR", false, "签名错误"; // observed (as return_msg)
    /// Bad XML. In practice a `return_code=FAIL` (§2.3). Not retryable.
    XmlFormatError = "XML_FORMAT_ERROR", false, "XML格式错误"; // observed (as return_msg)
    /// Orders older than a month are rate-limited. Retryable at a lower rate (doc).
    FrequencyLimited = "FREQUENCY_LIMITED", true, "频率限制,1个月之前的订单申请退款请降低频率再重试。"; // observed
    /// Request IP not whitelisted or no permission. Not retryable until configured.
    NoAuth = "NOAUTH", false, "商户无此接口权限"; // ours
    /// Client certificate check failed. Not retryable until fixed.
    CertError = "CERT_ERROR", false, "证书校验错误"; // ours
    /// Same `out_refund_no` with different amounts. Not retryable.
    RefundFeeMismatch = "REFUND_FEE_MISMATCH", false, "订单金额或退款金额与之前请求不一致,请核实后再试"; // observed
    /// Well-formed request breaking a business rule. Not retryable.
    InvalidRequest = "INVALID_REQUEST", false, "申请退款金额超过订单可退金额"; // observed
    /// Order still being processed. Retryable later (doc).
    OrderNotReady = "ORDER_NOT_READY", true, "订单处理中,暂时无法退款,请稍后再试"; // ours
    /// Order in the wrong state (e.g. fully refunded). Not retryable. Observed, not in the doc
    /// table.
    TradeStateError = "TRADE_STATE_ERROR", false, "订单状态错误"; // observed
    /// Refund query: no refund for that id. Not retryable.
    RefundNotExist = "REFUNDNOTEXIST", false, "not exist"; // observed
    /// Unified order / close order: the order is already paid. Not retryable.
    OrderPaid = "ORDERPAID", false, "商户订单已支付"; // ours
    /// The order is closed. Not retryable.
    OrderClosed = "ORDERCLOSED", false, "订单已关闭"; // ours
    /// Unified order: `out_trade_no` reused with different parameters. Not retryable.
    OutTradeNoUsed = "OUT_TRADE_NO_USED", false, "商户订单号重复"; // ours
    /// `appid` and `mch_id` are not bound together. Not retryable.
    AppidMchidNotMatch = "APPID_MCHID_NOT_MATCH", false, "appid和mch_id不匹配"; // ours
    /// A required parameter is missing. In practice a `return_code=FAIL`. Not retryable.
    LackParams = "LACK_PARAMS", false, "缺少参数"; // observed (as return_msg)
    /// Empty POST body. Not retryable.
    PostDataEmpty = "POST_DATA_EMPTY", false, "post数据为空"; // doc
    /// Body not UTF-8. Not retryable.
    NotUtf8 = "NOT_UTF8", false, "编码格式错误"; // ours
}

impl fmt::Display for ErrCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

wire_enum! {
    /// `return_code`: whether the request got through the protocol layer (§3.2).
    pub enum ReturnCode {
        /// `SUCCESS`: the response is signed and carries `result_code`.
        Success = "SUCCESS",
        /// `FAIL`: protocol failure, unsigned, only `return_msg`.
        Fail = "FAIL",
    }
}

wire_enum! {
    /// `result_code`: the business outcome (§3.2).
    pub enum ResultCode {
        /// `SUCCESS`.
        Success = "SUCCESS",
        /// `FAIL`, with `err_code` / `err_code_des`.
        Fail = "FAIL",
    }
}

wire_enum! {
    /// `refund_status_$n` (§3.5, §4.2). The legacy `FAIL` / `NOTSURE` are not accepted.
    pub enum RefundStatus {
        /// `PROCESSING`: accepted, not final.
        Processing = "PROCESSING",
        /// `SUCCESS`: money returned.
        Success = "SUCCESS",
        /// `REFUNDCLOSE`: refund closed (failed).
        RefundClose = "REFUNDCLOSE",
        /// `CHANGE`: the destination card was cancelled or frozen; handled manually.
        Change = "CHANGE",
    }
}

wire_enum! {
    /// `trade_state` of an order query (§6.2).
    pub enum TradeState {
        /// `SUCCESS`: paid.
        Success = "SUCCESS",
        /// `REFUND`: a refund was made (转入退款).
        Refund = "REFUND",
        /// `NOTPAY`: not paid.
        NotPay = "NOTPAY",
        /// `CLOSED`: closed.
        Closed = "CLOSED",
        /// `REVOKED`: micropay reversed.
        Revoked = "REVOKED",
        /// `USERPAYING`: micropay awaiting the user's password.
        UserPaying = "USERPAYING",
        /// `PAYERROR`: payment failed (bank error etc.).
        PayError = "PAYERROR",
    }
}

impl TradeState {
    /// A default `trade_state_desc` (ours: the spec quotes none).
    pub fn description(self) -> &'static str {
        match self {
            Self::Success => "支付成功",
            Self::Refund => "订单发生过退款，退款详情请查询退款单",
            Self::NotPay => "订单未支付",
            Self::Closed => "订单已关闭",
            Self::Revoked => "订单已撤销",
            Self::UserPaying => "需要用户输入支付密码",
            Self::PayError => "支付失败",
        }
    }
}

wire_enum! {
    /// `trade_type` of a unified order (§6.1): how the payer pays.
    pub enum TradeType {
        /// `JSAPI`: inside WeChat (official account, mini program); needs `openid`.
        Jsapi = "JSAPI",
        /// `NATIVE`: the payer scans a QR code (`code_url`); needs `product_id`.
        Native = "NATIVE",
        /// `APP`: a mobile app.
        App = "APP",
        /// `MWEB`: H5 payment in a mobile browser (`mweb_url`).
        Mweb = "MWEB",
    }
}

wire_enum! {
    /// `refund_channel_$n` (§4.2): where the money goes.
    pub enum RefundChannel {
        /// `ORIGINAL`: back the way it came.
        Original = "ORIGINAL",
        /// `BALANCE`: to the user's balance (零钱).
        Balance = "BALANCE",
        /// `OTHER_BALANCE`: original account abnormal, to another balance.
        OtherBalance = "OTHER_BALANCE",
        /// `OTHER_BANKCARD`: original card abnormal, to another card.
        OtherBankcard = "OTHER_BANKCARD",
    }
}

wire_enum! {
    /// `refund_account` (request, §3.1) / `refund_account_$n` (query, §4.2): which merchant
    /// funds pay the refund.
    pub enum RefundAccount {
        /// `REFUND_SOURCE_UNSETTLED_FUNDS`: unsettled funds (the request default).
        UnsettledFunds = "REFUND_SOURCE_UNSETTLED_FUNDS",
        /// `REFUND_SOURCE_RECHARGE_FUNDS`: available balance / basic account.
        RechargeFunds = "REFUND_SOURCE_RECHARGE_FUNDS",
    }
}

wire_enum! {
    /// `coupon_type_*` (§3.2, §4.2, §6.2).
    pub enum CouponType {
        /// `CASH`: recharge coupon (充值代金券).
        Cash = "CASH",
        /// `NO_CASH`: non-recharge coupon.
        NoCash = "NO_CASH",
    }
}

/// `return_msg` texts of protocol-level failures (`return_code=FAIL`, §2.3), as observed or
/// documented, for the server to send and tests to compare.
pub mod return_msg {
    /// The `return_msg` of every signed response.
    pub const OK: &str = "OK";
    /// Bad signature (newer observed text).
    pub const SIGN_ERROR: &str = "签名错误,请检查后再试";
    /// Unparseable body (observed).
    pub const XML_FORMAT_ERROR: &str = "XML格式错误";
    /// Missing required parameter (observed).
    pub const LACK_PARAMS: &str = "缺少参数";
    /// `refund_fee > total_fee` on a refund (seed 003).
    pub const INVALID_REFUND_FEE: &str = "invalid refund_fee";
    /// Not a POST (doc description; real response UNCONFIRMED).
    pub const REQUIRE_POST_METHOD: &str = "请使用post方法";
    /// Empty body (doc description; real response UNCONFIRMED).
    pub const POST_DATA_EMPTY: &str = "post数据为空";
    /// Body not UTF-8 (observed pattern `body不是utf8编码`, generalised to the whole body; ours).
    pub const NOT_UTF8: &str = "参数编码不是utf8编码";
    /// Unknown `sign_type` value (ours: the one observed answer, on downloadbill, is
    /// `data format error`).
    pub const INVALID_SIGN_TYPE: &str = "sign_type参数格式错误";
    /// Sandbox call signed with anything but the sandbox key (newer observed text).
    pub const SANDBOX_SIGN_ERROR: &str =
        "沙箱验证签名失败，请确认沙箱签名key是否正确（通过getsignkey调用生成）";
    /// `/sandboxnew/pay/getsignkey` whose signature (MD5, real API key) does not verify
    /// (observed text, §8.2).
    pub const GETSIGNKEY_FAIL: &str = "获取沙箱密钥失败,确认交易密钥是否正确";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn err_codes_round_trip() {
        for c in ErrCode::KNOWN {
            assert_eq!(&ErrCode::from_wire(c.as_str()), c);
            assert!(!c.description().is_empty());
        }
        assert_eq!(
            ErrCode::from_wire("SOMETHING_NEW"),
            ErrCode::Other("SOMETHING_NEW".into())
        );
        assert_eq!(ErrCode::Other("X".into()).as_str(), "X");
    }

    #[test]
    fn retry_policy() {
        let retryable: Vec<_> = ErrCode::KNOWN
            .iter()
            .filter(|c| c.is_retryable())
            .map(|c| c.as_str())
            .collect();
        assert_eq!(
            retryable,
            [
                "SYSTEMERROR",
                "BIZERR_NEED_RETRY",
                "INVALID_REQ_TOO_MUCH",
                "FREQUENCY_LIMITED",
                "ORDER_NOT_READY"
            ]
        );
    }

    #[test]
    fn observed_descriptions() {
        assert_eq!(
            ErrCode::NotEnough.description(),
            "基本账户余额不足,请充值后重新发起"
        );
        assert_eq!(ErrCode::RefundNotExist.description(), "not exist");
        assert_eq!(ErrCode::TradeStateError.description(), "订单状态错误");
    }

    #[test]
    fn closed_enums_round_trip() {
        for s in RefundStatus::ALL {
            assert_eq!(RefundStatus::from_wire(s.as_str()), Some(*s));
        }
        for s in TradeState::ALL {
            assert_eq!(TradeState::from_wire(s.as_str()), Some(*s));
        }
        assert_eq!(RefundStatus::from_wire("NOTSURE"), None);
        assert_eq!(
            RefundChannel::from_wire("OTHER_BANKCARD"),
            Some(RefundChannel::OtherBankcard)
        );
    }
}
