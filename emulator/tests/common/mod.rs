//! Shared helpers for the HTTP tests: start an emulator, call it with a bearer token, drive its clock.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use csmrun_emulator::{Config, Emulator, RunningEmulator, SeedSource};
use serde_json::{json, Value};

pub const P: &str = "demo-project";
pub const NUMBER: &str = "123456789012";
pub const R: &str = "asia-northeast1";
pub const CLIENT_SA: &str = "meshapps-client@demo-project.iam.gserviceaccount.com";
pub const MESH: &str = "projects/demo-project/locations/global/meshes/meshapps";

pub struct Env {
    pub emu: RunningEmulator,
    pub http: reqwest::Client,
}

impl Env {
    /// Demo seed, clock frozen at 2026-03-01 (the demo mesh was created 2026-01-01, so it has settled).
    pub async fn start() -> Env {
        Env::frozen_with(Config::default()).await
    }

    /// `config` with the clock frozen at 2026-03-01 unless it says otherwise.
    pub async fn frozen_with(config: Config) -> Env {
        let frozen: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
        Env::with(Config {
            frozen_at: config.frozen_at.or(Some(frozen)),
            ..config
        })
        .await
    }

    /// `config` as given (a running clock when `frozen_at` is None).
    pub async fn with(config: Config) -> Env {
        let emu = Emulator::start(config).await.unwrap();
        Env {
            emu,
            http: reqwest::Client::new(),
        }
    }

    /// An inline seed, clock frozen as in `start`.
    pub async fn seeded(seed: &str) -> Env {
        let seed = csmrun_emulator::seed::Seed::from_json(seed).unwrap();
        Env::frozen_with(Config {
            seed: SeedSource::Inline(seed),
            ..Config::default()
        })
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emu.base_url())
    }

    /// An authenticated API call; returns the status and the body as text.
    pub async fn call_text(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), self.url(path))
            .bearer_auth("test-token");
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// An authenticated API call; returns the status and the JSON body (or the text as a JSON string).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, text) = self.call_text(method, path, body.as_ref()).await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, body).await;
        assert_eq!(status, 200, "{method} {path}: {v}");
        v
    }

    /// A control-plane call.
    pub async fn control(&self, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
        let mut req = self.http.request(
            method.parse().unwrap(),
            self.url(&format!("/_emulator/{path}")),
        );
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    pub async fn advance(&self, by: &str) {
        let (status, text) = self
            .control("POST", "clock", Some(json!({"advance": by})))
            .await;
        assert_eq!(status, 200, "{text}");
    }

    pub fn run(&self, rel: &str) -> String {
        format!("/run/v2/projects/{P}/locations/{R}/{rel}")
    }

    /// Lets a Cloud Run operation finish and returns it done.
    pub async fn finish_run(&self, op: &Value) -> Value {
        self.advance("600s").await;
        let name = op["name"].as_str().expect("operation name");
        let done = self.ok("GET", &format!("/run/v2/{name}"), None).await;
        assert_eq!(done["done"], true, "{done}");
        done
    }

    /// A Cloud Run service's IAM policy (`getIamPolicy`, policy version 3); `service` is its API path.
    pub async fn service_iam_policy(&self, service: &str) -> Value {
        self.ok(
            "GET",
            &format!("{service}:getIamPolicy?options.requestedPolicyVersion=3"),
            None,
        )
        .await
    }

    /// Grants a project role with setIamPolicy (read-modify-write).
    pub async fn grant(&self, role: &str, member: &str) {
        let path = format!("/cloudresourcemanager/v1/projects/{P}");
        let mut policy = self
            .ok(
                "POST",
                &format!("{path}:getIamPolicy"),
                Some(json!({"options": {"requestedPolicyVersion": 3}})),
            )
            .await;
        let bindings = policy["bindings"].as_array().cloned().unwrap_or_default();
        let mut bindings: Vec<Value> = bindings;
        bindings.push(json!({"role": role, "members": [member]}));
        policy["bindings"] = json!(bindings);
        self.ok(
            "POST",
            &format!("{path}:setIamPolicy"),
            Some(json!({"policy": policy})),
        )
        .await;
    }
}

/// A mesh client service spec like csmrun deploys (Direct VPC egress through the demo subnet).
pub fn mesh_client(image: &str) -> Value {
    json!({
        "launchStage": "BETA",
        "template": {
            "serviceAccount": CLIENT_SA,
            "containers": [{"image": image}],
            "serviceMesh": {"mesh": MESH},
            "vpcAccess": {"networkInterfaces": [{"network": "mesh-vpc", "subnetwork": "mesh-subnet"}],
                          "egress": "ALL_TRAFFIC"}
        }
    })
}

/// Policy bindings that let the mesh client's service account invoke a service.
pub fn client_invoker_bindings() -> Value {
    json!([{"role": "roles/run.invoker", "members": [format!("serviceAccount:{CLIENT_SA}")]}])
}

/// A plain service spec.
pub fn plain(image: &str) -> Value {
    json!({"template": {"containers": [{"image": image}]}})
}
