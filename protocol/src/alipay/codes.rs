//! Public `code`/`msg` and `sub_code`/`sub_msg` values (spec §3.4, §4.4, §5.4, §6).
//!
//! sub_msg sources, in order of preference: a real wire capture quoted in the spec; the spec's
//! tables (the current refund page); the official public error-code table as copied into SDK
//! error maps. Texts found in none of these are marked UNCONFIRMED next to their entry.

use super::Method;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// The top-level `code` of a response node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GatewayCode {
    /// `10000` `Success`: the call ran (for refunds, check `fund_change`).
    Success,
    /// `20000` `Service Currently Unavailable`: outcome unknown, query before retrying.
    ServiceUnavailable,
    /// `20001` `Insufficient Token Permissions`.
    InsufficientTokenPermissions,
    /// `40001` `Missing Required Arguments`.
    MissingRequiredArguments,
    /// `40002` `Invalid Arguments`.
    InvalidArguments,
    /// `40003` `Insufficient Conditions`. The spec leaves the English text UNCONFIRMED; a
    /// precreate capture in public code (sub_code isv.missing-signature-config) shows this one.
    InsufficientConditions,
    /// `40004` `Business Failed`: see the `ACQ.*` sub_code.
    BusinessFailed,
    /// `40005` `Call Limited`. UNCONFIRMED English text (spec §4.4 "maybe Call Limited").
    CallLimited,
    /// `40006` `Insufficient Permissions`.
    InsufficientPermissions,
    /// Any other code read from a response, kept verbatim.
    Other(String),
}

impl GatewayCode {
    /// The wire value, e.g. `"40004"`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            GatewayCode::Success => "10000",
            GatewayCode::ServiceUnavailable => "20000",
            GatewayCode::InsufficientTokenPermissions => "20001",
            GatewayCode::MissingRequiredArguments => "40001",
            GatewayCode::InvalidArguments => "40002",
            GatewayCode::InsufficientConditions => "40003",
            GatewayCode::BusinessFailed => "40004",
            GatewayCode::CallLimited => "40005",
            GatewayCode::InsufficientPermissions => "40006",
            GatewayCode::Other(s) => s,
        }
    }

    /// The `msg` the gateway sends with this code. Empty for [`GatewayCode::Other`].
    #[must_use]
    pub fn msg(&self) -> &'static str {
        match self {
            GatewayCode::Success => "Success",
            GatewayCode::ServiceUnavailable => "Service Currently Unavailable",
            GatewayCode::InsufficientTokenPermissions => "Insufficient Token Permissions",
            GatewayCode::MissingRequiredArguments => "Missing Required Arguments",
            GatewayCode::InvalidArguments => "Invalid Arguments",
            GatewayCode::InsufficientConditions => "Insufficient Conditions",
            GatewayCode::BusinessFailed => "Business Failed",
            GatewayCode::CallLimited => "Call Limited",
            GatewayCode::InsufficientPermissions => "Insufficient Permissions",
            GatewayCode::Other(_) => "",
        }
    }

    /// Parses a wire code; unknown values become [`GatewayCode::Other`].
    #[must_use]
    pub fn from_wire(s: &str) -> GatewayCode {
        match s {
            "10000" => GatewayCode::Success,
            "20000" => GatewayCode::ServiceUnavailable,
            "20001" => GatewayCode::InsufficientTokenPermissions,
            "40001" => GatewayCode::MissingRequiredArguments,
            "40002" => GatewayCode::InvalidArguments,
            "40003" => GatewayCode::InsufficientConditions,
            "40004" => GatewayCode::BusinessFailed,
            "40005" => GatewayCode::CallLimited,
            "40006" => GatewayCode::InsufficientPermissions,
            other => GatewayCode::Other(other.to_owned()),
        }
    }

    /// `true` for `10000` only. (smartwalle also treats pay-API `10003` "paying" as success;
    /// no API modelled here returns it.)
    #[must_use]
    pub fn is_success(&self) -> bool {
        matches!(self, GatewayCode::Success)
    }
}

impl fmt::Display for GatewayCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for GatewayCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for GatewayCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        Ok(GatewayCode::from_wire(&s))
    }
}

macro_rules! sub_codes {
    ($( $(#[$doc:meta])* $variant:ident = $wire:literal, $code:ident, $msg:literal; )*) => {
        /// A `sub_code`, with its wire string, its top-level code and default `sub_msg`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum SubCode {
            $( $(#[$doc])* $variant, )*
            /// Any other sub_code read from a response, kept verbatim.
            Other(String),
        }

        impl SubCode {
            /// Every known sub_code (not [`SubCode::Other`]), for exhaustive tests and tables.
            pub const ALL: &'static [SubCode] = &[ $( SubCode::$variant, )* ];

            /// The wire string, e.g. `"ACQ.TRADE_NOT_EXIST"`.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $( SubCode::$variant => $wire, )*
                    SubCode::Other(s) => s,
                }
            }

            /// Parses a wire string; unknown values become [`SubCode::Other`].
            #[must_use]
            pub fn from_wire(s: &str) -> SubCode {
                match s {
                    $( $wire => SubCode::$variant, )*
                    other => SubCode::Other(other.to_owned()),
                }
            }

            /// The top-level code this sub_code is sent with. For [`SubCode::Other`] it is
            /// inferred from the prefix (`ACQ.` → 40004, `isv.missing-` → 40001, `isv.` → 40002,
            /// `isp.` → 20000, `aop.` → 20001).
            #[must_use]
            pub fn gateway_code(&self) -> GatewayCode {
                match self {
                    $( SubCode::$variant => GatewayCode::$code, )*
                    SubCode::Other(s) => infer_code(s),
                }
            }

            /// The default Chinese `sub_msg`. Empty for [`SubCode::Other`]. API-specific texts
            /// come from [`SubCode::sub_msg_for`].
            #[must_use]
            pub fn default_sub_msg(&self) -> &'static str {
                match self {
                    $( SubCode::$variant => $msg, )*
                    SubCode::Other(_) => "",
                }
            }
        }
    };
}

fn infer_code(s: &str) -> GatewayCode {
    if s.starts_with("ACQ.") {
        GatewayCode::BusinessFailed
    } else if s.starts_with("isv.missing-") {
        GatewayCode::MissingRequiredArguments
    } else if s.starts_with("isv.") {
        GatewayCode::InvalidArguments
    } else if s.starts_with("isp.") || s == "aop.unknow-error" {
        GatewayCode::ServiceUnavailable
    } else if s.starts_with("aop.") {
        GatewayCode::InsufficientTokenPermissions
    } else {
        GatewayCode::Other(String::new())
    }
}

sub_codes! {
    // --- 20000: outcome unknown ---
    /// `isp.unknow-error` (sic): backend busy; the refund may or may not have happened.
    IspUnknowError = "isp.unknow-error", ServiceUnavailable, "系统繁忙";
    /// `aop.unknow-error` (sic): the gateway's own unknown error.
    AopUnknowError = "aop.unknow-error", ServiceUnavailable, "系统繁忙";

    // --- 20001: auth tokens ---
    /// `aop.invalid-auth-token`.
    AopInvalidAuthToken = "aop.invalid-auth-token", InsufficientTokenPermissions, "无效的访问令牌";
    /// `aop.auth-token-time-out`.
    AopAuthTokenTimeOut = "aop.auth-token-time-out", InsufficientTokenPermissions, "访问令牌已过期";
    /// `aop.invalid-app-auth-token`.
    AopInvalidAppAuthToken = "aop.invalid-app-auth-token", InsufficientTokenPermissions, "无效的应用授权令牌";
    /// `aop.invalid-app-auth-token-no-api`.
    AopInvalidAppAuthTokenNoApi = "aop.invalid-app-auth-token-no-api", InsufficientTokenPermissions, "商户未授权当前接口";
    /// `aop.app-auth-token-time-out`.
    AopAppAuthTokenTimeOut = "aop.app-auth-token-time-out", InsufficientTokenPermissions, "应用授权令牌已过期";
    /// `aop.no-product-reg-by-partner`.
    AopNoProductRegByPartner = "aop.no-product-reg-by-partner", InsufficientTokenPermissions, "商户未签约任何产品";

    // --- 40001: missing common parameters ---
    /// `isv.missing-method`.
    IsvMissingMethod = "isv.missing-method", MissingRequiredArguments, "缺少方法名参数";
    /// `isv.missing-signature`.
    IsvMissingSignature = "isv.missing-signature", MissingRequiredArguments, "缺少签名参数";
    /// `isv.missing-signature-type`.
    IsvMissingSignatureType = "isv.missing-signature-type", MissingRequiredArguments, "缺少签名类型参数";
    /// `isv.missing-signature-key`.
    IsvMissingSignatureKey = "isv.missing-signature-key", MissingRequiredArguments, "缺少签名配置";
    /// `isv.missing-app-id`.
    IsvMissingAppId = "isv.missing-app-id", MissingRequiredArguments, "缺少appId参数";
    /// `isv.missing-timestamp`.
    IsvMissingTimestamp = "isv.missing-timestamp", MissingRequiredArguments, "缺少时间戳参数";
    /// `isv.missing-version`.
    IsvMissingVersion = "isv.missing-version", MissingRequiredArguments, "缺少版本参数";
    /// `isv.decryption-error-missing-encrypt-type`.
    IsvDecryptionErrorMissingEncryptType = "isv.decryption-error-missing-encrypt-type", MissingRequiredArguments, "解密出错, 未指定加密算法";

    // --- 40002: invalid common parameters ---
    /// `isv.invalid-parameter`.
    IsvInvalidParameter = "isv.invalid-parameter", InvalidArguments, "参数无效";
    /// `isv.invalid-method`: a method the gateway does not know.
    IsvInvalidMethod = "isv.invalid-method", InvalidArguments, "不存在的方法名";
    /// `isv.invalid-format`: `format` other than JSON.
    IsvInvalidFormat = "isv.invalid-format", InvalidArguments, "无效的数据格式";
    /// `isv.invalid-signature-type`: `sign_type` other than RSA2/RSA.
    IsvInvalidSignatureType = "isv.invalid-signature-type", InvalidArguments, "无效的签名类型";
    /// `isv.invalid-signature`. The real gateway's sub_msg echoes its string to sign: build it
    /// with [`invalid_signature_sub_msg`].
    IsvInvalidSignature = "isv.invalid-signature", InvalidArguments, "无效签名";
    /// `isv.invalid-encrypt-type`.
    IsvInvalidEncryptType = "isv.invalid-encrypt-type", InvalidArguments, "无效的加密类型";
    /// `isv.invalid-encrypt`.
    IsvInvalidEncrypt = "isv.invalid-encrypt", InvalidArguments, "解密异常";
    /// `isv.invalid-app-id`. Sent unsigned: the gateway has no key to sign with (spec §3.4).
    IsvInvalidAppId = "isv.invalid-app-id", InvalidArguments, "无效的AppID参数";
    /// `isv.invalid-timestamp`: not `yyyy-MM-dd HH:mm:ss`.
    IsvInvalidTimestamp = "isv.invalid-timestamp", InvalidArguments, "非法的时间戳参数";
    /// `isv.invalid-charset`.
    IsvInvalidCharset = "isv.invalid-charset", InvalidArguments, "字符集错误";
    /// `isv.invalid-digest`.
    IsvInvalidDigest = "isv.invalid-digest", InvalidArguments, "摘要错误";
    /// `isv.decryption-error-not-valid-encrypt-type`.
    IsvDecryptionErrorNotValidEncryptType = "isv.decryption-error-not-valid-encrypt-type", InvalidArguments, "解密出错，不支持的加密算法";
    /// `isv.decryption-error-not-valid-encrypt-key`.
    IsvDecryptionErrorNotValidEncryptKey = "isv.decryption-error-not-valid-encrypt-key", InvalidArguments, "解密出错, 未配置加密密钥或加密密钥格式错误";
    /// `isv.decryption-error-unknown`.
    IsvDecryptionErrorUnknown = "isv.decryption-error-unknown", InvalidArguments, "解密出错，未知异常";
    /// `isv.not-support-app-auth`.
    IsvNotSupportAppAuth = "isv.not-support-app-auth", InvalidArguments, "本接口不支持第三方代理调用";
    /// `isv.suspected-attack`.
    IsvSuspectedAttack = "isv.suspected-attack", InvalidArguments, "可疑的攻击请求";
    /// `isv.forbidden-api`. sub_msg text UNCONFIRMED.
    IsvForbiddenApi = "isv.forbidden-api", InvalidArguments, "接口被禁止调用";
    /// `isv.code-invalid` (OAuth code errors, seen under `error_response`).
    IsvCodeInvalid = "isv.code-invalid", InvalidArguments, "授权码code无效";

    // --- 40003: conditions ---
    /// `isv.missing-signature-config`: no public key configured for the sign_type. The spec
    /// lists it under both 40002 and 40003; a real capture shows 40003 with this sub_msg.
    IsvMissingSignatureConfig = "isv.missing-signature-config", InsufficientConditions, "应用未配置对应签名算法的公钥或者证书";
    /// `invalid-auth-relations` (no `isv.` prefix on the wire). sub_msg text UNCONFIRMED.
    InvalidAuthRelations = "invalid-auth-relations", InsufficientConditions, "无效的授权关系";

    // --- 40005: rate limits ---
    /// `isv.app-call-limited`. sub_msg text UNCONFIRMED.
    IsvAppCallLimited = "isv.app-call-limited", CallLimited, "应用调用次数超限";
    /// `isv.method-call-limited`. sub_msg text UNCONFIRMED.
    IsvMethodCallLimited = "isv.method-call-limited", CallLimited, "方法调用次数超限";

    // --- 40006: permissions ---
    /// `isv.insufficient-isv-permissions`: product not activated.
    IsvInsufficientIsvPermissions = "isv.insufficient-isv-permissions", InsufficientPermissions, "ISV权限不足";
    /// `isv.insufficient-user-permissions`.
    IsvInsufficientUserPermissions = "isv.insufficient-user-permissions", InsufficientPermissions, "用户权限不足";
    /// `isv.app-api-punished`. sub_msg text UNCONFIRMED.
    IsvAppApiPunished = "isv.app-api-punished", InsufficientPermissions, "应用接口被处罚";

    // --- 40004: bill download (spec §8; casing and code UNCONFIRMED) ---
    // deviation: ali-bill-sub-code-casing
    /// `isp.bill_not_exist`: no bill for that date (nothing happened that day).
    IspBillNotExist = "isp.bill_not_exist", BusinessFailed, "账单不存在";
    /// `isv.invalid_arguments`: bill_type or bill_date unusable (today, the future, bad format).
    IsvInvalidArguments = "isv.invalid_arguments", BusinessFailed, "入参不合法";

    // --- 40004: business (refund, refund query, trade query, trade close, precreate) ---
    /// `ACQ.SYSTEM_ERROR`: outcome unknown; retry with the same out_request_no and amount.
    AcqSystemError = "ACQ.SYSTEM_ERROR", BusinessFailed, "系统错误";
    /// `ACQ.INVALID_PARAMETER`: bad biz_content parameter.
    AcqInvalidParameter = "ACQ.INVALID_PARAMETER", BusinessFailed, "参数无效";
    /// `ACQ.SELLER_BALANCE_NOT_ENOUGH`: top up, then retry the same request.
    AcqSellerBalanceNotEnough = "ACQ.SELLER_BALANCE_NOT_ENOUGH", BusinessFailed, "卖家余额不足";
    /// `ACQ.REFUND_AMT_NOT_EQUAL_TOTAL`: amount above the trade total, or a partial refund
    /// without out_request_no. The text is the real capture's (aliyun 707486); the current doc
    /// table says "退款金额超限".
    AcqRefundAmtNotEqualTotal = "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", BusinessFailed, "撤销或退款金额与订单金额不一致";
    /// `ACQ.REASON_TRADE_BEEN_FREEZEN` (sic).
    AcqReasonTradeBeenFreezen = "ACQ.REASON_TRADE_BEEN_FREEZEN", BusinessFailed, "请求退款的交易被冻结";
    /// `ACQ.TRADE_NOT_EXIST`. Text from the trade.query capture; refund query has its own.
    AcqTradeNotExist = "ACQ.TRADE_NOT_EXIST", BusinessFailed, "交易不存在";
    /// `ACQ.TRADE_HAS_FINISHED`: TRADE_FINISHED, the refund period is over.
    AcqTradeHasFinished = "ACQ.TRADE_HAS_FINISHED", BusinessFailed, "交易已完结";
    /// `ACQ.TRADE_HAS_CLOSE` (sic): TRADE_CLOSED.
    AcqTradeHasClose = "ACQ.TRADE_HAS_CLOSE", BusinessFailed, "交易已关闭";
    /// `ACQ.TRADE_STATUS_ERROR`: e.g. refunding WAIT_BUYER_PAY, closing a paid trade.
    AcqTradeStatusError = "ACQ.TRADE_STATUS_ERROR", BusinessFailed, "交易状态非法";
    /// `ACQ.REASON_TRADE_STATUS_INVALID`.
    AcqReasonTradeStatusInvalid = "ACQ.REASON_TRADE_STATUS_INVALID", BusinessFailed, "交易状态异常";
    /// `ACQ.DISCORDANT_REPEAT_REQUEST`: same out_request_no, different amount.
    AcqDiscordantRepeatRequest = "ACQ.DISCORDANT_REPEAT_REQUEST", BusinessFailed, "请求信息不一致";
    /// `ACQ.REASON_TRADE_REFUND_FEE_ERR`: cumulative refunds would exceed the total.
    AcqReasonTradeRefundFeeErr = "ACQ.REASON_TRADE_REFUND_FEE_ERR", BusinessFailed, "退款金额无效";
    /// `ACQ.TRADE_NOT_ALLOW_REFUND`.
    AcqTradeNotAllowRefund = "ACQ.TRADE_NOT_ALLOW_REFUND", BusinessFailed, "当前交易不允许退款";
    /// `ACQ.REFUND_FEE_ERROR`.
    AcqRefundFeeError = "ACQ.REFUND_FEE_ERROR", BusinessFailed, "交易退款金额有误";
    /// `ACQ.NOT_ALLOW_PARTIAL_REFUND`.
    AcqNotAllowPartialRefund = "ACQ.NOT_ALLOW_PARTIAL_REFUND", BusinessFailed, "不支持部分退款";
    /// `ACQ.ONLINE_TRADE_VOUCHER_NOT_ALLOW_REFUND`.
    AcqOnlineTradeVoucherNotAllowRefund = "ACQ.ONLINE_TRADE_VOUCHER_NOT_ALLOW_REFUND", BusinessFailed, "交易不允许退款";
    /// `ACQ.BUYER_NOT_EXIST`: buyer account cancelled. sub_msg text UNCONFIRMED.
    AcqBuyerNotExist = "ACQ.BUYER_NOT_EXIST", BusinessFailed, "买家不存在";
    /// `ACQ.BUYER_ERROR`: buyer abnormal. sub_msg text UNCONFIRMED.
    AcqBuyerError = "ACQ.BUYER_ERROR", BusinessFailed, "买家状态异常";
    /// `ACQ.BUYER_ENABLE_STATUS_FORBID`: buyer frozen. sub_msg text UNCONFIRMED.
    AcqBuyerEnableStatusForbid = "ACQ.BUYER_ENABLE_STATUS_FORBID", BusinessFailed, "买家状态非法";
    /// `ACQ.CUSTOMER_VALIDATE_ERROR`. sub_msg text UNCONFIRMED.
    AcqCustomerValidateError = "ACQ.CUSTOMER_VALIDATE_ERROR", BusinessFailed, "账户校验失败";
    /// `ACQ.CURRENCY_NOT_SUPPORT`. sub_msg text UNCONFIRMED.
    AcqCurrencyNotSupport = "ACQ.CURRENCY_NOT_SUPPORT", BusinessFailed, "币种不支持";
    /// `ACQ.ALLOC_AMOUNT_VALIDATE_ERROR`. sub_msg text UNCONFIRMED.
    AcqAllocAmountValidateError = "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR", BusinessFailed, "退分账金额超限";
    /// `ACQ.REFUNDALLOC_UNAUTH_LIMIT`: royalty receiver has not enabled 分账回退. Text UNCONFIRMED.
    AcqRefundallocUnauthLimit = "ACQ.REFUNDALLOC_UNAUTH_LIMIT", BusinessFailed, "分账回退未授权";
    /// `ACQ.REFUND_ROYALTY_PAYEE_ACCOUNT_NOT_EXIST`. sub_msg text UNCONFIRMED.
    AcqRefundRoyaltyPayeeAccountNotExist = "ACQ.REFUND_ROYALTY_PAYEE_ACCOUNT_NOT_EXIST", BusinessFailed, "退分账收入方账户不存在";
    /// `ACQ.REFUND_ACCOUNT_NOT_EXIST`. sub_msg text UNCONFIRMED.
    AcqRefundAccountNotExist = "ACQ.REFUND_ACCOUNT_NOT_EXIST", BusinessFailed, "退款出资账户不存在";
    /// `ACQ.REFUND_CHARGE_ERROR`. sub_msg text UNCONFIRMED.
    AcqRefundChargeError = "ACQ.REFUND_CHARGE_ERROR", BusinessFailed, "退收费异常";
    /// `ACQ.TRADE_SETTLE_ERROR`. sub_msg text UNCONFIRMED.
    AcqTradeSettleError = "ACQ.TRADE_SETTLE_ERROR", BusinessFailed, "分账处理中";
    /// `ACQ.USER_NOT_MATCH_ERR`. sub_msg text UNCONFIRMED.
    AcqUserNotMatchErr = "ACQ.USER_NOT_MATCH_ERR", BusinessFailed, "用户信息不匹配";
    /// `ACQ.ENTERPRISE_PAY_BIZ_ERROR`. sub_msg text UNCONFIRMED.
    AcqEnterprisePayBizError = "ACQ.ENTERPRISE_PAY_BIZ_ERROR", BusinessFailed, "因公付业务异常";
    /// `ACQ.OVERDRAFT_AGREEMENT_NOT_MATCH`. sub_msg text UNCONFIRMED.
    AcqOverdraftAgreementNotMatch = "ACQ.OVERDRAFT_AGREEMENT_NOT_MATCH", BusinessFailed, "垫资协议不匹配";
    /// `ACQ.OVERDRAFT_ASSIGN_ACCOUNT_INVALID`. sub_msg text UNCONFIRMED.
    AcqOverdraftAssignAccountInvalid = "ACQ.OVERDRAFT_ASSIGN_ACCOUNT_INVALID", BusinessFailed, "垫资指定账户无效";
    /// `ACQ.TOTAL_FEE_EXCEED` (precreate, fzlee docstring). sub_msg text UNCONFIRMED.
    AcqTotalFeeExceed = "ACQ.TOTAL_FEE_EXCEED", BusinessFailed, "订单金额超过限额";
}

impl SubCode {
    /// The `sub_msg` this API sends for this sub_code: the API-specific text where the spec
    /// gives one (refund query's "查询退款的交易不存在", §5.4), else [`SubCode::default_sub_msg`].
    #[must_use]
    pub fn sub_msg_for(&self, method: Method) -> &'static str {
        match (self, method) {
            (SubCode::AcqTradeNotExist, Method::TradeFastpayRefundQuery) => "查询退款的交易不存在",
            _ => self.default_sub_msg(),
        }
    }

    /// The same request, unchanged, may be sent again and may succeed: the spec says to retry
    /// with the same parameters (ACQ.SYSTEM_ERROR; the 20000 unknown errors, after a query;
    /// ACQ.SELLER_BALANCE_NOT_ENOUGH, after topping up). Refund retries are safe because the
    /// gateway refunds one out_request_no at most once.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SubCode::AcqSystemError
                | SubCode::IspUnknowError
                | SubCode::AopUnknowError
                | SubCode::AcqSellerBalanceNotEnough
        )
    }

    /// The operation may or may not have taken effect: query before concluding anything.
    #[must_use]
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            SubCode::AcqSystemError | SubCode::IspUnknowError | SubCode::AopUnknowError
        )
    }
}

impl fmt::Display for SubCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SubCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SubCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        Ok(SubCode::from_wire(&s))
    }
}

/// Prefix of the real gateway's `isv.invalid-signature` sub_msg (spec §2.2).
pub const INVALID_SIGNATURE_SUB_MSG_PREFIX: &str =
    "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：";

/// The `isv.invalid-signature` sub_msg as the real gateway writes it: a fixed prefix and the
/// gateway's own string to sign, HTML-escaped (`&` → `&amp;`, `"` → `&quot;`, and `<`, `>`).
/// Pass [`super::sign::canonical_string`] of the received parameters.
#[must_use]
pub fn invalid_signature_sub_msg(canonical: &str) -> String {
    let mut out = String::from(INVALID_SIGNATURE_SUB_MSG_PREFIX);
    for c in canonical.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}
