//! `GET /v3/certificates[?algorithm_type=RSA|SM2|ALL]` (spec §1.8): the merchant's platform
//! certificates, each encrypted with its APIv3 key (`AEAD_AES_256_GCM`, associated data
//! `certificate`), oldest first. A merchant in public-key mode has none, and one without an
//! APIv3 key cannot decrypt them: both are refused (deviation: `wx3-certificates-refused`).

use paysandbox_protocol::beijing;
use paysandbox_protocol::wechat::v3::aead::{ApiV3Key, EncryptedResource, NONCE_LEN};
use paysandbox_protocol::wechat::v3::decode::{self, one_of};
use paysandbox_protocol::wechat::v3::error::{ErrorCode, Location};
use paysandbox_protocol::wechat::v3::messages::{CertificatesResponse, PlatformCertificate};

use super::Call;
use super::reply::V3Reply;
use crate::ids::IdGenerator;

const ALGORITHM_TYPE: decode::Kind = one_of(8, &["RSA", "SM2", "ALL"]);

/// Lists the platform certificates.
pub(super) fn list(call: &Call<'_>, ids: &mut IdGenerator) -> V3Reply {
    let algorithm = call.query("algorithm_type");
    if algorithm.is_some()
        && let Err(error) =
            decode::check_parameter("algorithm_type", "算法类型", algorithm, &ALGORITHM_TYPE)
    {
        return V3Reply::body(error.to_error_body(Location::Query));
    }
    if !call.merchant.identity.mode().has_certificates() {
        return V3Reply::error(
            &ErrorCode::NoAuth,
            "商户已使用微信支付公钥,无可用的平台证书,请使用微信支付公钥验签",
        );
    }
    let Some(key) = call
        .merchant
        .api_v3_key
        .as_deref()
        .and_then(|k| ApiV3Key::new(k).ok())
    else {
        return V3Reply::error(&ErrorCode::NoAuth, "商户未设置APIv3密钥");
    };
    // The sandbox's certificates are RSA: an SM2-only listing is empty.
    if algorithm == Some("SM2") {
        return V3Reply::json(&CertificatesResponse { data: Vec::new() });
    }
    let mut data = Vec::new();
    for certificate in &call.keys.certificates {
        let nonce: String = ids.nonce().chars().take(NONCE_LEN).collect();
        let Ok(encrypted) = EncryptedResource::seal(
            &key,
            None,
            &nonce,
            "certificate",
            certificate.pem.as_bytes(),
        ) else {
            return V3Reply::code(&ErrorCode::SystemError);
        };
        data.push(PlatformCertificate {
            serial_no: certificate.serial_no.clone(),
            effective_time: beijing::rfc3339(certificate.not_before_ms),
            expire_time: beijing::rfc3339(certificate.not_after_ms),
            encrypt_certificate: encrypted,
        });
    }
    V3Reply::json(&CertificatesResponse { data })
}
