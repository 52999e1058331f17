//! The HTTP types every route shares: what is known of a connection ([`ConnInfo`], its
//! [`Surface`]), the body type, bounded body reads, and the answers that are not a platform's
//! (JSON for the admin API, nginx's error pages).

use std::net::SocketAddr;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::sync::mpsc;

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

/// Response body of every route: a whole buffer, or chunks as they come (the admin event
/// stream).
#[derive(Debug)]
pub struct Body(BodyKind);

#[derive(Debug)]
enum BodyKind {
    /// Taken when sent.
    Full(Option<Bytes>),
    /// Ends when the sender is dropped.
    Stream(mpsc::Receiver<Bytes>),
}

impl Body {
    /// A whole body.
    pub fn full(bytes: impl Into<Bytes>) -> Body {
        Body(BodyKind::Full(Some(bytes.into())))
    }

    /// A body streamed from `chunks` until its sender is dropped. The channel's bound is the
    /// only buffer: a slow reader makes the sender wait.
    pub fn stream(chunks: mpsc::Receiver<Bytes>) -> Body {
        Body(BodyKind::Stream(chunks))
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.get_mut().0 {
            BodyKind::Full(bytes) => Poll::Ready(
                bytes
                    .take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            BodyKind::Stream(chunks) => chunks.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(&self.0, BodyKind::Full(bytes) if bytes.as_ref().is_none_or(Bytes::is_empty))
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            BodyKind::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            BodyKind::Stream(_) => SizeHint::default(),
        }
    }
}

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
    let mut response = Response::new(Body::full(body));
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
