//! Who may call the admin listener: anything that is not a web page of another site.
//!
//! The admin API can reset, seed and move the clock of the sandbox, and it listens on the
//! developer's loopback, which every web page their browser opens can reach. curl, the SDKs,
//! the test kit and scripts send neither `Origin` nor `Sec-Fetch-Site`; browsers send them.
//! So, before any endpoint runs:
//!
//! 1. **Host.** The `Host` header must be an IP address or `localhost` (`*.localhost`): a
//!    page cannot rebind a DNS name of its own onto the loopback and call in as "same origin".
//! 2. **Origin.** A request whose `Origin` is not the listener's own (`http://` + its `Host`),
//!    or that a browser marks `Sec-Fetch-Site: cross-site` / `same-site`, is refused with 403.
//!    The dashboard, served from this listener, is same-origin and passes.
//! 3. **JSON.** A write (any method but GET, HEAD and OPTIONS) that comes from a browser
//!    (carries `Origin` or `Sec-Fetch-Site`) must say `Content-Type: application/json` (or
//!    `application/x-ndjson` for the bulk load), else 415: a page of another site cannot send
//!    that without a CORS preflight, which this listener never grants.

use hyper::header::{CONTENT_TYPE, HOST, HeaderMap, ORIGIN};
use hyper::{Method, StatusCode};

use super::failure::Failure;

/// Refuses a request a browser page of another site could have sent (see the module docs).
pub fn check(method: &Method, headers: &HeaderMap) -> Result<(), Failure> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let host = text(HOST.as_str());
    if let Some(host) = host
        && !local_host(host)
    {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            format!("Host {host:?}: the admin API answers only an IP address or localhost"),
        ));
    }
    let origin = text(ORIGIN.as_str());
    let fetch_site = text("sec-fetch-site");
    if let Some(origin) = origin {
        let same = host.is_some_and(|host| {
            origin.eq_ignore_ascii_case(&format!("http://{host}"))
                || origin.eq_ignore_ascii_case(&format!("https://{host}"))
        });
        if !same {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                format!("Origin {origin:?}: the admin API refuses requests from other sites"),
            ));
        }
    }
    if let Some(site) = fetch_site
        && matches!(site, "cross-site" | "same-site")
    {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            format!("Sec-Fetch-Site {site}: the admin API refuses requests from other sites"),
        ));
    }
    let from_browser = origin.is_some() || fetch_site.is_some();
    let writes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if from_browser && writes {
        let media = text(CONTENT_TYPE.as_str())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        if !matches!(
            media.as_deref(),
            Some("application/json" | "application/x-ndjson")
        ) {
            return Err(Failure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "a browser's write to the admin API must be Content-Type: application/json",
            ));
        }
    }
    Ok(())
}

/// Whether a `Host` header names this machine by address or `localhost` (with or without a
/// port), rather than by a DNS name someone else controls.
fn local_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return rest
            .split(']')
            .next()
            .is_some_and(|v6| v6.parse::<std::net::Ipv6Addr>().is_ok());
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(name, _)| name)
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || name == "localhost"
        || name.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap_or_else(|_| unreachable!()));
        }
        map
    }

    fn status(method: Method, pairs: &[(&'static str, &str)]) -> Option<u16> {
        check(&method, &headers(pairs))
            .err()
            .map(|f| f.status().as_u16())
    }

    #[test]
    fn tools_pass_and_other_sites_do_not() {
        // curl -d: a form content type, no Origin.
        let curl = [
            ("host", "127.0.0.1:8444"),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        assert_eq!(status(Method::POST, &curl), None);
        assert_eq!(status(Method::POST, &[("host", "[::1]:8444")]), None);
        assert_eq!(status(Method::POST, &[("host", "localhost:8444")]), None);
        let evil = [
            ("host", "127.0.0.1:8444"),
            ("origin", "http://evil.example"),
            ("content-type", "text/plain"),
        ];
        assert_eq!(status(Method::POST, &evil), Some(403));
        assert_eq!(status(Method::GET, &evil), Some(403));
        assert_eq!(
            status(Method::GET, &[("host", "rebound.evil.example:8444")]),
            Some(403)
        );
        let fetch = [("host", "127.0.0.1:8444"), ("sec-fetch-site", "cross-site")];
        assert_eq!(status(Method::POST, &fetch), Some(403));
        assert_eq!(status(Method::POST, &[("origin", "null")]), Some(403));
    }

    #[test]
    fn the_same_origin_dashboard_passes_with_json_only() {
        let page = |content_type: &'static str| {
            [
                ("host", "127.0.0.1:8444"),
                ("origin", "http://127.0.0.1:8444"),
                ("sec-fetch-site", "same-origin"),
                ("content-type", content_type),
            ]
        };
        assert_eq!(status(Method::POST, &page("application/json")), None);
        assert_eq!(
            status(Method::POST, &page("application/json; charset=utf-8")),
            None
        );
        assert_eq!(status(Method::POST, &page("text/plain")), Some(415));
        assert_eq!(status(Method::GET, &page("text/plain")), None);
    }
}
