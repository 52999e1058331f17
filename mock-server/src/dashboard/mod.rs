//! The dashboard: web pages on the admin listener that show the sandbox and steer it.
//!
//! # How it works
//! - **Server-rendered.** Each page is a minijinja template built into the binary
//!   (`templates/`, read with `include_str!`), drawn from the admin API's own views: the page
//!   asks [`admin::route::get`] for `GET /admin/...` in-process and renders the JSON it
//!   answers. A page therefore shows nothing the API does not (the certificate paths of a
//!   merchant are the one addition: the files `POST /admin/wechat/merchants` answered with).
//! - **Actions are API calls.** Every button and form is an admin endpoint: `app.js` sends its
//!   fields as JSON with `fetch()` (same origin, `Content-Type: application/json`) and shows
//!   the answer. Nothing the dashboard does is missing from the API.
//! - **Live.** `app.js` subscribes to `GET /admin/events`; on any event it fetches the page
//!   again and swaps its `<main>` (keeping open details open), so new journal entries and
//!   changes of state appear without a reload.
//! - **Loopback.** Every page says so in a banner when the admin listener is bound to an
//!   address other than loopback: anyone who reaches it can steer the sandbox.
//!
//! Pages: `/` (the sandbox: clock, listeners, merchants and apps with their keys and
//! certificates, faults), `/dashboard/orders`, `/dashboard/refunds` (with each refund's
//! timeline), `/dashboard/notifications` (every attempt), `/dashboard/journal` (the live
//! tail); assets under `/dashboard/static/`.

use std::sync::LazyLock;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use minijinja::value::Serde;
use minijinja::{Environment, Value as Jinja, context};
use serde_json::Value;

use crate::admin::{self, route::Payload};
use crate::http::{self, Body};
use crate::state::AppState;

/// Journal entries a journal page shows, newest first.
pub const JOURNAL_SHOWN: usize = 200;

/// Rows a list shows at most (the newest); a page says how many it left out.
pub const ROWS_SHOWN: usize = 500;

/// Whether `path` is one of the dashboard's.
pub fn serves(path: &str) -> bool {
    path == "/" || path == "/dashboard" || path.starts_with("/dashboard/")
}

/// The pages, in the order the navigation lists them: path, template, title.
const PAGES: &[(&str, &str, &str)] = &[
    ("/", "sandbox.html", "Sandbox"),
    ("/dashboard/orders", "orders.html", "Orders & trades"),
    ("/dashboard/refunds", "refunds.html", "Refunds"),
    (
        "/dashboard/notifications",
        "notifications.html",
        "Notifications",
    ),
    ("/dashboard/journal", "journal.html", "Journal"),
];

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(environment);

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    let templates = [
        ("base.html", include_str!("templates/base.html")),
        ("sandbox.html", include_str!("templates/sandbox.html")),
        ("orders.html", include_str!("templates/orders.html")),
        ("refunds.html", include_str!("templates/refunds.html")),
        (
            "notifications.html",
            include_str!("templates/notifications.html"),
        ),
        ("journal.html", include_str!("templates/journal.html")),
    ];
    for (name, source) in templates {
        if let Err(error) = env.add_template(name, source) {
            // Caught by the dashboard's tests, which render every page.
            tracing::error!(%error, name, "dashboard template refused");
        }
    }
    env.add_filter("beijing", beijing);
    env.add_filter("yuan", yuan);
    env
}

/// Milliseconds since the epoch as Beijing time, `yyyy-MM-dd HH:mm:ss`; anything else as is.
fn beijing(value: Jinja) -> String {
    match i64::try_from(value.clone()) {
        Ok(ms) => paysandbox_protocol::beijing::datetime(ms),
        Err(_) if value.is_none() || value.is_undefined() => String::new(),
        Err(_) => value.to_string(),
    }
}

/// Fen as yuan, `12.34`.
fn yuan(value: Jinja) -> String {
    match i64::try_from(value.clone()) {
        Ok(fen) => {
            let sign = if fen < 0 { "-" } else { "" };
            let fen = fen.unsigned_abs();
            format!("{sign}{}.{:02}", fen / 100, fen % 100)
        }
        Err(_) => value.to_string(),
    }
}

/// Answers one dashboard request (GET only).
pub async fn handle(request: Request<Incoming>, state: &AppState) -> Response<Body> {
    let path = request.uri().path().trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path };
    if request.method() != Method::GET {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "the dashboard's pages are read with GET; its actions are the admin API's endpoints",
        );
    }
    match path {
        "/dashboard/static/app.js" => {
            return http::respond(
                StatusCode::OK,
                "text/javascript; charset=utf-8",
                include_str!("static/app.js"),
            );
        }
        "/dashboard/static/style.css" => {
            return http::respond(
                StatusCode::OK,
                "text/css; charset=utf-8",
                include_str!("static/style.css"),
            );
        }
        _ => {}
    }
    let path = if path == "/dashboard" { "/" } else { path };
    match render(state, path).await {
        Some(Ok(html)) => http::respond(StatusCode::OK, "text/html; charset=utf-8", html),
        Some(Err(error)) => text(StatusCode::INTERNAL_SERVER_ERROR, &error),
        None => text(StatusCode::NOT_FOUND, "no such page"),
    }
}

fn text(status: StatusCode, message: &str) -> Response<Body> {
    http::respond(status, "text/plain; charset=utf-8", message.to_owned())
}

/// The page at `path` as HTML; `None` if there is no such page. Public for the render
/// benchmark and tests.
pub async fn render(state: &AppState, path: &str) -> Option<Result<String, String>> {
    let (_, template, title) = PAGES.iter().find(|(p, _, _)| *p == path)?;
    Some(render_page(state, path, template, title).await)
}

async fn render_page(
    state: &AppState,
    path: &str,
    template: &str,
    title: &str,
) -> Result<String, String> {
    // One more than is shown, to know whether there are more.
    let page = format!("limit={}", ROWS_SHOWN + 1);
    let all_notifications = format!("limit={}", admin::input::MAX_LIST_LIMIT);
    let data = match template {
        "sandbox.html" => sandbox(state).await?,
        "orders.html" => context! {
            orders => newest(view(state, "/admin/wechat/orders", &page).await?),
            trades => newest(view(state, "/admin/alipay/trades", &page).await?),
        },
        "refunds.html" => context! {
            refunds => newest(view(state, "/admin/wechat/refunds", &page).await?),
            alipay_refunds => newest(view(state, "/admin/alipay/refunds", &page).await?),
            // Every notification the outbox holds a page for, to find each refund's.
            notifications => j(view(state, "/admin/notifications", &all_notifications).await?),
        },
        "notifications.html" => context! {
            notifications => newest(view(state, "/admin/notifications", &page).await?),
        },
        "journal.html" => {
            let query = format!("limit={JOURNAL_SHOWN}");
            let mut entries = view(state, "/admin/journal", &query).await?;
            if let Value::Array(entries) = &mut entries {
                entries.reverse();
            }
            context! { entries => j(entries), shown => JOURNAL_SHOWN }
        }
        _ => context! {},
    };
    let listening = state.listening();
    let admin_loopback = listening.is_none_or(|l| l.admin.ip().is_loopback());
    let nav: Vec<Jinja> = PAGES
        .iter()
        .map(|&(p, _, t)| context! { path => p, title => t, current => p == path })
        .collect();
    let page = context! {
        title => title,
        nav => nav,
        clock => j(view(state, "/admin/clock", "").await?),
        listening => Jinja::from(Serde(listening)),
        admin_loopback => admin_loopback,
        ..data
    };
    TEMPLATES
        .get_template(template)
        .and_then(|t| t.render(page))
        .map_err(|e| format!("could not render {template}: {e:#}"))
}

/// The sandbox page: listeners, identity, merchants and apps, faults.
async fn sandbox(state: &AppState) -> Result<Jinja, String> {
    let mut merchants = view(state, "/admin/wechat/merchants", "").await?;
    if let Value::Array(merchants) = &mut merchants {
        for merchant in merchants.iter_mut() {
            let Value::Object(fields) = merchant else {
                continue;
            };
            let id = fields.get("mch_id").and_then(Value::as_str).unwrap_or("");
            let company = fields.get("company").and_then(Value::as_str).unwrap_or("");
            // The files POST /admin/wechat/merchants answered with (read back, made if gone).
            let cert = match state.merchant_files(id, company) {
                Ok(files) => serde_json::json!({
                    "cert_path": files.cert_path,
                    "key_path": files.key_path,
                    "p12_path": files.p12_path,
                    "p12_password": files.p12_password,
                }),
                Err(error) => serde_json::json!({ "error": error.to_string() }),
            };
            fields.insert("cert".to_owned(), cert);
        }
    }
    let index = view(state, "/admin", "").await?;
    Ok(context! {
        merchants => j(merchants),
        apps => j(view(state, "/admin/alipay/apps", "").await?),
        sandbox_keys => j(view(state, "/admin/wechat/sandbox/keys", "").await?),
        faults => j(view(state, "/admin/faults", "").await?),
        fault_endpoints => j(index.get("fault_endpoints").cloned().unwrap_or(Value::Null)),
        ca_path => state.certs.ca_path().display().to_string(),
        data_dir => state.config.data_dir.display().to_string(),
    })
}

/// One admin view, as its JSON.
async fn view(state: &AppState, path: &str, query: &str) -> Result<Value, String> {
    match admin::route::get(admin::table(), state, path, query).await {
        Ok((_, Payload::Json(value))) => Ok(value),
        Ok(_) => Err(format!("{path} is not JSON")),
        Err(failure) => Err(format!("{path}: {}", failure.view().error)),
    }
}

/// The newest [`ROWS_SHOWN`] of a page asked with one more, newest first, and whether the
/// list goes on beyond them.
fn newest(list: Value) -> Jinja {
    let Value::Array(mut rows) = list else {
        return context! { rows => Vec::<Jinja>::new(), more => false };
    };
    let more = rows.len() > ROWS_SHOWN;
    rows.reverse();
    rows.truncate(ROWS_SHOWN);
    context! { rows => j(Value::Array(rows)), more => more }
}

/// A JSON value for a template.
fn j(value: Value) -> Jinja {
    Jinja::from(Serde(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_write_beijing_time_and_yuan() {
        assert_eq!(beijing(Jinja::from(0)), "1970-01-01 08:00:00");
        assert_eq!(beijing(Jinja::from(())), "");
        assert_eq!(yuan(Jinja::from(12_345)), "123.45");
        assert_eq!(yuan(Jinja::from(-5)), "-0.05");
    }

    #[test]
    fn every_template_parses() {
        for name in [
            "base.html",
            "sandbox.html",
            "orders.html",
            "refunds.html",
            "notifications.html",
            "journal.html",
        ] {
            assert!(TEMPLATES.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn the_dashboard_owns_the_root_and_its_folder_only() {
        assert!(serves("/"));
        assert!(serves("/dashboard/journal"));
        assert!(!serves("/admin"));
        assert!(!serves("/dashboards"));
    }
}
