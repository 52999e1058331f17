//! The JSON response envelope and its signature (spec §3.1–§3.4).
//!
//! `{"<method>_response":{...},"sign":"..."}`: the signature covers the node's bytes exactly as
//! they appear in the body, so the encoder signs the very string it emits and the decoder finds
//! the node's byte span without re-serialising.

use super::sign::{SignType, SignatureError, sign_bytes, verify_bytes};
use crate::rsa::{PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashSet;

/// The legacy failure node (spec §3.4), used when no method node can be named.
pub const ERROR_RESPONSE_KEY: &str = "error_response";

/// The node key for a method: dots become underscores, plus `_response`
/// (`alipay.trade.refund` → `alipay_trade_refund_response`).
#[must_use]
pub fn response_key(method: &str) -> String {
    let mut key = method.replace('.', "_");
    key.push_str("_response");
    key
}

/// Why a response could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The node text is not one JSON object.
    #[error("response node is not a JSON object")]
    NodeNotObject,
    /// Signing failed.
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

/// Serialises a response node compactly, in the struct's field order, ready to be signed.
///
/// serde_json already gives what clients need (spec §3.3): no spaces, `/` not escaped as `\/`
/// (old java retries without it, others would fail), non-ASCII as raw UTF-8 as the real
/// gateway sends it. On top of that, `{` and `}` inside string values are written as
/// `\u007b` / `\u007d`: still the same JSON, but fzlee's brace counter (not string-aware) and
/// the py-official/gopay/java `},"sign":"` searches can no longer be fooled by a sub_msg or
/// refund_reason containing braces.
///
/// # Errors
/// Whatever `serde_json` reports for the value.
pub fn node_json<T: Serialize + ?Sized>(node: &T) -> Result<String, serde_json::Error> {
    let compact = serde_json::to_string(node)?;
    Ok(escape_braces_in_strings(&compact))
}

/// Rewrites `{`/`}` inside JSON string literals as `\u` escapes; bytes outside strings and all
/// other characters are unchanged.
fn escape_braces_in_strings(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            if escaped {
                escaped = false;
                out.push(c);
                continue;
            }
            match c {
                '\\' => {
                    escaped = true;
                    out.push(c);
                }
                '"' => {
                    in_string = false;
                    out.push(c);
                }
                '{' => out.push_str("\\u007b"),
                '}' => out.push_str("\\u007d"),
                c => out.push(c),
            }
        } else {
            if c == '"' {
                in_string = true;
            }
            out.push(c);
        }
    }
    out
}

/// One JSON object with nothing around it: surrounding whitespace would be signed but not
/// extracted (the signed span runs from `{` to `}`), so it is refused rather than emitted.
fn is_json_object(text: &str) -> bool {
    text.starts_with('{')
        && text.ends_with('}')
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// Builds an envelope: `{"<node_key>":<node_json>[,"alipay_cert_sn":"<sn>"][,"sign":"<b64>"]}`.
///
/// The order follows the clients' constraints (spec §3.3): node first, then the cert SN in cert
/// mode, then `sign`, with no whitespace, so the strictest substring extractors (gopay, old
/// java, py-official) find the node. `node_json` is embedded byte for byte and is exactly what
/// gets signed; produce it with [`node_json`]. With `signer` `None` there is no `sign` key at
/// all, as for an unknown app_id.
///
/// # Errors
/// [`EncodeError::NodeNotObject`] if `node_json` is not a JSON object, or a signing failure.
pub fn encode_envelope(
    node_key: &str,
    node_json: &str,
    cert_sn: Option<&str>,
    signer: Option<(&RsaPrivateKey, SignType)>,
) -> Result<String, EncodeError> {
    if !is_json_object(node_json) {
        return Err(EncodeError::NodeNotObject);
    }
    let sign = match signer {
        Some((key, sign_type)) => Some(sign_bytes(node_json.as_bytes(), key, sign_type)?),
        None => None,
    };
    let mut out = String::with_capacity(node_json.len() + node_key.len() + 400);
    out.push('{');
    push_json_string(&mut out, node_key);
    out.push(':');
    out.push_str(node_json);
    if let Some(sn) = cert_sn {
        out.push_str(",\"alipay_cert_sn\":");
        push_json_string(&mut out, sn);
    }
    if let Some(sig) = sign {
        out.push_str(",\"sign\":");
        push_json_string(&mut out, &sig);
    }
    out.push('}');
    Ok(out)
}

fn push_json_string(out: &mut String, s: &str) {
    // Serialising a &str cannot fail; fall back to an empty literal rather than panic.
    match serde_json::to_string(s) {
        Ok(q) => out.push_str(&q),
        Err(_) => out.push_str("\"\""),
    }
}

/// A signed response under the method's node (success, business failures, 20000 errors and
/// `isv.invalid-signature` alike: spec §3.1, §3.4).
///
/// # Errors
/// As [`encode_envelope`].
pub fn encode_response(
    method: &str,
    node_json: &str,
    key: &RsaPrivateKey,
    sign_type: SignType,
) -> Result<String, EncodeError> {
    encode_envelope(
        &response_key(method),
        node_json,
        None,
        Some((key, sign_type)),
    )
}

/// An unsigned response under the method's node: what the gateway sends for
/// `isv.invalid-app-id`, when it has no app and so no key to pick (spec §3.4).
///
/// # Errors
/// [`EncodeError::NodeNotObject`].
pub fn encode_unsigned_response(method: &str, node_json: &str) -> Result<String, EncodeError> {
    encode_envelope(&response_key(method), node_json, None, None)
}

/// A response under `error_response`, the legacy node. Spec §3.4 leaves the shape for a missing
/// or unknown `method` UNCONFIRMED; `error_response` is its most plausible choice since no
/// method node can be named, and §10.7 says such responses are probably unsigned: pass `None`
/// for that. fzlee raises on any `error_response`, which matches it raising on the real one.
///
/// # Errors
/// As [`encode_envelope`].
pub fn encode_error_response(
    node_json: &str,
    signer: Option<(&RsaPrivateKey, SignType)>,
) -> Result<String, EncodeError> {
    encode_envelope(ERROR_RESPONSE_KEY, node_json, None, signer)
}

/// Why a response body could not be taken apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not valid JSON.
    #[error("response is not valid JSON: {0}")]
    Malformed(String),
    /// Valid JSON, but the top level is not an object.
    #[error("response is not a JSON object")]
    NotAnObject,
    /// A top-level key appears twice: which copy was signed would be ambiguous (newer java's
    /// `extractSignContent` rejects this too).
    #[error("duplicate top-level key {0:?}")]
    DuplicateKey(String),
    /// Neither `<method>_response` nor `error_response` is present.
    #[error("response has no {expected:?} node")]
    NodeMissing {
        /// The node key looked for.
        expected: String,
    },
    /// The node is not an object (an encrypted node is a string: out of scope, spec §3.6).
    #[error("response node is not a JSON object")]
    NodeNotObject,
    /// `sign` is present but not a string.
    #[error("sign is not a string")]
    SignNotString,
    /// `alipay_cert_sn` is present but not a string.
    #[error("alipay_cert_sn is not a string")]
    CertSnNotString,
}

/// Which node a response carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// `<method>_response`.
    Method,
    /// `error_response`.
    Error,
}

/// A response body taken apart, borrowing the node's exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// Which node was found.
    pub kind: NodeKind,
    /// The node's exact text, `{` to matching `}`: the signed bytes.
    pub node: &'a str,
    /// The decoded `sign`; `None` if absent or empty (an empty `sign` is how the gateway
    /// writes "unsigned" under `error_response`, and java treats the two alike).
    pub sign: Option<String>,
    /// The decoded `alipay_cert_sn` (cert mode).
    pub cert_sn: Option<String>,
}

/// Takes a response body apart without re-serialising: validates the whole body as JSON, then
/// walks the top-level object to record each member's byte span. Key order, whitespace, and
/// strings holding braces, quotes or escapes are all handled; `sign` may come before or after
/// the node. Falls back to `error_response` when the method node is absent, as java, node and
/// smartwalle do.
///
/// # Errors
/// [`EnvelopeError`]; never panics on any input.
pub fn parse_envelope<'a>(body: &'a str, method: &str) -> Result<Envelope<'a>, EnvelopeError> {
    serde_json::from_str::<serde::de::IgnoredAny>(body)
        .map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
    let members = top_level_members(body)?;

    let mut seen: HashSet<&str> = HashSet::with_capacity(members.len());
    for m in &members {
        if !seen.insert(m.key.as_str()) {
            return Err(EnvelopeError::DuplicateKey(m.key.clone()));
        }
    }

    let expected = response_key(method);
    let find = |k: &str| members.iter().find(|m| m.key == k);
    let (kind, node) = match (find(&expected), find(ERROR_RESPONSE_KEY)) {
        (Some(m), _) => (NodeKind::Method, m.value),
        (None, Some(m)) => (NodeKind::Error, m.value),
        (None, None) => return Err(EnvelopeError::NodeMissing { expected }),
    };
    if !node.starts_with('{') {
        return Err(EnvelopeError::NodeNotObject);
    }
    let string_member = |k: &str, err: EnvelopeError| -> Result<Option<String>, EnvelopeError> {
        match find(k) {
            None => Ok(None),
            Some(m) => serde_json::from_str::<String>(m.value)
                .map(|s| Some(s).filter(|s| !s.is_empty()))
                .map_err(|_| err),
        }
    };
    let sign = string_member("sign", EnvelopeError::SignNotString)?;
    let cert_sn = string_member("alipay_cert_sn", EnvelopeError::CertSnNotString)?;
    Ok(Envelope {
        kind,
        node,
        sign,
        cert_sn,
    })
}

/// The node's exact bytes and its `sign` (see [`parse_envelope`], whose fallback to
/// `error_response` applies).
///
/// # Errors
/// As [`parse_envelope`].
pub fn extract_signed_node<'a>(
    body: &'a str,
    method: &str,
) -> Result<(&'a str, Option<String>), EnvelopeError> {
    parse_envelope(body, method).map(|e| (e.node, e.sign))
}

/// Why a response failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The body could not be taken apart.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// Unsigned ([`SignatureError::MissingSignature`]) or a bad signature.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Verified, but the node does not fit the expected type.
    #[error("response node does not match the expected shape: {0}")]
    Shape(String),
}

/// Verifies a response's signature over the node's exact bytes with Alipay's public key and
/// returns the parsed node. An unsigned response is an error here; use [`parse_envelope`] to
/// read the unsigned `isv.invalid-app-id` answer.
///
/// # Errors
/// [`ResponseError`].
pub fn verify_response(
    body: &str,
    method: &str,
    key: &RsaPublicKey,
    sign_type: SignType,
) -> Result<serde_json::Value, ResponseError> {
    verify_response_as(body, method, key, sign_type)
}

/// [`verify_response`] deserialising the node into a typed response (e.g.
/// [`super::messages::TradeRefundResponse`]).
///
/// # Errors
/// [`ResponseError`].
pub fn verify_response_as<T: DeserializeOwned>(
    body: &str,
    method: &str,
    key: &RsaPublicKey,
    sign_type: SignType,
) -> Result<T, ResponseError> {
    let env = parse_envelope(body, method)?;
    let sign = env.sign.ok_or(SignatureError::MissingSignature)?;
    verify_bytes(env.node.as_bytes(), &sign, key, sign_type)?;
    serde_json::from_str(env.node).map_err(|e| ResponseError::Shape(e.to_string()))
}

/// One top-level member: decoded key and the value's exact text.
struct Member<'a> {
    key: String,
    value: &'a str,
}

/// Walks the top-level object of a body already validated as JSON. Every step still checks
/// bounds and structure and reports [`EnvelopeError::Malformed`] rather than assuming.
fn top_level_members(body: &str) -> Result<Vec<Member<'_>>, EnvelopeError> {
    let bytes = body.as_bytes();
    let malformed = || EnvelopeError::Malformed("unexpected structure".to_owned());
    let mut pos = skip_ws(bytes, 0);
    if bytes.get(pos) != Some(&b'{') {
        return Err(EnvelopeError::NotAnObject);
    }
    pos += 1;
    let mut members = Vec::new();
    pos = skip_ws(bytes, pos);
    if bytes.get(pos) == Some(&b'}') {
        return Ok(members);
    }
    loop {
        pos = skip_ws(bytes, pos);
        let key_end = string_end(bytes, pos).ok_or_else(malformed)?;
        let key_text = body.get(pos..key_end).ok_or_else(malformed)?;
        let key: String = serde_json::from_str(key_text).map_err(|_| malformed())?;
        pos = skip_ws(bytes, key_end);
        if bytes.get(pos) != Some(&b':') {
            return Err(malformed());
        }
        pos = skip_ws(bytes, pos + 1);
        let value_end = value_end(bytes, pos).ok_or_else(malformed)?;
        let value = body.get(pos..value_end).ok_or_else(malformed)?;
        members.push(Member { key, value });
        pos = skip_ws(bytes, value_end);
        match bytes.get(pos) {
            Some(b',') => pos += 1,
            Some(b'}') => return Ok(members),
            _ => return Err(malformed()),
        }
    }
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while matches!(bytes.get(pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        pos += 1;
    }
    pos
}

/// End (exclusive) of the string literal starting at `pos`.
fn string_end(bytes: &[u8], pos: usize) -> Option<usize> {
    if bytes.get(pos) != Some(&b'"') {
        return None;
    }
    let mut i = pos + 1;
    loop {
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// End (exclusive) of the JSON value starting at `pos`: a string, a bracketed value matched by
/// depth counting outside strings, or a scalar running to the next delimiter.
fn value_end(bytes: &[u8], pos: usize) -> Option<usize> {
    match bytes.get(pos)? {
        b'"' => string_end(bytes, pos),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = pos;
            loop {
                match bytes.get(i)? {
                    b'"' => {
                        i = string_end(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let mut i = pos;
            while let Some(b) = bytes.get(i) {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                i += 1;
            }
            (i > pos).then_some(i)
        }
    }
}

/// Serialises `node` with [`node_json`] and signs it under the method's node.
///
/// # Errors
/// [`EncodeError::NodeNotObject`] if `node` does not serialise to an object (the serde error is
/// folded into it), or a signing failure.
pub fn encode_typed_response<T: Serialize + ?Sized>(
    method: &str,
    node: &T,
    key: &RsaPrivateKey,
    sign_type: SignType,
) -> Result<String, EncodeError> {
    let json = node_json(node).map_err(|_| EncodeError::NodeNotObject)?;
    encode_response(method, &json, key, sign_type)
}
