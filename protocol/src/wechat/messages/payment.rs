//! The payment side (§6.1, §6.3, §8.1): unified order, close order, and the sandbox's
//! `getsignkey`. Same conventions as the other endpoints' modules (see the parent module).

use std::net::IpAddr;

use super::common::{
    At, Put, Result, ResultHeader, read_common, read_sign_type, validate_common, write_common,
};
use crate::beijing;
use crate::wechat::codes::{ReturnCode, TradeType};
use crate::wechat::fields::{self, FieldError};
use crate::wechat::params::Params;
use crate::wechat::sign::SignType;

/// `body` maximum length (`String(128)`).
pub const BODY_MAX_LEN: usize = 128;
/// `attach` maximum length (`String(127)`).
pub const ATTACH_MAX_LEN: usize = 127;
/// The reason of the [`FieldError`] for a JSAPI order without `openid`.
pub const OPENID_REQUIRED: &str = "required when trade_type is JSAPI";
/// The reason of the [`FieldError`] for a NATIVE order without `product_id`.
pub const PRODUCT_ID_REQUIRED: &str = "required when trade_type is NATIVE";

/// Length in characters within `max`, no control characters; empty is "missing".
fn text(field: &'static str, v: &str, max: usize) -> Result<()> {
    if v.is_empty() {
        return Err(FieldError::missing(field));
    }
    if v.chars().count() > max {
        return Err(FieldError::invalid(field, "too long"));
    }
    if v.chars().any(char::is_control) {
        return Err(FieldError::invalid(field, "contains control characters"));
    }
    Ok(())
}

fn opt(field: &'static str, v: &Option<String>, max: usize) -> Result<()> {
    match v.as_deref() {
        Some(s) if !s.is_empty() => text(field, s, max),
        _ => Ok(()),
    }
}

/// `yyyyMMddHHmmss` (Beijing time, §6.1): 14 digits naming a real calendar second.
pub fn compact_time(field: &'static str, v: &str) -> Result<()> {
    let year = v.get(0..4).and_then(|y| y.parse::<u16>().ok());
    let since_1970 = year.is_some_and(|y| y >= 1970);
    let digits = v.bytes().all(|b| b.is_ascii_digit());
    if !(digits && since_1970 && beijing::parse_compact(v).is_some()) {
        return Err(FieldError::invalid(field, "must be yyyyMMddHHmmss"));
    }
    Ok(())
}

/// `spbill_create_ip`: the payer's IPv4 or IPv6 address (`String(64)`).
pub fn spbill_create_ip(v: &str) -> Result<()> {
    text("spbill_create_ip", v, 64)?;
    v.parse::<IpAddr>()
        .map(|_| ())
        .map_err(|_| FieldError::invalid("spbill_create_ip", "must be an IPv4 or IPv6 address"))
}

/// The business fields of `POST /pay/unifiedorder` (§6.1): what the merchant sells, for how
/// much, and how the payer pays. [`UnifiedOrderRequest`] adds the credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnifiedOrder {
    /// `device_info`: terminal id, `WEB` for web pages.
    pub device_info: Option<String>,
    /// `body`: goods description, at most 128 characters.
    pub body: String,
    /// `detail`: goods detail (JSON text), at most 6000 characters.
    pub detail: Option<String>,
    /// `attach`: merchant data echoed in queries and notifications, at most 127 characters.
    pub attach: Option<String>,
    /// `out_trade_no`: the merchant's order number, 6 to 32 of `0-9 a-z A-Z _ - | *`.
    pub out_trade_no: String,
    /// `fee_type`: currency, `CNY` by default.
    pub fee_type: Option<String>,
    /// `total_fee`: fen, > 0.
    pub total_fee: u64,
    /// `spbill_create_ip`: the payer's IP address.
    pub spbill_create_ip: String,
    /// `time_start`: `yyyyMMddHHmmss`, Beijing time.
    pub time_start: Option<String>,
    /// `time_expire`: `yyyyMMddHHmmss`, Beijing time; the order cannot be paid after it.
    pub time_expire: Option<String>,
    /// `goods_tag`: coupon tag.
    pub goods_tag: Option<String>,
    /// `notify_url`: where the payment notification goes (no query string).
    pub notify_url: String,
    /// `trade_type`.
    pub trade_type: Option<TradeType>,
    /// `product_id`: required for NATIVE.
    pub product_id: Option<String>,
    /// `limit_pay`: `no_credit` forbids credit cards.
    pub limit_pay: Option<String>,
    /// `openid`: the payer under this appid; required for JSAPI.
    pub openid: Option<String>,
    /// `scene_info`: scene JSON (H5 payments).
    pub scene_info: Option<String>,
}

impl UnifiedOrder {
    /// Checks every field's format rule, and `openid` for JSAPI / `product_id` for NATIVE.
    pub fn validate(&self) -> Result<()> {
        opt("device_info", &self.device_info, 32)?;
        text("body", &self.body, BODY_MAX_LEN)?;
        opt("detail", &self.detail, 6000)?;
        opt("attach", &self.attach, ATTACH_MAX_LEN)?;
        fields::new_out_trade_no(&self.out_trade_no)?;
        if let Some(fee_type) = self.fee_type.as_deref().filter(|f| !f.is_empty())
            && !(fee_type.len() == 3 && fee_type.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(FieldError::invalid("fee_type", "must be an ISO 4217 code"));
        }
        super::common::check_positive_fee("total_fee", self.total_fee)?;
        spbill_create_ip(&self.spbill_create_ip)?;
        for (field, v) in [
            ("time_start", &self.time_start),
            ("time_expire", &self.time_expire),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                compact_time(field, v)?;
            }
        }
        opt("goods_tag", &self.goods_tag, 32)?;
        fields::notify_url(&self.notify_url)?;
        let trade_type = self.trade_type.ok_or(FieldError::missing("trade_type"))?;
        opt("product_id", &self.product_id, 32)?;
        if let Some(limit) = self.limit_pay.as_deref().filter(|l| !l.is_empty())
            && limit != "no_credit"
        {
            return Err(FieldError::invalid("limit_pay", "only no_credit"));
        }
        opt("openid", &self.openid, 128)?;
        opt("scene_info", &self.scene_info, 256)?;
        let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        if trade_type == TradeType::Jsapi && !given(&self.openid) {
            return Err(FieldError::invalid("openid", OPENID_REQUIRED));
        }
        if trade_type == TradeType::Native && !given(&self.product_id) {
            return Err(FieldError::invalid("product_id", PRODUCT_ID_REQUIRED));
        }
        Ok(())
    }

    fn write(&self, put: &mut Put<'_>) {
        put.opt_text("device_info", self.device_info.as_deref());
        put.text("body", &self.body);
        put.opt_text("detail", self.detail.as_deref());
        put.opt_text("attach", self.attach.as_deref());
        put.text("out_trade_no", &self.out_trade_no);
        put.opt_text("fee_type", self.fee_type.as_deref());
        put.int("total_fee", self.total_fee);
        put.text("spbill_create_ip", &self.spbill_create_ip);
        put.opt_text("time_start", self.time_start.as_deref());
        put.opt_text("time_expire", self.time_expire.as_deref());
        put.opt_text("goods_tag", self.goods_tag.as_deref());
        put.text("notify_url", &self.notify_url);
        put.opt_text("trade_type", self.trade_type.map(TradeType::as_str));
        put.opt_text("product_id", self.product_id.as_deref());
        put.opt_text("limit_pay", self.limit_pay.as_deref());
        put.opt_text("openid", self.openid.as_deref());
        put.opt_text("scene_info", self.scene_info.as_deref());
    }

    fn read(at: At<'_>) -> Result<Self> {
        Ok(Self {
            device_info: at.opt_text("device_info"),
            body: at.text("body")?,
            detail: at.opt_text("detail"),
            attach: at.opt_text("attach"),
            out_trade_no: at.text("out_trade_no")?,
            fee_type: at.opt_text("fee_type"),
            total_fee: fields::parse_fee("total_fee", at.get("total_fee").unwrap_or_default())?,
            spbill_create_ip: at.text("spbill_create_ip")?,
            time_start: at.opt_text("time_start"),
            time_expire: at.opt_text("time_expire"),
            goods_tag: at.opt_text("goods_tag"),
            notify_url: at.text("notify_url")?,
            trade_type: Some(at.enumerated("trade_type", TradeType::from_wire)?),
            product_id: at.opt_text("product_id"),
            limit_pay: at.opt_text("limit_pay"),
            openid: at.opt_text("openid"),
            scene_info: at.opt_text("scene_info"),
        })
    }
}

/// `POST /pay/unifiedorder` request (§6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnifiedOrderRequest {
    /// `appid`.
    pub appid: String,
    /// `mch_id`.
    pub mch_id: String,
    /// `nonce_str`.
    pub nonce_str: String,
    /// `sign_type`; `None` means MD5 and no field.
    pub sign_type: Option<SignType>,
    /// The order.
    pub order: UnifiedOrder,
}

impl UnifiedOrderRequest {
    /// Checks every field's format rule.
    pub fn validate(&self) -> Result<()> {
        validate_common(&self.appid, &self.mch_id, &self.nonce_str)?;
        self.order.validate()
    }

    /// The request's parameters, unsigned.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        let mut put = Put::top(&mut p);
        write_common(
            &mut put,
            &self.appid,
            &self.mch_id,
            &self.nonce_str,
            self.sign_type,
        );
        self.order.write(&mut put);
        p
    }

    /// Parses and validates a received request. Presence is checked before formats, so a
    /// request missing a field gets [`FieldError::missing`] whatever else is wrong.
    pub fn from_params(p: &Params) -> Result<Self> {
        let at = At::top(p);
        let (appid, mch_id, nonce_str, sign_type) = read_common(at)?;
        for required in [
            "body",
            "out_trade_no",
            "total_fee",
            "spbill_create_ip",
            "notify_url",
            "trade_type",
        ] {
            if at.get(required).is_none() {
                return Err(FieldError::missing(required));
            }
        }
        let r = Self {
            appid,
            mch_id,
            nonce_str,
            sign_type,
            order: UnifiedOrder::read(at)?,
        };
        r.validate()?;
        Ok(r)
    }
}

/// A successful unified order response (§6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnifiedOrderResponse {
    /// Common header, `result_code=SUCCESS`.
    pub header: ResultHeader,
    /// `device_info`, echoed.
    pub device_info: Option<String>,
    /// `trade_type`.
    pub trade_type: TradeType,
    /// `prepay_id`: valid two hours; the payer's client needs it to pay.
    pub prepay_id: String,
    /// `code_url`: the QR code content, NATIVE only.
    pub code_url: Option<String>,
    /// `mweb_url`: the H5 payment page, MWEB only.
    pub mweb_url: Option<String>,
}

impl UnifiedOrderResponse {
    /// The response's parameters, unsigned.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        let mut put = Put::top(&mut p);
        self.header.write(&mut put);
        put.opt_text("device_info", self.device_info.as_deref());
        put.text("trade_type", self.trade_type.as_str());
        put.text("prepay_id", &self.prepay_id);
        put.opt_text("code_url", self.code_url.as_deref());
        put.opt_text("mweb_url", self.mweb_url.as_deref());
        p
    }

    /// Parses a `result_code=SUCCESS` unified order response.
    pub fn from_params(p: &Params) -> Result<Self> {
        let header = ResultHeader::from_params_success(p)?;
        let at = At::top(p);
        Ok(Self {
            header,
            device_info: at.opt_text("device_info"),
            trade_type: at.enumerated("trade_type", TradeType::from_wire)?,
            prepay_id: at.text("prepay_id")?,
            code_url: at.opt_text("code_url"),
            mweb_url: at.opt_text("mweb_url"),
        })
    }
}

/// `POST /pay/closeorder` request (§6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOrderRequest {
    /// `appid`.
    pub appid: String,
    /// `mch_id`.
    pub mch_id: String,
    /// `nonce_str`.
    pub nonce_str: String,
    /// `sign_type`; `None` means MD5 and no field.
    pub sign_type: Option<SignType>,
    /// `out_trade_no` of the order to close.
    pub out_trade_no: String,
}

impl CloseOrderRequest {
    /// Checks every field's format rule.
    pub fn validate(&self) -> Result<()> {
        validate_common(&self.appid, &self.mch_id, &self.nonce_str)?;
        fields::out_trade_no(&self.out_trade_no)
    }

    /// The request's parameters, unsigned.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        let mut put = Put::top(&mut p);
        write_common(
            &mut put,
            &self.appid,
            &self.mch_id,
            &self.nonce_str,
            self.sign_type,
        );
        put.text("out_trade_no", &self.out_trade_no);
        p
    }

    /// Parses and validates a received request.
    pub fn from_params(p: &Params) -> Result<Self> {
        let at = At::top(p);
        let (appid, mch_id, nonce_str, sign_type) = read_common(at)?;
        let r = Self {
            appid,
            mch_id,
            nonce_str,
            sign_type,
            out_trade_no: at.text("out_trade_no")?,
        };
        r.validate()?;
        Ok(r)
    }
}

/// A successful close order response (§6.3): the header and `result_msg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOrderResponse {
    /// Common header, `result_code=SUCCESS`.
    pub header: ResultHeader,
    /// `result_msg` (`OK`).
    pub result_msg: Option<String>,
}

impl CloseOrderResponse {
    /// The response's parameters, unsigned.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        let mut put = Put::top(&mut p);
        self.header.write(&mut put);
        put.opt_text("result_msg", self.result_msg.as_deref());
        p
    }

    /// Parses a `result_code=SUCCESS` close order response.
    pub fn from_params(p: &Params) -> Result<Self> {
        Ok(Self {
            header: ResultHeader::from_params_success(p)?,
            result_msg: At::top(p).opt_text("result_msg"),
        })
    }
}

/// `POST /sandboxnew/pay/getsignkey` request (§8.1): signed with MD5 and the **real** API
/// key; no appid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetSignKeyRequest {
    /// `mch_id`.
    pub mch_id: String,
    /// `nonce_str`.
    pub nonce_str: String,
}

impl GetSignKeyRequest {
    /// Checks every field's format rule.
    pub fn validate(&self) -> Result<()> {
        fields::mch_id(&self.mch_id)?;
        fields::nonce_str(&self.nonce_str)
    }

    /// The request's parameters, unsigned.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        p.insert_text("mch_id", &self.mch_id);
        p.insert_text("nonce_str", &self.nonce_str);
        p
    }

    /// Parses and validates a received request (`sign_type`, if sent, must be valid).
    pub fn from_params(p: &Params) -> Result<Self> {
        let at = At::top(p);
        read_sign_type(at)?;
        let r = Self {
            mch_id: at.text("mch_id")?,
            nonce_str: at.text("nonce_str")?,
        };
        r.validate()?;
        Ok(r)
    }
}

/// A `getsignkey` answer: `return_code=SUCCESS`, `return_msg=ok`, `mch_id`,
/// `sandbox_signkey`. Not signed (clients read the key without verifying anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetSignKeyResponse {
    /// `mch_id`.
    pub mch_id: String,
    /// `sandbox_signkey`: the key every sandbox call is signed with (MD5 only).
    pub sandbox_signkey: String,
}

impl GetSignKeyResponse {
    /// The response's parameters (sent as is).
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        p.insert_text("return_code", ReturnCode::Success.as_str());
        p.insert_text("return_msg", "ok");
        p.insert_text("sandbox_signkey", &self.sandbox_signkey);
        p.insert_text("mch_id", &self.mch_id);
        p
    }

    /// Parses a `return_code=SUCCESS` answer.
    pub fn from_params(p: &Params) -> Result<Self> {
        let at = At::top(p);
        if at.get("return_code") != Some(ReturnCode::Success.as_str()) {
            return Err(FieldError::invalid("return_code", "expected SUCCESS"));
        }
        Ok(Self {
            mch_id: at.text_or_empty("mch_id"),
            sandbox_signkey: at.text("sandbox_signkey")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> UnifiedOrder {
        UnifiedOrder {
            body: "腾讯充值中心-QQ会员充值".into(),
            out_trade_no: "20150806125346".into(),
            total_fee: 1,
            spbill_create_ip: "123.12.12.123".into(),
            notify_url: "http://www.weixin.qq.com/wxpay/pay.php".into(),
            trade_type: Some(TradeType::Jsapi),
            openid: Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into()),
            ..UnifiedOrder::default()
        }
    }

    fn request(order: UnifiedOrder) -> UnifiedOrderRequest {
        UnifiedOrderRequest {
            appid: "wx2421b1c4370ec43b".into(),
            mch_id: "10000100".into(),
            nonce_str: "1add1a30ac87aa2db72f57a2375d8fec".into(),
            sign_type: None,
            order,
        }
    }

    #[test]
    fn unified_order_round_trips() {
        let r = request(UnifiedOrder {
            attach: Some("支付测试".into()),
            time_expire: Some("20240229235959".into()),
            ..order()
        });
        let p = r.to_params();
        assert_eq!(p.get("trade_type"), Some("JSAPI"));
        assert_eq!(p.get("total_fee"), Some("1"));
        assert_eq!(UnifiedOrderRequest::from_params(&p), Ok(r));
    }

    #[test]
    fn unified_order_rules() {
        let missing = |field| Err(FieldError::missing(field));
        let mut p = request(order()).to_params();
        p.remove("spbill_create_ip");
        assert_eq!(
            UnifiedOrderRequest::from_params(&p),
            missing("spbill_create_ip")
        );
        let jsapi_without_openid = UnifiedOrder {
            openid: None,
            ..order()
        };
        assert_eq!(
            jsapi_without_openid.validate(),
            Err(FieldError::invalid("openid", OPENID_REQUIRED))
        );
        let native = UnifiedOrder {
            trade_type: Some(TradeType::Native),
            openid: None,
            ..order()
        };
        assert_eq!(
            native.validate(),
            Err(FieldError::invalid("product_id", PRODUCT_ID_REQUIRED))
        );
        for bad in [
            UnifiedOrder {
                body: "x".repeat(129),
                ..order()
            },
            UnifiedOrder {
                out_trade_no: "12345".into(),
                ..order()
            },
            UnifiedOrder {
                total_fee: 0,
                ..order()
            },
            UnifiedOrder {
                spbill_create_ip: "localhost".into(),
                ..order()
            },
            UnifiedOrder {
                time_expire: Some("20230229120000".into()),
                ..order()
            },
            UnifiedOrder {
                attach: Some("a".repeat(128)),
                ..order()
            },
            UnifiedOrder {
                limit_pay: Some("credit".into()),
                ..order()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert!(
            UnifiedOrder {
                spbill_create_ip: "::1".into(),
                ..order()
            }
            .validate()
            .is_ok()
        );
        let mut p = request(order()).to_params();
        p.insert_text("trade_type", "MICROPAY");
        assert_eq!(
            UnifiedOrderRequest::from_params(&p),
            Err(FieldError::invalid("trade_type", "unknown value"))
        );
    }

    #[test]
    fn compact_times() {
        assert!(compact_time("t", "20240229235959").is_ok());
        for bad in [
            "2024022923595",
            "20230229000000",
            "20241301000000",
            "20240101240000",
            "2024-01-01 00:",
        ] {
            assert!(compact_time("t", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn close_and_getsignkey_round_trip() {
        let close = CloseOrderRequest {
            appid: "wx2421b1c4370ec43b".into(),
            mch_id: "10000100".into(),
            nonce_str: "4ca93f17ddf3443ceabf72f26d64fe0e".into(),
            sign_type: Some(SignType::HmacSha256),
            out_trade_no: "1415983244".into(),
        };
        assert_eq!(
            CloseOrderRequest::from_params(&close.to_params()),
            Ok(close)
        );
        let key = GetSignKeyRequest {
            mch_id: "10000100".into(),
            nonce_str: "ibuaiVcKdpRxkhJA".into(),
        };
        // The spec's known-answer vector for the getsignkey request (§1.5).
        assert_eq!(
            crate::wechat::sign::sign(
                &key.to_params(),
                "192006250b4c09247ec02edce69f6a2d",
                SignType::Md5
            ),
            "3BE08E133DAD6BD5D30EC69B26CCAEE2"
        );
        let answer = GetSignKeyResponse {
            mch_id: "10000100".into(),
            sandbox_signkey: "0123456789abcdef0123456789abcdef".into(),
        };
        assert_eq!(
            GetSignKeyResponse::from_params(&answer.to_params()),
            Ok(answer)
        );
    }
}
