//! One csmrun-emulator per test, served in-process, driven over its HTTP control plane.
//!
//! Tests are synchronous (they run the terraform binary and wait), so the emulator gets its own
//! tokio runtime and every call blocks on it.

use anyhow::{bail, Context, Result};
use csmrun_emulator::seed::Seed;
use csmrun_emulator::{Config, Emulator, RunningEmulator, SeedSource};
use serde_json::Value;

/// A running emulator with the runtime that serves it.
pub struct TestEmulator {
    runtime: tokio::runtime::Runtime,
    running: Option<RunningEmulator>,
    http: reqwest::Client,
}

impl TestEmulator {
    /// Starts an emulator seeded with `seed` (PRODUCT §7 seed JSON).
    pub fn start(seed: &Value) -> Result<TestEmulator> {
        let seed = Seed::from_json(&seed.to_string()).context("acceptance seed")?;
        TestEmulator::start_with(SeedSource::Inline(seed), None)
    }

    /// Starts an emulator with the built-in meshapps demo project (`demo-project`, what `scripts/demo`
    /// serves and `examples/meshapps/` defaults to), every duration scaled by `time_scale`.
    pub fn start_demo(time_scale: f64) -> Result<TestEmulator> {
        TestEmulator::start_with(SeedSource::Demo, Some(time_scale))
    }

    fn start_with(seed: SeedSource, time_scale: Option<f64>) -> Result<TestEmulator> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("emulator runtime")?;
        let running = runtime
            .block_on(Emulator::start(Config {
                seed,
                time_scale,
                request_log: request_log_path(),
                ..Config::default()
            }))
            .context("starting csmrun-emulator")?;
        Ok(TestEmulator {
            runtime,
            running: Some(running),
            http: reqwest::Client::new(),
        })
    }

    fn running(&self) -> &RunningEmulator {
        self.running
            .as_ref()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }

    /// `HOST:PORT`, the value of `CSMRUN_EMULATOR_HOST`.
    pub fn host(&self) -> String {
        self.running().addr().to_string()
    }

    /// `HOST:PORT` of the mesh proxy (the sidecar stand-in; the caller is the proxy user).
    pub fn mesh_proxy_addr(&self) -> String {
        self.running().mesh_proxy_addr().to_string()
    }

    /// `http://HOST:PORT`.
    pub fn base_url(&self) -> String {
        self.running().base_url()
    }

    /// Sends one request and returns (status, JSON body or Null). `auth` adds a bearer token, as
    /// every API call needs; the control plane does not.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        auth: bool,
    ) -> Result<(u16, Value)> {
        let url = format!("{}{}", self.base_url(), path);
        let method = reqwest::Method::from_bytes(method.as_bytes()).context("HTTP method")?;
        let mut req = self.http.request(method.clone(), &url);
        if auth {
            req = req.bearer_auth("acceptance-test-token");
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        self.runtime.block_on(async move {
            let resp = req
                .send()
                .await
                .with_context(|| format!("{method} {url}"))?;
            let status = resp.status().as_u16();
            let text = resp
                .text()
                .await
                .with_context(|| format!("{method} {url}"))?;
            let json = serde_json::from_str(&text).unwrap_or(Value::Null);
            Ok((status, json))
        })
    }

    /// An authenticated Google API call that must succeed (2xx); returns the body.
    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let (status, json) = self.call(method, path, body, true)?;
        if !(200..300).contains(&status) {
            bail!("{method} {path} answered {status}: {json}");
        }
        Ok(json)
    }

    fn control(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let (status, json) = self.call(method, &format!("/_emulator/{path}"), body, false)?;
        if !(200..300).contains(&status) {
            bail!("{method} /_emulator/{path} answered {status}: {json}");
        }
        Ok(json)
    }

    /// `GET /_emulator/state`.
    pub fn state(&self) -> Result<Value> {
        self.control("GET", "state", None)
    }

    /// `GET /_emulator/requests`: the API request log, one object per call.
    pub fn requests(&self) -> Result<Vec<Value>> {
        let url = format!("{}/_emulator/requests", self.base_url());
        let text = self.runtime.block_on(async {
            self.http
                .get(&url)
                .send()
                .await
                .context("GET /_emulator/requests")?
                .text()
                .await
                .context("reading the request log")
        })?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).with_context(|| format!("request log line {l}")))
            .collect()
    }

    /// `DELETE /_emulator/requests`.
    pub fn clear_requests(&self) -> Result<()> {
        self.control("DELETE", "requests", None).map(|_| ())
    }

    /// `POST /_emulator/faults` with `rules` (one rule or `{"rules": [...]}`).
    pub fn add_faults(&self, rules: &Value) -> Result<()> {
        self.control("POST", "faults", Some(rules)).map(|_| ())
    }

    /// `DELETE /_emulator/faults`.
    pub fn clear_faults(&self) -> Result<()> {
        self.control("DELETE", "faults", None).map(|_| ())
    }

    /// `GET /_emulator/faults`: the rules still armed.
    pub fn faults(&self) -> Result<Value> {
        self.control("GET", "faults", None)
    }

    /// `POST /_emulator/settings`.
    pub fn settings(&self, settings: &Value) -> Result<()> {
        self.control("POST", "settings", Some(settings)).map(|_| ())
    }

    /// `POST /_emulator/clock`.
    pub fn clock(&self, change: &Value) -> Result<Value> {
        self.control("POST", "clock", Some(change))
    }

    /// The emulator's current time (`GET /_emulator/clock`).
    pub fn now(&self) -> Result<chrono::DateTime<chrono::Utc>> {
        let clock = self.control("GET", "clock", None)?;
        let now = clock["now"].as_str().context("clock.now")?;
        Ok(chrono::DateTime::parse_from_rfc3339(now)
            .context("clock.now")?
            .with_timezone(&chrono::Utc))
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.shutdown());
        }
    }
}

/// Where this emulator writes its request log: `<target dir>/acctest-requests/<test binary>-<pid>-<n>.jsonl`,
/// so CI can run `csmrun-emulator conformance` over every request the acceptance run sent
/// (`.ci/conformance`). The target dir is found from the test binary (`target/<profile>/deps/…`),
/// which also holds when `CARGO_TARGET_DIR` moves it. `None` (no log) outside that layout, e.g. for
/// the `csmrun-bench` and `csmrun-campaign` binaries (`target/<profile>/…`), which keep their own logs.
fn request_log_path() -> Option<std::path::PathBuf> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    if deps.file_name()? != "deps" {
        return None;
    }
    let target = deps.parent()?.parent()?;
    let dir = target.join("acctest-requests");
    std::fs::create_dir_all(&dir).ok()?;
    let stem = exe.file_stem()?.to_string_lossy().into_owned();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Some(dir.join(format!("{stem}-{}-{n}.jsonl", std::process::id())))
}
