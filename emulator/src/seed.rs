//! The seed file (PRODUCT.md §7 format) and the built-in meshapps demo seed.

use crate::clock::parse_duration;
use crate::iam::Policy;
use crate::world::{collections, Project, World};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

/// A seed file. Unknown keys are rejected so typos do not silently seed nothing.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub time_scale: Option<f64>,
    #[serde(default)]
    pub iam_propagation_delay: Option<String>,
    #[serde(default)]
    pub mesh_settle_time: Option<String>,
    #[serde(default)]
    pub sticky_mesh_failures: Option<bool>,
    /// How long a Cloud DNS change stays `pending` (default 5s).
    #[serde(default)]
    pub dns_change_pending_time: Option<String>,
    /// Cloud DNS records per record set (default Google's 100).
    #[serde(default)]
    pub dns_records_per_rrset: Option<u32>,
    #[serde(default)]
    pub projects: Vec<SeedProject>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedProject {
    pub id: String,
    pub number: String,
    #[serde(default)]
    pub networks: Vec<SeedNetwork>,
    #[serde(default)]
    pub meshes: Vec<SeedMesh>,
    #[serde(default)]
    pub service_accounts: Vec<String>,
    #[serde(default)]
    pub iam_bindings: Vec<SeedBinding>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedNetwork {
    pub name: String,
    #[serde(default)]
    pub subnetworks: Vec<SeedSubnetwork>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedSubnetwork {
    pub name: String,
    pub region: String,
    #[serde(default)]
    pub ip_cidr_range: Option<String>,
    #[serde(default)]
    pub private_ip_google_access: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedMesh {
    pub name: String,
    #[serde(default)]
    pub create_time: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedBinding {
    pub role: String,
    pub members: Vec<String>,
    #[serde(default)]
    pub condition: Option<Value>,
}

/// Why a seed could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("seed is not valid JSON in the expected format: {0}")]
    Format(#[from] serde_json::Error),
    #[error("seed key {key}: '{value}' is not a duration such as \"90s\" (at most 315576000000s)")]
    Duration { key: &'static str, value: String },
    #[error("seed key {0}")]
    Range(String),
    #[error("reading seed file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

impl Seed {
    pub fn from_json(text: &str) -> Result<Seed, SeedError> {
        Ok(serde_json::from_str(text)?)
    }

    pub fn from_file(path: &std::path::Path) -> Result<Seed, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Seed::from_json(&text)
    }

    /// The meshapps demo: project `demo-project` (123456789012), `mesh-vpc`/`mesh-subnet` in asia-northeast1
    /// with Private Google Access, an old `meshapps` mesh and the client, proxy and target service accounts.
    pub fn demo() -> Seed {
        let accounts = ["client", "proxy", "target1", "target2", "target3", "target"]
            .map(|a| format!("meshapps-{a}@demo-project.iam.gserviceaccount.com"));
        Seed {
            projects: vec![SeedProject {
                id: "demo-project".into(),
                number: "123456789012".into(),
                networks: vec![SeedNetwork {
                    name: "mesh-vpc".into(),
                    subnetworks: vec![SeedSubnetwork {
                        name: "mesh-subnet".into(),
                        region: "asia-northeast1".into(),
                        ip_cidr_range: Some("10.10.0.0/24".into()),
                        private_ip_google_access: true,
                    }],
                }],
                meshes: vec![SeedMesh {
                    name: "meshapps".into(),
                    create_time: DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
                        .ok()
                        .map(|t| t.with_timezone(&Utc)),
                }],
                service_accounts: accounts.to_vec(),
                iam_bindings: vec![],
            }],
            ..Seed::default()
        }
    }

    /// Adds the seed's settings and resources to `world` (existing projects of the same id are replaced).
    pub fn apply(
        &self,
        world: &mut World,
        time_scale_override: Option<f64>,
    ) -> Result<(), SeedError> {
        if let Some(scale) = time_scale_override.or(self.time_scale) {
            world.settings.time_scale =
                crate::clock::check_rate("timeScale", scale).map_err(SeedError::Range)?;
        }
        if let Some(text) = &self.iam_propagation_delay {
            world.settings.iam_propagation_delay =
                parse_duration(text).ok_or_else(|| SeedError::Duration {
                    key: "iamPropagationDelay",
                    value: text.clone(),
                })?;
        }
        if let Some(text) = &self.mesh_settle_time {
            world.settings.mesh_settle_time =
                parse_duration(text).ok_or_else(|| SeedError::Duration {
                    key: "meshSettleTime",
                    value: text.clone(),
                })?;
        }
        if let Some(sticky) = self.sticky_mesh_failures {
            world.settings.sticky_mesh_failures = sticky;
        }
        if let Some(text) = &self.dns_change_pending_time {
            world.settings.dns_change_pending_time =
                parse_duration(text).ok_or_else(|| SeedError::Duration {
                    key: "dnsChangePendingTime",
                    value: text.clone(),
                })?;
        }
        if let Some(n) = self.dns_records_per_rrset {
            world.settings.dns_records_per_rrset = n.max(1);
        }
        for p in &self.projects {
            apply_project(world, p);
        }
        Ok(())
    }
}

fn apply_project(world: &mut World, p: &SeedProject) {
    let now = world.now();
    let long_ago = DateTime::<Utc>::UNIX_EPOCH;
    let bindings: Vec<Value> = p
        .iam_bindings
        .iter()
        .map(|b| {
            let mut v = json!({"role": b.role, "members": b.members});
            if let Some(c) = &b.condition {
                v["condition"] = c.clone();
            }
            v
        })
        .collect();
    let resource = format!("projects/{}", p.id);
    world.projects.insert(
        p.id.clone(),
        Project {
            id: p.id.clone(),
            number: p.number.clone(),
            create_time: long_ago,
            policy: Policy::seeded(&resource, bindings, long_ago),
            service_accounts: p.service_accounts.iter().cloned().collect(),
        },
    );
    let compute = "https://www.googleapis.com/compute/v1";
    for n in &p.networks {
        let network_link = format!("{compute}/projects/{}/global/networks/{}", p.id, n.name);
        let id = world.next_numeric_id();
        let subnet_links: Vec<String> = n
            .subnetworks
            .iter()
            .map(|s| {
                format!(
                    "{compute}/projects/{}/regions/{}/subnetworks/{}",
                    p.id, s.region, s.name
                )
            })
            .collect();
        world.put(
            collections::NETWORKS,
            &format!("projects/{}/global/networks/{}", p.id, n.name),
            json!({
                "kind": "compute#network",
                "id": id,
                "creationTimestamp": crate::clock::compute_timestamp(now),
                "name": n.name,
                "selfLink": network_link,
                "selfLinkWithId": format!("{compute}/projects/{}/global/networks/{id}", p.id),
                "autoCreateSubnetworks": false,
                "subnetworks": subnet_links,
                "routingConfig": {"routingMode": "REGIONAL"},
                "networkFirewallPolicyEnforcementOrder": "AFTER_CLASSIC_FIREWALL",
            }),
        );
        for s in &n.subnetworks {
            let cidr = s
                .ip_cidr_range
                .clone()
                .unwrap_or_else(|| "10.0.0.0/24".into());
            let id = world.next_numeric_id();
            world.put(
                collections::SUBNETWORKS,
                &format!("projects/{}/regions/{}/subnetworks/{}", p.id, s.region, s.name),
                json!({
                    "kind": "compute#subnetwork",
                    "id": id,
                    "creationTimestamp": crate::clock::compute_timestamp(now),
                    "name": s.name,
                    "network": network_link,
                    "ipCidrRange": cidr,
                    "gatewayAddress": gateway(&cidr),
                    "region": format!("{compute}/projects/{}/regions/{}", p.id, s.region),
                    "selfLink": format!("{compute}/projects/{}/regions/{}/subnetworks/{}", p.id, s.region, s.name),
                    "privateIpGoogleAccess": s.private_ip_google_access,
                    // Google's fingerprints are 8 bytes in base64 (format: byte in compute.v1.json).
                    "fingerprint": subnet_fingerprint(&id),
                    "purpose": "PRIVATE",
                    "stackType": "IPV4_ONLY",
                }),
            );
        }
    }
    for m in &p.meshes {
        let created = crate::clock::rfc3339(m.create_time.unwrap_or(long_ago));
        let name = format!("projects/{}/locations/global/meshes/{}", p.id, m.name);
        world.put(
            collections::MESHES,
            &name,
            json!({"name": name, "createTime": created, "updateTime": created}),
        );
    }
}

/// The first usable address of an IPv4 range (`10.10.0.0/24` → `10.10.0.1`).
fn gateway(cidr: &str) -> String {
    let base = cidr.split('/').next().unwrap_or(cidr);
    let mut octets: Vec<u8> = base.split('.').filter_map(|o| o.parse().ok()).collect();
    if octets.len() == 4 {
        octets[3] = octets[3].saturating_add(1);
        return octets
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(".");
    }
    base.to_string()
}

/// A subnetwork's fingerprint: 8 bytes, base64 (`format: byte` in compute.v1.json), stable per subnetwork.
fn subnet_fingerprint(id: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("fp-{id}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_seed_example_parses() {
        let text = r#"{
          "timeScale": 1.0, "iamPropagationDelay": "90s", "meshSettleTime": "60s",
          "projects": [{"id": "demo-project", "number": "123456789012",
            "networks": [{"name": "mesh-vpc", "subnetworks": [{"name": "mesh-subnet", "region": "asia-northeast1",
               "ipCidrRange": "10.10.0.0/24", "privateIpGoogleAccess": true}]}],
            "meshes": [{"name": "meshapps", "createTime": "2026-01-01T00:00:00Z"}],
            "serviceAccounts": ["meshapps-client@demo-project.iam.gserviceaccount.com"],
            "iamBindings": [{"role": "roles/trafficdirector.client",
               "members": ["serviceAccount:meshapps-client@demo-project.iam.gserviceaccount.com"]}]}]}"#;
        let seed = Seed::from_json(text).unwrap();
        assert_eq!(
            seed.projects[0].networks[0].subnetworks[0].name,
            "mesh-subnet"
        );
    }
}
