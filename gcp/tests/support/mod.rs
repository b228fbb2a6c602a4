//! An in-process axum server that answers from a script and records what it was sent.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{HeaderMap, Request, Response, StatusCode};
use axum::Router;
use gcp::retry::{Backoff, RetryPolicy, Sleep};
use gcp::transport::{Transport, TransportOptions};
use gcp::{Auth, Clients, CustomEndpoints, Endpoints, Token};

pub const TOKEN: &str = "ya29.test-secret-token-value";

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    /// Never answer (the client must time out or be cancelled).
    pub hang: bool,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Reply {
            status,
            body: body.to_string().into_bytes(),
            content_type: "application/json; charset=UTF-8",
            hang: false,
            headers: Vec::new(),
        }
    }

    pub fn raw(status: u16, body: impl Into<Vec<u8>>, content_type: &'static str) -> Self {
        Reply {
            status,
            body: body.into(),
            content_type,
            hang: false,
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    pub fn hang() -> Self {
        Reply {
            hang: true,
            ..Reply::raw(200, "", "text/plain")
        }
    }

    /// A Google error in the AIP style.
    pub fn status(code: u16, status: &str, message: &str) -> Self {
        Reply::json(
            code,
            serde_json::json!({"error": {"code": code, "message": message, "status": status}}),
        )
    }

    /// A Google error in the discovery style (Compute, DNS).
    pub fn reason(code: u16, reason: &str, message: &str) -> Self {
        Reply::json(
            code,
            serde_json::json!({"error": {"code": code, "message": message,
                "errors": [{"domain": "global", "reason": reason, "message": message}]}}),
        )
    }
}

/// What the server was sent.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Seen {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }

    pub fn query_value(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    /// Answer used when the script is empty.
    fallback: Option<Reply>,
    seen: Vec<Seen>,
}

#[derive(Clone)]
pub struct Mock {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Mock {
    pub async fn start() -> Mock {
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let app = Router::new().fallback(move |req: Request<Body>| {
            let s = s.clone();
            async move { answer(s, req).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Mock { addr, state }
    }

    pub fn push(&self, reply: Reply) -> &Self {
        self.state.lock().unwrap().script.push_back(reply);
        self
    }

    pub fn always(&self, reply: Reply) -> &Self {
        self.state.lock().unwrap().fallback = Some(reply);
        self
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn endpoints(&self) -> Endpoints {
        Endpoints::resolve(&CustomEndpoints::default(), Some(&self.host())).unwrap()
    }
}

async fn answer(state: Arc<Mutex<State>>, req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let reply = {
        let mut s = state.lock().unwrap();
        s.seen.push(Seen {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or("").to_string(),
            headers: parts.headers.clone(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        });
        s.script.pop_front().or_else(|| s.fallback.clone())
    };
    let Some(reply) = reply else {
        return Response::builder()
            .status(StatusCode::IM_A_TEAPOT)
            .body(Body::from("mock script exhausted"))
            .unwrap();
    };
    if reply.hang {
        std::future::pending::<()>().await;
    }
    let mut b = Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type);
    for (k, v) in &reply.headers {
        b = b.header(*k, v);
    }
    b.body(Body::from(reply.body)).unwrap()
}

/// Records every delay it is asked to sleep and returns at once.
#[derive(Clone, Default)]
pub struct RecordingSleep(pub Arc<Mutex<Vec<Duration>>>);

impl RecordingSleep {
    pub fn sleep(&self) -> Sleep {
        let log = self.0.clone();
        Sleep::new(move |d| {
            log.lock().unwrap().push(d);
            Box::pin(std::future::ready(()))
        })
    }

    pub fn delays(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

/// Options for fast tests: instant sleep, 5 attempts, small backoff.
pub fn fast_options(sleep: Sleep) -> TransportOptions {
    TransportOptions {
        retry: RetryPolicy {
            max_attempts: 5,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(2), 2.0),
        },
        poll: Backoff::new(Duration::from_millis(100), Duration::from_secs(1), 1.5),
        sleep,
        ..TransportOptions::default()
    }
}

pub fn transport(mock: &Mock, options: TransportOptions) -> Transport {
    Transport::new(
        Auth::static_token(Token::new(TOKEN)),
        mock.endpoints(),
        options,
    )
    .unwrap()
}

pub fn clients(mock: &Mock) -> Clients {
    Clients::from_transport(transport(mock, fast_options(Sleep::instant())))
}
