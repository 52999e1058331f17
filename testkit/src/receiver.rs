//! A merchant's notification endpoint on loopback: records every request body and answers
//! from a script, so tests see exactly what the sandbox POSTed and decide what it hears back.
// A receiver that cannot bind, or a body that is not text where a test wants text, is a broken
// test.
#![allow(clippy::panic)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The largest request body kept; a larger one is answered 413 and not recorded.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// The most bodies kept; later ones are answered but not recorded.
pub const MAX_BODIES: usize = 10_000;

#[derive(Debug, Default)]
struct Shared {
    bodies: Vec<Vec<u8>>,
    /// What to answer: `(HTTP status, body)`, each used once, the last one repeated.
    script: VecDeque<(u16, String)>,
}

/// A loopback HTTP server that records POST bodies and answers from a script.
#[derive(Debug)]
pub struct Receiver {
    /// Where it listens: `http://127.0.0.1:<port>/notify`.
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

fn locked(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Receiver {
    /// Starts a receiver answering `answers` in turn, the last one from then on (none: 200
    /// with an empty body).
    ///
    /// # Panics
    /// No loopback port is free.
    pub async fn start(answers: &[(u16, &str)]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("receiver bind: {e}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("receiver address: {e}"));
        let shared = Arc::new(Mutex::new(Shared {
            bodies: Vec::new(),
            script: answers.iter().map(|(s, b)| (*s, (*b).to_owned())).collect(),
        }));
        tokio::spawn(serve(listener, shared.clone()));
        Receiver {
            url: format!("http://{address}/notify"),
            shared,
        }
    }

    /// A receiver that answers 200 with `body` to everything.
    pub async fn answering(body: &str) -> Receiver {
        Receiver::start(&[(200, body)]).await
    }

    /// Every body received so far, in order, as bytes.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        locked(&self.shared).bodies.clone()
    }

    /// Every body received so far, in order, as text.
    ///
    /// # Panics
    /// A body is not UTF-8.
    pub fn texts(&self) -> Vec<String> {
        self.bodies()
            .into_iter()
            .map(|b| String::from_utf8(b).unwrap_or_else(|e| panic!("body is not UTF-8: {e}")))
            .collect()
    }

    /// From now on, answers this to everything.
    pub fn answer(&self, status: u16, body: &str) {
        locked(&self.shared).script = VecDeque::from([(status, body.to_owned())]);
    }
}

async fn serve(listener: TcpListener, shared: Arc<Mutex<Shared>>) {
    // Ends when the test's runtime shuts down.
    while let Ok((stream, _)) = listener.accept().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(answer(&shared, request).await) }
            });
            // A connection the sandbox drops is its business; nothing to record.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    shared: &Mutex<Shared>,
    request: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let Ok(body) = Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    else {
        return reply(StatusCode::PAYLOAD_TOO_LARGE.as_u16(), String::new());
    };
    let (status, text) = {
        let mut shared = locked(shared);
        if shared.bodies.len() < MAX_BODIES {
            shared.bodies.push(body.to_bytes().to_vec());
        }
        let next = if shared.script.len() > 1 {
            shared.script.pop_front()
        } else {
            shared.script.front().cloned()
        };
        next.unwrap_or((200, String::new()))
    };
    reply(status, text)
}

fn reply(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
}
