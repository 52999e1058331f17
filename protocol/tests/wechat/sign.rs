//! Known-answer tests: every vector of the `wechat` section of `tests/data/known_answers.json` (spec §1.5).

use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::{Params, xml};
use serde_json::Value;

struct Vector {
    name: String,
    key: String,
    params: Params,
    string_to_sign: Option<String>,
    expected: Vec<(SignType, String)>,
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("../data/known_answers.json");
    let json: Value = serde_json::from_str(text).expect("vectors file is JSON");
    let list = json["wechat"]["vectors"].as_array().expect("vectors array");
    list.iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().map(str::to_owned);
            let mut params = Params::new();
            for pair in v["params"].as_array().expect("params array") {
                let name = pair[0].as_str().expect("name");
                let value = pair[1].as_str().expect("value");
                assert!(params.get(name).is_none(), "duplicate {name}");
                params.insert_text(name, value);
            }
            let mut expected = Vec::new();
            if let Some(m) = s("md5") {
                expected.push((SignType::Md5, m));
            }
            if let Some(h) = s("hmac_sha256") {
                expected.push((SignType::HmacSha256, h));
            }
            assert!(!expected.is_empty(), "vector without an expected sign");
            Vector {
                name: s("name").expect("name"),
                key: s("key").expect("key"),
                params,
                string_to_sign: s("string_to_sign"),
                expected,
            }
        })
        .collect()
}

#[test]
fn every_vector_signs_as_expected() {
    let all = vectors();
    assert!(all.len() >= 7, "vectors file lost entries");
    for v in &all {
        if let Some(st) = &v.string_to_sign {
            assert_eq!(&sign::string_to_sign(&v.params, &v.key), st, "{}", v.name);
        }
        for (ty, want) in &v.expected {
            assert_eq!(&sign::sign(&v.params, &v.key, *ty), want, "{} {ty}", v.name);
        }
    }
}

#[test]
fn every_vector_verifies_and_tampering_fails() {
    for v in vectors() {
        for (ty, want) in &v.expected {
            let mut p = v.params.clone();
            p.insert_text("sign", want);
            assert!(sign::verify(&p, &v.key, *ty), "{}", v.name);
            assert!(!sign::verify(&p, "wrong-key", *ty), "{}", v.name);
            let other = match ty {
                SignType::Md5 => SignType::HmacSha256,
                SignType::HmacSha256 => SignType::Md5,
            };
            assert!(!sign::verify(&p, &v.key, other), "{}", v.name);

            // Changing any non-empty signed value breaks the signature.
            let names: Vec<String> = p
                .iter()
                .filter(|(k, val)| *k != "sign" && !val.is_empty())
                .map(|(k, _)| k.to_owned())
                .collect();
            for name in names {
                let mut t = p.clone();
                let old = t.get(&name).unwrap_or_default().to_owned();
                t.insert_text(name.clone(), format!("{old}x"));
                assert!(!sign::verify(&t, &v.key, *ty), "{} {name}", v.name);
            }
            // Adding an unknown field breaks it too: extra fields are signed (§1.1).
            let mut t = p.clone();
            t.insert_text("extra_field", "1");
            assert!(!sign::verify(&t, &v.key, *ty), "{}", v.name);
            // An empty extra field does not (empty values are not signed).
            let mut t = p.clone();
            t.insert_text("empty_field", "");
            assert!(sign::verify(&t, &v.key, *ty), "{}", v.name);
        }
    }
}

#[test]
fn every_vector_survives_the_xml_codec() {
    for v in vectors() {
        let (ty, want) = &v.expected[0];
        let mut p = v.params.clone();
        p.insert_text("sign", want);
        let decoded = xml::decode(xml::encode(&p).as_bytes()).expect("own output decodes");
        assert!(decoded.same_fields(&p), "{}", v.name);
        assert!(sign::verify(&decoded, &v.key, *ty), "{}", v.name);
    }
}

#[test]
fn order_of_params_does_not_matter() {
    for v in vectors() {
        let reversed: Params = v
            .params
            .iter()
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        for (ty, want) in &v.expected {
            assert_eq!(&sign::sign(&reversed, &v.key, *ty), want, "{}", v.name);
        }
    }
}
