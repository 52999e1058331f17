//! The shared known-answer vectors of the spec (§1.5), the `wechat` section of
//! `protocol/tests/data/known_answers.json`, run through the SDK's own request encoding.

use paysandbox_protocol::wechat::{Params, SignType, xml};
use serde_json::Value;

use super::wire;

pub(crate) struct Vector {
    pub(crate) name: String,
    pub(crate) key: String,
    pub(crate) params: Params,
    pub(crate) expected: Vec<(SignType, String)>,
}

pub(crate) fn load() -> Vec<Vector> {
    let text = include_str!("../../../protocol/tests/data/known_answers.json");
    let json: Value = serde_json::from_str(text).unwrap();
    json["wechat"]["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let mut params = Params::new();
            for pair in v["params"].as_array().unwrap() {
                params.insert_text(pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            }
            let mut expected = Vec::new();
            for (field, st) in [
                ("md5", SignType::Md5),
                ("hmac_sha256", SignType::HmacSha256),
            ] {
                if let Some(s) = v[field].as_str() {
                    expected.push((st, s.to_owned()));
                }
            }
            Vector {
                name: v["name"].as_str().unwrap().to_owned(),
                key: v["key"].as_str().unwrap().to_owned(),
                params,
                expected,
            }
        })
        .collect()
}

pub(crate) fn find(name: &str) -> Vector {
    load().into_iter().find(|v| v.name == name).unwrap()
}

#[test]
fn every_vector_signs_as_expected_through_the_sdk_encoder() {
    let vectors = load();
    assert!(vectors.len() >= 8, "the vectors file lost entries");
    for v in vectors {
        assert!(!v.expected.is_empty(), "{}", v.name);
        for (sign_type, want) in &v.expected {
            let mut params = v.params.clone();
            // A `sign` already in the vector (present on purpose) is replaced, never signed.
            params.remove("sign");
            let body = wire::encode_request(params, &v.key, *sign_type);
            let sent = xml::decode(body.as_bytes()).unwrap();
            assert_eq!(
                sent.get("sign"),
                Some(want.as_str()),
                "{} {sign_type}",
                v.name
            );
        }
    }
}
