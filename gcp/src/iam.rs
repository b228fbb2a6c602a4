//! The IAM `Policy` model shared by Cloud Run and Resource Manager, with member edits that touch one binding only.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An IAM policy (`google.iam.v1.Policy`). Unknown fields are kept so a read-modify-write sends them back.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<Binding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit_configs: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One role's members, optionally under a condition.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    pub role: String,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Expr>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A CEL condition on a binding.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Expr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Policy {
    /// Whether `member` has `role` unconditionally.
    pub fn has_member(&self, role: &str, member: &str) -> bool {
        self.bindings.iter().any(|b| {
            b.role == role && b.condition.is_none() && b.members.iter().any(|m| m == member)
        })
    }

    /// The unconditional members of `role`.
    pub fn members(&self, role: &str) -> Vec<&str> {
        self.bindings
            .iter()
            .filter(|b| b.role == role && b.condition.is_none())
            .flat_map(|b| b.members.iter().map(String::as_str))
            .collect()
    }

    /// Adds `member` to the unconditional binding of `role` (creating it if needed). Returns whether the policy
    /// changed. Other bindings, conditional bindings of the same role included, are never touched.
    pub fn add_member(&mut self, role: &str, member: &str) -> bool {
        if self.has_member(role, member) {
            return false;
        }
        match self
            .bindings
            .iter_mut()
            .find(|b| b.role == role && b.condition.is_none())
        {
            Some(b) => b.members.push(member.to_string()),
            None => self.bindings.push(Binding {
                role: role.to_string(),
                members: vec![member.to_string()],
                ..Binding::default()
            }),
        }
        true
    }

    /// Removes `member` from the unconditional binding(s) of `role`, dropping a binding that becomes empty.
    /// Returns whether the policy changed. Conditional bindings and other roles are never touched.
    pub fn remove_member(&mut self, role: &str, member: &str) -> bool {
        let mut changed = false;
        for b in self
            .bindings
            .iter_mut()
            .filter(|b| b.role == role && b.condition.is_none())
        {
            let before = b.members.len();
            b.members.retain(|m| m != member);
            changed |= b.members.len() != before;
        }
        if changed {
            self.bindings
                .retain(|b| !(b.role == role && b.condition.is_none() && b.members.is_empty()));
        }
        changed
    }

    /// Makes the unconditional members of `role` exactly `members` (authoritative for that one role). Returns
    /// whether the policy changed. Conditional bindings and other roles are never touched.
    pub fn set_role_members(&mut self, role: &str, members: &[String]) -> bool {
        let mut current: Vec<&str> = self.members(role);
        current.sort_unstable();
        current.dedup();
        let mut wanted: Vec<&str> = members.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        wanted.dedup();
        if current == wanted {
            return false;
        }
        let wanted: Vec<String> = wanted.into_iter().map(str::to_string).collect();
        let pos = self
            .bindings
            .iter()
            .position(|b| b.role == role && b.condition.is_none());
        self.bindings
            .retain(|b| !(b.role == role && b.condition.is_none()));
        if !wanted.is_empty() {
            let binding = Binding {
                role: role.to_string(),
                members: wanted,
                ..Binding::default()
            };
            let at = pos.unwrap_or(self.bindings.len()).min(self.bindings.len());
            self.bindings.insert(at, binding);
        }
        true
    }

    /// Whether any binding carries a condition (then the policy must be written as version 3).
    pub fn has_conditions(&self) -> bool {
        self.bindings.iter().any(|b| b.condition.is_some())
    }

    /// The policy as it must be sent: version 3 when conditions exist, so they are not rejected or mangled.
    pub(crate) fn for_write(&self) -> Policy {
        let mut p = self.clone();
        if p.has_conditions() {
            p.version = Some(3);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ROLE: &str = "roles/trafficdirector.client";
    const SA: &str = "serviceAccount:sa@p.iam.gserviceaccount.com";

    fn policy() -> Policy {
        serde_json::from_value(json!({
            "version": 3,
            "etag": "BwYx",
            "bindings": [
                {"role": "roles/owner", "members": ["user:o@example.com"]},
                {"role": ROLE, "members": [SA], "condition": {"title": "until 2030", "expression": "request.time < timestamp('2030-01-01T00:00:00Z')"}},
                {"role": "roles/viewer", "members": ["group:g@example.com", SA]}
            ],
            "auditConfigs": [{"service": "allServices", "auditLogConfigs": [{"logType": "ADMIN_READ"}]}]
        }))
        .unwrap()
    }

    fn others(p: &Policy) -> Vec<Binding> {
        p.bindings
            .iter()
            .filter(|b| !(b.role == ROLE && b.condition.is_none()))
            .cloned()
            .collect()
    }

    #[test]
    fn add_member_creates_an_unconditional_binding_beside_a_conditional_one() {
        let mut p = policy();
        let before = others(&p);
        assert!(
            !p.has_member(ROLE, SA),
            "a conditional grant is not an unconditional one"
        );
        assert!(p.add_member(ROLE, SA));
        assert!(p.has_member(ROLE, SA));
        assert_eq!(others(&p), before, "no other binding changed");
        assert_eq!(p.bindings.len(), 4);
        assert_eq!(p.audit_configs, policy().audit_configs);
        assert_eq!(p.etag.as_deref(), Some("BwYx"));
    }

    #[test]
    fn add_member_twice_changes_nothing_the_second_time() {
        let mut p = policy();
        assert!(p.add_member("roles/viewer", "user:new@example.com"));
        let once = p.clone();
        assert!(!p.add_member("roles/viewer", "user:new@example.com"));
        assert_eq!(p, once);
        assert_eq!(
            p.members("roles/viewer"),
            ["group:g@example.com", SA, "user:new@example.com"]
        );
    }

    #[test]
    fn remove_member_keeps_the_binding_while_others_remain() {
        let mut p = policy();
        assert!(p.remove_member("roles/viewer", SA));
        assert_eq!(p.members("roles/viewer"), ["group:g@example.com"]);
        assert!(
            p.bindings[1].condition.is_some(),
            "conditional binding untouched"
        );
        assert_eq!(p.bindings[1].members, [SA]);
    }

    #[test]
    fn remove_member_drops_a_binding_that_becomes_empty_and_never_a_conditional_one() {
        let mut p = policy();
        p.add_member(ROLE, SA);
        assert!(p.remove_member(ROLE, SA));
        assert_eq!(p, policy(), "back to exactly the original");
        assert!(
            !p.remove_member(ROLE, SA),
            "the conditional grant is not removed"
        );
        assert_eq!(p, policy());
    }

    #[test]
    fn set_role_members_is_authoritative_for_one_unconditional_role_only() {
        let mut p = policy();
        let want = vec![
            "user:a@example.com".to_string(),
            "user:b@example.com".to_string(),
        ];
        assert!(p.set_role_members("roles/viewer", &want));
        assert_eq!(
            p.members("roles/viewer"),
            ["user:a@example.com", "user:b@example.com"]
        );
        assert_eq!(p.bindings[2].role, "roles/viewer", "binding stays in place");
        assert!(!p.set_role_members("roles/viewer", &want));
        assert!(p.set_role_members("roles/viewer", &[]));
        assert!(p.members("roles/viewer").is_empty());
        assert_eq!(p.bindings.len(), 2);
        assert!(
            !p.set_role_members(ROLE, &[]),
            "conditional binding is not the unconditional role"
        );
        assert_eq!(p.bindings[1].members, [SA]);
    }

    #[test]
    fn policies_with_conditions_are_written_as_version_3() {
        let mut p = policy();
        p.version = Some(1);
        assert_eq!(p.for_write().version, Some(3));
        let plain = Policy {
            version: Some(1),
            bindings: vec![Binding {
                role: "r".into(),
                members: vec!["m".into()],
                ..Binding::default()
            }],
            ..Policy::default()
        };
        assert_eq!(plain.for_write().version, Some(1));
    }
}
