//! Connection hygiene on loopback: idle and slowloris connections do not stop a normal client,
//! a head sent too slowly is closed, and past the cap a connection is refused cleanly. Bounded:
//! 300 connections (the 2,000 figure is a measurement, bench/robust.py).

use std::time::Duration;

use paysandbox_mock_server::http::ConnLimits;
use paysandbox_testkit::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_idle_and_slowloris_connections_do_not_stop_a_refund() {
    let sandbox = start().await;
    let api = addr(&sandbox.running.api_url);
    let plain = addr(&sandbox.running.http_url);
    let mut held = Vec::new();
    for i in 0..300 {
        let target = if i % 2 == 0 { &api } else { &plain };
        let mut stream = TcpStream::connect(target).await.unwrap();
        match i % 3 {
            // Idle: connected, nothing sent.
            0 => {}
            // Half a request head.
            1 => stream
                .write_all(b"POST /pay/refundquery HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap(),
            // A body announced and never sent.
            _ => stream
                .write_all(
                    b"POST /pay/refundquery HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
                )
                .await
                .unwrap(),
        }
        held.push(stream);
    }
    let answer = sandbox
        .call(
            "/secapi/pay/refund",
            refund_params("demo-order-0001", "through-the-crowd", 1000, 1),
        )
        .await;
    assert_eq!(answer.get("result_code"), Some("SUCCESS"), "{answer:?}");
    let clock = sandbox.admin_get("/admin/clock").await;
    assert_eq!(clock["now_ms"], T0.0);
    drop(held);
}

#[tokio::test]
async fn a_slow_head_is_closed_and_past_the_cap_a_connection_is_refused() {
    let sandbox = start_with(|c| {
        c.connections = ConnLimits {
            handshake: Duration::from_secs(1),
            idle: Duration::from_secs(1),
            max_connections: 4,
        };
    })
    .await;
    let plain = addr(&sandbox.running.http_url);
    let mut slow = TcpStream::connect(&plain).await.unwrap();
    slow.write_all(b"POST /pay/refundquery HTTP/1.1\r\n")
        .await
        .unwrap();
    // The server closes it once the head has taken a second (bounded wait, not a sleep).
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(20), slow.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "a half-sent head was still held after 20 s");
    drop(slow);
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(&plain).await.unwrap());
    }
    // Let the server take the four before the fifth arrives.
    let mut fifth = None;
    for _ in 0..50 {
        let mut stream = TcpStream::connect(&plain).await.unwrap();
        let mut answer = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        if let Ok(Ok(_)) = read
            && !answer.is_empty()
        {
            fifth = Some(String::from_utf8_lossy(&answer).into_owned());
            break;
        }
    }
    let fifth = fifth.expect("no refusal past the cap");
    assert!(
        fifth.starts_with("HTTP/1.1 503 Service Unavailable\r\nConnection: close"),
        "{fifth}"
    );
    drop(idle);
}
