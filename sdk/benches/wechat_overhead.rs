//! The SDK's per-request overhead: what `wechat::Client::refund` costs on top of a bare
//! HTTP/1.1 round trip to the same server.
//!
//! A loopback plain-HTTP server answers every refund with a correctly signed success that
//! echoes the request (decode, sign, encode: identical work for both runs). The benchmark
//! times N sequential refunds through the SDK (builder validation, nonce, signing, reqwest,
//! response decoding and signature verification), then N bare hyper POSTs of a pre-signed
//! body on one keep-alive connection, and prints both and their difference per request.
//!
//! `cargo bench -p paysandbox-sdk --bench wechat_overhead` (N = 20,000; loopback only).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::convert::Infallible;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::{Params, xml};
use paysandbox_sdk::wechat::{Client, RefundRequest};
use tokio::net::TcpListener;

const MCH: &str = "1900000109";
const APPID: &str = "wx2421b1c4370ec43b";
const KEY: &str = "paysandboxdemokey000000000000000";
const N: usize = 20_000;

/// A signed refund success echoing the request's numbers.
fn answer(request: &Params) -> Bytes {
    let mut p = Params::new();
    for (k, v) in [
        ("return_code", "SUCCESS"),
        ("return_msg", "OK"),
        ("appid", APPID),
        ("mch_id", MCH),
        ("nonce_str", "eBAYKF0bXqi6KF5v"),
        ("result_code", "SUCCESS"),
        ("transaction_id", "4200097541202611247279394662"),
        ("out_trade_no", request.get("out_trade_no").unwrap_or("")),
        ("out_refund_no", request.get("out_refund_no").unwrap_or("")),
        ("refund_id", "50300800844720261124281420221"),
        ("refund_channel", ""),
        ("fee_type", "CNY"),
    ] {
        p.insert_text(k, v);
    }
    let refund_fee = request.get("refund_fee").unwrap_or("0").to_owned();
    let total_fee = request.get("total_fee").unwrap_or("0").to_owned();
    p.insert_int("refund_fee", &refund_fee);
    p.insert_int("settlement_refund_fee", &refund_fee);
    p.insert_int("total_fee", &total_fee);
    p.insert_int("cash_fee", &total_fee);
    p.insert_int("coupon_refund_fee", 0);
    p.insert_int("coupon_refund_count", 0);
    let sign_type = sign::request_sign_type(request).unwrap_or(SignType::Md5);
    sign::sign_in_place(&mut p, KEY, sign_type);
    Bytes::from(xml::encode(&p))
}

async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let service = service_fn(|request: Request<hyper::body::Incoming>| async move {
                let body = request.into_body().collect().await.unwrap().to_bytes();
                let params = xml::decode(&body).unwrap();
                Ok::<_, Infallible>(Response::new(Full::new(answer(&params))))
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(serve(listener));

    // Through the SDK. Refund needs a merchant certificate configured; a throwaway one from
    // paysandbox-certs does (plain HTTP never presents it).
    let dir = tempfile::tempdir().unwrap();
    let store = paysandbox_certs::CertStore::load_or_create(dir.path(), &["localhost"]).unwrap();
    let files = store.merchant(MCH, "bench").unwrap();
    let client = Client::builder(MCH, APPID, KEY)
        .base_url(format!("http://{address}"))
        .merchant_pem_files(&files.cert_path, &files.key_path)
        .build()
        .unwrap();
    let refund = |i: usize| {
        RefundRequest::builder()
            .out_trade_no("demo-order-0002")
            .out_refund_no(format!("bench-{i}"))
            .total_fee(8800)
            .refund_fee(1)
            .build()
            .unwrap()
    };
    for i in 0..1000 {
        client.refund(&refund(i)).await.unwrap();
    }
    let start = Instant::now();
    for i in 0..N {
        client.refund(&refund(i)).await.unwrap();
    }
    let sdk = start.elapsed().as_secs_f64() / N as f64;

    // Bare hyper on one keep-alive connection, the same (pre-signed) body every time.
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut params = Params::new();
    for (k, v) in [
        ("appid", APPID),
        ("mch_id", MCH),
        ("nonce_str", "n0nce"),
        ("out_trade_no", "demo-order-0002"),
        ("out_refund_no", "bench-raw"),
    ] {
        params.insert_text(k, v);
    }
    params.insert_int("total_fee", 8800);
    params.insert_int("refund_fee", 1);
    sign::sign_in_place(&mut params, KEY, SignType::Md5);
    let body = Bytes::from(xml::encode(&params));
    let mut bare_once = async || {
        let request = Request::post("/secapi/pay/refund")
            .header("host", "127.0.0.1")
            .body(Full::new(body.clone()))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .len()
    };
    for _ in 0..1000 {
        bare_once().await;
    }
    let start = Instant::now();
    for _ in 0..N {
        bare_once().await;
    }
    let bare = start.elapsed().as_secs_f64() / N as f64;

    println!("{N} sequential refunds over loopback HTTP/1.1 keep-alive, one core");
    println!(
        "  SDK (Client::refund)        {:>8.1} µs/request",
        sdk * 1e6
    );
    println!(
        "  bare hyper, pre-signed body {:>8.1} µs/request",
        bare * 1e6
    );
    println!(
        "  SDK overhead                {:>8.1} µs/request",
        (sdk - bare) * 1e6
    );
}
