//! Public codes and sub_codes (spec §3.4, §4.4, §5.4, §6).

use paysandbox_protocol::alipay::codes::INVALID_SIGNATURE_SUB_MSG_PREFIX;
use paysandbox_protocol::alipay::{
    GatewayCode, Method, ResponseStatus, SubCode, invalid_signature_sub_msg,
};

#[test]
fn gateway_codes_and_their_msgs() {
    let table = [
        (GatewayCode::Success, "10000", "Success"),
        (
            GatewayCode::ServiceUnavailable,
            "20000",
            "Service Currently Unavailable",
        ),
        (
            GatewayCode::InsufficientTokenPermissions,
            "20001",
            "Insufficient Token Permissions",
        ),
        (
            GatewayCode::MissingRequiredArguments,
            "40001",
            "Missing Required Arguments",
        ),
        (GatewayCode::InvalidArguments, "40002", "Invalid Arguments"),
        (
            GatewayCode::InsufficientConditions,
            "40003",
            "Insufficient Conditions",
        ),
        (GatewayCode::BusinessFailed, "40004", "Business Failed"),
        (GatewayCode::CallLimited, "40005", "Call Limited"),
        (
            GatewayCode::InsufficientPermissions,
            "40006",
            "Insufficient Permissions",
        ),
    ];
    for (code, wire, msg) in table {
        assert_eq!(code.as_str(), wire);
        assert_eq!(code.msg(), msg);
        assert_eq!(GatewayCode::from_wire(wire), code);
        assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{wire}\""));
        assert_eq!(code.is_success(), wire == "10000");
    }
    let other = GatewayCode::from_wire("10003");
    assert_eq!(other, GatewayCode::Other("10003".into()));
    assert_eq!(other.as_str(), "10003");
    assert!(!other.is_success());
}

#[test]
fn every_sub_code_round_trips_its_wire_string() {
    assert!(SubCode::ALL.len() >= 60);
    for sc in SubCode::ALL {
        assert_eq!(&SubCode::from_wire(sc.as_str()), sc);
        assert!(!sc.default_sub_msg().is_empty(), "{sc}");
        let json = serde_json::to_string(sc).unwrap();
        assert_eq!(&serde_json::from_str::<SubCode>(&json).unwrap(), sc);
        // The prefix rule agrees with the table wherever the prefix is telling.
        let inferred = SubCode::Other(sc.as_str().to_owned()).gateway_code();
        if sc.as_str().starts_with("ACQ.") {
            assert_eq!(inferred, sc.gateway_code(), "{sc}");
        }
    }
    assert_eq!(
        SubCode::from_wire("ACQ.NEW_THING"),
        SubCode::Other("ACQ.NEW_THING".into())
    );
    assert_eq!(
        SubCode::from_wire("ACQ.NEW_THING").gateway_code(),
        GatewayCode::BusinessFailed
    );
    assert_eq!(
        SubCode::from_wire("isv.missing-x").gateway_code(),
        GatewayCode::MissingRequiredArguments
    );
    assert_eq!(
        SubCode::from_wire("isv.invalid-x").gateway_code(),
        GatewayCode::InvalidArguments
    );
    assert_eq!(
        SubCode::from_wire("isp.x").gateway_code(),
        GatewayCode::ServiceUnavailable
    );
    assert_eq!(
        SubCode::from_wire("aop.x").gateway_code(),
        GatewayCode::InsufficientTokenPermissions
    );
}

#[test]
fn the_sub_codes_the_brief_and_spec_name_map_to_the_right_code() {
    use GatewayCode::*;
    let table = [
        ("ACQ.SYSTEM_ERROR", BusinessFailed, "系统错误"),
        ("ACQ.INVALID_PARAMETER", BusinessFailed, "参数无效"),
        (
            "ACQ.SELLER_BALANCE_NOT_ENOUGH",
            BusinessFailed,
            "卖家余额不足",
        ),
        (
            "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
            BusinessFailed,
            "撤销或退款金额与订单金额不一致",
        ),
        (
            "ACQ.REASON_TRADE_BEEN_FREEZEN",
            BusinessFailed,
            "请求退款的交易被冻结",
        ),
        ("ACQ.TRADE_NOT_EXIST", BusinessFailed, "交易不存在"),
        ("ACQ.TRADE_HAS_FINISHED", BusinessFailed, "交易已完结"),
        ("ACQ.TRADE_HAS_CLOSE", BusinessFailed, "交易已关闭"),
        ("ACQ.TRADE_STATUS_ERROR", BusinessFailed, "交易状态非法"),
        (
            "ACQ.REASON_TRADE_STATUS_INVALID",
            BusinessFailed,
            "交易状态异常",
        ),
        (
            "ACQ.DISCORDANT_REPEAT_REQUEST",
            BusinessFailed,
            "请求信息不一致",
        ),
        (
            "ACQ.REASON_TRADE_REFUND_FEE_ERR",
            BusinessFailed,
            "退款金额无效",
        ),
        (
            "ACQ.TRADE_NOT_ALLOW_REFUND",
            BusinessFailed,
            "当前交易不允许退款",
        ),
        ("ACQ.REFUND_FEE_ERROR", BusinessFailed, "交易退款金额有误"),
        (
            "ACQ.NOT_ALLOW_PARTIAL_REFUND",
            BusinessFailed,
            "不支持部分退款",
        ),
        (
            "ACQ.ONLINE_TRADE_VOUCHER_NOT_ALLOW_REFUND",
            BusinessFailed,
            "交易不允许退款",
        ),
        ("isp.unknow-error", ServiceUnavailable, "系统繁忙"),
        (
            "aop.invalid-app-auth-token",
            InsufficientTokenPermissions,
            "无效的应用授权令牌",
        ),
        (
            "isv.missing-method",
            MissingRequiredArguments,
            "缺少方法名参数",
        ),
        (
            "isv.missing-app-id",
            MissingRequiredArguments,
            "缺少appId参数",
        ),
        (
            "isv.missing-signature",
            MissingRequiredArguments,
            "缺少签名参数",
        ),
        (
            "isv.missing-signature-type",
            MissingRequiredArguments,
            "缺少签名类型参数",
        ),
        (
            "isv.missing-timestamp",
            MissingRequiredArguments,
            "缺少时间戳参数",
        ),
        (
            "isv.missing-version",
            MissingRequiredArguments,
            "缺少版本参数",
        ),
        ("isv.invalid-app-id", InvalidArguments, "无效的AppID参数"),
        ("isv.invalid-signature", InvalidArguments, "无效签名"),
        (
            "isv.invalid-signature-type",
            InvalidArguments,
            "无效的签名类型",
        ),
        (
            "isv.invalid-timestamp",
            InvalidArguments,
            "非法的时间戳参数",
        ),
        ("isv.invalid-charset", InvalidArguments, "字符集错误"),
        ("isv.invalid-method", InvalidArguments, "不存在的方法名"),
        ("isv.invalid-format", InvalidArguments, "无效的数据格式"),
        ("isv.invalid-parameter", InvalidArguments, "参数无效"),
        (
            "isv.missing-signature-config",
            InsufficientConditions,
            "应用未配置对应签名算法的公钥或者证书",
        ),
        ("isv.app-call-limited", CallLimited, "应用调用次数超限"),
        (
            "isv.insufficient-isv-permissions",
            InsufficientPermissions,
            "ISV权限不足",
        ),
    ];
    for (wire, code, msg) in table {
        let sc = SubCode::from_wire(wire);
        assert!(!matches!(sc, SubCode::Other(_)), "{wire} is modelled");
        assert_eq!(sc.gateway_code(), code, "{wire}");
        assert_eq!(sc.default_sub_msg(), msg, "{wire}");
    }
}

#[test]
fn api_specific_sub_msgs() {
    assert_eq!(
        SubCode::AcqTradeNotExist.sub_msg_for(Method::TradeFastpayRefundQuery),
        "查询退款的交易不存在"
    );
    assert_eq!(
        SubCode::AcqTradeNotExist.sub_msg_for(Method::TradeQuery),
        "交易不存在"
    );
    assert_eq!(
        SubCode::AcqSystemError.sub_msg_for(Method::TradeRefund),
        "系统错误"
    );
}

#[test]
fn retryable_means_resend_the_same_request() {
    let retryable: Vec<&SubCode> = SubCode::ALL.iter().filter(|s| s.is_retryable()).collect();
    assert_eq!(
        retryable,
        [
            &SubCode::IspUnknowError,
            &SubCode::AopUnknowError,
            &SubCode::AcqSystemError,
            &SubCode::AcqSellerBalanceNotEnough
        ]
    );
    // Outcome unknown implies retryable, never the reverse for balance.
    for sc in SubCode::ALL {
        if sc.outcome_unknown() {
            assert!(sc.is_retryable(), "{sc}");
        }
    }
    assert!(!SubCode::AcqSellerBalanceNotEnough.outcome_unknown());
    assert!(!SubCode::AcqDiscordantRepeatRequest.is_retryable());
    assert!(!SubCode::AcqTradeHasFinished.is_retryable());
    assert!(!SubCode::Other("ACQ.SYSTEM_ERROR_X".into()).is_retryable());
}

#[test]
fn response_status_for_a_sub_code() {
    let s = ResponseStatus::error(SubCode::AcqTradeHasClose);
    assert_eq!(
        serde_json::to_string(&s).unwrap(),
        r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_HAS_CLOSE","sub_msg":"交易已关闭"}"#
    );
    assert!(!s.is_success());
    let s = ResponseStatus::error(SubCode::IsvMissingMethod);
    assert_eq!(
        (s.code.as_str(), s.msg.as_str()),
        ("40001", "Missing Required Arguments")
    );
    assert_eq!(
        serde_json::to_string(&ResponseStatus::success()).unwrap(),
        r#"{"code":"10000","msg":"Success"}"#
    );
}

#[test]
fn invalid_signature_sub_msg_echoes_the_canonical_string_html_escaped() {
    let canonical = r#"app_id=1&biz_content={"a":"<b>"}&sign_type=RSA2"#;
    let msg = invalid_signature_sub_msg(canonical);
    assert_eq!(
        msg,
        format!(
            "{INVALID_SIGNATURE_SUB_MSG_PREFIX}app_id=1&amp;biz_content={{&quot;a&quot;:&quot;&lt;b&gt;&quot;}}&amp;sign_type=RSA2"
        )
    );
    assert!(msg.starts_with(
        "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："
    ));
}
