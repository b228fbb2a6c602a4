//! The acceptance world: one project with a mesh, a VPC and a subnet, as an emulator seed.
//!
//! Durations in the emulator are scaled by [`TIME_SCALE`] so that IAM propagation and mesh settling
//! take a second or two; the provider is configured with matching short waits (see `stack`).

use serde_json::{json, Value};

/// The project every acceptance test works in.
pub const PROJECT: &str = "acc-project";
/// Its number.
pub const PROJECT_NUMBER: &str = "314159265358";
/// The region of the subnet and the services.
pub const REGION: &str = "asia-northeast1";
pub const MESH: &str = "meshapps";
pub const NETWORK: &str = "mesh-vpc";
pub const SUBNET: &str = "mesh-subnet";
/// A second subnet without Private Google Access.
pub const SUBNET_NO_PGA: &str = "closed-subnet";
pub const DOMAIN: &str = "meshapps.internal";

/// Multiplies every emulator duration: Cloud Run create 20 s → 0.4 s, IAM propagation 90 s → 1.8 s,
/// mesh settle 60 s → 1.2 s.
pub const TIME_SCALE: f64 = 0.02;

/// `NAME@acc-project.iam.gserviceaccount.com`.
pub fn sa(name: &str) -> String {
    format!("{name}@{PROJECT}.iam.gserviceaccount.com")
}

/// The accounts the seed knows.
pub const ACCOUNTS: &[&str] = &["app-a", "app-b", "app-c", "shared", "caller", "other"];

/// A seed under construction.
#[derive(Debug, Clone)]
pub struct SeedBuilder {
    seed: Value,
}

impl Default for SeedBuilder {
    fn default() -> Self {
        SeedBuilder::new()
    }
}

impl SeedBuilder {
    /// The standard world: an old mesh, a subnet with Private Google Access, one without, no IAM
    /// bindings.
    pub fn new() -> SeedBuilder {
        let accounts: Vec<String> = ACCOUNTS.iter().map(|a| sa(a)).collect();
        SeedBuilder {
            seed: json!({
                "timeScale": TIME_SCALE,
                "iamPropagationDelay": "90s",
                "meshSettleTime": "60s",
                "projects": [{
                    "id": PROJECT,
                    "number": PROJECT_NUMBER,
                    "networks": [{"name": NETWORK, "subnetworks": [
                        {"name": SUBNET, "region": REGION, "ipCidrRange": "10.10.0.0/24",
                         "privateIpGoogleAccess": true},
                        {"name": SUBNET_NO_PGA, "region": REGION, "ipCidrRange": "10.20.0.0/24",
                         "privateIpGoogleAccess": false}
                    ]}],
                    "meshes": [{"name": MESH, "createTime": "2026-01-01T00:00:00Z"}],
                    "serviceAccounts": accounts,
                    "iamBindings": []
                }]
            }),
        }
    }

    /// The mesh was created at `at` (RFC 3339).
    pub fn mesh_created(mut self, at: &str) -> SeedBuilder {
        self.seed["projects"][0]["meshes"][0]["createTime"] = json!(at);
        self
    }

    /// A project binding that exists before Terraform runs (effective at once).
    pub fn binding(mut self, role: &str, member: &str) -> SeedBuilder {
        if let Some(b) = self.seed["projects"][0]["iamBindings"].as_array_mut() {
            b.push(json!({"role": role, "members": [member]}));
        }
        self
    }

    /// Emulator IAM propagation delay (before scaling).
    pub fn iam_propagation_delay(mut self, d: &str) -> SeedBuilder {
        self.seed["iamPropagationDelay"] = json!(d);
        self
    }

    /// Emulator mesh settle time (before scaling).
    pub fn mesh_settle_time(mut self, d: &str) -> SeedBuilder {
        self.seed["meshSettleTime"] = json!(d);
        self
    }

    /// Failed mesh services stay failed until deleted and recreated.
    pub fn sticky_mesh_failures(mut self) -> SeedBuilder {
        self.seed["stickyMeshFailures"] = json!(true);
        self
    }

    pub fn build(self) -> Value {
        self.seed
    }
}
