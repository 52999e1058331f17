//! Common (public) request parameters and the gateway's checks on them (spec §1.2).

use std::fmt;

use super::codes::SubCode;
use super::sign::SignType;
use crate::beijing;

/// The APIs modelled by this crate, by their `method` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `alipay.trade.refund`.
    TradeRefund,
    /// `alipay.trade.fastpay.refund.query`.
    TradeFastpayRefundQuery,
    /// `alipay.trade.query`.
    TradeQuery,
    /// `alipay.trade.close`.
    TradeClose,
    /// `alipay.trade.precreate`.
    TradePrecreate,
    /// `alipay.data.dataservice.bill.downloadurl.query`: the bill download URL (spec §8).
    DataBillDownloadUrlQuery,
}

impl Method {
    /// Every modelled method.
    pub const ALL: [Method; 6] = [
        Method::TradeRefund,
        Method::TradeFastpayRefundQuery,
        Method::TradeQuery,
        Method::TradeClose,
        Method::TradePrecreate,
        Method::DataBillDownloadUrlQuery,
    ];

    /// The wire value, e.g. `"alipay.trade.refund"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Method::TradeRefund => "alipay.trade.refund",
            Method::TradeFastpayRefundQuery => "alipay.trade.fastpay.refund.query",
            Method::TradeQuery => "alipay.trade.query",
            Method::TradeClose => "alipay.trade.close",
            Method::TradePrecreate => "alipay.trade.precreate",
            Method::DataBillDownloadUrlQuery => "alipay.data.dataservice.bill.downloadurl.query",
        }
    }

    /// Parses a wire value (exact, as the gateway routes on it).
    #[must_use]
    pub fn from_wire(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The response node key, e.g. `"alipay_trade_refund_response"` (spec §3.1).
    #[must_use]
    pub fn response_key(self) -> String {
        super::envelope::response_key(self.as_str())
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `charset` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    /// `utf-8` in any case.
    Utf8,
    /// `GBK` in any case.
    Gbk,
    /// `gb2312`, listed by the old docs.
    Gb2312,
}

impl Charset {
    /// Parses the value case-insensitively: clients send `utf-8` and `UTF-8` (spec §1.2).
    #[must_use]
    pub fn from_wire(s: &str) -> Option<Charset> {
        if s.eq_ignore_ascii_case("utf-8") {
            Some(Charset::Utf8)
        } else if s.eq_ignore_ascii_case("gbk") {
            Some(Charset::Gbk)
        } else if s.eq_ignore_ascii_case("gb2312") {
            Some(Charset::Gb2312)
        } else {
            None
        }
    }

    /// The canonical spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Charset::Utf8 => "utf-8",
            Charset::Gbk => "GBK",
            Charset::Gb2312 => "gb2312",
        }
    }
}

/// A `timestamp` parameter, `yyyy-MM-dd HH:mm:ss`, as local wall-clock time (java sends GMT+8,
/// other clients their own local time, spec §1.2). No time zone is implied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Year, 0..=9999.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of month, valid for the month and year.
    pub day: u8,
    /// Hour, 0..=23.
    pub hour: u8,
    /// Minute, 0..=59.
    pub minute: u8,
    /// Second, 0..=59 (no leap seconds: Java's `SimpleDateFormat` output never has them).
    pub second: u8,
}

impl Timestamp {
    /// Parses exactly `yyyy-MM-dd HH:mm:ss` with zero-padded fields and a real calendar date.
    #[must_use]
    pub fn parse(s: &str) -> Option<Timestamp> {
        let local = beijing::wall_datetime(s)?;
        Some(Timestamp {
            year: u16::try_from(local.year()).ok()?,
            month: u8::from(local.month()),
            day: local.day(),
            hour: local.hour(),
            minute: local.minute(),
            second: local.second(),
        })
    }

    /// Seconds since the Unix epoch, reading this wall-clock time at `utc_offset_seconds`
    /// (28800 for GMT+8). Lets the server apply its own skew window without this crate
    /// reading a clock. Days count from the first of the month, so the fields of a value not
    /// made by [`Timestamp::parse`] give a number rather than a panic.
    #[must_use]
    pub fn to_unix_seconds(self, utc_offset_seconds: i64) -> i64 {
        let first = beijing::date(i32::from(self.year), self.month, 1);
        let days = first.map_or(0, beijing::days_since_epoch) + i64::from(self.day) - 1;
        days * 86_400
            + i64::from(self.hour) * 3_600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - utc_offset_seconds
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// A common parameter the gateway refuses, with the exact sub_code it answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {sub_code}")]
pub struct CommonParamError {
    /// `isv.missing-*` or `isv.invalid-*`; its [`SubCode::gateway_code`] is 40001 or 40002.
    pub sub_code: SubCode,
    /// The offending parameter.
    pub param: &'static str,
}

impl CommonParamError {
    fn new(sub_code: SubCode, param: &'static str) -> Self {
        CommonParamError { sub_code, param }
    }
}

/// The common parameters of a request, validated as the gateway does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonParams {
    /// `method`, one this crate models.
    pub method: Method,
    /// `app_id`, non-empty and at most 32 characters. Whether it is registered is the server's
    /// question (`isv.invalid-app-id`, answered unsigned).
    pub app_id: String,
    /// `charset`.
    pub charset: Charset,
    /// `sign_type`.
    pub sign_type: SignType,
    /// `sign`, still base64 (verify it with [`super::sign::verify_request`]).
    pub sign: String,
    /// `timestamp`, format-checked only (spec §1.2: skew rejection is UNCONFIRMED; deviation:
    /// `ali-timestamp-not-checked`).
    pub timestamp: Timestamp,
    /// `version`, always `"1.0"`.
    pub version: String,
    /// `format` as sent (any case of `json`), or `None`: fzlee and node omit it.
    pub format: Option<String>,
    /// `notify_url`: accepted and ignored by refund/query/close (spec §1.2).
    pub notify_url: Option<String>,
    /// `return_url`.
    pub return_url: Option<String>,
    /// `app_auth_token` (ISV acting for a merchant).
    pub app_auth_token: Option<String>,
    /// `auth_token` (user token).
    pub auth_token: Option<String>,
    /// `biz_content`, the exact JSON text received (it is signed as is).
    pub biz_content: Option<String>,
    /// `app_cert_sn` (cert mode).
    pub app_cert_sn: Option<String>,
    /// `alipay_root_cert_sn` (cert mode).
    pub alipay_root_cert_sn: Option<String>,
    /// `encrypt_type`, only ever `AES`.
    pub encrypt_type: Option<String>,
}

/// First occurrence of `key`, with an empty value read as absent (the gateway ignores empty
/// parameters, spec §2.1 step 3).
fn get<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    super::form::first_value(params, key).filter(|v| !v.is_empty())
}

impl CommonParams {
    /// Extracts and validates the common parameters from the merged query and body pairs
    /// (see [`super::form::merge_params`]).
    ///
    /// Checks run in this order, and the first failure is returned; the real gateway's order
    /// is UNCONFIRMED, this one puts routing (method) first because a request to the bare
    /// gateway URL answers `isv.missing-method`:
    /// 1. `method`: absent → 40001 `isv.missing-method`; not a modelled API → 40002 `isv.invalid-method`.
    /// 2. `app_id`: absent → 40001 `isv.missing-app-id`; over 32 chars → 40002 `isv.invalid-app-id`.
    /// 3. `charset`: absent or not utf-8/GBK/gb2312 → 40002 `isv.invalid-charset` (there is no
    ///    missing-charset code; UNCONFIRMED whether the gateway would default it instead).
    /// 4. `sign_type`: absent → 40001 `isv.missing-signature-type`; not `RSA2`/`RSA` → 40002
    ///    `isv.invalid-signature-type`.
    /// 5. `sign`: absent → 40001 `isv.missing-signature`.
    /// 6. `timestamp`: absent → 40001 `isv.missing-timestamp`; not `yyyy-MM-dd HH:mm:ss` →
    ///    40002 `isv.invalid-timestamp`.
    /// 7. `version`: absent → 40001 `isv.missing-version`; not `1.0` → 40002
    ///    `isv.invalid-parameter` (no invalid-version sub_code is documented; UNCONFIRMED).
    /// 8. `format`: present and not `json` in any case → 40002 `isv.invalid-format`.
    /// 9. `encrypt_type`: present and not `AES` → 40002 `isv.invalid-encrypt-type`.
    ///
    /// GBK is accepted here as the gateway does, but this crate decodes and signs UTF-8 only:
    /// an ASCII-only GBK request still verifies byte for byte (deviation: `ali-charset-gbk`).
    /// Cert mode and AES content encryption are not implemented (deviation:
    /// `ali-not-implemented`).
    ///
    /// # Errors
    /// [`CommonParamError`] carrying the sub_code to answer with.
    pub fn parse(params: &[(String, String)]) -> Result<CommonParams, CommonParamError> {
        let method_raw = get(params, "method")
            .ok_or_else(|| CommonParamError::new(SubCode::IsvMissingMethod, "method"))?;
        let method = Method::from_wire(method_raw)
            .ok_or_else(|| CommonParamError::new(SubCode::IsvInvalidMethod, "method"))?;

        let app_id = get(params, "app_id")
            .ok_or_else(|| CommonParamError::new(SubCode::IsvMissingAppId, "app_id"))?;
        if app_id.chars().count() > 32 {
            return Err(CommonParamError::new(SubCode::IsvInvalidAppId, "app_id"));
        }

        let charset = get(params, "charset")
            .and_then(Charset::from_wire)
            .ok_or_else(|| CommonParamError::new(SubCode::IsvInvalidCharset, "charset"))?;

        let sign_type_raw = get(params, "sign_type")
            .ok_or_else(|| CommonParamError::new(SubCode::IsvMissingSignatureType, "sign_type"))?;
        let sign_type = SignType::from_wire(sign_type_raw)
            .ok_or_else(|| CommonParamError::new(SubCode::IsvInvalidSignatureType, "sign_type"))?;

        let sign = get(params, "sign")
            .ok_or_else(|| CommonParamError::new(SubCode::IsvMissingSignature, "sign"))?;

        let timestamp_raw = get(params, "timestamp")
            .ok_or_else(|| CommonParamError::new(SubCode::IsvMissingTimestamp, "timestamp"))?;
        let timestamp = Timestamp::parse(timestamp_raw)
            .ok_or_else(|| CommonParamError::new(SubCode::IsvInvalidTimestamp, "timestamp"))?;

        let version = get(params, "version")
            .ok_or_else(|| CommonParamError::new(SubCode::IsvMissingVersion, "version"))?;
        if version != "1.0" {
            return Err(CommonParamError::new(
                SubCode::IsvInvalidParameter,
                "version",
            ));
        }

        let format = get(params, "format");
        if let Some(f) = format
            && !f.eq_ignore_ascii_case("json")
        {
            return Err(CommonParamError::new(SubCode::IsvInvalidFormat, "format"));
        }

        let encrypt_type = get(params, "encrypt_type");
        if let Some(e) = encrypt_type
            && e != "AES"
        {
            return Err(CommonParamError::new(
                SubCode::IsvInvalidEncryptType,
                "encrypt_type",
            ));
        }

        let owned = |k: &str| get(params, k).map(str::to_owned);
        Ok(CommonParams {
            method,
            app_id: app_id.to_owned(),
            charset,
            sign_type,
            sign: sign.to_owned(),
            timestamp,
            version: version.to_owned(),
            format: format.map(str::to_owned),
            notify_url: owned("notify_url"),
            return_url: owned("return_url"),
            app_auth_token: owned("app_auth_token"),
            auth_token: owned("auth_token"),
            biz_content: owned("biz_content"),
            app_cert_sn: owned("app_cert_sn"),
            alipay_root_cert_sn: owned("alipay_root_cert_sn"),
            encrypt_type: encrypt_type.map(str::to_owned),
        })
    }
}
