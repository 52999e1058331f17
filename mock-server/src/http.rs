//! The HTTP types every route shares: what is known of a connection ([`ConnInfo`], its
//! [`Surface`]), the body type, bounded body reads, and the answers that are not a platform's
//! (JSON for the admin API, nginx's error pages).

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

use crate::tls::PeerCert;

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// HTTPS merchant API.
    ApiTls,
    /// Plain-HTTP merchant API.
    ApiPlain,
    /// Admin API.
    Admin,
}

/// Per-connection facts the routes need.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// Client address.
    pub peer: SocketAddr,
    /// Client certificate, classified.
    pub cert: PeerCert,
    /// Listener.
    pub surface: Surface,
}

/// Response body type of every route.
pub type Body = Full<Bytes>;

/// Largest request body read (real request bodies are a few hundred bytes).
pub const MAX_BODY: usize = 1 << 20;

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Larger than [`MAX_BODY`].
    #[error("request body larger than {MAX_BODY} bytes")]
    TooLarge,
    /// The connection failed while reading.
    #[error("reading the request body failed")]
    Io,
}

/// Reads a whole request body, refusing more than [`MAX_BODY`] bytes.
pub async fn read_body(body: Incoming) -> Result<Bytes, BodyError> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Io),
    }
}

/// A response with a body and content type.
pub fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A JSON response.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    respond(status, "application/json", value.to_string())
}

/// An nginx-style HTML error page, as the real API's front end returns for TLS and routing
/// failures: the title carries `detail` when there is one (`400 No required SSL certificate
/// was sent`), the heading the status's reason.
pub fn nginx_page(status: StatusCode, detail: Option<&str>) -> String {
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("Error");
    let title = detail.unwrap_or(reason);
    let detail_line = detail
        .map(|d| format!("<center>{d}</center>\r\n"))
        .unwrap_or_default();
    format!(
        "<html>\r\n<head><title>{code} {title}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n{detail_line}<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
}

/// [`nginx_page`] as a response.
pub fn nginx_error(status: StatusCode, detail: Option<&str>) -> Response<Body> {
    respond(status, "text/html", nginx_page(status, detail))
}
