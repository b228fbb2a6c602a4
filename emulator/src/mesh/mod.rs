//! The mesh data plane: an HTTP forward proxy that stands for a caller's Cloud Service Mesh sidecar and routes
//! its calls from the HTTPRoutes, backend services, serverless NEGs, Cloud Run services and IAM the APIs hold.
//!
//! A call, hop by hop (`engine::call`):
//!
//! ```text
//! proxy user (Proxy-Authorization) -> caller: the Cloud Run service and its serving revision
//!   no serviceMesh on that revision  -> the mesh hostname does not resolve: connect timeout, 504
//!   HTTPRoute of the caller's mesh for Host (precise name, else the longest wildcard) -> none: 404
//!   first rule whose matches match (path, headers, query)                                -> none: 404
//!   destination by weight -> fault injection (delay, abort) on the caller's side
//!   backend service -> serverless NEG -> Cloud Run service -> its latest ready revision  -> none: 503
//!   attempts (retry policy, per-try timeout, route timeout):
//!     IAM: roles/run.invoker for the caller's account on the service (or its project)     -> else 403
//!     identity token added; the workload answers: built-in, or a real local process
//! ```
//!
//! Time: waits the model adds (fault delays, workload latency, the non-mesh connect timeout) count at their
//! nominal length against the route and per-try timeouts, but last only `nominal x timeScale` of real time, so
//! tests at time scale 0 are instant and still deterministic. Time spent in a real local process counts as
//! itself. Spans report mesh time: a hop ends at its start plus what it spent.
//!
//! Random choices come from one seeded SplitMix64 stream (`rng`), drawn in a fixed order per hop: the
//! destination (only when the rule has more than one), the fault delay (only when set), the fault abort (only
//! when set), then per attempt the workload's failure (only when it has a `failPercent`). Trace and span ids
//! come from a second stream, so they never shift the choices. With one caller calling in sequence, a seed
//! gives the same answers every run.
//!
//! Bounds: request and response bodies 32 MiB (a request body must arrive within 60 s), 16 hops per call chain
//! (508 beyond), 256 calls in flight (503 beyond), 10 retries, 16 hosts in a built-in `/call/` chain, 300 s per
//! call without a route timeout and per fault delay.

mod built_in;
mod call;
pub mod control;
pub mod engine;
pub mod matching;
pub mod policy;
pub mod proxy;
pub mod resolve;
pub mod rng;
pub mod token;
pub mod trace;
mod upstream;
pub mod workload;

pub use call::{Answer, Call};

use rng::SplitMix64;
use std::sync::{Mutex, MutexGuard};
use workload::{Workload, Workloads};

/// The most calls the proxy serves at once.
pub const MAX_IN_FLIGHT: usize = 256;

/// The mesh data plane's own state (the routing configuration itself lives in the world).
pub struct Mesh {
    inner: Mutex<Inner>,
    pub(crate) in_flight: tokio::sync::Semaphore,
    pub(crate) client: reqwest::Client,
}

struct Inner {
    initial_seed: u64,
    seed: u64,
    choices: SplitMix64,
    ids: SplitMix64,
    workloads: Workloads,
    traces: trace::Traces,
}

/// Ids must not follow the choices' stream (or a span id would shift the next weighted pick).
const ID_STREAM: u64 = 0x5EED_0F1D_5EED_0F1D;

impl Inner {
    fn reseed(&mut self, seed: u64) {
        self.seed = seed;
        self.choices = SplitMix64::new(seed);
        self.ids = SplitMix64::new(seed ^ ID_STREAM);
    }
}

impl Mesh {
    /// A mesh data plane with `seed`, or a random one.
    pub fn new(seed: Option<u64>) -> Mesh {
        let seed = seed.unwrap_or_else(rand::random);
        let client = reqwest::Client::builder()
            // The proxy is the mesh: it must never send its own calls through HTTP_PROXY.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Mesh {
            inner: Mutex::new(Inner {
                initial_seed: seed,
                seed,
                choices: SplitMix64::new(seed),
                ids: SplitMix64::new(seed ^ ID_STREAM),
                workloads: Workloads::default(),
                traces: trace::Traces::default(),
            }),
            in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
            client,
        }
    }

    /// Recovers a poisoned lock like `Shared::world`: serving on beats failing every later call.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Restarts the random choices from `seed` (`meshSeed`).
    pub fn reseed(&self, seed: u64) {
        self.lock().reseed(seed);
    }

    pub fn seed(&self) -> u64 {
        self.lock().seed
    }

    /// Back to the start: no workload settings, no spans, the first seed again.
    pub fn reset(&self) {
        let mut inner = self.lock();
        let seed = inner.initial_seed;
        inner.reseed(seed);
        inner.workloads.clear();
        inner.traces.clear();
    }

    pub(crate) fn draw<T>(&self, f: impl FnOnce(&mut SplitMix64) -> T) -> T {
        f(&mut self.lock().choices)
    }

    /// A fresh non-zero id of `words` 64-bit words in lower-case hex (trace ids 2, span ids 1).
    pub(crate) fn new_id(&self, words: usize) -> String {
        let mut inner = self.lock();
        loop {
            let id: String = (0..words)
                .map(|_| format!("{:016x}", inner.ids.next_u64()))
                .collect();
            if id.bytes().any(|b| b != b'0') {
                return id;
            }
        }
    }

    pub fn set_workload(&self, w: Workload) -> Result<(), String> {
        self.lock().workloads.set(w)
    }

    pub(crate) fn workload(&self, name: &str, project: &str, region: &str) -> Option<Workload> {
        self.lock().workloads.find(name, project, region).cloned()
    }

    pub fn workloads(&self) -> serde_json::Value {
        self.lock().workloads.render()
    }

    pub fn clear_workloads(&self) {
        self.lock().workloads.clear();
    }

    pub(crate) fn record(&self, span: trace::Span) {
        self.lock().traces.push(span);
    }

    /// The spans as JSON lines (`GET /_emulator/traces`), optionally of one trace.
    pub fn traces(&self, trace_id: Option<&str>) -> String {
        self.lock().traces.json_lines(trace_id)
    }

    pub fn clear_traces(&self) {
        self.lock().traces.clear();
    }
}
