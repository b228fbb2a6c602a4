//! The emulated cloud's state: projects, resources as JSON documents, IAM, operations, clock and faults.

use crate::clock::Clock;
use crate::faults::Faults;
use crate::iam::Policy;
use crate::operations::{Completion, NewOperation, Operations};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Collection names shared between modules. Keys inside a collection are full resource names that always use
/// the project **id** (never the number), e.g. `projects/demo-project/global/networks/mesh-vpc`.
pub mod collections {
    /// Compute networks: `projects/{p}/global/networks/{n}` → Compute `Network` JSON.
    pub const NETWORKS: &str = "compute.networks";
    /// Compute subnetworks: `projects/{p}/regions/{r}/subnetworks/{s}` → Compute `Subnetwork` JSON
    /// (with `privateIpGoogleAccess`).
    pub const SUBNETWORKS: &str = "compute.subnetworks";
    /// Network Services meshes: `projects/{p}/locations/global/meshes/{m}` → `Mesh` JSON (with `createTime`).
    pub const MESHES: &str = "networkservices.meshes";
    /// Cloud Run services: `projects/{p}/locations/{r}/services/{s}` → `GoogleCloudRunV2Service` JSON.
    pub const RUN_SERVICES: &str = "run.services";
    /// Cloud Run revisions: `projects/{p}/locations/{r}/services/{s}/revisions/{rev}`.
    pub const RUN_REVISIONS: &str = "run.revisions";
    /// DNS managed zones: `projects/{p}/managedZones/{z}` → `ManagedZone` JSON.
    pub const DNS_ZONES: &str = "dns.managedZones";
    /// DNS record sets: `projects/{p}/managedZones/{z}/rrsets/{name}/{type}` → `ResourceRecordSet` JSON.
    pub const DNS_RRSETS: &str = "dns.rrsets";
    /// DNS changes: `projects/{p}/managedZones/{z}/changes/{id}` → `Change` JSON.
    pub const DNS_CHANGES: &str = "dns.changes";
}

/// Model settings from the seed and the control plane.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Multiplies every modelled duration (operations, IAM propagation, mesh settle time). 0 = instant.
    pub time_scale: f64,
    pub iam_propagation_delay: Duration,
    pub mesh_settle_time: Duration,
    /// Once a mesh client service fails, it keeps failing until deleted and recreated.
    pub sticky_mesh_failures: bool,
    /// How long a Cloud DNS change stays `pending` (scaled like the other durations).
    pub dns_change_pending_time: Duration,
    /// Cloud DNS's `resourceRecordsPerRrset` limit (Google's is 100); tests lower it to reach it cheaply.
    pub dns_records_per_rrset: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            time_scale: 1.0,
            iam_propagation_delay: Duration::seconds(90),
            mesh_settle_time: Duration::seconds(60),
            sticky_mesh_failures: false,
            dns_change_pending_time: Duration::seconds(5),
            dns_records_per_rrset: 100,
        }
    }
}

impl Settings {
    /// A nominal duration scaled by `time_scale`.
    pub fn scaled(&self, d: Duration) -> Duration {
        let micros = d.num_microseconds().unwrap_or(i64::MAX) as f64 * self.time_scale.max(0.0);
        crate::clock::clamp_duration(Duration::microseconds(micros as i64))
    }
}

/// A project with its IAM policy and service accounts.
#[derive(Clone, Debug)]
pub struct Project {
    pub id: String,
    pub number: String,
    pub create_time: DateTime<Utc>,
    pub policy: Policy,
    pub service_accounts: BTreeSet<String>,
}

/// Everything the emulator knows; one lock guards it (see `server`).
#[derive(Debug)]
pub struct World {
    pub clock: Clock,
    pub settings: Settings,
    pub projects: BTreeMap<String, Project>,
    pub resources: BTreeMap<String, BTreeMap<String, Value>>,
    /// IAM policies on resources other than projects (e.g. Cloud Run services), by resource name.
    pub resource_policies: BTreeMap<String, Policy>,
    pub operations: Operations,
    pub faults: Faults,
    counter: u64,
}

impl World {
    pub fn new(clock: Clock, settings: Settings) -> World {
        World {
            clock,
            settings,
            projects: BTreeMap::new(),
            resources: BTreeMap::new(),
            resource_policies: BTreeMap::new(),
            operations: Operations::default(),
            faults: Faults::default(),
            counter: 0,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Applies every operation completion that is due. Called on every request before anything else.
    pub fn tick(&mut self) {
        loop {
            let now = self.now();
            let Some((name, injected, completion)) = self.operations.take_due(now) else {
                break;
            };
            let outcome = completion(self, injected.clone());
            self.operations.finish(&name, outcome, injected);
        }
    }

    /// Starts an operation; its completion runs once the clock passes `new.due`. Returns the operation as
    /// the API answers the call that started it.
    pub fn start_operation(&mut self, new: NewOperation, completion: Completion) -> Value {
        let name = new.name.clone();
        self.operations.insert(new, completion);
        self.operations
            .get(&name)
            .map(|op| op.render())
            .unwrap_or(Value::Null)
    }

    /// The canonical project for an id or number.
    pub fn project(&self, id_or_number: &str) -> Option<&Project> {
        self.projects
            .get(id_or_number)
            .or_else(|| self.projects.values().find(|p| p.number == id_or_number))
    }

    pub fn project_mut(&mut self, id_or_number: &str) -> Option<&mut Project> {
        let id = self.project(id_or_number)?.id.clone();
        self.projects.get_mut(&id)
    }

    /// Rewrites a leading `projects/{number}` in a resource name to `projects/{id}`.
    pub fn normalise_name(&self, name: &str) -> String {
        let Some(rest) = name.strip_prefix("projects/") else {
            return name.to_string();
        };
        let (project, tail) = rest.split_once('/').unwrap_or((rest, ""));
        match self.project(project) {
            Some(p) if tail.is_empty() => format!("projects/{}", p.id),
            Some(p) => format!("projects/{}/{}", p.id, tail),
            None => name.to_string(),
        }
    }

    pub fn get(&self, collection: &str, name: &str) -> Option<&Value> {
        self.resources.get(collection)?.get(name)
    }

    pub fn get_mut(&mut self, collection: &str, name: &str) -> Option<&mut Value> {
        self.resources.get_mut(collection)?.get_mut(name)
    }

    pub fn put(&mut self, collection: &str, name: &str, doc: Value) {
        self.resources
            .entry(collection.to_string())
            .or_default()
            .insert(name.to_string(), doc);
    }

    pub fn remove(&mut self, collection: &str, name: &str) -> Option<Value> {
        self.resources.get_mut(collection)?.remove(name)
    }

    /// Documents of a collection whose name starts with `prefix`, in name order.
    pub fn list(&self, collection: &str, prefix: &str) -> Vec<(String, Value)> {
        self.resources
            .get(collection)
            .map(|c| {
                c.range(prefix.to_string()..)
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A fresh 19-digit numeric id (Compute, DNS style), deterministic per world.
    pub fn next_numeric_id(&mut self) -> String {
        self.counter += 1;
        let digest = Sha256::digest(format!("id-{}", self.counter));
        let mut n: u64 = 0;
        for b in &digest[..8] {
            n = (n << 8) | u64::from(*b);
        }
        format!(
            "{}",
            1_000_000_000_000_000_000u64 + n % 8_000_000_000_000_000_000
        )
    }

    /// A fresh UUID-formatted id (Cloud Run `uid`, operation ids), deterministic per world.
    pub fn next_uuid(&mut self) -> String {
        self.counter += 1;
        let d = Sha256::digest(format!("uuid-{}", self.counter));
        let h: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    /// Short lowercase token (revision suffixes, hashes in URLs) derived from `seed`.
    pub fn token(seed: &str, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        Sha256::digest(seed.as_bytes())
            .iter()
            .take(len)
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect()
    }

    /// A JSON dump of everything, for `GET /_emulator/state`.
    pub fn dump(&self) -> Value {
        let projects: Vec<Value> = self
            .projects
            .values()
            .map(|p| {
                json!({
                    "id": p.id, "number": p.number, "createTime": crate::clock::rfc3339(p.create_time),
                    "serviceAccounts": p.service_accounts,
                    "iamPolicy": p.policy.render(3),
                    "effectiveBindings": p.policy.effective_from.iter()
                        .map(|((role, member), since)| json!({"role": role, "member": member,
                            "effectiveFrom": crate::clock::rfc3339(*since)}))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        let policies: serde_json::Map<String, Value> = self
            .resource_policies
            .iter()
            .map(|(k, p)| (k.clone(), p.render(3)))
            .collect();
        let operations: Vec<Value> = self
            .operations
            .all()
            .map(|o| {
                json!({"api": o.api, "method": o.method_id, "due": crate::clock::rfc3339(o.due),
                            "operation": o.render()})
            })
            .collect();
        json!({
            "now": crate::clock::rfc3339(self.now()),
            "settings": {
                "timeScale": self.settings.time_scale,
                "iamPropagationDelay": format!("{}s", self.settings.iam_propagation_delay.num_milliseconds() as f64 / 1000.0),
                "meshSettleTime": format!("{}s", self.settings.mesh_settle_time.num_milliseconds() as f64 / 1000.0),
                "stickyMeshFailures": self.settings.sticky_mesh_failures,
                "dnsChangePendingTime": format!("{}s", self.settings.dns_change_pending_time.num_milliseconds() as f64 / 1000.0),
                "dnsRecordsPerRrset": self.settings.dns_records_per_rrset,
                "clockRate": self.clock.rate(),
            },
            "projects": projects,
            "resources": self.resources,
            "resourcePolicies": policies,
            "operations": operations,
            "faults": self.faults.dump(),
        })
    }
}
