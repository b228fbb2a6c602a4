//! The Google objects csmrun makes for one `csmrun_service`, one module each, behind one trait ([`Part`]).
//!
//! A module holds everything about its object: the API body built from the [`Spec`], the pre-flight check that its
//! name is free, `ensure` (make it so, adopting what an earlier killed create made), `undo` (revert exactly what a
//! record says this run did), `delete`, `observe` (refresh and drift) and `discover` (import, by reference from
//! the part found before it). The shared parts (DNS zone and users registry, project grants) keep the design of
//! their race handling beside their code.
//!
//! The lifecycles that run these (the create graph, the update sequence, the delete order) are in
//! `super::steps`, `super::update` and `super::resource`.

pub mod backend_service;
pub mod cloud_run;
pub mod dns;
pub mod iam;
pub mod invokers;
pub mod neg;
pub mod route;

use async_trait::async_trait;

use super::runner::Failed;
use super::spec::Spec;
use super::steps::{Ctx, StepError};

pub use backend_service::BackendServicePart;
pub use cloud_run::CloudRun;
pub use invokers::Invokers;
pub use neg::Neg;
pub use route::Route;

/// What `ensure` did to a part csmrun makes whole: `created` when this run made it (or adopted one an earlier,
/// killed create made), so undo removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Made {
    pub created: bool,
}

/// What the pre-flight check of a part's name found on a create: nothing of that name (the part's step creates
/// without reading first; a 409 then reads), or a part carrying this service's marker (an earlier create was
/// killed; the step reads and adopts it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Free {
    Absent,
    Ours,
}

impl Free {
    /// `Absent` for no object, `Ours` for one that passed the marker check.
    pub fn of<T>(found: &Option<T>) -> Free {
        if found.is_some() {
            Free::Ours
        } else {
            Free::Absent
        }
    }
}

/// What `ensure` returns: its record, or the error with what the failed attempt may have made.
pub type Ensured<R> = Result<R, Failed<R, StepError>>;

/// One Google object of a service.
#[async_trait]
pub trait Part {
    /// The API object csmrun sends.
    type Body;
    /// What the body is built from besides the spec (e.g. the roles a NEG records as about to be granted).
    type Input: ?Sized + Sync;
    /// What `ensure` did, so `undo` can revert exactly that.
    type Record: Send + Sync;
    /// What a refresh reads: whether the part is in place as the spec says (drift), or what it holds.
    type Observed: Send;
    /// What import knows when it looks for the part (the name of the part that references it).
    type Clue: ?Sized + Sync;
    /// What import finds.
    type Found: Send;

    /// The object as the spec wants it.
    fn body(s: &Spec, input: &Self::Input) -> Self::Body;

    /// On a create: the spec's name is free, or carries this service's marker (an earlier create of it was
    /// killed, and `ensure` adopts what it made).
    async fn free(c: &Ctx) -> Result<Free, StepError>;

    /// Brings the part to the spec.
    async fn ensure(c: &Ctx) -> Ensured<Self::Record>;

    /// Reverts what `record` says the run on `sent` did, with requests on `cleanup` (not cancelled by Ctrl-C).
    async fn undo(sent: &Ctx, cleanup: &Ctx, record: &Self::Record) -> Result<(), StepError>;

    /// Deletes the part of that name; one already gone is fine.
    async fn delete(c: &Ctx, name: &str) -> Result<(), StepError>;

    /// Refresh: the part as the cloud has it, compared with the spec.
    async fn observe(c: &Ctx) -> Result<Self::Observed, StepError>;

    /// Import: the part of the service found by reference from `clue`, never guessed from default names.
    async fn discover(
        clients: &gcp::Clients,
        place: &Place,
        clue: &Self::Clue,
    ) -> Result<Option<Self::Found>, StepError>;
}

/// Where import looks: the service's project, region and name.
#[derive(Debug, Clone)]
pub struct Place {
    pub project: String,
    pub region: String,
    pub name: String,
}
