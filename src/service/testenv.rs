//! Tests against an in-process csmrun-emulator: provider data pointed at it, a planned service, a create.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use csmrun_emulator::faults::Rule;
use csmrun_emulator::{Config, Emulator, RunningEmulator};
use tfplug::Val;
use tokio_util::sync::CancellationToken;

use super::model::ServiceModel;
use super::plan::{plan, PlanDefaults};
use super::runner::GraphEnd;
use super::spec::Spec;
use super::steps::create_graph;
use super::steps::Ctx;
use crate::config::{self, ProviderConfig, ProviderData};

pub const PROJECT: &str = "demo-project";
pub const REGION: &str = "asia-northeast1";
pub const ACCOUNT: &str = "meshapps-target@demo-project.iam.gserviceaccount.com";

/// The emulator (demo seed, every modelled delay zero) and provider data for it.
pub struct Env {
    pub emu: RunningEmulator,
    pub data: Arc<ProviderData>,
}

pub async fn start() -> Env {
    let emu = Emulator::start(Config {
        time_scale: Some(0.0),
        ..Default::default()
    })
    .await
    .expect("emulator starts");
    let data = provider(&emu, "0s");
    Env { emu, data }
}

/// Provider data of a new provider process against `emu`, with this `iam_propagation_wait`.
pub fn provider(emu: &RunningEmulator, iam_propagation_wait: &str) -> Arc<ProviderData> {
    let host = emu.addr().to_string();
    let cfg = ProviderConfig {
        iam_propagation_wait: Val::Known(iam_propagation_wait.into()),
        mesh_settle_time: Val::Known("0s".into()),
        ..Default::default()
    };
    let env = move |k: &str| (k == gcp::EMULATOR_HOST_ENV).then(|| host.clone());
    let resolved = config::resolve(&cfg, &env).expect("settings resolve");
    Arc::new(config::build(resolved).expect("clients build"))
}

/// Provider data like [`provider`] whose clients never retry (a fault injected on every call is final at once).
pub fn provider_without_retries(emu: &RunningEmulator) -> Arc<ProviderData> {
    let host = emu.addr().to_string();
    let cfg = ProviderConfig {
        iam_propagation_wait: Val::Known("0s".into()),
        mesh_settle_time: Val::Known("0s".into()),
        ..Default::default()
    };
    let env = move |k: &str| (k == gcp::EMULATOR_HOST_ENV).then(|| host.clone());
    let mut resolved = config::resolve(&cfg, &env).expect("settings resolve");
    resolved.settings.retry = Some(gcp::RetryPolicy::none());
    Arc::new(config::build(resolved).expect("clients build"))
}

/// A planned service `name` in the demo project; `edit` changes the configuration first.
pub fn planned(name: &str, edit: impl FnOnce(&mut ServiceModel)) -> ServiceModel {
    let k = |s: &str| Val::Known(s.to_string());
    let mut m = ServiceModel {
        name: k(name),
        image: k("asia-northeast1-docker.pkg.dev/demo-project/apps/target:1"),
        mesh: k("meshapps"),
        domain: k("meshapps.internal"),
        network: k("mesh-vpc"),
        subnetwork: k("mesh-subnet"),
        service_account: k(ACCOUNT),
        ..Default::default()
    };
    edit(&mut m);
    let defaults = PlanDefaults {
        project: Some(PROJECT.into()),
        region: Some(REGION.into()),
        ..Default::default()
    };
    plan(&m, None, &defaults)
}

pub fn spec(m: &ServiceModel) -> Spec {
    Spec::from_model(m, &BTreeMap::new()).expect("valid spec")
}

impl Env {
    pub fn ctx(&self, m: &ServiceModel, existing: bool) -> Arc<Ctx> {
        self.ctx_of(&self.data, m, existing)
    }

    /// A context of the provider process `data`.
    pub fn ctx_of(&self, data: &Arc<ProviderData>, m: &ServiceModel, existing: bool) -> Arc<Ctx> {
        Ctx::new(
            Arc::clone(data),
            spec(m),
            CancellationToken::new(),
            Duration::from_secs(60),
            existing,
        )
    }

    /// Creates the service with the create graph; panics unless it succeeds. Returns the roles it owns.
    pub async fn create(&self, m: &ServiceModel) -> Vec<String> {
        self.create_in(&self.data, m).await
    }

    /// [`Env::create`] in the provider process `data` (another Terraform run).
    pub async fn create_in(&self, data: &Arc<ProviderData>, m: &ServiceModel) -> Vec<String> {
        let c = self.ctx_of(data, m, false);
        let cleanup = self.ctx_of(data, m, false);
        match create_graph(&c, &cleanup).run(&c.cancel).await {
            GraphEnd::Done(_) => c.grants.owned(),
            other => panic!("create of {:?} failed: {other:?}", m.name),
        }
    }

    /// Adds fault rules: `(api, method suffix, status, times)`.
    pub fn fail(&self, api: &str, method: &str, code: u16, times: Option<u32>) {
        let rule = Rule {
            api: Some(api.into()),
            method: Some(method.into()),
            rate: None,
            code: Some(code),
            message: Some("injected by the test".into()),
            times,
            latency: None,
            operation_error: None,
            ..Default::default()
        };
        self.emu
            .with_world(|w| w.faults.add(vec![rule]))
            .expect("fault rule accepted");
    }

    pub fn clear_faults(&self) {
        self.emu.with_world(|w| w.faults.clear());
    }

    /// Keys of every resource in the emulator (collection/key).
    pub fn resources(&self) -> Vec<String> {
        self.emu.with_world(|w| {
            w.resources
                .iter()
                .flat_map(|(c, items)| items.keys().map(move |k| format!("{c}/{k}")))
                .collect()
        })
    }

    /// True when some resource key ends with `suffix`.
    pub fn has(&self, suffix: &str) -> bool {
        self.resources().iter().any(|k| k.ends_with(suffix))
    }

    /// The resource whose key ends with `suffix`.
    pub fn resource(&self, suffix: &str) -> Option<serde_json::Value> {
        self.emu.with_world(|w| {
            w.resources
                .values()
                .flat_map(|items| items.iter())
                .find(|(k, _)| k.ends_with(suffix))
                .map(|(_, v)| v.clone())
        })
    }

    /// Members of `role` in the project policy.
    pub fn members(&self, role: &str) -> Vec<String> {
        let state = self.emu.with_world(|w| w.dump());
        state["projects"][0]["iamPolicy"]["bindings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["role"] == role && b.get("condition").is_none())
            .flat_map(|b| b["members"].as_array().cloned().unwrap_or_default())
            .filter_map(|m| m.as_str().map(str::to_string))
            .collect()
    }
}
