//! Request canonical string and RSA2/RSA signatures (spec §2), pinned by the known-answer
//! vectors: the spec's own canonical string, and signatures made by openssl.

use crate::support::{alipay_public, app_private, app_public, pairs, sign_type, vectors};
use paysandbox_protocol::alipay::{
    SignType, SignatureError, canonical_string, merge_params, parse_urlencoded, sign_bytes,
    sign_request, verify_bytes, verify_request,
};

/// The merged, decoded pairs of a request vector, however it is stored.
fn vector_params(v: &crate::support::RequestVector) -> Vec<(String, String)> {
    let query = match &v.query_raw {
        Some(raw) => parse_urlencoded(raw.as_bytes()).unwrap(),
        None => v.query.clone(),
    };
    let body = match &v.body_raw {
        Some(raw) => parse_urlencoded(raw.as_bytes()).unwrap(),
        None => v.body.clone(),
    };
    merge_params(&query, &body).unwrap()
}

#[test]
fn canonical_strings_match_every_vector() {
    for v in &vectors().request_vectors {
        assert_eq!(
            canonical_string(&vector_params(v)),
            v.canonical,
            "{}",
            v.name
        );
    }
}

#[test]
fn spec_example_is_reproduced_verbatim() {
    let v = vectors()
        .request_vectors
        .iter()
        .find(|v| v.name == "spec_2_1_py_official_refund")
        .unwrap();
    // Typed here as well as in the data file, so a bad edit of one is caught by the other.
    assert_eq!(
        v.canonical,
        r#"app_id=2021000000000001&biz_content={"out_request_no":"R1","out_trade_no":"T1","refund_amount":"1.00","refund_reason":"退款"}&charset=utf-8&format=json&method=alipay.trade.refund&sign_type=RSA2&timestamp=2026-11-23 20:15:18&version=1.0"#
    );
}

#[test]
fn signatures_equal_openssl_output_for_both_algorithms() {
    // PKCS#1 v1.5 is deterministic: the same key and content give the same bytes as openssl.
    for v in &vectors().request_vectors {
        let params = vector_params(v);
        for (alg, expected) in &v.signatures {
            let st = sign_type(alg);
            assert_eq!(
                &sign_request(&params, app_private(), st).unwrap(),
                expected,
                "{} {alg}",
                v.name
            );
        }
    }
}

#[test]
fn vectors_verify_with_the_app_public_key() {
    let key = app_public();
    for v in &vectors().request_vectors {
        let params = vector_params(v);
        verify_request(&params, &key, sign_type(&v.sign_type))
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
    }
}

#[test]
fn fzlee_vector_decodes_plus_and_percent_2b_in_the_signature() {
    let v = vectors()
        .request_vectors
        .iter()
        .find(|v| v.name == "fzlee_get_query_ascii_escaped_biz")
        .unwrap();
    let raw = v.query_raw.as_deref().unwrap();
    let params = parse_urlencoded(raw.as_bytes()).unwrap();
    let sign = &params.iter().find(|(k, _)| k == "sign").unwrap().1;
    assert_eq!(sign, &v.signatures["RSA"]);
    // The \uXXXX escapes stay as sent: the gateway signs the exact biz_content text.
    assert!(
        v.canonical
            .contains(r#""refund_reason":"\u9000\u6b3e & \u8bf4\u660e""#)
    );
    // A client that leaves '+' unencoded turns it into a space: the real gateway rejects it.
    assert!(sign.contains('+'), "the vector's signature exercises %2B");
    let broken = raw.replace("%2B", "+");
    let params = parse_urlencoded(broken.as_bytes()).unwrap();
    assert_eq!(
        verify_request(&params, &app_public(), SignType::Rsa),
        Err(SignatureError::InvalidBase64)
    );
}

#[test]
fn round_trip_rsa2_and_rsa() {
    let params = pairs(&[
        ("app_id", "2021000000000001"),
        ("method", "alipay.trade.refund"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("timestamp", "2026-01-02 03:04:05"),
        ("version", "1.0"),
        (
            "biz_content",
            r#"{"out_trade_no":"X","refund_amount":"0.01","refund_reason":"中文 {}\"&="}"#,
        ),
    ]);
    for st in [SignType::Rsa2, SignType::Rsa] {
        let sign = sign_request(&params, app_private(), st).unwrap();
        assert_eq!(sign.len(), 344, "2048-bit signature in base64 (spec §1.2)");
        assert!(!sign.contains('\n'));
        let mut signed = params.clone();
        signed.push(("sign".to_owned(), sign));
        verify_request(&signed, &app_public(), st).unwrap();
        // The other hash does not verify.
        let other = if st == SignType::Rsa2 {
            SignType::Rsa
        } else {
            SignType::Rsa2
        };
        assert_eq!(
            verify_request(&signed, &app_public(), other),
            Err(SignatureError::Mismatch)
        );
        // Nor does another key.
        assert_eq!(
            verify_request(&signed, &alipay_public(), st),
            Err(SignatureError::Mismatch)
        );
    }
}

#[test]
fn tampering_with_any_value_or_the_signature_fails() {
    let v = &vectors().request_vectors[0];
    let params = vector_params(v);
    let key = app_public();
    for i in 0..params.len() {
        if params[i].0 == "sign" {
            continue;
        }
        let mut t = params.clone();
        t[i].1.push('x');
        assert_eq!(
            verify_request(&t, &key, SignType::Rsa2),
            Err(SignatureError::Mismatch),
            "{}",
            t[i].0
        );
    }
    // An added non-empty parameter is signed over too.
    let mut t = params.clone();
    t.push(("notify_url".to_owned(), "https://evil.example/".to_owned()));
    assert_eq!(
        verify_request(&t, &key, SignType::Rsa2),
        Err(SignatureError::Mismatch)
    );
    // A flipped bit in the signature.
    let mut t = params.clone();
    let sign = t.iter_mut().find(|(k, _)| k == "sign").unwrap();
    let first = if sign.1.starts_with('A') { "B" } else { "A" };
    sign.1.replace_range(0..1, first);
    assert_eq!(
        verify_request(&t, &key, SignType::Rsa2),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn missing_or_malformed_signature_is_reported_as_such() {
    let mut params = vector_params(&vectors().request_vectors[0]);
    let key = app_public();
    let idx = params.iter().position(|(k, _)| k == "sign").unwrap();
    params[idx].1 = "not base64!".to_owned();
    assert_eq!(
        verify_request(&params, &key, SignType::Rsa2),
        Err(SignatureError::InvalidBase64)
    );
    params[idx].1 = String::new();
    assert_eq!(
        verify_request(&params, &key, SignType::Rsa2),
        Err(SignatureError::MissingSignature)
    );
    params.remove(idx);
    assert_eq!(
        verify_request(&params, &key, SignType::Rsa2),
        Err(SignatureError::MissingSignature)
    );
    // Valid base64 of the wrong length is a mismatch, not a panic.
    assert_eq!(
        verify_bytes(b"x", "AAAA", &key, SignType::Rsa2),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn sign_is_dropped_and_sign_type_is_kept() {
    let p = pairs(&[("sign", "abc"), ("sign_type", "RSA2"), ("a", "1")]);
    assert_eq!(canonical_string(&p), "a=1&sign_type=RSA2");
}

#[test]
fn empty_values_and_empty_keys_are_dropped() {
    let p = pairs(&[
        ("b", ""),
        ("a", "1"),
        ("notify_url", ""),
        ("", "x"),
        ("c", " "),
    ]);
    // A space is not empty.
    assert_eq!(canonical_string(&p), "a=1&c= ");
}

#[test]
fn keys_sort_by_byte_order_and_values_stay_raw() {
    let p = pairs(&[
        ("b", "x&y=z"),
        ("B", "upper sorts first"),
        ("a_b", "1"),
        ("a", "%20+"),
        ("ab", "2"),
    ]);
    assert_eq!(
        canonical_string(&p),
        "B=upper sorts first&a=%20+&a_b=1&ab=2&b=x&y=z"
    );
}

#[test]
fn a_duplicated_key_counts_once_and_the_first_occurrence_wins() {
    let p = pairs(&[("charset", "utf-8"), ("a", "1"), ("charset", "GBK")]);
    assert_eq!(canonical_string(&p), "a=1&charset=utf-8");
    // First occurrence empty: the key is dropped, as a servlet's getParameter would give "".
    let p = pairs(&[("a", ""), ("a", "1"), ("b", "2")]);
    assert_eq!(canonical_string(&p), "b=2");
    // A second `sign` is ignored like the first.
    let p = pairs(&[("sign", "x"), ("sign", "y"), ("a", "1")]);
    assert_eq!(canonical_string(&p), "a=1");
}

#[test]
fn sign_bytes_and_verify_bytes_agree_on_arbitrary_content() {
    for content in [&b""[..], b"x", "中文".as_bytes(), &[0u8, 255, 10, 13][..]] {
        for st in [SignType::Rsa2, SignType::Rsa] {
            let s = sign_bytes(content, app_private(), st).unwrap();
            verify_bytes(content, &s, &app_public(), st).unwrap();
        }
    }
}

#[test]
fn sign_type_wire_values() {
    assert_eq!(SignType::from_wire("RSA2"), Some(SignType::Rsa2));
    assert_eq!(SignType::from_wire("RSA"), Some(SignType::Rsa));
    for bad in ["rsa2", "Rsa2", "RSA256", "", "SHA256withRSA", "HMAC-SHA256"] {
        assert_eq!(SignType::from_wire(bad), None, "{bad}");
    }
    assert_eq!(SignType::Rsa2.to_string(), "RSA2");
    assert_eq!("RSA".parse::<SignType>(), Ok(SignType::Rsa));
    assert!("md5".parse::<SignType>().is_err());
}
