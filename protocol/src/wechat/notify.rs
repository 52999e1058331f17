//! Notifications the platform POSTs to the merchant (spec §5, §6.4), and the merchant's reply.
//!
//! - Refund result ([`RefundNotification`]): an unsigned outer `<xml>` with `appid`, `mch_id`,
//!   `nonce_str` and `req_info`, the `<root>` document of [`RefundNotifyInfo`] encrypted with
//!   [`encrypt_req_info`]: AES-256-ECB, key = the lowercase hex MD5 of the API key (its 32
//!   ASCII bytes), standard 16-byte PKCS#7, standard base64 (§5.2).
//! - Payment result ([`PaymentNotification`]): signed like a response (MD5 unless the order
//!   asked for HMAC-SHA256, and then `sign_type` is carried and signed, §1.3).
//! - The reply ([`NotifyReply`]): `SUCCESS`/`OK`, or `FAIL` with a reason (§5.5).
//!
//! The server seals and signs, the SDK opens and verifies: both sides share this code, and the
//! known-answer vectors of §5.4 (the `wechat_refund_notify` section of
//! `tests/data/known_answers.json`) pin it.

use aes::Aes256;
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};

use super::codes::{RefundAccount, RefundStatus, ResultCode, ReturnCode, return_msg};
use super::fields::{self, FieldError};
use super::messages::{At, ORDER_COUPONS, OrderCoupon, Put, get_coupons, put_coupons};
use super::params::Params;
use super::sign::{self, SignType};
use super::xml::{self, XmlError};

/// Why a notification (or a reply) could not be opened, verified or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The body is not a flat `<xml>` document.
    #[error("notification body: {0}")]
    Xml(#[from] XmlError),
    /// `return_code` is not `SUCCESS` (the platform's communication flag); carries `return_msg`.
    #[error("return_code is not SUCCESS: {0}")]
    ReturnFail(String),
    /// A field is missing or malformed.
    #[error("notification field: {0}")]
    Field(#[from] FieldError),
    /// `req_info` is not standard padded base64.
    #[error("req_info is not valid base64")]
    Base64,
    /// The ciphertext is empty or not a whole number of 16-byte blocks.
    #[error("req_info is not a whole number of AES blocks")]
    BlockLength,
    /// The PKCS#7 padding is wrong: almost always the wrong API key.
    #[error("req_info padding is invalid (wrong API key?)")]
    Padding,
    /// The decrypted document is not UTF-8.
    #[error("req_info plaintext is not UTF-8")]
    NotUtf8,
    /// The decrypted document is not a flat `<root>` document.
    #[error("req_info plaintext is not a <root> document")]
    NotRoot,
    /// The payment notification's `sign` is missing or does not verify.
    #[error("notification signature does not verify")]
    Signature,
    /// `appid` or `mch_id` is not the expected one (a notification for someone else).
    #[error("{field} is {found:?}, expected {expected:?}")]
    Mismatch {
        /// `appid` or `mch_id`.
        field: &'static str,
        /// What the notification says.
        found: String,
        /// What the receiver expected.
        expected: String,
    },
}

/// The AES-256 key of `req_info`: the 32 ASCII bytes of the lowercase hex MD5 of the API key
/// (all 32 characters: a leading zero must not be dropped, §5.2).
pub fn req_info_key(api_key: &str) -> [u8; 32] {
    let digest = Md5::digest(api_key.as_bytes());
    let mut key = [0u8; 32];
    // hex::encode_to_slice only fails when the output length is wrong; it is exactly 32.
    let _ = hex::encode_to_slice(digest, &mut key);
    key
}

fn cipher(api_key: &str) -> Aes256 {
    Aes256::new(&req_info_key(api_key).into())
}

/// Encrypts a plaintext `<root>` document into a `req_info` value.
pub fn encrypt_req_info(plaintext: &str, api_key: &str) -> String {
    let cipher = cipher(api_key);
    let bytes = plaintext.as_bytes();
    // PKCS#7 with the 16-byte block: 1..=16 bytes, each the pad length.
    let pad = 16 - bytes.len() % 16;
    let mut data = Vec::with_capacity(bytes.len() + pad);
    data.extend_from_slice(bytes);
    data.extend(std::iter::repeat_n(pad as u8, pad));
    for chunk in data.chunks_exact_mut(16) {
        let mut block = aes::Block::default();
        block.copy_from_slice(chunk);
        cipher.encrypt_block(&mut block);
        chunk.copy_from_slice(&block);
    }
    STANDARD.encode(data)
}

/// Decrypts a `req_info` value into its plaintext `<root>` document, checking the padding
/// strictly (as Java, Go and Node do).
pub fn decrypt_req_info(req_info: &str, api_key: &str) -> Result<String, NotifyError> {
    let mut data = STANDARD
        .decode(req_info.trim())
        .map_err(|_| NotifyError::Base64)?;
    if data.is_empty() || data.len() % 16 != 0 {
        return Err(NotifyError::BlockLength);
    }
    let cipher = cipher(api_key);
    for chunk in data.chunks_exact_mut(16) {
        let mut block = aes::Block::default();
        block.copy_from_slice(chunk);
        cipher.decrypt_block(&mut block);
        chunk.copy_from_slice(&block);
    }
    let pad = usize::from(*data.last().ok_or(NotifyError::BlockLength)?);
    let body_len = data.len().checked_sub(pad).ok_or(NotifyError::Padding)?;
    let padding = data.get(body_len..).ok_or(NotifyError::Padding)?;
    if !(1..=16).contains(&pad) || padding.iter().any(|&b| usize::from(b) != pad) {
        return Err(NotifyError::Padding);
    }
    data.truncate(body_len);
    String::from_utf8(data).map_err(|_| NotifyError::NotUtf8)
}

/// The decrypted content of a refund notification: the `<root>` document (§5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundNotifyInfo {
    /// `out_refund_no`: the merchant's refund number.
    pub out_refund_no: String,
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// `refund_account`: which funds paid the refund.
    pub refund_account: Option<RefundAccount>,
    /// `refund_fee`, fen.
    pub refund_fee: u64,
    /// `refund_id`: WeChat's refund id.
    pub refund_id: String,
    /// `refund_recv_accout` (sic): where the money went, e.g. `支付用户零钱`.
    pub refund_recv_accout: Option<String>,
    /// `refund_request_source`: `API` or `VENDOR_PLATFORM`.
    pub refund_request_source: Option<String>,
    /// `refund_status`: `SUCCESS`, `CHANGE` or `REFUNDCLOSE`.
    pub refund_status: RefundStatus,
    /// `settlement_refund_fee`, fen: the refund minus non-recharge coupons.
    pub settlement_refund_fee: Option<u64>,
    /// `settlement_total_fee`, fen: the order minus non-recharge coupons.
    pub settlement_total_fee: Option<u64>,
    /// `success_time`: `yyyy-MM-dd HH:mm:ss` Beijing time, only on SUCCESS.
    pub success_time: Option<String>,
    /// `total_fee`, fen: the order amount.
    pub total_fee: u64,
    /// `transaction_id`.
    pub transaction_id: String,
}

impl RefundNotifyInfo {
    /// The fields in alphabetical order, as real samples have them; every value is text
    /// (CDATA), as in real samples.
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        let opt = |p: &mut Params, name: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                p.insert_text(name, v);
            }
        };
        p.insert_text("out_refund_no", self.out_refund_no.as_str());
        p.insert_text("out_trade_no", self.out_trade_no.as_str());
        opt(
            &mut p,
            "refund_account",
            self.refund_account.map(|a| a.as_str().to_owned()),
        );
        p.insert_text("refund_fee", self.refund_fee.to_string());
        p.insert_text("refund_id", self.refund_id.as_str());
        opt(
            &mut p,
            "refund_recv_accout",
            self.refund_recv_accout.clone(),
        );
        opt(
            &mut p,
            "refund_request_source",
            self.refund_request_source.clone(),
        );
        p.insert_text("refund_status", self.refund_status.as_str());
        opt(
            &mut p,
            "settlement_refund_fee",
            self.settlement_refund_fee.map(|v| v.to_string()),
        );
        opt(
            &mut p,
            "settlement_total_fee",
            self.settlement_total_fee.map(|v| v.to_string()),
        );
        opt(&mut p, "success_time", self.success_time.clone());
        p.insert_text("total_fee", self.total_fee.to_string());
        p.insert_text("transaction_id", self.transaction_id.as_str());
        p
    }

    /// Reads the fields; unknown ones are ignored (the platform may add fields).
    pub fn from_params(p: &Params) -> Result<Self, FieldError> {
        let text = |name: &'static str| {
            p.non_empty(name)
                .map(str::to_owned)
                .ok_or(FieldError::missing(name))
        };
        let uint = |name: &'static str| fields::parse_uint(name, p.non_empty(name).unwrap_or(""));
        let opt_uint = |name: &'static str| {
            p.non_empty(name)
                .map(|v| fields::parse_uint(name, v))
                .transpose()
        };
        Ok(Self {
            out_refund_no: text("out_refund_no")?,
            out_trade_no: text("out_trade_no")?,
            refund_account: p
                .non_empty("refund_account")
                .map(|v| {
                    RefundAccount::from_wire(v)
                        .ok_or(FieldError::invalid("refund_account", "unknown value"))
                })
                .transpose()?,
            refund_fee: uint("refund_fee")?,
            refund_id: text("refund_id")?,
            refund_recv_accout: p.non_empty("refund_recv_accout").map(str::to_owned),
            refund_request_source: p.non_empty("refund_request_source").map(str::to_owned),
            refund_status: p
                .non_empty("refund_status")
                .map(|v| {
                    RefundStatus::from_wire(v)
                        .ok_or(FieldError::invalid("refund_status", "unknown value"))
                })
                .transpose()?
                .ok_or(FieldError::missing("refund_status"))?,
            settlement_refund_fee: opt_uint("settlement_refund_fee")?,
            settlement_total_fee: opt_uint("settlement_total_fee")?,
            success_time: p.non_empty("success_time").map(str::to_owned),
            total_fee: uint("total_fee")?,
            transaction_id: text("transaction_id")?,
        })
    }

    /// The plaintext `<root>` document (one field a line, CDATA values).
    pub fn to_root_xml(&self) -> String {
        root_xml(&self.to_params())
    }

    /// Parses a plaintext `<root>` document.
    pub fn from_root_xml(plaintext: &str) -> Result<Self, NotifyError> {
        let params = parse_root(plaintext)?;
        Ok(Self::from_params(&params)?)
    }
}

/// Encodes params as a flat `<root>` document (the codec of [`xml::encode`], renamed root).
pub fn root_xml(params: &Params) -> String {
    let encoded = xml::encode(params);
    let inner = encoded
        .strip_prefix("<xml>")
        .and_then(|s| s.strip_suffix("</xml>"))
        .unwrap_or(&encoded);
    format!("<root>{inner}</root>")
}

/// Decodes a flat `<root>` document (prolog and surrounding whitespace allowed) with the
/// strict `<xml>` decoder.
pub fn parse_root(plaintext: &str) -> Result<Params, NotifyError> {
    let start = plaintext.find("<root>").ok_or(NotifyError::NotRoot)?;
    let end = plaintext.rfind("</root>").ok_or(NotifyError::NotRoot)?;
    let inner = plaintext
        .get(start + "<root>".len()..end)
        .ok_or(NotifyError::NotRoot)?;
    let (before, after) = (
        plaintext.get(..start).unwrap_or(""),
        plaintext.get(end + "</root>".len()..).unwrap_or(""),
    );
    let rebuilt = format!("{before}<xml>{inner}</xml>{after}");
    Ok(xml::decode(rebuilt.as_bytes())?)
}

/// The outer refund notification (§5.1): unsigned; authenticity comes from the encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundNotification {
    /// `appid` of the merchant (clients check it).
    pub appid: String,
    /// `mch_id` (clients check it).
    pub mch_id: String,
    /// `nonce_str`.
    pub nonce_str: String,
    /// `req_info`: the encrypted [`RefundNotifyInfo`].
    pub req_info: String,
}

impl RefundNotification {
    /// Encrypts `info` with the merchant's API key into a notification.
    pub fn seal(
        info: &RefundNotifyInfo,
        appid: impl Into<String>,
        mch_id: impl Into<String>,
        nonce_str: impl Into<String>,
        api_key: &str,
    ) -> Self {
        Self {
            appid: appid.into(),
            mch_id: mch_id.into(),
            nonce_str: nonce_str.into(),
            req_info: encrypt_req_info(&info.to_root_xml(), api_key),
        }
    }

    /// The wire fields: `return_code`, `appid`, `mch_id`, `nonce_str`, `req_info` (the order
    /// of the real samples; `return_msg` is not sent on success there).
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        p.insert_text("return_code", ReturnCode::Success.as_str());
        p.insert_text("appid", self.appid.as_str());
        p.insert_text("mch_id", self.mch_id.as_str());
        p.insert_text("nonce_str", self.nonce_str.as_str());
        p.insert_text("req_info", self.req_info.as_str());
        p
    }

    /// The XML body as POSTed.
    pub fn to_xml(&self) -> String {
        xml::encode(&self.to_params())
    }

    /// Reads the outer fields; `return_code` must be `SUCCESS`.
    pub fn from_params(p: &Params) -> Result<Self, NotifyError> {
        if p.non_empty("return_code") != Some(ReturnCode::Success.as_str()) {
            return Err(NotifyError::ReturnFail(
                p.non_empty("return_msg").unwrap_or_default().to_owned(),
            ));
        }
        let text = |name: &'static str| {
            p.non_empty(name)
                .map(str::to_owned)
                .ok_or(FieldError::missing(name))
        };
        Ok(Self {
            appid: text("appid")?,
            mch_id: text("mch_id")?,
            nonce_str: p.non_empty("nonce_str").unwrap_or_default().to_owned(),
            req_info: text("req_info")?,
        })
    }

    /// Parses a POSTed body.
    pub fn from_xml(body: &[u8]) -> Result<Self, NotifyError> {
        Self::from_params(&xml::decode(body)?)
    }

    /// Decrypts and parses `req_info`.
    pub fn open(&self, api_key: &str) -> Result<RefundNotifyInfo, NotifyError> {
        RefundNotifyInfo::from_root_xml(&decrypt_req_info(&self.req_info, api_key)?)
    }
}

/// A payment result notification (§6.4): signed XML POSTed to unifiedorder's `notify_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentNotification {
    /// `appid`.
    pub appid: String,
    /// `mch_id`.
    pub mch_id: String,
    /// `device_info`.
    pub device_info: Option<String>,
    /// `nonce_str`.
    pub nonce_str: String,
    /// `sign_type`: carried (and signed) only when not MD5; absent means MD5.
    pub sign_type: Option<SignType>,
    /// `result_code`.
    pub result_code: ResultCode,
    /// `err_code`, on FAIL.
    pub err_code: Option<String>,
    /// `err_code_des`, on FAIL.
    pub err_code_des: Option<String>,
    /// `openid` of the payer.
    pub openid: String,
    /// `is_subscribe`: `Y` / `N`.
    pub is_subscribe: Option<String>,
    /// `trade_type`: `JSAPI`, `NATIVE`, `APP`, `MWEB`.
    pub trade_type: String,
    /// `bank_type`, e.g. `CFT`, `CMC`.
    pub bank_type: String,
    /// `total_fee`, fen: the order amount.
    pub total_fee: u64,
    /// `settlement_total_fee`, fen: the order minus non-recharge coupons (sent when coupons
    /// were used).
    pub settlement_total_fee: Option<u64>,
    /// `fee_type` (`CNY`).
    pub fee_type: Option<String>,
    /// `cash_fee`, fen: paid in cash.
    pub cash_fee: u64,
    /// `cash_fee_type`.
    pub cash_fee_type: Option<String>,
    /// `coupon_fee`, fen: paid with coupons.
    pub coupon_fee: Option<u64>,
    /// `coupon_count` + `coupon_type_$n`, `coupon_id_$n`, `coupon_fee_$n`.
    pub coupons: Vec<OrderCoupon>,
    /// `transaction_id`.
    pub transaction_id: String,
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// `attach`, echoed from the unified order.
    pub attach: Option<String>,
    /// `time_end`: `yyyyMMddHHmmss`, Beijing time.
    pub time_end: String,
}

impl PaymentNotification {
    /// The wire fields, unsigned. Empty optional values are left out: a signed notification
    /// must never carry empty elements (easywechat 5 signs them, §1.3).
    pub fn to_params(&self) -> Params {
        let mut p = Params::new();
        let mut put = Put::top(&mut p);
        put.text("return_code", ReturnCode::Success.as_str());
        put.text("return_msg", return_msg::OK);
        put.text("appid", &self.appid);
        put.text("mch_id", &self.mch_id);
        put.opt_text("device_info", self.device_info.as_deref());
        put.text("nonce_str", &self.nonce_str);
        put.opt_text("sign_type", self.sign_type.map(SignType::as_str));
        put.text("result_code", self.result_code.as_str());
        put.opt_text("err_code", self.err_code.as_deref());
        put.opt_text("err_code_des", self.err_code_des.as_deref());
        put.text("openid", &self.openid);
        put.opt_text("is_subscribe", self.is_subscribe.as_deref());
        put.text("trade_type", &self.trade_type);
        put.text("bank_type", &self.bank_type);
        put.int("total_fee", self.total_fee);
        put.opt_int("settlement_total_fee", self.settlement_total_fee);
        put.opt_text("fee_type", self.fee_type.as_deref());
        put.int("cash_fee", self.cash_fee);
        put.opt_text("cash_fee_type", self.cash_fee_type.as_deref());
        put.opt_int("coupon_fee", self.coupon_fee);
        if !self.coupons.is_empty() {
            put_coupons(&mut put, &ORDER_COUPONS, &self.coupons);
        }
        put.text("transaction_id", &self.transaction_id);
        put.text("out_trade_no", &self.out_trade_no);
        put.opt_text("attach", self.attach.as_deref());
        put.text("time_end", &self.time_end);
        p
    }

    /// The signed XML body: signed with `sign_type` (MD5 when absent) and the API key.
    pub fn to_signed_xml(&self, api_key: &str) -> String {
        let mut p = self.to_params();
        sign::sign_in_place(&mut p, api_key, self.sign_type.unwrap_or_default());
        xml::encode(&p)
    }

    /// Reads the fields (no signature check: see [`PaymentNotification::verify_xml`]).
    pub fn from_params(p: &Params) -> Result<Self, NotifyError> {
        if p.non_empty("return_code") != Some(ReturnCode::Success.as_str()) {
            return Err(NotifyError::ReturnFail(
                p.non_empty("return_msg").unwrap_or_default().to_owned(),
            ));
        }
        let at = At::top(p);
        // Tighter than the order query's counter limit: a notification lists at most 100.
        if at.opt_uint("coupon_count")?.unwrap_or(0) > 100 {
            return Err(FieldError::invalid("coupon_count", "count too large").into());
        }
        let coupons = get_coupons(at, &ORDER_COUPONS)?;
        Ok(Self {
            appid: at.text("appid")?,
            mch_id: at.text("mch_id")?,
            device_info: at.opt_text("device_info"),
            nonce_str: at.text("nonce_str")?,
            sign_type: at.opt_enum("sign_type", SignType::from_wire)?,
            result_code: at.enumerated("result_code", ResultCode::from_wire)?,
            err_code: at.opt_text("err_code"),
            err_code_des: at.opt_text("err_code_des"),
            openid: at.text("openid")?,
            is_subscribe: at.opt_text("is_subscribe"),
            trade_type: at.text("trade_type")?,
            bank_type: at.text("bank_type")?,
            total_fee: at.uint("total_fee")?,
            settlement_total_fee: at.opt_uint("settlement_total_fee")?,
            fee_type: at.opt_text("fee_type"),
            cash_fee: at.uint("cash_fee")?,
            cash_fee_type: at.opt_text("cash_fee_type"),
            coupon_fee: at.opt_uint("coupon_fee")?,
            coupons,
            transaction_id: at.text("transaction_id")?,
            out_trade_no: at.text("out_trade_no")?,
            attach: at.opt_text("attach"),
            time_end: at.text("time_end")?,
        })
    }

    /// Parses a POSTed body and verifies its `sign` with the notification's own `sign_type`
    /// (MD5 when absent) and the API key, then reads the fields.
    pub fn verify_xml(body: &[u8], api_key: &str) -> Result<Self, NotifyError> {
        let p = xml::decode(body)?;
        let sign_type = sign::request_sign_type(&p)
            .map_err(|_| FieldError::invalid("sign_type", "unknown value"))?;
        if p.non_empty("return_code") == Some(ReturnCode::Success.as_str())
            && !sign::verify(&p, api_key, sign_type)
        {
            return Err(NotifyError::Signature);
        }
        Self::from_params(&p)
    }
}

/// The merchant's answer to a notification (§5.5): anything but a parsed
/// `return_code=SUCCESS` counts as a failure and is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyReply {
    /// `<return_code>SUCCESS</return_code><return_msg>OK</return_msg>`: received, stop.
    Success,
    /// `FAIL` with a reason: retry later.
    Fail(String),
}

impl NotifyReply {
    /// The XML body to answer with.
    pub fn to_xml(&self) -> String {
        let mut p = Params::new();
        match self {
            NotifyReply::Success => {
                p.insert_text("return_code", ReturnCode::Success.as_str());
                p.insert_text("return_msg", return_msg::OK);
            }
            NotifyReply::Fail(reason) => {
                p.insert_text("return_code", ReturnCode::Fail.as_str());
                p.insert_text("return_msg", reason.as_str());
            }
        }
        xml::encode(&p)
    }

    /// Reads a merchant's reply: `SUCCESS` only when `return_code` is exactly `SUCCESS`.
    pub fn from_xml(body: &[u8]) -> Result<Self, NotifyError> {
        let p = xml::decode(body)?;
        match p.non_empty("return_code") {
            Some("SUCCESS") => Ok(NotifyReply::Success),
            _ => Ok(NotifyReply::Fail(
                p.non_empty("return_msg").unwrap_or_default().to_owned(),
            )),
        }
    }

    /// True for [`NotifyReply::Success`].
    pub fn is_success(&self) -> bool {
        matches!(self, NotifyReply::Success)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_computed_vector_round_trips() {
        let plain = "<root>\n<out_refund_no><![CDATA[1415701182]]></out_refund_no>\n<refund_status><![CDATA[SUCCESS]]></refund_status>\n</root>";
        let key = "192006250b4c09247ec02edce69f6a2d";
        assert_eq!(&req_info_key(key), b"d96eb16afdd491fa1e705096edbc2205");
        let sealed = encrypt_req_info(plain, key);
        assert_eq!(decrypt_req_info(&sealed, key).as_deref(), Ok(plain));
        assert!(decrypt_req_info(&sealed, "another key").is_err());
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        assert_eq!(decrypt_req_info("***", "k"), Err(NotifyError::Base64));
        assert_eq!(decrypt_req_info("", "k"), Err(NotifyError::BlockLength));
        assert_eq!(decrypt_req_info("AAAA", "k"), Err(NotifyError::BlockLength));
        assert!(matches!(
            RefundNotifyInfo::from_root_xml("<xml></xml>"),
            Err(NotifyError::NotRoot)
        ));
    }

    #[test]
    fn reply_bodies() {
        assert_eq!(
            NotifyReply::Success.to_xml(),
            "<xml>\n<return_code><![CDATA[SUCCESS]]></return_code>\n<return_msg><![CDATA[OK]]></return_msg>\n</xml>"
        );
        assert_eq!(
            NotifyReply::from_xml(NotifyReply::Fail("签名失败".into()).to_xml().as_bytes()),
            Ok(NotifyReply::Fail("签名失败".into()))
        );
        assert_eq!(
            NotifyReply::from_xml(b"<xml><return_code>SUCCESS</return_code></xml>"),
            Ok(NotifyReply::Success)
        );
        assert!(NotifyReply::from_xml(b"success").is_err());
    }
}
