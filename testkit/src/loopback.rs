//! The HTTP/1.1 server under the kit's loopback fakes ([`Receiver`](crate::Receiver) and the
//! tampering [`proxy`](crate::proxy)): bind `127.0.0.1:0`, answer every request with a handler.
// A fake that cannot bind is a broken test.
#![allow(clippy::panic)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The largest request body a fake reads.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

/// What a fake does with one request.
pub(crate) trait Handler: Send + Sync + 'static {
    /// The answer to `request`.
    fn handle(
        &self,
        request: Request<Incoming>,
    ) -> impl Future<Output = Response<Full<Bytes>>> + Send;
}

/// Binds a loopback port and serves `handler` there until the test's runtime shuts down;
/// the address.
///
/// # Panics
/// No loopback port is free.
pub(crate) async fn serve(handler: Arc<impl Handler>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("loopback bind: {e}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("loopback address: {e}"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler.handle(request).await) }
                });
                // A connection the peer drops is its business.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

/// The request body, or `None` past [`MAX_BODY_BYTES`] or when the peer breaks off.
pub(crate) async fn body(request: Request<Incoming>) -> Option<Bytes> {
    let collected = Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .ok()?;
    Some(collected.to_bytes())
}

/// Headers as `(name, value)` pairs, names lower case as `http` keeps them, values read
/// lossily: what the test kit records of a request or an answer.
pub(crate) fn header_pairs(headers: &hyper::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}
