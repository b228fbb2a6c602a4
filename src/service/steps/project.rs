//! The project's number, cached per provider process: Google writes references with either the project id or its
//! number (`projects/123456789012/...`), and the drift checks must read both as the same project.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use super::Ctx;
use crate::service::subset;

/// Project id → number, as Resource Manager answered.
#[derive(Default)]
pub struct ProjectNumbers {
    known: Mutex<HashMap<String, String>>,
}

impl ProjectNumbers {
    fn get(&self, project: &str) -> Option<String> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.get(project).cloned()
    }

    fn insert(&self, project: &str, number: String) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.insert(project.to_string(), number);
    }
}

/// The number of `project`; `None` when Resource Manager does not say (e.g. no permission to read the project),
/// in which case references are compared as written.
pub async fn number(c: &Ctx, project: &str) -> Option<String> {
    if let Some(n) = c.data.project_numbers.get(project) {
        return Some(n);
    }
    match c.clients.resource_manager().get_project(project).await {
        Ok(p) => {
            let n = p.project_number.filter(|n| !n.is_empty())?;
            c.data.project_numbers.insert(project, n.clone());
            Some(n)
        }
        Err(e) => {
            tracing::debug!(project, error = %e, "project number unknown; references compared as written");
            None
        }
    }
}

/// Rewrites `projects/<number>` to `projects/<id>` in every string of `v`.
fn rename(v: &mut Value, number: &str, id: &str) {
    match v {
        Value::String(s) => {
            let from = format!("projects/{number}");
            let to = format!("projects/{id}");
            // Only whole path segments: `projects/12` must not touch `projects/123`.
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(i) = rest.find(&from) {
                let after = &rest[i + from.len()..];
                let whole = after.is_empty() || after.starts_with('/');
                out.push_str(&rest[..i]);
                out.push_str(if whole { &to } else { &from });
                rest = after;
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rename(x, number, id)),
        Value::Object(o) => o.values_mut().for_each(|x| rename(x, number, id)),
        _ => {}
    }
}

/// [`subset::holds`] with the project's number and id taken as the same project.
pub fn holds<W: Serialize, H: Serialize>(
    want: &W,
    have: &H,
    project: &str,
    number: Option<&str>,
) -> bool {
    let (Ok(mut w), Ok(mut h)) = (serde_json::to_value(want), serde_json::to_value(have)) else {
        return false;
    };
    if let Some(n) = number {
        rename(&mut w, n, project);
        rename(&mut h, n, project);
    }
    subset::contains(&w, &h)
}

/// [`holds`] for the spec's project, asking Resource Manager (once per process) for its number.
pub async fn holds_in<W: Serialize, H: Serialize>(c: &Ctx, want: &W, have: &H) -> bool {
    holds_in_project(c, &c.spec.project, want, have).await
}

/// [`holds`] for `project` (e.g. the host project of a shared VPC network).
pub async fn holds_in_project<W: Serialize, H: Serialize>(
    c: &Ctx,
    project: &str,
    want: &W,
    have: &H,
) -> bool {
    if subset::holds(want, have) {
        return true;
    }
    let n = number(c, project).await;
    holds(want, have, project, n.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_reference_by_project_number_holds_what_was_asked_by_id() {
        let want = json!({"meshes": ["projects/p/locations/global/meshes/m"],
                          "dest": "projects/p/global/backendServices/b"});
        let have = json!({"meshes": ["projects/123/locations/global/meshes/m"],
                          "dest": "https://compute.googleapis.com/compute/v1/projects/123/global/backendServices/b"});
        assert!(!subset::holds(&want, &have));
        assert!(holds(&want, &have, "p", Some("123")));
    }

    #[test]
    fn another_project_or_a_longer_number_is_still_drift() {
        let want = json!({"meshes": ["projects/p/locations/global/meshes/m"]});
        assert!(!holds(
            &want,
            &json!({"meshes": ["projects/1234/locations/global/meshes/m"]}),
            "p",
            Some("123")
        ));
        assert!(!holds(
            &want,
            &json!({"meshes": ["projects/q/locations/global/meshes/m"]}),
            "p",
            Some("123")
        ));
        assert!(!holds(
            &want,
            &json!({"meshes": ["projects/123/locations/global/meshes/other"]}),
            "p",
            Some("123")
        ));
    }
}
