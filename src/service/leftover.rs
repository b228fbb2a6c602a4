//! Owned parts that no attribute names any more, kept in private state until an update or the destroy removes them.
//!
//! They arise when an update's rollback cannot delete a part it had just built under a new name, or when the old
//! part of a rename cannot be deleted after the swap. Naming them in private state keeps the promise that nothing
//! is left in the cloud that Terraform does not know about.

use serde::{Deserialize, Serialize};

use super::parts::{BackendServicePart, Neg, Part as _, Route};
use super::spec::Spec;
use super::steps::{Ctx, StepError};

/// Kinds of named owned parts, in the order they must be deleted (users before what they use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Route,
    BackendService,
    Neg,
}

/// One part to delete later.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Leftover {
    pub kind: Kind,
    pub name: String,
}

impl Leftover {
    pub fn new(kind: Kind, name: &str) -> Self {
        Leftover {
            kind,
            name: name.to_string(),
        }
    }

    /// True when `spec` names this part, so it is in use rather than left over.
    pub fn is_named_by(&self, spec: &Spec) -> bool {
        let current = match self.kind {
            Kind::Route => &spec.route_name,
            Kind::BackendService => &spec.backend_service_name,
            Kind::Neg => &spec.neg_name,
        };
        current == &self.name
    }
}

/// Deletes `items` in dependency order; returns those still present and the first error.
pub async fn delete_all(c: &Ctx, mut items: Vec<Leftover>) -> (Vec<Leftover>, Option<StepError>) {
    items.sort();
    items.dedup();
    let mut kept = Vec::new();
    let mut first = None;
    for item in items {
        let result = match item.kind {
            Kind::Route => Route::delete(c, &item.name).await,
            Kind::BackendService => BackendServicePart::delete(c, &item.name).await,
            Kind::Neg => Neg::delete(c, &item.name).await,
        };
        if let Err(e) = result {
            tracing::warn!(part = ?item.kind, name = item.name, "left-over part not deleted");
            first.get_or_insert(e);
            kept.push(item);
        }
    }
    (kept, first)
}
