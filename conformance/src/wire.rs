//! Wire properties over arbitrary field sets, on `paysandbox-protocol` (what the mock and the
//! SDK both sign, encode and verify with):
//! - WeChat: MD5 and HMAC-SHA256 sign/verify round trips; XML encode → decode gives the same
//!   fields (unicode, empty values, `<>&'"`, `]]>` inside values); a tampered value, an added
//!   field or a tampered signature never verifies.
//! - Alipay: RSA2/RSA request signatures over the canonical string round-trip and break on
//!   any tampered value; form encode → decode is the identity; a response node encoded as
//!   JSON, signed and enveloped verifies and decodes to the same fields, and any tampered
//!   character of the node fails verification.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use paysandbox_protocol::alipay::{
    self, SignType as AliSignType, encode_response, encode_urlencoded, node_json,
    parse_private_key, parse_public_key, parse_urlencoded, verify_request, verify_response,
};
use paysandbox_protocol::rsa;
use paysandbox_protocol::wechat::{Params, SignType, sign, xml};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;

use crate::run::{Counterexample, Options};

/// Values: unicode, empty, XML and form specials, CDATA terminators.
pub fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9]{1,12}",
        "[a-z<>&'\"=%+/ 中文退款€😀]{1,16}",
        "[a-z]{0,4}\\]\\]>[a-z<]{0,4}",
        "\\PC{1,12}",
    ]
}

fn wechat_fields() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map("[a-z][a-z0-9_]{0,11}", value(), 1..8)
        .prop_filter("sign is the signature's own field", |m| {
            !m.contains_key("sign")
        })
}

fn params_of(fields: &BTreeMap<String, String>) -> Params {
    let mut p = Params::new();
    for (k, v) in fields {
        p.insert_text(k.clone(), v.clone());
    }
    p
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if ok {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

/// Keeps the value XML 1.0 can carry (decoded messages never hold anything else).
fn xml_safe(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, '\t' | '\n') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}' && c != '\r')
    }) && s.trim() == s
}

fn wechat_property(
    (fields, key, hmac, victim): (BTreeMap<String, String>, String, bool, prop::sample::Index),
) -> Result<(), TestCaseError> {
    let sign_type = if hmac {
        SignType::HmacSha256
    } else {
        SignType::Md5
    };
    let mut params = params_of(&fields);
    sign::sign_in_place(&mut params, &key, sign_type);
    check(sign::verify(&params, &key, sign_type), || {
        "fresh signature does not verify".into()
    })?;

    if fields.values().all(|v| xml_safe(v)) {
        let text = xml::encode(&params);
        let decoded = xml::decode(text.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("own XML does not decode: {e}: {text}")))?;
        check(decoded.same_fields(&params), || {
            format!("XML round trip changed fields: {text}")
        })?;
        check(sign::verify(&decoded, &key, sign_type), || {
            "decoded copy does not verify".into()
        })?;
    }

    let names: Vec<&String> = fields.keys().collect();
    let name = victim.get(&names);
    let mut tampered = params.clone();
    let old = tampered.get(name).unwrap_or_default().to_owned();
    tampered.insert_text((*name).clone(), format!("{old}x"));
    check(!sign::verify(&tampered, &key, sign_type), || {
        format!("{name} tampered, still verifies")
    })?;

    let mut added = params.clone();
    added.insert_text("zz_added", "1");
    check(!sign::verify(&added, &key, sign_type), || {
        "an added field still verifies".into()
    })?;

    let mut forged = params.clone();
    let sig = forged.get("sign").unwrap_or_default().to_owned();
    let flipped: String = sig
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                if c == 'A' { 'B' } else { 'A' }
            } else {
                c
            }
        })
        .collect();
    forged.insert_text("sign", flipped);
    check(!sign::verify(&forged, &key, sign_type), || {
        "a tampered signature still verifies".into()
    })?;
    check(
        !sign::verify(&params, &format!("{key}x"), sign_type),
        || "another key verifies".into(),
    )
}

struct Keys {
    app_private: rsa::PrivateKey,
    app_public: rsa::PublicKey,
    ali_private: rsa::PrivateKey,
    ali_public: rsa::PublicKey,
}

fn keys() -> Result<&'static Keys, TestCaseError> {
    static KEYS: OnceLock<Result<Keys, String>> = OnceLock::new();
    let loaded = KEYS.get_or_init(|| {
        let json: Value =
            serde_json::from_str(crate::vectors::KNOWN_ANSWERS).map_err(|e| e.to_string())?;
        let pem = |who: &str, form: &str| {
            json.pointer(&format!("/alipay/keys/{who}/{form}"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("alipay.keys.{who}.{form} missing"))
        };
        Ok(Keys {
            app_private: parse_private_key(&pem("app", "pkcs8_pem")?).map_err(|e| e.to_string())?,
            app_public: parse_public_key(&pem("app", "spki_pem")?).map_err(|e| e.to_string())?,
            ali_private: parse_private_key(&pem("alipay", "pkcs8_pem")?)
                .map_err(|e| e.to_string())?,
            ali_public: parse_public_key(&pem("alipay", "spki_pem")?).map_err(|e| e.to_string())?,
        })
    });
    loaded.as_ref().map_err(|e| TestCaseError::fail(e.clone()))
}

fn alipay_property(
    (fields, rsa2, victim): (BTreeMap<String, String>, bool, prop::sample::Index),
) -> Result<(), TestCaseError> {
    let k = keys()?;
    let sign_type = if rsa2 {
        AliSignType::Rsa2
    } else {
        AliSignType::Rsa
    };
    let mut pairs: Vec<(String, String)> =
        fields.iter().map(|(a, b)| (a.clone(), b.clone())).collect();
    let sig = alipay::sign_request(&pairs, &k.app_private, sign_type)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    pairs.push(("sign".into(), sig));
    check(
        verify_request(&pairs, &k.app_public, sign_type).is_ok(),
        || "request signature does not verify".into(),
    )?;

    let form = encode_urlencoded(&pairs);
    let decoded =
        parse_urlencoded(form.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    check(decoded == pairs, || {
        format!("form round trip changed fields: {form}")
    })?;

    let names: Vec<&String> = fields.keys().collect();
    let name = victim.get(&names);
    let mut tampered = pairs.clone();
    if let Some(slot) = tampered.iter_mut().find(|(n, _)| n == *name) {
        slot.1.push('x');
    }
    check(
        verify_request(&tampered, &k.app_public, sign_type).is_err(),
        || format!("{name} tampered, request still verifies"),
    )?;

    // The response direction: a node of the same fields, JSON-encoded, signed, enveloped.
    let node: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(a, b)| (a.clone(), Value::String(b.clone())))
        .collect();
    let json = node_json(&node).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let method = "alipay.trade.refund";
    let body = encode_response(method, &json, &k.ali_private, sign_type)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back = verify_response(&body, method, &k.ali_public, sign_type)
        .map_err(|e| TestCaseError::fail(format!("own response does not verify: {e}: {body}")))?;
    check(back == Value::Object(node.clone()), || {
        format!("JSON round trip changed fields: {body}")
    })?;
    let tampered_body = body.replacen(&format!("\"{name}\":"), &format!("\"{name}x\":"), 1);
    check(
        tampered_body == body
            || verify_response(&tampered_body, method, &k.ali_public, sign_type).is_err(),
        || format!("tampered node still verifies: {tampered_body}"),
    )
}

/// Runs every wire property for `options.cases` cases (at least 64: they are cheap).
///
/// # Errors
/// The first failing property, shrunk.
pub fn run(options: &Options) -> Result<usize, Counterexample> {
    let seed = options.seed.unwrap_or(0x5eed);
    let cases = Options {
        cases: options.cases.max(64),
        ..*options
    };
    let as_counterexample = |reason: String| Counterexample {
        reason,
        steps: Vec::new(),
        seed,
    };
    let mut runner = cases.runner(seed);
    runner
        .run(
            &(
                wechat_fields(),
                "[a-zA-Z0-9]{32}",
                any::<bool>(),
                any::<prop::sample::Index>(),
            ),
            wechat_property,
        )
        .map_err(|e| as_counterexample(format!("WeChat sign/XML: {e}")))?;
    let mut runner = cases.runner(seed);
    runner
        .run(
            &(
                prop::collection::btree_map("[a-z][a-z_]{0,9}", value(), 1..6)
                    .prop_filter("sign is the signature's own field", |m| {
                        !m.contains_key("sign")
                    }),
                any::<bool>(),
                any::<prop::sample::Index>(),
            ),
            alipay_property,
        )
        .map_err(|e| as_counterexample(format!("Alipay sign/form/JSON: {e}")))?;
    Ok(2)
}
