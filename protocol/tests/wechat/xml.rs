//! The `<xml>` codec: what it must accept, what it must refuse (one test per case, exact
//! variant), round trips, and no panic on arbitrary bytes.

use paysandbox_protocol::wechat::xml::{self, MAX_BODY_BYTES, MAX_FIELDS, XmlError};
use paysandbox_protocol::wechat::{Params, ValueKind};
use proptest::prelude::*;

fn ok(body: &str) -> Params {
    match xml::decode(body.as_bytes()) {
        Ok(p) => p,
        Err(e) => panic!("refused {body:?}: {e}"),
    }
}

fn err(body: impl AsRef<[u8]>) -> XmlError {
    match xml::decode(body.as_ref()) {
        Ok(p) => panic!(
            "accepted {:?} as {p:?}",
            String::from_utf8_lossy(body.as_ref())
        ),
        Err(e) => e,
    }
}

fn pairs(p: &Params) -> Vec<(&str, &str)> {
    p.iter().collect()
}

// ---- accepted ------------------------------------------------------------------------

#[test]
fn accepts_cdata_and_bare_values() {
    let p = ok("<xml><a><![CDATA[x y]]></a><b>12</b></xml>");
    assert_eq!(pairs(&p), [("a", "x y"), ("b", "12")]);
    assert_eq!(p.kind("a"), Some(ValueKind::Text));
    assert_eq!(p.kind("b"), Some(ValueKind::Int));
}

#[test]
fn accepts_escaped_text() {
    let p = ok("<xml><a>&lt;b&gt; &amp; &quot;q&quot; &apos;s&apos;</a></xml>");
    assert_eq!(p.get("a"), Some("<b> & \"q\" 's'"));
}

#[test]
fn accepts_cdata_and_escapes_mixed_in_one_value() {
    let p = ok("<xml><a>x&amp;<![CDATA[<&>]]>y&#20013;</a></xml>");
    assert_eq!(p.get("a"), Some("x&<&>y中"));
    assert_eq!(p.kind("a"), Some(ValueKind::Text));
}

#[test]
fn decodes_character_references() {
    let p = ok("<xml><a>&#20013;&#x6587;&#65;</a></xml>");
    assert_eq!(p.get("a"), Some("中文A"));
}

#[test]
fn keeps_any_element_order() {
    let p = ok("<xml><z>1</z><a>2</a><m>3</m></xml>");
    assert_eq!(pairs(&p), [("z", "1"), ("a", "2"), ("m", "3")]);
}

#[test]
fn accepts_xml_declaration() {
    let p = ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml><a>1</a></xml>");
    assert_eq!(p.get("a"), Some("1"));
}

#[test]
fn accepts_leading_bom() {
    let p = xml::decode(b"\xEF\xBB\xBF<xml><a>1</a></xml>").unwrap();
    assert_eq!(p.get("a"), Some("1"));
    let p = xml::decode(b"\xEF\xBB\xBF<?xml version=\"1.0\"?><xml><a>1</a></xml>").unwrap();
    assert_eq!(p.get("a"), Some("1"));
}

#[test]
fn accepts_whitespace_between_elements_and_around_the_document() {
    let p = ok("\n  <xml>\r\n\t<a>1</a>\n   <b><![CDATA[2]]></b>\n</xml>  \n");
    assert_eq!(pairs(&p), [("a", "1"), ("b", "2")]);
}

#[test]
fn accepts_comments_anywhere_outside_and_inside_values() {
    let p = ok("<!-- c0 --><xml><!-- c1 --><a>1<!-- c2 -->2</a><!-- c3 --></xml><!-- c4 -->");
    assert_eq!(p.get("a"), Some("12"));
}

#[test]
fn accepts_empty_elements_both_forms() {
    let p = ok("<xml><a/><b></b><c><![CDATA[]]></c><d /></xml>");
    assert_eq!(pairs(&p), [("a", ""), ("b", ""), ("c", ""), ("d", "")]);
    assert_eq!(p.non_empty("a"), None);
}

#[test]
fn accepts_empty_root() {
    assert!(ok("<xml></xml>").is_empty());
    assert!(ok("<xml/>").is_empty());
}

#[test]
fn takes_values_exactly_without_trimming() {
    let p = ok("<xml><a>  x \n</a><b><![CDATA[ y ]]></b><c> </c></xml>");
    assert_eq!(p.get("a"), Some("  x \n"));
    assert_eq!(p.get("b"), Some(" y "));
    assert_eq!(p.get("c"), Some(" "));
}

#[test]
fn accepts_json_text_values() {
    let p = ok(
        r#"<xml><detail><![CDATA[{"goods_detail":[{"goods_id":"1","price":1}]}]]></detail></xml>"#,
    );
    assert_eq!(
        p.get("detail"),
        Some(r#"{"goods_detail":[{"goods_id":"1","price":1}]}"#)
    );
}

#[test]
fn ignores_well_formed_attributes() {
    let p = ok("<xml a=\"1\"><b c='2'>3</b></xml>");
    assert_eq!(pairs(&p), [("b", "3")]);
}

#[test]
fn accepts_exactly_max_fields() {
    let mut body = String::from("<xml>");
    for i in 0..MAX_FIELDS {
        body.push_str(&format!("<f{i}>{i}</f{i}>"));
    }
    body.push_str("</xml>");
    assert_eq!(ok(&body).len(), MAX_FIELDS);
}

#[test]
fn accepts_real_refund_error_response_with_trailing_spaces() {
    // seed 003, verbatim shape (spaces after </xml>).
    let body = "<xml>\n<return_code><![CDATA[SUCCESS]]></return_code>\n<return_msg><![CDATA[OK]]></return_msg>\n<appid><![CDATA[123123123123]]></appid>\n<mch_id><![CDATA[123]]></mch_id>\n<nonce_str><![CDATA[F8bnSKUY7qvEpQtk]]></nonce_str>\n<sign><![CDATA[908963603B666ECB7FC0F0AE1C1F22EA]]></sign>\n<result_code><![CDATA[FAIL]]></result_code>\n<err_code><![CDATA[REFUND_FEE_MISMATCH]]></err_code>\n<err_code_des><![CDATA[同一个out_refund_no退款金额要一致]]></err_code_des>\n</xml>  ";
    let p = ok(body);
    assert_eq!(p.len(), 9);
    assert_eq!(
        p.get("err_code_des"),
        Some("同一个out_refund_no退款金额要一致")
    );
}

// ---- refused -------------------------------------------------------------------------

#[test]
fn refuses_empty_body() {
    assert_eq!(err(""), XmlError::Empty);
}

#[test]
fn refuses_whitespace_only_body() {
    assert_eq!(err(" \r\n\t"), XmlError::Empty);
    assert_eq!(err(b"\xEF\xBB\xBF\n"), XmlError::Empty);
}

#[test]
fn refuses_non_utf8() {
    // "中" in GBK.
    assert_eq!(err(b"<xml><body>\xD6\xD0</body></xml>"), XmlError::NotUtf8);
}

#[test]
fn refuses_utf16() {
    assert_eq!(err(b"\xFF\xFE<\x00x\x00m\x00l\x00>\x00"), XmlError::NotUtf8);
}

#[test]
fn refuses_too_large_body() {
    let mut body = String::from("<xml><a>");
    body.push_str(&"x".repeat(MAX_BODY_BYTES));
    body.push_str("</a></xml>");
    assert_eq!(err(body), XmlError::TooLarge);
}

#[test]
fn refuses_too_many_fields() {
    let mut body = String::from("<xml>");
    for i in 0..=MAX_FIELDS {
        body.push_str(&format!("<f{i}/>"));
    }
    body.push_str("</xml>");
    assert_eq!(err(body), XmlError::TooManyFields);
}

#[test]
fn refuses_wrong_root() {
    assert_eq!(
        err("<root><a>1</a></root>"),
        XmlError::WrongRoot("root".into())
    );
}

#[test]
fn refuses_root_name_case_variant() {
    assert_eq!(
        err("<XML><a>1</a></XML>"),
        XmlError::WrongRoot("XML".into())
    );
}

#[test]
fn refuses_nested_element() {
    assert_eq!(
        err("<xml><a><b>1</b></a></xml>"),
        XmlError::NestedElement("a".into())
    );
}

#[test]
fn refuses_nested_empty_element() {
    assert_eq!(
        err("<xml><a>1<b/></a></xml>"),
        XmlError::NestedElement("a".into())
    );
}

#[test]
fn refuses_text_directly_under_root() {
    assert_eq!(err("<xml>hello<a>1</a></xml>"), XmlError::TextInRoot);
}

#[test]
fn refuses_cdata_directly_under_root() {
    assert_eq!(
        err("<xml><![CDATA[x]]><a>1</a></xml>"),
        XmlError::TextInRoot
    );
}

#[test]
fn refuses_reference_directly_under_root() {
    assert_eq!(err("<xml>&amp;<a>1</a></xml>"), XmlError::TextInRoot);
}

#[test]
fn refuses_duplicated_child() {
    assert_eq!(
        err("<xml><total_fee>1</total_fee><total_fee>100</total_fee></xml>"),
        XmlError::DuplicateField("total_fee".into())
    );
}

#[test]
fn refuses_duplicated_empty_child() {
    assert_eq!(
        err("<xml><a>1</a><a/></xml>"),
        XmlError::DuplicateField("a".into())
    );
}

#[test]
fn refuses_doctype() {
    assert_eq!(err("<!DOCTYPE xml><xml><a>1</a></xml>"), XmlError::Doctype);
}

#[test]
fn refuses_xxe_external_entity() {
    let body = r#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><a>&xxe;</a></xml>"#;
    assert_eq!(err(body), XmlError::Doctype);
}

#[test]
fn refuses_entity_expansion_bomb() {
    let body = r#"<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><x>&b;</x></xml>"#;
    assert_eq!(err(body), XmlError::Doctype);
}

#[test]
fn refuses_unknown_entity_reference() {
    assert_eq!(
        err("<xml><a>&nbsp;</a></xml>"),
        XmlError::UnknownEntity("nbsp".into())
    );
}

#[test]
fn refuses_invalid_character_reference() {
    assert_eq!(err("<xml><a>&#0;</a></xml>"), XmlError::InvalidChar);
    assert_eq!(err("<xml><a>&#x1;</a></xml>"), XmlError::InvalidChar);
    assert_eq!(err("<xml><a>&#xD800;</a></xml>"), XmlError::InvalidChar);
    assert_eq!(err("<xml><a>&#x110000;</a></xml>"), XmlError::InvalidChar);
}

#[test]
fn refuses_raw_control_character() {
    assert_eq!(err("<xml><a>x\u{1}y</a></xml>"), XmlError::InvalidChar);
    assert_eq!(
        err("<xml><a><![CDATA[\u{0}]]></a></xml>"),
        XmlError::InvalidChar
    );
}

#[test]
fn refuses_trailing_element_after_root() {
    assert_eq!(
        err("<xml><a>1</a></xml><xml><a>2</a></xml>"),
        XmlError::TrailingContent
    );
}

#[test]
fn refuses_trailing_text_after_root() {
    assert_eq!(err("<xml><a>1</a></xml>garbage"), XmlError::TrailingContent);
}

#[test]
fn refuses_trailing_empty_element_after_root() {
    assert_eq!(err("<xml/><a/>"), XmlError::TrailingContent);
}

fn assert_malformed(body: &str) {
    match err(body) {
        XmlError::Malformed { .. } => {}
        other => panic!("{body:?}: expected Malformed, got {other:?}"),
    }
}

#[test]
fn refuses_unclosed_root() {
    assert_malformed("<xml><a>1</a>");
}

#[test]
fn refuses_unclosed_child() {
    assert_malformed("<xml><a>1</xml>");
}

#[test]
fn refuses_mismatched_end_tag() {
    assert_malformed("<xml><a>1</b></xml>");
}

#[test]
fn refuses_unmatched_end_tag() {
    assert_malformed("</xml>");
}

#[test]
fn refuses_dangling_ampersand() {
    assert_malformed("<xml><a>a & b</a></xml>");
}

#[test]
fn refuses_unterminated_cdata() {
    assert_malformed("<xml><a><![CDATA[x</a></xml>");
}

#[test]
fn refuses_text_before_root() {
    assert_malformed("junk<xml><a>1</a></xml>");
}

#[test]
fn refuses_not_xml_at_all() {
    assert_malformed("{\"appid\":\"wx\"}");
    assert_malformed("appid=wx&mch_id=1");
}

#[test]
fn refuses_late_declaration() {
    assert_malformed("<xml><a>1</a></xml><?xml version=\"1.0\"?>");
}

#[test]
fn refuses_bad_attribute_syntax() {
    assert_malformed("<xml a=1><b>1</b></xml>");
}

#[test]
fn refuses_lt_in_text() {
    assert_malformed("<xml><a>1 < 2</a></xml>");
}

#[test]
fn refuses_only_prolog() {
    assert_malformed("<?xml version=\"1.0\"?>");
}

#[test]
fn refuses_html_error_page() {
    // What nginx answers on /secapi without a client certificate (§9): a client must see an
    // error, not a document.
    let body = "<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n</body>\r\n</html>\r\n";
    assert_eq!(err(body), XmlError::WrongRoot("html".into()));
}

// ---- encode and round trips ------------------------------------------------------------

#[test]
fn encodes_server_style() {
    let mut p = Params::new();
    p.insert_text("return_code", "SUCCESS");
    p.insert_int("refund_fee", 1);
    p.insert_text("refund_channel", "");
    assert_eq!(
        xml::encode(&p),
        "<xml>\n<return_code><![CDATA[SUCCESS]]></return_code>\n<refund_fee>1</refund_fee>\n<refund_channel><![CDATA[]]></refund_channel>\n</xml>"
    );
}

#[test]
fn encodes_empty_params() {
    assert_eq!(xml::encode(&Params::new()), "<xml>\n</xml>");
    assert!(ok(&xml::encode(&Params::new())).is_empty());
}

#[test]
fn splits_cdata_terminator() {
    let mut p = Params::new();
    p.insert_text("a", "x]]>y");
    let s = xml::encode(&p);
    assert!(s.contains("<a><![CDATA[x]]]]><![CDATA[>y]]></a>"), "{s}");
    assert_eq!(ok(&s).get("a"), Some("x]]>y"));
}

#[test]
fn never_emits_prolog_or_doctype() {
    let mut p = Params::new();
    p.insert_text("a", "<!DOCTYPE x><?xml?>");
    let s = xml::encode(&p);
    assert!(s.starts_with("<xml>\n"));
    assert!(!s.contains("<!DOCTYPE x>") || s.contains("<![CDATA[<!DOCTYPE x>"));
    assert_eq!(ok(&s).get("a"), Some("<!DOCTYPE x><?xml?>"));
}

#[test]
fn round_trips_tricky_values() {
    let values = [
        "",
        "0",
        "中文 商品已售完",
        "emoji 😀 and 𝄞",
        "<>&\"'",
        "]]>",
        "]]]]>",
        "a]]>b]]>c",
        "]",
        "]]",
        "x]",
        "<![CDATA[nested]]>",
        "&amp; stays literal",
        "  leading and trailing  ",
        "line\nbreak\ttab",
        "{\"json\":[1,2,{\"k\":\"v\"}]}",
    ];
    let mut p = Params::new();
    for (i, v) in values.iter().enumerate() {
        p.insert_text(format!("f{i}"), *v);
    }
    p.insert_int("n", 42);
    let back = ok(&xml::encode(&p));
    assert_eq!(back, p, "{}", xml::encode(&p));
}

#[test]
fn int_kind_with_odd_display_is_escaped() {
    let mut p = Params::new();
    p.insert_int("weird", "1<2&3");
    assert_eq!(ok(&xml::encode(&p)).get("weird"), Some("1<2&3"));
}

fn value_strategy() -> impl Strategy<Value = String> {
    // XML 1.0 characters only: the encoder's documented input domain.
    proptest::collection::vec(
        prop_oneof![
            Just('\t'),
            Just('\n'),
            Just(']'),
            Just('>'),
            Just('<'),
            Just('&'),
            proptest::char::range(' ', '~'),
            proptest::char::range('\u{A0}', '\u{D7FF}'),
            proptest::char::range('\u{E000}', '\u{FFFD}'),
            proptest::char::range('\u{10000}', '\u{10FFFF}'),
        ],
        0..40,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #[test]
    fn decode_never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = xml::decode(&body);
    }

    #[test]
    fn decode_never_panics_on_xmlish_text(body in "(<|>|/|xml|a|!|\\[|\\]|CDATA|&|;|#|x|[0-9]|\"|=| |\\?|-){0,80}") {
        let _ = xml::decode(body.as_bytes());
    }

    #[test]
    fn encode_decode_round_trip(values in proptest::collection::vec(value_strategy(), 0..8), int in any::<u32>()) {
        let mut p = Params::new();
        for (i, v) in values.iter().enumerate() {
            p.insert_text(format!("f_{i}"), v.clone());
        }
        p.insert_int("n", int);
        prop_assert_eq!(xml::decode(xml::encode(&p).as_bytes()), Ok(p));
    }
}
