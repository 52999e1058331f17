//! The RSA-2048 signers the sandbox could use, measured side by side with the machine's
//! ceiling: `protocol::rsa` (aws-lc-rs, what the sandbox signs with), ring (linked by rustls),
//! and the pure-Rust `rsa` crate (the sandbox's signer before), then `openssl speed -multi 2
//! rsa2048` in the same run.
//!
//! `cargo bench -p paysandbox-protocol --bench rsa_signers` prints RSASSA-PKCS1-v1_5 SHA-256
//! signatures per second on one thread and on two, and verifications per second on one
//! thread, for a 2048-bit key and a 170-byte Alipay answer node. No framework: each figure is
//! a fixed-time loop (`SECONDS`, default 2) after a short warm-up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use paysandbox_protocol::rsa::{Hash, PrivateKey};
use rsa::pkcs8::EncodePrivateKey as _;

const MESSAGE: &[u8] = br#"{"code":"10000","msg":"Success","trade_no":"2013112011001004330000121536","out_trade_no":"6823789339978248","buyer_logon_id":"159****5620","trade_status":"TRADE_SUCCESS","total_amount":"88.88"}"#;

/// One measured operation.
type Op = Arc<dyn Fn() + Send + Sync>;

/// Operations per second of `op` on `threads` threads for `seconds`.
fn rate(threads: usize, seconds: f64, op: Op) -> f64 {
    let started = Instant::now();
    let deadline = Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let op = op.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                let t = Instant::now();
                while t.elapsed() < deadline {
                    op();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let seconds: f64 = std::env::var("SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let soft = rsa::PrivateKey::new(&mut rand::rngs::SysRng, 2048).unwrap();
    let pkcs8 = soft.to_pkcs8_der().unwrap().as_bytes().to_vec();
    let ours = PrivateKey::from_pkcs8_der(&pkcs8).unwrap();
    let ring_key = Arc::new(ring::signature::RsaKeyPair::from_pkcs8(&pkcs8).unwrap());
    let soft = Arc::new(soft);

    let signers: Vec<(&str, Op)> = vec![
        ("ring", {
            let key = ring_key.clone();
            Arc::new(move || {
                let rng = ring::rand::SystemRandom::new();
                let mut sig = vec![0; key.public().modulus_len()];
                key.sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &rng,
                    black_box(MESSAGE),
                    &mut sig,
                )
                .unwrap();
                black_box(sig);
            })
        }),
        ("protocol::rsa (aws-lc-rs)", {
            let key = ours.clone();
            Arc::new(move || {
                black_box(key.sign(Hash::Sha256, black_box(MESSAGE)).unwrap());
            })
        }),
        ("rsa crate", {
            let key = soft.clone();
            Arc::new(move || {
                black_box(
                    key.pkcs1v15_sign::<sha2::Sha256>(black_box(MESSAGE))
                        .unwrap(),
                );
            })
        }),
    ];
    // Warm up every implementation once before timing any.
    for (_, op) in &signers {
        rate(1, 0.2, op.clone());
    }
    println!("RSA-2048 RSASSA-PKCS1-v1_5 SHA-256, {seconds} s per figure");
    println!(
        "{:<28} {:>14} {:>14}",
        "signer", "sign/s 1 thr", "sign/s 2 thr"
    );
    for (name, op) in &signers {
        let one = rate(1, seconds, op.clone());
        let two = rate(2, seconds, op.clone());
        println!("{name:<28} {one:>14.0} {two:>14.0}");
    }

    let signature = ours.sign(Hash::Sha256, MESSAGE).unwrap();
    let public = ours.to_public_key();
    let verifiers: Vec<(&str, Op)> = vec![
        ("ring", {
            let der = ring_key.public().as_ref().to_vec();
            let sig = signature.clone();
            Arc::new(move || {
                ring::signature::UnparsedPublicKey::new(
                    &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                    &der,
                )
                .verify(black_box(MESSAGE), &sig)
                .unwrap();
            })
        }),
        ("protocol::rsa (aws-lc-rs)", {
            let sig = signature.clone();
            Arc::new(move || {
                public
                    .verify(Hash::Sha256, black_box(MESSAGE), &sig)
                    .unwrap()
            })
        }),
        ("rsa crate", {
            let key = soft.to_public_key();
            let sig = signature.clone();
            Arc::new(move || {
                key.pkcs1v15_verify::<sha2::Sha256>(black_box(MESSAGE), &sig)
                    .unwrap()
            })
        }),
    ];
    println!("{:<28} {:>14}", "verifier", "verify/s 1 thr");
    for (name, op) in &verifiers {
        println!("{name:<28} {:>14.0}", rate(1, seconds, op.clone()));
    }

    // The ceiling the issue measures against, in the same run.
    match Command::new("openssl")
        .args([
            "speed",
            "-seconds",
            &format!("{}", seconds.ceil().max(1.0)),
            "-multi",
            "2",
            "rsa2048",
        ])
        .output()
    {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            match text.lines().find(|l| l.starts_with("rsa 2048 bits")) {
                Some(line) => println!("openssl speed -multi 2 rsa2048: {line}"),
                None => println!("openssl speed: no rsa2048 line"),
            }
        }
        Err(e) => println!("openssl not run: {e}"),
    }
}
