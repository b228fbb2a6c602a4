//! Cloud DNS v1 wire models (camelCase); unknown fields are kept.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::lro::Operation;

/// A managed zone; `dns_name` ends with a dot.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ManagedZone {
    pub name: String,
    #[serde(default)]
    pub dns_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `public` | `private`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_visibility_config: Option<PrivateVisibilityConfig>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::id"
    )]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name_servers: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Which VPC networks see a private zone.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PrivateVisibilityConfig {
    #[serde(default)]
    pub networks: Vec<VisibleNetwork>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `networkUrl` = `https://www.googleapis.com/compute/v1/projects/{p}/global/networks/{vpc}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VisibleNetwork {
    pub network_url: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A record set (`name` ends with a dot, e.g. `*.meshapps.internal.`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRecordSet {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rrdatas: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `Change`: record sets removed and added atomically (`changes.create`). Every deletion must match the record set
/// as it is (rrdatas and ttl), else Google answers 412 `conditionNotMet`; an addition of a record set that exists
/// (and is not deleted by the same change) is 409 `alreadyExists`. So a change is also a compare-and-swap.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additions: Vec<ResourceRecordSet>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deletions: Vec<ResourceRecordSet>,
    /// Output only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Output only: `pending` or `done` (sent to the authoritative name servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Output only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_serving: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Operation for Change {
    /// `done`: sent to the authoritative servers, and shown by reads of the record sets. An answer without a
    /// status is taken as done (older fakes apply changes at once).
    fn is_done(&self) -> bool {
        self.status.as_deref().is_none_or(|s| s == "done")
    }

    fn failure(&self) -> Option<Error> {
        None
    }

    /// A pending change is polled at its `id`.
    fn malformed(&self) -> Option<String> {
        (!self.is_done() && self.id.as_deref().is_none_or(str::is_empty))
            .then(|| "a pending change without an `id`".to_string())
    }
}

/// `projects.get` of Cloud DNS: the project and the limits Cloud DNS enforces on it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DnsProject {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub quota: Quota,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The per-project limits of Cloud DNS (discovery `Quota`); absent fields are `None`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    /// "Maximum allowed number of ResourceRecords per ResourceRecordSet."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_records_per_rrset: Option<i64>,
    /// "Maximum allowed number of ResourceRecordSets to add per ChangesCreateRequest."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrset_additions_per_change: Option<i64>,
    /// "Maximum allowed number of ResourceRecordSets to delete per ChangesCreateRequest."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrset_deletions_per_change: Option<i64>,
    /// "Maximum allowed size for total rrdata in one ChangesCreateRequest in bytes."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_rrdata_size_per_change: Option<i64>,
    /// "Maximum allowed number of ResourceRecordSets per zone in the project."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrsets_per_managed_zone: Option<i64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Cloud DNS's own `Operation` (zone patch/update): `status` is `pending` or `done`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DnsOperation {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Operation for DnsOperation {
    fn is_done(&self) -> bool {
        // An answer without a status (some fakes) is treated as finished: DNS changes apply synchronously.
        self.status.is_empty() || self.status == "done"
    }

    fn failure(&self) -> Option<Error> {
        None
    }

    /// Cloud DNS operations always carry their `id`, which the poll path needs.
    fn malformed(&self) -> Option<String> {
        self.id
            .is_empty()
            .then(|| "it has no operation `id`".to_string())
    }
}
