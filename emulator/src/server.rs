//! The HTTP server: one port, API base URLs routed through `router`, `/_emulator/` through `control`.

use crate::clock::Clock;
use crate::reqlog::RequestLog;
use crate::router::{self, Answer, Incoming};
use crate::seed::{Seed, SeedError};
use crate::services::{registry, Registry};
use crate::world::{Settings, World};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Largest request body accepted (Google's limit for these APIs is far above what they need).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Where the initial state comes from.
#[derive(Clone, Debug, Default)]
pub enum SeedSource {
    /// The meshapps demo seed (`Seed::demo`).
    #[default]
    Demo,
    /// A seed file in the PRODUCT.md §7 format.
    File(PathBuf),
    /// A seed given in code.
    Inline(Seed),
    /// No projects at all.
    Empty,
}

/// How to start an emulator.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    pub seed: SeedSource,
    /// Overrides the seed's `timeScale`: every modelled duration is multiplied by it (0 = instant).
    pub time_scale: Option<f64>,
    /// Also append the request log (JSON lines) to this file.
    pub request_log: Option<PathBuf>,
    /// Start with a frozen clock at this instant (deterministic tests); time then moves only through
    /// `POST /_emulator/clock`.
    pub frozen_at: Option<DateTime<Utc>>,
    /// Address of the mesh proxy (`crate::mesh`); port 0 picks a free port.
    pub mesh_proxy_listen: SocketAddr,
    /// Seed of the mesh's random choices (weights, fault and failure percentages); random when None.
    pub mesh_seed: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: SeedSource::Demo,
            time_scale: None,
            request_log: None,
            frozen_at: None,
            mesh_proxy_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            mesh_seed: None,
        }
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("creating request log {path}: {source}")]
    RequestLog {
        path: String,
        source: std::io::Error,
    },
}

/// State shared by every request.
pub struct Shared {
    pub world: Mutex<World>,
    pub registry: Registry,
    pub log: Mutex<RequestLog>,
    /// Woken whenever the world may have changed, so `:wait` calls re-check.
    pub changed: Notify,
    pub initial_seed: Seed,
    pub time_scale_override: Option<f64>,
    /// Cancelled on shutdown so blocked `:wait` calls answer at once instead of holding shutdown up.
    pub stopping: tokio_util::sync::CancellationToken,
    /// The mesh data plane: seed, workloads, traces.
    pub mesh: crate::mesh::Mesh,
}

impl Shared {
    /// The world, locked. A handler that panicked leaves the data as it was; serving on is more useful to a
    /// test run than failing every later call, so a poisoned lock is recovered.
    pub fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The request log, locked (recovered like `world`).
    pub fn log(&self) -> std::sync::MutexGuard<'_, RequestLog> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A fresh world from the initial seed, keeping the current clock.
    pub fn fresh_world(&self, clock: Clock) -> Result<World, SeedError> {
        let mut world = World::new(clock, Settings::default());
        self.initial_seed
            .apply(&mut world, self.time_scale_override)?;
        Ok(world)
    }
}

/// The emulator entry point.
pub struct Emulator;

/// A started emulator; dropping it without `shutdown` leaves it serving until the runtime ends.
pub struct RunningEmulator {
    addr: SocketAddr,
    mesh_proxy_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<()>,
    mesh_task: tokio::task::JoinHandle<()>,
}

impl Emulator {
    /// Seeds the world, binds the port and serves in the background on the current tokio runtime.
    pub async fn start(config: Config) -> Result<RunningEmulator, StartError> {
        let seed = match &config.seed {
            SeedSource::Demo => Seed::demo(),
            SeedSource::File(path) => Seed::from_file(path)?,
            SeedSource::Inline(seed) => seed.clone(),
            SeedSource::Empty => Seed::default(),
        };
        let clock = match config.frozen_at {
            Some(at) => Clock::frozen(at),
            None => Clock::real(),
        };
        let log = match &config.request_log {
            Some(path) => RequestLog::with_file(path).map_err(|source| StartError::RequestLog {
                path: path.display().to_string(),
                source,
            })?,
            None => RequestLog::default(),
        };
        let mut shared = Shared {
            world: Mutex::new(World::new(clock.clone(), Settings::default())),
            registry: registry(),
            log: Mutex::new(log),
            changed: Notify::new(),
            initial_seed: seed,
            time_scale_override: config.time_scale,
            stopping: tokio_util::sync::CancellationToken::new(),
            mesh: crate::mesh::Mesh::new(config.mesh_seed),
        };
        shared.world = Mutex::new(shared.fresh_world(clock)?);
        let shared = Arc::new(shared);
        // Compute's discovery document alone is 5 MB; parse them while the caller gets on with its setup.
        tokio::task::spawn_blocking(crate::discovery::prewarm);
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
        if !addr.ip().is_loopback() {
            tracing::warn!(
                %addr,
                "csmrun-emulator listens on a non-loopback address: anyone who can reach it can drive its \
                 unauthenticated control plane (/_emulator/); see the threat model in emulator/README.md"
            );
        }
        let app = crate::control::routes()
            .route_layer(axum::middleware::from_fn(move |req, next| {
                crate::origin_guard::guard(addr, req, next)
            }))
            .fallback(api)
            .with_state(shared.clone());
        let stop = shared.stopping.clone();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "csmrun-emulator server stopped");
            }
        });
        let (mesh_proxy_addr, mesh_task) =
            serve_mesh_proxy(config.mesh_proxy_listen, shared.clone()).await?;
        Ok(RunningEmulator {
            addr,
            mesh_proxy_addr,
            shared,
            stop,
            task,
            mesh_task,
        })
    }
}

impl RunningEmulator {
    /// `http://HOST:PORT` (no trailing slash); API base URLs are this plus `/run/v2/` etc.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT` of the mesh proxy (callers use `http://CALLER@HOST:PORT` as their HTTP proxy).
    pub fn mesh_proxy_url(&self) -> String {
        format!("http://{}", self.mesh_proxy_addr)
    }

    pub fn mesh_proxy_addr(&self) -> SocketAddr {
        self.mesh_proxy_addr
    }

    /// One GET through the mesh as `caller` would make it (what the proxy port does, without HTTP to the proxy):
    /// for tools and for tests that make thousands of calls.
    pub async fn mesh_get(
        &self,
        caller: &str,
        url: &str,
        headers: http::HeaderMap,
    ) -> Result<crate::mesh::engine::Answer, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("mesh_get {url}: {e}"))?;
        if parsed.scheme() != "http" {
            return Err(format!(
                "mesh_get {url}: mesh hostnames are called over http://"
            ));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| format!("mesh_get {url}: no host"))?
            .to_ascii_lowercase();
        let context = crate::mesh::trace::incoming(&headers);
        let call = crate::mesh::engine::Call {
            caller: caller.to_string(),
            method: http::Method::GET,
            host,
            path: parsed.path().to_string(),
            query: parsed.query().map(str::to_string),
            headers,
            body: bytes::Bytes::new(),
            hops: 0,
            context,
            at: None,
        };
        Ok(crate::mesh::engine::call(self.shared.clone(), call).await)
    }

    /// Points a Cloud Run service at a real local process (`--workload NAME=URL`, `POST /_emulator/workloads`).
    pub fn set_workload_upstream(&self, service: &str, upstream: &str) -> Result<(), String> {
        let body = crate::mesh::workload::WorkloadBody {
            service: service.to_string(),
            project: None,
            region: None,
            upstream: Some(upstream.to_string()),
            fail_percent: None,
            fail_status: None,
            fail_kind: None,
            latency: None,
        };
        self.shared.mesh.set_workload(body.into_workload()?)
    }

    /// The request log so far, one JSON object per API call.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        self.shared.log().entries()
    }

    /// Runs `f` on the world under its lock (for in-process tests and tools).
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let mut world = self.shared.world();
        world.tick();
        f(&mut world)
    }

    /// Stops serving and waits for in-flight requests to finish.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
        let _ = self.mesh_task.await;
    }
}

/// Binds and serves the mesh proxy (`crate::mesh::proxy`) until the emulator stops.
async fn serve_mesh_proxy(
    listen: SocketAddr,
    shared: Arc<Shared>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), StartError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: listen,
        source,
    })?;
    if !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "the mesh proxy listens on a non-loopback address: anyone who can reach it can call the emulated \
             services and any local process a workload points at"
        );
    }
    let stopped = shared.stopping.clone();
    let app = axum::Router::new()
        .fallback(crate::mesh::proxy::handle)
        .with_state(shared);
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stopped.cancelled().await });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "csmrun-emulator mesh proxy stopped");
        }
    });
    Ok((addr, task))
}

/// Every request that is not for the control plane.
async fn api(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let logged_headers = crate::reqlog::logged_headers(req.headers());
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b.to_vec(),
        // Google's front end answers both with its HTML error page, before any API sees the request.
        Err(e) if is_length_limit(&e) => {
            return into_response(router::front_end_page(
                413,
                "Request Entity Too Large",
                "Your client issued a request that was too large.",
            ))
        }
        Err(_) => {
            return into_response(router::front_end_page(
                400,
                "Bad Request",
                "Your client has issued a malformed or illegal request.",
            ))
        }
    };
    let incoming = Incoming {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        authorization,
        body,
    };
    let answer = router::handle(&shared, incoming.clone_body()).await;
    let mut entry = router::log_entry(&method, &path, &query, &incoming.body, &answer);
    if let Some(headers) = logged_headers {
        entry["headers"] = headers;
    }
    shared.log().push(entry);
    into_response(answer)
}

/// True when reading the body stopped at [`MAX_BODY`] (not a malformed body, e.g. bad chunked encoding).
fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

fn into_response(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (content_type, body) = match answer {
        Answer::Json(_, v) => ("application/json; charset=UTF-8", Body::from(v.to_string())),
        Answer::Html(_, s) => ("text/html; charset=UTF-8", Body::from(s)),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
