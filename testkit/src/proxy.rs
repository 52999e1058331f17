//! A man in the middle for signature tests: a plain-HTTP proxy that forwards each POST to the
//! sandbox and passes the answer's body through a tampering function before the client sees
//! it.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};

use crate::loopback::{self, Handler};

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
    let route = Arc::new(Route {
        upstream,
        upstream_base: upstream_base.trim_end_matches('/').to_owned(),
        reply_content_type,
        tamper: Box::new(tamper),
    });
    let address = loopback::serve(route).await;
    format!("http://{address}")
}

impl Handler for Route {
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let content_type = request.headers().get(CONTENT_TYPE).cloned();
        let Some(body) = loopback::body(request).await else {
            return reply(StatusCode::PAYLOAD_TOO_LARGE, "text/plain", String::new());
        };
        let mut upstream = self
            .upstream
            .post(format!("{}{path}", self.upstream_base))
            .body(body);
        if let Some(content_type) = content_type {
            upstream = upstream.header(CONTENT_TYPE, content_type);
        }
        let (status, text) = match upstream.send().await {
            Ok(response) => {
                let status = StatusCode::from_u16(response.status().as_u16())
                    .unwrap_or(StatusCode::BAD_GATEWAY);
                match response.text().await {
                    Ok(text) => (status, text),
                    Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
                }
            }
            Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
        };
        reply(status, self.reply_content_type, (self.tamper)(text))
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
