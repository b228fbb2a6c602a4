//! The benchmark world and configuration: N services sharing one mesh, domain and service account.

use std::time::Duration;

use serde_json::Value;

use crate::hcl::{ProviderSettings, ServiceHcl};
use crate::seed::{self, SeedBuilder};

/// The account every benchmark service runs as (so project IAM is shared by all of them).
pub const ACCOUNT: &str = "shared";
/// The role the provider grants that account.
pub const TRAFFIC_DIRECTOR_CLIENT: &str = "roles/trafficdirector.client";
/// The emulator's nominal IAM propagation delay and the anchors' blind `time_sleep` (both 90 s).
pub const IAM_PROPAGATION_SECONDS: f64 = 90.0;
/// The emulator's nominal mesh settle time (the seeded mesh is older than that).
pub const MESH_SETTLE_SECONDS: f64 = 60.0;

/// `serviceAccount:shared@…`.
pub fn member() -> String {
    format!("serviceAccount:{}", seed::sa(ACCOUNT))
}

/// A nominal duration scaled to real time.
pub fn scaled(nominal_seconds: f64, time_scale: f64) -> Duration {
    Duration::from_secs_f64(nominal_seconds * time_scale)
}

/// The emulator seed: the acceptance world at `time_scale`; with `granted`, the account already
/// holds `roles/trafficdirector.client` (so a create adds no grant and waits for none).
pub fn seed(time_scale: f64, granted: bool) -> Value {
    let mut builder = SeedBuilder::new();
    if granted {
        builder = builder.binding(TRAFFIC_DIRECTOR_CLIENT, &member());
    }
    let mut seed = builder.build();
    seed["timeScale"] = Value::from(time_scale);
    seed["iamPropagationDelay"] = Value::from(format!("{IAM_PROPAGATION_SECONDS}s"));
    seed["meshSettleTime"] = Value::from(format!("{MESH_SETTLE_SECONDS}s"));
    seed
}

/// The provider block with its waits equal to the emulator's scaled delays, as a user would set
/// them to Google's real ones.
pub fn provider(time_scale: f64) -> ProviderSettings {
    let ms = |s: f64| format!("{}ms", scaled(s, time_scale).as_millis());
    ProviderSettings {
        iam_propagation_wait: ms(IAM_PROPAGATION_SECONDS),
        mesh_settle_time: ms(MESH_SETTLE_SECONDS),
        extra: Vec::new(),
    }
}

/// Service `i`'s name (`bench-000`, …).
pub fn service_name(i: usize) -> String {
    format!("bench-{i:03}")
}

/// `main.tf` for `count` services on the shared mesh, domain, network and account.
pub fn config(time_scale: f64, count: usize) -> String {
    let mut text = provider(time_scale).render();
    for i in 0..count {
        let name = service_name(i);
        let block = ServiceHcl::new(&name.replace('-', "_"), &name)
            .string("service_account", &seed::sa(ACCOUNT))
            .render();
        text.push('\n');
        text.push_str(&block);
    }
    text
}
