//! Micro-benchmarks of the per-request work in `protocol::wechat`: what the mock does for
//! every refund (decode the XML, verify its signature, encode and sign the answer) and what a
//! client does (encode and sign the request, decode and verify the answer).
//!
//! `cargo bench -p paysandbox-protocol --bench wechat_hot_path` prints ns per operation (the
//! median of 15 timed batches, after a warm-up). No benchmark framework: `Instant` over
//! batches sized to about 20 ms, `black_box` around inputs and outputs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use paysandbox_protocol::wechat::sign::{self, SignType};
use paysandbox_protocol::wechat::{Params, RefundRequest, xml};

const KEY: &str = "paysandboxdemokey000000000000000";

fn refund_request(sign_type: SignType) -> Params {
    let mut params = Params::new();
    for (k, v) in [
        ("appid", "wx2421b1c4370ec43b"),
        ("mch_id", "1900000109"),
        ("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"),
        ("out_trade_no", "demo-order-0002"),
        ("out_refund_no", "bench-refund-000001"),
        ("op_user_id", "1900000109"),
    ] {
        params.insert_text(k, v);
    }
    params.insert_int("total_fee", 8800);
    params.insert_int("refund_fee", 1);
    if sign_type == SignType::HmacSha256 {
        params.insert_text("sign_type", "HMAC-SHA256");
    }
    sign::sign_in_place(&mut params, KEY, sign_type);
    params
}

fn refund_response() -> Params {
    let mut p = Params::new();
    for (k, v) in [
        ("return_code", "SUCCESS"),
        ("return_msg", "OK"),
        ("appid", "wx2421b1c4370ec43b"),
        ("mch_id", "1900000109"),
        ("nonce_str", "eBAYKF0bXqi6KF5v"),
        ("result_code", "SUCCESS"),
        ("transaction_id", "4200097541202611247279394662"),
        ("out_trade_no", "demo-order-0002"),
        ("out_refund_no", "bench-refund-000001"),
        ("refund_id", "50300800844720261124281420221"),
        ("refund_channel", ""),
        ("fee_type", "CNY"),
        ("cash_fee_type", "CNY"),
    ] {
        p.insert_text(k, v);
    }
    for (k, v) in [
        ("refund_fee", 1u64),
        ("settlement_refund_fee", 1),
        ("coupon_refund_fee", 0),
        ("total_fee", 8800),
        ("settlement_total_fee", 8800),
        ("cash_fee", 8800),
        ("coupon_refund_count", 0),
        ("cash_refund_fee", 1),
    ] {
        p.insert_int(k, v);
    }
    p
}

/// One benchmarked operation; the result is returned so it cannot be optimised away.
type Op<'a> = Box<dyn FnMut() -> usize + 'a>;

/// Median ns per call of `f` over 15 batches of about 20 ms each.
fn measure<T>(mut f: impl FnMut() -> T) -> f64 {
    let mut per_batch = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..per_batch {
            black_box(f());
        }
        if start.elapsed() > Duration::from_millis(20) {
            break;
        }
        per_batch *= 2;
    }
    let mut samples: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                black_box(f());
            }
            start.elapsed().as_nanos() as f64 / per_batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects rows by substring.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let md5_request = refund_request(SignType::Md5);
    let hmac_request = refund_request(SignType::HmacSha256);
    let md5_body = xml::encode(&md5_request);
    let hmac_body = xml::encode(&hmac_request);
    let response = refund_response();
    let mut signed_response = response.clone();
    sign::sign_in_place(&mut signed_response, KEY, SignType::Md5);
    let response_body = xml::encode(&signed_response);

    let rows: Vec<(&str, Op)> = vec![
        (
            "xml decode (refund request, 10 fields)",
            Box::new(|| xml::decode(black_box(md5_body.as_bytes())).unwrap().len()),
        ),
        (
            "sign verify MD5",
            Box::new(|| usize::from(sign::verify(black_box(&md5_request), KEY, SignType::Md5))),
        ),
        (
            "sign verify HMAC-SHA256",
            Box::new(|| {
                usize::from(sign::verify(
                    black_box(&hmac_request),
                    KEY,
                    SignType::HmacSha256,
                ))
            }),
        ),
        (
            "RefundRequest::from_params",
            Box::new(|| {
                RefundRequest::from_params(black_box(&md5_request))
                    .unwrap()
                    .refund_fee as usize
            }),
        ),
        (
            "sign refund response MD5 (21 fields)",
            Box::new(|| sign::sign(black_box(&response), KEY, SignType::Md5).len()),
        ),
        (
            "xml encode refund response",
            Box::new(|| xml::encode(black_box(&signed_response)).len()),
        ),
        (
            "server: decode+verify request, sign+encode answer",
            Box::new(|| {
                let request = xml::decode(black_box(md5_body.as_bytes())).unwrap();
                assert!(sign::verify(&request, KEY, SignType::Md5));
                let mut answer = response.clone();
                sign::sign_in_place(&mut answer, KEY, SignType::Md5);
                xml::encode(&answer).len()
            }),
        ),
        (
            "client: decode+verify a refund answer",
            Box::new(|| {
                let answer = xml::decode(black_box(response_body.as_bytes())).unwrap();
                usize::from(sign::verify(&answer, KEY, SignType::Md5))
            }),
        ),
        (
            "xml decode HMAC request",
            Box::new(|| xml::decode(black_box(hmac_body.as_bytes())).unwrap().len()),
        ),
    ];
    println!("{:<52} {:>10}", "operation", "ns/op");
    for (name, mut f) in rows {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        println!("{name:<52} {:>10.0}", measure(&mut f));
    }
}
