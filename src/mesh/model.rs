//! The typed state of `csmrun_mesh` (see schema.rs); computed attributes are `Option`s, null in the config.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MeshState {
    pub mesh: String,
    pub project: Option<String>,
    pub id: Option<String>,
    pub hostnames: Option<Vec<Hostname>>,
    pub services: Option<Vec<Service>>,
    pub calls: Option<Vec<Call>>,
    pub mermaid: Option<String>,
}

/// One hostname of an HTTPRoute attached to the mesh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hostname {
    pub hostname: String,
    pub route: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub matches: Vec<String>,
    pub destinations: Vec<Destination>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    pub backend_service: String,
    pub service: Option<String>,
    pub region: Option<String>,
    pub weight: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub region: String,
    pub uri: Option<String>,
    pub service_account: Option<String>,
    pub mesh_client: bool,
    pub invokers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Call {
    pub caller: String,
    pub service: String,
}

/// What the read found, before it is put into [`MeshState`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Topology {
    pub mesh: String,
    pub hostnames: Vec<Hostname>,
    pub services: Vec<Service>,
    pub calls: Vec<Call>,
}
