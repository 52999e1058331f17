//! The known-answer vectors (`protocol/tests/data/known_answers.json`), checked against
//! `paysandbox-protocol`, the code both the mock and the SDK sign and verify with.
//!
//! Sections: `wechat` (signatures), `alipay` (request canonical strings and signatures, response
//! node signatures), `wechat_refund_notify` (refund notification `req_info` decryption) and
//! `wechat_v3` (API v3 request and response signatures, `/v3/certificates` and notification
//! decryption).
//! Sections this crate does not know are reported as skipped, so the file can grow without
//! breaking the suite.

use paysandbox_protocol::alipay::{
    self, SignType as AliSignType, canonical_string, merge_params, parse_private_key,
    parse_public_key, parse_urlencoded,
};
use paysandbox_protocol::rsa::{Hash, PrivateKey, PublicKey};
use paysandbox_protocol::wechat::notify::{
    decrypt_req_info, encrypt_req_info, parse_root, req_info_key,
};
use paysandbox_protocol::wechat::v3::aead::{self as v3_aead, ApiV3Key};
use paysandbox_protocol::wechat::v3::{
    auth as v3_auth, decode as v3_decode, messages as v3_messages, response as v3_response,
};
use paysandbox_protocol::wechat::{Params, SignType, sign};
use serde_json::Value;

/// The file as compiled into this crate.
pub const KNOWN_ANSWERS: &str = include_str!("../../protocol/tests/data/known_answers.json");

/// What was checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VectorReport {
    /// WeChat signature vectors checked (each with every sign type it lists).
    pub wechat: usize,
    /// Alipay request vectors (canonical string and every signature).
    pub alipay_requests: usize,
    /// Alipay response vectors (node signature, envelope verification).
    pub alipay_responses: usize,
    /// WeChat refund notification vectors (`req_info` decrypted to its plaintext and fields,
    /// and encrypted back to the same bytes).
    pub wechat_refund_notify: usize,
    /// WeChat Pay API v3 vectors of every kind (raw, request and response signatures, AEAD
    /// resources, `/v3/certificates` bodies, notifications).
    pub wechat_v3: usize,
    /// Top-level sections present but not known to this crate.
    pub skipped_sections: Vec<String>,
}

fn text<'a>(v: &'a Value, key: &str, name: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{name}: `{key}` missing"))
}

fn pairs(v: &Value, key: &str, name: &str) -> Result<Vec<(String, String)>, String> {
    let list = v
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{name}: `{key}` is not a list"))?;
    list.iter()
        .map(|p| match p.as_array().map(Vec::as_slice) {
            Some([Value::String(k), Value::String(v)]) => Ok((k.clone(), v.clone())),
            _ => Err(format!("{name}: `{key}` holds a non-pair")),
        })
        .collect()
}

/// Checks every vector of every known section.
///
/// # Errors
/// The first vector that does not give its expected answer.
pub fn check_all(file: &str) -> Result<VectorReport, String> {
    let json: Value = serde_json::from_str(file).map_err(|e| format!("not JSON: {e}"))?;
    let sections = json.as_object().ok_or("not a JSON object")?;
    let mut report = VectorReport::default();
    for (name, section) in sections {
        match name.as_str() {
            "wechat" => report.wechat = check_wechat(section)?,
            "alipay" => {
                let (requests, responses) = check_alipay(section)?;
                report.alipay_requests = requests;
                report.alipay_responses = responses;
            }
            "wechat_refund_notify" => report.wechat_refund_notify = check_refund_notify(section)?,
            "wechat_v3" => report.wechat_v3 = check_wechat_v3(section)?,
            other if other.starts_with('_') => {}
            other => report.skipped_sections.push(other.to_owned()),
        }
    }
    if report.wechat == 0
        || report.alipay_requests == 0
        || report.alipay_responses == 0
        || report.wechat_refund_notify == 0
        || report.wechat_v3 == 0
    {
        return Err(format!("a section lost its vectors: {report:?}"));
    }
    Ok(report)
}

fn check_wechat(section: &Value) -> Result<usize, String> {
    let vectors = section
        .get("vectors")
        .and_then(Value::as_array)
        .ok_or("wechat.vectors missing")?;
    for v in vectors {
        let name = text(v, "name", "wechat vector")?;
        let key = text(v, "key", name)?;
        let mut params = Params::new();
        for (k, value) in pairs(v, "params", name)? {
            params.insert_text(k, value);
        }
        if let Some(expected) = v.get("string_to_sign").and_then(Value::as_str) {
            let got = sign::string_to_sign(&params, key);
            if got != expected {
                return Err(format!(
                    "{name}: string to sign {got:?}, expected {expected:?}"
                ));
            }
        }
        let mut checked = 0;
        for (field, sign_type) in [
            ("md5", SignType::Md5),
            ("hmac_sha256", SignType::HmacSha256),
        ] {
            let Some(expected) = v.get(field).and_then(Value::as_str) else {
                continue;
            };
            let got = sign::sign(&params, key, sign_type);
            if got != expected {
                return Err(format!("{name}: {field} {got}, expected {expected}"));
            }
            let mut signed = params.clone();
            signed.insert_text("sign", expected);
            if !sign::verify(&signed, key, sign_type) {
                return Err(format!("{name}: {field} does not verify"));
            }
            checked += 1;
        }
        if checked == 0 {
            return Err(format!("{name}: no expected signature"));
        }
    }
    Ok(vectors.len())
}

fn list<'a>(section: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    section
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("wechat_v3.{key} missing"))
}

/// The v3 kinds the file must hold at least one vector of: a request signature, a response
/// signature and a `/v3/certificates` decryption (what a v3 client must get exactly right).
pub const WECHAT_V3_REQUIRED: [&str; 3] = [
    "request_signatures",
    "response_signatures",
    "certificates_decryption",
];

/// API v3: every signature is re-made with the section's key and verified with its
/// certificate's key, every resource decrypted to its plaintext and sealed back to its bytes.
fn check_wechat_v3(section: &Value) -> Result<usize, String> {
    let keys = section.get("keys").ok_or("wechat_v3.keys missing")?;
    let private = PrivateKey::from_pem(text(keys, "merchant_private_key_pem", "wechat_v3.keys")?)
        .map_err(|e| format!("wechat_v3 key: {e}"))?;
    let public = PublicKey::from_pem(text(keys, "certificate_pem", "wechat_v3.keys")?)
        .map_err(|e| format!("wechat_v3 certificate: {e}"))?;
    let serial = text(keys, "certificate_serial", "wechat_v3.keys")?;
    for kind in WECHAT_V3_REQUIRED {
        if list(section, kind)?.is_empty() {
            return Err(format!("wechat_v3.{kind} holds no vector"));
        }
    }
    let mut checked = 0;
    for v in list(section, "raw_signatures")? {
        let name = text(v, "name", "wechat_v3 raw signature")?;
        let made = private
            .sign_base64(Hash::Sha256, text(v, "message", name)?.as_bytes())
            .map_err(|e| format!("{name}: {e}"))?;
        if made != text(v, "signature", name)? {
            return Err(format!("{name}: signature {made}"));
        }
        checked += 1;
    }
    for v in list(section, "request_signatures")? {
        let name = text(v, "name", "wechat_v3 request")?;
        let auth = v3_auth::Authorization::parse(text(v, "authorization", name)?)
            .map_err(|e| format!("{name}: {e}"))?;
        let (method, url, body) = (
            text(v, "method", name)?,
            text(v, "url", name)?,
            text(v, "body", name)?,
        );
        if auth.message(method, url, body.as_bytes()) != text(v, "message", name)?.as_bytes() {
            return Err(format!("{name}: message differs"));
        }
        let timestamp = auth.timestamp_secs();
        let made = v3_auth::sign_request(
            &private,
            &auth.mchid,
            &auth.serial_no,
            method,
            url,
            timestamp,
            &auth.nonce_str,
            body.as_bytes(),
        )
        .map_err(|e| format!("{name}: {e}"))?;
        if made != auth {
            return Err(format!("{name}: made {made}"));
        }
        v3_auth::verify_request(&auth, &public, method, url, body.as_bytes())
            .map_err(|e| format!("{name}: {e}"))?;
        checked += 1;
    }
    let verifier = v3_response::Verifier::new().with_key(serial, public.clone());
    for v in list(section, "response_signatures")? {
        let name = text(v, "name", "wechat_v3 response")?;
        let (timestamp, nonce, body) = (
            text(v, "timestamp", name)?,
            text(v, "nonce", name)?,
            text(v, "body", name)?,
        );
        let seconds: i64 = timestamp
            .parse()
            .map_err(|_| format!("{name}: timestamp"))?;
        let made = v3_response::sign_response(
            &private,
            text(v, "serial", name)?,
            seconds,
            nonce,
            "-",
            body.as_bytes(),
        )
        .map_err(|e| format!("{name}: {e}"))?;
        if made.signature != text(v, "signature", name)? {
            return Err(format!("{name}: signature {}", made.signature));
        }
        verifier
            .verify(&made.as_received(), body.as_bytes(), seconds)
            .map_err(|e| format!("{name}: {e}"))?;
        checked += 1;
    }
    for v in list(section, "aead")? {
        let name = text(v, "name", "wechat_v3 aead")?;
        let key =
            ApiV3Key::new(text(v, "api_v3_key", name)?).map_err(|e| format!("{name}: {e}"))?;
        let (nonce, aad, ciphertext) = (
            text(v, "nonce", name)?,
            text(v, "associated_data", name)?,
            text(v, "ciphertext", name)?,
        );
        let plaintext =
            v3_aead::decrypt(&key, nonce, aad, ciphertext).map_err(|e| format!("{name}: {e}"))?;
        if plaintext != text(v, "plaintext", name)?.as_bytes()
            || v3_aead::encrypt(&key, nonce, aad, &plaintext).as_deref() != Ok(ciphertext)
        {
            return Err(format!("{name}: AEAD round trip differs"));
        }
        checked += 1;
    }
    for v in list(section, "certificates_decryption")? {
        let name = text(v, "name", "wechat_v3 certificates")?;
        let key =
            ApiV3Key::new(text(v, "api_v3_key", name)?).map_err(|e| format!("{name}: {e}"))?;
        let answer: v3_messages::CertificatesResponse =
            v3_decode::lenient(text(v, "body", name)?.as_bytes())
                .map_err(|e| format!("{name}: {e}"))?;
        let expected = list(v, "certificates")?;
        if answer.data.len() != expected.len() {
            return Err(format!("{name}: {} certificates", answer.data.len()));
        }
        for (entry, want) in answer.data.iter().zip(expected) {
            let pem = entry
                .certificate_pem(&key)
                .map_err(|e| format!("{name}: {e}"))?;
            if pem != text(want, "certificate_pem", name)?
                || entry.serial_no != text(want, "serial_no", name)?
            {
                return Err(format!("{name}: certificate {} differs", entry.serial_no));
            }
        }
        checked += 1;
    }
    for v in list(section, "notification_decryption")? {
        let name = text(v, "name", "wechat_v3 notification")?;
        let key =
            ApiV3Key::new(text(v, "api_v3_key", name)?).map_err(|e| format!("{name}: {e}"))?;
        let notification: v3_messages::Notification =
            v3_decode::lenient(text(v, "body", name)?.as_bytes())
                .map_err(|e| format!("{name}: {e}"))?;
        let plaintext = notification
            .plaintext(&key)
            .map_err(|e| format!("{name}: {e}"))?;
        if plaintext != text(v, "plaintext", name)? {
            return Err(format!("{name}: plaintext {plaintext}"));
        }
        checked += 1;
    }
    Ok(checked)
}

fn check_refund_notify(section: &Value) -> Result<usize, String> {
    let vectors = section
        .get("vectors")
        .and_then(Value::as_array)
        .ok_or("wechat_refund_notify.vectors missing")?;
    for v in vectors {
        let name = text(v, "name", "wechat_refund_notify vector")?;
        let key = text(v, "api_key", name)?;
        let req_info = text(v, "req_info", name)?;
        let plaintext = text(v, "plaintext", name)?;
        let got = decrypt_req_info(req_info, key).map_err(|e| format!("{name}: {e}"))?;
        if got != plaintext {
            return Err(format!("{name}: decrypted {got:?}, expected {plaintext:?}"));
        }
        // ECB with standard PKCS#7 is deterministic: encrypting gives the platform's bytes.
        if encrypt_req_info(plaintext, key) != req_info {
            return Err(format!("{name}: re-encryption differs from req_info"));
        }
        if let Some(md5) = v.get("key_md5_hex").and_then(Value::as_str)
            && req_info_key(key) != md5.as_bytes()
        {
            return Err(format!("{name}: AES key is not {md5}"));
        }
        if let Some(pad) = v.get("padding_bytes").and_then(Value::as_u64) {
            let made = 16 - plaintext.len() % 16;
            if u64::try_from(made).ok() != Some(pad) {
                return Err(format!("{name}: {made} padding bytes, expected {pad}"));
            }
        }
        let fields = v
            .get("fields")
            .and_then(Value::as_object)
            .filter(|f| !f.is_empty())
            .ok_or_else(|| format!("{name}: fields missing"))?;
        let parsed = parse_root(&got).map_err(|e| format!("{name}: {e}"))?;
        for (field, expected) in fields {
            let expected = expected
                .as_str()
                .ok_or_else(|| format!("{name}: fields.{field} not text"))?;
            if parsed.get(field) != Some(expected) {
                return Err(format!(
                    "{name}: {field} is {:?}, expected {expected:?}",
                    parsed.get(field)
                ));
            }
        }
    }
    Ok(vectors.len())
}

fn check_alipay(section: &Value) -> Result<(usize, usize), String> {
    let keys = section.get("keys").ok_or("alipay.keys missing")?;
    let key = |who: &str, form: &str| -> Result<&str, String> {
        keys.get(who)
            .and_then(|k| k.get(form))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("alipay.keys.{who}.{form} missing"))
    };
    let app_private =
        parse_private_key(key("app", "pkcs1_pem")?).map_err(|e| format!("app key: {e}"))?;
    let app_public =
        parse_public_key(key("app", "spki_pem")?).map_err(|e| format!("app public: {e}"))?;
    let ali_private =
        parse_private_key(key("alipay", "pkcs8_pem")?).map_err(|e| format!("alipay key: {e}"))?;
    let ali_public =
        parse_public_key(key("alipay", "spki_pem")?).map_err(|e| format!("alipay public: {e}"))?;

    let requests = section
        .get("request_vectors")
        .and_then(Value::as_array)
        .ok_or("alipay.request_vectors missing")?;
    for v in requests {
        let name = text(v, "name", "alipay request vector")?;
        // Each side is given as pairs, or raw as sent (`query_raw`, `body_raw`); both are
        // merged as the gateway merges them.
        let side = |which: &str| -> Result<Vec<(String, String)>, String> {
            match v.get(format!("{which}_raw")).and_then(Value::as_str) {
                Some(raw) => parse_urlencoded(raw.as_bytes()).map_err(|e| format!("{name}: {e}")),
                None if v.get(which).is_some() => pairs(v, which, name),
                None => Ok(Vec::new()),
            }
        };
        let params =
            merge_params(&side("query")?, &side("body")?).map_err(|e| format!("{name}: {e:?}"))?;
        let expected = text(v, "canonical", name)?;
        let got = canonical_string(&params);
        if got != expected {
            return Err(format!("{name}: canonical {got:?}, expected {expected:?}"));
        }
        let signatures = v
            .get("signatures")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{name}: signatures missing"))?;
        for (st, sig) in signatures {
            let sign_type = AliSignType::from_wire(st).ok_or_else(|| format!("{name}: {st}"))?;
            let sig = sig
                .as_str()
                .ok_or_else(|| format!("{name}: {st} not text"))?;
            let made = alipay::sign_bytes(got.as_bytes(), &app_private, sign_type)
                .map_err(|e| format!("{name}: {e}"))?;
            if made != sig {
                return Err(format!("{name}: {st} signature differs from the vector"));
            }
            alipay::verify_bytes(got.as_bytes(), sig, &app_public, sign_type)
                .map_err(|e| format!("{name}: {st}: {e}"))?;
        }
    }

    let responses = section
        .get("response_vectors")
        .and_then(Value::as_array)
        .ok_or("alipay.response_vectors missing")?;
    for v in responses {
        let name = text(v, "name", "alipay response vector")?;
        let sign_type = AliSignType::from_wire(text(v, "sign_type", name)?)
            .ok_or_else(|| format!("{name}: sign_type"))?;
        let node = text(v, "node", name)?;
        let sig = text(v, "sign", name)?;
        let made = alipay::sign_bytes(node.as_bytes(), &ali_private, sign_type)
            .map_err(|e| format!("{name}: {e}"))?;
        if made != sig {
            return Err(format!("{name}: node signature differs from the vector"));
        }
        let body = text(v, "body", name)?;
        let method = text(v, "method", name)?;
        alipay::envelope::verify_response(body, method, &ali_public, sign_type)
            .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok((requests.len(), responses.len()))
}
