//! A hostile Google API: a small HTTP/1.1 server that answers every request with the same malformed or
//! hostile response (truncated JSON, wrong types, a huge body, HTML error pages, garbage, a dropped
//! connection), for checking that the provider fails with a clear error and never panics.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One kind of bad answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 200 with JSON cut off in the middle.
    TruncatedJson,
    /// 200 with JSON whose fields have the wrong types.
    WrongTypes,
    /// 200 with 24 MiB of JSON.
    HugeBody,
    /// 502 with an HTML page, as a load balancer in front of an API sends.
    HtmlBadGateway,
    /// 200 with an HTML page (a captive portal or proxy login).
    HtmlOk,
    /// 200 with no body.
    Empty,
    /// 200 with bytes that are not UTF-8.
    Garbage,
    /// The connection closes before any answer.
    Dropped,
}

/// Every kind, for tables.
pub const ALL: &[Answer] = &[
    Answer::TruncatedJson,
    Answer::WrongTypes,
    Answer::HugeBody,
    Answer::HtmlBadGateway,
    Answer::HtmlOk,
    Answer::Empty,
    Answer::Garbage,
    Answer::Dropped,
];

const HUGE: usize = 24 << 20;

impl Answer {
    fn response(self) -> Option<Vec<u8>> {
        let (status, kind, body): (&str, &str, Vec<u8>) = match self {
            Answer::TruncatedJson => ("200 OK", "application/json", br#"{"name": "projects/acc-project/locations/global/meshes/meshapps", "createTime": "2026-0"#.to_vec()),
            Answer::WrongTypes => ("200 OK", "application/json", br#"{"name": 42, "createTime": {"a": 1}, "subnetworks": "none", "bindings": "all", "etag": 7, "done": "yes", "hostnames": 5, "labels": [1], "items": {"x": true}, "status": 3}"#.to_vec()),
            Answer::HugeBody => {
                let mut b = br#"{"padding": ""#.to_vec();
                b.resize(HUGE, b'x');
                b.extend_from_slice(br#""}"#);
                ("200 OK", "application/json", b)
            }
            Answer::HtmlBadGateway => ("502 Bad Gateway", "text/html; charset=UTF-8", b"<!DOCTYPE html><html><head><title>502 Server Error</title></head><body><h1>Error: Server Error</h1><p>The server encountered a temporary error and could not complete your request.</p></body></html>".to_vec()),
            Answer::HtmlOk => ("200 OK", "text/html", b"<html><body><form action=/login>Sign in to continue</form></body></html>".to_vec()),
            Answer::Empty => ("200 OK", "application/json", Vec::new()),
            Answer::Garbage => ("200 OK", "application/json", vec![0xff, 0xfe, 0x00, 0x7b, 0xc3, 0x28, 0x80, 0x22]),
            Answer::Dropped => return None,
        };
        let mut out = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(&body);
        Some(out)
    }
}

/// The server: answers with the current [`Answer`] until dropped (its thread then ends with the process).
pub struct HostileServer {
    addr: std::net::SocketAddr,
    answer: Arc<Mutex<Answer>>,
    hits: Arc<Mutex<usize>>,
}

impl HostileServer {
    pub fn start() -> std::io::Result<HostileServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let answer = Arc::new(Mutex::new(Answer::Empty));
        let hits = Arc::new(Mutex::new(0));
        let (a, h) = (answer.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kind = a.lock().map(|g| *g).unwrap_or(Answer::Empty);
                if let Ok(mut n) = h.lock() {
                    *n += 1;
                }
                std::thread::spawn(move || serve(stream, kind));
            }
        });
        Ok(HostileServer { addr, answer, hits })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, answer: Answer) {
        if let Ok(mut g) = self.answer.lock() {
            *g = answer;
        }
    }

    /// Connections accepted so far.
    pub fn hits(&self) -> usize {
        self.hits.lock().map(|g| *g).unwrap_or(0)
    }
}

fn serve(stream: TcpStream, answer: Answer) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut length = 0usize;
    let mut line = String::new();
    while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        line.clear();
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    if let Some(bytes) = answer.response() {
        let mut stream = stream;
        // The client may hang up early (a capped read); nothing to do then.
        let _ = stream.write_all(&bytes);
        let _ = stream.flush();
    }
}
