//! `application/x-www-form-urlencoded` bodies and query strings as decoded pairs, and the
//! merge of query and body parameters that the gateway signs over (spec §1.3).

use std::collections::HashMap;

/// A decoded parameter list, in wire order. Duplicates are kept: [`merge_params`] decides them.
pub type Params = Vec<(String, String)>;

/// Why a query string or form body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// A `%` not followed by two hex digits. Java's `URLDecoder`, which the gateway uses,
    /// throws on these instead of passing them through as WHATWG parsers do.
    #[error("malformed percent escape at byte {offset}")]
    BadPercentEscape {
        /// Byte offset of the `%` in the input.
        offset: usize,
    },
    /// The decoded bytes of a key or value are not UTF-8 (the only charset decoded here).
    #[error("parameter {key:?} is not valid UTF-8")]
    InvalidUtf8 {
        /// The key, lossily decoded, for the error message.
        key: String,
    },
}

/// Decodes a query string or form body into pairs: `&`-separated, `+` is a space, `%XX` is a
/// byte, and the bytes are UTF-8. Empty segments (`a=1&&b=2`) are skipped; a segment without
/// `=` is a key with an empty value. A leading `?` is not stripped: pass what follows it.
///
/// # Errors
/// [`FormError`] on a malformed escape or non-UTF-8 bytes; nothing is guessed.
pub fn parse_urlencoded(input: &[u8]) -> Result<Params, FormError> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    for segment in input.split(|&b| b == b'&') {
        let seg_start = offset;
        offset += segment.len() + 1;
        if segment.is_empty() {
            continue;
        }
        let (raw_key, raw_value, value_start) = match segment.iter().position(|&b| b == b'=') {
            Some(i) => (
                segment.get(..i).unwrap_or_default(),
                segment.get(i + 1..).unwrap_or_default(),
                seg_start + i + 1,
            ),
            None => (segment, &[][..], seg_start + segment.len()),
        };
        let key_bytes = percent_decode(raw_key, seg_start)?;
        let value_bytes = percent_decode(raw_value, value_start)?;
        let key = String::from_utf8(key_bytes).map_err(|e| FormError::InvalidUtf8 {
            key: String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })?;
        let value = String::from_utf8(value_bytes)
            .map_err(|_| FormError::InvalidUtf8 { key: key.clone() })?;
        out.push((key, value));
    }
    Ok(out)
}

fn percent_decode(raw: &[u8], base_offset: usize) -> Result<Vec<u8>, FormError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0usize;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = raw.get(i + 1).copied().and_then(hex_value);
                let lo = raw.get(i + 2).copied().and_then(hex_value);
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => {
                        return Err(FormError::BadPercentEscape {
                            offset: base_offset + i,
                        });
                    }
                }
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Encodes pairs as `application/x-www-form-urlencoded` (space as `+`, everything outside
/// `A-Za-z0-9*-._` percent-encoded, like Java's `URLEncoder` and Python's `quote_plus`).
/// For SDK requests and test fixtures.
#[must_use]
pub fn encode_urlencoded(params: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(k, &mut out);
        out.push('=');
        encode_component(v, &mut out);
    }
    out
}

fn encode_component(s: &str, out: &mut String) {
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(hex_digit(b >> 4));
                out.push(hex_digit(b & 0x0f));
            }
        }
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).map_or('0', |c| c.to_ascii_uppercase())
}

/// A key that arrived twice with different values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parameter {key:?} appears twice with different values")]
pub struct ConflictingParam {
    /// The repeated key.
    pub key: String,
}

/// Merges query and body parameters into one list with each key once (spec §1.3).
///
/// The same key with the same value (gopay sends `charset=utf-8` in both the URL and the body)
/// is kept once, at its first position. The same key with *different* values is rejected:
/// spec §1.3 marks that case UNCONFIRMED and recommends rejection, which also removes any
/// question of which occurrence the signature covered. Query pairs come first, as a servlet
/// container orders them.
///
/// # Errors
/// [`ConflictingParam`] naming the first key seen with two different values.
pub fn merge_params(
    query: &[(String, String)],
    body: &[(String, String)],
) -> Result<Params, ConflictingParam> {
    let mut out: Params = Vec::with_capacity(query.len() + body.len());
    // Index of each key's first occurrence in `out`: a hostile request may repeat many keys.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (k, v) in query.iter().chain(body) {
        match seen.get(k.as_str()).and_then(|&i| out.get(i)) {
            Some((_, ev)) if ev == v => {}
            Some(_) => return Err(ConflictingParam { key: k.clone() }),
            None => {
                seen.insert(k.as_str(), out.len());
                out.push((k.clone(), v.clone()));
            }
        }
    }
    Ok(out)
}

/// The first value of `key`, the occurrence a servlet's `getParameter` returns.
#[must_use]
pub fn first_value<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
