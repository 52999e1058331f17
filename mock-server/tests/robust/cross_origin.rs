//! The admin API refuses what a web page of another site could send, and serves curl-like
//! clients and its own same-origin dashboard as before.

use paysandbox_testkit::prelude::*;
use serde_json::Value;

async fn post(
    sandbox: &Sandbox,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> (u16, Value) {
    let mut request = http_client()
        .post(format!("{}{path}", sandbox.admin_client().base_url()))
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_text_plain_post_from_another_site_is_refused_and_changes_nothing() {
    let sandbox = start().await;
    let before = sandbox.admin_get("/admin/clock").await;
    let (status, answer) = post(
        &sandbox,
        "/admin/clock/advance",
        &[
            ("origin", "http://evil.example".to_owned()),
            ("content-type", "text/plain".to_owned()),
        ],
        r#"{"seconds": 3600}"#,
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("evil.example"));
    // A DNS name rebound onto the loopback is refused too.
    let (status, _) = post(
        &sandbox,
        "/admin/reset",
        &[("host", "rebound.evil.example".to_owned())],
        "{}",
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(sandbox.admin_get("/admin/clock").await, before);
}

#[tokio::test]
async fn curl_and_the_same_origin_dashboard_keep_working() {
    let sandbox = start().await;
    // curl -d: form content type, no Origin.
    let (status, answer) = post(
        &sandbox,
        "/admin/clock/advance",
        &[(
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        )],
        r#"{"seconds": 60}"#,
    )
    .await;
    assert_eq!(
        (status, &answer["now_ms"]),
        (200, &Value::from(T0.0 + 60_000))
    );
    // The dashboard: same origin, JSON.
    let own = sandbox
        .admin_client()
        .base_url()
        .trim_end_matches('/')
        .to_owned();
    let host = own.trim_start_matches("http://").to_owned();
    let page = |content_type: &str| {
        vec![
            ("origin", own.clone()),
            ("host", host.clone()),
            ("sec-fetch-site", "same-origin".to_owned()),
            ("content-type", content_type.to_owned()),
        ]
    };
    let (status, answer) = post(
        &sandbox,
        "/admin/clock/advance",
        &page("application/json"),
        r#"{"seconds": 60}"#,
    )
    .await;
    assert_eq!(
        (status, &answer["now_ms"]),
        (200, &Value::from(T0.0 + 120_000))
    );
    let (status, _) = post(
        &sandbox,
        "/admin/clock/advance",
        &page("text/plain"),
        r#"{"seconds": 60}"#,
    )
    .await;
    assert_eq!(status, 415);
}
