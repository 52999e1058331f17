//! The wire work of one exchange, pure and synchronous: sign and encode a request, then
//! check and classify its response. The formats themselves live in `paysandbox-protocol`;
//! this module only decides what the SDK accepts.

use paysandbox_protocol::wechat::codes::{ErrCode, ResultCode, ReturnCode};
use paysandbox_protocol::wechat::{Params, SignType, sign, xml};

use super::error::{Error, SignatureError};

/// The `sign_type` field a request carries: none for MD5 (the documented default, as the
/// official examples and the known-answer vectors send it), `HMAC-SHA256` otherwise.
pub(crate) fn sign_type_field(sign_type: SignType) -> Option<SignType> {
    match sign_type {
        SignType::Md5 => None,
        SignType::HmacSha256 => Some(SignType::HmacSha256),
    }
}

/// Signs `params` (which must already hold `nonce_str` and `sign_type` if any) and encodes
/// the `<xml>` body.
pub(crate) fn encode_request(mut params: Params, key: &str, sign_type: SignType) -> String {
    sign::sign_in_place(&mut params, key, sign_type);
    xml::encode(&params)
}

/// Who must have answered: the merchant and app the request was made for.
pub(crate) struct Expected<'a> {
    pub(crate) key: &'a str,
    pub(crate) sign_type: SignType,
    pub(crate) mch_id: &'a str,
    pub(crate) appid: &'a str,
}

/// The [`Error::Protocol`] of a `return_code=FAIL` answer: its `return_msg`, or the
/// sandbox's `retmsg`.
pub(crate) fn protocol_error(params: &Params) -> Error {
    let msg = params
        .get("return_msg")
        .or_else(|| params.get("retmsg"))
        .unwrap_or_default();
    Error::Protocol {
        return_msg: msg.to_owned(),
    }
}

/// Checks a 200 response body and returns its parameters when it is a verified
/// `result_code=SUCCESS` answer.
///
/// - not XML / no valid `return_code` → [`Error::Decode`];
/// - `return_code=FAIL` (never signed) → [`Error::Protocol`];
/// - `return_code=SUCCESS` must carry a `sign` that verifies with the API key and the
///   request's sign type → else [`Error::Signature`]. One exception, documented: an
///   unsigned `result_code=FAIL` with `err_code=MCHID_NOT_EXIST` is accepted as that business
///   error, because the platform has no key for an unknown merchant (the mock answers so; the
///   real platform's exact answer is unconfirmed). An unsigned answer is never accepted as a
///   success, and an unsigned business error with any other code is a signature error;
/// - a signed answer naming another merchant or app (when it names one: the platform has been
///   seen to send `appid` empty) → [`Error::Decode`];
/// - `result_code=FAIL` → [`Error::Business`].
pub(crate) fn open_response(body: &[u8], expected: &Expected<'_>) -> Result<Params, Error> {
    let params = xml::decode(body).map_err(|e| Error::decode(format!("XML: {e}")))?;
    let return_code = params
        .non_empty("return_code")
        .and_then(ReturnCode::from_wire)
        .ok_or_else(|| Error::decode("missing or unknown return_code"))?;
    if return_code == ReturnCode::Fail {
        return Err(protocol_error(&params));
    }
    let result_code = params
        .non_empty("result_code")
        .and_then(ResultCode::from_wire);
    let err_code = params.non_empty("err_code").map(ErrCode::from_wire);
    let business_error = || Error::Business {
        code: err_code
            .clone()
            .unwrap_or_else(|| ErrCode::Other(String::new())),
        description: params.get("err_code_des").unwrap_or_default().to_owned(),
    };

    if params.non_empty("sign").is_none() {
        if result_code == Some(ResultCode::Fail) && err_code == Some(ErrCode::MchidNotExist) {
            return Err(business_error());
        }
        return Err(SignatureError::Missing.into());
    }
    if !sign::verify(&params, expected.key, expected.sign_type) {
        return Err(SignatureError::Mismatch(expected.sign_type).into());
    }
    for (field, want) in [("mch_id", expected.mch_id), ("appid", expected.appid)] {
        if let Some(got) = params.non_empty(field)
            && got != want
        {
            return Err(Error::decode(format!(
                "the response is for {field} {got:?}, not {want:?}"
            )));
        }
    }
    match result_code {
        Some(ResultCode::Success) => Ok(params),
        Some(ResultCode::Fail) => Err(business_error()),
        None => Err(Error::decode("missing or unknown result_code")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    fn expected(sign_type: SignType) -> Expected<'static> {
        Expected {
            key: KEY,
            sign_type,
            mch_id: "10000100",
            appid: "wx2421b1c4370ec43b",
        }
    }

    fn header(result_code: &str) -> Params {
        [
            ("return_code", "SUCCESS"),
            ("return_msg", "OK"),
            ("appid", "wx2421b1c4370ec43b"),
            ("mch_id", "10000100"),
            ("nonce_str", "NfsMFbUFpdbEhPXP"),
            ("result_code", result_code),
        ]
        .into_iter()
        .collect()
    }

    fn signed(mut p: Params, sign_type: SignType) -> Vec<u8> {
        sign::sign_in_place(&mut p, KEY, sign_type);
        xml::encode(&p).into_bytes()
    }

    #[test]
    fn verified_success_is_returned() {
        for st in [SignType::Md5, SignType::HmacSha256] {
            let body = signed(header("SUCCESS"), st);
            let p = open_response(&body, &expected(st)).unwrap();
            assert_eq!(p.get("nonce_str"), Some("NfsMFbUFpdbEhPXP"));
        }
    }

    #[test]
    fn response_signed_with_the_other_type_is_refused() {
        let body = signed(header("SUCCESS"), SignType::Md5);
        let err = open_response(&body, &expected(SignType::HmacSha256)).unwrap_err();
        assert!(matches!(
            err,
            Error::Signature(SignatureError::Mismatch(SignType::HmacSha256))
        ));
    }

    #[test]
    fn tampered_and_unsigned_responses_are_refused() {
        let mut p = header("SUCCESS");
        p.insert_int("refund_fee", 1);
        sign::sign_in_place(&mut p, KEY, SignType::Md5);
        p.insert_int("refund_fee", 100);
        let err = open_response(xml::encode(&p).as_bytes(), &expected(SignType::Md5));
        assert!(matches!(
            err,
            Err(Error::Signature(SignatureError::Mismatch(_)))
        ));

        let unsigned = xml::encode(&header("SUCCESS"));
        let err = open_response(unsigned.as_bytes(), &expected(SignType::Md5));
        assert!(matches!(
            err,
            Err(Error::Signature(SignatureError::Missing))
        ));

        let mut fail = header("FAIL");
        fail.insert_text("err_code", "NOTENOUGH");
        let err = open_response(xml::encode(&fail).as_bytes(), &expected(SignType::Md5));
        assert!(
            matches!(err, Err(Error::Signature(SignatureError::Missing))),
            "an unsigned business error is not trusted: {err:?}"
        );
    }

    #[test]
    fn unsigned_mchid_not_exist_is_a_business_error() {
        let mut p = header("FAIL");
        p.insert_text("err_code", "MCHID_NOT_EXIST");
        p.insert_text("err_code_des", "MCHID不存在");
        let err = open_response(xml::encode(&p).as_bytes(), &expected(SignType::Md5));
        match err {
            Err(Error::Business { code, description }) => {
                assert_eq!(code, ErrCode::MchidNotExist);
                assert_eq!(description, "MCHID不存在");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn signed_business_error_keeps_unknown_codes() {
        let mut p = header("FAIL");
        p.insert_text("err_code", "SOMETHING_NEW");
        p.insert_text("err_code_des", "新错误");
        let err = open_response(&signed(p, SignType::Md5), &expected(SignType::Md5));
        match err {
            Err(Error::Business { code, description }) => {
                assert_eq!(code, ErrCode::Other("SOMETHING_NEW".into()));
                assert_eq!(description, "新错误");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn return_fail_is_a_protocol_error_even_unsigned() {
        let p: Params = [
            ("return_code", "FAIL"),
            ("return_msg", "签名错误,请检查后再试"),
        ]
        .into_iter()
        .collect();
        let err = open_response(xml::encode(&p).as_bytes(), &expected(SignType::Md5));
        assert!(
            matches!(err, Err(Error::Protocol { ref return_msg }) if return_msg == "签名错误,请检查后再试")
        );
    }

    #[test]
    fn garbage_and_other_merchants_are_decode_errors() {
        for body in [
            &b"<html>502</html>"[..],
            b"",
            b"<xml><return_code>MAYBE</return_code></xml>",
        ] {
            assert!(matches!(
                open_response(body, &expected(SignType::Md5)),
                Err(Error::Decode { .. })
            ));
        }
        let mut p = header("SUCCESS");
        p.insert_text("mch_id", "10000101");
        let err = open_response(&signed(p, SignType::Md5), &expected(SignType::Md5));
        assert!(matches!(err, Err(Error::Decode { .. })), "{err:?}");
        // An empty appid (seen on the real platform) is tolerated.
        let mut p = header("SUCCESS");
        p.insert_text("appid", "");
        assert!(open_response(&signed(p, SignType::Md5), &expected(SignType::Md5)).is_ok());
    }
}
