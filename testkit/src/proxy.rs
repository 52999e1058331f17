//! A man in the middle for signature tests: a plain-HTTP proxy that forwards each POST to the
//! sandbox and passes the answer's body through a tampering function before the client sees
//! it.
// A proxy that cannot bind is a broken test.
#![allow(clippy::panic)]

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::CONTENT_TYPE;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The largest request body forwarded.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Rewrites an answer's body.
pub type Tamper = dyn Fn(String) -> String + Send + Sync;

struct Route {
    upstream: reqwest::Client,
    upstream_base: String,
    reply_content_type: &'static str,
    tamper: Box<Tamper>,
}

/// Starts a proxy: a POST to `<proxy>/<path>` goes to `<upstream_base>/<path>` through
/// `upstream` (with the request's Content-Type), and its body comes back through `tamper`
/// with the same status and `reply_content_type`. Returns the proxy's base URL,
/// `http://127.0.0.1:<port>`.
///
/// # Panics
/// No loopback port is free.
pub async fn start(
    upstream: reqwest::Client,
    upstream_base: &str,
    reply_content_type: &'static str,
    tamper: impl Fn(String) -> String + Send + Sync + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("proxy bind: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("proxy address: {e}"));
    let route = Arc::new(Route {
        upstream,
        upstream_base: upstream_base.trim_end_matches('/').to_owned(),
        reply_content_type,
        tamper: Box::new(tamper),
    });
    tokio::spawn(async move {
        // Ends when the test's runtime shuts down.
        while let Ok((stream, _)) = listener.accept().await {
            let route = route.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let route = route.clone();
                    async move { Ok::<_, Infallible>(forward(&route, request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{address}")
}

async fn forward(route: &Route, request: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let content_type = request.headers().get(CONTENT_TYPE).cloned();
    let Ok(body) = Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    else {
        return reply(StatusCode::PAYLOAD_TOO_LARGE, "text/plain", String::new());
    };
    let mut upstream = route
        .upstream
        .post(format!("{}{path}", route.upstream_base))
        .body(body.to_bytes());
    if let Some(content_type) = content_type {
        upstream = upstream.header(CONTENT_TYPE, content_type);
    }
    let (status, text) = match upstream.send().await {
        Ok(response) => {
            let status =
                StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            match response.text().await {
                Ok(text) => (status, text),
                Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
            }
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
    };
    reply(status, route.reply_content_type, (route.tamper)(text))
}

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}
