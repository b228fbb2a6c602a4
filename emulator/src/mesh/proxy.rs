//! The proxy's port: HTTP/1.1 forward-proxy requests (`GET http://HOST/PATH`, absolute form) from callers that
//! name themselves in `Proxy-Authorization: Basic` (the user part of `HTTP_PROXY=http://CALLER@HOST:PORT`; curl
//! and HTTP libraries send it from the proxy URL). Parsing and limits are hyper's (through axum); this module
//! only turns the request into an `engine::Call` and the answer back.

use super::engine::{self, Answer, Call, HOPS_HEADER, MAX_BODY};
use crate::server::Shared;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use std::sync::Arc;

/// How long a caller may take to send its request body (a stalled one must not hold a call slot forever).
const BODY_READ_SECS: u64 = 60;

fn plain(status: StatusCode, text: &str) -> Response {
    let mut r = Response::new(Body::from(format!("{text}\n")));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The user part of `Proxy-Authorization: Basic base64(user:password)`.
pub fn proxy_user(value: Option<&HeaderValue>) -> Option<String> {
    let text = value?.to_str().ok()?;
    let (scheme, encoded) = text.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let user = decoded.split(':').next().unwrap_or_default();
    let user = percent_encoding::percent_decode_str(user)
        .decode_utf8()
        .ok()?
        .to_string();
    (!user.is_empty()).then_some(user)
}

/// Every request to the proxy port.
pub async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    if req.method() == axum::http::Method::CONNECT {
        return plain(
            StatusCode::NOT_IMPLEMENTED,
            "the mesh proxy carries plain HTTP only: call mesh hostnames as http://HOST (the sidecar, not \
             the caller, secures the hop)",
        );
    }
    let uri = req.uri().clone();
    let Some(authority) = uri.authority().cloned() else {
        return plain(
            StatusCode::BAD_REQUEST,
            "this is csmrun-emulator's mesh proxy: send requests through it as a proxy, e.g. \
             HTTP_PROXY=http://CALLER@HOST:PORT curl http://target.meshapps.internal/",
        );
    };
    if uri.scheme_str() != Some("http") {
        return plain(
            StatusCode::NOT_IMPLEMENTED,
            "the mesh proxy carries plain HTTP only: call mesh hostnames as http://HOST",
        );
    }
    let Some(caller) = proxy_user(req.headers().get(header::PROXY_AUTHORIZATION)) else {
        let mut r = plain(
            StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            "name the calling Cloud Run service as the proxy user: HTTP_PROXY=http://CALLER@HOST:PORT \
             (CALLER.REGION.PROJECT when the name alone is ambiguous)",
        );
        r.headers_mut().insert(
            header::PROXY_AUTHENTICATE,
            HeaderValue::from_static(
                "Basic realm=\"csmrun mesh: the user is the calling Cloud Run service\"",
            ),
        );
        return r;
    };
    let host = authority.host().to_ascii_lowercase();
    let path = uri.path().to_string();
    let query = uri.query().map(str::to_string);
    let hops = req
        .headers()
        .get(HOPS_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(0);
    let method = req.method().clone();
    let mut headers = req.headers().clone();
    let context = super::trace::incoming(&headers);
    headers.remove(header::PROXY_AUTHORIZATION);
    headers.remove(HOPS_HEADER);
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(BODY_READ_SECS),
        axum::body::to_bytes(req.into_body(), MAX_BODY),
    );
    let body = match read.await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the request body is larger than {MAX_BODY} bytes or could not be read"),
            )
        }
        Err(_) => {
            return plain(
                StatusCode::REQUEST_TIMEOUT,
                &format!("the request body did not arrive within {BODY_READ_SECS}s"),
            )
        }
    };
    let answer = engine::call(
        shared,
        Call {
            caller,
            method,
            host,
            path,
            query,
            headers,
            body,
            hops,
            context,
            at: None,
        },
    )
    .await;
    into_response(answer)
}

fn into_response(answer: Answer) -> Response {
    let mut r = Response::new(Body::from(answer.body));
    *r.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    *r.headers_mut() = answer.headers;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_user_is_read_from_basic_credentials() {
        let v = |s: &str| HeaderValue::from_str(s).unwrap();
        // base64("client:") and base64("client.asia-northeast1.demo-project:x")
        assert_eq!(
            proxy_user(Some(&v("Basic Y2xpZW50Og=="))).as_deref(),
            Some("client")
        );
        assert_eq!(
            proxy_user(Some(&v(
                "basic Y2xpZW50LmFzaWEtbm9ydGhlYXN0MS5kZW1vLXByb2plY3Q6eA=="
            )))
            .as_deref(),
            Some("client.asia-northeast1.demo-project")
        );
        assert_eq!(proxy_user(Some(&v("Bearer abc"))), None);
        assert_eq!(proxy_user(Some(&v("Basic !!!"))), None);
        assert_eq!(proxy_user(None), None);
    }
}
