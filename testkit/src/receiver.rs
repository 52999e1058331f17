//! A merchant's notification endpoint on loopback: records every request body and answers
//! from a script, so tests see exactly what the sandbox POSTed and decide what it hears back.
// A body that is not text where a test wants text is a broken test.
#![allow(clippy::panic)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use crate::loopback::{self, Handler};

/// The most bodies kept; later ones are answered but not recorded. A body larger than 1 MiB
/// is answered 413 and not recorded.
pub const MAX_BODIES: usize = 10_000;

#[derive(Debug, Default)]
struct Shared {
    bodies: Vec<Vec<u8>>,
    /// Each recorded request's headers (names lower-case), beside its body.
    headers: Vec<Vec<(String, String)>>,
    /// What to answer: `(HTTP status, body)`, each used once, the last one repeated.
    script: VecDeque<(u16, String)>,
}

/// A loopback HTTP server that records POST bodies and answers from a script.
#[derive(Debug)]
pub struct Receiver {
    /// Where it listens: `http://127.0.0.1:<port>/notify`.
    pub url: String,
    shared: Arc<Recorder>,
}

#[derive(Debug)]
struct Recorder(Mutex<Shared>);

impl Recorder {
    fn locked(&self) -> MutexGuard<'_, Shared> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Receiver {
    /// Starts a receiver answering `answers` in turn, the last one from then on (none: 200
    /// with an empty body).
    ///
    /// # Panics
    /// No loopback port is free.
    pub async fn start(answers: &[(u16, &str)]) -> Receiver {
        let shared = Arc::new(Recorder(Mutex::new(Shared {
            bodies: Vec::new(),
            headers: Vec::new(),
            script: answers.iter().map(|(s, b)| (*s, (*b).to_owned())).collect(),
        })));
        let address = loopback::serve(shared.clone()).await;
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
        self.shared.locked().bodies.clone()
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

    /// The headers of every request recorded so far, in order (names lower-case).
    pub fn headers(&self) -> Vec<Vec<(String, String)>> {
        self.shared.locked().headers.clone()
    }

    /// From now on, answers this to everything.
    pub fn answer(&self, status: u16, body: &str) {
        self.shared.locked().script = VecDeque::from([(status, body.to_owned())]);
    }
}

impl Handler for Recorder {
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let headers = loopback::header_pairs(request.headers());
        let Some(body) = loopback::body(request).await else {
            return reply(StatusCode::PAYLOAD_TOO_LARGE.as_u16(), String::new());
        };
        let (status, text) = {
            let mut shared = self.locked();
            if shared.bodies.len() < MAX_BODIES {
                shared.bodies.push(body.to_vec());
                shared.headers.push(headers);
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
}

fn reply(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
}
