//! Who may drive the control plane (`/_emulator/`): programs on this machine, not web pages.
//!
//! Threat model: the emulator runs on a developer's machine or a CI runner, usually on a loopback address, with no
//! authentication of its own. Any web page the developer opens can make the browser send requests to
//! `http://127.0.0.1:PORT` (a cross-origin "simple" POST needs no preflight) or reach it under a name it controls
//! (DNS rebinding: `evil.example` resolving to 127.0.0.1). Either would let the page reset the emulator, inject
//! faults or read its request log. Browsers always name the page in `Origin` on such requests and name the host
//! they think they talk to in `Host`; programs (the provider, curl, tests) send no `Origin` and dial the address.
//! So a control request is refused with 403 when it carries an `Origin` that is not the emulator itself, or, on a
//! loopback listener, a `Host` that is not a loopback name. On a non-loopback listener the `Host` check cannot
//! know the machine's names, so only `Origin` is checked, and the emulator warns at start.

use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

/// Why a control request is refused, if it is.
pub fn refusal(headers: &HeaderMap, listen: SocketAddr) -> Option<String> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or("");
        if !is_own(host, listen) {
            return Some(format!(
                "the control plane refuses requests from web pages (Origin {origin:?}); call it from a program"
            ));
        }
    }
    if listen.ip().is_loopback() {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !is_own(host, listen) {
            return Some(format!(
                "the control plane answers only to its own address (Host {host:?}); use http://{listen}"
            ));
        }
    }
    None
}

/// `host[:port]` names this emulator: its port, and a loopback name or its listen address.
fn is_own(authority: &str, listen: SocketAddr) -> bool {
    let (name, port) = match authority.rsplit_once(':') {
        Some((n, p)) if !n.is_empty() && !p.contains(']') => (n, p.parse::<u16>().ok()),
        _ => (authority, None),
    };
    if port != Some(listen.port()) {
        return false;
    }
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip == listen.ip())
}

/// The middleware of the control routes.
pub async fn guard(listen: SocketAddr, req: Request, next: Next) -> Response {
    match refusal(req.headers(), listen) {
        None => next.run(req).await,
        Some(why) => (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({ "error": why })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const LOOPBACK: &str = "127.0.0.1:8787";

    #[test]
    fn programs_on_this_machine_are_served() {
        let listen: SocketAddr = LOOPBACK.parse().unwrap();
        for host in [
            "127.0.0.1:8787",
            "localhost:8787",
            "[::1]:8787",
            "LOCALHOST:8787",
        ] {
            assert_eq!(
                refusal(&headers(&[(header::HOST, host)]), listen),
                None,
                "{host}"
            );
        }
        let own_page = headers(&[
            (header::HOST, LOOPBACK),
            (header::ORIGIN, "http://127.0.0.1:8787"),
        ]);
        assert_eq!(refusal(&own_page, listen), None);
    }

    #[test]
    fn web_pages_and_rebound_names_are_refused() {
        let listen: SocketAddr = LOOPBACK.parse().unwrap();
        let cases = [
            headers(&[
                (header::HOST, LOOPBACK),
                (header::ORIGIN, "https://evil.example"),
            ]),
            headers(&[(header::HOST, LOOPBACK), (header::ORIGIN, "null")]),
            headers(&[
                (header::HOST, LOOPBACK),
                (header::ORIGIN, "http://127.0.0.1:9999"),
            ]),
            headers(&[(header::HOST, "evil.example:8787")]),
            headers(&[(header::HOST, "127.0.0.1:9999")]),
            headers(&[]),
        ];
        for h in cases {
            assert!(refusal(&h, listen).is_some(), "{h:?}");
        }
    }

    #[test]
    fn a_listener_on_all_interfaces_checks_only_the_origin() {
        let listen: SocketAddr = "0.0.0.0:8787".parse().unwrap();
        assert_eq!(
            refusal(&headers(&[(header::HOST, "10.1.2.3:8787")]), listen),
            None
        );
        let page = headers(&[
            (header::HOST, "10.1.2.3:8787"),
            (header::ORIGIN, "https://evil.example"),
        ]);
        assert!(refusal(&page, listen).is_some());
    }
}
