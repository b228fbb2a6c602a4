//! IAM policies (project and resource level): etags, versions, conditions and propagation delay.

use crate::error::ApiError;
use crate::world::World;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A stored IAM policy. Bindings keep their JSON form so conditions survive untouched.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub version: i64,
    pub bindings: Vec<Value>,
    pub audit_configs: Vec<Value>,
    pub etag: String,
    /// Serial number of the last write, hashed into the etag so every write changes it.
    pub serial: u64,
    /// When each (role, member) pair became or becomes effective.
    pub effective_from: BTreeMap<(String, String), DateTime<Utc>>,
}

impl Policy {
    /// A policy with `bindings` that are already effective (seeded state).
    pub fn seeded(resource: &str, bindings: Vec<Value>, since: DateTime<Utc>) -> Policy {
        let mut policy = Policy {
            version: 1,
            ..Policy::default()
        };
        policy.bindings = bindings;
        policy.version = if policy.bindings.iter().any(|b| b.get("condition").is_some()) {
            3
        } else {
            1
        };
        for pair in pairs(&policy.bindings) {
            policy.effective_from.insert(pair, since);
        }
        policy.refresh_etag(resource);
        policy
    }

    fn refresh_etag(&mut self, resource: &str) {
        self.serial += 1;
        let mut hasher = Sha256::new();
        hasher.update(resource.as_bytes());
        hasher.update(self.serial.to_le_bytes());
        hasher.update(Value::Array(self.bindings.clone()).to_string().as_bytes());
        let digest = hasher.finalize();
        self.etag = base64::engine::general_purpose::STANDARD.encode(&digest[..8]);
    }

    /// The policy as getIamPolicy returns it. Conditional bindings are only shown to callers asking for
    /// version 3, as Google does (older versions see the role with a `_withcond_` suffix; we omit them).
    pub fn render(&self, requested_version: i64) -> Value {
        let bindings: Vec<Value> = self
            .bindings
            .iter()
            .filter(|b| requested_version >= 3 || b.get("condition").is_none())
            .cloned()
            .collect();
        let mut out = serde_json::Map::new();
        let version = if requested_version >= 3 {
            self.version
        } else {
            self.version.min(1)
        };
        out.insert("version".into(), json!(version));
        if !bindings.is_empty() {
            out.insert("bindings".into(), Value::Array(bindings));
        }
        if !self.audit_configs.is_empty() {
            out.insert(
                "auditConfigs".into(),
                Value::Array(self.audit_configs.clone()),
            );
        }
        out.insert("etag".into(), json!(self.etag));
        Value::Object(out)
    }

    /// setIamPolicy: replaces bindings (and audit configs when the mask says so) after the etag check;
    /// new (role, member) pairs become effective at `effective_at`.
    pub fn set(
        &mut self,
        resource: &str,
        new_policy: &Value,
        update_mask: Option<&str>,
        effective_at: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        if let Some(etag) = new_policy.get("etag").and_then(Value::as_str) {
            if !etag.is_empty() && etag != self.etag {
                return Err(ApiError::aborted(
                    "There were concurrent policy changes. Please retry the whole read-modify-write with \
                     exponential backoff. The request's ETag '"
                        .to_string()
                        + etag
                        + "' did not match the current policy's ETag '"
                        + &self.etag
                        + "'.",
                ));
            }
        }
        let mask: Vec<&str> = update_mask
            .map(|m| m.split(',').map(str::trim).collect())
            .unwrap_or_else(|| vec!["bindings", "etag"]);
        if mask.contains(&"bindings") {
            let bindings = normalise(new_policy.get("bindings"))?;
            let has_condition = bindings.iter().any(|b| b.get("condition").is_some());
            let requested = new_policy.get("version").and_then(value_i64).unwrap_or(1);
            if has_condition && requested < 3 {
                return Err(ApiError::invalid_argument(
                    "Invalid argument: 'policy'. Policies with conditional role bindings must specify version 3.",
                ));
            }
            let old: BTreeMap<_, _> = std::mem::take(&mut self.effective_from);
            for pair in pairs(&bindings) {
                let since = old.get(&pair).copied().unwrap_or(effective_at);
                self.effective_from.insert(pair, since);
            }
            self.bindings = bindings;
            self.version = if has_condition { 3 } else { 1 };
        }
        if mask.contains(&"auditConfigs") || mask.contains(&"audit_configs") {
            self.audit_configs = new_policy
                .get("auditConfigs")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
        }
        self.refresh_etag(resource);
        Ok(self.render(3))
    }

    /// Whether `member` holds `role` through an unconditional binding that has propagated by `now`.
    pub fn is_effective(&self, role: &str, member: &str, now: DateTime<Utc>) -> bool {
        self.bindings.iter().any(|b| {
            b["role"] == role
                && b.get("condition").is_none()
                && b["members"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|x| x == member))
        }) && self
            .effective_from
            .get(&(role.to_string(), member.to_string()))
            .is_some_and(|since| *since <= now)
    }
}

/// Member checks Google makes on setIamPolicy: `type:value` form, public principals only where allowed, and
/// service accounts of a project the emulator knows must exist.
pub fn check_members(world: &World, policy: &Value, allow_public: bool) -> Result<(), ApiError> {
    for b in policy["bindings"].as_array().into_iter().flatten() {
        for m in b["members"].as_array().into_iter().flatten() {
            let m = m.as_str().unwrap_or_default();
            if m == "allUsers" || m == "allAuthenticatedUsers" {
                if allow_public {
                    continue;
                }
                return Err(ApiError::invalid_argument(format!(
                    "Policy members must be of the form \"<type>:<value>\". {m} is not supported on this resource."
                )));
            }
            let Some((kind, value)) = m.split_once(':') else {
                return Err(ApiError::invalid_argument(format!(
                    "Invalid member type: '{m}'. Policy members must be of the form \"<type>:<value>\"."
                )));
            };
            if kind == "serviceAccount" {
                let project = value
                    .split_once('@')
                    .and_then(|(_, domain)| domain.strip_suffix(".iam.gserviceaccount.com"));
                if let Some(p) = project.and_then(|p| world.project(p)) {
                    if !p.service_accounts.contains(value) {
                        return Err(ApiError::invalid_argument(format!(
                            "Service account {value} does not exist."
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

fn value_i64(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Drops empty bindings and merges members of identical (role, condition) bindings, as Google stores them.
fn normalise(bindings: Option<&Value>) -> Result<Vec<Value>, ApiError> {
    let mut out: Vec<Value> = Vec::new();
    for b in bindings.and_then(Value::as_array).into_iter().flatten() {
        let Some(role) = b["role"].as_str() else {
            return Err(ApiError::invalid_argument(
                "Role must be specified in every binding.",
            ));
        };
        if !role.starts_with("roles/")
            && !role.starts_with("projects/")
            && !role.starts_with("organizations/")
        {
            return Err(ApiError::invalid_argument(format!(
                "Role ({role}) does not exist in the resource's hierarchy."
            )));
        }
        let members: Vec<Value> = b["members"].as_array().cloned().unwrap_or_default();
        if members.is_empty() {
            continue;
        }
        if let Some(existing) = out
            .iter_mut()
            .find(|e| e["role"] == b["role"] && e.get("condition") == b.get("condition"))
        {
            if let Some(list) = existing["members"].as_array_mut() {
                for m in members {
                    if !list.contains(&m) {
                        list.push(m);
                    }
                }
            }
            continue;
        }
        let mut binding = json!({"role": role, "members": members});
        if let Some(c) = b.get("condition") {
            binding["condition"] = c.clone();
        }
        out.push(binding);
    }
    // Google returns bindings sorted by role and members sorted within a binding.
    for b in &mut out {
        if let Some(list) = b["members"].as_array_mut() {
            list.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
        }
    }
    out.sort_by(|x, y| x["role"].as_str().cmp(&y["role"].as_str()));
    Ok(out)
}

fn pairs(bindings: &[Value]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for b in bindings {
        let role = b["role"].as_str().unwrap_or_default();
        for m in b["members"].as_array().into_iter().flatten() {
            if let Some(m) = m.as_str() {
                out.push((role.to_string(), m.to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn new_binding_is_effective_only_after_the_delay() {
        let now = Utc::now();
        let mut p = Policy::seeded("projects/p", vec![], now);
        let body =
            json!({"bindings": [{"role": "roles/x", "members": ["user:a@b.c"]}], "etag": p.etag});
        p.set("projects/p", &body, None, now + Duration::seconds(90))
            .unwrap();
        assert!(!p.is_effective("roles/x", "user:a@b.c", now));
        assert!(p.is_effective("roles/x", "user:a@b.c", now + Duration::seconds(90)));
    }

    #[test]
    fn stale_etag_is_aborted() {
        let now = Utc::now();
        let mut p = Policy::seeded("projects/p", vec![], now);
        let err = p
            .set("projects/p", &json!({"etag": "stale"}), None, now)
            .unwrap_err();
        assert_eq!(err.status, "ABORTED");
    }
}
