//! The same refund request as three client libraries serialise it (spec §2.1): each must
//! decode to the same parameters, verify with the merchant key, and parse to the same
//! typed request. Signature: vector `ours_refund_request_legacy_field_and_escapable_desc`.

use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::{OrderId, Params, RefundRequest, xml};

const KEY: &str = "192006250b4c09247ec02edce69f6a2d";
const SIGN: &str = "F25419C2554CDE27FCD887E3F0A05B6B";
const DESC: &str = "退款 <A&B> \"q\" 'x'";

/// wechatpy `dict_to_xml`: keys sorted, digit strings bare, other strings CDATA, `sign` last
/// in CDATA, no declaration.
const WECHATPY: &str = "<xml>
<appid><![CDATA[wx2421b1c4370ec43b]]></appid>
<mch_id>10000100</mch_id>
<nonce_str><![CDATA[6cefdb308e1e2e8aabd48cf79e546a02]]></nonce_str>
<op_user_id>10000100</op_user_id>
<out_refund_no>1415701182</out_refund_no>
<out_trade_no>1415757673</out_trade_no>
<refund_desc><![CDATA[退款 <A&B> \"q\" 'x']]></refund_desc>
<refund_fee>1</refund_fee>
<total_fee>1</total_fee>
<transaction_id>4006252001201705123297353072</transaction_id>
<sign><![CDATA[F25419C2554CDE27FCD887E3F0A05B6B]]></sign>
</xml>";

/// WxJava (XStream): declaration-less, pretty-printed with two-space indent, no CDATA,
/// entities escaped, bean field order.
const WXJAVA: &str = "<xml>
  <appid>wx2421b1c4370ec43b</appid>
  <mch_id>10000100</mch_id>
  <nonce_str>6cefdb308e1e2e8aabd48cf79e546a02</nonce_str>
  <sign>F25419C2554CDE27FCD887E3F0A05B6B</sign>
  <transaction_id>4006252001201705123297353072</transaction_id>
  <out_trade_no>1415757673</out_trade_no>
  <out_refund_no>1415701182</out_refund_no>
  <total_fee>1</total_fee>
  <refund_fee>1</refund_fee>
  <op_user_id>10000100</op_user_id>
  <refund_desc>退款 &lt;A&amp;B&gt; &quot;q&quot; &apos;x&apos;</refund_desc>
</xml>";

/// gopay (Go `encoding/xml` over a map): random order, no whitespace, Go's escaping
/// (`&#34;` and `&#39;` for quotes).
const GOPAY: &str = "<xml><refund_fee>1</refund_fee><sign>F25419C2554CDE27FCD887E3F0A05B6B</sign><out_refund_no>1415701182</out_refund_no><appid>wx2421b1c4370ec43b</appid><refund_desc>退款 &lt;A&amp;B&gt; &#34;q&#34; &#39;x&#39;</refund_desc><transaction_id>4006252001201705123297353072</transaction_id><nonce_str>6cefdb308e1e2e8aabd48cf79e546a02</nonce_str><total_fee>1</total_fee><op_user_id>10000100</op_user_id><mch_id>10000100</mch_id><out_trade_no>1415757673</out_trade_no></xml>";

/// WxJava with a prolog and HMAC-SHA256 (`sign_type` configured), still escaped and pretty.
const WXJAVA_HMAC: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<xml>
  <appid>wx2421b1c4370ec43b</appid>
  <mch_id>10000100</mch_id>
  <nonce_str>6cefdb308e1e2e8aabd48cf79e546a02</nonce_str>
  <sign>5BB9824084F7B6A42D5442660F94276A6E0BF0104A0293F7488D5D92EB660FC5</sign>
  <sign_type>HMAC-SHA256</sign_type>
  <transaction_id>4006252001201705123297353072</transaction_id>
  <out_trade_no>1415757673</out_trade_no>
  <out_refund_no>1415701182</out_refund_no>
  <total_fee>1</total_fee>
  <refund_fee>1</refund_fee>
  <op_user_id>10000100</op_user_id>
  <refund_desc>退款 &lt;A&amp;B&gt; &quot;q&quot; &apos;x&apos;</refund_desc>
</xml>";

fn expected() -> Params {
    [
        ("appid", "wx2421b1c4370ec43b"),
        ("mch_id", "10000100"),
        ("nonce_str", "6cefdb308e1e2e8aabd48cf79e546a02"),
        ("op_user_id", "10000100"),
        ("out_refund_no", "1415701182"),
        ("out_trade_no", "1415757673"),
        ("refund_desc", DESC),
        ("refund_fee", "1"),
        ("total_fee", "1"),
        ("transaction_id", "4006252001201705123297353072"),
        ("sign", SIGN),
    ]
    .into_iter()
    .collect()
}

fn check(body: &str) -> Params {
    let p = xml::decode(body.as_bytes()).unwrap();
    assert!(p.same_fields(&expected()), "{p:?}");
    assert_eq!(sign::request_sign_type(&p), Ok(SignType::Md5));
    assert!(sign::verify(&p, KEY, SignType::Md5));
    assert!(!sign::verify(
        &p,
        "00000000000000000000000000000000",
        SignType::Md5
    ));
    p
}

fn typed(p: &Params) -> RefundRequest {
    let r = RefundRequest::from_params(p).unwrap();
    assert_eq!(
        r.order_id(),
        Ok(OrderId::TransactionId(
            "4006252001201705123297353072".into()
        ))
    );
    assert_eq!(r.out_trade_no.as_deref(), Some("1415757673"));
    assert_eq!((r.total_fee, r.refund_fee), (1, 1));
    assert_eq!(r.refund_desc.as_deref(), Some(DESC));
    assert_eq!(r.sign_type, None);
    r
}

#[test]
fn wechatpy_style_request() {
    let p = check(WECHATPY);
    // Bare digits decode as integers, CDATA as text, even when the text is digits-only.
    assert_eq!(p.iter().next(), Some(("appid", "wx2421b1c4370ec43b")));
    typed(&p);
}

#[test]
fn wxjava_style_request() {
    typed(&check(WXJAVA));
}

#[test]
fn gopay_style_request() {
    typed(&check(GOPAY));
}

#[test]
fn all_three_are_the_same_request() {
    let a = typed(&check(WECHATPY));
    let b = typed(&check(WXJAVA));
    let c = typed(&check(GOPAY));
    assert_eq!(a, b);
    assert_eq!(b, c);
}

#[test]
fn wxjava_hmac_request_with_prolog() {
    let p = xml::decode(WXJAVA_HMAC.as_bytes()).unwrap();
    assert_eq!(sign::request_sign_type(&p), Ok(SignType::HmacSha256));
    assert!(sign::verify(&p, KEY, SignType::HmacSha256));
    assert!(!sign::verify(&p, KEY, SignType::Md5));
    let r = RefundRequest::from_params(&p).unwrap();
    assert_eq!(r.sign_type, Some(SignType::HmacSha256));
}

#[test]
fn a_request_our_sdk_builds_is_what_the_server_reads() {
    let built = RefundRequest {
        appid: "wx2421b1c4370ec43b".into(),
        mch_id: "10000100".into(),
        nonce_str: "6cefdb308e1e2e8aabd48cf79e546a02".into(),
        sign_type: Some(SignType::HmacSha256),
        transaction_id: None,
        out_trade_no: Some("1415757673".into()),
        out_refund_no: "1415701182".into(),
        total_fee: 100,
        refund_fee: 30,
        refund_fee_type: Some("CNY".into()),
        refund_desc: Some(DESC.into()),
        refund_account: None,
        notify_url: Some("https://merchant.example/refund-notify".into()),
    };
    built.validate().unwrap();
    let mut p = built.to_params();
    sign::sign_in_place(&mut p, KEY, SignType::HmacSha256);
    let body = xml::encode(&p);
    let received = xml::decode(body.as_bytes()).unwrap();
    assert_eq!(sign::request_sign_type(&received), Ok(SignType::HmacSha256));
    assert!(sign::verify(&received, KEY, SignType::HmacSha256));
    assert_eq!(RefundRequest::from_params(&received), Ok(built));
}
