//! The one mapping from every admin failure to its answer: `{"error": "..."}` with 400 (bad
//! input), 404 (unknown endpoint or thing), 405 (known path, other method; with `Allow`),
//! 403 (a request another site's page could send, `origin`), 409 (conflict), 413 (body too
//! large), 415 (a browser write that is not JSON) or 500 (the sandbox's own files). Handlers return a
//! [`Failure`] (mostly through `?` on a domain error) and never write error JSON themselves.

use hyper::header::{ALLOW, HeaderValue};
use hyper::{Method, Response, StatusCode};
use serde::Serialize;

use crate::http::{self, Body, BodyError};
use crate::ledger::{alipay, wechat};
use crate::notify::{PaymentNotifyError, ProbeError};
use crate::state::StartError;

/// Why an admin call failed, with the status it answers.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    view: FailureView,
    /// The methods the path takes, for a 405.
    allow: Vec<Method>,
}

/// The body of a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureView {
    /// What went wrong, for a person.
    pub error: String,
    /// The input field that was refused, when one was (`seconds`, `total_fee`,
    /// `coupons.fee`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Orders seeded before a bulk load stopped (`POST /admin/wechat/orders/bulk`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seeded: Option<u64>,
}

impl Failure {
    /// A failure with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            view: FailureView {
                error: message.into(),
                field: None,
                seeded: None,
            },
            allow: Vec::new(),
        }
    }

    /// 400: the input is not acceptable.
    pub fn bad_request(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400: the input field `field` is not acceptable.
    pub fn field(field: &str, message: impl Into<String>) -> Failure {
        let mut failure = Failure::bad_request(message);
        failure.view.field = Some(field.to_owned());
        failure
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::NOT_FOUND, message)
    }

    /// 409: the thing is in the wrong state.
    pub fn conflict(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::CONFLICT, message)
    }

    /// 500: the sandbox could not do its own part (files, serialisation).
    pub fn internal(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// 400: the body is not the JSON the endpoint takes.
    pub fn invalid_json(error: &serde_json::Error) -> Failure {
        Failure::bad_request(format!("invalid JSON body: {error}"))
    }

    /// 400: the body is JSON, but a value in it is not what its field takes (a negative or
    /// too large number, a wrong type): the message and `field` name it.
    pub fn invalid_json_at(error: &serde_path_to_error::Error<serde_json::Error>) -> Failure {
        let path = error.path().to_string();
        if path.is_empty() || path == "." {
            return Failure::invalid_json(error.inner());
        }
        Failure::field(
            &path,
            format!("invalid JSON body: {path}: {}", error.inner()),
        )
    }

    /// 404: no endpoint has this path.
    pub fn no_endpoint() -> Failure {
        Failure::not_found("no such admin endpoint; GET /admin lists them")
    }

    /// 405: endpoints have this path, with other methods.
    pub fn method_not_allowed(method: &Method, path: &str, allow: Vec<Method>) -> Failure {
        let listed: Vec<&str> = allow.iter().map(Method::as_str).collect();
        let mut failure = Failure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{path} takes {}, not {method}", listed.join(", ")),
        );
        failure.allow = allow;
        failure
    }

    /// Adds how many orders a bulk load seeded before it stopped.
    pub fn with_seeded(mut self, seeded: u64) -> Failure {
        self.view.seeded = Some(seeded);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body.
    pub fn view(&self) -> &FailureView {
        &self.view
    }

    /// The answer.
    pub fn into_response(self) -> Response<Body> {
        let body = serde_json::to_value(&self.view).unwrap_or_default();
        let mut response = http::json(self.status, &body);
        if !self.allow.is_empty() {
            let listed: Vec<&str> = self.allow.iter().map(Method::as_str).collect();
            if let Ok(value) = HeaderValue::from_str(&listed.join(", ")) {
                response.headers_mut().insert(ALLOW, value);
            }
        }
        response
    }
}

impl From<wechat::AdminError> for Failure {
    fn from(error: wechat::AdminError) -> Self {
        use wechat::AdminError as E;
        let status = match error {
            E::UnknownMerchant(_) | E::UnknownRefund(_) | E::UnknownOrder(_) => {
                StatusCode::NOT_FOUND
            }
            E::Duplicate(_) | E::RefundFinal(_) | E::Conflict(_) => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        Failure::new(status, error.to_string())
    }
}

impl From<alipay::AdminError> for Failure {
    fn from(error: alipay::AdminError) -> Self {
        use alipay::AdminError as E;
        let status = match error {
            E::UnknownApp(_) | E::UnknownTrade(_) => StatusCode::NOT_FOUND,
            E::Duplicate(_) | E::Ambiguous(_) | E::Conflict(_) => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        Failure::new(status, error.to_string())
    }
}

impl From<PaymentNotifyError> for Failure {
    fn from(error: PaymentNotifyError) -> Self {
        use PaymentNotifyError as E;
        let status = match error {
            E::UnknownMerchant(_) | E::UnknownOrder => StatusCode::NOT_FOUND,
            E::NotPaid(_) => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        Failure::new(status, error.to_string())
    }
}

impl From<ProbeError> for Failure {
    fn from(error: ProbeError) -> Self {
        let status = match error {
            ProbeError::UnknownMerchant(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        Failure::new(status, error.to_string())
    }
}

impl From<StartError> for Failure {
    /// The sandbox's own files: a 500, except an app id that cannot name a key directory.
    fn from(error: StartError) -> Self {
        match error {
            StartError::Certs(paysandbox_certs::CertError::InvalidAppId(_)) => {
                Failure::bad_request("app_id must be 1 to 32 of [0-9A-Za-z_-]")
            }
            other => Failure::internal(other.to_string()),
        }
    }
}

impl From<BodyError> for Failure {
    /// Too large, or the connection failed while reading it: either way the body is refused.
    fn from(error: BodyError) -> Self {
        Failure::new(StatusCode::PAYLOAD_TOO_LARGE, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_errors_map_to_their_statuses() {
        let cases = [
            (
                Failure::from(wechat::AdminError::UnknownMerchant("m".into())),
                404,
            ),
            (
                Failure::from(wechat::AdminError::RefundFinal("r".into())),
                409,
            ),
            (Failure::from(wechat::AdminError::Invalid("x".into())), 400),
            (
                Failure::from(alipay::AdminError::Ambiguous("t".into())),
                409,
            ),
            (
                Failure::from(alipay::AdminError::UnknownTrade("t".into())),
                404,
            ),
            (Failure::from(PaymentNotifyError::NotPaid("NOTPAY")), 409),
            (Failure::from(PaymentNotifyError::NoUrl), 400),
            (Failure::from(BodyError::TooLarge), 413),
        ];
        for (failure, status) in cases {
            assert_eq!(failure.status().as_u16(), status, "{:?}", failure.view());
        }
    }

    #[test]
    fn a_405_names_the_allowed_methods_in_allow_and_the_message() {
        let failure = Failure::method_not_allowed(
            &Method::DELETE,
            "/admin/clock",
            vec![Method::GET, Method::POST],
        );
        assert_eq!(
            failure.view().error,
            "/admin/clock takes GET, POST, not DELETE"
        );
        let response = failure.into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            response.headers().get(ALLOW).map(HeaderValue::as_bytes),
            Some(&b"GET, POST"[..])
        );
    }

    #[test]
    fn the_seeded_count_appears_only_when_set() {
        let plain = serde_json::to_string(Failure::bad_request("no").view()).unwrap_or_default();
        assert_eq!(plain, r#"{"error":"no"}"#);
        let bulk = Failure::bad_request("cut").with_seeded(3);
        let text = serde_json::to_string(bulk.view()).unwrap_or_default();
        assert_eq!(text, r#"{"error":"cut","seeded":3}"#);
    }
}
