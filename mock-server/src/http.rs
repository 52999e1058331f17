//! The HTTP types every route shares: what is known of a connection ([`ConnInfo`], its
//! [`Surface`]), the body type, bounded body reads, and the answers that are not a platform's
//! (JSON for the admin API, nginx's error pages).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use std::time::Duration;
use tokio::sync::mpsc;

use crate::tls::PeerCert;

/// How connections are kept in check: a client that is slow or idle, or too many clients at
/// once, must not stop the others (a sandbox a team leaves running).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// How long a client may take to finish the TLS handshake.
    pub handshake: Duration,
    /// How long a connection may wait for a request's head to arrive whole: both an idle
    /// keep-alive connection and a head sent a byte at a time are closed after it (hyper
    /// runs one timer from the moment it waits for a request).
    pub idle: Duration,
    /// Connections served at once on the API listeners together, and on the admin listener
    /// (each its own count); past it a new connection is refused at once (a plain-HTTP one
    /// with a 503 and `Connection: close`).
    pub max_connections: usize,
}

impl Default for ConnLimits {
    /// nginx-like: 10 s for the handshake, 60 s for a request head or an idle keep-alive,
    /// 4,096 connections.
    fn default() -> Self {
        ConnLimits {
            handshake: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

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

/// How long a request body may take to arrive whole (nginx's `client_body_timeout` is 60 s
/// between reads; a whole body of at most [`MAX_BODY`] gets the same 60 s in all, so a body
/// announced and never sent cannot hold its connection).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads a whole request body, refusing more than [`MAX_BODY`] bytes or one that takes longer
/// than [`BODY_TIMEOUT`].
pub async fn read_body(body: Incoming) -> Result<Bytes, BodyError> {
    match tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            Err(BodyError::TooLarge)
        }
        Ok(Err(_)) | Err(_) => Err(BodyError::Io),
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

/// Where a download URL points for this request: its scheme (by listener) and the host it
/// was sent to (the absolute-form authority, else `Host`), or `localhost` when neither is a
/// plain host name.
pub fn origin(request: &hyper::Request<Incoming>, tls: bool) -> String {
    let host = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            request
                .headers()
                .get(hyper::header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{host}")
}
