//! The project's number, cached per provider process: Google writes references with either the project id or its
//! number (`projects/123456789012/...`), and the drift checks must read both as the same project.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::OnceCell;

use super::Ctx;
use crate::service::subset;

/// One lookup of a project's number: its answer, or `None` when Resource Manager did not say.
type Lookup = Arc<OnceCell<Option<String>>>;

/// Project id → number, as Resource Manager answered. Concurrent askers of one project share one lookup (the
/// refreshes of a walk all compare references at once); a lookup that found no number is not kept, so a later
/// asker tries again.
#[derive(Default)]
pub struct ProjectNumbers {
    known: Mutex<HashMap<String, Lookup>>,
}

impl ProjectNumbers {
    fn lookup(&self, project: &str) -> Lookup {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(known.entry(project.to_string()).or_default())
    }

    /// Drops `lookup` if it is still the project's, so the next asker asks again.
    fn forget(&self, project: &str, lookup: &Lookup) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.get(project).is_some_and(|l| Arc::ptr_eq(l, lookup)) {
            known.remove(project);
        }
    }

    /// The number of `project`, asking `ask` unless this process knows it or another asker is asking now.
    async fn get<F, Fut>(&self, project: &str, ask: F) -> Option<String>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Option<String>>,
    {
        let lookup = self.lookup(project);
        let n = lookup.get_or_init(ask).await.clone();
        if n.is_none() {
            self.forget(project, &lookup);
        }
        n
    }
}

/// The number of `project`; `None` when Resource Manager does not say (e.g. no permission to read the project),
/// in which case references are compared as written.
pub async fn number(c: &Ctx, project: &str) -> Option<String> {
    c.data
        .project_numbers
        .get(project, || async {
            match c.clients.resource_manager().get_project(project).await {
                Ok(p) => p.project_number.filter(|n| !n.is_empty()),
                Err(e) => {
                    tracing::debug!(project, error = %e, "project number unknown; references compared as written");
                    None
                }
            }
        })
        .await
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
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_askers_share_one_lookup_and_one_that_found_nothing_is_asked_again() {
        let numbers = Arc::new(ProjectNumbers::default());
        let asks = Arc::new(AtomicUsize::new(0));
        let (release, hold) = tokio::sync::oneshot::channel::<()>();
        let ask = |asks: Arc<AtomicUsize>, hold: Option<tokio::sync::oneshot::Receiver<()>>| async move {
            asks.fetch_add(1, Ordering::SeqCst);
            if let Some(h) = hold {
                let _ = h.await;
            }
            None::<String>
        };
        let first = {
            let (numbers, asks) = (Arc::clone(&numbers), Arc::clone(&asks));
            tokio::spawn(async move { numbers.get("p", || ask(asks, Some(hold))).await })
        };
        tokio::task::yield_now().await;
        let others: Vec<_> = (0..4)
            .map(|_| {
                let (numbers, asks) = (Arc::clone(&numbers), Arc::clone(&asks));
                tokio::spawn(async move { numbers.get("p", || ask(asks, None)).await })
            })
            .collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let _ = release.send(());
        assert_eq!(first.await.unwrap(), None);
        for o in others {
            assert_eq!(o.await.unwrap(), None);
        }
        assert_eq!(asks.load(Ordering::SeqCst), 1, "one lookup for all five");
        let found = numbers.get("p", || async { Some("123".to_string()) }).await;
        assert_eq!(found.as_deref(), Some("123"), "a failed lookup is not kept");
        let kept = numbers.get("p", || async { None }).await;
        assert_eq!(kept.as_deref(), Some("123"), "a number is kept");
    }

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
