//! A loopback HTTP receiver for notification tests: records every POST body and answers
//! with a fixed body. Shared (by `#[path]`) by the WeChat and Alipay test binaries.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

pub struct Receiver {
    pub url: String,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Receiver {
    pub async fn start(answer: String) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        let bodies: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let recorded = bodies.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (recorded, answer) = (recorded.clone(), answer.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                        let (recorded, answer) = (recorded.clone(), answer.clone());
                        async move {
                            let body = request.into_body().collect().await.unwrap().to_bytes();
                            recorded.lock().unwrap().push(body.to_vec());
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(answer))))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { url, bodies }
    }

    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().unwrap().clone()
    }
}
